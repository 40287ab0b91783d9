"""Array-backed state of users and annotators (a struct of arrays; agents are views on rows).

All per-human state lives here so that a step is a few vectorised passes, whatever N is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import scipy.sparse as sp
from scipy.special import expit

from sociosim.config.params import ModelParams
from sociosim.model import dynamics
from sociosim.model.feedback import USER_RATER, Labels, label_pairs
from sociosim.model.network import build_network, row_normalised
from sociosim.model.policy import responses_at, sample_other, sample_pairs
from sociosim.model.world import (
    Catalogue,
    Cultures,
    UtilityWeights,
    assign_cultures,
    draw_values,
    perceived_reward,
)

T = TypeVar("T")


@dataclass
class UserPopulation:
    """The users: values, culture, trust, detection skill, activity, and their network."""

    values: np.ndarray  # (N, D)
    initial_values: np.ndarray  # (N, D)
    culture: np.ndarray  # (N,)
    trust: np.ndarray  # (N, L): trust in each lab
    trust_cal: np.ndarray  # (N, L) shadow trust from the real outcomes: what capability warrants
    trust_plain: np.ndarray  # (N, L) shadow trust judged without the persona cue
    detection: np.ndarray  # (N,)
    active: np.ndarray  # (N,) bool
    adjacency: sp.csr_matrix  # symmetric 0/1
    neighbour_weights: sp.csr_matrix  # row-normalised adjacency
    last_response: np.ndarray  # (N,) index of the last response received, -1 if none
    last_outcome: np.ndarray  # (N,) perceived outcome of the last query, nan if none
    last_lab: np.ndarray  # (N,) the lab queried last, -1 if none
    _isolated: tuple[sp.csr_matrix, np.ndarray] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def create(cls, params: ModelParams, cultures: Cultures, rng: np.random.Generator) -> UserPopulation:
        n, labs = params.n_users, params.n_labs
        culture = assign_cultures(n, cultures.user_shares, rng)
        values = draw_values(cultures, culture, rng)
        mean = params.detection_mean
        detection = rng.beta(4.0 * mean, 4.0 * (1.0 - mean), n) if 0.0 < mean < 1.0 else np.full(n, mean)
        adjacency = build_network(params, culture, rng)
        return cls(
            values=values,
            initial_values=values.copy(),
            culture=culture,
            trust=np.full((n, labs), params.trust_init),
            trust_cal=np.full((n, labs), params.trust_init),
            trust_plain=np.full((n, labs), params.trust_init),
            detection=detection,
            active=np.ones(n, dtype=bool),
            adjacency=adjacency,
            neighbour_weights=row_normalised(adjacency),
            last_response=np.full(n, -1, dtype=np.int64),
            last_outcome=np.full(n, np.nan),
            last_lab=np.full(n, -1, dtype=np.int64),
        )

    @property
    def size(self) -> int:
        return len(self.trust)

    def usage(self, lab_choice: float) -> np.ndarray:
        """(N, L): how likely each user is to pick each lab when querying, `softmax(lab_choice T_i.)`."""
        labs = self.trust.shape[1]
        if labs == 1:
            return np.ones_like(self.trust)
        if labs == 2:  # softmax of two is a logistic of the difference: one pass, no row reductions
            second = expit(lab_choice * (self.trust[:, 1] - self.trust[:, 0]))
            return np.column_stack([1.0 - second, second])
        top = self.trust[:, 0].copy()
        for lab in range(1, labs):  # a loop over labs, not users: row maxima without a slow axis-1 reduction
            np.maximum(top, self.trust[:, lab], out=top)
        weights = np.exp(lab_choice * (self.trust - top[:, None]))
        return weights / weights.sum(axis=1, keepdims=True)

    def interact(
        self,
        policies: list[np.ndarray],
        catalogue: Catalogue,
        params: ModelParams,
        *,
        anthro_cues: np.ndarray,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """A share of active users query a lab (picked by trust) and get its answer; trust and values respond.

        Returns who queried; `last_lab` says which lab each asked. `anthro_cues` holds each
        lab's persona cue weight (lower where a disclosure label is shown).
        """
        asking = np.flatnonzero(self.active & (rng.random(self.size) < params.query_share))
        if len(policies) == 1:  # one lab: plain columns, no per-asker lab index to select by
            lab: int | np.ndarray = 0
            uniforms = rng.random(len(asking))
            received = responses_at(policies[0], uniforms)
        else:
            chance = self.usage(params.lab_choice)[asking]
            draw = rng.random(len(asking))
            lab = np.zeros(len(asking), dtype=np.int64)
            below = chance[:, 0].copy()
            for column in range(1, len(policies)):  # inverse CDF over the labs, column by column
                lab += draw >= below
                below += chance[:, column]
            uniforms = rng.random(len(asking))
            received = np.empty(len(asking), dtype=np.int64)
            for index, policy in enumerate(policies):
                chose = lab == index
                received[chose] = responses_at(policy, uniforms[chose])
        outcomes = dynamics.query_outcomes(
            catalogue.quality[received],
            catalogue.defect[received],
            catalogue.anthro[received],
            catalogue.polish[received],
            self.detection[asking],
            cue_anthro=anthro_cues[lab],
            cue_polish=params.cue_polish,
            rng=rng,
        )
        outcome = outcomes.perceived
        for trust, seen in (
            (self.trust, outcome),
            (self.trust_cal, outcomes.real),
            (self.trust_plain, outcomes.plain),
        ):
            _put(
                trust,
                asking,
                lab,
                dynamics.update_trust(
                    _take(trust, asking, lab),
                    seen,
                    rate=params.trust_rate,
                    loss_aversion=params.loss_aversion,
                ),
            )
        if params.persuasion > 0:
            self.values[asking] = dynamics.persuade(
                self.values[asking],
                catalogue.stance[received],
                _take(self.trust, asking, lab),
                strength=params.persuasion,
            )
        self.last_response[asking] = received
        self.last_outcome[asking] = outcome
        self.last_lab[asking] = lab
        return asking

    def socialise(self, params: ModelParams) -> None:
        """DeGroot averaging over neighbours (bounded confidence if configured)."""
        if self._isolated is None or self._isolated[0] is not self.neighbour_weights:
            self._isolated = (self.neighbour_weights, dynamics.isolated_users(self.neighbour_weights))
        self.values = dynamics.degroot_average(
            self.values,
            self.neighbour_weights,
            weight=params.social_weight,
            confidence=params.bounded_confidence,
            isolated=self._isolated[1],
        )

    def churn(self, threshold: float) -> None:
        """Users whose trust in every lab fell below the threshold stop using the models."""
        if self.trust.shape[1] == 1:
            self.active &= self.trust[:, 0] >= threshold
            return
        keeps = self.trust[:, 0] >= threshold
        for lab in range(1, self.trust.shape[1]):  # column by column: faster than an axis-1 reduction
            keeps |= self.trust[:, lab] >= threshold
        self.active &= keeps

    def thumbs(
        self,
        asking: np.ndarray,
        policy: np.ndarray,
        catalogue: Catalogue,
        weights: UtilityWeights,
        params: ModelParams,
        *,
        budget: int,
        rng: np.random.Generator,
    ) -> Labels:
        """Thumbs as comparisons: a sample of askers compare what they got with another draw."""
        if len(asking) == 0 or budget == 0:
            return Labels.empty()
        raters = asking if len(asking) <= budget else rng.choice(asking, budget, replace=False)
        other = sample_other(policy, self.last_response[raters], rng)
        perceived = perceived_reward(
            catalogue,
            self.values[raters],
            weights,
            polish_bias=params.polish_bias,
            anthro_bias=params.anthro_bias,
            flattery_bias=params.flattery_bias,
            defect_detection=params.defect_detection,
        )
        local = np.arange(len(raters))
        return label_pairs(
            perceived,
            local,
            self.last_response[raters],
            other,
            np.full(len(raters), params.annotator_precision),
            np.full(len(raters), USER_RATER),
            rng,
        )


def _take(state: np.ndarray, asking: np.ndarray, lab: int | np.ndarray) -> np.ndarray:
    """`state[asking, lab]`; for one lab index, through the column (a 1-D gather, no 2-D fancy index)."""
    return state[:, lab][asking] if isinstance(lab, int) else state[asking, lab]


def _put(state: np.ndarray, asking: np.ndarray, lab: int | np.ndarray, values: np.ndarray) -> None:
    """`state[asking, lab] = values`, through the column for one lab index."""
    if isinstance(lab, int):
        state[:, lab][asking] = values
    else:
        state[asking, lab] = values


#: the AnnotatorPool fields its cached per-rater quantities are computed from
RATER_STATE = frozenset({"values", "culture", "precision", "polish_bias", "anthro_bias", "flattery_bias"})


@dataclass
class AnnotatorPool:
    """Human raters: values, culture, precision `tau_j` and style biases `gp, ga, gg`.

    Quantities that depend only on the raters (their perceived rewards, the measures'
    bias ratio) are cached until the raters change: assigning any field of `RATER_STATE`
    (as `drift`, `calibrate` and `x.values += ...` do) clears the cache. Code that writes
    into those arrays element by element must call `touch()`.
    """

    values: np.ndarray  # (A, D)
    culture: np.ndarray  # (A,)
    precision: np.ndarray  # (A,)
    polish_bias: np.ndarray
    anthro_bias: np.ndarray
    flattery_bias: np.ndarray
    calibrated: dict[str, np.ndarray]  # the state calibration resets to (initial values, reduced biases)
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __setattr__(self, name: str, value) -> None:
        if name in RATER_STATE:
            self.__dict__.get("_cache", {}).clear()
        object.__setattr__(self, name, value)

    @classmethod
    def create(
        cls,
        params: ModelParams,
        cultures: Cultures,
        rng: np.random.Generator,
        *,
        shares: np.ndarray | None = None,
    ) -> AnnotatorPool:
        a = params.n_annotators
        culture = assign_cultures(a, cultures.annotator_shares if shares is None else shares, rng)
        values = draw_values(cultures, culture, rng)
        precision = params.annotator_precision * rng.lognormal(0.0, 0.25, a)
        spread = params.bias_spread

        def biases(mean: float) -> np.ndarray:
            return mean + spread * rng.standard_normal(a)

        pool = cls(
            values,
            culture,
            precision,
            biases(params.polish_bias),
            biases(params.anthro_bias),
            biases(params.flattery_bias),
            {},
        )
        pool.calibrated = pool._state()
        keep = 1.0 - params.calibration_strength
        for name in ("polish_bias", "anthro_bias", "flattery_bias"):
            pool.calibrated[name] *= keep
        return pool

    @property
    def size(self) -> int:
        return len(self.culture)

    def touch(self) -> None:
        """Forget the cached per-rater quantities (after writing into the raters' arrays in place)."""
        self._cache.clear()

    def cached(self, key: tuple, sources: tuple, compute: Callable[[], T]) -> T:
        """`compute()`, remembered per `key` (values) and `sources` (by identity) until the raters change.

        The entry holds on to `sources`, so no other object can take their ids while it lives.
        Arrays come back read-only.
        """
        key = (*key, *map(id, sources))
        if key not in self._cache:
            found = compute()
            if isinstance(found, np.ndarray):
                found.flags.writeable = False
            self._cache[key] = (sources, found)
        return self._cache[key][1]

    def _state(self) -> dict[str, np.ndarray]:
        names = ("values", "polish_bias", "anthro_bias", "flattery_bias")
        return {name: getattr(self, name).copy() for name in names}

    def drift(self, *, bias_growth: float, value_step: float, rng: np.random.Generator) -> None:
        """Fatigue and style over substance: biases grow, values random-walk."""
        if bias_growth > 0:
            self.polish_bias += bias_growth
            self.anthro_bias += bias_growth
            self.flattery_bias += bias_growth
        if value_step > 0:
            self.values += value_step * rng.standard_normal(self.values.shape)

    def calibrate(self) -> None:
        """Reset values and biases to the calibrated state: drift undone, a share of style bias removed."""
        for name, array in self.calibrated.items():
            setattr(self, name, array.copy())

    def perceived(
        self, catalogue: Catalogue, weights: UtilityWeights, *, defect_detection: float
    ) -> np.ndarray:
        """Each annotator's perceived reward of every response, (A, M), computed once while the raters stay."""
        return self.cached(
            ("perceived", weights, defect_detection),
            (catalogue,),
            lambda: perceived_reward(
                catalogue,
                self.values,
                weights,
                polish_bias=self.polish_bias,
                anthro_bias=self.anthro_bias,
                flattery_bias=self.flattery_bias,
                defect_detection=defect_detection,
            ),
        )

    def label(
        self, policy: np.ndarray, perceived: np.ndarray, *, per_annotator: int, rng: np.random.Generator
    ) -> Labels:
        """Each annotator labels `per_annotator` pairs of distinct responses drawn from `policy`."""
        rater = np.repeat(np.arange(self.size), per_annotator)
        first, second = sample_pairs(policy, len(rater), rng)
        return label_pairs(perceived, rater, first, second, self.precision, self.culture, rng)
