"""Claim: anthropomorphism buys unearned trust, and a disclosure label takes it back.

Lindstrom et al. (2024), Lee & See (2004): a human-like persona is a cue of reliability,
so users who cannot check outcomes trust the model beyond its real reliability. Scenario
`deception_trust`: catalogue anthro_mean 0.1, 0.5, 0.9 crossed with a disclosure label.
The claim holds when overtrust (trust - reliability) rises with anthro_mean (slope CI
above 0) and the label lowers it (paired bootstrap CI below 0).
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

MEASURES = ["overtrust", "trust_from_anthro", "trust_mean", "reliability"]


def main() -> None:
    args = parse_args(__doc__)
    study = run_study("anthropomorphism_trust", "deception_trust", args, quick_steps=40, quick_replications=3)
    slopes = gap_vs_pressure(study.df, x="anthro_mean", by="disclosure", measure="overtrust")
    label = compare_policies(
        study.df,
        by="disclosure",
        baseline=False,
        measures=MEASURES[:2],
        within="anthro_mean",
        n_boot=study.n_boot,
    )
    means = mean_ci(study.runs, by=["disclosure", "anthro_mean"], measures=MEASURES)
    show(
        slopes, ["level", "n", "slope", "slope_lo", "slope_hi", "intercept", "r2"], "Overtrust on anthro_mean"
    )
    show(
        label,
        ["anthro_mean", "measure", "mean_baseline", "mean_level", "diff", "diff_lo", "diff_hi"],
        "Label minus none",
    )
    verdict = [
        f"Disclosure {r.level}: overtrust slope per unit anthro_mean {ci(r.slope, r.slope_lo, r.slope_hi)}."
        for r in slopes.itertuples()
    ]
    top = means[(means["measure"] == "overtrust") & (means["anthro_mean"] == means["anthro_mean"].max())]
    verdict += [
        f"Overtrust at anthro_mean {r.anthro_mean}, disclosure {r.disclosure}: {ci(r.mean, r.lo, r.hi)} "
        f"({'above reliability: unearned trust' if r.lo > 0 else 'below reliability' if r.hi < 0 else 'not clearly off reliability'})."
        for r in top.itertuples()
    ]
    verdict += [
        f"Label minus none at anthro_mean {r.anthro_mean}, {r.measure}: {ci(r.diff, r.diff_lo, r.diff_hi)}."
        for r in label.itertuples()
    ]
    claim = Claim("Claim: anthropomorphism buys unearned trust; disclosure takes it back", verdict)
    claim.tables += [
        (
            "Overtrust against anthro_mean (OLS over runs, 95 % t-CI)",
            slopes.drop(columns=["by", "x", "ci", "ci_level"]),
        ),
        (
            "Disclosure label minus none (paired bootstrap 95 % CI)",
            label[
                ["anthro_mean", "measure", "n", "mean_baseline", "mean_level", "diff", "diff_lo", "diff_hi"]
            ],
        ),
        ("Mean per design point (95 % t-CI)", means),
    ]
    claim.figures.append(
        (
            "Overtrust and persona-driven trust against anthropomorphism, with and without the label",
            plot_means(
                means[means["measure"].isin(MEASURES[:2])],
                figure_path(study, "claim_trust"),
                x="anthro_mean",
                by="disclosure",
                title="Human-like output buys trust; the disclosure label cuts it (mean ± 95 % CI)",
            ),
        )
    )
    write_study_report(study, claim, by="disclosure", baseline=False)


if __name__ == "__main__":
    main()
