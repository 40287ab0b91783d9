"""Browser view render time at 10,000 users: one step of the page's server-side work (issue 6).

Measures, per step after a warm-up, (a) `model.step()`, (b) building every panel as the PNG
the browser receives (`sociosim.viz.panels.render_all`), and (c) re-rendering every page
component with `solara.render` after Mesa's `force_update()`, which is what the server
does for each Step or play tick. Reports the median wall time and the median CPU time of
this process (CPU time is the fairer figure on a shared, busy machine). Target: under 1 s.

    python benchmarks/viz_render.py [--users 10000] [--steps 5] [--warmup 20]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


def timed(action) -> tuple[float, float]:
    """Wall and CPU seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()

    import solara
    from mesa.visualization.utils import force_update

    from sociosim.viz.controls import VizModel, layout_for
    from sociosim.viz.page import COMPONENTS
    from sociosim.viz.panels import render_all

    build_wall, _ = timed(lambda: VizModel(n_users=args.users, regulator=True))
    model = VizModel(n_users=args.users, regulator=True)
    layout_wall, _ = timed(lambda: layout_for(model))
    for _ in range(args.warmup):
        model.step()
    rendered = [solara.render(component(model), handle_error=False) for component in COMPONENTS]
    render_all(model)  # warm matplotlib's caches (fonts, text metrics) as a running page has

    rows: dict[str, list[tuple[float, float]]] = {"step": [], "figures": [], "components": []}
    for _ in range(args.steps):
        rows["step"].append(timed(model.step))
        rows["figures"].append(timed(lambda: render_all(model)))
        model.step()
        rows["components"].append(timed(force_update))
    assert len(rendered) == len(COMPONENTS)

    lines = [
        f"# Browser view render time, {args.users:,} users ({len(layout_for(model).users):,} drawn), "
        f"median of {args.steps} steps after {args.warmup}",
        "",
        "| what | wall s | CPU s |",
        "|---|---|---|",
    ]
    labels = {
        "step": "model.step()",
        "figures": "all 7 panels as PNG (render_all)",
        "components": "all page components re-rendered (solara.render + force_update)",
    }
    for key, samples in rows.items():
        wall = statistics.median(s[0] for s in samples)
        cpu = statistics.median(s[1] for s in samples)
        lines.append(f"| {labels[key]} | {wall:.3f} | {cpu:.3f} |")
    lines += [
        "",
        f"model build {build_wall:.2f} s; society layout (once per model) {layout_wall * 1000:.1f} ms",
    ]
    text = "\n".join(lines)
    print(text)
    OUT.mkdir(exist_ok=True)
    (OUT / "viz_render.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
