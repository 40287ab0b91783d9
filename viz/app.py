"""The sociosim browser view for `solara run viz/app.py`; the page lives in `sociosim.viz.page`."""

from sociosim.viz.page import Page  # noqa: F401
