"""Matplotlib figures of the browser view, one function per panel, each drawn from a model's state.

Each model keeps one figure per panel, updated in place each frame (see the figure cache below).

They use `matplotlib.figure.Figure` (no pyplot state), so the page can build them from
Solara's render threads, and the benchmark and tests can call them without a browser.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba_array
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from sociosim.model.model import AlignmentModel
from sociosim.viz.layout import layout_for

CULTURE_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
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


def culture_colour(c: int) -> str:
    """The colour of culture `c`, the same in every panel."""
    return CULTURE_COLOURS[c % len(CULTURE_COLOURS)]


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


@dataclass(frozen=True)
class Panel:
    """A time-series panel: its title, the measures it plots (name, legend label) and y label."""

    title: str
    lines: tuple[tuple[str, str], ...]
    ylabel: str
    right: tuple[tuple[str, str], ...] = ()
    right_label: str = ""


PANELS: dict[str, Panel] = {
    "goodhart": Panel(
        "Goodhart: the reward model's score vs real value",
        (
            ("proxy", "proxy (reward model's score)"),
            ("true_utility", "true utility"),
            ("gap", "gap = proxy − true"),
        ),
        "relative to the base model",
    ),
    "cultures": Panel("Who benefits: true utility per culture", (), "utility gain vs base model"),
    "society": Panel(
        "Society: diversity of values and cultures",
        (("value_diversity", "value diversity"),),
        "total variance of values",
        right=(("culture_separation", "culture separation (1 = as at start)"),),
        right_label="separation",
    ),
    "trust": Panel(
        "Trust vs reliability",
        (
            ("trust_mean", "users' mean trust"),
            ("reliability", "real reliability"),
            ("overtrust", "overtrust = trust − reliability"),
        ),
        "share (0–1)",
    ),
    "flattery": Panel(
        "Sycophancy and human-like persona",
        (("sycophancy", "sycophancy (agrees with user)"), ("anthro", "anthropomorphism (persona)")),
        "mean under the policy",
    ),
}


def _culture_lines(model: AlignmentModel, frame: pd.DataFrame) -> list[tuple[str, str, str]]:
    names = sorted(
        (c for c in frame.columns if c.startswith("utility_") and c.removeprefix("utility_").isdigit()),
        key=lambda c: int(c[8:]),
    )
    return [(name, culture_label(model, int(name[8:])), culture_colour(int(name[8:]))) for name in names]


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


# --- the time series ------------------------------------------------------------------------


def _event_legend(ax: Any, base_handles: list[Any], base_labels: list[str]) -> None:
    handles, labels = list(base_handles), list(base_labels)
    event_h, event_l = ax.get_legend_handles_labels()
    for h, lab in zip(event_h, event_l, strict=True):
        if lab not in labels:
            handles.append(h)
            labels.append(lab)
    ax.legend(handles, labels, fontsize=7, loc="best", framealpha=0.8)


def _mark_new_interventions(ax: Any, events: list[dict[str, Any]], labelled: set[bool]) -> None:
    """`_mark_interventions` for the events not drawn yet (`labelled`: the outcomes already in the legend)."""
    for event in events:
        complied = bool(event["complied"])
        label = None
        if complied not in labelled:
            label = "regulator intervenes" if complied else "regulator ignored"
            labelled.add(complied)
        ax.axvline(
            event["step"],
            color="#c00000" if complied else "#999999",
            linestyle="--",
            linewidth=1.2,
            label=label,
            zorder=0,
        )
        ax.annotate(
            event["lever"],
            (event["step"], 1.0),
            xycoords=("data", "axes fraction"),
            fontsize=7,
            color="#c00000",
            rotation=90,
            va="top",
            ha="right",
        )


def timeseries_figure(model: AlignmentModel, panel: str) -> Figure:
    """One panel of measures against the step, with regulator interventions on the time axis."""
    with model_lock(model):
        return _timeseries_figure(model, panel)


def _timeseries_figure(model: AlignmentModel, panel: str) -> Figure:
    spec = PANELS[panel]
    frame = results_of(model)
    lines: list[tuple[str, str, str]] = []
    if len(frame) >= 2 and panel == "cultures":
        lines = _culture_lines(model, frame)
    elif len(frame) >= 2:
        lines = [(name, label, f"C{k}") for k, (name, label) in enumerate(spec.lines) if name in frame]
    right = [(k, name, label) for k, (name, label) in enumerate(spec.right) if name in frame]
    signature = (len(frame) < 2, tuple(lines), tuple(right) if spec.right else None)
    events = list(model.events)
    entry = _cached(model, panel, signature)
    if entry is not None and entry.artists.get("events", 0) > len(events):
        entry = None  # fewer events than drawn: not this history any more
    if entry is None:
        entry = _Cached(signature, _new_figure(model))
        _build_timeseries(entry, spec, panel, frame, lines, right)
        _store(model, panel, entry)
    if len(frame) < 2:
        return entry.fig
    art = entry.artists
    ax = art["ax"]
    steps = frame["step"].to_numpy()
    for name, line in art["lines"].items():
        line.set_data(steps, frame[name].to_numpy())
    for name, line in art["right"].items():
        line.set_data(steps, frame[name].to_numpy())
    drawn = art["events"]
    if len(events) > drawn or "legend" not in art:
        _mark_new_interventions(ax, events[drawn:], art["labelled"])
        art["events"] = len(events)
        _event_legend(ax, art["handles"], art["labels"])
        art["legend"] = True
    ax.set_xlim(0, max(10, int(steps[-1])))
    ax.relim()
    ax.autoscale_view()
    if "twin" in art:
        art["twin"].relim()
        art["twin"].autoscale_view()
    return entry.fig


def _build_timeseries(
    entry: _Cached,
    spec: Panel,
    panel: str,
    frame: pd.DataFrame,
    lines: list[tuple[str, str, str]],
    right: list[tuple[int, str, str]],
) -> None:
    """The parts of a time-series panel that stay from frame to frame; the data come in the update."""
    fig = entry.fig
    fig.subplots_adjust(**(MARGINS | {"right": 0.88} if spec.right else MARGINS))
    ax = fig.add_subplot()
    ax.set_title(spec.title, fontsize=11, loc="left")
    ax.set_xlabel("step")
    ax.set_ylabel(spec.ylabel, fontsize=9)
    if len(frame) < 2:
        ax.text(
            0.5,
            0.5,
            "press Step or ▶ to start",
            ha="center",
            va="center",
            transform=ax.transAxes,
            color="#666666",
        )
        ax.set_xlim(0, 10)
        return
    steps = frame["step"].to_numpy()
    if panel == "cultures":
        ax.axhline(0.0, color="#888888", linewidth=0.8)
    drawn: dict[str, Any] = {}
    for name, label, colour in lines:
        style = ":" if name in {"gap", "overtrust"} else "-"
        (drawn[name],) = ax.plot(
            steps, frame[name].to_numpy(), style, color=colour, label=label, linewidth=1.8
        )
    handles, labels = ax.get_legend_handles_labels()
    twin_lines: dict[str, Any] = {}
    art: dict[str, Any] = {"ax": ax, "lines": drawn, "right": twin_lines, "events": 0, "labelled": set()}
    if spec.right:
        twin = ax.twinx()
        for k, name, label in right:
            (twin_lines[name],) = twin.plot(
                steps, frame[name].to_numpy(), "--", color=f"C{k + 4}", label=label, linewidth=1.8
            )
        twin.set_ylabel(spec.right_label, fontsize=9)
        more_h, more_l = twin.get_legend_handles_labels()
        handles, labels = handles + more_h, labels + more_l
        art["twin"] = twin
    art["handles"], art["labels"] = handles, labels
    few_ticks(ax)
    ax.grid(alpha=0.3)
    entry.artists = art


# --- the society and the model --------------------------------------------------------------


def society_figure(model: AlignmentModel) -> Figure:
    """The users' network: colour = culture, size and opacity = trust; churned users as grey crosses."""
    with model_lock(model):
        return _society_figure(model)


