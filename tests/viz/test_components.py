"""The page's components rendered with `solara.render`, as Mesa tests its own components."""

from __future__ import annotations

import ipyvuetify as v
import ipywidgets as widgets
import numpy as np
import solara
from mesa.visualization.utils import force_update

from sociosim.viz.controls import VizModel
from sociosim.viz.page import COMPONENTS, AboutRun, GoodhartPlot, MeasuresPanel, Page, measures_table_html
from sociosim.viz.panels import policy_figure, timeseries_figure

SMALL = {"n_users": 300}


def text_of(rc, cls: str) -> str:
    return rc.find(v.Html, class_=cls).widget.children[0]


def test_header_follows_the_model_step_by_step():
    model = VizModel(**SMALL)
    _, rc = solara.render(AboutRun(model), handle_error=False)
    assert text_of(rc, "sociosim-step") == "Step 0"
    model.step()
    model.step()
    force_update()
    assert text_of(rc, "sociosim-step") == "Step 2"
    assert "β 1" in text_of(rc, "sociosim-settings")


def test_header_shows_the_problem_with_the_settings():
    model = VizModel(n_users=5)
    _, rc = solara.render(AboutRun(model), handle_error=False)
    alert = rc.find(v.Alert, type="warning")
    alert.assert_single()
    assert "mean_degree" in str(alert.widget.children)


def test_a_plot_redraws_when_the_model_steps():
    model = VizModel(**SMALL)
    _, rc = solara.render(GoodhartPlot(model), handle_error=False)
    first = rc.find(widgets.Image).widget.value
    model.step()
    force_update()
    second = rc.find(widgets.Image).widget.value
    assert first[:4] == b"\x89PNG" and second != first


def test_every_component_renders_without_error():
    model = VizModel(regulator=True, audit_gap_threshold=0.0, **SMALL)
    for _ in range(10):
        model.step()
    assert model.events, "a zero threshold should make the regulator intervene"
    for component in COMPONENTS:
        _, rc = solara.render(component(model), handle_error=False)
        assert not rc.find(v.Alert, type="error").widgets, component


def test_glossary_lists_each_measure_with_its_value():
    model = VizModel(**SMALL)
    table = measures_table_html(model.measures)
    assert f'data-measure="gap" style="text-align:right;padding:0 8px">{model.measures["gap"]:.3f}<' in table
    assert table.count("<tr") == len(model.measures)
    _, rc = solara.render(MeasuresPanel(model), handle_error=False)
    html_widget = rc.find(v.Sheet).widget.children[-1]
    assert html_widget.unsafe_innerHTML == table


def test_the_whole_page_renders(monkeypatch):
    monkeypatch.delenv("SOCIOSIM_VIZ_SCENARIO", raising=False)
    _, rc = solara.render(Page(), handle_error=False)
    assert text_of(rc, "sociosim-step") == "Step 0"


def test_interventions_are_marked_on_the_time_axis():
    model = VizModel(regulator=True, audit_gap_threshold=0.0, **SMALL)
    for _ in range(20):
        model.step()
    steps = sorted(e["step"] for e in model.events if e["complied"])
    assert steps
    figure = timeseries_figure(model, "goodhart")
    ax = figure.axes[0]
    vertical = sorted(
        int(line.get_xdata()[0])
        for line in ax.lines
        if line.get_linestyle() == "--" and line.get_xdata()[0] == line.get_xdata()[1]
    )
    assert vertical == steps


def test_policy_points_grow_where_the_policy_concentrates():
    model = VizModel(beta=6.0, **SMALL)
    model.step()
    figure = policy_figure(model)
    policy_points = figure.axes[0].collections[1]
    sizes = policy_points.get_sizes()
    expected = np.sort(np.clip(6.0 * model.policy * len(model.policy), 0.0, 700.0))
    assert np.allclose(sizes, expected)
    assert sizes.max() > 5 * 6.0  # some answer is given at least five times as often as by the base model
