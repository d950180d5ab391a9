"""The seven experiments of the seed papers, as grids of runs plus an analysis.

Each :class:`Experiment` has presets (``quick``: MNIST-1D, minutes on 2 CPU cores; full: more
points and seeds, and the same code on CIFAR-10/VGG-11 through ``overrides``), an analysis
that turns records into tidy rows, and the claim's evidence judged by
:mod:`threefactors.claims` (Spearman trends with permutation p-values, or comparisons with
binomial standard errors). A claim that a quick run cannot show is reported as
``inconclusive`` or ``disagrees``, never tuned until it agrees.

1. ``ratio``: η × S grid → test accuracy, λ_max, Tr H, Tr C against η/S at matched progress.
2. ``rescaling``: (βη₀, βS₀) → invariance and the β where it breaks, per training-set size.
3. ``interpolation``: L((1−α)θ_A + αθ_B), α ∈ [−1, 2], between minima of different η/S.
4. ``schedules``: cyclic batch size vs cyclic LR vs two constant schedules.
5. ``memorization``: random labels; test accuracy vs η/S at equal train accuracy.
6. ``sharpest``: λ_max (top-5) along training for an η grid and an S grid; peak vs 2/η;
   the loss change along the top eigenvector after one SGD step ("step too long").
7. ``nsgd``: Nudged SGD for γ < 1, = 1, > 1: epochs to threshold, sharpness, accuracy.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
import types
import typing
from collections.abc import Callable, Sequence
from itertools import pairwise, product
from pathlib import Path
from typing import Any

import numpy as np
import torch

from threefactors.claims import Evidence, compare, trend
from threefactors.empirical.records import tidy
from threefactors.empirical.train import TrainConfig
from threefactors.errors import InputError, require
from threefactors.executors import LOCAL, ExecutorSpec

Records = list[dict[str, Any]]
Analysis = Callable[[Records, Path], dict[str, Any]]

# Quick presets: the 40-256-256-10 MLP on MNIST-1D, curvature on a fixed 1,000-example subset.
QUICK = TrainConfig(measure_size=1000, epochs=200)
FULL = TrainConfig(measure_size=2000, epochs=400)


@dataclasses.dataclass(frozen=True)
class Experiment:
    """A named grid (``configs(quick)``) and its analysis (records, grid folder) → summary."""

    name: str
    claim: str
    configs: Callable[[bool], list[TrainConfig]]
    analyse: Analysis


def _grid(base: TrainConfig, seeds: Sequence[int], **axes: Sequence[Any]) -> list[TrainConfig]:
    """The product of ``axes`` (field → values) and ``seeds`` over ``base``."""
    names = list(axes)
    return [
        dataclasses.replace(base, seed=seed, **dict(zip(names, values, strict=True)))
        for values in product(*axes.values())
        for seed in seeds
    ]


def _reached(rows: Records) -> Records:
    return [r for r in rows if r["reached_threshold"] and not r["diverged"]]


def _binomial_se(p: float, n: int) -> float:
    """Standard error of an accuracy p measured on n independent test examples."""
    return math.sqrt(max(p * (1 - p), 1e-12) / n)


def _test_size(record: dict[str, Any]) -> int:
    return int(record["n_test"])


def _trend(quantity: str, rows: Records, x: str, y: str, sign: int) -> Evidence:
    """:func:`threefactors.claims.trend` of ``y`` on ``x`` over the rows where y was measured."""
    kept = [r for r in rows if r.get(y) is not None and r.get(x) is not None]
    return trend("empirical", quantity, [r[x] for r in kept], [r[y] for r in kept], sign)


def _evidence(items: Sequence[Evidence]) -> list[dict[str, Any]]:
    return [dataclasses.asdict(e) for e in items]


# 1. ratio -------------------------------------------------------------------------------


def _ratio_configs(quick: bool) -> list[TrainConfig]:
    if quick:
        return _grid(QUICK, [0], lr=[0.03, 0.1, 0.3], batch=[16, 64, 256])
    return _grid(FULL, [0, 1, 2], lr=[0.01, 0.03, 0.1, 0.3], batch=[16, 64, 256])


def _ratio_analysis(records: Records, out: Path) -> dict[str, Any]:
    rows = _reached([tidy(r) for r in records])
    x = [r["eta_over_s"] for r in rows]
    claims = [
        _trend("lambda_max vs eta/S", rows, "eta_over_s", "lambda_max", -1),
        _trend("test_accuracy vs eta/S", rows, "eta_over_s", "test_accuracy", +1),
        _trend("hessian_trace vs eta/S", rows, "eta_over_s", "hessian_trace", -1),
    ]
    stable = [r for r in rows if r["lambda_max"] is not None]
    return {
        "evidence": _evidence(claims),
        "grad_noise_trace_vs_eta_over_s": _spearman(x, [r["grad_noise_trace"] for r in rows]),
        "below_stability_edge": sum(r["lr"] * r["lambda_max"] < 2 for r in stable),
        "measured": len(stable),
        "not_reached": len(records) - len(rows),
    }


def _spearman(x: Sequence[float], y: Sequence[float | None]) -> float | None:
    """Spearman's ρ without a claimed sign (None with fewer than 3 finite points)."""
    from scipy.stats import spearmanr

    pairs = [(a, b) for a, b in zip(x, y, strict=True) if b is not None]
    if len(pairs) < 3 or len({b for _, b in pairs}) < 2:
        return None
    return float(spearmanr(*zip(*pairs, strict=True)).statistic)


