"""The `sociosim` command line: run, batch, query, report, viz, scenarios, describe.

Input errors exit with code 2 and one line naming the field; nothing else is printed.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    import pandas as pd

from sociosim.errors import ScenarioError


def _plain_flags(params: list) -> list:
    """Give on/off flags an empty metavar, so `--help` shows `--quiet` and not `--quiet <bool>`."""
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    return params


class Command(typer.core.TyperCommand):
    """A command whose help lists flags without a type label."""

    def get_params(self, ctx: Any) -> list:
        return _plain_flags(super().get_params(ctx))


class Group(typer.core.TyperGroup):
    """The top-level group: flags without a type label, and `-h` as well as `--help`."""

    def get_params(self, ctx: Any) -> list:
        return _plain_flags(super().get_params(ctx))


app = typer.Typer(
    cls=Group,
    add_completion=False,
    no_args_is_help=True,
    help=__doc__,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    """`--version`: print the installed version and stop (read from the package metadata, no heavy import)."""
    if value:
        from sociosim._version import __version__

        typer.echo(f"sociosim {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """The `sociosim` command line: run, batch, query, report, viz, scenarios, describe."""


def next_step(command: str) -> None:
    """End a command's summary with the command a user would naturally run next."""
    typer.echo(f"next: {command}")


SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override a parameter: NAME=VALUE (VALUE as TOML, e.g. 0.5, true, [0.25,0.25,0.25,0.25]).",
        metavar="NAME=VALUE",
    ),
]


def fail(message: str) -> None:
    """Print one line to stderr and exit with the input-error code 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def parse_value(text: str) -> Any:
    """A --set value as a TOML literal (numbers, booleans, lists, quoted strings), else a bare string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        lowered = text.strip().lower()
        if lowered in {"none", "null"}:
            return None
        return text


def parse_sets(items: list[str] | None) -> dict[str, Any]:
    """Turn repeated NAME=VALUE options into a dict of overrides."""
    overrides: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise ScenarioError("--set", f"expected NAME=VALUE, got {item!r}")
        name, _, value = item.partition("=")
        try:
            overrides[name.strip()] = parse_value(value.strip())
        except RecursionError:  # tomllib reads nested arrays recursively
            raise ScenarioError(f"--set {name.strip()}", "value nested too deeply to read") from None
    return overrides


# The final measures `sociosim run` prints (a choice of what to show; meanings live in the registry).
SUMMARY_COLUMNS = (
    "proxy",
    "true_utility",
    "gap",
    "kl",
    "gap_shift",
    "utility_min",
    "sycophancy",
    "polish",
    "harm",
    "annotator_agreement",
    "trust_mean",
    "overtrust",
    "active_share",
    "value_diversity",
    "culture_separation",
    "dominant_pull",
)


def check_frame_path(path: Path) -> None:
    """Refuse an --out path `write_frame` would refuse (suffix, missing folder), before any work starts."""
    from sociosim.io import FRAME_SUFFIXES

    if path.suffix.lower() not in FRAME_SUFFIXES:
        raise ScenarioError("out", f"must end in {' or '.join(FRAME_SUFFIXES)}, got {path.name!r}")
    if not path.parent.is_dir():
        from sociosim.errors import PathError

        blocker = next((p for p in path.parents if p.exists()), None)
        if blocker is not None and not blocker.is_dir():  # an environment error: exit 1 naming the path
            raise PathError(blocker, "is a file, not a folder")
        raise ScenarioError("out", f"directory {str(path.parent)!r} does not exist")


def summary_table(measures: pd.DataFrame) -> None:
    """Print the final step's key measures as a table."""
    from rich.console import Console  # imported here: `sociosim --help` stays fast
    from rich.table import Table

    last = measures.iloc[-1]
    table = Table(title=f"final measures (step {int(last['step'])})")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name in SUMMARY_COLUMNS:
        if name in measures:
            table.add_row(name, f"{last[name]:.4f}")
    Console().print(table)


@app.command(cls=Command)
def run(
    scenario: Annotated[
        str | None, typer.Argument(help="Library scenario name or TOML path (default: built-in defaults).")
    ] = None,
    steps: Annotated[int | None, typer.Option(help="Steps to run (default: the scenario's).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed (default: the scenario's).")] = None,
    set_: SetOption = None,
    out: Annotated[Path | None, typer.Option(help="Write the step measures here (.parquet or .csv).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar or summary.")] = False,
) -> None:
    """Run one simulation and print a summary of its final measures."""
    try:
        if out is not None:
            check_frame_path(out)  # before the run: a wrong suffix or folder costs no simulation
        from sociosim.runner import run_scenario

        result = run_scenario(scenario, steps=steps, seed=seed, progress=not quiet, **parse_sets(set_))
        if out is not None:
            from sociosim.io import write_frame

            write_frame(result.measures, out)
    except ScenarioError as exc:
        fail(str(exc))
    if not quiet:
        summary_table(result.measures)
        if out is not None:
            typer.echo(f"wrote {len(result.measures)} rows to {out}")
        next_step(
            f"sociosim batch {scenario or 'baseline'}  (its design x replications, into a results store)"
        )


