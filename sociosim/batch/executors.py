"""Executors for batches: serial, local processes and Dask, all as `concurrent.futures.Executor`.

The batch runner only ever calls `submit` and waits on the futures, so one code path
serves a laptop and a cluster. Process pools use a 'forkserver' (or 'spawn') context
chosen here, never the global start method; Dask uses `client.get_executor(pure=False)`
so that identical-looking replicate calls are never merged by Dask's result cache.

Worker counts: by default the CPUs this process may use, and never more workers than
runs left (a request above that is capped, with a one-line note). Local workers leave
interrupts to the batch process (they ignore SIGINT) and end when it ends, even by
SIGKILL (each watches the batch process through a pidfd); when a batch ends by an
exception or a signal its pool is terminated, not waited for, so no worker outlives it.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import re
import select
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from sociosim.errors import ScenarioError
from sociosim.io import pid_alive

ExecutorKind = Literal["serial", "processes", "dask"]
KINDS = ("serial", "processes", "dask")

# Dask's nanny sets MALLOC_TRIM_THRESHOLD_ in workers, which turns off glibc's adaptive mmap
# threshold: every large numpy array is then mmapped and page-faulted afresh, and a run
# costs about twice the CPU time (measured). Unset it, and skip the statistical profiler.
# Scheduler-side task queuing ("worker-saturation") is off: the batch runner already keeps
# at most two tasks per worker in flight, and queued tasks were seen stuck "queued" forever
# after every worker had been killed and restarted by its nanny.
LOCAL_CLUSTER_CONFIG = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.worker.profile.enabled": False,
    "distributed.scheduler.worker-saturation": float("inf"),
}
# A Dask scheduler address: [protocol://]host:port (host a name, IPv4 or [IPv6]).
SCHEDULER_ADDRESS = re.compile(
    r"^(?:(tcp|tls|ws|wss|ucx|inproc)://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$"
)


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


def check_workers(workers: object) -> int | str | None:
    """`workers` as given if it is None, 'auto' or an integer >= 1; else a ScenarioError naming it."""
    if workers is None or workers == "auto":
        return workers
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ScenarioError("workers", f"must be an integer >= 1 or 'auto', got {workers!r}")
    return workers


def check_scheduler(scheduler: object) -> str | None:
    """A scheduler address `[protocol://]host:port`, or None; else a ScenarioError naming `scheduler`."""
    if scheduler is None:
        return None
    match = SCHEDULER_ADDRESS.match(scheduler) if isinstance(scheduler, str) else None
    if match is None or not 0 < int(match.group(3)) < 65536:
        raise ScenarioError(
            "scheduler", f"must be an address like tcp://host:8786 (port 1-65535), got {scheduler!r}"
        )
    return scheduler


def resolve_kind(
    executor: str | None, *, workers: int | str | None, scheduler: str | None, runs: int | None = None
) -> str:
    """The executor kind from explicit choice, scheduler address and worker count.

    `workers='auto'` means the machine: processes when more than one CPU and run are available.
    """
    check_workers(workers)
    check_scheduler(scheduler)
    if executor is None:
        if scheduler:
            return "dask"
        if workers == "auto":
            return "processes" if capped_workers("auto", runs) > 1 else "serial"
        return "processes" if workers is not None and workers > 1 else "serial"
    if executor not in KINDS:
        raise ScenarioError("executor", f"must be one of {', '.join(KINDS)}, got {executor!r}")
    if scheduler and executor != "dask":
        raise ScenarioError("scheduler", f"a scheduler address needs executor 'dask', not {executor!r}")
    if executor == "serial" and isinstance(workers, int) and workers > 1:
        raise ScenarioError(
            "workers", f"the serial executor runs one run at a time; got workers={workers} (use 'processes')"
        )
    return executor


# What a worker needs, imported once by the forkserver so that each worker forks with it loaded
# (about 1.5 s of CPU per worker otherwise, paid again by every worker of every batch).
WORKER_PRELOAD = ["__main__", "sociosim.batch.task"]  # "__main__": multiprocessing's own default


def process_context() -> multiprocessing.context.BaseContext:
    """A local multiprocessing context that does not fork a threaded parent: forkserver, else spawn."""
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" not in methods:  # pragma: no cover - macOS uses forkserver too; Windows spawns
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(WORKER_PRELOAD)  # takes effect when the forkserver starts
    return context


def default_workers() -> int:
    """The CPUs this process may use: `os.process_cpu_count()` (3.13+), else its affinity mask."""
    counter = getattr(os, "process_cpu_count", None)
    if counter is not None:  # pragma: no cover - Python 3.13+
        return max(1, counter() or 1)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


def capped_workers(workers: int | str | None, runs: int | None) -> int:
    """How many workers to start: the request (default: the CPUs usable), never more than `runs`."""
    wanted = default_workers() if workers in (None, "auto") else int(workers)
    return max(1, min(wanted, runs)) if runs is not None else wanted


def cap_note(workers: int | str | None, runs: int | None) -> str | None:
    """The one-line note when an explicit request for workers is cut to the runs left, else None."""
    if isinstance(workers, int) and runs is not None and workers > max(runs, 1):
        return f"workers: {workers} requested, {max(runs, 1)} started (one per run left)"
    return None


def _watch_parent(pid: int) -> None:
    """Block until process `pid` has ended, then end this process (a worker must not outlive its batch)."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):  # pragma: no cover - not Linux >= 5.3: poll instead
        while pid_alive(pid):
            time.sleep(1.0)
    else:
        select.select([fd], [], [])
    os._exit(128 + signal.SIGTERM)


