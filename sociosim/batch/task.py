"""The task a worker runs: one simulation (or a chunk of short ones) from its spec, errors recorded.

Tasks are module-level functions so every executor can pickle them.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sociosim.batch.plan import RunSpec
from sociosim.config.params import ModelParams
from sociosim.runner import run_model


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


def _default_run_fn() -> Callable[..., Any]:
    """The function a task runs a simulation with (tests substitute a failing one)."""
    return run_model


def run_one(
    spec: RunSpec, *, steps: int, agent_snapshot_every: int = 0, run_fn: Callable[..., Any] | None = None
) -> RunOutput:
    """Run one simulation from its spec; an exception becomes a failed output with its message."""
    fn = run_fn or _default_run_fn()
    start, cpu_start = time.perf_counter(), time.process_time()
    try:
        params = ModelParams.model_validate(spec.params)
        # nothing in a batch reads Mesa's per-user views (half a default model's build time),
        # and results do not depend on them; the stored parameters keep the scenario's value
        unviewed = params.model_copy(update={"user_views": 0})
        # run_model pins BLAS to one thread itself, so every executor gives the same bits
        result = fn(
            unviewed,
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


__all__ = ["RunOutput", "run_chunk", "run_one"]
