"""Matplotlib figures of the analyses, each saved as PNG and SVG beside an output path stem.

Figures are built on `matplotlib.figure.Figure` (no pyplot state, Agg rendering), with the
Okabe-Ito colour-blind-safe palette plus distinct markers, so they print in grey too.
Every function takes data and a path stem and returns the written paths: [png, svg] unless
`figure_formats` narrows them (the report writes PNG only unless asked for SVG too).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from scipy import stats

from sociosim.analysis.cultures import trajectories
from sociosim.analysis.frames import require_columns, summarise_runs
from sociosim.analysis.pressure import add_sqrt_kl, fit_goodhart
from sociosim.analysis.trilemma import AXES
from sociosim.io import atomic_write
from sociosim.model.measures import is_measure, measure_label

# Okabe & Ito (2008): distinguishable under the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
# Axis names of the analysis columns that are not measures (measures are named by the registry).
LABELS = {
    "beta": "optimisation pressure β",
    "sqrt_kl": "d = √KL(π‖π₀)",
    "optimisation": "optimisation (KL)",
    "generalisation": "generalisation (−gap on shifted users)",
}


def label(name: str) -> str:
    """Readable axis label of a column: a measure's registry label (with its unit), else the names above."""
    if name in LABELS:
        return LABELS[name]
    return measure_label(name, with_unit=True) if is_measure(name) else name.replace("_", " ")


def style(i: int) -> dict[str, str]:
    """Colour and marker of the i-th series."""
    return {"color": PALETTE[i % len(PALETTE)], "marker": MARKERS[i % len(MARKERS)]}


