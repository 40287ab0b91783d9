"""The same users' dynamics as a naive Mesa model: one Python `step()` per agent.

This is what a Mesa user would write first: each user is a `mesa.Agent` holding its own
values (a small numpy vector), trust and neighbour list, and acts in Python. To compare
draw for draw with sociosim, the model draws its uniforms in the same blocks and order
as sociosim (who asks, which response, real outcome, cue outcome, whether the user sees
it) and hands each agent its numbers; the per-agent work is unchanged by that. Each agent
also keeps sociosim's two shadow trusts (DESIGN §3, v2): `trust_cal` from the real
outcome and `trust_plain` from the cue without the persona term.
"""

from __future__ import annotations

import math
from bisect import bisect_right

import mesa
import numpy as np

from .reference import Responses, UserRules


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


class NaiveUser(mesa.Agent):
    """One user with its own state, acting in Python."""

    def __init__(
        self,
        model: NaiveUsersModel,
        index: int,
        values: np.ndarray,
        trust: float,
        detection: float,
        active: bool,
        trust_cal: float | None = None,
        trust_plain: float | None = None,
    ):
        super().__init__(model)
        self.index = index
        self.values = values
        self.trust = trust
        self.trust_cal = trust if trust_cal is None else trust_cal
        self.trust_plain = trust if trust_plain is None else trust_plain
        self.detection = detection
        self.active = active
        self.neighbours: list[NaiveUser] = []
        self.next_values = values

    def interact(self, response: int, u_real: float, u_cue: float, u_sees: float) -> None:
        """Query the model, judge the outcome, update trust (and its shadows) and values."""
        rules, y = self.model.rules, self.model.responses
        quality = float(y.quality[response])
        real = u_real < _sigmoid(quality - float(y.defect[response]))  # the masked defect is real
        style = rules.cue_polish * float(y.polish[response])
        by_cue = u_cue < _sigmoid(quality + rules.cue_anthro * float(y.anthro[response]) + style)
        by_plain_cue = u_cue < _sigmoid(quality + style)
        sees = u_sees < self.detection
        outcome = float(real if sees else by_cue)
        self.trust = self._learn(self.trust, outcome)
        self.trust_cal = self._learn(self.trust_cal, float(real))
        self.trust_plain = self._learn(self.trust_plain, float(real if sees else by_plain_cue))
        if rules.persuasion > 0:
            self.values = self.values + (rules.persuasion * self.trust) * (y.stance[response] - self.values)

    def _learn(self, trust: float, outcome: float) -> float:
        """`T <- T + alpha (o - T)`, alpha larger by loss_aversion after a disappointment."""
        rules = self.model.rules
        rate = rules.trust_rate * rules.loss_aversion if outcome < trust else rules.trust_rate
        return min(max(trust + min(rate, 1.0) * (outcome - trust), 0.0), 1.0)

    def listen(self) -> None:
        """DeGroot: the next values mix own values with the neighbours' mean."""
        if not self.neighbours:
            self.next_values = self.values
            return
        mean = sum(n.values for n in self.neighbours) / len(self.neighbours)
        w = self.model.rules.social_weight
        self.next_values = (1.0 - w) * self.values + w * mean

    def step(self) -> None:
        """Adopt the new values; stop using the model if trust fell below the threshold."""
        self.values = self.next_values
        if self.trust < self.model.rules.churn_threshold:
            self.active = False


class NaiveUsersModel(mesa.Model):
    """N `NaiveUser` agents on the same network; `step()` runs one step of the users' dynamics under `policy`."""

    def __init__(
        self,
        *,
        values,
        trust,
        detection,
        active,
        adjacency,
        rules: UserRules,
        responses: Responses,
        trust_cal=None,
        trust_plain=None,
        rng=None,
    ):
        super().__init__(rng=rng)
        self.rules = rules
        self.responses = responses
        self.policy = np.full(len(responses.quality), 1.0 / len(responses.quality))  # set by the driver
        self.users = [
            NaiveUser(
                self,
                i,
                np.array(values[i], dtype=float),
                float(trust[i]),
                float(detection[i]),
                bool(active[i]),
                None if trust_cal is None else float(trust_cal[i]),
                None if trust_plain is None else float(trust_plain[i]),
            )
            for i in range(len(trust))
        ]
        for user in self.users:
            start, end = adjacency.indptr[user.index], adjacency.indptr[user.index + 1]
            user.neighbours = [self.users[j] for j in adjacency.indices[start:end]]

    @classmethod
    def from_population(cls, users, params, catalogue, *, rng=None) -> NaiveUsersModel:
        """Agents with a copy of a sociosim `UserPopulation`'s state."""
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
            rng=rng,
        )

    def step(self) -> None:
        """Who asks, what they get and how they judge it; then DeGroot and churn, agent by agent."""
        policy, rng = self.policy, self.rng
        ask = rng.random(len(self.users))
        askers = [u for u in self.users if u.active and ask[u.index] < self.rules.query_share]
        cdf = np.cumsum(policy)
        cdf[-1] = 1.0
        cdf = cdf.tolist()
        pick, u_real, u_cue, u_sees = (rng.random(len(askers)) for _ in range(4))
        last = len(cdf) - 1
        for slot, user in enumerate(askers):
            response = min(bisect_right(cdf, pick[slot]), last)
            user.interact(response, u_real[slot], u_cue[slot], u_sees[slot])
        for user in self.users:
            user.listen()
        for user in self.users:
            user.step()

    # the state as arrays, for comparison with sociosim and the reference
    @property
    def trust(self) -> np.ndarray:
        return np.array([u.trust for u in self.users])

    @property
    def trust_cal(self) -> np.ndarray:
        return np.array([u.trust_cal for u in self.users])

    @property
    def trust_plain(self) -> np.ndarray:
        return np.array([u.trust_plain for u in self.users])

    @property
    def values(self) -> np.ndarray:
        return np.array([u.values for u in self.users])

    @property
    def active(self) -> np.ndarray:
        return np.array([u.active for u in self.users])
