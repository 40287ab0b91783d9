"""One Solara control per parameter, built from its schema entry (`sociosim.viz.schema.Control`).

Every control shows its current value at all times (`name = value` above it, the slider's
thumb, the number box), the schema's description as a tooltip, the allowed range and, for a
factor the scenario's design varies, the design's values. A value outside the schema's range
is refused here with the field's message and never reaches the model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import solara

from sociosim.errors import ScenarioError
from sociosim.viz.schema import CONTROLS, check_value, parse_shares, shares_text


def value_text(value: Any) -> str:
    """A parameter value as the page prints it."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(value_text(v) for v in value) + "]"
    return str(value)


def design_text(values: Any) -> str:
    """The design's values of a factor, in words."""
    if isinstance(values, tuple):
        return f"the design samples [{values[0]:g}, {values[1]:g}]"
    return "the design runs " + ", ".join(value_text(v) for v in values)


@solara.component
def ParamControl(
    name: str,
    value: Any,
    on_value: Callable[[str, Any], None],
    *,
    applied: Any = None,
    design: Any = None,
    max_users: int,
) -> None:
    """The control of parameter `name`, from its schema entry; `applied` is the running model's value."""
    control = CONTROLS[name]
    error, set_error = solara.use_state(None)

    def accept(raw: Any) -> None:
        try:
            checked = check_value(name, raw, max_users=max_users)
        except ScenarioError as exc:
            set_error(str(exc))
            return
        set_error(None)
        on_value(name, checked)

    pending = applied is not None and value != applied
    label = f"{name} = {value_text(value)}" + ("  (press Reset to apply)" if pending else "")
    with (
        solara.Div(classes=[f"sociosim-param-{name}"]),
        solara.Column(gap="0px", classes=["sociosim-control"], style={"margin-bottom": "10px"}),
    ):
        with solara.Tooltip(control.doc):
            solara.Text(
                label, classes=["sociosim-control-label"], style={"font-weight": "bold", "font-size": "13px"}
            )
        _widget(name, value, accept, max_users, design)
        hint = f"allowed {control.range_text()}"
        if name == "n_users":
            hint += f", at most {max_users:,} on this page"
        if design is not None:
            hint += f"; {design_text(design)}"
        solara.Text(hint, style={"font-size": "11px", "color": "#666"})
        if error:
            solara.Text(
                error, classes=["sociosim-control-error"], style={"font-size": "12px", "color": "#b00020"}
            )


def _widget(name: str, value: Any, accept: Callable[[Any], None], max_users: int, design: Any) -> None:
    control = CONTROLS[name]
    if control.kind in ("int", "float"):
        design_numbers = design if isinstance(design, list) else list(design or ())
        slider = control.slider_range(value, *design_numbers, max_users=max_users)
        with solara.Row(gap="6px", style={"align-items": "center"}):
            if slider is not None and value is not None:
                lo, hi, step = slider
                shown = min(max(float(value), lo), hi)
                with solara.Column(style={"flex": "1 1 auto", "min-width": "120px"}):
                    if control.kind == "int":
                        solara.SliderInt(
                            "", value=int(shown), min=int(lo), max=int(hi), step=int(step), on_value=accept
                        )  # fmt: skip
                    else:
                        solara.SliderFloat(
                            "", value=shown, min=lo, max=hi, step=step, on_value=accept
                        )  # fmt: skip
            with solara.Column(style={"width": "96px"}):
                box = solara.InputInt if control.kind == "int" else solara.InputFloat
                box("value", value=value, on_value=accept, optional=control.optional, dense=True)  # type: ignore[operator]
    elif control.kind == "bool":
        solara.Checkbox(label="on", value=bool(value), on_value=accept)
    elif control.kind == "choice":
        solara.Select("value", values=list(control.choices), value=value, on_value=accept, dense=True)
    elif control.kind == "multi":
        solara.SelectMultiple(
            "value", values=list(value or []), all_values=list(control.choices), on_value=accept, dense=True
        )
    else:
        if isinstance(design, list) and design:
            options = [shares_text(v) for v in design]
            current = shares_text(value)
            solara.Select(
                "design values", values=options, value=current if current in options else None,
                on_value=lambda text: accept(parse_shares(text)), dense=True,
            )  # fmt: skip
        solara.InputText(
            "shares (comma-separated; empty: None)", value=shares_text(value),
            on_value=lambda text: accept(parse_shares(text)), continuous_update=False,
        )  # fmt: skip
