"""The sections of a batch report: one builder per analysis, each a function of the shared `Context`.

A builder returns a `Section` (paragraphs, captioned tables, figures) or raises `Skip`
when its inputs are missing; `report.write_report` runs them in `SECTIONS` order.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sociosim._version import __version__
from sociosim.analysis import figures as F
from sociosim.analysis.claims import ALPHA, FAILS, HOLDS, INCONCLUSIVE, NOT_CHECKED, check_claims
from sociosim.analysis.cultures import culture_outcomes
from sociosim.analysis.discovery import ema_available, ema_version, prim_boxes
from sociosim.analysis.effects import DEFAULT_MEASURES, ESTIMATE_COLUMNS, compare_policies
from sociosim.analysis.frames import (
    culture_indices,
    match_level,
    parameter_columns,
)
from sociosim.analysis.pressure import add_sqrt_kl, gap_vs_pressure, goodhart_table
from sociosim.analysis.sensitivity import sensitivity_table
from sociosim.analysis.stats import adjust_pvalues, below_noise
from sociosim.analysis.tables import interval_text, select
from sociosim.analysis.trilemma import trilemma_frontier
from sociosim.config.params import ModelParams
from sociosim.model.measures import measure_label

# The report's headline measures: the comparison defaults without the spread and value-capture axes.
HEADLINE = tuple(m for m in DEFAULT_MEASURES if m not in ("utility_spread", "value_capture"))


@dataclass
class Section:
    """One report section: a title, paragraphs, captioned tables and figures, or a skip reason."""

    key: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    figures: list[tuple[str, Path]] = field(default_factory=list)
    error: str | None = None
    notes: list[str] = field(
        default_factory=list
    )  # paragraphs after the tables and figures (method, caveats)

    def add_figure(self, caption: str, path: Path) -> None:
        """Append a captioned figure."""
        self.figures.append((caption, path))


class Skip(Exception):
    """A section does not apply to this data; the message says why."""


@dataclass
class Context:
    """Everything the section builders share."""

    df: pd.DataFrame
    runs: pd.DataFrame
    store: Any
    scenario: Any
    design: dict | None
    by: str | None
    baseline: Any
    x: str | None
    fig_dir: Path
    last: int
    n_boot: int
    seed: int
    figure_paths: list[Path] = field(default_factory=list)
    formats: tuple[str, ...] = ("png",)  # figure files to write
    other_versions: int = 0  # runs of older scenario versions in the store, left out
    code: dict[str, str] = field(default_factory=dict)  # the code behind the runs: code, version, git
    claims_from_file: bool = False  # the claims come from the library file, not the stored record
    other_codes: dict[str, str] = field(default_factory=dict)  # other codes of this scenario -> their report
    all_sections: bool = False  # show analyses of measures the scenario does not look at

    def code_line(self) -> str:
        """The code behind the numbers in one sentence."""
        c = self.code
        if c.get("code", "unrecorded") == "unrecorded":
            return "code that was not recorded (runs stored before sociosim recorded their code, or a frame)"
        text = f"code {c['code']}"
        if "sociosim_version" in c:
            text = f"sociosim {c['sociosim_version']}, " + text
        if "git_commit" in c:
            dirty = " with uncommitted edits" if c.get("git_dirty") == "True" else ""
            text += f", git commit {c['git_commit'][:12]}{dirty}"
        return text

    def figure(self, plot: Callable[..., list[Path]], data: Any, name: str, **kwargs: Any) -> Path:
        """Draw a figure into figures/ in the report's formats, remember its files, return the first (PNG) path."""
        with F.figure_formats(self.formats):
            paths = plot(data, self.fig_dir / name, **kwargs)
        self.figure_paths.extend(paths)
        return paths[0]

    def wants(self, *measures: str) -> None:
        """Skip a section about `measures` when the scenario's `look_at` names none of them.

        A scenario's `look_at` says which measures its question is about; an analysis of
        others is listed as not shown (with `all_sections` every analysis is shown).
        """
        look_at = getattr(getattr(self.scenario, "scenario", None), "look_at", None)
        if self.all_sections or not look_at or any(m in look_at for m in measures):
            return
        raise Skip(
            f"the scenario looks at none of {', '.join(measures)} (its look_at list; --all-sections shows it)"
        )

    def has(self, *columns: str) -> bool:
        return all(c in self.runs.columns and self.runs[c].notna().any() for c in columns)