# 2. rescaling ---------------------------------------------------------------------------

RESCALING_BASE = (0.025, 16)


def _rescaling_configs(quick: bool) -> list[TrainConfig]:
    eta, batch = RESCALING_BASE
    betas = [1, 2, 4, 8, 16]
    sizes = [1000, 4000] if quick else [1000, 2000, 4000]
    base, seeds = (QUICK, [0, 1]) if quick else (FULL, [0, 1, 2])
    return [
        dataclasses.replace(base, lr=eta * b, batch=batch * b, n_train=n, seed=seed)
        for n in sizes
        for b in betas
        for seed in seeds
    ]


def _rescaling_point(n: int, beta: float, rows: Records) -> dict[str, Any]:
    """Seeds of one (n_train, β) averaged: test accuracy, λ_max and its seed variance."""
    acc = [r["test_accuracy"] for r in rows if r["test_accuracy"] is not None]
    lam = [r["lambda_max"] for r in rows if r["lambda_max"] is not None]
    mean_lam = float(np.mean(lam)) if lam else None
    return {
        "n_train": n,
        "beta": beta,
        "lr": rows[0]["lr"],
        "batch": rows[0]["batch"],
        "runs": len(rows),
        "diverged": sum(r["diverged"] for r in rows),
        "epoch": float(np.mean([r["epoch"] or 0 for r in rows])),
        "test_accuracy": float(np.mean(acc)) if acc else None,
        "lambda_max": mean_lam,
        "lambda_max_var": float(np.var(lam, ddof=1)) if len(lam) > 1 else None,
        "lambda_max_n": len(lam),
        "eta_lambda_over_2": None if mean_lam is None else rows[0]["lr"] * mean_lam / 2,
    }


