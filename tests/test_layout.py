"""The layered package (DESIGN §5): imports point one way, down the chain, with no circles.

Read from the source with `ast`, so a late import inside a function cannot hide an arrow.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sociosim"

# DESIGN §5: cli -> viz, analysis -> batch -> runner -> model -> config -> io -> errors
LAYERS = {
    "errors": 0,
    "_lazy": 0,
    "_version": 0,
    "io": 1,
    "config": 2,
    "model": 3,
    "runner": 4,
    "batch": 5,
    "analysis": 6,
    "viz": 6,
    "cli": 7,
    "__main__": 8,  # `python -m sociosim`: the command line, nothing else
}
# inside model/: model.py -> agents, labs, measures -> metrics -> populations -> feedback -> world, network, policy, dynamics
MODEL_FLOORS = {
    "world": 0,
    "network": 0,
    "policy": 0,
    "dynamics": 0,
    "feedback": 1,
    "populations": 2,
    "metrics": 3,
    "measures": 4,
    "agents": 4,
    "labs": 4,
    "model": 5,
}
LATE_IMPORTS_ALLOWED = {"cli.py", "__init__.py"}


def _modules() -> dict[str, Path]:
    return {
        ".".join(("sociosim", *p.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__"): p
        for p in PACKAGE.rglob("*.py")
    }


def _sociosim_imports(tree: ast.AST) -> list[tuple[str, ast.AST, bool]]:
    """(imported module, node, inside a function) for every import of a sociosim module."""
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.ImportFrom) and child.module and child.module.startswith("sociosim"):
                found.extend((f"{child.module}.{a.name}", child, inner) for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level:
                found.append(("<relative>", child, inner))
            elif isinstance(child, ast.Import):
                found.extend((a.name, child, inner) for a in child.names if a.name.startswith("sociosim"))
            visit(child, inner)

    visit(tree, False)
    return found


def _resolve(name: str, modules: dict[str, Path]) -> str:
    """The module an imported dotted name lives in (a name imported from a module is cut off)."""
    while name not in modules and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def _graph() -> nx.DiGraph:
    modules = _modules()
    graph = nx.DiGraph()
    for name, path in modules.items():
        graph.add_node(name)
        for target, _node, _late in _sociosim_imports(ast.parse(path.read_text(encoding="utf-8"))):
            target = _resolve(target, modules)
            if target != name and target in modules:
                graph.add_edge(name, target)
    return graph


def _layer(module: str) -> int:
    return LAYERS[module.split(".")[1]]


def test_no_module_imports_a_sociosim_module_inside_a_function_or_relatively():
    offenders = []
    for name, path in _modules().items():
        for target, node, late in _sociosim_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if target == "<relative>":
                offenders.append(f"{name}:{node.lineno} relative import")
            elif late and path.name not in LATE_IMPORTS_ALLOWED:
                offenders.append(f"{name}:{node.lineno} imports {target} inside a function")
    assert offenders == []


def test_errors_imports_no_sociosim_module():
    assert list(_graph().successors("sociosim.errors")) == []


def test_imports_point_down_the_chain():
    faces = {name for name, path in _modules().items() if path.name == "__init__.py"}
    upward = []
    for source, target in _graph().edges:
        if source in faces or target in faces:
            continue  # a face re-exports names from its layer; nothing imports through one
        if _layer(target) > _layer(source):
            upward.append(f"{source} -> {target}")
        if source.startswith("sociosim.model.") and target.startswith("sociosim.model."):
            a, b = source.split(".")[2], target.split(".")[2]
            if MODEL_FLOORS[b] >= MODEL_FLOORS[a]:
                upward.append(f"{source} -> {target} (inside model/)")
    assert upward == []


def test_nothing_imports_through_a_package_face():
    faces = {name for name, path in _modules().items() if path.name == "__init__.py"}
    through = [f"{s} -> {t}" for s, t in _graph().edges if t in faces and s != "sociosim"]
    assert through == []


def test_there_is_no_import_circle():
    graph = _graph()
    assert list(nx.simple_cycles(graph)) == []


@pytest.mark.parametrize("face", ["sociosim", "sociosim.model", "sociosim.batch"])
def test_package_faces_import_their_names_lazily(face):
    """A face names what it exports; importing the face alone loads none of the heavy modules."""
    import subprocess
    import sys

    code = f"import sys, {face}; print(sorted(m for m in ('mesa', 'duckdb', 'sociosim.model.model') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
