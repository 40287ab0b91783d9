"""Sobol and Morris indices through SALib match analytic values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample

from sociosim.analysis import morris_screening, sensitivity_table, sobol_indices
from sociosim.analysis.sensitivity import infer_second_order

LINEAR = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[0, 1]] * 3}


def test_sobol_of_an_additive_function_matches_a_squared_shares():
    a = np.array([3.0, 2.0, 1.0])
    X = sobol_sample.sample(LINEAR, 1024, calc_second_order=False, seed=1)
    table = sobol_indices(LINEAR, X @ a, seed=0).set_index("name")
    expected = a**2 / (a**2).sum()  # equal input variances: S_i = a_i^2 / sum a_j^2
    assert table["S1"].to_numpy() == pytest.approx(expected, abs=0.03)
    assert table["ST"].to_numpy() == pytest.approx(expected, abs=0.03)
    assert table["interaction"].abs().max() < 0.03


def test_sobol_of_ishigami_matches_analytic_indices():
    problem = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-np.pi, np.pi]] * 3}
    X = sobol_sample.sample(problem, 2048, calc_second_order=True, seed=2)
    Y = np.sin(X[:, 0]) + 7 * np.sin(X[:, 1]) ** 2 + 0.1 * X[:, 2] ** 4 * np.sin(X[:, 0])
    table = sobol_indices(problem, Y).set_index("name")  # second order inferred from the row count
    assert table["S1"].to_numpy() == pytest.approx([0.3139, 0.4424, 0.0], abs=0.05)
    assert table["ST"].to_numpy() == pytest.approx([0.5576, 0.4424, 0.2437], abs=0.05)
    assert (table["ST_lo"] <= table["ST"]).all() and (table["ST"] <= table["ST_hi"]).all()


def test_second_order_inference_and_bad_lengths():
    assert infer_second_order(8 * 8, 3) is True
    assert infer_second_order(8 * 5, 3) is False
    with pytest.raises(ValueError, match="Saltelli"):
        infer_second_order(7, 3)
    with pytest.raises(ValueError, match="not finite"):
        sobol_indices(LINEAR, np.full(40, np.nan))


def test_morris_of_a_linear_function_gives_its_coefficients():
    X = morris_sample.sample(LINEAR, 20, num_levels=4, seed=3)
    Y = X @ np.array([10.0, -1.0, 0.0])
    table = morris_screening(LINEAR, X, Y).set_index("name")
    assert table["mu_star"].to_numpy() == pytest.approx([10.0, 1.0, 0.0], abs=1e-9)
    assert table.loc["x2", "mu"] == pytest.approx(-1.0)
    assert table["sigma"].to_numpy() == pytest.approx([0, 0, 0], abs=1e-9)


def test_sensitivity_table_from_a_frame_averages_replicates_per_point():
    X = sobol_sample.sample(LINEAR, 256, calc_second_order=False, seed=4)
    a = np.array([1.0, 2.0, 0.0])
    rows = []
    for point, x in enumerate(X):
        for r in range(2):
            rows.append(
                {
                    "run_key": f"{point}-{r}",
                    "point": point,
                    "replicate": r,
                    "x1": x[0],
                    "x2": x[1],
                    "x3": x[2],
                    "gap": x @ a + (0.05 if r else -0.05),
                }
            )
    problem = dict(LINEAR, sample=X, method="sobol", calc_second_order=False)
    table = sensitivity_table(pd.DataFrame(rows), outcome="gap", problem=problem).set_index("name")
    direct = sobol_indices(problem, X @ a).set_index("name")
    assert table["S1"].to_numpy() == pytest.approx(direct["S1"].to_numpy())
    assert table.loc["x2", "S1"] == pytest.approx(0.8, abs=0.05)


def test_sensitivity_from_a_batch_store(tmp_path):
    from sociosim.batch.execute import run_batch
    from sociosim.config.scenario import Scenario

    scenario = Scenario.model_validate(
        {
            "scenario": {"name": "sobol-fake"},
            "run": {"steps": 4, "seed": 3, "replications": 1},
            "design": {
                "method": "sobol",
                "samples": 32,
                "parameters": {"beta": {"min": 0, "max": 4}, "persuasion": {"min": 0, "max": 0.1}},
            },
        }
    )
    result = run_batch(
        scenario, store=tmp_path / "store", progress=False, executor="serial", _run_fn=fake_run
    )
    assert result.n_failed == 0
    table = sensitivity_table(result.store, outcome="gap").set_index("name")
    assert table.loc["beta", "ST"] > 0.8 > table.loc["persuasion", "ST"]
    assert set(table["method"]) == {"sobol"}


def fake_run(params, *, steps, seed, agent_snapshot_every=0, progress=False):
    """A stand-in model: gap depends strongly on beta and weakly on persuasion."""
    from sociosim.runner import RunResult

    t = np.arange(1, steps + 1)
    gap = 0.2 + 0.5 * params.beta + 1.0 * params.persuasion + 0 * t
    return RunResult(measures=pd.DataFrame({"step": t, "gap": gap}), events=pd.DataFrame())
