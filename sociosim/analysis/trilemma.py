"""The alignment trilemma: each run on its three axes, with the Pareto frontier marked.

Axes (all oriented so that higher is "more"): optimisation = `kl` (how hard the policy is
pushed), value capture = `value_capture` (corr(r, U) under pi), generalisation =
`-gap_shift` (a small gap on the shifted population is good).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sociosim.analysis.frames import require_columns, summarise_runs

AXES = ("optimisation", "value_capture", "generalisation")


def pareto_mask(values: np.ndarray) -> np.ndarray:
    """Boolean mask of the non-dominated rows of `values` (every column maximised).

    Row i is dominated when some row j is >= on every column and > on at least one; tied
    rows do not dominate each other. Rows with a missing value are never on the frontier.
    Rows are visited in descending lexicographic order, so every dominator of a row comes
    before it and, by transitivity, some frontier row already found dominates it:
    O(n log n + n * frontier size).
    """
    v = np.asarray(values, dtype=float)
    if v.ndim != 2:
        raise ValueError(f"values: expected a 2-D array, got shape {v.shape}")
    finite = np.flatnonzero(np.all(np.isfinite(v), axis=1))
    pts = v[finite]
    order = np.lexsort(tuple(-pts[:, k] for k in reversed(range(pts.shape[1]))))
    front: list[int] = []
    for i in order:
        p = pts[i]
        if front:
            f = pts[front]
            if np.any(np.all(f >= p, axis=1) & np.any(f > p, axis=1)):
                continue
        front.append(int(i))
    mask = np.zeros(len(v), dtype=bool)
    mask[finite[front]] = True
    return mask


def trilemma_frontier(df: pd.DataFrame, *, last: int = 10) -> pd.DataFrame:
    """One row per run with `optimisation`, `value_capture`, `generalisation` and a `pareto` flag."""
    runs = summarise_runs(df, last=last)
    require_columns(runs, ["kl", "value_capture", "gap_shift"], what="measure")
    out = runs.copy()
    out["optimisation"] = out["kl"].astype(float)
    out["value_capture"] = out["value_capture"].astype(float)
    out["generalisation"] = -out["gap_shift"].astype(float)
    out["pareto"] = pareto_mask(out[list(AXES)].to_numpy(float))
    return out
