"""The scenario schema: every model parameter with its default, allowed range and meaning.

One flat pydantic model (`ModelParams`) holds the parameters so that every entry point
(Python, CLI, batch designs, the browser view) addresses them by the same flat name.
Each field carries a `group` (the part of the model it belongs to) and, where it is a
policy lever, the MAPS `lever` it belongs to; `sociosim describe` renders both.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sociosim.config.limits import check_model_sizes, check_nesting
from sociosim.errors import (
    ScenarioError,
    describe_field,
    did_you_mean,
    error_from_validation,
    key_text,
    reject_loose_scalars,
)

FEATURES = ("stance", "quality", "harm", "polish", "anthro", "agree")
DEFAULT_VISIBLE = ("stance", "quality", "polish", "anthro", "agree")
LEVERS = ("misspecification", "annotation", "pressure", "shift", "disclosure")


def _p(default: Any, doc: str, *, group: str, lever: str | None = None, **bounds: Any):
    """A documented parameter: `Field` with its group and MAPS lever as schema extras."""
    extra = {"group": group}
    if lever:
        extra["lever"] = lever
    return Field(default, description=doc, json_schema_extra=extra, **bounds)


class ModelParams(BaseModel):
    """Every parameter of an `AlignmentModel` run (DESIGN §1–§3), flat and validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # --- world: sizes -------------------------------------------------------------
    n_users: int = _p(2000, "Number of users N on the social network.", group="world", ge=1, le=10_000_000)
    user_views: int = _p(
        100_000,
        "Largest N for which every user gets a registered Mesa UserAgent view at build (about 9 us and 0.6 KB each); above it, model.user_agent(i) makes views on demand. Results do not depend on it.",
        group="users",
        ge=0,
        le=10_000_000,
    )
    n_annotators: int = _p(60, "Number of human annotators A.", group="annotators", ge=1, le=100_000)
    n_responses: int = _p(
        512, "Size M of the response catalogue the model chooses from.", group="world", ge=2, le=1_000_000
    )
    n_values: int = _p(4, "Number D of value dimensions.", group="world", ge=1, le=64)
    n_cultures: int = _p(4, "Number C of cultures.", group="world", ge=1, le=32)
    culture_spread: float = _p(
        0.35,
        "Spread sigma_c of individual values around their culture's centre.",
        group="world",
        ge=0.0,
        le=5.0,
    )
    user_shares: list[float] | None = _p(
        None, "Share w_c of each culture among users (None: equal).", group="world"
    )
    annotator_shares: list[float] | None = _p(
        None,
        "Share a_c of each culture in the annotator pool (None: 70 % from culture 0, the rest equal).",
        group="annotators",
        lever="annotation",
    )

    # --- world: response catalogue ----------------------------------------------------
    quality_harm_corr: float = _p(
        0.4,
        "Correlation rho_qh of quality and harm: helpful costs harmless.",
        group="world",
        ge=-0.99,
        le=0.99,
    )
    polish_quality: float = _p(
        0.3, "Loading of polish on quality (the rest is heavy-tailed style).", group="world", ge=0.0, le=0.99
    )
    bias_tail: Literal["student_t", "gaussian"] = _p(
        "student_t", "Tail of the style feature polish: heavy (extremal Goodhart) or Gaussian.", group="world"
    )
    tail_df: float = _p(
        3.0, "Degrees of freedom of the Student-t style tail.", group="world", gt=2.0, le=1000.0
    )
    masked_defect: float = _p(
        2.0,
        "Delta: true-utility cost of a masked defect, Delta*clip(polish - p0, 0, 1): substance that outrunning style hides (0: none).",
        group="world",
        ge=0.0,
        le=100.0,
    )
    masked_defect_threshold: float = _p(
        3.0,
        "p0: the polish (in sd) beyond which style hides a defect.",
        group="world",
        ge=-100.0,
        le=100.0,
    )
    anthro_mean: float = _p(
        0.5, "Mean anthropomorphism of the catalogue (0.5: uniform).", group="world", ge=0.01, le=0.99
    )

    # --- true utility ---------------------------------------------------------------
    harm_cost: float = _p(1.0, "k_h: weight of harm in true utility.", group="utility", ge=0.0, le=100.0)
    agree_cost: float = _p(
        1.0, "k_g: truth cost of agreeing with a user's view.", group="utility", ge=0.0, le=100.0
    )
    belief_error: float = _p(
        0.3, "e: share of users' beliefs that are wrong.", group="utility", ge=0.0, le=1.0
    )
    anthro_cost: float = _p(
        0.2, "k_a: cost of being misled about what the system is.", group="utility", ge=0.0, le=100.0
    )

    # --- annotators ---------------------------------------------------------------------
    annotator_precision: float = _p(
        1.0,
        "Mean tau_j: precision of annotators' choices (1/tau is noise).",
        group="annotators",
        gt=0.0,
        le=1000.0,
    )
    polish_bias: float = _p(
        0.6,
        "Mean gp: raters' reward for polish beyond its true value.",
        group="annotators",
        ge=-10.0,
        le=10.0,
    )
    anthro_bias: float = _p(
        0.3, "Mean ga: raters' reward for a human-like persona.", group="annotators", ge=-10.0, le=10.0
    )
    flattery_bias: float = _p(
        0.3, "Mean gg: raters' reward for being agreed with.", group="annotators", ge=-10.0, le=10.0
    )
    bias_spread: float = _p(
        0.1, "Spread of individual rater biases around their means.", group="annotators", ge=0.0, le=10.0
    )
    label_policy: Literal["current", "base"] = _p(
        "current",
        "Policy human label pairs are drawn from: current (on-policy, iterated RLHF) or base (pi_0: fixed data, Gao et al.'s protocol).",
        group="annotators",
    )
    defect_detection: float = _p(
        0.0,
        "Share of a masked defect raters perceive (AI-assisted or expert rating raises it).",
        group="annotators",
        lever="annotation",
        ge=0.0,
        le=1.0,
    )
    labels_per_step: int = _p(
        20,
        "L: pairs each annotator labels per step (label budget).",
        group="annotators",
        lever="annotation",
        ge=0,
        le=100_000,
    )
    label_window: int = _p(
        10, "Steps a label stays in the reward model's training window.", group="annotators", ge=1, le=100_000
    )
    drift: float = _p(
        0.0,
        "Growth of each rater's style biases per step (fatigue, style over substance).",
        group="annotators",
        ge=0.0,
        le=10.0,
    )
    value_drift: float = _p(
        0.0, "Step size of the random walk of raters' values.", group="annotators", ge=0.0, le=10.0
    )
    calibration_strength: float = _p(
        0.5,
        "Share of raters' style biases that calibration against gold labels removes.",
        group="annotators",
        lever="annotation",
        ge=0.0,
        le=1.0,
    )
    calibrate_every: int = _p(
        0,
        "Steps between annotator calibrations that reset drift (0: never).",
        group="annotators",
        lever="annotation",
        ge=0,
        le=1_000_000,
    )
    aggregation: Literal["pooled", "balanced"] = _p(
        "pooled",
        "Label aggregation: pooled, or culture-balanced (each culture weighs the same).",
        group="annotators",
        lever="annotation",
    )

    # --- reward model -------------------------------------------------------------------
    visible_features: list[Literal["stance", "quality", "harm", "polish", "anthro", "agree"]] = _p(
        list(DEFAULT_VISIBLE),
        "Features the reward model can see (harm hidden by default: misspecification).",
        group="reward_model",
        lever="misspecification",
    )
    quality_noise: float = _p(
        1.0,
        "Noise sd of the reward model's view of quality.",
        group="reward_model",
        lever="misspecification",
        ge=0.0,
        le=100.0,
    )
    l2: float = _p(1.0, "L2 penalty of the Bradley-Terry reward model.", group="reward_model", ge=0.0, le=1e6)
    harm_penalty: float = _p(
        0.0,
        "Constitution: penalty on harm added to the reward.",
        group="reward_model",
        lever="misspecification",
        ge=0.0,
        le=100.0,
    )
    agree_penalty: float = _p(
        0.0,
        "Constitution: penalty on agreement (anti-sycophancy).",
        group="reward_model",
        lever="misspecification",
        ge=0.0,
        le=100.0,
    )
    anthro_penalty: float = _p(
        0.0,
        "Constitution: penalty on human-like persona.",
        group="reward_model",
        lever="misspecification",
        ge=0.0,
        le=100.0,
    )
    rlaif: bool = _p(
        False,
        "Add an AI rater (the reward model plus constitution) as a label channel.",
        group="reward_model",
    )
    rlaif_labels: int = _p(
        600, "Pairs the AI rater labels per step when rlaif is on.", group="reward_model", ge=0, le=1_000_000
    )
    thumbs_feedback: bool = _p(
        False, "Use users' thumbs on what they received as a label channel.", group="reward_model"
    )
    thumbs_labels: int = _p(
        600,
        "Most thumbs (as comparisons) taken from users per step.",
        group="reward_model",
        ge=0,
        le=1_000_000,
    )

    # --- policy -------------------------------------------------------------------------
    optimizer: Literal["kl_tilt", "best_of_n"] = _p(
        "kl_tilt", "Optimiser: KL-tilting pi_0*exp(beta*r) or best-of-n.", group="policy"
    )
    beta: float = _p(
        1.0, "Optimisation pressure of KL-tilting.", group="policy", lever="pressure", ge=0.0, le=1000.0
    )
    best_of_n: int = _p(
        16, "n of the best-of-n optimiser.", group="policy", lever="pressure", ge=1, le=10_000_000
    )
    retrain_every: int = _p(
        1, "Steps between refits of the reward model and the policy.", group="policy", ge=1, le=1_000_000
    )
    beta_mode: Literal["fixed", "engagement"] = _p(
        "fixed", "Developer's pressure: fixed, or raised while engagement rises.", group="developer"
    )
    beta_step: float = _p(
        0.25, "Increase of beta per retrain under engagement-seeking.", group="developer", ge=0.0, le=100.0
    )
    beta_max: float = _p(
        16.0, "Highest beta an engagement-seeking developer will use.", group="developer", ge=0.0, le=1000.0
    )
    beta_cap: float | None = _p(
        None,
        "Pressure lever: a cap on beta (None: no cap).",
        group="policy",
        lever="pressure",
        ge=0.0,
        le=1000.0,
    )
    kl_budget: float | None = _p(
        None,
        "Pressure lever: largest KL(pi||pi_0) allowed (None: no budget).",
        group="policy",
        lever="pressure",
        ge=0.0,
        le=100.0,
    )

    # --- shift --------------------------------------------------------------------------
    shift_training: float = _p(
        0.0,
        "Shift lever: share of labels from culture-balanced probe data with rare contexts.",
        group="shift",
        lever="shift",
        ge=0.0,
        le=1.0,
    )
    shift_value_weight: float = _p(
        2.0,
        "How much more values matter in the rare contexts of the shifted population.",
        group="shift",
        ge=0.0,
        le=100.0,
    )
    shift_harm_weight: float = _p(
        1.0,
        "How much more harm matters in the rare contexts of the shifted population.",
        group="shift",
        ge=0.0,
        le=100.0,
    )

    # --- users --------------------------------------------------------------------------
    network: Literal["sbm", "watts_strogatz", "barabasi_albert"] = _p(
        "sbm",
        "User network: stochastic block model by culture, Watts-Strogatz or Barabasi-Albert.",
        group="users",
    )
    mean_degree: float = _p(10.0, "Mean number of ties per user.", group="users", ge=0.0, le=1000.0)
    homophily: float = _p(
        0.8, "Share of a user's ties within their own culture (SBM).", group="users", ge=0.0, le=1.0
    )
    rewire: float = _p(
        0.1, "Rewiring probability of the Watts-Strogatz network.", group="users", ge=0.0, le=1.0
    )
    query_share: float = _p(
        0.2, "f: share of active users who query the model each step.", group="users", ge=0.0, le=1.0
    )
    detection_mean: float = _p(
        0.5, "Mean detection skill d_i: chance a user sees the real outcome.", group="users", ge=0.0, le=1.0
    )
    cue_anthro: float = _p(
        1.5,
        "ca: how much human-like output looks reliable to a user who cannot check.",
        group="users",
        ge=0.0,
        le=100.0,
    )
    cue_polish: float = _p(
        0.5, "cp: how much polished output looks reliable.", group="users", ge=0.0, le=100.0
    )
    trust_init: float = _p(0.5, "Initial trust T of every user.", group="users", ge=0.0, le=1.0)
    trust_rate: float = _p(0.1, "alpha: trust learning rate after a gain.", group="users", gt=0.0, le=1.0)
    loss_aversion: float = _p(
        1.5,
        "How much faster trust falls after a failure than it rises after a success.",
        group="users",
        ge=1.0,
        le=10.0,
    )
    persuasion: float = _p(
        0.02,
        "eta: how far a received response pulls a user's values, scaled by trust.",
        group="users",
        ge=0.0,
        le=1.0,
    )
    social_weight: float = _p(
        0.02, "mu: weight of neighbours' mean values in DeGroot averaging.", group="users", ge=0.0, le=1.0
    )
    bounded_confidence: float | None = _p(
        None,
        "Only neighbours within this value distance influence (None: all).",
        group="users",
        gt=0.0,
        le=100.0,
    )
    churn_threshold: float = _p(
        0.1, "Users whose trust falls below this stop using the model.", group="users", ge=0.0, le=1.0
    )
    disclosure: bool = _p(
        False,
        "Disclosure label: scales down the trust cue of human-like output.",
        group="users",
        lever="disclosure",
    )
    disclosure_effect: float = _p(
        0.7, "Share of the anthro trust cue that the disclosure label removes.", group="users", ge=0.0, le=1.0
    )

    # --- static interventions -----------------------------------------------------------
    lever: Literal["none", "misspecification", "annotation", "pressure", "shift", "disclosure"] = _p(
        "none",
        "A MAPS lever (or the disclosure label) in force from the start: see sociosim.levers.",
        group="policy",
        lever="any",
    )

    # --- regulators -----------------------------------------------------------------------
    n_regulators: int = _p(0, "Number of regulators (0: none).", group="regulators", ge=0, le=100)
    audit_every: int = _p(10, "Steps between a regulator's audits.", group="regulators", ge=1, le=1_000_000)
    audit_gap_threshold: float = _p(
        0.5, "An audit intervenes when gap_shift exceeds this.", group="regulators", ge=0.0, le=1000.0
    )
    audit_overtrust_threshold: float = _p(
        0.15, "An audit intervenes when overtrust exceeds this.", group="regulators", ge=0.0, le=1.0
    )
    regulator_lever: Literal["pressure", "annotation", "misspecification", "shift", "disclosure"] = _p(
        "pressure",
        "The MAPS lever (or disclosure) a regulator imposes when a threshold is passed.",
        group="regulators",
    )
    regulator_kl_budget: float = _p(
        0.5, "KL budget a regulator imposes with the pressure lever.", group="regulators", ge=0.0, le=100.0
    )
    compliance: float = _p(
        1.0, "Probability that the developer complies with a mandate.", group="regulators", ge=0.0, le=1.0
    )

    # --- labs (v2) ----------------------------------------------------------------------------
    n_labs: int = _p(
        1,
        "Number of competing labs, each with its own annotators, reward model and policy.",
        group="labs",
        ge=1,
        le=16,
    )
    lab_choice: float = _p(
        5.0,
        "How strongly a querying user picks their most trusted lab: softmax(lab_choice * trust); 0 = uniform.",
        group="labs",
        ge=0.0,
        le=1000.0,
    )
    labs: list[dict[str, Any]] | None = _p(
        None,
        "Per-lab settings: one table per lab of lab parameters that differ from the flat value (TOML [[labs]]; or give a lab parameter a list of n_labs values).",
        group="labs",
    )

    @model_validator(mode="before")
    @classmethod
    def _check_scalar_types(cls, data: Any) -> Any:
        return reject_loose_scalars(cls, data)

    @model_validator(mode="after")
    def _check_combinations(self) -> ModelParams:
        for name in ("user_shares", "annotator_shares"):
            shares = getattr(self, name)
            if shares is None:
                continue
            if len(shares) != self.n_cultures:
                raise ValueError(
                    f"{name}: needs one share per culture ({self.n_cultures} values), got {len(shares)}"
                )
            if any(not math.isfinite(s) or s < 0 for s in shares):
                raise ValueError(f"{name}: shares must be finite and >= 0, got {shares}")
            if abs(sum(shares) - 1.0) > 1e-6:
                raise ValueError(f"{name}: shares must sum to 1, got {sum(shares):.6g}")
        if self.n_users < self.n_cultures:
            raise ValueError(f"n_users: must be at least n_cultures ({self.n_cultures}), got {self.n_users}")
        if len(set(self.visible_features)) != len(self.visible_features):
            raise ValueError(f"visible_features: names must not repeat, got {self.visible_features}")
        if self.mean_degree >= self.n_users:
            raise ValueError(f"mean_degree: must be below n_users ({self.n_users}), got {self.mean_degree}")
        check_model_sizes(self)  # refuse arrays that would not fit before anything is built
        if self.labs is not None:
            if len(self.labs) != self.n_labs:
                raise ValueError(
                    f"labs: needs one table per lab (n_labs = {self.n_labs}), got {len(self.labs)}"
                )
            for index in range(self.n_labs):
                self.lab_params(index)  # names the lab and field of a bad value
        return self

    def lab_params(self, index: int) -> ModelParams:
        """The parameters lab `index` runs with: the flat values with its own `labs` entries in force."""
        overrides = (self.labs or [{}])[index] if self.labs else {}
        if not overrides:
            return self if self.labs is None else self.model_copy(update={"labs": None})
        for name in overrides:
            if resolve_name(name) not in LAB_FIELDS:
                raise ValueError(
                    f"labs[{index}].{key_text(name)}: not a lab parameter; lab parameters are {', '.join(LAB_FIELDS)}"
                )
        data = self.model_dump() | {"labs": None} | {resolve_name(k): v for k, v in overrides.items()}
        try:
            return ModelParams(**data)
        except ValidationError as exc:
            error = error_from_validation(exc, model=ModelParams, flat=ModelParams)
            raise ValueError(f"labs[{index}].{error.field}: {error.message}") from None

    # --- derived values -------------------------------------------------------------------
    def user_share_array(self) -> list[float]:
        """Culture shares of the user population, defaulting to equal shares."""
        return (
            list(self.user_shares)
            if self.user_shares is not None
            else [1.0 / self.n_cultures] * self.n_cultures
        )

    def annotator_share_array(self) -> list[float]:
        """Culture shares of the annotator pool, defaulting to 70 % from culture 0."""
        if self.annotator_shares is not None:
            return list(self.annotator_shares)
        if self.n_cultures == 1:
            return [1.0]
        rest = 0.3 / (self.n_cultures - 1)
        return [0.7] + [rest] * (self.n_cultures - 1)


