"""Claim: under flattery-biased raters, sycophancy rises with optimisation pressure.

Sharma et al. (2023), Gaikwad (2025): raters who like being agreed with teach the reward
model to pay for agreement, so harder optimisation makes the policy agree more. Scenario
`sycophancy`: raters' flattery bias 0 or 1.5, beta 0-4. The claim holds when the slope of
sycophancy (E_pi[agree]) on beta has a 95 % CI above 0 under biased raters, and each
beta > 0 raises it against beta 0 (paired on replicate).
"""

from _common import (
    Claim,
    ci,
    figure_path,
    mean_ci,
    parse_args,
    plot_means,
    run_study,
    show,
    write_study_report,
)

from sociosim.analysis import compare_policies, gap_vs_pressure


def main() -> None:
    args = parse_args(__doc__)
    study = run_study("sycophancy_pressure", "sycophancy", args, quick_steps=30, quick_replications=2)
    slopes = gap_vs_pressure(study.df, x="beta", by="flattery_bias", measure="sycophancy")
    vs_zero = compare_policies(
        study.df,
        by="beta",
        baseline=0.0,
        measures=["sycophancy"],
        within="flattery_bias",
        n_boot=study.n_boot,
    )
    means = mean_ci(study.runs, by=["flattery_bias", "beta"], measures=["sycophancy", "gap"])
    show(
        slopes,
        ["level", "n", "slope", "slope_lo", "slope_hi", "intercept", "r2"],
        "Sycophancy on beta per flattery bias",
    )
    show(
        vs_zero,
        ["flattery_bias", "level", "mean_level", "diff", "diff_lo", "diff_hi"],
        "Each beta minus beta 0",
    )
    verdict = [
        f"Flattery bias {r.level}: sycophancy slope per unit beta {ci(r.slope, r.slope_lo, r.slope_hi)} "
        f"({'rises' if r.slope_lo > 0 else 'falls' if r.slope_hi < 0 else 'no clear trend'} with pressure)."
        for r in slopes.itertuples()
    ]
    for r in vs_zero.itertuples():
        verdict.append(
            f"Flattery bias {r.flattery_bias}, beta {r.level} minus beta 0: {ci(r.diff, r.diff_lo, r.diff_hi)}."
        )
    claim = Claim("Claim: sycophancy rises with pressure under flattery-biased raters", verdict)
    claim.tables += [
        (
            "Sycophancy against beta (OLS over runs, 95 % t-CI)",
            slopes.drop(columns=["by", "x", "ci", "ci_level"]),
        ),
        (
            "Each beta minus beta 0 (paired bootstrap 95 % CI)",
            vs_zero[
                ["flattery_bias", "level", "n", "mean_baseline", "mean_level", "diff", "diff_lo", "diff_hi"]
            ],
        ),
        ("Mean per design point (95 % t-CI)", means),
    ]
    claim.figures.append(
        (
            "Sycophancy and gap against pressure, by raters' flattery bias (mean ± 95 % CI)",
            plot_means(
                means,
                figure_path(study, "claim_sycophancy"),
                x="beta",
                by="flattery_bias",
                hline=None,
                title="Sycophancy and gap against pressure, by raters' flattery bias",
            ),
        )
    )
    write_study_report(study, claim, by="flattery_bias", baseline=0.0)


if __name__ == "__main__":
    main()
