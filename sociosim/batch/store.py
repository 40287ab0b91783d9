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
runs table last) under the lock; the runs file records which data files the commit wrote
and their row counts. A part counts only once its runs file exists and every file it names
is whole and has the expected schema (batch/parts.py): a half-written, half-copied or
retyped part is never read as data, and readers say what they left out. Temp files start
with a dot. Folders missing from a copy (git and sync tools drop empty ones) are made again
at commit.

Queries run sandboxed: the parts are registered in an in-memory DuckDB connection as
read-only Arrow views before file access is switched off and the configuration locked, so
SQL sees the store's tables and nothing else on the machine (`sql_views` gives the plain
DuckDB statements for the store's owner).
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
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from sociosim._version import __version__
from sociosim.batch.parts import (
    DATA_TABLES,
    TABLES,
    PartCheck,
    StoreAccessError,
    check_part,
    conflicting_types,
    list_parts,
    manifest_metadata,
    verify_file,
)
from sociosim.config.scenario import Scenario
from sociosim.errors import ScenarioError, first_line
from sociosim.io import atomic_write_bytes, fsync_dir, fsync_file, pid_alive, temp_path

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
# The columns of a table with no intact part (typed, so the readers' ORDER BY binds).
EMPTY_COLUMNS = (*ID_COLUMNS, "step", "user", "status")
EMPTY_TYPES = {"point": pa.int64(), "replicate": pa.int64(), "step": pa.int64(), "user": pa.int64()}
MARKER = "sociosim-store.json"
FORMAT = "sociosim-results"
DAMAGED_DIR = ".damaged"  # where cleanup moves damaged parts (hidden: never read, never deleted)
TMP_RE = re.compile(r"^\.(?P<name>.+)\.tmp-(?P<pid>\d+)-[0-9a-f]+$")
# Lossless float64: zstd over byte-stream-split floats (no dictionary: float values rarely repeat).
# Page checksums let a flipped bit be found (verify_file, and every read through `_dataset`).
PARQUET_OPTIONS: dict[str, Any] = {"compression": "zstd", "compression_level": 6, "write_page_checksum": True}
# Settings locked into a query's connection, after the store's tables are registered.
SANDBOX = (
    "SET autoinstall_known_extensions = false",
    "SET autoload_known_extensions = false",
    "SET python_enable_replacements = false",  # no Python variable read as a table
    "SET enable_external_access = false",
    "SET lock_configuration = true",
)


class StoreError(ScenarioError):
    """A results store is missing, foreign or written by a newer sociosim."""


class StoreWarning(UserWarning):
    """Damaged parts were left out of what was read, or moved aside (the message says which)."""


_SHOWN: set[tuple[str, str]] = set()  # (store, message) of the StoreWarnings this process has shown


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


def write_parquet_temp(
    data: pd.DataFrame | pa.Table, final: Path, metadata: dict[bytes, bytes] | None = None
) -> Path:
    """Write a frame as Parquet (with optional key-value metadata) to a fsynced temp file beside `final`."""
    table = arrow_table(data) if isinstance(data, pd.DataFrame) else data
    if metadata:
        table = table.replace_schema_metadata(metadata)
    floats = [f.name for f in table.schema if pa.types.is_floating(f.type)]
    others = [f.name for f in table.schema if f.name not in floats]
    tmp = temp_path(final)
    pq.write_table(
        table, tmp, use_dictionary=others or False, use_byte_stream_split=floats or False, **PARQUET_OPTIONS
    )
    fsync_file(tmp)
    return tmp