def _society_figure(model: AlignmentModel) -> Figure:
    layout = layout_for(model)
    users = model.users
    drawn = layout.users
    culture = users.culture[drawn]
    trust = np.clip(users.trust[drawn].max(axis=1), 0.0, 1.0)  # trust in the lab each trusts most
    active = users.active[drawn]
    n_colours = int(users.culture.max()) + 1
    colours = np.array([culture_colour(int(c)) for c in range(n_colours)])[culture]
    rgba = np.zeros((len(drawn), 4))
    rgba[:] = to_rgba_array(colours)
    rgba[:, 3] = 0.25 + 0.75 * trust
    on = active
    any_off = bool((~on).any())
    labels = tuple(culture_label(model, c) for c in range(model.cultures.count))
    signature = (id(layout), len(drawn), layout.total_users, any_off, labels)
    entry = _cached(model, "network", signature)
    if entry is None:
        entry = _Cached(signature, _new_figure(model))
        _build_society(entry, model, layout, labels)
        _store(model, "network", entry)
    art = entry.artists
    xy = layout.xy
    art["on"].set_offsets(xy[on])
    art["on"].set_sizes(4 + 40 * trust[on])
    art["on"].set_facecolors(rgba[on])
    if any_off:
        art["off"].set_offsets(xy[~on])
    art["text"].set_text(
        f"mean trust {users.trust.max(axis=1).mean():.2f} · still using {users.active.mean():.0%}"
    )
    return entry.fig


