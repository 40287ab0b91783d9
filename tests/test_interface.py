"""DESIGN §7: the public names, flat overrides in every entry point, and clear input errors."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import sociosim
from sociosim.cli import parse_sets
from sociosim.config.params import make_params
from sociosim.errors import ScenarioError

# every §7 override name with a valid non-default value
SECTION7 = {
    "n_users": 150,
    "n_annotators": 12,
    "n_responses": 128,
    "n_values": 3,
    "n_cultures": 3,
    "beta": 2.5,
    "optimizer": "best_of_n",
    "best_of_n": 8,
    "annotator_shares": [0.5, 0.25, 0.25],
    "aggregation": "balanced",
    "drift": 0.01,
    "calibrate_every": 5,
    "anthro_mean": 0.7,
    "disclosure": True,
    "persuasion": 0.05,
    "n_regulators": 1,
    "bias_tail": "gaussian",
}


def test_public_names_exist():
    for name in ("run", "AlignmentModel", "load_scenario", "run_batch"):
        assert hasattr(sociosim, name)
    assert issubclass(sociosim.AlignmentModel, __import__("mesa").Model)


def test_every_section7_name_resolves_from_python():
    params = make_params(**SECTION7)
    for name, value in SECTION7.items():
        assert getattr(params, name) == value
    frame = sociosim.run(steps=3, seed=0, **SECTION7)
    assert list(frame.step) == [1, 2, 3]
    assert frame["beta_effective"].iloc[-1] == 8.0  # best-of-8 in force
    assert make_params(eta=0.3).persuasion == 0.3


def test_every_section7_name_resolves_from_the_cli(tmp_path):
    sets = []
    for name, value in SECTION7.items():
        text = (
            str(value).lower()
            if isinstance(value, bool)
            else (f'"{value}"' if isinstance(value, str) else str(value))
        )
        sets += ["--set", f"{name}={text}"]
    assert parse_sets([s for s in sets if s != "--set"]) == SECTION7
    out = tmp_path / "run.parquet"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sociosim.cli",
            "run",
            "--steps",
            "3",
            "--seed",
            "1",
            *sets,
            "--out",
            str(out),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    frame = pd.read_parquet(out)
    pd.testing.assert_frame_equal(frame, sociosim.run(steps=3, seed=1, **SECTION7))


@pytest.mark.parametrize(
    ("override", "field", "words"),
    [
        ({"n_users": 0}, "n_users", "[1, 10000000]"),
        ({"beta": -1}, "beta", "[0.0, 1000.0]"),
        ({"aggregation": "mean"}, "aggregation", "'pooled', 'balanced'"),
        ({"annotator_shares": [0.5, 0.6, 0.1, 0.1]}, "annotator_shares", "sum to 1"),
        ({"n_annotators": 0}, "n_annotators", "[1, 100000]"),
        ({"bias_tail": "cauchy"}, "bias_tail", "'student_t', 'gaussian'"),
        ({"n_users": 3}, "n_users", "at least n_cultures"),
        ({"betta": 1}, "betta", "unknown parameter"),
    ],
)
def test_bad_input_names_the_field_and_what_is_allowed(override, field, words):
    with pytest.raises(ScenarioError) as caught:
        make_params(**override)
    assert caught.value.field == field
    assert words in str(caught.value)


def test_cli_input_error_is_one_line_with_exit_code_2():
    done = subprocess.run(
        [sys.executable, "-m", "sociosim.cli", "run", "--steps", "2", "--set", "beta=-1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines == ["error: beta: must be a number in [0.0, 1000.0], got -1"]


def test_same_seed_same_rows_different_seed_different_rows():
    a = sociosim.run(steps=5, seed=7, n_users=120)
    b = sociosim.run(steps=5, seed=7, n_users=120)
    c = sociosim.run(steps=5, seed=8, n_users=120)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["gap"], c["gap"])
