"""The browser view: one Solara page over `VizModel`, served by `sociosim viz` (`solara run`).

The sidebar holds the scenario picker, the run buttons and a control for every parameter
the scenario studies (its design factors, then what its `[params]` sets), generated from the
schema, with the rest under "More parameters". The main column shows the scenario's
question, the step, the society and policy images (redrawn only when their data change)
and five time series drawn in the browser by Vega-Lite. With `--store`, a second tab
replays stored batch runs (`sociosim.viz.replay_page`).
"""

from __future__ import annotations

import html
import os
import sys
import threading
from typing import Any

import solara
import solara.lab

from sociosim.config.scenario import library, load_scenario
from sociosim.errors import ScenarioError
from sociosim.model.measures import measure_doc
from sociosim.model.model import AlignmentModel
from sociosim.viz.charts import PANELS, panel_lines, series_parts
from sociosim.viz.controls import (
    DEFAULTS_NAME,
    STORE_ENV,
    ScenarioView,
    VizModel,
    initial_scenario,
    max_users,
    parse_seed,
    scenario_names,
    scenario_view,
)
from sociosim.viz.panels import (
    figure_png,
    model_lock,
    policy_figure,
    policy_state,
    results_of,
    society_figure,
    society_state,
)
from sociosim.viz.replay_page import ReplayView
from sociosim.viz.schema import CONTROLS
from sociosim.viz.sessions import report_after_close, track
from sociosim.viz.vega import VegaChart
from sociosim.viz.widgets import ParamControl, value_text

LIVE, REPLAY = "Live run", "Replay stored runs"
PLAY_INTERVAL_S = 0.02  # pause between a frame and the next step while playing
FRAME_TIMEOUT_S = 10.0  # the longest the play loop waits for a frame to be drawn

# Measures listed first in the glossary, in the order the panels show them.
KEY_MEASURES = (
    "proxy", "true_utility", "gap", "kl", "utility_min", "utility_spread", "value_diversity", "culture_separation",
    "trust_mean", "reliability", "overtrust", "trust_from_anthro", "sycophancy", "anthro", "polish", "quality", "harm",
    "gap_shift", "n_interventions",
)  # fmt: skip

# The page scrolls as a whole: no card of its own scrolls, so the mouse wheel moves the page.
PAGE_CSS = """
.sociosim-figure { max-width: 100%; height: auto; }
.sociosim-chart { width: 100%; min-width: 280px; }
.sociosim-measures td { padding: 1px 6px; vertical-align: top; }
"""


def _on_kernel_start() -> Any:
    """Each page session: when it ends (closed, or dropped after the idle time), log what is left."""
    return report_after_close


solara.lab.on_kernel_start(_on_kernel_start)


def scenario_blurb(name: str) -> tuple[str, str]:
    """Title and question of a library scenario, for the page header (the defaults get a fixed text)."""
    if name == DEFAULTS_NAME:
        return (
            "Built-in defaults",
            "2,000 users in 4 cultures; 70 % of the annotators come from culture 0. "
            "Does optimising against their feedback make the model better for everyone?",
        )
    try:
        info = load_scenario(library()[name]).scenario
    except (KeyError, ScenarioError) as exc:
        return name, f"(could not read this scenario: {exc})"
    return info.title or name, info.question


def settings_text(model: AlignmentModel, names: tuple[str, ...] | list[str]) -> str:
    """The values of `names` in the model on screen (the controls only apply on Reset)."""
    p = model.params
    parts = [f"seed {getattr(model, 'seed_value', '?')}"]
    parts += [f"{n} {value_text(getattr(p, n))}" for n in names]
    return " · ".join(parts)


