"""Small statistics shared by the analysis modules: effect sizes, bootstrap CIs, OLS, p-value adjustment.

Bootstrap intervals come from `scipy.stats.bootstrap` with a seeded Generator, so every
table is reproducible from its `seed`; lines from `scipy.stats.linregress`; the
adjustment of many p-values from statsmodels' `multipletests`. Standardised effects are
refused when the spread they divide by is numerical noise (`below_noise`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests

CIMethod = Literal["bca", "percentile"]


def hedges_correction(df: float) -> float:
    """Small-sample bias correction J(df) = 1 - 3 / (4 df - 1) of Hedges' g."""
    if df < 1:
        return float("nan")
    return 1.0 - 3.0 / (4.0 * df - 1.0)


def _safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.asarray(num, dtype=float) / np.asarray(den, dtype=float)
    return np.where(np.asarray(den) > 0, out, np.nan)


def paired_g(d: np.ndarray, axis: int = -1) -> np.ndarray:
    """Hedges' g_z of paired differences: mean(d) / sd(d), bias-corrected."""
    d = np.asarray(d, dtype=float)
    n = d.shape[axis]
    if n < 2:
        return np.full(np.shape(d.mean(axis=axis)), np.nan)
    return _safe_ratio(d.mean(axis=axis), d.std(axis=axis, ddof=1)) * hedges_correction(n - 1)


