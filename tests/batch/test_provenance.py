"""Provenance: every stored run names the code that made it, and a batch never takes other code's runs as done."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import sociosim
from sociosim.batch.provenance import code_info, git_state, source_fingerprint
from sociosim.batch.store import open_store

PACKAGE = Path(sociosim.__file__).resolve().parent

SCENARIO = textwrap.dedent(
    """
    [scenario]
    name = "tiny_code"

    [run]
    steps = 3
    seed = 5
    replications = 2

    [params]
    n_users = 40
    n_annotators = 6
    n_responses = 32

    [design]
    method = "grid"
    parameters = { beta = [0.5, 2.0] }
    """
)

# A change to a model function that every run goes through: the reported gap is shifted by 1.
EDIT_FROM = "def alignment_measures("
EDIT_TO = "def _unshifted_alignment_measures("
EDIT_APPEND = textwrap.dedent(
    """

    def alignment_measures(*args, **kwargs):
        out = _unshifted_alignment_measures(*args, **kwargs)
        out["gap"] = out["gap"] + 1.0
        return out
    """
)


def copy_package(dest: Path, *, edit: bool) -> Path:
    """A copy of the sociosim package under dest/ (optionally with the edited model function); returns dest."""
    shutil.copytree(PACKAGE, dest / "sociosim", ignore=shutil.ignore_patterns("__pycache__"))
    if edit:
        metrics = dest / "sociosim" / "model" / "metrics.py"
        text = metrics.read_text()
        assert EDIT_FROM in text
        metrics.write_text(text.replace(EDIT_FROM, EDIT_TO) + EDIT_APPEND)
    return dest


def batch_in(copy: Path, scenario: Path, store: Path, *extra: str) -> str:
    """Run `sociosim batch` with the package copy first on the path; return its stdout."""
    env = {**os.environ, "PYTHONPATH": str(copy)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sociosim.cli",
            "batch",
            str(scenario),
            "--store",
            str(store),
            "--quiet",
            *extra,
        ],
        env=env,
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def scenario_file(tmp_path):
    path = tmp_path / "tiny_code.toml"
    path.write_text(SCENARIO)
    return path


def test_fingerprint_is_stable_and_sees_every_source_edit(tmp_path):
    copy = copy_package(tmp_path / "a", edit=False)
    edited = copy_package(tmp_path / "b", edit=True)
    assert source_fingerprint(copy / "sociosim") == source_fingerprint(PACKAGE)
    assert source_fingerprint(edited / "sociosim") != source_fingerprint(PACKAGE)
    assert code_info() is code_info()  # computed once per process


def test_git_state_outside_a_checkout_is_unknown(tmp_path):
    copy = copy_package(tmp_path / "a", edit=False)
    assert git_state(copy / "sociosim") == (None, None)


def test_a_model_edit_re_runs_every_stored_run_and_says_why(tmp_path, scenario_file):
    store = tmp_path / "store"
    old = copy_package(tmp_path / "old", edit=False)
    new = copy_package(tmp_path / "new", edit=True)

    first = batch_in(old, scenario_file, store)
    assert "4 runs: 4 done, 0 skipped" in first
    assert batch_in(old, scenario_file, store).startswith("4 runs: 0 done, 4 skipped")

    again = batch_in(new, scenario_file, store)
    assert "4 runs: 4 done, 0 skipped" in again
    old_code, new_code = source_fingerprint(old / "sociosim"), source_fingerprint(new / "sociosim")
    assert f"4 stored runs were made by other code ({old_code}), not this code ({new_code})" in again

    results = open_store(store)
    runs = results.runs()
    assert len(runs) == 8 and runs.groupby("code").size().to_dict() == {old_code: 4, new_code: 4}
    assert runs["plan_key"].nunique() == 4  # the same four runs asked for, made by two codes
    assert set(runs["sociosim_version"]) == {sociosim.__version__}
    assert runs["git_commit"].isna().all()  # the copies are not in a checkout
    gaps = results.query("SELECT code, avg(gap) AS gap FROM measures GROUP BY code ORDER BY code").set_index(
        "code"
    )["gap"]
    assert gaps[new_code] - gaps[old_code] == pytest.approx(1.0)

    # the new code's runs are now done; the old code's runs are kept beside them
    assert batch_in(new, scenario_file, store).startswith("4 runs: 0 done, 4 skipped")


def test_reuse_any_code_keeps_other_codes_runs_and_says_so(tmp_path, scenario_file):
    store = tmp_path / "store"
    old = copy_package(tmp_path / "old", edit=False)
    new = copy_package(tmp_path / "new", edit=True)
    batch_in(old, scenario_file, store)
    kept = batch_in(new, scenario_file, store, "--reuse-any-code")
    assert kept.startswith("4 runs: 0 done, 4 skipped")
    assert "4 of the skipped runs were made by other code" in kept and "--reuse-any-code" in kept
    assert len(open_store(store).runs()) == 4
