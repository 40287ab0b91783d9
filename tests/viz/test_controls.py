"""The browser view's logic without a browser: schema-built controls, the server-side check, the model, layout."""

from __future__ import annotations

import numpy as np
import pytest

from sociosim import AlignmentModel
from sociosim.config.params import ModelParams
from sociosim.errors import ScenarioError
from sociosim.model.measures import measure_doc
from sociosim.viz.controls import (
    DEFAULTS_NAME,
    MAX_USERS_ENV,
    VizModel,
    scenario_names,
    scenario_params,
    scenario_view,
)
from sociosim.viz.layout import MAX_DRAWN_USERS, compute_layout, layout_for
from sociosim.viz.schema import CONTROLS, check_value, parse_shares

SMALL = {"n_users": 300}

# The factor each swept scenario studies, which the old page had no control for.
STUDIED = {
    "maps_interventions": "lever",
    "deception_trust": "anthro_mean",
    "sycophancy": "flattery_bias",
    "goodhart_pressure": "bias_tail",
    "annotator_drift": "calibrate_every",
    "trilemma": "quality_noise",
    "value_homogenization": "persuasion",
}


def test_every_parameter_has_a_control_built_from_its_schema_entry():
    assert set(CONTROLS) == set(ModelParams.model_fields)
    beta = CONTROLS["beta"]
    assert (beta.kind, beta.lo, beta.hi) == ("float", 0.0, 1000.0)
    assert beta.doc == ModelParams.model_fields["beta"].description
    assert CONTROLS["n_users"].kind == "int"
    assert CONTROLS["lever"].kind == "choice" and "shift" in CONTROLS["lever"].choices
    assert CONTROLS["disclosure"].kind == "bool"
    assert CONTROLS["visible_features"].kind == "multi"
    assert CONTROLS["annotator_shares"].kind == "shares" and CONTROLS["annotator_shares"].optional
    assert CONTROLS["tail_df"].lo_open and CONTROLS["beta_cap"].optional


def test_sliders_cover_a_useful_range_that_holds_the_scenario_values():
    lo, hi, step = CONTROLS["beta"].slider_range(1.0, 4.0)
    assert (lo, step) == (0.0, 0.1) and 4.0 <= hi <= 1000.0
    assert CONTROLS["homophily"].slider_range(0.8) == (0.0, 1.0, 0.01)
    assert CONTROLS["flattery_bias"].slider_range(1.5)[:2] == (-10.0, 10.0)
    assert CONTROLS["n_users"].slider_range(2000, max_users=20_000) == (100.0, 20_000.0, 100.0)
    assert CONTROLS["lever"].slider_range("none") is None


@pytest.mark.parametrize(
    ("name", "bad", "words"),
    [
        ("beta", -0.5, "[0, 1,000]"),
        ("beta", float("nan"), "[0, 1,000]"),
        ("homophily", 1.5, "[0, 1]"),
        ("tail_df", 2.0, "(2, 1,000]"),
        ("n_users", 2.5, "[1, 10,000,000]"),
        ("n_users", 10**7, "--max-users"),
        ("lever", "bribery", "one of none"),
        ("disclosure", "yes", "on or off"),
        ("visible_features", ["stance", "mood"], "any of stance"),
        ("annotator_shares", [0.5, 0.2], "sum to 1"),
    ],
)
def test_out_of_range_values_are_refused_naming_the_field_and_range(name, bad, words):
    with pytest.raises(ScenarioError) as caught:
        check_value(name, bad, max_users=20_000)
    message = str(caught.value)
    assert message.startswith(name) and words in message and "\n" not in message


def test_values_in_range_pass_as_the_schema_takes_them():
    assert check_value("beta", "2.5") == 2.5
    assert check_value("n_users", 20_000, max_users=20_000) == 20_000
    assert check_value("beta_cap", None) is None
    assert check_value("annotator_shares", parse_shares("0.4, 0.2, 0.2, 0.2")) == [0.4, 0.2, 0.2, 0.2]
    assert check_value("annotator_shares", parse_shares("")) is None


