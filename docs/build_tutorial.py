"""Build docs/tutorial.ipynb from the cells below with nbformat (no outputs are stored).

Run from the repository root: `.venv/bin/python docs/build_tutorial.py`.
`tests/test_docs.py` executes the notebook with nbclient, so it cannot rot.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

OUT = Path(__file__).resolve().parent / "tutorial.ipynb"

CELLS: list[tuple[str, str]] = [
    (
        "md",
        """# sociosim tutorial: the alignment gap in four steps

This notebook runs in about half a minute on a laptop. It

1. runs one scenario and looks at its measures,
2. plots the alignment gap against optimisation pressure (a small batch over `beta`),
3. compares two MAPS levers against no lever, with bootstrap confidence intervals,
4. shows how to watch a run in the browser.

Everything is kept small (300 users, 30–40 steps, a few replications) so it executes
quickly; the scenario files say how to scale each study up. Results go to a temporary
directory. The model itself is described in [ODD.md](ODD.md), every parameter in
[parameters.md](parameters.md).""",
    ),
    (
        "code",
        """import shutil
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

import sociosim
from sociosim.analysis import compare_policies, gap_vs_pressure, summarise_runs
from sociosim.config.scenario import library, load_scenario

pd.set_option("display.width", 120)
workdir = Path(tempfile.mkdtemp(prefix="sociosim-tutorial-"))
SMALL = {"n_users": 300}  # the defaults use 2,000 users; every study runs at any size
print("sociosim", sociosim.__version__, "- results in", workdir)""",
    ),
    (
        "md",
        """## 1. Run a scenario

The scenario library holds one documented TOML file per study (`sociosim scenarios` on
the command line). `sociosim.run` runs one of them once and returns one row per step with
every measure; keyword arguments override any parameter by its flat name.""",
    ),
    (
        "code",
        """print(sorted(library()))
baseline = load_scenario("baseline")
print(baseline.scenario.question)

df = sociosim.run("baseline", steps=40, seed=1, **SMALL)
df[["step", "proxy", "true_utility", "gap", "kl", "utility_min", "annotator_agreement", "overtrust"]].tail()""",
    ),
    (
        "md",
        """`proxy` is what the learned reward model says the policy is worth and `true_utility`
what it is really worth to the user population, both in units of the base model's spread
(0 = the untrained model). Their difference is the alignment `gap`.""",
    ),
    (
        "code",
        """fig, ax = plt.subplots(figsize=(6, 3.5))
for name in ("proxy", "true_utility", "gap"):
    ax.plot(df["step"], df[name], label=name)
ax.set_xlabel("step")
ax.set_ylabel("standardised under the base policy")
ax.legend()
ax.set_title("baseline: proxy, true utility and their gap")
plt.show()""",
    ),
    (
        "md",
        """## 2. The gap against optimisation pressure

`sociosim.run_batch` runs a scenario over a parameter design and replications and stores
every run in a Parquet results store; `result.store.measures()` is the long table (one
row per run and step). Here the `goodhart_pressure` study with its design replaced by a
grid over `beta` alone, two replications of 30 steps each. Replicate `r` uses the same
seed at every `beta` (common random numbers).""",
    ),
    (
        "code",
        """pressure = sociosim.run_batch(
    "goodhart_pressure",
    design={"method": "grid", "parameters": {"beta": [0.0, 1.0, 2.0, 4.0, 8.0]}},
    replications=2,
    steps=30,
    overrides=SMALL,
    store=workdir / "pressure",
    progress=False,
)
print(pressure.summary())
measures = pressure.store.measures()
runs = summarise_runs(measures, last=10)  # one row per run: the mean of its last 10 steps
by_beta = runs.groupby("beta")[["proxy", "true_utility", "gap", "kl"]].agg(["mean", "min", "max"])
by_beta.round(3)""",
    ),
    (
        "code",
        """fig, ax = plt.subplots(figsize=(6, 3.5))
for name in ("proxy", "true_utility", "gap"):
    mean = by_beta[(name, "mean")]
    spread = [mean - by_beta[(name, "min")], by_beta[(name, "max")] - mean]
    ax.errorbar(mean.index, mean, yerr=spread, marker="o", capsize=3, label=name)
ax.set_xlabel("optimisation pressure beta")
ax.set_ylabel("mean of the last 10 steps (bars: range over runs)")
ax.legend()
ax.set_title("proxy, true utility and gap against pressure")
plt.show()""",
    ),
    (
        "md",
        """The proxy rises with pressure and true utility rises less, so the gap opens: steeply up