def measures_table_html(measures: dict[str, float]) -> str:
    """The glossary as an HTML table: measure, value now, meaning from the registry (key measures first)."""
    names = [n for n in KEY_MEASURES if n in measures] + sorted(n for n in measures if n not in KEY_MEASURES)
    rows = []
    for name in names:
        doc = html.escape(measure_doc(name))
        rows.append(
            f'<tr title="{doc}"><td><code>{html.escape(name)}</code></td>'
            f'<td class="sociosim-value" data-measure="{html.escape(name)}" style="text-align:right">{measures[name]:.3f}</td>'
            f'<td style="font-size:12px">{doc}</td></tr>'
        )
    return (
        '<table class="sociosim-measures" style="border-collapse:collapse;width:100%">'
        + "".join(rows)
        + "</table>"
    )


GUIDE = (
    "Press ▶ to run (or Step), Reset to start again with the controls' values. "
    "A simulated chatbot is trained on feedback from annotators; a society of users talks to it. "
    "Watch whether the reward model's score (proxy) and the real value (true utility) part ways, "
    "who benefits, and whether users trust it more than it deserves. Hover a control's name for its meaning."
)


# --- the main column ------------------------------------------------------------------------


@solara.component
def Header(model: VizModel, view: ScenarioView, step: int) -> None:
    """The scenario's question, the step, the headline numbers, problems with the settings."""
    title, question = scenario_blurb(view.name)
    m = model.measures
    nan = float("nan")
    with solara.Column(gap="4px"):
        solara.HTML(
            tag="div", unsafe_innerHTML=f"<h2>{html.escape(title)}</h2><p>{html.escape(question)}</p>"
        )
        solara.Text(
            f"Step {model.steps}",
            classes=["sociosim-step"],
            style={"font-size": "22px", "font-weight": "bold"},
        )
        solara.Text(
            f"gap {m.get('gap', nan):.3f} · true utility {m.get('true_utility', nan):.3f} · "
            f"overtrust {m.get('overtrust', nan):.3f} · pressure in force {m.get('beta_effective', nan):.2f} · "
            f"regulator interventions {len(model.events)}",
            classes=["sociosim-summary"],
        )
        if model.viz_problem:
            solara.Warning(model.viz_problem, classes=["sociosim-problem"])
        solara.Text(
            "This run: " + settings_text(model, view.primary),
            classes=["sociosim-settings"],
            style={"font-size": "12px", "color": "#444"},
        )
        solara.Text(GUIDE, style={"font-size": "13px", "color": "#333"})


def _png_or_error(build: Any, model: AlignmentModel) -> tuple[bytes | None, str | None]:
    """A panel as PNG bytes, or why it could not be drawn (a drawing bug must not take the page down)."""
    try:
        with model_lock(model):
            return figure_png(build(model)), None
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}"


@solara.component
def ImagePanel(model: AlignmentModel, which: str, version: Any, caption: str) -> None:
    """A matplotlib panel, redrawn only when `version` (a digest of its data) changes."""
    build = society_figure if which == "network" else policy_figure
    png, problem = solara.use_memo(lambda: _png_or_error(build, model), [id(model), version])
    with solara.Column(
        gap="2px", classes=[f"sociosim-panel-{which}"], style={"flex": "1 1 420px", "min-width": "320px"}
    ):
        if png is None:
            solara.Error(f"This panel could not be drawn: {problem}")
        else:
            solara.Image(png, width="100%", classes=["sociosim-figure", f"sociosim-image-{which}"])
        solara.Text(caption, style={"font-size": "12px", "color": "#555"})


@solara.component
def SeriesPanel(spec: dict[str, Any], datasets: dict[str, Any], caption: str, name: str) -> None:
    """One time series, drawn by the browser; after the first frame only `datasets` travel."""
    with solara.Column(
        gap="2px", classes=["sociosim-chart", f"sociosim-chart-{name}"], style={"flex": "1 1 420px"}
    ):
        VegaChart.element(spec=spec, datasets=datasets)
        solara.Text(caption, style={"font-size": "12px", "color": "#555"})


