"""schedules: cyclic batch size ≈ cyclic learning rate, both better than constant schedules
(Three Factors §4.3; Smith 2017).

Networks (the ``schedules`` grid: cyclic batch S ∈ [S, 5S] at fixed η, cyclic LR
η ∈ [η/5, η] at fixed S — the same range of η/S — and constants η and η/5, from the same
initial weights per seed; a fixed budget of 4c + 1 epochs, stopped after the first epoch of
a cycle, its lowest-noise phase). The budget is long enough that the constant schedules have
plateaued: their test accuracy's gain over the last 10 epochs is checked against the margin
(:mod:`threefactors.claims.plateau`; at 41 epochs, the first design, the curves were still
rising by 0.01–0.03 per 10 epochs). Primary: final test accuracy of cyclic batch ≡ cyclic LR
by TOST paired by seed, margin ±0.01 (declared here). Second part: each cyclic schedule >
each constant by a paired one-sided t test, all must hold. Secondary: the plateau checks;
the learning curves' largest per-epoch gap between the two cyclic schedules relative to the
seed-to-seed spread (shown).

Two model families, each judged on its own: the MLP on MNIST-1D (101 epochs, 8 seeds) and
the SimpleCNN on the 5,000 MNIST digits (17 epochs = 4 cycles + 1, 5 seeds: the
``schedules`` grid's ``FamilyDesign``; at constant η its test accuracy gains < 0.011 over
the last 10 of 17 epochs in the pilot, where the MLP's rises for ~80 epochs; constant η/5 is
still rising there, which the plateau secondary reports). The CNN fits its data (test
accuracy ≈ 0.97), so it tests the generalization claim on a network that is not underfitting.
"""

from __future__ import annotations

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
    from_test,
    intersection,
    plotter,
)
from threefactors.claims.plateau import WINDOW, plateau

PRIMARY = "final test accuracy: cyclic batch ≡ cyclic LR (TOST)"
ABOVE = "final test accuracy: each cyclic schedule > each constant schedule"
MARGIN = 0.01
READOUT = (
    "final test accuracy at the end of a fixed budget, long enough that the constant "
    "schedules have plateaued: mlp 101 epochs (25 cycles + 1 epoch), cnn 17 epochs (4 "
    "cycles + 1)"
)
REPLICATES = "mlp: 8 seeds; cnn: 5 seeds"


def label(config: dict[str, Any]) -> str:
    return f"{config['schedule']} lr={config['lr']:g} S={config['batch']}"


def curves(records: list[dict[str, Any]], name: str) -> list[list[float]]:
    """The test-accuracy curves (one per seed, every epoch) of schedule ``name``."""
    return [
        [h["test_accuracy"] for h in r["history"]] for r in records if label(r["config"]) == name
    ]


def curve_gap(records: list[dict[str, Any]], a: str, b: str) -> dict[str, Any]:
    """The largest |mean_a − mean_b| of test accuracy over epochs, and the seed-to-seed
    standard deviation of the paired difference at that epoch."""
    curves: dict[str, dict[int, list[float]]] = {a: {}, b: {}}
    for r in records:
        name = label(r["config"])
        if name in curves:
            curves[name][network.seed_of(r)] = [h["test_accuracy"] for h in r["history"]]
    seeds = sorted(set(curves[a]) & set(curves[b]))
    if not seeds:
        return {"epoch": None, "gap": None, "spread": None}
    length = min(len(curves[n][s]) for n in curves for s in seeds)
    diff = np.array([np.subtract(curves[a][s][:length], curves[b][s][:length]) for s in seeds])
    mean = diff.mean(axis=0)
    epoch = int(np.argmax(np.abs(mean)))
    spread = float(diff[:, epoch].std(ddof=1)) if len(seeds) > 1 else None
    return {"epoch": epoch, "gap": float(mean[epoch]), "spread": spread}


