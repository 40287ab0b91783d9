"""Per-culture winners and losers, and trajectories, on synthetic batches with known shifts."""

from __future__ import annotations

import numpy as np
import pytest

from sociosim.analysis import culture_outcomes, trajectories
from sociosim.analysis.synthetic import SyntheticTruth, synthetic_batch


def test_culture_outcomes_find_who_gains_and_who_loses():
    truth = SyntheticTruth()
    df = synthetic_batch(replications=5, seed=2)
    # Four intervals at once: 99 % each keeps the family's miss rate near 4 %.
    table = culture_outcomes(df, by="aggregation", baseline="pooled", n_boot=2000, level=0.99).set_index(
        "culture"
    )
    shift = np.array(truth.culture_shift["balanced"]) - np.array(truth.culture_shift["pooled"])
    for c, s in enumerate(shift):
        assert table.loc[c, "diff_lo"] < s < table.loc[c, "diff_hi"]
    assert table["verdict"].tolist() == ["loses", "gains", "gains", "gains"]


def test_culture_outcomes_need_per_culture_columns():
    df = synthetic_batch(replications=2, steps=4).drop(columns=[f"utility_{c}" for c in range(4)])
    with pytest.raises(KeyError, match="utility_<c>"):
        culture_outcomes(df, by="aggregation", baseline="pooled")


def test_trajectories_mean_and_band():
    df = synthetic_batch(replications=3, steps=6, betas=(1.0,))
    traj = trajectories(df, measures=["value_diversity"], by="aggregation")
    assert len(traj) == 2 * 6
    first = traj[traj["step"] == 0]
    assert first["mean"].to_numpy() == pytest.approx([1.0, 1.0])
    assert (traj["lo"] <= traj["mean"] + 1e-12).all() and (traj["mean"] <= traj["hi"] + 1e-12).all()
