"""Claim: no design is at once strongly optimised, faithful to true values and robust under shift.

Gaikwad (2025): the alignment trilemma. Scenario `trilemma`: a Latin hypercube over beta,
the reward model's view of quality, a harm penalty and shift training. Each run is scored
on optimisation (kl), value capture (corr(r, U) under the policy) and generalisation
(-gap_shift). The claim holds when the best run on each axis is a different run and
poor on another axis; we also report the Pareto frontier and the axes' rank correlations.
"""

import pandas as pd
from _common import (
    Claim,
    figure_path,
    parse_args,
    plot_best_runs,
    run_study,
    show,
    spearman_ci,
    write_study_report,
)

from sociosim import load_scenario
from sociosim.analysis import trilemma_frontier
from sociosim.analysis.trilemma import AXES


def main() -> None:
    args = parse_args(__doc__)
    design = None
    if args.quick:  # the scenario's design with 12 instead of 32 Latin-hypercube points
        design = load_scenario("trilemma").design.model_copy(update={"samples": 12})
    study = run_study(
        "trilemma_frontier", "trilemma", args, quick_steps=30, quick_replications=2, design=design
    )
    front = trilemma_frontier(study.df)
    pct = front[list(AXES)].rank(pct=True)
    best = pd.DataFrame(
        [
            {
                "best_on": axis,
                "run": int(front[axis].idxmax()),
                "beta": front.loc[front[axis].idxmax(), "beta"],
                **{f"{a}_percentile": pct.loc[front[axis].idxmax(), a] for a in AXES},
            }
            for axis in AXES
        ]
    )
    corr = pd.DataFrame(
        [
            dict(
                zip(
                    ("axes", "rho", "lo", "hi"),
                    (f"{a} vs {b}", *spearman_ci(front[a], front[b])),
                    strict=True,
                )
            )
            for a, b in ((AXES[0], AXES[1]), (AXES[0], AXES[2]), (AXES[1], AXES[2]))
        ]
    )
    all_three = int((pct[list(AXES)] >= 0.75).all(axis=1).sum())
    show(best, best.columns, "Best run on each axis and its percentile on every axis")
    show(corr, corr.columns, "Spearman rank correlation between axes (95 % CI)")
    verdict = [
        f"{len(front)} runs; {int(front['pareto'].sum())} Pareto-optimal; the best run on each axis is "
        f"{'a different run' if best['run'].nunique() == 3 else 'shared between axes'} "
        f"({', '.join(f'{r.best_on}: run {r.run}' for r in best.itertuples())}).",
        f"Runs in the top quarter on all three axes: {all_three} of {len(front)}.",
    ]
    verdict += [f"Spearman {r.axes}: {r.rho:.2f} [{r.lo:.2f}, {r.hi:.2f}]." for r in corr.itertuples()]
    claim = Claim("Claim: no run is best on optimisation, value capture and generalisation at once", verdict)
    claim.tables += [
        ("Best run on each axis: its percentile on every axis (1 = best)", best),
        ("Spearman rank correlation between the axes over runs (Fisher-z 95 % CI)", corr),
    ]
    claim.figures.append(
        (
            "The run that is best on each axis, and where it ranks on the other two (percentile "
            "among all runs; 1 = best)",
            plot_best_runs(best, figure_path(study, "claim_best_runs")),
        )
    )
    write_study_report(study, claim)


if __name__ == "__main__":
    main()
