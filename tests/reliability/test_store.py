"""Store safety beyond tests/batch/test_resume.py: repeated SIGKILLs, a store that could lie, sandboxed queries.

A store that could lie: a part with a missing, truncated, retyped or foreign file never
counts its runs and is announced; an unreadable file is an access error, never damage; a
store missing its empty folders still commits. Queries: no SQL can touch a file. Random
damage is tried by tests/reliability/test_store_damage.py; docs/reliability.md lists both.

(One SIGKILL and resume, two writers at once, and the schema version are tested in
test_batch_resume.py and test_store_basics.py.)
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from sociosim.batch.execute import run_batch
from sociosim.batch.store import (
    DAMAGED_DIR,
    MARKER,
    StoreAccessError,
    StoreError,
    StoreWarning,
    open_store,
)

ROOT = Path(__file__).resolve().parents[2]
SMALL = {"n_users": 50, "n_annotators": 6, "n_responses": 64}
DESIGN = {"method": "grid", "parameters": {"beta": [0.5, 1.0, 2.0, 4.0]}}
REPLICATIONS = 12  # 48 runs
STEPS = 10
TOTAL = len(DESIGN["parameters"]["beta"]) * REPLICATIONS


def batch_kwargs(store: Path) -> dict:
    return dict(
        design=DESIGN, replications=REPLICATIONS, steps=STEPS, overrides=SMALL, store=store, progress=False
    )


def batch_script(store: Path) -> str:
    return textwrap.dedent(
        f"""
        from sociosim.batch.execute import run_batch
        run_batch(None, design={DESIGN!r}, replications={REPLICATIONS}, steps={STEPS}, overrides={SMALL!r},
                  store={str(store)!r}, progress=False, _flush_seconds=0.0)
        """
    )


def stored_runs(store: Path) -> int:
    if not (store / MARKER).exists():
        return 0
    return len(open_store(store).runs())


def assert_every_run_once(store: Path) -> pd.DataFrame:
    results = open_store(store)
    runs = results.runs()
    assert len(runs) == TOTAL and runs["run_key"].is_unique
    assert set(runs["status"]) == {"ok"}, runs["error"].dropna().unique()
    raw = results.query("SELECT run_key, count(*) AS n FROM runs_raw GROUP BY run_key")
    assert raw["n"].max() == 1, "a run was committed twice"
    measures = results.measures()
    assert measures.groupby("run_key").size().eq(STEPS).all() and measures["run_key"].nunique() == TOTAL
    return measures


@pytest.fixture(scope="module")
def clean_measures(tmp_path_factory) -> pd.DataFrame:
    """The rows of an uninterrupted batch, to compare resumed stores with."""
    store = tmp_path_factory.mktemp("clean")
    run_batch(None, **batch_kwargs(store))
    return open_store(store).measures()


@pytest.mark.slow
def test_three_sigkills_at_random_moments_then_resume(tmp_path, clean_measures):
    store = tmp_path / "killed"
    rng = random.Random(8)
    landed = []
    for _ in range(3):
        before = stored_runs(store)
        proc = subprocess.Popen(
            [sys.executable, "-c", batch_script(store)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        # wait until this batch is committing (a run more than before), then kill it after a random delay
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            runs_dir = store / "runs"
            if (
                runs_dir.is_dir()
                and len(list(runs_dir.glob("*.parquet"))) > 0
                and stored_runs(store) > before
            ):
                break
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.4))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        landed.append((proc.returncode, stored_runs(store)))
        # after every kill the store is readable and holds only whole runs
        runs = open_store(store).runs()
        assert set(runs["status"]) <= {"ok"} and runs["run_key"].is_unique
    print("kills (return code, runs stored):", landed)
    assert landed[0][0] == -signal.SIGKILL and landed[0][1] < TOTAL, "the first kill landed after the batch"
    assert sum(code == -signal.SIGKILL for code, _ in landed) >= 2

    result = run_batch(None, **batch_kwargs(store))
    assert result.n_failed == 0 and result.n_done + result.n_skipped == TOTAL
    resumed = assert_every_run_once(store)
    pd.testing.assert_frame_equal(resumed, clean_measures, check_exact=True)


@pytest.fixture
def small_store(tmp_path) -> Path:
    store = tmp_path / "store"
    run_batch(
        None,
        design={"method": "grid", "parameters": {"beta": [0.5, 2.0]}},
        replications=2,
        steps=3,
        overrides=SMALL,
        store=store,
        progress=False,
        chunk_size=1,
        _flush_seconds=0.0,  # one part per run, so damage touches one run
    )
    return store


def truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def rerun_small(store: Path):
    return run_batch(
        None,
        design={"method": "grid", "parameters": {"beta": [0.5, 2.0]}},
        replications=2,
        steps=3,
        overrides=SMALL,
        store=store,
        progress=False,
    )


@pytest.mark.parametrize("table", ["runs", "measures"])
def test_a_truncated_part_is_never_read_and_its_runs_are_redone(small_store, table):
    whole = open_store(small_store)
    before_runs, before_measures = whole.runs(), whole.measures()
    assert len(before_runs) == 4
    victim = sorted((small_store / table).glob("*.parquet"))[0]
    lost_key = pd.read_parquet(small_store / "runs" / victim.name)["run_key"].tolist()
    truncate(victim)

    damaged = open_store(small_store)
    assert damaged.damaged_parts() == {victim.stem}
    runs = damaged.runs()
    assert set(runs["run_key"]) == set(before_runs["run_key"]) - set(lost_key)
    measures = damaged.measures()
    assert not measures["run_key"].isin(lost_key).any()
    assert damaged.query("SELECT count(*) AS n FROM measures")["n"][0] == len(measures)

    with pytest.warns(UserWarning, match="damaged part"):
        again = rerun_small(small_store)
    assert (again.n_done, again.n_skipped, again.n_failed) == (len(lost_key), 4 - len(lost_key), 0)
    assert (small_store / DAMAGED_DIR / table / victim.name).exists()  # kept aside, not deleted
    healed = open_store(small_store)
    assert healed.damaged_parts() == set()
    pd.testing.assert_frame_equal(healed.measures(), before_measures, check_exact=True)


def test_garbage_named_like_a_part_and_stray_temp_files_are_never_read(small_store):
    before = open_store(small_store).measures()
    (small_store / "runs" / "00000000000000000001-1-feedbeef.parquet").write_bytes(b"PAR1\x00garbage")
    (small_store / "measures" / "00000000000000000001-1-feedbeef.parquet").write_bytes(b"PAR1")
    # a temp file of a live writer (this process) is left alone and not read either
    live = small_store / "measures" / f".x.parquet.tmp-{os.getpid()}-0123abcd"
    live.write_bytes(b"PAR1 half")
    shutil.copy(
        next((small_store / "measures").glob("*.parquet")), small_store / "measures" / "copy.parquet.part"
    )
    store = open_store(small_store)
    pd.testing.assert_frame_equal(store.measures(), before, check_exact=True)
    assert len(store.runs()) == 4
    with pytest.warns(UserWarning, match="damaged part"):
        assert store.cleanup() >= 2
    assert live.exists()
    pd.testing.assert_frame_equal(open_store(small_store).measures(), before, check_exact=True)


# --- a store that lies: every part's files and schema are checked -------------------------------


def part_keys(store: Path, stem: str) -> set[str]:
    return set(pd.read_parquet(store / "runs" / f"{stem}.parquet")["run_key"])


def strip_manifests(store: Path) -> None:
    """Make the store's parts look committed before runs files recorded their data files."""
    for runs_file in (store / "runs").glob("*.parquet"):
        pq.write_table(pq.read_table(runs_file).replace_schema_metadata(None), runs_file)


