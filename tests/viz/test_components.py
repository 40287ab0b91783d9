"""The page's components rendered with `solara.render` (no browser): header, controls, panels, charts."""

from __future__ import annotations

import time

import ipyvuetify as v
import ipywidgets as widgets
import numpy as np
import solara

from sociosim.viz.charts import PANELS, chart_values, series_spec, y_extent
from sociosim.viz.controls import VizModel, scenario_view
from sociosim.viz.layout import layout_for
from sociosim.viz.page import Dashboard, Header, ImagePanel, LiveRun, Page, measures_table_html
from sociosim.viz.panels import policy_figure, policy_state, results_of, society_figure
from sociosim.viz.vega import VegaChart
from sociosim.viz.widgets import ParamControl

SMALL = {"n_users": 300}


def text_of(rc, cls: str) -> str:
    return rc.find(v.Html, class_=cls).widget.children[0]


def test_header_shows_the_step_and_the_studied_settings():
    model = VizModel(scenario_name="sycophancy", **SMALL)
    view = scenario_view("sycophancy")
    model.step()
    model.step()
    _, rc = solara.render(Header(model, view, model.steps), handle_error=False)
    assert text_of(rc, "sociosim-step") == "Step 2"
    settings = text_of(rc, "sociosim-settings")
    assert "flattery_bias 1.5" in settings and "beta 1" in settings


def test_header_shows_the_problem_with_the_settings():
    model = VizModel(n_users=5)
    _, rc = solara.render(Header(model, scenario_view("defaults"), 0), handle_error=False)
    alert = rc.find(v.Alert, type="warning")
    alert.assert_single()
    assert "mean_degree" in str(alert.widget.children)


def test_a_control_shows_its_value_and_refuses_out_of_range_input():
    sent = []
    _, rc = solara.render(
        ParamControl(
            "beta", 1.0, lambda n, x: sent.append((n, x)), applied=1.0, design=[0.0, 4.0], max_users=20_000
        ),
        handle_error=False,
    )
    assert text_of(rc, "sociosim-control-label") == "beta = 1"
    box = rc.find(v.TextField, label="value")
    box.widget.v_model = "-2"
    box.widget.fire_event("keyup.enter")
    time.sleep(0.1)
    assert sent == []
    assert "beta: must be [0, 1,000]" in text_of(rc, "sociosim-control-error")
    slider = rc.find(v.Slider).widget
    assert (slider.min, slider.max, slider.step) == (0.0, 20.0, 0.1)
    slider.v_model = 2.5
    assert sent == [("beta", 2.5)]


def test_the_live_run_offers_the_scenarios_factor_and_reset_applies_it(monkeypatch):
    monkeypatch.setenv("SOCIOSIM_VIZ_SCENARIO", "sycophancy")
    _, rc = solara.render(LiveRun(sidebar=False), handle_error=False)
    labels = [w.children[0] for w in rc.find(v.Html, class_="sociosim-control-label").widgets]
    assert "flattery_bias = 1.5" in labels and any(label.startswith("n_users = ") for label in labels)
    control = rc.find(v.Html, class_="sociosim-param-flattery_bias")
    control.find(v.Slider).widget.v_model = 0.0
    labels = [w.children[0] for w in rc.find(v.Html, class_="sociosim-control-label").widgets]
    assert "flattery_bias = 0  (press Reset to apply)" in labels
    assert "flattery_bias 1.5" in text_of(rc, "sociosim-settings")
    rc.find(v.Btn, children=["Reset"]).widget.click()
    assert "flattery_bias 0 " in text_of(rc, "sociosim-settings")


def test_play_steps_the_model_until_paused():
    _, rc = solara.render(LiveRun(sidebar=False), handle_error=False)
    rc.find(v.Btn, children=["▶ Play"]).widget.click()
    deadline = time.monotonic() + 60
    while text_of(rc, "sociosim-step") in ("Step 0", "Step 1") and time.monotonic() < deadline:
        time.sleep(0.2)
    rc.find(v.Btn, children=["⏸ Pause"]).widget.click()
    time.sleep(0.5)
    paused_at = text_of(rc, "sociosim-step")
    assert int(paused_at.split()[1]) >= 2
    time.sleep(1.0)
    assert text_of(rc, "sociosim-step") == paused_at


def test_the_image_panels_are_redrawn_only_when_their_data_change():
    model = VizModel(**SMALL)
    version = solara.reactive(policy_state(model))

    @solara.component
    def Probe():
        ImagePanel(model, "policy", hash(version.value), "caption")

    _, rc = solara.render(Probe(), handle_error=False)
    first = rc.find(widgets.Image).widget.value
    model.step()  # the policy changes at retraining
    assert policy_state(model) != version.value
    assert rc.find(widgets.Image).widget.value == first  # not yet told
    version.value = policy_state(model)
    assert rc.find(widgets.Image).widget.value != first


def test_the_society_panel_shows_trust_and_churn():
    model = VizModel(n_users=300, churn_threshold=0.45, trust_init=0.5)
    society_figure(model)
    for _ in range(15):
        model.step()
    figure = society_figure(model)
    points = figure.axes[0].collections[1]
    drawn = layout_for(model).users
    trust = np.round(np.clip(model.users.trust[drawn, 0], 0.0, 1.0), 2)  # one lab
    assert np.allclose(points.get_array(), trust[model.users.active[drawn]])  # colour = trust
    assert not model.users.active.all(), "some users should have stopped at this threshold"
    crosses = [c for c in figure.axes[0].collections if c.get_label() == "stopped using the model"]
    assert crosses and len(crosses[0].get_offsets()) == int((~model.users.active).sum())


