"""The alignment trilemma: each run on its three axes, with the Pareto frontier marked.

Axes (all oriented so that higher is "more"): optimisation = `kl` (how hard the policy is
pushed), value capture = `value_capture` (corr(r, U) under pi), generalisation =
`-gap_shift` (a small gap on the shifted population is good).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .frames import require_columns, summarise_runs

AXES = ("optimisation", "value_capture", "generalisation")


def pareto_mask(values: np.ndarray, *, chunk: int = 2048) -> np.ndarray:
    """Boolean mask of the non-dominated rows of `values` (every column maximised).

    Row i is dominated when some row j is >= on every column and > on at least one.
    Rows with a missing value are never on the frontier. Cost O(n^2 k), chunked.
    """
    v = np.asarray(values, dtype=float)
    if v.ndim != 2:
        raise ValueError(f"values: expected a 2-D array, got shape {v.shape}")
    finite = np.all(np.isfinite(v), axis=1)
    pts = v[finite]
    keep = np.ones(len(pts), dtype=bool)
    chunk = max(
        1, min(chunk, 20_000_000 // max(1, len(pts) * v.shape[1]))
    )  # bound the n x chunk x k temporaries
    for start in range(0, len(pts), chunk):
        block = pts[start : start + chunk]
        ge = np.all(pts[None, :, :] >= block[:, None, :], axis=2)
        gt = np.any(pts[None, :, :] > block[:, None, :], axis=2)
        keep[start : start + chunk] = ~np.any(ge & gt, axis=1)
    mask = np.zeros(len(v), dtype=bool)
    mask[np.flatnonzero(finite)] = keep
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
