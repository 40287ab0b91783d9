"""What the browser view needs that is not drawing: controls, a tolerant model, layout, glossary.

Nothing here imports solara, so the package stays importable (and testable) without a
browser stack. `VizModel` is the model class the page hands to Mesa's `SolaraViz`: it
takes the page's controls as keyword arguments and never raises on a bad combination;
it falls back to the scenario's own parameters and says why in `viz_problem`.
"""

from __future__ import annotations

import os
from typing import Any

from sociosim.config.params import ModelParams
from sociosim.config.scenario import library, load_scenario
from sociosim.errors import ScenarioError
from sociosim.model.model import AlignmentModel

SCENARIO_ENV = "SOCIOSIM_VIZ_SCENARIO"
DEFAULTS_NAME = "defaults"
MAX_SLIDER_USERS = 20_000

# The explanation of each control, in the order the sidebar shows them.
CONTROL_DOCS: dict[str, str] = {
    "Scenario": "a study from the scenario library; choosing one reloads the sliders with its values.",
    "Seed": "the random seed: same seed and settings give the same run.",
    "Users": "size of the simulated society (at most 1,000 are drawn).",
    "β (optimisation pressure)": "how hard the model is optimised against the learned reward.",
    "Annotators from culture 0": "share of the annotator pool from the dominant culture; the rest split equally.",
    "Label aggregation": "pooled labels, or culture-balanced (each culture weighs the same).",
    "Constitution penalties": "penalties added to the reward on harm, agreement (sycophancy) and human-like persona.",
    "Disclosure label": "tells users they talk to a machine, cutting the trust bonus of a human-like persona.",
    "Regulator": "audits every few steps; intervenes when the shifted gap or overtrust passes its threshold.",
    "Persuasion": "how far a received answer pulls a user's values (scaled by their trust).",
    "Homophily": "share of a user's ties within their own culture.",
}


# --- scenarios and controls --------------------------------------------------------------


def scenario_names() -> list[str]:
    """What the scenario picker offers: the built-in defaults, then the library names."""
    return [DEFAULTS_NAME, *(n for n in library() if n != DEFAULTS_NAME)]


def initial_scenario() -> tuple[str, str | None]:
    """The scenario named by `sociosim viz` (environment), and a message if it is unknown."""
    wanted = os.environ.get(SCENARIO_ENV, "").strip()
    if not wanted:
        return DEFAULTS_NAME, None
    names = scenario_names()
    if wanted in names:
        return wanted, None
    return DEFAULTS_NAME, f"unknown scenario {wanted!r}; showing the built-in defaults"


def scenario_params(name: str) -> ModelParams:
    """The parameters of a library scenario by name (never a path); the defaults for `defaults`."""
    if name == DEFAULTS_NAME:
        return ModelParams()
    path = library().get(name)
    if path is None:
        raise ScenarioError(
            "scenario", f"no library scenario named {name!r}; choose one of {', '.join(scenario_names())}"
        )
    return load_scenario(path).params


def dominant_share(params: ModelParams) -> float:
    """Share of the annotator pool from culture 0, as the pool slider shows it."""
    return float(params.annotator_share_array()[0])


def shares_with_dominant(share: float, n_cultures: int) -> list[float]:
    """Annotator shares with `share` from culture 0 and the rest split equally."""
    if n_cultures == 1:
        return [1.0]
    rest = (1.0 - share) / (n_cultures - 1)
    return [share] + [rest] * (n_cultures - 1)


def control_values(params: ModelParams, *, seed: int = 0) -> dict[str, Any]:
    """The value of every page control that reproduces `params` (the inverse of `overrides_from_controls`)."""
    return {
        "seed": str(seed),
        "n_users": params.n_users,
        "beta": params.beta,
        "dominant_share": round(dominant_share(params), 4),
        "aggregation": params.aggregation,
        "harm_penalty": params.harm_penalty,
        "agree_penalty": params.agree_penalty,
        "anthro_penalty": params.anthro_penalty,
        "disclosure": params.disclosure,
        "regulator": params.n_regulators > 0,
        "audit_gap_threshold": params.audit_gap_threshold,
        "audit_overtrust_threshold": params.audit_overtrust_threshold,
        "persuasion": params.persuasion,
        "homophily": params.homophily,
    }


def overrides_from_controls(params: ModelParams, controls: dict[str, Any]) -> dict[str, Any]:
    """Flat overrides for the controls that differ from the scenario, so an untouched page reproduces it."""
    current = control_values(params)
    changed = {k: v for k, v in controls.items() if k != "seed" and k in current and v != current[k]}
    overrides: dict[str, Any] = {}
    for name, value in changed.items():
        if name == "dominant_share":
            overrides["annotator_shares"] = shares_with_dominant(float(value), params.n_cultures)
        elif name == "regulator":
            overrides["n_regulators"] = 1 if value else 0
        else:
            overrides[name] = value
    return overrides


def parse_seed(text: Any) -> int:
    """The seed typed into the page: a non-negative integer, or a ScenarioError naming the field."""
    try:
        seed = int(str(text).strip())
    except ValueError:
        raise ScenarioError("seed", f"must be a whole number >= 0, got {text!r}") from None
    if seed < 0:
        raise ScenarioError("seed", f"must be a whole number >= 0, got {seed}")
    return seed


