"""nsgd: Nudged SGD with γ < 1 (the step along the top-K eigendirections scaled by γ) ends in
a sharper region and generalizes as well or better (Jastrzębski et al., ICLR 2019, arXiv
1807.05031, §5).

Networks (the ``nsgd`` grid, the paper's protocol at CPU scale: plain SGD at η = 0.01,
S = 128, no momentum, K = 5, γ ∈ {0.1, 1} from the same initial weights per seed, ≥ 4
seeds, 10% of the training set held out for validation, a fixed epoch budget). Primary:
test accuracy at the best-validation checkpoint of γ = 0.1 non-inferior to γ = 1, paired by
seed, margin 0.01 (declared here). Secondary: λ₁ and ‖(λ₁ … λ₅)‖ at the checkpoint higher
for γ = 0.1 (paired, one-sided; the eigenvalues of the projector computed after that
epoch); training speed, validation accuracy at a fixed early epoch, higher for γ = 0.1
(paired, one-sided). Deviation from the paper, stated: on 2 CPU cores the budget (40 / 60
epochs) does not reach convergence at η = 0.01 on MNIST-1D, so the checkpoint is the best
of an unconverged run. Replicates, sized from two 6-seed pilot sets (paired sd of the
accuracy difference ≈ 0.013; one set inconclusive, one agreeing): 16 seeds at the default
scale, where the one-sided 95% bound lies ≈ 1.75 × 0.013 / √16 ≈ 0.006 below the mean
difference, well inside the 0.01 margin when γ costs nothing.
"""

from __future__ import annotations

from typing import Any

from threefactors.claims import PILOT_SEEDS, network
from threefactors.claims.base import (
    Amendment,
    ClaimSpec,
    Context,
    Evidence,
    Part,
    Settings,
    from_test,
    plotter,
)

PRIMARY = "test accuracy at the best-validation checkpoint: gamma=0.1 non-inferior to gamma=1"
SHARPER = "lambda_1 at the checkpoint: gamma=0.1 > gamma=1"
MARGIN = 0.01
EARLY_EPOCH = {"quick": 5, "default": 10, "paper": 10}


def _at_epoch(record: dict[str, Any], epoch: int, key: str) -> float | None:
    return next((h.get(key) for h in record["history"] if h["epoch"] == epoch), None)


def _eigenvalues(entry: dict[str, Any]) -> list[float] | None:
    """λ₁ … λ_K at a history entry: its measurement, or the projector's eigenvalues
    computed right after that epoch."""
    return entry.get("top_eigenvalues") or entry.get("nudge_eigenvalues")


def _top_eigenvalue(entry: dict[str, Any]) -> float | None:
    values = _eigenvalues(entry)
    return values[0] if values else None


def _top_norm(entry: dict[str, Any]) -> float | None:
    values = _eigenvalues(entry)
    return float(sum(v * v for v in values) ** 0.5) if values else None


def networks(ctx: Context, s: Settings) -> list[Evidence]:
    from threefactors.statistics import noninferiority, paired_difference

    result = network.run_grid(ctx, "nsgd", s)
    if not result["complete"]:
        return network.incomplete("nsgd", result, PRIMARY)
    records = result["records"]
    early = EARLY_EPOCH[ctx.scale]

    def by_gamma(gamma: float, value) -> dict[int, Any]:
        return network.paired_by_seed(
            records, lambda r: r["config"]["nsgd_gamma"] == gamma and not r["diverged"], value
        )

    def at_best(read):
        return lambda r: None if r.get("best_validation") is None else read(r["best_validation"])

    def paired(read) -> tuple[list, list, list[int]]:
        return network.aligned(by_gamma(nudged, read), by_gamma(plain, read))

    nudged, plain = 0.1, 1.0
    acc_n, acc_p, seeds = paired(at_best(lambda h: h["test_accuracy"]))
    lam_n, lam_p, _ = paired(at_best(_top_eigenvalue))
    norm_n, norm_p, _ = paired(at_best(_top_norm))
    speed_n, speed_p, _ = paired(lambda r: _at_epoch(r, early, "validation_accuracy"))
    epochs = sorted({r["best_validation"]["epoch"] for r in records if r.get("best_validation")})
    accuracies = acc_n + acc_p
    note = (
        f"{len(seeds)} seeds paired (same initial weights); best-validation epochs "
        f"{', '.join(map(str, epochs))} of {records[0]['config']['epochs']}; test accuracy "
        f"at the checkpoints {min(accuracies, default=0):.3f}–{max(accuracies, default=0):.3f}"
    )
    evidence = [
        from_test(
            "empirical",
            PRIMARY,
            noninferiority(acc_n, acc_p, MARGIN),
            predicted=f"Δ > −{MARGIN}",
            detail=note,
            figure="nsgd.png",
        ),
        from_test(
            "empirical",
            SHARPER,
            paired_difference(lam_n, lam_p, alternative="greater"),
            predicted="> 0",
        ),
        from_test(
            "empirical",
            "norm of the top-5 eigenvalues at the checkpoint: gamma=0.1 > gamma=1",
            paired_difference(norm_n, norm_p, alternative="greater"),
            predicted="> 0",
        ),
        from_test(
            "empirical",
            f"validation accuracy at epoch {early}: gamma=0.1 > gamma=1",
            paired_difference(speed_n, speed_p, alternative="greater"),
            predicted="> 0",
        ),
    ]
    rows = [
        {
            "seed": network.seed_of(r),
            "gamma": r["config"]["nsgd_gamma"],
            "diverged": r["diverged"],
            "checkpoint_epoch": (r.get("best_validation") or {}).get("epoch"),
            "test_accuracy": (r.get("best_validation") or {}).get("test_accuracy"),
            "lambda_max": _top_eigenvalue(r.get("best_validation") or {}),
            "top_eigenvalues": _eigenvalues(r.get("best_validation") or {}),
        }
        for r in records
    ]
    data = {
        "rows": rows,
        "histories": network.histories(records, ("test_accuracy", "validation_accuracy")),
        "margin": MARGIN,
        "early_epoch": early,
    }
    ctx.figure("nsgd", data, plotter("nsgd"))
    return evidence


