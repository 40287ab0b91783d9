"""The MAPS levers and the disclosure label as parameter changes (DESIGN §3).

One function, `apply_lever`, says what each lever changes; a scenario can set a lever
statically (`lever = "annotation"`) and a regulator imposes the same change mid-run.
"""

from __future__ import annotations

from typing import Any

from sociosim.config.params import ModelParams, make_params

LEVER_CHANGES: dict[str, dict[str, Any]] = {
    # M: richer supervision - the reward model sees harm; constitution terms on harm and agreement
    "misspecification": {"visible_features": "+harm", "harm_penalty": 1.0, "agree_penalty": 0.5},
    # A: a culture-balanced pool, balanced aggregation, calibration against gold labels, more labels,
    # AI-assisted rating that perceives half of the masked defects
    "annotation": {
        "annotator_shares": "equal_shares",
        "aggregation": "balanced",
        "calibrate_every": 10,
        "labels_per_step": 40,
        "defect_detection": 0.5,
    },
    # P: a KL budget on the optimiser
    "pressure": {"kl_budget": "regulator_kl_budget"},
    # S: a share of labels from culture-balanced probe data with rare contexts
    "shift": {"shift_training": 0.3},
    # transparency: the disclosure label
    "disclosure": {"disclosure": True},
}


def lever_changes(params: ModelParams, lever: str) -> dict[str, Any]:
    """The parameter values a lever sets, never weakening what is already in force."""
    changes: dict[str, Any] = {}
    for name, target in LEVER_CHANGES[lever].items():
        current = getattr(params, name)
        if target == "+harm":
            value = current if "harm" in current else [*current, "harm"]
        elif target == "equal_shares":
            value = [1.0 / params.n_cultures] * params.n_cultures
        elif target == "regulator_kl_budget":
            value = (
                params.regulator_kl_budget if current is None else min(current, params.regulator_kl_budget)
            )
        elif name == "calibrate_every":
            value = min(current, target) if current else target
        elif isinstance(target, bool | str):
            value = target
        else:
            value = max(current, target)
        changes[name] = value
    return changes


def apply_lever(params: ModelParams, lever: str) -> ModelParams:
    """A copy of `params` with a lever in force ('none' changes nothing)."""
    if lever == "none":
        return params
    return make_params(params, **lever_changes(params, lever))
