"""Rendering a report: its sections as one self-contained HTML page (figures inlined, no external
CSS, JS or fonts) and as Markdown with linked figures.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from sociosim.analysis.report_sections import Section
from sociosim.analysis.tables import html_table, markdown_table

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#1a1a1a;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid #ccc}
.scroll{max-width:100%;overflow-x:auto;margin:.8em 0}
table.data{border-collapse:collapse;font-size:.85em;max-width:100%}
table.data th,table.data td{border:1px solid #d0d0d0;padding:.25em .45em;text-align:left;vertical-align:top;
overflow-wrap:break-word}
table.data td[data-col=claim],table.data td[data-col=meaning]{min-width:10em}
table.data td.num{text-align:right;font-variant-numeric:tabular-nums}
table.data thead th{background:#f0f0f0}caption{text-align:left;font-weight:600;padding:.3em 0}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.85em;color:#444}.note{color:#666;font-size:.85em}.error{color:#a00}
nav ul{columns:2;font-size:.9em}
@media (max-width:960px){body{padding:0 .5em}table.data{font-size:.72em}
table.data th,table.data td{padding:.2em .25em}nav ul{columns:1}}
@media print{
body{max-width:none;margin:0;padding:0;font-size:10pt}nav{display:none}
.scroll{overflow:visible}table.data{font-size:7.5pt}
h2{break-after:avoid}figure,tr,caption{break-inside:avoid}figure img{max-height:24cm}
a{color:inherit;text-decoration:none}
@page{size:A4;margin:1.5cm}
}
"""


def _png_data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def render_html(title: str, sections: list[Section], skipped: dict[str, str]) -> str:
    """The self-contained HTML document."""
    esc = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
    ]
    out.append(
        "<nav><ul>"
        + "".join(f'<li><a href="#{s.key}">{esc(s.title)}</a></li>' for s in sections)
        + "</ul></nav>"
    )
    for s in sections:
        out.append(f'<section id="{s.key}"><h2>{esc(s.title)}</h2>')
        if s.error:
            out.append(f'<p class="error">This section could not be computed: {esc(s.error)}</p>')
        out += [f"<p>{esc(p)}</p>" for p in s.paragraphs]
        out += [html_table(t, caption=c) for c, t in s.tables]
        for cap, path in s.figures:
            out.append(
                f'<figure><img alt="{esc(cap)}" src="{_png_data_uri(path)}"><figcaption>{esc(cap)}</figcaption></figure>'
            )
        out += [f'<p class="note">{esc(p)}</p>' for p in s.notes]
        out.append("</section>")
    if skipped:
        out.append('<section id="skipped"><h2>Sections not shown</h2><ul>')
        out += [f"<li>{esc(k)}: {esc(v)}</li>" for k, v in skipped.items()]
        out.append("</ul></section>")
    out.append("</body></html>")
    return "\n".join(out)


def render_markdown(title: str, sections: list[Section], skipped: dict[str, str], out_dir: Path) -> str:
    """The Markdown document, figures linked relative to `out_dir`."""
    out = [f"# {title}", ""]
    for s in sections:
        out += [f"## {s.title}", ""]
        if s.error:
            out += [f"*This section could not be computed: {s.error}*", ""]
        for p in s.paragraphs:
            out += [p, ""]
        for cap, t in s.tables:
            out += [f"**{cap}**", "", markdown_table(t), ""]
        for cap, path in s.figures:
            rel = path.relative_to(out_dir).as_posix()
            svg = path.with_suffix(".svg")
            link = f" ([SVG]({svg.relative_to(out_dir).as_posix()}))" if svg.exists() and svg != path else ""
            out += [f"![{cap}]({rel})", "", f"*{cap}*{link}", ""]
        for p in s.notes:
            out += [f"*{p}*", ""]
    if skipped:
        out += ["## Sections not shown", ""] + [f"- {k}: {v}" for k, v in skipped.items()] + [""]
    return "\n".join(out)


__all__ = ["CSS", "render_html", "render_markdown"]