def networks(ctx: Context, s: Settings) -> list[Evidence]:
    from threefactors.statistics import paired_difference, tost

    result = network.run_grid(ctx, "schedules", s)
    if not result["complete"]:
        return network.incomplete("schedules", result, PRIMARY)
    records = result["records"]
    final = {}
    for r in records:
        final.setdefault(label(r["config"]), {})[network.seed_of(r)] = (r.get("final") or {}).get(
            "test_accuracy"
        )
    kinds = {label(r["config"]): r["config"]["schedule"] for r in records}
    cbs = next(n for n, k in kinds.items() if k == "cyclic-batch")
    clr = next(n for n, k in kinds.items() if k == "cyclic-lr")
    constants = sorted(n for n, k in kinds.items() if k == "constant")
    a, b, seeds = network.aligned(final[cbs], final[clr])
    diverged = sum(r["diverged"] for r in records)
    note = f"{len(seeds)} seeds" + (f"; {diverged} runs diverged (left out)" if diverged else "")
    evidence = [
        from_test(
            "empirical",
            PRIMARY,
            tost(a, b, MARGIN),
            predicted=f"|Δ| < {MARGIN}",
            detail=note,
            figure="schedules.png",
        )
    ]
    pairs = []
    for cyclic in (cbs, clr):
        for constant in constants:
            x, y, _ = network.aligned(final[cyclic], final[constant])
            pairs.append(
                from_test(
                    "empirical",
                    f"{cyclic} > {constant}",
                    paired_difference(x, y, alternative="greater"),
                    predicted="> 0",
                )
            )
    evidence += [intersection("empirical", ABOVE, pairs, note), *pairs]
    evidence += [
        plateau(
            f"test accuracy has plateaued by the budget: {constant}",
            curves(records, constant),
            MARGIN,
        )
        for constant in constants
    ]
    gap = curve_gap(records, cbs, clr)
    ratio = None if not gap["spread"] else abs(gap["gap"]) / gap["spread"]
    evidence.append(
        Evidence(
            "empirical",
            "largest learning-curve gap, cyclic batch − cyclic LR",
            "small against the seed spread",
            gap["gap"],
            "inconclusive",
            f"at epoch {gap['epoch']}: gap {gap['gap']}, seed-to-seed sd of the paired "
            f"difference {gap['spread']} (ratio {ratio}); shown, not tested",
        )
    )
    data = {
        "experiment": "schedules",
        "final": {k: {str(seed): v for seed, v in d.items()} for k, d in final.items()},
        "histories": network.histories(records, ("test_accuracy",)),
        "labels": {str(i): label(r["config"]) for i, r in enumerate(records)},
        "margin": MARGIN,
        "window": WINDOW,
        "curve_gap": gap,
    }
    ctx.figure("schedules", data, plotter("schedules"))
    return evidence


