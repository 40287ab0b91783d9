"""Running one simulation: `run_model` (parameters in, frames out) and the public `run`.

These are the functions batches, studies and the CLI call; they hold no state.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError
from threadpoolctl import threadpool_limits

from sociosim.config.limits import check_steps
from sociosim.config.params import ModelParams
from sociosim.config.scenario import RunSettings, Scenario, load_scenario
from sociosim.errors import ScenarioError, error_from_validation
from sociosim.model.model import AlignmentModel


@dataclass
class RunResult:
    """What one run produces: step measures, regulator events and optional user snapshots."""

    measures: pd.DataFrame
    events: pd.DataFrame
    agents: pd.DataFrame | None = None


def run_model(
    params: ModelParams,
    *,
    steps: int,
    seed: int | np.random.SeedSequence,
    agent_snapshot_every: int = 0,
    progress: bool = False,
) -> RunResult:
    """Build an `AlignmentModel` from validated parameters and run it for `steps` steps."""
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 1:
        raise ScenarioError("steps", f"must be an integer >= 1, got {steps!r}")
    check_steps(int(steps))
    if not isinstance(seed, np.random.SeedSequence):
        seed = _checked_settings(steps=int(steps), seed=seed).seed
    snapshots = []
    iterator = range(1, steps + 1)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, desc="steps", unit="step", leave=False)
    # one BLAS thread: the step's matrix products are tiny (threads only add overhead), and
    # reductions then give the same bits in every process and executor
    with threadpool_limits(limits=1, user_api="blas"):
        model = AlignmentModel(params=params, rng=np.random.default_rng(seed))
        for step in iterator:
            model.step()
            if agent_snapshot_every and step % agent_snapshot_every == 0:
                snapshots.append(model.agent_snapshot())
    agents = pd.concat(snapshots, ignore_index=True) if snapshots else None
    return RunResult(measures=model.results(), events=model.events_frame(), agents=agents)


def _checked_settings(**settings: Any) -> RunSettings:
    """Steps and seed validated as a scenario's [run] table is (one path for Python, CLI and TOML)."""
    try:
        return RunSettings.model_validate(settings)
    except ValidationError as exc:
        raise error_from_validation(exc, model=RunSettings) from None


def run_scenario(
    scenario: str | Path | Scenario | None = None,
    *,
    steps: int | None = None,
    seed: int | None = None,
    progress: bool = False,
    agent_snapshot_every: int = 0,
    **overrides: Any,
) -> RunResult:
    """Run a scenario (library name, TOML path, `Scenario` or None for defaults) once."""
    loaded = load_scenario(scenario).with_overrides(**overrides)
    settings = _checked_settings(
        steps=loaded.run.steps if steps is None else steps, seed=loaded.run.seed if seed is None else seed
    )
    return run_model(
        loaded.params,
        steps=settings.steps,
        seed=settings.seed,
        agent_snapshot_every=agent_snapshot_every,
        progress=progress,
    )


def run(
    scenario: str | Path | Scenario | None = None,
    *,
    steps: int | None = None,
    seed: int | None = None,
    **overrides: Any,
) -> pd.DataFrame:
    """Run a scenario once and return its measures: one row per step, the DESIGN §4 columns."""
    return run_scenario(scenario, steps=steps, seed=seed, **overrides).measures
