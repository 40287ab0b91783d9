"""Size limits: the largest sizes sociosim accepts before allocating anything, in one place.

A scenario, a `--set`, a Python call and a design all pass through these checks, so a
578-byte grid that would expand to 10^8 points, or a label budget that would need 75 GiB,
is refused with one line that says the size, the limit and how to raise it. The limits
are generous for real use (each is 10^2-10^4 times the default size). To raise one, set
its environment variable, e.g. `SOCIOSIM_MAX_DESIGN_POINTS=1000000` (for the CLI, a
script and the workers it starts alike). `docs/reliability.md` lists them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sociosim.errors import ScenarioError, key_text


@dataclass(frozen=True)
class Limit:
    """One size limit: its default, what it counts and the environment variable that raises it."""

    key: str
    default: int
    counts: str

    @property
    def env(self) -> str:
        return f"SOCIOSIM_MAX_{self.key.upper()}"

    def value(self) -> int:
        """The limit in force: the environment variable's value if set, else the default."""
        text = os.environ.get(self.env)
        if text is None or not text.strip():
            return self.default
        try:
            number = float(text.replace("_", ""))
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or number < 1 or number != int(number):
            raise ScenarioError(self.env, f"must be a whole number >= 1 (e.g. 1e6), got {text!r}")
        return int(number)

    def check(self, field: str, size: int, what: str) -> None:
        """Refuse `size` (described by `what`) above the limit, naming `field`, the size and the limit."""
        limit = self.value()
        if size > limit:
            raise ScenarioError(field, self.message(size, what, limit))

    def message(self, size: int, what: str, limit: int | None = None) -> str:
        limit = self.value() if limit is None else limit
        return (
            f"{what} is {size:,}, above the limit of {limit:,} {self.counts}; "
            f"set {self.env}={size} to allow it if the machine can take it"
        )


DESIGN_POINTS = Limit("design_points", 100_000, "design points")
RUNS = Limit("runs", 1_000_000, "runs")
STEPS = Limit("steps", 1_000_000, "steps")
LABELS = Limit("labels", 20_000_000, "labels held")  # ~100 bytes each in the window and the refit
RATINGS = Limit("ratings", 50_000_000, "rater-response values")  # 8 bytes each, several arrays
TIES = Limit("ties", 200_000_000, "network ties")
NESTING = Limit("nesting", 16, "levels of nesting")

LIMITS = (DESIGN_POINTS, RUNS, STEPS, LABELS, RATINGS, TIES, NESTING)


def check_steps(steps: int, field: str = "steps") -> None:
    """Steps per run at most `STEPS` (each step adds a row of measures)."""
    STEPS.check(field, int(steps), field.rsplit(".", 1)[-1])


def check_nesting(value: Any, field: str) -> None:
    """Refuse lists or tables nested deeper than `NESTING` (no value of the schema nests past 3).

    Walked without recursion, so a 10^5-deep list is refused in one line, not a traceback.
    """
    limit = NESTING.value()
    stack: list[tuple[Any, str, int]] = [(value, field, 0)]
    while stack:
        item, path, depth = stack.pop()
        if depth > limit:
            raise ScenarioError(path or "value", NESTING.message(depth, "the value", limit))
        if isinstance(item, dict):
            stack.extend(
                (v, f"{path}.{key_text(k)}" if path else key_text(k), depth + 1) for k, v in item.items()
            )
        elif isinstance(item, list | tuple):
            stack.extend((v, f"{path}[{i}]", depth + 1) for i, v in enumerate(item))


def design_size(method: str, samples: int, lengths: Iterable[int]) -> int:
    """How many points a design expands to, counted from its axes before anything is built."""
    lengths = list(lengths)
    if not lengths:
        return 1
    if method == "grid":
        return math.prod(lengths)
    d = len(lengths)
    if method == "sobol":  # Saltelli with second-order indices: N (2D + 2)
        return samples * (2 * d + 2)
    if method == "morris":  # N trajectories of D + 1 points
        return samples * (d + 1)
    return samples  # lhs


def check_design_size(method: str, samples: int, lengths: Iterable[int]) -> int:
    """Refuse a design above `DESIGN_POINTS`; the message names `parameters` (grid) or `samples`."""
    lengths = list(lengths)
    size = design_size(method, samples, lengths)
    if method == "grid":
        shape = " x ".join(str(n) for n in lengths)
        DESIGN_POINTS.check("parameters", size, f"a grid of {len(lengths)} parameters ({shape} values)")
    else:
        DESIGN_POINTS.check(
            "samples", size, f"a {method} design of {samples:,} samples over {len(lengths)} parameters"
        )
    return size


def check_runs(points: int, replications: int) -> None:
    """Refuse a batch of more than `RUNS` runs (design points x replications)."""
    RUNS.check(
        "replications", points * replications, f"{points:,} design points x {replications:,} replications"
    )


def check_model_sizes(p: Any) -> None:
    """Refuse parameters whose arrays would not fit: labels held, rater-response matrix, network ties.

    Raises a ValueError "field: message" as a pydantic model validator must.
    """
    per_step = p.n_annotators * p.labels_per_step + (p.rlaif_labels if p.rlaif else 0)
    per_step += p.thumbs_labels if p.thumbs_feedback else 0
    checks = (
        (
            LABELS,
            "labels_per_step",
            per_step * p.label_window,
            "(n_annotators x labels_per_step + AI and thumbs labels) x label_window",
        ),
        (RATINGS, "n_annotators", p.n_annotators * p.n_responses, "n_annotators x n_responses"),
        (TIES, "mean_degree", int(p.n_users * p.mean_degree), "n_users x mean_degree"),
    )
    for limit, field, size, what in checks:
        if size > limit.value():
            raise ValueError(f"{field}: {limit.message(size, what)}")


__all__ = [
    "DESIGN_POINTS",
    "LABELS",
    "LIMITS",
    "NESTING",
    "RATINGS",
    "RUNS",
    "STEPS",
    "TIES",
    "Limit",
    "check_design_size",
    "check_model_sizes",
    "check_nesting",
    "check_runs",
    "check_steps",
    "design_size",
]
