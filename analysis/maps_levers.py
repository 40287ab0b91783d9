"""Claim: the MAPS levers reduce the alignment gap but never remove it.

Murphy's laws (Gaikwad 2025): misspecification (M), annotation (A), pressure (P) and shift
(S) levers each act on part of the gap. Scenario `maps_interventions`: each lever (and a
disclosure label) against no lever at beta 0.5, 1, 2 (users held fixed). We compare each lever with none on
gap and gap_shift (paired on replicate, bootstrap 95 % CIs) and fit gap against beta per
lever: a lever that works lowers the slope or intercept; the gap is removed only if both vanish.
"""

from _common import (
    Claim,
    ci,
    figure_path,
    parse_args,
    plot_small_multiples,
    run_study,
    show,
    write_study_report,
)

from sociosim.analysis import compare_policies, gap_vs_pressure
from sociosim.analysis.figures import plot_effects


def main() -> None:
    args = parse_args(__doc__)
    study = run_study("maps_levers", "maps_interventions", args, quick_steps=30, quick_replications=2)
    effects = compare_policies(
        study.df,
        by="lever",
        baseline="none",
        measures=["gap", "gap_shift"],
        within="beta",
        n_boot=study.n_boot,
    )
    slopes = gap_vs_pressure(study.df, x="beta", by="lever")
    shift_slopes = gap_vs_pressure(study.df, x="beta", by="lever", measure="gap_shift")
    lo_gap = study.runs.groupby("lever")["gap"].min()
    show(
        effects,
        ["beta", "level", "measure", "diff", "diff_lo", "diff_hi", "excludes_zero"],
        "Lever minus none",
    )
    show(
        slopes,
        ["level", "slope", "slope_lo", "slope_hi", "intercept", "intercept_lo", "intercept_hi"],
        "Gap on beta",
    )
    verdict = [
        f"{r.level}: gap slope {ci(r.slope, r.slope_lo, r.slope_hi)}, intercept "
        f"{ci(r.intercept, r.intercept_lo, r.intercept_hi)}; smallest gap of any run {lo_gap[r.level]:.2f}."
        for r in slopes.itertuples()
    ]
    pos = slopes.loc[slopes["slope_lo"] > 0, "level"].tolist()
    flat = slopes.loc[slopes["slope_lo"] <= 0, "level"].tolist()
    verdict.append(
        f"Slope CI above 0 (gap still grows with pressure): {', '.join(pos) or 'none'}; "
        f"not above 0: {', '.join(flat) or 'none'}. Runs with a gap <= 0: {int((study.runs['gap'] <= 0).sum())} "
        f"of {len(study.runs)}."
    )
    grows = shift_slopes.loc[shift_slopes["slope_lo"] > 0, "level"].tolist()
    verdict.append(
        f"On the shifted population (gap_shift) the slope CI is above 0 for: {', '.join(grows) or 'none'}; "
        + "; ".join(f"{r.level} {ci(r.slope, r.slope_lo, r.slope_hi)}" for r in shift_slopes.itertuples())
        + "."
    )
    claim = Claim("Claim: levers reduce the gap but never remove it", verdict)
    claim.tables += [
        (
            "Each lever minus none, per beta (paired bootstrap 95 % CI)",
            effects[
                [
                    "beta",
                    "level",
                    "measure",
                    "n",
                    "mean_baseline",
                    "mean_level",
                    "diff",
                    "diff_lo",
                    "diff_hi",
                    "excludes_zero",
                ]
            ],
        ),
        ("Gap against beta per lever (OLS, 95 % t-CI)", slopes.drop(columns=["by", "x", "ci", "ci_level"])),
        ("gap_shift against beta per lever", shift_slopes.drop(columns=["by", "x", "ci", "ci_level"])),
    ]
    gap_fx = effects[effects["measure"] == "gap"].sort_values(["level", "beta"])
    gap_fx = gap_fx.assign(arm=gap_fx["level"] + ", β = " + gap_fx["beta"].map("{:g}".format))
    claim.figures.append(
        (
            "Gap of each lever minus no lever, at each beta (95 % CI; red: lever lowers the gap)",
            plot_effects(
                gap_fx,
                figure_path(study, "claim_lever_gap"),
                row_label=("arm",),
                title="Lever minus none: alignment gap",
            )[0],
        )
    )
    claim.figures.append(
        (
            "Gap against pressure per lever: thin lines are replicates (same seed across levers), thick the "
            "mean; dashed grey is no lever",
            plot_small_multiples(
                study.runs,
                figure_path(study, "claim_gap_per_lever"),
                x="beta",
                y="gap",
                panel_by="lever",
                reference="none",
                title="Does any lever remove the gap or its growth with pressure?",
            ),
        )
    )
    write_study_report(study, claim, by="lever", baseline="none")


if __name__ == "__main__":
    main()
