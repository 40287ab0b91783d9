"""The batch report: scenario, parameters, tables and figures, as self-contained HTML and Markdown.

A store can hold several scenarios, each run by several versions of the code: a report
covers exactly one (scenario, code) group, so its title, scenario record and numbers
always belong together. `write_reports` writes one per group found (or per group of one
chosen scenario); `write_report` writes one group's report. Each runs every analysis the
data supports (a section whose inputs are missing is skipped and listed as such), saves
the figures, and writes `report.html` (figures embedded as base64 PNG, no external CSS,
JS or fonts: readable offline) and `report.md` (figures linked as files in `figures/`).
The section builders are in `report_sections.py`, the rendering in `render.py`.

Kill-safe: a report is written whole into a hidden staging folder, then moved into place
with `report.md` last (`sociosim.io.swap_in`), so a report stopped at any moment leaves
either the old report or the new one, never a `report.md` beside figures of another
render; SIGTERM stops it as Ctrl-C does, and the staging folder is removed (one left by a
SIGKILL is removed by the next report written there).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from sociosim.analysis.frames import load_frame, match_level, parameter_columns, store_of, summarise_runs
from sociosim.analysis.render import render_html, render_markdown
from sociosim.analysis.report_sections import (
    SECTIONS,
    Context,
    Section,
    Skip,
    infer_baseline,
    infer_by,
    infer_x,
    section_provenance,
)
from sociosim.config.scenario import Scenario, load_scenario
from sociosim.errors import ScenarioError
from sociosim.io import atomic_write_text, staged_files, swap_in, terminate_as_interrupt


@dataclass
class ReportResult:
    """What `write_report` wrote: the two documents, the figure files, and skipped sections with reasons."""

    html: Path
    markdown: Path
    figures: list[Path]
    sections: list[str]
    skipped: dict[str, str]


def latest_batch(df: pd.DataFrame, store: Any) -> tuple[pd.DataFrame, int]:
    """The rows of the most recently committed scenario version, and how many runs were left out.

    A store can hold batches of several versions of a scenario (a scenario file edited
    between runs); mixing them would compare unlike runs.
    """
    if "scenario_hash" not in df.columns or df["scenario_hash"].nunique() <= 1:
        return df, 0
    if store is None:
        hashes = ", ".join(sorted(df["scenario_hash"].astype(str).unique()))
        raise ValueError(f"data: holds runs of several scenario versions (scenario_hash {hashes}); pass one")
    runs = store.runs()
    if "run_key" in runs.columns and "run_key" in df.columns:
        runs = runs[runs["run_key"].isin(pd.unique(df["run_key"]))]
    latest = runs.sort_values("committed_at")["scenario_hash"].iloc[-1]
    keep = df["scenario_hash"] == latest
    return df[keep], int(df.loc[~keep, "run_key"].nunique())


UNRECORDED = "unrecorded"  # the code of runs stored before runs recorded theirs


@dataclass(frozen=True)
class Group:
    """One report's worth of runs: a scenario name and the code that ran them."""

    scenario: str
    code: str

    def slug(self) -> str:
        return f"{self.scenario}-{self.code}"


def _codes(df: pd.DataFrame) -> pd.Series:
    if "code" not in df.columns:
        return pd.Series(UNRECORDED, index=df.index)
    return df["code"].astype("object").where(df["code"].notna(), UNRECORDED).astype(str)


def _scenarios(df: pd.DataFrame) -> pd.Series:
    if "scenario" not in df.columns:
        return pd.Series("batch", index=df.index)
    return df["scenario"].astype("object").where(df["scenario"].notna(), "batch").astype(str)


def report_groups(df: pd.DataFrame) -> list[Group]:
    """The (scenario, code) groups in a frame, in order of first appearance."""
    pairs = pd.DataFrame({"s": _scenarios(df), "c": _codes(df)}).drop_duplicates()
    return [Group(s, c) for s, c in zip(pairs["s"], pairs["c"], strict=True)]


