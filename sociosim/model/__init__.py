"""The model of DESIGN §1–§4: world, network, feedback, policy, dynamics, populations, measures, agents.

`AlignmentModel` is imported on first use (it pulls in Mesa).
"""

from sociosim._lazy import lazy_exports

_EXPORTS = {"AlignmentModel": "sociosim.model.model"}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = list(_EXPORTS)
