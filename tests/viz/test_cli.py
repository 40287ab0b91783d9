"""`sociosim viz`: the command line it runs, what it passes the page, and its input and environment errors."""

from __future__ import annotations

import socket

from typer.testing import CliRunner

from sociosim.cli import app
from sociosim.viz import serve as viz_serve
from sociosim.viz.assets import chart_libraries, installed_assets
from sociosim.viz.controls import MAX_USERS_ENV, SCENARIO_ENV, STORE_ENV
from sociosim.viz.vega import VegaChart


def fake_server(monkeypatch) -> dict:
    """Replace the server child with a recorder; returns what it was given."""
    seen: dict = {}

    def record(command, env):
        seen["command"], seen["env"] = command, env
        return 0

    monkeypatch.setattr(viz_serve, "run_server", record)
    return seen


def test_default_command_listens_on_loopback_port_8765():
    command = viz_serve.viz_command()
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert command[command.index("--port") + 1] == "8765"
    assert viz_serve.APP_MODULE in command and "--production" in command


def test_cli_passes_host_port_scenario_cap_and_idle_time_to_the_server(monkeypatch, tmp_path):
    seen = fake_server(monkeypatch)
    monkeypatch.setattr(viz_serve, "port_problem", lambda host, port: None)
    result = CliRunner().invoke(
        app, ["viz", "defaults", "--port", "9001", "--max-users", "5000", "--idle-timeout", "90s"]
    )
    assert result.exit_code == 0, result.output
    assert seen["command"][seen["command"].index("--host") + 1] == "127.0.0.1"
    assert seen["command"][seen["command"].index("--port") + 1] == "9001"
    env = seen["env"]
    assert env[SCENARIO_ENV] == "defaults" and env[MAX_USERS_ENV] == "5000"
    assert env[viz_serve.CULL_ENV] == "90s" and STORE_ENV not in env
    assert "warning" not in result.output


def test_the_default_idle_time_is_thirty_minutes(monkeypatch):
    seen = fake_server(monkeypatch)
    monkeypatch.setattr(viz_serve, "port_problem", lambda host, port: None)
    assert CliRunner().invoke(app, ["viz"]).exit_code == 0
    assert seen["env"][viz_serve.CULL_ENV] == "1800s" and seen["env"][MAX_USERS_ENV] == "20000"


def test_the_chart_asks_for_installed_full_versions_so_nothing_is_downloaded(tmp_path):
    source = tmp_path / "cdn"
    for name in ("vega@5.21.0", "vega@5.3.1", "vega@6.0.0", "vega-lite@5.2.0", "requirejs@2.3.6"):
        (source / name).mkdir(parents=True)
    libraries = chart_libraries(source)
    assert libraries["vega"] == "vega@5.21.0" and libraries["vega-lite"] == "vega-lite@5.2.0"
    assert libraries["vega-embed"] == "vega-embed@6"  # not installed: the major-version name
    # in this environment every library is installed, with the files the chart loads
    installed = installed_assets()
    for package, name in chart_libraries().items():
        script = "require.js" if package == "requirejs" else f"build/{package}.min.js"
        assert (installed / name / script).is_file(), name
    assert VegaChart().libraries == chart_libraries()


def test_unknown_scenario_or_a_path_exits_2_naming_the_field(monkeypatch):
    fake_server(monkeypatch)
    for name in ("no_such_study", "scenarios/x.toml"):
        result = CliRunner().invoke(app, ["viz", name])
        assert result.exit_code == 2
        assert "scenario" in result.output and "library" in result.output


def test_bad_cap_or_idle_time_exit_2_with_one_line(monkeypatch):
    fake_server(monkeypatch)
    for args, field in (
        (["--max-users", "0"], "--max-users"),
        (["--idle-timeout", "soon"], "--idle-timeout"),
    ):
        result = CliRunner().invoke(app, ["viz", *args])
        assert result.exit_code == 2, result.output
        assert result.output.strip().count("\n") == 0 and field in result.output


def test_a_taken_port_exits_1_with_one_line_naming_port(monkeypatch):
    fake_server(monkeypatch)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(app, ["viz", "--port", str(port)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "--port" in lines[0] and str(port) in lines[0], result.output


def test_a_non_loopback_host_prints_a_warning(monkeypatch):
    fake_server(monkeypatch)
    monkeypatch.setattr(viz_serve, "port_problem", lambda host, port: None)
    result = CliRunner().invoke(app, ["viz", "--host", "0.0.0.0"])
    assert result.exit_code == 0
    assert "warning: --host 0.0.0.0" in result.output
    assert (
        viz_serve.is_loopback("127.0.0.1")
        and viz_serve.is_loopback("::1")
        and viz_serve.is_loopback("localhost")
    )


def test_a_missing_store_exits_1_naming_the_path(monkeypatch, tmp_path):
    fake_server(monkeypatch)
    missing = tmp_path / "nowhere"
    result = CliRunner().invoke(app, ["viz", "--store", str(missing)])
    assert result.exit_code == 1
    assert str(missing) in result.output and result.output.strip().count("\n") == 0
