"""conditioning: SGD noise controls the spectral norm and the conditioning of the Hessian —
λ₁ and λ₁/λ_k at matched progress fall as η/S rises ("SGD smooths the sharpest directions":
Jastrzębski et al., ICLR 2019, arXiv 1807.05031, §4).

Networks (the ``ratio`` grid, shared with width-depth): at the first epoch with 95% train
accuracy, λ₁/λ₅ (primary) and λ₁ against η/S by a seed-blocked Spearman trend. The paper's
hypothesis for the mechanism, units saturating along the top curvature directions, is probed
at the same point: the fraction of hidden ReLU units inactive on ≥ 99% of the measurement
subset, and the share of the top eigenvector's |v|² on those units' incoming weights;
their trends on η/S are reported as exploratory (no sign is claimed).
"""

from __future__ import annotations

from typing import Any

from threefactors.claims import network
from threefactors.claims.base import (
    ClaimSpec,
    Context,
    Evidence,
    Settings,
    plotter,
)

PRIMARY = "lambda_1/lambda_5 at matched progress vs eta/S"


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


def _trend(quantity: str, rows: list[dict], y: str, sign: int, seed: int) -> Evidence:
    return network.blocked_trend(
        quantity, rows, "eta_over_s", y, sign, seed, figure="conditioning.png"
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


def networks(ctx: Context, s: Settings) -> list[Evidence]:
    result = network.run_grid(ctx, "ratio", s)
    if not result["complete"]:
        return network.incomplete("ratio", result, PRIMARY)
    folder = ctx.out / "runs" / "ratio"
    rows = []
    for record, row in zip(result["records"], result["rows"], strict=True):
        usable = row["reached_threshold"] and not row["diverged"]
        condition = record.get("condition_top_k") if usable else None
        probe = saturation_probe(record, folder, ctx.data_dir) if usable else {}
        entry = {**row, "condition_top_k": condition, **probe}
        if not usable:
            entry["lambda_max"] = None
        rows.append(entry)
    evidence = [
        _trend(PRIMARY, rows, "condition_top_k", -1, ctx.seed),
        _trend("lambda_1 at matched progress vs eta/S", rows, "lambda_max", -1, ctx.seed),
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
    ctx.figure("conditioning", {"rows": rows}, plotter("conditioning"))
    return evidence


SPEC = ClaimSpec(
    id="conditioning",
    statement="more SGD noise (η/S) gives a smaller and better-conditioned top Hessian spectrum",
    source="Jastrzębski et al., ICLR 2019 (arXiv 1807.05031) §4",
    command="threefactors grid --experiment ratio",
    primary_view="empirical",
    primary=PRIMARY,
    primary_test="seed-blocked Spearman trend of λ₁/λ₅ on η/S (claimed sign −1), α = 0.05",
    secondary=(
        "λ₁ vs η/S (sign −1)",
        "saturated-unit fraction vs η/S (exploratory)",
        "top eigenvector share on saturated units vs η/S (exploratory)",
    ),
    scales={"quick": {}, "default": {}, "paper": {}},
    views=(networks,),
    paper_setting="SimpleCNN / ResNet-32 on CIFAR-10, η/S grid, λ₁ and λ₁/λ₅ at matched "
    "training loss, 3 seeds",
)
