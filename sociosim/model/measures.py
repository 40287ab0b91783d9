"""The one registry of measures (DESIGN §4): each column's name, one-line meaning and the function that computes it.

The DataCollector, the browser view's glossary, the analysis, the report and the docs all
read the measures here. Per-culture measures are written with `{c}` (`utility_{c}`) and
expand to one column per culture. The order is the order of the columns a run records.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from sociosim.model import metrics


@dataclass(frozen=True)
class Measure:
    """A measure: its column name (`{c}` for per culture), what it means, and the function computing it.

    `label` is its short human name for tables and axes (default: the name in words);
    `unit` its unit or scale where it has one ("" for model utility units).
    """

    name: str
    meaning: str
    computed_by: Callable[..., dict[str, float]]
    label: str = ""
    unit: str = ""

    @property
    def title(self) -> str:
        """The human name: `label`, else the column name with spaces."""
        return self.label or self.name.replace("_", " ")

    @property
    def per_culture(self) -> bool:
        return "{c}" in self.name

    def columns(self, n_cultures: int) -> list[str]:
        """The column names this measure fills in a run with `n_cultures` cultures."""
        if not self.per_culture:
            return [self.name]
        return [self.name.format(c=c) for c in range(n_cultures)]


MEASURES: tuple[Measure, ...] = (
    # alignment_measures
    Measure(
        "proxy",
        "What the developer's reward model thinks the policy is worth (0 = the untrained base model).",
        metrics.alignment_measures,
        label="proxy reward",
    ),
    Measure(
        "true_utility",
        "What the policy is really worth to the user population (0 = the untrained base model).",
        metrics.alignment_measures,
        label="true utility",
    ),
    Measure(
        "gap",
        "Proxy minus true utility: how much the reward model overrates the policy (Goodhart's gap).",
        metrics.alignment_measures,
        label="alignment gap (proxy − true)",
    ),
    Measure(
        "kl",
        "How far the policy has moved from the base model (KL divergence): the optimisation spent.",
        metrics.alignment_measures,
        label="KL from the base model",
        unit="nats",
    ),
    Measure(
        "gap_shift",
        "The gap measured on a shifted, culture-balanced population with rare contexts (what an auditor sees).",
        metrics.alignment_measures,
        label="gap under shift",
    ),
    Measure(
        "mirage",
        "How much larger the gap looks off-distribution than on it (gap_shift minus gap).",
        metrics.alignment_measures,
        label="mirage (shifted gap − gap)",
    ),
    Measure(
        "utility_{c}",
        "True utility for culture {c} (0 = what the base model gave them).",
        metrics.alignment_measures,
        label="utility of culture {c}",
    ),
    Measure(
        "utility_min",
        "True utility for the worst-served culture.",
        metrics.alignment_measures,
        label="worst-off culture's utility",
    ),
    Measure(
        "utility_spread",
        "Best-served minus worst-served culture's utility: unequal benefit (value imposition).",
        metrics.alignment_measures,
        label="utility spread across cultures",
    ),
    Measure(
        "value_capture",
        "Correlation of reward and true utility under the policy: does the reward still track value?",
        metrics.alignment_measures,
        label="value capture corr(reward, utility)",
    ),
    Measure(
        "reward_hacking",
        "Positive when pushing the reward further would lower true utility (proxy up, true down).",
        metrics.alignment_measures,
    ),
    Measure(
        "stance_alignment_{c}",
        "Cosine of the policy's mean stance with culture {c}'s values (1 = it speaks for them).",
        metrics.alignment_measures,
    ),
    Measure(
        "sycophancy",
        "How often the policy goes along with the user's stated view instead of the truth.",
        metrics.alignment_measures,
        label="sycophancy",
        unit="share",
    ),
    Measure(
        "anthro",
        "How human-like (persona, pronouns, apologies) the policy's responses are on average.",
        metrics.alignment_measures,
    ),
    Measure(
        "polish",
        "Average style, confidence and verbosity of the responses, whatever their substance.",
        metrics.alignment_measures,
    ),
    Measure(
        "harm",
        "Average harm potential of the responses the policy gives.",
        metrics.alignment_measures,
        label="harm",
    ),
    Measure(
        "quality",
        "Average real substance (correct, genuinely helpful) of the responses the policy gives.",
        metrics.alignment_measures,
    ),
    # homogenisation_measures
    Measure(
        "value_diversity",
        "Total variance of users' values: falls when the society homogenises.",
        metrics.homogenisation_measures,
        label="value diversity",
        unit="total variance",
    ),
    Measure(
        "culture_separation",
        "Mean distance between culture centres relative to the start (1 = as distinct as at start).",
        metrics.homogenisation_measures,
    ),
    Measure(
        "culture_entropy",
        "How evenly users spread over the original cultures (1 = as even as possible).",
        metrics.homogenisation_measures,
    ),
    Measure(
        "minority_drift",
        "How far minority cultures' mean values have moved since the start.",
        metrics.homogenisation_measures,
    ),
    Measure(
        "majority_drift",
        "How far the dominant culture's mean values have moved since the start.",
        metrics.homogenisation_measures,
    ),
    Measure(
        "dominant_pull",
        "How much closer minority users are to the dominant annotators' culture than at start.",
        metrics.homogenisation_measures,
    ),
    # trust_measures
    Measure(
        "trust_mean",
        "Average trust users place in the model (0 to 1).",
        metrics.trust_measures,
        label="mean trust",
        unit="0–1",
    ),
    Measure(
        "reliability",
        "How often the model's answers actually succeed: what trust should be.",
        metrics.trust_measures,
        label="reliability",
        unit="0–1",
    ),
    Measure(
        "overtrust",
        "Trust minus reliability: positive when users trust the model more than it deserves.",
        metrics.trust_measures,
        label="overtrust (trust − reliability)",
        unit="trust points",
    ),
    Measure(
        "trust_from_anthro",
        "Trust bought by the human-like persona rather than by real success (deception-driven).",
        metrics.trust_measures,
        label="trust from the persona",
        unit="trust points",
    ),
    Measure(
        "active_share",
        "Share of users still using the model (the rest churned after losing trust).",
        metrics.trust_measures,
        label="active users",
        unit="share",
    ),
    # annotator_measures
    Measure(
        "annotator_agreement",
        "How often two annotators agree on the same pair (falls as responses become near-ties).",
        metrics.annotator_measures,
    ),
    Measure(
        "annotator_bias",
        "Annotators' style and flattery biases relative to the real signal they should judge.",
        metrics.annotator_measures,
    ),
    # run_state_measures
    Measure(
        "beta_effective",
        "Optimisation pressure (beta, or n of best-of-n) actually in force after caps and budgets.",
        metrics.run_state_measures,
        label="effective pressure β",
    ),
    Measure(
        "engagement",
        "Users' engagement with the model, which an engagement-seeking developer maximises.",
        metrics.run_state_measures,
    ),
    Measure(
        "n_interventions",
        "Number of regulator interventions the developer has complied with so far.",
        metrics.run_state_measures,
    ),
)

BY_NAME = {m.name: m for m in MEASURES}
CULTURE_MEASURE = re.compile(r"^(utility|stance_alignment)_(\d+)$")


def measure_columns(n_cultures: int) -> list[str]:
    """Every measure column of a run with `n_cultures` cultures, in recorded order."""
    return [column for m in MEASURES for column in m.columns(n_cultures)]


def find_measure(column: str) -> Measure | None:
    """The registered measure behind a column name (per-culture columns included), or None."""
    if column in BY_NAME:
        return BY_NAME[column]
    found = CULTURE_MEASURE.match(column)
    return BY_NAME.get(f"{found.group(1)}_{{c}}") if found else None


def measure_label(column: str, *, with_unit: bool = False) -> str:
    """The human name of a measure column ("worst-off culture's utility"), or the column itself if unknown."""
    measure = find_measure(column)
    if measure is None:
        return column
    found = CULTURE_MEASURE.match(column)
    text = measure.title.format(c=found.group(2)) if measure.per_culture and found else measure.title
    return f"{text} [{measure.unit}]" if with_unit and measure.unit else text


def is_measure(column: str) -> bool:
    """True for a registered measure column, including the per-culture ones."""
    return find_measure(column) is not None


def measure_doc(column: str) -> str:
    """One sentence explaining a measure column, or an empty string for an unknown name."""
    measure = find_measure(column)
    if measure is None:
        return ""
    found = CULTURE_MEASURE.match(column)
    return measure.meaning.format(c=found.group(2)) if measure.per_culture and found else measure.meaning


__all__ = [
    "CULTURE_MEASURE",
    "MEASURES",
    "Measure",
    "find_measure",
    "is_measure",
    "measure_columns",
    "measure_doc",
    "measure_label",
]
