"""A batch can sweep per-lab values: each design point's column holds its list of lab values."""

import sociosim
from sociosim.batch import open_store


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
