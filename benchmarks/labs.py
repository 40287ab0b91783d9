"""`python -m benchmarks.labs [--users N] [--steps K]`: the cost of a step with two labs against one.

Both models are built at the same size and stepped alternately in one process (one step
of each in turn), so machine load falls on both alike; the table gives median step times
and their ratio. BLAS is pinned to one thread, as in every run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from threadpoolctl import threadpool_limits

from sociosim import AlignmentModel


def median_steps(users: int, steps: int, warmup: int = 3) -> dict[int, float]:
    """Median seconds per step for one and for two labs, stepped alternately."""
    models = {labs: AlignmentModel(n_users=users, n_labs=labs, rng=1) for labs in (1, 2)}
    times: dict[int, list[float]] = {1: [], 2: []}
    for k in range(warmup + steps):
        for labs, model in models.items():
            start = time.perf_counter()
            model.step()
            if k >= warmup:
                times[labs].append(time.perf_counter() - start)
    return {labs: statistics.median(values) for labs, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    with threadpool_limits(limits=1, user_api="blas"):
        median = median_steps(args.users, args.steps)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"# One step with 2 labs against 1, {args.users:,} users, median of {args.steps} alternated steps")
    print(f"load average {load}\n")
    print("| labs | step ms |\n|---|---|")
    for labs, seconds in median.items():
        print(f"| {labs} | {1000 * seconds:.1f} |")
    print(f"\nratio 2 labs / 1 lab: {median[2] / median[1]:.2f}")


if __name__ == "__main__":
    main()
