"""Per-culture outcomes: who gains and who loses under each policy, and homogenisation over time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sociosim.analysis.effects import compare_policies
from sociosim.analysis.frames import culture_indices, ensure_run_key, require_columns
from sociosim.analysis.stats import CIMethod


def culture_outcomes(
    df: pd.DataFrame,
    *,
    by: str,
    baseline: Any,
    last: int = 10,
    n_boot: int = 2000,
    seed: int = 0,
    paired: bool = True,
    level: float = 0.95,
    ci_method: CIMethod = "bca",
) -> pd.DataFrame:
    """Change in each culture's true utility (`utility_<c>`) per level of `by` against `baseline`.

    One row per (level, culture) with the compare_policies columns plus `culture` and
    `verdict`: "gains" / "loses" when the CI of the difference excludes 0, else "unclear".
    """
    cultures = culture_indices(df, "utility")
    if not cultures:
        raise KeyError("measure: no utility_<c> columns in the data (per-culture utility)")
    measures = [f"utility_{c}" for c in cultures]
    table = compare_policies(
        df,
        by=by,
        baseline=baseline,
        measures=measures,
        last=last,
        n_boot=n_boot,
        seed=seed,
        paired=paired,
        level=level,
        ci_method=ci_method,
    )
    table.insert(0, "culture", table["measure"].str.removeprefix("utility_").astype(int))
    table["verdict"] = np.select(
        [table["diff_lo"] > 0, table["diff_hi"] < 0], ["gains", "loses"], default="unclear"
    )
    return table.sort_values(["level", "culture"], kind="stable", ignore_index=True)


def trajectories(
    df: pd.DataFrame,
    *,
    measures: Sequence[str],
    by: str | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Mean of each measure per step (and per level of `by`) across runs, with a t-based CI band."""
    from scipy import stats

    df = ensure_run_key(df)
    require_columns(df, ["step", *measures, *([by] if by else [])])
    keys = [by, "step"] if by else ["step"]
    long = df.melt(id_vars=[*keys, "run_key"], value_vars=list(measures), var_name="measure")
    grouped = long.groupby(["measure", *keys], sort=True, dropna=False)["value"]
    out = grouped.agg(mean="mean", sd="std", n="count").reset_index()
    t = stats.t.ppf(0.5 + level / 2, np.maximum(out["n"] - 1, 1))
    half = np.where(out["n"] > 1, t * out["sd"] / np.sqrt(out["n"]), np.nan)
    out["lo"] = out["mean"] - half
    out["hi"] = out["mean"] + half
    return out
