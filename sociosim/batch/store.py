"""The results store: a directory of Parquet parts, written atomically, read through DuckDB.

Layout of a store directory::

    sociosim-store.json        format marker and schema version
    .lock                      lock file serialising commits (fcntl.flock)
    scenarios/<hash>.json      each batch's scenario and, for sobol/morris, its SALib problem
    runs/<part>.parquet        one row per run (status ok or failed), the commit record
    measures/<part>.parquet    one row per run and step
    events/<part>.parquet      regulator interventions
    agents/<part>.parquet      agent snapshots (only when asked for)

A part is committed by renaming finished temp files into place (data tables first, the
runs table last) under the lock; a part counts only once its runs file exists, so a
half-written or half-committed part is never read as data. Temp files start with a dot.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sociosim._version import __version__
from sociosim.config.scenario import Scenario
from sociosim.errors import ScenarioError
from sociosim.io import atomic_write_bytes, fsync_dir, fsync_file, temp_path

SCHEMA_VERSION = 1
# The columns that identify a run, in every table of the store (design columns follow them).
# `code` is the fingerprint of the package source that made the run (batch/provenance.py).
ID_COLUMNS = (
    "run_key",
    "scenario",
    "scenario_hash",
    "code",
    "point",
    "replicate",
    "seed_entropy",
    "seed_spawn_key",
)
MARKER = "sociosim-store.json"
FORMAT = "sociosim-results"
DATA_TABLES = ("measures", "events", "agents")
TABLES = ("runs", *DATA_TABLES)
DAMAGED_DIR = ".damaged"  # where cleanup moves parts with an unreadable file (hidden: never read)
TMP_RE = re.compile(r"^\.(?P<name>.+)\.tmp-(?P<pid>\d+)-[0-9a-f]+$")
# Lossless float64: zstd over byte-stream-split floats (no dictionary: float values rarely repeat).
PARQUET_OPTIONS: dict[str, Any] = {"compression": "zstd", "compression_level": 6}


class StoreError(ScenarioError):
    """A results store is missing, foreign or written by a newer sociosim."""


def arrow_table(df: pd.DataFrame) -> pa.Table:
    """A DataFrame as an Arrow table with plain (not large) strings, so parts share one schema."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    fields = []
    for f in table.schema:
        if pa.types.is_large_string(f.type) or pa.types.is_string_view(f.type):
            fields.append(pa.field(f.name, pa.string()))
        else:
            fields.append(f)
    return table.cast(pa.schema(fields)).replace_schema_metadata(None)


def write_parquet_temp(df: pd.DataFrame, final: Path) -> Path:
    """Write a frame as Parquet to a fsynced temp file beside `final`; return the temp path."""
    table = arrow_table(df)
    floats = [f.name for f in table.schema if pa.types.is_floating(f.type)]
    others = [f.name for f in table.schema if f.name not in floats]
    tmp = temp_path(final)
    pq.write_table(
        table, tmp, use_dictionary=others or False, use_byte_stream_split=floats or False, **PARQUET_OPTIONS
    )
    fsync_file(tmp)
    return tmp


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's process
        return True
    return True


def parquet_readable(path: Path) -> bool:
    """Whether a Parquet file is whole: its footer parses (a truncated or garbled file fails)."""
    try:
        pq.read_metadata(path)
    except (OSError, ValueError, pa.ArrowException):
        return False
    return True