# The parameters each lab sets for itself (DESIGN §3 "Developers and labs"); the rest are shared.
LAB_FIELDS = (
    "n_annotators",
    "annotator_shares",
    "annotator_precision",
    "polish_bias",
    "anthro_bias",
    "flattery_bias",
    "bias_spread",
    "label_policy",
    "defect_detection",
    "labels_per_step",
    "label_window",
    "drift",
    "value_drift",
    "calibration_strength",
    "calibrate_every",
    "aggregation",
    "visible_features",
    "l2",
    "harm_penalty",
    "agree_penalty",
    "anthro_penalty",
    "rlaif",
    "rlaif_labels",
    "thumbs_feedback",
    "thumbs_labels",
    "optimizer",
    "beta",
    "best_of_n",
    "retrain_every",
    "beta_cap",
    "kl_budget",
    "lever",
    "beta_mode",
    "beta_step",
    "beta_max",
    "shift_training",
    "disclosure",
)


def _is_list_field(name: str) -> bool:
    """Whether a parameter's own value is a list (so per-lab values are a list of lists)."""
    return "list[" in str(ModelParams.model_fields[name].annotation)


def split_lab_values(data: dict[str, Any]) -> dict[str, Any]:
    """Turn per-lab shorthand (`beta=[1, 4]`: a list where one value belongs) into `labs` tables.

    A list-valued lab parameter (`annotator_shares`) is per lab when given as a list of lists.
    The flat field keeps lab 0's value.
    """
    per_lab = {}
    for name, value in data.items():
        if name not in LAB_FIELDS or not isinstance(value, list | tuple) or not value:
            continue
        if _is_list_field(name) and not all(isinstance(v, list | tuple) for v in value):
            continue
        per_lab[name] = list(value)
    if not per_lab:
        return data
    n_labs = data.get("n_labs", 1)
    for name, values in per_lab.items():
        if len(values) != n_labs:
            raise ScenarioError(
                name, f"needs one value per lab (n_labs = {n_labs}), got {len(values)} values"
            )
    labs = [dict(entry) for entry in (data.get("labs") or [{} for _ in range(n_labs)])]
    if len(labs) != n_labs:
        raise ScenarioError("labs", f"needs one table per lab (n_labs = {n_labs}), got {len(labs)}")
    out = dict(data)
    for name, values in per_lab.items():
        out[name] = values[0]
        for entry, value in zip(labs, values, strict=True):
            entry[name] = value
    out["labs"] = labs
    return out


