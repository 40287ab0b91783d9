"""The Mesa agents: users and annotators as thin views over population arrays; developer; regulator.

User and annotator state lives in `populations`; these classes expose one row of it with
properties, so `model.agents`, SolaraViz and agent-level inspection work while the step
stays vectorised. Developers and regulators are few and act in Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import mesa
import numpy as np


class UserAgent(mesa.Agent):
    """A user of the aligned model: a view on row `index` of `model.users`."""

    def __init__(self, model: mesa.Model, index: int):
        super().__init__(model)
        self.index = index

    @property
    def values(self) -> np.ndarray:
        return self.model.users.values[self.index]

    @property
    def culture(self) -> int:
        return int(self.model.users.culture[self.index])

    @property
    def trust(self) -> float:
        """Trust in the lab this user trusts most (with one lab: their trust in it)."""
        return float(self.model.users.trust[self.index].max())

    @property
    def trusts(self) -> np.ndarray:
        """Trust in each lab."""
        return self.model.users.trust[self.index]

    @property
    def detection(self) -> float:
        return float(self.model.users.detection[self.index])

    @property
    def active(self) -> bool:
        return bool(self.model.users.active[self.index])

    @property
    def neighbors(self) -> np.ndarray:
        """Indices of this user's neighbours in the social network."""
        adjacency = self.model.users.adjacency
        return adjacency.indices[adjacency.indptr[self.index] : adjacency.indptr[self.index + 1]]


class AnnotatorAgent(mesa.Agent):
    """A human rater: a view on row `index` of `model.annotators`."""

    def __init__(self, model: mesa.Model, index: int):
        super().__init__(model)
        self.index = index

    @property
    def culture(self) -> int:
        return int(self.model.annotators.culture[self.index])

    @property
    def values(self) -> np.ndarray:
        return self.model.annotators.values[self.index]

    @property
    def precision(self) -> float:
        return float(self.model.annotators.precision[self.index])

    @property
    def biases(self) -> dict[str, float]:
        pool = self.model.annotators
        i = self.index
        return {
            "polish": float(pool.polish_bias[i]),
            "anthro": float(pool.anthro_bias[i]),
            "flattery": float(pool.flattery_bias[i]),
        }


class DeveloperAgent(mesa.Agent):
    """A lab's developer: sets its optimisation pressure (fixed or engagement-seeking) and complies with mandates."""

    def __init__(self, model: mesa.Model, lab: int = 0):
        super().__init__(model)
        self.lab = lab
        self.beta = model.labs[lab].params.beta
        self.last_engagement: float | None = None

    def engagement(self) -> float:
        """The lab's engagement: its active users' trust in it, weighted by how likely each is to query it."""
        return self.model.lab_engagement(self.lab)

    def choose_pressure(self) -> None:
        """Engagement-seeking labs raise beta while engagement rises (never above beta_max)."""
        params = self.model.labs[self.lab].params
        if params.beta_mode != "engagement":
            self.beta = params.beta
            return
        now = self.engagement()
        if self.last_engagement is not None and now >= self.last_engagement:
            self.beta = min(self.beta + params.beta_step, params.beta_max)
        self.last_engagement = now

    def comply(self) -> bool:
        """Whether the lab complies with a mandate (a draw with the compliance probability)."""
        return bool(self.model.rng.random() < self.model.params.compliance)


@dataclass(frozen=True)
class Mandate:
    """A regulator's finding: the lever it imposes on which lab, and why."""

    regulator: int
    lever: str
    reason: str
    lab: int = 0


class RegulatorAgent(mesa.Agent):
    """Audits the policy on a shifted, culture-balanced probe population and decides on a mandate."""

    def __init__(self, model: mesa.Model, number: int):
        super().__init__(model)
        self.number = number
        self.imposed: set[tuple[int, str]] = set()  # (lab, lever) mandates complied with

    def audit(self, found: dict[str, float], *, lab: int = 0) -> Mandate | None:
        """Judge one lab's audit measures: past a threshold, mandate the configured lever (once per lab)."""
        params = self.model.params
        reasons = []
        if found["gap_shift"] > params.audit_gap_threshold:
            reasons.append(f"gap_shift {found['gap_shift']:.3f} > {params.audit_gap_threshold}")
        if found["overtrust"] > params.audit_overtrust_threshold:
            reasons.append(f"overtrust {found['overtrust']:.3f} > {params.audit_overtrust_threshold}")
        lever = params.regulator_lever
        if not reasons or (lab, lever) in self.imposed:
            return None
        return Mandate(self.number, lever, "; ".join(reasons), lab)

    def enforced(self, mandate: Mandate) -> None:
        """Remember a mandate the lab complied with, so it is not imposed on that lab again."""
        self.imposed.add((mandate.lab, mandate.lever))
