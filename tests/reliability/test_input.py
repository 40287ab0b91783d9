"""Bad input: random and hostile scenario files get a `ScenarioError` naming the field, never a traceback.

Hypothesis writes TOML documents (wrong types, unknown keys, missing tables, out-of-range
values, huge numbers, NaN and infinities, random bytes); each either loads or raises a
`ScenarioError` whose `field` is a path into the document and whose message says what is
allowed. The CLI answers such files with exit code 2 and one line on stderr.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sociosim.cli import app
from sociosim.config.params import ModelParams, describe_parameter
from sociosim.config.scenario import SCENARIO_TABLES, Scenario, load_scenario, scenario_from_dict
from sociosim.errors import ScenarioError, key_text, one_line

FIELDS = list(ModelParams.model_fields)
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# --- a small TOML writer (the library only reads TOML) -------------------------------------------


def toml_value(value: Any) -> str:
    """A Python value as a TOML value (inline tables for nested dicts)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        text = repr(value)
        return text if any(c in text for c in ".e") else text + ".0"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def to_toml(doc: dict[str, Any]) -> str:
    """A document as TOML: scalar top-level keys first, then one [table] per dict."""
    lines = [f"{json.dumps(k)} = {toml_value(v)}" for k, v in doc.items() if not isinstance(v, dict)]
    for key, table in doc.items():
        if isinstance(table, dict):
            lines.append(f"[{json.dumps(key)}]")
            lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


# --- strategies --------------------------------------------------------------------------------

text = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, -1, 2, 3, 10**6, 10**12, 2**63, -(2**63)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 0.5, 1.0, 1e-300, 1e300, math.nan, math.inf, -math.inf]),
)
scalars = st.one_of(
    numbers, st.booleans(), text, st.sampled_from(["pooled", "balanced", "sbm", "kl_tilt", "nan"])
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.sampled_from(["min", "max", "x", ""]) | text, inner, max_size=3),
    ),
    max_leaves=8,
)
known_keys = st.sampled_from(
    [*SCENARIO_TABLES, "source", "steps", "seed", "replications", "method", "samples", "parameters", "min", "max",
     "name", "title", "look_at", *FIELDS[:20], "eta", "n", "tau"]
)  # fmt: skip
keys = st.one_of(known_keys, text)
documents = st.dictionaries(
    keys,
    st.one_of(
        values,
        st.dictionaries(keys, st.one_of(values, st.dictionaries(keys, values, max_size=3)), max_size=5),
    ),
    max_size=4,
)


def check_error(exc: ScenarioError, doc: dict[str, Any]) -> None:
    """The properties every error keeps: a field path into the document, one line, a message."""
    assert exc.field, f"no field named for {exc.message!r}"
    assert exc.message
    assert "\n" not in str(exc) and "\r" not in str(exc)
    tops = ["scenario", *(one_line(key_text(k)) for k in doc)]
    assert any(exc.field == top or exc.field.startswith(top + ".") for top in tops), (exc.field, list(doc))


# --- properties --------------------------------------------------------------------------------


@SETTINGS
@given(doc=documents)
def test_any_document_loads_or_names_its_field(doc, tmp_path):
    path = tmp_path / "random.toml"
    path.write_text(to_toml(doc), encoding="utf-8")
    try:
        scenario = load_scenario(path)
    except ScenarioError as exc:
        check_error(exc, doc)
    else:
        assert isinstance(scenario, Scenario)
        assert set(doc) <= set(SCENARIO_TABLES)


