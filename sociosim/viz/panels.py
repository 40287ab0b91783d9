"""Matplotlib figures of the browser view's two image panels (society, policy), drawn from a model's state.

Each model keeps one figure per panel, updated in place each frame (see the figure cache below).

They use `matplotlib.figure.Figure` (no pyplot state), so the page can build them from
Solara's render threads, and the benchmark and tests can call them without a browser.
"""

from __future__ import annotations

import io
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from sociosim.model.model import AlignmentModel
from sociosim.viz.charts import culture_colour
from sociosim.viz.layout import layout_for

FIG_SIZE = (6.4, 3.8)
DPI = 80
PNG_OPTIONS = {
    "format": "png",
    "pil_kwargs": {"compress_level": 1},
}  # fast encoding; size matters less than time
MARGINS = {"left": 0.11, "right": 0.97, "bottom": 0.15, "top": 0.9}


def few_ticks(ax: Any) -> None:
    """At most five ticks a side: tick labels are half the cost of drawing a small panel."""
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.yaxis.set_major_locator(MaxNLocator(5))


def culture_label(model: AlignmentModel, c: int) -> str:
    """`culture c`, marked when it dominates the annotator pool."""
    return f"culture {c}" + (" (annotators' majority)" if c == model.cultures.dominant else "")


# --- the measures over time ---------------------------------------------------------------

_FRAMES: weakref.WeakKeyDictionary[Any, tuple[int, pd.DataFrame]] = weakref.WeakKeyDictionary()


def results_of(model: AlignmentModel) -> pd.DataFrame:
    """The model's step measures (with step 0 when the model kept it), rebuilt at most once per step."""
    cached = _FRAMES.get(model)
    if cached is not None and cached[0] == model.steps:
        return cached[1]
    frame = model.results()
    initial = getattr(model, "initial_measures", None)
    if initial:
        start = pd.DataFrame([{"step": 0, **initial}])
        frame = start if frame.empty else pd.concat([start, frame], ignore_index=True)
    _FRAMES[model] = (model.steps, frame)
    return frame


# --- the per-model figure cache -------------------------------------------------------------
#
# Building a panel afresh (Figure, axes, ticks, legend) costs more than drawing it, so each
# model keeps one figure per panel and each frame only updates the artists' data. A panel is
# rebuilt from scratch when its structure changes (the lines it shows, its legend entries).


class PanelFigure(Figure):
    """A cached panel figure: `savefig` holds the model's lock, so a concurrent update cannot interleave."""

    lock: threading.RLock

    def savefig(self, *args: Any, **kwargs: Any) -> None:
        with self.lock:
            super().savefig(*args, **kwargs)


@dataclass
class _Cached:
    """One panel of one model: its figure, the structure it was built for and the artists to update."""

    signature: Any
    fig: PanelFigure
    artists: dict[str, Any] = field(default_factory=dict)


_LOCKS_GUARD = threading.Lock()
_LOCKS: weakref.WeakKeyDictionary[Any, threading.RLock] = weakref.WeakKeyDictionary()
_PANELS: weakref.WeakKeyDictionary[Any, dict[str, _Cached]] = weakref.WeakKeyDictionary()


def model_lock(model: AlignmentModel) -> threading.RLock:
    """The lock serialising the drawing of one model's panels (Solara and Mesa's play thread may both render)."""
    with _LOCKS_GUARD:
        lock = _LOCKS.get(model)
        if lock is None:
            lock = _LOCKS[model] = threading.RLock()
        return lock


def _new_figure(model: AlignmentModel) -> PanelFigure:
    fig = PanelFigure(figsize=FIG_SIZE, dpi=DPI, layout=None)
    fig.lock = model_lock(model)
    # an Agg canvas of its own: savefig then keeps its renderer, and with it the text-size cache,
    # from frame to frame instead of switching to a new canvas (and renderer) on every save
    FigureCanvasAgg(fig)
    return fig


def _cached(model: AlignmentModel, panel: str, signature: Any) -> _Cached | None:
    entry = _PANELS.get(model, {}).get(panel)
    return entry if entry is not None and entry.signature == signature else None