def package_version(name: str) -> str:
    """An installed distribution's version, or 'unknown'."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


# --- choosing what to compare ----------------------------------------------------------------


def infer_by(runs: pd.DataFrame) -> str | None:
    """The design column to compare arms by: the first varying column other than beta with <= 8 levels."""
    for col in parameter_columns(runs, varying=True):
        if col in ("beta", "param_beta"):
            continue
        if runs[col].nunique() <= 8:
            return col
    return None


def infer_baseline(runs: pd.DataFrame, by: str, scenario: Any) -> Any:
    """The scenario's own value of `by` (else the schema default) when it is a level, else the first level."""
    name = by.removeprefix("param_")
    if scenario is not None:
        value = getattr(getattr(scenario, "params", None), name, None)
    else:
        field = ModelParams.model_fields.get(name)
        value = field.default if field is not None else None
    if value is not None:
        try:
            return match_level(runs[by], value)
        except ValueError:
            pass
    levels = list(pd.unique(runs[by].dropna()))
    try:
        return sorted(levels)[0]
    except TypeError:
        return sorted(levels, key=str)[0]


def infer_x(runs: pd.DataFrame) -> str | None:
    """Pressure axis: beta when the design varies it, else sqrt(KL) when KL varies across runs."""
    for col in ("beta", "param_beta"):
        if col in runs.columns and runs[col].nunique() > 1:
            return col
    if "kl" in runs.columns and runs["kl"].nunique() > 2:
        return "sqrt_kl"
    return None


# --- sections ---------------------------------------------------------------------------------


def _claim_row_label(i: int, row: pd.Series) -> str:
    where = f" ({row['where']})" if row["where"] else ""
    kind = " slope" if row["comparison"] == "slope" else ""
    vs = f" vs {row['baseline']}" if row["comparison"] == "slope" and pd.notna(row["baseline"]) else ""
    return f"C{i} {row['level']}{kind}{vs}{where}"


def section_summary(ctx: Context) -> Section:
    """Findings first: the question, each claim with its verdict, number and CI, then one headline figure."""
    sc = ctx.scenario
    info = sc.scenario if sc is not None else None
    sec = Section("summary", "Summary")
    if info is not None and info.question:
        sec.paragraphs.append(f"Question: {info.question}")
    if info is not None and info.expected:
        sec.paragraphs.append(f"Expected: {info.expected}")
    claims = list(info.claims) if info is not None else []
    if not claims:
        sec.paragraphs.append(
            "This scenario states no checkable claims (a [[scenario.claims]] table in its file), so there "
            "are no verdicts; the sections below give the numbers."
        )
        return sec
    table = check_claims(ctx.runs, claims, by=ctx.by, baseline=ctx.baseline, n_boot=ctx.n_boot, seed=ctx.seed)
    table.insert(0, "id", [f"C{i}" for i in range(1, len(table) + 1)])
    counts = table["verdict"].value_counts()
    plural = {HOLDS: "hold", FAILS: "do not hold", INCONCLUSIVE: "inconclusive", NOT_CHECKED: "not checked"}
    parts = [f"{int(counts[v])} {plural[v]}" for v in plural if counts.get(v, 0)]
    n_rep = ctx.runs["replicate"].nunique() if "replicate" in ctx.runs.columns else 1
    sec.paragraphs.append(
        f"Of {len(table)} claims split from the expected outcome: " + ", ".join(parts) + "."
    )
    sec.notes.append(
        "How to read the verdicts: a claim holds when the 95 % CI of its number lies wholly on the claimed side of 0 and its p, "
        f"Holm-adjusted for the {int(table['direction'].isin(['lower', 'higher']).sum())} directional claims, is "
        f"below {ALPHA:g}; it does not hold when both point the "
        "other way; otherwise it is inconclusive. An 'unchanged' claim holds when the CI lies inside ±margin. "
        "Where every pair of runs differs by exactly the same amount there is nothing to test and the sign "
        "decides. Differences are bootstrap CIs over paired replicates; slopes are OLS over runs."
    )
    if ctx.claims_from_file:
        sec.notes.append(
            f"The claims are read from the scenario file {sc.name}.toml: the store's record of the batch predates "
            "them, and the file's parameters and design are the ones the batch ran."
        )
    shown = table.assign(measure=table["measure"].map(measure_label))
    cols = ["id", "claim", "verdict", "measure", "estimate", "lo", "hi", "n", "share", "p", "p_holm", "note"]
    sec.tables.append(("Claims and verdicts", select(shown, cols)))
    plotted = table[table["verdict"] != NOT_CHECKED].copy()
    if len(plotted):
        plotted["row"] = [
            _claim_row_label(int(i[1:]), r)
            for i, (_, r) in zip(plotted["id"], plotted.iterrows(), strict=True)
        ]
        titles = {
            (m, c): measure_label(m) + (": slope" if c == "slope" else ": difference")
            for m, c in zip(plotted["measure"], plotted["comparison"], strict=True)
        }
        margins = {(c.measure, c.comparison): c.margin for c in claims if c.margin is not None}
        sec.add_figure(
            "Each claim's number with its 95 % CI, one panel per measure on its own scale: a point left of 0 "
            "(vermilion) is a decrease, right of 0 (blue) an increase, grey when the CI includes 0; the grey "
            "band is the ±margin of an 'unchanged' claim.",
            ctx.figure(
                F.plot_forest_panels,
                plotted,
                "claims",
                panel=("measure", "comparison"),
                row="row",
                estimate="estimate",
                lo="lo",
                hi="hi",
                panel_title=titles,
                margins=margins,
                xlabel="level minus baseline (difference) or slope against pressure (95 % CI)",
            ),
        )
    sec.notes.append(
        f"Caveats: a stylised model, not a forecast; {n_rep} replicate(s) per design point, and arms share "
        "seeds (common random numbers), so differences are paired; slope CIs treat runs as independent."
    )
    return sec