SPEC = ClaimSpec(
    id="schedules",
    statement="cyclic batch size ≈ cyclic LR, both above constant schedules",
    source="Three Factors §4.3",
    command="threefactors grid --experiment schedules",
    kind="reproduction",
    parts=(
        Part(
            statement="cyclic batch size and cyclic learning rate reach the same test accuracy",
            quantity=PRIMARY,
            view="empirical",
            test="TOST paired by seed (90 % t interval); not reproduced when a difference is "
            "shown (the interval excludes 0) and equivalence is not",
            readout=READOUT,
            sidedness="equivalence",
            margin=f"±{MARGIN} test accuracy: a difference a reader of the paper's Table would "
            "call a different result (the paper's curves differ by < 1 %)",
            unit=network.SEED_UNIT,
            replicates=REPLICATES,
        ),
        Part(
            statement="both cyclic schedules end above every constant schedule",
            quantity=ABOVE,
            view="empirical",
            test="each cyclic > each constant: paired one-sided t tests, all must hold "
            "(intersection–union: no correction)",
            readout=READOUT,
            sidedness="one-sided (> 0), each",
            unit=network.SEED_UNIT,
            replicates=REPLICATES,
        ),
    ),
    secondary=(
        "largest learning-curve gap vs seed spread (shown)",
        f"each constant schedule's test accuracy has plateaued by the budget (upper 95 % bound "
        f"of the mean {WINDOW}-epoch gain < {MARGIN}; shown)",
    ),
    scales={"quick": {}, "default": {}, "paper": {}},
    views=(networks,),
    registered="",
    paper_setting="VGG-11 on CIFAR-10: cyclic batch 128–640 at η = 0.005 vs cyclic LR "
    "0.001–0.005 at S = 128, constants, 5 seeds, stopped at a cycle's end",
    pilot_seeds=PILOT_SEEDS,
    replicates=network.replicates("schedules"),
    families=("mlp", "cnn"),
    amendments=(
        Amendment(
            date="2026-12-02",
            change="TOST decision rule: a shown difference (interval excludes 0) that is not "
            "shown equivalent reads 'not reproduced' (was 'inconclusive' unless the whole "
            "interval left the margin); 'both above constant schedules' is a registered part "
            "(was four Holm-adjusted secondaries)",
            old_result="inconclusive: Δ = −0.0095, 90 % CI [−0.0132, −0.0058], margin 0.01 "
            "(seed 0); constant η = 0.1 beat both cyclic schedules",
            reason="an interval that excludes the claim of no difference contradicts it; "
            "'could not tell' misstated it. The statement has two halves.",
            design_hash="a34681731685",
        ),
        Amendment(
            date="2026-12-02",
            change="budget 41 → 101 epochs (10 → 25 cycles, still stopped after a cycle's "
            "first epoch); the constants' plateau is checked and shown (secondary). Sized on "
            "the pilot at seed offset 1000 (8 seeds) at 81 epochs: constant η plateaued (mean "
            "10-epoch gain −0.0015, upper bound +0.0004) but constant η/5 not quite (+0.0045, "
            "upper bound +0.0102 against the 0.01 margin); on one pilot seed η/5 is flat from "
            "epoch ~60 (10-epoch gain +0.0075 at 121)"
            "; the confirming sets 2000 and 3000 became pilot seeds, the confirming sets are "
            "4000 and 5000; model family mlp",
            old_result="not reproduced at seed 2000 (TOST Δ = −0.0089, 90 % CI [−0.0111, "
            "−0.0067], margin 0.01; constant η = 0.1 above cyclic batch by 0.0215 and cyclic "
            "LR by 0.0126) and at seed 3000 (Δ = −0.0132 [−0.0179, −0.0086]; constant η = 0.1 "
            "above both by 0.030 and 0.017), read at 41 epochs where the constants' test "
            "accuracy still rose by 0.014 (η) and 0.030 (η/5) over the last 10 epochs",
            reason="the registered readout is the end of training; at 41 epochs the curves "
            "were still rising, so the comparison read a transient",
            design_hash="5caf8d1c841d",
        ),
        Amendment(
            date="2026-12-02",
            change="a second model family, cnn: the SimpleCNN on the 5,000 MNIST digits, the "
            "same four schedules (cyclic S 32–160 at η = 0.1, cyclic η 0.02–0.1 at S = 32, "
            "constants η = 0.1 and 0.02) for 17 epochs (4 cycles + 1), no curvature "
            "measured, 5 seeds (schedules grid's FamilyDesign), sized on pilot seeds "
            "1000–1004",
            old_result="mlp only: not reproduced at seed 4000 (equivalence holds, Δ = +0.0055 "
            "[+0.0014, +0.0096]; constant η = 0.1 above cyclic batch by 0.0046 [0.0016, "
            "0.0077]) and inconclusive at 5000 (Δ = −0.002 [−0.0062, +0.0022]; ordering "
            "inconclusive); the mlp design is unchanged",
            reason="issue 19: a generalization claim read on an MLP that underfits MNIST-1D "
            "(test accuracy ≈ 0.69) needs a second network that fits its data",
            design_hash="5c66b8d2d78c",
        ),
    ),
)
