"""The same batch gives bit-identical stored rows serially, on 2 processes and on a Dask LocalCluster."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sociosim.batch.execute import plan_batch, rerun, run_batch, run_seed
from sociosim.batch.store import open_store

# tiny sizes; a regulator that always intervenes so the events table has rows too
SMALL = {
    "n_users": 50,
    "n_annotators": 6,
    "n_responses": 64,
    "n_regulators": 1,
    "audit_every": 2,
    "audit_gap_threshold": 0.0,
}
DESIGN = {"method": "grid", "parameters": {"beta": [0.5, 4.0]}}


def small_batch(store, **kwargs):
    return run_batch(
        None,
        design=DESIGN,
        replications=2,
        steps=5,
        overrides=SMALL,
        store=store,
        progress=False,
        agent_snapshot_every=2,
        **kwargs,
    )


def tables(path) -> dict[str, pd.DataFrame]:
    store = open_store(path)
    runs = store.runs().drop(columns=["duration_s", "cpu_s", "committed_at"])
    return {"measures": store.measures(), "runs": runs, "events": store.events(), "agents": store.agents()}


@pytest.fixture(scope="module")
def serial_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("serial")
    result = small_batch(path, executor="serial")
    assert (result.n_done, result.n_failed, result.n_skipped) == (4, 0, 0)
    return path


def assert_identical(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True, obj=name)


def test_serial_rows_have_the_contract_columns(serial_store):
    measures = open_store(serial_store).measures()
    assert list(measures.columns[:10]) == [
        "run_key",
        "scenario",
        "scenario_hash",
        "code",
        "point",
        "replicate",
        "seed_entropy",
        "seed_spawn_key",
        "beta",
        "step",
    ]
    assert len(measures) == 4 * 5
    assert measures.groupby("run_key").size().tolist() == [5, 5, 5, 5]
    # common random numbers: replicate r has the same seed at every design point
    runs = open_store(serial_store).runs()
    seeds = runs.groupby("replicate")["seed_spawn_key"].unique()
    assert seeds.map(len).tolist() == [1, 1]
    assert seeds.map(lambda s: s[0]).tolist() == ["0", "1"]
    assert set(runs["status"]) == {"ok"}
    agents = open_store(serial_store).agents()
    assert sorted(agents["step"].unique()) == [2, 4]
    assert len(agents) == 4 * 2 * 50
    events = open_store(serial_store).events()
    assert len(events) > 0 and set(events["run_key"]) <= set(runs["run_key"])


def test_two_processes_give_identical_rows(serial_store, tmp_path):
    small_batch(tmp_path, executor="processes", workers=2)
    assert_identical(tables(serial_store), tables(tmp_path))


def test_dask_local_cluster_gives_identical_rows(serial_store, tmp_path):
    # A LocalCluster of 2 worker processes (processes=True): tasks are pickled to other processes.
    small_batch(tmp_path, executor="dask", workers=2, chunk_size=1)
    assert_identical(tables(serial_store), tables(tmp_path))


def test_chunking_does_not_change_rows(serial_store, tmp_path):
    small_batch(tmp_path, executor="serial", chunk_size=3)
    assert_identical(tables(serial_store), tables(tmp_path))


def test_one_run_reruns_alone_from_its_stored_seed(serial_store):
    store = open_store(serial_store)
    measures = store.measures()
    key = measures.loc[(measures["point"] == 1) & (measures["replicate"] == 1), "run_key"].iloc[0]
    stored = measures[measures["run_key"] == key].reset_index(drop=True)
    again = rerun(store, key)
    pd.testing.assert_frame_equal(stored, again, check_exact=True, check_dtype=False)
    # ...and the stored seed text rebuilds replicate 1's child of the root sequence
    seed = run_seed(stored["seed_entropy"][0], stored["seed_spawn_key"][0])
    child = np.random.SeedSequence(0).spawn(2)[1]
    assert np.array_equal(seed.generate_state(4), child.generate_state(4))


def test_more_replications_extend_the_same_batch(serial_store, tmp_path):
    first = plan_batch(None, design=DESIGN, replications=2, steps=5, overrides=SMALL, agent_snapshot_every=2)
    more = plan_batch(None, design=DESIGN, replications=3, steps=5, overrides=SMALL, agent_snapshot_every=2)
    assert first.scenario_hash == more.scenario_hash
    assert {s.run_key for s in first.specs} < {s.run_key for s in more.specs}


def test_a_different_seed_or_steps_is_a_different_batch():
    a = plan_batch(None, design=DESIGN, replications=2, steps=5, overrides=SMALL)
    b = plan_batch(None, design=DESIGN, replications=2, steps=6, overrides=SMALL)
    c = plan_batch(None, design=DESIGN, replications=2, steps=5, overrides={**SMALL, "drift": 0.01})
    assert len({a.scenario_hash, b.scenario_hash, c.scenario_hash}) == 3
    assert not {s.run_key for s in a.specs} & {s.run_key for s in b.specs}


# --- how many workers ---------------------------------------------------------------------------


def test_default_workers_are_the_cpus_this_process_may_use():
    import os

    from sociosim.batch.executors import default_workers

    expected = os.process_cpu_count() if hasattr(os, "process_cpu_count") else len(os.sched_getaffinity(0))
    assert default_workers() == expected


def test_workers_are_capped_at_the_runs_left():
    from sociosim.batch.executors import cap_note, capped_workers, default_workers, resolve_kind

    assert capped_workers(999, 12) == 12
    assert capped_workers("auto", 1) == 1 and capped_workers(None, 10**6) == default_workers()
    assert cap_note(999, 12) == "workers: 999 requested, 12 started (one per run left)"
    assert cap_note(4, 12) is None and cap_note("auto", 1) is None
    assert resolve_kind(None, workers="auto", scheduler=None, runs=1) == "serial"  # one run: no pool


def test_a_request_for_999_workers_starts_one_per_run(tmp_path, monkeypatch):
    """`--workers 999` with 4 runs starts 4 processes, not 999, and says so in one line."""
    import concurrent.futures

    started: list[int] = []
    real = concurrent.futures.ProcessPoolExecutor

    class Counting(real):
        def __init__(self, max_workers=None, **kwargs):
            started.append(max_workers)
            super().__init__(max_workers=max_workers, **kwargs)

    monkeypatch.setattr("sociosim.batch.executors.ProcessPoolExecutor", Counting)
    result = small_batch(tmp_path, executor="processes", workers=999)
    assert started == [4] and result.executor == "4 processes"
    assert result.summary().splitlines()[-1] == "workers: 999 requested, 4 started (one per run left)"


def test_a_dask_local_cluster_is_capped_too(tmp_path, monkeypatch):
    import distributed

    sizes: list[int] = []
    real = distributed.LocalCluster

    def counting(*args, n_workers=None, **kwargs):
        sizes.append(n_workers)
        return real(*args, n_workers=n_workers, **kwargs)

    monkeypatch.setattr(distributed, "LocalCluster", counting)
    result = small_batch(tmp_path, executor="dask", workers=64, chunk_size=1, _dask_processes=False)
    assert sizes == [4] and result.n_done == 4
    assert "64 requested, 4 started" in result.summary()


def test_the_cli_batch_uses_the_machine_by_default(tmp_path):
    """Without --workers, `sociosim batch` starts min(CPUs usable, runs left) worker processes."""
    from typer.testing import CliRunner

    from sociosim.batch.executors import default_workers
    from sociosim.cli import app

    args = ["batch", "baseline", "--steps", "2", "--replications", "3", "--quiet", "--store", str(tmp_path)]
    args += [f"--set={k}={v}" for k, v in {"n_users": 50, "n_annotators": 6, "n_responses": 64}.items()]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    n = min(default_workers(), 3)
    assert (f"({n} processes," if n > 1 else "(serial,") in result.output
