"""Shared plumbing of the study scripts in analysis/: flags, the batch, claim tables, figures, the report.

Each study script states one claim of the two papers, runs its scenario's batch into
`OUT/results/<study>` and writes `OUT/reports/<study>/report.html` (+ report.md): the
generic `sociosim.analysis.write_report` with a "Claim" section (verdict, tables,
figures) added at its top. `--quick` runs tiny sizes into `<study>-quick` directories so
that quick and full runs never share a store.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

import sociosim
from sociosim.analysis import figures as F
from sociosim.analysis import summarise_runs, write_report
from sociosim.analysis.report import Section
from sociosim.analysis.tables import fmt

QUICK = {"n_users": 300}  # sizes of --quick, on top of each study's quick steps and replications


@dataclass
class Claim:
    """The claim-specific part of a report: a verdict, captioned tables and figures."""

    title: str
    verdict: list[str] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    figures: list[tuple[str, Path]] = field(default_factory=list)


@dataclass
class Study:
    """A study's batch as run: its name, output paths, the store, step frame and per-run summary."""

    name: str
    args: argparse.Namespace
    store: Any
    df: pd.DataFrame
    runs: pd.DataFrame
    report_dir: Path
    n_boot: int = 2000  # bootstrap resamples of the CIs (fewer under --quick)


