"""Scenario discovery through the EMA Workbench (optional extra `sociosim[ema]`).

`prim_boxes` finds the parameter regions where a bad outcome happens (PRIM, Friedman &
Fisher 1999, as implemented by the EMA Workbench); `ema_model` exposes a sociosim
scenario as an EMA Workbench model so its samplers, evaluators and analyses apply.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sociosim.analysis.frames import parameter_columns, require_columns, summarise_runs
from sociosim.config.params import ModelParams, make_params, resolve_name
from sociosim.config.scenario import load_scenario
from sociosim.runner import run_model

EMA_HINT = "the EMA Workbench is not installed: pip install 'sociosim[ema]'"

DEFAULT_OUTCOMES = ("gap", "true_utility", "gap_shift", "kl", "overtrust", "utility_min", "value_diversity")


def ema_available() -> bool:
    """Whether `ema_workbench` can be imported."""
    try:
        _import_ema()
    except Exception:  # noqa: BLE001 - any import failure means "not usable"
        return False
    return True


def ema_version() -> str | None:
    """The installed EMA Workbench version, or None."""
    try:
        return importlib.metadata.version("ema-workbench")
    except importlib.metadata.PackageNotFoundError:
        return None


def _require_ema() -> None:
    if not ema_available():
        raise ImportError(EMA_HINT)


def _import_ema() -> Any:
    """Import ema_workbench without its warning about the optional ipyparallel evaluator."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*ipyparallel.*")
        return importlib.import_module("ema_workbench")


def prim_boxes(
    df: pd.DataFrame,
    *,
    outcome: str,
    threshold: float,
    above: bool = True,
    inputs: Sequence[str] | None = None,
    last: int = 10,
    min_density: float = 0.8,
    n_boxes: int = 1,
    peel_alpha: float = 0.05,
    paste_alpha: float = 0.05,
    mass_min: float = 0.05,
) -> pd.DataFrame:
    """PRIM boxes of the input region where `outcome` > `threshold` (or < with `above=False`).

    Each run is one case (outcome averaged over its last `last` steps); inputs default to
    the varying design columns. On each box's peeling trajectory the point chosen is the
    one with the highest coverage among those with density >= `min_density` (else the
    densest). Returns one row per restricted input per box, with box coverage, density,
    mass and PRIM's quasi-p value of the restriction.
    """
    _require_ema()
    _import_ema()
    from ema_workbench.analysis import prim

    runs = summarise_runs(df, last=last)
    require_columns(runs, [outcome], what="measure")
    names = list(inputs) if inputs is not None else parameter_columns(runs, varying=True)
    if not names:
        raise ValueError("inputs: no varying design columns to explain the outcome with")
    require_columns(runs, names, what="input")
    runs = runs.dropna(subset=[outcome])
    x = runs[names].reset_index(drop=True).copy()
    for col in x.columns:
        if pd.api.types.is_bool_dtype(x[col]) or not pd.api.types.is_numeric_dtype(x[col]):
            x[col] = x[col].astype(str)
        elif pd.api.types.is_integer_dtype(x[col]):
            x[col] = x[col].astype(np.int64)
        else:
            x[col] = x[col].astype(np.float64)
    values = runs[outcome].to_numpy(float)
    y = values > threshold if above else values < threshold
    if not y.any():
        return _empty_boxes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # the Workbench's own pandas deprecations
        warnings.simplefilter("ignore", DeprecationWarning)
        finder = prim.Prim(x, y, peel_alpha=peel_alpha, paste_alpha=paste_alpha, mass_min=mass_min)
    rows = []
    for number in range(1, n_boxes + 1):
        box = finder.find_box()
        if box is None:
            break
        traj = box.peeling_trajectory
        dense = traj[traj["density"] >= min_density]
        pick = int(dense["coverage"].idxmax()) if len(dense) else int(traj["density"].idxmax())
        box.select(pick)
        stats = traj.loc[pick]
        limits = box.box_lims[pick]
        initial = finder.box_init
        qp = box.p_values[pick] if pick < len(box.p_values) else {}
        for name in names:
            if name not in limits.columns:
                continue
            lo, hi = limits[name].iloc[0], limits[name].iloc[1]
            lo0, hi0 = initial[name].iloc[0], initial[name].iloc[1]
            if isinstance(lo, set):
                restricted = lo != lo0
                lower = upper = np.nan
                categories = ", ".join(sorted(map(str, lo)))
            else:
                restricted = bool(lo > lo0 or hi < hi0)
                lower, upper, categories = float(lo), float(hi), ""
            if not restricted:
                continue
            rows.append(
                {
                    "box": number,
                    "outcome": outcome,
                    "condition": f"{'>' if above else '<'} {threshold:g}",
                    "parameter": name,
                    "lower": lower,
                    "upper": upper,
                    "categories": categories,
                    "quasi_p": _quasi_p(qp, name),
                    "coverage": float(stats["coverage"]),
                    "density": float(stats["density"]),
                    "mass": float(stats["mass"]),
                    "res_dim": int(stats["res_dim"]),
                    "cases": int(y.sum()),
                    "runs": len(y),
                }
            )
    return pd.DataFrame(rows, columns=_empty_boxes().columns) if rows else _empty_boxes()