@SETTINGS
@given(
    name=st.sampled_from(FIELDS) | st.sampled_from(["eta", "n", "tau", "no_such_parameter", ""]), value=values
)
def test_any_value_of_any_parameter_loads_or_says_what_is_allowed(name, value):
    doc = {"params": {"n_users": 60, "n_responses": 16, name: value}}
    try:
        scenario = scenario_from_dict(doc)
    except ScenarioError as exc:
        check_error(exc, doc)
        assert exc.field.startswith("params.")
        field = exc.field.split(".")[1]
        assert field in FIELDS or field == key_text(name), exc.field
        if field == name and name in FIELDS and exc.field.count(".") == 1:
            # the field's own check names its allowed values, or the combination rule it broke
            assert describe_parameter(name) in exc.message or "must" in exc.message or "needs" in exc.message
        elif name not in FIELDS and name not in {"eta", "n", "tau"}:
            assert "unknown parameter" in exc.message
    else:
        # what was written is what is used: plain data, never interpreted
        resolved = {"eta": "persuasion", "n": "best_of_n", "tau": "annotator_precision"}.get(name, name)
        stored = getattr(scenario.params, resolved)
        if isinstance(value, float) and not math.isnan(value):
            assert stored == value
        if isinstance(value, str):
            assert stored == value


@settings(max_examples=60, deadline=None)
@given(blob=st.binary(max_size=300))
def test_random_bytes_are_refused_as_the_scenario_file(blob, tmp_path_factory):
    path = tmp_path_factory.mktemp("bytes") / "blob.toml"
    path.write_bytes(blob)
    try:
        load_scenario(path)
    except ScenarioError as exc:
        assert exc.field and "\n" not in str(exc)


# --- impossible combinations, caught at load time ---------------------------------------------

IMPOSSIBLE = [
    ({"params": {"n_annotators": 0}}, "params.n_annotators", "[1, 100000]"),
    ({"params": {"user_shares": [0.5, 0.2, 0.2, 0.2]}}, "params.user_shares", "sum to 1"),
    ({"params": {"annotator_shares": [0.7, 0.3]}}, "params.annotator_shares", "one share per culture"),
    ({"params": {"annotator_shares": [1.5, -0.5, 0.0, 0.0]}}, "params.annotator_shares", ">= 0"),
    ({"params": {"n_users": 3}}, "params.n_users", "at least n_cultures"),
    ({"params": {"n_users": 10, "mean_degree": 10}}, "params.mean_degree", "below n_users"),
    ({"params": {"visible_features": ["stance", "stance"]}}, "params.visible_features", "not repeat"),
    ({"params": {"beta": math.nan}}, "params.beta", "[0.0, 1000.0]"),
    ({"params": {"culture_spread": math.inf}}, "params.culture_spread", "[0.0, 5.0]"),
    ({"params": {"n_users": 10**30}}, "params.n_users", "[1, 10000000]"),
    ({"params": {"disclosure": "yes"}}, "params.disclosure", "true or false"),
    ({"params": {"beta": True}}, "params.beta", "a number"),
    ({"run": {"steps": 0}}, "run.steps", "[1, 1000000000]"),
    ({"run": {"replications": True}}, "run.replications", "an integer"),
    ({"run": {"stpes": 10}}, "run.stpes", "allowed: steps, seed, replications"),
    ({"paramz": {"beta": 1}}, "paramz", "scenario, run, params, labs, design"),
    ({"source": "/etc/passwd"}, "source", "unknown table"),
    ({"design": {"method": "lhs", "parameters": {"beta": {"min": 4, "max": 1}}}}, "design.parameters.beta", "min"),
    ({"design": {"method": "lhs", "parameters": {"beta": {"min": -1, "max": 1}}}}, "design.parameters.beta", "[0.0"),
    ({"design": {"method": "lhs", "parameters": {"beta": {"min": 0}}}}, "design.parameters.beta.max", "missing"),
    ({"design": {"method": "sobol", "parameters": {"beta": {"min": 1, "max": 1}}}}, "design.parameters.beta", "min < max"),
    ({"design": {"method": "lhs", "parameters": {"network": {"min": 0, "max": 1}}}}, "design.parameters.network", "grid"),
    ({"design": {"method": "lhs", "parameters": {"beta": [1, 2]}}}, "design.parameters.beta", "{min, max}"),
    ({"design": {"method": "grid", "parameters": {"beta": 2}}}, "design.parameters.beta", "a list of values"),
    ({"design": {"method": "grid", "parameters": {"beta": []}}}, "design.parameters.beta", "at least one"),
    ({"design": {"method": "grid", "parameters": {"n_annotators": [10, 0]}}}, "design.parameters.n_annotators", "[1, 100000]"),
    ({"design": {"method": "grid", "parameters": {"aggregation": ["pooled", "mean"]}}}, "design.parameters.aggregation", "'balanced'"),
    ({"design": {"method": "grid", "parameters": {"betta": [1]}}}, "design.parameters.betta", "unknown parameter"),
    ({"design": {"method": "anneal"}}, "design.method", "'grid', 'lhs', 'sobol', 'morris'"),
    ({"scenario": {"look_at": "gap"}}, "scenario.look_at", "a list of text"),
    ({"scenario": "baseline"}, "scenario", "a table with keys"),
]  # fmt: skip