def init_worker(batch_pid: int) -> None:
    """Set up a local worker process: ignore SIGINT (the batch process decides), end with the batch.

    A terminal's Ctrl-C reaches the whole process group; the batch process then commits what
    finished and terminates its pool. If the batch process dies without doing so (SIGKILL,
    the OOM killer), a watcher thread sees it (a pidfd) and ends this worker: idle workers
    would otherwise wait on their task queue, and keep the forkserver alive, forever.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(
        target=_watch_parent, args=(batch_pid,), name="sociosim-parent-watch", daemon=True
    ).start()


def terminate_pool(pool: ProcessPoolExecutor) -> None:
    """Stop a process pool now: cancel what waits, terminate its workers and reap them."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(Exception):
            process.terminate()
    for process in processes:
        with contextlib.suppress(Exception):
            process.join(timeout=5)
            if process.is_alive():  # pragma: no cover - a worker that ignores SIGTERM
                process.kill()
                process.join(timeout=5)


@contextlib.contextmanager
def open_executor(
    kind: str,
    *,
    workers: int | str | None = None,
    scheduler: str | None = None,
    dask_processes: bool = True,
    runs: int | None = None,
) -> Iterator[ExecutorInfo]:
    """Open an executor of `kind` for the duration of a batch, and shut it down afterwards.

    Local executors start `capped_workers(workers, runs)` workers. A batch that ends by an
    exception (an interrupt included) terminates its process pool instead of waiting for it.
    """
    check_workers(workers)
    if kind == "serial":
        yield ExecutorInfo(SerialExecutor(), 1, "serial")
        return
    if kind == "processes":
        n = capped_workers(workers, runs)
        pool = ProcessPoolExecutor(
            max_workers=n, mp_context=process_context(), initializer=init_worker, initargs=(os.getpid(),)
        )
        try:
            yield ExecutorInfo(pool, n, f"{n} processes")
        except BaseException:
            terminate_pool(pool)
            raise
        pool.shutdown(wait=True, cancel_futures=True)
        return
    if kind == "dask":
        with _dask_executor(
            workers=capped_workers(workers, runs) if scheduler is None else None,
            scheduler=scheduler,
            processes=dask_processes,
        ) as info:
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
        except (OSError, TimeoutError, ValueError) as exc:
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


__all__ = [
    "KINDS",
    "ExecutorInfo",
    "SerialExecutor",
    "cap_note",
    "capped_workers",
    "check_scheduler",
    "check_workers",
    "default_workers",
    "init_worker",
    "open_executor",
    "process_context",
    "resolve_kind",
    "terminate_pool",
]
