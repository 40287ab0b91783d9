"""The study scripts in analysis/ run end to end with --quick and write their reports.

All six are started at once (one worker process each) from a module fixture, so the
module costs about as much wall time as the slowest script, not the sum.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sociosim.batch.store import open_store

ROOT = Path(__file__).resolve().parents[2]
STUDIES = {  # script -> (claim title fragment, claim figure, runs in the quick batch)
    "gap_grows_with_pressure": ("gap grows with optimisation pressure", "claim_goodhart", 14 * 2),
    "maps_levers": ("levers reduce the gap but never remove it", "claim_lever_gap", 18 * 2),
    "sycophancy_pressure": ("sycophancy rises with pressure", "claim_sycophancy", 10 * 2),
    "anthropomorphism_trust": ("anthropomorphism buys unearned trust", "claim_trust", 6 * 3),
    "cultural_homogenisation": ("minority cultures lose", "claim_cultures", 6 * 2),
    "trilemma_frontier": ("no run is best on", "claim_best_runs", 12 * 2),
}

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def quick_runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[subprocess.CompletedProcess, Path]]:
    """Run every study with --quick --workers 1 into its own temporary directory, concurrently."""
    procs = {}
    for name in STUDIES:
        out = tmp_path_factory.mktemp(name)
        cmd = [
            sys.executable,
            str(ROOT / "analysis" / f"{name}.py"),
            "--quick",
            "--workers",
            "1",
            "--out",
            str(out),
        ]
        procs[name] = (
            subprocess.Popen(cmd, cwd=out, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
            out,
        )
    done = {}
    for name, (proc, out) in procs.items():
        stdout, stderr = proc.communicate(timeout=540)
        done[name] = (subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr), out)
    return done


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_study_writes_its_report(name: str, quick_runs) -> None:
    result, out = quick_runs[name]
    assert result.returncode == 0, result.stderr[-3000:]
    title, figure, n_runs = STUDIES[name]
    report = out / "reports" / f"{name}-quick" / "report.html"
    assert f"report: {report.resolve()}" in result.stdout
    page = report.read_text()
    assert '<section id="claim">' in page and title in page
    assert page.index('id="claim"') < page.index('id="overview"')  # the claim comes first
    markdown = (report.parent / "report.md").read_text()
    assert "## Claim:" in markdown and f"figures/{figure}.png" in markdown
    assert (report.parent / "figures" / f"{figure}.png").stat().st_size > 10_000
    runs = open_store(out / "results" / f"{name}-quick").runs()
    assert len(runs) == n_runs and (runs["status"] == "ok").all()


def test_bad_flag_is_refused_with_exit_code_2() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "analysis" / "maps_levers.py"), "--workers", "0"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "--workers: must be at least 1, got 0" in result.stderr
