"""PRIM scenario discovery and the EMA Workbench model adapter (optional extra)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sociosim.analysis import discovery

ema_workbench = pytest.importorskip("ema_workbench")


def test_prim_finds_the_region_that_produces_the_bad_outcome():
    rng = np.random.default_rng(0)
    n = 600
    x1 = rng.uniform(0, 1, n)
    x2 = rng.uniform(0, 1, n)
    mode = rng.choice(["a", "b"], n)
    bad = (x1 > 0.7) & (mode == "b")
    df = pd.DataFrame(
        {
            "run_key": [f"r{i}" for i in range(n)],
            "x1": x1,
            "x2": x2,
            "mode": mode,
            "overtrust": np.where(bad, 0.3, 0.0),
        }
    )
    boxes = discovery.prim_boxes(df, outcome="overtrust", threshold=0.15, min_density=0.95).set_index(
        "parameter"
    )
    assert boxes.loc["x1", "lower"] == pytest.approx(0.7, abs=0.05)
    assert boxes.loc["mode", "categories"] == "b"
    assert "x2" not in boxes.index
    assert boxes["density"].iloc[0] >= 0.95 and boxes["coverage"].iloc[0] >= 0.8
    # A looser density target trades density for coverage: the box grows.
    loose = discovery.prim_boxes(df, outcome="overtrust", threshold=0.15, min_density=0.8).set_index(
        "parameter"
    )
    assert loose.loc["x1", "lower"] <= boxes.loc["x1", "lower"]
    assert loose["coverage"].iloc[0] >= boxes["coverage"].iloc[0]


def test_prim_with_no_cases_returns_an_empty_table():
    df = pd.DataFrame({"run_key": ["a", "b", "c"], "x1": [0.1, 0.2, 0.3], "overtrust": [0.0, 0.0, 0.0]})
    assert discovery.prim_boxes(df, outcome="overtrust", threshold=0.15).empty


def fake_runner(params, *, steps, seed):
    """Outcome = a function of beta plus a draw from the run's seed (to check common random numbers)."""
    noise = np.random.default_rng(seed).normal()
    t = np.arange(1, steps + 1)
    return pd.DataFrame({"step": t, "gap": params.beta + 0 * t, "overtrust": noise + 0 * t})


def test_ema_model_runs_seeded_replications_through_the_workbench():
    model = discovery.ema_model(
        None,
        uncertainties={"beta": (0.0, 4.0)},
        levers={"aggregation": ["pooled", "balanced"]},
        outcomes=("gap", "overtrust"),
        steps=2,
        replications=3,
        seed=5,
        runner=fake_runner,
    )
    with ema_workbench.SequentialEvaluator(model) as evaluator:
        experiments, outcomes = evaluator.perform_experiments(scenarios=3, policies=2)
    assert outcomes["gap"].shape == (6,)
    assert np.allclose(outcomes["gap"], experiments["beta"].to_numpy())
    assert set(experiments["aggregation"]) == {"pooled", "balanced"}
    # Replicate r runs with SeedSequence(5, spawn_key=(r,)) in every experiment (common random numbers).
    draws = [np.random.default_rng(np.random.SeedSequence(5, spawn_key=(r,))).normal() for r in range(3)]
    assert np.allclose(outcomes["overtrust"], np.mean(draws))


def test_ema_model_names_bad_parameters():
    with pytest.raises(Exception, match="unknown parameter"):
        discovery.ema_model(None, uncertainties={"not_a_parameter": (0, 1)}, runner=fake_runner)
    with pytest.raises(ValueError, match="also uncertainties"):
        discovery.ema_model(None, uncertainties={"beta": (0, 1)}, levers={"beta": (0, 2)}, runner=fake_runner)


def test_missing_workbench_gives_an_install_hint(monkeypatch):
    monkeypatch.setattr(discovery, "ema_available", lambda: False)
    with pytest.raises(ImportError, match="sociosim\\[ema\\]"):
        discovery.prim_boxes(
            pd.DataFrame({"x": [1.0], "overtrust": [1.0]}), outcome="overtrust", threshold=0.1
        )
