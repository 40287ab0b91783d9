"""Random damage to a results store never makes a run count as done without its rows, nor hides intact rows.

Hypothesis picks one to three accidents — delete a file, truncate it, retype one of its
columns, flip one bit of it, make it unreadable — on any file of any part (runs, measures, events, agents) of
a small store with one or two runs per part. Then, on a copy of the store:

- what is read (runs, measures, events, agents, the runs a batch counts as done) is
  exactly the rows of the parts no accident touched, and a warning says parts were left out;
- a file this user cannot read stops reading with a StoreAccessError naming it (when the
  check needs it), and a batch then moves nothing aside;
- a rerun of the batch re-runs exactly the runs of the damaged parts and gives back the
  clean store's rows, bit for bit, each run once.

Tests run as root, where chmod 000 does not stop a read: an unreadable file is simulated by
making Python's `open` raise PermissionError for it (the store opens every part file through
`open` before DuckDB reads it). tests/reliability/test_store.py also tries a real chmod 000
as another user.
"""

from __future__ import annotations

import builtins
import contextlib
import re
import shutil
import tempfile
import warnings
from pathlib import Path
from unittest import mock

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from sociosim.batch.execute import run_batch
from sociosim.batch.parts import TABLES, StoreAccessError
from sociosim.batch.store import DAMAGED_DIR, StoreWarning, open_store

OVERRIDES = {
    "n_users": 30,
    "n_annotators": 4,
    "n_responses": 32,
    "n_regulators": 1,  # a regulator that intervenes every step, so every part has events
    "audit_every": 1,
    "audit_gap_threshold": 0.0,
    "audit_overtrust_threshold": 0.0,
}
BATCH = dict(
    design={"method": "grid", "parameters": {"beta": [0.5, 2.0]}},
    replications=3,
    steps=3,
    overrides=OVERRIDES,
    agent_snapshot_every=1,
    progress=False,
)
KINDS = ("delete", "truncate", "retype", "flip", "unreadable")
VOLATILE = ["committed_at", "duration_s", "cpu_s"]  # a re-run's record differs in these, not its rows


