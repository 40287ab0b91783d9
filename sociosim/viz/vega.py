"""A browser-side chart widget: Vega-Lite embedded once per chart shape, then fed only new data.

Solara's own Vega-Lite widget re-embeds the whole chart whenever anything in its spec
changes; a live run changes the data every step, so this widget keeps the data apart
(`datasets`) and the browser swaps them into the existing view (a Vega changeset).
"""

from __future__ import annotations

from pathlib import Path

import ipyvuetify as v
import traitlets

from sociosim.viz.assets import chart_libraries


class VegaChart(v.VuetifyTemplate):
    """`spec`: the Vega-Lite chart without its data; `datasets`: its named data sets, by name.

    `libraries` names the installed script assets the browser loads (see `viz.assets`).
    """

    template_file = str(Path(__file__).with_name("vue") / "vega_chart.vue")
    spec = traitlets.Dict().tag(sync=True)
    datasets = traitlets.Dict().tag(sync=True)
    libraries = traitlets.Dict(chart_libraries()).tag(sync=True)
