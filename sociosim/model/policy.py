"""Policies over the response catalogue (DESIGN §2): KL-tilting, best-of-n, exact KL.

A policy is a probability vector over the `M` responses. The base policy `pi_0` is the
pre-trained model's; optimisation moves away from it, and `KL(pi || pi_0)` measures how far.
"""

from __future__ import annotations

import numpy as np


def standardise(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """`(x - E_w[x]) / sd_w(x)`: values standardised under a distribution (zeros if constant)."""
    mean = weights @ values
    centred = values - mean
    sd = np.sqrt(weights @ centred**2)
    if not np.isfinite(sd) or sd < 1e-12 * max(1.0, float(np.abs(mean))):
        return np.zeros_like(values)
    return centred / sd


def kl_tilt(reward_z: np.ndarray, beta: float, base: np.ndarray) -> np.ndarray:
    """`pi_beta(y) ∝ pi_0(y) exp(beta r_z(y))`, computed stably in log space."""
    with np.errstate(divide="ignore"):
        logits = np.log(base) + beta * reward_z
    logits -= logits.max()
    weights = np.exp(logits)
    return weights / weights.sum()


def best_of_n(reward: np.ndarray, n: int, base: np.ndarray) -> np.ndarray:
    """Exact law of the best of `n` draws from `pi_0` by reward (ties share their mass by `pi_0`)."""
    levels, group = np.unique(reward, return_inverse=True)
    group_mass = np.bincount(group, weights=base, minlength=len(levels))
    cdf_upper = np.minimum(np.cumsum(group_mass), 1.0)
    cdf_lower = np.concatenate(([0.0], cdf_upper[:-1]))
    group_win = cdf_upper**n - cdf_lower**n
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(group_mass[group] > 0, base / group_mass[group], 0.0)
    policy = group_win[group] * share
    return policy / policy.sum()


def kl_divergence(policy: np.ndarray, base: np.ndarray) -> float:
    """Exact `KL(pi || pi_0) = sum pi log(pi / pi_0)` over the catalogue (0 log 0 = 0)."""
    support = policy > 0
    value = float(np.sum(policy[support] * np.log(policy[support] / base[support])))
    return max(value, 0.0)


def best_of_n_kl_bound(n: int) -> float:
    """The analytic best-of-n KL, `log n - (n-1)/n`: exact for continuous rewards, an upper bound here."""
    return float(np.log(n) - (n - 1) / n)


def beta_within_kl(reward_z: np.ndarray, base: np.ndarray, *, beta: float, budget: float) -> float:
    """The largest pressure `<= beta` whose tilted policy keeps `KL <= budget` (KL grows with beta)."""
    if kl_divergence(kl_tilt(reward_z, beta, base), base) <= budget:
        return beta
    low, high = 0.0, beta
    for _ in range(60):
        mid = 0.5 * (low + high)
        if kl_divergence(kl_tilt(reward_z, mid, base), base) <= budget:
            low = mid
        else:
            high = mid
    return low


def n_within_kl(reward: np.ndarray, base: np.ndarray, *, n: int, budget: float) -> int:
    """The largest best-of-n `<= n` whose policy keeps `KL <= budget`."""
    if kl_divergence(best_of_n(reward, n, base), base) <= budget:
        return n
    low, high = 1, n
    while high - low > 1:
        mid = (low + high) // 2
        if kl_divergence(best_of_n(reward, mid, base), base) <= budget:
            low = mid
        else:
            high = mid
    return low


def optimise(
    reward: np.ndarray,
    base: np.ndarray,
    *,
    optimizer: str,
    beta: float,
    n: int,
    beta_cap: float | None = None,
    kl_budget: float | None = None,
) -> tuple[np.ndarray, float]:
    """The policy against `reward` and the pressure in force (beta, or n of best-of-n).

    The P lever acts here: a cap on beta and a KL budget that lowers beta (or n) until
    `KL(pi || pi_0) <= budget`.
    """
    if optimizer == "best_of_n":
        if kl_budget is not None:
            n = n_within_kl(reward, base, n=n, budget=kl_budget)
        return best_of_n(reward, n, base), float(n)
    if beta_cap is not None:
        beta = min(beta, beta_cap)
    reward_z = standardise(reward, base)
    if kl_budget is not None:
        beta = beta_within_kl(reward_z, base, beta=beta, budget=kl_budget)
    return kl_tilt(reward_z, beta, base), beta


def sample_responses(policy: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """`size` independent draws of response indices from a policy (inverse-CDF, vectorised)."""
    return responses_at(policy, rng.random(size))


def responses_at(policy: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """The responses a policy gives at the given uniforms (inverse CDF): one draw per uniform."""
    cdf = np.cumsum(policy)
    cdf[-1] = 1.0
    return np.searchsorted(cdf, uniforms, side="right").clip(max=len(policy) - 1)


def sample_other(policy: np.ndarray, first: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each `first`, a draw from the policy restricted to the other responses and renormalised.

    Inverse CDF with `first`'s mass cut out: a uniform on `[0, 1 - pi(first))` is mapped past
    the gap that `first` leaves. Where the rest of the policy has no mass left (a point
    mass), the other response is uniform over the rest. One uniform per pair, as for `first`.
    """
    m = len(policy)
    cdf = np.cumsum(policy)
    cdf[-1] = 1.0
    own = policy[first]
    rest = 1.0 - own
    u = rng.random(len(first))
    before = cdf[first] - own  # mass of the responses before `first`
    target = u * rest
    target = np.where(target < before, target, target + own)
    other = np.searchsorted(cdf, target, side="right").clip(max=m - 1)
    degenerate = (rest <= 1e-12) | (other == first)
    if degenerate.any():
        shift = np.minimum((u[degenerate] * (m - 1)).astype(np.int64), m - 2) + 1
        other[degenerate] = (first[degenerate] + shift) % m
    return other


def sample_pairs(policy: np.ndarray, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`size` pairs of two distinct responses: `y1 ~ pi`, `y2 ~ pi` restricted to `y != y1` (DESIGN §2)."""
    first = sample_responses(policy, size, rng)
    return first, sample_other(policy, first, rng)
