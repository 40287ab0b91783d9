"""The commit protocol's checks: which parts of a results store are whole, and why the others are not.

A part is the files named `<part>.parquet` under runs/, measures/, events/ and agents/.
Its runs file is the commit record: written last, it carries in its Parquet metadata a
manifest (`sociosim.part`) of the data files the commit wrote and their row counts. A
part counts (its runs are done, its rows are read) only when

- its runs file and every file the manifest names exist and parse (a truncated or
  interrupted copy fails: its footer is missing or the file is absent);
- each file has the row count the manifest records (a file swapped in from elsewhere fails);
- each file's Arrow schema gives the columns the store knows their types (a text `status`,
  `point` or `gap` fails: read, it would make runs count twice or `avg(gap)` fail for the
  whole store), and every status is 'ok' or 'failed'.

Parts committed before the manifest existed must hold a measures file when a run is ok.
Pages carry checksums; `verify_file` reads a whole file to find a flipped bit (a batch
verifies every part before it counts what is stored; a reader, when a read fails).
A file the user may not read is not damage: the check raises `StoreAccessError` naming
it (an environment error), so nothing is moved aside or re-run because of it.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sociosim.errors import first_line

DATA_TABLES = ("measures", "events", "agents")
TABLES = ("runs", *DATA_TABLES)
MANIFEST_KEY = b"sociosim.part"
STATUSES = frozenset({"ok", "failed"})


class StoreAccessError(PermissionError):
    """A store file or folder this user may not read or list: an environment error (exit 1), never damage."""

    def __init__(self, path: Path | str, action: str = "read"):
        super().__init__(13, f"permission denied: cannot {action} {path}", str(path))

    def __str__(self) -> str:
        return str(self.strerror)


# --- what each column must be ----------------------------------------------------------------

Check = Callable[[pa.DataType], bool]


def _text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _integer(t: pa.DataType) -> bool:
    return pa.types.is_integer(t)


def _number(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t)


def _maybe(check: Check) -> Check:
    return lambda t: pa.types.is_null(t) or check(t)


KINDS: dict[Check, str] = {}


def _kind(check: Check, words: str) -> Check:
    KINDS[check] = words
    return check


TEXT = _kind(_text, "text")
INTEGER = _kind(_integer, "an integer")
NUMBER = _kind(_number, "a number")
BOOL = _kind(_maybe(pa.types.is_boolean), "true/false")
MAYBE_TEXT = _kind(_maybe(_text), "text")
TIMESTAMP = _kind(pa.types.is_timestamp, "a timestamp")
PLAIN = _kind(
    lambda t: pa.types.is_null(t) or pa.types.is_boolean(t) or _number(t) or _text(t),
    "a number, true/false or text",
)

ID_TYPES: dict[str, Check] = {
    "run_key": TEXT,
    "scenario": TEXT,
    "scenario_hash": TEXT,
    "code": TEXT,
    "point": INTEGER,
    "replicate": INTEGER,
    "seed_entropy": TEXT,
    "seed_spawn_key": TEXT,
}
TABLE_TYPES: dict[str, dict[str, Check]] = {
    "runs": {
        **ID_TYPES,
        "plan_key": TEXT,
        "status": TEXT,
        "error": MAYBE_TEXT,
        "params_json": TEXT,
        "steps": INTEGER,
        "agent_snapshot_every": INTEGER,
        "duration_s": NUMBER,
        "cpu_s": NUMBER,
        "sociosim_version": TEXT,
        "git_commit": MAYBE_TEXT,
        "git_dirty": BOOL,
        "committed_at": TIMESTAMP,
    },
    "measures": {**ID_TYPES, "step": INTEGER},
    "events": {**ID_TYPES, "step": INTEGER},
    "agents": {**ID_TYPES, "step": INTEGER},
}
REQUIRED = {"runs": ("run_key", "status"), "measures": ("run_key", "step")}


def schema_problem(table: str, schema: pa.Schema) -> str | None:
    """Why a part file's schema is not one this store writes (None if it is).

    Known columns must have their type; a measure (a measures column after `step`) must be
    a number; any other column (design parameters) a plain number, true/false or text.
    """
    for name in REQUIRED.get(table, ("run_key",)):
        if name not in schema.names:
            return f"{table} file has no {name} column"
    known = TABLE_TYPES[table]
    after_step = False
    for f in schema:
        check = known.get(f.name)
        if check is None:
            check = NUMBER if table == "measures" and after_step else PLAIN
        if not check(f.type):
            return f"{table} column {f.name} is {f.type}, not {KINDS[check]}"
        after_step = after_step or f.name == "step"
    return None


# --- reading a part's files ------------------------------------------------------------------


def list_parts(directory: Path) -> dict[str, Path]:
    """The `<part>.parquet` files of one table folder by part name; a missing folder holds none.

    A folder this user may not list raises StoreAccessError: silently seeing no parts would
    re-run (and store twice) what another user's batch stored.
    """
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return {}
    except PermissionError:
        raise StoreAccessError(directory, "list") from None
    return {
        e.name[: -len(".parquet")]: Path(e.path)
        for e in entries
        if e.name.endswith(".parquet") and not e.name.startswith(".")
    }


def read_footer(path: Path) -> tuple[pq.FileMetaData, pa.Schema] | None:
    """A Parquet file's footer and Arrow schema, or None if the file is gone, truncated or not Parquet.

    The file is opened by Python so that a permission error is told apart from damage.
    """
    try:
        with open(path, "rb") as fh:
            parquet = pq.ParquetFile(fh)
            return parquet.metadata, parquet.schema_arrow
    except PermissionError:
        raise StoreAccessError(path) from None
    except FileNotFoundError:
        return None
    except (OSError, ValueError, pa.ArrowException):
        return None


def read_columns(path: Path, columns: list[str]) -> pa.Table:
    """Some columns of a part file (opened by Python, so a permission error names the file)."""
    try:
        with open(path, "rb") as fh:
            return pq.read_table(fh, columns=columns)
    except PermissionError:
        raise StoreAccessError(path) from None


@dataclass(frozen=True)
class Manifest:
    """What a commit wrote: each data table's row count, and each file's columns and types."""

    rows: dict[str, int]
    schemas: dict[str, list[tuple[str, str]]]


def columns_of(schema: pa.Schema) -> list[tuple[str, str]]:
    """A schema as (column, type) pairs, as the manifest records it."""
    return [(f.name, str(f.type)) for f in schema]


def verify_file(path: Path, table: str) -> str | None:
    """Why a part file's pages do not decode (None if every page decodes and matches its checksum).

    Reads the whole file: parts written with page checksums catch a flipped bit; older
    parts catch what breaks decoding (a flipped bit in a float page can pass unseen).
    """
    try:
        with open(path, "rb") as fh:
            parquet = pq.ParquetFile(fh, page_checksum_verification=True)
            for group in range(parquet.metadata.num_row_groups):
                parquet.read_row_group(group)
    except PermissionError:
        raise StoreAccessError(path) from None
    except (OSError, ValueError, pa.ArrowException) as exc:
        return f"its {table} file does not decode ({first_line(exc)})"
    return None


def manifest(metadata: pq.FileMetaData) -> Manifest | None:
    """The manifest in a runs file's metadata (None for parts committed before manifests)."""
    raw = (metadata.metadata or {}).get(MANIFEST_KEY)
    if raw is None:
        return None
    try:
        doc = json.loads(raw)
        rows = {str(k): int(v) for k, v in doc["rows"].items() if k in DATA_TABLES}
        schemas = {str(t): [(str(n), str(ty)) for n, ty in cols] for t, cols in doc["schemas"].items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        return Manifest({}, {"runs": [("a readable manifest", "")]})  # fails every schema comparison
    return Manifest(rows, schemas)


def manifest_metadata(rows: dict[str, int], schemas: dict[str, pa.Schema]) -> dict[bytes, bytes]:
    """The Parquet key-value metadata recording a commit's data files, row counts and schemas."""
    doc = {"version": 1, "rows": rows, "schemas": {t: columns_of(s) for t, s in schemas.items()}}
    return {MANIFEST_KEY: json.dumps(doc, sort_keys=True).encode()}


def _against_manifest(table: str, schema: pa.Schema, written: Manifest) -> str | None:
    """Why a file's columns differ from those its commit wrote (None if they are the same)."""
    expected = written.schemas.get(table)
    if expected is None:
        return f"its commit record has no schema for the {table} file"
    actual = columns_of(schema)
    if actual == expected:
        return None
    wrote = dict(expected)
    for name, type_text in actual:
        if name not in wrote:
            return f"{table} column {name} is not one its commit wrote"
        if wrote[name] != type_text:
            return f"{table} column {name} is {type_text}, its commit wrote {wrote[name]}"
    return f"{table} file lacks columns its commit wrote"


Record = tuple[str, str, str, str | None]  # run_key, status, plan_key, code


@dataclass
class PartCheck:
    """The verdict on one part: `problem` is None when it counts; what was read along the way."""

    stem: str
    problem: str | None = None
    files: dict[str, Path] = field(default_factory=dict)  # the files to read, by table
    schemas: dict[str, pa.Schema] = field(default_factory=dict)
    records: list[Record] = field(default_factory=list)  # its runs (read even when damaged, if possible)
    legacy: bool = False  # committed before manifests: column types judged against other parts

    @property
    def ok(self) -> bool:
        return self.problem is None


def _records(path: Path, schema: pa.Schema) -> list[Record]:
    names = set(schema.names)
    wanted = ["run_key", "status", *(c for c in ("plan_key", "code") if c in names)]
    table = read_columns(path, wanted)
    keys = table["run_key"].to_pylist()
    plans = table["plan_key"].to_pylist() if "plan_key" in names else keys
    codes = table["code"].to_pylist() if "code" in names else [None] * len(keys)
    return list(zip(keys, table["status"].to_pylist(), plans, codes, strict=True))


def check_part(root: Path, stem: str, runs_file: Path) -> PartCheck:
    """Check one committed part's files against its manifest (row counts, schemas) and the expected types."""
    part = PartCheck(stem)
    footer = read_footer(runs_file)
    if footer is None:
        part.problem = "its runs file is truncated or not Parquet"
        return part
    meta, schema = footer
    written = manifest(meta)
    part.legacy = written is None
    part.problem = schema_problem("runs", schema) or (
        _against_manifest("runs", schema, written) if written is not None else None
    )
    if part.problem is not None:
        return part
    try:
        part.records = _records(runs_file, schema)
    except StoreAccessError:
        raise
    except (OSError, ValueError, pa.ArrowException) as exc:
        part.problem = f"its runs file does not decode ({first_line(exc)})"
        return part
    bad = {s for _, s, _, _ in part.records} - STATUSES
    if bad or any(k is None for k, _, _, _ in part.records):
        part.problem = f"runs file holds a status {sorted(map(str, bad))[0]!r}" if bad else "a run has no key"
        return part
    part.files["runs"], part.schemas["runs"] = runs_file, schema
    if written is None:  # committed before manifests: every data file present is part of it
        rows = {t: -1 for t in DATA_TABLES if (root / t / f"{stem}.parquet").exists()}
        if "measures" not in rows and any(s == "ok" for _, s, _, _ in part.records):
            part.problem = "its measures file is missing"
            return part
    else:
        rows = written.rows
    for table, n_rows in rows.items():
        path = root / table / f"{stem}.parquet"
        data = read_footer(path)
        if data is None:
            state = "missing" if not path.exists() else "truncated or not Parquet"
            part.problem = f"its {table} file is {state}"
            return part
        data_meta, data_schema = data
        if n_rows >= 0 and data_meta.num_rows != n_rows:
            part.problem = f"its {table} file has {data_meta.num_rows} rows, its commit wrote {n_rows}"
            return part
        part.problem = schema_problem(table, data_schema) or (
            _against_manifest(table, data_schema, written) if written is not None else None
        )
        if part.problem is not None:
            return part
        part.problem = _keys_problem(table, path, part.records)
        if part.problem is not None:
            return part
        part.files[table], part.schemas[table] = path, data_schema
    part.problem = _within_part(part)
    return part


def _keys_problem(table: str, path: Path, records: list[Record]) -> str | None:
    """Why a data file's runs are not its part's (None if they are): measures must hold every ok run.

    A file copied in from another part, with the same row count and schema, holds other runs.
    """
    try:
        keys = set(pc.unique(read_columns(path, ["run_key"])["run_key"]).to_pylist())
    except StoreAccessError:
        raise
    except (OSError, ValueError, pa.ArrowException) as exc:
        return f"its {table} file does not decode ({first_line(exc)})"
    ok = {k for k, s, _, _ in records if s == "ok"}
    if not keys <= {k for k, _, _, _ in records}:
        return f"its {table} file holds runs its runs file does not record"
    if table == "measures" and keys != ok:
        return f"its measures file lacks {len(ok - keys)} of its {len(ok)} ok run(s)"
    return None


def _within_part(part: PartCheck) -> str | None:
    """Why a column shared by a part's files has types that cannot be read together (None if none)."""
    seen: dict[str, tuple[str, pa.DataType]] = {}
    for table, schema in part.schemas.items():
        for f in schema:
            if f.name in seen and not _unifies(seen[f.name][1], f.type):
                other, t = seen[f.name]
                return f"column {f.name} is {f.type} in its {table} file but {t} in its {other} file"
            seen.setdefault(f.name, (table, f.type))
    return None


def conflicting_types(parts: list[PartCheck]) -> dict[str, str]:
    """Parts committed before manifests whose column type cannot be read with the type most parts have.

    Such parts have no record of the schema they were written with, and design columns have
    no fixed type (a parameter may be a number or text), so a column is judged across parts:
    the type most parts have wins (ties: the oldest part's), and a pre-manifest part whose
    type cannot be read together with it is named with the reason. Parts with a manifest
    are judged by it alone.
    """
    problems: dict[str, str] = {}
    for table in TABLES:
        holders = [p for p in sorted(parts, key=lambda p: p.stem) if table in p.schemas]
        columns: dict[str, list[tuple[PartCheck, pa.DataType]]] = {}
        for p in holders:
            for f in p.schemas[table]:
                if not pa.types.is_null(f.type):
                    columns.setdefault(f.name, []).append((p, f.type))
        for name, typed in columns.items():
            counts = Counter(str(t) for _, t in typed)
            if len(counts) == 1:
                continue
            order = {str(t): i for i, (_, t) in reversed(list(enumerate(typed)))}
            winner_text = max(counts, key=lambda t: (counts[t], -order[t]))
            winner = next(t for _, t in typed if str(t) == winner_text)
            for p, t in typed:
                if not p.legacy or p.stem in problems or _unifies(winner, t):
                    continue
                problems[p.stem] = f"{table} column {name} is {t} where other parts have {winner}"
    return problems


def _unifies(a: pa.DataType, b: pa.DataType) -> bool:
    try:
        pa.unify_schemas([pa.schema([("c", a)]), pa.schema([("c", b)])], promote_options="permissive")
    except (pa.ArrowException, TypeError, ValueError):
        return False
    return True


__all__ = [
    "DATA_TABLES",
    "TABLES",
    "Manifest",
    "PartCheck",
    "StoreAccessError",
    "check_part",
    "conflicting_types",
    "list_parts",
    "manifest_metadata",
    "schema_problem",
    "verify_file",
]
