"""The page's controls, generated from the parameter schema (`ModelParams`), and their server-side check.

One `Control` per parameter: its kind, the schema's bounds, a step, the choices of a
categorical, and the schema's description (the tooltip). Nothing here is written by hand
per parameter, so a new field of `ModelParams` gets a control without touching the view.
`check_value` is the server's gate: a value outside the schema's range (or a user count
above `--max-users`) is refused with one line naming the field and the allowed range.
"""

from __future__ import annotations

import math
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

import annotated_types

from sociosim.config.params import ModelParams
from sociosim.config.scenario import ParameterRange, Scenario
from sociosim.errors import ScenarioError

DEFAULT_MAX_USERS = 20_000
# A slider over the whole schema range is useless when the range spans orders of magnitude
# (beta may go to 1000): past these spans, the slider covers a useful part and the number
# box next to it still accepts the whole range.
SLIDER_SPAN = {"float": 20.0, "int": 200}

Kind = Literal["int", "float", "bool", "choice", "multi", "shares"]


@dataclass(frozen=True)
class Control:
    """One parameter as the page offers it, read from the schema."""

    name: str
    kind: Kind
    doc: str
    group: str
    lever: str | None
    default: Any
    optional: bool = False  # None is allowed (the schema says what None means)
    lo: float | None = None  # inclusive bound (or exclusive when `lo_open`)
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    step: float = 1.0
    choices: tuple[Any, ...] = ()

    def range_text(self) -> str:
        """The allowed values in words, as the page and the error messages say them."""
        if self.kind in ("int", "float"):
            left = "(" if self.lo_open else "["
            right = ")" if self.hi_open else "]"
            text = f"{left}{_num(self.lo)}, {_num(self.hi)}{right}"
            return text + (" or empty (None)" if self.optional else "")
        if self.kind == "bool":
            return "on or off"
        if self.kind == "choice":
            return "one of " + ", ".join(map(str, self.choices))
        if self.kind == "multi":
            return "any of " + ", ".join(map(str, self.choices))
        return "a list of shares >= 0 that sum to 1, one per culture, or empty (None)"

    def slider_range(
        self, *values: Any, max_users: int = DEFAULT_MAX_USERS
    ) -> tuple[float, float, float] | None:
        """The slider's (min, max, step): the schema's range, or a useful part of a very wide one.

        None: no slider (not a number, or unbounded). `values` (the current and the design's
        values) widen the useful part so that they sit on the slider.
        """
        if self.kind not in ("int", "float") or self.lo is None or self.hi is None:
            return None
        lo, hi, step = float(self.lo), float(self.hi), self.step
        if self.lo_open:
            lo += step
        if self.name == "n_users":
            hi = float(max_users)
        elif hi - lo > SLIDER_SPAN[self.kind]:
            seen = [abs(float(v)) for v in values if isinstance(v, int | float) and math.isfinite(v)]
            top = max([SLIDER_SPAN[self.kind], *(4.0 * v for v in seen)])
            hi = min(hi, lo + _nice_ceiling(top) if lo < 0 else _nice_ceiling(lo + top))
        if self.kind == "int" and hi - lo > SLIDER_SPAN["int"]:
            step = _nice_ceiling((hi - lo) / SLIDER_SPAN["int"])
            lo = math.ceil(lo / step) * step  # notches on round numbers (100, 200, ...)
        return lo, hi, step


def _num(value: float | None) -> str:
    return "-inf" if value is None else f"{value:,g}" if abs(value) < 1e6 else f"{value:,.0f}"


def _nice_ceiling(x: float) -> float:
    """The smallest of 1, 2, 5 x 10^k at or above `x`."""
    exponent = math.floor(math.log10(max(x, 1e-12)))
    for mantissa in (1.0, 2.0, 5.0, 10.0):
        if mantissa * 10**exponent >= x:
            return mantissa * 10**exponent
    return 10.0 ** (exponent + 1)


def _float_step(lo: float, hi: float) -> float:
    """A step giving about 100 notches over [lo, hi] (0.01 for a share, 0.1 for [0, 10])."""
    span = min(hi - lo, SLIDER_SPAN["float"])
    return 10.0 ** math.floor(math.log10(span / 100.0)) if span > 0 else 0.01


