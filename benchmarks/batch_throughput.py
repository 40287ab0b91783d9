"""Batch throughput: runs per minute serially, on 2 processes and on a Dask LocalCluster of 2 workers.

Also measures the store's size per run at the default 200 steps and extrapolates it to a
1,000-run batch. Writes benchmarks/out/batch_throughput.{md,csv}.

    python benchmarks/batch_throughput.py [--runs 16] [--steps 100] [--size-runs 8]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import pandas as pd

from sociosim.batch.execute import run_batch
from sociosim.batch.store import open_store

OUT = Path(__file__).resolve().parent / "out"
CONFIGS = (
    ("serial, 1 worker", "serial", 1),
    ("processes, 2 workers", "processes", 2),
    ("dask LocalCluster, 2 workers", "dask", 2),
)


def store_bytes(path: Path) -> int:
    """Bytes of every file under a store directory."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def time_batch(kind: str, workers: int, *, runs: int, steps: int, root: Path) -> dict:
    """Wall time of one batch of `runs` default-scenario runs (executor start-up included)."""
    store = root / f"{kind}-{workers}"
    start = time.perf_counter()
    result = run_batch(
        None,
        replications=runs,
        steps=steps,
        executor=kind,
        workers=workers if kind != "serial" else None,
        store=store,
        progress=False,
    )
    wall = time.perf_counter() - start
    assert result.n_done == runs and result.n_failed == 0, result.summary()
    stored = open_store(store).runs()
    return {
        "wall_s": wall,
        "mean_run_s": float(stored["duration_s"].mean()),
        "mean_cpu_s": float(stored["cpu_s"].mean()),
        "runs_per_min": 60 * runs / wall,
        "load_avg_1min": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=16, help="runs per configuration")
    parser.add_argument("--steps", type=int, default=100, help="steps per run for the throughput batches")
    parser.add_argument("--size-runs", type=int, default=8, help="runs of 200 steps for the size estimate")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)

    rows = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for label, kind, workers in CONFIGS:
            stats = time_batch(kind, workers, runs=args.runs, steps=args.steps, root=root)
            rows.append(
                {"executor": label, "workers": workers, "runs": args.runs, "steps": args.steps, **stats}
            )
            print(
                f"{label:32s} {stats['runs_per_min']:7.1f} runs/min  (wall {stats['wall_s']:.1f} s)",
                flush=True,
            )
        size_store = root / "size"
        run_batch(
            None,
            replications=args.size_runs,
            steps=200,
            executor="processes",
            workers=2,
            store=size_store,
            progress=False,
        )
        per_run = store_bytes(size_store) / args.size_runs

    frame = pd.DataFrame(rows)
    base = frame["runs_per_min"].iloc[0]
    frame["speedup"] = frame["runs_per_min"] / base
    frame["efficiency"] = frame["speedup"] / frame["workers"]
    frame.to_csv(OUT / "batch_throughput.csv", index=False, float_format="%.3f")

    lines = [
        "# Batch throughput",
        "",
        f"Default scenario (2,000 users, 60 annotators, 512 responses), {args.steps} steps, "
        f"{args.runs} runs per configuration; wall time includes starting the executor.",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}.",
        "",
        f"Load average (1 min) before starting: {load_before:.2f}: other work on the machine shares its CPUs.",
        "",
        "| executor | workers | runs/min | wall s | mean run s (wall) | mean run s (CPU) | load after | speed-up | efficiency |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in frame.itertuples():
        lines.append(
            f"| {r.executor} | {r.workers} | {r.runs_per_min:.1f} | {r.wall_s:.1f} | {r.mean_run_s:.2f} | {r.mean_cpu_s:.2f} "
            f"| {r.load_avg_1min:.1f} | {r.speedup:.2f} | {r.efficiency:.0%} |"
        )
    lines += [
        "",
        f"Store size: {per_run / 1e3:.1f} kB per run of 200 steps (lossless float64 measures, zstd), "
        f"so a 1,000-run batch takes about {per_run * 1000 / 1e6:.0f} MB.",
        "",
    ]
    (OUT / "batch_throughput.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
