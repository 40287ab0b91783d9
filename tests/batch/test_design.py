"""Design expansion: grids, Latin hypercubes, Sobol and Morris samples, validation errors."""

from __future__ import annotations

import numpy as np
import pytest

from sociosim.batch.design import DESIGN_SPAWN_KEY, expand_design
from sociosim.config.params import ModelParams
from sociosim.errors import ScenarioError

BASE = ModelParams()


def root(seed: int = 0) -> np.random.SeedSequence:
    return np.random.SeedSequence(seed)


def test_grid_is_the_full_product_in_order():
    plan = expand_design(
        {"method": "grid", "parameters": {"beta": [0.5, 1.0, 2.0], "aggregation": ["pooled", "balanced"]}},
        BASE,
        root=root(),
    )
    assert len(plan) == 6
    assert plan.names == ["beta", "aggregation"]
    assert plan.points[0] == {"beta": 0.5, "aggregation": "pooled"}
    assert plan.points[1] == {"beta": 0.5, "aggregation": "balanced"}
    assert plan.points[-1] == {"beta": 2.0, "aggregation": "balanced"}
    assert {(p["beta"], p["aggregation"]) for p in plan.points} == {
        (b, a) for b in (0.5, 1.0, 2.0) for a in ("pooled", "balanced")
    }
    assert plan.salib_problem() is None


def test_no_design_is_one_point():
    plan = expand_design(None, BASE, root=root())
    assert plan.points == [{}]


def test_aliases_resolve_to_schema_names():
    plan = expand_design({"method": "grid", "parameters": {"eta": [0.0, 0.05]}}, BASE, root=root())
    assert plan.names == ["persuasion"]


def test_lhs_within_ranges_stratified_and_seeded():
    design = {
        "method": "lhs",
        "samples": 20,
        "parameters": {"beta": {"min": 0.5, "max": 4.0}, "n_annotators": {"min": 10, "max": 90}},
    }
    plan = expand_design(design, BASE, root=root(7))
    assert len(plan) == 20
    betas = np.array([p["beta"] for p in plan.points])
    assert betas.min() >= 0.5 and betas.max() <= 4.0
    # Latin hypercube: exactly one sample in each of the 20 equal strata of beta.
    strata = np.floor((betas - 0.5) / 3.5 * 20).astype(int)
    assert sorted(strata) == list(range(20))
    assert all(isinstance(p["n_annotators"], int) and 10 <= p["n_annotators"] <= 90 for p in plan.points)
    again = expand_design(design, BASE, root=root(7))
    assert again.points == plan.points
    other = expand_design(design, BASE, root=root(8))
    assert other.points != plan.points


def test_design_seed_is_not_a_replicate_seed():
    assert DESIGN_SPAWN_KEY > 100_000  # replicates use spawn keys 0..R-1 with R <= 100_000


def test_sobol_count_and_salib_problem():
    from SALib.analyze import sobol

    design = {
        "method": "sobol",
        "samples": 8,
        "parameters": {
            "beta": {"min": 0.0, "max": 4.0},
            "persuasion": {"min": 0.0, "max": 0.1},
            "drift": {"min": 0.0, "max": 0.01},
        },
    }
    plan = expand_design(design, BASE, root=root())
    d = 3
    assert len(plan) == 8 * (2 * d + 2)
    problem = plan.salib_problem()
    assert problem["names"] == ["beta", "persuasion", "drift"]
    assert np.asarray(problem["sample"]).shape == (len(plan), d)
    assert [p["beta"] for p in plan.points] == pytest.approx(np.asarray(problem["sample"])[:, 0])
    y = np.asarray(problem["sample"]) @ np.array([1.0, 10.0, 0.0])
    indices = sobol.analyze(problem, y, calc_second_order=True, seed=1)
    assert indices["S1"][0] > indices["S1"][2]


def test_morris_count():
    design = {
        "method": "morris",
        "samples": 5,
        "parameters": {"beta": {"min": 0.0, "max": 4.0}, "n_annotators": {"min": 10, "max": 60}},
    }
    plan = expand_design(design, BASE, root=root())
    assert len(plan) == 5 * (2 + 1)
    assert plan.salib_problem()["num_levels"] == 4
    assert all(isinstance(p["n_annotators"], int) for p in plan.points)


def test_invalid_value_names_the_field_and_point():
    with pytest.raises(ScenarioError) as info:
        expand_design({"method": "grid", "parameters": {"beta": [1.0, -1.0]}}, BASE, root=root())
    assert info.value.field == "design.parameters.beta"
    assert "design point 1" in info.value.message


def test_unknown_parameter_names_the_field():
    with pytest.raises(ScenarioError) as info:
        expand_design({"method": "lhs", "parameters": {"betta": {"min": 0, "max": 1}}}, BASE, root=root())
    assert info.value.field == "design.parameters.betta"


def test_categorical_only_in_grids():
    with pytest.raises(ScenarioError) as info:
        expand_design(
            {"method": "lhs", "parameters": {"aggregation": {"min": 0, "max": 1}}}, BASE, root=root()
        )
    assert info.value.field == "design.parameters.aggregation"
    assert "grid" in info.value.message


def test_grid_needs_lists():
    with pytest.raises(ScenarioError) as info:
        expand_design({"method": "grid", "parameters": {"beta": {"min": 0, "max": 1}}}, BASE, root=root())
    assert "beta" in str(info.value)
