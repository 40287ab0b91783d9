"""A frozen copy of the model's fixed per-step work as it was before the speed rewrite (issue 17).

`BaselineModel` is an `AlignmentModel` whose `step` runs the old code path: labels with the
perceived rewards recomputed every step, the reward model refitted on the window re-gathered
from all its rows, the measures computed as they were, DeGroot averaging as it was. It is
kept here (and not in the package) so that a test can compare the new step with the old one
(`tests/model/test_fast_step.py`) and the benchmark can time both in one process
(`python -m benchmarks.step`). Do not "improve" this file: its point is to stay as it was.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.special import expit

from sociosim.model.dynamics import anthro_cue
from sociosim.model.feedback import AI_RATER, PROBE_RATER, Labels
from sociosim.model.model import AlignmentModel
from sociosim.model.policy import optimise, sample_pairs
from sociosim.model.world import true_utility

#: measure columns computed from the users' states alone (and counters): with the users'
#: states bit-identical these must match the pinned step exactly; the others to 1e-12
USER_STATE = [
    "step",
    "value_diversity",
    "culture_separation",
    "culture_entropy",
    "minority_drift",
    "majority_drift",
    "dominant_pull",
    "trust_mean",
    "overtrust",
    "trust_from_anthro",
    "active_share",
    "engagement",
    "n_interventions",
]

# --- feedback --------------------------------------------------------------------------------


def old_perceived(pool, catalogue, weights, *, defect_detection: float) -> np.ndarray:
    """Each annotator's perceived reward of every response, recomputed (the old `AnnotatorPool.perceived`)."""
    return true_utility(catalogue, pool.values, weights) + old_rating_bias(
        catalogue,
        polish_bias=pool.polish_bias,
        anthro_bias=pool.anthro_bias,
        flattery_bias=pool.flattery_bias,
        defect_detection=defect_detection,
    )


def old_rating_bias(catalogue, *, polish_bias, anthro_bias, flattery_bias, defect_detection: float):
    """The annotation bias `R - U` as it was computed."""
    gp, ga, gg = (np.asarray(b, dtype=float)[..., None] for b in (polish_bias, anthro_bias, flattery_bias))
    missed = (1.0 - defect_detection) * catalogue.defect
    return gp * catalogue.polish + ga * catalogue.anthro + gg * catalogue.agree + missed


def old_label_pairs(perceived, rater, first, second, precision, culture, rng) -> Labels:
    """Bradley–Terry labels as they were drawn."""
    p = expit(precision[rater] * (perceived[rater, first] - perceived[rater, second]))
    wins = (rng.random(len(p)) < p).astype(float)
    return Labels(first, second, wins, culture[rater])


def old_label(pool, policy, perceived, *, per_annotator: int, rng) -> Labels:
    """Each annotator labels `per_annotator` pairs drawn from `policy` (the old `AnnotatorPool.label`)."""
    rater = np.repeat(np.arange(pool.size), per_annotator)
    first, second = sample_pairs(policy, len(rater), rng)
    return old_label_pairs(perceived, rater, first, second, pool.precision, pool.culture, rng)


def old_aggregation_weights(culture: np.ndarray, *, balanced: bool) -> np.ndarray:
    """Per-label weights as they were."""
    weights = np.ones(len(culture))
    if balanced and len(culture):
        groups, inverse, counts = np.unique(culture, return_inverse=True, return_counts=True)
        weights = len(culture) / (len(groups) * counts[inverse])
    return weights


def old_fit_bradley_terry(features_diff, first_wins, weights, *, l2, start=None, iterations=50, tol=1e-10):
    """The old Newton fit: every array allocated anew each iteration."""
    k = features_diff.shape[1]
    theta = np.zeros(k) if start is None else start.copy()
    if len(first_wins) == 0 or k == 0:
        return theta
    ridge = max(l2, 1e-9) * np.eye(k)
    for _ in range(iterations):
        p = expit(features_diff @ theta)
        gradient = features_diff.T @ (weights * (p - first_wins)) + l2 * theta
        curvature = weights * p * (1 - p)
        hessian = (features_diff * curvature[:, None]).T @ features_diff + ridge
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if np.max(np.abs(step)) < tol:
            break
    return theta


