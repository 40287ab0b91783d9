"""Labs (DESIGN §3, v2): each lab's annotator pool, label window, reward model and policy.

A lab trains its own proxy reward on its own annotators' labels and optimises its own
policy against it; the response catalogue, the users and the probe population are shared.
With one lab the model is the single-lab model: the same draws in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sociosim.config.levers import apply_lever
from sociosim.config.params import ModelParams
from sociosim.model.feedback import (
    AI_RATER,
    PROBE_RATER,
    Labels,
    LabelWindow,
    RewardModel,
    constitution_terms,
    feature_matrix,
    label_pairs,
)
from sociosim.model.policy import optimise, sample_pairs
from sociosim.model.populations import AnnotatorPool, UserPopulation
from sociosim.model.world import Catalogue, Cultures, UtilityWeights


def new_reward_model(params: ModelParams, catalogue: Catalogue) -> RewardModel:
    """An untrained reward model on the features `params` lets the lab see, with its constitution."""
    features = feature_matrix(catalogue, list(params.visible_features))
    constitution = constitution_terms(
        catalogue, harm=params.harm_penalty, agree=params.agree_penalty, anthro=params.anthro_penalty
    )
    return RewardModel(features=features, theta=np.zeros(features.shape[1]), constitution=constitution)


@dataclass
class Lab:
    """One lab's training state: its parameters, annotators, label window, reward model and policy."""

    index: int
    params: ModelParams
    annotators: AnnotatorPool
    window: LabelWindow
    reward_model: RewardModel
    policy: np.ndarray
    base: np.ndarray  # pi_0, shared by every lab
    pressure: float = 0.0  # the beta (or n) in force
    last_pairs: tuple[np.ndarray, np.ndarray] = field(
        default_factory=lambda: (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
    )
    last_perceived: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))

    @classmethod
    def create(
        cls,
        index: int,
        params: ModelParams,
        catalogue: Catalogue,
        annotators: AnnotatorPool,
        base: np.ndarray,
    ) -> Lab:
        return cls(
            index=index,
            params=params,
            annotators=annotators,
            window=LabelWindow(steps=params.label_window),
            reward_model=new_reward_model(params, catalogue),
            policy=base.copy(),
            base=base,
            last_perceived=np.empty((0, catalogue.size)),
        )

    # --- labels -------------------------------------------------------------------------
    def collect_labels(
        self,
        *,
        catalogue: Catalogue,
        weights: UtilityWeights,
        shifted: UtilityWeights,
        base: np.ndarray,
        probe_panel: AnnotatorPool,
        users: UserPopulation,
        asking: np.ndarray,
        rng: np.random.Generator,
    ) -> None:
        """This step's labels from every channel of this lab into its training window."""
        p = self.params
        probe_per_rater = int(round(p.labels_per_step * p.shift_training))
        human_per_rater = p.labels_per_step - probe_per_rater
        perceived = self.annotators.perceived(catalogue, weights, defect_detection=p.defect_detection)
        labelled = base if p.label_policy == "base" else self.policy
        human = self.annotators.label(labelled, perceived, per_annotator=human_per_rater, rng=rng)
        batches = [human]
        self.last_pairs = (human.first, human.second)
        self.last_perceived = perceived
        if probe_per_rater:
            probe_perceived = probe_panel.perceived(catalogue, shifted, defect_detection=p.defect_detection)
            probe = probe_panel.label(base, probe_perceived, per_annotator=probe_per_rater, rng=rng)
            batches.append(
                Labels(probe.first, probe.second, probe.first_wins, np.full(len(probe), PROBE_RATER))
            )
        if p.rlaif and p.rlaif_labels:
            batches.append(self._ai_labels(p.rlaif_labels, rng))
        if p.thumbs_feedback:
            mine = asking[users.last_lab[asking] == self.index]  # users rate the lab they asked
            batches.append(
                users.thumbs(mine, self.policy, catalogue, weights, p, budget=p.thumbs_labels, rng=rng)
            )
        self.window.push(Labels.concat(batches))

    def _ai_labels(self, count: int, rng: np.random.Generator) -> Labels:
        """RLAIF: the current reward model plus constitution rates on-policy pairs (it reinforces itself)."""
        first, second = sample_pairs(self.policy, count, rng)
        reward = self.reward_model.reward()[None, :]
        return label_pairs(
            reward, np.zeros(count, dtype=np.int64), first, second, np.ones(1), np.array([AI_RATER]), rng
        )

    # --- training -------------------------------------------------------------------------
    def refit(self) -> None:
        """Refit the reward model on the label window."""
        p = self.params
        self.reward_model.refit(self.window, l2=p.l2, balanced=p.aggregation == "balanced")

    def update_policy(self, beta: float) -> None:
        """Optimise against the current reward at pressure `beta`, within any beta cap or KL budget."""
        p = self.params
        self.policy, self.pressure = optimise(
            self.reward_model.reward(),
            self.base,
            optimizer=p.optimizer,
            beta=beta,
            n=p.best_of_n,
            beta_cap=p.beta_cap,
            kl_budget=p.kl_budget,
        )

    def impose(
        self, lever: str, *, catalogue: Catalogue, cultures: Cultures, beta: float, rng: np.random.Generator
    ) -> None:
        """Put a MAPS lever (or the disclosure label) in force now, as a regulator's mandate to this lab."""
        self.params = p = apply_lever(self.params, lever)
        if lever == "annotation":
            self.annotators = AnnotatorPool.create(p, cultures, rng, shares=np.asarray(p.annotator_shares))
        if lever == "misspecification":
            self.reward_model = new_reward_model(p, catalogue)
            self.refit()
        self.update_policy(beta)


__all__ = ["Lab", "new_reward_model"]
