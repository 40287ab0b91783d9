"""Gap against optimisation pressure: per-lever OLS lines, and Goodhart-curve fits.

The MAPS claim (levers cut the slope or the intercept of the gap but never make it flat)
is read off `gap_vs_pressure`; `fit_goodhart` fits the two functional forms of Gao et al.
(2022) to true utility against d = sqrt(KL).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy.stats import bootstrap

from sociosim.analysis.frames import require_columns, summarise_runs
from sociosim.analysis.stats import ols_line, ols_line_bootstrap

GoodhartForm = Literal["bon", "kl"]


def add_sqrt_kl(runs: pd.DataFrame) -> pd.DataFrame:
    """A copy of per-run rows with `sqrt_kl` = sqrt(kl) (d, the distance from the reference policy)."""
    out = runs.copy()
    if "kl" in out.columns:
        out["sqrt_kl"] = np.sqrt(np.clip(out["kl"].to_numpy(float), 0.0, None))
    return out


def gap_vs_pressure(
    df: pd.DataFrame,
    *,
    x: str = "beta",
    by: str | None = None,
    measure: str = "gap",
    last: int = 10,
    level: float = 0.95,
    ci: Literal["t", "bootstrap"] = "t",
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Per level of `by`, the OLS line of `measure` on `x` over runs, with CIs on slope and intercept.

    Each run is one point (its measures averaged over the last `last` steps); `x` is a
    design column (e.g. `beta`), a measure, or `sqrt_kl`. `ci="t"` gives Student-t
    intervals (n - 2 dof); `ci="bootstrap"` resamples runs (percentile, seeded).
    `slope_nonzero` says whether the slope's CI excludes 0.
    """
    runs = add_sqrt_kl(summarise_runs(df, last=last))
    require_columns(runs, [x, measure, *([by] if by else [])])
    groups = runs.groupby(by, sort=True, dropna=False) if by else [("all", runs)]
    rows = []
    for name, sub in groups:
        xs = pd.to_numeric(sub[x], errors="coerce").to_numpy(float)
        ys = pd.to_numeric(sub[measure], errors="coerce").to_numpy(float)
        if ci == "t":
            fit = ols_line(xs, ys, level=level)
        elif ci == "bootstrap":
            fit = ols_line_bootstrap(xs, ys, level=level, n_boot=n_boot, seed=seed)
        else:
            raise ValueError(f"ci: must be 't' or 'bootstrap', got {ci!r}")
        row = {
            "by": by or "",
            "level": name[0] if isinstance(name, tuple) else name,
            "x": x,
            "measure": measure,
        }
        row.update(asdict(fit))
        row["slope_nonzero"] = bool(fit.slope_lo > 0 or fit.slope_hi < 0)
        row["ci"] = ci
        row["ci_level"] = level
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class GoodhartFit:
    """A fitted Goodhart curve u(d) = d (a - b d) [bon] or d (a - b log d) [kl]."""

    form: str
    a: float
    b: float
    a_se: float
    b_se: float
    r2: float
    n: int
    d_star: float
    u_star: float

    def predict(self, d: np.ndarray) -> np.ndarray:
        """The fitted true utility at distances d."""
        d = np.asarray(d, dtype=float)
        return d * (self.a - self.b * _shape(d, self.form))


def _shape(d: np.ndarray, form: str) -> np.ndarray:
    """The term multiplied by b: d for best-of-n, log d for KL-tilting (0 at d = 0)."""
    if form == "bon":
        return d
    if form == "kl":
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(d > 0, np.log(np.where(d > 0, d, 1.0)), 0.0)
    raise ValueError(f"form: must be 'bon' or 'kl', got {form!r}")


def fit_goodhart(d: np.ndarray, utility: np.ndarray, *, form: GoodhartForm = "bon") -> GoodhartFit:
    """Least-squares fit of u = d (a - b d) (form "bon") or u = d (a - b log d) (form "kl").

    Both are linear in (a, b), so the fit is exact OLS without intercept (u = 0 at d = 0).
    `d_star` is the argmax of the fitted curve (inf when b <= 0: no peak) and `u_star` its value.
    """
    d = np.asarray(d, dtype=float)
    u = np.asarray(utility, dtype=float)
    if d.shape != u.shape:
        raise ValueError(f"d and utility: shapes differ, {d.shape} vs {u.shape}")
    ok = np.isfinite(d) & np.isfinite(u)
    d, u = d[ok], u[ok]
    if np.any(d < 0):
        raise ValueError("d: must be >= 0 (d = sqrt(KL))")
    design = np.column_stack([d, -d * _shape(d, form)])
    n = len(d)
    nan = float("nan")
    if n < 2 or np.linalg.matrix_rank(design) < 2:
        return GoodhartFit(form, nan, nan, nan, nan, nan, n, nan, nan)
    coef, *_ = np.linalg.lstsq(design, u, rcond=None)
    a, b = float(coef[0]), float(coef[1])
    resid = u - design @ coef
    sst = float(((u - u.mean()) ** 2).sum())
    r2 = 1.0 - float((resid**2).sum()) / sst if sst > 0 else nan
    if n > 2:
        s2 = float((resid**2).sum()) / (n - 2)
        cov = s2 * np.linalg.inv(design.T @ design)
        a_se, b_se = float(np.sqrt(cov[0, 0])), float(np.sqrt(cov[1, 1]))
    else:
        a_se = b_se = nan
    if b > 0:
        with np.errstate(over="ignore"):  # a peak far beyond any reachable KL is inf
            d_star = a / (2 * b) if form == "bon" else float(np.exp(a / b - 1.0))
        d_star = max(d_star, 0.0)
    else:
        d_star = float("inf")
    u_star = float(d_star * (a - b * _shape(np.array(d_star), form))) if np.isfinite(d_star) else float("inf")
    return GoodhartFit(form, a, b, a_se, b_se, r2, n, float(d_star), u_star)


