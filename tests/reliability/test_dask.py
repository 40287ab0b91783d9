"""Worker faults: a Dask worker process SIGKILLed mid-batch loses nothing.

The run function below kills its own worker process (SIGKILL, as the OOM killer would)
the first time it meets a chosen run; Dask's nanny restarts the worker and the scheduler
reschedules the task. A run that kills every worker it lands on ends as a failed run
(KilledWorker) and the batch still finishes; a rerun retries it.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import dask
import pytest

from sociosim.batch.execute import run_batch
from sociosim.batch.store import open_store
from sociosim.runner import run_model

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

SMALL = {"n_users": 40, "n_annotators": 5, "n_responses": 32}
DESIGN = {"method": "grid", "parameters": {"beta": [0.5, 1.0, 2.0]}}
REPLICATIONS = 2
KILL_FILE_ENV = "SOCIOSIM_TEST_KILL_MARKER"


def killing_run(params, **kwargs):
    """The real model; at beta 2 it SIGKILLs its worker once (a marker file says it already did)."""
    marker = Path(os.environ[KILL_FILE_ENV])
    if params.beta == 2.0 and not marker.exists():
        marker.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return run_model(params, **kwargs)


def always_killing_run(params, **kwargs):
    """The real model, except that beta 2 kills whichever worker runs it, every time."""
    if params.beta == 2.0:
        os.kill(os.getpid(), signal.SIGKILL)
    return run_model(params, **kwargs)


def batch(store: Path, run_fn=None, executor: str = "dask"):
    return run_batch(
        None,
        design=DESIGN,
        replications=REPLICATIONS,
        steps=3,
        overrides=SMALL,
        store=store,
        executor=executor,
        workers=2 if executor == "dask" else None,
        chunk_size=1,
        progress=False,
        _run_fn=run_fn,
    )


def test_a_worker_killed_mid_batch_is_retried_and_nothing_is_lost(tmp_path, monkeypatch):
    marker = tmp_path / "killed.pid"
    monkeypatch.setenv(KILL_FILE_ENV, str(marker))  # inherited by the worker processes
    result = batch(tmp_path / "store", killing_run)
    assert marker.exists(), "no worker was killed"
    assert (result.n_done, result.n_failed) == (6, 0)
    runs = open_store(tmp_path / "store").runs()
    assert len(runs) == 6 and runs["run_key"].is_unique and set(runs["status"]) == {"ok"}
    reference = batch(tmp_path / "reference", executor="serial")  # the rows of a batch no worker died in
    assert reference.n_done == 6
    assert open_store(tmp_path / "store").measures().equals(open_store(tmp_path / "reference").measures())


def test_a_run_that_kills_every_worker_is_recorded_failed_and_retried_later(tmp_path):
    store = tmp_path / "store"
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        result = batch(store, always_killing_run)
    # runs in flight on a dying worker may be lost with it: they count as failed, never vanish
    assert result.n_done + result.n_failed == 6 and result.n_failed >= 2
    assert result.failures["error"].str.contains("KilledWorker|executor failure").all()
    runs = open_store(store).runs()
    assert len(runs) == 6 and runs["run_key"].is_unique
    failed = runs.loc[runs["status"] == "failed"]
    assert list(runs.loc[runs["beta"] == 2.0, "status"]) == ["failed", "failed"]
    again = batch(store, executor="serial")  # a rerun retries the failed runs
    assert (again.n_done, again.n_skipped, again.n_failed) == (len(failed), 6 - len(failed), 0)
    assert set(open_store(store).runs()["status"]) == {"ok"}


def test_the_local_cluster_never_queues_tasks_on_its_scheduler():
    """Scheduler-side queuing is off: queued tasks were once left 'queued' forever after workers died.

    The batch runner keeps at most two tasks per worker in flight, so queuing bought nothing.
    """
    from sociosim.batch.executors import open_executor

    with open_executor("dask", workers=1, dask_processes=False, runs=1) as info:
        client = info.executor._client  # the executor's own client
        saturation = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.WORKER_SATURATION)
    assert saturation == float("inf")
