"""Input errors the issue met as tracebacks: each is now a `ScenarioError` naming its field (exit 2 in the CLI)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import sociosim
from sociosim.batch.execute import run_batch
from sociosim.errors import ScenarioError

ROOT = Path(__file__).resolve().parents[2]
SMALL = {"n_users": 40, "n_annotators": 4, "n_responses": 16}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"seed": "abc"}, "seed"),
        ({"seed": -1}, "seed"),
        ({"seed": 2**64}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"seed": True}, "seed"),
        ({"steps": "3"}, "steps"),
        ({"steps": 0}, "steps"),
        ({"steps": True}, "steps"),
    ],
)
def test_run_names_a_bad_seed_or_steps(kwargs, field):
    with pytest.raises(ScenarioError) as info:
        sociosim.run(**kwargs, **SMALL)
    assert info.value.field == field and "must be" in info.value.message


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"steps": "3"}, "steps"),
        ({"replications": "2"}, "replications"),
        ({"workers": 1.5}, "workers"),
        ({"workers": 0}, "workers"),
        ({"workers": True}, "workers"),
        ({"workers": "many"}, "workers"),
        ({"scheduler": "nonsense"}, "scheduler"),
        ({"scheduler": "tcp://host:99999"}, "scheduler"),
        ({"scheduler": "tcp://host"}, "scheduler"),
        ({"scheduler": 8786}, "scheduler"),
        ({"chunk_size": 1.5}, "chunk_size"),
        ({"chunk_size": 0}, "chunk_size"),
    ],
)
def test_run_batch_names_a_bad_argument_before_touching_the_disk(kwargs, field, tmp_path):
    with pytest.raises(ScenarioError) as info:
        run_batch(None, **{"steps": 1, **kwargs}, overrides=SMALL, store=tmp_path / "s", progress=False)
    assert info.value.field == field, str(info.value)
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--seed", "-1", "--steps", "1"],
        ["run", "--seed", "99999999999999999999", "--steps", "1"],
        ["batch", "baseline", "--scheduler", "not an address", "--quiet"],
        ["batch", "baseline", "--scheduler", "tcp://:0", "--quiet"],
        ["batch", "baseline", "--workers", "0", "--quiet"],
    ],
)
def test_the_cli_answers_in_one_line_with_exit_2(args, tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sociosim.cli",
            *args,
            "--store" if args[0] == "batch" else "--quiet",
            *([str(tmp_path / "s")] if args[0] == "batch" else []),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr[-400:]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in done.stderr
