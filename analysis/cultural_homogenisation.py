"""Claim: a persuasive model trained by a skewed crowd homogenises values, and minority cultures lose.

Lindstrom et al. (2024), Gaikwad (2025): feedback from a pool dominated by one culture
points the model at that culture's values; users persuaded by it converge, towards the
dominant culture. Scenario `value_homogenization`: persuasion 0, 0.02, 0.05 crossed with a
skewed (70/10/10/10) and a balanced annotator pool. Homogenisation: value diversity and
culture separation fall from the start (more with persuasion). Imposition: under the
skewed pool minorities are pulled towards the dominant culture (dominant_pull) and their
utility is lower than under a balanced pool (per-culture paired bootstrap CIs).
"""

from _common import (
    Claim,
    ci,
    figure_path,
    mean_ci,
    parse_args,
    plot_trajectories,
    run_study,
    show,
    write_study_report,
)

from sociosim.analysis import compare_policies, culture_outcomes
from sociosim.analysis.figures import plot_effects

BALANCED = "[0.25,0.25,0.25,0.25]"  # as the store writes list values


def main() -> None:
    args = parse_args(__doc__)
    study = run_study(
        "cultural_homogenisation", "value_homogenization", args, quick_steps=40, quick_replications=2
    )
    pool = study.df["annotator_shares"].map(lambda s: "balanced" if s == BALANCED else "skewed")
    df = study.df.assign(pool=pool).drop(columns="annotator_shares")  # pair skewed with balanced runs
    start = df[df["step"] == df["step"].min()].set_index("run_key")
    runs = study.runs.set_index("run_key")
    for m in ("value_diversity", "culture_separation"):
        runs[f"{m}_change"] = runs[m] - start[m]
    runs["pool"] = runs["annotator_shares"].map(lambda s: "balanced" if s == BALANCED else "skewed")
    change = mean_ci(
        runs,
        by=["pool", "persuasion"],
        measures=[
            "value_diversity_change",
            "culture_separation_change",
            "dominant_pull",
            "minority_drift",
            "majority_drift",
        ],
    )
    who = culture_outcomes(df, by="pool", baseline="balanced", n_boot=study.n_boot)
    pool_fx = compare_policies(
        df,
        by="pool",
        baseline="balanced",
        within="persuasion",
        measures=["dominant_pull", "stance_alignment_0", "utility_min", "utility_spread"],
        n_boot=study.n_boot,
    )
    show(change, ["pool", "persuasion", "measure", "mean", "lo", "hi"], "Change from the start / imposition")
    show(
        who,
        ["culture", "mean_baseline", "mean_level", "diff", "diff_lo", "diff_hi", "verdict"],
        "Skewed minus balanced",
    )
    verdict = [
        f"{r.measure} at persuasion {r.persuasion}, {r.pool} pool: {ci(r.mean, r.lo, r.hi)}."
        for r in change.itertuples()
        if r.measure.endswith("change") or r.measure == "dominant_pull"
    ]
    verdict += [
        f"Culture {r.culture} utility, skewed minus balanced pool: {ci(r.diff, r.diff_lo, r.diff_hi)} ({r.verdict})."
        for r in who.itertuples()
    ]
    claim = Claim("Claim: homogenisation, and minority cultures lose under a skewed pool", verdict)
    claim.tables += [
        ("Change from step 1 and imposition measures (mean, 95 % t-CI over replicates)", change),
        (
            "Per-culture utility, skewed minus balanced pool (paired bootstrap 95 % CI; culture 0 dominates "
            "the skewed pool)",
            who[["culture", "n", "mean_baseline", "mean_level", "diff", "diff_lo", "diff_hi", "verdict"]],
        ),
        (
            "Skewed minus balanced pool per persuasion",
            pool_fx[["persuasion", "measure", "mean_baseline", "mean_level", "diff", "diff_lo", "diff_hi"]],
        ),
    ]
    claim.figures.append(
        (
            "Value diversity and culture separation fall over time, faster with persuasion; under the "
            "skewed pool minorities move towards the dominant culture (dominant_pull)",
            plot_trajectories(
                df,
                figure_path(study, "claim_homogenisation"),
                by="persuasion",
                dash_by="pool",
                measures=["value_diversity", "culture_separation", "dominant_pull"],
                title="Homogenisation and imposition over time (mean ± 95 % CI)",
            ),
        )
    )
    claim.figures.append(
        (
            "Each culture's utility under the skewed pool minus the balanced pool (95 % CI)",
            plot_effects(
                who.assign(
                    culture=lambda t: (
                        "culture "
                        + t["culture"].astype(str)
                        + t["culture"].map({0: " (dominant)"}).fillna("")
                    )
                ),
                figure_path(study, "claim_cultures"),
                row_label=("culture",),
                title="Who loses under a skewed annotator pool",
            )[0],
        )
    )
    write_study_report(study, claim, by="annotator_shares", baseline=BALANCED)


if __name__ == "__main__":
    main()
