"""One benchmark size in its own process: sociosim, the numpy reference and the naive Mesa model.

`python -m benchmarks.scaling --n N --steps S ...` prints one JSON record. Running each
size in a fresh process makes its peak RSS (`getrusage`) the size's own; sociosim is
built and run first, so the recorded peak is sociosim's alone. The three models' steps
are timed in interleaved rounds on the same state and the medians compared, so a
background load spike hits all of them alike. BLAS is pinned to one thread, as
sociosim's batch runner does: the step's matrix products are too small to gain from
threads, and on a shared 2-core machine idle BLAS threads only stall.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time

import numpy as np


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _timed(fn, repeats: int) -> list[float]:
    """Seconds per call of `fn`, `repeats` times."""
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def _time_network(record: dict, model, seed: int) -> None:
    """The network alone, on the same cultures (an extra build with its own generator)."""
    from sociosim.model.network import build_network, row_normalised

    rng = np.random.default_rng(seed + 1)
    start = time.perf_counter()
    row_normalised(build_network(model.params, model.users.culture, rng))
    record["network_s"] = time.perf_counter() - start
    record["edges"] = int(model.users.adjacency.nnz // 2)


def measure(
    *, n: int, steps: int, rounds: int, naive_steps: int, seed: int = 1, user_views: int | None = None
) -> dict:
    """Build and time sociosim at `n` users, then the reference (and the naive model if naive_steps)."""
    from sociosim import AlignmentModel

    from .naive_mesa import NaiveUsersModel
    from .reference import ReferenceUsers

    record: dict = {"n_users": n, "steps": steps}
    rss_start = _peak_rss_mb()
    overrides = {"n_users": n, "n_responses": 512, "mean_degree": 10.0}
    if user_views is not None:
        overrides["user_views"] = user_views
    start = time.perf_counter()
    model = AlignmentModel(rng=seed, **overrides)
    record["build_s"] = time.perf_counter() - start
    record["user_views"] = int(model.params.user_views)
    record["views_built"] = bool(n <= model.params.user_views)
    record["rss_built_mb"] = _peak_rss_mb()

    if steps == 0:
        _time_network(record, model, seed)
        record["rss_peak_mb"] = _peak_rss_mb()
        record["rss_start_mb"] = rss_start
        return record

    # sociosim: `steps` full steps (all agents, all measures collected), in `rounds` blocks
    per_round = max(1, steps // rounds)
    reference = None
    reference_rng = np.random.default_rng(seed + 2)
    socio_times: list[float] = []
    ref_times: list[float] = []
    paired: list[float] = []  # per round: reference / sociosim step medians, both under that round's load
    for _ in range(rounds):
        mine = _timed(model.step, per_round)
        if reference is None:
            reference = ReferenceUsers.from_population(model.users, model.params, model.catalogue)
            record["rss_sociosim_mb"] = _peak_rss_mb()
        policy = model.policy
        theirs = _timed(lambda users=reference, policy=policy: users.step(policy, reference_rng), per_round)
        socio_times += mine
        ref_times += theirs
        paired.append(statistics.median(theirs) / statistics.median(mine))
    record["steps"] = len(socio_times)
    record["sociosim_step_s"] = statistics.median(socio_times)
    record["reference_step_s"] = statistics.median(ref_times)
    record["ratio_reference_paired"] = statistics.median(paired)

    # the parts of sociosim's step, timed on the final state
    k = max(3, min(20, steps // 5))
    record["measures_s"] = statistics.median(_timed(model.compute_measures, k))
    record["collect_s"] = statistics.median(_timed(lambda: model.datacollector.collect(model), k))
    labels = model.window.labels()
    record["labels_in_window"] = len(labels)
    fitted = model.reward_model.theta.copy()

    def cold_refit() -> None:  # from theta = 0, not warm-started: the cost of a full Newton fit
        model.reward_model.theta = np.zeros_like(fitted)
        model.reward_model.refit(labels, l2=model.params.l2, balanced=False)

    record["refit_s"] = statistics.median(_timed(cold_refit, k))
    model.reward_model.theta = fitted
    lab = model.labs[0]
    record["policy_update_s"] = statistics.median(_timed(lambda: lab.update_policy(model.developer.beta), k))

    _time_network(record, model, seed)  # after sociosim's steps: its extra copy is not sociosim's memory
    if naive_steps:
        start = time.perf_counter()
        naive = NaiveUsersModel.from_population(model.users, model.params, model.catalogue, rng=seed + 3)
        record["naive_build_s"] = time.perf_counter() - start
        naive.policy = model.policy
        record["naive_step_s"] = statistics.median(_timed(naive.step, naive_steps))
        record["naive_steps"] = naive_steps
    record["rss_peak_mb"] = _peak_rss_mb()
    record["rss_start_mb"] = rss_start
    return record


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--naive-steps", type=int, default=0)
    parser.add_argument("--user-views", type=int, default=None)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        record = measure(
            n=args.n,
            steps=args.steps,
            rounds=args.rounds,
            naive_steps=args.naive_steps,
            seed=args.seed,
            user_views=args.user_views,
        )
    json.dump(record, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
