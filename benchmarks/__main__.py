"""`python -m benchmarks [--quick] [--out DIR] [--results FILE]`: the speed and scaling table of issue 7.

Each size runs in its own process (`benchmarks.scaling`); this script collects the
records, derives throughput, ratios and the log-log slope, and writes the table as
Markdown and CSV into `benchmarks/out/` (and, with `--results`, a copy with the machine).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

# (n_users, sociosim steps, naive steps): naive Mesa only up to 10^5 users, few steps
FULL = [(1_000, 200, 20), (10_000, 100, 5), (100_000, 100, 2), (1_000_000, 40, 0)]
QUICK = [(300, 20, 5), (1_000, 20, 3), (3_000, 10, 2)]
HERE = Path(__file__).resolve().parent

COLUMNS = [
    ("n_users", "N users", "{:,}"),
    ("sociosim_us", "sociosim user-steps/s", "{:.3g}"),
    ("reference_us", "reference user-steps/s", "{:.3g}"),
    ("naive_us", "naive Mesa user-steps/s", "{}"),
    ("ratio_reference", "sociosim / reference", "{:.2f}"),
    ("ratio_reference_paired", "sociosim / reference, paired rounds", "{:.2f}"),
    ("ratio_naive", "sociosim / naive", "{}"),
    ("sociosim_step_ms", "sociosim step ms", "{:.2f}"),
    ("reference_step_ms", "reference step ms", "{:.2f}"),
    ("measures_share", "measures+collect share of step", "{:.0%}"),
    ("collect_share", "DataCollector share", "{:.2%}"),
    ("refit_ms", "reward-model refit ms", "{:.2f}"),
    ("policy_ms", "policy update ms", "{:.3f}"),
    ("build_s", "build s (model)", "{:.2f}"),
    ("network_s", "network build s", "{:.2f}"),
    ("rss_sociosim_peak_mb", "sociosim peak RSS MB", "{:.0f}"),
    ("rss_peak_mb", "process peak RSS MB (with the reference)", "{:.0f}"),
    ("bytes_per_user", "RSS per user (bytes)", "{:.0f}"),
]


def run_size(n: int, steps: int, naive_steps: int, *, rounds: int, user_views: int | None = None) -> dict:
    """One size in a fresh interpreter; its JSON record."""
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.scaling",
        "--n",
        str(n),
        "--steps",
        str(steps),
        "--rounds",
        str(rounds),
    ]
    cmd += ["--naive-steps", str(naive_steps)]
    if user_views is not None:
        cmd += ["--user-views", str(user_views)]
    done = subprocess.run(cmd, cwd=HERE.parent, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark at n_users={n} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def derive(record: dict) -> dict:
    """Throughputs, ratios and shares from one size's raw timings."""
    n = record["n_users"]
    row = dict(record)
    if "sociosim_step_s" not in record:
        return row
    row["sociosim_us"] = n / record["sociosim_step_s"]
    row["reference_us"] = n / record["reference_step_s"]
    row["ratio_reference"] = row["sociosim_us"] / row["reference_us"]
    row["sociosim_step_ms"] = 1e3 * record["sociosim_step_s"]
    row["reference_step_ms"] = 1e3 * record["reference_step_s"]
    row["measures_share"] = (record["measures_s"] + record["collect_s"]) / record["sociosim_step_s"]
    row["collect_share"] = record["collect_s"] / record["sociosim_step_s"]
    row["refit_ms"] = 1e3 * record["refit_s"]
    row["policy_ms"] = 1e3 * record["policy_update_s"]
    # sociosim's own peak: after its build and first steps, before the reference is made
    row["rss_sociosim_peak_mb"] = record.get("rss_sociosim_mb", record["rss_peak_mb"])
    row["bytes_per_user"] = (row["rss_sociosim_peak_mb"] - record["rss_start_mb"]) * 2**20 / n
    if "naive_step_s" in record:
        row["naive_us"] = n / record["naive_step_s"]
        row["ratio_naive"] = row["sociosim_us"] / row["naive_us"]
    return row


def extrapolate_naive(rows: list[dict]) -> None:
    """Sizes without a naive run get the largest measured size's per-user cost (naive is linear), marked '~'."""
    measured = [r for r in rows if "naive_us" in r]
    if not measured:
        return
    largest = max(measured, key=lambda r: r["n_users"])
    for row in rows:
        if "naive_us" not in row and "sociosim_us" in row:
            row["naive_us_extrapolated"] = largest["naive_us"]
            row["ratio_naive_extrapolated"] = row["sociosim_us"] / largest["naive_us"]


