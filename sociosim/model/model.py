"""`AlignmentModel`: the wiring of world, labs, society and institutions, and the step order.

Step order (DESIGN §3): users interact -> social influence -> annotators label and drift
-> developers retrain (every `retrain_every`) -> regulators audit (every `audit_every`)
-> data collected. With several labs every lab trains and is audited in lab order.
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
from sociosim.model.feedback import LabelWindow, RewardModel
from sociosim.model.labs import Lab
from sociosim.model.measures import measure_columns
from sociosim.model.metrics import (
    Baseline,
    RunConstants,
    alignment_measures,
    annotator_measures,
    homogenisation_measures,
    lab_measures,
    lab_overtrust,
    market_measures,
    mean_trust_by_lab,
    population_values,
    run_state_measures,
    trust_measures,
)
from sociosim.model.network import to_networkx
from sociosim.model.populations import AnnotatorPool, UserPopulation
from sociosim.model.world import UtilityWeights, draw_catalogue, draw_cultures

EVENT_COLUMNS = ["step", "regulator", "lab", "lever", "reason", "complied"]


class AlignmentModel(mesa.Model):
    """Simulated aligned models (one per lab), their annotators and developers, and the society using them.

    Pass a `ModelParams` as `params` and/or flat overrides (`beta=4`, `n_users=500`; per lab
    `n_labs=2, beta=[1, 4]`); `rng` seeds every draw (int, SeedSequence or Generator).
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
        self.shifted_weights = self.weights.shifted(
            value_weight=p.shift_value_weight, harm_weight=p.shift_harm_weight
        )
        self.base = np.full(p.n_responses, 1.0 / p.n_responses)
        self.users = UserPopulation.create(p, self.cultures, rng)
        # lab 0's pool is drawn where the single-lab model draws it; further labs' after the probe panel
        settings = (
            [p]
            if p.labs is None and p.n_labs == 1
            else [apply_lever(q, q.lever) for q in map(requested.lab_params, range(p.n_labs))]
        )
        pools = [AnnotatorPool.create(settings[0], self.cultures, rng, shares=_pool_shares(settings[0]))]
        balanced = np.full(self.cultures.count, 1.0 / self.cultures.count)
        self.probe_panel = AnnotatorPool.create(p, self.cultures, rng, shares=balanced)
        pools += [AnnotatorPool.create(q, self.cultures, rng, shares=_pool_shares(q)) for q in settings[1:]]
        self.labs = [
            Lab.create(k, q, self.catalogue, pool, self.base)
            for k, (q, pool) in enumerate(zip(settings, pools, strict=True))
        ]
        self.baseline = Baseline.capture(self.users, self.cultures)
        self._constants: tuple[tuple, RunConstants] | None = None
        self.events: list[dict[str, Any]] = []
        self.measures: dict[str, float] = {}
        self._usage: np.ndarray | None = None

        # a registered Mesa view per user up to `user_views` users; above it, views on demand (user_agent)
        self._user_views: dict[int, UserAgent] = {}
        if p.n_users <= p.user_views:
            self._user_views = dict(
                enumerate(UserAgent.create_agents(self, p.n_users, list(range(p.n_users))))
            )
        AnnotatorAgent.create_agents(
            self, self.labs[0].annotators.size, list(range(self.labs[0].annotators.size))
        )
        self.developers = [DeveloperAgent(self, lab.index) for lab in self.labs]
        self.regulators = [RegulatorAgent(self, k) for k in range(p.n_regulators)]

        # pre-training: one round of labels on the base policy and a first fit, lab by lab
        for lab in self.labs:
            self._collect_labels(lab, np.empty(0, dtype=np.int64))
            self._retrain(lab)
        self.measures = self.compute_measures()
        self.datacollector = MeasureCollector(
            model_reporters={
                name: partial(_read_measure, name=name)
                for name in measure_columns(self.cultures.count, p.n_labs)
            }
        )

    # --- the step --------------------------------------------------------------------------
    def step(self) -> None:
        """One step in the order of DESIGN §3."""
        p = self.params
        cues = np.array(
            [
                anthro_cue(
                    p.cue_anthro, disclosure=lab.params.disclosure, disclosure_effect=p.disclosure_effect
                )
                for lab in self.labs
            ]
        )
        policies = [lab.policy for lab in self.labs]
        asking = self.users.interact(policies, self.catalogue, p, anthro_cues=cues, rng=self.rng)
        self._usage = None  # trust changed: the labs' usage is recomputed on first need
        self.users.socialise(p)
        self.users.churn(p.churn_threshold)
        for lab in self.labs:
            q = lab.params
            lab.annotators.drift(bias_growth=q.drift, value_step=q.value_drift, rng=self.rng)
            if q.calibrate_every and self.steps % q.calibrate_every == 0:
                lab.annotators.calibrate()
            self._collect_labels(lab, asking)
        for lab, developer in zip(self.labs, self.developers, strict=True):
            if self.steps % lab.params.retrain_every == 0:
                developer.choose_pressure()
                self._retrain(lab)
        if self.regulators and self.steps % p.audit_every == 0:
            for lab in self.labs:
                found = self.audit_measures(lab.index)
                for regulator in self.regulators:
                    mandate = regulator.audit(found, lab=lab.index)
                    if mandate is not None:
                        self.enforce(regulator, mandate)
        self.measures = self.compute_measures()
        self.datacollector.collect(self)

    # --- feedback and training ------------------------------------------------------------
    def _collect_labels(self, lab: Lab, asking: np.ndarray) -> None:
        lab.collect_labels(
            catalogue=self.catalogue,
            weights=self.weights,
            shifted=self.shifted_weights,
            base=self.base,
            probe_panel=self.probe_panel,
            users=self.users,
            asking=asking,
            rng=self.rng,
        )

    def _retrain(self, lab: Lab) -> None:
        """Refit a lab's reward model on its label window, then its policy under the pressure in force."""
        lab.refit()
        lab.update_policy(self.developers[lab.index].beta)

    def retrain(self) -> None:
        """Refit every lab's reward model and policy now."""
        for lab in self.labs:
            self._retrain(lab)

    # --- institutions ----------------------------------------------------------------------
    def enforce(self, regulator: RegulatorAgent, mandate: Mandate) -> None:
        """Act on a regulator's mandate: the lab complies (or not), the event is logged, the lever imposed."""
        complied = self.developers[mandate.lab].comply()
        self.events.append(
            {
                "step": self.steps,
                "regulator": mandate.regulator,
                "lab": mandate.lab,
                "lever": mandate.lever,
                "reason": mandate.reason,
                "complied": complied,
            }
        )
        if complied:
            regulator.enforced(mandate)
            self.impose(mandate.lever, lab=mandate.lab)

    def impose(self, lever: str, *, lab: int = 0) -> None:
        """Put a MAPS lever (or the disclosure label) in force now at one lab, as a regulator's mandate."""
        target = self.labs[lab]
        target.impose(
            lever,
            catalogue=self.catalogue,
            cultures=self.cultures,
            beta=self.developers[lab].beta,
            rng=self.rng,
        )
        if len(self.labs) == 1:
            self.params = target.params  # one lab: its parameters are the model's

    def events_frame(self) -> pd.DataFrame:
        """Every intervention so far: step, regulator, lab, lever, reason, complied."""
        return pd.DataFrame(self.events, columns=EVENT_COLUMNS)

    # --- the single-lab view, for code that knows one lab ------------------------------------
    @property
    def developer(self) -> DeveloperAgent:
        """Lab 0's developer."""
        return self.developers[0]

    @property
    def annotators(self) -> AnnotatorPool:
        """Lab 0's annotator pool."""
        return self.labs[0].annotators

    @property
    def reward_model(self) -> RewardModel:
        """Lab 0's reward model."""
        return self.labs[0].reward_model

    @property
    def window(self) -> LabelWindow:
        """Lab 0's label window."""
        return self.labs[0].window

    @property
    def pressure(self) -> float:
        """Lab 0's pressure in force."""
        return self.labs[0].pressure

    @property
    def _last_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        return self.labs[0].last_pairs

    @property
    def policy(self) -> np.ndarray:
        """What society receives: the labs' policies mixed by their query shares (lab 0's with one lab)."""
        if len(self.labs) == 1:
            return self.labs[0].policy
        return self.shares() @ np.array([lab.policy for lab in self.labs])

    # --- measures ---------------------------------------------------------------------------
    @property
    def constants(self) -> RunConstants:
        """The measures' per-run constants; made anew if a catalogue, weights or population is swapped in."""
        sources = (self.base, self.catalogue, self.cultures, self.weights, self.shifted_weights, self.users)
        if self._constants is None or any(
            a is not b for a, b in zip(self._constants[0], sources, strict=True)
        ):
            found = RunConstants.capture(
                base=self.base,
                catalogue=self.catalogue,
                cultures=self.cultures,
                weights=self.weights,
                shifted=self.shifted_weights,
                culture=self.users.culture,
            )
            self._constants = (sources, found)
        return self._constants[1]

    def usage(self) -> np.ndarray:
        """(N, L): each user's chance of querying each lab, from their trusts (cached until trust changes)."""
        if self._usage is None:
            self._usage = self.users.usage(self.params.lab_choice)
        return self._usage

    def shares(self, usage: np.ndarray | None = None) -> np.ndarray:
        """Each lab's expected share of queries among active users (equal when nobody is active)."""
        usage = self.usage() if usage is None else usage
        active = self.users.active
        count = np.count_nonzero(active)
        if not count:
            return np.full(len(self.labs), 1.0 / len(self.labs))
        return active.astype(float) @ usage / count  # a float row vector: far faster than boolean indexing

    def lab_engagement(self, lab: int) -> float:
        """A lab's engagement: its users' trust in it, weighted by how likely each is to query it."""
        users = self.users
        if len(self.labs) == 1:
            return float(np.mean(users.trust[:, 0] * users.active))
        return float(np.mean(users.trust[:, lab] * users.active * self.usage()[:, lab]))

    def audit_measures(self, lab: int = 0) -> dict[str, float]:
        """What a regulator's audit of one lab sees: its policy's alignment measures and its users' overtrust."""
        centroids, mean_values = population_values(self.users, self.cultures, self.constants)
        found = self._alignment(self.labs[lab], centroids, mean_values)
        if len(self.labs) == 1:
            found.update(
                trust_measures(self.users, self.labs[0].policy, self.catalogue, constants=self.constants)
            )
        else:
            found["overtrust"] = lab_overtrust(self.users, self.usage(), lab)
        return found

    def _alignment(self, lab: Lab, centroids: np.ndarray, mean_values: np.ndarray) -> dict[str, float]:
        return alignment_measures(
            policy=lab.policy,
            base=self.base,
            reward=lab.reward_model.reward(),
            catalogue=self.catalogue,
            cultures=self.cultures,
            weights=self.weights,
            shifted=self.shifted_weights,
            centroids=centroids,
            mean_values=mean_values,
            constants=self.constants,
        )

    def _annotators(self, lab: Lab) -> dict[str, float]:
        return annotator_measures(
            lab.annotators,
            lab.last_perceived,
            self.catalogue,
            self.weights,
            lab.last_pairs,
            defect_detection=lab.params.defect_detection,
        )

    def _homogenisation(self, centroids: np.ndarray) -> dict[str, float]:
        return homogenisation_measures(self.users, self.cultures, self.baseline, centroids, self.constants)

    def compute_measures(self) -> dict[str, float]:
        """Every DESIGN §4 measure now (the DataCollector records them in the registry's order).

        With several labs the society-level columns are the labs' values weighted by their
        query shares (for the measures linear in the policy, exactly the mixture's), beside
        each lab's own columns and the market concentration.
        """
        centroids, mean_values = population_values(self.users, self.cultures, self.constants)
        interventions = sum(e["complied"] for e in self.events)
        if len(self.labs) == 1:
            lab = self.labs[0]
            out = self._alignment(lab, centroids, mean_values)
            out.update(trust_measures(self.users, lab.policy, self.catalogue, constants=self.constants))
            out.update(self._homogenisation(centroids))
            out.update(self._annotators(lab))
            out.update(
                run_state_measures(
                    pressure=lab.pressure, engagement=self.lab_engagement(0), interventions=interventions
                )
            )
            return out
        usage = self.usage()
        shares = self.shares(usage)
        per_lab = [self._alignment(lab, centroids, mean_values) | self._annotators(lab) for lab in self.labs]
        out = {name: float(shares @ [found[name] for found in per_lab]) for name in per_lab[0]}
        mixture = shares @ np.array([lab.policy for lab in self.labs])
        out.update(trust_measures(self.users, mixture, self.catalogue, usage, constants=self.constants))
        out.update(self._homogenisation(centroids))
        out.update(
            run_state_measures(
                pressure=float(shares @ [lab.pressure for lab in self.labs]),
                engagement=sum(self.lab_engagement(lab.index) for lab in self.labs),
                interventions=interventions,
            )
        )
        trusts = mean_trust_by_lab(self.users)
        for lab, found in zip(self.labs, per_lab, strict=True):
            out.update(
                lab_measures(
                    lab.index,
                    share=float(shares[lab.index]),
                    pressure=lab.pressure,
                    alignment=found,
                    trust=trusts[lab.index],
                )
            )
        out.update(market_measures(shares))
        return out

    def culture_lab_table(self) -> pd.DataFrame:
        """Per culture and lab: the share of that culture's active users' queries going to the lab, and the
        true utility gain the lab's policy gives the culture (relative to the base model, as `utility_<c>`)."""
        centroids, mean_values = population_values(self.users, self.cultures, self.constants)
        usage = self.usage()
        active = self.users.active
        rows = []
        for lab in self.labs:
            found = self._alignment(lab, centroids, mean_values)
            for culture in range(self.cultures.count):
                members = active & (self.users.culture == culture)
                share = float(usage[members, lab.index].mean()) if members.any() else float("nan")
                rows.append(
                    {
                        "culture": culture,
                        "lab": lab.index,
                        "share": share,
                        "utility": found[f"utility_{culture}"],
                    }
                )
        return pd.DataFrame(rows)

    def results(self) -> pd.DataFrame:
        """The collected measures, one row per step, with an integer `step` column first."""
        frame = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        frame.insert(0, "step", np.arange(1, len(frame) + 1, dtype=np.int64))
        return frame

    # --- inspection -------------------------------------------------------------------------
    def agent_snapshot(self) -> pd.DataFrame:
        """Every user's state now: culture, detection, active flag, trusts (per lab when several) and values."""
        users = self.users
        data = {
            "step": np.full(users.size, self.steps, dtype=np.int64),
            "user": np.arange(users.size, dtype=np.int64),
            "culture": users.culture.astype(np.int64),
        }
        one_lab = len(self.labs) == 1
        for lab in range(len(self.labs)):
            tail = "" if one_lab else f"_{lab}"
            data[f"trust{tail}"] = users.trust[:, lab].copy()
            data[f"trust_cal{tail}"] = users.trust_cal[:, lab].copy()
            data[f"trust_plain{tail}"] = users.trust_plain[:, lab].copy()
        data["detection"] = users.detection.copy()
        data["active"] = users.active.copy()
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


class MeasureCollector(mesa.DataCollector):
    """Mesa's DataCollector of the measures, filled straight from `model.measures`.

    The reporters stay registered (one per measure column, as Mesa expects), but `collect`
    appends each step's values itself: they are floats, so Mesa's per-value reporter call
    and deep copy add nothing but time.
    """

    def collect(self, model: AlignmentModel) -> None:
        if hasattr(self, "_collection_steps"):
            self._collection_steps.append(model.time)
        measures = model.measures
        for name, column in self.model_vars.items():
            column.append(float(measures[name]))


def _pool_shares(params: ModelParams) -> np.ndarray:
    """The culture shares of a lab's annotator pool."""
    return np.asarray(params.annotator_share_array(), dtype=float)


def _read_measure(model: AlignmentModel, *, name: str) -> float:
    """One measure of the current step (a DataCollector reporter, bound by `partial`)."""
    return model.measures[name]