@pytest.mark.parametrize("legacy", [False, True], ids=["manifest", "legacy"])
def test_a_part_whose_measures_file_is_missing_never_counts_its_runs(small_store, legacy):
    if legacy:
        strip_manifests(small_store)
    before = open_store(small_store).measures()
    victim = sorted((small_store / "measures").glob("*.parquet"))[0]
    lost = part_keys(small_store, victim.stem)
    victim.unlink()  # an interrupted copy

    with pytest.warns(
        StoreWarning,
        match=rf"left out 1 damaged part\(s\) holding {len(lost)} run\(s\).*measures file is missing",
    ):
        runs = open_store(small_store).runs()
    assert not runs["run_key"].isin(lost).any()
    again = rerun_small_warned(small_store)
    assert (again.n_done, again.n_skipped) == (len(lost), 4 - len(lost))
    pd.testing.assert_frame_equal(open_store(small_store).measures(), before, check_exact=True)


def rerun_small_warned(store: Path):
    with pytest.warns(StoreWarning, match="moved damaged part"):
        return rerun_small(store)


@pytest.mark.parametrize("table", ["events", "agents"])
def test_a_part_missing_its_events_or_agents_file_is_damaged(tmp_path, table):
    store = tmp_path / "s"
    kwargs = dict(
        design={"method": "grid", "parameters": {"beta": [0.5, 2.0]}},
        replications=1,
        steps=3,
        overrides={**SMALL, "n_regulators": 1, "audit_every": 1, "audit_gap_threshold": 0.0},
        agent_snapshot_every=1,
        store=store,
        progress=False,
        chunk_size=1,
        _flush_seconds=0.0,
    )
    run_batch(None, **kwargs)
    clean = open_store(store).events() if table == "events" else open_store(store).agents()
    victim = sorted((store / table).glob("*.parquet"))[0]
    victim.unlink()
    assert open_store(store).damage() == {victim.stem: f"its {table} file is missing"}
    with pytest.warns(StoreWarning, match="moved damaged part"):
        again = run_batch(None, **kwargs)
    assert again.n_done == len(part_keys(store / DAMAGED_DIR, victim.stem))
    healed = open_store(store).events() if table == "events" else open_store(store).agents()
    key = [c for c in clean.columns if c not in ("lever", "reason")]
    pd.testing.assert_frame_equal(
        healed.sort_values(key, ignore_index=True),
        clean.sort_values(key, ignore_index=True),
        check_exact=True,
    )