def _store(model: AlignmentModel, panel: str, entry: _Cached) -> PanelFigure:
    _PANELS.setdefault(model, {})[panel] = entry
    return entry.fig


# --- the society and the model --------------------------------------------------------------


def society_figure(model: AlignmentModel) -> Figure:
    """The users' network: colour and size = trust, position = culture; churned users as grey crosses."""
    with model_lock(model):
        return _society_figure(model)


TRUST_CMAP = "viridis"  # colour-blind safe, dark = low trust, yellow = high


def society_state(model: AlignmentModel) -> tuple[np.ndarray, np.ndarray]:
    """Trust (to the hundredth) and activity of the drawn users: the society panel changes only with these."""
    drawn = layout_for(model).users
    trust = model.users.trust[drawn].max(
        axis=1
    )  # trust in the lab each user trusts most (one lab: its trust)
    return np.round(np.clip(trust, 0.0, 1.0), 2), model.users.active[drawn].copy()


def _society_figure(model: AlignmentModel) -> Figure:
    layout = layout_for(model)
    users = model.users
    trust, on = society_state(model)
    any_off = bool((~on).any())
    labels = tuple(culture_label(model, c) for c in range(model.cultures.count))
    signature = (id(layout), len(layout.users), layout.total_users, any_off, labels)
    entry = _cached(model, "network", signature)
    if entry is None:
        entry = _Cached(signature, _new_figure(model))
        _build_society(entry, model, layout, labels)
        _store(model, "network", entry)
    art = entry.artists
    xy = layout.xy
    art["on"].set_offsets(xy[on])
    art["on"].set_sizes(3 + 45 * trust[on])
    art["on"].set_array(trust[on])
    if any_off:
        art["off"].set_offsets(xy[~on])
    churned = 1.0 - float(users.active.mean())
    art["text"].set_text(
        f"mean trust {users.trust.max(axis=1).mean():.2f} (at start {art['trust0']:.2f}) · stopped using it {churned:.0%}"
    )
    return entry.fig