def old_refit(lab) -> None:
    """Refit a lab's reward model on its whole window, re-gathered row by row (the old `Lab.refit`)."""
    p = lab.params
    model = lab.reward_model
    labels = lab.window.labels()
    diff = model.features[labels.first] - model.features[labels.second]
    if not np.any(diff):
        return
    weights = old_aggregation_weights(labels.culture, balanced=p.aggregation == "balanced")
    model.theta = old_fit_bradley_terry(diff, labels.first_wins, weights, l2=p.l2, start=model.theta)


def old_update_policy(lab, beta: float) -> None:
    """The old `Lab.update_policy`."""
    p = lab.params
    lab.policy, lab.pressure = optimise(
        lab.reward_model.features @ lab.reward_model.theta + lab.reward_model.constitution,
        lab.base,
        optimizer=p.optimizer,
        beta=beta,
        n=p.best_of_n,
        beta_cap=p.beta_cap,
        kl_budget=p.kl_budget,
    )


def old_collect_labels(lab, *, catalogue, weights, shifted, base, probe_panel, users, asking, rng) -> None:
    """This step's labels from every channel into the window, as the old `Lab.collect_labels` drew them."""
    p = lab.params
    probe_per_rater = int(round(p.labels_per_step * p.shift_training))
    human_per_rater = p.labels_per_step - probe_per_rater
    perceived = old_perceived(lab.annotators, catalogue, weights, defect_detection=p.defect_detection)
    labelled = base if p.label_policy == "base" else lab.policy
    human = old_label(lab.annotators, labelled, perceived, per_annotator=human_per_rater, rng=rng)
    batches = [human]
    lab.last_pairs = (human.first, human.second)
    lab.last_perceived = perceived
    if probe_per_rater:
        probe_perceived = old_perceived(probe_panel, catalogue, shifted, defect_detection=p.defect_detection)
        probe = old_label(probe_panel, base, probe_perceived, per_annotator=probe_per_rater, rng=rng)
        batches.append(Labels(probe.first, probe.second, probe.first_wins, np.full(len(probe), PROBE_RATER)))
    if p.rlaif and p.rlaif_labels:
        first, second = sample_pairs(lab.policy, p.rlaif_labels, rng)
        reward = (lab.reward_model.features @ lab.reward_model.theta + lab.reward_model.constitution)[None, :]
        count = p.rlaif_labels
        batches.append(
            old_label_pairs(
                reward, np.zeros(count, dtype=np.int64), first, second, np.ones(1), np.array([AI_RATER]), rng
            )
        )
    if p.thumbs_feedback:
        mine = asking[users.last_lab[asking] == lab.index]
        batches.append(users.thumbs(mine, lab.policy, catalogue, weights, p, budget=p.thumbs_labels, rng=rng))
    lab.window.push(Labels.concat(batches))


# --- users -------------------------------------------------------------------------------------


def old_degroot_average(values, weights, *, weight: float, confidence=None) -> np.ndarray:
    """The old DeGroot step: a sparse product, then the mixing and a `where` as separate passes."""
    if weight == 0.0 or weights.nnz == 0:
        return values
    if confidence is None:
        neighbour_mean = weights @ values
        has_neighbours = np.diff(weights.indptr) > 0
    else:
        rows = np.repeat(np.arange(weights.shape[0]), np.diff(weights.indptr))
        close = np.linalg.norm(values[rows] - values[weights.indices], axis=1) <= confidence
        kept = sp.csr_matrix((close.astype(float), weights.indices, weights.indptr), shape=weights.shape)
        count = np.asarray(kept.sum(axis=1)).ravel()
        has_neighbours = count > 0
        neighbour_mean = (kept @ values) / np.maximum(count, 1.0)[:, None]
    mixed = (1.0 - weight) * values + weight * neighbour_mean
    return np.where(has_neighbours[:, None], mixed, values)


# --- measures ----------------------------------------------------------------------------------


def old_standardise(values, weights):
    mean = weights @ values
    centred = values - mean
    sd = np.sqrt(weights @ centred**2)
    if not np.isfinite(sd) or sd < 1e-12 * max(1.0, float(np.abs(mean))):
        return np.zeros_like(values)
    return centred / sd


def old_kl_divergence(policy, base) -> float:
    support = policy > 0
    value = float(np.sum(policy[support] * np.log(policy[support] / base[support])))
    return max(value, 0.0)


def old_culture_centroids(values, culture, n_cultures):
    counts = np.bincount(culture, minlength=n_cultures).astype(float)
    sums = np.stack(
        [np.bincount(culture, weights=values[:, k], minlength=n_cultures) for k in range(values.shape[1])],
        axis=1,
    )
    return sums / np.maximum(counts, 1.0)[:, None]


