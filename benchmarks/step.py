"""`python -m benchmarks.step [--users N] [--steps S] [--rounds R]`: today's step against the pinned old one.

A default run (2,000 users, 100 steps) is timed with the current `AlignmentModel` and with
`benchmarks.baseline_step.BaselineModel` (the step as it was before issue 17's rewrite),
alternated run by run in one process with the order flipped every round, so machine load
falls on both alike. Prints the medians of whole runs (build + steps + `results()`) and of
the steps alone, and the median of the per-round ratios old / new. BLAS is pinned to one thread.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from threadpoolctl import threadpool_limits

from benchmarks.baseline_step import BaselineModel
from sociosim import AlignmentModel

KINDS = {"new": AlignmentModel, "pinned": BaselineModel}


def timed_run(kind: str, *, users: int, steps: int, seed: int) -> tuple[float, float, float]:
    """Wall seconds for one whole run (build, steps, results) and for its steps alone; CPU seconds of the run."""
    cpu = time.process_time()
    start = time.perf_counter()
    model = KINDS[kind](rng=seed, n_users=users)
    stepping = time.perf_counter()
    for _ in range(steps):
        model.step()
    stepped = time.perf_counter()
    model.results()
    return time.perf_counter() - start, stepped - stepping, time.process_time() - cpu


def compare(*, users: int, steps: int, rounds: int, seed: int = 1) -> dict[str, float]:
    """Median run and step times of both kinds over alternated rounds, and the median old/new ratios."""
    runs: dict[str, list[float]] = {kind: [] for kind in KINDS}
    stepping: dict[str, list[float]] = {kind: [] for kind in KINDS}
    ratios, step_ratios, cpu_ratios = [], [], []
    timed_run("new", users=users, steps=min(steps, 5), seed=seed)  # warm-up: imports, caches
    timed_run("pinned", users=users, steps=min(steps, 5), seed=seed)
    for k in range(rounds):
        got = {}
        for kind in list(KINDS) if k % 2 == 0 else list(KINDS)[::-1]:
            got[kind] = timed_run(kind, users=users, steps=steps, seed=seed + k)
            runs[kind].append(got[kind][0])
            stepping[kind].append(got[kind][1])
        ratios.append(got["pinned"][0] / got["new"][0])
        step_ratios.append(got["pinned"][1] / got["new"][1])
        cpu_ratios.append(got["pinned"][2] / got["new"][2])
    out = {f"{kind}_run_s": statistics.median(values) for kind, values in runs.items()}
    out |= {f"{kind}_steps_s": statistics.median(values) for kind, values in stepping.items()}
    out["ratio_run"] = statistics.median(ratios)
    out["ratio_steps"] = statistics.median(step_ratios)
    out["ratio_cpu"] = statistics.median(cpu_ratios)
    out["ratio_run_min"], out["ratio_run_max"] = min(ratios), max(ratios)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.step", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args(argv)
    with threadpool_limits(1):
        found = compare(users=args.users, steps=args.steps, rounds=args.rounds)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{args.users:,} users, {args.steps} steps, {args.rounds} alternated rounds; load average {load}")
    print("| | pinned (before) | new | pinned / new (median; min-max) |")
    print("|---|---:|---:|---:|")
    print(
        f"| whole run s | {found['pinned_run_s']:.3f} | {found['new_run_s']:.3f} | "
        f"{found['ratio_run']:.2f} ({found['ratio_run_min']:.2f}-{found['ratio_run_max']:.2f}) |"
    )
    print(
        f"| steps s | {found['pinned_steps_s']:.3f} | {found['new_steps_s']:.3f} | {found['ratio_steps']:.2f} |"
    )
    print(f"| whole run, CPU time | | | {found['ratio_cpu']:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
