"""Hostile names, sizes and shapes: refused before anything is allocated, in one line naming the field.

A corpus of names that would become paths, sizes that would exhaust memory and values
nested past any schema, tried through TOML files, Python calls and the CLI. Each size
error says the size, the limit and the environment variable that raises the limit.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

import sociosim
from sociosim.batch.execute import run_batch
from sociosim.batch.plan import plan_batch
from sociosim.config import limits
from sociosim.config.params import make_params
from sociosim.config.scenario import NAME_PATTERN, load_scenario, scenario_from_dict
from sociosim.errors import ScenarioError

ROOT = Path(__file__).resolve().parents[2]
SMALL = {"n_users": 40, "n_annotators": 4, "n_responses": 16}

HOSTILE_NAMES = [
    "../../x",
    "..",
    ".",
    "/etc/passwd",
    "/tmp/x",
    "",
    "a\x00b",
    "a/b",
    "a\\b",
    ".hidden",
    "-rf",
    "x" * 65,
    "name with spaces",
    "tab\there",
    "new\nline",
    "ü-unicode",
    "~",
    "C:evil",
]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sociosim.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=300,
    )


def toml_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid TOML basic string


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_hostile_name_is_refused_in_python_and_toml(name, tmp_path):
    with pytest.raises(ScenarioError) as python:
        scenario_from_dict({"scenario": {"name": name}})
    assert python.value.field == "scenario.name" and NAME_PATTERN in python.value.message
    path = tmp_path / "s.toml"
    path.write_text(f"[scenario]\nname = {toml_string(name)}\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as toml:
        load_scenario(path)
    assert toml.value.field == "scenario.name" and "\n" not in str(toml.value)


def test_a_hostile_name_is_refused_by_the_cli_and_nothing_is_created(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    for name in ["../../escaped", "/tmp/absolute-sociosim-test", ""]:
        path = tmp_path / "s.toml"
        path.write_text(f"[scenario]\nname = {toml_string(name)}\n[run]\nsteps = 1\n", encoding="utf-8")
        done = cli("batch", str(path), "--quiet", cwd=work)
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: scenario.name:") and NAME_PATTERN in lines[0]
    assert list(work.iterdir()) == [] and not (tmp_path / "escaped").exists()
    assert not Path("/tmp/absolute-sociosim-test").exists()


def test_a_name_changed_after_validation_cannot_reach_the_store_path(tmp_path, monkeypatch):
    scenario = load_scenario(None)
    scenario.scenario.name = "../../escaped"  # pydantic does not validate assignments
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ScenarioError) as info:
        run_batch(scenario, steps=1, overrides=SMALL, progress=False)
    assert info.value.field == "scenario.name"
    assert list(tmp_path.iterdir()) == []


def test_a_file_stem_that_is_no_name_becomes_one(tmp_path):
    path = tmp_path / "my study (v2).toml"
    path.write_text("[run]\nsteps = 1\n")
    assert load_scenario(path).name == "my-study-v2-"


# --- sizes -------------------------------------------------------------------------------------

GRID_BOMB = {
    n: [round(0.1 * i, 1) for i in range(10)]
    for n in [
        "beta",
        "drift",
        "value_drift",
        "l2",
        "polish_bias",
        "anthro_bias",
        "flattery_bias",
        "bias_spread",
    ]
}


def refuses(limit: limits.Limit, call, field: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        call()
    error = info.value
    assert error.field == field, str(error)
    assert f"{limit.value():,}" in error.message and limit.env in error.message and "\n" not in str(error)
    return error


def test_a_grid_bomb_is_refused_before_any_point_is_built(monkeypatch):
    def no_product(*args, **kwargs):
        raise AssertionError("the grid was expanded")

    monkeypatch.setattr(itertools, "product", no_product)
    error = refuses(
        limits.DESIGN_POINTS,
        lambda: scenario_from_dict({"design": {"method": "grid", "parameters": GRID_BOMB}}),
        "design.parameters",
    )
    assert "100,000,000" in error.message


def test_sampled_designs_count_their_points_before_sampling():
    for method, samples, expect in [
        ("sobol", 10**6, "4,000,000"),
        ("morris", 200_000, "400,000"),
        ("lhs", 200_000, "200,000"),
    ]:
        design = {"method": method, "samples": samples, "parameters": {"beta": {"min": 0.0, "max": 4.0}}}
        error = refuses(
            limits.DESIGN_POINTS, lambda design=design: plan_batch(None, design=design), "design.samples"
        )
        assert expect in error.message


def test_runs_steps_labels_ratings_and_ties_are_bounded():
    refuses(
        limits.RUNS,
        lambda: plan_batch(None, design={"parameters": {"beta": list(range(1, 12))}}, replications=100_000),
        "replications",
    )
    refuses(limits.STEPS, lambda: sociosim.run(steps=10**8, **SMALL), "steps")
    refuses(limits.STEPS, lambda: scenario_from_dict({"run": {"steps": 10**8}}), "run.steps")
    refuses(limits.STEPS, lambda: plan_batch(None, steps=10**8), "steps")
    refuses(
        limits.LABELS, lambda: make_params(n_annotators=100_000, labels_per_step=100_000), "labels_per_step"
    )
    refuses(
        limits.RATINGS,
        lambda: make_params(n_annotators=100_000, n_responses=1_000_000, labels_per_step=1),
        "n_annotators",
    )
    refuses(limits.TIES, lambda: make_params(n_users=10_000_000, mean_degree=100.0), "mean_degree")
    # per lab too: a lab that asks for the labels alone is caught
    refuses(
        limits.LABELS,
        lambda: make_params(n_labs=2, labels_per_step=[20, 100_000], n_annotators=1000),
        "labs[1].labels_per_step",
    )


def test_the_cli_refuses_steps_beyond_the_limit_in_one_line(tmp_path):
    done = cli("run", "--steps", str(10**11), "--quiet", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: steps:") and len(done.stderr.strip().splitlines()) == 1


def test_a_limit_is_raised_by_its_environment_variable(monkeypatch):
    design = {"method": "lhs", "samples": 150_000, "parameters": {"beta": {"min": 0.0, "max": 4.0}}}
    with pytest.raises(ScenarioError):
        scenario_from_dict({"design": design})
    monkeypatch.setenv("SOCIOSIM_MAX_DESIGN_POINTS", "200000")
    assert scenario_from_dict({"design": design}).design.size() == 150_000
    monkeypatch.setenv("SOCIOSIM_MAX_DESIGN_POINTS", "lots")
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict({"design": design})
    assert "SOCIOSIM_MAX_DESIGN_POINTS" in str(info.value) and "lots" in str(info.value)


def test_defaults_sit_far_below_every_limit():
    p = make_params()
    assert p.n_annotators * p.labels_per_step * p.label_window * 100 < limits.LABELS.default
    assert p.n_annotators * p.n_responses * 100 < limits.RATINGS.default
    assert p.n_users * p.mean_degree * 100 < limits.TIES.default


# --- nesting -----------------------------------------------------------------------------------


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("depth", [17, 1_000, 100_000])
def test_deep_nesting_is_one_line_in_python(depth):
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict({"params": {"user_shares": nested(depth)}})
    assert info.value.field.startswith("params.user_shares[0]")
    with pytest.raises(ScenarioError) as info:
        sociosim.run(steps=1, beta=nested(depth))
    assert info.value.field.startswith("beta[0]")


def test_deep_nesting_is_one_line_in_toml_and_set(tmp_path):
    deep = "[" * 5000 + "]" * 5000
    path = tmp_path / "deep.toml"
    path.write_text(f"[params]\nuser_shares = {deep}\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.field == "scenario"
    for args in (
        ["run", str(path), "--quiet"],
        ["run", "--quiet", "--set", f"beta={deep}"],
        ["run", "--quiet", "--set", "beta=" + "[" * 40 + "1" + "]" * 40],
    ):
        done = cli(*args, cwd=tmp_path)
        assert done.returncode == 2, done.stderr[-300:]
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
