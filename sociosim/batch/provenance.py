"""Which code made a run: the package version, a fingerprint of its source, and the git commit.

The fingerprint is a hash of the contents of every `sociosim/**/*.py` file (paths and
bytes), so any edit to the package gives runs a different `code`; a batch re-runs what
other code made rather than mixing it in. It is computed once per process. The git commit
and dirty flag are looked up only when the package sits in a checkout (a `.git` above
it), with a short timeout; any failure leaves them unknown (None) rather than stopping a
batch.
"""

from __future__ import annotations

import functools
import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sociosim._version import __version__

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # the sociosim/ directory
CODE_LENGTH = 12  # hex digits of the fingerprint kept as the `code` column
GIT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class CodeInfo:
    """The code behind a run: version, source fingerprint (`code`), git commit and dirty flag."""

    version: str
    code: str
    git_commit: str | None
    git_dirty: bool | None

    def describe(self) -> str:
        """One line for people, e.g. '0.1.0, code 3f2a9c1b7d4e (git 48acd55, uncommitted edits)'."""
        text = f"{self.version}, code {self.code}"
        if self.git_commit:
            state = ", uncommitted edits" if self.git_dirty else ""
            text += f" (git {self.git_commit[:7]}{state})"
        return text


def source_fingerprint(package_dir: Path = PACKAGE_DIR) -> str:
    """The hash of the package's Python source: every .py file's relative path and bytes, in path order."""
    digest = hashlib.sha256()
    files = sorted(
        p for p in package_dir.rglob("*.py") if "__pycache__" not in p.relative_to(package_dir).parts
    )
    for path in files:
        digest.update(path.relative_to(package_dir).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:CODE_LENGTH]


def _git_root(start: Path) -> Path | None:
    """The nearest directory at or above `start` holding a `.git` (a directory, or a worktree's file)."""
    for candidate in (start, *start.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def git_state(package_dir: Path = PACKAGE_DIR) -> tuple[str | None, bool | None]:
    """(commit, dirty) of the checkout holding the package, or (None, None) outside one or without git."""
    root = _git_root(package_dir.parent)
    if root is None:
        return None, None
    head = _git(root, "rev-parse", "HEAD")
    if not head:
        return None, None
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    return head.strip(), (bool(status.strip()) if status is not None else None)


@functools.cache
def code_info() -> CodeInfo:
    """This process's CodeInfo, computed on first use and remembered (the source does not change under it)."""
    commit, dirty = git_state()
    return CodeInfo(__version__, source_fingerprint(), commit, dirty)


__all__ = ["CodeInfo", "code_info", "git_state", "source_fingerprint"]
