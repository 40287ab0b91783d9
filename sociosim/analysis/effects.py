"""Policy comparison: each level of a design column against a baseline, with bootstrap CIs.

Replicate r of every arm shares its seed (common random numbers), so by default arms are
paired on the replicate (and on any other varying design column) and the effect size is
Hedges' g_z of the paired differences; unpaired comparisons use Hedges' g with pooled sd.
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sociosim.analysis.frames import (
    as_columns,
    match_level,
    measure_columns,
    parameter_columns,
    require_columns,
    summarise_runs,
)
from sociosim.analysis.stats import (
    CIMethod,
    Interval,
    below_noise,
    bootstrap_ci,
    mean_diff,
    paired_g,
    paired_mean,
    unpaired_g,
)

# The estimate columns of a comparison: both means, their difference and the standardised effect, with CIs.
ESTIMATE_COLUMNS = (
    "mean_baseline",
    "mean_level",
    "diff",
    "diff_lo",
    "diff_hi",
    "effect_size",
    "effect_lo",
    "effect_hi",
)

# Headline measures compared when none are named (those present are used).
DEFAULT_MEASURES = (
    "gap",
    "true_utility",
    "proxy",
    "kl",
    "gap_shift",
    "utility_min",
    "utility_spread",
    "overtrust",
    "sycophancy",
    "value_diversity",
    "value_capture",
)

SEED_COLUMNS = ("seed_entropy", "seed_spawn_key")


def stream_seed(seed: int, *labels: Any) -> list[int]:
    """A Generator seed for one cell of a table, stable whatever else the table holds."""
    return [int(seed), *(zlib.crc32(str(label).encode()) for label in labels)]


def pairing_keys(
    runs: pd.DataFrame, *, by: str, within: Sequence[str], pair_on: Sequence[str] | None
) -> list[str]:
    """Columns that match a run of one arm to its twin in another: replicate and other varying parameters."""
    if pair_on is not None:
        return list(pair_on)
    others = [c for c in parameter_columns(runs, varying=True) if c != by and c not in within]
    return ["replicate", *others] if "replicate" in runs.columns else []


def _common_seeds(pairs: pd.DataFrame) -> bool | None:
    """Whether paired runs share their seed (None when the data carry no seeds)."""
    present = [c for c in SEED_COLUMNS if f"{c}_t" in pairs.columns]
    if not present:
        return None
    return bool(all((pairs[f"{c}_t"].astype(str) == pairs[f"{c}_b"].astype(str)).all() for c in present))


def _compare_one(
    base: pd.DataFrame,
    treat: pd.DataFrame,
    measure: str,
    *,
    keys: list[str],
    paired: bool,
    n_boot: int,
    rng_seed: list[int],
    level: float,
    ci_method: CIMethod,
    pairs: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Mean difference and effect size of one measure, treatment minus baseline.

    `pairs` (paired only) is `treat` merged with `base` on `keys` for every measure at once
    (suffixes _t and _b); it is made here when not given.
    """
    row: dict[str, Any] = {}
    if paired:
        if pairs is None:
            pairs = _pairs(base, treat, [measure], keys)
        merged = pairs.dropna(subset=[f"{measure}_t", f"{measure}_b"])
        t = merged[f"{measure}_t"].to_numpy(float)
        b = merged[f"{measure}_b"].to_numpy(float)
        d = t - b
        row.update(n=len(d), n_baseline=len(d), mean_baseline=_mean(b), mean_level=_mean(t))
        row["diff"] = _mean(d)
        row.update(_spread_of_signs(d))
        noise = len(d) < 2 or below_noise(float(np.std(d, ddof=1)), t, b)
        row["effect_size"] = np.nan if noise else float(paired_g(d))
        diff_ci = bootstrap_ci((d,), paired_mean, n_boot=n_boot, seed=rng_seed, level=level, method=ci_method)
        g_ci = (
            NO_INTERVAL
            if noise
            else bootstrap_ci(
                (d,), paired_g, n_boot=n_boot, seed=[*rng_seed, 1], level=level, method=ci_method
            )
        )
        row["p"] = np.nan if noise else float(stats.ttest_1samp(d, 0.0).pvalue)
        row["effect_kind"] = "hedges_g_z"
        row["effect_av"] = float(unpaired_g(t, b)) if len(d) > 1 and not noise else np.nan
        row["effect_note"] = "no variation" if noise and len(d) > 1 else ""
        row["common_seeds"] = _common_seeds(merged)
    else:
        t = treat[measure].dropna().to_numpy(float)
        b = base[measure].dropna().to_numpy(float)
        row.update(n=len(t), n_baseline=len(b), mean_baseline=_mean(b), mean_level=_mean(t))
        row["diff"] = _mean(t) - _mean(b)
        row["median_diff"] = float(np.median(t) - np.median(b)) if len(t) and len(b) else np.nan
        row["share_up"] = row["share_down"] = np.nan  # signs need pairs
        dof = len(t) + len(b) - 2
        pooled = (
            np.sqrt(((len(t) - 1) * np.var(t, ddof=1) + (len(b) - 1) * np.var(b, ddof=1)) / dof)
            if dof >= 1 and len(t) > 1 and len(b) > 1
            else np.nan
        )
        noise = bool(np.isnan(pooled)) or below_noise(float(pooled), t, b)
        row["effect_size"] = np.nan if noise else float(unpaired_g(t, b))
        diff_ci = bootstrap_ci((t, b), mean_diff, n_boot=n_boot, seed=rng_seed, level=level, method=ci_method)
        g_ci = (
            NO_INTERVAL
            if noise
            else bootstrap_ci(
                (t, b), unpaired_g, n_boot=n_boot, seed=[*rng_seed, 1], level=level, method=ci_method
            )
        )
        row["p"] = np.nan if noise else float(stats.ttest_ind(t, b, equal_var=False).pvalue)
        row["effect_kind"] = "hedges_g"
        row["effect_av"] = row["effect_size"]
        row["effect_note"] = "no variation" if noise and not np.isnan(pooled) else ""
        row["common_seeds"] = None
    row.update(diff_lo=diff_ci.low, diff_hi=diff_ci.high, effect_lo=g_ci.low, effect_hi=g_ci.high)
    row["ci_method"] = diff_ci.method
    row["effect_valid"] = g_ci.valid
    row["excludes_zero"] = bool(diff_ci.low > 0 or diff_ci.high < 0)
    return row


