"""The training loop: it is SGD, it is reproducible, it stops at matched progress, it
reports divergence, and a crashed run resumed from its checkpoint gives the same numbers."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
import torch.nn.functional as F

from threefactors.empirical import curvature, models
from threefactors.empirical.data import measurement_subset
from threefactors.empirical.functional import flat_params, make_loss
from threefactors.empirical.records import RECORD_KEYS, strip_volatile
from threefactors.empirical.train import TrainConfig, measurement_seed, prepare_data, train
from threefactors.errors import InputError
from threefactors.jsonio import dumps

TINY = TrainConfig(
    n_train=400,
    width=32,
    lr=0.3,
    batch=32,
    epochs=40,
    stop_at_accuracy=0.9,
    thresholds=(0.8, 0.9),
    measure_size=200,
    lanczos_steps=12,
    top_k=2,
    trace_probes=4,
)


def science(record: dict) -> dict:
    return strip_volatile(json.loads(dumps(record)))


@pytest.fixture(scope="module")
def stopped() -> dict:
    return train(TINY).record


def test_full_batch_epoch_is_one_gradient_step():
    """With S = N an epoch is one step θ₁ = θ₀ − η ∇L(θ₀) (checked with torch.func.grad)."""
    config = dataclasses.replace(TINY, batch=400, epochs=1, measure=False, stop_at_accuracy=1.0)
    data = prepare_data(config, "cpu")
    model = models.build("mlp", data.input_shape, 10, width=32, seed=config.seed)
    theta0 = flat_params(model)
    grad = torch.func.grad(make_loss(model, F.cross_entropy, data.x_train, data.y_train))(theta0)
    run = train(config)
    assert run.record["history"][-1]["steps"] == 1
    assert torch.allclose(flat_params(run.model), theta0 - config.lr * grad, atol=1e-6)


def test_record_keys_and_matched_progress(stopped):
    assert set(RECORD_KEYS) <= set(stopped)
    history = stopped["history"]
    first = next(h for h in history if h["train_accuracy"] >= 0.9)
    assert stopped["reached_threshold"] and stopped["epoch"] == first["epoch"]
    assert history[-1] is not None and history[-1]["epoch"] == first["epoch"]  # run stopped
    for key in ("test_accuracy", "lambda_max", "hessian_trace", "grad_noise_trace"):
        assert stopped[key] == first[key] is not None
    lower = next(h for h in history if h["train_accuracy"] >= 0.8)
    assert stopped["thresholds"]["0.8"]["epoch"] == lower["epoch"]
    assert stopped["thresholds"]["0.8"]["lambda_max"] is not None
    # steps accumulate ⌊N/S⌋ per epoch
    assert [h["steps"] for h in history] == [12 * h["epoch"] for h in history]


def test_measured_model_is_the_model_at_the_threshold(stopped):
    """Re-measuring the returned model (the run ended at the threshold) with the same seed
    gives the record's λ_max: the numbers belong to the threshold epoch."""
    run = train(TINY)
    x, y = measurement_subset(prepare_data(TINY, "cpu"), TINY.measure_size)
    run.model.eval()
    again = curvature.measure(
        run.model,
        F.cross_entropy,
        x,
        y,
        k=2,
        lanczos_steps=12,
        trace_probes=4,
        seed=measurement_seed(0, stopped["epoch"]),
    )
    assert again["lambda_max"] == pytest.approx(stopped["lambda_max"], rel=1e-6)


def test_continuing_past_the_threshold_keeps_the_threshold_numbers(stopped):
    config = dataclasses.replace(TINY, continue_after_threshold=True, epochs=stopped["epoch"] + 2)
    longer = train(config).record
    assert longer["final"]["epoch"] == stopped["epoch"] + 2
    assert longer["final"]["lambda_max"] is not None  # measured at the end
    assert science(longer["thresholds"]) == science(stopped["thresholds"])
    never = train(dataclasses.replace(TINY, stop_at_accuracy=1.0, epochs=2)).record
    assert not never["reached_threshold"] and never["epoch"] == 2
    assert never["lambda_max"] == never["final"]["lambda_max"] is not None


def test_same_seed_same_numbers_whatever_the_thread_count():
    config = dataclasses.replace(TINY, epochs=3, stop_at_accuracy=1.0)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = train(config).record
        torch.set_num_threads(2)
        two = train(config).record
    finally:
        torch.set_num_threads(threads)
    assert torch.get_num_threads() == threads
    assert science(one) == science(two)
    other = train(dataclasses.replace(config, seed=1)).record
    assert science(other)["test_loss"] != science(one)["test_loss"]


