"""Input errors that name the field: `ScenarioError` and the words for what a field allows.

pydantic's reports are turned into one line, `field.path: must be <allowed>, got <value>`,
so the CLI can print them as they are and scripts can read `error.field`. This module
imports no other sociosim module: the schema to word a message by is passed in.
"""

from __future__ import annotations

import difflib
import errno
import json
import re
import types
import typing
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # only named in annotations: importing pydantic here would slow `sociosim --help`
    from pydantic import BaseModel, ValidationError
    from pydantic.fields import FieldInfo


def one_line(text: str) -> str:
    """Text with line breaks and other control characters escaped, so an error stays one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def first_line(exc: BaseException) -> str:
    """An exception's first line of text (its type's name if it has none): a cause quoted in one line."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def did_you_mean(word: str, choices: typing.Iterable[str], limit: int = 3) -> str:
    """` (did you mean a, b?)` naming the choices closest to a misspelt name, or "" if none is close.

    The one place the parameter, scenario and option messages get their suggestion from:
    difflib's close matches first, else choices that share the word's first `_` part.
    """
    names = list(dict.fromkeys(choices))
    close = difflib.get_close_matches(word, names, n=limit, cutoff=0.6)
    if not close:
        stem = word.split("_")[0]
        close = [n for n in names if stem and stem in n][:limit]
    return f" (did you mean {', '.join(close)}?)" if close else ""


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def key_text(key: Any) -> str:
    """A key as written in a field path: bare if TOML allows it bare, else quoted (so '' shows as "")."""
    key = str(key)
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def _shown(value: Any, limit: int = 80) -> str:
    """A value as shown in an error message: its repr, cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ScenarioError(ValueError):
    """A scenario or override is invalid; `field` names the offending parameter path.

    Both parts are kept on one line (control characters escaped): the CLI prints
    `error: <field>: <message>` as a single line.
    """

    def __init__(self, field: str, message: str):
        self.field = one_line(str(field))
        self.message = one_line(str(message))
        super().__init__(f"{self.field}: {self.message}" if self.field else self.message)


def _scalar_type(annotation: Any) -> Any:
    """int, float or bool for a plain or optional scalar annotation, else None."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = args[0] if len(args) == 1 else None
    return annotation if annotation in (int, float, bool) else None


def _is_model(annotation: Any) -> bool:
    """Whether an annotation is a pydantic model class (recognised by its fields, without importing pydantic)."""
    return isinstance(annotation, type) and isinstance(getattr(annotation, "model_fields", None), dict)


def _is_bool(value: Any) -> bool:
    """A Python or numpy boolean."""
    return isinstance(value, bool) or type(value).__name__ in ("bool_", "bool") and hasattr(value, "dtype")


def reject_loose_scalars(model: type[BaseModel], data: Any) -> Any:
    """Refuse what pydantic's lax mode would silently convert: `true` as a number, "yes" or 1 as a switch.

    A `model_validator(mode="before")` helper: a scenario file saying `beta = true` or
    `disclosure = "no"` is a mistake to report, not a value to reinterpret.
    """
    if not isinstance(data, dict):
        return data
    for name, value in data.items():
        field = model.model_fields.get(name)
        kind = _scalar_type(field.annotation) if field is not None else None
        if kind is None or value is None:
            continue
        loose = not _is_bool(value) if kind is bool else _is_bool(value) or isinstance(value, str | bytes)
        if loose:
            raise ValueError(f"{name}: must be {describe_field(name, model)}, got {value!r}")
    return data


def _bounds_text(field: FieldInfo) -> str:
    """A field's numeric range as ' in [lo, hi]' (open ends as parentheses), or '' if unbounded."""
    lo = hi = None
    lo_open = hi_open = False
    for meta in field.metadata:
        for attr, is_lo, is_open in (
            ("ge", True, False),
            ("gt", True, True),
            ("le", False, False),
            ("lt", False, True),
        ):
            value = getattr(meta, attr, None)
            if value is None:
                continue
            if is_lo:
                lo, lo_open = value, is_open
            else:
                hi, hi_open = value, is_open
    if lo is None and hi is None:
        return ""
    left = "(" if lo_open else "["
    right = ")" if hi_open else "]"
    return f" in {left}{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}{right}"


def _table_text(model: type[BaseModel]) -> str:
    return "a table with keys " + ", ".join(model.model_fields)


def _kind_text(annotation: Any) -> str | None:
    """Words for annotations outside the flat parameter schema (scenario tables, design entries)."""
    if annotation is str:
        return "text"
    if _is_model(annotation):
        return _table_text(annotation)
    if annotation == list[str]:
        return "a list of text"
    if typing.get_origin(annotation) is dict:
        return "a table"
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        tables = [a for a in args if _is_model(a)]
        if tables and any(typing.get_origin(a) is list for a in args):
            return "a list of values or " + _table_text(tables[0])
        if len(args) == 1 and tables:
            return _table_text(tables[0])
    return None


def _literal_choices(annotation: Any) -> tuple[Any, ...]:
    """The choices of a `list[Literal[...]]` annotation (optionally within a union), else ()."""
    for candidate in (annotation, *typing.get_args(annotation)):
        if typing.get_origin(candidate) is list:
            (item,) = typing.get_args(candidate) or (None,)
            if typing.get_origin(item) is Literal:
                return typing.get_args(item)
    return ()