def _rescaling_analysis(
    records: Records, out: Path, z: float = 2.0, alpha: float = 0.05
) -> dict[str, Any]:
    """Breaking β per training-set size: the first β (seeds averaged) where the minimum found
    differs from β = 1, or a run diverged. Test accuracy differs when off by more than z
    binomial standard errors of the difference (m test examples); λ_max differs by a
    two-sided t-test at level ``alpha`` with the seed variance pooled over the β of that size,
    s_p² = Σ(k_i − 1)s_i² / Σ(k_i − 1), se = s_p·sqrt(1/k_β + 1/k_1) (needs ≥ 2 seeds)."""
    from scipy.stats import t as student

    eta0 = RESCALING_BASE[0]
    m = _test_size(records[0])
    table, breaks = [], {}
    for n in sorted({r["config"]["n_train"] for r in records}):
        groups: dict[float, Records] = {}
        for r in records:
            if r["config"]["n_train"] == n:
                groups.setdefault(r["config"]["lr"] / eta0, []).append(tidy(r))
        points = [_rescaling_point(n, beta, groups[beta]) for beta in sorted(groups)]
        spread = [
            (p["lambda_max_n"] - 1, p["lambda_max_var"])
            for p in points
            if p["lambda_max_var"] is not None
        ]
        dof = sum(d for d, _ in spread)
        pooled = math.sqrt(sum(d * v for d, v in spread) / dof) if dof else None
        critical = float(student.ppf(1 - alpha / 2, dof)) if dof else None
        reference = points[0]
        breaks[n] = None
        for point in points:
            acc, ref = point["test_accuracy"], reference["test_accuracy"]
            point["accuracy_holds"] = (
                acc is not None
                and ref is not None
                and abs(acc - ref) <= z * math.hypot(_binomial_se(acc, m), _binomial_se(ref, m))
            )
            point["lambda_holds"] = None
            if pooled is not None and point["lambda_max"] is not None:
                se = pooled * math.sqrt(1 / point["lambda_max_n"] + 1 / reference["lambda_max_n"])
                diff = abs(point["lambda_max"] - reference["lambda_max"])
                point["lambda_holds"] = diff <= critical * se
            point["invariant"] = (
                not point["diverged"]
                and point["accuracy_holds"]
                and point["lambda_holds"] is not False
            )
            table.append(point)
            if not point["invariant"] and breaks[n] is None:
                breaks[n] = point["beta"]
    sizes = sorted(breaks)
    first = [breaks[n] if breaks[n] is not None else math.inf for n in sizes]
    if len(sizes) < 2 or all(math.isinf(b) for b in first):
        verdict, detail = "inconclusive", "no training-set size broke the invariance"
    elif all(a <= b for a, b in pairwise(first)) and first[0] < first[-1]:
        verdict, detail = "agrees", "smaller training sets break at smaller β"
    elif first[0] == first[-1]:
        verdict, detail = "inconclusive", "all sizes break at the same β"
    else:
        verdict, detail = "disagrees", "a smaller training set broke at a larger β"
    claim = Evidence("empirical", "breaking beta vs n_train", "increasing", breaks, verdict, detail)
    return {
        "table": table,
        "breaking_beta": breaks,
        "evidence": _evidence([claim]),
        "z": z,
        "alpha": alpha,
    }


def _trained(record: dict[str, Any], out: Path) -> tuple[Any, Any]:
    """The run's model at its saved final parameters (eval mode, CPU) and its data set."""
    from threefactors.empirical import models
    from threefactors.empirical.functional import set_flat_params
    from threefactors.empirical.grid import load_params
    from threefactors.empirical.train import prepare_data

    config = TrainConfig.from_dict(record["config"])
    data = prepare_data(config, "cpu")
    model = models.build(
        config.model, data.input_shape, data.num_classes, width=config.width, depth=config.depth
    )
    set_flat_params(model, load_params(out, record))
    return model.eval(), data


# 3. interpolation -----------------------------------------------------------------------

INTERPOLATION_RUNS = ((0.1, 32), (0.1, 256), (0.0125, 32))


def _interpolation_configs(quick: bool) -> list[TrainConfig]:
    base = QUICK if quick else FULL
    return [dataclasses.replace(base, lr=lr, batch=s) for lr, s in INTERPOLATION_RUNS]


def _interpolation_analysis(records: Records, out: Path) -> dict[str, Any]:
    """Loss on the training set along θ(α) = (1−α)θ_A + αθ_B from the largest-η/S run A."""
    from torch.nn import functional as F

    from threefactors.empirical import probes
    from threefactors.empirical.grid import load_params

    ordered = sorted(records, key=lambda r: -r["eta_over_s"])
    anchor = ordered[0]
    model, data = _trained(anchor, out)
    theta_a = load_params(out, anchor)
    lines, claims = [], []
    for other in ordered[1:]:
        line = probes.interpolate(
            model, theta_a, load_params(out, other), F.cross_entropy, data.x_train, data.y_train
        )
        loss = {round(a, 6): v for a, v in zip(line["alpha"], line["loss"], strict=True)}
        rise_a = loss[-0.5] - loss[0.0]
        rise_b = loss[1.5] - loss[1.0]
        lines.append(
            {
                "from": [anchor["config"]["lr"], anchor["config"]["batch"]],
                "to": [other["config"]["lr"], other["config"]["batch"]],
                **line,
                "rise_beyond_from": rise_a,
                "rise_beyond_to": rise_b,
                "lambda_max_from": anchor["lambda_max"],
                "lambda_max_to": other["lambda_max"],
            }
        )
        sharper = rise_b > rise_a and (other["lambda_max"] or 0) > (anchor["lambda_max"] or 0)
        flatter = rise_b < rise_a and (other["lambda_max"] or 0) < (anchor["lambda_max"] or 0)
        verdict = "agrees" if sharper else ("disagrees" if flatter else "inconclusive")
        claims.append(
            Evidence(
                "empirical",
                f"lower eta/S sharper: {lines[-1]['to']} vs {lines[-1]['from']}",
                "loss rise and lambda_max larger at the lower-eta/S end",
                {
                    "rise": [rise_a, rise_b],
                    "lambda_max": [anchor["lambda_max"], other["lambda_max"]],
                },
                verdict,
                "rise = L(−0.5) − L(0) beyond A and L(1.5) − L(1) beyond B",
            )
        )
    return {"lines": lines, "evidence": _evidence(claims)}


