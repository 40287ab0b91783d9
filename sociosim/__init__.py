"""sociosim: agent-based simulation of why feedback-based AI alignment fails, built on Mesa.

Public names (DESIGN §7): `run`, `AlignmentModel`, `load_scenario`, `run_batch`. They are
imported on first use, so `import sociosim` stays cheap.
"""

from sociosim._lazy import lazy_exports
from sociosim._version import __version__

_EXPORTS = {
    "AlignmentModel": "sociosim.model.model",
    "ModelParams": "sociosim.config.params",
    "make_params": "sociosim.config.params",
    "ScenarioError": "sociosim.errors",
    "Scenario": "sociosim.config.scenario",
    "load_scenario": "sociosim.config.scenario",
    "RunResult": "sociosim.runner",
    "run": "sociosim.runner",
    "run_model": "sociosim.runner",
    "run_scenario": "sociosim.runner",
    "run_batch": "sociosim.batch.execute",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = ["__version__", *_EXPORTS]
