"""Store safety beyond tests/batch/test_resume.py: repeated SIGKILLs, and damaged files never read as data.

(One SIGKILL and resume, two writers at once, and the schema version are tested in
test_batch_resume.py and test_store_basics.py.)
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from sociosim.batch.execute import run_batch
from sociosim.batch.store import DAMAGED_DIR, MARKER, open_store

SMALL = {"n_users": 50, "n_annotators": 6, "n_responses": 64}
DESIGN = {"method": "grid", "parameters": {"beta": [0.5, 1.0, 2.0, 4.0]}}
REPLICATIONS = 12  # 48 runs
STEPS = 10
TOTAL = len(DESIGN["parameters"]["beta"]) * REPLICATIONS


def batch_kwargs(store: Path) -> dict:
    return dict(
        design=DESIGN, replications=REPLICATIONS, steps=STEPS, overrides=SMALL, store=store, progress=False
    )


def batch_script(store: Path) -> str:
    return textwrap.dedent(
        f"""
        from sociosim.batch.execute import run_batch
        run_batch(None, design={DESIGN!r}, replications={REPLICATIONS}, steps={STEPS}, overrides={SMALL!r},
                  store={str(store)!r}, progress=False, _flush_seconds=0.0)
        """
    )


def stored_runs(store: Path) -> int:
    if not (store / MARKER).exists():
        return 0
    return len(open_store(store).runs())


def assert_every_run_once(store: Path) -> pd.DataFrame:
    results = open_store(store)
    runs = results.runs()
    assert len(runs) == TOTAL and runs["run_key"].is_unique
    assert set(runs["status"]) == {"ok"}, runs["error"].dropna().unique()
    raw = results.query("SELECT run_key, count(*) AS n FROM runs_raw GROUP BY run_key")
    assert raw["n"].max() == 1, "a run was committed twice"
    measures = results.measures()
    assert measures.groupby("run_key").size().eq(STEPS).all() and measures["run_key"].nunique() == TOTAL
    return measures


@pytest.fixture(scope="module")
def clean_measures(tmp_path_factory) -> pd.DataFrame:
    """The rows of an uninterrupted batch, to compare resumed stores with."""
    store = tmp_path_factory.mktemp("clean")
    run_batch(None, **batch_kwargs(store))
    return open_store(store).measures()


@pytest.mark.slow
def test_three_sigkills_at_random_moments_then_resume(tmp_path, clean_measures):
    store = tmp_path / "killed"
    rng = random.Random(8)
    landed = []
    for _ in range(3):
        before = stored_runs(store)
        proc = subprocess.Popen(
            [sys.executable, "-c", batch_script(store)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        # wait until this batch is committing (a run more than before), then kill it after a random delay
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            runs_dir = store / "runs"
            if (
                runs_dir.is_dir()
                and len(list(runs_dir.glob("*.parquet"))) > 0
                and stored_runs(store) > before
            ):
                break
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.4))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        landed.append((proc.returncode, stored_runs(store)))
        # after every kill the store is readable and holds only whole runs
        runs = open_store(store).runs()
        assert set(runs["status"]) <= {"ok"} and runs["run_key"].is_unique
    print("kills (return code, runs stored):", landed)
    assert landed[0][0] == -signal.SIGKILL and landed[0][1] < TOTAL, "the first kill landed after the batch"
    assert sum(code == -signal.SIGKILL for code, _ in landed) >= 2

    result = run_batch(None, **batch_kwargs(store))
    assert result.n_failed == 0 and result.n_done + result.n_skipped == TOTAL
    resumed = assert_every_run_once(store)
    pd.testing.assert_frame_equal(resumed, clean_measures, check_exact=True)


@pytest.fixture
def small_store(tmp_path) -> Path:
    store = tmp_path / "store"
    run_batch(
        None,
        design={"method": "grid", "parameters": {"beta": [0.5, 2.0]}},
        replications=2,
        steps=3,
        overrides=SMALL,
        store=store,
        progress=False,
        chunk_size=1,
        _flush_seconds=0.0,  # one part per run, so damage touches one run
    )
    return store


def truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def rerun_small(store: Path):
    return run_batch(
        None,
        design={"method": "grid", "parameters": {"beta": [0.5, 2.0]}},
        replications=2,
        steps=3,
        overrides=SMALL,
        store=store,
        progress=False,
    )


@pytest.mark.parametrize("table", ["runs", "measures"])
def test_a_truncated_part_is_never_read_and_its_runs_are_redone(small_store, table):
    whole = open_store(small_store)
    before_runs, before_measures = whole.runs(), whole.measures()
    assert len(before_runs) == 4
    victim = sorted((small_store / table).glob("*.parquet"))[0]
    lost_key = pd.read_parquet(small_store / "runs" / victim.name)["run_key"].tolist()
    truncate(victim)

    damaged = open_store(small_store)
    assert damaged.damaged_parts() == {victim.stem}
    runs = damaged.runs()
    assert set(runs["run_key"]) == set(before_runs["run_key"]) - set(lost_key)
    measures = damaged.measures()
    assert not measures["run_key"].isin(lost_key).any()
    assert damaged.query("SELECT count(*) AS n FROM measures")["n"][0] == len(measures)

    with pytest.warns(UserWarning, match="damaged part"):
        again = rerun_small(small_store)
    assert (again.n_done, again.n_skipped, again.n_failed) == (len(lost_key), 4 - len(lost_key), 0)
    assert (small_store / DAMAGED_DIR / table / victim.name).exists()  # kept aside, not deleted
    healed = open_store(small_store)
    assert healed.damaged_parts() == set()
    pd.testing.assert_frame_equal(healed.measures(), before_measures, check_exact=True)


def test_garbage_named_like_a_part_and_stray_temp_files_are_never_read(small_store):
    before = open_store(small_store).measures()
    (small_store / "runs" / "00000000000000000001-1-feedbeef.parquet").write_bytes(b"PAR1\x00garbage")
    (small_store / "measures" / "00000000000000000001-1-feedbeef.parquet").write_bytes(b"PAR1")
    # a temp file of a live writer (this process) is left alone and not read either
    live = small_store / "measures" / f".x.parquet.tmp-{os.getpid()}-0123abcd"
    live.write_bytes(b"PAR1 half")
    shutil.copy(
        next((small_store / "measures").glob("*.parquet")), small_store / "measures" / "copy.parquet.part"
    )
    store = open_store(small_store)
    pd.testing.assert_frame_equal(store.measures(), before, check_exact=True)
    assert len(store.runs()) == 4
    with pytest.warns(UserWarning, match="damaged part"):
        assert store.cleanup() >= 2
    assert live.exists()
    pd.testing.assert_frame_equal(open_store(small_store).measures(), before, check_exact=True)