# 4. schedules ---------------------------------------------------------------------------


def _schedule_configs(quick: bool) -> list[TrainConfig]:
    base = dataclasses.replace(
        QUICK if quick else FULL,
        lr=0.1,
        batch=32,
        epochs=20 if quick else 100,
        continue_after_threshold=True,
        cycle_factor=5.0,
        cycle_epochs=4,
    )
    seeds = [0, 1] if quick else [0, 1, 2, 3, 4]
    variants = [
        {"schedule": "cyclic-batch"},
        {"schedule": "cyclic-lr"},
        {"schedule": "constant"},
        {"schedule": "constant", "lr": base.lr / base.cycle_factor},
    ]
    return [dataclasses.replace(base, seed=s, **v) for v in variants for s in seeds]


def _schedule_label(config: dict[str, Any]) -> str:
    return f"{config['schedule']} lr={config['lr']:g} S={config['batch']}"


def _schedule_analysis(records: Records, out: Path, z: float = 2.0) -> dict[str, Any]:
    """Final test accuracy per schedule, averaged over seeds, with standard error
    se² = p(1−p)/m (the m test examples) + s²/k (the spread s over k seeds, when k ≥ 2);
    differences are judged at z standard errors."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault(_schedule_label(r["config"]), []).append(r)
    m = _test_size(records[0])
    table = {}
    for label, runs in groups.items():
        accs = [(r.get("final") or {}).get("test_accuracy") for r in runs]
        finite = [a for a in accs if a is not None]
        mean = float(np.mean(finite)) if finite else None
        spread = float(np.var(finite, ddof=1)) / len(finite) if len(finite) > 1 else 0.0
        se = None if mean is None else math.sqrt(_binomial_se(mean, m) ** 2 + spread)
        table[label] = {
            "schedule": runs[0]["config"]["schedule"],
            "test_accuracy": mean,
            "stderr": se,
            "runs": len(runs),
            "diverged": len(runs) - len(finite),
        }
    kinds = {label: row["schedule"] for label, row in table.items()}
    cbs = next(label for label, kind in kinds.items() if kind == "cyclic-batch")
    clr = next(label for label, kind in kinds.items() if kind == "cyclic-lr")
    constants = [label for label, kind in kinds.items() if kind == "constant"]

    def diff(a: str, b: str) -> tuple[float, float]:
        ta, tb = table[a], table[b]
        return ta["test_accuracy"] - tb["test_accuracy"], math.hypot(ta["stderr"], tb["stderr"])

    d, se = diff(cbs, clr)
    claims = [compare("empirical", f"{cbs} ≈ {clr}", 0.0, d, se, z=z)]
    for cyc in (cbs, clr):
        for const in constants:
            claims.append(_gap(f"{cyc} > {const}", *diff(cyc, const), z))
    return {"table": table, "evidence": _evidence(claims), "z": z}


def _gap(quantity: str, gap: float, stderr: float, z: float) -> Evidence:
    """A claimed positive gap: agrees if gap > z·se, disagrees if gap < −z·se."""
    verdict = "agrees" if gap > z * stderr else "disagrees" if gap < -z * stderr else "inconclusive"
    detail = f"gap {gap:+.3f} ± {stderr:.3f} (z = {z})"
    return Evidence("empirical", quantity, "> 0", gap, verdict, detail, stderr, z * stderr)


# 5. memorization ------------------------------------------------------------------------


def _memorization_configs(quick: bool) -> list[TrainConfig]:
    if quick:
        base = dataclasses.replace(
            QUICK, n_train=1000, stop_at_accuracy=0.9, thresholds=(0.9,), epochs=300
        )
        return _grid(base, [0], random_labels=[0.25], lr=[0.05, 0.2], batch=[16, 64, 256])
    base = dataclasses.replace(FULL, stop_at_accuracy=0.9, thresholds=(0.9,), epochs=1000)
    return _grid(
        base, [0, 1], random_labels=[0.25, 0.5], lr=[0.05, 0.1, 0.2], batch=[16, 32, 64, 128, 256]
    )


def _memorization_analysis(records: Records, out: Path) -> dict[str, Any]:
    claims, table = [], []
    for p in sorted({r["config"]["random_labels"] for r in records}):
        rows = _reached([tidy(r) for r in records if r["config"]["random_labels"] == p])
        table += rows
        claims.append(
            _trend(
                f"test_accuracy vs eta/S at equal memorization (p={p})",
                rows,
                "eta_over_s",
                "test_accuracy",
                +1,
            )
        )
    return {"table": table, "evidence": _evidence(claims)}


# 6. sharpest directions -----------------------------------------------------------------


SHARPEST_S, SHARPEST_ETA = 32, 0.1  # the fixed S of the η grid and the fixed η of the S grid


def _sharpest_configs(quick: bool) -> list[TrainConfig]:
    """λ_max every 2 epochs for 30 (quick; a 500-example subset, 20 Lanczos steps) or every
    epoch for 100; η ∈ {0.02 … 0.4} at S = 32 and S ∈ {8 … 128} at η = 0.1."""
    base = dataclasses.replace(
        QUICK if quick else FULL,
        epochs=30 if quick else 100,
        continue_after_threshold=True,
        measure_every=2 if quick else 1,
        measure_size=500 if quick else 2250,
        lanczos_steps=20 if quick else 25,
        noise=False,
        trace_probes=0,
    )
    seeds = [0] if quick else [0, 1]
    lrs = [0.02, 0.05, 0.1, 0.2, 0.4]
    batches = [8, 16, 32, 64, 128]
    return _grid(base, seeds, lr=lrs, batch=[SHARPEST_S]) + _grid(
        base, seeds, lr=[SHARPEST_ETA], batch=batches
    )


def _sharpest_analysis(records: Records, out: Path) -> dict[str, Any]:
    rows = []
    for r in records:
        series = [(h["epoch"], h.get("lambda_max")) for h in r["history"]]
        series = [(e, v) for e, v in series if v is not None]
        peak_epoch, peak = max(series, key=lambda t: t[1]) if series else (None, None)
        lr = r["config"]["lr"]
        rows.append(
            {
                "lr": lr,
                "batch": r["config"]["batch"],
                "seed": r["config"]["seed"],
                "diverged": r["diverged"],
                "lambda_max_series": series,
                "peak_lambda_max": peak,
                "peak_epoch": peak_epoch,
                "two_over_eta": 2 / lr,
                "peak_over_edge": None if peak is None else peak * lr / 2,
                "step_too_long": _step_too_long(r, out),
            }
        )
    ok = [r for r in rows if r["peak_lambda_max"] is not None and not r["diverged"]]
    eta_axis = [r for r in ok if r["batch"] == SHARPEST_S]
    s_axis = [r for r in ok if r["lr"] == SHARPEST_ETA]
    claims = [
        _trend(f"peak lambda_max vs eta (S={SHARPEST_S})", eta_axis, "lr", "peak_lambda_max", -1),
        _trend(
            f"peak lambda_max vs S (eta={SHARPEST_ETA})", s_axis, "batch", "peak_lambda_max", +1
        ),
    ]
    edge = sum(r["peak_over_edge"] <= 1 for r in ok)
    claims.append(
        Evidence(
            "empirical",
            "peak lambda_max ≤ 2/eta",
            len(ok),
            edge,
            "agrees" if edge == len(ok) else "disagrees",
            f"{edge} of {len(ok)} stable runs peak at or below 2/η",
        )
    )
    steps = [r["step_too_long"] for r in rows if r["step_too_long"] is not None]
    if steps:
        overshoot = sum(s["too_long_fraction"] > 0.5 for s in steps)
        claims.append(
            Evidence(
                "empirical",
                "SGD step too long along top eigenvector",
                len(steps),
                overshoot,
                "agrees" if 2 * overshoot > len(steps) else "disagrees",
                f"loss along the top eigenvector did not decrease in {overshoot} of "
                f"{len(steps)} runs",
            )
        )
    return {"runs": rows, "evidence": _evidence(claims)}


def _step_too_long(
    record: dict[str, Any], out: Path, minibatches: int = 5
) -> dict[str, Any] | None:
    """The loss along the top Hessian eigenvector v (training loss on the measurement subset)
    before and after the v-component of SGD steps at the end of the run, one per seeded
    minibatch of S examples (``probes.step_too_long``): the fraction of steps that do not
    lower the loss along v, and the mean η λ_v."""
    if record["diverged"]:
        return None
    from torch.nn import functional as F

    from threefactors.empirical import curvature, probes
    from threefactors.empirical import data as datasets
    from threefactors.empirical.train import measurement_seed

    config = TrainConfig.from_dict(record["config"])
    model, data = _trained(record, out)
    inputs, targets = datasets.measurement_subset(data, config.measure_size)
    seed = measurement_seed(config.seed, -1)
    top = curvature.top_eigenvectors(
        model, F.cross_entropy, inputs, targets, 1, config.lanczos_steps, seed
    ).eigenvectors[:, 0]
    generator = torch.Generator().manual_seed(seed)
    steps = []
    for _ in range(minibatches):
        index = torch.randperm(data.n_train, generator=generator)[: config.batch]
        batch = (data.x_train[index], data.y_train[index])
        steps.append(
            probes.step_too_long(
                model, F.cross_entropy, inputs, targets, config.lr, top, batch=batch
            )
        )
    return {
        "minibatches": minibatches,
        "too_long_fraction": sum(s["too_long"] for s in steps) / minibatches,
        "eta_curvature": float(np.mean([s["eta_curvature"] for s in steps])),
        "loss_change": [s["loss_change"] for s in steps],
        "quadratic_change": [s["quadratic_change"] for s in steps],
    }


# 7. Nudged SGD --------------------------------------------------------------------------


def _nsgd_configs(quick: bool) -> list[TrainConfig]:
    """P (top-5) is recomputed every epoch: the quick preset does it on a 500-example subset
    with 20 Lanczos steps, the full one on 2,000 examples with 25."""
    base = dataclasses.replace(
        QUICK if quick else FULL,
        lr=0.1,
        batch=64,
        optimizer="nsgd",
        nsgd_k=5,
        epochs=100 if quick else 300,
        measure_size=500 if quick else 2000,
        lanczos_steps=20 if quick else 25,
    )
    gammas = [0.1, 0.3, 1.0, 3.0, 5.0] if quick else [0.01, 0.1, 0.3, 1.0, 3.0, 5.0]
    return _grid(base, [0] if quick else [0, 1], nsgd_gamma=gammas)


def _nsgd_analysis(records: Records, out: Path) -> dict[str, Any]:
    rows = [{**tidy(r), "nsgd_gamma": r["config"]["nsgd_gamma"]} for r in records]
    done = _reached(rows)
    claims = [
        _trend("epochs to threshold vs gamma", done, "nsgd_gamma", "epoch", +1),
        _trend("lambda_max at threshold vs gamma", done, "nsgd_gamma", "lambda_max", -1),
        _trend(
            "test_accuracy vs gamma (claim: gamma < 1 as good or better)",
            done,
            "nsgd_gamma",
            "test_accuracy",
            -1,
        ),
    ]
    return {"table": rows, "evidence": _evidence(claims)}


EXPERIMENTS: dict[str, Experiment] = {
    e.name: e
    for e in (
        Experiment(
            "ratio",
            "larger η/S → smaller λ_max, higher test accuracy",
            _ratio_configs,
            _ratio_analysis,
        ),
        Experiment(
            "rescaling",
            "(βη, βS) leaves the minimum unchanged up to a breaking β, "
            "smaller for smaller training sets",
            _rescaling_configs,
            _rescaling_analysis,
        ),
        Experiment(
            "interpolation",
            "minima of lower η/S are sharper along the line between them",
            _interpolation_configs,
            _interpolation_analysis,
        ),
        Experiment(
            "schedules",
            "cyclic batch size ≈ cyclic LR, both above constant schedules",
            _schedule_configs,
            _schedule_analysis,
        ),
        Experiment(
            "memorization",
            "at equal memorization higher η/S generalizes better",
            _memorization_configs,
            _memorization_analysis,
        ),
        Experiment(
            "sharpest",
            "λ_max peaks early at a level set by η and S (flatter for larger "
            "η or smaller S), below 2/η; the step is too long along the top direction",
            _sharpest_configs,
            _sharpest_analysis,
        ),
        Experiment(
            "nsgd",
            "Nudged SGD with γ < 1 trains faster, ends sharper, generalizes as well or better",
            _nsgd_configs,
            _nsgd_analysis,
        ),
    )
}


def _field_type(name: str) -> Any:
    hints = typing.get_type_hints(TrainConfig)
    require(name in hints, "set", name, f"unknown config field; choose from {', '.join(hints)}")
    return hints[name]


def parse_override(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` → (field, value converted to the TrainConfig field's type)."""
    require("=" in text, "set", text, "expected KEY=VALUE")
    key, raw = (part.strip() for part in text.split("=", 1))
    key = key.replace("-", "_")
    kind = _field_type(key)
    try:
        if typing.get_origin(kind) is tuple:
            return key, tuple(float(v) for v in raw.split(",") if v)
        if isinstance(kind, types.UnionType):  # int | None
            return key, None if raw.lower() in ("none", "") else int(raw)
        if kind is bool:
            require(raw.lower() in ("true", "false", "1", "0"), "set", text, "expected a boolean")
            return key, raw.lower() in ("true", "1")
        return key, kind(raw)
    except ValueError as err:
        raise InputError("set", text, f"cannot convert {raw!r}: {err}") from err


