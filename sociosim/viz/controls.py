"""What the browser view needs that is not drawing: scenarios, the page's settings, a tolerant model.

Nothing here imports solara, so the package stays importable (and testable) without a
browser stack. `VizModel` takes the page's settings as flat parameter names, checks each
against the schema again (the page may have been bypassed), and never raises on a bad
combination: it falls back to the scenario's own parameters and says why in `viz_problem`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from sociosim.config.params import ModelParams, make_params, resolve_name
from sociosim.config.scenario import Scenario, library, load_scenario
from sociosim.errors import ScenarioError
from sociosim.model.model import AlignmentModel
from sociosim.viz.schema import (
    CONTROLS,
    DEFAULT_MAX_USERS,
    check_value,
    design_values,
    scenario_control_names,
)

SCENARIO_ENV = "SOCIOSIM_VIZ_SCENARIO"
MAX_USERS_ENV = "SOCIOSIM_VIZ_MAX_USERS"
STORE_ENV = "SOCIOSIM_VIZ_STORE"
DEFAULTS_NAME = "defaults"


# --- scenarios ---------------------------------------------------------------------------


def scenario_names() -> list[str]:
    """What the scenario picker offers: the built-in defaults, then the library names."""
    return [DEFAULTS_NAME, *(n for n in library() if n != DEFAULTS_NAME)]


def initial_scenario() -> tuple[str, str | None]:
    """The scenario named by `sociosim viz` (environment), and a message if it is unknown."""
    wanted = os.environ.get(SCENARIO_ENV, "").strip()
    if not wanted:
        return DEFAULTS_NAME, None
    if wanted in scenario_names():
        return wanted, None
    return DEFAULTS_NAME, f"unknown scenario {wanted!r}; showing the built-in defaults"


def load_named(name: str) -> Scenario:
    """A library scenario by name (never a path); the built-in defaults for `defaults`."""
    if name == DEFAULTS_NAME:
        return Scenario()
    path = library().get(name)
    if path is None:
        raise ScenarioError(
            "scenario", f"no library scenario named {name!r}; choose one of {', '.join(scenario_names())}"
        )
    return load_scenario(path)


def scenario_params(name: str) -> ModelParams:
    """The parameters of a library scenario by name."""
    return load_named(name).params


def max_users() -> int:
    """The largest user count the page accepts (`sociosim viz --max-users`, passed by environment)."""
    try:
        return max(1, int(os.environ.get(MAX_USERS_ENV, DEFAULT_MAX_USERS)))
    except ValueError:
        return DEFAULT_MAX_USERS


@dataclass(frozen=True)
class ScenarioView:
    """What the page shows of a scenario: its parameters, the controls it puts first, its design."""

    name: str
    scenario: Scenario
    primary: tuple[str, ...]  # design factors first, then what `[params]` sets
    design: dict[str, Any]  # a grid's values or a sampled design's (min, max), by parameter

    @property
    def params(self) -> ModelParams:
        return self.scenario.params

    def others(self) -> list[str]:
        """Every other parameter, for the "more parameters" panel (schema order)."""
        return [n for n in CONTROLS if n not in self.primary]


def scenario_view(name: str) -> ScenarioView:
    """The scenario's controls: every parameter its design varies and every one its `[params]` sets."""
    scenario = load_named(name)
    params_set = [resolve_name(n) for n in scenario.params.model_fields_set]
    set_in_order = [n for n in CONTROLS if n in params_set]
    primary = scenario_control_names(scenario, set_in_order)
    if "n_users" not in primary:
        primary.append("n_users")  # the size is always at hand (and capped)
    design = {resolve_name(k): v for k, v in design_values(scenario).items()}
    return ScenarioView(name, scenario, tuple(primary), design)


def parse_seed(text: Any) -> int:
    """The seed typed into the page: a non-negative integer, or a ScenarioError naming the field."""
    try:
        seed = int(str(text).strip())
    except ValueError:
        raise ScenarioError("seed", f"must be a whole number >= 0, got {text!r}") from None
    if seed < 0:
        raise ScenarioError("seed", f"must be a whole number >= 0, got {seed}")
    return seed


def checked_settings(
    settings: dict[str, Any], *, limit: int | None = None
) -> tuple[dict[str, Any], list[str]]:
    """The settings that pass the schema's check, and one message per refused one."""
    cap = max_users() if limit is None else limit
    ok: dict[str, Any] = {}
    problems: list[str] = []
    for name, value in settings.items():
        try:
            ok[name] = check_value(name, value, max_users=cap)
        except ScenarioError as exc:
            problems.append(f"{exc}; ignored")
    return ok, problems


class VizModel(AlignmentModel):
    """`AlignmentModel` built from the page's settings; a bad value or combination falls back, never raises.

    `settings` are flat parameter names, as the controls send them. Each is checked against
    the schema (and the user cap) here too, so a value the page would not send is refused
    even if a client sends it; the reasons are kept in `viz_problem` for the page to show.
    """

    def __init__(self, *, scenario_name: str = DEFAULTS_NAME, seed: Any = "0", **settings: Any):
        problems: list[str] = []
        try:
            base = scenario_params(scenario_name)
        except ScenarioError as exc:
            problems.append(
                f"scenario {scenario_name!r} could not be loaded ({exc}); showing the built-in defaults"
            )
            scenario_name, base = DEFAULTS_NAME, ModelParams()
        try:
            seed_value = parse_seed(seed)
        except ScenarioError as exc:
            problems.append(f"{exc}; using seed 0")
            seed_value = 0
        ok, refused = checked_settings(settings)
        problems += refused
        if base.n_users > max_users() and "n_users" not in ok:
            ok["n_users"] = max_users()
            problems.append(
                f"n_users: the scenario's {base.n_users:,} is above this page's cap; using {max_users():,}"
            )
        try:
            params = make_params(base, **ok)
        except ScenarioError as exc:
            problems.append(f"these settings do not fit together ({exc}); showing the scenario's own values")
            params = base
        super().__init__(params=params, rng=seed_value)
        self.scenario_name = scenario_name
        self.initial_measures = dict(self.measures)  # step 0, so the live plots start at the start
        self.seed_value = seed_value
        self.viz_problem = "; ".join(problems) or None
