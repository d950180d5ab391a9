"""interpolation: minima found at lower η/S are sharper along the line between them
(Three Factors §4; the line probe of Goodfellow et al. 2015).

Networks (the ``interpolation`` grid: (η, S) = (0.1, 32), (0.1, 256), (0.0125, 32), ≥ 3
seeds): per seed, the training loss along θ(α) = (1 − α)θ_A + αθ_B from the highest-η/S
minimum A to each lower-η/S minimum B; the rise beyond B, L(1.5) − L(1), minus the rise
beyond A, L(−0.5) − L(0). Primary: the exact sign test over all (seed, B) pairs that the
difference is > 0; secondary: the same for λ_max(B) − λ_max(A).
"""

from __future__ import annotations

from typing import Any

from threefactors.claims import network
from threefactors.claims.base import ClaimSpec, Context, Evidence, Settings, from_test, plotter

PRIMARY = "rise beyond the lower-eta/S end minus rise beyond the higher (sign test)"


def lines(records: list[dict[str, Any]], out, data_dir: str | None) -> list[dict[str, Any]]:
    """Per seed, the loss line from its highest-η/S minimum to each of the others."""
    from torch.nn import functional as F

    from threefactors.empirical import probes
    from threefactors.empirical.grid import load_model, load_params

    result = []
    for seed in sorted({network.seed_of(r) for r in records}):
        runs = sorted(
            (r for r in records if network.seed_of(r) == seed and not r["diverged"]),
            key=lambda r: -r["eta_over_s"],
        )
        if len(runs) < 2:
            continue
        anchor = runs[0]
        model, data = load_model(out, anchor, data_dir)
        theta_a = load_params(out, anchor)
        for other in runs[1:]:
            line = probes.interpolate(
                model,
                theta_a,
                load_params(out, other),
                F.cross_entropy,
                data.x_train,
                data.y_train,
            )
            loss = {round(a, 6): v for a, v in zip(line["alpha"], line["loss"], strict=True)}
            result.append(
                {
                    "seed": seed,
                    "from": [anchor["config"]["lr"], anchor["config"]["batch"]],
                    "to": [other["config"]["lr"], other["config"]["batch"]],
                    **line,
                    "rise_beyond_from": loss[-0.5] - loss[0.0],
                    "rise_beyond_to": loss[1.5] - loss[1.0],
                    "lambda_max_from": anchor["lambda_max"],
                    "lambda_max_to": other["lambda_max"],
                }
            )
    return result


def networks(ctx: Context, s: Settings) -> list[Evidence]:
    from threefactors.statistics import sign_test

    result = network.run_grid(ctx, "interpolation", s)
    if not result["complete"]:
        return network.incomplete("interpolation", result, PRIMARY)
    found = lines(result["records"], ctx.out / "runs" / "interpolation", ctx.data_dir)
    rise = [line["rise_beyond_to"] - line["rise_beyond_from"] for line in found]
    sharp = [
        line["lambda_max_to"] - line["lambda_max_from"]
        for line in found
        if line["lambda_max_to"] is not None and line["lambda_max_from"] is not None
    ]
    note = f"{len(found)} (seed, end) pairs"
    evidence = [
        from_test(
            "empirical",
            PRIMARY,
            sign_test(rise),
            predicted="> 0",
            detail=note,
            figure="interpolation.png",
        ),
        from_test(
            "empirical",
            "lambda_max(lower eta/S) − lambda_max(higher eta/S)",
            sign_test(sharp),
            predicted="> 0",
            detail=note,
        ),
    ]
    ctx.figure(
        "interpolation", {"experiment": "interpolation", "lines": found}, plotter("interpolation")
    )
    return evidence


SPEC = ClaimSpec(
    id="interpolation",
    statement="minima of lower η/S are sharper along the line between them",
    source="Three Factors §4",
    command="threefactors grid --experiment interpolation",
    primary_view="empirical",
    primary=PRIMARY,
    primary_test="exact sign test over (seed, end) pairs, one-sided (> 0), α = 0.05",
    secondary=("λ_max difference, sign test",),
    scales={"quick": {}, "default": {}, "paper": {}},
    views=(networks,),
    paper_setting="VGG-11 / ResNet-32 on CIFAR-10, minima of η/S differing 10×, 3 seeds",
)
