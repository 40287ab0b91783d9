"""The browser view under hostile input: any mix of settings (in range or not), no file paths."""

from __future__ import annotations

import inspect

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sociosim.viz import page as viz_app
from sociosim.viz import serve as viz_serve
from sociosim.viz.controls import DEFAULTS_NAME, VizModel, scenario_names, scenario_params

hostile = st.fixed_dictionaries(
    {
        "n_users": st.integers(-10, 400) | st.just(5) | st.just(10**8) | st.just("many"),
        "beta": st.floats(-5.0, 2000.0) | st.sampled_from([float("nan"), float("inf"), True]),
        "annotator_shares": st.none()
        | st.lists(st.floats(-0.5, 1.5), max_size=5)
        | st.just("0.25,0.25,0.25,0.25"),
        "aggregation": st.sampled_from(["pooled", "balanced", "mean", ""]),
        "harm_penalty": st.floats(-1.0, 200.0),
        "disclosure": st.booleans() | st.just("yes"),
        "n_regulators": st.integers(-1, 3),
        "audit_overtrust_threshold": st.floats(-1.0, 2.0),
        "persuasion": st.floats(-0.5, 1.5),
        "homophily": st.floats(-0.5, 1.5),
    }
)


@settings(max_examples=30, deadline=None)
@given(controls=hostile, seed=st.sampled_from(["0", "7", "-3", "x", "1e3", ""]))
def test_any_settings_give_a_model_or_a_message(controls, seed):
    model = VizModel(seed=seed, scenario_name=DEFAULTS_NAME, **controls)
    if model.viz_problem is None:
        assert model.params.n_users == controls["n_users"]
        assert model.params.beta == controls["beta"]
    else:
        assert "\n" not in model.viz_problem
    assert model.params.n_users <= 20_000
    model.step()
    assert np.isfinite(model.results().drop(columns="step").to_numpy(dtype=float)).all()


def test_scenario_names_from_the_page_never_reach_the_file_system():
    for bad in ("/etc/passwd", "../scenarios/baseline", "scenarios/baseline.toml", "baseline.toml", "~"):
        model = VizModel(scenario_name=bad, n_users=100)
        assert model.scenario_name == DEFAULTS_NAME and "could not be loaded" in model.viz_problem
    for name in scenario_names():
        assert "/" not in name and "\\" not in name
        scenario_params(name)  # every name the picker offers loads


def test_the_page_picker_and_the_server_offer_library_names_only():
    assert "scenario_names()" in inspect.getsource(viz_app)  # the Select's values
    assert viz_serve.DEFAULT_HOST == "127.0.0.1"
    assert inspect.signature(viz_serve.serve).parameters["host"].default == "127.0.0.1"