def goodhart_table(
    df: pd.DataFrame,
    *,
    utility: str = "true_utility",
    by: str | None = None,
    forms: tuple[GoodhartForm, ...] = ("bon", "kl"),
    last: int = 10,
) -> pd.DataFrame:
    """Both Goodhart forms fitted per level of `by`, each run one point (d = sqrt(mean kl))."""
    runs = add_sqrt_kl(summarise_runs(df, last=last))
    require_columns(runs, ["kl", utility, *([by] if by else [])])
    groups = runs.groupby(by, sort=True, dropna=False) if by else [("all", runs)]
    rows = []
    for name, sub in groups:
        for form in forms:
            fit = fit_goodhart(sub["sqrt_kl"].to_numpy(float), sub[utility].to_numpy(float), form=form)
            row = {"by": by or "", "level": name[0] if isinstance(name, tuple) else name, "utility": utility}
            row.update(asdict(fit))
            rows.append(row)
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class GoodhartCurve:
    """Gao et al.'s form fitted to the replicate-mean curve of true utility against d = sqrt(KL).

    `a`, `b`, `r2` and the peak (`peak_kl = d*^2`, `peak_utility`) come from the mean curve;
    the `_lo`/`_hi` bounds are percentile bootstrap intervals over replications (catalogues),
    from `scipy.stats.bootstrap` resampling whole replicates.
    """

    form: str
    a: float
    a_lo: float
    a_hi: float
    b: float
    b_lo: float
    b_hi: float
    r2: float
    peak_kl: float
    peak_kl_lo: float
    peak_kl_hi: float
    peak_utility: float
    n_points: int
    n_replicates: int


def _peak_kl(fit: GoodhartFit) -> float:
    """The KL at the fitted peak, d*^2 (inf when the curve has no peak)."""
    with np.errstate(over="ignore"):
        return float(np.square(fit.d_star))


def _mean_curve(d2: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The replicate-mean curve: d = sqrt(mean KL) and mean utility at each pressure (columns)."""
    return np.sqrt(np.clip(d2.mean(axis=0), 0.0, None)), u.mean(axis=0)


def fit_goodhart_curve(
    runs: pd.DataFrame,
    *,
    x: str = "beta",
    utility: str = "true_utility",
    replicate: str = "replicate",
    form: GoodhartForm = "bon",
    n_boot: int = 999,
    level: float = 0.95,
    seed: int = 0,
) -> GoodhartCurve:
    """Fit `u = d (a - b d)` (form "bon") or `u = d (a - b log d)` ("kl") to the mean curve, with bootstrap CIs.

    `runs` has one row per run (e.g. `summarise_runs`) with columns `x`, `kl`, `utility` and
    `replicate`; every replicate must have run at every value of `x` (common random numbers).
    """
    require_columns(runs, [x, "kl", utility, replicate])
    kl = runs.pivot_table(index=replicate, columns=x, values="kl", aggfunc="mean")
    u = runs.pivot_table(index=replicate, columns=x, values=utility, aggfunc="mean")
    kl, u = kl.dropna(), u.loc[kl.dropna().index].dropna()
    kl = kl.loc[u.index]
    if len(u) < 2 or u.shape[1] < 3:
        raise ValueError(f"runs: need >= 2 replicates at >= 3 values of {x}, got {u.shape}")
    kl_m, u_m = kl.to_numpy(float), u.to_numpy(float)

    def params(rows: np.ndarray) -> np.ndarray:
        d, mean_u = _mean_curve(kl_m[rows], u_m[rows])
        fit = fit_goodhart(d, mean_u, form=form)
        return np.array([fit.a, fit.b, min(_peak_kl(fit), 1e6)])

    every = np.arange(len(u_m))
    d, mean_u = _mean_curve(kl_m, u_m)
    point = fit_goodhart(d, mean_u, form=form)
    ci = bootstrap(
        (every,),
        lambda rows: params(np.asarray(rows, dtype=int)),
        vectorized=False,
        n_resamples=n_boot,
        confidence_level=level,
        method="percentile",
        random_state=np.random.default_rng(seed),
    ).confidence_interval
    peak = _peak_kl(point)
    return GoodhartCurve(
        form=form,
        a=point.a,
        a_lo=float(ci.low[0]),
        a_hi=float(ci.high[0]),
        b=point.b,
        b_lo=float(ci.low[1]),
        b_hi=float(ci.high[1]),
        r2=point.r2,
        peak_kl=peak,
        peak_kl_lo=float(ci.low[2]),
        peak_kl_hi=float(ci.high[2]),
        peak_utility=point.u_star,
        n_points=u_m.shape[1],
        n_replicates=len(u_m),
    )