def new_figure(ncols: int = 1, *, width: float = 6.0, height: float = 4.2) -> tuple[Figure, list[Axes]]:
    """A figure with `ncols` side-by-side axes, sized for reports."""
    fig = Figure(figsize=(width * ncols if ncols > 1 else width, height), layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    for ax in axes:
        ax.grid(True, alpha=0.3, linewidth=0.6)
        ax.spines[["top", "right"]].set_visible(False)
    return fig, list(axes)


PNG_DPI = 110  # sharp at the report's width (figures are 6-13 in wide); higher costs report time
FORMATS: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar(
    "figure_formats", default=("png", "svg")
)


@contextlib.contextmanager
def figure_formats(formats: Sequence[str]) -> Iterator[None]:
    """Within the block, figures are saved in these formats only (e.g. ("png",): the report's default)."""
    unknown = [f for f in formats if f not in ("png", "svg")]
    if unknown or not formats:
        raise ValueError(f"figure formats: must be png and/or svg, got {list(formats)}")
    token = FORMATS.set(tuple(formats))
    try:
        yield
    finally:
        FORMATS.reset(token)


def save_figure(fig: Figure, stem: str | Path) -> list[Path]:
    """Write `stem`.png (PNG_DPI) and/or `stem`.svg atomically (see `figure_formats`); return the paths, PNG first."""
    stem = Path(stem)
    paths = []
    for fmt in FORMATS.get():
        target = stem.with_name(f"{stem.name}.{fmt}")
        meta = {"Date": None} if fmt == "svg" else {"Software": None}
        atomic_write(
            target,
            lambda fh, fmt=fmt, meta=meta: fig.savefig(fh, format=fmt, dpi=PNG_DPI, metadata=meta),
            make_parents=True,
        )
        paths.append(target)
    return paths


def _groups(runs: pd.DataFrame, by: str | None) -> list[tuple[str, pd.DataFrame]]:
    if not by:
        return [("all runs", runs)]
    return [
        (str(k[0] if isinstance(k, tuple) else k), g) for k, g in runs.groupby(by, sort=True, dropna=False)
    ]


def _line_band(x: np.ndarray, y: np.ndarray, grid: np.ndarray, level: float = 0.95):
    """OLS line over `grid` and its pointwise t-based confidence band for the mean."""
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = len(x)
    if n < 3 or np.ptp(x) == 0:
        return None
    xbar = x.mean()
    sxx = ((x - xbar) ** 2).sum()
    slope = ((x - xbar) * (y - y.mean())).sum() / sxx
    icpt = y.mean() - slope * xbar
    s = np.sqrt(((y - icpt - slope * x) ** 2).sum() / (n - 2))
    half = stats.t.ppf(0.5 + level / 2, n - 2) * s * np.sqrt(1 / n + (grid - xbar) ** 2 / sxx)
    fit = icpt + slope * grid
    return fit, fit - half, fit + half


def plot_gap_vs_pressure(
    df: pd.DataFrame,
    stem: str | Path,
    *,
    x: str = "beta",
    by: str | None = None,
    measure: str = "gap",
    last: int = 10,
    title: str | None = None,
) -> list[Path]:
    """Each run's gap against pressure, per lever level, with OLS lines and 95 % CI bands."""
    runs = add_sqrt_kl(summarise_runs(df, last=last))
    require_columns(runs, [x, measure, *([by] if by else [])])
    fig, (ax,) = new_figure()
    grid = np.linspace(float(runs[x].min()), float(runs[x].max()), 100)
    for i, (name, sub) in enumerate(_groups(runs, by)):
        st = style(i)
        xs, ys = sub[x].to_numpy(float), sub[measure].to_numpy(float)
        ax.scatter(xs, ys, s=18, alpha=0.6, color=st["color"], marker=st["marker"], label=f"{name}")
        band = _line_band(xs, ys, grid)
        if band is not None:
            ax.plot(grid, band[0], color=st["color"], linewidth=1.8)
            ax.fill_between(grid, band[1], band[2], color=st["color"], alpha=0.15, linewidth=0)
    ax.axhline(0, color="0.4", linewidth=0.8)
    ax.set_xlabel(label(x))
    ax.set_ylabel(label(measure))
    ax.set_title(
        title
        or f"{label(measure).split(' (')[0].capitalize()} against pressure" + (f", by {by}" if by else "")
    )
    ax.legend(title=by or None, frameon=False, fontsize=8)
    return save_figure(fig, stem)


def plot_goodhart(
    df: pd.DataFrame,
    stem: str | Path,
    *,
    utility: str = "true_utility",
    by: str | None = None,
    last: int = 10,
    title: str | None = None,
) -> list[Path]:
    """True utility against d = √KL per run, with the best-of-n and KL-tilting Goodhart fits."""
    runs = add_sqrt_kl(summarise_runs(df, last=last))
    require_columns(runs, ["sqrt_kl", utility, *([by] if by else [])])
    fig, (ax,) = new_figure()
    dmax = float(np.nanmax(runs["sqrt_kl"])) if len(runs) else 1.0
    grid = np.linspace(0.0, max(dmax, 1e-9), 200)
    for i, (name, sub) in enumerate(_groups(runs, by)):
        st = style(i)
        d, u = sub["sqrt_kl"].to_numpy(float), sub[utility].to_numpy(float)
        ax.scatter(d, u, s=18, alpha=0.6, color=st["color"], marker=st["marker"], label=f"{name} runs")
        for form, dash in (("bon", "-"), ("kl", "--")):
            fit = fit_goodhart(d, u, form=form)
            if not np.isfinite(fit.a):
                continue
            ax.plot(
                grid,
                fit.predict(grid),
                dash,
                color=st["color"],
                linewidth=1.6,
                label=f"{name}: d(a−b·{'d' if form == 'bon' else 'log d'}) R²={fit.r2:.2f}",
            )
            if np.isfinite(fit.d_star) and fit.d_star <= dmax:
                ax.plot([fit.d_star], [fit.u_star], marker="|", markersize=14, color=st["color"])
    ax.axhline(0, color="0.4", linewidth=0.8)
    ax.set_xlabel(label("sqrt_kl"))
    ax.set_ylabel(label(utility))
    ax.set_title(title or "Goodhart curve: true utility against √KL")
    ax.legend(frameon=False, fontsize=7)
    return save_figure(fig, stem)


def plot_homogenisation(
    df: pd.DataFrame,
    stem: str | Path,
    *,
    by: str | None = None,
    title: str | None = None,
) -> list[Path]:
    """Value diversity, culture separation, and minority vs majority drift over time (mean ± 95 % CI)."""
    panels = [("value_diversity",), ("culture_separation",), ("minority_drift", "majority_drift")]
    panels = [p for p in panels if all(m in df.columns for m in p)]
    if not panels:
        raise KeyError("measure: needs value_diversity, culture_separation or minority/majority_drift")
    measures = [m for p in panels for m in p]
    traj = trajectories(df, measures=measures, by=by)
    fig, axes = new_figure(len(panels), width=4.2, height=3.8)
    levels = sorted(traj[by].astype(str).unique()) if by else ["all runs"]
    for ax, panel in zip(axes, panels, strict=True):
        for j, m in enumerate(panel):
            for i, lv in enumerate(levels):
                sub = traj[(traj["measure"] == m) & ((traj[by].astype(str) == lv) if by else True)]
                st = style(i)
                dash = "-" if j == 0 else ":"
                name = lv if len(panel) == 1 else f"{lv}: {label(m)}"
                ax.plot(sub["step"], sub["mean"], dash, color=st["color"], linewidth=1.6, label=name)
                ax.fill_between(sub["step"], sub["lo"], sub["hi"], color=st["color"], alpha=0.15, linewidth=0)
        ax.set_xlabel("step")
        ax.set_ylabel(" / ".join(label(m) for m in panel) if len(panel) == 1 else "drift from start")
        ax.legend(frameon=False, fontsize=7)
    fig.suptitle(title or "Homogenisation over time" + (f", by {by}" if by else ""))
    return save_figure(fig, stem)


def lab_count(df: pd.DataFrame) -> int:
    """How many labs a batch frame holds per-lab columns for (0 for single-lab runs)."""
    count = 0
    while f"share_{count}" in df.columns:
        count += 1
    return count


def plot_market_shares(
    df: pd.DataFrame,
    stem: str | Path,
    *,
    by: str | None = None,
    title: str | None = None,
) -> list[Path]:
    """Each lab's query share over time (mean ± 95 % CI over runs), one panel per level of `by`."""
    labs = lab_count(df)
    if labs < 2:
        raise KeyError("measure: needs share_0, share_1, ... (a batch with n_labs >= 2)")
    measures = [f"share_{lab}" for lab in range(labs)]
    traj = trajectories(df, measures=measures, by=by)
    levels = sorted(traj[by].astype(str).unique()) if by else ["all runs"]
    fig, axes = new_figure(len(levels), width=4.2, height=3.6)
    for ax, level in zip(axes, levels, strict=True):
        for lab, measure in enumerate(measures):
            sub = traj[(traj["measure"] == measure) & ((traj[by].astype(str) == level) if by else True)]
            color = style(lab)["color"]
            ax.plot(sub["step"], sub["mean"], color=color, linewidth=1.6, label=f"lab {lab}")
            ax.fill_between(sub["step"], sub["lo"], sub["hi"], color=color, alpha=0.15, linewidth=0)
        ax.axhline(1 / labs, color="#888888", linewidth=0.8, linestyle=":")
        ax.set_xlabel("step")
        ax.set_ylabel("share of queries")
        ax.set_title(level if by else "", fontsize=9)
        ax.legend(frameon=False, fontsize=7)
    fig.suptitle(title or "Market shares over time" + (f", by {by}" if by else ""))
    return save_figure(fig, stem)


def plot_trust_calibration(
    df: pd.DataFrame,
    stem: str | Path,
    *,
    by: str | None = None,
    last: int = 10,
    title: str | None = None,
) -> list[Path]:
    """Users' mean trust against the policy's reliability per run; above the diagonal is overtrust."""
    runs = summarise_runs(df, last=last)
    require_columns(runs, ["trust_mean", "reliability", *([by] if by else [])])
    fig, (ax,) = new_figure(width=5.0, height=4.6)
    ax.fill_between([0, 1], [0, 1], [1, 1], color="#D55E00", alpha=0.08, linewidth=0)
    ax.plot([0, 1], [0, 1], color="0.3", linewidth=1, label="calibrated (trust = reliability)")
    ax.text(0.05, 0.92, "overtrust", color="#D55E00", fontsize=9, transform=ax.transAxes)
    ax.text(0.7, 0.05, "undertrust", color="0.3", fontsize=9, transform=ax.transAxes)
    for i, (name, sub) in enumerate(_groups(runs, by)):
        st = style(i)
        ax.scatter(
            sub["reliability"],
            sub["trust_mean"],
            s=22,
            alpha=0.7,
            color=st["color"],
            marker=st["marker"],
            label=name,
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel(label("reliability"))
    ax.set_ylabel(label("trust_mean"))
    ax.set_title(title or "Trust calibration")
    ax.legend(frameon=False, fontsize=7, loc="lower right", bbox_to_anchor=(1.0, 0.1))
    return save_figure(fig, stem)


def plot_sycophancy(
    df: pd.DataFrame,
    stem: str | Path,
    *,
    x: str = "beta",
    by: str | None = None,
    last: int = 10,
    title: str | None = None,
) -> list[Path]:
    """Sycophancy of the policy against pressure: runs and the mean per pressure level (± 95 % CI)."""
    runs = add_sqrt_kl(summarise_runs(df, last=last))
    require_columns(runs, [x, "sycophancy", *([by] if by else [])])
    fig, (ax,) = new_figure()
    for i, (name, sub) in enumerate(_groups(runs, by)):
        st = style(i)
        ax.scatter(sub[x], sub["sycophancy"], s=14, alpha=0.4, color=st["color"], marker=st["marker"])
        agg = sub.groupby(x)["sycophancy"].agg(["mean", "std", "count"]).reset_index()
        if agg["count"].max() > 1 and len(agg) > 1:
            half = stats.t.ppf(0.975, np.maximum(agg["count"] - 1, 1)) * agg["std"] / np.sqrt(agg["count"])
            ax.errorbar(
                agg[x], agg["mean"], yerr=half, color=st["color"], marker=st["marker"], capsize=3, label=name
            )
        else:
            ax.plot(
                sub[x],
                sub["sycophancy"],
                linestyle="none",
                color=st["color"],
                marker=st["marker"],
                label=name,
            )
    ax.set_xlabel(label(x))
    ax.set_ylabel(label("sycophancy"))
    ax.set_title(title or "Sycophancy against pressure")
    ax.legend(title=by or None, frameon=False, fontsize=8)
    return save_figure(fig, stem)


def plot_sobol(table: pd.DataFrame, stem: str | Path, *, title: str | None = None) -> list[Path]:
    """Sobol first-order (S1) and total (ST) indices per input as bars with CI whiskers."""
    require_columns(table, ["name", "S1", "ST", "S1_conf", "ST_conf"], what="Sobol column")
    order = table.sort_values("ST", ascending=True)
    fig, (ax,) = new_figure(width=6.0, height=0.45 * len(order) + 1.6)
    y = np.arange(len(order))
    ax.barh(
        y - 0.2,
        order["S1"],
        height=0.38,
        xerr=order["S1_conf"],
        color=PALETTE[0],
        capsize=2,
        label="first order S1",
    )
    ax.barh(
        y + 0.2,
        order["ST"],
        height=0.38,
        xerr=order["ST_conf"],
        color=PALETTE[1],
        capsize=2,
        label="total ST",
        hatch="//",
    )
    ax.set_yticks(y, [label(n) for n in order["name"]])
    ax.axvline(0, color="0.4", linewidth=0.8)
    ax.set_xlabel("Sobol index (share of output variance)")
    outcome = table["outcome"].iloc[0] if "outcome" in table.columns and len(table) else ""
    ax.set_title(title or f"Global sensitivity of {label(outcome) if outcome else 'the outcome'}")
    ax.legend(frameon=False, fontsize=8)
    return save_figure(fig, stem)


def plot_trilemma(frontier: pd.DataFrame, stem: str | Path, *, title: str | None = None) -> list[Path]:
    """The three 2-D projections of the trilemma axes, Pareto-optimal runs highlighted."""
    require_columns(frontier, [*AXES, "pareto"], what="trilemma column")
    pairs = [(AXES[0], AXES[1]), (AXES[0], AXES[2]), (AXES[1], AXES[2])]
    fig, axes = new_figure(3, width=4.0, height=3.8)
    front = frontier[frontier["pareto"]]
    rest = frontier[~frontier["pareto"]]
    for ax, (a, b) in zip(axes, pairs, strict=True):
        ax.scatter(rest[a], rest[b], s=14, color="0.65", marker="o", label="dominated")
        ax.scatter(
            front[a],
            front[b],
            s=30,
            color=PALETTE[3],
            marker="D",
            edgecolor="black",
            linewidth=0.4,
            label="Pareto-optimal",
        )
        ax.set_xlabel(label(a))
        ax.set_ylabel(label(b))
    axes[0].legend(frameon=False, fontsize=7)
    fig.suptitle(title or "Alignment trilemma: no run is best on all three axes")
    return save_figure(fig, stem)


def plot_effects(
    table: pd.DataFrame,
    stem: str | Path,
    *,
    row_label: Sequence[str] = ("level", "measure"),
    title: str | None = None,
) -> list[Path]:
    """Forest plot of mean differences against the baseline with their CIs (from compare_policies)."""
    require_columns(table, ["diff", "diff_lo", "diff_hi", *row_label], what="effects column")
    fig, (ax,) = new_figure(width=6.5, height=0.32 * len(table) + 1.6)
    y = np.arange(len(table))[::-1]
    names = [" · ".join(str(r[c]) for c in row_label) for _, r in table.iterrows()]
    colours = [
        PALETTE[3] if hi < 0 else PALETTE[0] if lo > 0 else "0.5"
        for lo, hi in zip(table["diff_lo"], table["diff_hi"], strict=True)
    ]
    for yi, (d, lo, hi, c) in enumerate(
        zip(table["diff"], table["diff_lo"], table["diff_hi"], colours, strict=True)
    ):
        ax.errorbar(
            [d],
            [y[yi]],
            xerr=[[np.fmax(d - lo, 0.0)], [np.fmax(hi - d, 0.0)]],
            fmt="o",
            color=c,
            ecolor=c,
            capsize=2,
            markersize=4,
        )
    ax.axvline(0, color="0.3", linewidth=0.8)
    ax.set_yticks(y, names, fontsize=8)
    base = table["baseline"].iloc[0] if "baseline" in table.columns and len(table) else "baseline"
    ax.set_xlabel(f"difference from {base} (95 % CI)")
    ax.set_title(title or "Effects against the baseline")
    return save_figure(fig, stem)


def plot_forest_panels(
    table: pd.DataFrame,
    stem: str | Path,
    *,
    panel: Sequence[str] = ("measure",),
    row: str = "level",
    estimate: str = "diff",
    lo: str = "diff_lo",
    hi: str = "diff_hi",
    panel_title: dict[tuple, str] | None = None,
    margins: dict[tuple, float] | None = None,
    xlabel: str = "difference from the baseline (95 % CI)",
    title: str | None = None,
) -> list[Path]:
    """Small-multiple forest plot: one panel per `panel` group (a measure), each on its own x scale.

    Measures of different scales never share an axis, so a real effect on a small-scale
    measure (overtrust) is not flattened next to a large one (gap). Points are coloured
    when their CI excludes 0 (vermilion below, blue above); `margins` shades ±margin.
    """
    require_columns(table, [estimate, lo, hi, row, *panel], what="forest column")
    groups = list(table.groupby(list(panel), sort=False))
    n = max(len(groups), 1)
    ncols = min(3, n)
    nrows = int(np.ceil(n / ncols))
    tallest = max((len(g) for _, g in groups), default=1)
    # Fixed margins sized from the longest row label (a layout engine costs more than the drawing here).
    label_in = 0.065 * max((len(str(v)) for v in table[row]), default=4) + 0.15
    panel_w, axis_h = label_in + 2.6, 0.26 * tallest + 0.35
    head_in, foot_in, gap_in = 0.45 + (0.3 if title else 0.0), 0.55, 0.55
    width, height = panel_w * ncols + 0.2, head_in + foot_in + nrows * axis_h + (nrows - 1) * gap_in
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(
        left=label_in / width,
        right=1 - 0.2 / width,
        bottom=foot_in / height,
        top=1 - head_in / height,
        wspace=label_in / (panel_w - label_in),
        hspace=gap_in / axis_h,
    )
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, (key, sub) in zip(axes, groups, strict=False):
        key = key if isinstance(key, tuple) else (key,)
        y = np.arange(len(sub))[::-1].astype(float)
        d, a, b = (sub[c].to_numpy(float) for c in (estimate, lo, hi))
        has_ci = np.isfinite(a) & np.isfinite(b)
        colour = np.where(has_ci & (b < 0), 3, np.where(has_ci & (a > 0), 0, -1))
        for code in (3, 0, -1):  # one errorbar call per colour keeps the artist count (and the time) small
            pick = colour == code
            c = PALETTE[code] if code >= 0 else "0.45"
            with_ci = pick & has_ci
            if with_ci.any():
                err = np.vstack([np.fmax(d - a, 0.0), np.fmax(b - d, 0.0)])[:, with_ci]
                ax.errorbar(
                    d[with_ci], y[with_ci], xerr=err, fmt="o", color=c, ecolor=c, capsize=2, markersize=4
                )
            bare = pick & ~has_ci & np.isfinite(d)
            if bare.any():
                ax.plot(d[bare], y[bare], "o", color=c, markersize=4, linestyle="none")
        if margins and key in margins:
            ax.axvspan(-margins[key], margins[key], color="0.85", zorder=0)
        ax.axvline(0, color="0.3", linewidth=0.8)
        ax.set_yticks(y, [str(v) for v in sub[row]], fontsize=8)
        ax.set_ylim(-0.7, len(sub) - 0.3)
        ax.grid(True, axis="x", alpha=0.3, linewidth=0.6)
        ax.spines[["top", "right"]].set_visible(False)
        ax.set_title((panel_title or {}).get(key, " · ".join(map(str, key))), fontsize=9)
        ax.tick_params(axis="x", labelsize=8)
    for ax in axes[len(groups) :]:
        ax.set_visible(False)
    fig.text(0.5, 0.12 / height, xlabel, ha="center", va="bottom", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, stem)
