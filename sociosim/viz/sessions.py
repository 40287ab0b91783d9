"""The models the page's sessions hold, counted, so that dropping idle sessions can be seen to free them.

Solara drops a page session (its kernel and every model it holds) once no browser has been
connected to it for the cull timeout, which `sociosim viz --idle-timeout` sets. Each model the
page builds is registered here weakly; when a session ends, the server logs how many are
still in memory after a garbage collection, so the release is visible (and tested).
"""

from __future__ import annotations

import gc
import threading
import weakref

from sociosim.model.model import AlignmentModel

_LIVE: weakref.WeakSet[AlignmentModel] = weakref.WeakSet()
_GUARD = threading.Lock()


def track(model: AlignmentModel) -> AlignmentModel:
    """Register a model the page holds; returns it."""
    with _GUARD:
        _LIVE.add(model)
    return model


def live_models() -> int:
    """How many page models are still in memory after a full garbage collection."""
    gc.collect()
    with _GUARD:
        return len(_LIVE)


def report_after_close(delay_s: float = 2.0) -> None:
    """Log the live model count shortly after a session closed (its state is freed after the hook)."""

    def later() -> None:
        print(f"sociosim viz: a page session ended; page models in memory: {live_models()}", flush=True)

    timer = threading.Timer(delay_s, later)
    timer.daemon = True
    timer.start()
