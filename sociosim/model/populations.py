"""Array-backed state of users and annotators (a struct of arrays; agents are views on rows).

All per-human state lives here so that a step is a few vectorised passes, whatever N is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from sociosim.config.params import ModelParams
from sociosim.model import dynamics
from sociosim.model.feedback import USER_RATER, Labels, label_pairs
from sociosim.model.network import build_network, row_normalised
from sociosim.model.policy import sample_responses
from sociosim.model.world import (
    Catalogue,
    Cultures,
    UtilityWeights,
    assign_cultures,
    draw_values,
    perceived_reward,
)


@dataclass
class UserPopulation:
    """The users: values, culture, trust, detection skill, activity, and their network."""

    values: np.ndarray  # (N, D)
    initial_values: np.ndarray  # (N, D)
    culture: np.ndarray  # (N,)
    trust: np.ndarray  # (N,)
    detection: np.ndarray  # (N,)
    active: np.ndarray  # (N,) bool
    adjacency: sp.csr_matrix  # symmetric 0/1
    neighbour_weights: sp.csr_matrix  # row-normalised adjacency
    last_response: np.ndarray  # (N,) index of the last response received, -1 if none
    last_outcome: np.ndarray  # (N,) perceived outcome of the last query, nan if none

    @classmethod
    def create(cls, params: ModelParams, cultures: Cultures, rng: np.random.Generator) -> UserPopulation:
        n = params.n_users
        culture = assign_cultures(n, cultures.user_shares, rng)
        values = draw_values(cultures, culture, rng)
        mean = params.detection_mean
        detection = rng.beta(4.0 * mean, 4.0 * (1.0 - mean), n) if 0.0 < mean < 1.0 else np.full(n, mean)
        adjacency = build_network(params, culture, rng)
        return cls(
            values=values,
            initial_values=values.copy(),
            culture=culture,
            trust=np.full(n, params.trust_init),
            detection=detection,
            active=np.ones(n, dtype=bool),
            adjacency=adjacency,
            neighbour_weights=row_normalised(adjacency),
            last_response=np.full(n, -1, dtype=np.int64),
            last_outcome=np.full(n, np.nan),
        )

    @property
    def size(self) -> int:
        return len(self.trust)

    def interact(
        self,
        policy: np.ndarray,
        catalogue: Catalogue,
        params: ModelParams,
        *,
        disclosure: bool,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """A share of active users query the model; trust and values respond. Returns who queried."""
        asking = np.flatnonzero(self.active & (rng.random(self.size) < params.query_share))
        received = sample_responses(policy, len(asking), rng)
        cue_anthro = dynamics.anthro_cue(
            params.cue_anthro, disclosure=disclosure, disclosure_effect=params.disclosure_effect
        )
        outcome = dynamics.perceived_outcome(
            catalogue.quality[received],
            catalogue.anthro[received],
            catalogue.polish[received],
            self.detection[asking],
            cue_anthro=cue_anthro,
            cue_polish=params.cue_polish,
            rng=rng,
        )
        self.trust[asking] = dynamics.update_trust(
            self.trust[asking], outcome, rate=params.trust_rate, loss_aversion=params.loss_aversion
        )
        if params.persuasion > 0:
            self.values[asking] = dynamics.persuade(
                self.values[asking],
                catalogue.stance[received],
                self.trust[asking],
                strength=params.persuasion,
            )
        self.last_response[asking] = received
        self.last_outcome[asking] = outcome
        return asking

    def socialise(self, params: ModelParams) -> None:
        """DeGroot averaging over neighbours (bounded confidence if configured)."""
        self.values = dynamics.degroot_average(
            self.values,
            self.neighbour_weights,
            weight=params.social_weight,
            confidence=params.bounded_confidence,
        )

    def churn(self, threshold: float) -> None:
        """Users whose trust fell below the threshold stop using the model."""
        self.active &= self.trust >= threshold

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
        other = sample_responses(policy, len(raters), rng)
        perceived = perceived_reward(
            catalogue,
            self.values[raters],
            weights,
            polish_bias=params.polish_bias,
            anthro_bias=params.anthro_bias,
            flattery_bias=params.flattery_bias,
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


@dataclass
class AnnotatorPool:
    """Human raters: values, culture, precision `tau_j` and style biases `gp, ga, gg`."""

    values: np.ndarray  # (A, D)
    culture: np.ndarray  # (A,)
    precision: np.ndarray  # (A,)
    polish_bias: np.ndarray
    anthro_bias: np.ndarray
    flattery_bias: np.ndarray
    calibrated: dict[str, np.ndarray]  # the state calibration resets to (initial values, reduced biases)

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

    def perceived(self, catalogue: Catalogue, weights: UtilityWeights) -> np.ndarray:
        """Each annotator's perceived reward of every response, (A, M)."""
        return perceived_reward(
            catalogue,
            self.values,
            weights,
            polish_bias=self.polish_bias,
            anthro_bias=self.anthro_bias,
            flattery_bias=self.flattery_bias,
        )

    def label(
        self, policy: np.ndarray, perceived: np.ndarray, *, per_annotator: int, rng: np.random.Generator
    ) -> Labels:
        """Each annotator labels `per_annotator` pairs drawn from the current policy."""
        rater = np.repeat(np.arange(self.size), per_annotator)
        first = sample_responses(policy, len(rater), rng)
        second = sample_responses(policy, len(rater), rng)
        return label_pairs(perceived, rater, first, second, self.precision, self.culture, rng)