def test_time_series_carry_the_measures_and_interventions():
    model = VizModel(n_regulators=1, audit_gap_threshold=0.0, **SMALL)
    for _ in range(12):
        model.step()
    assert model.events
    frame = results_of(model)
    spec = series_spec(frame, "goodhart", events=model.events)
    rows = chart_values(spec)
    gaps = [r["value"] for r in rows if r["measure"].startswith("gap")]
    assert gaps == list(frame["gap"])
    assert [e["step"] for e in spec["datasets"]["events"]] == [e["step"] for e in model.events]
    assert "$schema" not in spec and spec["usermeta"]["embedOptions"]["actions"] is False


def test_two_runs_share_their_axes():
    a, b = VizModel(beta=0.0, **SMALL), VizModel(beta=6.0, **SMALL)
    for _ in range(5):
        a.step()
        b.step()
    frames = [results_of(a), results_of(b)]
    domain = y_extent(frames, "goodhart")
    specs = [series_spec(f, "goodhart", x_max=5, y_domain=domain) for f in frames]
    scales = [s["layer"][0]["encoding"]["y"]["scale"]["domain"] for s in specs]
    assert scales[0] == scales[1] == list(domain)
    assert all(domain[0] <= r["value"] <= domain[1] for s in specs for r in chart_values(s))


def test_every_panel_of_the_dashboard_renders():
    model = VizModel(n_regulators=1, audit_gap_threshold=0.0, **SMALL)
    for _ in range(10):
        model.step()
    force_step = solara.reactive(0)
    _, rc = solara.render(Dashboard(model, scenario_view("defaults"), force_step), handle_error=False)
    assert not rc.find(v.Alert, type="error").widgets
    charts = rc.find(VegaChart).widgets
    assert len(charts) == len(PANELS) - 2  # every panel but the two labs panels (one lab)
    changed: list[str] = []
    charts[0].observe(lambda change: changed.append(change["name"]), names=["spec", "datasets"])
    model.step()
    force_step.value += 1
    assert rc.find(VegaChart).widgets[0] is charts[0]
    assert changed == ["datasets"]  # a new step sends the data, not the chart's shape again
    assert len(rc.find(widgets.Image).widgets) == 2


def test_glossary_lists_each_measure_with_its_value():
    model = VizModel(**SMALL)
    table = measures_table_html(model.measures)
    assert f'data-measure="gap" style="text-align:right">{model.measures["gap"]:.3f}<' in table
    assert table.count("<tr") == len(model.measures)


def test_the_whole_page_renders_without_mesa_leftovers(monkeypatch):
    monkeypatch.delenv("SOCIOSIM_VIZ_SCENARIO", raising=False)
    monkeypatch.delenv("SOCIOSIM_VIZ_STORE", raising=False)
    _, rc = solara.render(Page(), handle_error=False)
    assert text_of(rc, "sociosim-step") == "Step 0"
    assert not rc.find(v.Checkbox, label="Use Threads").widgets
    assert not rc.find(v.Tab).widgets


def test_policy_points_grow_where_the_policy_concentrates():
    model = VizModel(beta=6.0, **SMALL)
    model.step()
    figure = policy_figure(model)
    sizes = figure.axes[0].collections[1].get_sizes()
    expected = np.sort(np.clip(6.0 * model.policy * len(model.policy), 0.0, 700.0))
    assert np.allclose(sizes, expected)
    assert sizes.max() > 5 * 6.0


def test_replay_shows_stored_users_at_the_last_snapshot_before_the_step(tmp_path):
    from sociosim.batch.execute import run_batch
    from sociosim.viz.replay import open_runs
    from sociosim.viz.replay_page import UserSnapshots

    store = tmp_path / "store"
    run_batch(
        "baseline",
        steps=6,
        replications=1,
        store=store,
        overrides={"n_users": 1500},
        agent_snapshot_every=3,
        progress=False,
    )
    runs = open_runs(store)
    key = runs.run_key(runs.scenarios()[0], 0, 0)
    assert runs.snapshot_steps(key) == [3, 6]
    users = runs.snapshot(key, 3)
    assert len(users) == 750 and users["step"].eq(3).all()  # every second of 1,500 users
    _, rc = solara.render(UserSnapshots(runs, {"A": key}, 5), handle_error=False)
    chart = rc.find(VegaChart).widget.spec
    assert chart["title"].startswith("Users at step 3")
    assert len(chart["data"]["values"]) == 750


def test_long_runs_send_a_bounded_number_of_points_per_line():
    import pandas as pd

    from sociosim.viz.charts import MAX_POINTS

    frame = pd.DataFrame({"step": range(5000), "proxy": range(5000), "true_utility": 0.0, "gap": 1.0})
    rows = chart_values(series_spec(frame, "goodhart"))
    proxy = [r for r in rows if r["measure"].startswith("proxy")]
    assert len(proxy) <= MAX_POINTS and proxy[0]["step"] == 0 and proxy[-1]["step"] == 4999


def test_with_several_labs_the_dashboard_adds_a_market_share_panel():
    model = VizModel(n_labs=2, **SMALL)
    model.step()
    _, rc = solara.render(Dashboard(model, scenario_view("defaults"), solara.reactive(0)), handle_error=False)
    charts = rc.find(VegaChart).widgets
    assert len(charts) == len(PANELS)
    labels = {r["measure"] for chart in charts for r in chart.datasets.get("series", [])}
    assert {"lab 0", "lab 1"} <= labels
