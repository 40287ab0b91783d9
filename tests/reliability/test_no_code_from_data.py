"""No code from data: the package never evaluates, unpickles or unmarshals what it reads."""

from __future__ import annotations

import re
from pathlib import Path

import sociosim

PACKAGE = Path(sociosim.__file__).resolve().parent
FORBIDDEN = {
    "eval(": re.compile(r"(?<![\w.])eval\s*\("),
    "exec(": re.compile(r"(?<![\w.])exec\s*\("),
    "pickle.load / pickle.loads": re.compile(r"\b(c?pickle|dill|cloudpickle)\s*\.\s*loads?\b"),
    "from pickle import load": re.compile(r"from\s+(c?pickle|dill|cloudpickle)\s+import\s+.*\bloads?\b"),
    "yaml.load": re.compile(r"\byaml\s*\.\s*(unsafe_)?load\b"),
    "marshal": re.compile(r"\bmarshal\b"),
    "shelve": re.compile(r"\bshelve\b"),
    "allow_pickle=True": re.compile(r"allow_pickle\s*=\s*True"),
    "pd.read_pickle": re.compile(r"read_pickle\s*\("),
    "compile(": re.compile(r"(?<![\w.])compile\s*\([^)]*['\"]exec['\"]"),
    "__import__(": re.compile(r"__import__\s*\("),
}


def test_the_package_source_has_no_code_loading_calls():
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 10
    found = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            for name, pattern in FORBIDDEN.items():
                if pattern.search(code):
                    found.append(f"{path.relative_to(PACKAGE.parent)}:{number}: {name}: {line.strip()}")
    assert found == []


def test_the_patterns_catch_what_they_are_for():
    """The grep itself can fail: each pattern matches a sample line and spares a harmless one."""
    samples = {
        "eval(": ("x = eval(text)", "model.evaluate(x)"),
        "exec(": ("exec(code)", "executor.submit(f)"),
        "pickle.load / pickle.loads": ("obj = pickle.loads(blob)", "pickle.dumps(obj)"),
        "yaml.load": ("yaml.load(fh)", "yaml.safe_dump(x)"),
        "allow_pickle=True": ("np.load(p, allow_pickle=True)", "np.load(p, allow_pickle=False)"),
        "marshal": ("import marshal", "marshalling_cost = 1"),
    }
    for name, (bad, fine) in samples.items():
        assert FORBIDDEN[name].search(bad), name
        assert not FORBIDDEN[name].search(fine), name


def test_scenarios_are_parsed_with_tomllib_only():
    source = (PACKAGE / "config" / "scenario.py").read_text(encoding="utf-8")
    assert "tomllib.loads" in source
    for module in ("yaml", "json5", "ast.literal_eval", "runpy", "importlib.import_module"):
        assert module not in source