def _quasi_p(qp: Any, name: str) -> float:
    """PRIM's quasi-p value of one restriction: the smaller of its lower/upper values (-1 = unrestricted)."""
    values = qp.get(name) if isinstance(qp, Mapping) else None
    if values is None:
        return float("nan")
    valid = [float(v) for v in np.atleast_1d(values) if v is not None and float(v) >= 0]
    return min(valid) if valid else float("nan")


def _empty_boxes() -> pd.DataFrame:
    cols = ["box", "outcome", "condition", "parameter", "lower", "upper", "categories", "quasi_p"]
    return pd.DataFrame(columns=[*cols, "coverage", "density", "mass", "res_dim", "cases", "runs"])


class SociosimFunction:
    """The callable an EMA model wraps: flat parameters and a replicate in, run outcomes out.

    Picklable (a module-level class), so EMA's multiprocessing evaluator can ship it.
    Replicate r runs with seed SeedSequence(root_seed, spawn_key=(r,)): the same r gets
    the same seed in every experiment (common random numbers, as in sociosim batches).
    """

    def __init__(
        self,
        base: Mapping[str, Any],
        *,
        steps: int,
        root_seed: int,
        outcomes: Sequence[str],
        last: int,
        runner: Callable[..., Any] | None = None,
    ):
        self.base = dict(base)
        self.steps = steps
        self.root_seed = root_seed
        self.outcomes = list(outcomes)
        self.last = last
        self.runner = runner

    def seed_for(self, replicate: int) -> np.random.SeedSequence:
        """The seed of replicate `replicate`."""
        return np.random.SeedSequence(self.root_seed, spawn_key=(int(replicate),))

    def __call__(self, replicate: int = 0, **values: Any) -> dict[str, float]:
        runner = self.runner or run_model
        params = make_params(self.base, **values)
        result = runner(params, steps=self.steps, seed=self.seed_for(replicate))
        measures = result.measures if hasattr(result, "measures") else result
        tail = measures.sort_values("step").tail(self.last) if "step" in measures.columns else measures
        return {name: float(tail[name].mean()) for name in self.outcomes}


def _ema_parameter(name: str, spec: Any) -> Any:
    """An EMA parameter from a spec: (low, high) range, a list of categories, or a bool field."""
    ema = _import_ema()
    field = ModelParams.model_fields[resolve_name(name)]
    if isinstance(spec, tuple) and len(spec) == 2:
        lo, hi = spec
        if field.annotation is int:
            return ema.IntegerParameter(name, int(lo), int(hi))
        return ema.RealParameter(name, float(lo), float(hi))
    if isinstance(spec, list) and spec:
        if field.annotation is bool and set(spec) == {True, False}:
            return ema.BooleanParameter(name)
        return ema.CategoricalParameter(name, spec)
    raise ValueError(f"{name}: expected a (low, high) tuple or a non-empty list of values, got {spec!r}")


def ema_model(
    scenario: Any = None,
    *,
    uncertainties: Mapping[str, Any],
    levers: Mapping[str, Any] | None = None,
    outcomes: Sequence[str] = DEFAULT_OUTCOMES,
    steps: int | None = None,
    replications: int | None = None,
    seed: int | None = None,
    last: int = 10,
    name: str = "sociosim",
    runner: Callable[..., Any] | None = None,
    aggregate: Callable[..., Any] = np.mean,
) -> Any:
    """A sociosim scenario as an EMA Workbench `ReplicatorModel`.

    `uncertainties` and `levers` map flat parameter names to a (low, high) range or a
    list of values; the scenario's other parameters stay fixed. Each experiment runs
    `replications` seeded replicates (default: the scenario's) for `steps` steps and
    reports each outcome measure averaged over the last `last` steps; the model's
    ScalarOutcomes are `aggregate` (default the mean) over the replicates, ready for PRIM
    and optimisation. `runner(params, *, steps, seed)` defaults to `sociosim.runner.run_model`.
    """
    _require_ema()
    ema = _import_ema()
    sc = load_scenario(scenario)
    levers = dict(levers or {})
    for spec_name in [*uncertainties, *levers]:
        resolve_name(spec_name)
    overlap = set(uncertainties) & set(levers)
    if overlap:
        raise ValueError(f"levers: {sorted(overlap)} are also uncertainties; name each parameter once")
    fixed = sc.params.model_dump()
    function = SociosimFunction(
        fixed,
        steps=steps or sc.run.steps,
        root_seed=sc.run.seed if seed is None else seed,
        outcomes=outcomes,
        last=last,
        runner=runner,
    )
    model = ema.ReplicatorModel(name, function=function)
    model.uncertainties = [_ema_parameter(k, v) for k, v in uncertainties.items()]
    model.levers = [_ema_parameter(k, v) for k, v in levers.items()]
    model.outcomes = [ema.ScalarOutcome(o, function=aggregate) for o in outcomes]
    n_rep = replications or sc.run.replications
    model.replications = [{"replicate": r} for r in range(n_rep)]
    return model
