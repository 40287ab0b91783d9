"""Checking a scenario's claims against its batch: each claim's number, its 95 % CI and a verdict.

A claim (`sociosim.config.scenario.Claim`) names a measure, a comparison and the
direction it expects. Its number is

* `difference`: the paired mean difference, level minus baseline, over the runs the
  claim's `where` selects, with a bootstrap CI (`compare_policies`, scipy's BCa), and the
  share of pairs (catalogues) that moved the claimed way (`share`);
* `slope`: the OLS slope of the measure against `against` at the level (scipy's
  `linregress`, Student-t CI); with a baseline, the level's slope minus the baseline's,
  the interaction term of one OLS fit on both arms (statsmodels).

Verdicts: `holds` when the 95 % CI lies wholly on the claimed side and the p-value,
Holm-adjusted across the directional claims, is below `ALPHA`; `does not hold` when the CI lies wholly
on the other side with such a p; `inconclusive` otherwise. For `unchanged` the CI alone
decides: wholly inside ±margin holds, wholly outside does not. When every pair of runs
differs by the same amount (common random numbers can make a lever's effect exact) there
is nothing to test and the sign decides. A claim whose data are
missing is `not checked`, with the reason. Both conditions are asked for because with few
replicates a bootstrap interval is narrower than the t test allows; OLS CIs treat runs as
independent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.regression.linear_model import OLS

from sociosim.analysis.effects import compare_policies
from sociosim.analysis.frames import match_level
from sociosim.analysis.stats import adjust_pvalues, below_noise, ols_line
from sociosim.config.scenario import Claim

HOLDS, FAILS, INCONCLUSIVE, NOT_CHECKED = "holds", "does not hold", "inconclusive", "not checked"
ALPHA = 0.05  # the family-wise error rate of the claims' verdicts (Holm)
EXACT_NOTE = "every pair of runs differs by the same amount (no variation): its sign decides"
CLAIM_COLUMNS = (
    "claim",
    "measure",
    "comparison",
    "level",
    "baseline",
    "where",
    "direction",
    "margin",
    "estimate",
    "lo",
    "hi",
    "n",
    "share",
    "p",
    "p_holm",
    "verdict",
    "note",
)


def verdict(
    direction: str,
    lo: float,
    hi: float,
    p_adjusted: float,
    margin: float | None = None,
    *,
    exact: bool = False,
) -> str:
    """The verdict of a claim from its number's CI [lo, hi] and adjusted p (see the module docstring).

    `exact`: every pair of runs gave the same difference (no variation beyond floating-point
    noise), so there is no test to pass: the difference's sign decides, and a difference of
    noise size counts as none (0 is neither lower nor higher).
    """
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return INCONCLUSIVE
    if direction in ("lower", "higher") and exact:
        if lo <= 0 <= hi:
            return FAILS
        return HOLDS if (hi < 0) == (direction == "lower") else FAILS
    if direction in ("lower", "higher"):
        if not (np.isfinite(p_adjusted) and p_adjusted < ALPHA):
            return INCONCLUSIVE
        below, above = hi < 0, lo > 0
        if direction == "lower":
            return HOLDS if below else FAILS if above else INCONCLUSIVE
        return HOLDS if above else FAILS if below else INCONCLUSIVE
    if margin is None:
        raise ValueError("margin: needed for direction 'unchanged'")
    if -margin < lo and hi < margin:
        return HOLDS
    return FAILS if lo > margin or hi < -margin else INCONCLUSIVE


def _where_text(where: dict[str, Any]) -> str:
    return ", ".join(f"{k} = {v}" for k, v in where.items())


def _select(runs: pd.DataFrame, where: dict[str, Any]) -> pd.DataFrame:
    keep = pd.Series(True, index=runs.index)
    for column, value in where.items():
        if column not in runs.columns:
            raise LookupError(f"no design column {column!r}")
        keep &= runs[column] == match_level(runs[column], value)
    return runs[keep]


def _difference(runs: pd.DataFrame, claim: Claim, by: str, baseline: Any, n_boot: int, seed: int) -> dict:
    level = match_level(runs[by], claim.level)
    runs = runs[runs[by].isin([level, match_level(runs[by], baseline)])]  # only the two arms compared
    row = compare_policies(runs, by=by, baseline=baseline, measures=claim.measure, n_boot=n_boot, seed=seed)
    row = row[row["level"] == level]
    if row.empty:
        raise LookupError(f"no runs at {by} = {claim.level}")
    r = row.iloc[0]
    exact = r.get("effect_note") == "no variation"
    estimate, lo, hi = float(r["diff"]), float(r["diff_lo"]), float(r["diff_hi"])
    if exact and below_noise(abs(estimate), np.array([r["mean_level"], r["mean_baseline"]])):
        estimate = lo = hi = 0.0  # a difference of floating-point noise is none
    note = EXACT_NOTE if exact else ""
    share = {"lower": r["share_down"], "higher": r["share_up"]}.get(claim.direction, np.nan)
    return {
        "estimate": estimate,
        "lo": lo,
        "hi": hi,
        "n": r["n"],
        "p": r["p"],
        "share": share,
        "note": note,
        "exact": exact,
    }


def _slope(runs: pd.DataFrame, claim: Claim, by: str, baseline: Any | None) -> dict:
    if claim.against not in runs.columns:
        raise LookupError(f"no design column {claim.against!r} to take the slope against")
    arm = runs[runs[by] == match_level(runs[by], claim.level)]
    if baseline is None:
        fit = ols_line(arm[claim.against].to_numpy(float), arm[claim.measure].to_numpy(float))
        return {
            "estimate": fit.slope,
            "lo": fit.slope_lo,
            "hi": fit.slope_hi,
            "n": fit.n,
            "p": fit.slope_p,
            "note": "OLS over runs",
        }
    base = runs[runs[by] == match_level(runs[by], baseline)]
    both = pd.concat([arm.assign(_arm=1.0), base.assign(_arm=0.0)]).dropna(
        subset=[claim.measure, claim.against]
    )
    x = both[claim.against].to_numpy(float)
    a = both["_arm"].to_numpy(float)
    design = np.column_stack([np.ones_like(x), x, a, x * a])
    fit = OLS(both[claim.measure].to_numpy(float), design).fit()
    lo, hi = fit.conf_int(0.05)[3]
    return {
        "estimate": float(fit.params[3]),
        "lo": float(lo),
        "hi": float(hi),
        "n": len(both),
        "p": float(fit.pvalues[3]),
        "note": "slope difference: interaction term of one OLS over both arms' runs",
    }


def check_claims(
    runs: pd.DataFrame,
    claims: Sequence[Claim],
    *,
    by: str | None,
    baseline: Any,
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per claim: its number, 95 % CI, n, raw and Holm-adjusted p, and the verdict.

    `runs` is one row per run (`summarise_runs`); `by` and `baseline` are the report's
    comparison, used where a claim names none.
    """
    runs = runs.copy(deep=False)
    runs.attrs = {}  # pandas deep-copies attrs on every operation
    rows = []
    for claim in claims:
        column = claim.by or by
        row: dict[str, Any] = {
            "claim": claim.text,
            "measure": claim.measure,
            "comparison": claim.comparison,
            "level": claim.level,
            "where": _where_text(claim.where),
            "direction": claim.direction,
            "margin": claim.margin,
        }
        try:
            if column is None or column not in runs.columns:
                raise LookupError(f"no design column {column!r} to compare by")
            if claim.measure not in runs.columns:
                raise LookupError(f"no measure {claim.measure!r} in the data")
            sub = _select(runs, claim.where)
            if claim.comparison == "difference":
                base = claim.baseline if claim.baseline is not None else baseline
                row["baseline"] = base
                row.update(_difference(sub, claim, column, base, n_boot, seed))
            else:
                row["baseline"] = claim.baseline
                row.update(_slope(sub, claim, column, claim.baseline))
        except (LookupError, ValueError) as exc:
            row.update(verdict=NOT_CHECKED, note=str(exc).strip("'\""))
        rows.append(row)
    table = pd.DataFrame(rows, columns=[*CLAIM_COLUMNS, "exact"])
    table["exact"] = table["exact"].eq(True)
    table["n"] = table["n"].astype("Int64")
    # the family: directional claims (an 'unchanged' claim is judged by its CI against the margin, not a test)
    directional = table["direction"].isin(["lower", "higher"]).to_numpy()
    table["p_holm"] = adjust_pvalues(np.where(directional, table["p"].to_numpy(float), np.nan), "holm")
    table["verdict"] = table["verdict"].astype(object)
    checked = table["verdict"] != NOT_CHECKED
    table.loc[checked, "verdict"] = [
        verdict(d, float(lo), float(hi), float(p), m if pd.notna(m) else None, exact=bool(x))
        for d, lo, hi, p, m, x in table.loc[
            checked, ["direction", "lo", "hi", "p_holm", "margin", "exact"]
        ].itertuples(index=False)
    ]
    return table


__all__ = [
    "ALPHA",
    "CLAIM_COLUMNS",
    "EXACT_NOTE",
    "FAILS",
    "HOLDS",
    "INCONCLUSIVE",
    "NOT_CHECKED",
    "check_claims",
    "verdict",
]
