"""The one atomic file write every writer uses: a hidden temp file beside the target, fsync, rename.

A reader never sees half a file, and a crash leaves at most a temp file whose name
carries the writer's pid (`.<name>.tmp-<pid>-<hex>`), so cleanup can tell dead writers' files.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pandas as pd

from sociosim.errors import ScenarioError

FRAME_SUFFIXES = (".parquet", ".csv")


def temp_path(final: Path) -> Path:
    """A unique hidden temp name beside `final`, carrying the writer's pid."""
    return final.with_name(f".{final.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")


def fsync_dir(path: Path) -> None:
    """Flush a directory entry to disk so a rename survives a crash (no-op where unsupported)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def fsync_file(path: Path) -> None:
    """Flush a finished file's contents to disk."""
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def atomic_write(
    path: str | Path, write: Callable[[IO[bytes]], object], *, make_parents: bool = False
) -> Path:
    """Call `write(fh)` on a temp file beside `path`, fsync it, then rename it into place."""
    path = Path(path)
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    fsync_dir(path.parent)
    return path


def atomic_write_bytes(data: bytes, path: str | Path, *, make_parents: bool = False) -> Path:
    """Write bytes atomically."""
    return atomic_write(path, lambda fh: fh.write(data), make_parents=make_parents)


def atomic_write_text(path: str | Path, text: str, *, make_parents: bool = False) -> Path:
    """Write UTF-8 text atomically."""
    return atomic_write_bytes(text.encode("utf-8"), path, make_parents=make_parents)


def write_frame(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a DataFrame to .parquet (zstd) or .csv atomically; the suffix picks the format."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FRAME_SUFFIXES:
        raise ScenarioError("out", f"must end in {' or '.join(FRAME_SUFFIXES)}, got {path.name!r}")
    if path.parent and not path.parent.exists():
        raise ScenarioError("out", f"directory {str(path.parent)!r} does not exist")
    if suffix == ".parquet":
        return atomic_write(path, lambda fh: df.to_parquet(fh, index=False, compression="zstd"))
    return atomic_write(path, lambda fh: df.to_csv(fh, index=False))


__all__ = [
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_text",
    "fsync_dir",
    "fsync_file",
    "temp_path",
    "write_frame",
]