def rewrite_column(path: Path, name: str, values: pa.Array, *, keep_metadata: bool = True) -> None:
    table = pq.read_table(path)
    at = table.schema.get_field_index(name)
    table = table.set_column(at, pa.field(name, values.type), values)
    pq.write_table(table if keep_metadata else table.replace_schema_metadata(None), path)


@pytest.mark.parametrize("legacy", [False, True], ids=["manifest", "legacy"])
@pytest.mark.parametrize(
    ("table", "column", "make"),
    [
        ("measures", "gap", lambda col: pc.cast(col, pa.string())),  # avg(gap) would fail store-wide
        ("runs", "status", lambda col: pa.array(range(len(col)), pa.int64())),  # runs would count twice
        ("runs", "status", lambda col: pc.cast(pc.binary_join_element_wise(col, "?", ""), pa.string())),
        ("runs", "point", lambda col: pc.cast(col, pa.string())),
        ("measures", "step", lambda col: pc.cast(col, pa.float64())),
        ("measures", "beta", lambda col: pc.cast(col, pa.string())),  # a design column
    ],
    ids=["text-gap", "int-status", "unknown-status", "text-point", "float-step", "text-beta"],
)
def test_a_retyped_column_quarantines_its_part_and_nothing_is_stored_twice(
    small_store, legacy, table, column, make
):
    if legacy:
        strip_manifests(small_store)
    before = open_store(small_store).measures()
    victim = sorted((small_store / table).glob("*.parquet"))[1]
    lost = part_keys(small_store, victim.stem)
    col = pq.read_table(victim).column(column)
    rewrite_column(victim, column, make(col), keep_metadata=not legacy)
    if table == "measures" and column == "step" and legacy:
        pytest.skip(
            "before manifests a float step is a number like any other: nothing says it was an integer"
        )

    store = open_store(small_store)
    assert list(store.damage()) == [victim.stem]
    with pytest.warns(StoreWarning, match=f"part {victim.stem}: "):
        gap = store.query("SELECT avg(gap) AS g, count(DISTINCT run_key) AS n FROM measures")
    assert gap["n"][0] == 4 - len(lost)
    with pytest.warns(StoreWarning, match=f"moved damaged part {victim.stem}"):
        again = rerun_small(small_store)
    assert (again.n_done, again.n_skipped) == (len(lost), 4 - len(lost))
    assert (small_store / DAMAGED_DIR / table / victim.name).exists()
    healed = open_store(small_store)
    raw = healed.query("SELECT run_key, count(*) AS n FROM runs_raw GROUP BY run_key")
    assert len(raw) == 4 and raw["n"].max() == 1, "a run was stored twice"
    pd.testing.assert_frame_equal(healed.measures(), before, check_exact=True)


