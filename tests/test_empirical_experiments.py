"""Experiments: valid presets, analyses that can both agree and disagree (planted faults),
and one small experiment run end to end through the grid."""

from __future__ import annotations

import dataclasses

import pytest

from threefactors.empirical import experiments
from threefactors.empirical.records import config_hash
from threefactors.empirical.train import TrainConfig, validate
from threefactors.errors import InputError

VERDICTS = {"agrees", "disagrees", "inconclusive", "not run"}


@pytest.mark.parametrize("name", list(experiments.EXPERIMENTS))
def test_presets_are_valid_and_quick_is_smaller(name):
    quick = experiments.configs_for(name, quick=True)
    full = experiments.configs_for(name, quick=False)
    for config in quick + full:
        validate(config, config.n_train or 4000)
    assert len({config_hash(c) for c in quick}) == len(set(quick)) >= 3
    assert len(set(quick)) <= len(set(full))


def _record(lr: float, batch: int, **metrics) -> dict:
    config = dataclasses.asdict(TrainConfig(lr=lr, batch=batch, n_train=metrics.pop("n", None)))
    base = {"diverged": False, "reached_threshold": True, "epoch": 10, "n_test": 1000}
    return {"config": config, **base, **metrics}


def _ratio_records(sign: int) -> list[dict]:
    """λ_max falling (sign=+1: as claimed) or rising (sign=−1) with η/S over a 3×3 grid."""
    out = []
    for lr in (0.03, 0.1, 0.3):
        for batch in (16, 64, 256):
            ratio = lr / batch
            out.append(
                _record(
                    lr,
                    batch,
                    lambda_max=1 / ratio**sign,
                    test_accuracy=0.5 + sign * ratio,
                    hessian_trace=10 / ratio**sign,
                    grad_noise_trace=1.0,
                )
            )
    return out


@pytest.mark.parametrize(("sign", "verdict"), [(1, "agrees"), (-1, "disagrees")])
def test_ratio_analysis_can_agree_and_disagree(tmp_path, sign, verdict):
    summary = experiments.EXPERIMENTS["ratio"].analyse(_ratio_records(sign), tmp_path)
    assert [e["verdict"] for e in summary["evidence"]] == [verdict] * 3


def test_rescaling_finds_the_breaking_beta(tmp_path):
    """Accuracy flat, then a drop of 0.1 (≫ 2 binomial se ≈ 0.03 on 1000 test examples):
    at β = 8 for 1000 examples, never for 4000 → the breaking β grows with the data."""
    records = []
    for n, drop_at in ((1000, 8), (4000, 99)):
        for beta in (1, 2, 4, 8, 16):
            acc = 0.70 - (0.1 if beta >= drop_at else 0.0)
            records.append(_record(0.025 * beta, 16 * beta, n=n, test_accuracy=acc, lambda_max=5.0))
    summary = experiments.EXPERIMENTS["rescaling"].analyse(records, tmp_path)
    assert summary["breaking_beta"] == {1000: 8, 4000: None}
    assert summary["evidence"][0]["verdict"] == "agrees"
    flipped = [
        dict(r, config={**r["config"], "n_train": 5000 - r["config"]["n_train"]}) for r in records
    ]
    again = experiments.EXPERIMENTS["rescaling"].analyse(flipped, tmp_path)
    assert again["evidence"][0]["verdict"] == "disagrees"


def test_overrides_are_typed_and_checked():
    assert experiments.parse_override("n_train=500") == ("n_train", 500)
    assert experiments.parse_override("n-train=none") == ("n_train", None)
    assert experiments.parse_override("lr=0.5") == ("lr", 0.5)
    assert experiments.parse_override("measure=false") == ("measure", False)
    assert experiments.parse_override("thresholds=0.9,0.99") == ("thresholds", (0.9, 0.99))
    assert experiments.parse_override("dataset=digits") == ("dataset", "digits")
    for bad in ("colour=red", "lr=fast", "epochs", "measure=maybe"):
        with pytest.raises(InputError):
            experiments.parse_override(bad)
    with pytest.raises(InputError):
        experiments.configs_for("alchemy", quick=True)


def test_schedules_experiment_end_to_end(tmp_path):
    tiny = dict(
        n_train=300,
        width=16,
        epochs=4,
        measure_size=100,
        lanczos_steps=6,
        top_k=2,
        trace_probes=2,
        noise=False,
    )
    result = experiments.run_experiment("schedules", quick=True, out=tmp_path, overrides=tiny)
    assert len(result["records"]) == 8 and not result["failed"]
    assert len(list((tmp_path / "runs").glob("*.json"))) == 8
    assert all(r["final"]["epoch"] == 4 for r in result["records"])
    table = result["summary"]["table"]
    assert len(table) == 4 and all(row["runs"] == 2 for row in table.values())
    assert {e["verdict"] for e in result["summary"]["evidence"]} <= VERDICTS
    batches = [h["batch"] for h in result["records"][0]["history"][1:]]
    s = result["records"][0]["config"]["batch"]  # S_e = 5S − 4S·tri(e), tri = 0, ½, 1, ½
    assert batches == [5 * s, 3 * s, s, 3 * s]