def _build_society(entry: _Cached, model: AlignmentModel, layout: Any, labels: tuple[str, ...]) -> None:
    drawn = layout.users
    any_off = entry.signature[3]
    fig = entry.fig
    fig.subplots_adjust(left=0.01, right=0.86, bottom=0.08, top=0.86)
    ax = fig.add_subplot()
    shown = (
        f"{len(drawn):,} of {layout.total_users:,} users"
        if len(drawn) < layout.total_users
        else f"{layout.total_users:,} users"
    )
    ax.set_title(
        f"The society ({shown})\ncolour and size = trust; one cluster per culture", fontsize=11, loc="left"
    )
    if len(layout.edges):
        segments = layout.xy[layout.edges]
        ax.add_collection(LineCollection(segments, colors="#b0b0b0", linewidths=0.3, alpha=0.35, zorder=0))
    # every drawn user is in one of the two scatters, so the data limits are the layout's and stay put
    art: dict[str, Any] = {
        "trust0": float(getattr(model, "initial_measures", {}).get("trust_mean", model.users.trust.mean()))
    }
    art["on"] = ax.scatter(
        layout.xy[:, 0], layout.xy[:, 1], s=4, c=np.zeros(len(drawn)), cmap=TRUST_CMAP, vmin=0.0, vmax=1.0,
        linewidths=0, zorder=1,
    )  # fmt: skip
    if any_off:
        art["off"] = ax.scatter(
            layout.xy[:, 0], layout.xy[:, 1], s=12, c="#d62728", marker="x", linewidths=0.8, zorder=2,
            label="stopped using the model",
        )  # fmt: skip
        ax.legend(fontsize=7, loc="lower right", frameon=False)
    culture = model.users.culture[drawn]
    for c, label in enumerate(labels):
        members = layout.xy[culture == c]
        if len(members):
            x, y = members.mean(axis=0)
            ax.text(
                x, y + 0.5, label, fontsize=7, ha="center", color=culture_colour(c), weight="bold", zorder=3
            )
    bar = fig.colorbar(art["on"], ax=ax, fraction=0.04, pad=0.01)
    bar.set_label("trust", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    art["text"] = ax.text(0.0, -0.02, "", transform=ax.transAxes, fontsize=8, va="top")
    entry.artists = art


def policy_figure(model: AlignmentModel) -> Figure:
    """The policy over the response catalogue on quality × polish: bigger, darker = said more often."""
    with model_lock(model):
        return _policy_figure(model)


def _policy_figure(model: AlignmentModel) -> Figure:
    cat = model.catalogue
    policy = np.asarray(model.policy)
    m = len(policy)
    weight = policy * m  # 1 = as often as the untrained base model
    order = np.argsort(weight)
    size = np.clip(6.0 * weight, 0.0, 700.0)
    alpha = np.clip(0.15 + 0.85 * weight / 10.0, 0.15, 1.0)
    rgba = np.zeros((m, 4))
    harm = cat.harm
    span = max(float(np.ptp(harm)), 1e-9)
    level = (harm - harm.min()) / span
    rgba[:, 0] = 0.15 + 0.8 * level
    rgba[:, 1] = 0.35 * (1.0 - level)
    rgba[:, 2] = 0.75 * (1.0 - level)
    rgba[:, 3] = alpha
    frame = results_of(model)
    has_path = not frame.empty and {"quality", "polish"} <= set(frame.columns)
    signature = (id(cat), m, has_path)
    entry = _cached(model, "policy", signature)
    if entry is None:
        entry = _Cached(signature, _new_figure(model))
        _build_policy(entry, cat, has_path)
        _store(model, "policy", entry)
    art = entry.artists
    art["points"].set_offsets(np.column_stack([cat.quality[order], cat.polish[order]]))
    art["points"].set_sizes(size[order])
    art["points"].set_facecolors(rgba[order])
    if has_path:
        art["path"].set_data(frame["quality"].to_numpy(), frame["polish"].to_numpy())
    art["mean"].set_offsets([[float(policy @ cat.quality), float(policy @ cat.polish)]])
    ax = art["ax"]
    ax.relim()
    ax.autoscale_view()
    return entry.fig


def _build_policy(entry: _Cached, cat: Any, has_path: bool) -> None:
    fig = entry.fig
    fig.subplots_adjust(**MARGINS)
    ax = fig.add_subplot()
    ax.set_title("What the model says: each dot a possible answer", fontsize=11, loc="left")
    ax.scatter(cat.quality, cat.polish, s=3, color="#cccccc", linewidths=0, zorder=0)
    art: dict[str, Any] = {"ax": ax}
    art["points"] = ax.scatter(cat.quality, cat.polish, s=1.0, c="#000000", linewidths=0, zorder=1)
    if has_path:
        (art["path"],) = ax.plot([], [], color="#222222", linewidth=1.0, alpha=0.7, zorder=2)
    art["mean"] = ax.scatter(
        [0.0],
        [0.0],
        marker="*",
        s=180,
        color="#ffd700",
        edgecolors="#222222",
        linewidths=0.8,
        zorder=3,
        label="average answer (and its path)",
    )
    ax.scatter([], [], s=30, color=(0.15, 0.35, 0.75), label="low harm")
    ax.scatter([], [], s=30, color=(0.95, 0.0, 0.0), label="high harm")
    ax.legend(fontsize=7, loc="upper left", framealpha=0.8)
    ax.set_xlabel("quality: real substance →")
    ax.set_ylabel("polish: style, confidence →")
    few_ticks(ax)
    ax.grid(alpha=0.3)
    entry.artists = art


def policy_state(model: AlignmentModel) -> bytes:
    """The policy's probabilities as bytes: the policy panel changes only when they do (at retraining)."""
    return np.asarray(model.policy).tobytes()


FIGURES = {"network": society_figure, "policy": policy_figure}


def figure_png(figure: Figure) -> bytes:
    """A panel figure as the PNG bytes the browser receives."""
    buffer = io.BytesIO()
    figure.savefig(buffer, **PNG_OPTIONS)
    return buffer.getvalue()


def render_all(model: AlignmentModel) -> dict[str, bytes]:
    """Both image panels of the page as PNG bytes (used by the benchmark)."""
    with model_lock(model):
        return {name: figure_png(build(model)) for name, build in FIGURES.items()}
