"""Running a batch: plan it, skip what the store holds, run the rest on an executor, commit as runs finish.

Finished runs are committed to the store as they arrive (at least every `FLUSH_SECONDS`);
a rerun of the same batch skips runs stored ok and retries failed ones. A stored run
counts as done only when the code that made it has this package's source fingerprint;
runs of other code are re-run beside the old ones (or kept with `reuse_any_code`), and
the summary says how many.

Interrupts: SIGTERM and SIGHUP unwind like Ctrl-C (`sociosim.io.terminate_as_interrupt`):
runs that finished, harvested or not, are committed before the batch stops (the commit
itself holds further signals until it is done), the pool's workers are terminated, and a
rerun resumes from what is stored.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from sociosim.batch.executors import cap_note, check_scheduler, check_workers, open_executor, resolve_kind
from sociosim.batch.plan import BatchPlan, RunSpec, canonical_json, plan_batch, run_seed, spawn_key_text
from sociosim.batch.provenance import CodeInfo, code_info
from sociosim.batch.store import ID_COLUMNS, ResultStore, create_store, open_store
from sociosim.batch.task import RunOutput, run_chunk, run_one
from sociosim.config.params import resolve_name
from sociosim.config.scenario import Scenario, check_name
from sociosim.errors import ScenarioError
from sociosim.io import signals_deferred, terminate_as_interrupt

TARGET_TASK_SECONDS = 2.0  # chunk short runs so that one task takes about this long
FLUSH_SECONDS = 15.0  # commit finished runs at least this often (bounds the work a crash loses)
FLUSH_ROWS = 200_000  # ... or when this many measure rows are waiting


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
    code: str = ""
    n_other_code: int = 0  # planned runs the store holds only as made by other code
    other_codes: tuple[str, ...] = ()
    reuse_any_code: bool = False
    notes: tuple[str, ...] = ()  # one line each, e.g. that a request for workers was capped

    def summary(self) -> str:
        """For people: counts, store path and time taken; a second line when the store held other code's runs."""
        text = (
            f"{self.n_total} runs: {self.n_done} done, {self.n_skipped} skipped (already stored), "
            f"{self.n_failed} failed; store {self.store.path} ({self.executor}, {self.duration_s:.1f} s)"
        )
        if self.n_other_code:
            codes = ", ".join(self.other_codes)
            if self.reuse_any_code:
                text += (
                    f"\n{self.n_other_code} of the skipped runs were made by other code ({codes}), not this "
                    f"code ({self.code}), and were kept as done (--reuse-any-code)"
                )
            else:
                text += (
                    f"\n{self.n_other_code} stored runs were made by other code ({codes}), not this code "
                    f"({self.code}): they were re-run and both are kept (--reuse-any-code would reuse them)"
                )
        for note in self.notes:
            text += f"\n{note}"
        return text


# --- turning outputs into stored rows --------------------------------------------------------