@solara.component
def Dashboard(
    model: VizModel,
    view: ScenarioView,
    step: solara.Reactive[int] | int,
    drawn: threading.Event | None = None,
) -> None:
    """Everything that follows the run: header, images, time series, the glossary.

    Given the step as a reactive, only this component re-renders on each step (not the
    sidebar's controls); it shows `model.steps`. `drawn` is set once a step's frame is
    rendered, so the play loop never steps faster than the page can draw.
    """
    if isinstance(step, solara.Reactive):
        step.value  # noqa: B018 - reading it subscribes this component (and only it) to the step

    def frame_drawn() -> None:
        if drawn is not None:
            drawn.set()

    solara.use_effect(frame_drawn, [id(model), model.steps])
    with model_lock(model):
        frame = results_of(model)
        events = list(model.events)
        trust, active = society_state(model)
        network_version = hash((trust.tobytes(), active.tobytes()))
        policy_version = hash(policy_state(model))
        measures = dict(model.measures)
    Header(model, view, model.steps)
    with solara.Row(style={"flex-wrap": "wrap"}, gap="12px"):
        ImagePanel(
            model, "network", network_version,
            "Each dot is a user, grouped by culture; lines are social ties. Colour and size show trust; "
            "red crosses stopped using the model. Redrawn when a drawn user's trust or use changes.",
        )  # fmt: skip
        ImagePanel(
            model, "policy", policy_version,
            "Every possible answer (grey) placed by real substance and style; bigger dots = given more often. "
            "The star is the average answer and its trail. Redrawn when the policy changes (at retraining).",
        )  # fmt: skip
    with solara.Row(style={"flex-wrap": "wrap"}, gap="12px"):
        for panel, spec in PANELS.items():
            if not panel_lines(panel, frame.columns):
                continue  # e.g. the labs panel of a single-lab run
            template, datasets = series_parts(frame, panel, events=events, dominant=model.cultures.dominant)
            SeriesPanel(template, datasets, spec.caption, panel)
    solara.HTML(tag="h3", unsafe_innerHTML="What the numbers mean (hover a row)")
    solara.HTML(tag="div", unsafe_innerHTML=measures_table_html(measures))


# --- the sidebar ----------------------------------------------------------------------------


@solara.component
def RunButtons(playing: solara.Reactive[bool], on_step: Any, on_reset: Any) -> None:
    """Play/pause, one step, reset (with the controls' values)."""
    with solara.Row(gap="6px"):
        solara.Button(
            "⏸ Pause" if playing.value else "▶ Play",
            on_click=lambda: playing.set(not playing.value),
            color="primary",
            classes=["sociosim-play"],
        )
        solara.Button("Step", on_click=on_step, disabled=playing.value)
        solara.Button("Reset", on_click=on_reset)


@solara.component
def MoreParameters(
    view: ScenarioView, values: dict[str, Any], model: VizModel, on_value: Any, cap: int
) -> None:
    """Every parameter the scenario does not put first, by schema group, behind a toggle and a filter."""
    shown = solara.use_reactive(False)
    needle = solara.use_reactive("")
    others = view.others()
    solara.Button(
        f"{'Hide' if shown.value else 'More'} parameters ({len(others)})",
        on_click=lambda: shown.set(not shown.value),
        text=True,
        classes=["sociosim-more"],
    )
    if not shown.value:
        return
    solara.InputText("filter by name or meaning", value=needle, continuous_update=True)
    wanted = needle.value.strip().lower()
    groups: dict[str, list[str]] = {}
    for name in others:
        control = CONTROLS[name]
        if wanted and wanted not in name.lower() and wanted not in control.doc.lower():
            continue
        groups.setdefault(control.group, []).append(name)
    for group, names in groups.items():
        solara.Text(
            group,
            style={
                "font-weight": "bold",
                "margin-top": "8px",
                "text-transform": "uppercase",
                "font-size": "11px",
            },
        )
        for name in names:
            ParamControl(name, values[name], on_value, applied=getattr(model.params, name), max_users=cap)