@pytest.mark.parametrize("legacy", [False, True], ids=["manifest", "legacy"])
def test_another_parts_file_in_place_of_a_parts_own_is_damage(small_store, legacy):
    """Same row count, same schema, other runs: counted, the part's runs would have no rows of their own."""
    if legacy:
        strip_manifests(small_store)
    parts = sorted((small_store / "measures").glob("*.parquet"))
    assert pq.read_metadata(parts[0]).num_rows == pq.read_metadata(parts[1]).num_rows
    own = parts[1].read_bytes()
    shutil.copy(parts[0], parts[1])
    assert open_store(small_store).damage() == {
        parts[1].stem: "its measures file holds runs its runs file does not record"
    }
    parts[1].write_bytes(own)
    shorter = pq.read_table(parts[1])
    pq.write_table(shorter.filter(pc.equal(shorter["run_key"], shorter["run_key"][0])), parts[1])
    (problem,) = open_store(small_store).damage().values()
    assert problem == (
        "its measures file lacks 1 of its 2 ok run(s)"
        if legacy
        else "its measures file has 3 rows, its commit wrote 6"
    )


def test_a_store_missing_its_empty_folders_commits_and_loses_nothing(tmp_path):
    store = tmp_path / "s"
    run_batch(None, **{**batch_small(store), "replications": 1})
    for sub in ("events", "agents"):  # empty: git and sync tools drop them
        assert not any((store / sub).iterdir())
        (store / sub).rmdir()
    # a batch that writes events and agents into the same store
    regulated = {**SMALL, "n_regulators": 1, "audit_every": 1, "audit_gap_threshold": 0.0}
    again = run_batch(
        None, **{**batch_small(store), "replications": 1, "overrides": regulated, "agent_snapshot_every": 1}
    )
    assert (again.n_done, again.n_failed) == (2, 0)
    results = open_store(store)
    assert len(results.runs()) == 4 and results.measures()["run_key"].nunique() == 4
    assert results.agents()["run_key"].nunique() == 2 and results.events()["run_key"].nunique() == 2
    # a copy that kept only the marker and the runs: the runs without measures are re-run
    for sub in ("measures", "agents", "events", "scenarios"):
        shutil.rmtree(store / sub)
    with pytest.warns(StoreWarning, match="measures file is missing"):
        third = run_batch(None, **{**batch_small(store), "replications": 2})
    assert (third.n_done, third.n_skipped) == (4, 0) and len(open_store(store).measures()) == 4 * 3


def batch_small(store: Path) -> dict:
    return dict(
        design={"method": "grid", "parameters": {"beta": [0.5, 2.0]}},
        steps=3,
        overrides=SMALL,
        store=store,
        progress=False,
    )


@pytest.mark.parametrize("text", ["[1, 2]", '"sociosim-results"', "3", "null", "true"])
def test_a_store_marker_that_is_json_but_not_an_object_is_one_line_naming_it(tmp_path, text):
    (tmp_path / MARKER).write_text(text)
    with pytest.raises(StoreError) as info:
        open_store(tmp_path)
    assert str(tmp_path / MARKER) in str(info.value) and "\n" not in str(info.value)
    assert "JSON object" in str(info.value)
    done = cli(["query", str(tmp_path), "SELECT 1"])
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and str(tmp_path / MARKER) in done.stderr


def cli(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sociosim.cli", *args], capture_output=True, text=True, timeout=120, **kwargs
    )


# --- a file this user may not read is an environment error, never damage --------------------------


def test_an_unreadable_part_file_stops_with_its_path_and_is_never_moved(small_store, monkeypatch):
    """As root chmod does not stop reads: Python's open raises for the file, as for another user."""
    victim = sorted((small_store / "measures").glob("*.parquet"))[0]
    real_open = open

    def guarded(file, *args, **kwargs):
        if str(file) == str(victim):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", guarded)
    with pytest.raises(StoreAccessError) as info:
        open_store(small_store).runs()
    assert str(victim) in str(info.value) and info.value.filename == str(victim)
    with pytest.raises(StoreAccessError):
        rerun_small(small_store)
    assert victim.exists() and not (small_store / DAMAGED_DIR).exists()


@pytest.fixture
def shared_store(tmp_path_factory):
    """A small store in a world-readable folder, owned by `nobody` except one file of root's it cannot read."""
    if not hasattr(os, "getuid") or os.getuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to act as a second user (as that user, chmod 000 is enough)")
    if as_nobody(["-c", "import sociosim"]).returncode != 0:
        pytest.skip("user nobody cannot run this Python (it lives in a folder only root may enter)")
    top = Path(tempfile.mkdtemp(dir="/tmp"))
    top.chmod(0o755)
    store = top / "store"
    run_batch(None, **{**batch_small(store), "replications": 2, "chunk_size": 1, "_flush_seconds": 0.0})
    for path in [store, *store.rglob("*")]:
        os.chown(path, 65534, 65534)
    victim = sorted((store / "measures").glob("*.parquet"))[0]
    os.chown(victim, 0, 0)
    victim.chmod(0)
    yield store, victim
    shutil.rmtree(top)


