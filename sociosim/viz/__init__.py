"""The browser view: the Solara page, its panels, controls and layout, and the server launcher."""
