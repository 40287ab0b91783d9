"""The sociosim browser view for `solara run viz/app.py`; the page lives in `sociosim.viz_app`."""

from sociosim.viz_app import Page  # noqa: F401