@pytest.mark.parametrize(("doc", "field", "allowed"), IMPOSSIBLE, ids=[f for _, f, _ in IMPOSSIBLE])
def test_impossible_settings_are_caught_at_load_time(doc, field, allowed, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(to_toml(doc), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.field == field, str(info.value)
    assert allowed in info.value.message, str(info.value)


def test_code_like_strings_are_plain_data(tmp_path):
    """Text that looks like code stays text where text is allowed, and is refused where a number is."""
    payload = "__import__('os').system('touch PWNED')"
    path = tmp_path / "code.toml"
    path.write_text(
        to_toml(
            {"scenario": {"title": payload, "look_at": ["exec(open('x').read())"]}, "params": {"n_users": 60}}
        )
    )
    loaded = load_scenario(path)
    assert loaded.scenario.title == payload
    assert loaded.scenario.look_at == ["exec(open('x').read())"]
    for name, value in (
        ("beta", "1 + 1"),
        ("n_users", "__import__('os').getpid()"),
        ("optimizer", "eval('x')"),
    ):
        with pytest.raises(ScenarioError) as info:
            scenario_from_dict({"params": {name: value}})
        assert info.value.field == f"params.{name}"
    assert not (tmp_path / "PWNED").exists() and not Path("PWNED").exists()


# --- the command line -----------------------------------------------------------------------------

BAD_FILES = {
    "type": {"params": {"beta": "high"}},
    "range": {"run": {"steps": -5}},
    "combination": {"params": {"n_users": 2}},
    "design": {"design": {"method": "lhs", "parameters": {"beta": {"min": 3, "max": 1}}}},
    "unknown": {"params": {"bta": 1}},
    "newline_key": {"params": {"be\nta": 1}},
}


def write_bad(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for name, doc in BAD_FILES.items():
        paths[name] = tmp_path / f"{name}.toml"
        paths[name].write_text(to_toml(doc), encoding="utf-8")
    paths["bytes"] = tmp_path / "bytes.toml"
    paths["bytes"].write_bytes(b"\xff\xfe\x00[params]\nbeta = \x80")
    paths["syntax"] = tmp_path / "syntax.toml"
    paths["syntax"].write_text("[params\nbeta = = 2\n")
    paths["directory"] = tmp_path / "adir.toml"
    paths["directory"].mkdir()
    return paths


def test_cli_answers_bad_files_with_one_line_and_exit_2(tmp_path):
    runner = CliRunner()
    for name, path in write_bad(tmp_path).items():
        result = runner.invoke(app, ["run", str(path), "--steps", "1", "--quiet"])
        assert result.exit_code == 2, (name, result.output, result.exception)
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), (name, result.output)
        assert "Traceback" not in result.output


@pytest.mark.slow
def test_cli_subprocess_exit_2_one_stderr_line(tmp_path):
    """The installed entry point, in real processes (a sample; run side by side to stay fast)."""
    paths = write_bad(tmp_path)
    sample = ["type", "design", "bytes", "newline_key"]
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-m", "sociosim.cli", "run", str(paths[name]), "--steps", "1", "--quiet"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in sample
    }
    expected_field = {"type": "params.beta", "design": "design.parameters.beta", "bytes": "scenario"}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 2, (name, err)
        assert out == ""
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (name, err)
        assert "Traceback" not in err
        if name in expected_field:
            assert lines[0].startswith(f"error: {expected_field[name]}: "), lines[0]
