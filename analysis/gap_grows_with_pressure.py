"""Claim: the alignment gap grows with optimisation pressure, and true utility follows a Goodhart curve.

Murphy's laws (Gaikwad 2025) and Gao et al. (2022): optimising a learned proxy harder
raises the proxy faster than true utility. Scenario `goodhart_pressure`: beta 0-16 crossed
with a heavy (Student-t) or Gaussian tail of the style feature. The claim holds when the
slope of the gap on beta has a 95 % CI above 0; the Goodhart fits say where utility peaks.
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

from sociosim.analysis import gap_vs_pressure, goodhart_table


def main() -> None:
    args = parse_args(__doc__)
    study = run_study(
        "gap_grows_with_pressure", "goodhart_pressure", args, quick_steps=40, quick_replications=2
    )
    slopes = gap_vs_pressure(study.df, x="beta", by="bias_tail")
    fits = goodhart_table(study.df, by="bias_tail")
    means = mean_ci(study.runs, by=["bias_tail", "beta"], measures=["proxy", "true_utility", "gap"])
    show(
        slopes,
        ["level", "n", "slope", "slope_lo", "slope_hi", "intercept", "r2", "slope_nonzero"],
        "Gap against beta (OLS over runs, 95 % t-CI)",
    )
    show(
        fits,
        ["level", "form", "a", "b", "b_se", "r2", "d_star", "u_star"],
        "Goodhart fits of true utility on sqrt(KL)",
    )
    verdict = [
        f"Gap slope per unit beta, {r.level} tail: {ci(r.slope, r.slope_lo, r.slope_hi)} "
        f"({'CI excludes 0: the gap grows with pressure' if r.slope_lo > 0 else 'CI does not exclude 0 above'})."
        for r in slopes.itertuples()
    ]
    for r in fits[fits["form"] == "kl"].itertuples():
        peak = f"peaks at d* = {r.d_star:.2f}" if r.d_star != float("inf") else "has no peak (b <= 0)"
        verdict.append(
            f"Goodhart fit d(a - b log d), {r.level} tail: R² = {r.r2:.2f}, b = {r.b:.2f} ± {r.b_se:.2f}; {peak}."
        )
    claim = Claim("Claim: the gap grows with optimisation pressure", verdict)
    claim.tables += [
        ("Gap against beta per tail", slopes.drop(columns=["by", "x", "ci", "ci_level"])),
        ("Goodhart fits (true utility on d = √KL)", fits.drop(columns=["by"])),
        ("Mean outcome per beta (95 % t-CI over replicates)", means),
    ]
    claim.figures.append(
        (
            "Proxy, true utility and their gap against pressure, per tail of the style feature",
            plot_means(
                means,
                figure_path(study, "claim_goodhart"),
                x="beta",
                by="bias_tail",
                title="Proxy, true utility and gap against pressure (mean ± 95 % CI)",
            ),
        )
    )
    write_study_report(study, claim, by="bias_tail", baseline="student_t")


if __name__ == "__main__":
    main()
