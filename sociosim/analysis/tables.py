"""Render DataFrames as report tables: HTML (escaped, self-contained) and Markdown pipe tables.

Headers are human names: a table's own `attrs["labels"]`, else the generic names below,
else a measure's label from the measures registry, else the column name. Each HTML cell
keeps its column's name in `data-col`, so a reader (or a test) can find a number by column.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sociosim.model.measures import is_measure, measure_label

# Display names of the analysis tables' generic columns (measures are named by the registry).
COLUMN_LABELS = {
    "id": "#",
    "level": "arm",
    "n": "n",
    "mean_baseline": "baseline mean",
    "mean_level": "arm mean",
    "diff": "difference",
    "diff_lo": "95 % CI low",
    "diff_hi": "95 % CI high",
    "diff_ci": "difference [95 % CI]",
    "effect_size": "standardised effect",
    "effect_ci": "standardised effect [95 % CI]",
    "effect_lo": "effect CI low",
    "effect_hi": "effect CI high",
    "median_diff": "median difference",
    "share_down": "share of catalogues below",
    "share_up": "share of catalogues above",
    "share": "share of catalogues the claimed way",
    "p": "p",
    "p_holm": "p (Holm)",
    "effect_note": "note",
    "excludes_zero": "CI excludes 0",
    "estimate": "estimate",
    "lo": "95 % CI low",
    "hi": "95 % CI high",
    "slope_lo": "slope CI low",
    "slope_hi": "slope CI high",
    "intercept_lo": "intercept CI low",
    "intercept_hi": "intercept CI high",
    "r2": "R²",
    "slope_nonzero": "slope ≠ 0",
}


def header(column: Any, labels: Mapping[str, str] | None = None) -> str:
    """The display name of a column."""
    name = str(column)
    if labels and name in labels:
        return labels[name]
    if name in COLUMN_LABELS:
        return COLUMN_LABELS[name]
    return measure_label(name) if is_measure(name) else name


def interval_text(estimate: float, lo: float, hi: float, digits: int = 3) -> str:
    """'−0.960 [−2.408, −0.402]': an estimate with its CI in one cell (blank CI when undefined)."""
    if not np.isfinite(estimate):
        return ""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return fmt(estimate, digits)
    return f"{fmt(estimate, digits)} [{fmt(lo, digits)}, {fmt(hi, digits)}]"


def fmt(value: Any, digits: int = 3) -> str:
    """A table cell as text: floats to `digits` significant decimals, booleans as yes/no, NaN blank."""
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        v = float(value)
        if math.isnan(v):
            return ""
        if math.isinf(v):
            return "∞" if v > 0 else "−∞"
        if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
            return f"{v:.{digits}g}"
        return f"{v:.{digits}f}"
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)


def select(df: pd.DataFrame, columns: Sequence[str], rename: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The listed columns that exist, optionally renamed for display."""
    out = df[[c for c in columns if c in df.columns]]
    return out.rename(columns=dict(rename or {}))


def html_table(df: pd.DataFrame, *, digits: int = 3, caption: str | None = None, max_rows: int = 200) -> str:
    """An escaped HTML table (numbers right-aligned) with an optional caption; long tables are cut."""
    shown = df.head(max_rows)
    parts = ['<div class="scroll"><table class="data">']
    if caption:
        parts.append(f"<caption>{html.escape(caption)}</caption>")
    labels = df.attrs.get("labels")
    parts.append(
        "<thead><tr>"
        + "".join(f"<th>{html.escape(header(c, labels))}</th>" for c in shown.columns)
        + "</tr></thead>"
    )
    parts.append("<tbody>")
    names = [html.escape(str(c), quote=True) for c in shown.columns]
    for row in shown.itertuples(index=False):
        cells = []
        for name, v in zip(names, row, strict=True):
            cls = (
                ' class="num"'
                if isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
                else ""
            )
            cells.append(f'<td data-col="{name}"{cls}>{html.escape(fmt(v, digits))}</td>')
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</tbody></table></div>")
    if len(df) > max_rows:
        parts.append(f'<p class="note">First {max_rows} of {len(df)} rows.</p>')
    return "\n".join(parts)


def markdown_table(df: pd.DataFrame, *, digits: int = 3, max_rows: int = 200) -> str:
    """A GitHub-flavoured Markdown pipe table; long tables are cut with a note."""
    shown = df.head(max_rows)

    def cell(v: Any) -> str:
        return fmt(v, digits).replace("|", "\\|").replace("\n", " ")

    labels = df.attrs.get("labels")
    lines = ["| " + " | ".join(cell(header(c, labels)) for c in shown.columns) + " |"]
    lines.append("| " + " | ".join("---" for _ in shown.columns) + " |")
    for row in shown.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    if len(df) > max_rows:
        lines.append(f"\nFirst {max_rows} of {len(df)} rows.")
    return "\n".join(lines)
