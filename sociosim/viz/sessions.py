"""The models the page's sessions hold, counted, so that dropping idle sessions can be seen to free them.

Solara drops a page session (its kernel and every model it holds) once no browser has been
connected to it for the cull timeout, which `sociosim viz --idle-timeout` sets. Each model the
page builds is registered here weakly; when a session ends, the server logs how many are
still in memory after a garbage collection, so the release is visible (and tested).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
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


def return_freed_memory() -> None:
    """Hand freed heap memory back to the operating system (glibc only; elsewhere a no-op).

    Python keeps freed small blocks for reuse, so without this the server's resident size
    would not fall after sessions end, although their models are gone.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)


def report_after_close(delay_s: float = 2.0) -> None:
    """Log the live model count shortly after a session closed (its state is freed after the hook)."""

    def later() -> None:
        alive = live_models()
        return_freed_memory()
        print(f"sociosim viz: a page session ended; page models in memory: {alive}", flush=True)

    timer = threading.Timer(delay_s, later)
    timer.daemon = True
    # Solara hands each new thread the session it was created in (`current_context`); this
    # one must not, or it would keep the ended session, and every model in it, alive.
    if hasattr(timer, "current_context"):
        timer.current_context = None
    timer.start()
