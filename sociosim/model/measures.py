"""The one registry of measures (DESIGN §4): each column's name, one-line meaning and the function that computes it.

The DataCollector, the browser view's glossary, the analysis, the report and the docs all
read the measures here. Per-culture measures are written with `{c}` (`utility_{c}`) and
expand to one column per culture; per-lab measures with `{l}`, recorded (with the market
concentration) only when several labs compete. The order is the order of the columns a
run records.
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
    labs_only: bool = False  # recorded only when several labs compete

    @property
    def title(self) -> str:
        """The human name: `label`, else the column name with spaces."""
        return self.label or self.name.replace("_", " ")

    @property
    def per_culture(self) -> bool:
        return "{c}" in self.name

    @property
    def per_lab(self) -> bool:
        return "{l}" in self.name

    def columns(self, n_cultures: int, n_labs: int = 1) -> list[str]:
        """The column names this measure fills in a run with `n_cultures` cultures and `n_labs` labs."""
        if self.labs_only and n_labs < 2:
            return []
        if self.per_culture:
            return [self.name.format(c=c) for c in range(n_cultures)]
        if self.per_lab:
            return [self.name.format(l=lab) for lab in range(n_labs)]
        return [self.name]


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
        "Correlation of reward and true utility under the base model pi_0: does the reward track value?",
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
    Measure(
        "masked_defects",
        "Average masked defect of the policy's responses: substance lost where style ran ahead of it, unseen by raters.",
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
        "How often the model's answers actually succeed (masked defects fail users too).",
        metrics.trust_measures,
        label="reliability",
        unit="0–1",
    ),
    Measure(
        "overtrust",
        "Trust minus calibrated trust (the same learning from the real outcomes): trust the outcomes do not warrant.",
        metrics.trust_measures,
        label="overtrust (trust − calibrated trust)",
        unit="trust points",
    ),
    Measure(
        "trust_from_anthro",
        "Trust minus the trust users would have without the human-like persona cue (deception-driven).",
        metrics.trust_measures,
        label="trust from the persona",
        unit="trust points",
    ),
    Measure(
        "miscalibration",
        "Trust minus the real success rate (v1's overtrust); the asymmetric trust rule keeps it below 0 for informed users.",
        metrics.trust_measures,
        label="miscalibration (trust − success rate)",
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
        "How often two annotators agree on the same pair of distinct responses.",
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
    # lab_measures and market_measures: only when several labs compete (n_labs >= 2)
    Measure(
        "share_{l}",
        "Lab {l}'s share of the users' queries (expected, among active users).",
        metrics.lab_measures,
        labs_only=True,
    ),
    Measure(
        "beta_{l}", "The optimisation pressure lab {l} has in force.", metrics.lab_measures, labs_only=True
    ),
    Measure(
        "kl_{l}",
        "How far lab {l}'s policy has moved from the base model (KL divergence).",
        metrics.lab_measures,
        labs_only=True,
    ),
    Measure(
        "gap_{l}",
        "Lab {l}'s proxy minus true utility: how much its reward model overrates its policy.",
        metrics.lab_measures,
        labs_only=True,
    ),
    Measure(
        "true_utility_{l}",
        "What lab {l}'s policy is really worth to the user population.",
        metrics.lab_measures,
        labs_only=True,
    ),
    Measure(
        "trust_{l}", "Average trust the active users place in lab {l}.", metrics.lab_measures, labs_only=True
    ),
    Measure(
        "market_concentration",
        "Herfindahl index of the labs' query shares: 1/n_labs when even, 1 when one lab has every user.",
        metrics.market_measures,
        labs_only=True,
    ),
)

BY_NAME = {m.name: m for m in MEASURES}


def _family(index: str) -> re.Pattern[str]:
    """Columns of the registered measures named `<stem>_{index}`: group 1 the stem, group 2 the number."""
    stems = [m.name.removesuffix(f"_{{{index}}}") for m in MEASURES if m.name.endswith(f"_{{{index}}}")]
    return re.compile(rf"^({'|'.join(map(re.escape, stems))})_(\d+)$")


CULTURE_MEASURE = _family("c")  # utility_0, stance_alignment_0, ...
LAB_MEASURE = _family("l")  # share_0, beta_0, kl_0, ...


def measure_columns(n_cultures: int, n_labs: int = 1) -> list[str]:
    """Every measure column of a run with `n_cultures` cultures and `n_labs` labs, in recorded order."""
    return [column for m in MEASURES for column in m.columns(n_cultures, n_labs)]


def find_measure(column: str) -> Measure | None:
    """The registered measure behind a column name (per-culture and per-lab columns included), or None."""
    if column in BY_NAME:
        return BY_NAME[column]
    found = CULTURE_MEASURE.match(column)
    if found:
        return BY_NAME.get(f"{found.group(1)}_{{c}}")
    found = LAB_MEASURE.match(column)
    return BY_NAME.get(f"{found.group(1)}_{{l}}") if found else None


def measure_label(column: str, *, with_unit: bool = False) -> str:
    """The human name of a measure column ("worst-off culture's utility"), or the column itself if unknown."""
    measure = find_measure(column)
    if measure is None:
        return column
    if measure.per_culture:
        text = measure.title.format(c=CULTURE_MEASURE.match(column).group(2))
    elif measure.per_lab:
        text = measure.title.format(l=LAB_MEASURE.match(column).group(2))
    else:
        text = measure.title
    return f"{text} [{measure.unit}]" if with_unit and measure.unit else text


def is_measure(column: str) -> bool:
    """True for a registered measure column, including the per-culture ones."""
    return find_measure(column) is not None


def measure_doc(column: str) -> str:
    """One sentence explaining a measure column, or an empty string for an unknown name."""
    measure = find_measure(column)
    if measure is None:
        return ""
    if measure.per_culture:
        return measure.meaning.format(c=CULTURE_MEASURE.match(column).group(2))
    if measure.per_lab:
        return measure.meaning.format(l=LAB_MEASURE.match(column).group(2))
    return measure.meaning


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