def section_overview(ctx: Context) -> Section:
    sec = Section("overview", "Scenario")
    sc = ctx.scenario
    if sc is not None:
        info = sc.scenario
        if info.title:
            sec.paragraphs.append(f"{info.name}: {info.title}")
        if info.look_at:
            sec.paragraphs.append("Look at: " + ", ".join(info.look_at))
        if info.sources:
            sec.paragraphs.append("Sources: " + "; ".join(info.sources))
    runs = ctx.runs
    n_rep = runs["replicate"].nunique() if "replicate" in runs.columns else 1
    varying = parameter_columns(runs, varying=True)
    steps = int(runs["last_step"].max()) if "last_step" in runs.columns and len(runs) else None
    facts = [f"{len(runs)} finished runs", f"{n_rep} replicate(s) per design point"]
    if steps is not None:
        facts.append(f"last step {steps}; outcomes are means over each run's last {ctx.last} steps")
    facts.append("design varies: " + (", ".join(varying) if varying else "nothing (replications only)"))
    sec.paragraphs.append("; ".join(facts) + ".")
    sec.paragraphs.append(f"Every number here was made by {ctx.code_line()}.")
    if ctx.other_codes:
        where = [
            f"code {c}" + (f" (its report: {p})" if p else "") for c, p in sorted(ctx.other_codes.items())
        ]
        sec.paragraphs.append(
            "The store also holds runs of this scenario made by other code, left out here: "
            + "; ".join(where)
            + "."
            + ("" if all(ctx.other_codes.values()) else " `sociosim report` writes a report for each code.")
        )
    if ctx.other_versions:
        sec.paragraphs.append(
            f"The store also holds {ctx.other_versions} run(s) of other versions of this scenario "
            "(another scenario_hash); this report covers only the most recent batch."
        )
    failed = _failed_runs(ctx)
    if failed is not None and len(failed):
        sec.paragraphs.append(f"{len(failed)} run(s) failed and are left out; see the table below.")
        sec.tables.append(("Failed runs", select(failed, ["run_key", "point", "replicate", "error"])))
    return sec


def _failed_runs(ctx: Context) -> pd.DataFrame | None:
    if ctx.store is None:
        return None
    try:
        runs = ctx.store.runs()
    except Exception:  # noqa: BLE001 - the runs table is optional for the report
        return None
    if runs.empty or "status" not in runs.columns:
        return None
    failed = runs[runs["status"] != "ok"]
    if "scenario" in failed.columns and ctx.scenario is not None:
        failed = failed[failed["scenario"] == ctx.scenario.name]
    if "code" in failed.columns and "code" in ctx.code:
        failed = failed[failed["code"].fillna("unrecorded") == ctx.code["code"]]
    return failed


