"""Synthetic batch frames in the store's layout, with known effects: for tests, demos and docs.

`synthetic_batch` draws a design (a lever column x beta x replicates) whose per-run
outcomes follow stated formulas, so every statistic the analysis computes has a known
answer. Replicate r of every arm shares its seed and its random effect (common random
numbers), like a real sociosim batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class SyntheticTruth:
    """The known parameters behind a synthetic batch (per lever level where it says so)."""

    gap_intercept: Mapping[str, float] = field(default_factory=lambda: {"pooled": 0.4, "balanced": 0.2})
    gap_slope: Mapping[str, float] = field(default_factory=lambda: {"pooled": 0.30, "balanced": 0.15})
    goodhart_a: float = 1.2
    goodhart_b: float = 0.5
    culture_shift: Mapping[str, Sequence[float]] = field(
        default_factory=lambda: {"pooled": (0.0, 0.0, 0.0, 0.0), "balanced": (-0.2, 0.3, 0.3, 0.3)}
    )
    replicate_sd: float = 0.3
    noise_sd: float = 0.05


def synthetic_batch(
    *,
    by: str = "aggregation",
    levels: Sequence[str] = ("pooled", "balanced"),
    betas: Sequence[float] = (0.0, 0.5, 1.0, 2.0, 4.0),
    replications: int = 4,
    steps: int = 20,
    n_cultures: int = 4,
    truth: SyntheticTruth | None = None,
    seed: int = 0,
    scenario: str = "synthetic",
) -> pd.DataFrame:
    """A long (run, step) frame with every §4 measure; steady state from step steps // 2 on."""
    truth = truth or SyntheticTruth()
    rng = np.random.default_rng(seed)
    rep_effect = rng.normal(0.0, truth.replicate_sd, size=replications)
    rows = []
    point = 0
    for level in levels:
        for beta in betas:
            for r in range(replications):
                rows.append(
                    _run_rows(
                        level, beta, r, point, rep_effect[r], truth, rng, by, steps, n_cultures, scenario
                    )
                )
            point += 1
    return pd.concat(rows, ignore_index=True)


def _run_rows(level, beta, r, point, u, truth, rng, by, steps, n_cultures, scenario) -> pd.DataFrame:
    """Rows of one synthetic run: a transient over the first half, then noise around the targets."""
    kl = 0.3 * beta**1.5
    d = np.sqrt(kl)
    target = {
        "kl": kl,
        "gap": truth.gap_intercept[level] + truth.gap_slope[level] * beta + u,
        "true_utility": d * (truth.goodhart_a - truth.goodhart_b * d) + 0.2 * u,
        "gap_shift": 0.5 + 0.4 * beta + u,
        "value_capture": 0.9 - 0.1 * beta + 0.05 * u,
        "sycophancy": 0.5 + 0.08 * beta + 0.02 * u,
        "trust_mean": 0.55 + 0.05 * beta,
        "reliability": 0.6 - 0.03 * beta,
        "anthro": 0.5 + 0.05 * beta,
        "polish": 0.1 * beta,
        "harm": 0.05 * beta,
    }
    target["proxy"] = target["gap"] + target["true_utility"]
    shift = list(truth.culture_shift.get(level, (0.0,) * n_cultures)) + [0.0] * n_cultures
    for c in range(n_cultures):
        target[f"utility_{c}"] = target["true_utility"] + shift[c] + 0.5 * u
    t = np.arange(steps)
    ramp = np.minimum(1.0, t / max(1, steps // 2))
    data: dict[str, object] = {
        "run_key": f"{scenario}-{point:04d}-{r:02d}",
        "scenario": scenario,
        "scenario_hash": "0123456789abcdef",
        "point": point,
        "replicate": r,
        "seed_entropy": 12345,
        "seed_spawn_key": str(r),
        by: level,
        "beta": float(beta),
        "step": t,
    }
    for name, value in target.items():
        noise = rng.normal(0.0, truth.noise_sd, size=steps)
        data[name] = value * ramp + noise * (t >= steps // 2)
    # Homogenisation: diversity decays, minorities drift more under the skewed pool.
    decay = np.exp(-t * (0.02 + 0.01 * beta) * (0.5 if level == "balanced" else 1.0))
    data["value_diversity"] = 1.0 * decay
    data["culture_separation"] = decay**0.5
    data["culture_entropy"] = np.log(n_cultures) * np.ones(steps)
    data["minority_drift"] = 0.6 * (1 - decay) * (0.5 if level == "balanced" else 1.0)
    data["majority_drift"] = 0.3 * (1 - decay)
    data["overtrust"] = np.asarray(data["trust_mean"]) - np.asarray(data["reliability"])
    data["mirage"] = np.asarray(data["gap_shift"]) - np.asarray(data["gap"])
    utilities = np.column_stack([data[f"utility_{c}"] for c in range(n_cultures)])
    data["utility_min"] = utilities.min(axis=1)
    data["utility_spread"] = utilities.max(axis=1) - utilities.min(axis=1)
    for c in range(n_cultures):
        data[f"stance_alignment_{c}"] = np.full(steps, 0.8 if c == 0 and level == "pooled" else 0.3)
    data["dominant_pull"] = 0.5 * (1 - decay)
    data["trust_from_anthro"] = 0.1 * np.asarray(data["anthro"])
    data["active_share"] = np.ones(steps)
    data["annotator_agreement"] = 0.72 - 0.02 * beta * ramp
    data["annotator_bias"] = np.zeros(steps)
    data["reward_hacking"] = np.zeros(steps)
    data["beta_effective"] = np.full(steps, float(beta))
    return pd.DataFrame(data)
