"""Feedback to proxy reward (DESIGN §2): comparisons, the Bradley–Terry reward model, constitution.

Raters compare pairs with `P(y1 > y2) = sigmoid(tau (R(y1) - R(y2)))`. The reward model
`r_hat = theta . phi(y)` sees only the visible features and is refitted by L2-regularised
logistic regression on a sliding window of labels, so old labels age out.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
from scipy.linalg.lapack import dposv
from scipy.special import expit

from sociosim.model.world import Catalogue

AI_RATER = -1  # culture code of labels from the RLAIF rater
PROBE_RATER = -2  # culture code of labels from the shift lever's probe panel
USER_RATER = -3  # culture code of users' thumbs


@dataclass(frozen=True)
class Labels:
    """A batch of pairwise comparisons: response indices, outcome (1: first wins), rater culture."""

    first: np.ndarray
    second: np.ndarray
    first_wins: np.ndarray
    culture: np.ndarray

    @classmethod
    def empty(cls) -> Labels:
        none = np.empty(0, dtype=np.int64)
        return cls(none, none, np.empty(0, dtype=float), none)

    @classmethod
    def concat(cls, batches: list[Labels]) -> Labels:
        if not batches:
            return cls.empty()
        return cls(
            *(
                np.concatenate([getattr(b, f) for b in batches])
                for f in ("first", "second", "first_wins", "culture")
            )
        )

    def __len__(self) -> int:
        return len(self.first)


def preference_probability(
    reward_first: np.ndarray, reward_second: np.ndarray, precision: np.ndarray | float
) -> np.ndarray:
    """Bradley–Terry choice probability `sigmoid(tau (R1 - R2))`."""
    return expit(precision * (reward_first - reward_second))


def label_pairs(
    perceived: np.ndarray,
    rater: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    precision: np.ndarray,
    culture: np.ndarray,
    rng: np.random.Generator,
) -> Labels:
    """Raters (rows of `perceived`, (raters, M)) label their pairs by the Bradley–Terry rule."""
    p = preference_probability(perceived[rater, first], perceived[rater, second], precision[rater])
    wins = (rng.random(len(p)) < p).astype(float)
    return Labels(first, second, wins, culture[rater])


def pairwise_agreement(probabilities: np.ndarray) -> float:
    """Expected share of rater pairs who agree on a comparison, averaged over pairs.

    `probabilities` is (raters, pairs): each rater's chance to prefer the first response.
    """
    if probabilities.size == 0:
        return float("nan")
    return agreement_from_tanh((2.0 * probabilities - 1.0).T)


def agreement_from_tanh(t: np.ndarray) -> float:
    """Mean over pairs of the share of rater pairs who agree, from `t = 2p - 1` laid out (pairs, raters)."""
    raters = t.shape[1]
    if raters == 1:
        return float(0.5 + 0.5 * np.einsum("pr,pr->", t, t) / len(t))
    s = t.sum(axis=1)
    s2 = np.einsum("pr,pr->p", t, t)
    cross = np.einsum("p,p->", s, s) - s2.sum()  # sum over pairs of sum_{i != j} t_i t_j
    return float(0.5 + 0.5 * cross / (raters * (raters - 1) * len(t)))


class LabelWindow:
    """The sliding window of recent label batches that the reward model is fitted on.

    Beside each batch it keeps the batch's feature differences `phi(first) - phi(second)`,
    feature-major (k, b) and made on first need, so a refit gathers only the newest batch's
    pairs; `design` joins the blocks oldest first into one reused (k, n) buffer, the same
    columns in the same order as gathering the whole window anew.
    """

    def __init__(self, *, steps: int):
        self._batches: deque[Labels] = deque(maxlen=steps)
        self._blocks: deque[np.ndarray | None] = deque(maxlen=steps)
        self._features: np.ndarray | None = None  # the features the blocks were made with
        self._by_feature = np.empty((0, 0))  # their transpose (k, M)
        self._diff = np.empty((0, 0))
        self._wins = np.empty(0)

    def push(self, labels: Labels) -> None:
        self._batches.append(labels)
        self._blocks.append(None)

    def labels(self) -> Labels:
        return Labels.concat(list(self._batches))

    def __len__(self) -> int:
        return sum(len(b) for b in self._batches)

    def design(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The window's feature differences, feature-major (k, n), and outcomes (n,); None when no pair is informative.

        The arrays are views of buffers reused by the next call: read them before pushing again.
        """
        if features is not self._features:  # another reward model (a misspecification mandate)
            self._features = features
            self._by_feature = np.ascontiguousarray(features.T)
            self._blocks = deque([None] * len(self._batches), maxlen=self._blocks.maxlen)
        blocks = [self._block(index) for index in range(len(self._batches))]
        if not any(block.any() for block in blocks):
            return None
        shape = (features.shape[1], sum(block.shape[1] for block in blocks))
        if self._diff.shape != shape:  # the window grew (first steps) or its batches changed size
            self._diff, self._wins = np.empty(shape), np.empty(shape[1])
        np.concatenate(blocks, axis=1, out=self._diff)
        np.concatenate([batch.first_wins for batch in self._batches], out=self._wins)
        return self._diff, self._wins

    def cultures(self) -> np.ndarray:
        """The rater culture of every label in the window, oldest first."""
        return np.concatenate([batch.culture for batch in self._batches])

    def _block(self, index: int) -> np.ndarray:
        block = self._blocks[index]
        if block is None:
            batch = self._batches[index]
            block = self._blocks[index] = self._by_feature[:, batch.first] - self._by_feature[:, batch.second]
        return block