def section_parameters(ctx: Context) -> Section:
    sec = Section("parameters", "Parameters")
    sc = ctx.scenario
    if sc is None:
        const = [c for c in parameter_columns(ctx.runs) if ctx.runs[c].nunique(dropna=False) == 1]
        if not const:
            raise Skip("no scenario record and no constant parameter columns")
        table = pd.DataFrame({"parameter": const, "value": [ctx.runs[c].iloc[0] for c in const]})
        sec.tables.append(("Parameters constant across runs", table))
        return sec
    rows = []
    for name, info in ModelParams.model_fields.items():
        value = getattr(sc.params, name)
        if value != info.default:
            extra = info.json_schema_extra or {}
            rows.append(
                {
                    "parameter": name,
                    "value": str(value),
                    "default": str(info.default),
                    "lever": extra.get("lever", ""),
                    "meaning": info.description or "",
                }
            )
    if rows:
        sec.tables.append(("Parameters that differ from the defaults", pd.DataFrame(rows)))
    else:
        sec.paragraphs.append("All model parameters are at their defaults.")
    run = sc.run
    sec.paragraphs.append(
        f"Run settings: {run.steps} steps, root seed {run.seed}, {run.replications} replication(s)."
    )
    if sc.design is not None and sc.design.parameters:
        d = sc.design
        drows = []
        for name, spec in d.parameters.items():
            drows.append(
                {
                    "parameter": name,
                    "values": str(spec if isinstance(spec, list) else f"[{spec.min}, {spec.max}]"),
                }
            )
        cap = f"Design: {d.method}" + (f", base sample {d.samples}" if d.method != "grid" else "")
        sec.tables.append((cap, pd.DataFrame(drows)))
    return sec


def section_outcomes(ctx: Context) -> Section:
    varying = parameter_columns(ctx.runs, varying=True)
    measures = [m for m in HEADLINE if ctx.has(m)]
    if not measures:
        raise Skip("no headline measures in the data")
    sec = Section("outcomes", "Outcomes by design point")
    if varying and ctx.runs.groupby(varying).ngroups <= 60:
        table = ctx.runs.groupby(varying, sort=True, dropna=False)[measures].mean().reset_index()
        table.insert(
            len(varying), "runs", ctx.runs.groupby(varying, sort=True, dropna=False).size().to_numpy()
        )
        sec.paragraphs.append("Mean over replicates of each run's outcome.")
    else:
        table = ctx.runs[measures].agg(["mean", "std", "min", "max"]).T.reset_index(names="measure")
        sec.paragraphs.append("Distribution of run outcomes over all runs.")
    sec.tables.append(("Outcomes", table))
    return sec


def section_effects(ctx: Context) -> Section:
    if ctx.by is None:
        raise Skip("no column to compare by (pass --by)")
    sec = Section("effects", f"Policy comparison: {ctx.by} against {ctx.baseline}")
    measures = [m for m in HEADLINE if ctx.has(m)]
    within = ctx.x if ctx.x in ("beta", "param_beta") and ctx.x != ctx.by else None
    table = compare_policies(
        ctx.df,
        by=ctx.by,
        baseline=ctx.baseline,
        measures=measures,
        last=ctx.last,
        n_boot=ctx.n_boot,
        seed=ctx.seed,
    )
    table["p_holm"] = adjust_pvalues(table["p"].to_numpy(float), "holm")
    paired = bool(table["paired"].all()) if len(table) else False
    sec.paragraphs.append(
        "Difference of each arm's mean from the baseline's, with bootstrap 95 % CIs over replications "
        + (
            "(paired on replicate: arms share seeds, common random numbers; effect size Hedges' g_z of the paired "
            "differences, g_av against the arms' pooled sd)."
            if paired
            else "(unpaired; effect size Hedges' g)."
        )
        + " No standardised effect is given where the differences do not vary beyond floating-point noise."
    )
    n_tests = int(table["p"].notna().sum())
    sec.paragraphs.append(
        f"p is the {'paired' if paired else 'Welch'} t test's two-sided p, unadjusted; p (Holm) is adjusted "
        f"for the {n_tests} comparisons of this table (Holm–Bonferroni, statsmodels). Medians and the share "
        "of replicates (catalogues) in which the arm is below the baseline sit beside the means: a mean that "
        "one catalogue drives has a small share."
    )
    shown = effects_display(table)
    cols = [
        "level",
        "measure",
        "n",
        "mean_baseline",
        "mean_level",
        "diff_ci",
        "median_diff",
        "share_down",
        "effect_ci",
        "p",
        "p_holm",
    ]
    sec.tables.append(("Effects against the baseline", select(shown, cols)))
    sec.add_figure(
        f"Each arm's difference from {ctx.baseline} with its 95 % CI, one panel per measure on its own scale "
        "(measures of different sizes never share an axis): vermilion points lie wholly below 0, blue wholly "
        "above, grey CIs include 0.",
        ctx.figure(
            F.plot_forest_panels,
            table,
            "effects",
            panel=("measure",),
            row="level",
            panel_title={(m,): measure_label(m) for m in pd.unique(table["measure"])},
            xlabel=f"difference from {ctx.baseline} (95 % CI)",
        ),
    )
    if within:
        strat = compare_policies(
            ctx.df,
            by=ctx.by,
            baseline=ctx.baseline,
            measures=["gap"],
            within=within,
            last=ctx.last,
            n_boot=ctx.n_boot,
            seed=ctx.seed,
        )
        sec.tables.append(
            (
                f"Gap difference at each {within}",
                select(
                    effects_display(strat),
                    [within, "level", "n", "diff_ci", "median_diff", "share_down", "effect_ci", "p"],
                ),
            )
        )
    return sec