def as_nobody(args: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "HOME": "/tmp", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd="/tmp",
    )


def test_another_users_unreadable_file_is_an_access_error_for_query_and_batch(shared_store):
    store, victim = shared_store
    done = as_nobody(["-m", "sociosim.cli", "query", str(store), "SELECT count(*) FROM runs"])
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("\n") == 1 and str(victim) in done.stderr and "permission denied" in done.stderr
    script = textwrap.dedent(
        f"""
        from sociosim.batch.execute import run_batch
        from sociosim.batch.store import StoreAccessError
        try:
            run_batch(None, design={{"method": "grid", "parameters": {{"beta": [0.5, 2.0]}}}}, replications=2,
                      steps=3, overrides={SMALL!r}, store={str(store)!r}, progress=False)
        except StoreAccessError as exc:
            raise SystemExit(f"access: {{exc}}")
        """
    )
    batch = as_nobody(["-c", script])
    assert batch.returncode == 1 and batch.stderr.startswith("access: ") and str(victim) in batch.stderr
    assert victim.exists() and not (store / DAMAGED_DIR).exists(), (
        "a readable-by-someone part was moved aside"
    )
    assert len(open_store(store).runs()) == 4  # root, who can read it, sees every run


# --- queries see the store's tables and nothing else -------------------------------------------


def attacks(store: Path, outside: Path) -> list[str]:
    """SQL that would read, write or attach files, load code or lift the sandbox."""
    part = next((store / "runs").glob("*.parquet"))
    new_part = f"{store}/measures/99999999999999999999-1-feedbeef.parquet"
    return [
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM read_csv('/etc/passwd', sep = ':')",
        "SELECT * FROM read_blob('/etc/hostname')",
        "SELECT * FROM glob('/etc/*')",
        f"SELECT count(*) FROM '{part}'",  # the store's own files, by path
        f"SELECT count(*) FROM read_parquet('{store}/measures/*.parquet')",
        f"COPY (SELECT 1 AS x) TO '{outside}/out.csv'",
        f"COPY (SELECT * FROM measures) TO '{new_part}' (FORMAT parquet)",  # a part added to the store
        f"COPY (SELECT * FROM runs_raw) TO '{part}' (FORMAT parquet, USE_TMP_FILE false)",  # overwrite one
        f"ATTACH '{outside}/x.duckdb' AS x",
        f"EXPORT DATABASE '{outside}/export'",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SELECT * FROM read_text('https://example.com/')",
        "SET enable_external_access = true",
        "RESET enable_external_access",
        "SET lock_configuration = false",
        f"SET temp_directory = '{outside}/tmp'",
        "SELECT 1; SELECT * FROM read_text('/etc/passwd')",
        "INSERT INTO measures SELECT * FROM measures",
    ]


