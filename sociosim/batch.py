"""Batches: a scenario × a parameter design × replications, run on any executor into a results store.

Seeds: one root `SeedSequence(scenario.run.seed)` per batch; replicate r of *every* design
point uses child r of `root.spawn(R)` (common random numbers, so comparisons between
points are paired). Rows therefore do not depend on the executor, the number of workers,
the chunking or the order in which runs finish, and any single run can be re-run alone
from its stored seed (`rerun`). Finished runs are committed to the store as they arrive;
a rerun of the same batch skips runs stored ok and retries failed ones.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .config import ModelParams, ScenarioError, make_params
from .design import DesignPlan, as_design, column_value, expand_design
from .executors import open_executor, resolve_kind
from .scenario import RunSettings, Scenario, load_scenario
from .store import ResultStore, create_store, sociosim_version

ID_COLUMNS = ("run_key", "scenario", "scenario_hash", "point", "replicate", "seed_entropy", "seed_spawn_key")
TARGET_TASK_SECONDS = 2.0  # chunk short runs so that one task takes about this long
FLUSH_SECONDS = 15.0  # commit finished runs at least this often (bounds the work a crash loses)
FLUSH_ROWS = 200_000  # ... or when this many measure rows are waiting


@dataclass(frozen=True)
class RunSpec:
    """One run to do: its key, place in the design, validated parameters (as JSON data) and seed."""

    run_key: str
    point: int
    replicate: int
    params: dict[str, Any]
    entropy: int
    spawn_key: tuple[int, ...]


@dataclass
class RunOutput:
    """What a task sends back for one run: status, error text, timing and compact frames."""

    run_key: str
    status: str
    error: str | None
    duration_s: float
    cpu_s: float = 0.0
    measures: pd.DataFrame | None = None
    events: pd.DataFrame | None = None
    agents: pd.DataFrame | None = None


@dataclass
class BatchResult:
    """The outcome of `run_batch`: the store and counts of runs done, skipped and failed."""

    store: ResultStore
    n_total: int
    n_done: int
    n_skipped: int
    n_failed: int
    failures: pd.DataFrame
    scenario_hash: str
    duration_s: float = 0.0
    executor: str = "serial"

    def summary(self) -> str:
        """One line for people: counts, store path and time taken."""
        return (
            f"{self.n_total} runs: {self.n_done} done, {self.n_skipped} skipped (already stored), "
            f"{self.n_failed} failed; store {self.store.path} ({self.executor}, {self.duration_s:.1f} s)"
        )


# --- seeds and keys --------------------------------------------------------------------------


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


def _canonical_json(data: Any) -> str:
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


def run_key(
    scenario_hash: str, point: int, params: dict[str, Any], entropy: int, spawn_key: tuple[int, ...]
) -> str:
    """The store key of one run: scenario hash, design point, full parameters and seed.

    The point is part of the key because designs can repeat a parameter set (Morris
    trajectories, Sobol with one parameter): every design point keeps its own rows.
    """
    text = _canonical_json(
        {"h": scenario_hash, "i": point, "p": params, "e": str(entropy), "k": list(spawn_key)}
    )
    return hashlib.sha256(text.encode()).hexdigest()[:20]


# --- the task (runs in workers) -----------------------------------------------------------


def _default_run_fn() -> Callable[..., Any]:
    from .runner import run_model

    return run_model


def run_one(
    spec: RunSpec, *, steps: int, agent_snapshot_every: int = 0, run_fn: Callable[..., Any] | None = None
) -> RunOutput:
    """Run one simulation from its spec; an exception becomes a failed output with its message."""
    fn = run_fn or _default_run_fn()
    start, cpu_start = time.perf_counter(), time.process_time()
    try:
        params = ModelParams.model_validate(spec.params)
        # run_model pins BLAS to one thread itself, so every executor gives the same bits
        result = fn(
            params,
            steps=steps,
            seed=np.random.SeedSequence(spec.entropy, spawn_key=spec.spawn_key),
            agent_snapshot_every=agent_snapshot_every,
            progress=False,
        )
    except Exception as exc:  # noqa: BLE001 - recorded as a failed run, the batch goes on
        tb = traceback.extract_tb(exc.__traceback__)
        where = f" (at {Path(tb[-1].filename).name}:{tb[-1].lineno})" if tb else ""
        error = f"{type(exc).__name__}: {exc}{where}"
        return RunOutput(
            spec.run_key, "failed", error, time.perf_counter() - start, time.process_time() - cpu_start
        )
    agents = result.agents if agent_snapshot_every else None
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return RunOutput(spec.run_key, "ok", None, wall, cpu, result.measures, result.events, agents)


def run_chunk(
    specs: list[RunSpec], steps: int, agent_snapshot_every: int = 0, run_fn: Callable[..., Any] | None = None
) -> list[RunOutput]:
    """Run several short runs in one task (keeps per-task overhead small); module-level for pickling."""
    return [run_one(s, steps=steps, agent_snapshot_every=agent_snapshot_every, run_fn=run_fn) for s in specs]


# --- planning ------------------------------------------------------------------------------


@dataclass
class BatchPlan:
    """Everything a batch will do: the effective scenario, its design, hash and the run specs."""

    scenario: Scenario
    design: DesignPlan
    scenario_hash: str
    specs: list[RunSpec]
    point_columns: list[dict[str, Any]] = field(default_factory=list)
    agent_snapshot_every: int = 0

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
    except Exception as exc:  # pydantic ValidationError: name the field
        from pydantic import ValidationError

        if isinstance(exc, ValidationError):
            first = exc.errors()[0]
            name = ".".join(str(p) for p in first.get("loc", ()))
            raise ScenarioError(name, f"{first.get('msg')}, got {first.get('input')!r}") from None
        raise
    chosen = as_design(design) if design is not None else base.design
    return base.model_copy(update={"run": settings, "design": chosen})


def plan_batch(
    scenario: str | Path | Scenario | None,
    *,
    design: Any = None,
    replications: int | None = None,
    steps: int | None = None,
    overrides: dict[str, Any] | None = None,
    agent_snapshot_every: int = 0,
) -> BatchPlan:
    """Expand a batch into run specs (design order, then replicate) without running anything."""
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
        columns.append({name: column_value(getattr(params, name)) for name in plan.names})
        for r, child in enumerate(children):
            key = run_key(digest, i, data, child.entropy, child.spawn_key)
            specs.append(RunSpec(key, i, r, data, int(child.entropy), tuple(child.spawn_key)))
    if len({s.run_key for s in specs}) != len(specs):  # pragma: no cover - guarded by the key's contents
        raise RuntimeError("two runs of one batch got the same key")
    return BatchPlan(eff, plan, digest, specs, columns, agent_snapshot_every)


# --- turning outputs into stored rows --------------------------------------------------------


def _id_values(plan: BatchPlan, spec: RunSpec) -> dict[str, Any]:
    ids: dict[str, Any] = {
        "run_key": spec.run_key,
        "scenario": plan.scenario.name,
        "scenario_hash": plan.scenario_hash,
        "point": spec.point,
        "replicate": spec.replicate,
        "seed_entropy": str(spec.entropy),
        "seed_spawn_key": spawn_key_text(spec.spawn_key),
    }
    ids.update(plan.point_columns[spec.point])
    return ids


def with_ids(frame: pd.DataFrame, ids: dict[str, Any]) -> pd.DataFrame:
    """Prefix a run's frame with its identifying columns (a design column named like a measure is renamed param_<name>)."""
    frame = frame.reset_index(drop=True)
    prefix: dict[str, Any] = {}
    for name, value in ids.items():
        column = f"param_{name}" if name in frame.columns else name
        if isinstance(value, bool):
            prefix[column] = np.full(len(frame), value, dtype=bool)
        elif isinstance(value, int):
            prefix[column] = np.full(len(frame), value, dtype=np.int64)
        elif isinstance(value, float):
            prefix[column] = np.full(len(frame), value, dtype=np.float64)
        else:
            prefix[column] = [value] * len(frame)
    head = pd.DataFrame(prefix, index=frame.index)
    return pd.concat([head, frame], axis=1)


