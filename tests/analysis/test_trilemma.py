"""Pareto frontier of the trilemma on hand-built sets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sociosim.analysis import pareto_mask, trilemma_frontier


def test_pareto_mask_on_a_hand_built_set():
    points = np.array(
        [
            [3, 1, 1],  # A: best optimisation
            [1, 3, 1],  # B: best value capture
            [1, 1, 3],  # C: best generalisation
            [1, 1, 1],  # D: dominated by A, B and C
            [3, 1, 1],  # E: a tie with A: neither dominates the other
            [2, 0.5, 0.5],  # F: dominated by A
            [2, 2, 2],  # G: balanced, not dominated
            [np.nan, 9, 9],  # H: missing axis, never on the frontier
        ],
        dtype=float,
    )
    assert pareto_mask(points).tolist() == [True, True, True, False, True, False, True, False]


@pytest.mark.parametrize("seed", [0, 1])
def test_pareto_mask_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    pts = rng.normal(size=(300, 3))
    pts[::7, 0] = np.round(pts[::7, 0])  # some ties on one axis
    pts[1] = pts[0]  # an exact duplicate
    brute = [not any(np.all(q >= p) and np.any(q > p) for q in pts) for p in pts]
    assert pareto_mask(pts).tolist() == brute


def test_trilemma_axes_orient_gap_shift_as_generalisation():
    df = pd.DataFrame(
        {
            "run_key": ["low-gap", "high-gap", "strong"],
            "kl": [1.0, 1.0, 2.0],
            "value_capture": [0.5, 0.5, 0.2],
            "gap_shift": [0.1, 0.5, 0.9],
        }
    )
    out = trilemma_frontier(df).set_index("run_key")
    assert out.loc["low-gap", "generalisation"] == -0.1
    assert out["pareto"].to_dict() == {"low-gap": True, "high-gap": False, "strong": True}
