"""`AlignmentModel`: the wiring of world, feedback, policy and society, and the step order.

Step order (DESIGN §3): users interact -> social influence -> annotators label and drift
-> developer retrains (every `retrain_every`) -> regulators audit (every `audit_every`)
-> data collected.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import mesa
import numpy as np
import pandas as pd

from sociosim.config.levers import apply_lever
from sociosim.config.params import ModelParams, make_params
from sociosim.model.agents import AnnotatorAgent, DeveloperAgent, Mandate, RegulatorAgent, UserAgent
from sociosim.model.dynamics import anthro_cue
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
from sociosim.model.measures import measure_columns
from sociosim.model.metrics import (
    Baseline,
    alignment_measures,
    annotator_measures,
    homogenisation_measures,
    population_values,
    run_state_measures,
    trust_measures,
)
from sociosim.model.network import to_networkx
from sociosim.model.policy import optimise, sample_responses
from sociosim.model.populations import AnnotatorPool, UserPopulation
from sociosim.model.world import UtilityWeights, draw_catalogue, draw_cultures


class AlignmentModel(mesa.Model):
    """A simulated aligned model, its annotators and developer, and the society that uses it.

    Pass a `ModelParams` as `params` and/or flat overrides (`beta=4`, `n_users=500`);
    `rng` seeds every draw (int, SeedSequence or Generator).
    """

    def __init__(self, *, params: ModelParams | dict | None = None, rng: Any = None, **overrides: Any):
        super().__init__(rng=rng)
        requested = make_params(params, **overrides)
        self.params = apply_lever(requested, requested.lever)
        p = self.params
        rng = self.rng
        self.cultures = draw_cultures(p, rng)
        self.catalogue = draw_catalogue(p, rng)
        self.weights = UtilityWeights.from_params(p)
        self.shifted_weights = self._shifted_weights()
        self.base = np.full(p.n_responses, 1.0 / p.n_responses)
        self.users = UserPopulation.create(p, self.cultures, rng)
        self.annotators = AnnotatorPool.create(p, self.cultures, rng)
        balanced = np.full(self.cultures.count, 1.0 / self.cultures.count)
        self.probe_panel = AnnotatorPool.create(p, self.cultures, rng, shares=balanced)
        self.baseline = Baseline.capture(self.users, self.cultures)
        self.window = LabelWindow(steps=p.label_window)
        self.reward_model = self._new_reward_model()
        self.policy = self.base.copy()
        self.pressure = 0.0  # the beta (or n) in force
        self.events: list[dict[str, Any]] = []
        self.measures: dict[str, float] = {}
        self._last_pairs = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
        self._last_perceived = np.empty((0, p.n_responses))

        # a registered Mesa view per user up to `user_views` users; above it, views on demand (user_agent)
        self._user_views: dict[int, UserAgent] = {}
        if p.n_users <= p.user_views:
            self._user_views = dict(
                enumerate(UserAgent.create_agents(self, p.n_users, list(range(p.n_users))))
            )
        AnnotatorAgent.create_agents(self, p.n_annotators, list(range(p.n_annotators)))
        self.developer = DeveloperAgent(self)
        self.regulators = [RegulatorAgent(self, k) for k in range(p.n_regulators)]

        # pre-training: one round of labels on the base policy and a first fit
        self._collect_labels(np.empty(0, dtype=np.int64))
        self.retrain()
        self.measures = self.compute_measures()
        self.datacollector = mesa.DataCollector(
            model_reporters={
                name: partial(_read_measure, name=name) for name in measure_columns(self.cultures.count)
            }
        )

    # --- the step --------------------------------------------------------------------------
    def step(self) -> None:
        """One step in the order of DESIGN §3."""
        p = self.params
        asking = self.users.interact(self.policy, self.catalogue, p, disclosure=p.disclosure, rng=self.rng)
        self.users.socialise(p)
        self.users.churn(p.churn_threshold)
        self.annotators.drift(bias_growth=p.drift, value_step=p.value_drift, rng=self.rng)
        if p.calibrate_every and self.steps % p.calibrate_every == 0:
            self.annotators.calibrate()
        self._collect_labels(asking)
        if self.steps % p.retrain_every == 0:
            self.developer.choose_pressure()
            self.retrain()
        if self.regulators and self.steps % p.audit_every == 0:
            found = self.audit_measures()
            for regulator in self.regulators:
                mandate = regulator.audit(found)
                if mandate is not None:
                    self.enforce(regulator, mandate)
        self.measures = self.compute_measures()
        self.datacollector.collect(self)

    # --- feedback and training ------------------------------------------------------------
    def _new_reward_model(self) -> RewardModel:
        p = self.params
        features = feature_matrix(self.catalogue, list(p.visible_features))
        constitution = constitution_terms(
            self.catalogue, harm=p.harm_penalty, agree=p.agree_penalty, anthro=p.anthro_penalty
        )
        return RewardModel(features=features, theta=np.zeros(features.shape[1]), constitution=constitution)

    def _collect_labels(self, asking: np.ndarray) -> None:
        """This step's labels from every channel into the training window."""
        p, rng = self.params, self.rng
        probe_per_rater = int(round(p.labels_per_step * p.shift_training))
        human_per_rater = p.labels_per_step - probe_per_rater
        perceived = self.annotators.perceived(self.catalogue, self.weights)
        human = self.annotators.label(self.policy, perceived, per_annotator=human_per_rater, rng=rng)
        batches = [human]
        self._last_pairs = (human.first, human.second)
        self._last_perceived = perceived
        if probe_per_rater:
            probe_perceived = self.probe_panel.perceived(self.catalogue, self.shifted_weights)
            probe = self.probe_panel.label(self.base, probe_perceived, per_annotator=probe_per_rater, rng=rng)
            batches.append(
                Labels(probe.first, probe.second, probe.first_wins, np.full(len(probe), PROBE_RATER))
            )
        if p.rlaif and p.rlaif_labels:
            batches.append(self._ai_labels(p.rlaif_labels))
        if p.thumbs_feedback:
            batches.append(
                self.users.thumbs(
                    asking, self.policy, self.catalogue, self.weights, p, budget=p.thumbs_labels, rng=rng
                )
            )
        self.window.push(Labels.concat(batches))

    def _ai_labels(self, count: int) -> Labels:
        """RLAIF: the current reward model plus constitution rates on-policy pairs (it reinforces itself)."""
        first = sample_responses(self.policy, count, self.rng)
        second = sample_responses(self.policy, count, self.rng)
        reward = self.reward_model.reward()[None, :]
        return label_pairs(
            reward, np.zeros(count, dtype=np.int64), first, second, np.ones(1), np.array([AI_RATER]), self.rng
        )

    def retrain(self) -> None:
        """Refit the reward model on the label window, then the policy under the pressure in force."""
        self._refit()
        self.update_policy()

    def _refit(self) -> None:
        p = self.params
        self.reward_model.refit(self.window.labels(), l2=p.l2, balanced=p.aggregation == "balanced")

    def update_policy(self) -> None:
        """Optimise against the current reward, respecting any beta cap or KL budget (the P lever)."""
        p = self.params
        self.policy, self.pressure = optimise(
            self.reward_model.reward(),
            self.base,
            optimizer=p.optimizer,
            beta=self.developer.beta,
            n=p.best_of_n,
            beta_cap=p.beta_cap,
            kl_budget=p.kl_budget,
        )

    # --- institutions ----------------------------------------------------------------------
    def _shifted_weights(self) -> UtilityWeights:
        """The utility weights of the shifted probe population (rare contexts: values and harm weigh more)."""
        p = self.params
        return self.weights.shifted(value_weight=p.shift_value_weight, harm_weight=p.shift_harm_weight)

    def enforce(self, regulator: RegulatorAgent, mandate: Mandate) -> None:
        """Act on a regulator's mandate: the lab complies (or not), the event is logged, the lever imposed."""
        complied = self.developer.comply()
        self.events.append(
            {
                "step": self.steps,
                "regulator": mandate.regulator,
                "lever": mandate.lever,
                "reason": mandate.reason,
                "complied": complied,
            }
        )
        if complied:
            regulator.enforced(mandate)
            self.impose(mandate.lever)

    def impose(self, lever: str) -> None:
        """Apply a MAPS lever (or the disclosure label) now, as a regulator's mandate."""
        self.params = p = apply_lever(self.params, lever)
        self.shifted_weights = self._shifted_weights()
        if lever == "annotation":
            self.annotators = AnnotatorPool.create(
                p, self.cultures, self.rng, shares=np.asarray(p.annotator_shares)
            )
        if lever == "misspecification":
            self.reward_model = self._new_reward_model()
            self._refit()
        self.update_policy()

    def events_frame(self) -> pd.DataFrame:
        """Every intervention so far: step, regulator, lever, reason, complied."""
        return pd.DataFrame(self.events, columns=["step", "regulator", "lever", "reason", "complied"])

    # --- measures ---------------------------------------------------------------------------
    def audit_measures(self) -> dict[str, float]:
        """What a regulator's audit sees: the alignment measures and trust, for the policy now."""
        return self._audit(*population_values(self.users, self.cultures))

    def _audit(self, centroids: np.ndarray, mean_values: np.ndarray) -> dict[str, float]:
        """The alignment and trust families for the policy now (given the users' value centroids)."""
        p = self.params
        found = alignment_measures(
            policy=self.policy,
            base=self.base,
            reward=self.reward_model.reward(),
            catalogue=self.catalogue,
            cultures=self.cultures,
            weights=self.weights,
            shifted=self.shifted_weights,
            centroids=centroids,
            mean_values=mean_values,
        )
        cue = anthro_cue(p.cue_anthro, disclosure=p.disclosure, disclosure_effect=p.disclosure_effect)
        found.update(
            trust_measures(self.users, self.policy, self.catalogue, cue_anthro=cue, cue_polish=p.cue_polish)
        )
        return found

    def compute_measures(self) -> dict[str, float]:
        """Every DESIGN §4 measure for the current state (the DataCollector records them in the registry's order)."""
        centroids, mean_values = population_values(self.users, self.cultures)
        out = self._audit(centroids, mean_values)
        out.update(homogenisation_measures(self.users, self.cultures, self.baseline, centroids))
        out.update(
            annotator_measures(
                self.annotators, self._last_perceived, self.catalogue, self.weights, self._last_pairs
            )
        )
        out.update(
            run_state_measures(
                pressure=self.pressure,
                engagement=self.developer.engagement(),
                interventions=sum(e["complied"] for e in self.events),
            )
        )
        return out

    def results(self) -> pd.DataFrame:
        """The collected measures, one row per step, with an integer `step` column first."""
        frame = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        frame.insert(0, "step", np.arange(1, len(frame) + 1, dtype=np.int64))
        return frame

    # --- inspection -------------------------------------------------------------------------
    def agent_snapshot(self) -> pd.DataFrame:
        """Every user's state now: culture, trust, detection, active flag and values."""
        users = self.users
        data = {
            "step": np.full(users.size, self.steps, dtype=np.int64),
            "user": np.arange(users.size, dtype=np.int64),
            "culture": users.culture.astype(np.int64),
            "trust": users.trust.copy(),
            "detection": users.detection.copy(),
            "active": users.active.copy(),
        }
        for k in range(users.values.shape[1]):
            data[f"value_{k}"] = users.values[:, k].copy()
        return pd.DataFrame(data)

    def user_agent(self, index: int) -> UserAgent:
        """The Mesa view of user `index`; above `user_views` users it is made (and registered) on first access."""
        if not 0 <= index < self.params.n_users:
            raise IndexError(f"user index {index} out of range [0, {self.params.n_users})")
        view = self._user_views.get(index)
        if view is None:
            view = self._user_views[index] = UserAgent(self, index)
        return view

    @property
    def graph(self):
        """The users' network as a networkx graph (built on request)."""
        return to_networkx(self.users.adjacency)


def _read_measure(model: AlignmentModel, *, name: str) -> float:
    """One measure of the current step (a DataCollector reporter, bound by `partial`)."""
    return model.measures[name]