def _id_values(plan: BatchPlan, spec: RunSpec) -> dict[str, Any]:
    ids: dict[str, Any] = {
        "run_key": spec.run_key,
        "scenario": plan.scenario.name,
        "scenario_hash": plan.scenario_hash,
        "code": plan.code,
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


def runs_row(plan: BatchPlan, spec: RunSpec, out: RunOutput, code: CodeInfo) -> dict[str, Any]:
    """The runs-table record of one run, with the code that made it (version, fingerprint, git)."""
    row = _id_values(plan, spec)
    row.update(
        plan_key=spec.plan_key,
        status=out.status,
        error=out.error,
        params_json=canonical_json(spec.params),
        steps=plan.steps,
        agent_snapshot_every=plan.agent_snapshot_every,
        duration_s=float(out.duration_s),
        cpu_s=float(out.cpu_s),
        sociosim_version=code.version,
        git_commit=code.git_commit,
        git_dirty=code.git_dirty,
    )
    return row


class _Buffer:
    """Finished runs waiting to be committed as one part."""

    def __init__(
        self, plan: BatchPlan, store: ResultStore, code: CodeInfo, *, flush_seconds: float = FLUSH_SECONDS
    ):
        self.plan, self.store, self.code = plan, store, code
        self.flush_seconds = flush_seconds
        self.rows: list[dict[str, Any]] = []
        self.tables: dict[str, list[pd.DataFrame]] = {"measures": [], "events": [], "agents": []}
        self.n_rows = 0
        self.last_flush = time.monotonic()

    def add(self, spec: RunSpec, out: RunOutput) -> None:
        self.rows.append(runs_row(self.plan, spec, out, self.code))
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
            # typed even when unknown everywhere (outside a checkout), so parts share one schema
            runs["git_commit"] = runs["git_commit"].astype("string")
            runs["git_dirty"] = runs["git_dirty"].astype("boolean")
            tables = {k: pd.concat(v, ignore_index=True) if v else None for k, v in self.tables.items()}
            with signals_deferred():  # an interrupt lands before or after the commit, never inside
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
    workers: int | str | None = None,
    scheduler: str | None = None,
    store: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    agent_snapshot_every: int = 0,
    progress: bool = True,
    chunk_size: int | None = None,
    reuse_any_code: bool = False,
    _run_fn: Callable[..., Any] | None = None,
    _dask_processes: bool = True,
    _flush_seconds: float = FLUSH_SECONDS,
) -> BatchResult:
    """Run a scenario over its design and replications on an executor, storing every run as it finishes.

    `executor` is 'serial', 'processes' or 'dask' (default: dask if `scheduler` is given,
    processes if `workers` > 1, else serial). `workers='auto'` (the CLI's default) uses the
    CPUs this process may use; local executors never start more workers than runs left
    (the result's `notes` say when a request was capped). `store` defaults to
    `results/<scenario name>`. SIGTERM and SIGHUP stop a batch as Ctrl-C does: finished runs
    are committed first (see the module docstring).
    Runs already stored ok are skipped; failed runs are recorded and retried by a rerun.
    `chunk_size` fixes how many runs one task does (default: adapted so a task takes ~2 s).
    A run stored by other code (another source fingerprint) is re-run beside it unless
    `reuse_any_code`; the result counts such runs either way.
    """
    with terminate_as_interrupt():
        return _run_batch(
            scenario,
            design=design,
            replications=replications,
            steps=steps,
            executor=executor,
            workers=workers,
            scheduler=scheduler,
            store=store,
            overrides=overrides,
            agent_snapshot_every=agent_snapshot_every,
            progress=progress,
            chunk_size=chunk_size,
            reuse_any_code=reuse_any_code,
            run_fn=_run_fn,
            dask_processes=_dask_processes,
            flush_seconds=_flush_seconds,
        )


def _run_batch(
    scenario: str | Path | Scenario | None,
    *,
    design: Any,
    replications: int | None,
    steps: int | None,
    executor: str | None,
    workers: int | str | None,
    scheduler: str | None,
    store: str | Path | None,
    overrides: dict[str, Any] | None,
    agent_snapshot_every: int,
    progress: bool,
    chunk_size: int | None,
    reuse_any_code: bool,
    run_fn: Callable[..., Any] | None,
    dask_processes: bool,
    flush_seconds: float,
) -> BatchResult:
    """`run_batch` with the signal policy in force."""
    started = time.perf_counter()
    check_workers(workers)
    check_scheduler(scheduler)
    resolve_kind(executor, workers=workers, scheduler=scheduler, runs=None)  # refuse bad choices first
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int)):
        raise ScenarioError("chunk_size", f"must be an integer >= 1, got {chunk_size!r}")
    code = code_info()
    plan = plan_batch(
        scenario,
        design=design,
        replications=replications,
        steps=steps,
        overrides=overrides,
        agent_snapshot_every=agent_snapshot_every,
        code=code.code,
    )
    if chunk_size is not None and chunk_size < 1:
        raise ScenarioError("chunk_size", f"must be an integer >= 1, got {chunk_size}")
    if store is None:  # the name becomes a folder: checked again, a Scenario may have been changed since
        store = Path("results") / check_name(plan.scenario.name)
    results = create_store(store)
    results.cleanup()
    results.write_scenario(plan.scenario_hash, plan.scenario, plan.design.salib_problem())
    pending, n_skipped, other = _pending(plan, results.stored_records(), code.code, reuse_any_code)
    kind = resolve_kind(executor, workers=workers, scheduler=scheduler, runs=len(pending))
    notes = []
    if kind != "serial" and scheduler is None:
        note = cap_note(workers, len(pending))
        if note:
            notes.append(note)
    failures: list[dict[str, Any]] = []
    n_done = 0
    label = kind
    if pending:
        with open_executor(
            kind, workers=workers, scheduler=scheduler, dask_processes=dask_processes, runs=len(pending)
        ) as info:
            label = info.label
            n_done, failures = _execute(
                plan,
                pending,
                results,
                info,
                chunk_size=chunk_size,
                progress=progress,
                run_fn=run_fn,
                flush_seconds=flush_seconds,
                code=code,
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
        code=code.code,
        n_other_code=sum(other.values()),
        other_codes=tuple(sorted(other)),
        reuse_any_code=reuse_any_code,
        notes=tuple(notes),
    )


