"""The benchmark's yardsticks run the same users' dynamics as sociosim, and the harness runs.

The numpy reference and the naive Mesa model are driven by the same policy and the same
random stream as sociosim, so trust (and its two shadows, calibrated and plain), activity
and values must match to floating point. No timing assertions.
"""

from __future__ import annotations

import copy
import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks.naive_mesa import NaiveUsersModel
from benchmarks.reference import ReferenceUsers
from sociosim import AlignmentModel
from sociosim.model.dynamics import anthro_cue

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model() -> AlignmentModel:
    # beta 4 makes the policy far from uniform; a high churn threshold makes some users leave
    return AlignmentModel(n_users=300, beta=4.0, churn_threshold=0.35, rng=3)


def drive_population(model: AlignmentModel, steps: int, seed: int):
    """sociosim's own UserPopulation, stepped as AlignmentModel.step does, under the model's policy."""
    users = copy.deepcopy(model.users)
    rng = np.random.default_rng(seed)
    p = model.params
    for _ in range(steps):
        cue = anthro_cue(p.cue_anthro, disclosure=p.disclosure, disclosure_effect=p.disclosure_effect)
        users.interact([model.policy], model.catalogue, p, anthro_cues=np.array([cue]), rng=rng)
        users.socialise(p)
        users.churn(p.churn_threshold)
    return users


def test_reference_reproduces_sociosim_users_exactly(model):
    users = drive_population(model, 25, seed=11)
    reference = ReferenceUsers.from_population(model.users, model.params, model.catalogue)
    rng = np.random.default_rng(11)
    for _ in range(25):
        reference.step(model.policy, rng)
    assert 0.0 < users.active.mean() < 1.0  # churn happened, so the comparison covers it
    assert model.policy @ model.catalogue.defect > 0  # users meet masked defects
    np.testing.assert_array_equal(reference.trust, users.trust[:, 0])
    np.testing.assert_array_equal(reference.trust_cal, users.trust_cal[:, 0])
    np.testing.assert_array_equal(reference.trust_plain, users.trust_plain[:, 0])
    np.testing.assert_array_equal(reference.active, users.active)
    np.testing.assert_array_equal(reference.values, users.values)


def test_naive_mesa_matches_sociosim_users_to_rounding(model):
    users = drive_population(model, 15, seed=5)
    naive = NaiveUsersModel.from_population(model.users, model.params, model.catalogue, rng=5)
    naive.policy = model.policy
    for _ in range(15):
        naive.step()
    np.testing.assert_array_equal(naive.active, users.active)
    np.testing.assert_allclose(naive.trust, users.trust[:, 0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(naive.trust_cal, users.trust_cal[:, 0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(naive.trust_plain, users.trust_plain[:, 0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(naive.values, users.values, rtol=0, atol=1e-12)


def test_reference_replays_the_full_model_and_its_statistics():
    """The whole AlignmentModel: replay each step's policy and generator state in the reference."""
    model = AlignmentModel(n_users=250, beta=2.0, rng=21)
    reference = ReferenceUsers.from_population(model.users, model.params, model.catalogue)
    for _ in range(12):
        state = copy.deepcopy(model.rng.bit_generator.state)  # users interact first in a step
        policy = model.policy.copy()
        model.step()
        rng = np.random.default_rng()
        rng.bit_generator.state = state
        reference.step(policy, rng)
    np.testing.assert_array_equal(reference.trust, model.users.trust[:, 0])
    np.testing.assert_array_equal(reference.trust_cal, model.users.trust_cal[:, 0])
    np.testing.assert_array_equal(reference.trust_plain, model.users.trust_plain[:, 0])
    np.testing.assert_array_equal(reference.values, model.users.values)
    last = model.results().iloc[-1]
    assert last["trust_mean"] == pytest.approx(reference.trust.mean(), abs=1e-12)
    active = reference.active
    overtrust = (reference.trust - reference.trust_cal)[active].mean()
    from_anthro = (reference.trust - reference.trust_plain)[active].mean()
    assert last["overtrust"] == pytest.approx(overtrust, abs=1e-12)
    assert last["trust_from_anthro"] == pytest.approx(from_anthro, abs=1e-12)
    assert last["active_share"] == pytest.approx(reference.active.mean(), abs=1e-12)
    assert last["value_diversity"] == pytest.approx(reference.values.var(axis=0).sum(), abs=1e-10)


def test_reference_rejects_bounded_confidence():
    model = AlignmentModel(n_users=100, bounded_confidence=0.5, rng=1)
    with pytest.raises(ValueError, match="bounded_confidence"):
        ReferenceUsers.from_population(model.users, model.params, model.catalogue)


def test_quick_benchmark_writes_its_table(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    table = (tmp_path / "results.md").read_text()
    assert "| N users | sociosim user-steps/s | reference user-steps/s |" in table
    with (tmp_path / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["n_users"]) for r in rows] == [300, 1000, 3000]
    for row in rows:
        assert float(row["sociosim_us"]) > 0 and float(row["reference_us"]) > 0 and float(row["naive_us"]) > 0
        assert float(row["rss_peak_mb"]) > 0


def test_step_benchmark_runs_both_steps_and_reports_ratios():
    """A smoke run of `benchmarks.step` (no timing asserted: only that both kinds ran and were compared)."""
    from benchmarks.step import compare

    found = compare(users=60, steps=2, rounds=2)
    for key in ("new_run_s", "pinned_run_s", "new_steps_s", "pinned_steps_s", "ratio_run", "ratio_cpu"):
        assert found[key] > 0
    assert found["ratio_run_min"] <= found["ratio_run"] <= found["ratio_run_max"]