def effects_display(table: pd.DataFrame) -> pd.DataFrame:
    """A comparison table for reading: measures by their human names, each estimate and its CI in one cell."""
    out = table.copy()
    out["diff_ci"] = [
        interval_text(d, lo, hi)
        for d, lo, hi in zip(out["diff"], out["diff_lo"], out["diff_hi"], strict=True)
    ]
    out["effect_ci"] = [
        note or interval_text(g, lo, hi)
        for g, lo, hi, note in zip(
            out["effect_size"], out["effect_lo"], out["effect_hi"], out["effect_note"].fillna(""), strict=True
        )
    ]
    out["measure"] = out["measure"].map(measure_label)
    return out


def section_cultures(ctx: Context) -> Section:
    if ctx.by is None:
        raise Skip("no column to compare by")
    if not culture_indices(ctx.runs, "utility"):
        raise Skip("no per-culture utility columns")
    ctx.wants(
        "utility_min", "utility_spread", *(f"utility_{c}" for c in culture_indices(ctx.runs, "utility"))
    )
    sec = Section("cultures", "Who gains, who loses: per-culture utility")
    table = culture_outcomes(
        ctx.df, by=ctx.by, baseline=ctx.baseline, last=ctx.last, n_boot=ctx.n_boot, seed=ctx.seed
    )
    sec.paragraphs.append(
        "Change in each culture's true utility against the baseline (culture 0 is the dominant annotator "
        "culture by default); the verdict needs the 95 % CI to exclude 0."
    )
    cols = [
        "level",
        "culture",
        "n",
        *ESTIMATE_COLUMNS[:6],
        "verdict",
    ]
    sec.tables.append(("Per-culture utility change", select(table, cols)))
    return sec


def section_pressure(ctx: Context) -> Section:
    if ctx.x is None or not ctx.has("gap"):
        raise Skip("pressure does not vary (neither beta nor KL)")
    by = ctx.by if ctx.by != ctx.x else None
    sec = Section("pressure", "Gap against optimisation pressure")
    table = gap_vs_pressure(ctx.df, x=ctx.x, by=by, last=ctx.last)
    sec.paragraphs.append(
        f"OLS of the gap on {ctx.x} over runs{f', per {by}' if by else ''}; Student-t 95 % CIs. A lever that "
        "works lowers the slope or the intercept; 'slope ≠ 0' says whether the gap still grows with pressure. "
        "These CIs treat runs as independent, although arms share seeds: read them as approximate."
    )
    cols = [
        "level",
        "n",
        "slope",
        "slope_lo",
        "slope_hi",
        "intercept",
        "intercept_lo",
        "intercept_hi",
        "r2",
        "slope_nonzero",
    ]
    sec.tables.append(("Gap against pressure", select(table, cols)))
    sec.add_figure(
        "Gap against pressure, one OLS line (95 % CI band) per arm: a steeper line means the gap opens faster "
        "with optimisation; a lever that works lowers or flattens its line.",
        ctx.figure(F.plot_gap_vs_pressure, ctx.df, "gap_vs_pressure", x=ctx.x, by=by, last=ctx.last),
    )
    return sec


