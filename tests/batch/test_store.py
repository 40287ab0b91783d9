"""The results store: schema version, temp and orphan files, queries, stored scenario and SALib problem."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from sociosim.batch.execute import run_batch
from sociosim.batch.store import MARKER, SCHEMA_VERSION, StoreError, create_store, open_store
from sociosim.io import write_frame

SMALL = {"n_users": 50, "n_annotators": 6, "n_responses": 64}


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("store")
    run_batch(
        None,
        design={"method": "grid", "parameters": {"beta": [0.5, 2.0]}},
        replications=2,
        steps=3,
        overrides=SMALL,
        store=path,
        progress=False,
    )
    return path


def test_records_schema_version(store_path):
    assert open_store(store_path).schema_version == SCHEMA_VERSION
    assert json.loads((store_path / MARKER).read_text())["schema_version"] == SCHEMA_VERSION


def test_refuses_a_newer_schema_version(tmp_path):
    create_store(tmp_path / "s")
    marker = tmp_path / "s" / MARKER
    info = json.loads(marker.read_text())
    info["schema_version"] = SCHEMA_VERSION + 1
    marker.write_text(json.dumps(info))
    with pytest.raises(StoreError, match="newer than this sociosim"):
        open_store(tmp_path / "s")


def test_refuses_a_directory_that_is_not_a_store(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match="not a sociosim results store"):
        open_store(tmp_path)
    with pytest.raises(StoreError, match="non-empty directory"):
        create_store(tmp_path)


def test_temp_and_orphan_files_are_never_read(store_path, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(store_path, copy)
    before = open_store(copy).measures()
    part = next((copy / "measures").glob("*.parquet"))
    # a finished data part whose commit never happened (killed before the runs record) ...
    shutil.copy(part, copy / "measures" / "99999999999999999999-1-deadbeef.parquet")
    # ... and half-written temp files of a writer that no longer exists
    (copy / "measures" / f".{part.name}.tmp-999999999-abcd1234").write_bytes(b"PAR1 half a file")
    (copy / "runs" / ".x.parquet.tmp-999999999-abcd1234").write_bytes(b"garbage")
    assert open_store(copy).measures().equals(before)
    assert open_store(copy).cleanup() == 3
    assert sorted(p.name for p in (copy / "measures").iterdir()) == sorted(
        p.name for p in (store_path / "measures").iterdir()
    )


def test_agent_snapshots_only_on_request(store_path):
    store = open_store(store_path)
    assert store.agents().empty
    assert not list((store_path / "agents").glob("*.parquet"))
    assert store.query("SELECT count(*) AS n FROM agents")["n"][0] == 0


def test_query_over_views(store_path):
    store = open_store(store_path)
    out = store.query("SELECT beta, count(*) AS n, avg(gap) AS gap FROM measures GROUP BY beta ORDER BY beta")
    assert list(out["beta"]) == [0.5, 2.0]
    assert list(out["n"]) == [6, 6]
    joined = store.query(
        "SELECT count(*) AS n FROM measures JOIN runs USING (run_key) WHERE runs.status = 'ok'"
    )
    assert joined["n"][0] == 12
    with pytest.raises(StoreError) as info:
        store.query("SELECT nope FROM measures")
    assert info.value.field == "sql"


def test_measures_column_selection(store_path):
    frame = open_store(store_path).measures(columns=["gap", "kl"])
    assert list(frame.columns)[-3:] == ["step", "gap", "kl"]
    with pytest.raises(StoreError, match="no measure named nope"):
        open_store(store_path).measures(columns=["nope"])


def test_stored_scenario_round_trips(store_path):
    scenario = open_store(store_path).scenario()
    assert scenario.run.steps == 3 and scenario.run.replications == 2
    assert scenario.params.n_users == 50
    assert scenario.design.parameters["beta"] == [0.5, 2.0]
    assert open_store(store_path).design_problem() is None


def test_sobol_batch_stores_salib_problem_in_sample_order(tmp_path):
    design = {"method": "sobol", "samples": 2, "parameters": {"beta": {"min": 0.0, "max": 4.0}}}
    run_batch(None, design=design, replications=1, steps=2, overrides=SMALL, store=tmp_path, progress=False)
    store = open_store(tmp_path)
    problem = store.design_problem()
    assert problem["names"] == ["beta"] and problem["bounds"] == [[0.0, 4.0]]
    runs = store.runs()
    assert len(runs) == 2 * (2 * 1 + 2) == problem["sample"].shape[0]
    np.testing.assert_array_equal(runs.sort_values("point")["beta"].to_numpy(), problem["sample"][:, 0])


def test_write_frame_is_atomic_and_checks_the_suffix(tmp_path, store_path):
    frame = open_store(store_path).measures()
    for name in ("m.parquet", "m.csv"):
        write_frame(frame, tmp_path / name)
        assert (tmp_path / name).stat().st_size > 0
    assert not [p for p in os.listdir(tmp_path) if ".tmp-" in p]
    from sociosim.errors import ScenarioError

    with pytest.raises(ScenarioError, match="parquet or .csv"):
        write_frame(frame, tmp_path / "m.xlsx")


def test_a_commit_records_its_data_files_rows_and_schemas(store_path):
    import pyarrow.parquet as pq

    from sociosim.batch.parts import manifest

    for runs_file in (store_path / "runs").glob("*.parquet"):
        record = manifest(pq.read_metadata(runs_file))
        assert record is not None and set(record.rows) == {"measures"}
        measures = store_path / "measures" / runs_file.name
        assert record.rows["measures"] == pq.read_metadata(measures).num_rows
        assert record.schemas["measures"] == [(f.name, str(f.type)) for f in pq.read_schema(measures)]
    assert open_store(store_path).damage() == {}


@pytest.mark.parametrize("sql", ["", "  ", ";", "-- nothing", None])
def test_empty_sql_is_a_one_line_error(store_path, sql):
    with pytest.raises(StoreError) as info:
        open_store(store_path).query(sql)
    assert info.value.field == "sql" and "\n" not in str(info.value)


def test_sql_views_name_every_intact_part_file(store_path):
    text = open_store(store_path).sql_views()
    for part in (store_path / "measures").glob("*.parquet"):
        assert str(part.resolve()) in text
    assert text.count("CREATE VIEW") == 5