def test_each_scenario_puts_its_design_factors_and_params_first():
    for name in scenario_names():
        view = scenario_view(name)
        scenario = view.scenario
        design = list(scenario.design.parameters) if scenario.design else []
        assert list(view.primary[: len(design)]) == design, name
        for field in scenario.params.model_fields_set:
            assert field in view.primary, (name, field)
        assert set(view.primary) | set(view.others()) == set(CONTROLS)
    for name, factor in STUDIED.items():
        assert factor in scenario_view(name).primary, name
    assert scenario_view("sycophancy").design["flattery_bias"] == [0.0, 1.5]
    assert scenario_view("trilemma").design["quality_noise"] == (0.0, 2.0)


def test_every_measure_the_model_reports_has_a_one_sentence_explanation():
    model = AlignmentModel(n_users=200, rng=0)
    assert [name for name in model.measures if not measure_doc(name)] == []


def test_untouched_settings_reproduce_the_scenario_run():
    viz = VizModel(scenario_name="sycophancy", **SMALL)
    plain = AlignmentModel(params=scenario_params("sycophancy"), rng=0, **SMALL)
    for _ in range(3):
        viz.step()
        plain.step()
    assert viz.viz_problem is None
    assert viz.params == plain.params
    assert viz.results().equals(plain.results())


def test_a_changed_factor_changes_the_run():
    a = VizModel(scenario_name="sycophancy", flattery_bias=1.5, **SMALL)
    b = VizModel(scenario_name="sycophancy", flattery_bias=0.0, **SMALL)
    for _ in range(5):
        a.step()
        b.step()
    assert b.params.flattery_bias == 0.0 and b.viz_problem is None
    assert a.measures["sycophancy"] != b.measures["sycophancy"]


def test_the_server_refuses_values_the_page_would_not_send(monkeypatch):
    monkeypatch.setenv(MAX_USERS_ENV, "5000")
    model = VizModel(n_users=10**7, beta=-3.0, homophily=0.5)
    assert "n_users" in model.viz_problem and "--max-users" in model.viz_problem
    assert "beta: must be [0, 1,000]" in model.viz_problem
    assert model.params.n_users == ModelParams().n_users and model.params.beta == ModelParams().beta
    assert model.params.homophily == 0.5  # the valid setting is kept


def test_a_scenario_larger_than_the_cap_is_capped(monkeypatch):
    monkeypatch.setenv(MAX_USERS_ENV, "500")
    model = VizModel()
    assert model.params.n_users == 500 and "cap" in model.viz_problem


def test_a_bad_combination_shows_a_message_instead_of_raising():
    model = VizModel(n_users=5)  # mean_degree 10 does not fit five users
    assert model.viz_problem is not None and "mean_degree" in model.viz_problem
    assert model.params.n_users == ModelParams().n_users
    model.step()


def test_a_bad_seed_and_an_unknown_scenario_are_reported_not_raised():
    model = VizModel(seed="twelve", scenario_name="../../etc/passwd", **SMALL)
    assert "seed" in model.viz_problem and "could not be loaded" in model.viz_problem
    assert model.scenario_name == DEFAULTS_NAME and model.seed_value == 0


def test_the_picker_offers_library_names_only():
    names = scenario_names()
    assert names[0] == DEFAULTS_NAME
    assert all("/" not in n and not n.endswith(".toml") for n in names)


def test_layout_samples_large_populations_and_is_computed_once():
    model = AlignmentModel(n_users=10_000, rng=1)
    layout = layout_for(model)
    assert len(layout.users) == MAX_DRAWN_USERS and layout.total_users == 10_000
    assert np.all(np.diff(layout.users) > 0)
    model.step()
    assert layout_for(model) is layout
    again = compute_layout(model.users.culture, model.users.adjacency, seed=int(model._seed))
    assert np.array_equal(again.xy, layout.xy)
    culture = model.users.culture[layout.users]
    centres = np.stack([layout.xy[culture == c].mean(axis=0) for c in range(4)])
    assert np.min(np.linalg.norm(centres[:, None] - centres[None], axis=2) + np.eye(4) * 9) > 1.0
    a, b = layout.users[layout.edges[:, 0]], layout.users[layout.edges[:, 1]]
    assert np.all(np.asarray(model.users.adjacency[a, b]).ravel() > 0)