def test_rescaling_detects_a_sharpness_break_from_the_seed_spread(tmp_path):
    """Two seeds per point (λ_max 10 ± 0.1); λ_max halves from β = 8 on while accuracy stays:
    the seed spread makes that a break, at the same β for both sizes (inconclusive)."""
    records = [
        _record(
            0.025 * beta,
            16 * beta,
            n=n,
            test_accuracy=0.7,
            lambda_max=(5.0 if beta >= 8 else 10.0) + 0.1 * (-1) ** seed,
        )
        for n in (1000, 4000)
        for beta in (1, 2, 4, 8, 16)
        for seed in (0, 1)
    ]
    summary = experiments.EXPERIMENTS["rescaling"].analyse(records, tmp_path)
    assert summary["breaking_beta"] == {1000: 8, 4000: 8}
    assert summary["evidence"][0]["verdict"] == "inconclusive"
    assert all(row["accuracy_holds"] for row in summary["table"])


TINY = dict(
    n_train=600,
    width=16,
    epochs=3,
    measure_size=100,
    lanczos_steps=6,
    top_k=2,
    trace_probes=2,
    noise=False,
)


def test_interpolation_ends_are_the_saved_minima(tmp_path):
    """The line's α = 0 and α = 1 losses are the two runs' final training losses: the saved
    parameters are the trained ones, read back exactly."""
    result = experiments.run_experiment("interpolation", out=tmp_path, overrides=TINY)
    by_point = {(r["config"]["lr"], r["config"]["batch"]): r for r in result["records"]}
    lines = result["summary"]["lines"]
    assert len(lines) == 2 and all(line["from"] == [0.1, 32] for line in lines)
    for line in lines:
        loss = dict(zip(line["alpha"], line["loss"], strict=True))
        start, end = by_point[tuple(line["from"])], by_point[tuple(line["to"])]
        assert loss[0.0] == pytest.approx(start["final"]["train_loss"], rel=1e-5)
        assert loss[1.0] == pytest.approx(end["final"]["train_loss"], rel=1e-5)
    assert {e["verdict"] for e in result["summary"]["evidence"]} <= VERDICTS


@pytest.mark.slow
def test_sharpest_experiment_end_to_end(tmp_path):
    result = experiments.run_experiment("sharpest", out=tmp_path, overrides=TINY)
    runs = result["summary"]["runs"]
    assert len(runs) == 9  # 5 + 5 points sharing (0.05, 32)
    for run in runs:
        assert [e for e, _ in run["lambda_max_series"]][:2] == [0, 2]
        assert 0 <= run["step_too_long"]["too_long_fraction"] <= 1


@pytest.mark.parametrize(("cyclic", "verdict"), [(0.72, "agrees"), (0.52, "disagrees")])
def test_schedule_analysis_judges_the_gaps(tmp_path, cyclic, verdict):
    """Cyclic schedules at `cyclic`, constants at 0.62, two seeds ±0.005: a 0.1 gap is
    > 2 se (≈ 0.03 with 1000 test examples), so the verdict follows its sign."""
    records = []
    for schedule, lr, acc in (
        ("cyclic-batch", 0.1, cyclic),
        ("cyclic-lr", 0.1, cyclic),
        ("constant", 0.1, 0.62),
        ("constant", 0.02, 0.62),
    ):
        for seed in (0, 1):
            record = _record(lr, 32, final={"test_accuracy": acc + 0.005 * (-1) ** seed})
            record["config"]["schedule"] = schedule
            records.append(record)
    summary = experiments.EXPERIMENTS["schedules"].analyse(records, tmp_path)
    verdicts = [e["verdict"] for e in summary["evidence"]]
    assert verdicts == ["agrees"] + [verdict] * 4


@pytest.mark.parametrize(("sign", "verdict"), [(1, "agrees"), (-1, "disagrees")])
def test_nsgd_analysis_can_agree_and_disagree(tmp_path, sign, verdict):
    """Planted records over 5 γ (exact permutation p = 2/120 < 0.05 for a perfect ranking):
    as claimed (γ < 1 faster, sharper, at least as accurate) or the reverse."""
    records = []
    for gamma in (0.1, 0.3, 1.0, 3.0, 5.0):
        record = _record(
            0.1,
            64,
            epoch=10 + sign * gamma,
            lambda_max=20 - sign * gamma,
            test_accuracy=0.7 - sign * 0.01 * gamma,
        )
        record["config"].update(optimizer="nsgd", nsgd_gamma=gamma)
        records.append(record)
    summary = experiments.EXPERIMENTS["nsgd"].analyse(records, tmp_path)
    assert [e["verdict"] for e in summary["evidence"]] == [verdict] * 3


@pytest.mark.parametrize(("sign", "verdict"), [(1, "agrees"), (-1, "disagrees")])
def test_memorization_analysis_can_agree_and_disagree(tmp_path, sign, verdict):
    """At each random-label fraction, test accuracy rising (claimed) or falling with η/S."""
    records = []
    for p in (0.25, 0.5):
        for lr in (0.05, 0.2):
            for batch in (16, 64, 256):
                record = _record(lr, batch, test_accuracy=0.5 + sign * lr / batch)
                record["config"]["random_labels"] = p
                records.append(record)
    summary = experiments.EXPERIMENTS["memorization"].analyse(records, tmp_path)
    assert [e["verdict"] for e in summary["evidence"]] == [verdict] * 2
