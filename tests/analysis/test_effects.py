"""Policy comparison statistics on synthetic data with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sociosim.analysis import compare_policies, summarise_runs
from sociosim.analysis.stats import bootstrap_ci, paired_g, paired_mean, unpaired_g


def paired_frame(*, n: int, delta: float, rep_sd: float, noise_sd: float, seed: int) -> pd.DataFrame:
    """Two arms x n replicates; replicate r shares a random effect (common random numbers)."""
    rng = np.random.default_rng(seed)
    u = rng.normal(0, rep_sd, n)
    rows = []
    for arm, shift in (("pooled", 0.0), ("balanced", delta)):
        for r in range(n):
            rows.append(
                {
                    "run_key": f"{arm}-{r}",
                    "replicate": r,
                    "seed_entropy": "99",
                    "seed_spawn_key": str(r),
                    "aggregation": arm,
                    "gap": 1.0 + u[r] + shift + rng.normal(0, noise_sd),
                    "true_utility": 0.5 + u[r] + rng.normal(0, noise_sd),
                }
            )
    return pd.DataFrame(rows)


def test_hedges_g_matches_hand_computation():
    # x - y = 1, pooled sd = 1, J(4) = 1 - 3/15 = 0.8
    assert unpaired_g(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 2.0])) == pytest.approx(0.8)
    # mean 2, sd 1, J(2) = 1 - 3/7 = 4/7
    assert paired_g(np.array([1.0, 2.0, 3.0])) == pytest.approx(8 / 7)


def test_known_paired_effect_is_recovered_inside_its_ci_and_null_ci_contains_zero():
    delta, noise = 0.3, 0.1
    df = paired_frame(n=40, delta=delta, rep_sd=0.5, noise_sd=noise, seed=1)
    table = compare_policies(
        df, by="aggregation", baseline="pooled", measures=["gap", "true_utility"], seed=3
    )
    gap = table.set_index("measure").loc["gap"]
    assert gap["paired"] and gap["common_seeds"] and gap["n"] == 40
    assert gap["diff_lo"] < delta < gap["diff_hi"]
    true_gz = delta / (noise * np.sqrt(2))  # sd of a paired difference
    assert gap["effect_lo"] < true_gz < gap["effect_hi"]
    assert gap["excludes_zero"]
    null = table.set_index("measure").loc["true_utility"]
    assert null["diff_lo"] < 0 < null["diff_hi"]
    assert null["effect_lo"] < 0 < null["effect_hi"]
    assert not null["excludes_zero"]


def test_pairing_removes_shared_replicate_noise():
    df = paired_frame(n=30, delta=0.2, rep_sd=1.0, noise_sd=0.05, seed=2)
    paired = compare_policies(df, by="aggregation", baseline="pooled", measures=["gap"], n_boot=500)
    unpaired = compare_policies(
        df, by="aggregation", baseline="pooled", measures=["gap"], n_boot=500, paired=False
    )
    width_p = float(paired["diff_hi"].iloc[0] - paired["diff_lo"].iloc[0])
    width_u = float(unpaired["diff_hi"].iloc[0] - unpaired["diff_lo"].iloc[0])
    assert width_p < width_u / 5
    assert paired["diff"].iloc[0] == pytest.approx(unpaired["diff"].iloc[0])
    assert unpaired["effect_kind"].iloc[0] == "hedges_g" and unpaired["common_seeds"].iloc[0] is None


def test_unpaired_effect_size_recovered():
    rng = np.random.default_rng(5)
    a, b = rng.normal(0.8, 1.0, 200), rng.normal(0.0, 1.0, 200)
    df = pd.DataFrame(
        {
            "run_key": [f"r{i}" for i in range(400)],
            "arm": ["t"] * 200 + ["c"] * 200,
            "gap": np.concatenate([a, b]),
        }
    )
    row = compare_policies(df, by="arm", baseline="c", measures=["gap"], paired=False, seed=1).iloc[0]
    assert row["effect_lo"] < 0.8 < row["effect_hi"]
    assert row["diff_lo"] < 0.8 < row["diff_hi"]


def test_bca_interval_covers_the_true_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(11)
    hits = 0
    trials = 200
    for i in range(trials):
        d = rng.normal(0.25, 1.0, 30)
        ci = bootstrap_ci((d,), paired_mean, n_boot=500, seed=i, method="bca")
        hits += ci.low < 0.25 < ci.high
    assert 0.88 <= hits / trials <= 0.99


def test_constant_differences_give_a_degenerate_interval():
    ci = bootstrap_ci((np.full(10, 0.5),), paired_mean, n_boot=100)
    assert ci.method == "degenerate" and ci.low == ci.high == 0.5


def test_bootstrap_is_reproducible_from_its_seed():
    d = np.random.default_rng(0).normal(size=25)
    assert bootstrap_ci((d,), paired_mean, seed=4) == bootstrap_ci((d,), paired_mean, seed=4)
    assert bootstrap_ci((d,), paired_mean, seed=4) != bootstrap_ci((d,), paired_mean, seed=5)


def test_within_strata_and_pairing_over_other_design_columns():
    rows = []
    for arm, shift in (("pooled", 0.0), ("balanced", -0.1)):
        for beta in (1.0, 2.0):
            for r in range(5):
                for step in range(1, 4):
                    rows.append(
                        {
                            "run_key": f"{arm}-{beta}-{r}",
                            "replicate": r,
                            "aggregation": arm,
                            "beta": beta,
                            "step": step,
                            "gap": beta + shift * beta + 0.01 * r,
                        }
                    )
    df = pd.DataFrame(rows)
    table = compare_policies(df, by="aggregation", baseline="pooled", measures=["gap"], within="beta")
    assert list(table["beta"]) == [1.0, 2.0]
    assert table["diff"].to_numpy() == pytest.approx([-0.1, -0.2])
    assert (table["n"] == 5).all()
    # Pooled over beta, pairs are (replicate, beta): 10 of them.
    pooled = compare_policies(df, by="aggregation", baseline="pooled", measures=["gap"])
    assert pooled["n"].iloc[0] == 10
    with pytest.raises(ValueError, match="pair_on"):
        compare_policies(df, by="aggregation", baseline="pooled", measures=["gap"], pair_on=["replicate"])


def test_unknown_baseline_and_measure_are_named():
    df = paired_frame(n=5, delta=0.1, rep_sd=0.1, noise_sd=0.1, seed=0)
    with pytest.raises(ValueError, match="baseline"):
        compare_policies(df, by="aggregation", baseline="nope", measures=["gap"])
    with pytest.raises(KeyError, match="overtrust"):
        compare_policies(df, by="aggregation", baseline="pooled", measures=["overtrust"])


def test_summarise_runs_averages_the_last_k_steps():
    df = pd.DataFrame(
        {
            "run_key": ["a"] * 20 + ["b"] * 20,
            "beta": [1.0] * 20 + [2.0] * 20,
            "step": list(range(1, 21)) * 2,
            "gap": list(range(1, 21)) + [2 * s for s in range(1, 21)],
        }
    ).sample(frac=1.0, random_state=0)
    runs = summarise_runs(df, last=10).set_index("run_key")
    assert runs.loc["a", "gap"] == pytest.approx(15.5)
    assert runs.loc["b", "gap"] == pytest.approx(31.0)
    assert runs.loc["b", "beta"] == 2.0 and runs.loc["a", "n_steps"] == 10