def _strip_none(annotation: Any) -> tuple[Any, bool]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def _control(name: str) -> Control:
    info = ModelParams.model_fields[name]
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    annotation, optional = _strip_none(info.annotation)
    common = {
        "name": name,
        "doc": info.description or "",
        "group": str(extra.get("group", "other")),
        "lever": extra.get("lever"),  # type: ignore[arg-type]
        "default": info.default,
        "optional": optional,
    }
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return Control(kind="choice", choices=typing.get_args(annotation), **common)
    if origin is list:
        (item,) = typing.get_args(annotation)
        if typing.get_origin(item) is Literal:
            return Control(kind="multi", choices=typing.get_args(item), **common)
        return Control(kind="shares", **common)
    if annotation is bool:
        return Control(kind="bool", **common)
    bounds: dict[str, Any] = {}
    for item in info.metadata:
        if isinstance(item, annotated_types.Ge):
            bounds["lo"] = item.ge
        elif isinstance(item, annotated_types.Gt):
            bounds["lo"], bounds["lo_open"] = item.gt, True
        elif isinstance(item, annotated_types.Le):
            bounds["hi"] = item.le
        elif isinstance(item, annotated_types.Lt):
            bounds["hi"], bounds["hi_open"] = item.lt, True
    kind: Kind = "int" if annotation is int else "float"
    step = 1.0
    if kind == "float":
        step = _float_step(float(bounds.get("lo", 0.0)), float(bounds.get("hi", 1.0)))
    return Control(kind=kind, step=step, **bounds, **common)


CONTROLS: dict[str, Control] = {name: _control(name) for name in ModelParams.model_fields}


def check_value(name: str, value: Any, *, max_users: int = DEFAULT_MAX_USERS) -> Any:
    """`value` as parameter `name` takes it, or a ScenarioError naming the field and its allowed range.

    The page calls it before a value is kept; `VizModel` calls it again, so a value that
    bypassed the page (a crafted message) is refused on the server as well.
    """
    control = CONTROLS.get(name)
    if control is None:
        raise ScenarioError(name, "is not a parameter of the model")
    bad = ScenarioError(name, f"must be {control.range_text()}, got {value!r}")
    if value is None or (isinstance(value, str) and not value.strip() and control.kind != "choice"):
        if control.optional:
            return None
        raise bad
    if control.kind in ("int", "float"):
        if isinstance(value, bool):
            raise bad
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise bad from None
        if not math.isfinite(number):
            raise bad
        if control.kind == "int":
            if number != int(number):
                raise bad
            number = int(number)
        lo, hi = control.lo, control.hi
        if lo is not None and (number < lo or (control.lo_open and number == lo)):
            raise bad
        if hi is not None and (number > hi or (control.hi_open and number == hi)):
            raise bad
        if name == "n_users" and number > max_users:
            raise ScenarioError(
                name, f"must be in [1, {max_users:,}] on this page (sociosim viz --max-users), got {value!r}"
            )
        return number
    if control.kind == "bool":
        if not isinstance(value, bool):
            raise bad
        return value
    if control.kind == "choice":
        if value not in control.choices:
            raise bad
        return value
    if control.kind == "multi":
        items = list(value) if isinstance(value, list | tuple) else None
        if items is None or any(v not in control.choices for v in items) or len(set(items)) != len(items):
            raise bad
        return items
    return _check_shares(name, value, bad)


def _check_shares(name: str, value: Any, bad: ScenarioError) -> list[float]:
    items = parse_shares(value) if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items:
        raise bad
    try:
        shares = [float(v) for v in items]
    except (TypeError, ValueError):
        raise bad from None
    if any(not math.isfinite(s) or s < 0 for s in shares) or abs(sum(shares) - 1.0) > 1e-6:
        raise bad
    return shares


def parse_shares(text: str) -> list[Any] | None:
    """`0.7, 0.1, 0.1, 0.1` (brackets optional) as a list; None for an empty box."""
    body = text.strip().strip("[]").strip()
    if not body:
        return None
    return [part.strip() for part in body.split(",")]


def shares_text(shares: Any) -> str:
    """A share list as the page's text box shows it."""
    return "" if shares is None else ", ".join(f"{float(s):g}" for s in shares)


def design_values(scenario: Scenario) -> dict[str, list[Any] | tuple[float, float]]:
    """What the scenario's design varies: a grid's listed values, or a sampled design's (min, max)."""
    if scenario.design is None:
        return {}
    out: dict[str, list[Any] | tuple[float, float]] = {}
    for name, values in scenario.design.parameters.items():
        out[name] = (values.min, values.max) if isinstance(values, ParameterRange) else list(values)
    return out


def scenario_control_names(scenario: Scenario, params_set: list[str]) -> list[str]:
    """The controls a scenario shows first: what its design varies, then what its `[params]` sets."""
    names = [n for n in design_values(scenario) if n in CONTROLS]
    names += [n for n in params_set if n in CONTROLS and n not in names]
    return names