def section_goodhart(ctx: Context) -> Section:
    if not ctx.has("kl", "true_utility"):
        raise Skip("no kl or true_utility")
    runs = add_sqrt_kl(ctx.runs)
    if runs["sqrt_kl"].nunique() < 3:
        raise Skip("KL takes fewer than 3 distinct values")
    ctx.wants("true_utility", "proxy")
    by = ctx.by if ctx.by not in (None, ctx.x, "beta") else None
    sec = Section("goodhart", "Goodhart curve")
    table = goodhart_table(ctx.df, by=by, last=ctx.last)
    sec.paragraphs.append(
        "True utility against d = √KL per run, fitted by d(a − b·d) (best-of-n form) and d(a − b·log d) "
        "(KL-tilting form) of Gao et al. (2022); d* is where the fitted curve peaks (∞: no peak)."
    )
    sec.tables.append(
        (
            "Goodhart fits",
            select(table, ["level", "form", "a", "a_se", "b", "b_se", "r2", "n", "d_star", "u_star"]),
        )
    )
    sec.add_figure(
        "True utility against d = √KL per run with both Goodhart fits: where a curve peaks, more optimisation "
        "stops paying; a curve still rising has no peak in this range.",
        ctx.figure(F.plot_goodhart, ctx.df, "goodhart", by=by, last=ctx.last),
    )
    return sec


HOMOGENISATION = ("value_diversity", "culture_separation", "minority_drift", "majority_drift")


def varies(values: pd.Series) -> bool:
    """Whether a column takes more than one value beyond floating-point noise."""
    v = pd.to_numeric(values, errors="coerce").dropna().to_numpy(float)
    return len(v) > 1 and not below_noise(float(np.ptp(v)), v)


def section_sycophancy(ctx: Context) -> Section:
    if ctx.x is None or not ctx.has("sycophancy"):
        raise Skip("no sycophancy measure or no pressure variation")
    if not varies(ctx.runs["sycophancy"]):
        raise Skip("sycophancy is the same in every run")
    ctx.wants("sycophancy")
    by = ctx.by if ctx.by != ctx.x else None
    sec = Section("sycophancy", "Sycophancy against pressure")
    sec.add_figure(
        "Sycophancy E_π[agree] against pressure (mean ± 95 % CI per level): a rising line means optimisation "
        "rewards agreeing with users over the truth.",
        ctx.figure(F.plot_sycophancy, ctx.df, "sycophancy", x=ctx.x, by=by, last=ctx.last),
    )
    return sec


def section_trust(ctx: Context) -> Section:
    if not ctx.has("trust_mean", "reliability"):
        raise Skip("no trust_mean or reliability")
    ctx.wants("trust_mean", "reliability", "overtrust", "trust_from_anthro")
    sec = Section("trust", "Trust calibration")
    over = ctx.runs["trust_mean"] - ctx.runs["reliability"]
    sec.paragraphs.append(
        f"Users' mean trust against the policy's reliability per run; {int((over > 0).sum())} of {len(over)} runs "
        f"lie above the diagonal (overtrust), mean overtrust {over.mean():.3f}."
    )
    sec.add_figure(
        "Users' trust against the policy's reliability, one point per run: points above the diagonal are "
        "overtrust (trust beyond what the model deserves).",
        ctx.figure(F.plot_trust_calibration, ctx.df, "trust_calibration", by=ctx.by, last=ctx.last),
    )
    return sec


def section_homogenisation(ctx: Context) -> Section:
    if "step" not in ctx.df.columns or ctx.df["step"].nunique() < 2:
        raise Skip("no time series")
    present = [c for c in HOMOGENISATION if c in ctx.df.columns]
    if not present:
        raise Skip("no homogenisation measures")
    ctx.wants(*HOMOGENISATION, "dominant_pull", "culture_entropy")
    if not any(varies(ctx.df[c]) for c in present):
        raise Skip(
            "users' values do not move in this batch ("
            + ", ".join(present)
            + " constant; e.g. persuasion = 0)"
        )
    sec = Section("homogenisation", "Homogenisation over time")
    sec.add_figure(
        "Value diversity, culture separation and minority vs majority drift over time (mean ± 95 % CI over "
        "runs): falling diversity or separation, or minority drift above majority drift, means the society "
        "is homogenising towards what the model says.",
        ctx.figure(F.plot_homogenisation, ctx.df, "homogenisation", by=ctx.by),
    )
    return sec


