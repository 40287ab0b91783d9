"""Planning a batch: a scenario × its design × replications turned into run specs with keys and seeds.

Seeds: one root `SeedSequence(scenario.run.seed)` per batch; replicate r of *every* design
point uses child r of `root.spawn(R)` (common random numbers, so comparisons between
points are paired). Rows therefore do not depend on the executor, the number of workers,
the chunking or the order in which runs finish, and any single run can be re-run alone
from its stored seed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from sociosim.batch.design import DesignPlan, column_value, expand_design
from sociosim.config.limits import check_runs
from sociosim.config.params import LAB_FIELDS, ModelParams, make_params
from sociosim.config.scenario import RunSettings, Scenario, as_design, load_scenario
from sociosim.errors import ScenarioError, error_from_validation


@dataclass(frozen=True)
class RunSpec:
    """One run to do: its key, place in the design, validated parameters (as JSON data) and seed."""

    run_key: str
    point: int
    replicate: int
    params: dict[str, Any]
    entropy: int
    spawn_key: tuple[int, ...]
    plan_key: str = ""  # the key without the code: what the run asks for (see `plan_key`)


def spawn_key_text(spawn_key: tuple[int, ...]) -> str:
    """A spawn key as stored: '2' for (2,), '2.5' for nested keys."""
    return ".".join(str(k) for k in spawn_key)


def run_seed(entropy: int | str, spawn_key: str | tuple[int, ...]) -> np.random.SeedSequence:
    """Rebuild a run's SeedSequence from its stored entropy and spawn key."""
    key = (
        tuple(int(k) for k in spawn_key.split(".") if k != "")
        if isinstance(spawn_key, str)
        else tuple(spawn_key)
    )
    return np.random.SeedSequence(int(entropy), spawn_key=key)


def canonical_json(data: Any) -> str:
    """JSON with sorted keys and no spaces: the text that keys and stored parameters are made of."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def batch_hash(scenario: Scenario, agent_snapshot_every: int) -> str:
    """The batch identity stored as `scenario_hash`: the scenario's content hash with replications set to 1.

    Leaving replications out lets a later batch with more replications extend the same
    batch; snapshots change what is stored, so a snapshot period other than 0 is part of it.
    """
    base = scenario.model_copy(update={"run": scenario.run.model_copy(update={"replications": 1})})
    digest = base.content_hash()
    if agent_snapshot_every:
        digest = hashlib.sha256(f"{digest}:snapshots={agent_snapshot_every}".encode()).hexdigest()[:16]
    return digest


def plan_key(
    scenario_hash: str, point: int, params: dict[str, Any], entropy: int, spawn_key: tuple[int, ...]
) -> str:
    """What a run asks for, whatever code runs it: scenario hash, design point, full parameters and seed.

    The point is part of the key because designs can repeat a parameter set (Morris
    trajectories, Sobol with one parameter): every design point keeps its own rows.
    Stores written before runs recorded their code used this as their run key.
    """
    text = canonical_json(
        {"h": scenario_hash, "i": point, "p": params, "e": str(entropy), "k": list(spawn_key)}
    )
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def run_key(
    scenario_hash: str,
    point: int,
    params: dict[str, Any],
    entropy: int,
    spawn_key: tuple[int, ...],
    code: str | None = None,
) -> str:
    """The store key of one run: its plan key and the fingerprint of the code that runs it.

    With `code` None it is the plan key itself (the key of stores without provenance).
    """
    base = plan_key(scenario_hash, point, params, entropy, spawn_key)
    if code is None:
        return base
    return hashlib.sha256(f"{base}:code={code}".encode()).hexdigest()[:20]


@dataclass
class BatchPlan:
    """Everything a batch will do: the effective scenario, its design, hash and the run specs."""

    scenario: Scenario
    design: DesignPlan
    scenario_hash: str
    specs: list[RunSpec]
    point_columns: list[dict[str, Any]] = field(default_factory=list)
    agent_snapshot_every: int = 0
    code: str | None = None  # the source fingerprint of the code that runs the specs

    @property
    def steps(self) -> int:
        return self.scenario.run.steps


def _effective_scenario(
    scenario: str | Path | Scenario | None,
    *,
    design: Any,
    replications: int | None,
    steps: int | None,
    overrides: dict[str, Any] | None,
) -> Scenario:
    """The scenario with overrides, run settings and design applied and validated."""
    base = load_scenario(scenario)
    if overrides:
        base = base.with_overrides(**overrides)
    run = base.run.model_dump()
    if steps is not None:
        run["steps"] = steps
    if replications is not None:
        run["replications"] = replications
    try:
        settings = RunSettings.model_validate(run)
    except ValidationError as exc:
        raise error_from_validation(exc, model=RunSettings) from None
    chosen = as_design(design) if design is not None else base.design
    check_runs(chosen.size() if chosen is not None else 1, settings.replications)  # before any spec is built
    return base.model_copy(update={"run": settings, "design": chosen})


def design_value(params: ModelParams, name: str) -> Any:
    """A design parameter's value as stored: its list of lab values where labs set their own, else the value."""
    if params.labs and name in LAB_FIELDS:
        return [getattr(params.lab_params(lab), name) for lab in range(params.n_labs)]
    return getattr(params, name)


