"""A run that raises is recorded with its error and parameters; the others finish; a rerun retries it."""

from __future__ import annotations

from sociosim.batch.execute import run_batch
from sociosim.batch.store import open_store
from sociosim.runner import run_model

SMALL = {"n_users": 50, "n_annotators": 6, "n_responses": 64}
DESIGN = {"method": "grid", "parameters": {"beta": [0.5, 2.0, 4.0]}}


def fails_at_beta_two(params, **kwargs):
    """The real model, except that beta = 2 raises (a stand-in for a numerical blow-up)."""
    if params.beta == 2.0:
        raise FloatingPointError("reward model diverged")
    return run_model(params, **kwargs)


def batch(store, run_fn=None):
    return run_batch(
        None,
        design=DESIGN,
        replications=2,
        steps=4,
        overrides=SMALL,
        store=store,
        progress=False,
        _run_fn=run_fn,
    )


def test_failed_run_is_recorded_and_the_batch_goes_on(tmp_path):
    result = batch(tmp_path, fails_at_beta_two)
    assert (result.n_done, result.n_failed, result.n_skipped) == (4, 2, 0)
    assert list(result.failures["beta"]) == [2.0, 2.0]
    assert result.failures["error"].str.contains("FloatingPointError: reward model diverged").all()

    runs = open_store(tmp_path).runs()
    failed = runs[runs["status"] == "failed"]
    assert list(failed["beta"]) == [2.0, 2.0]
    assert failed["error"].str.contains("reward model diverged").all()
    assert failed["params_json"].str.contains('"beta":2.0').all()
    measures = open_store(tmp_path).measures()
    assert sorted(measures["beta"].unique()) == [0.5, 4.0]
    assert len(measures) == 4 * 4


def test_rerun_retries_only_failed_runs(tmp_path):
    batch(tmp_path, fails_at_beta_two)
    again = batch(tmp_path)
    assert (again.n_done, again.n_failed, again.n_skipped) == (2, 0, 4)
    runs = open_store(tmp_path).runs()
    assert len(runs) == 6 and set(runs["status"]) == {"ok"}
    assert open_store(tmp_path).measures().groupby("beta").size().to_dict() == {0.5: 8, 2.0: 8, 4.0: 8}
