"""Scenario files: TOML documents validated into metadata, run settings, parameters, design.

A scenario file has the tables `[scenario]` (what the study asks and expects),
`[run]` (steps, seed, replications), `[params]` (flat `ModelParams` overrides) and an
optional `[design]` (a sweep over named parameters). Files are parsed with `tomllib`
only: nothing in a scenario is ever evaluated as code.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
import types
import typing
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sociosim.config.limits import check_design_size, check_nesting, check_runs, check_steps, design_size
from sociosim.config.params import ModelParams, make_params, resolve_name
from sociosim.errors import (
    ScenarioError,
    did_you_mean,
    error_from_validation,
    key_text,
    reject_loose_scalars,
)

SCENARIO_DIR_NAME = "scenarios"
SCENARIO_TABLES = ("scenario", "run", "params", "labs", "design")


Level = bool | int | float | str  # a value of a design column (a lever name, a beta)

# A scenario name becomes a folder (the default store results/<name>) and part of report
# folders: one path component of letters, digits, '_', '-' and '.', starting with a letter
# or digit (so never '', '.', '..', an absolute path or a name with a slash or NUL).
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_NAME = re.compile(NAME_PATTERN)


def name_problem(name: object) -> str | None:
    """Why `name` cannot be a scenario name (None if it can)."""
    if isinstance(name, str) and _NAME.fullmatch(name):
        return None
    shown = repr(name) if not isinstance(name, str) or len(name) <= 80 else repr(name[:77] + "...")
    return f"must be 1-64 letters, digits, '_', '-' or '.' starting with a letter or digit ({NAME_PATTERN}), got {shown}"


def check_name(name: object, field: str = "scenario.name") -> str:
    """A scenario name that is safe as one path component, or a ScenarioError naming `field`."""
    problem = name_problem(name)
    if problem:
        raise ScenarioError(field, problem)
    return str(name)


def name_from_stem(stem: str) -> str:
    """A file's stem made a valid scenario name (other characters become '-'), or 'custom'."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).lstrip("-_.")[:64]
    return slug if _NAME.fullmatch(slug) else "custom"


class Claim(BaseModel):
    """One checkable part of a scenario's `expected` text: a measure, a comparison and the direction expected.

    `comparison = "difference"`: the mean of `measure` at `level` of the compared design
    column minus that at the baseline, paired on replicates (over the runs `where`
    selects). `comparison = "slope"`: the slope of `measure` against `against` at
    `level`; with a `baseline`, that slope minus the baseline's. `direction` is what the
    claim expects of that number: `lower` (< 0), `higher` (> 0) or `unchanged` (within
    ±`margin`). The report gives each claim a verdict from the number's 95 % CI.
    """

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, description="The claim in words, as a reader should check it.")
    measure: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="The measure column the claim is about.")
    comparison: Literal["difference", "slope"] = "difference"
    level: Level = Field(description="The level (arm) of the compared design column the claim is about.")
    baseline: Level | None = Field(
        None, description="The level compared against (difference: default the report's baseline)."
    )
    by: str | None = Field(None, description="The compared design column (default: the report's --by).")
    where: dict[str, Level] = Field(
        default_factory=dict, description="Only runs with these design values, e.g. { beta = 2.0 }."
    )
    against: str = Field("beta", description="slope: the design column the slope is taken against.")
    direction: Literal["lower", "higher", "unchanged"]
    margin: float | None = Field(
        None, gt=0, le=1e6, description="unchanged: the largest difference that counts as no change."
    )

    @model_validator(mode="after")
    def _margin_with_unchanged(self) -> Claim:
        if self.direction == "unchanged" and self.margin is None:
            raise ValueError(
                "direction 'unchanged' needs a margin > 0 (the largest difference counted as none)"
            )
        if self.direction != "unchanged" and self.margin is not None:
            raise ValueError(f"margin applies only to direction 'unchanged', not {self.direction!r}")
        return self


