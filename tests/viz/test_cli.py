"""`sociosim viz`: the command line it runs, its defaults, and its input errors (no server started)."""

from __future__ import annotations

from typer.testing import CliRunner

from sociosim.cli import app
from sociosim.viz import serve as viz_serve
from sociosim.viz.controls import SCENARIO_ENV


def test_default_command_listens_on_loopback_port_8765():
    command = viz_serve.viz_command()
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert command[command.index("--port") + 1] == "8765"
    assert viz_serve.APP_MODULE in command and "--production" in command


def test_cli_passes_host_port_and_scenario_to_the_server(monkeypatch):
    seen = {}

    def fake_call(command, env):
        seen["command"], seen["env"] = command, env
        return 0

    monkeypatch.setattr(viz_serve.subprocess, "call", fake_call)
    result = CliRunner().invoke(app, ["viz", "defaults", "--port", "9001"])
    assert result.exit_code == 0, result.output
    assert seen["command"][seen["command"].index("--host") + 1] == "127.0.0.1"
    assert seen["command"][seen["command"].index("--port") + 1] == "9001"
    assert seen["env"][SCENARIO_ENV] == "defaults"


def test_unknown_scenario_or_a_path_exits_2_naming_the_field(monkeypatch):
    monkeypatch.setattr(viz_serve.subprocess, "call", lambda *a, **k: 0)
    for name in ("no_such_study", "scenarios/x.toml"):
        result = CliRunner().invoke(app, ["viz", name])
        assert result.exit_code == 2
        assert "scenario" in result.output and "library" in result.output