to `beta = 2`, then it stays high and noisy (a reward model refitted on labels drawn from
its own policy is noisy; the full `goodhart_pressure` study uses more steps, users and
replications, and shows true utility flattening at high pressure with the heavy-tailed
style feature). `gap_vs_pressure` fits a line of the gap on `beta` over runs with a
Student-t confidence interval for its slope; a lever "cuts the slope" when its line is
flatter. Over the rising part, `beta <= 2`:""",
    ),
    (
        "code",
        """line = gap_vs_pressure(measures[measures["beta"] <= 2], x="beta")
line[["slope", "slope_lo", "slope_hi", "intercept", "slope_nonzero"]].round(3)""",
    ),
    (
        "md",
        """## 3. Two MAPS levers against no lever, with confidence intervals

The `maps_interventions` study compares the levers **M** (misspecification: the reward
model sees harm, constitution penalties), **A** (annotation), **P** (pressure: a KL
budget) and **S** (shift). Here: M and P against no lever at `beta = 2`, five
replications. `compare_policies` pairs runs on their replicate (same seed) and reports
each lever's mean difference from the baseline with a bootstrap 95 % confidence interval
and Hedges' g.""",
    ),
    (
        "code",
        """levers = sociosim.run_batch(
    "maps_interventions",
    design={"method": "grid", "parameters": {"lever": ["none", "misspecification", "pressure"]}},
    replications=5,
    steps=30,
    overrides={**SMALL, "beta": 2.0},
    store=workdir / "levers",
    progress=False,
)
print(levers.summary())
effects = compare_policies(
    levers.store.measures(),
    by="lever",
    baseline="none",
    measures=["gap", "gap_shift", "true_utility", "kl"],
)
effects[["level", "measure", "n", "mean_baseline", "mean_level", "diff", "diff_lo", "diff_hi", "effect_size"]].round(3)""",
    ),
    (
        "code",
        """fig, axes = plt.subplots(1, 2, figsize=(8, 3.2), sharey=True)
for ax, (lever, rows) in zip(axes, effects.groupby("level"), strict=True):
    rows = rows.set_index("measure")
    err = [rows["diff"] - rows["diff_lo"], rows["diff_hi"] - rows["diff"]]
    ax.errorbar(rows["diff"], range(len(rows)), xerr=err, fmt="o", capsize=3)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(range(len(rows)), rows.index)
    ax.set_title(f"{lever} - none")
    ax.set_xlabel("difference (95 % CI)")
plt.tight_layout()
plt.show()""",
    ),
    (
        "md",
        """In this small batch neither lever closes the gap: M lowers it by letting the reward
model see harm and penalising harm and agreement; P lowers it by holding the policy within
its KL budget, and gives up true utility with it (less optimisation, less gain). With more
replications and steps (`replications=20, steps=200`, 2,000 users) the intervals narrow;
`sociosim batch maps_interventions` and `sociosim report` run the full study.""",
    ),
    (
        "md",
        """## 4. Watch a run in the browser

`sociosim viz` serves a Mesa SolaraViz page: the users' network, where the policy sits
among all possible answers, live plots of proxy against true utility, per-culture
utility, homogenisation and trust, and sliders for the main parameters. Run it in a
terminal (not in this notebook: it serves until you stop it with Ctrl+C) and open
<http://127.0.0.1:8765>:

```bash
sociosim viz                         # built-in defaults
sociosim viz value_homogenization    # open a library scenario
sociosim viz --port 8800 --host 0.0.0.0
```

The cell below only prints the server command that `sociosim viz` runs; it starts
nothing.""",
    ),
    (
        "code",
        """from sociosim.viz.serve import viz_command

print(" ".join(viz_command()))""",
    ),
    (
        "code",
        """shutil.rmtree(workdir)  # the tutorial's results were temporary""",
    ),
]


def build() -> nbformat.NotebookNode:
    """The tutorial notebook, without outputs, with a python3 kernelspec."""
    cells = [new_markdown_cell(src) if kind == "md" else new_code_cell(src) for kind, src in CELLS]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{index:02d}"
    return nb


if __name__ == "__main__":
    notebook = build()
    nbformat.validate(notebook)
    nbformat.write(notebook, OUT)
    print(f"wrote {OUT} ({len(notebook.cells)} cells)")
