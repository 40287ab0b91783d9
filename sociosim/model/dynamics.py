"""The users' equations of DESIGN §3, one function each, vectorised over the population.

Each takes and returns arrays; `populations.UserPopulation.interact` and `socialise` call them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.special import expit


def anthro_cue(cue_anthro: float, *, disclosure: bool, disclosure_effect: float) -> float:
    """The persona's weight `ca` in the users' cue, scaled down by a disclosure label when shown."""
    return cue_anthro * (1.0 - disclosure_effect if disclosure else 1.0)


@dataclass(frozen=True)
class Outcomes:
    """One query per user: the outcome they perceive, the real one, and the one they would perceive without the persona cue."""

    perceived: np.ndarray
    real: np.ndarray
    plain: np.ndarray


def query_outcomes(
    quality: np.ndarray,
    defect: np.ndarray,
    anthro: np.ndarray,
    polish: np.ndarray,
    detection: np.ndarray,
    *,
    cue_anthro: float,
    cue_polish: float,
    rng: np.random.Generator,
) -> Outcomes:
    """What each user takes the outcome to be (1 success, 0 failure), beside the real outcome.

    The real outcome succeeds with probability `sigmoid(q - x)` (the masked defect is real);
    a user sees it with probability `d_i`, otherwise judges by cues
    `sigmoid(q + ca a + cp p)`. The plain outcome uses the same draws with the persona term
    `ca a` taken out of the cue (what trust would be without the human-like persona).
    """
    real = rng.random(len(quality)) < expit(quality - defect)
    cue_draw = rng.random(len(quality))
    by_cue = cue_draw < expit(quality + cue_anthro * anthro + cue_polish * polish)
    by_plain_cue = cue_draw < expit(quality + cue_polish * polish)
    sees = rng.random(len(quality)) < detection
    return Outcomes(
        perceived=np.where(sees, real, by_cue).astype(float),
        real=real.astype(float),
        plain=np.where(sees, real, by_plain_cue).astype(float),
    )


def update_trust(trust: np.ndarray, outcome: np.ndarray, *, rate: float, loss_aversion: float) -> np.ndarray:
    """`T <- T + alpha (o - T)`, with alpha larger by `loss_aversion` when `o < T`."""
    step = np.where(outcome < trust, rate * loss_aversion, rate)
    return np.clip(trust + np.minimum(step, 1.0) * (outcome - trust), 0.0, 1.0)


def persuade(values: np.ndarray, stance: np.ndarray, trust: np.ndarray, *, strength: float) -> np.ndarray:
    """`v <- v + eta T (s_y - v)`: a received response pulls values, more so when trusted."""
    return values + (strength * trust)[:, None] * (stance - values)


def degroot_average(
    values: np.ndarray,
    weights: sp.csr_matrix,
    *,
    weight: float,
    confidence: float | None = None,
    isolated: np.ndarray | None = None,
) -> np.ndarray:
    """DeGroot step `v <- (1 - mu) v + mu mean_neighbours(v)`; isolated users keep their values.

    With bounded confidence, only neighbours within `confidence` (Euclidean) count.
    `isolated` (the users without neighbours, `isolated_users(weights)`) may be passed in by
    a caller that keeps it. The mixing is done in place in the product's result: one new
    (N, D) array a step besides the sparse product's, and the same arithmetic as the formula.
    """
    if weight == 0.0 or weights.nnz == 0:
        return values
    if confidence is None:
        mixed = weights @ values
        if isolated is None:
            isolated = isolated_users(weights)
    else:
        rows = np.repeat(np.arange(weights.shape[0]), np.diff(weights.indptr))
        close = np.linalg.norm(values[rows] - values[weights.indices], axis=1) <= confidence
        kept = sp.csr_matrix((close.astype(float), weights.indices, weights.indptr), shape=weights.shape)
        count = np.asarray(kept.sum(axis=1)).ravel()
        isolated = np.flatnonzero(count == 0)
        mixed = (kept @ values) / np.maximum(count, 1.0)[:, None]
    mixed *= weight
    mixed += np.multiply(values, 1.0 - weight)
    if len(isolated):
        mixed[isolated] = values[isolated]
    return mixed


def isolated_users(weights: sp.csr_matrix) -> np.ndarray:
    """Indices of the users with no neighbour (empty rows of the neighbour weights)."""
    return np.flatnonzero(np.diff(weights.indptr) == 0)