def group_rows(df: pd.DataFrame, group: Group) -> pd.DataFrame:
    """The rows of one group, without columns that are empty in it (another scenario's design columns)."""
    keep = (_scenarios(df) == group.scenario) & (_codes(df) == group.code)
    sub = df[keep]
    empty = [c for c in sub.columns if sub[c].isna().all() and c != "code"]
    return sub.drop(columns=empty).reset_index(drop=True)


def _code_facts(store: Any, group: Group, run_keys: Any) -> dict[str, str]:
    """Version, git commit and dirty flag of the group's runs, read from the store's runs table."""
    facts = {"code": group.code}
    if store is None:
        return facts
    try:
        runs = store.runs()
    except Exception:  # noqa: BLE001 - the runs table is optional for the report
        return facts
    runs = runs[runs["run_key"].isin(run_keys)] if "run_key" in runs.columns else runs.iloc[0:0]
    for column in ("sociosim_version", "git_commit", "git_dirty"):
        if column in runs.columns and runs[column].notna().any():
            facts[column] = ", ".join(sorted(map(str, pd.unique(runs[column].dropna()))))
    return facts


def with_library_claims(scenario: Scenario | None) -> tuple[Scenario | None, bool]:
    """The stored scenario, given the claims of the library file of its name when it has none of its own.

    A store's scenario record is written at batch time; claims added to the file later
    still apply when the file's parameters and design are those the batch ran. Returns
    the scenario and whether claims were taken from the file.
    """
    if scenario is None or scenario.scenario.claims:
        return scenario, False
    try:
        library = load_scenario(scenario.name)
    except (ScenarioError, OSError):
        return scenario, False
    if not library.scenario.claims or library.params != scenario.params or library.design != scenario.design:
        return scenario, False
    info = scenario.scenario.model_copy(update={"claims": library.scenario.claims})
    return scenario.model_copy(update={"scenario": info}), True


def write_reports(
    source: Any,
    out_dir: str | Path,
    *,
    scenario: str | None = None,
    progress: bool = False,
    **options: Any,
) -> list[ReportResult]:
    """One report per (scenario, code) group in `source`, or per group of `scenario`.

    Where they go: with one scenario, the report of the newest code (the one whose runs
    were committed last, normally the code just run) goes to `out_dir` itself and each
    other code's to `out_dir/<scenario>-<code>/`; with several scenarios, every group goes
    to `out_dir/<scenario>-<code>/`. `options` are those of `write_report`.
    """
    out_dir = Path(out_dir)
    df = load_frame(source)
    if df.empty:
        raise ValueError("store: holds no measures (no finished runs) to report on")
    store = store_of(source)
    groups = report_groups(df)
    if scenario is not None:
        names = sorted({g.scenario for g in groups})
        groups = [g for g in groups if g.scenario == scenario]
        if not groups:
            raise ValueError(f"scenario: {scenario!r} is not in the data (scenarios: {', '.join(names)})")
    groups = newest_first(groups, store)
    one_scenario = len({g.scenario for g in groups}) == 1
    places = {g: out_dir if one_scenario and i == 0 else out_dir / g.slug() for i, g in enumerate(groups)}
    results = []
    for g in groups:
        others = {o.code: places[o] for o in groups if o.scenario == g.scenario and o != g}
        results.append(
            _write_group(
                group_rows(df, g),
                store,
                source,
                places[g],
                g,
                progress=progress,
                other_codes=others,
                **options,
            )
        )
    return results


def _relative(path: Path, start: Path) -> str:
    return os.path.relpath(path / "report.html", start)


