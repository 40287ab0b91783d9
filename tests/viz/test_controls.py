"""The browser view's logic without a browser: controls, the tolerant model, layout, glossary."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from sociosim import AlignmentModel
from sociosim.config.params import ModelParams
from sociosim.model.measures import measure_doc
from sociosim.viz.controls import (
    DEFAULTS_NAME,
    VizModel,
    control_values,
    default_controls,
    model_params_spec,
    overrides_from_controls,
    scenario_names,
)
from sociosim.viz.layout import MAX_DRAWN_USERS, compute_layout, layout_for

SMALL = {"n_users": 300}


def test_every_measure_the_model_reports_has_a_one_sentence_explanation():
    model = AlignmentModel(n_users=200, rng=0)
    missing = [name for name in model.measures if not measure_doc(name)]
    assert missing == []
    assert "culture 2" in measure_doc("utility_2")
    assert measure_doc("no_such_measure") == ""


def test_untouched_controls_reproduce_the_scenario_run():
    controls = default_controls(DEFAULTS_NAME) | SMALL
    viz = VizModel(**controls)
    plain = AlignmentModel(rng=0, **SMALL)
    for _ in range(3):
        viz.step()
        plain.step()
    assert viz.viz_problem is None
    assert viz.params == plain.params
    assert viz.results().equals(plain.results())


def test_controls_become_flat_overrides():
    base = ModelParams()
    controls = control_values(base) | {"dominant_share": 0.4, "regulator": True, "beta": 3.0}
    overrides = overrides_from_controls(base, controls)
    assert overrides["beta"] == 3.0
    assert overrides["n_regulators"] == 1
    assert overrides["annotator_shares"] == pytest.approx([0.4, 0.2, 0.2, 0.2])
    assert "aggregation" not in overrides  # unchanged controls leave the scenario alone


def test_a_bad_combination_shows_a_message_instead_of_raising():
    model = VizModel(n_users=5)  # mean_degree 10 does not fit five users
    assert model.viz_problem is not None and "mean_degree" in model.viz_problem
    assert model.params.n_users == ModelParams().n_users  # fell back to the scenario's own values
    model.step()


def test_a_bad_seed_and_an_unknown_scenario_are_reported_not_raised():
    model = VizModel(seed="twelve", scenario_name="../../etc/passwd", **SMALL)
    assert "seed" in model.viz_problem and "could not be loaded" in model.viz_problem
    assert model.scenario_name == DEFAULTS_NAME and model.seed_value == 0


def test_the_picker_offers_library_names_only():
    names = scenario_names()
    assert names[0] == DEFAULTS_NAME
    assert all("/" not in n and not n.endswith(".toml") for n in names)


def test_every_control_is_a_keyword_of_the_model():
    accepted = set(inspect.signature(VizModel.__init__).parameters) - {"self"}
    assert set(model_params_spec(DEFAULTS_NAME)) <= accepted
    for spec in model_params_spec(DEFAULTS_NAME).values():
        if isinstance(spec, dict) and "min" in spec:
            assert spec["min"] <= spec["value"] <= spec["max"]


def test_layout_samples_large_populations_and_is_computed_once():
    model = AlignmentModel(n_users=10_000, rng=1)
    layout = layout_for(model)
    assert len(layout.users) == MAX_DRAWN_USERS and layout.total_users == 10_000
    assert np.all(np.diff(layout.users) > 0)
    model.step()
    assert layout_for(model) is layout
    again = compute_layout(model.users.culture, model.users.adjacency, seed=int(model._seed))
    assert np.array_equal(again.xy, layout.xy)
    # positions cluster by culture: each culture's drawn users sit round their own centre
    culture = model.users.culture[layout.users]
    centres = np.stack([layout.xy[culture == c].mean(axis=0) for c in range(4)])
    assert np.min(np.linalg.norm(centres[:, None] - centres[None], axis=2) + np.eye(4) * 9) > 1.0
    # drawn ties are real ties
    a, b = layout.users[layout.edges[:, 0]], layout.users[layout.edges[:, 1]]
    assert np.all(np.asarray(model.users.adjacency[a, b]).ravel() > 0)
