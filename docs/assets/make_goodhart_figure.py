"""Redraw docs/assets/goodhart.png, the figure on the README and the docs' home page.

The goodhart_pressure study at 8 replications (112 runs, about a minute on one core):
true utility against the optimisation spent, heavy-tailed against Gaussian style.
Run from the checkout: `python docs/assets/make_goodhart_figure.py`.
"""

from pathlib import Path

import sociosim
from sociosim.analysis.figures import figure_formats, plot_goodhart

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    result = sociosim.run_batch("goodhart_pressure", replications=8, store="results/goodhart_figure")
    with figure_formats(("png",)):
        plot_goodhart(
            result.store.measures(),
            HERE / "goodhart",
            by="bias_tail",
            last=5,
            title="goodhart_pressure: true utility against optimisation spent",
        )