def test_divergence_is_reported_with_its_step_and_no_nan():
    record = train(dataclasses.replace(TINY, lr=500.0, measure=False)).record
    assert record["diverged"] and isinstance(record["diverged_step"], int)
    assert record["diverged_step"] < 12 * 2  # a step of 500 blows up within two epochs
    assert record["test_accuracy"] is None and record["final"] is None
    json.loads(dumps(record))  # allow_nan=False: raises on any NaN


def test_resume_after_a_crash_reproduces_the_uninterrupted_run(tmp_path):
    config = dataclasses.replace(TINY, epochs=5, stop_at_accuracy=1.0, momentum=0.9, lr=0.05)
    ckpt = tmp_path / "run.pt"

    def crash(entry: dict) -> None:
        if entry["epoch"] == 3:
            raise RuntimeError("simulated crash")

    with pytest.raises(RuntimeError):
        train(config, checkpoint=ckpt, checkpoint_every=0.0, on_epoch=crash)
    assert ckpt.exists()
    resumed = train(config, checkpoint=ckpt, checkpoint_every=0.0).record
    whole = train(config).record
    assert science(resumed) == science(whole)


def test_nsgd_with_gamma_one_is_sgd():
    """γ = 1 reproduces SGD exactly (the eigenvector measurements do not disturb the batch
    order); γ = 0.2 does not."""
    config = dataclasses.replace(TINY, epochs=2, stop_at_accuracy=1.0, measure=False)
    sgd = science(train(config).record)
    nsgd = science(train(dataclasses.replace(config, optimizer="nsgd", nsgd_gamma=1.0)).record)
    nudged = science(train(dataclasses.replace(config, optimizer="nsgd", nsgd_gamma=0.2)).record)
    for record in (sgd, nsgd, nudged):
        record.pop("config")
        for entry in record["history"]:  # NSGD also keeps its projector's eigenvalues
            entry.pop("nudge_eigenvalues", None)
    assert sgd == nsgd
    # γ ≠ 1 must change the run: the nudge is applied inside the training loop
    assert nudged["history"][-1]["train_loss"] != sgd["history"][-1]["train_loss"]