def runs_row(plan: BatchPlan, spec: RunSpec, out: RunOutput) -> dict[str, Any]:
    """The runs-table record of one run."""
    row = _id_values(plan, spec)
    row.update(
        status=out.status,
        error=out.error,
        params_json=_canonical_json(spec.params),
        steps=plan.steps,
        agent_snapshot_every=plan.agent_snapshot_every,
        duration_s=float(out.duration_s),
        cpu_s=float(out.cpu_s),
        sociosim_version=sociosim_version(),
    )
    return row


class _Buffer:
    """Finished runs waiting to be committed as one part."""

    def __init__(self, plan: BatchPlan, store: ResultStore, *, flush_seconds: float = FLUSH_SECONDS):
        self.plan, self.store = plan, store
        self.flush_seconds = flush_seconds
        self.rows: list[dict[str, Any]] = []
        self.tables: dict[str, list[pd.DataFrame]] = {"measures": [], "events": [], "agents": []}
        self.n_rows = 0
        self.last_flush = time.monotonic()

    def add(self, spec: RunSpec, out: RunOutput) -> None:
        self.rows.append(runs_row(self.plan, spec, out))
        if out.status != "ok":
            return
        ids = _id_values(self.plan, spec)
        for name in ("measures", "events", "agents"):
            frame = getattr(out, name)
            if frame is not None and not frame.empty:
                self.tables[name].append(with_ids(frame, ids))
        self.n_rows += 0 if out.measures is None else len(out.measures)

    def due(self) -> bool:
        return bool(self.rows) and (
            self.n_rows >= FLUSH_ROWS or time.monotonic() - self.last_flush >= self.flush_seconds
        )

    def flush(self) -> None:
        if self.rows:
            runs = pd.DataFrame(self.rows)
            runs["committed_at"] = pd.Timestamp.now(tz="UTC")
            tables = {k: pd.concat(v, ignore_index=True) if v else None for k, v in self.tables.items()}
            self.store.commit(runs, tables)
        self.rows = []
        self.tables = {"measures": [], "events": [], "agents": []}
        self.n_rows = 0
        self.last_flush = time.monotonic()