def old_mean_pairwise_distance(points) -> float:
    if len(points) < 2:
        return 0.0
    diff = points[:, None, :] - points[None, :, :]
    dist = np.linalg.norm(diff, axis=2)
    return float(dist[np.triu_indices(len(points), 1)].mean())


def old_centre_distances(values, centres):
    squared = centres @ values.T
    squared *= -2.0
    squared += np.einsum("nd,nd->n", values, values)
    squared += np.einsum("cd,cd->c", centres, centres)[:, None]
    return np.sqrt(np.maximum(squared, 0.0, out=squared), out=squared)


def old_nearest_centre(distances):
    nearest = np.zeros(distances.shape[1], dtype=np.int64)
    best = distances[0].copy()
    for c in range(1, len(distances)):
        nearest[distances[c] < best] = c
        np.minimum(best, distances[c], out=best)
    return nearest


def old_pulled_distance(distances, contrast, n_minority) -> float:
    return float(np.einsum("cn,cn->", contrast, distances)) / max(n_minority, 1)


def old_total_variance(values) -> float:
    n = max(len(values), 1)
    mean = np.einsum("nd->d", values) / n
    return max(float(np.einsum("nd,nd->", values, values)) / n - float(mean @ mean), 0.0)


def old_weighted_corr(x, y, w) -> float:
    mx, my = w @ x, w @ y
    cov = w @ ((x - mx) * (y - my))
    vx, vy = w @ (x - mx) ** 2, w @ (y - my) ** 2
    if vx <= 1e-18 or vy <= 1e-18:
        return 0.0
    return float(np.clip(cov / np.sqrt(vx * vy), -1.0, 1.0))


def old_population_values(users, cultures):
    centroids = old_culture_centroids(users.values, users.culture, cultures.count)
    return centroids, cultures.user_shares @ centroids


def old_alignment_measures(
    *, policy, base, reward, catalogue, cultures, weights, shifted, centroids, mean_values
):
    r_z = old_standardise(reward, base)
    utility = true_utility(catalogue, mean_values, weights)
    u_z = old_standardise(utility, base)
    proxy = float(policy @ r_z)
    true = float(policy @ u_z)
    per_shift = true_utility(catalogue, cultures.centres, shifted)
    gap_shift = proxy - min(float(policy @ old_standardise(row, base)) for row in per_shift)
    out = {
        "proxy": proxy,
        "true_utility": true,
        "gap": proxy - true,
        "kl": old_kl_divergence(policy, base),
        "gap_shift": gap_shift,
        "mirage": gap_shift - (proxy - true),
    }
    per_culture = true_utility(catalogue, centroids, weights)
    scale = np.sqrt(base @ (utility - base @ utility) ** 2)
    scale = scale if scale > 1e-12 else 1.0
    gains = (per_culture @ policy - per_culture @ base) / scale
    for c, gain in enumerate(gains):
        out[f"utility_{c}"] = float(gain)
    out["utility_min"] = float(gains.min())
    out["utility_spread"] = float(gains.max() - gains.min())
    centred_r = r_z - policy @ r_z
    var_r = float(policy @ centred_r**2)
    cov_ru = float(policy @ (centred_r * (u_z - policy @ u_z)))
    out["value_capture"] = old_weighted_corr(r_z, u_z, base)
    out["reward_hacking"] = -cov_ru / var_r if var_r > 1e-12 else 0.0
    mean_stance = policy @ catalogue.stance
    norm = np.linalg.norm(mean_stance)
    for c, centre in enumerate(cultures.centres):
        out[f"stance_alignment_{c}"] = float(centre @ mean_stance / norm) if norm > 1e-12 else 0.0
    out["sycophancy"] = float(policy @ catalogue.agree)
    out["anthro"] = float(policy @ catalogue.anthro)
    out["polish"] = float(policy @ catalogue.polish)
    out["harm"] = float(policy @ catalogue.harm)
    out["quality"] = float(policy @ catalogue.quality)
    out["masked_defects"] = float(policy @ catalogue.defect)
    return out