def test_queries_cannot_touch_a_file_and_fail_in_one_line(small_store, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    before = snapshot(small_store)
    store = open_store(small_store)
    for sql in attacks(small_store, outside):
        with pytest.raises(StoreError) as info:
            store.query(sql)
        assert info.value.field == "sql" and "\n" not in str(info.value), sql
    assert snapshot(small_store) == before, "a query changed the store"
    assert not any(outside.iterdir()), "a query wrote a file"
    # what a query may do: read the views, with parameters; build tables in its own memory
    ok = store.query("SELECT count(*) AS n FROM runs WHERE status = ?", ["ok"])
    assert ok["n"][0] == 4
    store.query("CREATE TABLE mine AS SELECT 1 AS x")
    assert len(open_store(small_store).runs()) == 4


def test_the_query_command_exits_2_with_one_line_for_every_attack(small_store, tmp_path):
    from typer.testing import CliRunner

    from sociosim.cli import app

    outside = tmp_path / "outside"
    outside.mkdir()
    before = snapshot(small_store)
    runner = CliRunner()
    for sql in [*attacks(small_store, outside), "", "   ", ";", "-- only a comment"]:
        done = runner.invoke(app, ["query", str(small_store), "--", sql])  # SQL may start with --
        assert done.exit_code == 2, (sql, done.output)
        assert done.stderr.startswith("error: sql: ") and done.stderr.count("\n") == 1, (sql, done.stderr)
    assert runner.invoke(app, ["query", str(small_store)]).exit_code == 2  # no SQL at all
    assert snapshot(small_store) == before and not any(outside.iterdir())


def test_the_owner_opens_the_store_in_plain_duckdb_with_the_printed_views(small_store):
    import duckdb
    from typer.testing import CliRunner

    from sociosim.cli import app

    printed = CliRunner().invoke(app, ["query", str(small_store), "--views"])
    assert printed.exit_code == 0
    con = duckdb.connect()
    con.execute(printed.stdout)
    plain = con.execute(
        "SELECT run_key, avg(gap) AS gap FROM measures GROUP BY run_key ORDER BY run_key"
    ).df()
    sandboxed = open_store(small_store).query(
        "SELECT run_key, avg(gap) AS gap FROM measures GROUP BY run_key ORDER BY run_key"
    )
    pd.testing.assert_frame_equal(plain, sandboxed, check_exact=True)
    assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 4


def test_a_query_says_what_damage_it_left_out(small_store):
    from typer.testing import CliRunner

    from sociosim.cli import app

    victim = sorted((small_store / "measures").glob("*.parquet"))[0]
    truncate(victim)
    done = CliRunner().invoke(app, ["query", str(small_store), "SELECT count(*) AS n FROM runs"])
    assert done.exit_code == 0 and done.stdout.split() == ["n", "2"]
    assert done.stderr.startswith("warning: left out 1 damaged part(s) holding 2 run(s)")
    assert victim.stem in done.stderr and done.stderr.count("\n") == 1


def snapshot(store: Path) -> dict[str, bytes]:
    return {str(p.relative_to(store)): p.read_bytes() for p in sorted(store.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("section", ["## The results store", "## Queries"])
def test_the_reliability_page_names_only_tests_that_exist(section):
    page = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
    body = page.split(section, 1)[1].split("\n## ", 1)[0]
    named = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", body)
    assert len(named) >= 4
    for path, name in named:
        assert re.search(rf"^def {name}\(", (ROOT / path).read_text(encoding="utf-8"), re.M), (
            f"{path}::{name}"
        )


def test_loading_a_store_for_analysis_says_what_it_left_out(small_store):
    from sociosim.analysis.frames import load_frame

    before = load_frame(small_store)
    victim = sorted((small_store / "measures").glob("*.parquet"))[0]
    lost = part_keys(small_store, victim.stem)
    truncate(victim)
    with pytest.warns(StoreWarning, match=rf"left out 1 damaged part\(s\) holding {len(lost)} run\(s\)"):
        frame = load_frame(small_store)
    pd.testing.assert_frame_equal(
        frame, before[~before["run_key"].isin(lost)].reset_index(drop=True), check_exact=True
    )


def test_a_flipped_bit_is_found_by_its_checksum_and_never_served(small_store):
    """Bit rot inside a page: the reader that meets it leaves the part out; a batch finds it first."""
    before = open_store(small_store).measures()
    victim = sorted((small_store / "measures").glob("*.parquet"))[0]
    lost = part_keys(small_store, victim.stem)
    data = bytearray(victim.read_bytes())
    data[len(data) // 3] ^= 0x10  # inside a data page, far from the footer
    victim.write_bytes(bytes(data))
    with pytest.warns(StoreWarning, match=rf"part {victim.stem}: its measures file does not decode"):
        measures = open_store(small_store).measures()
    pd.testing.assert_frame_equal(
        measures, before[~before["run_key"].isin(lost)].reset_index(drop=True), check_exact=True
    )
    again = rerun_small_warned(small_store)
    assert (again.n_done, again.n_skipped) == (len(lost), 4 - len(lost))
    pd.testing.assert_frame_equal(open_store(small_store).measures(), before, check_exact=True)


def test_a_folder_this_user_cannot_list_is_an_access_error_not_an_empty_store(small_store, monkeypatch):
    """Seeing no parts would re-run, and store twice, every run another user's batch stored."""
    runs_dir = small_store / "runs"
    real_scandir = os.scandir

    def guarded(path=".", *args):
        if str(path) == str(runs_dir):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path, *args)

    monkeypatch.setattr(os, "scandir", guarded)
    with pytest.raises(StoreAccessError, match=f"cannot list {re.escape(str(runs_dir))}"):
        open_store(small_store).stored_records()
    with pytest.raises(StoreAccessError):
        rerun_small(small_store)