# --- the batch runner -----------------------------------------------------------------------


def run_batch(
    scenario: str | Path | Scenario | None,
    *,
    design: Any = None,
    replications: int | None = None,
    steps: int | None = None,
    executor: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    store: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    agent_snapshot_every: int = 0,
    progress: bool = True,
    chunk_size: int | None = None,
    _run_fn: Callable[..., Any] | None = None,
    _dask_processes: bool = True,
    _flush_seconds: float = FLUSH_SECONDS,
) -> BatchResult:
    """Run a scenario over its design and replications on an executor, storing every run as it finishes.

    `executor` is 'serial', 'processes' or 'dask' (default: dask if `scheduler` is given,
    processes if `workers` > 1, else serial). `store` defaults to `results/<scenario name>`.
    Runs already stored ok are skipped; failed runs are recorded and retried by a rerun.
    `chunk_size` fixes how many runs one task does (default: adapted so a task takes ~2 s).
    """
    started = time.perf_counter()
    kind = resolve_kind(executor, workers=workers, scheduler=scheduler)
    plan = plan_batch(
        scenario,
        design=design,
        replications=replications,
        steps=steps,
        overrides=overrides,
        agent_snapshot_every=agent_snapshot_every,
    )
    if chunk_size is not None and chunk_size < 1:
        raise ScenarioError("chunk_size", f"must be at least 1, got {chunk_size}")
    results = create_store(store if store is not None else Path("results") / plan.scenario.name)
    results.cleanup()
    results.write_scenario(plan.scenario_hash, plan.scenario, plan.design.salib_problem())
    status = results.stored_status()
    pending = [s for s in plan.specs if status.get(s.run_key) != "ok"]
    n_skipped = len(plan.specs) - len(pending)
    failures: list[dict[str, Any]] = []
    n_done = 0
    label = kind
    if pending:
        with open_executor(
            kind, workers=workers, scheduler=scheduler, dask_processes=_dask_processes
        ) as info:
            label = info.label
            n_done, failures = _execute(
                plan,
                pending,
                results,
                info,
                chunk_size=chunk_size,
                progress=progress,
                run_fn=_run_fn,
                flush_seconds=_flush_seconds,
            )
    failures_df = pd.DataFrame(
        failures, columns=["run_key", "point", "replicate", *plan.design.names, "error"]
    )
    return BatchResult(
        store=results,
        n_total=len(plan.specs),
        n_done=n_done,
        n_skipped=n_skipped,
        n_failed=len(failures),
        failures=failures_df,
        scenario_hash=plan.scenario_hash,
        duration_s=time.perf_counter() - started,
        executor=label,
    )


