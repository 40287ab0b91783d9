"""Inputs: the parameter schema, the MAPS levers, scenario files and designs, the parameter reference."""

from sociosim.config.params import (
    ALIASES,
    DEFAULT_VISIBLE,
    FEATURES,
    LEVERS,
    ModelParams,
    describe_parameter,
    make_params,
    parameter_names,
    resolve_name,
)
from sociosim.config.scenario import Design, ParameterRange, RunSettings, Scenario, library, load_scenario
from sociosim.errors import ScenarioError

__all__ = [
    "ALIASES",
    "DEFAULT_VISIBLE",
    "FEATURES",
    "LEVERS",
    "Design",
    "ModelParams",
    "ParameterRange",
    "RunSettings",
    "Scenario",
    "ScenarioError",
    "describe_parameter",
    "library",
    "load_scenario",
    "make_params",
    "parameter_names",
    "resolve_name",
]
