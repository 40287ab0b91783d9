"""The world of DESIGN §1: value space, cultures, the response catalogue, true and perceived utility.

Everything here is a pure function of arrays: the catalogue and the cultures are drawn
once per run from the model's generator; utilities are computed for many humans at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sociosim.config.params import ModelParams


@dataclass(frozen=True)
class Catalogue:
    """The `M` candidate responses and their observable and hidden features (arrays of length M)."""

    stance: np.ndarray  # (M, D) values a response expresses
    quality: np.ndarray  # substance: correct, genuinely helpful
    harm: np.ndarray  # harm potential, correlated with quality
    polish: np.ndarray  # style, confidence, verbosity (heavy-tailed)
    anthro: np.ndarray  # human-like persona
    agree: np.ndarray  # goes along with the user's stated view
    quality_view: np.ndarray  # the reward model's noisy view of quality
    defect: np.ndarray  # masked defect x: true-utility cost that raters (and cues) do not see

    @property
    def size(self) -> int:
        return len(self.quality)

    def feature(self, name: str) -> np.ndarray:
        """One feature as an (M, k) block; `quality` is the noisy view the reward model has."""
        if name == "stance":
            return self.stance
        if name == "quality":
            return self.quality_view[:, None]
        return getattr(self, name)[:, None]


@dataclass(frozen=True)
class Cultures:
    """Culture centres `mu_c` (unit norm, spread apart), spread and population shares."""

    centres: np.ndarray  # (C, D)
    spread: float
    user_shares: np.ndarray  # (C,) w_c
    annotator_shares: np.ndarray  # (C,) a_c

    @property
    def count(self) -> int:
        return len(self.centres)

    @property
    def dominant(self) -> int:
        """The culture with the largest share of the annotator pool."""
        return int(np.argmax(self.annotator_shares))


def culture_centres(n_cultures: int, n_values: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-norm culture centres as far apart as the space allows.

    Orthogonal when C <= D; otherwise spread on the sphere by repulsion from a random start
    (no two centres nearly coincide, so every culture has a direction of its own).
    """
    if n_cultures <= n_values:
        basis, _ = np.linalg.qr(rng.standard_normal((n_values, n_values)))
        return basis.T[:n_cultures].copy()
    centres = rng.standard_normal((n_cultures, n_values))
    return spread_on_sphere(centres / np.linalg.norm(centres, axis=1, keepdims=True))


def spread_on_sphere(points: np.ndarray, *, iterations: int = 2000, rate: float = 0.05) -> np.ndarray:
    """Unit vectors pushed apart by an inverse-square repulsion (projected gradient steps on the sphere)."""
    x = points.copy()
    if len(x) < 2 or x.shape[1] < 2:
        return x
    for _ in range(iterations):
        diff = x[:, None, :] - x[None, :, :]
        dist2 = np.einsum("ijk,ijk->ij", diff, diff) + np.eye(len(x))
        force = (diff / dist2[..., None] ** 1.5).sum(axis=1)
        force -= np.einsum("ij,ij->i", force, x)[:, None] * x  # keep the tangential part
        x = x + rate * force / len(x)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def draw_cultures(params: ModelParams, rng: np.random.Generator) -> Cultures:
    """The cultures of a run from its parameters."""
    return Cultures(
        centres=culture_centres(params.n_cultures, params.n_values, rng),
        spread=params.culture_spread,
        user_shares=np.asarray(params.user_share_array(), dtype=float),
        annotator_shares=np.asarray(params.annotator_share_array(), dtype=float),
    )


