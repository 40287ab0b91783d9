"""A batch killed with SIGKILL resumes and stores every run exactly once; concurrent batches share a store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd

from sociosim.batch.execute import run_batch
from sociosim.batch.store import open_store

SMALL = {"n_users": 50, "n_annotators": 6, "n_responses": 64}
DESIGN = {"method": "grid", "parameters": {"beta": [0.5, 1.0, 2.0, 4.0]}}
REPLICATIONS = 15  # 60 runs
STEPS = 10


def batch_script(store: Path) -> str:
    return textwrap.dedent(
        f"""
        from sociosim.batch.execute import run_batch
        run_batch(None, design={DESIGN!r}, replications={REPLICATIONS}, steps={STEPS}, overrides={SMALL!r},
                  store={str(store)!r}, progress=False, _flush_seconds=0.0)
        """
    )


def committed_parts(store: Path) -> int:
    runs = store / "runs"
    return len(list(runs.glob("*.parquet"))) if runs.is_dir() else 0


def assert_every_run_once(store: Path, total: int) -> pd.DataFrame:
    results = open_store(store)
    runs = results.runs()
    assert len(runs) == total and runs["run_key"].is_unique
    assert set(runs["status"]) == {"ok"}, runs["error"].dropna().unique()
    raw = results.query("SELECT run_key, count(*) AS n FROM runs_raw GROUP BY run_key")
    assert raw["n"].max() == 1, "a run was committed twice"
    measures = results.measures()
    assert measures.groupby("run_key").size().eq(STEPS).all()
    assert measures["run_key"].nunique() == total
    return measures


def test_sigkilled_batch_resumes_and_stores_every_run_once(tmp_path):
    store = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-c", batch_script(store)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    while committed_parts(store) < 1 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
    before = open_store(store).runs()
    assert set(before["status"]) == {"ok"}, before["error"].dropna().unique()
    stored_before = len(before)
    total = len(DESIGN["parameters"]["beta"]) * REPLICATIONS
    print(f"stored before resume: {stored_before} of {total}")
    assert 1 <= stored_before < total, f"kill landed outside the batch ({stored_before} of {total} stored)"

    result = run_batch(
        None,
        design=DESIGN,
        replications=REPLICATIONS,
        steps=STEPS,
        overrides=SMALL,
        store=store,
        progress=False,
    )
    assert result.n_skipped == stored_before
    assert result.n_done == total - stored_before
    assert result.n_failed == 0
    resumed = assert_every_run_once(store, total)

    # the resumed store holds exactly the rows of an uninterrupted batch
    clean = tmp_path / "clean"
    run_batch(
        None,
        design=DESIGN,
        replications=REPLICATIONS,
        steps=STEPS,
        overrides=SMALL,
        store=clean,
        progress=False,
    )
    pd.testing.assert_frame_equal(resumed, open_store(clean).measures(), check_exact=True)

    again = run_batch(
        None,
        design=DESIGN,
        replications=REPLICATIONS,
        steps=STEPS,
        overrides=SMALL,
        store=store,
        progress=False,
    )
    assert (again.n_done, again.n_skipped) == (0, total)


def test_two_batches_writing_one_store_at_once(tmp_path):
    store = tmp_path / "shared"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", batch_script(store)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
    assert_every_run_once(store, len(DESIGN["parameters"]["beta"]) * REPLICATIONS)
