"""sociosim: agent-based simulation of why feedback-based AI alignment fails, built on Mesa.

Public names (DESIGN §7): `run`, `AlignmentModel`, `load_scenario`, `run_batch`.
"""

from .config import ModelParams, ScenarioError, make_params
from .model import AlignmentModel
from .runner import RunResult, run, run_model, run_scenario
from .scenario import Scenario, load_scenario

__version__ = "0.1.0"


def run_batch(*args, **kwargs):
    """Run a scenario batch (sweep x replications) into a Parquet store; see `sociosim.batch`."""
    from .batch import run_batch as _run_batch

    return _run_batch(*args, **kwargs)


__all__ = [
    "AlignmentModel",
    "ModelParams",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "make_params",
    "run",
    "run_batch",
    "run_model",
    "run_scenario",
]