@solara.component
def LiveRun(sidebar: bool = True) -> None:
    """The live run: controls in the sidebar, the dashboard in the main column, a play loop.

    `sidebar=False` puts the controls in the main column (tests render it so: Solara's
    test renderer does not draw the app's sidebar).
    """
    start, note = solara.use_memo(initial_scenario, [])
    cap = solara.use_memo(max_users, [])
    name = solara.use_reactive(start)
    edits = solara.use_reactive({})  # parameter -> value the next Reset uses
    seed = solara.use_reactive("0")
    generation = solara.use_reactive(0)
    playing = solara.use_reactive(False)
    step = solara.use_memo(lambda: solara.reactive(0), [])  # read by the dashboard only
    drawn = solara.use_memo(threading.Event, [])
    view = solara.use_memo(lambda: scenario_view(name.value), [name.value])

    def build() -> VizModel:
        return track(VizModel(scenario_name=name.value, seed=seed.value, **edits.value))

    model = solara.use_memo(build, [name.value, generation.value])

    running = playing.value  # the loop restarts when this changes (a dependency below)

    def play(cancel: threading.Event) -> None:
        try:
            while running and not cancel.is_set():
                with model_lock(model):
                    model.step()
                drawn.clear()
                step.set(model.steps)
                drawn.wait(FRAME_TIMEOUT_S)  # the frame of this step is drawn
                cancel.wait(PLAY_INTERVAL_S)
        except Exception as exc:  # shown on the page's console, never a silent stop
            print(f"sociosim viz: the run stopped: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            raise

    solara.use_thread(play, dependencies=[running, id(model)], intrusive_cancel=False)

    def choose(new: str) -> None:
        playing.set(False)
        edits.set({})
        name.set(new)
        step.set(0)

    def on_step() -> None:
        with model_lock(model):
            model.step()
        step.set(model.steps)

    def on_reset() -> None:
        playing.set(False)
        generation.set(generation.value + 1)
        step.set(0)

    def on_value(param: str, value: Any) -> None:
        edits.set({**edits.value, param: value})

    values = view.params.model_dump() | edits.value
    seed_problem = None
    try:
        parse_seed(seed.value)
    except ScenarioError as exc:
        seed_problem = str(exc)
    with (
        solara.Sidebar() if sidebar else solara.Div(),
        solara.Column(gap="6px", classes=["sociosim-controls"]),
    ):
        solara.Select("Scenario", value=name.value, values=scenario_names(), on_value=choose)
        if note and name.value == start:
            solara.Warning(note)
        RunButtons(playing, on_step, on_reset)
        solara.InputText("Seed", value=seed, continuous_update=False)
        if seed_problem:
            solara.Text(seed_problem, style={"color": "#b00020", "font-size": "12px"})
        solara.Text(
            "What this scenario studies and sets (applied on Reset):",
            style={"font-size": "12px", "color": "#444", "margin-top": "6px"},
        )
        for param in view.primary:
            ParamControl(
                param, values[param], on_value, applied=getattr(model.params, param),
                design=view.design.get(param), max_users=cap,
            )  # fmt: skip
        MoreParameters(view, values, model, on_value, cap)
    Dashboard(model, view, step, drawn)


@solara.component
def Page() -> None:
    """The page: the live run, and with `--store` a tab that replays stored runs."""
    solara.Style(PAGE_CSS)
    solara.Title("sociosim: why feedback-based alignment fails")
    store = os.environ.get(STORE_ENV, "").strip()
    mode = solara.use_reactive(LIVE)
    if store:
        solara.ToggleButtonsSingle(value=mode, values=[LIVE, REPLAY], classes=["sociosim-mode"])
    if not store or mode.value == LIVE:
        LiveRun()
    else:
        ReplayView(store)
