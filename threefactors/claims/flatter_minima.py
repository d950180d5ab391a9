"""flatter-minima: a larger learning rate and a smaller batch size *each* lead SGD to flatter
minima that generalize better (Jastrzębski, Kenton, Arpit, Ballas, Fischer, Bengio & Storkey,
"Finding flatter minima with SGD", ICLR 2018 workshop; Three Factors §4).

The ``ratio`` grid (η × S, every run read at the first epoch with 95 % train accuracy) read
with one factor held fixed: the effect of η within each S and of S within each η, by a
seed-blocked Spearman trend whose blocks are seed × the fixed factor
(:func:`~threefactors.statistics.seed_blocked_trend`: exact within-block permutation p, t
interval of the mean per-block ρ). Four registered parts: λ_max falls with η at fixed S and
rises with S at fixed η; test accuracy rises with η at fixed S and falls with S at fixed η.
On two model families, each judged on its own: the MLP on MNIST-1D (5 seeds) and the
SimpleCNN on the 5,000 MNIST digits (3 seeds, the spectrum on 500 examples: the ``ratio``
grid's ``FamilyDesign``); the claim holds where it holds on both.
"""

from __future__ import annotations

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

NAMES = {"lr": "η", "batch": "S"}
TRENDS = (
    # quantity, statement, x, y, sign, the fixed factor
    (
        "lambda_max vs eta at fixed S",
        "λ_max falls as η rises (S fixed)",
        "lr",
        "lambda_max",
        -1,
        "batch",
    ),
    (
        "lambda_max vs S at fixed eta",
        "λ_max rises as S rises (η fixed)",
        "batch",
        "lambda_max",
        +1,
        "lr",
    ),
    (
        "test accuracy vs eta at fixed S",
        "test accuracy rises as η rises (S fixed)",
        "lr",
        "test_accuracy",
        +1,
        "batch",
    ),
    (
        "test accuracy vs S at fixed eta",
        "test accuracy falls as S rises (η fixed)",
        "batch",
        "test_accuracy",
        -1,
        "lr",
    ),
)


def networks(ctx: Context, s: Settings) -> list[Evidence]:
    result = network.run_grid(ctx, "ratio", s)
    if not result["complete"]:
        return network.incomplete("ratio", result, TRENDS[0][0])
    rows, _, note = network.at_threshold(result["rows"])
    ctx.figure("flatter_minima", {"experiment": "ratio", "rows": rows}, plotter("flatter_minima"))
    return [
        network.blocked_trend(
            quantity,
            rows,
            x,
            y,
            sign,
            ctx.seed,
            stratum=fixed,
            detail=note,
            figure="flatter_minima.png",
        )
        for quantity, _, x, y, sign, fixed in TRENDS
    ]


SPEC = ClaimSpec(
    id="flatter-minima",
    statement="a larger η and a smaller S each lead SGD to flatter minima that generalize better",
    source="Jastrzębski et al., Finding flatter minima with SGD (ICLR 2018 workshop); Three "
    "Factors (arXiv 1711.04623) §4",
    command="threefactors grid --experiment ratio",
    kind="reproduction",
    parts=tuple(
        Part(
            statement=statement,
            quantity=quantity,
            view="empirical",
            test=f"seed-blocked Spearman trend of {y.replace('_', ' ')} on {NAMES[x]} within "
            f"each {NAMES[fixed]} (blocks = seed × the fixed factor), "
            "exact within-block permutation p; t interval of the mean per-block ρ",
            readout="at the first epoch with 95 % train accuracy",
            sidedness=f"two-sided test, claimed sign {sign:+d}",
            unit=network.SEED_UNIT,
            replicates=network.RATIO_REPLICATES,
        )
        for quantity, statement, x, y, sign, fixed in TRENDS
    ),
    secondary=(),
    scales={"quick": {}, "default": {}, "paper": {}},
    views=(networks,),
    registered="7c7b79d27243",
    paper_setting="VGG-11 / ResNet-32 (no BatchNorm) on CIFAR-10, η and S varied one at a "
    "time, 3 seeds",
    pilot_seeds=PILOT_SEEDS,
    replicates=network.replicates("ratio"),
    families=("mlp", "cnn"),
    amendments=(
        Amendment(
            date="2026-12-02",
            change="a second model family, cnn: " + network.RATIO_CNN_DESIGN,
            old_result="mlp only: every part reproduced at seeds 4000 and 5000 (λ_max ρ = −1 "
            "and +1; test accuracy ρ = +0.93 / +0.88 against η, −0.88 / −0.84 against S); "
            "the mlp design is unchanged",
            reason="issue 19: whether larger η and smaller S generalize better is the claim "
            "an MLP that underfits MNIST-1D (test accuracy ≈ 0.69) tests least well",
            design_hash="24b3383f0d39",
        ),
    ),
)
