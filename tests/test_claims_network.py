"""Network claims judged from planted run records: each claim's primary test agrees when the
records carry the claimed effect and disagrees (or fails equivalence) when they carry the
opposite. Records are written where the grid keeps them (``OUT/runs/<experiment>``, keyed by
config hash), so ``reproduce`` reads them instead of training."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from threefactors.claims import spec
from threefactors.claims.base import Claim, Context
from threefactors.empirical import experiments
from threefactors.empirical.grid import paths
from threefactors.empirical.records import config_hash
from threefactors.jsonio import dumps, write_atomic


def plant(out: Path, name: str, make: Callable[[Any], dict[str, Any]]) -> None:
    """A whole record (and a one-number parameter file, so the grid's validation accepts it)
    for every quick-scale config of ``name``, its metrics from ``make(config)``."""
    import torch

    from threefactors.empirical.records import RECORD_KEYS
    from threefactors.provenance import VERSION

    for config in experiments.configs_for(name, "quick"):
        key = config_hash(config)
        record = {
            **dict.fromkeys(RECORD_KEYS),
            "config_hash": key,
            "config": dataclasses.asdict(config),
            "diverged": False,
            "reached_threshold": True,
            "epoch": 10,
            "n_test": 1000,
            "history": [],
            "final": None,
            "seconds": 0.0,
            "n_params": 1,
            "provenance": {"versions": {"threefactors": VERSION}},
            **make(config),
        }
        where = paths(out / "runs" / name, key)
        where["params"].parent.mkdir(parents=True, exist_ok=True)
        torch.save(torch.zeros(1), where["params"])
        write_atomic(where["record"], dumps(record))


LABEL = {"agrees": "reproduced", "disagrees": "not reproduced"}


def judge(claim_id: str, out: Path) -> Claim:
    claim_spec = spec(claim_id)
    ctx = Context(out=out, scale="quick", seed=0, progress=False)
    network_view = claim_spec.views[-1]
    evidence = network_view(ctx, claim_spec.settings("quick"))
    return claim_spec.claim(evidence, 0.0)


def _wobble(config: Any) -> float:
    """A small seed-dependent perturbation (no exact ties)."""
    return 0.001 * ((config.seed * 7919) % 13 - 6)


@pytest.mark.parametrize(("sign", "verdict"), [(1, "agrees"), (-1, "disagrees")])
def test_sharpest_peak_trend(tmp_path: Path, sign: int, verdict: str) -> None:
    """λ_max rises to a peak ∝ (1/η)^sign at epoch 3, then falls: the peak is not censored."""

    def make(config: Any) -> dict[str, Any]:
        peak = (1 / config.lr) ** sign * config.batch**sign * (1 + _wobble(config))
        levels = [0.3, 0.7, 1.0, 0.8, 0.6]
        losses = [2.3, 1.5, 0.9, 0.45, 0.3]
        history = [
            {"epoch": e, "lambda_max": peak * f, "train_loss": loss}
            for e, (f, loss) in enumerate(zip(levels, losses, strict=True))
        ]
        return {"history": history}

    plant(tmp_path, "sharpest", make)
    claim = judge("sharpest", tmp_path)
    assert claim.verdict == LABEL[verdict]  # both parts: peak vs η and vs S
    assert claim.primary.p < 0.05 and claim.primary.n >= 3
    assert "0 of" in claim.primary.detail  # no censored peaks


@pytest.mark.parametrize(("sign", "verdict"), [(-1, "agrees"), (1, "disagrees")])
def test_conditioning_registered_test_and_its_loss_window_sensitivity(
    tmp_path: Path, sign: int, verdict: str, monkeypatch: pytest.MonkeyPatch
):
    """The registered test reads λ₁/λ₅ and λ₁ at the first 95 %-accuracy epoch (∝ (η/S)^
    (0.2·sign)); the sensitivity analysis reads the loss window only, where the planted
    trend is the opposite: each test sees its own readout."""
    import math

    from threefactors.claims import conditioning

    monkeypatch.setattr(conditioning, "saturation_probe", lambda *args: {})

    def make(config: Any) -> dict[str, Any]:
        ratio = math.exp(0.2 * sign * math.log(config.lr / config.batch)) + _wobble(config)
        window = math.exp(-sign * math.log(config.lr / config.batch))
        history = [
            {"epoch": e, "train_loss": loss, "condition_top_k": c, "lambda_max": 3 * c}
            for e, (loss, c) in enumerate(
                ((0.9, ratio), (0.45, window), (0.3, window * 1.01), (0.1, ratio))
            )
        ]
        return {"history": history, "condition_top_k": ratio, "lambda_max": 3 * ratio}

    plant(tmp_path, "ratio", make)
    claim = judge("conditioning", tmp_path)
    assert claim.verdict == LABEL[verdict]  # both parts: λ₁ and λ₁/λ₅
    assert claim.primary.p < 0.05 and "one epoch" in claim.primary.detail
    window = claim.evidence_of("lambda_1/lambda_5 at matched training loss vs eta/S")
    assert window.effect == pytest.approx(-sign)  # the window's own, opposite trend
    assert "[0.25, 0.5]" in window.detail and "sensitivity" in window.detail


@pytest.mark.parametrize(("gap", "verdict"), [(0.0, "agrees"), (-0.05, "disagrees")])
def test_nsgd_parts_read_at_the_early_epoch_and_the_patience_checkpoint(
    tmp_path: Path, gap: float, verdict: str
) -> None:
    """Validation accuracy rises (faster for γ < 1) to 0.8 at epoch 8 and stays; a lucky
    0.95 at epoch 19, after patience (5 at the quick scale) ran out, holds test accuracy 0:
    the checkpoint is epoch 8, where γ < 1 is as accurate as γ = 1 (± 0.002 between seeds)
    or 0.05 worse (margin 0.01), with λ₁ 30 against 20 (γ = 5: 10)."""

    def make(config: Any) -> dict[str, Any]:
        g = config.nsgd_gamma
        rate = 0.12 if g < 1 else 0.1
        acc = 0.8 + (gap if g < 1 else 0.0) + 0.002 * (config.seed % 2) + _wobble(config)
        lam = 30.0 if g < 1 else 20.0 if g == 1 else 10.0
        history = [
            {
                "epoch": e,
                "validation_accuracy": 0.95
                if e == 19
                else min(0.8, 0.1 * e * rate / 0.1) + _wobble(config) * (e == 2),
                "test_accuracy": 0.0 if e == 19 else acc,
                "nudge_eigenvalues": [lam + e, 5.0, 4.0, 3.0, 2.0],
            }
            for e in range(21)
        ]
        return {"history": history, "final": history[-1]}

    plant(tmp_path, "nsgd", make)
    claim = judge("nsgd", tmp_path)
    faster, sharper, generalizes = (claim.evidence_of(p["quantity"]) for p in claim.parts)
    assert faster.verdict == "agrees" and sharper.verdict == "agrees"
    assert claim.verdict == LABEL[verdict]
    assert "epochs 7–8 of 20" in generalizes.detail  # 0.8 first reached at epoch 7 (γ < 1)
    assert "ran out within the budget in 12 of 12 runs" in generalizes.detail
    flatter = claim.evidence_of("lambda_1 at the checkpoint: gamma=5 < gamma=1")
    assert flatter.verdict == "agrees"


@pytest.mark.parametrize(
    ("gap", "rise", "verdict", "plateaued"),
    [
        (0.0, 0.0, "agrees", "agrees"),
        (0.03, 0.0, "disagrees", "agrees"),
        (0.0, 0.004, "agrees", "disagrees"),
    ],
)
def test_schedules_equivalence_and_the_plateau_of_the_constants(
    tmp_path: Path, gap: float, rise: float, verdict: str, plateaued: str
) -> None:
    """Cyclic batch ≡ cyclic LR within ±0.01 (seed spread 0.001) or 0.03 apart, read at the
    budget's end; the constants flat over the last 10 epochs (a plateau, epoch noise 0.002)
    or still rising by 0.004 per epoch (0.04 over the window: not a plateau)."""

    def make(config: Any) -> dict[str, Any]:
        acc = 0.7 + (gap if config.schedule == "cyclic-batch" else 0.0) + _wobble(config)
        slope = rise if config.schedule == "constant" else 0.0
        if config.schedule == "constant":
            acc -= 0.05
        history = [
            {"epoch": e, "test_accuracy": acc - slope * (20 - e) + 0.002 * ((e * 7) % 3 - 1)}
            for e in range(21)
        ]
        return {"final": history[-1], "history": history}

    plant(tmp_path, "schedules", make)
    claim = judge("schedules", tmp_path)
    assert claim.verdict == LABEL[verdict]  # part 2 holds: both cyclic above the constants
    assert claim.primary.margin == pytest.approx(0.01)
    checks = [e for e in claim.evidence if e.quantity.startswith("test accuracy has plateaued")]
    assert len(checks) == 2 and {e.verdict for e in checks} == {plateaued}


@pytest.mark.parametrize(
    ("signs", "verdict"),
    [((1, 1), "agrees"), ((-1, -1), "disagrees"), ((1, -1), "disagrees")],
)
def test_memorization_trend_at_matched_memorization_at_each_level(
    tmp_path: Path, signs: tuple[int, int], verdict: str
) -> None:
    """Test accuracy along memorization, offset by sign·log(η/S) with a sign per fraction of
    random labels (25 %, 50 %): interpolated in the band; each level is a part, so a
    reversed trend at 50 % alone makes the claim not reproduced."""
    import math

    def make(config: Any) -> dict[str, Any]:
        sign = signs[experiments.MEMORIZATION_NOISE.index(config.random_labels)]
        offset = sign * 0.02 * math.log(config.lr / config.batch) + _wobble(config)
        history = [
            {"epoch": e, "train_accuracy_corrupted": m, "test_accuracy": 0.9 - 0.2 * m + offset}
            for e, m in enumerate((0.1, 0.3, 0.5, 0.7, 0.9))
        ]
        return {"history": history}

    plant(tmp_path, "memorization", make)
    claim = judge("memorization", tmp_path)
    assert claim.verdict == LABEL[verdict]
    parts = [claim.evidence_of(p["quantity"]) for p in claim.parts]
    assert [p.effect for p in parts] == pytest.approx(list(signs))
    assert ["25%" in parts[0].quantity, "50%" in parts[1].quantity] == [True, True]


def test_memorization_reports_runs_that_never_memorize(tmp_path: Path) -> None:
    def make(config: Any) -> dict[str, Any]:
        top = 0.9 if config.batch != 128 else 0.6  # the lowest-η/S runs stall at 0.6
        history = [
            {"epoch": e, "train_accuracy_corrupted": m, "test_accuracy": 0.5}
            for e, m in enumerate((0.1, 0.3, top))
        ]
        return {"history": history}

    plant(tmp_path, "memorization", make)
    primary = judge("memorization", tmp_path).primary
    assert "S=128" in primary.detail and "not:" in primary.detail


def test_rescaling_range_by_fixed_sequence_and_the_registered_parts(tmp_path: Path) -> None:
    """Test accuracy flat for β ∈ [1/4, 4], 0.1 lower at β = 16: the range shown equivalent
    ends at 4 on the high side and reaches 1/4 on the low one (quick β ∈ {1/4, 1, 4, 16});
    the registered parts (the β nearest 1 on each side) hold."""

    def make(config: Any) -> dict[str, Any]:
        beta = config.lr / experiments.RESCALING_BASE[0]
        acc = 0.7 - (0.1 if beta > 8 else 0.0) + _wobble(config)
        return {"test_accuracy": acc, "lambda_max": 10.0 * (1 + _wobble(config))}

    plant(tmp_path, "rescaling", make)
    ctx = Context(out=tmp_path, scale="quick", seed=0, progress=False)
    module = __import__("threefactors.claims.eta_over_s", fromlist=["networks"])
    evidence = module.networks(ctx, {})
    ranges = next(e for e in evidence if e.quantity.startswith("range of β"))
    assert ranges.observed["test_accuracy|n=1000"] == {"low": 0.25, "high": 4}
    assert ranges.p is None  # descriptive
    for part in module.SPEC.parts:
        assert next(e for e in evidence if e.quantity == part.quantity).verdict == "agrees"
    at_4 = next(e for e in evidence if e.quantity.startswith("test_accuracy at β=4 "))
    assert at_4.verdict == "agrees" and at_4.margin == pytest.approx(0.02)


TINY = {
    "n_train": 300,
    "width": 16,
    "epochs": 2,
    "measure_size": 100,
    "lanczos_steps": 6,
    "top_k": 5,
    "trace_probes": 2,
    "noise": False,
}


@pytest.mark.parametrize(
    "claim_id",
    [
        "interpolation",
        pytest.param("step-too-long", marks=pytest.mark.slow),
        pytest.param("conditioning", marks=pytest.mark.slow),
    ],
)
def test_probe_claims_run_end_to_end_on_tiny_grids(tmp_path: Path, claim_id: str) -> None:
    """The probes behind three claims run on real (tiny) trained networks: the primary test
    ran with one replicate per seed (or per (seed, end) pair) and drew its figure."""
    claim_spec = spec(claim_id)
    ctx = Context(out=tmp_path, scale="quick", seed=0, progress=False)
    overrides = {**TINY, "stop_at_accuracy": 0.2, "thresholds": (0.2,), "epochs": 4}
    if claim_id == "conditioning":  # tiny runs stop long before the preset's loss window
        overrides["loss_window"] = (0.0, 10.0)
    evidence = claim_spec.views[-1](ctx, {"overrides": overrides})
    claim = claim_spec.claim(evidence, 0.0)
    assert claim.primary is not None
    assert claim.primary.verdict in {"agrees", "disagrees", "inconclusive"}
    assert claim.primary.n >= 3
    assert any(tmp_path.glob("*.png"))
