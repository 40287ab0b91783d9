"""Signals at random moments of `batch` and `report`: nothing finished is lost, the store never lies.

SIGTERM (what `kill`, `timeout`, systemd and SLURM send) must behave like Ctrl-C: the runs
that finished are committed before the batch exits (the periodic commit is every 15 s, and
every kill here comes sooner, so only the signal policy can have stored them), the worker
processes go with the batch, and a rerun completes the batch bit-identically. SIGKILL can
be caught by nothing: the store must still never count a run done without its rows, no
worker may outlive the batch, and a rerun must complete it. A killed `report` leaves the
old report or the new one, never a report.md beside another render's figures.

Kill moments are drawn from a seeded generator, so a failure can be replayed.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from sociosim.batch.execute import run_batch
from sociosim.batch.store import open_store

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
STEPS = 600
SCENARIO = f"""
[scenario]
name = "signals"
[run]
steps = {STEPS}
replications = 6
[params]
n_users = 300
n_annotators = 10
n_responses = 64
[design]
method = "grid"
parameters = {{ beta = [0.5, 1.0, 2.0, 4.0] }}
"""
N_RUNS = 24


def _interactive_signals() -> None:
    """In the child: SIGINT as in a terminal (a background job of a script inherits it ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def sociosim(*args: str, cwd: Path) -> subprocess.Popen:
    """Start the CLI as a shell would, in its own process (not waited for)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "sociosim.cli", *args],
        cwd=cwd,
        env=env,
        preexec_fn=_interactive_signals,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("signals") / "signals.toml"
    path.write_text(SCENARIO)
    return path


@pytest.fixture(scope="module")
def reference(scenario, tmp_path_factory) -> pd.DataFrame:
    """The rows of the batch run once, serially, with no signal."""
    store = tmp_path_factory.mktemp("reference") / "store"
    result = run_batch(scenario, store=store, executor="serial", progress=False)
    assert result.n_done == N_RUNS
    return rows(store)


def rows(store: Path) -> pd.DataFrame:
    measures = open_store(store).measures()
    return measures.sort_values(["run_key", "step"]).reset_index(drop=True)


def done_runs(store: Path) -> set[str]:
    """Run keys the store counts done; asserts each has all its rows (the store does not lie)."""
    if not (store / "runs").exists():
        return set()
    results = open_store(store)
    runs = results.runs()
    if runs.empty:
        return set()
    ok = set(runs.loc[runs["status"] == "ok", "run_key"])
    counts = results.measures().groupby("run_key").size().to_dict() if ok else {}
    missing = {key: counts.get(key, 0) for key in ok if counts.get(key, 0) != STEPS}
    assert missing == {}, f"runs counted done without their {STEPS} rows: {missing}"
    return ok


def descendants(process: subprocess.Popen, at_least: int, timeout: float = 60) -> list[psutil.Process]:
    """The process's descendants once at least `at_least` exist (workers started)."""
    parent = psutil.Process(process.pid)
    deadline = time.monotonic() + timeout
    kids: list[psutil.Process] = []
    while time.monotonic() < deadline and process.poll() is None:
        kids = parent.children(recursive=True)
        if len(kids) >= at_least:
            break
        time.sleep(0.05)
    return kids


def assert_all_gone(processes: list[psutil.Process]) -> None:
    _, alive = psutil.wait_procs(processes, timeout=20)
    assert alive == [], f"left running: {[(p.pid, p.cmdline()[-1][:60]) for p in alive]}"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_commits_finished_runs_and_a_rerun_completes_the_batch_identically(
    signum, scenario, reference, tmp_path
):
    rng = random.Random(1800 + signum)
    store = tmp_path / "store"
    saved_by_signal = 0
    for _ in range(6):
        before = done_runs(store)
        if len(before) == N_RUNS:
            break
        batch = sociosim("batch", str(scenario), "--store", str(store), "--workers", "2", cwd=tmp_path)
        workers = descendants(batch, at_least=3)
        time.sleep(rng.uniform(1.5, 7.0))  # well inside the 15 s between periodic commits
        batch.send_signal(signum)
        _, err = batch.communicate(timeout=120)
        after = done_runs(store)
        assert before <= after
        assert_all_gone(workers)
        stopped = re.search(r"stopped: the (\d+) runs this batch finished are stored", err)
        if batch.returncode == 0:  # finished before the signal
            continue
        assert batch.returncode != 0 and stopped, err[-500:]
        assert len(after - before) == int(stopped.group(1)), err[-500:]
        saved_by_signal += int(stopped.group(1))
    assert saved_by_signal > 0, "no signal arrived after a run had finished: the test proved nothing"
    final = run_batch(scenario, store=store, executor="serial", progress=False)
    assert final.n_done + final.n_skipped == N_RUNS and final.n_failed == 0
    pd.testing.assert_frame_equal(rows(store), reference, check_exact=True)


def test_sigkill_at_random_moments_leaves_an_honest_store_and_no_workers(scenario, reference, tmp_path):
    rng = random.Random(18)
    store = tmp_path / "store"
    for _ in range(6):
        batch = sociosim("batch", str(scenario), "--store", str(store), "--workers", "2", cwd=tmp_path)
        workers = descendants(batch, at_least=3)
        time.sleep(rng.uniform(0.2, 6.0))
        batch.send_signal(signal.SIGKILL)
        batch.communicate(timeout=60)
        assert_all_gone(workers)  # they watch the batch process and end with it
        done_runs(store)  # asserts every run counted done has its rows
    final = run_batch(scenario, store=store, executor="serial", progress=False)
    assert final.n_failed == 0
    pd.testing.assert_frame_equal(rows(store), reference, check_exact=True)


def test_sigterm_on_a_dask_batch_leaves_no_worker(scenario, tmp_path):
    batch = sociosim(
        "batch",
        str(scenario),
        "--store",
        str(tmp_path / "store"),
        "--executor",
        "dask",
        "--workers",
        "2",
        cwd=tmp_path,
    )
    workers = descendants(batch, at_least=3, timeout=120)  # a worker process per Dask worker
    assert batch.poll() is None, batch.communicate()[1][-800:]
    time.sleep(3.0)
    batch.send_signal(signal.SIGTERM)
    batch.communicate(timeout=120)
    assert_all_gone(workers)
    done_runs(tmp_path / "store")


# --- report --------------------------------------------------------------------------------------


def _content(path: Path) -> bytes:
    """A file's bytes; of the two documents, without the line that says when they were generated."""
    data = path.read_bytes()
    if path.name in ("report.md", "report.html"):
        data = re.sub(rb"generated \(UTC\)[^\n]*", b"", data)
    return data


def snapshot(out: Path) -> dict[str, str]:
    """Every file of a report folder (hidden ones too) with a hash of its content."""
    return {
        str(p.relative_to(out)): hashlib.sha256(_content(p)).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


def report_part(files: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in files.items() if k == "report.md" or k.startswith("figures/")}


@pytest.fixture(scope="module")
def two_renders(scenario, tmp_path_factory):
    """A store, its report (render 1), then the store extended and its new report (render 2)."""
    base = tmp_path_factory.mktemp("report")
    store = base / "store"
    run_batch(scenario, store=store, replications=2, executor="serial", progress=False)
    subprocess.run(
        [sys.executable, "-m", "sociosim.cli", "report", str(store), "--out", str(base / "r1"), "--quiet"],
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
    )
    run_batch(scenario, store=store, executor="serial", progress=False)  # 4 replications now
    subprocess.run(
        [sys.executable, "-m", "sociosim.cli", "report", str(store), "--out", str(base / "r2"), "--quiet"],
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
    )
    first, second = snapshot(base / "r1"), snapshot(base / "r2")
    assert report_part(first) != report_part(second) and "report.md" in first
    return store, base / "r1", first, second


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL])
def test_a_killed_report_leaves_one_whole_render(signum, two_renders, tmp_path):
    import shutil

    store, first_dir, first, second = two_renders
    rng = random.Random(180 + signum)
    out = tmp_path / "out"
    for _ in range(5):
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(first_dir, out)
        report = sociosim("report", str(store), "--out", str(out), "--quiet", cwd=tmp_path)
        time.sleep(rng.uniform(0.5, 8.0))
        report.send_signal(signum)
        report.communicate(timeout=120)
        now = snapshot(out)
        assert report_part(now) in (report_part(first), report_part(second))
        if signum == signal.SIGTERM:  # unwound: no staging folder or temp file is left
            assert set(now) in (set(first), set(second)), sorted(set(now) ^ set(first))
    # a report written after a SIGKILL clears what the killed one left
    done = sociosim("report", str(store), "--out", str(out), "--quiet", cwd=tmp_path)
    done.communicate(timeout=300)
    assert done.returncode == 0 and snapshot(out) == second