def _build_society(entry: _Cached, model: AlignmentModel, layout: Any, labels: tuple[str, ...]) -> None:
    drawn = layout.users
    any_off = entry.signature[3]
    fig = entry.fig
    fig.subplots_adjust(left=0.01, right=0.72, bottom=0.08, top=0.84)
    ax = fig.add_subplot()
    shown = (
        f"{len(drawn):,} of {layout.total_users:,} users"
        if len(drawn) < layout.total_users
        else f"{layout.total_users:,} users"
    )
    ax.set_title(
        f"The society ({shown})\ncolour = culture, size and opacity = trust", fontsize=11, loc="left"
    )
    if len(layout.edges):
        segments = layout.xy[layout.edges]
        ax.add_collection(LineCollection(segments, colors="#b0b0b0", linewidths=0.3, alpha=0.35, zorder=0))
    # every drawn user is in one of the two scatters, so the data limits are the layout's and stay put
    art: dict[str, Any] = {}
    art["on"] = ax.scatter(layout.xy[:, 0], layout.xy[:, 1], s=4, c="#000000", linewidths=0, zorder=1)
    if any_off:
        art["off"] = ax.scatter(
            layout.xy[:, 0],
            layout.xy[:, 1],
            s=10,
            c="#888888",
            marker="x",
            linewidths=0.6,
            zorder=1,
            label="stopped using the model",
        )
    for c, label in enumerate(labels):
        ax.scatter([], [], s=30, color=culture_colour(c), label=label)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
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


FIGURES = {
    "network": society_figure,
    "policy": policy_figure,
    **{name: (lambda model, _name=name: timeseries_figure(model, _name)) for name in PANELS},
}


def render_all(model: AlignmentModel) -> dict[str, bytes]:
    """Every panel of the page as image bytes, as the browser receives them (used by the benchmark)."""
    import io

    images: dict[str, bytes] = {}
    with model_lock(model):
        for name, build in FIGURES.items():
            buffer = io.BytesIO()
            build(model).savefig(buffer, **PNG_OPTIONS)
            images[name] = buffer.getvalue()
    return images
