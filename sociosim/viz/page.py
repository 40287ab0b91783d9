"""The browser view (issue 6): Mesa's SolaraViz over `VizModel`, served by `solara run`.

`sociosim viz` runs this file; `viz/app.py` re-exports `Page` so `solara run viz/app.py`
works from a checkout. The scenario picker sits above Mesa's controls; picking a scenario
rebuilds the model and reloads every slider with that scenario's values.
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable

import solara
from matplotlib.figure import Figure
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from sociosim.config.scenario import library, load_scenario
from sociosim.errors import ScenarioError
from sociosim.model.measures import measure_doc
from sociosim.model.model import AlignmentModel
from sociosim.viz.controls import (
    CONTROL_DOCS,
    DEFAULTS_NAME,
    VizModel,
    default_controls,
    initial_scenario,
    model_params_spec,
    scenario_names,
)
from sociosim.viz.panels import PNG_OPTIONS, policy_figure, society_figure, timeseries_figure

# Measures listed first in the glossary, in the order the panels show them.
KEY_MEASURES = (
    "proxy", "true_utility", "gap", "kl", "utility_min", "utility_spread", "value_diversity", "culture_separation",
    "trust_mean", "reliability", "overtrust", "trust_from_anthro", "sycophancy", "anthro", "polish", "quality", "harm",
    "gap_shift", "n_interventions",
)  # fmt: skip


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


def figure_png(
    build: Callable[[AlignmentModel], Figure], model: AlignmentModel
) -> tuple[bytes | None, str | None]:
    """A panel as PNG bytes, or the reason it could not be drawn (a drawing bug must not take the page down)."""
    try:
        buffer = io.BytesIO()
        build(model).savefig(buffer, **PNG_OPTIONS)
        return buffer.getvalue(), None
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}"


def _figure_panel(build: Callable[[AlignmentModel], Figure], model: AlignmentModel, caption: str) -> None:
    """A figure redrawn once per step and scaled to its cell, with a one-line caption."""
    counter = update_counter.get()
    png, problem = solara.use_memo(lambda: figure_png(build, model), [id(model), model.steps, counter])
    with solara.Column(gap="2px", style={"padding": "4px"}):
        if png is None:
            solara.Error(f"This panel could not be drawn: {problem}")
        else:
            solara.Image(png, width="100%", classes=["sociosim-figure"])
        solara.Text(caption, style={"font-size": "12px", "color": "#555"})


def settings_text(model: AlignmentModel) -> str:
    """The lever settings of the model on screen (the sliders only apply on Reset)."""
    p = model.params
    shares = p.annotator_share_array()
    regulator = (
        f"on (gap > {p.audit_gap_threshold:g} or overtrust > {p.audit_overtrust_threshold:g}, every {p.audit_every} steps)"
        if p.n_regulators
        else "off"
    )
    return (
        f"{p.n_users:,} users · seed {getattr(model, 'seed_value', '?')} · β {p.beta:g} · "
        f"annotators from culture 0: {shares[0]:.0%} · aggregation {p.aggregation} · "
        f"penalties harm {p.harm_penalty:g} / agree {p.agree_penalty:g} / persona {p.anthro_penalty:g} · "
        f"disclosure {'on' if p.disclosure else 'off'} · regulator {regulator} · "
        f"persuasion {p.persuasion:g} · homophily {p.homophily:g}"
    )


GUIDE_HTML = (
    "<p><b>How to use this page.</b> Press <b>▶</b> to run (or <b>Step</b>), <b>Reset</b> to start again. "
    "Sliders on the left take effect when you press <b>Reset</b>. "
    "A simulated chatbot is trained on feedback from annotators; a society of users talks to it. "
    "Watch whether the reward model's score (proxy) and the real value (true utility) part ways, "
    "who benefits, and whether users trust it more than it deserves.</p><ul>"
    + "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>" for k, v in CONTROL_DOCS.items())
    + "</ul>"
)


@solara.component
def AboutRun(model: AlignmentModel) -> None:
    """Header card: the scenario's question, the step, problems with the settings, how to use the page."""
    update_counter.get()
    name = getattr(model, "scenario_name", DEFAULTS_NAME)
    title, question = scenario_blurb(name)
    m = model.measures
    with solara.Column(gap="6px", style={"padding": "8px", "overflow-y": "auto", "height": "100%"}):
        solara.HTML(
            tag="div", unsafe_innerHTML=f"<h3>{html.escape(title)}</h3><p>{html.escape(question)}</p>"
        )
        solara.Text(
            f"Step {model.steps}",
            classes=["sociosim-step"],
            style={"font-size": "20px", "font-weight": "bold"},
        )
        solara.Text(
            f"gap {m.get('gap', float('nan')):.3f} · true utility {m.get('true_utility', float('nan')):.3f} · "
            f"overtrust {m.get('overtrust', float('nan')):.3f} · pressure in force {m.get('beta_effective', float('nan')):.2f} · "
            f"regulator interventions {len(model.events)}",
            classes=["sociosim-summary"],
        )
        problem = getattr(model, "viz_problem", None)
        if problem:
            solara.Warning(problem, classes=["sociosim-problem"])
        solara.Text(
            "This run: " + settings_text(model),
            classes=["sociosim-settings"],
            style={"font-size": "12px", "color": "#444"},
        )
        solara.HTML(tag="div", unsafe_innerHTML=GUIDE_HTML, style={"font-size": "13px"})