def slope(rows: list[dict], low: int, high: int) -> float | None:
    """Log-log slope of sociosim's step time between two sizes (1.0: linear in N)."""
    by_n = {r["n_users"]: r for r in rows if "sociosim_step_s" in r}
    if low not in by_n or high not in by_n:
        return None
    return math.log(by_n[high]["sociosim_step_s"] / by_n[low]["sociosim_step_s"]) / math.log(high / low)


def cell(row: dict, key: str, fmt: str) -> str:
    if key in ("naive_us", "ratio_naive"):
        if key in row:
            return f"{row[key]:.3g}"
        if f"{key}_extrapolated" in row:
            return f"~{row[f'{key}_extrapolated']:.3g} (extrapolated)"
        return "—"
    return fmt.format(row[key]) if key in row else "—"


def machine() -> dict:
    """The machine the table was measured on."""
    import numpy
    import scipy

    cpu = "unknown"
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as handle:
        mem_kb = int(handle.readline().split()[1])
    try:
        import mesa

        mesa_version = mesa.__version__
    except Exception:  # noqa: BLE001
        mesa_version = "?"
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(mem_kb / 2**20, 1),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "mesa": mesa_version,
        "load_average": os.getloadavg(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
    }


def markdown(rows: list[dict], info: dict, *, mode: str, seconds: float, extra: list[str]) -> str:
    lines = [
        f"# sociosim speed and scaling ({mode})",
        "",
        f"Machine: {info['nproc']} cores, {info['cpu']}, {info['memory_gb']} GB; Python {info['python']}, "
        f"numpy {info['numpy']}, scipy {info['scipy']}, Mesa {info['mesa']}; OPENBLAS_CORETYPE {info['OPENBLAS_CORETYPE']}; "
        f"load average at the end {', '.join(f'{x:.1f}' for x in info['load_average'])}. BLAS pinned to 1 thread. "
        f"Total run {seconds:.0f} s.",
        "",
        "Mean degree 10, 512 responses, default scenario otherwise. A user-step is one user advanced by one step; "
        "sociosim's step is the full model (users, annotators, reward-model refit, policy update, all measures "
        "collected); the reference and the naive Mesa model run only the users' dynamics (same equations, same draws).",
        "",
        "| " + " | ".join(title for _, title, _ in COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for row in rows:
        lines.append("| " + " | ".join(cell(row, key, fmt) for key, _, fmt in COLUMNS) + " |")
    lines += ["", *extra]
    return "\n".join(lines) + "\n"


def write_csv(rows: list[dict], path: Path) -> None:
    keys = [k for k, _, _ in COLUMNS]
    raw = sorted({k for r in rows for k in r} - set(keys))
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=keys + raw)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in keys + raw})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description="sociosim speed and scaling table (issue 7)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="small sizes, few steps (CI smoke run, under a minute)"
    )
    parser.add_argument(
        "--out", type=Path, default=HERE / "out", help="directory for results.md and results.csv"
    )
    parser.add_argument(
        "--results", type=Path, default=None, help="also write the Markdown table to this file"
    )
    args = parser.parse_args(argv)
    sizes, rounds = (QUICK, 2) if args.quick else (FULL, 20)
    mode = "quick" if args.quick else "full"
    started = time.perf_counter()
    rows = []
    for n, steps, naive_steps in sizes:
        print(
            f"n_users={n:,}: {steps} steps" + (f", naive {naive_steps}" if naive_steps else ""),
            file=sys.stderr,
            flush=True,
        )
        rows.append(derive(run_size(n, steps, naive_steps, rounds=rounds)))
    extrapolate_naive(rows)
    extra = []
    top = sizes[-1][0]
    if not args.quick:
        views = run_size(top, 0, 0, rounds=1, user_views=top)
        extra.append(
            f"Build of {top:,} users with a registered Mesa view per user (`user_views={top}`): "
            f"{views['build_s']:.1f} s, peak RSS {views['rss_peak_mb']:.0f} MB "
            f"(default `user_views=100000`: {rows[-1]['build_s']:.1f} s, {rows[-1]['rss_built_mb']:.0f} MB after build)."
        )
    low = sizes[1][0]
    fitted = slope(rows, low, top)
    if fitted is not None:
        extra.append(f"Log-log slope of sociosim's step time from {low:,} to {top:,} users: {fitted:.3f}.")
    info = machine()
    seconds = time.perf_counter() - started
    text = markdown(rows, info, mode=mode, seconds=seconds, extra=extra)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.md").write_text(text)
    write_csv(rows, args.out / "results.csv")
    (args.out / "machine.json").write_text(json.dumps(info, indent=2) + "\n")
    if args.results is not None:
        args.results.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