LAB_COLUMNS = ("share", "beta", "kl", "gap", "true_utility", "trust")


def section_labs(ctx: Context) -> Section:
    labs = F.lab_count(ctx.df)
    if labs < 2:
        raise Skip("a single lab (no share_<l> columns)")
    sec = Section("labs", "Competing labs")
    groups = ctx.runs.groupby(ctx.by, sort=True) if ctx.by else [("all runs", ctx.runs)]
    rows = []
    for level, runs in groups:
        for lab in range(labs):
            row = {"level": level[0] if isinstance(level, tuple) else level, "lab": lab}
            row.update({f"lab {name}": float(runs[f"{name}_{lab}"].mean()) for name in LAB_COLUMNS})
            rows.append(row)
    sec.paragraphs.append(
        "Each lab's query share, pressure, KL, gap, true utility and its users' trust, averaged over "
        f"the last {ctx.last} steps of each run and over runs; market concentration (Herfindahl) is "
        f"{ctx.runs['market_concentration'].mean():.3f} on average (1/{labs} = even split)."
    )
    sec.tables.append(("Labs", pd.DataFrame(rows)))
    sec.add_figure(
        "Each lab's share of queries over time (mean ± 95 % CI over runs; dotted: an even split): a lab "
        "above the line is winning users from the others.",
        ctx.figure(F.plot_market_shares, ctx.df, "market_shares", by=ctx.by),
    )
    return sec


def section_trilemma(ctx: Context) -> Section:
    if not ctx.has("kl", "value_capture", "gap_shift") or len(ctx.runs) < 2:
        raise Skip("needs kl, value_capture and gap_shift over at least 2 runs")
    ctx.wants("value_capture")
    frontier = trilemma_frontier(ctx.df, last=ctx.last)
    sec = Section("trilemma", "The trilemma: optimisation, value capture, generalisation")
    n_front = int(frontier["pareto"].sum())
    sec.paragraphs.append(
        f"{n_front} of {len(frontier)} runs are Pareto-optimal (no other run is at least as good on all three axes "
        "and better on one)."
    )
    varying = parameter_columns(ctx.runs, varying=True)
    cols = [*varying, "replicate", "optimisation", "value_capture", "generalisation"]
    sec.tables.append(("Pareto-optimal runs", select(frontier[frontier["pareto"]], cols)))
    sec.add_figure(
        "The trilemma's three axes in pairs, one point per run, Pareto-optimal runs highlighted: no run is best "
        "on all three; the highlighted runs are the trade-offs on offer.",
        ctx.figure(F.plot_trilemma, frontier, "trilemma"),
    )
    return sec


def section_sensitivity(ctx: Context) -> Section:
    if not ctx.design or ctx.design.get("method") not in ("sobol", "morris"):
        raise Skip("not a sobol or morris design")
    method = ctx.design["method"]
    outcomes = [m for m in ("gap", "true_utility", "overtrust", "utility_min") if ctx.has(m)]
    tables = [
        sensitivity_table(ctx.df, outcome=m, problem=ctx.design, last=ctx.last, seed=ctx.seed)
        for m in outcomes
    ]
    sec = Section("sensitivity", f"Global sensitivity ({method})")
    table = pd.concat(tables, ignore_index=True)
    if method == "sobol":
        sec.paragraphs.append(
            "Sobol first-order (S1) and total (ST) indices with SALib bootstrap 95 % CIs; ST − S1 is the share through interactions."
        )
        cols = ["outcome", "name", "S1", "S1_lo", "S1_hi", "ST", "ST_lo", "ST_hi", "interaction"]
        sec.figures.append((f"Sobol indices of {outcomes[0]}", ctx.figure(F.plot_sobol, tables[0], "sobol")))
    else:
        sec.paragraphs.append(
            "Morris elementary effects: mu* ranks influence, sigma flags interactions or non-linearity."
        )
        cols = ["outcome", "name", "mu", "mu_star", "mu_star_conf", "sigma"]
    sec.tables.append(("Sensitivity indices", select(table, cols)))
    return sec