def parse_args(doc: str | None, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The flags every study takes: --quick, --workers, --out, --replications."""
    p = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0] if doc else None)
    p.add_argument("--quick", action="store_true", help="tiny sizes (300 users, few steps): under a minute")
    p.add_argument("--workers", type=int, default=2, help="parallel worker processes (default 2)")
    p.add_argument("--out", type=Path, default=Path("."), help="root of results/ and reports/ (default .)")
    p.add_argument(
        "--replications", type=int, default=None, help="runs per design point (default: the study's)"
    )
    args = p.parse_args(argv)
    if args.workers < 1:
        p.error(f"--workers: must be at least 1, got {args.workers}")
    if args.replications is not None and args.replications < 2:
        p.error(f"--replications: must be at least 2 (CIs need replicates), got {args.replications}")
    return args


def run_study(
    name: str,
    scenario: str,
    args: argparse.Namespace,
    *,
    quick_steps: int,
    quick_replications: int,
    design: Any = None,
    overrides: dict[str, Any] | None = None,
    replications: int | None = None,
) -> Study:
    """Run the study's batch (skipping runs already stored) and load its measures."""
    tag = f"{name}-quick" if args.quick else name
    overrides = dict(overrides or {})
    steps = None
    reps = args.replications or replications
    if args.quick:
        overrides.update(QUICK)
        steps, reps = quick_steps, args.replications or quick_replications
    result = sociosim.run_batch(
        scenario,
        design=design,
        replications=reps,
        steps=steps,
        workers=args.workers,
        store=args.out / "results" / tag,
        overrides=overrides,
        progress=False,
    )
    print(result.summary())
    if result.n_failed:
        raise SystemExit(f"{result.n_failed} run(s) failed: see {result.store.path} (store.runs())")
    runs_table = result.store.runs()
    other = sorted(set(runs_table["scenario_hash"]) - {result.scenario_hash})
    if other:
        raise SystemExit(
            f"{result.store.path} also holds runs of another version of this study (hash {other[0]}): "
            "delete that directory or pass another --out"
        )
    df = result.store.measures()
    n_boot = 400 if args.quick else 2000
    return Study(tag, args, result.store, df, summarise_runs(df), args.out / "reports" / tag, n_boot)


# --- statistics ---------------------------------------------------------------------------------


def mean_ci(
    runs: pd.DataFrame, *, by: Sequence[str], measures: Sequence[str], level: float = 0.95
) -> pd.DataFrame:
    """Mean of each measure per group of runs with a Student-t CI over replicates (long table)."""
    rows = []
    for key, sub in runs.groupby(list(by), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        for m in measures:
            v = sub[m].to_numpy(float)
            n, mean = len(v), float(v.mean())
            half = (
                float(stats.t.ppf(0.5 + level / 2, n - 1) * v.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan
            )
            rows.append(
                {
                    **dict(zip(by, key, strict=True)),
                    "measure": m,
                    "n": n,
                    "mean": mean,
                    "lo": mean - half,
                    "hi": mean + half,
                }
            )
    return pd.DataFrame(rows)


def ci(value: float, lo: float, hi: float) -> str:
    """'value [lo, hi]' with three decimals."""
    return f"{fmt(value)} [{fmt(lo)}, {fmt(hi)}]"


def show(df: pd.DataFrame, columns: Sequence[str], title: str) -> None:
    """Print a key table to the terminal."""
    print(f"\n{title}")
    print(df[list(columns)].to_string(index=False, float_format=lambda v: f"{v:.3f}"))


# --- figures ------------------------------------------------------------------------------------


def plot_means(
    table: pd.DataFrame,
    stem: Path,
    *,
    x: str,
    by: str | None,
    title: str,
    hline: float | None = 0.0,
    ylabels: dict[str, str] | None = None,
) -> Path:
    """One panel per measure of a `mean_ci` table: mean ± 95 % CI against `x`, one line per `by` level."""
    measures = list(dict.fromkeys(table["measure"]))
    fig, axes = F.new_figure(len(measures), width=4.3 if len(measures) > 1 else 6.0, height=3.8)
    for ax, m in zip(axes, measures, strict=True):
        sub = table[table["measure"] == m]
        groups = list(sub.groupby(by, sort=True)) if by else [("all runs", sub)]
        dodge = 0.015 * float(np.ptp(sub[x].to_numpy(float)))  # side-step overlapping error bars
        for i, (level, g) in enumerate(groups):
            st = F.style(i)
            g = g.sort_values(x)
            ax.errorbar(
                g[x].to_numpy(float) + dodge * (i - (len(groups) - 1) / 2),
                g["mean"],
                yerr=[g["mean"] - g["lo"], g["hi"] - g["mean"]],
                capsize=3,
                color=st["color"],
                marker=st["marker"],
                label=f"{by} = {level}" if by else None,
            )
        if hline is not None:
            ax.axhline(hline, color="0.4", linewidth=0.8)
        ax.set_xlabel(F.label(x))
        ax.set_ylabel((ylabels or {}).get(m, F.label(m)))
        if by:
            ax.legend(frameon=False, fontsize=8)
    fig.suptitle(title)
    return F.save_figure(fig, stem)[0]


# --- the report ---------------------------------------------------------------------------------


def write_study_report(study: Study, claim: Claim, **report_kwargs: Any) -> Path:
    """write_report's report with the claim section first; prints and returns the HTML path."""
    lead = Section("claim", claim.title, list(claim.verdict), list(claim.tables), list(claim.figures))
    result = write_report(
        study.store, study.report_dir, n_boot=study.n_boot, lead_sections=[lead], **report_kwargs
    )
    print(f"\nreport: {result.html.resolve()}")
    return result.html


def figure_path(study: Study, name: str) -> Path:
    """Stem of a claim figure inside the report's figures/ directory."""
    path = study.report_dir / "figures" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def plot_trajectories(
    df: pd.DataFrame, stem: Path, *, measures: Sequence[str], by: str, dash_by: str | None = None, title: str
) -> Path:
    """One panel per measure: its mean over runs per step (± 95 % CI band); colour by `by`, line style by `dash_by`."""
    from sociosim.analysis import trajectories

    df = df.assign(_arm=df[by].astype(str) + ("|" + df[dash_by].astype(str) if dash_by else ""))
    traj = trajectories(df, measures=measures, by="_arm")
    colours = {str(v): i for i, v in enumerate(sorted(df[by].unique()))}
    dashes = (
        {str(v): ("-", "--", ":", "-.")[i % 4] for i, v in enumerate(sorted(df[dash_by].unique()))}
        if dash_by
        else {}
    )
    fig, axes = F.new_figure(len(measures), width=4.3, height=3.8)
    for ax, m in zip(axes, measures, strict=True):
        arms = sorted(traj["_arm"].unique(), key=lambda a: (colours[a.partition("|")[0]], a))
        for arm in arms:
            g = traj[(traj["measure"] == m) & (traj["_arm"] == arm)]
            colour, _, dash = arm.partition("|")
            st = F.style(colours[colour])
            name = f"{by} {colour}" + (f", {dash_by} {dash}" if dash_by else "")
            ax.plot(
                g["step"],
                g["mean"],
                color=st["color"],
                linewidth=1.6,
                label=name,
                linestyle=dashes.get(dash, "-"),
            )
            ax.fill_between(g["step"], g["lo"], g["hi"], color=st["color"], alpha=0.08, linewidth=0)
        ax.set_xlabel("step")
        ax.set_ylabel(F.label(m))
    axes[0].legend(frameon=False, fontsize=7)
    fig.suptitle(title)
    return F.save_figure(fig, stem)[0]


# --- the trilemma ---------------------------------------------------------------------------------


def spearman_ci(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Spearman's rho with a Fisher-z 95 % CI (se 1.06 / sqrt(n - 3), Fieller et al. 1957)."""
    rho = float(stats.spearmanr(a, b).statistic)
    half = 1.96 * 1.06 / np.sqrt(len(a) - 3)
    return rho, float(np.tanh(np.arctanh(rho) - half)), float(np.tanh(np.arctanh(rho) + half))


def plot_best_runs(best: pd.DataFrame, stem: Path) -> Path:
    """Grouped bars: for the best run on each axis, its percentile on all three axes."""
    fig, (ax,) = F.new_figure(width=6.5, height=3.8)
    axes = [c.removesuffix("_percentile") for c in best.columns if c.endswith("_percentile")]
    for j, axis in enumerate(axes):
        ax.bar(
            np.arange(3) + (j - 1) * 0.27,
            best[f"{axis}_percentile"],
            width=0.25,
            label=F.label(axis),
            color=F.PALETTE[j],
            hatch=("", "//", "..")[j],
            edgecolor="white",
        )
    ax.set_xticks(
        np.arange(3), [f"best on\n{a} (run {r})" for a, r in zip(best["best_on"], best["run"], strict=True)]
    )
    ax.set_ylabel("percentile among runs")
    ax.set_ylim(0, 1.25)
    ax.legend(frameon=False, fontsize=8, ncols=3, loc="upper center")
    ax.set_title("Each axis's best run gives ground on another axis")
    return F.save_figure(fig, stem)[0]


def plot_small_multiples(
    runs: pd.DataFrame, stem: Path, *, x: str, y: str, panel_by: str, reference: Any, title: str
) -> Path:
    """One panel per `panel_by` level: each replicate's `y` against `x` (thin lines) and the mean (thick),
    with the reference level's mean in grey for comparison."""
    levels = sorted(runs[panel_by].unique(), key=lambda v: (v != reference, str(v)))
    ncols = min(3, len(levels))
    nrows = -(-len(levels) // ncols)
    fig = F.Figure(figsize=(3.6 * ncols, 3.0 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True).ravel()
    ref = runs[runs[panel_by] == reference].groupby(x)[y].mean()
    for i, (ax, level) in enumerate(zip(axes, levels, strict=False)):
        sub = runs[runs[panel_by] == level]
        st = F.style(i)
        for _, rep in sub.groupby("replicate"):
            rep = rep.sort_values(x)
            ax.plot(
                rep[x],
                rep[y],
                color=st["color"],
                alpha=0.35,
                linewidth=0.9,
                marker=st["marker"],
                markersize=3,
            )
        mean = sub.groupby(x)[y].mean()
        ax.plot(mean.index, mean.to_numpy(), color=st["color"], linewidth=2.4, label=f"{level}: mean")
        if level != reference:
            ax.plot(
                ref.index,
                ref.to_numpy(),
                color="0.45",
                linewidth=1.6,
                linestyle="--",
                label=f"{reference}: mean",
            )
        ax.axhline(0, color="0.3", linewidth=0.8)
        ax.set_title(str(level), fontsize=10)
        ax.grid(True, alpha=0.3, linewidth=0.6)
        ax.legend(frameon=False, fontsize=7, loc="upper left")
    for ax in axes[len(levels) :]:
        ax.set_visible(False)
    fig.supxlabel(F.label(x))
    fig.supylabel(F.label(y))
    fig.suptitle(title)
    return F.save_figure(fig, stem)[0]