def assign_cultures(n: int, shares: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Culture labels for `n` humans with counts as close to `n * shares` as integers allow."""
    counts = np.floor(n * shares).astype(np.int64)
    remainder = n - counts.sum()
    if remainder > 0:
        order = np.argsort(-(n * shares - counts), kind="stable")
        counts[order[:remainder]] += 1
    labels = np.repeat(np.arange(len(shares)), counts)
    return rng.permutation(labels)


def draw_values(cultures: Cultures, culture: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Individual values `v_i ~ N(mu_c, sigma_c^2 I)` for humans of the given cultures."""
    noise = rng.standard_normal((len(culture), cultures.centres.shape[1]))
    return cultures.centres[culture] + cultures.spread * noise


def heavy_tail_draw(size: int, *, tail: str, df: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance noise for the style feature: Student-t (heavy) or Gaussian (light)."""
    if tail == "gaussian":
        return rng.standard_normal(size)
    return rng.standard_t(df, size) * np.sqrt((df - 2.0) / df)


def draw_catalogue(params: ModelParams, rng: np.random.Generator) -> Catalogue:
    """The response catalogue with the 3H tensions as correlations (DESIGN §1 table)."""
    m, d = params.n_responses, params.n_values
    stance = rng.standard_normal((m, d))
    quality = rng.standard_normal(m)
    rho = params.quality_harm_corr
    harm = rho * quality + np.sqrt(1.0 - rho**2) * rng.standard_normal(m)
    load = params.polish_quality
    style = heavy_tail_draw(m, tail=params.bias_tail, df=params.tail_df, rng=rng)
    polish = load * quality + np.sqrt(1.0 - load**2) * style
    mean = params.anthro_mean
    anthro = rng.beta(2.0 * mean, 2.0 * (1.0 - mean), m)
    agree = rng.uniform(0.0, 1.0, m)
    quality_view = quality + params.quality_noise * rng.standard_normal(m)
    defect = masked_defect(polish, size=params.masked_defect, threshold=params.masked_defect_threshold)
    return Catalogue(stance, quality, harm, polish, anthro, agree, quality_view, defect)


def masked_defect(polish: np.ndarray, *, size: float, threshold: float) -> np.ndarray:
    """`x_y = Delta clip(p_y - p0, 0, 1)`: what a response whose style runs far ahead of its substance hides."""
    return size * np.clip(polish - threshold, 0.0, 1.0)


@dataclass(frozen=True)
class UtilityWeights:
    """Weights of true utility `U_i(y) = q - k_h h + <v_i, s> - k_g e g - k_a a - x` (DESIGN §1)."""

    harm_cost: float
    agree_cost: float
    belief_error: float
    anthro_cost: float
    value_weight: float = 1.0

    @classmethod
    def from_params(cls, params: ModelParams) -> UtilityWeights:
        return cls(params.harm_cost, params.agree_cost, params.belief_error, params.anthro_cost)

    def shifted(self, *, value_weight: float, harm_weight: float) -> UtilityWeights:
        """Rare contexts of the shifted population: values and harm matter more."""
        return UtilityWeights(
            self.harm_cost * harm_weight, self.agree_cost, self.belief_error, self.anthro_cost, value_weight
        )


def base_utility(catalogue: Catalogue, weights: UtilityWeights) -> np.ndarray:
    """The part of true utility shared by every human: `q - k_h h - k_g e g - k_a a - x`, shape (M,)."""
    return (
        catalogue.quality
        - weights.harm_cost * catalogue.harm
        - weights.agree_cost * weights.belief_error * catalogue.agree
        - weights.anthro_cost * catalogue.anthro
        - catalogue.defect
    )


def true_utility(catalogue: Catalogue, values: np.ndarray, weights: UtilityWeights) -> np.ndarray:
    """True utility `U_i(y)` of every response to humans with `values` (D,) or (n, D)."""
    return base_utility(catalogue, weights) + weights.value_weight * (values @ catalogue.stance.T)


def perceived_reward(
    catalogue: Catalogue,
    values: np.ndarray,
    weights: UtilityWeights,
    *,
    polish_bias: np.ndarray | float,
    anthro_bias: np.ndarray | float,
    flattery_bias: np.ndarray | float,
    defect_detection: float,
) -> np.ndarray:
    """Perceived reward `R_j(y) = U_j(y) + (1 - detection) x + gp_j p + ga_j a + gg_j g`: what feedback measures."""
    return true_utility(catalogue, values, weights) + rating_bias(
        catalogue,
        polish_bias=polish_bias,
        anthro_bias=anthro_bias,
        flattery_bias=flattery_bias,
        defect_detection=defect_detection,
    )


def rating_bias(
    catalogue: Catalogue,
    *,
    polish_bias: np.ndarray | float,
    anthro_bias: np.ndarray | float,
    flattery_bias: np.ndarray | float,
    defect_detection: float,
) -> np.ndarray:
    """The annotation bias `R - U = (1 - detection) x + gp p + ga a + gg g`; (M,) for scalars, (n, M) for arrays."""
    gp, ga, gg = (np.asarray(b, dtype=float)[..., None] for b in (polish_bias, anthro_bias, flattery_bias))
    missed = (1.0 - defect_detection) * catalogue.defect
    return gp * catalogue.polish + ga * catalogue.anthro + gg * catalogue.agree + missed
