"""Design expansion: a scenario's `Design` turned into an ordered list of validated parameter points.

Grids are full products of listed values; Latin hypercubes come from `scipy.stats.qmc`;
Sobol and Morris samples from SALib's samplers, with the SALib problem and the ordered
sample matrix kept so that `SALib.analyze` can be called on the results. Every random
draw is seeded from the batch's root `SeedSequence` (a child reserved for the design).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sociosim.config.params import ModelParams, resolve_name
from sociosim.config.scenario import (
    Design,
    ParameterRange,
    as_design,
    check_design_points,
    check_sampled,
    check_sobol_bounds,
    field_kind,
)
from sociosim.errors import ScenarioError

# The spawn key of the design's seed: far above any replicate index (replicates use keys 0..R-1).
DESIGN_SPAWN_KEY = 2**32 - 1


@dataclass(frozen=True)
class DesignPlan:
    """The expanded design: parameter names, one override dict per point, and SALib data if sampled."""

    method: str
    names: list[str]
    points: list[dict[str, Any]]
    problem: dict[str, Any] | None = None
    sample: np.ndarray | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.points)

    def salib_problem(self) -> dict[str, Any] | None:
        """The SALib problem plus the ordered sample matrix (sobol/morris only), JSON-friendly."""
        if self.problem is None or self.method not in ("sobol", "morris"):
            return None
        out = dict(self.problem)
        out["method"] = self.method
        out["sample"] = self.sample.tolist() if self.sample is not None else None
        return out


def design_seed(root: np.random.SeedSequence) -> np.random.SeedSequence:
    """The design's own seed: a fixed child of the root that no replicate uses."""
    return np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, DESIGN_SPAWN_KEY))


def _scaled(unit: np.ndarray, names: list[str], bounds: list[tuple[float, float]]) -> list[dict[str, Any]]:
    """Points from a matrix already in parameter units: integers rounded, floats as Python floats."""
    points = []
    for row in unit:
        point: dict[str, Any] = {}
        for name, value, (lo, hi) in zip(names, row, bounds, strict=True):
            value = float(min(max(value, lo), hi))
            point[name] = int(round(value)) if field_kind(name) == "int" else value
        points.append(point)
    return points


def expand_design(
    design: Design | dict | None, base: ModelParams, *, root: np.random.SeedSequence
) -> DesignPlan:
    """Expand a design into validated points (in a fixed order); no design gives one empty point."""
    design = as_design(design)
    if design is None or not design.parameters:
        return DesignPlan(method="none", names=[], points=[{}])
    raw = {resolve_name(k): v for k, v in design.parameters.items()}
    names = list(raw)
    if len(names) != len(design.parameters):
        raise ScenarioError("design.parameters", "a parameter is named twice (through an alias)")

    if design.method == "grid":
        lists = [raw[n] for n in names]
        points = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*lists)]
        check_design_points(base, points)
        return DesignPlan(method="grid", names=names, points=points)

    for name in names:
        check_sampled(name)
    ranges: list[ParameterRange] = [raw[n] for n in names]
    bounds = [(r.min, r.max) for r in ranges]
    problem = {"num_vars": len(names), "names": names, "bounds": [[lo, hi] for lo, hi in bounds]}
    seed_seq = design_seed(root)
    int_seed = int(seed_seq.generate_state(1, dtype=np.uint32)[0])

    if design.method == "lhs":
        from scipy.stats import qmc

        sampler = qmc.LatinHypercube(d=len(names), rng=np.random.default_rng(seed_seq))
        unit = sampler.random(n=design.samples)
        lows = np.array([lo for lo, _ in bounds])
        highs = np.array([hi for _, hi in bounds])
        sample = lows + unit * (highs - lows)
    elif design.method == "sobol":
        check_sobol_bounds(names, bounds)
        from SALib.sample import sobol

        sample = sobol.sample(problem, design.samples, calc_second_order=True, seed=int_seed)
        problem["calc_second_order"] = True
        problem["N"] = design.samples
    elif design.method == "morris":
        check_sobol_bounds(names, bounds)
        from SALib.sample import morris

        sample = morris.sample(problem, design.samples, num_levels=4, seed=int_seed)
        problem["num_levels"] = 4
        problem["N"] = design.samples
    else:  # pragma: no cover - Design's Literal forbids it
        raise ScenarioError("design.method", f"unknown method {design.method!r}")

    points = _scaled(sample, names, bounds)
    check_design_points(base, points)
    return DesignPlan(
        method=design.method, names=names, points=points, problem=problem, sample=np.asarray(sample)
    )


def column_value(value: Any) -> Any:
    """A design value as a table cell: scalars as they are, lists as compact JSON text."""
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, separators=(",", ":"))
    return value


__all__ = ["DESIGN_SPAWN_KEY", "DesignPlan", "as_design", "column_value", "design_seed", "expand_design"]