# Alternative names accepted wherever a flat override is (DESIGN §7 and the papers' symbols).
ALIASES = {"eta": "persuasion", "n": "best_of_n", "tau": "annotator_precision"}


def parameter_names() -> list[str]:
    """All flat parameter names, in schema order."""
    return list(ModelParams.model_fields)


def resolve_name(name: str) -> str:
    """Map a flat override name (or alias) to its schema field, or raise naming the choices."""
    name = ALIASES.get(name, name)
    if name not in ModelParams.model_fields:
        hint = did_you_mean(name, ModelParams.model_fields)
        raise ScenarioError(key_text(name), f"unknown parameter{hint}; `sociosim describe` lists all")
    return name


def make_params(base: ModelParams | dict | None = None, /, **overrides: Any) -> ModelParams:
    """Validated parameters from a base (params or dict) and flat overrides."""
    if isinstance(base, ModelParams) and not overrides:
        return base  # already validated, and frozen: safe to share
    data = base.model_dump() if isinstance(base, ModelParams) else dict(base or {})
    check_nesting(data, "")
    check_nesting(overrides, "")
    data = {resolve_name(k): v for k, v in data.items()}
    for key, value in overrides.items():
        data[resolve_name(key)] = value
    data = split_lab_values(data)
    try:
        return ModelParams(**data)
    except ValidationError as exc:
        raise error_from_validation(exc, model=ModelParams, flat=ModelParams) from None


def describe_parameter(name: str) -> str:
    """The allowed values of parameter `name`, in words (as error messages and `describe` say them)."""
    return describe_field(name, ModelParams)


__all__ = [
    "ALIASES",
    "DEFAULT_VISIBLE",
    "FEATURES",
    "LAB_FIELDS",
    "LEVERS",
    "ModelParams",
    "describe_parameter",
    "make_params",
    "parameter_names",
    "resolve_name",
]
