"""conditioning: SGD noise controls the spectral norm and the conditioning of the Hessian —
λ₁ and λ₁/λ_k fall as η/S rises ("SGD smooths the sharpest directions": Jastrzębski et al.,
ICLR 2019, arXiv 1807.05031, §4).

Networks (the ``ratio`` grid, shared with width-depth). Registered test (as first declared):
λ₁/λ₅ at the first epoch with 95 % train accuracy against η/S by a seed-blocked Spearman
trend (claimed sign −1); the "smaller" half of the statement reads λ₁ at the same epoch the
same way. Sensitivity analysis, stated as such: the top-5 spectrum is also measured at every
epoch whose train loss lies in 0.25 … 0.5 (``RATIO_LOSS_WINDOW``, passed by every run before
it stops), and λ₁/λ₅ is read as the mean over the whole window and over three sub-windows
(0.25–0.33, 0.33–0.42, 0.42–0.5) — matched training loss rather than matched accuracy,
because at the 95 %-accuracy epoch high-η/S runs sit at a lower loss and mid-oscillation
(λ₁/λ₅ moves 1.3 … 2.9 from one epoch to the next). That window was chosen after the
registered test's results were seen, so it never decides the verdict. The paper's mechanism,
units saturating along the top curvature directions, is probed at the run's final θ: the
fraction of hidden ReLU units inactive on ≥ 99 % of the measurement subset, and the share of
the top eigenvector's |v|² on those units' incoming weights (exploratory; no sign claimed).
"""

from __future__ import annotations

import math
from typing import Any

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

PRIMARY = "lambda_1/lambda_5 at the first epoch with 95% train accuracy vs eta/S"
SMALLER = "lambda_1 at the first epoch with 95% train accuracy vs eta/S"
WINDOWS = ((0.25, 0.33), (0.33, 0.42), (0.42, 0.5))  # sub-windows of the sensitivity analysis


def saturation_probe(record: dict[str, Any], out, data_dir: str | None) -> dict[str, Any]:
    """Saturated-unit fractions and the top eigenvector's share on them, at the saved θ."""
    from torch.nn import functional as F

    from threefactors.empirical import curvature, probes
    from threefactors.empirical import data as datasets
    from threefactors.empirical.grid import load_model
    from threefactors.empirical.train import TrainConfig, measurement_seed

    config = TrainConfig.from_dict(record["config"])
    model, data = load_model(out, record, data_dir)
    inputs, targets = datasets.measurement_subset(data, config.measure_size)
    state = probes.saturation(model, inputs)
    top = curvature.top_eigenvectors(
        model,
        F.cross_entropy,
        inputs,
        targets,
        1,
        config.lanczos_steps,
        measurement_seed(config.seed, -1),
    ).eigenvectors[:, 0]
    return {
        "saturated_fraction": state["overall"],
        "saturated_by_layer": state["layers"],
        "top_share_on_saturated": probes.saturated_share(model, top, state["units"]),
    }


def _trend(
    quantity: str, rows: list[dict], y: str, sign: int, seed: int, detail: str = ""
) -> Evidence:
    return network.blocked_trend(
        quantity, rows, "eta_over_s", y, sign, seed, detail=detail, figure="conditioning.png"
    )


def _exploratory(item: Evidence) -> Evidence:
    """A trend with no claimed sign: shown with its ρ and p, never a verdict."""
    from dataclasses import replace

    if item.verdict == "not run":
        return item
    return replace(
        item,
        predicted="exploratory (no sign claimed)",
        verdict="inconclusive",
        p=None,
        detail=f"exploratory: mean per-seed ρ = {item.effect:+.2f}, p = {item.p:.3g}. "
        + item.detail,
    )


def at_matched_loss(record: dict[str, Any]) -> dict[str, Any]:
    """Means of λ₁/λ₅ and λ₁ over the epochs measured in the run's loss window, the same
    of λ₁/λ₅ in each sub-window of ``WINDOWS``, and how many epochs the window holds (None
    for a run with none)."""
    from threefactors.empirical.train import TrainConfig, in_loss_window

    config = TrainConfig.from_dict(record["config"])
    inside = [
        h
        for h in record["history"]
        if h.get("condition_top_k") is not None and in_loss_window(config, h["train_loss"])
    ]

    def mean(key: str, low: float = -math.inf, high: float = math.inf) -> float | None:
        values = [h[key] for h in inside if low <= h["train_loss"] <= high]
        return sum(values) / len(values) if values else None

    return {
        "condition_at_loss": mean("condition_top_k"),
        "lambda_1_at_loss": mean("lambda_max"),
        "window_epochs": len(inside),
        **{_window_key(w): mean("condition_top_k", *w) for w in WINDOWS},
    }


def _window_key(window: tuple[float, float]) -> str:
    return f"condition_at_loss_{window[0]:g}_{window[1]:g}"