def model_params_spec(name: str) -> dict[str, Any]:
    """Mesa `model_params` for `SolaraViz`: the page's controls, starting at the scenario's values."""
    try:
        params = scenario_params(name)
    except ScenarioError:
        params = ModelParams()
    v = control_values(params)
    c = max(params.n_cultures, 1)
    return {
        "scenario_name": name,
        "seed": {"type": "InputText", "value": v["seed"], "label": "Seed"},
        "n_users": {
            "type": "SliderInt",
            "value": v["n_users"],
            "min": 100,
            "max": max(MAX_SLIDER_USERS, v["n_users"]),
            "step": 100,
            "label": "Users",
        },
        "beta": {
            "type": "SliderFloat",
            "value": v["beta"],
            "min": 0.0,
            "max": max(16.0, v["beta"]),
            "step": 0.25,
            "label": "β (optimisation pressure)",
        },
        "dominant_share": {
            "type": "SliderFloat",
            "value": v["dominant_share"],
            "min": min(round(1.0 / c, 4), v["dominant_share"]),
            "max": 1.0,
            "step": 0.05,
            "label": "Annotators from culture 0",
        },
        "aggregation": {
            "type": "Select",
            "value": v["aggregation"],
            "values": ["pooled", "balanced"],
            "label": "Label aggregation",
        },
        "harm_penalty": {
            "type": "SliderFloat",
            "value": v["harm_penalty"],
            "min": 0.0,
            "max": max(3.0, v["harm_penalty"]),
            "step": 0.1,
            "label": "Constitution: harm penalty",
        },
        "agree_penalty": {
            "type": "SliderFloat",
            "value": v["agree_penalty"],
            "min": 0.0,
            "max": max(3.0, v["agree_penalty"]),
            "step": 0.1,
            "label": "Constitution: agreement penalty",
        },
        "anthro_penalty": {
            "type": "SliderFloat",
            "value": v["anthro_penalty"],
            "min": 0.0,
            "max": max(3.0, v["anthro_penalty"]),
            "step": 0.1,
            "label": "Constitution: persona penalty",
        },
        "disclosure": {"type": "Checkbox", "value": v["disclosure"], "label": "Disclosure label"},
        "regulator": {"type": "Checkbox", "value": v["regulator"], "label": "Regulator audits"},
        "audit_gap_threshold": {
            "type": "SliderFloat",
            "value": v["audit_gap_threshold"],
            "min": 0.0,
            "max": max(3.0, v["audit_gap_threshold"]),
            "step": 0.05,
            "label": "Regulator: gap threshold",
        },
        "audit_overtrust_threshold": {
            "type": "SliderFloat",
            "value": v["audit_overtrust_threshold"],
            "min": 0.0,
            "max": 1.0,
            "step": 0.01,
            "label": "Regulator: overtrust threshold",
        },
        "persuasion": {
            "type": "SliderFloat",
            "value": v["persuasion"],
            "min": 0.0,
            "max": max(0.2, v["persuasion"]),
            "step": 0.005,
            "label": "Persuasion η",
        },
        "homophily": {
            "type": "SliderFloat",
            "value": v["homophily"],
            "min": 0.0,
            "max": 1.0,
            "step": 0.05,
            "label": "Homophily",
        },
    }


def default_controls(name: str) -> dict[str, Any]:
    """The keyword arguments of `VizModel` for an untouched page showing scenario `name`."""
    spec = model_params_spec(name)
    return {k: (v["value"] if isinstance(v, dict) else v) for k, v in spec.items()}


class VizModel(AlignmentModel):
    """`AlignmentModel` driven by the page's controls; a bad combination falls back, never raises.

    Mesa's SolaraViz re-creates the model on Reset with the controls as keyword arguments;
    an exception there would break the page, so the reason is kept in `viz_problem` instead.
    """

    def __init__(
        self,
        *,
        scenario_name: str = DEFAULTS_NAME,
        seed: Any = "0",
        n_users: int | None = None,
        beta: float | None = None,
        dominant_share: float | None = None,
        aggregation: str | None = None,
        harm_penalty: float | None = None,
        agree_penalty: float | None = None,
        anthro_penalty: float | None = None,
        disclosure: bool | None = None,
        regulator: bool | None = None,
        audit_gap_threshold: float | None = None,
        audit_overtrust_threshold: float | None = None,
        persuasion: float | None = None,
        homophily: float | None = None,
    ):
        controls = {
            k: v
            for k, v in locals().items()
            if k not in {"self", "__class__", "scenario_name", "seed"} and v is not None
        }
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
        overrides = overrides_from_controls(base, controls)
        try:
            super().__init__(params=base, rng=seed_value, **overrides)
        except ScenarioError as exc:
            problems.append(f"these settings do not fit together ({exc}); showing the scenario's own values")
            super().__init__(params=base, rng=seed_value)
        self.scenario_name = scenario_name
        self.initial_measures = dict(self.measures)  # step 0, so the live plots start at the start
        self.seed_value = seed_value
        self.viz_problem = "; ".join(problems) or None
