"""Writing tables to files atomically, so a reader never sees half a file."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

import pandas as pd

from .config import ScenarioError

SUFFIXES = (".parquet", ".csv")


def write_frame(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a DataFrame to .parquet (zstd) or .csv through a temp file and os.replace."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ScenarioError("out", f"must end in {' or '.join(SUFFIXES)}, got {path.name!r}")
    if path.parent and not path.parent.exists():
        raise ScenarioError("out", f"directory {str(path.parent)!r} does not exist")
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        if suffix == ".parquet":
            df.to_parquet(tmp, index=False, compression="zstd")
        else:
            df.to_csv(tmp, index=False)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return path


__all__ = ["write_frame"]
