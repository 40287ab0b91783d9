"""The scenario library: every study loads, is documented, runs, and shows the outcome it states.

Outcome checks run each study small (300 users, tens of steps, fixed seeds) and assert
only what held in every seed tried while the files were written; the numbers quoted in
each file's `expected` come from the same settings.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from typer.testing import CliRunner

import sociosim
from sociosim.batch.design import expand_design
from sociosim.cli import app
from sociosim.config import scenario as scenario_module
from sociosim.config.scenario import library, load_scenario
from sociosim.model.measures import measure_columns

LIBRARY = (
    "baseline",
    "goodhart_pressure",
    "sycophancy",
    "annotator_drift",
    "value_homogenization",
    "deception_trust",
    "alignment_mirage",
    "maps_interventions",
    "trilemma",
    "regulator_race",
    "lab_race",
    "pool_competition",
)
SMALL = 300  # users in outcome checks: the measures compared do not depend on N at this size
TAIL = 10  # steps at the end of a run averaged into its outcome
# A default batch must stay modest (minutes on 2 cores): design points x replications x steps.
MAX_STEP_RUNS = 10_000


@functools.cache
def _run(name: str, seed: int, steps: int, overrides: tuple[tuple[str, object], ...]) -> pd.DataFrame:
    return sociosim.run(name, steps=steps, seed=seed, n_users=SMALL, **dict(overrides))


def run_small(name: str, *, seed: int, steps: int = 40, **overrides: object) -> pd.DataFrame:
    """A small run of a library scenario (cached: several checks share the same runs; lists become tuples)."""
    frozen = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in overrides.items()))
    return _run(name, seed, steps, frozen)


def outcome(name: str, measure: str, *, seed: int, steps: int = 40, **overrides: object) -> float:
    """Mean of a measure over the last TAIL steps of a small run."""
    return float(run_small(name, seed=seed, steps=steps, **overrides)[measure].iloc[-TAIL:].mean())


@functools.cache
def measure_names() -> frozenset[str]:
    """Every column a run can produce: a tiny run's, and the registry's per-lab columns."""
    return frozenset(sociosim.run(steps=1, seed=0, n_users=50).columns) | frozenset(measure_columns(4, 4))


# --- the library: found, valid, documented, runnable --------------------------------------


def test_library_holds_every_study():
    assert set(LIBRARY) <= set(library())


@pytest.mark.parametrize("name", LIBRARY)
def test_scenario_is_valid_and_documented(name):
    scenario = load_scenario(name)
    info = scenario.scenario
    assert info.name == name
    for field in ("title", "question", "expected"):
        assert getattr(info, field).strip(), f"{name}: [scenario].{field} is empty"
    assert info.sources and all(s.strip() for s in info.sources)
    assert info.look_at, f"{name}: [scenario].look_at is empty"
    unknown = set(info.look_at) - measure_names()
    assert not unknown, f"{name}: look_at names no measure {sorted(unknown)}"
    text = Path(library()[name]).read_text(encoding="utf-8")
    assert text.startswith("#"), f"{name}: the file should open with comments explaining the study"
    assert "Scale up" in text, f"{name}: the comments should say how to scale the batch up"


@pytest.mark.parametrize("name", LIBRARY)
def test_default_batch_is_modest(name):
    scenario = load_scenario(name)
    plan = expand_design(scenario.design, scenario.params, root=np.random.SeedSequence(scenario.run.seed))
    step_runs = len(plan) * scenario.run.replications * scenario.run.steps
    assert 1 <= step_runs <= MAX_STEP_RUNS, (
        f"{name}: {len(plan)} points x {scenario.run.replications} x {scenario.run.steps}"
    )


def test_maps_interventions_compares_every_lever_with_none():
    design = load_scenario("maps_interventions").design
    assert design is not None and design.method == "grid"
    assert set(design.parameters["lever"]) == {
        "none",
        "misspecification",
        "annotation",
        "pressure",
        "shift",
        "disclosure",
    }


@pytest.mark.parametrize("name", LIBRARY)
def test_scenario_runs_from_python(name):
    frame = sociosim.run(name, steps=3, seed=1, n_users=100)
    assert list(frame["step"]) == [1, 2, 3]
    looked_at = frame[load_scenario(name).scenario.look_at]
    assert np.isfinite(looked_at.to_numpy(dtype=float)).all()


@pytest.mark.parametrize("name", LIBRARY)
def test_scenario_runs_from_the_cli(name):
    result = CliRunner().invoke(app, ["run", name, "--steps", "3", "--set", "n_users=100", "--quiet"])
    assert result.exit_code == 0, result.output


def test_cli_entry_point_runs_a_scenario(tmp_path):
    """The installed console script (or `python -m sociosim.cli`) runs a library scenario."""
    script = shutil.which("sociosim", path=str(Path(sys.executable).parent))
    command = [script] if script else [sys.executable, "-m", "sociosim.cli"]
    out = tmp_path / "baseline.csv"
    arguments = ["run", "baseline", "--steps", "3", "--set", "n_users=100", "--quiet", "--out", str(out)]
    done = subprocess.run([*command, *arguments], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(pd.read_csv(out)) == 3


def test_cli_lists_the_library():
    result = CliRunner().invoke(app, ["scenarios"])
    assert result.exit_code == 0, result.output
    listed = {line.split()[0] for line in result.output.splitlines() if line.strip()}
    assert set(LIBRARY) <= listed


def test_library_is_found_in_an_installed_package(tmp_path, monkeypatch):
    """An installed wheel has no checkout `scenarios/`, only `sociosim/scenario_library/`."""
    installed = tmp_path / "site-packages" / "sociosim"
    packaged = installed / "scenario_library"
    packaged.mkdir(parents=True)
    for name in LIBRARY:
        shutil.copy(library()[name], packaged / f"{name}.toml")
    monkeypatch.setattr(scenario_module, "__file__", str(installed / "scenario.py"))
    monkeypatch.setattr(scenario_module.resources, "files", lambda package: installed)
    found = library()
    assert set(found) == set(LIBRARY)
    assert all(path.parent == packaged for path in found.values())
    assert load_scenario("maps_interventions").scenario.name == "maps_interventions"


def test_wheel_packs_the_checkout_library():
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    if not pyproject.is_file():
        pytest.skip("not a checkout")
    config = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    include = config["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert include.get("scenarios") == "sociosim/scenario_library"


# --- each study's stated outcome, small, fixed seeds ---------------------------------------


@pytest.mark.parametrize("seed", [0, 1])
def test_baseline_annotators_agree_about_two_in_three(seed):
    frame = run_small("baseline", seed=seed)
    assert frame["annotator_agreement"].between(0.63, 0.77).all()
    assert outcome("baseline", "gap", seed=seed) > 0
    assert outcome("baseline", "stance_alignment_0", seed=seed) > 0.5


@pytest.mark.parametrize("seed", [0, 1])
def test_goodhart_gap_rises_with_pressure(seed):
    gaps = [
        outcome("goodhart_pressure", "gap", seed=seed, steps=15, beta=b, bias_tail="student_t")
        for b in (0.0, 0.5, 1.0, 2.0)
    ]
    assert abs(gaps[0]) < 1e-9
    assert all(later > earlier for earlier, later in zip(gaps, gaps[1:], strict=False)), gaps


def test_goodhart_heavy_tail_costs_true_utility_at_high_pressure():
    """Single catalogues are a lottery: the claim is about the mean over eight of them."""

    def mean_utility(beta: float, tail: str) -> float:
        return float(
            np.mean(
                [
                    outcome("goodhart_pressure", "true_utility", seed=s, steps=15, beta=beta, bias_tail=tail)
                    for s in range(8)
                ]
            )
        )

    heavy = [mean_utility(b, "student_t") for b in (1.0, 16.0)]
    light = [mean_utility(b, "gaussian") for b in (1.0, 16.0)]
    assert heavy[1] < heavy[0] and heavy[1] < light[1], (heavy, light)


@pytest.mark.parametrize("seed", [0, 1])
def test_sycophancy_rises_with_pressure_under_flattery(seed):
    agree = [
        outcome("sycophancy", "sycophancy", seed=seed, beta=b, flattery_bias=1.5) for b in (0.0, 1.0, 2.0)
    ]
    assert agree[0] < agree[1] < agree[2], agree
    unbiased = outcome("sycophancy", "sycophancy", seed=seed, beta=2.0, flattery_bias=0.0)
    assert unbiased < agree[2]


@pytest.mark.parametrize("seed", [0, 1])
def test_annotator_drift_raises_polish_and_calibration_bounds_it(seed):
    drifting = run_small("annotator_drift", seed=seed, steps=60, drift=0.01, calibrate_every=0)
    calibrated = run_small("annotator_drift", seed=seed, steps=60, drift=0.01, calibrate_every=10)
    start = drifting["polish"].iloc[:TAIL].mean()
    assert drifting["polish"].iloc[-TAIL:].mean() > start
    assert drifting["annotator_bias"].iloc[-1] > drifting["annotator_bias"].iloc[0]
    assert calibrated["polish"].iloc[-TAIL:].mean() <= start
    assert calibrated["polish"].iloc[-TAIL:].mean() < drifting["polish"].iloc[-TAIL:].mean()


@pytest.mark.parametrize("seed", [0, 1])
def test_values_homogenise_and_persuasion_speeds_it(seed):
    quiet = run_small("value_homogenization", seed=seed, persuasion=0.0)
    persuaded = run_small("value_homogenization", seed=seed, persuasion=0.05)
    for measure in ("value_diversity", "culture_separation"):
        assert quiet[measure].iloc[-1] < quiet[measure].iloc[0]
        assert persuaded[measure].iloc[-1] < quiet[measure].iloc[-1]


@pytest.mark.parametrize("seed", [0, 1])
def test_overtrust_rises_with_anthropomorphism_and_falls_with_disclosure(seed):
    low = outcome("deception_trust", "overtrust", seed=seed, anthro_mean=0.1, disclosure=False)
    high = outcome("deception_trust", "overtrust", seed=seed, anthro_mean=0.9, disclosure=False)
    labelled = outcome("deception_trust", "overtrust", seed=seed, anthro_mean=0.9, disclosure=True)
    assert low < high
    assert labelled < high


def test_mirage_under_a_skewed_pool_and_the_shift_lever_narrows_it():
    """gap_shift > gap in every run; the shift lever narrows the mirage on average over seeds (6 of 7 seeds singly)."""
    skewed = [0.7, 0.1, 0.1, 0.1]
    narrowing = []
    for seed in (0, 1, 2):
        plain = run_small("alignment_mirage", seed=seed, annotator_shares=skewed, lever="none")
        shifted = run_small("alignment_mirage", seed=seed, annotator_shares=skewed, lever="shift")
        assert (plain["gap_shift"].iloc[-TAIL:] > plain["gap"].iloc[-TAIL:]).all()
        narrowing.append(plain["mirage"].iloc[-TAIL:].mean() - shifted["mirage"].iloc[-TAIL:].mean())
    assert np.mean(narrowing) > 0, narrowing


def test_each_maps_lever_acts_on_its_part_of_the_gap():
    """Each lever against none at beta 2 (the shift lever's mirage check is the alignment_mirage test's)."""

    def at(lever: str, measure: str) -> float:
        return outcome("maps_interventions", measure, seed=0, lever=lever, beta=2.0)

    # M: richer supervision narrows the gap and the shifted gap, and cuts harm
    assert at("misspecification", "gap") < at("none", "gap")
    assert at("misspecification", "gap_shift") < at("none", "gap_shift")
    assert at("misspecification", "harm") < at("none", "harm")
    # P: a KL budget holds kl and with it the gap
    frame = run_small("maps_interventions", seed=0, lever="pressure", beta=2.0)
    assert frame["kl"].max() <= 0.5 + 1e-6
    assert at("pressure", "gap") < at("none", "gap")
    assert at("pressure", "gap_shift") < at("none", "gap_shift")
    # A: a balanced, calibrated pool lifts the worst-off culture
    assert at("annotation", "utility_min") > at("none", "utility_min")
    # disclosure: the gap is untouched, trust bought by the persona falls
    assert at("disclosure", "gap") == pytest.approx(at("none", "gap"), abs=0.05)
    assert at("disclosure", "trust_from_anthro") < at("none", "trust_from_anthro")
    assert at("disclosure", "overtrust") < at("none", "overtrust")


def test_trilemma_no_run_is_best_on_all_three_axes():
    scenario = load_scenario("trilemma")
    design = scenario.design.model_copy(update={"samples": 8})
    plan = expand_design(design, scenario.params, root=np.random.SeedSequence(0))
    rows = []
    for point in plan.points:
        frame = sociosim.run("trilemma", steps=40, seed=0, n_users=SMALL, **point)
        rows.append(
            {axis: float(frame[axis].iloc[-TAIL:].mean()) for axis in ("kl", "value_capture", "gap_shift")}
        )
    runs = pd.DataFrame(rows)
    dominating = [
        i
        for i in runs.index
        if (runs.kl[i] >= runs.kl).all()
        and (runs.value_capture[i] >= runs.value_capture).all()
        and (runs.gap_shift[i] <= runs.gap_shift).all()
    ]
    assert not dominating
    assert spearmanr(runs.kl, runs.gap_shift).statistic > 0.5
    assert runs.kl[runs.gap_shift.idxmin()] < runs.kl.median()


@pytest.mark.parametrize("seed", [0, 1])
def test_regulator_intervenes_and_its_kl_budget_holds(seed):
    budget = load_scenario("regulator_race").params.regulator_kl_budget
    regulated = sociosim.run_scenario("regulator_race", steps=50, seed=seed, n_users=SMALL, n_regulators=1)
    events = regulated.events
    assert len(events) >= 1 and events["complied"].all()
    first = int(events["step"].min())
    after = regulated.measures[regulated.measures["step"] >= first]
    assert (after["kl"] <= budget + 1e-6).all()
    assert (after["n_interventions"] >= 1).all()
    free = run_small("regulator_race", seed=seed, steps=50, n_regulators=0)
    assert free["kl"].iloc[-TAIL:].mean() > budget
    assert free["beta_effective"].iloc[-1] > after["beta_effective"].iloc[-1]


def test_lab_race_regulator_holds_both_labs_within_the_budget():
    frame = run_small("lab_race", seed=0, steps=40, n_regulators=1)
    assert frame["n_interventions"].iloc[-1] == 2
    assert frame["kl_0"].iloc[-10:].max() <= 1.0 + 1e-9 and frame["kl_1"].iloc[-10:].max() <= 1.0 + 1e-9
    free = run_small("lab_race", seed=0, steps=40, n_regulators=0)
    assert free["kl_0"].iloc[-1] > 1.0 and free["kl_1"].iloc[-1] > 1.0


def test_pool_competition_gives_each_lab_its_own_pool():
    model = sociosim.AlignmentModel(params=load_scenario("pool_competition").params, n_users=SMALL, rng=0)
    assert np.bincount(model.labs[0].annotators.culture)[0] == 42  # 70 % of 60
    assert np.all(np.bincount(model.labs[1].annotators.culture) == 15)
    model.step()
    table = model.culture_lab_table()
    assert set(table["lab"]) == {0, 1} and np.allclose(table.groupby("culture")["share"].sum(), 1.0)
