"""Every Python and shell block of the README and the docs pages runs here, or is marked as not runnable.

A fenced block may be preceded (on the nearest non-blank line) by an HTML comment that the
rendered page hides:

- `<!-- doc-test: skip (reason) -->`: not run; the reason is required;
- `<!-- doc-test: substitute steps=5 replications=1 -->`: run with these values in place of
  the block's own (`steps=200` -> `steps=5` in Python, `--steps 200` -> `--steps 5` and
  `--set n_users=5000` -> `--set n_users=300` in shell; a `sociosim run`/`batch` line
  without the flag gets it appended).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNNABLE = {"python", "bash", "console"}
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S
)
DIRECTIVE = re.compile(r"^\s*<!-- doc-test: (?P<kind>skip|substitute)\s*(?P<rest>.*?)\s*-->\s*$")
VALUE = r"""(?:"[^"]*"|'[^']*'|[\w.+-]+)"""


@dataclass
class Block:
    """One fenced block: where it is, its language and code, and its directive if any."""

    page: Path
    line: int
    lang: str
    code: str
    skip: str | None = None  # the reason, when skipped
    substitute: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def parse_substitutions(text: str) -> dict[str, str]:
    """`steps=5 executor="serial"` as a dict of name -> replacement text."""
    pairs = re.findall(rf"(\w+)=({VALUE})", text)
    if not pairs or re.sub(rf"\w+={VALUE}", "", text).strip():
        raise ValueError(f"doc-test substitute: expected NAME=VALUE pairs, got {text!r}")
    return dict(pairs)


def blocks(page: Path) -> list[Block]:
    """Every fenced block of a page, in order, with the directive on the line before it."""
    text = page.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        start = match.start()
        line = text.count("\n", 0, start) + 1
        before = [ln for ln in text[:start].splitlines() if ln.strip()]
        block = Block(page, line, match["lang"], textwrap.dedent(match["body"]))
        directive = DIRECTIVE.match(before[-1]) if before else None
        if directive and directive["kind"] == "skip":
            block.skip = directive["rest"].strip("() ")
        elif directive:
            block.substitute = parse_substitutions(directive["rest"])
        found.append(block)
    return found


def substituted(block: Block) -> str:
    """The block's code with its substitutions applied; raises if one matches nothing."""
    code = block.code
    for name, value in block.substitute.items():
        before = code
        # Python keyword and dict entries, shell NAME=VALUE (--set) and --name VALUE
        code = re.sub(rf"\b{name}\s*=\s*{VALUE}", f"{name}={value}", code)
        code = re.sub(rf'"{name}"\s*:\s*{VALUE}', f'"{name}": {value}', code)
        code = re.sub(rf"--{name.replace('_', '-')}[ =]{VALUE}", f"--{name.replace('_', '-')} {value}", code)
        commands = {"steps": "run|batch", "replications": "batch"}.get(name)
        if block.lang != "python" and commands:
            code = re.sub(
                rf"^(\s*sociosim (?:{commands})\b(?!.*--{name}\b).*?)\s*(#.*)?$",
                lambda m, n=name, v=value: f"{m[1]} --{n} {v}",
                code,
                flags=re.M,
            )
        if code == before:
            raise AssertionError(f"{block.where}: substitute {name}={value} changes nothing")
    return code


def console_steps(code: str) -> list[tuple[str, list[str]]]:
    """A console block as (command, expected output lines) pairs, from its `$ ` prompts."""
    steps: list[tuple[str, list[str]]] = []
    for line in code.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
        elif line.strip():
            raise AssertionError(f"console block starts with output, not a `$ ` command: {line!r}")
    return steps


# --- the tests -----------------------------------------------------------------------------------

ALL = [block for page in PAGES for block in blocks(page)]
# Pages whose text other documents own (DESIGN, ODD): their fences are file trees, checked for language only
FOREIGN = {ROOT / "docs" / "DESIGN.md", ROOT / "docs" / "ODD.md"}


def _env() -> dict[str, str]:
    """This interpreter's `sociosim` and `python` first on PATH, this tree first on the import path."""
    bin_dir = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(ROOT),
        "MPLBACKEND": "Agg",
        "COLUMNS": "100",
    }


def test_the_harness_finds_the_blocks():
    langs = {b.lang for b in ALL}
    assert {"python", "bash", "console"} <= langs
    assert len([b for b in ALL if b.lang in RUNNABLE and b.skip is None]) >= 15


@pytest.mark.parametrize("block", ALL, ids=lambda b: b.where)
def test_every_code_block_is_run_or_marked(block):
    """A Python or shell block runs in this test, or says why not; other fences name their language."""
    if block.page in FOREIGN and block.lang == "":
        return
    assert block.lang, (
        f"{block.where}: a fence without a language (use text, toml, yaml, python, bash, console)"
    )
    assert block.lang not in {"sh", "shell", "py", "pycon", "python3"}, (
        f"{block.where}: write {block.lang!r} as python, bash or console, so the block is run"
    )
    if block.skip is not None:
        assert block.lang in RUNNABLE, f"{block.where}: only runnable blocks need a skip"
        assert len(block.skip) > 8, f"{block.where}: a skipped block says why"
    if block.substitute:
        substituted(block)  # raises when a substitution matches nothing


def test_substitution_rewrites_python_and_shell():
    py = Block(ROOT, 1, "python", 'run(steps=200, executor="processes", overrides={"n_users": 5000})\n')
    py.substitute = parse_substitutions('steps=5 executor="serial" n_users=300')
    assert substituted(py) == 'run(steps=5, executor="serial", overrides={"n_users": 300})\n'
    sh = Block(
        ROOT,
        1,
        "bash",
        "sociosim batch x --workers 2   # note\nsociosim run y --steps 9 --set n_users=5000\n",
    )
    sh.substitute = parse_substitutions("workers=1 steps=3 n_users=300")
    assert (
        substituted(sh)
        == "sociosim batch x --workers 1 --steps 3\nsociosim run y --steps 3 --set n_users=300\n"
    )
    stale = Block(ROOT, 1, "python", "run()\n", substitute={"steps": "5"})
    with pytest.raises(AssertionError, match="changes nothing"):
        substituted(stale)


def _run_shell(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", code],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )


def _run_page(page: Path, tmp_path: Path, monkeypatch) -> int:
    """Run a page's runnable blocks in order in `tmp_path`: Python in one namespace, shell in bash."""
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__doc_test__"}
    ran = 0
    for block in blocks(page):
        if block.lang not in RUNNABLE or block.skip is not None:
            continue
        code = substituted(block)
        if block.lang == "python":
            exec(compile(code, block.where, "exec"), namespace)  # the docs' own examples, nothing else
        elif block.lang == "bash":
            done = _run_shell(code, tmp_path)
            assert done.returncode == 0, f"{block.where} failed:\n{code}\n{done.stdout}\n{done.stderr}"
        else:
            for command, expected in console_steps(code):
                done = _run_shell(command, tmp_path)
                printed = (done.stdout + done.stderr).strip().splitlines()
                want = "\n".join(expected).strip().splitlines()
                assert printed == want, f"{block.where}: `{command}` printed {printed}, the page shows {want}"
        ran += 1
    return ran


RUN_PAGES = sorted({b.page for b in ALL if b.lang in RUNNABLE and b.skip is None})


@pytest.mark.parametrize("page", RUN_PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_examples_on_each_page_run(page, tmp_path, monkeypatch):
    assert _run_page(page, tmp_path, monkeypatch) > 0