def networks(ctx: Context, s: Settings) -> list[Evidence]:
    result = network.run_grid(ctx, "ratio", s)
    if not result["complete"]:
        return network.incomplete("ratio", result, PRIMARY)
    folder = ctx.out / "runs" / "ratio"
    rows = []
    for record, row in zip(result["records"], result["rows"], strict=True):
        usable = not row["diverged"]
        reached = usable and row["reached_threshold"]
        entry = {
            **row,
            **(at_matched_loss(record) if usable else {}),
            "condition_top_k": record.get("condition_top_k") if reached else None,
            **(saturation_probe(record, folder, ctx.data_dir) if reached else {}),
        }
        if not reached:
            entry["lambda_max"] = None
        rows.append(entry)
    sensitivity = "sensitivity analysis (chosen after the registered test was seen; never decides)"
    low, high = result["records"][0]["config"]["loss_window"]
    window = f"Per run: the mean over its epochs with train loss in [{low:g}, {high:g}]"
    evidence = [
        _trend(PRIMARY, rows, "condition_top_k", -1, ctx.seed, "Per run: one epoch"),
        _trend(SMALLER, rows, "lambda_max", -1, ctx.seed, "Per run: one epoch"),
        _trend(
            "lambda_1/lambda_5 at matched training loss vs eta/S",
            rows,
            "condition_at_loss",
            -1,
            ctx.seed,
            f"{sensitivity}. {window}",
        ),
        *(
            _trend(
                f"lambda_1/lambda_5 at train loss {w[0]:g}–{w[1]:g} vs eta/S",
                rows,
                _window_key(w),
                -1,
                ctx.seed,
                f"{sensitivity}. Per run: the mean over its epochs with train loss in "
                f"[{w[0]:g}, {w[1]:g}]",
            )
            for w in WINDOWS
        ),
        _trend(
            "lambda_1 at matched training loss vs eta/S",
            rows,
            "lambda_1_at_loss",
            -1,
            ctx.seed,
            f"{sensitivity}. {window}",
        ),
        _exploratory(
            _trend("saturated unit fraction vs eta/S", rows, "saturated_fraction", +1, ctx.seed)
        ),
        _exploratory(
            _trend(
                "top eigenvector share on saturated units vs eta/S",
                rows,
                "top_share_on_saturated",
                +1,
                ctx.seed,
            )
        ),
    ]
    ctx.figure("conditioning", {"rows": rows, "loss_window": [low, high]}, plotter("conditioning"))
    return evidence


SPEC = ClaimSpec(
    id="conditioning",
    statement="more SGD noise (η/S) gives a smaller and better-conditioned top Hessian spectrum",
    source="Jastrzębski et al., ICLR 2019 (arXiv 1807.05031) §4",
    command="threefactors grid --experiment ratio",
    kind="reproduction",
    parts=(
        Part(
            statement="the top Hessian spectrum is smaller (λ₁ falls as η/S rises)",
            quantity=SMALLER,
            view="empirical",
            test="seed-blocked Spearman trend of λ₁ on η/S, exact within-seed permutation p; "
            "t interval of the mean per-seed ρ",
            readout="the first epoch with 95 % train accuracy",
            sidedness="two-sided test, claimed sign −1",
            unit=network.SEED_UNIT,
            replicates="5 seeds × 12 (η, S) cells",
        ),
        Part(
            statement="the top Hessian spectrum is better conditioned (λ₁/λ₅ falls as η/S rises)",
            quantity=PRIMARY,
            view="empirical",
            test="seed-blocked Spearman trend of λ₁/λ₅ on η/S, exact within-seed permutation "
            "p; t interval of the mean per-seed ρ",
            readout="the first epoch with 95 % train accuracy",
            sidedness="two-sided test, claimed sign −1",
            unit=network.SEED_UNIT,
            replicates="5 seeds × 12 (η, S) cells",
        ),
    ),
    secondary=(
        "sensitivity analysis: λ₁/λ₅ at matched training loss, the whole window 0.25–0.5 and "
        "three sub-windows (sign −1)",
        "λ₁ at matched training loss vs η/S (sign −1)",
        "saturated-unit fraction vs η/S (exploratory)",
        "top eigenvector share on saturated units vs η/S (exploratory)",
    ),
    scales={"quick": {}, "default": {}, "paper": {}},
    views=(networks,),
    registered="",
    paper_setting="SimpleCNN / ResNet-32 on CIFAR-10, η/S grid, λ₁ and λ₁/λ₅ at matched "
    "training loss, 3 seeds",
    pilot_seeds=PILOT_SEEDS,
    replicates=network.replicates("ratio"),
    amendments=(
        Amendment(
            date="2026-12-01",
            change="registered test λ₁/λ₅ at the first 95 %-accuracy epoch → λ₁/λ₅ averaged "
            "over the epochs with train loss in 0.25 … 0.5",
            old_result="the registered test went against the claim on all three replicate "
            "sets: mean per-seed ρ = +0.41, +0.31, +0.28",
            reason="the epoch-to-epoch spread of λ₁/λ₅; but chosen after those results were "
            "seen, and it turned the verdict to inconclusive (ρ = −0.05, p = 0.73)",
            design_hash="",
        ),
        Amendment(
            date="2026-12-02",
            change="the 2026-12-01 amendment withdrawn: the registered test is again λ₁/λ₅ at "
            "the first 95 %-accuracy epoch; the loss window is a sensitivity analysis over "
            "the whole window and three sub-windows; 'smaller' (λ₁) is a registered part",
            old_result="inconclusive (loss window, seed 0): ρ = −0.05, 90 % interval −0.32 … "
            "+0.22; the registered test beside it: ρ = +0.31, p = 0.02",
            reason="a test chosen after its predecessor's results were seen cannot be the "
            "registered test; the statement has two halves",
            design_hash="55107fab2b9b",
        ),
    ),
)