@app.command(cls=Command)
def scenarios(
    fmt: Annotated[
        str, typer.Option("--format", help="text (one line each) or markdown (the full table)")
    ] = "text",
) -> None:
    """List the scenario library, one line each (or as the Markdown table of the README and the docs)."""
    from sociosim.config.scenario import library, load_scenario

    if fmt not in {"text", "markdown"}:
        fail(f"--format: must be text or markdown, got {fmt!r}")
    if fmt == "markdown":
        from sociosim.config.describe import scenario_reference

        typer.echo(scenario_reference(), nl=False)
        return

    for name, path in library().items():
        try:
            title = load_scenario(path).scenario.title
        except ScenarioError as exc:
            title = f"(invalid: {exc})"
        typer.echo(f"{name:24s} {title}")
    next_step("sociosim run NAME  (one run of a study; `sociosim batch NAME` for its whole design)")


@app.command(cls=Command)
def describe(
    fmt: Annotated[str, typer.Option("--format", help="text or markdown")] = "text",
    out: Annotated[Path | None, typer.Option(help="Write the Markdown reference to this file.")] = None,
    check: Annotated[Path | None, typer.Option(help="Exit 1 if this Markdown file is stale.")] = None,
) -> None:
    """Print the parameter reference: name, default, allowed values, meaning, lever."""
    from sociosim.config.describe import parameter_reference, reference_is_current, write_reference

    if fmt not in {"text", "markdown"}:
        fail(f"--format: must be text or markdown, got {fmt!r}")
    if check is not None:
        if not reference_is_current(check):
            typer.echo(f"{check} is stale: regenerate with `sociosim describe --out {check}`", err=True)
            raise typer.Exit(code=1)
        typer.echo(f"{check} is current")
        return
    if out is not None:
        typer.echo(f"wrote {write_reference(out)}")
        return
    typer.echo(parameter_reference(markdown=fmt == "markdown"), nl=False)


# -- commands added by later parts register below this line --


@app.command(cls=Command)
def viz(
    scenario: Annotated[
        str | None, typer.Argument(help="Library scenario to open (default: built-in defaults).")
    ] = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on (default: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    max_users: Annotated[
        int, typer.Option("--max-users", help="Largest user count the page accepts.")
    ] = 20_000,
    idle_timeout: Annotated[
        str,
        typer.Option(
            "--idle-timeout",
            help="Drop a page session (and free its model) this long after its browser left: 90s, 30m, 2h.",
        ),
    ] = "30m",
    store: Annotated[
        Path | None, typer.Option(help="A results store written by `sociosim batch`, to replay its runs.")
    ] = None,
    dev: Annotated[
        bool, typer.Option("--dev", help="Solara development mode (reloads on code changes).")
    ] = False,
) -> None:
    """Watch a simulation in the browser, or replay and compare stored runs (--store)."""
    from sociosim.viz.serve import ServeProblem, serve

    try:
        code = serve(
            scenario,
            host=host,
            port=port,
            production=not dev,
            max_users=max_users,
            idle_timeout=idle_timeout,
            store=store,
        )
    except ScenarioError as exc:
        fail(str(exc))
    except ServeProblem as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from None
    raise typer.Exit(code=code)


@app.command(cls=Command)
def report(
    store: Annotated[
        Path, typer.Argument(help="Results store directory (or a .parquet/.csv file of step measures).")
    ],
    out: Annotated[Path, typer.Option(help="Directory for report.html, report.md and figures/.")],
    by: Annotated[
        str | None, typer.Option(help="Design column whose arms are compared (default: inferred).")
    ] = None,
    baseline: Annotated[
        str | None, typer.Option(help="Reference level of --by (default: the scenario's value).")
    ] = None,
    title: Annotated[str | None, typer.Option(help="Report title.")] = None,
    last: Annotated[int, typer.Option(help="Steps at the end of each run averaged into its outcome.")] = 10,
    scenario: Annotated[
        str | None, typer.Option(help="Report only this scenario of the store (default: every one).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress line.")] = False,
    svg: Annotated[
        bool, typer.Option("--svg", help="Also write each figure as SVG (PNG is always written).")
    ] = False,
    all_sections: Annotated[
        bool,
        typer.Option(
            "--all-sections", help="Also show analyses of measures the scenario's look_at does not name."
        ),
    ] = False,
) -> None:
    """Write a self-contained HTML report (and Markdown) per (scenario, code) in a store.

    One scenario: the newest code's report goes to --out, other codes' to --out/<scenario>-<code>/.
    """
    import gc

    from rich.console import Console

    with Console(stderr=True, quiet=quiet).status(f"report: loading the analysis libraries for {store}"):
        from sociosim.analysis.report import write_reports

    gc.freeze()  # the imported modules live for the whole run: keep the collector from re-scanning them
    try:
        results = write_reports(
            store,
            out,
            scenario=scenario,
            title=title,
            by=by,
            baseline=baseline,
            last=last,
            progress=not quiet,
            svg=svg,
            all_sections=all_sections,
        )
    except (ScenarioError, FileNotFoundError, KeyError, ValueError) as exc:
        fail(str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc))
    finally:
        gc.unfreeze()
    for result in results:
        typer.echo(f"wrote {result.html} and {result.markdown} ({len(result.figures)} figure files)")
    if results:
        next_step(f"open {results[0].html}")