def _pending(
    plan: BatchPlan, records: list[tuple[str, str, str, str | None]], code: str, reuse_any_code: bool
) -> tuple[list[RunSpec], int, dict[str, int]]:
    """The specs still to run, how many are skipped, and per other code how many planned runs it made.

    A spec is done when its run key (which holds the code) is stored ok; with
    `reuse_any_code` also when its plan key is stored ok by any code.
    """
    ok_keys = {key for key, status, _, _ in records if status == "ok"}
    by_other: dict[str, str] = {}  # plan key -> the newest other code that made it ok
    for _, status, plan_k, run_code in records:
        if status == "ok" and run_code != code:
            by_other[plan_k] = run_code if run_code is not None else "unrecorded"
    pending: list[RunSpec] = []
    other: dict[str, int] = {}
    for spec in plan.specs:
        if spec.run_key in ok_keys:
            continue
        made_by = by_other.get(spec.plan_key)
        if made_by is not None:
            other[made_by] = other.get(made_by, 0) + 1
            if reuse_any_code:
                continue
        pending.append(spec)
    return pending, len(plan.specs) - len(pending), other


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
    code: CodeInfo,
) -> tuple[int, list[dict[str, Any]]]:
    """Submit chunks (at most two per slot in flight), commit outputs as they arrive, report progress."""
    by_key = {s.run_key: s for s in pending}
    queue = list(reversed(pending))  # pop() from the end keeps design order
    in_flight: dict[Future, list[RunSpec]] = {}
    buffer = _Buffer(plan, store, code, flush_seconds=flush_seconds)
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
    except BaseException:
        # stopped (an interrupt, a signal, a failing commit): keep the runs that did finish
        _harvest_finished(in_flight, by_key, record)
        try:
            buffer.flush()
        finally:
            bar.close()
        if progress:
            print(
                f"stopped: the {n_done} runs this batch finished are stored in {store.path}; "
                "the same command resumes from them",
                file=sys.stderr,
            )
        raise
    buffer.flush()
    bar.close()
    return n_done, failures


def _harvest_finished(
    in_flight: dict[Future, list[RunSpec]],
    by_key: dict[str, RunSpec],
    record: Callable[[RunSpec, RunOutput], None],
) -> None:
    """Record the outputs of tasks that finished but were not yet collected (their runs are done)."""
    for future in list(in_flight):
        if future.done() and not future.cancelled() and future.exception() is None:
            for out in future.result():
                if out.status == "ok":
                    record(by_key[out.run_key], out)
        del in_flight[future]


def rerun(
    store: ResultStore | str | Path, key: str, *, run_fn: Callable[..., Any] | None = None
) -> pd.DataFrame:
    """Re-run one stored run alone from its stored parameters and seed; return its measures rows as stored."""
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
        str(row["plan_key"]) if "plan_key" in row.index and row["plan_key"] is not None else row["run_key"],
    )
    out = run_one(
        spec, steps=int(row["steps"]), agent_snapshot_every=int(row["agent_snapshot_every"]), run_fn=run_fn
    )
    if out.status != "ok":
        raise RuntimeError(f"rerun of {key} failed: {out.error}")
    design = results.scenario(row["scenario_hash"]).design
    names = [resolve_name(n) for n in design.parameters] if design is not None else []
    ids = {c: row.get(c) for c in (*ID_COLUMNS, *names)}  # stores without provenance have no code
    ids = {k: (v.item() if hasattr(v, "item") else v) for k, v in ids.items()}
    return with_ids(out.measures, ids)


__all__ = ["BatchResult", "rerun", "run_batch", "with_ids"]