def new_part_id() -> str:
    """A part name that sorts by creation time and never collides between writers."""
    return f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """An exclusive flock on `directory/.lock`; a no-op where fcntl is missing (commits stay atomic per file)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX
        yield
        return
    try:
        fh = open(directory / ".lock", "a+")  # noqa: SIM115 - held for the block below
    except PermissionError:
        raise StoreAccessError(directory / ".lock", "open") from None
    with fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _read_marker(path: Path) -> dict[str, Any]:
    """The store marker's JSON object; a one-line StoreError naming the marker if it is not one."""
    marker = path / MARKER
    if not marker.is_file():
        raise StoreError("store", f"{path} is not a sociosim results store (no {MARKER})")
    try:
        text = marker.read_text()
    except PermissionError:
        raise StoreAccessError(marker) from None
    except (OSError, ValueError) as exc:
        raise StoreError("store", f"{marker} is unreadable: {exc}") from None
    try:
        info = json.loads(text)
    except ValueError as exc:
        raise StoreError("store", f"{marker} is not JSON: {exc}") from None
    if not isinstance(info, dict):
        raise StoreError("store", f"{marker} must hold a JSON object, got {type(info).__name__}")
    return info


class ResultStore:
    """A results directory: commit parts atomically, skip what is stored, query with DuckDB."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        info = _read_marker(self.path)
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
        self._checked: dict[tuple, PartCheck] = {}
        self._verified: set[tuple] = set()
        self._keys: dict[str, tuple] = {}  # part -> the key of its remembered verdict
        self._warned: set[frozenset[str]] = set()

    def __repr__(self) -> str:
        return f"ResultStore({str(self.path)!r})"

    # --- which parts count -----------------------------------------------------------------
    def part_checks(self) -> dict[str, PartCheck]:
        """Every committed part (one with a runs file) by name, with its verdict, oldest first.

        A part's files never change once committed, so a verdict is remembered per file
        name, size and modification time. Raises StoreAccessError for a file or folder this
        user may not read: that is not damage, and no part is judged on it.
        """
        runs_files = list_parts(self.path / "runs")
        checks: dict[str, PartCheck] = {}
        for stem in sorted(runs_files):
            key = (stem, *(_stat(self.path / t / f"{stem}.parquet") for t in TABLES))
            if key not in self._checked:
                self._checked[key] = check_part(self.path, stem, runs_files[stem])
            self._keys[stem] = key
            check = self._checked[key]
            checks[stem] = PartCheck(
                stem, check.problem, check.files, check.schemas, check.records, check.legacy
            )
        for stem, problem in conflicting_types([c for c in checks.values() if c.ok]).items():
            checks[stem].problem = problem
        return checks

    def verify(self) -> dict[str, str]:
        """Read every file of every intact part whole (page checksums checked); return the parts found corrupt.

        A part found corrupt counts as damaged from then on (readers leave it out, a batch
        moves it aside). A file is read whole once per process, name, size and mtime: a
        batch verifies the store when it starts (about 13 ms per MB here).
        """
        found: dict[str, str] = {}
        for stem, current in self.part_checks().items():
            key = self._keys[stem]
            if not current.ok or key in self._verified:
                continue
            for table, path in current.files.items():
                problem = verify_file(path, table)
                if problem is not None:
                    self._checked[key].problem = found[stem] = problem
                    break
            self._verified.add(key)
        return found

    def damage(self) -> dict[str, str]:
        """The damaged parts and what is wrong with each (a missing, truncated or retyped file)."""
        return {stem: c.problem for stem, c in self.part_checks().items() if c.problem is not None}

    def damaged_parts(self) -> set[str]:
        """Names of parts with a runs record whose files are not whole or not of the expected schema."""
        return set(self.damage())

    def _intact(self) -> list[PartCheck]:
        """The parts that count, oldest first; warns once (StoreWarning) about the parts left out."""
        checks = self.part_checks()
        intact = [c for c in checks.values() if c.ok]
        damaged = [c for c in checks.values() if not c.ok]
        if damaged and frozenset(c.stem for c in damaged) not in self._warned:
            self._warned.add(frozenset(c.stem for c in damaged))
            self._warn(self._left_out_text(intact, damaged))
        return intact

    def _left_out_text(self, intact: list[PartCheck], damaged: list[PartCheck]) -> str:
        stored = {key for c in intact for key, _, _, _ in c.records}
        lost = {key for c in damaged for key, _, _, _ in c.records} - stored
        unknown = sum(1 for c in damaged if not c.records)
        runs = f"{len(lost)} run(s) stored nowhere else" + (
            f", and the unknown runs of {unknown} part(s) whose runs file is itself damaged"
            if unknown
            else ""
        )
        first = damaged[0]
        more = f"; and {len(damaged) - 1} more" if len(damaged) > 1 else ""
        return (
            f"left out {len(damaged)} damaged part(s) holding {runs}: "
            f"part {first.stem}: {first.problem}{more}; `sociosim batch` on this store moves them "
            f"to {DAMAGED_DIR}/ and re-runs their runs"
        )

    def _warn(self, message: str) -> None:
        """A StoreWarning as one line, `<store>:0: StoreWarning: <message>` (located at the store, not the code).

        Each message is shown once per process and store, as Python shows a warning once per place.
        """
        if (str(self.path), message) not in _SHOWN:
            _SHOWN.add((str(self.path), message))
            warnings.warn_explicit(message, StoreWarning, str(self.path), 0)

    def _committed_parts(self) -> set[str]:
        """Parts whose runs record exists and whose every file is whole: only these are ever read."""
        return {c.stem for c in self._intact()}

    # --- writing ------------------------------------------------------------------------
    def lock(self) -> contextlib.AbstractContextManager[None]:
        """Hold the store's exclusive lock (released by the OS if the process dies)."""
        return _locked(self.path)

    def cleanup(self) -> int:
        """Move damaged parts aside, remove leftovers of killed writers; return how many files moved or went.

        A damaged part's files go to `.damaged/<table>/` (kept, never deleted) with one warning
        per part naming it; its runs count as not stored, so the batch re-runs them. Data
        files no commit names (a killed writer's renamed files) and dead writers' temp files
        are removed. A file this user may not read stops the cleanup (StoreAccessError)
        before anything is moved.
        """
        removed = 0
        with self.lock():
            self.verify()
            checks = self.part_checks()
            for stem, check in checks.items():
                if check.ok:
                    continue
                for table in TABLES:
                    removed += self._move_aside(self.path / table / f"{stem}.parquet", table)
                self._warn(
                    f"moved damaged part {stem} to {DAMAGED_DIR}/ ({check.problem}); its "
                    f"{len(check.records) or 'unknown number of'} run(s) count as not stored and will be re-run"
                )
            intact = {stem: c for stem, c in checks.items() if c.ok}
            for table in DATA_TABLES:
                for stem, part in list_parts(self.path / table).items():
                    if stem not in intact:
                        part.unlink(missing_ok=True)  # a commit that never happened
                        removed += 1
                    elif table not in intact[stem].files:  # beside a commit that did not write it
                        removed += self._move_aside(part, table)
            for table in (*TABLES, "scenarios"):
                with contextlib.suppress(FileNotFoundError):
                    for entry in os.scandir(self.path / table):
                        match = TMP_RE.match(entry.name)
                        if match and not pid_alive(int(match["pid"])):
                            Path(entry.path).unlink(missing_ok=True)
                            removed += 1
        return removed

    def _move_aside(self, source: Path, table: str) -> int:
        if not source.exists():
            return 0
        target = self.path / DAMAGED_DIR / table
        target.mkdir(parents=True, exist_ok=True)
        os.replace(source, target / source.name)
        return 1

    def stored_records(self) -> list[tuple[str, str, str, str | None]]:
        """(run_key, status, plan_key, code) of every run record of an intact part, oldest part first.

        Stores written before runs recorded their code have no plan_key or code column:
        their run key is the plan key and their code is None. A run of a damaged part is
        not stored: the batch re-runs it.
        """
        return [record for check in self._intact() for record in check.records]

    def stored_status(self) -> dict[str, str]:
        """Each stored run_key mapped to 'ok' or 'failed' (ok wins over an older failure)."""
        status: dict[str, str] = {}
        for key, st, _, _ in self.stored_records():
            if status.get(key) != "ok":
                status[key] = st
        return status

    def commit(self, runs: pd.DataFrame, tables: dict[str, pd.DataFrame | None]) -> int:
        """Atomically add one part: data tables, then the runs record naming them; skip runs already stored ok.

        Returns the number of runs written (runs another writer stored meanwhile are dropped).
        Table folders missing from the store are made first.
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
            rows: dict[str, int] = {}
            schemas: dict[str, pa.Schema] = {}
            runs_tmp: Path | None = None
            try:
                for name in DATA_TABLES:
                    frame = tables.get(name)
                    if frame is None or frame.empty:
                        continue
                    frame = frame[frame["run_key"].isin(keys)]
                    final = self.path / name / f"{part}.parquet"
                    final.parent.mkdir(exist_ok=True)
                    table = arrow_table(frame)
                    temps.append((write_parquet_temp(table, final), final))
                    rows[name], schemas[name] = len(frame), table.schema
                runs_final = self.path / "runs" / f"{part}.parquet"
                runs_final.parent.mkdir(exist_ok=True)
                runs_table = arrow_table(runs)
                schemas["runs"] = runs_table.schema
                runs_tmp = write_parquet_temp(runs_table, runs_final, manifest_metadata(rows, schemas))
                for tmp, final in temps:
                    os.replace(tmp, final)
                for _, final in temps:
                    fsync_dir(final.parent)
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
                json.dumps(doc, indent=1).encode(),
                self.path / "scenarios" / f"{scenario_hash}.json",
                make_parents=True,
            )

    # --- reading ------------------------------------------------------------------------
    def _table_files(self, intact: list[PartCheck]) -> dict[str, list[PartCheck]]:
        return {t: [c for c in intact if t in c.files] for t in TABLES}

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A sandboxed in-memory DuckDB connection with read-only views measures, runs, events, agents.

        The intact parts are registered as Arrow datasets (DuckDB reads them through Arrow,
        not by path); then file access is switched off and the configuration locked, so SQL
        run on this connection cannot read, write or attach any file (the store's included).
        `runs_raw` holds every run record; `runs` one per run key (ok over failed, newest first).
        """
        intact = self._intact()
        con = duckdb.connect(":memory:")
        try:
            for table, parts in self._table_files(intact).items():
                name = "runs_raw" if table == "runs" else table
                con.register(name, _dataset(table, parts))
            con.execute(
                "CREATE VIEW runs AS SELECT * FROM runs_raw QUALIFY row_number() OVER "
                "(PARTITION BY run_key ORDER BY (status = 'ok') DESC, committed_at DESC) = 1"
                if any("runs" in c.files for c in intact)
                else "CREATE VIEW runs AS SELECT * FROM runs_raw"
            )
            for statement in SANDBOX:
                con.execute(statement)
        except BaseException:
            con.close()
            raise
        return con

    def sql_views(self) -> str:
        """Plain DuckDB statements making the views `connect` gives, over the intact parts' files.

        For the store's owner, to open the store in DuckDB itself (no sandbox: that is the
        owner's own session), e.g. `duckdb -c "$(sociosim query STORE --views) SELECT ..."`.
        """
        parts = self._table_files(self._intact())
        lines = []
        for table in TABLES:
            name = "runs_raw" if table == "runs" else table
            files = [str(c.files[table].resolve()) for c in parts[table]]
            if files:
                listing = ", ".join(_sql_text(f) for f in files)
                lines.append(
                    f"CREATE VIEW {name} AS SELECT * FROM read_parquet([{listing}], union_by_name = true);"
                )
            else:
                lines.append(
                    f"CREATE VIEW {name} AS SELECT NULL::VARCHAR AS run_key, NULL::VARCHAR AS status WHERE false;"
                )
        lines.append(
            "CREATE VIEW runs AS SELECT * FROM runs_raw QUALIFY row_number() OVER "
            "(PARTITION BY run_key ORDER BY (status = 'ok') DESC, committed_at DESC) = 1;"
            if parts["runs"]
            else "CREATE VIEW runs AS SELECT * FROM runs_raw;"
        )
        return "\n".join(lines)

    def query(self, sql: str, parameters: list[Any] | None = None) -> pd.DataFrame:
        """Run SQL over the views `measures`, `runs`, `runs_raw`, `events`, `agents`; return a DataFrame.

        The SQL runs sandboxed (see `connect`): it sees the store's tables and no file.
        Any DuckDB error, and empty SQL, is a one-line StoreError on field `sql`.
        """
        if not isinstance(sql, str) or not sql.strip().strip(";").strip():
            raise StoreError("sql", "is empty; give a query, e.g. SELECT count(*) FROM runs")
        try:
            return self._run(sql, parameters)
        except _ScanFailed as failed:
            if not self.verify():  # no part is corrupt: the failure is the query's own
                raise StoreError("sql", failed.message) from None
            return self._run(sql, parameters)  # again, without the corrupt parts (and a warning)

    def _run(self, sql: str, parameters: list[Any] | None) -> pd.DataFrame:
        con = self.connect()
        try:
            result = con.execute(sql, parameters)
            if result is None:  # only comments
                raise StoreError("sql", "holds no statement, only comments")
            if result.description is None:  # a statement without rows (SET, CREATE ...)
                return pd.DataFrame()
            return result.df()
        except duckdb.PermissionException as exc:
            raise StoreError(
                "sql", f"queries see only the store's tables, no file: {first_line(exc)}"
            ) from None
        except duckdb.Error as exc:
            if "registered as" in str(exc):  # reading a part failed: find and leave out the corrupt one
                raise _ScanFailed(first_line(exc)) from None
            raise StoreError("sql", first_line(exc)) from None
        finally:
            con.close()

    def _has_rows(self, table: str) -> bool:
        return any(table in c.files for c in self._intact())

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
            select = ", ".join('"' + c.replace('"', '""') + '"' for c in wanted)
        return self.query(
            f"SELECT {select} FROM measures ORDER BY scenario_hash, point, replicate, run_key, step"
        )

    def runs(self) -> pd.DataFrame:
        """One row per run: key, status, error, point, replicate, seed, parameters, duration, code.

        Parts never change once committed, so the table is read once per set of intact
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


class _ScanFailed(Exception):
    """DuckDB could not read a registered part (a corrupt page): `query` verifies the parts and retries."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _stat(path: Path) -> tuple[int, int] | None:
    """A file's (size, mtime_ns), None if absent: what a remembered verdict on it depends on."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    except PermissionError:
        raise StoreAccessError(path, "look up") from None
    return st.st_size, st.st_mtime_ns


def _dataset(table: str, parts: list[PartCheck]) -> ds.Dataset | pa.Table:
    """The intact parts of one table as one Arrow dataset, their schemas unified (missing columns read as null)."""
    if not parts:  # no rows, but the columns every table's readers order by
        return pa.table({name: pa.array([], EMPTY_TYPES.get(name, pa.string())) for name in EMPTY_COLUMNS})
    schema = pa.unify_schemas([p.schemas[table] for p in parts], promote_options="permissive")
    try:
        checked = ds.ParquetFileFormat(
            default_fragment_scan_options=ds.ParquetFragmentScanOptions(page_checksum_verification=True)
        )
        return ds.dataset([str(p.files[table]) for p in parts], schema=schema, format=checked)
    except PermissionError as exc:
        raise StoreAccessError(exc.filename or parts[0].files[table]) from None


__all__ = [
    "SCHEMA_VERSION",
    "ResultStore",
    "StoreAccessError",
    "StoreError",
    "StoreWarning",
    "create_store",
    "open_store",
]
