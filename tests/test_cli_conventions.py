"""The `sociosim` command follows the conventions of well-kept CLIs.

`--version` and `-h`, flags listed without type labels, "did you mean" for misspelt names,
an output format refused before any work, visible progress, and each summary ending with
the command to run next.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import sociosim
from sociosim.cli import app

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()
COMMANDS = ("run", "scenarios", "describe", "viz", "report", "batch", "query")


def test_version_prints_the_package_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"sociosim {sociosim.__version__}"


def test_python_dash_m_sociosim_is_the_same_command_line():
    done = subprocess.run(
        [sys.executable, "-m", "sociosim", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"sociosim {sociosim.__version__}"


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_short_h_is_help(command):
    args = [command] if command else []
    short = runner.invoke(app, [*args, "-h"])
    long = runner.invoke(app, [*args, "--help"])
    assert short.exit_code == 0 == long.exit_code, short.output
    assert "Usage:" in short.output
    assert short.output == long.output


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_lists_flags_without_type_labels(command):
    args = [command] if command else []
    text = runner.invoke(app, [*args, "--help"], terminal_width=120).output
    assert "<bool>" not in text
    assert "--help" in text
    if command == "run":  # options that take a value keep their type
        assert "<int>" in text and "NAME=VALUE" in text


def test_help_does_not_import_the_model():
    """`sociosim --help` stays fast: no Mesa, numpy-heavy or analysis import at CLI start."""
    code = (
        "import sys\n"
        "from sociosim.cli import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('mesa', 'pandas', 'scipy', 'sociosim.model', 'sociosim.analysis') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert "HEAVY []" in out.stdout, out.stdout


def test_misspelt_scenario_gets_a_suggestion():
    result = runner.invoke(app, ["run", "sycophncy", "--steps", "1"])
    assert result.exit_code == 2
    assert "did you mean sycophancy?" in result.output
    assert "\n" not in result.output.strip()


def test_misspelt_parameter_gets_a_suggestion():
    result = runner.invoke(app, ["run", "--set", "bta=2", "--steps", "1"])
    assert result.exit_code == 2
    assert "bta: unknown parameter (did you mean beta" in result.output


def test_misspelt_command_gets_a_suggestion():
    result = runner.invoke(app, ["reprot"])
    assert result.exit_code == 2
    assert "report" in result.output


def test_unknown_output_format_is_refused_before_the_run(monkeypatch, tmp_path):
    import sociosim.runner

    def must_not_run(*args, **kwargs):
        raise AssertionError("the run started before --out was checked")

    monkeypatch.setattr(sociosim.runner, "run_scenario", must_not_run)
    wrong = runner.invoke(app, ["run", "--out", str(tmp_path / "x.xlsx")])
    assert wrong.exit_code == 2
    assert "out: must end in .parquet or .csv, got 'x.xlsx'" in wrong.output
    missing = runner.invoke(app, ["run", "--out", str(tmp_path / "nowhere" / "x.csv")])
    assert missing.exit_code == 2
    assert "does not exist" in missing.output


def test_run_writes_its_file_and_says_what_next(tmp_path):
    out = tmp_path / "run.csv"
    result = runner.invoke(app, ["run", "--steps", "2", "--set", "n_users=60", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_file()
    assert result.output.rstrip().splitlines()[-1].startswith("next: sociosim batch baseline")


def test_scenarios_ends_with_the_next_command():
    lines = runner.invoke(app, ["scenarios"]).output.rstrip().splitlines()
    assert lines[-1].startswith("next: sociosim run NAME")


def test_batch_then_report_each_name_the_next_command(tmp_path):
    store = tmp_path / "results" / "tiny"
    args = ["batch", "baseline", "--steps", "2", "--replications", "2", "--set", "n_users=60"]
    batch = runner.invoke(app, [*args, "--store", str(store), "--quiet"])
    assert batch.exit_code == 0, batch.output
    last = batch.output.rstrip().splitlines()[-1]
    assert last == f"next: sociosim report {store} --out reports/tiny"

    out = tmp_path / "report"
    report = runner.invoke(app, ["report", str(store), "--out", str(out)])
    assert report.exit_code == 0, report.output
    assert report.output.rstrip().splitlines()[-1] == f"next: open {out / 'report.html'}"
    # progress: the section bar goes to stderr while the report is written
    assert "section" in report.stderr


def _run_setup_env(tmp_path: Path) -> str:
    """scripts/setup_env.sh in a copy of the tree whose .venv's pip only echoes its arguments."""
    tree = tmp_path / "tree"
    (tree / "scripts").mkdir(parents=True)
    for name in ("setup_env.sh", "find_python.sh"):
        (tree / "scripts" / name).write_text((ROOT / "scripts" / name).read_text())
    (tree / ".venv" / "bin").mkdir(parents=True)
    fake = tree / ".venv" / "bin" / "python"
    fake.write_text(
        "#!/usr/bin/env bash\n"
        'if [ "$1" = "-c" ]; then exit 0; fi\n'  # the version check passes
        'echo "Collecting fakepkg (from $*)"\n'
        'echo "Successfully installed fakepkg-1.0"\n'
    )
    fake.chmod(0o755)
    done = subprocess.run(
        ["bash", "scripts/setup_env.sh", "dev,docs"], cwd=tree, capture_output=True, text=True, check=True
    )
    return done.stdout


def test_setup_env_prints_each_step(tmp_path):
    text = _run_setup_env(tmp_path)
    assert "[1/3]" in text and "[2/3]" in text and "[3/3]" in text
    assert "extras dev,docs" in text
    assert "collecting fakepkg" in text  # what pip is fetching, line by line
