"""The measures of DESIGN §4, vectorised: one function per family, one dict per step.

Expectations under the policy are exact sums over the catalogue. `proxy` and
`true_utility` are standardised under `pi_0`, so both are 0 at `beta = 0` and the gap
is in units of the base policy's spread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.special import expit

from sociosim.model.feedback import agreement_from_tanh
from sociosim.model.policy import kl_divergence, standardise
from sociosim.model.populations import AnnotatorPool, UserPopulation
from sociosim.model.world import (
    Catalogue,
    Cultures,
    UtilityWeights,
    base_utility,
    rating_bias,
    true_utility,
)


def culture_centroids(values: np.ndarray, culture: np.ndarray, n_cultures: int) -> np.ndarray:
    """Mean values of each culture's members, (C, D); a culture with no members gets zeros."""
    counts = np.bincount(culture, minlength=n_cultures).astype(float)
    sums = np.stack(
        [np.bincount(culture, weights=values[:, k], minlength=n_cultures) for k in range(values.shape[1])],
        axis=1,
    )
    return sums / np.maximum(counts, 1.0)[:, None]


def mean_pairwise_distance(
    points: np.ndarray, *, pairs: tuple[np.ndarray, np.ndarray] | None = None
) -> float:
    """Mean Euclidean distance between distinct rows (0 for fewer than two rows).

    Only the `i < j` differences are formed (`pairs`: `np.triu_indices(len(points), 1)`,
    passed in when the caller keeps it).
    """
    if len(points) < 2:
        return 0.0
    first, second = np.triu_indices(len(points), 1) if pairs is None else pairs
    diff = points[first] - points[second]
    diff *= diff
    return float(np.sqrt(np.add.reduce(diff, axis=1)).mean())


@dataclass(frozen=True)
class Baseline:
    """What the homogenisation measures compare against: the population at the start."""

    centroids: np.ndarray  # (C, D)
    separation: float
    minority: np.ndarray  # indices of users not of the dominant culture
    pull_contrast: np.ndarray  # (C, N) per user: +1 on the dominant centre, -1/k on each of k third centres
    pull_start: float  # mean over minority users of the contrast of their distances at start

    @classmethod
    def capture(cls, users: UserPopulation, cultures: Cultures) -> Baseline:
        centroids = culture_centroids(users.values, users.culture, cultures.count)
        minority = np.flatnonzero(users.culture != cultures.dominant)
        contrast = pull_contrast(users.culture, cultures.count, cultures.dominant)
        start = pulled_distance(centre_distances(users.values, cultures.centres), contrast, len(minority))
        return cls(centroids, mean_pairwise_distance(centroids), minority, contrast, start)


