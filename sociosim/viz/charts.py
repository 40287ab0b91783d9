"""The time-series panels as Vega-Lite specs (built with Altair), drawn by the browser.

The server sends a few hundred numbers per panel and frame, not a PNG; the browser's
Vega draws them. The same builder serves the live run and a stored run on replay, where
two runs share their axes (`x_max`, `y_domain`) so they can be compared by eye.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import altair as alt
import pandas as pd

CULTURE_COLOURS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip
WIDTH, HEIGHT = "container", 210
MAX_POINTS = 400  # steps per line sent to the browser; longer runs are thinned evenly (last step kept)


def culture_colour(c: int) -> str:
    """The colour of culture `c`, the same in every panel."""
    return CULTURE_COLOURS[c % len(CULTURE_COLOURS)]


@dataclass(frozen=True)
class Panel:
    """A time-series panel: its title, the measures it plots (column, legend label), its y label."""

    title: str
    lines: tuple[tuple[str, str], ...]
    ylabel: str
    caption: str
    dashed: tuple[str, ...] = ()


PANELS: dict[str, Panel] = {
    "goodhart": Panel(
        "Goodhart: the reward model's score vs real value",
        (("proxy", "proxy (reward model's score)"), ("true_utility", "true utility"), ("gap", "gap = proxy − true")),
        "relative to the base model",
        "When proxy rises but true utility does not, the model is learning to please the reward, not to help (Goodhart).",
        dashed=("gap",),
    ),
    "cultures": Panel(
        "Who benefits: true utility per culture",
        (),
        "utility gain vs base model",
        "Gain in true utility for each culture over the untrained model: unequal lines mean value imposition.",
    ),
    "society": Panel(
        "Society: diversity of values and cultures",
        (("value_diversity", "value diversity"), ("culture_separation", "culture separation (1 = as at start)")),
        "value",
        "Falling diversity and separation mean the model is homogenising the society's values.",
    ),
    "trust": Panel(
        "Trust vs reliability",
        (("trust_mean", "users' mean trust"), ("reliability", "real reliability"), ("overtrust", "overtrust = trust − calibrated trust")),
        "share (0–1)",
        "Users' trust against how often the model really succeeds; overtrust (trust beyond what the real outcomes warrant) above 0 is misplaced trust.",
        dashed=("overtrust",),
    ),
    "labs": Panel(
        "Competing labs: share of users' queries",
        (),
        "share of queries",
        "Each lab's share of the users' queries (only with several labs): a rising line is a lab winning users.",
    ),
    "lab_utility": Panel(
        "Competing labs: what each lab's answers are worth",
        (),
        "true utility vs base model",
        "True utility of each lab's policy (only with several labs): the lab users flock to need not be the one that serves them best.",
    ),
    "flattery": Panel(
        "Sycophancy and human-like persona",
        (("sycophancy", "sycophancy (agrees with user)"), ("anthro", "anthropomorphism (persona)")),
        "mean under the policy",
        "How often the model agrees with users regardless of truth, and how human-like it acts.",
    ),
}  # fmt: skip


# panels drawn from per-lab columns (recorded only when several labs compete): panel -> column prefix
LAB_PANELS = {"labs": "share_", "lab_utility": "true_utility_"}


def panel_lines(panel: str, columns: Any, dominant: int | None = None) -> list[tuple[str, str, str]]:
    """(column, label, colour) of each line a panel draws from a frame with these columns."""
    if panel == "cultures":
        names = sorted(
            (c for c in columns if c.startswith("utility_") and c.removeprefix("utility_").isdigit()),
            key=lambda c: int(c[8:]),
        )
        return [
            (n, f"culture {n[8:]}" + (" (annotators' majority)" if int(n[8:]) == dominant else ""), culture_colour(int(n[8:])))
            for n in names
        ]  # fmt: skip
    palette = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")
    if panel in LAB_PANELS:  # one line per lab, from the per-lab columns
        prefix = LAB_PANELS[panel]
        labs = sorted(
            int(c[len(prefix) :]) for c in columns if c.startswith(prefix) and c[len(prefix) :].isdigit()
        )
        return [(f"{prefix}{lab}", f"lab {lab}", palette[lab % len(palette)]) for lab in labs]
    return [(n, label, palette[k]) for k, (n, label) in enumerate(PANELS[panel].lines) if n in columns]


def y_extent(frames: list[pd.DataFrame], panel: str) -> tuple[float, float] | None:
    """The y range that holds every line of `panel` in all `frames` (shared axes for comparison)."""
    lo, hi = math.inf, -math.inf
    for frame in frames:
        for column, _, _ in panel_lines(panel, frame.columns):
            values = frame[column].dropna()
            if len(values):
                lo, hi = min(lo, float(values.min())), max(hi, float(values.max()))
    if not math.isfinite(lo):
        return None
    pad = 0.05 * (hi - lo) if hi > lo else 0.05
    return lo - pad, hi + pad


def thinned(frame: pd.DataFrame, limit: int = MAX_POINTS) -> pd.DataFrame:
    """At most `limit` rows, evenly spaced, always with the first and the last (a frame's cost stays flat)."""
    if len(frame) <= limit:
        return frame
    keep = sorted({*range(0, len(frame), -(-len(frame) // (limit - 1))), len(frame) - 1})
    return frame.iloc[keep]


def series_spec(frame: pd.DataFrame, panel: str, **options: Any) -> dict[str, Any]:
    """The Vega-Lite spec of one panel with its data inline; `options` are `series_parts`'."""
    template, datasets = series_parts(frame, panel, **options)
    return {**template, "datasets": datasets}


def series_parts(
    frame: pd.DataFrame,
    panel: str,
    *,
    events: list[dict[str, Any]] | None = None,
    dominant: int | None = None,
    x_max: float | None = None,
    y_domain: tuple[float, float] | None = None,
    marker: int | None = None,
    title: str | None = None,
) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """A panel's spec without data (built by Altair once per shape, then the same object) and its data sets.

    Its measures against the step, interventions as rules; `marker` draws a vertical line
    at that step (the replay's current step).
    """
    lines = tuple(panel_lines(panel, frame.columns, dominant))
    columns = [c for c, _, _ in lines]
    frame = thinned(frame)
    labels = {c: label for c, label, _ in lines}
    long = frame[["step", *columns]].melt("step", var_name="column", value_name="value").dropna()
    long["measure"] = long["column"].map(labels)
    long["dashed"] = long["column"].isin(PANELS[panel].dashed)
    rules = [
        {"step": e["step"], "what": f"regulator: {e['lever']}" + ("" if e["complied"] else " (ignored)")}
        for e in events or []
    ]
    y = tuple(y_domain) if y_domain else None
    template = _template(panel, lines, x_max, y, title, bool(rules), marker is not None)
    datasets: dict[str, list[dict[str, Any]]] = {
        "series": long[["step", "measure", "value", "dashed"]].to_dict("records")
    }
    if rules:
        datasets["events"] = rules
    if marker is not None:
        datasets["marker"] = [{"step": marker}]
    return template, datasets


@functools.lru_cache(maxsize=256)
def _template(
    panel: str,
    lines: tuple[tuple[str, str, str], ...],
    x_max: float | None,
    y_domain: tuple[float, float] | None,
    title: str | None,
    has_events: bool,
    has_marker: bool,
) -> dict[str, Any]:
    """The data-free part of a panel's spec; the data are named sets filled per frame."""
    spec = PANELS[panel]
    x_scale = (
        alt.Scale(domain=[0, max(10.0, x_max)], nice=False) if x_max is not None else alt.Scale(domainMin=0)
    )
    y_scale = alt.Scale(domain=list(y_domain), nice=False) if y_domain else alt.Scale(zero=False)
    chart = alt.Chart(alt.NamedData(name="series")).mark_line(strokeWidth=1.8, clip=True).encode(
        x=alt.X("step:Q", scale=x_scale, title="step", axis=alt.Axis(format="d", tickMinStep=1)),
        y=alt.Y("value:Q", scale=y_scale, title=spec.ylabel),
        color=alt.Color(
            "measure:N",
            scale=alt.Scale(domain=[label for _, label, _ in lines], range=[c for _, _, c in lines]),
            legend=alt.Legend(orient="bottom", title=None, columns=2, labelLimit=260),
        ),
        strokeDash=alt.StrokeDash("dashed:N", scale=alt.Scale(domain=[False, True], range=[[1, 0], [4, 3]]), legend=None),
        tooltip=[alt.Tooltip("measure:N"), alt.Tooltip("step:Q"), alt.Tooltip("value:Q", format=".3f")],
    )  # fmt: skip
    layers: list[Any] = [
        chart,
        alt.Chart(alt.NamedData(name="events"))
        .mark_rule(color="#c00000", strokeDash=[5, 3])
        .encode(x="step:Q", tooltip=[alt.Tooltip("what:N"), alt.Tooltip("step:Q")]),
        alt.Chart(alt.NamedData(name="marker"))
        .mark_rule(color="#222222", strokeWidth=1.5)
        .encode(x="step:Q"),
    ]
    if panel == "cultures":
        layers.append(
            alt.Chart(alt.Data(values=[{"zero": 0.0}])).mark_rule(color="#888888").encode(y="zero:Q")
        )
    out = (
        alt.layer(*layers)
        .properties(title=title or spec.title, width=WIDTH, height=HEIGHT)
        .to_dict(validate=False)
    )
    out["autosize"] = {"type": "fit-x", "contains": "padding"}
    out["usermeta"] = {"embedOptions": {"actions": False}}  # no export menu over each chart
    out.pop("$schema", None)  # the page's Vega-Lite is the one Solara ships, not Altair's schema version
    return out


def snapshot_spec(
    users: pd.DataFrame, *, title: str, domain: dict[str, list[float]] | None = None
) -> dict[str, Any]:
    """Stored users on their first two value dimensions: colour = culture, size = trust, cross = stopped.

    `domain` fixes the axes ({"value_0": [lo, hi], "value_1": [lo, hi]}) so two runs compare.
    """
    y_column = "value_1" if "value_1" in users else "value_0"
    rows = users[["user", "culture", "trust", "active", "value_0", y_column]].copy()
    rows["culture"] = rows["culture"].map(lambda c: f"culture {int(c)}")
    rows["state"] = rows["active"].map(lambda a: "using the model" if a else "stopped")
    cultures = sorted(rows["culture"].unique(), key=lambda c: int(c.split()[1]))
    scale = {k: alt.Scale(domain=v, nice=False) for k, v in (domain or {}).items()}
    chart = alt.Chart(alt.Data(values=rows.drop(columns="active").to_dict("records"))).mark_point(filled=True, opacity=0.7).encode(
        x=alt.X("value_0:Q", title="value dimension 0", scale=scale.get("value_0", alt.Scale(zero=False))),
        y=alt.Y(f"{y_column}:Q", title=f"value dimension {y_column[-1]}", scale=scale.get(y_column, alt.Scale(zero=False))),
        color=alt.Color("culture:N", scale=alt.Scale(domain=cultures, range=[culture_colour(int(c.split()[1])) for c in cultures]), legend=alt.Legend(orient="bottom", title=None)),
        size=alt.Size("trust:Q", scale=alt.Scale(domain=[0, 1], range=[4, 80]), legend=alt.Legend(orient="bottom")),
        shape=alt.Shape("state:N", scale=alt.Scale(domain=["using the model", "stopped"], range=["circle", "cross"]), legend=alt.Legend(orient="bottom", title=None)),
        tooltip=["user:Q", "culture:N", alt.Tooltip("trust:Q", format=".2f"), "state:N"],
    )  # fmt: skip
    out = chart.properties(title=title, width=WIDTH, height=260).to_dict(validate=False)
    out["autosize"] = {"type": "fit-x", "contains": "padding"}
    out["usermeta"] = {"embedOptions": {"actions": False}}
    out.pop("$schema", None)
    return out


def chart_values(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The data rows of a spec's line layer (for tests and the benchmark)."""
    return list(spec.get("datasets", {}).get("series", []))