def canon(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame in a fixed row and column order (ties in the stores' ORDER BY may come out either way)."""
    if frame.empty:
        return frame
    frame = frame[sorted(c for c in frame.columns if c not in VOLATILE)]
    return frame.sort_values(list(frame.columns), ignore_index=True)


def tables_of(store: Path) -> dict[str, pd.DataFrame]:
    s = open_store(store)
    return {"runs": s.runs(), "measures": s.measures(), "events": s.events(), "agents": s.agents()}


def make_store(path: Path, *, legacy: bool) -> Path:
    run_batch(None, **BATCH, store=path, chunk_size=1, _flush_seconds=0.0)
    if legacy:  # as committed before manifests: the runs files carry no record of the data files
        for runs_file in (path / "runs").glob("*.parquet"):
            pq.write_table(pq.read_table(runs_file).replace_schema_metadata(None), runs_file)
    return path


@pytest.fixture(scope="module", params=[False, True], ids=["manifest", "legacy"])
def base(request, tmp_path_factory):
    """A clean store, its tables, and the run keys of each part."""
    store = make_store(tmp_path_factory.mktemp("base") / "store", legacy=request.param)
    parts = sorted(p.stem for p in (store / "runs").glob("*.parquet"))
    keys = {stem: set(pd.read_parquet(store / "runs" / f"{stem}.parquet")["run_key"]) for stem in parts}
    assert len(parts) >= 3 and all(keys.values())
    return {"store": store, "legacy": request.param, "parts": parts, "keys": keys, "clean": tables_of(store)}


def retype(path: Path, pick: int) -> str:
    """Rewrite one column of a Parquet file with another type (text as integers, anything else as text).

    All-null columns are passed over: retyping one changes no value.
    """
    table = pq.read_table(path)
    typed = [i for i, f in enumerate(table.schema) if not pa.types.is_null(f.type)]
    index = typed[pick % len(typed)]
    column = table.column(index)
    if pa.types.is_string(column.type):
        new = pa.array(range(len(column)), pa.int64())
    else:
        new = pc.cast(column, pa.string())
    name = table.schema.field(index).name
    pq.write_table(table.set_column(index, pa.field(name, new.type), new), path)
    return name


def apply(store: Path, damages: list[tuple[str, str, int, int, float]], parts: list[str], original: Path):
    """Do the accidents; return the damaged parts, the unreadable files, and the parts only flipped."""
    damaged: set[str] = set()
    blocked: set[Path] = set()
    other: set[str] = set()  # damaged by something other than a flipped bit
    retyped: set[Path] = set()  # a file is retyped once (twice could give back the types, other values)
    for kind, table, part_at, pick, keep in damages:
        stem = parts[part_at % len(parts)]
        path = store / table / f"{stem}.parquet"
        if not path.exists():
            continue
        if kind == "unreadable":
            blocked.add(path)
            continue
        if path in blocked:
            continue  # this user cannot read it, so cannot damage it either
        if kind == "delete":
            path.unlink()
        elif kind == "flip":
            flip_bit(path, pick)
        elif kind == "truncate":
            data = path.read_bytes()
            path.write_bytes(data[: int(len(data) * keep)])
        elif path not in retyped:
            retyped.add(path)
            with contextlib.suppress(OSError, pa.ArrowException):  # already truncated: damaged anyway
                retype(path, pick)
        damaged.add(stem)
        if kind != "flip":
            other.add(stem)
    for stem in damaged - other:  # only flipped: damage unless every file reads as it did
        if all(
            reads_as_before(store / t / f"{stem}.parquet", original / t / f"{stem}.parquet")
            for t in TABLES
            if (original / t / f"{stem}.parquet").exists()
        ):
            damaged.discard(stem)
    return damaged, blocked, damaged - other


def flip_bit(path: Path, pick: int) -> None:
    """Flip one bit in the data pages (not the footer) of a Parquet file."""
    data = bytearray(path.read_bytes())
    footer = int.from_bytes(data[-8:-4], "little") + 8 if len(data) >= 12 else len(data)
    if len(data) - footer <= 4:
        return
    at = 4 + pick % (len(data) - footer - 4)
    data[at] ^= 1 << (pick % 8)
    path.write_bytes(bytes(data))


def reads_as_before(path: Path, original: Path) -> bool:
    """Whether a file still decodes, page checksums passing, to the table it held (a harmless flip)."""
    try:
        with open(path, "rb") as fh:
            after = pq.ParquetFile(fh, page_checksum_verification=True).read()
    except (OSError, pa.ArrowException):
        return False
    return after.equals(pq.read_table(original))


@contextlib.contextmanager
def unreadable(paths: set[Path]):
    """Python's open raises PermissionError for these files, as chmod 000 would for another user."""
    real_open = builtins.open
    blocked = {str(p) for p in paths}

    def guarded(file, *args, **kwargs):
        if str(file) in blocked:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    with mock.patch("builtins.open", guarded):
        yield


def snapshot(store: Path) -> list[str]:
    return sorted(str(p.relative_to(store)) for p in store.rglob("*") if p.is_file() and p.name != ".lock")


def check_reads(store: Path, base: dict, damaged: set[str], flipped: set[str], announced: list[str]) -> None:
    """What is read is exactly the rows of the undamaged parts, and damage is announced.

    `flipped` are the damaged parts whose only accident is a flipped bit: readers find it
    when they read the page, so tables read before may still hold the part's intact rows.
    """
    expected = set().union(*(base["keys"][s] for s in base["parts"] if s not in damaged))
    late = set().union(*(base["keys"][s] for s in flipped)) if flipped else set()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = tables_of(store)
        counting = open_store(store)
        counting.verify()  # as a batch does before it counts what is stored
        status = counting.stored_status()
    counted = {k for k, s in status.items() if s == "ok"}
    assert counted <= expected, "a run counted done without its rows"
    assert counted >= expected, "an intact run was hidden"
    for table, frame in got.items():
        clean = base["clean"][table]
        if frame.empty:
            assert clean.empty or not clean["run_key"].isin(expected).any(), f"{table}: intact rows hidden"
            continue
        # a flipped bit is found when its page is read (checksums): a table read before that
        # may still hold that part's intact rows, never a changed one
        keys = set(frame["run_key"])
        assert keys <= expected | late, f"{table}: rows of a damaged part were read"
        want = clean[clean["run_key"].isin(keys | expected)]
        pd.testing.assert_frame_equal(canon(frame), canon(want), check_exact=True, check_dtype=False)
    left_out = [str(w.message) for w in caught if issubclass(w.category, StoreWarning)]
    recorded = {s for s in damaged - flipped if (store / "runs" / f"{s}.parquet").exists()}  # still committed
    announced.extend(left_out)  # a process shows each store's warning once: an earlier read may have
    left_out = announced
    if recorded:
        said = re.search(r"left out (\d+) damaged part", left_out[-1]) if left_out else None
        assert said, "damaged parts were left out silently"
        assert len(recorded) <= int(said[1]) <= len(damaged)


def check_rerun_heals(store: Path, base: dict, damaged: set[str]) -> None:
    lost = set().union(*(base["keys"][s] for s in damaged)) if damaged else set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StoreWarning)
        result = run_batch(None, **BATCH, store=store)
    total = sum(len(k) for k in base["keys"].values())
    assert (result.n_done, result.n_skipped, result.n_failed) == (len(lost), total - len(lost), 0)
    healed = open_store(store)
    assert healed.damage() == {}
    raw = healed.query("SELECT run_key, count(*) AS n FROM runs_raw GROUP BY run_key")
    assert raw["n"].max() == 1 and len(raw) == total, "a run was stored twice"
    for table, frame in tables_of(store).items():
        pd.testing.assert_frame_equal(canon(frame), canon(base["clean"][table]), check_exact=True)


damage = st.tuples(
    st.sampled_from(KINDS),
    st.sampled_from(TABLES),
    st.integers(0, 50),  # which part
    st.integers(0, 10_000),  # which column to retype
    st.floats(0.0, 0.99),  # how much of a truncated file is kept
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: a failure is shown as drawn
)
@given(damages=st.lists(damage, min_size=1, max_size=3))
def test_random_damage_never_counts_a_run_without_its_rows_nor_hides_intact_rows(base, damages):
    if base["legacy"]:
        # Before manifests a part had no record of its data files or their types: a deleted
        # events or agents file cannot be told from a run without events, and several parts
        # retyped alike can outvote the intact ones; nor had its pages checksums, so a flipped
        # bit that still decodes goes unseen. One other accident to runs or measures is the case.
        damages = [
            ("truncate" if k == "flip" else k, t if t in ("runs", "measures") else "measures", *rest)
            for k, t, *rest in damages[:1]
        ]
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        shutil.copytree(base["store"], store)
        damaged, blocked, flipped = apply(store, damages, base["parts"], base["store"])
        announced: list[str] = []  # the StoreWarnings shown so far
        if blocked:
            before = snapshot(store)
            with unreadable(blocked):
                try:
                    open_store(store).part_checks()
                    raised = None
                except StoreAccessError as exc:
                    raised = exc
                if any(p.parent.name == "runs" for p in blocked):
                    assert raised is not None, "an unreadable runs file was not reported"
                if raised is not None:
                    assert Path(raised.filename) in blocked and str(raised.filename) in str(raised)
                    with pytest.raises(StoreAccessError):
                        run_batch(None, **BATCH, store=store)
                    assert snapshot(store) == before, "a batch moved or removed files it could not read"
                else:  # the unreadable file was not needed (its part is already damaged)
                    check_reads(store, base, damaged, flipped, announced)
        check_reads(store, base, damaged, flipped, announced)
        check_rerun_heals(store, base, damaged)
        moved = {p.stem for p in (store / DAMAGED_DIR).rglob("*.parquet")}
        assert moved <= damaged, "an intact part was moved aside"