def old_homogenisation_measures(users, cultures, baseline, centroids):
    values = users.values
    diversity = old_total_variance(values)
    separation = old_mean_pairwise_distance(centroids)
    relative_separation = separation / baseline.separation if baseline.separation > 1e-12 else 1.0
    distances = old_centre_distances(values, cultures.centres)
    nearest = old_nearest_centre(distances)
    share = np.bincount(nearest, minlength=cultures.count) / max(users.size, 1)
    nonzero = share[share > 0]
    entropy = (
        float(-(nonzero * np.log(nonzero)).sum() / np.log(cultures.count)) if cultures.count > 1 else 0.0
    )
    present = np.bincount(users.culture, minlength=cultures.count) > 0
    drift = np.linalg.norm(centroids - baseline.centroids, axis=1)
    minority_mask = present.copy()
    minority_mask[cultures.dominant] = False
    pull = 0.0
    if len(baseline.minority):
        pull = baseline.pull_start - old_pulled_distance(
            distances, baseline.pull_contrast, len(baseline.minority)
        )
    return {
        "value_diversity": diversity,
        "culture_separation": relative_separation,
        "culture_entropy": entropy,
        "minority_drift": float(drift[minority_mask].mean()) if minority_mask.any() else 0.0,
        "majority_drift": float(drift[cultures.dominant]),
        "dominant_pull": pull,
    }


def old_over_labs(usage, values):
    total = usage[:, 0] * values[:, 0]
    for lab in range(1, usage.shape[1]):
        total += usage[:, lab] * values[:, lab]
    return total


def old_trust_measures(users, policy, catalogue, usage=None):
    reliability = float(policy @ expit(catalogue.quality - catalogue.defect))
    if usage is None:
        trust, calibrated, plain = users.trust[:, 0], users.trust_cal[:, 0], users.trust_plain[:, 0]
    else:
        trust, calibrated, plain = (
            old_over_labs(usage, t) for t in (users.trust, users.trust_cal, users.trust_plain)
        )
    trust_mean = float(trust.mean())
    active = users.active
    if active.any():
        over = float((trust[active] - calibrated[active]).mean())
        persona = float((trust[active] - plain[active]).mean())
    else:
        over = persona = 0.0
    return {
        "trust_mean": trust_mean,
        "reliability": reliability,
        "overtrust": over,
        "trust_from_anthro": persona,
        "miscalibration": trust_mean - reliability,
        "active_share": float(active.mean()),
    }


def old_lab_overtrust(users, usage, lab: int) -> float:
    weight = usage[:, lab] * users.active
    total = weight.sum()
    if total <= 0:
        return 0.0
    return float(weight @ (users.trust[:, lab] - users.trust_cal[:, lab]) / total)


def old_mean_trust_by_lab(users):
    count = np.count_nonzero(users.active)
    if not count:
        return np.zeros(users.trust.shape[1])
    return users.active.astype(float) @ users.trust / count


def old_pairwise_agreement(probabilities) -> float:
    raters = probabilities.shape[0]
    if probabilities.size == 0:
        return float("nan")
    if raters == 1:
        p = probabilities[0]
        return float(np.mean(p**2 + (1 - p) ** 2))
    s = probabilities.sum(axis=0)
    s2 = (probabilities**2).sum(axis=0)
    agree = (s**2 - s2 + (raters - s) ** 2 - (raters - 2 * s + s2)) / (raters * (raters - 1))
    return float(np.mean(agree))


def old_annotator_measures(pool, perceived, catalogue, weights, pairs, *, defect_detection):
    first, second = pairs
    if len(first):
        probabilities = expit(pool.precision[:, None] * (perceived[:, first] - perceived[:, second]))
        agreement = old_pairwise_agreement(probabilities)
    else:
        agreement = 0.5
    bias = old_rating_bias(
        catalogue,
        polish_bias=pool.polish_bias,
        anthro_bias=pool.anthro_bias,
        flattery_bias=pool.flattery_bias,
        defect_detection=defect_detection,
    )
    signal = true_utility(catalogue, pool.values, weights)
    ratio = bias.std(axis=1) / np.maximum(signal.std(axis=1), 1e-12)
    return {"annotator_agreement": agreement, "annotator_bias": float(ratio.mean())}