SPEC = ClaimSpec(
    id="nsgd",
    statement="Nudged SGD with γ < 1 ends sharper and generalizes as well or better",
    source="Jastrzębski et al., ICLR 2019 (arXiv 1807.05031)",
    command="threefactors grid --experiment nsgd",
    kind="reproduction",
    parts=(
        Part(
            statement="NSGD (γ = 0.1) ends sharper than SGD (γ = 1)",
            quantity=SHARPER,
            view="empirical",
            test="paired t over seeds, λ₁(γ = 0.1) − λ₁(γ = 1)",
            readout="λ₁ at the best-validation checkpoint",
            sidedness="one-sided (> 0)",
            unit="seed (both γ start from the seed's initial weights)",
            replicates="16 seeds",
            stopping="fixed epoch budget; the checkpoint is the best validation accuracy",
        ),
        Part(
            statement="NSGD generalizes as well as SGD or better",
            quantity=PRIMARY,
            view="empirical",
            test="non-inferiority paired by seed (90 % t interval)",
            readout="test accuracy at the best-validation checkpoint",
            sidedness="non-inferiority (one-sided)",
            margin=f"{MARGIN} test accuracy: below the paper's reported differences",
            unit="seed (both γ start from the seed's initial weights)",
            replicates="16 seeds",
            stopping="fixed epoch budget; the checkpoint is the best validation accuracy",
        ),
    ),
    secondary=(
        "‖(λ₁ … λ₅)‖ at the checkpoint higher for γ = 0.1 (paired t, one-sided)",
        "validation accuracy at an early epoch higher for γ = 0.1 (paired t, one-sided)",
    ),
    scales={"quick": {}, "default": {}, "paper": {}},
    views=(networks,),
    registered="",
    paper_setting="SimpleCNN / ResNet-32 on CIFAR-10 and FashionMNIST, η = 0.01, S = 128, "
    "K = 5, γ ∈ {0.01, 0.1, 1}, 10% validation, test accuracy at the best-validation "
    "checkpoint",
    pilot_seeds=PILOT_SEEDS,
    replicates=network.replicates("nsgd"),
    amendments=(
        Amendment(
            date="2026-12-01",
            change="replicates 6 → 16 seeds, sized from the pilot's paired sd (≈ 0.013)",
            old_result="6 seeds: inconclusive at offsets 0 and 1, agrees at 100",
            reason="the pilot's one-sided bound reached beyond the margin. Raised after the "
            "pilots leaned towards agreement, with the pilot seeds kept in the confirming set: "
            "that run was not confirming. The confirming sets now exclude every pilot seed.",
            design_hash="",
        ),
        Amendment(
            date="2026-12-02",
            change="'ends sharper' is a registered part (was a secondary): the claim is "
            "reproduced only if NSGD is both sharper and non-inferior",
            old_result="agrees on non-inferiority alone: +0.0031, 90 % CI [−0.0008, +0.0069]; "
            "λ₁ higher by +0.19, p = 0.13 (secondary, inconclusive) at seed 0. The runs are "
            "unconverged (test accuracy 0.29–0.34)",
            reason="the statement has two halves",
            design_hash="bbfa2741f155",
        ),
    ),
)