def section_discovery(ctx: Context) -> Section:
    method = getattr(getattr(ctx.scenario, "design", None), "method", None)
    if method == "grid":
        raise Skip(
            "a grid design: the outcome and comparison tables already show where overtrust is high; "
            "scenario discovery (PRIM) is for sampled designs (lhs, sobol, morris)"
        )
    if not ctx.has("overtrust") or len(ctx.runs) < 20:
        raise Skip("needs overtrust over at least 20 runs")
    threshold = float(getattr(getattr(ctx.scenario, "params", None), "audit_overtrust_threshold", 0.15))
    n_cases = int((ctx.runs["overtrust"] > threshold).sum())
    if n_cases in (0, len(ctx.runs)):
        raise Skip(
            f"{'no' if n_cases == 0 else 'every'} run has overtrust above the audit threshold {threshold:g}"
        )
    if not ema_available():
        raise Skip("the EMA Workbench is not installed (pip install 'sociosim[ema]')")
    inputs = [c for c in parameter_columns(ctx.runs, varying=True)]
    if not inputs:
        raise Skip("no varying inputs")
    boxes = prim_boxes(ctx.df, outcome="overtrust", threshold=threshold, inputs=inputs, last=ctx.last)
    sec = Section("discovery", "Scenario discovery: where overtrust exceeds the audit threshold")
    sec.paragraphs.append(
        f"{n_cases} of {len(ctx.runs)} runs have overtrust > {threshold:g} (the regulator's audit threshold). "
        "PRIM (EMA Workbench) box: coverage = share of those runs inside it, density = share of runs inside it that are cases."
    )
    if boxes.empty:
        sec.paragraphs.append("PRIM found no box restricting any input.")
    else:
        sec.tables.append(
            (
                "PRIM box",
                select(
                    boxes,
                    [
                        "box",
                        "parameter",
                        "lower",
                        "upper",
                        "categories",
                        "quasi_p",
                        "coverage",
                        "density",
                        "mass",
                    ],
                ),
            )
        )
    return sec


def section_provenance(ctx: Context, source: Any) -> Section:
    sec = Section("provenance", "Provenance")
    df = ctx.df
    hashes = (
        sorted(map(str, pd.unique(df["scenario_hash"].dropna()))) if "scenario_hash" in df.columns else []
    )
    if not hashes and ctx.scenario is not None:
        hashes = [ctx.scenario.content_hash()]
    rows = [
        ("source", str(source) if not isinstance(source, pd.DataFrame) else "DataFrame"),
        (
            "scenario",
            ctx.scenario.name
            if ctx.scenario is not None
            else ", ".join(map(str, pd.unique(df.get("scenario", pd.Series(dtype=str)).dropna()))),
        ),
        ("scenario hash", ", ".join(hashes) or "unknown"),
        ("code (source fingerprint of the runs)", ctx.code.get("code", "unrecorded")),
        ("sociosim version of the runs", ctx.code.get("sociosim_version", "unrecorded")),
        ("git commit of the runs", ctx.code.get("git_commit", "unknown (not run from a checkout)")),
        ("uncommitted edits at run time", ctx.code.get("git_dirty", "unknown")),
    ]
    if ctx.scenario is not None:
        rows += [
            ("root seed", str(ctx.scenario.run.seed)),
            ("replications (scenario)", str(ctx.scenario.run.replications)),
        ]
    if "seed_entropy" in df.columns:
        rows.append(("seed entropy (stored)", ", ".join(map(str, pd.unique(df["seed_entropy"].dropna())))))
    if "replicate" in df.columns:
        rows.append(("replicates in data", str(df["replicate"].nunique())))
    rows += [
        ("runs in data", str(len(ctx.runs))),
        ("analysis window", f"last {ctx.last} steps of each run"),
        ("bootstrap", f"{ctx.n_boot} resamples, seed {ctx.seed}"),
        ("sociosim version (report)", __version__),
        ("generated (UTC)", dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")),
        ("python", platform.python_version()),
    ]
    for pkg in ("numpy", "pandas", "scipy", "SALib", "matplotlib", "mesa"):
        rows.append((pkg, package_version(pkg)))
    rows.append(("ema-workbench", ema_version() or "not installed"))
    sec.tables.append(("Provenance", pd.DataFrame(rows, columns=["item", "value"])))
    return sec


SECTIONS: tuple[Callable[[Context], Section], ...] = (
    section_summary,
    section_overview,
    section_parameters,
    section_outcomes,
    section_effects,
    section_cultures,
    section_pressure,
    section_goodhart,
    section_sycophancy,
    section_trust,
    section_homogenisation,
    section_labs,
    section_trilemma,
    section_sensitivity,
    section_discovery,
)