def new_part_id() -> str:
    """A part name that sorts by creation time and never collides between writers."""
    return f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """An exclusive flock on `directory/.lock`; a no-op where fcntl is missing (commits stay atomic per file)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX
        yield
        return
    with open(directory / ".lock", "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


class ResultStore:
    """A results directory: commit parts atomically, skip what is stored, query with DuckDB."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        marker = self.path / MARKER
        if not marker.is_file():
            raise StoreError("store", f"{self.path} is not a sociosim results store (no {MARKER})")
        try:
            info = json.loads(marker.read_text())
        except (OSError, ValueError) as exc:
            raise StoreError("store", f"{marker} is unreadable: {exc}") from None
        if info.get("format") != FORMAT:
            raise StoreError("store", f"{self.path} holds format {info.get('format')!r}, not {FORMAT!r}")
        version = info.get("schema_version")
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise StoreError(
                "store",
                f"{self.path} has schema version {version}, newer than this sociosim "
                f"({__version__}) reads (up to {SCHEMA_VERSION}); upgrade sociosim to read it",
            )
        self.schema_version: int = version
        self.info = info

    def __repr__(self) -> str:
        return f"ResultStore({str(self.path)!r})"

    # --- writing ------------------------------------------------------------------------
    def lock(self) -> contextlib.AbstractContextManager[None]:
        """Hold the store's exclusive lock (released by the OS if the process dies)."""
        return _locked(self.path)

    def cleanup(self) -> int:
        """Remove leftovers of killed writers: orphan data parts and dead writers' temp files."""
        removed = 0
        with self.lock():
            damaged = self.damaged_parts()
            for stem in damaged:
                for table in TABLES:
                    source = self.path / table / f"{stem}.parquet"
                    if source.exists():
                        target = self.path / DAMAGED_DIR / table
                        target.mkdir(parents=True, exist_ok=True)
                        os.replace(source, target / source.name)
                        removed += 1
            if damaged:
                warnings.warn(
                    f"{self.path}: moved {len(damaged)} damaged part(s) to {DAMAGED_DIR}/ "
                    "(a file was truncated or unreadable); their runs count as not stored and will be re-run",
                    stacklevel=2,
                )
            committed = self._committed_parts()
            for table in DATA_TABLES:
                for part in (self.path / table).glob("*.parquet"):
                    if part.stem not in committed:
                        part.unlink(missing_ok=True)
                        removed += 1
            for table in (*TABLES, "scenarios"):
                for tmp in (self.path / table).glob(".*.tmp-*"):
                    match = TMP_RE.match(tmp.name)
                    if match and not _pid_alive(int(match["pid"])):
                        tmp.unlink(missing_ok=True)
                        removed += 1
        return removed

    def stored_records(self) -> list[tuple[str, str, str, str | None]]:
        """(run_key, status, plan_key, code) of every committed run record, oldest part first.

        Stores written before runs recorded their code have no plan_key or code column:
        their run key is the plan key and their code is None. Parts are immutable, so each
        runs file is read once and remembered.
        """
        cache: dict[str, list[tuple[str, str, str, str | None]]] = self.__dict__.setdefault(
            "_records_cache", {}
        )
        records: list[tuple[str, str, str, str | None]] = []
        committed = self._committed_parts()
        for part in sorted(p for p in (self.path / "runs").glob("*.parquet") if p.stem in committed):
            if part.name not in cache:
                names = set(pq.read_schema(part).names)
                wanted = ["run_key", "status", *(c for c in ("plan_key", "code") if c in names)]
                table = pq.read_table(part, columns=wanted)
                keys = table["run_key"].to_pylist()
                plans = table["plan_key"].to_pylist() if "plan_key" in names else keys
                codes = table["code"].to_pylist() if "code" in names else [None] * len(keys)
                cache[part.name] = list(zip(keys, table["status"].to_pylist(), plans, codes, strict=True))
            records.extend(cache[part.name])
        return records

    def stored_status(self) -> dict[str, str]:
        """Each stored run_key mapped to 'ok' or 'failed' (ok wins over an older failure)."""
        status: dict[str, str] = {}
        for key, st, _, _ in self.stored_records():
            if status.get(key) != "ok":
                status[key] = st
        return status

    def commit(self, runs: pd.DataFrame, tables: dict[str, pd.DataFrame | None]) -> int:
        """Atomically add one part: data tables, then the runs record; skip runs already stored ok.

        Returns the number of runs written (runs another writer stored meanwhile are dropped).
        """
        if runs.empty:
            return 0
        with self.lock():
            done = {k for k, s in self.stored_status().items() if s == "ok"}
            keep = ~runs["run_key"].isin(done)
            if not keep.any():
                return 0
            runs = runs[keep]
            keys = set(runs["run_key"])
            part = new_part_id()
            temps: list[tuple[Path, Path]] = []
            runs_tmp: Path | None = None
            try:
                for name in DATA_TABLES:
                    frame = tables.get(name)
                    if frame is None or frame.empty:
                        continue
                    frame = frame[frame["run_key"].isin(keys)]
                    final = self.path / name / f"{part}.parquet"
                    temps.append((write_parquet_temp(frame, final), final))
                runs_final = self.path / "runs" / f"{part}.parquet"
                runs_tmp = write_parquet_temp(runs, runs_final)
                for tmp, final in temps:
                    os.replace(tmp, final)
                for name in DATA_TABLES:
                    fsync_dir(self.path / name)
                os.replace(runs_tmp, runs_final)
                fsync_dir(runs_final.parent)
            finally:
                for tmp, _ in temps:
                    with contextlib.suppress(FileNotFoundError):
                        tmp.unlink()
                if runs_tmp is not None:
                    runs_tmp.unlink(missing_ok=True)
            return len(runs)

    def write_scenario(self, scenario_hash: str, scenario: Scenario, design_problem: dict | None) -> None:
        """Record (or refresh) the scenario a batch runs, with its SALib problem if any."""
        doc = {
            "scenario_hash": scenario_hash,
            "name": scenario.name,
            "written": time.time(),
            "sociosim_version": __version__,
            "scenario": scenario.model_dump(mode="json"),
            "design_problem": design_problem,
        }
        with self.lock():
            atomic_write_bytes(
                json.dumps(doc, indent=1).encode(), self.path / "scenarios" / f"{scenario_hash}.json"
            )

    # --- reading ------------------------------------------------------------------------
    def _file_ok(self, path: Path) -> bool:
        """`parquet_readable`, remembered per file name, size and modification time."""
        try:
            st = path.stat()
        except FileNotFoundError:
            return False
        key = (str(path), st.st_size, st.st_mtime_ns)
        checked: dict[tuple[str, int, int], bool] = self.__dict__.setdefault("_readable_cache", {})
        if key not in checked:
            checked[key] = parquet_readable(path)
        return checked[key]

    def damaged_parts(self) -> set[str]:
        """Parts with a runs record but a file that does not parse (truncated by a crash, a full disk, a bad copy)."""
        damaged = set()
        for runs_file in (self.path / "runs").glob("*.parquet"):
            stem = runs_file.stem
            files = [self.path / t / f"{stem}.parquet" for t in TABLES]
            if not all(self._file_ok(f) for f in files if f.exists()):
                damaged.add(stem)
        return damaged

    def _committed_parts(self) -> set[str]:
        """Parts whose runs record exists and whose every file is whole: only these are ever read."""
        stems = {p.stem for p in (self.path / "runs").glob("*.parquet")}
        return stems - self.damaged_parts()

    def _files(self, table: str, committed: set[str]) -> list[str]:
        return sorted(str(p) for p in (self.path / table).glob("*.parquet") if p.stem in committed)

    def connect(self) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB connection with views measures, runs, events, agents over committed parts."""
        con = duckdb.connect(":memory:")
        committed = self._committed_parts()
        for table in TABLES:
            files = self._files(table, committed)
            raw = "runs_raw" if table == "runs" else table
            if files:
                listing = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
                con.execute(
                    f"CREATE VIEW {raw} AS SELECT * FROM read_parquet([{listing}], union_by_name=true)"
                )
            else:
                con.execute(
                    f"CREATE VIEW {raw} AS SELECT NULL::VARCHAR AS run_key, NULL::VARCHAR AS status WHERE false"
                )
        con.execute(
            "CREATE VIEW runs AS SELECT * FROM runs_raw QUALIFY row_number() OVER "
            "(PARTITION BY run_key ORDER BY (status = 'ok') DESC, committed_at DESC) = 1"
            if self._files("runs", committed)
            else "CREATE VIEW runs AS SELECT * FROM runs_raw"
        )
        return con

    def query(self, sql: str, parameters: list[Any] | None = None) -> pd.DataFrame:
        """Run SQL over the views `measures`, `runs`, `events`, `agents`; return a DataFrame."""
        con = self.connect()
        try:
            return con.execute(sql, parameters).df()
        except duckdb.Error as exc:
            raise StoreError("sql", str(exc).splitlines()[0]) from None
        finally:
            con.close()

    def _has_rows(self, table: str) -> bool:
        return bool(self._files(table, self._committed_parts()))

    def measures(self, columns: list[str] | None = None) -> pd.DataFrame:
        """The long table of step measures, ordered by scenario hash, point, replicate and step.

        `columns` picks measure columns; the run's identifying columns are always included.
        """
        if not self._has_rows("measures"):
            return pd.DataFrame()
        select = "*"
        if columns is not None:
            con = self.connect()
            names = [d[0] for d in con.execute("SELECT * FROM measures LIMIT 0").description]
            con.close()
            step_at = names.index("step")
            ident = names[: step_at + 1]
            unknown = [c for c in columns if c not in names]
            if unknown:
                raise StoreError("columns", f"no measure named {', '.join(unknown)}")
            wanted = ident + [c for c in columns if c not in ident]
            select = ", ".join(f'"{c}"' for c in wanted)
        return self.query(
            f"SELECT {select} FROM measures ORDER BY scenario_hash, point, replicate, run_key, step"
        )

    def runs(self) -> pd.DataFrame:
        """One row per run: key, status, error, point, replicate, seed, parameters, duration, code.

        Parts never change once committed, so the table is read once per set of committed
        parts and a copy of it returned (a report asks for it several times).
        """
        committed = tuple(sorted(self._committed_parts()))
        if not committed:
            return pd.DataFrame()
        cache: dict[tuple[str, ...], pd.DataFrame] = self.__dict__.setdefault("_runs_cache", {})
        if committed not in cache:
            cache.clear()
            cache[committed] = self.query(
                "SELECT * FROM runs ORDER BY scenario_hash, point, replicate, run_key"
            )
        return cache[committed].copy()

    def events(self) -> pd.DataFrame:
        """Regulator interventions of every stored run (empty if there were none)."""
        if not self._has_rows("events"):
            return pd.DataFrame()
        return self.query("SELECT * FROM events ORDER BY scenario_hash, point, replicate, run_key, step")

    def agents(self) -> pd.DataFrame:
        """Agent snapshots (only batches run with agent_snapshot_every > 0 have any)."""
        if not self._has_rows("agents"):
            return pd.DataFrame()
        return self.query(
            'SELECT * FROM agents ORDER BY scenario_hash, point, replicate, run_key, step, "user"'
        )

    def _scenario_doc(self, scenario_hash: str | None) -> dict:
        docs = []
        for path in (self.path / "scenarios").glob("*.json"):
            try:
                docs.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                continue
        if scenario_hash is not None:
            docs = [d for d in docs if d.get("scenario_hash") == scenario_hash]
        if not docs:
            what = f"scenario {scenario_hash}" if scenario_hash else "any scenario"
            raise StoreError("store", f"{self.path} holds no record of {what}")
        return max(docs, key=lambda d: d.get("written", 0))

    def scenario(self, scenario_hash: str | None = None) -> Scenario:
        """The scenario a batch ran (the most recent one unless a hash is given)."""
        return Scenario.model_validate(self._scenario_doc(scenario_hash)["scenario"])

    def design_problem(self, scenario_hash: str | None = None) -> dict | None:
        """The SALib problem of a sobol/morris batch with its ordered sample matrix (`sample`), else None."""
        problem = self._scenario_doc(scenario_hash).get("design_problem")
        if problem is None:
            return None
        problem = dict(problem)
        problem["sample"] = np.asarray(problem["sample"], dtype=float)
        return problem


def create_store(path: str | Path) -> ResultStore:
    """Open a store, creating its directory and marker if absent (safe when batches start at once)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise StoreError("store", f"{path} exists and is not a directory")
    path.mkdir(parents=True, exist_ok=True)
    marker = path / MARKER
    if not marker.exists():
        with _locked(path):
            if not marker.exists():
                if any(p for p in path.iterdir() if not p.name.startswith(".")):
                    raise StoreError(
                        "store", f"{path} is a non-empty directory that is not a sociosim results store"
                    )
                for sub in (*TABLES, "scenarios"):
                    (path / sub).mkdir(exist_ok=True)
                info = {
                    "format": FORMAT,
                    "schema_version": SCHEMA_VERSION,
                    "created": time.time(),
                    "created_by": __version__,
                }
                atomic_write_bytes(json.dumps(info, indent=1).encode(), marker)
    return ResultStore(path)


def open_store(path: str | Path) -> ResultStore:
    """Open an existing results store for reading (refuses a newer schema version)."""
    return ResultStore(path)


__all__ = ["SCHEMA_VERSION", "ResultStore", "StoreError", "create_store", "open_store"]