class BaselineModel(AlignmentModel):
    """`AlignmentModel` with the step of before the speed rewrite (same draws, same order)."""

    def step(self) -> None:
        p = self.params
        cues = np.array(
            [
                anthro_cue(
                    p.cue_anthro, disclosure=lab.params.disclosure, disclosure_effect=p.disclosure_effect
                )
                for lab in self.labs
            ]
        )
        policies = [lab.policy for lab in self.labs]
        asking = self.users.interact(policies, self.catalogue, p, anthro_cues=cues, rng=self.rng)
        self._usage = None
        self.users.values = old_degroot_average(
            self.users.values,
            self.users.neighbour_weights,
            weight=p.social_weight,
            confidence=p.bounded_confidence,
        )
        self.users.churn(p.churn_threshold)
        for lab in self.labs:
            q = lab.params
            lab.annotators.drift(bias_growth=q.drift, value_step=q.value_drift, rng=self.rng)
            if q.calibrate_every and self.steps % q.calibrate_every == 0:
                lab.annotators.calibrate()
            self._collect_labels(lab, asking)
        for lab, developer in zip(self.labs, self.developers, strict=True):
            if self.steps % lab.params.retrain_every == 0:
                developer.choose_pressure()
                self._retrain(lab)
        if self.regulators and self.steps % p.audit_every == 0:
            for lab in self.labs:
                found = self.audit_measures(lab.index)
                for regulator in self.regulators:
                    mandate = regulator.audit(found, lab=lab.index)
                    if mandate is not None:
                        self.enforce(regulator, mandate)
        self.measures = self.compute_measures()
        self.datacollector.collect(self)

    def _collect_labels(self, lab, asking) -> None:
        old_collect_labels(
            lab,
            catalogue=self.catalogue,
            weights=self.weights,
            shifted=self.shifted_weights,
            base=self.base,
            probe_panel=self.probe_panel,
            users=self.users,
            asking=asking,
            rng=self.rng,
        )

    def _retrain(self, lab) -> None:
        old_refit(lab)
        old_update_policy(lab, self.developers[lab.index].beta)

    def _alignment(self, lab, centroids, mean_values):
        return old_alignment_measures(
            policy=lab.policy,
            base=self.base,
            reward=lab.reward_model.features @ lab.reward_model.theta + lab.reward_model.constitution,
            catalogue=self.catalogue,
            cultures=self.cultures,
            weights=self.weights,
            shifted=self.shifted_weights,
            centroids=centroids,
            mean_values=mean_values,
        )

    def _annotators(self, lab):
        return old_annotator_measures(
            lab.annotators,
            lab.last_perceived,
            self.catalogue,
            self.weights,
            lab.last_pairs,
            defect_detection=lab.params.defect_detection,
        )

    def audit_measures(self, lab: int = 0):
        centroids, mean_values = old_population_values(self.users, self.cultures)
        found = self._alignment(self.labs[lab], centroids, mean_values)
        if len(self.labs) == 1:
            found.update(old_trust_measures(self.users, self.labs[0].policy, self.catalogue))
        else:
            found["overtrust"] = old_lab_overtrust(self.users, self.usage(), lab)
        return found

    def compute_measures(self):
        from sociosim.model.metrics import lab_measures, market_measures, run_state_measures

        centroids, mean_values = old_population_values(self.users, self.cultures)
        interventions = sum(e["complied"] for e in self.events)
        if len(self.labs) == 1:
            lab = self.labs[0]
            out = self._alignment(lab, centroids, mean_values)
            out.update(old_trust_measures(self.users, lab.policy, self.catalogue))
            out.update(old_homogenisation_measures(self.users, self.cultures, self.baseline, centroids))
            out.update(self._annotators(lab))
            out.update(
                run_state_measures(
                    pressure=lab.pressure, engagement=self.lab_engagement(0), interventions=interventions
                )
            )
            return out
        usage = self.usage()
        shares = self.shares(usage)
        per_lab = [self._alignment(lab, centroids, mean_values) | self._annotators(lab) for lab in self.labs]
        out = {name: float(shares @ [found[name] for found in per_lab]) for name in per_lab[0]}
        mixture = shares @ np.array([lab.policy for lab in self.labs])
        out.update(old_trust_measures(self.users, mixture, self.catalogue, usage))
        out.update(old_homogenisation_measures(self.users, self.cultures, self.baseline, centroids))
        out.update(
            run_state_measures(
                pressure=float(shares @ [lab.pressure for lab in self.labs]),
                engagement=sum(self.lab_engagement(lab.index) for lab in self.labs),
                interventions=interventions,
            )
        )
        trusts = old_mean_trust_by_lab(self.users)
        for lab, found in zip(self.labs, per_lab, strict=True):
            out.update(
                lab_measures(
                    lab.index,
                    share=float(shares[lab.index]),
                    pressure=lab.pressure,
                    alignment=found,
                    trust=trusts[lab.index],
                )
            )
        out.update(market_measures(shares))
        return out
