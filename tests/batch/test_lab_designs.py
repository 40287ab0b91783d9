"""A batch can sweep per-lab values: each design point's column holds its list of lab values."""

import numpy as np

import sociosim
from sociosim.batch import open_store
from sociosim.batch.plan import plan_batch
from sociosim.batch.task import run_one
from sociosim.runner import run_model


def test_a_design_over_per_lab_pressures_stores_each_points_lab_values(tmp_path):
    result = sociosim.run_batch(
        "lab_race",
        design={"parameters": {"beta": [[1.0, 4.0], [2.0, 2.0]]}},
        replications=1,
        steps=4,
        overrides={"n_users": 150},
        store=tmp_path,
        progress=False,
    )
    assert result.n_done == 2
    store = open_store(tmp_path)
    points = store.query("SELECT DISTINCT point, beta FROM measures ORDER BY point")
    assert list(points["beta"]) == ["[1.0,4.0]", "[2.0,2.0]"]
    first = store.query("SELECT beta_1 FROM measures WHERE point = 0 AND step = 1")
    assert first["beta_1"].iloc[0] >= 4.0  # lab 1 of point 0 starts at beta 4 (engagement-seeking: may rise)


def test_batch_runs_build_no_user_views_and_give_the_rows_of_a_plain_run(tmp_path):
    """A batch task builds no Mesa user views (nothing in a batch reads them); the rows are unchanged."""
    seen = {}

    def recording_run(params, **kwargs):
        seen["user_views"] = params.user_views
        return run_model(params, **kwargs)

    plan = plan_batch("baseline", replications=1, steps=3, overrides={"n_users": 150})
    spec = plan.specs[0]
    out = run_one(spec, steps=3, run_fn=recording_run)
    assert seen["user_views"] == 0 and spec.params["user_views"] == 100_000
    seed = np.random.SeedSequence(spec.entropy, spawn_key=spec.spawn_key)
    plain = run_model(sociosim.ModelParams.model_validate(spec.params), steps=3, seed=seed)
    assert out.measures.equals(plain.measures)
