"""Small statistics shared by the analysis modules: effect sizes, bootstrap CIs, OLS.

Bootstrap intervals come from `scipy.stats.bootstrap` with a seeded Generator, so every
table is reproducible from its `seed`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

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


def _resample(samples: tuple[np.ndarray, ...], n_boot: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Each sample resampled with replacement independently: arrays of shape (n_boot, n_i)."""
    return [s[rng.integers(0, len(s), size=(n_boot, len(s)))] for s in samples]


def _jackknife(samples: tuple[np.ndarray, ...], statistic: Callable[..., np.ndarray]) -> np.ndarray:
    """Leave-one-out values of the statistic, one observation of one sample left out at a time."""
    values = []
    for k, s in enumerate(samples):
        n = len(s)
        loo = np.stack([np.delete(s, i) for i in range(n)])
        args = [loo if j == k else np.broadcast_to(o, (n, len(o))) for j, o in enumerate(samples)]
        values.append(np.asarray(statistic(*args, axis=-1), dtype=float))
    return np.concatenate(values)


def bootstrap_ci(
    samples: tuple[np.ndarray, ...],
    statistic: Callable[..., np.ndarray],
    *,
    n_boot: int = 2000,
    seed: int | list[int] | np.random.Generator = 0,
    level: float = 0.95,
    method: CIMethod = "bca",
) -> Interval:
    """Bootstrap CI of `statistic(*samples, axis=-1)`, each sample resampled independently.

    Resamples whose statistic is undefined (e.g. a zero sd) are dropped; `valid` is the
    share kept. BCa (bias-corrected and accelerated, jackknife acceleration) falls back
    to the percentile interval when its correction is undefined; `method` says which.
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
    rng = np.random.default_rng(seed)
    boot = np.asarray(statistic(*_resample(samples, n_boot, rng), axis=-1), dtype=float)
    boot = boot[np.isfinite(boot)]
    valid = len(boot) / n_boot
    if len(boot) < 10 or not np.isfinite(point):
        return Interval(nan, nan, "none", valid)
    alpha = (1 - level) / 2
    probs = np.array([alpha, 1 - alpha])
    used = "percentile"
    if method == "bca":
        adjusted = _bca_probs(samples, statistic, boot, point, probs)
        if adjusted is not None:
            probs, used = adjusted, "bca"
    low, high = np.quantile(boot, probs)
    return Interval(float(low), float(high), used, valid)


def _bca_probs(samples, statistic, boot: np.ndarray, point: float, probs: np.ndarray) -> np.ndarray | None:
    """BCa-adjusted quantile levels, or None when bias or acceleration is undefined."""
    below = np.mean(boot < point) + 0.5 * np.mean(boot == point)
    if not 0 < below < 1:
        return None
    z0 = stats.norm.ppf(below)
    jack = _jackknife(samples, statistic)
    if not np.all(np.isfinite(jack)):
        return None
    dev = jack.mean() - jack
    denom = 6.0 * float((dev**2).sum()) ** 1.5
    accel = float((dev**3).sum()) / denom if denom > 0 else 0.0
    z = stats.norm.ppf(probs)
    adjusted = stats.norm.cdf(z0 + (z0 + z) / (1 - accel * (z0 + z)))
    return adjusted if np.all(np.isfinite(adjusted)) else None


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


def ols_line(x: np.ndarray, y: np.ndarray, *, level: float = 0.95) -> LineFit:
    """Ordinary least squares of y on x with Student-t CIs on slope and intercept (n - 2 dof)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = len(x)
    nan = float("nan")
    if n < 2 or np.ptp(x) == 0:
        return LineFit(n, nan, nan, nan, nan, nan, nan, nan, nan, nan)
    xbar, ybar = x.mean(), y.mean()
    sxx = float(((x - xbar) ** 2).sum())
    slope = float(((x - xbar) * (y - ybar)).sum() / sxx)
    intercept = float(ybar - slope * xbar)
    resid = y - intercept - slope * x
    sst = float(((y - ybar) ** 2).sum())
    r2 = 1.0 - float((resid**2).sum()) / sst if sst > 0 else nan
    if n < 3:
        return LineFit(n, slope, nan, nan, nan, intercept, nan, nan, nan, r2)
    s2 = float((resid**2).sum()) / (n - 2)
    se_b = np.sqrt(s2 / sxx)
    se_a = np.sqrt(s2 * (1.0 / n + xbar**2 / sxx))
    t = float(stats.t.ppf(0.5 + level / 2, n - 2))
    return LineFit(
        n,
        slope,
        float(se_b),
        slope - t * se_b,
        slope + t * se_b,
        intercept,
        float(se_a),
        intercept - t * se_a,
        intercept + t * se_a,
        r2,
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
    )