def configs_for(
    name: str, quick: bool, overrides: dict[str, Any] | None = None
) -> list[TrainConfig]:
    """The preset configs of experiment ``name`` with ``overrides`` applied to each."""
    require(
        name in EXPERIMENTS, "experiment", name, f"unknown; choose one of {', '.join(EXPERIMENTS)}"
    )
    return [dataclasses.replace(c, **(overrides or {})) for c in EXPERIMENTS[name].configs(quick)]


def run_experiment(
    name: str,
    *,
    quick: bool = True,
    out: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    device: str = "cpu",
    data_dir: str | None = None,
    download: bool = False,
    executor: ExecutorSpec = LOCAL,
    checkpoint_every: float = 30.0,
    on_run: Callable[[int, int, dict[str, Any]], None] | None = None,
    ensemble: bool = True,
) -> dict[str, Any]:
    """Run (or resume) experiment ``name``'s grid in ``out`` and analyse it (``ensemble``:
    see :func:`~threefactors.empirical.grid.run_grid`).

    Returns ``records`` (one per run, the keys of ``train --json``), ``rows`` (tidy, one per
    run, metrics at the threshold), ``summary`` (the experiment's analysis and evidence) and
    ``failed`` (runs that raised).
    """
    from threefactors.empirical.grid import run_grid

    configs = configs_for(name, quick, overrides)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(out) if out is not None else Path(scratch)
        grid = run_grid(
            configs,
            folder,
            device=device,
            data_dir=data_dir,
            download=download,
            executor=executor,
            checkpoint_every=checkpoint_every,
            on_run=on_run,
            ensemble=ensemble,
        )
        records = grid["records"]
        complete = len(records) == len(set(configs))
        summary = EXPERIMENTS[name].analyse(records, folder) if complete else None
    return {
        "experiment": name,
        "claim": EXPERIMENTS[name].claim,
        "quick": quick,
        "records": records,
        "rows": [tidy(r) for r in records],
        "summary": summary,
        "failed": grid["failed"],
    }