NO_INTERVAL = Interval(float("nan"), float("nan"), "none", 0.0)


def _spread_of_signs(d: np.ndarray) -> dict[str, float]:
    """Median paired difference and the shares of pairs (catalogues) where the level is above / below the baseline.

    One catalogue can carry a mean (DESIGN §1: single catalogues are a lottery); these say
    whether the effect is typical.
    """
    if not len(d):
        return {"median_diff": np.nan, "share_up": np.nan, "share_down": np.nan}
    return {
        "median_diff": float(np.median(d)),
        "share_up": float(np.mean(d > 0)),
        "share_down": float(np.mean(d < 0)),
    }


def _pairs(base: pd.DataFrame, treat: pd.DataFrame, measures: Sequence[str], keys: list[str]) -> pd.DataFrame:
    """Each treatment run beside its baseline twin (matched on `keys`), with the measures and seeds of both."""
    cols = [*keys, *measures, *[c for c in SEED_COLUMNS if c in base.columns]]
    return treat[cols].merge(base[cols], on=keys, suffixes=("_t", "_b"), how="inner")


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


def compare_policies(
    df: pd.DataFrame,
    *,
    by: str,
    baseline: Any,
    measures: Sequence[str] | str | None = None,
    last: int = 10,
    n_boot: int = 2000,
    seed: int = 0,
    paired: bool = True,
    within: str | Sequence[str] | None = None,
    pair_on: Sequence[str] | None = None,
    level: float = 0.95,
    ci_method: CIMethod = "bca",
) -> pd.DataFrame:
    """Each level of `by` against `baseline`: mean difference and Hedges' g with bootstrap CIs.

    `df` is step-level (summarised over each run's last `last` steps) or one row per run.
    `within` repeats the comparison inside each stratum (e.g. per `beta`). Returns one row
    per (stratum, level, measure) with n, means, diff [diff_lo, diff_hi], effect_size
    [effect_lo, effect_hi], the CI method and whether the difference's CI excludes 0.
    Paired rows also give `effect_av` (Hedges' g against the arms' pooled sd, comparable
    with unpaired studies: g_z grows as common random numbers cancel noise);
    `effect_valid` is the share of bootstrap resamples with a defined effect size.
    When the spread of the differences is numerical noise there is no standardised
    effect (NaN, `effect_note` "no variation"). `median_diff` and, paired, `share_up` /
    `share_down` (share of replicates, i.e. catalogues, where the level is above / below
    the baseline) sit beside the mean; `p` is the t test's two-sided p (paired: one-sample
    on the differences; unpaired: Welch), unadjusted.
    """
    runs = summarise_runs(df, last=last)
    strata = as_columns(within)
    require_columns(runs, [by, *strata])
    chosen = as_columns(measures) or [m for m in DEFAULT_MEASURES if m in runs.columns]
    if not chosen:
        chosen = measure_columns(runs)
    require_columns(runs, chosen, what="measure")
    base_level = match_level(runs[by], baseline)
    runs = runs.copy(deep=False)
    runs.attrs = {}  # pandas deep-copies attrs on every operation; the measures are chosen already
    keys = pairing_keys(runs, by=by, within=strata, pair_on=pair_on) if paired else []
    if paired and not keys:
        warnings.warn("compare_policies: no replicate column to pair on; comparing unpaired", stacklevel=2)
        paired = False
    if paired:
        require_columns(runs, keys, what="pairing column")
    rows = []
    groups = runs.groupby(strata, sort=True, dropna=False) if strata else [((), runs)]
    for stratum, sub in groups:
        stratum = stratum if isinstance(stratum, tuple) else (stratum,)
        base = sub[sub[by] == base_level]
        if paired and base.duplicated(keys).any():
            raise ValueError(
                f"pair_on: columns {keys} do not identify one baseline run per pair; "
                "pass pair_on=..., within=... or paired=False"
            )
        levels = [lv for lv in pd.unique(sub[by].dropna()) if lv != base_level]
        for lv in _sorted(levels):
            treat = sub[sub[by] == lv]
            pairs = _pairs(base, treat, chosen, keys) if paired else None
            for m in chosen:
                row = dict(zip(strata, stratum, strict=True))
                row.update(measure=m, by=by, level=lv, baseline=base_level, paired=paired)
                row.update(
                    _compare_one(
                        base,
                        treat,
                        m,
                        keys=keys,
                        paired=paired,
                        n_boot=n_boot,
                        rng_seed=stream_seed(seed, *stratum, lv, m),
                        level=level,
                        ci_method=ci_method,
                        pairs=pairs,
                    )
                )
                row["ci_level"] = level
                rows.append(row)
    columns = [
        *strata,
        "measure",
        "by",
        "level",
        "baseline",
        "paired",
        "n",
        "n_baseline",
        *ESTIMATE_COLUMNS,
        "median_diff",
        "share_up",
        "share_down",
        "p",
        "effect_kind",
        "effect_note",
        "effect_av",
        "effect_valid",
        "ci_method",
        "ci_level",
        "excludes_zero",
        "common_seeds",
    ]
    return pd.DataFrame(rows, columns=columns)


def _sorted(levels: list[Any]) -> list[Any]:
    try:
        return sorted(levels)
    except TypeError:
        return sorted(levels, key=str)
