"""The replay view: stored batch runs (`sociosim viz --store STORE`), scrubbed step by step, two side by side.

Pick a run by scenario, design point and replicate (and optionally a second one to compare);
the step slider moves a marker through the stored series and the table shows every stored
measure at that step. The two runs' charts share their axes, so a difference in height is
a difference in the runs. Stored agent snapshots are not shown yet.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd
import solara

from sociosim.errors import ScenarioError
from sociosim.model.measures import measure_doc
from sociosim.viz.charts import PANELS, panel_lines, series_parts, snapshot_spec, y_extent
from sociosim.viz.replay import StoredRuns, open_runs
from sociosim.viz.vega import VegaChart

NONE = "(none)"


@solara.component
def RunPicker(
    runs: StoredRuns, key: str, label: str, choice: solara.Reactive[dict[str, Any] | None], optional: bool
) -> None:
    """Scenario, design point and replicate of one stored run."""
    current = choice.value or {}
    scenarios = runs.scenarios()
    options = ([NONE] if optional else []) + scenarios
    scenario = current.get("scenario", NONE if optional else scenarios[0])

    def pick(**change: Any) -> None:
        new = {**current, **change}
        if new.get("scenario") in (None, NONE):
            choice.set(None)
            return
        points = runs.points(new["scenario"])
        if new.get("point") not in points:
            new["point"] = points[0]
        replicates = runs.replicates(new["scenario"], new["point"])
        if new.get("replicate") not in replicates:
            new["replicate"] = replicates[0]
        choice.set(new)

    with solara.Column(gap="2px", classes=[f"sociosim-pick-{key}"]):
        solara.Text(label, style={"font-weight": "bold"})
        solara.Select("scenario", values=options, value=scenario, on_value=lambda s: pick(scenario=s))
        if choice.value is None:
            return
        points = runs.points(scenario)
        labels = {runs.point_label(scenario, p): p for p in points}
        now = runs.point_label(scenario, current["point"])
        solara.Select(
            "design point", values=list(labels), value=now, on_value=lambda t: pick(point=labels[t])
        )
        reps = [str(r) for r in runs.replicates(scenario, current["point"])]
        solara.Select(
            "replicate",
            values=reps,
            value=str(current["replicate"]),
            on_value=lambda r: pick(replicate=int(r)),
        )


def step_table_html(frames: dict[str, pd.DataFrame], step: int) -> str:
    """Every stored measure at `step`, one column per run, with its meaning from the registry."""
    rows_at = {k: f[f["step"] == step] for k, f in frames.items()}
    first = next(iter(frames.values()))
    head = "".join(f"<th>{html.escape(k)}</th>" for k in frames)
    body = []
    for column in first.columns:
        if column == "step":
            continue
        cells = []
        for key, row in rows_at.items():
            value = row[column].iloc[0] if column in row and len(row) else float("nan")
            cells.append(
                f'<td class="sociosim-replay-value" data-run="{key}" data-measure="{html.escape(column)}" style="text-align:right">{value:.4f}</td>'
            )
        body.append(
            f"<tr><td><code>{html.escape(column)}</code></td>{''.join(cells)}<td style='font-size:12px'>{html.escape(measure_doc(column))}</td></tr>"
        )
    return (
        f'<table class="sociosim-replay-table" style="border-collapse:collapse;width:100%"><tr><th>measure</th>{head}<th>meaning</th></tr>'
        + "".join(body)
        + "</table>"
    )  # fmt: skip


@solara.component
def ReplayView(store: str) -> None:
    """Replay and compare stored runs of the batch store at `store`."""
    loaded = solara.use_memo(lambda: _load(store), [store])
    if isinstance(loaded, str):
        solara.Error(loaded)
    else:
        ReplayRuns(loaded)


@solara.component
def ReplayRuns(runs: StoredRuns) -> None:
    """The pickers, the step slider, the side-by-side charts and the step's values."""
    first = runs.scenarios()[0]
    a = solara.use_reactive(
        {
            "scenario": first,
            "point": runs.points(first)[0],
            "replicate": runs.replicates(first, runs.points(first)[0])[0],
        }
    )
    b = solara.use_reactive(None)
    step = solara.use_reactive(0)
    chosen = {"A": a.value, "B": b.value}
    keys = {k: runs.run_key(v["scenario"], v["point"], v["replicate"]) for k, v in chosen.items() if v}
    frames = solara.use_memo(
        lambda: {k: runs.measures(key) for k, key in keys.items() if key}, [tuple(keys.items())]
    )
    events = solara.use_memo(
        lambda: {k: runs.events(key) for k, key in keys.items() if key}, [tuple(keys.items())]
    )
    with solara.Row(gap="24px", style={"flex-wrap": "wrap"}):
        RunPicker(runs, "A", "Run A", a, optional=False)
        RunPicker(runs, "B", "Run B (compare)", b, optional=True)
    if not frames:
        solara.Warning("this run has no stored measures")
        return
    lo = int(min(f["step"].min() for f in frames.values()))
    hi = int(max(f["step"].max() for f in frames.values()))
    k = min(max(step.value, lo), hi)
    solara.SliderInt(
        "step", value=k, min=lo, max=hi, on_value=step.set, thumb_label="always", tick_labels="end_points"
    )
    solara.Text(
        f"Step {k} of {hi}",
        classes=["sociosim-replay-step"],
        style={"font-size": "20px", "font-weight": "bold"},
    )
    for name, key in keys.items():
        solara.Text(
            f"Run {name}: "
            + runs.point_label(chosen[name]["scenario"], chosen[name]["point"])
            + f", replicate {chosen[name]['replicate']} (run {key})",
            style={"font-size": "12px"},
        )
    UserSnapshots(runs, keys, k)
    for panel, spec in PANELS.items():
        if not any(panel_lines(panel, frame.columns) for frame in frames.values()):
            continue  # e.g. the labs panel of single-lab runs
        domain = y_extent(list(frames.values()), panel)
        with solara.Row(gap="12px", style={"flex-wrap": "wrap"}, classes=[f"sociosim-replay-{panel}"]):
            for name, frame in frames.items():
                template, datasets = series_parts(
                    frame, panel, events=events.get(name), x_max=hi, y_domain=domain, marker=k,
                    title=f"{spec.title} (run {name})",
                )  # fmt: skip
                with solara.Column(
                    style={"flex": "1 1 380px"}, classes=["sociosim-chart", f"sociosim-replay-chart-{name}"]
                ):
                    VegaChart.element(spec=template, datasets=datasets)
    solara.HTML(tag="div", unsafe_innerHTML=step_table_html(frames, k))


