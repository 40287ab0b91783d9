"""Render DataFrames as report tables: HTML (escaped, self-contained) and Markdown pipe tables."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd


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
    parts = ['<table class="data">']
    if caption:
        parts.append(f"<caption>{html.escape(caption)}</caption>")
    parts.append(
        "<thead><tr>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns) + "</tr></thead>"
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
    parts.append("</tbody></table>")
    if len(df) > max_rows:
        parts.append(f'<p class="note">First {max_rows} of {len(df)} rows.</p>')
    return "\n".join(parts)


def markdown_table(df: pd.DataFrame, *, digits: int = 3, max_rows: int = 200) -> str:
    """A GitHub-flavoured Markdown pipe table; long tables are cut with a note."""
    shown = df.head(max_rows)

    def cell(v: Any) -> str:
        return fmt(v, digits).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(c) for c in shown.columns) + " |"]
    lines.append("| " + " | ".join("---" for _ in shown.columns) + " |")
    for row in shown.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    if len(df) > max_rows:
        lines.append(f"\nFirst {max_rows} of {len(df)} rows.")
    return "\n".join(lines)
