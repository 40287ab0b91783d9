"""The users' dynamics of DESIGN §3 as a bare numpy loop: the yardstick for sociosim's step.

What a competent hand-written numpy program does for the same model: state in flat arrays,
the network as one row-normalised CSR matrix, one vectorised pass per equation. It has no
feedback loop, no measures and no Mesa: only what every user does each step (interact,
DeGroot averaging, churn), with random draws in the same order as `sociosim`, so that
driven by the same policy and generator it reproduces sociosim's users exactly. Like
sociosim's users it keeps the two shadow trusts of DESIGN §3 (v2): `trust_cal`, learnt
from the real outcomes, and `trust_plain`, judged without the persona cue; they need no
draws of their own, only the same update twice more.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.special import expit


@dataclass(frozen=True)
class UserRules:
    """The constants of the users' equations (the sociosim parameters of the same names)."""

    query_share: float
    cue_anthro: float  # already scaled down by a disclosure label, if any
    cue_polish: float
    trust_rate: float
    loss_aversion: float
    persuasion: float
    social_weight: float
    churn_threshold: float

    @classmethod
    def from_params(cls, params) -> UserRules:
        """The rules of a sociosim `ModelParams` (the default DeGroot rule: no bounded confidence)."""
        if params.bounded_confidence is not None:
            raise ValueError(
                "bounded_confidence: the reference implements plain DeGroot averaging only (None)"
            )
        cue_anthro = params.cue_anthro * (1.0 - params.disclosure_effect if params.disclosure else 1.0)
        return cls(
            query_share=params.query_share,
            cue_anthro=cue_anthro,
            cue_polish=params.cue_polish,
            trust_rate=params.trust_rate,
            loss_aversion=params.loss_aversion,
            persuasion=params.persuasion,
            social_weight=params.social_weight,
            churn_threshold=params.churn_threshold,
        )


@dataclass(frozen=True)
class Responses:
    """The catalogue features the users' dynamics read: quality, masked defect, anthro, polish and stance (M, D)."""

    quality: np.ndarray
    defect: np.ndarray  # the masked defect x: fails the real outcome, invisible to the cues
    anthro: np.ndarray
    polish: np.ndarray
    stance: np.ndarray

    @classmethod
    def from_catalogue(cls, catalogue) -> Responses:
        return cls(catalogue.quality, catalogue.defect, catalogue.anthro, catalogue.polish, catalogue.stance)


class ReferenceUsers:
    """N users as flat arrays; `step(policy, rng)` advances them by one step."""

    def __init__(
        self,
        *,
        values: np.ndarray,
        trust: np.ndarray,
        detection: np.ndarray,
        active: np.ndarray,
        adjacency: sp.csr_matrix,
        rules: UserRules,
        responses: Responses,
        trust_cal: np.ndarray | None = None,
        trust_plain: np.ndarray | None = None,
    ):
        self.values = np.array(values, dtype=float)
        self.trust = np.array(trust, dtype=float)
        # the shadow trusts start where trust starts unless given
        self.trust_cal = np.array(trust if trust_cal is None else trust_cal, dtype=float)
        self.trust_plain = np.array(trust if trust_plain is None else trust_plain, dtype=float)
        self.detection = np.asarray(detection, dtype=float)
        self.active = np.array(active, dtype=bool)
        self.rules = rules
        self.responses = responses
        degree = np.diff(adjacency.indptr)
        inverse = np.divide(1.0, degree, out=np.zeros(len(degree)), where=degree > 0)
        self.weights = sp.diags(inverse) @ adjacency  # row-normalised: the mean over neighbours
        self.has_neighbours = degree > 0

    @classmethod
    def from_population(cls, users, params, catalogue) -> ReferenceUsers:
        """A copy of a sociosim `UserPopulation`'s state (the reference does not draw its own world)."""
        return cls(
            values=users.values,
            trust=users.trust[:, 0],  # one lab: the reference models the single-lab users
            detection=users.detection,
            active=users.active,
            adjacency=users.adjacency,
            rules=UserRules.from_params(params),
            responses=Responses.from_catalogue(catalogue),
            trust_cal=users.trust_cal[:, 0],
            trust_plain=users.trust_plain[:, 0],
        )

    def step(self, policy: np.ndarray, rng: np.random.Generator) -> None:
        """One step: a share of active users query and update trust and values; DeGroot; churn."""
        r, y = self.rules, self.responses
        asking = np.flatnonzero(self.active & (rng.random(len(self.trust)) < r.query_share))
        cdf = np.cumsum(policy)
        cdf[-1] = 1.0
        got = np.searchsorted(cdf, rng.random(len(asking)), side="right").clip(max=len(policy) - 1)
        # outcome: the real one (success with probability sigma(q - x), seen with probability d)
        # or judged by cues, which the masked defect does not touch
        quality = y.quality[got]
        real = rng.random(len(got)) < expit(quality - y.defect[got])
        cue_draw = rng.random(len(got))
        style = r.cue_polish * y.polish[got]
        by_cue = cue_draw < expit(quality + r.cue_anthro * y.anthro[got] + style)
        sees = rng.random(len(got)) < self.detection[asking]
        outcome = np.where(sees, real, by_cue).astype(float)
        # the same draws without the persona term in the cue
        plain = np.where(sees, real, cue_draw < expit(quality + style)).astype(float)
        # trust and its two shadows, with losses weighing loss_aversion times more
        for state, seen in (
            (self.trust, outcome),
            (self.trust_cal, real.astype(float)),
            (self.trust_plain, plain),
        ):
            before = state[asking]
            rate = np.minimum(np.where(seen < before, r.trust_rate * r.loss_aversion, r.trust_rate), 1.0)
            state[asking] = np.clip(before + rate * (seen - before), 0.0, 1.0)
        trust = self.trust[asking]
        # persuasion, scaled by trust
        if r.persuasion > 0:
            values = self.values[asking]
            self.values[asking] = values + (r.persuasion * trust)[:, None] * (y.stance[got] - values)
        # DeGroot averaging over neighbours; isolated users keep their values
        if r.social_weight > 0 and self.weights.nnz:
            mixed = (1.0 - r.social_weight) * self.values + r.social_weight * (self.weights @ self.values)
            self.values = np.where(self.has_neighbours[:, None], mixed, self.values)
        # churn
        self.active &= self.trust >= r.churn_threshold