@solara.component
def SocietyView(model: AlignmentModel) -> None:
    """The users' network: culture as colour, trust as size and opacity; layout fixed per model."""
    _figure_panel(
        society_figure,
        model,
        "Each dot is a user, grouped by culture; lines are social ties. Dots shrink and fade as trust falls; "
        "grey crosses stopped using the model.",
    )


@solara.component
def PolicyView(model: AlignmentModel) -> None:
    """The policy's distribution over the catalogue on quality × polish."""
    _figure_panel(
        policy_figure,
        model,
        "Every possible answer (grey) placed by real substance and style. Bigger dots = the model gives that answer more often. "
        "The star is the average answer; its trail shows where retraining pushes the model.",
    )


CAPTIONS = {
    "goodhart": "When proxy rises but true utility does not, the model is learning to please the reward, not to help (Goodhart).",
    "cultures": "Gain in true utility for each culture over the untrained model: unequal lines mean value imposition.",
    "society": "Falling diversity and separation mean the model is homogenising the society's values.",
    "trust": "Users' trust against how often the model really succeeds; overtrust above 0 is misplaced trust.",
    "flattery": "How often the model agrees with users regardless of truth, and how human-like it acts.",
}


@solara.component
def TimeSeries(model: AlignmentModel, panel: str) -> None:
    """One live time-series panel, with regulator interventions marked on the step axis."""
    _figure_panel(lambda m: timeseries_figure(m, panel), model, CAPTIONS[panel])


@solara.component
def GoodhartPlot(model: AlignmentModel) -> None:
    """Live plot: proxy, true utility and their gap."""
    TimeSeries(model, "goodhart")


@solara.component
def CulturesPlot(model: AlignmentModel) -> None:
    """Live plot: true utility per culture."""
    TimeSeries(model, "cultures")


@solara.component
def SocietyPlot(model: AlignmentModel) -> None:
    """Live plot: value diversity and culture separation."""
    TimeSeries(model, "society")


@solara.component
def TrustPlot(model: AlignmentModel) -> None:
    """Live plot: trust, reliability and overtrust."""
    TimeSeries(model, "trust")


@solara.component
def FlatteryPlot(model: AlignmentModel) -> None:
    """Live plot: sycophancy and anthropomorphism."""
    TimeSeries(model, "flattery")


def measures_table_html(measures: dict[str, float]) -> str:
    """The glossary as an HTML table: measure, value now, meaning (key measures first)."""
    names = [n for n in KEY_MEASURES if n in measures] + sorted(n for n in measures if n not in KEY_MEASURES)
    rows = []
    for name in names:
        doc = html.escape(measure_doc(name))
        rows.append(
            f'<tr title="{doc}"><td><code>{html.escape(name)}</code></td>'
            f'<td class="sociosim-value" data-measure="{html.escape(name)}" style="text-align:right;padding:0 8px">{measures[name]:.3f}</td>'
            f'<td style="font-size:12px">{doc}</td></tr>'
        )
    return (
        '<table class="sociosim-measures" style="border-collapse:collapse;width:100%">'
        + "".join(rows)
        + "</table>"
    )


@solara.component
def MeasuresPanel(model: AlignmentModel) -> None:
    """Every measure's value now and its meaning in one sentence."""
    update_counter.get()
    with solara.Column(gap="4px", style={"padding": "8px", "overflow-y": "auto", "height": "100%"}):
        solara.HTML(tag="h3", unsafe_innerHTML="What the numbers mean (hover a row)")
        solara.HTML(tag="div", unsafe_innerHTML=measures_table_html(model.measures))


COMPONENTS = [
    AboutRun,
    SocietyView,
    PolicyView,
    GoodhartPlot,
    CulturesPlot,
    SocietyPlot,
    TrustPlot,
    FlatteryPlot,
    MeasuresPanel,
]


@solara.component
def ScenarioPicker(name: solara.Reactive[str], note: str | None) -> None:
    """Library scenarios by name only; choosing one rebuilds the model with its parameters."""
    with solara.Card("Scenario"):
        solara.Select("Scenario", value=name.value, values=scenario_names(), on_value=name.set)
        if note:
            solara.Warning(note)


@solara.component
def Page() -> None:
    """The whole page: scenario picker, then Mesa's SolaraViz keyed by the scenario."""
    start, note = solara.use_memo(initial_scenario, [])
    name = solara.use_reactive(start)
    model = solara.use_memo(lambda: VizModel(**default_controls(name.value)), [name.value])
    spec = solara.use_memo(lambda: model_params_spec(name.value), [name.value])
    with solara.Sidebar():
        ScenarioPicker(name, note if name.value == start else None)
    SolaraViz(
        model,
        components=COMPONENTS,
        model_params=spec,
        name="sociosim: why feedback-based alignment fails",
        play_interval=150,
    ).key(f"viz-{name.value}")