@app.command(cls=Command)
def batch(
    scenario: Annotated[str, typer.Argument(help="Library scenario name or TOML path.")],
    steps: Annotated[int | None, typer.Option(help="Steps per run (default: the scenario's).")] = None,
    replications: Annotated[
        int | None, typer.Option(help="Runs per design point (default: the scenario's).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Parallel workers (default: the CPUs this process may use; never more than the runs left)."
        ),
    ] = None,
    executor: Annotated[str | None, typer.Option(help="serial, processes or dask.")] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address tcp://host:port (implies dask).")
    ] = None,
    store: Annotated[
        Path | None, typer.Option(help="Results directory (default: results/<scenario name>).")
    ] = None,
    set_: SetOption = None,
    snapshot_every: Annotated[int, typer.Option(help="Store user snapshots every K steps (0: none).")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    reuse_any_code: Annotated[
        bool,
        typer.Option(
            "--reuse-any-code",
            help="Count runs stored by other code (another source fingerprint) as done instead of re-running them.",
        ),
    ] = False,
) -> None:
    """Run a scenario's design × replications into a results store; exit 1 if any run failed.

    A stored run counts as done only if the same code made it (its `code` fingerprint).
    """
    from sociosim.batch.execute import run_batch

    try:
        result = run_batch(
            scenario,
            steps=steps,
            replications=replications,
            executor=executor,
            workers=workers if workers is not None else "auto",
            scheduler=scheduler,
            store=store,
            overrides=parse_sets(set_),
            agent_snapshot_every=snapshot_every,
            progress=not quiet,
            reuse_any_code=reuse_any_code,
        )
    except ScenarioError as exc:
        fail(str(exc))
    typer.echo(result.summary())
    for row in result.failures.head(10).itertuples():
        typer.echo(f"failed: point {row.point} replicate {row.replicate}: {row.error}", err=True)
    next_step(f"sociosim report {result.store.path} --out reports/{Path(result.store.path).name}")
    if result.n_failed:
        raise typer.Exit(code=1)


@app.command(cls=Command)
def query(
    store: Annotated[Path, typer.Argument(help="Results directory written by `sociosim batch`.")],
    sql: Annotated[
        str | None, typer.Argument(help="SQL over the views measures, runs, runs_raw, events, agents.")
    ] = None,
    csv: Annotated[bool, typer.Option("--csv", help="Print CSV instead of a table.")] = False,
    views: Annotated[
        bool,
        typer.Option(
            "--views", help="Print plain DuckDB statements making the views, to open the store in DuckDB."
        ),
    ] = False,
) -> None:
    """Query a results store with DuckDB SQL and print the result.

    The SQL runs sandboxed: it sees the store's tables and no file (exit 2 on an SQL error).
    Every table has a `code` column (the code that made each run): `GROUP BY code` tells codes apart.
    """
    import warnings

    from sociosim.batch.store import StoreAccessError, StoreWarning, open_store

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", StoreWarning)
            results = open_store(store)
            text = results.sql_views() if views else None
            frame = results.query(sql or "") if not views else None
    except ScenarioError as exc:
        fail(str(exc))
    except StoreAccessError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from None
    for warning in caught:
        typer.echo(f"warning: {warning.message}", err=True)
    if text is not None:
        typer.echo(text)
    elif frame is not None:
        typer.echo(frame.to_csv(index=False).rstrip("\n") if csv else frame.to_string(index=False))


def main() -> None:  # pragma: no cover - console entry point
    from sociosim.errors import path_error

    try:
        app()
    except ScenarioError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except OSError as exc:  # full disk, read-only, permissions, a file where a folder must be
        typer.echo(f"error: {path_error(exc)}", err=True)
        sys.exit(1)


__all__ = ["app", "main", "parse_sets", "parse_value"]

if __name__ == "__main__":  # `python -m sociosim.cli`
    main()