def describe_field(name: str, model: type[BaseModel]) -> str:
    """The allowed values of field `name` of `model`, in words."""
    field = model.model_fields[name]
    annotation = field.annotation
    args = getattr(annotation, "__args__", ())
    literal_values = [a for a in args if isinstance(a, str)]
    if getattr(annotation, "__origin__", None) is Literal:
        return "one of " + ", ".join(repr(v) for v in args)
    if literal_values:
        return "one of " + ", ".join(repr(v) for v in literal_values)
    kind = {int: "an integer", float: "a number", bool: "true or false"}.get(annotation)
    if kind is None:
        kind = _kind_text(annotation)
    if kind is None:
        choices = _literal_choices(annotation)
        if choices:
            return "a list drawn from " + ", ".join(repr(f) for f in choices)
        text = str(annotation).replace("typing.", "")
        kind = (
            "a list of numbers"
            if "list[float]" in text
            else ("a number or none" if "float" in text else text)
        )
    return kind + _bounds_text(field)


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model a field holds directly or as an optional value, if any."""
    if _is_model(annotation):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _inner_model(args[0])
    return None


def _union_tag(part: Any) -> bool:
    """Whether a location part is pydantic's name of a union member ('list[any]', 'function-after[...]')."""
    return isinstance(part, str) and "[" in part


def _union_member(tag: str, annotation: Any) -> type[BaseModel] | None:
    """The model a union-member tag such as 'function-after[_ordered(), ParameterRange]' stands for."""
    for arg in typing.get_args(annotation):
        if _is_model(arg) and arg.__name__ in tag:
            return arg
    return None


def _item_type(annotation: Any) -> Any:
    """The value type of a list or dict annotation (None for anything else)."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (list, dict) and args:
        return args[-1]
    return None


def _pick_error(errors: list[Any]) -> Any:
    """The first error, or for a union the most specific error of its members (a custom check wins ties)."""
    first = errors[0]
    loc = list(first.get("loc", ()))
    tag_at = next((i for i, part in enumerate(loc) if _union_tag(part)), None)
    if tag_at is None:
        return first
    same = [e for e in errors if list(e.get("loc", ()))[:tag_at] == loc[:tag_at]]
    return max(same, key=lambda e: (len(e.get("loc", ())), e.get("type") == "value_error"))


def error_from_validation(
    exc: ValidationError, prefix: str = "", *, model: type[BaseModel], flat: type[BaseModel] | None = None
) -> ScenarioError:
    """Turn pydantic's report into one line naming the field path and its allowed values.

    `model` is the model that was validated; nested tables are followed, so `run.steps` or
    `design.parameters.beta.min` is described by its own range. `flat` is the flat parameter
    schema: an unknown key of it is an "unknown parameter", and a check may name its fields.
    """
    error = _pick_error(exc.errors())
    root = model
    owner: type[BaseModel] | None = root  # the model the next location part belongs to
    container: Any = None  # the annotation of the last container walked into
    holder, name = root, None  # the model and name of the innermost field reached
    parts: list[str] = []
    entry: Any = None  # the annotation of a list or table entry
    at_field = True  # whether the location ends on a field (not on a list index or dict key)
    for part in error.get("loc", ()):
        if owner is not None and isinstance(part, str) and part in owner.model_fields:
            holder, name = owner, part
            container = owner.model_fields[part].annotation
            owner = _inner_model(container)
            parts.append(part)
            at_field = True
        elif _union_tag(part):
            owner = _union_member(str(part), container)
        else:
            parts.append(key_text(part))
            container = entry = _item_type(container)
            owner = _inner_model(container)
            at_field = False
    path = ".".join(([prefix] if prefix else []) + parts)
    got = error.get("input")
    kind = error.get("type")
    if kind == "extra_forbidden":
        if flat is not None and holder is flat:
            return ScenarioError(path, "unknown parameter; `sociosim describe` lists all")
        parent = holder if len(parts) > 1 else root
        if name is not None and len(parts) > 1:
            parent = _inner_model(holder.model_fields[name].annotation) or parent
        return ScenarioError(path, f"unknown key; allowed: {', '.join(parent.model_fields)}")
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    if kind == "value_error":
        # a model's own check; a message "name: ..." names a field inside the model checked
        head, sep, rest = message.partition(": ")
        checked = owner or (holder if not parts else None) or root
        if sep and head.split(".")[0].split("[")[0] in checked.model_fields:
            return ScenarioError(".".join(p for p in (path, head) if p), rest)
        if sep and flat is not None and head in flat.model_fields:
            return ScenarioError(f"{prefix}.{head}" if prefix else head, rest)
        return ScenarioError(path or prefix, message)
    if name is not None:
        described = describe_field(name, holder)
        if not at_field:  # an entry of a list or table: describe what an entry must be
            described = _kind_text(entry) or described
        if kind == "missing":
            return ScenarioError(path, f"is missing; it must be {described}")
        return ScenarioError(path, f"must be {described}, got {_shown(got)}")
    return ScenarioError(path or prefix, message)


class PathError(OSError):
    """An environment error at a path (full disk, read-only file system, no permission, a file
    where a folder must be): the CLI prints its one line and exits 1.

    An `OSError`, so code that handles file-system errors keeps handling it; `path` is the
    path the operation was about, `reason` the system's words (`strerror`).
    """

    def __init__(self, path: Any, reason: str, code: int | None = None):
        self.path = one_line(str(path))
        self.reason = one_line(str(reason))
        super().__init__(code, self.reason, self.path)

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def path_error(exc: OSError, path: Any = None) -> PathError:
    """The one-line `PathError` of an OSError met while working on `path` (default: the error's own file name)."""
    if isinstance(exc, PathError):
        return exc
    where = path if path is not None else (exc.filename if exc.filename is not None else "?")
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.errno == errno.EEXIST and exc.filename is not None:  # mkdir met a file where a folder must be
        reason = f"{exc.filename} is a file, not a folder"
    elif exc.filename is not None and path is not None and str(exc.filename) != str(path):
        reason = f"{reason} ({exc.filename})"
    return PathError(where, reason, exc.errno)
