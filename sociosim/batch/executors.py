"""Executors for batches: serial, local processes and Dask, all as `concurrent.futures.Executor`.

The batch runner only ever calls `submit` and waits on the futures, so one code path
serves a laptop and a cluster. Process pools use a 'forkserver' (or 'spawn') context
chosen here, never the global start method; Dask uses `client.get_executor(pure=False)`
so that identical-looking replicate calls are never merged by Dask's result cache.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from sociosim.errors import ScenarioError

ExecutorKind = Literal["serial", "processes", "dask"]
KINDS = ("serial", "processes", "dask")

# Dask's nanny sets MALLOC_TRIM_THRESHOLD_ in workers, which turns off glibc's adaptive mmap
# threshold: every large numpy array is then mmapped and page-faulted afresh, and a run
# costs about twice the CPU time (measured). Unset it, and skip the statistical profiler.
LOCAL_CLUSTER_CONFIG = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.worker.profile.enabled": False,
}


class SerialExecutor(Executor):
    """Runs each task at submit time in this process; returns an already finished future."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(exc)
        return future


@dataclass
class ExecutorInfo:
    """An open executor, how many tasks it runs at once, and a label for messages."""

    executor: Executor
    slots: int
    label: str


def resolve_kind(executor: str | None, *, workers: int | None, scheduler: str | None) -> str:
    """The executor kind from explicit choice, scheduler address and worker count."""
    if executor is None:
        if scheduler:
            return "dask"
        return "processes" if workers is not None and workers > 1 else "serial"
    if executor not in KINDS:
        raise ScenarioError("executor", f"must be one of {', '.join(KINDS)}, got {executor!r}")
    if scheduler and executor != "dask":
        raise ScenarioError("scheduler", f"a scheduler address needs executor 'dask', not {executor!r}")
    if executor == "serial" and workers is not None and workers > 1:
        raise ScenarioError(
            "workers", f"the serial executor runs one run at a time; got workers={workers} (use 'processes')"
        )
    return executor


def process_context() -> multiprocessing.context.BaseContext:
    """A local multiprocessing context that does not fork a threaded parent: forkserver, else spawn."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def default_workers() -> int:
    """Usable CPU count (respecting affinity where the OS tells it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def open_executor(
    kind: str, *, workers: int | None = None, scheduler: str | None = None, dask_processes: bool = True
) -> Iterator[ExecutorInfo]:
    """Open an executor of `kind` for the duration of a batch, and shut it down afterwards."""
    if workers is not None and workers < 1:
        raise ScenarioError("workers", f"must be at least 1, got {workers}")
    if kind == "serial":
        yield ExecutorInfo(SerialExecutor(), 1, "serial")
        return
    if kind == "processes":
        n = workers or default_workers()
        pool = ProcessPoolExecutor(max_workers=n, mp_context=process_context())
        try:
            yield ExecutorInfo(pool, n, f"{n} processes")
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return
    if kind == "dask":
        with _dask_executor(workers=workers, scheduler=scheduler, processes=dask_processes) as info:
            yield info
        return
    raise ScenarioError("executor", f"must be one of {', '.join(KINDS)}, got {kind!r}")


@contextlib.contextmanager
def _dask_executor(*, workers: int | None, scheduler: str | None, processes: bool) -> Iterator[ExecutorInfo]:
    """A Dask executor on an existing scheduler, or on a LocalCluster started (and stopped) here."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dask is a dependency
        raise ScenarioError("executor", f"dask needs the 'distributed' package: {exc}") from None
    cluster = None
    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise ScenarioError("scheduler", f"cannot connect to {scheduler}: {exc}") from None
        label = f"dask scheduler {scheduler}"
    else:
        import dask

        n = workers or default_workers()
        with dask.config.set(LOCAL_CLUSTER_CONFIG):
            cluster = LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=processes,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
        client = Client(cluster)
        label = f"dask LocalCluster ({n} {'processes' if processes else 'threads'})"
    try:
        slots = max(1, sum(client.nthreads().values()))
        yield ExecutorInfo(client.get_executor(pure=False), slots, label)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


__all__ = ["KINDS", "ExecutorInfo", "SerialExecutor", "open_executor", "process_context", "resolve_kind"]