def newest_first(groups: list[Group], store: Any) -> list[Group]:
    """Groups ordered by when their runs were last committed, newest first (order kept without a store)."""
    if store is None or len(groups) < 2:
        return groups
    try:
        runs = store.runs()
    except Exception:  # noqa: BLE001 - without a runs table keep the order found
        return groups
    if "committed_at" not in runs.columns:
        return groups
    last: dict[Group, Any] = {}
    for s, c, t in zip(_scenarios(runs), _codes(runs), runs["committed_at"], strict=True):
        g = Group(s, c)
        last[g] = t if g not in last else max(last[g], t)
    rank = {g: i for i, g in enumerate(sorted(last, key=lambda g: last[g], reverse=True))}
    return sorted(groups, key=lambda g: rank.get(g, len(rank)))


def write_report(
    source: Any,
    out_dir: str | Path,
    *,
    scenario: str | None = None,
    code: str | None = None,
    title: str | None = None,
    baseline: Any = None,
    by: str | None = None,
    last: int = 10,
    n_boot: int = 2000,
    seed: int = 0,
    lead_sections: Sequence[Section] = (),
    progress: bool = False,
    svg: bool = False,
    all_sections: bool = False,
) -> ReportResult:
    """Write report.html (self-contained) and report.md (+ figures/) of one (scenario, code) group.

    `source` is a store, store path or frame; when it holds several scenarios, `scenario`
    picks one (else a ValueError lists them; `write_reports` writes them all), and of a
    scenario run by several codes the newest code's runs are reported unless `code` picks.
    The report names the other codes; `write_reports` writes a report for each.
    `by` names the design column whose arms are compared (default: the first varying
    column other than beta with at most 8 levels); `baseline` its reference level
    (default: the scenario's own value, else the first level). `lead_sections` go first,
    before the generic analyses (a study's claim, say). Figures are written as PNG (embedded
    in the HTML); `svg` writes an SVG of each beside it too. Analyses of measures the
    scenario's `look_at` does not name are listed as not shown, unless `all_sections`.
    """
    df = load_frame(source)
    if df.empty:
        raise ValueError("store: holds no measures (no finished runs) to report on")
    groups = [
        g
        for g in report_groups(df)
        if (scenario is None or g.scenario == scenario) and (code is None or g.code == code)
    ]
    store = store_of(source)
    if len({g.scenario for g in groups}) != 1:
        found = ", ".join(f"{g.scenario} (code {g.code})" for g in report_groups(df))
        what = "no" if not groups else "several scenarios'"
        raise ValueError(f"data: {what} (scenario, code) groups match; pass scenario= (found {found})")
    groups = newest_first(groups, store)  # one scenario run by several codes: the newest code's runs
    return _write_group(
        group_rows(df, groups[0]),
        store,
        source,
        Path(out_dir),
        groups[0],
        title=title,
        baseline=baseline,
        by=by,
        last=last,
        n_boot=n_boot,
        seed=seed,
        lead_sections=lead_sections,
        progress=progress,
        svg=svg,
        all_sections=all_sections,
        other_codes={g.code: None for g in groups[1:]},
    )


def _write_group(
    df: pd.DataFrame, store: Any, source: Any, out_dir: Path, group: Group, **options: Any
) -> ReportResult:
    """The report of one group's rows (`df` holds only them), written whole or not at all.

    Rendered into a staging folder and swapped in (signals held meanwhile); `options` are
    `_write_staged`'s.
    """
    with terminate_as_interrupt(), staged_files(out_dir) as staging:
        return _write_staged(df, store, source, out_dir, staging, group, **options)


