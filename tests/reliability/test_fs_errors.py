"""Every CLI command that writes, against every kind of file-system error: exit 1, one line naming the path.

Run through the console entry point (`sociosim.cli.main`), the code path a shell uses.
A path under a file is real; a full disk (ENOSPC), a read-only file system (EROFS) and a
refused permission (EACCES) are simulated by making the system call fail, because these
tests may run as root, for whom permissions do not hold. Nothing may be left half-written.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

import pytest

from sociosim import cli

SMALL = ["--set", "n_users=40", "--set", "n_annotators=4", "--set", "n_responses=16"]


def main(argv: list[str], capsys) -> tuple[int, str]:
    """Run the console entry point; return its exit code and stderr."""
    old = sys.argv
    sys.argv = ["sociosim", *argv]
    try:
        cli.main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv = old
    return code, capsys.readouterr().err


def one_line_naming(err: str, path: Path) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and str(path) in lines[0], err
    assert "Traceback" not in err


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """A tiny finished store to report on."""
    from sociosim.batch.execute import run_batch

    path = tmp_path_factory.mktemp("fs") / "store"
    result = run_batch(
        None,
        design={"method": "grid", "parameters": {"beta": [0.5, 2.0]}},
        replications=2,
        steps=3,
        overrides={"n_users": 40, "n_annotators": 4, "n_responses": 16},
        store=path,
        progress=False,
    )
    assert result.n_done == 4
    return path


def commands(tmp: Path, store: Path, target: Path) -> dict[str, list[str]]:
    """Each writing command with its output at `target`."""
    return {
        "run --out": ["run", "--steps", "2", "--quiet", *SMALL, "--out", str(target / "m.csv")],
        "report --out": ["report", str(store), "--out", str(target), "--quiet"],
        "describe --out": ["describe", "--out", str(target / "parameters.md")],
        "batch --store": [
            "batch",
            "baseline",
            "--steps",
            "2",
            "--quiet",
            "--workers",
            "1",
            *SMALL,
            "--store",
            str(target),
        ],
    }


NAMES = ["run --out", "report --out", "describe --out", "batch --store"]


@pytest.mark.parametrize("name", NAMES)
def test_a_path_under_a_file(name, tmp_path, store, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    target = blocker / "sub"
    code, err = main(commands(tmp_path, store, target)[name], capsys)
    assert code == 1, err
    one_line_naming(err, blocker)
    assert blocker.read_text() == "not a folder"


@pytest.mark.parametrize("error", [errno.ENOSPC, errno.EROFS, errno.EACCES])
@pytest.mark.parametrize("name", NAMES)
def test_a_full_read_only_or_forbidden_disk(name, error, tmp_path, store, capsys, monkeypatch):
    target = tmp_path / "out"
    if name == "run --out":
        target.mkdir()  # `run` refuses a missing --out folder as an input error before it runs
    real_fsync = os.fsync

    def failing_fsync(fd):
        # only files written under the target fail (the store being read is elsewhere)
        try:
            where = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            where = ""
        if where.startswith(str(target)):
            raise OSError(error, os.strerror(error))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_fsync)
    code, err = main(commands(tmp_path, store, target)[name], capsys)
    assert code == 1, err
    one_line_naming(err, target)
    assert os.strerror(error) in err
    leftovers = [p for p in target.rglob("*") if ".tmp-" in p.name or p.name.startswith(".staging-")]
    assert leftovers == []


def test_report_refused_by_the_file_system_keeps_the_old_report(tmp_path, store, capsys, monkeypatch):
    out = tmp_path / "report"
    code, err = main(["report", str(store), "--out", str(out), "--quiet"], capsys)
    assert code == 0, err
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left")))
    code, err = main(["report", str(store), "--out", str(out), "--quiet", "--title", "other"], capsys)
    assert code == 1, err
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before


def test_describe_check_on_a_binary_file_says_stale(tmp_path, capsys):
    binary = tmp_path / "blob.md"
    binary.write_bytes(bytes(range(256)) * 4)
    code, err = main(["describe", "--check", str(binary)], capsys)
    assert code == 1 and "stale" in err and "Traceback" not in err