@solara.component
def UserSnapshots(runs: StoredRuns, keys: dict[str, str | None], step: int) -> None:
    """Each run's stored users at the last snapshot at or before `step`, on shared axes."""
    stored = solara.use_memo(
        lambda: {n: runs.snapshot_steps(k) for n, k in keys.items() if k}, [tuple(keys.items())]
    )
    at = {n: max((s for s in steps if s <= step), default=None) for n, steps in stored.items()}
    users = solara.use_memo(
        lambda: {n: runs.snapshot(keys[n], s) for n, s in at.items() if s is not None}, [tuple(keys.items()), tuple(at.items())]
    )  # fmt: skip
    if not any(stored.values()):
        solara.Text(
            "No user snapshots are stored for these runs (run the batch with --snapshot-every K to see users here).",
            style={"font-size": "12px", "color": "#555"},
        )
        return
    columns = [c for c in ("value_0", "value_1") if users and all(c in f for f in users.values())]
    domain = {
        c: [min(float(f[c].min()) for f in users.values()), max(float(f[c].max()) for f in users.values())]
        for c in columns
    }
    with solara.Row(gap="12px", style={"flex-wrap": "wrap"}):
        for name, steps in stored.items():
            with solara.Column(
                style={"flex": "1 1 380px"}, classes=["sociosim-chart", f"sociosim-replay-users-{name}"]
            ):
                if name not in users:
                    solara.Text(
                        f"Run {name}: the first stored snapshot is at step {steps[0]}"
                        if steps
                        else f"Run {name}: no snapshots stored"
                    )
                    continue
                caption = (
                    f"Users at step {at[name]} (run {name}; stored at steps {', '.join(map(str, steps))})"
                )
                solara.Text(caption, style={"font-size": "12px"})
                spec = snapshot_spec(users[name], title=caption, domain=domain)
                VegaChart.element(spec=spec, datasets={})


def _load(store: str) -> StoredRuns | str:
    try:
        return open_runs(store)
    except ScenarioError as exc:
        return str(exc)