def _execute(
    plan: BatchPlan,
    pending: list[RunSpec],
    store: ResultStore,
    info: Any,
    *,
    chunk_size: int | None,
    progress: bool,
    run_fn: Callable[..., Any] | None,
    flush_seconds: float,
) -> tuple[int, list[dict[str, Any]]]:
    """Submit chunks (at most two per slot in flight), commit outputs as they arrive, report progress."""
    from tqdm.auto import tqdm

    by_key = {s.run_key: s for s in pending}
    queue = list(reversed(pending))  # pop() from the end keeps design order
    in_flight: dict[Future, list[RunSpec]] = {}
    buffer = _Buffer(plan, store, flush_seconds=flush_seconds)
    failures: list[dict[str, Any]] = []
    n_done = 0
    durations: list[float] = []
    max_in_flight = 2 * info.slots
    skipped = len(plan.specs) - len(pending)
    desc = f"batch {plan.scenario.name}" + (f" ({skipped} already stored)" if skipped else "")
    bar = tqdm(total=len(pending), disable=not progress, unit="run", desc=desc, dynamic_ncols=True)

    def next_chunk_size() -> int:
        if chunk_size is not None:
            return chunk_size
        if not durations:
            return 1
        mean = max(sum(durations) / len(durations), 1e-3)
        spread = max(1, math.ceil(len(queue) / max_in_flight))  # never starve a worker
        return max(1, min(int(TARGET_TASK_SECONDS / mean), spread))

    def record(spec: RunSpec, out: RunOutput) -> None:
        nonlocal n_done
        buffer.add(spec, out)
        if out.status == "ok":
            n_done += 1
            durations.append(out.duration_s)
        else:
            failures.append(
                {
                    "run_key": spec.run_key,
                    "point": spec.point,
                    "replicate": spec.replicate,
                    **plan.point_columns[spec.point],
                    "error": out.error,
                }
            )
        bar.update(1)
        bar.set_postfix(done=n_done, failed=len(failures), refresh=False)

    try:
        while queue or in_flight:
            while queue and len(in_flight) < max_in_flight:
                size = next_chunk_size()
                chunk = [queue.pop() for _ in range(min(size, len(queue)))]
                try:
                    future = info.executor.submit(
                        run_chunk, chunk, plan.steps, plan.agent_snapshot_every, run_fn
                    )
                except Exception as exc:  # noqa: BLE001 - a broken pool: record and stop submitting
                    message = f"executor failure: {type(exc).__name__}: {exc}"
                    for spec in chunk + list(reversed(queue)):
                        record(spec, RunOutput(spec.run_key, "failed", message, 0.0))
                    queue.clear()
                    break
                in_flight[future] = chunk
            if not in_flight:
                break
            finished, _ = wait(list(in_flight), timeout=max(flush_seconds, 0.05), return_when=FIRST_COMPLETED)
            for future in finished:
                chunk = in_flight.pop(future)
                try:
                    outputs = future.result()
                except Exception as exc:  # noqa: BLE001 - worker died or task lost
                    message = f"executor failure: {type(exc).__name__}: {exc}"
                    outputs = [RunOutput(s.run_key, "failed", message, 0.0) for s in chunk]
                for out in outputs:
                    record(by_key[out.run_key], out)
            if buffer.due():
                buffer.flush()
    finally:
        buffer.flush()
        bar.close()
    return n_done, failures


def rerun(
    store: ResultStore | str | Path, key: str, *, run_fn: Callable[..., Any] | None = None
) -> pd.DataFrame:
    """Re-run one stored run alone from its stored parameters and seed; return its measures rows as stored."""
    from .config import resolve_name
    from .store import open_store

    results = store if isinstance(store, ResultStore) else open_store(store)
    runs = results.query("SELECT * FROM runs WHERE run_key = ?", [key])
    if runs.empty:
        raise ScenarioError("run_key", f"no run {key!r} in {results.path}")
    row = runs.iloc[0]
    seed = run_seed(row["seed_entropy"], row["seed_spawn_key"])
    spec = RunSpec(
        row["run_key"],
        int(row["point"]),
        int(row["replicate"]),
        json.loads(row["params_json"]),
        int(seed.entropy),
        tuple(seed.spawn_key),
    )
    out = run_one(
        spec, steps=int(row["steps"]), agent_snapshot_every=int(row["agent_snapshot_every"]), run_fn=run_fn
    )
    if out.status != "ok":
        raise RuntimeError(f"rerun of {key} failed: {out.error}")
    design = results.scenario(row["scenario_hash"]).design
    names = [resolve_name(n) for n in design.parameters] if design is not None else []
    ids = {c: row[c] for c in (*ID_COLUMNS, *names)}
    ids = {k: (v.item() if hasattr(v, "item") else v) for k, v in ids.items()}
    return with_ids(out.measures, ids)


__all__ = ["BatchResult", "RunSpec", "plan_batch", "rerun", "run_batch", "run_chunk", "run_one", "run_seed"]