def _one_type_per_column(columns: list[dict[str, Any]]) -> None:
    """Where some points store a list as JSON text and others a scalar, store the scalars as JSON too."""
    for name in columns[0] if columns else ():
        if any(isinstance(c[name], str) for c in columns) and not all(
            isinstance(c[name], str) for c in columns
        ):
            for c in columns:
                c[name] = c[name] if isinstance(c[name], str) else json.dumps(c[name])


def plan_batch(
    scenario: str | Path | Scenario | None,
    *,
    design: Any = None,
    replications: int | None = None,
    steps: int | None = None,
    overrides: dict[str, Any] | None = None,
    agent_snapshot_every: int = 0,
    code: str | None = None,
) -> BatchPlan:
    """Expand a batch into run specs (design order, then replicate) without running anything.

    `code` (the source fingerprint of the code that will run them) is part of each run key,
    so runs made by other code are never taken for these.
    """
    if not isinstance(agent_snapshot_every, int) or agent_snapshot_every < 0:
        raise ScenarioError("agent_snapshot_every", f"must be an integer >= 0, got {agent_snapshot_every!r}")
    eff = _effective_scenario(
        scenario, design=design, replications=replications, steps=steps, overrides=overrides
    )
    root = np.random.SeedSequence(eff.run.seed)
    plan = expand_design(eff.design, eff.params, root=root)
    children = root.spawn(eff.run.replications)
    digest = batch_hash(eff, agent_snapshot_every)
    specs: list[RunSpec] = []
    columns: list[dict[str, Any]] = []
    for i, point in enumerate(plan.points):
        params = make_params(eff.params, **point)
        data = params.model_dump(mode="json")
        columns.append({name: column_value(design_value(params, name)) for name in plan.names})
        for r, child in enumerate(children):
            base = plan_key(digest, i, data, child.entropy, child.spawn_key)
            key = run_key(digest, i, data, child.entropy, child.spawn_key, code)
            specs.append(RunSpec(key, i, r, data, int(child.entropy), tuple(child.spawn_key), base))
    if len({s.run_key for s in specs}) != len(specs):  # pragma: no cover - guarded by the key's contents
        raise RuntimeError("two runs of one batch got the same key")
    _one_type_per_column(columns)
    return BatchPlan(eff, plan, digest, specs, columns, agent_snapshot_every, code)


__all__ = [
    "BatchPlan",
    "RunSpec",
    "batch_hash",
    "canonical_json",
    "plan_batch",
    "plan_key",
    "run_key",
    "run_seed",
    "spawn_key_text",
]