def test_cyclic_batch_schedule_is_followed():
    config = dataclasses.replace(
        TINY,
        schedule="cyclic-batch",
        batch=20,
        cycle_factor=5,
        cycle_epochs=4,
        epochs=5,
        stop_at_accuracy=1.0,
        measure=False,
    )
    history = train(config).record["history"][1:]
    schedule = config.schedule_of()
    assert [h["batch"] for h in history] == [schedule.at(e)[1] for e in range(5)]
    assert history[-1]["steps"] == sum(400 // schedule.at(e)[1] for e in range(5))


@pytest.mark.parametrize(
    ("change", "parameter"),
    [
        ({"batch": 401}, "batch"),
        ({"schedule": "cyclic-batch", "batch": 100}, "batch"),
        ({"lr": -1.0}, "lr"),
        ({"optimizer": "adam"}, "optimizer"),
        ({"random_labels": 1.0}, "random-labels"),
        ({"loss_window": (0.5, 0.25)}, "loss-window"),
        ({"loss_window": (0.5,)}, "loss-window"),
        ({"loss_levels": (0.5, 0.5)}, "loss-levels"),
        ({"loss_levels": (-1.0,)}, "loss-levels"),
    ],
)
def test_bad_input(change, parameter):
    with pytest.raises(InputError) as err:
        train(dataclasses.replace(TINY, **change))
    assert err.value.parameter == parameter


@pytest.mark.gpu
def test_cuda_runs_are_reproducible_and_close_to_cpu():
    """On CUDA (deterministic kernels) the same seed gives the same record; the initial
    evaluation matches the CPU's to float32 rounding (same weights, same data)."""
    config = dataclasses.replace(TINY, epochs=2, stop_at_accuracy=1.0)
    first, second = (science(train(config, device="cuda").record) for _ in range(2))
    assert first == second
    cpu = science(train(config, device="cpu").record)
    assert first["history"][0]["train_loss"] == pytest.approx(
        cpu["history"][0]["train_loss"], rel=1e-5
    )


def test_stop_below_peak_stops_once_lambda_max_falls_under_the_fraction_of_its_peak():
    """λ_max measured 1, 4, 3.3, 3.1: with f = 0.8 the run goes on at 3.3 (≥ 0.8·4) and stops
    at 3.1 (< 3.2); with f = 0 it never stops on λ_max."""
    from threefactors.empirical.train import initial_state, record_epoch_entry

    for fraction, stops in ((0.8, [False, False, False, True]), (0.0, [False] * 4)):
        config = dataclasses.replace(
            TINY, stop_below_peak=fraction, measure_every=1, continue_after_threshold=True
        )
        state = initial_state()
        seen = []
        for epoch, lam in enumerate((1.0, 4.0, 3.3, 3.1)):
            entry = {"epoch": epoch, "train_accuracy": 0.1}
            measure = lambda lam=lam, **_: {"lambda_max": lam}  # noqa: E731
            seen.append(record_epoch_entry(config, state, entry, False, measure, 0.0, None))
        assert seen == stops


def test_loss_window_measures_the_spectrum_at_every_epoch_inside_it(stopped):
    """Epochs with train loss in [low, high] get λ₁ … λ_k (no trace, no noise); the rest of
    the run is measured as without a window, and a window epoch that is also a threshold
    epoch keeps its full measurement. The eigenvalues of a window epoch are those a full
    measurement of the same epoch gives (same Lanczos seed)."""
    losses = [h["train_loss"] for h in stopped["history"]]
    low, high = sorted(losses)[len(losses) // 4], sorted(losses)[3 * len(losses) // 4]
    run = train(dataclasses.replace(TINY, loss_window=(low, high)))
    full = train(dataclasses.replace(TINY, measure_every=1))
    thresholds = {entry["epoch"] for entry in stopped["history"] if "lambda_max" in entry}
    inside = 0
    for entry, reference, plain in zip(
        run.record["history"], full.record["history"], stopped["history"], strict=True
    ):
        assert entry["train_loss"] == plain["train_loss"]
        if low <= entry["train_loss"] <= high and entry["epoch"] not in thresholds:
            inside += 1
            assert entry["top_eigenvalues"] == reference["top_eigenvalues"]
            assert entry["hessian_trace"] is None and entry["grad_noise_trace"] is None
        elif entry["epoch"] in thresholds:
            assert entry["hessian_trace"] == plain["hessian_trace"]
        else:
            assert "lambda_max" not in entry
    assert inside >= 2


def test_loss_levels_measure_the_two_epochs_that_bracket_each_level(stopped):
    """For each level L, the first epoch with train loss ≤ L and the epoch before it get the
    top-k spectrum (the one before through its saved parameters) — the same eigenvalues as
    measuring every epoch (same Lanczos seed per epoch); no other epoch is added, and
    training is unchanged."""
    losses = [h["train_loss"] for h in stopped["history"]]
    levels = ((losses[1] + losses[2]) / 2, (losses[5] + losses[6]) / 2)  # crossed at 2 and 6
    run = train(dataclasses.replace(TINY, loss_levels=levels))
    full = train(dataclasses.replace(TINY, measure_every=1))
    plain = {h["epoch"] for h in stopped["history"] if "lambda_max" in h}
    measured = set()
    for entry, reference, base in zip(
        run.record["history"], full.record["history"], stopped["history"], strict=True
    ):
        assert entry["train_loss"] == base["train_loss"]
        if entry.get("top_eigenvalues") is not None:
            measured.add(entry["epoch"])
            assert entry["top_eigenvalues"] == pytest.approx(reference["top_eigenvalues"], rel=1e-6)
    assert measured - plain == {1, 2, 5, 6}


def test_activation_tanh_trains_and_a_bad_activation_is_refused():
    """A tanh MLP trains (its loss falls); ``activation`` outside relu/tanh, or tanh on a
    model that is not an MLP, is refused naming the parameter."""
    config = dataclasses.replace(TINY, activation="tanh", epochs=3, measure=False)
    history = train(config).record["history"]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    for change in ({"activation": "sigmoid"}, {"activation": "tanh", "model": "cnn"}):
        with pytest.raises(InputError) as err:
            train(dataclasses.replace(TINY, **change))
        assert err.value.parameter == "activation"


def test_early_measure_adds_within_epoch_spectra_and_leaves_training_unchanged(stopped):
    """Four points per epoch in epochs 1 and 2 (400 examples at S = 32: 12 steps, so after
    steps 3, 6, 9 and at the epoch's end): fractional epochs with λ₁ … λ_k and no train
    loss; the epoch entries (and so the trajectory) are those of the run without them."""
    assert stopped["epoch"] >= 3
    run = train(dataclasses.replace(TINY, early_measure=4)).record
    epochs = [h for h in run["history"] if "train_loss" in h]
    assert [h["train_loss"] for h in epochs] == [h["train_loss"] for h in stopped["history"]]
    within = [h for h in run["history"] if "train_loss" not in h]
    assert [h["epoch"] for h in within] == pytest.approx([0.25, 0.5, 0.75, 1.25, 1.5, 1.75])
    assert [h["steps"] for h in within] == [3, 6, 9, 15, 18, 21]
    assert all(h["lambda_max"] > 0 and h["hessian_trace"] is None for h in within)
    assert all("lambda_max" in h for h in epochs if h["epoch"] in (1, 2))
    assert [h["epoch"] for h in run["history"]] == sorted(h["epoch"] for h in run["history"])