def feature_matrix(catalogue: Catalogue, visible: list[str]) -> np.ndarray:
    """`phi(y)`: the visible features, standardised over the catalogue, in a fixed order."""
    order = [f for f in ("stance", "quality", "harm", "polish", "anthro", "agree") if f in visible]
    if not order:
        return np.zeros((catalogue.size, 0))
    phi = np.hstack([catalogue.feature(name) for name in order])
    sd = phi.std(axis=0)
    return (phi - phi.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def aggregation_weights(culture: np.ndarray, *, balanced: bool) -> np.ndarray:
    """Per-label weights: equal (pooled), or each rater culture weighing the same (balanced)."""
    weights = np.ones(len(culture))
    if balanced and len(culture):
        groups, inverse, counts = np.unique(culture, return_inverse=True, return_counts=True)
        weights = len(culture) / (len(groups) * counts[inverse])
    return weights


#: Newton stops once a step moves no coordinate by this much. Newton converges quadratically
#: (each step about the square of the last), so the step after one below ~sqrt(machine eps)
#: would move theta by about 1e-16, at the rounding level: the 4th iteration the old 1e-10
#: rule ran on every refit only confirmed convergence. Measured against that rule, every
#: measure of the pinned scenarios stays within 5e-15 and the users' states are bit-identical.
NEWTON_TOL = 1e-8


def sigmoid(x: np.ndarray, *, out: np.ndarray) -> np.ndarray:
    """`1 / (1 + exp(-x))` as `(1 + tanh(x / 2)) / 2` into `out`: numpy's vectorised tanh is about
    three times faster than scipy's `expit`, and the two agree to a few ulps."""
    np.multiply(x, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def newton_bradley_terry(
    by_feature: np.ndarray,
    first_wins: np.ndarray,
    weights: np.ndarray | None,
    *,
    l2: float,
    start: np.ndarray | None = None,
    iterations: int = 50,
    tol: float = NEWTON_TOL,
) -> np.ndarray:
    """L2-regularised logistic regression of outcomes on feature differences, by Newton's method.

    Minimises `-sum w [y log s(x.theta) + (1-y) log s(-x.theta)] + l2/2 |theta|^2` over the
    differences laid out feature-major, (k, n); `weights=None` means unit weights (pooled
    labels), whose products are skipped.
    Feature-major, every pass runs along a contiguous row of n values (the curvature
    scaling is one broadcast over rows, not n short rows of k); the work arrays are
    allocated once per fit, and the k x k Newton system, symmetric positive definite,
    is solved by Cholesky (`dposv`).
    """
    k, n = by_feature.shape
    theta = np.zeros(k) if start is None else start.copy()
    if n == 0 or k == 0:
        return theta
    ridge = max(l2, 1e-9) * np.eye(k)
    p = np.empty(n)
    work = np.empty(n)
    weighted = np.empty(n) if weights is not None else None
    scaled = np.empty_like(by_feature)
    pairs_major = by_feature.T
    for _ in range(iterations):
        sigmoid(np.matmul(theta, by_feature, out=p), out=p)
        np.subtract(p, first_wins, out=work)
        if weights is not None:
            work *= weights
        gradient = by_feature @ work
        gradient += l2 * theta
        np.subtract(1, p, out=work)  # the curvature w p (1 - p)
        if weighted is not None:
            work *= np.multiply(weights, p, out=weighted)
        else:
            work *= p
        np.multiply(by_feature, work, out=scaled)
        hessian = scaled @ pairs_major
        hessian += ridge
        step = solve_positive(hessian, gradient)
        theta -= step
        if np.max(np.abs(step)) < tol:
            break
    return theta


def solve_positive(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """`matrix^-1 vector` for a symmetric positive definite matrix (Cholesky; LU if it is not PD numerically)."""
    _, solution, info = dposv(matrix, vector)
    return solution if info == 0 else np.linalg.solve(matrix, vector)


@dataclass
class RewardModel:
    """The developer's proxy reward: Bradley–Terry fit on visible features plus the constitution."""

    features: np.ndarray  # phi, (M, k)
    theta: np.ndarray
    constitution: np.ndarray  # (M,) sum_k c_k psi_k(y), added to r_hat

    def reward(self) -> np.ndarray:
        """`r(y) = r_hat(y) + constitution(y)` for every response."""
        return self.features @ self.theta + self.constitution

    def refit(self, labels: Labels | LabelWindow, *, l2: float, balanced: bool) -> None:
        """Refit `theta` on a window of labels (warm-started from the current fit).

        A window with no informative label (no pair whose visible features differ) keeps the
        current fit: L2 alone would shrink it to zero and the policy would fall back to `pi_0`.
        Given the `LabelWindow` itself, only its newest batch's feature differences are gathered.
        """
        if isinstance(labels, LabelWindow):
            design = labels.design(self.features)
            if design is None:
                return
            by_feature, wins = design
            culture = labels.cultures() if balanced else None
        else:
            diff = self.features[labels.first] - self.features[labels.second]
            if not np.any(diff):
                return
            by_feature, wins, culture = np.ascontiguousarray(diff.T), labels.first_wins, labels.culture
        weights = aggregation_weights(culture, balanced=True) if balanced else None
        self.theta = newton_bradley_terry(by_feature, wins, weights, l2=l2, start=self.theta)


def constitution_terms(catalogue: Catalogue, *, harm: float, agree: float, anthro: float) -> np.ndarray:
    """`sum_k c_k psi_k(y)`: penalties on standardised harm, agreement and persona."""

    def z(x: np.ndarray) -> np.ndarray:
        sd = x.std()
        return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x)

    return -(harm * z(catalogue.harm) + agree * z(catalogue.agree) + anthro * z(catalogue.anthro))