class ScenarioInfo(BaseModel):
    """What a study is for: its question, what to look at, what it expects (in words and as claims) and why."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(
        "custom", description=f"The study's name; also its default store folder ({NAME_PATTERN})."
    )
    title: str = ""
    question: str = ""
    look_at: list[str] = Field(default_factory=list)
    expected: str = ""
    claims: list[Claim] = Field(default_factory=list, description="`expected`, split into checkable claims.")
    sources: list[str] = Field(default_factory=list)

    @field_validator("name", mode="after")
    @classmethod
    def _safe_name(cls, name: str) -> str:
        problem = name_problem(name)
        if problem:
            raise ValueError(problem)
        return name


class RunSettings(BaseModel):
    """How long and how often a scenario runs."""

    model_config = ConfigDict(extra="forbid")
    steps: int = Field(
        200,
        ge=1,
        le=1_000_000_000,
        description="Steps per run (above SOCIOSIM_MAX_STEPS, default 10^6, refused).",
    )
    seed: int = Field(0, ge=0, le=2**63 - 1, description="Root seed of the scenario's runs.")
    replications: int = Field(1, ge=1, le=100_000, description="Runs per design point.")

    @model_validator(mode="before")
    @classmethod
    def _check_scalar_types(cls, data: Any) -> Any:
        return reject_loose_scalars(cls, data)

    @model_validator(mode="after")
    def _within_limits(self) -> RunSettings:
        try:
            check_steps(self.steps)
        except ScenarioError as exc:
            raise ValueError(f"steps: {exc.message}") from None
        return self


class ParameterRange(BaseModel):
    """A continuous range for Latin hypercube, Sobol and Morris designs."""

    model_config = ConfigDict(extra="forbid")
    min: float
    max: float

    @model_validator(mode="before")
    @classmethod
    def _check_scalar_types(cls, data: Any) -> Any:
        return reject_loose_scalars(cls, data)

    @model_validator(mode="after")
    def _ordered(self) -> ParameterRange:
        if not (math.isfinite(self.min) and math.isfinite(self.max)):
            raise ValueError(f"range must be finite, got [{self.min}, {self.max}]")
        if self.min > self.max:
            raise ValueError(f"min must not exceed max, got min={self.min} > max={self.max}")
        return self


class Design(BaseModel):
    """A sweep: a full grid of listed values, or a sampled design over ranges."""

    model_config = ConfigDict(extra="forbid")
    method: Literal["grid", "lhs", "sobol", "morris"] = "grid"
    samples: int = Field(16, ge=1, le=1_000_000, description="Base sample size of sampled designs.")
    parameters: dict[str, list[Any] | ParameterRange] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _check_scalar_types(cls, data: Any) -> Any:
        return reject_loose_scalars(cls, data)

    @model_validator(mode="after")
    def _consistent(self) -> Design:
        for name, values in self.parameters.items():
            try:
                resolve_name(name)
            except ScenarioError as exc:
                raise ValueError(f"parameters.{key_text(name)}: {exc.message}") from None
            if self.method == "grid" and not isinstance(values, list):
                raise ValueError(f"parameters.{name}: a grid design needs a list of values")
            if self.method != "grid" and not isinstance(values, ParameterRange):
                raise ValueError(f"parameters.{name}: a {self.method} design needs {{min, max}}")
            if isinstance(values, list) and not values:
                raise ValueError(f"parameters.{name}: needs at least one value")
        lengths = [len(v) if isinstance(v, list) else 1 for v in self.parameters.values()]
        try:  # counted from the axes: nothing is expanded before the size is known to fit
            check_design_size(self.method, self.samples, lengths)
        except ScenarioError as exc:
            raise ValueError(f"{exc.field}: {exc.message}") from None
        return self

    def size(self) -> int:
        """How many points this design expands to."""
        return design_size(
            self.method,
            self.samples,
            [len(v) if isinstance(v, list) else 1 for v in self.parameters.values()],
        )


class Scenario(BaseModel):
    """A validated study: metadata, run settings, model parameters and an optional design."""

    model_config = ConfigDict(extra="forbid")
    scenario: ScenarioInfo = Field(default_factory=ScenarioInfo)
    run: RunSettings = Field(default_factory=RunSettings)
    params: ModelParams = Field(default_factory=ModelParams)
    design: Design | None = None
    source: str | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _design_fits_params(self) -> Scenario:
        """Each design value (grid) or range end (sampled) must be a valid value of its parameter."""
        if self.design is not None:
            check_design_values(self.design, self.params)
        points = self.design.size() if self.design is not None else 1
        try:
            check_runs(points, self.run.replications)
        except ScenarioError as exc:
            raise ValueError(f"run.{exc.field}: {exc.message}") from None
        return self

    @property
    def name(self) -> str:
        return self.scenario.name

    def with_overrides(self, **overrides: Any) -> Scenario:
        """A copy with flat parameter overrides applied and validated."""
        if not overrides:
            return self
        copy = self.model_copy(deep=True)
        copy.params = make_params(self.params, **overrides)
        return copy

    def content_hash(self) -> str:
        """A short hash of what determines results (parameters, run settings, design)."""
        payload = {"params": self.params.model_dump(mode="json"), "run": self.run.model_dump(mode="json")}
        if self.design is not None:
            payload["design"] = self.design.model_dump(mode="json")
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def field_kind(name: str) -> str:
    """'int', 'float', 'bool', 'categorical' or 'other' for a ModelParams field."""
    annotation = ModelParams.model_fields[name].annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = args[0] if len(args) == 1 else annotation
        origin = typing.get_origin(annotation)
    if origin is Literal:
        return "categorical"
    if annotation is bool:
        return "bool"
    if annotation is int:
        return "int"
    if annotation is float:
        return "float"
    return "other"


def check_sampled(name: str) -> None:
    """Only numeric parameters can be sampled over a range."""
    kind = field_kind(name)
    if kind not in ("int", "float"):
        raise ScenarioError(
            f"design.parameters.{name}",
            f"a {kind} parameter can only be swept in a grid design (list its values), not sampled over a range",
        )


def check_sobol_bounds(names: list[str], bounds: list[tuple[float, float]]) -> None:
    """SALib needs min < max for every sampled parameter."""
    for name, (lo, hi) in zip(names, bounds, strict=True):
        if not lo < hi:
            raise ScenarioError(
                f"design.parameters.{name}", f"needs min < max for a sampled design, got [{lo}, {hi}]"
            )


def check_design_points(base: ModelParams, points: list[dict[str, Any]]) -> None:
    """Validate every expanded design point with `make_params`, naming the design field and point on error."""
    for i, point in enumerate(points):
        try:
            make_params(base, **point)
        except ScenarioError as exc:
            shown = ", ".join(f"{k}={v!r}" for k, v in point.items())
            raise ScenarioError(
                f"design.parameters.{exc.field}", f"{exc.message} (design point {i}: {shown})"
            ) from None


def as_design(design: Design | dict | None) -> Design | None:
    """Accept a `Design`, a plain dict (validated, errors named `design.<field>`) or None."""
    if design is None or isinstance(design, Design):
        return design
    if not isinstance(design, dict):
        raise ScenarioError("design", f"must be a Design or a table, got {type(design).__name__}")
    parameters = design.get("parameters")
    if isinstance(parameters, dict):
        for name in parameters:
            try:
                resolve_name(name)
            except ScenarioError as exc:
                raise ScenarioError(f"design.parameters.{name}", exc.message) from None
    try:
        return Design.model_validate(design)
    except ValidationError as exc:
        raise error_from_validation(exc, prefix="design", model=Design, flat=ModelParams) from None


def check_design_values(design: Design, params: ModelParams) -> None:
    """Catch a design that cannot run when the file is loaded, not when the batch reaches the point.

    Each listed grid value, and both ends of each sampled range, is validated alone against
    the scenario's parameters; a sampled range must be over a numeric parameter. The
    message names `design.parameters.<name>`. (Combinations of values are checked when a
    batch expands the design.)
    """
    for raw_name, values in design.parameters.items():
        name = resolve_name(raw_name)
        if isinstance(values, ParameterRange):
            check_sampled(name)
            if design.method in ("sobol", "morris"):
                check_sobol_bounds([name], [(values.min, values.max)])
            kind_int = ModelParams.model_fields[name].annotation is int
            candidates = [round(v) if kind_int else v for v in (values.min, values.max)]
        else:
            candidates = list(values)
        for value in candidates:
            try:
                make_params(params, **{name: value})
            except ScenarioError as exc:
                raise ScenarioError(f"design.parameters.{key_text(raw_name)}", exc.message) from None


def scenario_from_dict(data: dict[str, Any], *, source: str | None = None) -> Scenario:
    """Validate a parsed scenario document, naming the failing field on error."""
    if not isinstance(data, dict):
        raise ScenarioError("", "a scenario must be a table of tables")
    check_nesting(data, "")
    for key in data:
        if key not in SCENARIO_TABLES:
            raise ScenarioError(
                key_text(key), f"unknown table; a scenario has the tables {', '.join(SCENARIO_TABLES)}"
            )
    params = data.get("params", {})
    if not isinstance(params, dict):
        raise ScenarioError("params", "must be a table of parameter = value")
    if "labs" in data:  # [[labs]]: one table of lab parameters per lab
        labs = data["labs"]
        if not isinstance(labs, list) or not all(isinstance(entry, dict) for entry in labs):
            raise ScenarioError("labs", "must be an array of tables ([[labs]]), one per lab")
        params = {**params, "labs": labs}
    rest = {k: v for k, v in data.items() if k not in ("params", "labs")}
    try:
        params_model = make_params({resolve_name(k): v for k, v in params.items()})
    except ScenarioError as exc:
        top_level_labs = "labs" in data and exc.field.startswith("labs")  # [[labs]] is a table of its own
        where = exc.field if top_level_labs else f"params.{exc.field}"
        raise ScenarioError(where, exc.message) from None
    try:
        return Scenario(params=params_model, source=source, **rest)
    except ValidationError as exc:
        raise error_from_validation(exc, model=Scenario, flat=ModelParams) from None
    except ScenarioError:
        raise


def library_dirs() -> list[Path]:
    """Where library scenarios live: the checkout's `scenarios/`, then the wheel's copy."""
    dirs = []
    checkout = Path(__file__).resolve().parents[2] / SCENARIO_DIR_NAME
    if checkout.is_dir():
        dirs.append(checkout)
    packaged = Path(str(resources.files("sociosim"))) / "scenario_library"
    if packaged.is_dir():
        dirs.append(packaged)
    return dirs


def library() -> dict[str, Path]:
    """Library scenario names mapped to their files."""
    found: dict[str, Path] = {}
    for directory in library_dirs():
        for path in sorted(directory.glob("*.toml")):
            found.setdefault(path.stem, path)
    return found


def load_scenario(name_or_path: str | Path | None = None) -> Scenario:
    """Load a library scenario by name, or a TOML file by path; None gives the defaults."""
    if name_or_path is None:
        return Scenario()
    if isinstance(name_or_path, Scenario):
        return name_or_path
    text_name = str(name_or_path)
    lib = library()
    path = lib.get(text_name.removesuffix(".toml")) if "/" not in text_name else None
    if path is None:
        path = Path(text_name)
        if not path.is_file():
            names = ", ".join(sorted(lib)) or "none found"
            hint = did_you_mean(text_name.removesuffix(".toml"), sorted(lib))
            raise ScenarioError(
                "scenario", f"no scenario named {text_name!r}{hint} (library: {names}) and no such file"
            )
    try:
        raw = path.read_bytes()
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ScenarioError("scenario", f"{path} is not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise ScenarioError("scenario", f"cannot read {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError("scenario", f"{path} is not valid TOML: {exc}") from None
    except RecursionError:  # tomllib reads nested arrays recursively
        raise ScenarioError(
            "scenario",
            f"{path} nests arrays or tables too deeply to read (a scenario needs at most 3 levels)",
        ) from None
    scenario = scenario_from_dict(data, source=str(path))
    if scenario.scenario.name == "custom":
        scenario.scenario.name = name_from_stem(path.stem)
    return scenario