def unpaired_g(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Hedges' g of two independent samples: (mean x - mean y) / pooled sd, bias-corrected."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    nx, ny = x.shape[axis], y.shape[axis]
    dof = nx + ny - 2
    if dof < 1:
        return np.full(np.broadcast_shapes(x.mean(axis=axis).shape, y.mean(axis=axis).shape), np.nan)
    pooled = np.sqrt(((nx - 1) * x.var(axis=axis, ddof=1) + (ny - 1) * y.var(axis=axis, ddof=1)) / dof)
    return _safe_ratio(x.mean(axis=axis) - y.mean(axis=axis), pooled) * hedges_correction(dof)


def mean_diff(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Difference of means of two samples."""
    return np.asarray(x, dtype=float).mean(axis=axis) - np.asarray(y, dtype=float).mean(axis=axis)


def paired_mean(d: np.ndarray, axis: int = -1) -> np.ndarray:
    """Mean of paired differences."""
    return np.asarray(d, dtype=float).mean(axis=axis)


@dataclass(frozen=True)
class Interval:
    """A confidence interval, the method that produced it and the share of usable resamples."""

    low: float
    high: float
    method: str
    valid: float = 1.0


def bootstrap_ci(
    samples: tuple[np.ndarray, ...],
    statistic: Callable[..., np.ndarray],
    *,
    n_boot: int = 2000,
    seed: int | list[int] | np.random.Generator = 0,
    level: float = 0.95,
    method: CIMethod = "bca",
) -> Interval:
    """Bootstrap CI of `statistic(*samples, axis=-1)` by `scipy.stats.bootstrap`, each sample resampled independently.

    Degenerate inputs are answered without resampling (fewer than 2 values: no interval;
    no spread at all: the point). When some resamples leave the statistic undefined (a
    zero sd, say) or scipy's BCa interval is undefined, the percentile interval of the
    defined resamples is given instead; `method` says which, `valid` the share defined.
    """
    if not 0 < level < 1:
        raise ValueError(f"level: must be in (0, 1), got {level}")
    if n_boot < 10:
        raise ValueError(f"n_boot: must be >= 10, got {n_boot}")
    if method not in ("bca", "percentile"):
        raise ValueError(f"ci_method: must be 'bca' or 'percentile', got {method!r}")
    samples = tuple(np.asarray(s, dtype=float) for s in samples)
    nan = float("nan")
    if any(len(s) < 2 for s in samples):
        return Interval(nan, nan, "none", 0.0)
    point = float(statistic(*samples, axis=-1))
    if all(np.ptp(s) == 0 for s in samples):
        return (
            Interval(point, point, "degenerate", 1.0)
            if np.isfinite(point)
            else Interval(nan, nan, "none", 0.0)
        )
    if not np.isfinite(point):
        return Interval(nan, nan, "none", 0.0)
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore")  # scipy warns of degenerate resamples; `valid` reports them
        res = stats.bootstrap(
            samples,
            statistic,
            n_resamples=n_boot,
            vectorized=True,
            axis=-1,
            confidence_level=level,
            method="BCa" if method == "bca" else "percentile",
            rng=np.random.default_rng(seed),
        )
    boot = np.asarray(res.bootstrap_distribution, dtype=float)
    finite = np.isfinite(boot)
    valid = float(finite.mean())
    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if valid == 1.0 and np.isfinite(low) and np.isfinite(high):
        return Interval(low, high, method, valid)
    if finite.sum() < 10:
        return Interval(nan, nan, "none", valid)
    alpha = (1 - level) / 2
    low, high = np.quantile(boot[finite], [alpha, 1 - alpha])
    return Interval(float(low), float(high), "percentile", valid)


@dataclass(frozen=True)
class LineFit:
    """An OLS line y = intercept + slope * x with t-based CIs."""

    n: int
    slope: float
    slope_se: float
    slope_lo: float
    slope_hi: float
    intercept: float
    intercept_se: float
    intercept_lo: float
    intercept_hi: float
    r2: float
    slope_p: float = float("nan")  # two-sided p of slope = 0 (t test)


def ols_line(x: np.ndarray, y: np.ndarray, *, level: float = 0.95) -> LineFit:
    """Least squares of y on x by `scipy.stats.linregress`, with Student-t CIs on slope and intercept (n - 2 dof)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = len(x)
    nan = float("nan")
    if n < 2 or np.ptp(x) == 0:
        return LineFit(n, nan, nan, nan, nan, nan, nan, nan, nan, nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        fit = stats.linregress(x, y)
    slope, intercept = float(fit.slope), float(fit.intercept)
    r2 = float(fit.rvalue) ** 2 if np.ptp(y) > 0 else nan
    if n < 3:
        return LineFit(n, slope, nan, nan, nan, intercept, nan, nan, nan, r2)
    se_b, se_a = float(fit.stderr), float(fit.intercept_stderr)
    t = float(stats.t.ppf(0.5 + level / 2, n - 2))
    return LineFit(
        n,
        slope,
        se_b,
        slope - t * se_b,
        slope + t * se_b,
        intercept,
        se_a,
        intercept - t * se_a,
        intercept + t * se_a,
        r2,
        float(fit.pvalue),
    )


def ols_line_bootstrap(
    x: np.ndarray, y: np.ndarray, *, level: float = 0.95, n_boot: int = 2000, seed: int = 0
) -> LineFit:
    """OLS line with percentile CIs from a cases bootstrap (resampling (x, y) pairs, i.e. runs)."""
    fit = ols_line(x, y, level=level)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = len(x)
    if n < 3 or np.ptp(x) == 0:
        return fit
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    xb, yb = x[idx], y[idx]
    xm, ym = xb.mean(axis=1, keepdims=True), yb.mean(axis=1, keepdims=True)
    sxx = ((xb - xm) ** 2).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        slopes = ((xb - xm) * (yb - ym)).sum(axis=1) / sxx
    intercepts = ym[:, 0] - slopes * xm[:, 0]
    keep = np.isfinite(slopes)
    q = [50 * (1 - level), 50 * (1 + level)]
    s_lo, s_hi = np.percentile(slopes[keep], q)
    i_lo, i_hi = np.percentile(intercepts[keep], q)
    return LineFit(
        fit.n,
        fit.slope,
        float(np.std(slopes[keep], ddof=1)),
        float(s_lo),
        float(s_hi),
        fit.intercept,
        float(np.std(intercepts[keep], ddof=1)),
        float(i_lo),
        float(i_hi),
        fit.r2,
        fit.slope_p,
    )


NOISE_RTOL = 1e-9  # a spread below this share of the values' magnitude is floating-point noise


def below_noise(spread: float, *values: np.ndarray) -> bool:
    """Whether `spread` (an sd) is numerical noise next to the magnitude of `values` (or exactly zero).

    A standardised effect divides by such a spread; dividing by noise gives numbers like
    g = -0.37 for a 1e-17 difference, so callers report "no variation" instead.
    """
    if not np.isfinite(spread) or spread <= 0:
        return True
    scale = max((float(np.mean(np.abs(v))) for v in values if len(v)), default=0.0)
    return spread <= NOISE_RTOL * scale


def adjust_pvalues(p: np.ndarray, method: str = "holm") -> np.ndarray:
    """Adjusted p-values over a family of tests by statsmodels' `multipletests` (NaN entries stay NaN)."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method=method)[1]
    return out