def centre_distances(values: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Euclidean distance of every user to every culture centre, centre-major (C, n).

    `|v|^2 - 2 <mu_c, v> + |mu_c|^2`: one small matrix product, and each centre's row is one
    contiguous pass over the users.
    """
    squared = (-2.0 * centres) @ values.T  # scaling by a power of two is exact: -2 <mu_c, v> to the bit
    squared += np.einsum("nd,nd->n", values, values)
    squared += np.einsum("cd,cd->c", centres, centres)[:, None]
    return np.sqrt(np.maximum(squared, 0.0, out=squared), out=squared)


def nearest_centre(distances: np.ndarray) -> np.ndarray:
    """Index of the closest centre for every user, from (C, n) distances (first centre on ties).

    A loop over the few centres with masked writes: faster than `argmin` over axis 0.
    """
    nearest = np.zeros(distances.shape[1], dtype=np.int64)
    best = distances[0].copy()
    closer = np.empty(distances.shape[1], dtype=bool)
    for c in range(1, len(distances)):
        np.less(distances[c], best, out=closer)
        np.copyto(nearest, c, where=closer)
        np.minimum(best, distances[c], out=best)
    return nearest


def pull_contrast(culture: np.ndarray, n_cultures: int, dominant: int) -> np.ndarray:
    """Per user (C, N): +1 on the dominant centre, -1/k on each of the k centres neither own nor dominant.

    Zero for users of the dominant culture; a minority user with no third culture gets only +1.
    """
    third = np.ones((n_cultures, len(culture)))
    third[dominant] = 0.0
    third[culture, np.arange(len(culture))] = 0.0
    third /= np.maximum(third.sum(axis=0), 1.0)
    contrast = -third
    contrast[dominant] = 1.0
    contrast[:, culture == dominant] = 0.0
    return contrast


def pulled_distance(distances: np.ndarray, contrast: np.ndarray, n_minority: int) -> float:
    """Mean over minority users of distance to the dominant centre minus mean distance to third centres."""
    return float(np.einsum("cn,cn->", contrast, distances)) / max(n_minority, 1)


def dominant_pull(baseline: Baseline, distances: np.ndarray) -> float:
    """How much closer minority users moved to the dominant centre than to third cultures' centres.

    Approach to the dominant centre since the start, minus the mean approach to the centres
    of the cultures that are neither the user's own nor dominant, so that general
    convergence (every culture moving to the middle) does not count as imposition.
    `distances` are every user's distances to the centres now, (C, N).
    """
    if len(baseline.minority) == 0:
        return 0.0
    return baseline.pull_start - pulled_distance(distances, baseline.pull_contrast, len(baseline.minority))


def total_variance(values: np.ndarray) -> float:
    """Total variance of the rows of `values`: `E|v|^2 - |E v|^2` (one pass, no (n, D) temporaries)."""
    n = max(len(values), 1)
    mean = np.einsum("nd->d", values) / n
    return max(float(np.einsum("nd,nd->", values, values)) / n - float(mean @ mean), 0.0)


def weighted_corr(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Correlation of x and y under weights w (0 when either is constant)."""
    mx, my = w @ x, w @ y
    cov = w @ ((x - mx) * (y - my))
    vx, vy = w @ (x - mx) ** 2, w @ (y - my) ** 2
    if vx <= 1e-18 or vy <= 1e-18:
        return 0.0
    return float(np.clip(cov / np.sqrt(vx * vy), -1.0, 1.0))


def population_values(
    users: UserPopulation, cultures: Cultures, constants: RunConstants | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-culture mean values now, and the population mean weighted by culture shares `w_c`."""
    if constants is None:
        centroids = culture_centroids(users.values, users.culture, cultures.count)
    else:
        centroids = constants.centroids(users.values)
    return centroids, cultures.user_shares @ centroids


def shifted_scores(
    base: np.ndarray, catalogue: Catalogue, cultures: Cultures, shifted: UtilityWeights
) -> np.ndarray:
    """Each culture centre's true utility under the rare-context weights, standardised under `pi_0`, (C, M)."""
    per_culture = true_utility(catalogue, cultures.centres, shifted)
    return np.array([standardise(row, base) for row in per_culture])


def shifted_utility(
    policy: np.ndarray,
    base: np.ndarray,
    catalogue: Catalogue,
    cultures: Cultures,
    shifted: UtilityWeights,
    *,
    scores: np.ndarray | None = None,
) -> float:
    """True utility on the shifted probe population: worst culture, in rare contexts.

    Each culture's centre is probed with the rare-context weights (values and harm matter
    more); utilities are standardised under `pi_0` and the worst culture's counts, as a
    robustness probe of subpopulation shift does (a culture-balanced, worst-group audit).
    `scores` are `shifted_scores(...)` when the caller keeps them (they never change in a run).
    """
    if scores is None:
        scores = shifted_scores(base, catalogue, cultures, shifted)
    return min(float(policy @ row) for row in scores)


@dataclass(frozen=True)
class RunConstants:
    """What the measures need that never changes in a run: catalogue terms and the users' cultures.

    Built once per model (`RunConstants.capture`); each field is what the measure functions
    would otherwise recompute every step, computed the same way.
    """

    base_utility: np.ndarray  # (M,) the utility every human shares, for the model's weights
    shifted_scores: np.ndarray  # (C, M) see `shifted_scores`
    success: np.ndarray  # (M,) chance each response really succeeds, `sigmoid(q - x)`
    minority_present: np.ndarray  # (C,) bool: cultures with members, the dominant one left out
    pairs: tuple[np.ndarray, np.ndarray]  # the (i < j) pairs of cultures, in `triu_indices` order
    membership: sp.csr_matrix  # (C, N) 0/1: which users belong to each culture
    members: np.ndarray  # (C,) float: how many (at least 1)

    @classmethod
    def capture(
        cls,
        *,
        base: np.ndarray,
        catalogue: Catalogue,
        cultures: Cultures,
        weights: UtilityWeights,
        shifted: UtilityWeights,
        culture: np.ndarray,
    ) -> RunConstants:
        present = np.bincount(culture, minlength=cultures.count) > 0
        present[cultures.dominant] = False
        return cls(
            base_utility=base_utility(catalogue, weights),
            shifted_scores=shifted_scores(base, catalogue, cultures, shifted),
            success=expit(catalogue.quality - catalogue.defect),
            minority_present=present,
            pairs=np.triu_indices(cultures.count, 1),
            membership=sp.csr_matrix(
                (np.ones(len(culture)), (culture, np.arange(len(culture)))),
                shape=(cultures.count, len(culture)),
            ),
            members=np.maximum(np.bincount(culture, minlength=cultures.count).astype(float), 1.0),
        )

    def centroids(self, values: np.ndarray) -> np.ndarray:
        """`culture_centroids(values, culture, C)` as one sparse product over the members.

        Each culture's row sums its members in index order, as `np.bincount` does: the same bits.
        """
        return (self.membership @ values) / self.members[:, None]

    def utility(self, values: np.ndarray, catalogue: Catalogue, weights: UtilityWeights) -> np.ndarray:
        """`true_utility(catalogue, values, weights)` with the shared part taken from the constants."""
        return self.base_utility + weights.value_weight * (values @ catalogue.stance.T)


def alignment_measures(
    *,
    policy: np.ndarray,
    base: np.ndarray,
    reward: np.ndarray,
    catalogue: Catalogue,
    cultures: Cultures,
    weights: UtilityWeights,
    shifted: UtilityWeights,
    centroids: np.ndarray,
    mean_values: np.ndarray,
    constants: RunConstants | None = None,
) -> dict[str, float]:
    """The gap family, per-culture utility, the trilemma axes and Murphy's features in the open.

    `constants` (the model's `RunConstants`) spare recomputing the catalogue-only terms.
    """

    def utility_of(values: np.ndarray) -> np.ndarray:
        if constants is None:
            return true_utility(catalogue, values, weights)
        return constants.utility(values, catalogue, weights)

    r_z = standardise(reward, base)
    utility = utility_of(mean_values)
    u_z = standardise(utility, base)
    proxy = float(policy @ r_z)
    true = float(policy @ u_z)
    scores = None if constants is None else constants.shifted_scores
    gap_shift = proxy - shifted_utility(policy, base, catalogue, cultures, shifted, scores=scores)
    out = {
        "proxy": proxy,
        "true_utility": true,
        "gap": proxy - true,
        "kl": kl_divergence(policy, base),
        "gap_shift": gap_shift,
        "mirage": gap_shift - (proxy - true),
    }
    # per-culture utility on the population's scale, relative to the base policy
    per_culture = utility_of(centroids)  # (C, M)
    scale = np.sqrt(base @ (utility - base @ utility) ** 2)
    scale = scale if scale > 1e-12 else 1.0
    gains = (per_culture @ policy - per_culture @ base) / scale
    for c, gain in enumerate(gains):
        out[f"utility_{c}"] = float(gain)
    out["utility_min"] = float(gains.min())
    out["utility_spread"] = float(gains.max() - gains.min())
    # the trilemma's value-capture axis and the local reward-hacking rate dE[U]/dE[r]
    centred_r = r_z - policy @ r_z
    var_r = float(policy @ centred_r**2)
    cov_ru = float(policy @ (centred_r * (u_z - policy @ u_z)))
    out["value_capture"] = weighted_corr(r_z, u_z, base)  # under pi_0: defined at any pressure
    out["reward_hacking"] = -cov_ru / var_r if var_r > 1e-12 else 0.0
    mean_stance = policy @ catalogue.stance
    norm = np.linalg.norm(mean_stance)
    for c, centre in enumerate(cultures.centres):
        out[f"stance_alignment_{c}"] = float(centre @ mean_stance / norm) if norm > 1e-12 else 0.0
    out["sycophancy"] = float(policy @ catalogue.agree)
    out["anthro"] = float(policy @ catalogue.anthro)
    out["polish"] = float(policy @ catalogue.polish)
    out["harm"] = float(policy @ catalogue.harm)
    out["quality"] = float(policy @ catalogue.quality)
    out["masked_defects"] = float(policy @ catalogue.defect)
    return out


def homogenisation_measures(
    users: UserPopulation,
    cultures: Cultures,
    baseline: Baseline,
    centroids: np.ndarray,
    constants: RunConstants | None = None,
) -> dict[str, float]:
    """Value diversity, culture separation and entropy, drift of centroids, pull to the dominant culture."""
    values = users.values
    diversity = total_variance(values)
    pairs = None if constants is None else constants.pairs
    separation = mean_pairwise_distance(centroids, pairs=pairs)
    relative_separation = separation / baseline.separation if baseline.separation > 1e-12 else 1.0
    # which original culture centre each user is now closest to
    distances = centre_distances(values, cultures.centres)
    share = np.bincount(nearest_centre(distances), minlength=cultures.count) / max(users.size, 1)
    nonzero = share[share > 0]
    entropy = (
        float(-(nonzero * np.log(nonzero)).sum() / np.log(cultures.count)) if cultures.count > 1 else 0.0
    )
    if constants is None:
        minority_mask = np.bincount(users.culture, minlength=cultures.count) > 0
        minority_mask[cultures.dominant] = False
    else:
        minority_mask = constants.minority_present
    drift = np.linalg.norm(centroids - baseline.centroids, axis=1)
    return {
        "value_diversity": diversity,
        "culture_separation": relative_separation,
        "culture_entropy": entropy,
        "minority_drift": float(drift[minority_mask].mean()) if minority_mask.any() else 0.0,
        "majority_drift": float(drift[cultures.dominant]),
        "dominant_pull": dominant_pull(baseline, distances),
    }


def trust_measures(
    users: UserPopulation,
    policy: np.ndarray,
    catalogue: Catalogue,
    usage: np.ndarray | None = None,
    constants: RunConstants | None = None,
) -> dict[str, float]:
    """Trust against the shadow trusts (DESIGN §3-§4): what real outcomes warrant, what the persona bought.

    `overtrust = mean(T - T_cal)` and `trust_from_anthro = mean(T - T_plain)` over active
    users (0 when nobody is active); `miscalibration` is v1's trust minus the policy's
    real success rate, which the asymmetric rule leaves negative even for informed users.
    With several labs each user's trusts are averaged over the labs by `usage` (N, L),
    their chance of querying each, and `policy` is the usage-weighted mixture.
    """
    success = expit(catalogue.quality - catalogue.defect) if constants is None else constants.success
    reliability = float(policy @ success)
    if usage is None:  # one lab
        trust, calibrated, plain = users.trust[:, 0], users.trust_cal[:, 0], users.trust_plain[:, 0]
    else:
        trust, calibrated, plain = (
            over_labs(usage, t) for t in (users.trust, users.trust_cal, users.trust_plain)
        )
    trust_mean = float(trust.mean())
    active = users.active
    count = np.count_nonzero(active)
    if count == len(active):  # everyone active: the selection is the whole array, in order
        over = float(np.subtract(trust, calibrated).mean())
        persona = float(np.subtract(trust, plain).mean())
    elif count:
        over = float((trust[active] - calibrated[active]).mean())
        persona = float((trust[active] - plain[active]).mean())
    else:
        over = persona = 0.0
    return {
        "trust_mean": trust_mean,
        "reliability": reliability,
        "overtrust": over,
        "trust_from_anthro": persona,
        "miscalibration": trust_mean - reliability,
        "active_share": count / len(active) if len(active) else float("nan"),
    }


def over_labs(usage: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Each user's values averaged over the labs by usage, (N, L) -> (N,), column by column (fast for few labs)."""
    total = usage[:, 0] * values[:, 0]
    for lab in range(1, usage.shape[1]):
        total += usage[:, lab] * values[:, lab]
    return total


def lab_overtrust(users: UserPopulation, usage: np.ndarray, lab: int) -> float:
    """Overtrust in one lab among the active users, weighted by how likely each is to query it."""
    weight = usage[:, lab] * users.active
    total = weight.sum()
    if total <= 0:
        return 0.0
    return float(weight @ (users.trust[:, lab] - users.trust_cal[:, lab]) / total)


def mean_trust_by_lab(users: UserPopulation) -> np.ndarray:
    """(L,): the active users' mean trust in each lab (0 when nobody is active)."""
    count = np.count_nonzero(users.active)
    if not count:
        return np.zeros(users.trust.shape[1])
    return users.active.astype(float) @ users.trust / count


def lab_measures(
    lab: int, *, share: float, pressure: float, alignment: dict[str, float], trust: float
) -> dict[str, float]:
    """One lab's columns (DESIGN §4, v2): its query share, pressure, KL, gap, true utility and users' trust in it."""
    return {
        f"share_{lab}": share,
        f"beta_{lab}": float(pressure),
        f"kl_{lab}": alignment["kl"],
        f"gap_{lab}": alignment["gap"],
        f"true_utility_{lab}": alignment["true_utility"],
        f"trust_{lab}": float(trust),
    }


def market_measures(shares: np.ndarray) -> dict[str, float]:
    """Market concentration: the Herfindahl index of the labs' query shares (1 = one lab has every user)."""
    return {"market_concentration": float(np.sum(shares**2))}


def run_state_measures(*, pressure: float, engagement: float, interventions: int) -> dict[str, float]:
    """The pressure in force, the lab's engagement and how many mandates it has complied with."""
    return {
        "beta_effective": float(pressure),
        "engagement": float(engagement),
        "n_interventions": float(interventions),
    }


def annotator_measures(
    pool: AnnotatorPool,
    perceived: np.ndarray,
    catalogue: Catalogue,
    weights: UtilityWeights,
    pairs: tuple[np.ndarray, np.ndarray],
    *,
    defect_detection: float,
) -> dict[str, float]:
    """Pairwise agreement of the human pool on this step's pairs, and its bias relative to signal.

    The agreement uses `p_i p_j + (1 - p_i)(1 - p_j) = (1 + t_i t_j) / 2` with
    `t = 2p - 1 = tanh(z / 2)` on a (pairs, raters) gather of the perceived rewards; the
    bias ratio depends on the raters alone and is computed once while they stay.
    """
    first, second = pairs
    if len(first):
        half_margin = pool.cached(("half_margin",), (perceived,), lambda: half_margins(pool, perceived))
        agreement = agreement_from_tanh(tanh_margins(half_margin, first, second))
    else:
        agreement = 0.5
    ratio = pool.cached(
        ("bias_ratio", weights, defect_detection),
        (catalogue,),
        lambda: bias_ratio(pool, catalogue, weights, defect_detection=defect_detection),
    )
    return {"annotator_agreement": agreement, "annotator_bias": ratio}


def half_margins(pool: AnnotatorPool, perceived: np.ndarray) -> np.ndarray:
    """`tau_j R_j(y) / 2` laid out (responses, raters): the rows a pair's margins are gathered from."""
    return ((0.5 * pool.precision)[:, None] * perceived).T.copy()


def tanh_margins(half_margin: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """`t = tanh(tau (R(first) - R(second)) / 2)`, (pairs, raters): `2 P(first preferred) - 1` for every rater."""
    margins = half_margin[first]
    margins -= half_margin[second]
    return np.tanh(margins, out=margins)


def bias_ratio(
    pool: AnnotatorPool, catalogue: Catalogue, weights: UtilityWeights, *, defect_detection: float
) -> float:
    """The raters' mean spread of style and flattery bias relative to the spread of their true utility."""
    bias = rating_bias(
        catalogue,
        polish_bias=pool.polish_bias,
        anthro_bias=pool.anthro_bias,
        flattery_bias=pool.flattery_bias,
        defect_detection=defect_detection,
    )
    signal = true_utility(catalogue, pool.values, weights)
    ratio = bias.std(axis=1) / np.maximum(signal.std(axis=1), 1e-12)
    return float(ratio.mean())
