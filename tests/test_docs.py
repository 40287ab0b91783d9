"""The documentation cannot rot: the parameter reference is generated, the ODD names every
parameter, measure and implementing function that exists, the step order it states is the
code's, the tutorial notebook executes, and the citation file matches the package version.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest
import yaml
from typer.testing import CliRunner

import sociosim
from sociosim.cli import app
from sociosim.config.describe import parameter_reference, reference_is_current
from sociosim.config.levers import LEVER_CHANGES
from sociosim.config.params import ModelParams
from sociosim.model.model import AlignmentModel

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
ODD = (DOCS / "ODD.md").read_text(encoding="utf-8")
REGENERATE = "regenerate it: `sociosim describe --format markdown --out docs/parameters.md`"


# --- the parameter reference ---------------------------------------------------------------


def test_committed_parameter_reference_is_current():
    assert reference_is_current(DOCS / "parameters.md"), f"docs/parameters.md is stale; {REGENERATE}"


def test_reference_has_a_row_for_every_parameter_with_its_default_and_meaning():
    text = parameter_reference(markdown=True)
    for name, field in ModelParams.model_fields.items():
        rows = [line for line in text.splitlines() if line.startswith(f"| `{name}` |")]
        assert len(rows) == 1, name
        assert f"`{field.default!r}`" in rows[0], name
        assert field.description.replace("|", "\\|") in rows[0], name


def test_reference_says_what_each_lever_sets_as_the_code_applies_it():
    text = parameter_reference(markdown=True)
    for lever in LEVER_CHANGES:
        assert f"- `{lever}` (" in text
    # the pressure lever's budget comes from regulator_kl_budget (0.5 by default)
    assert "`kl_budget` None -> 0.5" in text


def test_describe_writes_and_checks_the_reference(tmp_path):
    runner = CliRunner()
    target = tmp_path / "parameters.md"
    written = runner.invoke(app, ["describe", "--format", "markdown", "--out", str(target)])
    assert written.exit_code == 0, written.output
    assert target.read_text(encoding="utf-8") == parameter_reference(markdown=True)
    printed = runner.invoke(app, ["describe", "--format", "markdown"])
    assert printed.stdout == target.read_text(encoding="utf-8")
    assert runner.invoke(app, ["describe", "--check", str(target)]).exit_code == 0
    target.write_text(target.read_text(encoding="utf-8").replace("| `beta` | `1.0` |", "| `beta` | `2.0` |"))
    stale = runner.invoke(app, ["describe", "--check", str(target)])
    assert stale.exit_code == 1
    assert "stale" in stale.output


def test_describe_rejects_an_unknown_format():
    result = CliRunner().invoke(app, ["describe", "--format", "html"])
    assert result.exit_code == 2
    assert "--format" in result.output


# --- the ODD+D description -------------------------------------------------------------------


def test_odd_names_every_parameter_and_maps_it_to_a_submodel():
    index = ODD.split("### III.vi", 1)[1]
    for name in ModelParams.model_fields:
        assert f"`{name}`" in ODD, f"docs/ODD.md does not mention parameter {name}"
        assert re.search(rf"^\| `{name}` \| \S", index, re.M), f"III.vi has no row for {name}"


def test_odd_defines_every_measure_the_model_records():
    model = AlignmentModel(n_users=60, n_annotators=8, n_responses=32, rng=0)
    model.step()
    for name in model.results().columns:
        if name == "step":
            continue
        documented = re.sub(r"_(\d+)$", "_<c>", name)
        # named on its own (`name`) or defined (`name = ...`)
        assert re.search(rf"`{re.escape(documented)}(`| =)", ODD), (
            f"docs/ODD.md does not define measure {name}"
        )


def _resolve(module_path: str, qualname: str):
    module = importlib.import_module(module_path.removesuffix(".py").replace("/", "."))
    target = module
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


def test_every_function_the_odd_points_at_exists():
    references = set(re.findall(r"`(sociosim/[\w/]+\.py)::([\w.]+)`", ODD))
    assert len(references) > 40
    for path, qualname in sorted(references):
        assert (ROOT / path).is_file(), path
        _resolve(path, qualname)  # raises if the module or the name is gone
    for path, test in set(re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", ODD)):
        assert re.search(rf"^def {test}\(", (ROOT / path).read_text(encoding="utf-8"), re.M), (
            f"{path}::{test}"
        )
    for path in set(re.findall(r"`(sociosim/[\w/]+\.py)`", ODD)):
        assert (ROOT / path).is_file(), path


# the actions of one step, as they are called in AlignmentModel.step
STEP_ACTIONS = (
    "interact",
    "socialise",
    "churn",
    "drift",
    "calibrate",
    "_collect_labels",
    "choose_pressure",
    "_retrain",
    "audit",
    "compute_measures",
    "collect",
)


def _order(text: str) -> list[str]:
    found = {name: re.search(rf"\b{re.escape(name)}\b", text) for name in STEP_ACTIONS}
    missing = [name for name, hit in found.items() if hit is None]
    assert not missing, f"not mentioned: {missing}"
    return sorted(STEP_ACTIONS, key=lambda name: found[name].start())


def test_the_step_order_in_the_odd_is_the_order_of_the_code():
    code_order = _order(inspect.getsource(AlignmentModel.step))
    scheduling = ODD.split("### I.iii", 1)[1].split("Where this refines", 1)[0]
    assert code_order == list(STEP_ACTIONS), (
        "AlignmentModel.step changed: update docs/ODD.md I.iii and this test"
    )
    assert _order(scheduling) == code_order


def test_odd_math_is_plain_text():
    assert "$" not in ODD
    assert not re.search(r"\\(frac|sum|sigma|beta|mathbb|left|right)\b", ODD)


# --- the tutorial notebook --------------------------------------------------------------------


def test_committed_tutorial_has_no_outputs():
    notebook = nbformat.read(DOCS / "tutorial.ipynb", as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code
    assert all(not cell.outputs and cell.execution_count is None for cell in code)


def test_tutorial_executes_in_this_environment(tmp_path, monkeypatch):
    from ipykernel.kernelspec import install
    from nbclient import NotebookClient

    # a kernelspec of this interpreter under a private name, found first on JUPYTER_PATH
    install(prefix=str(tmp_path / "jupyter"), kernel_name="sociosim-docs-test")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter" / "share" / "jupyter"))
    notebook = nbformat.read(DOCS / "tutorial.ipynb", as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("import sys\nprint(sys.prefix)"))
    client = NotebookClient(
        notebook,
        kernel_name="sociosim-docs-test",
        timeout=300,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError on any failing cell
    assert notebook.cells[-1].outputs[0]["text"].strip() == sys.prefix
    images = [
        o
        for c in notebook.cells
        if c.cell_type == "code"
        for o in c.outputs
        if "image/png" in o.get("data", {})
    ]
    assert len(images) >= 3


# --- citation ------------------------------------------------------------------------------


def test_citation_file_matches_the_package():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert citation["cff-version"] == "1.2.0"
    assert citation["version"] == sociosim.__version__ == project["version"]
    assert citation["title"] == "sociosim"
    assert citation["authors"]
    identifiers = {ref.get("doi", "") + " " + ref.get("url", "") for ref in citation["references"]}
    for arxiv in ("2509.05381", "2406.18346"):
        assert any(arxiv in text for text in identifiers), arxiv


@pytest.mark.parametrize("name", sorted(p.name for p in DOCS.glob("*.md")))
def test_relative_links_in_the_docs_resolve(name):
    text = (DOCS / name).read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text)
    if name in {"ODD.md", "parameters.md", "index.md", "getting-started.md"}:
        assert links
    for link in links:
        assert (DOCS / link).exists(), f"docs/{name} links to missing {link}"


@pytest.mark.parametrize("page", ["README.md", "docs/scenarios.md"])
def test_scenario_tables_are_the_library_as_it_is(page):
    """The README's and the library page's scenario table is `sociosim scenarios --format markdown`
    (each expected text once: in its file)."""
    from sociosim.config.describe import scenario_reference

    text = (ROOT / page).read_text(encoding="utf-8")
    block = text.split("<!-- scenarios:start -->\n", 1)[1].split("<!-- scenarios:end -->", 1)[0]
    assert block == scenario_reference(), (
        f"{page} scenario table is stale: run `python docs/generate.py` "
        "(or paste `sociosim scenarios --format markdown`)"
    )
