"""`sociosim batch` and `sociosim query` from the command line."""

from __future__ import annotations

import textwrap

import pytest
from typer.testing import CliRunner

import sociosim.batch.task
from sociosim.cli import app

runner = CliRunner()

SCENARIO = textwrap.dedent(
    """
    [scenario]
    name = "tiny_sweep"
    title = "A tiny sweep for the CLI tests"

    [run]
    steps = 3
    seed = 11
    replications = 2

    [params]
    n_users = 50
    n_annotators = 6
    n_responses = 64

    [design]
    method = "grid"
    parameters = { beta = [0.5, 2.0] }
    """
)


@pytest.fixture
def scenario_file(tmp_path):
    path = tmp_path / "tiny_sweep.toml"
    path.write_text(SCENARIO)
    return path


def test_batch_runs_prints_a_summary_and_resumes(scenario_file, tmp_path):
    store = tmp_path / "out"
    args = ["batch", str(scenario_file), "--store", str(store), "--quiet", "--set", "drift=0.01"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "4 runs: 4 done, 0 skipped" in first.output and str(store) in first.output
    second = runner.invoke(app, [*args, "--replications", "3"])
    assert second.exit_code == 0, second.output
    assert "6 runs: 2 done, 4 skipped" in second.output

    table = runner.invoke(
        app, ["query", str(store), "SELECT beta, count(*) AS n FROM runs GROUP BY beta ORDER BY beta"]
    )
    assert table.exit_code == 0, table.output
    lines = table.output.split("\n")
    assert lines[0].split() == ["beta", "n"] and lines[1].split() == ["0.5", "3"]
    sql = """SELECT count(*) AS n FROM runs WHERE params_json LIKE '%"drift":0.01,%'"""
    csv = runner.invoke(app, ["query", str(store), sql, "--csv"])
    assert csv.exit_code == 0, csv.output
    assert csv.output.split() == ["n", "6"]


def test_batch_input_error_names_the_field(scenario_file, tmp_path):
    result = runner.invoke(
        app, ["batch", str(scenario_file), "--store", str(tmp_path / "s"), "--quiet", "--set", "beta=-1"]
    )
    assert result.exit_code == 2
    assert "beta" in result.output and "must be" in result.output
    result = runner.invoke(
        app,
        [
            "batch",
            str(scenario_file),
            "--store",
            str(tmp_path / "s"),
            "--executor",
            "serial",
            "--workers",
            "3",
        ],
    )
    assert result.exit_code == 2 and "workers" in result.output


def test_batch_with_failures_exits_one(scenario_file, tmp_path, monkeypatch):
    def broken(params, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(sociosim.batch.task, "_default_run_fn", lambda: broken)
    # one worker: the patch lives in this process (the default would use worker processes)
    args = ["batch", str(scenario_file), "--store", str(tmp_path / "s"), "--quiet", "--workers", "1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "4 failed" in result.output and "RuntimeError: boom" in result.output


def test_query_on_a_missing_store_is_an_input_error(tmp_path):
    result = runner.invoke(app, ["query", str(tmp_path), "SELECT 1"])
    assert result.exit_code == 2
    assert "not a sociosim results store" in result.output