def _write_staged(
    df: pd.DataFrame,
    store: Any,
    source: Any,
    out_dir: Path,
    staging: Path,
    group: Group,
    *,
    title: str | None = None,
    baseline: Any = None,
    by: str | None = None,
    last: int = 10,
    n_boot: int = 2000,
    seed: int = 0,
    lead_sections: Sequence[Section] = (),
    progress: bool = False,
    svg: bool = False,
    other_codes: dict[str, Path | None] | None = None,
    all_sections: bool = False,
) -> ReportResult:
    """Build the report's files in `staging`, then swap them into `out_dir` (report.md last)."""
    df, other_versions = latest_batch(df, store)
    scenario = design = None
    scenario_hash = str(df["scenario_hash"].iloc[0]) if "scenario_hash" in df.columns else None
    if store is not None and scenario_hash is not None:
        try:
            scenario = store.scenario(scenario_hash)
        except Exception:  # noqa: BLE001 - a store without a scenario record still has data
            scenario = None
        try:
            design = store.design_problem(scenario_hash)
        except Exception:  # noqa: BLE001
            design = None
    scenario, claims_from_file = with_library_claims(scenario)
    runs = summarise_runs(df, last=last)
    if by is not None and by not in runs.columns:
        raise KeyError(f"by: no column {by!r} in the data (design columns: {parameter_columns(runs)})")
    by = by or infer_by(runs)
    if by is not None:
        baseline = (
            match_level(runs[by], baseline) if baseline is not None else infer_baseline(runs, by, scenario)
        )
    elif baseline is not None:
        raise ValueError("baseline: needs --by (the column whose level it is)")
    fig_dir = staging / "figures"
    ctx = Context(df, runs, store, scenario, design, by, baseline, infer_x(runs), fig_dir, last, n_boot, seed)
    ctx.other_versions = other_versions
    ctx.formats = ("png", "svg") if svg else ("png",)
    ctx.all_sections = all_sections
    ctx.other_codes = {
        code: _relative(path, out_dir) if path is not None else ""
        for code, path in (other_codes or {}).items()
    }
    ctx.claims_from_file = claims_from_file
    ctx.code = _code_facts(store, group, pd.unique(df["run_key"]) if "run_key" in df.columns else [])
    sections: list[Section] = [_with_staged_figures(s, fig_dir) for s in lead_sections]
    skipped: dict[str, str] = {}
    bar = tqdm(SECTIONS, desc=f"report {group.scenario} ({group.code})", unit="section", disable=not progress)
    for build in bar:
        name = build.__name__.removeprefix("section_")
        bar.set_postfix_str(name, refresh=False)
        try:
            sections.append(build(ctx))
        except Skip as why:
            skipped[name] = str(why)
        except Exception as exc:  # noqa: BLE001 - one failing analysis must not sink the report
            sections.append(Section(name, name.capitalize(), error=f"{type(exc).__name__}: {exc}"))
    bar.close()
    sections.append(section_provenance(ctx, source))
    name = scenario.name if scenario is not None else group.scenario
    title = title or f"sociosim report: {name}"
    atomic_write_text(staging / "report.html", render_html(title, sections, skipped))
    atomic_write_text(staging / "report.md", render_markdown(title, sections, skipped, staging))
    swap_in(staging, out_dir, ["report.html", "figures"], pointer="report.md")
    figures = [out_dir / path.relative_to(staging) for path in ctx.figure_paths]
    return ReportResult(
        out_dir / "report.html", out_dir / "report.md", figures, [s.key for s in sections], skipped
    )


def _with_staged_figures(section: Section, fig_dir: Path) -> Section:
    """A caller's section with its figures copied into the staging folder, so the swap keeps them.

    A study's claim figures are drawn before the report (into the old `figures/`, which the
    swap replaces); the report links its own copies.
    """
    if not section.figures:
        return section
    fig_dir.mkdir(parents=True, exist_ok=True)
    figures = []
    for caption, path in section.figures:
        path = Path(path)
        for source in {path, path.with_suffix(".svg")}:
            if source.is_file() and source.parent.resolve() != fig_dir.resolve():
                shutil.copy2(source, fig_dir / source.name)
        figures.append((caption, fig_dir / path.name))
    return replace(section, figures=figures)


__all__ = [
    "Group",
    "ReportResult",
    "Section",
    "infer_baseline",
    "infer_by",
    "infer_x",
    "report_groups",
    "write_report",
    "write_reports",
]
