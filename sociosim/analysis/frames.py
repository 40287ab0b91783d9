"""Tidy access to batch results: load a store or frame, tell ids from parameters and measures.

Every analysis function takes the long step-level frame of a batch store (one row per
run and step) or the per-run summary that `summarise_runs` makes from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sociosim.batch.store import ID_COLUMNS, open_store
from sociosim.model.measures import CULTURE_MEASURE, is_measure

# Columns that identify a run or a step, or describe how it ran: neither parameters nor measures.
NON_MEASURE_COLUMNS = (*ID_COLUMNS, "step", "status", "error", "params_json", "n_steps", "last_step")

MEASURES_ATTR = "sociosim_measures"  # frame attribute listing measure columns of a summary


def measure_columns(df: pd.DataFrame) -> list[str]:
    """The measure columns of `df`, in frame order.

    Known §4 names, per-culture columns, any numeric column after `step` (the store puts
    ids and design columns before it, measures after) and those a summary recorded.
    """
    after_step: set[str] = set()
    if "step" in df.columns:
        cols = list(df.columns)
        after_step = {c for c in cols[cols.index("step") + 1 :] if pd.api.types.is_numeric_dtype(df[c])}
    recorded = set(df.attrs.get(MEASURES_ATTR, ()))
    return [c for c in df.columns if is_measure(c) or c in after_step or c in recorded]


def parameter_columns(df: pd.DataFrame, *, varying: bool = False) -> list[str]:
    """Design parameter columns (neither ids nor measures); with `varying`, only those that vary."""
    measures = set(measure_columns(df))
    cols = [
        c for c in df.columns if c not in NON_MEASURE_COLUMNS and c not in measures and not c.startswith("_")
    ]
    if varying:
        cols = [c for c in cols if df[c].nunique(dropna=True) > 1]
    return cols


def culture_indices(df: pd.DataFrame, prefix: str = "utility") -> list[int]:
    """Culture indices c for which `<prefix>_<c>` columns exist, sorted."""
    found = []
    for col in df.columns:
        m = CULTURE_MEASURE.match(col)
        if m and m.group(1) == prefix:
            found.append(int(m.group(2)))
    return sorted(found)


def load_frame(source: Any) -> pd.DataFrame:
    """Step measures from a ResultStore, a store path, a .parquet/.csv file, or a DataFrame."""
    if isinstance(source, pd.DataFrame):
        return source
    if hasattr(source, "measures") and callable(source.measures):
        return source.measures()
    if isinstance(source, str | Path):
        path = Path(source)
        if path.is_file() and path.suffix.lower() == ".csv":
            return pd.read_csv(path)
        if path.is_file() and path.suffix.lower() in {".parquet", ".pq"}:
            return pd.read_parquet(path)
        return open_result_store(path).measures()
    raise TypeError(f"source: expected a DataFrame, a ResultStore or a path, got {type(source).__name__}")


def open_result_store(path: str | Path) -> Any:
    """Open a batch store through `sociosim.store.open_store`, naming the path on failure."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"store: no such file or directory {str(path)!r}")
    return open_store(path)


def store_of(source: Any) -> Any | None:
    """The ResultStore behind `source` when there is one (for runs, scenario, design), else None."""
    if hasattr(source, "measures") and callable(source.measures):
        return source
    if isinstance(source, str | Path):
        path = Path(source)
        if path.is_file() and path.suffix.lower() in {".csv", ".parquet", ".pq"}:
            return None
        return open_result_store(path)
    return None


def ensure_run_key(df: pd.DataFrame) -> pd.DataFrame:
    """A frame with a `run_key` column; a frame without one is a single run (e.g. `sociosim.run`)."""
    if "run_key" in df.columns:
        return df
    out = df.copy()
    out["run_key"] = "run-0"
    return out


def summarise_runs(df: pd.DataFrame, *, last: int = 10) -> pd.DataFrame:
    """One row per run: measures averaged over its last `last` steps, ids and parameters kept.

    A frame without a `step` column is taken to be summarised already and returned as is.
    """
    if last < 1:
        raise ValueError(f"last: must be >= 1, got {last}")
    df = ensure_run_key(df)
    if "step" not in df.columns:
        return df.reset_index(drop=True)
    if df.empty:
        return df.drop(columns="step").iloc[0:0].reset_index(drop=True)
    measures = [c for c in measure_columns(df) if pd.api.types.is_numeric_dtype(df[c])]
    keep = [c for c in df.columns if c not in measures and c != "step"]
    ordered = df.sort_values(["run_key", "step"], kind="stable")
    tail = ordered.groupby("run_key", sort=False, dropna=False).tail(last)
    grouped = tail.groupby("run_key", sort=False, dropna=False)
    means = (
        grouped[measures].mean(numeric_only=False) if measures else pd.DataFrame(index=grouped.size().index)
    )
    firsts = grouped[[c for c in keep if c != "run_key"]].first()
    out = firsts.join(means)
    out["n_steps"] = grouped["step"].size()
    out["last_step"] = grouped["step"].max()
    out = out.reset_index()
    order = [c for c in df.columns if c in out.columns and c != "step"] + ["n_steps", "last_step"]
    out = out[order]
    out.attrs[MEASURES_ATTR] = measures
    return out


def as_columns(value: str | Sequence[str] | None) -> list[str]:
    """A column name or a sequence of them as a list (None: empty)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def require_columns(df: pd.DataFrame, columns: Sequence[str], *, what: str = "column") -> None:
    """Raise a KeyError naming the missing columns and the ones available."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        have = ", ".join(map(str, df.columns[:40]))
        raise KeyError(f"{what} {', '.join(map(repr, missing))} not in data (columns: {have})")


def match_level(values: pd.Series, level: Any) -> Any:
    """The value in `values` equal to `level`, accepting its text form (CLI input) too."""
    uniques = list(pd.unique(values.dropna()))
    for u in uniques:
        if u == level:
            return u
    text = str(level).strip().lower()
    for u in uniques:
        if str(u).strip().lower() == text:
            return u
    for u in uniques:
        try:
            if np.isclose(float(u), float(level)):
                return u
        except (TypeError, ValueError):
            continue
    raise ValueError(f"baseline: {level!r} is not a level of {values.name!r} (levels: {uniques})")
