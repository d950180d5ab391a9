"""The training loop: SGD (or Nudged SGD) on a data set held on the device, with schedules,
divergence detection, measurements at matched training progress, and checkpoints.

One epoch at schedule value (η_e, S_e) draws a permutation of the N training examples from a
seeded ``torch.Generator`` and takes ⌊N/S_e⌋ steps on consecutive slices of it (the last
incomplete batch is dropped, so every step averages exactly S_e examples and the gradient
noise is C/S_e: docs/theory.md, "Notation and the SGD setting"). The step is plain SGD
θ ← θ − η_e g_S (momentum optional, off by default as in the theory) or Nudged SGD
(:mod:`threefactors.empirical.nsgd`).

There is no host synchronisation inside the step loop: divergence is tracked by an
on-device flag (the first step whose minibatch loss is non-finite or exceeds
``divergence_ratio`` × the initial training loss) that is read every ``check_every`` steps
and at the end of the epoch; a diverged run stops there with ``diverged: true`` and its step.

Matched progress: after each epoch the full training set is evaluated; at the first epoch
whose train accuracy reaches each threshold the curvature and noise of the training loss are
measured on a fixed subset (``curvature.measure``: λ_max, top-k, Tr H, Tr C, |g|²), and the
run stops at ``stop_at_accuracy`` unless ``continue_after_threshold``. Curvature is also
measured every ``measure_every`` epochs and at the end of the run; with ``stop_below_peak``
= f > 0 the run also stops once a measured λ_max falls below f × its running maximum (the
peak is passed). With ``loss_window`` = (low, high), every epoch whose train loss lies in
[low, high] also gets its top-k spectrum measured (λ₁ … λ_k only: no trace, no noise), so a
run's spectrum can be averaged at matched training loss. A ``validation`` fraction of the
training set is held out and evaluated every epoch; the record's ``best_validation`` is the
best-validation checkpoint's history entry.

Same seed → same numbers whatever torch's thread count: CPU runs execute with one intra-op
thread (matrix-product reductions split across threads round differently), and the
measurement seeds are functions of (seed, epoch), so a run resumed from a checkpoint
reproduces an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from threefactors.empirical import data as datasets
from threefactors.empirical import models
from threefactors.empirical.functional import flat_params, set_flat_params
from threefactors.empirical.nsgd import Nudge
from threefactors.empirical.records import CURVATURE, METRICS
from threefactors.empirical.schedules import Schedule
from threefactors.errors import check_batch, check_finite, check_positive, require
from threefactors.jsonio import write_atomic
from threefactors.provenance import provenance
from threefactors.saved import check, load_validated, require_fields
from threefactors.theory.setting import SGDSetting

OPTIMIZERS = ("sgd", "nsgd")
TUPLE_FIELDS = ("thresholds", "loss_window", "loss_levels")
#: The largest learning rate SGD's float32 update θ ← θ − η g can take (torch refuses more).
LR_LIMIT = float(torch.finfo(torch.float32).max)
EpochCallback = Callable[[dict[str, Any]], None]


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a run's numbers (its hash names the run in a grid)."""

    dataset: str = "mnist1d"
    model: str = "mlp"
    activation: str = "relu"
    width: int = 256
    depth: int = 2
    lr: float = 0.1
    batch: int = 64
    epochs: int = 50
    seed: int = 0
    schedule: str = "constant"
    cycle_factor: float = 5.0
    cycle_epochs: int = 4
    momentum: float = 0.0
    optimizer: str = "sgd"
    nsgd_gamma: float = 1.0
    nsgd_k: int = 5
    random_labels: float = 0.0
    validation: float = 0.0
    n_train: int | None = None
    n_test: int | None = None
    data_seed: int = 0
    stop_at_accuracy: float = 0.95
    continue_after_threshold: bool = False
    thresholds: tuple[float, ...] = (0.95, 0.99)
    measure: bool = True
    measure_every: int = 0
    stop_below_peak: float = 0.0
    loss_window: tuple[float, ...] = ()
    loss_levels: tuple[float, ...] = ()
    early_measure: int = 0
    measure_size: int = 2000
    lanczos_steps: int = 25
    top_k: int = 5
    trace_probes: int = 10
    noise: bool = True
    divergence_ratio: float = 100.0
    check_every: int = 50

    @classmethod
    def from_dict(cls, fields: dict[str, Any]) -> TrainConfig:
        """The config stored in a record (JSON lists back to tuples)."""
        tuples = {name: tuple(fields.get(name, ())) for name in TUPLE_FIELDS}
        return cls(**{**fields, **tuples})

    @property
    def setting(self) -> SGDSetting:
        """The run's base (η, S) as an :class:`~threefactors.theory.setting.SGDSetting`
        (a schedule varies them per epoch: :meth:`schedule_of`)."""
        return SGDSetting(eta=self.lr, batch_size=self.batch)

    def schedule_of(self) -> Schedule:
        return Schedule(self.schedule, self.lr, self.batch, self.cycle_factor, self.cycle_epochs)


@dataclasses.dataclass
class Run:
    """A finished run: its JSON-able record and the trained model (at the end of the run)."""

    record: dict[str, Any]
    model: nn.Module


def validate(config: TrainConfig, n_train: int | None = None) -> None:
    """Raise InputError naming the first bad field (S is checked against N when given)."""
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if isinstance(value, float):
            check_finite(field.name.replace("_", "-"), value)
    for name in ("n_train", "n_test"):
        value = getattr(config, name)
        require(value is None or value >= 1, name.replace("_", "-"), value, "must be ≥ 1")
    for name in ("seed", "data_seed"):
        value = getattr(config, name)
        require(0 <= value < 2**64, name.replace("_", "-"), value, "must be in 0 … 2⁶⁴ − 1")
    check_positive("lr", config.lr)
    require(
        config.lr <= LR_LIMIT,
        "lr",
        config.lr,
        f"must be ≤ {LR_LIMIT:.3g}, the largest float32 (the network's parameters are float32)",
    )
    check_batch(config.batch)
    schedule = config.schedule_of()
    if n_train is not None:
        check_batch(schedule.max_batch_size(), n_train, "batch")
    require(config.epochs >= 1, "epochs", config.epochs, "must be ≥ 1")
    require(config.optimizer in OPTIMIZERS, "optimizer", config.optimizer, "use sgd or nsgd")
    require(0 <= config.momentum < 1, "momentum", config.momentum, "must be in [0, 1)")
    for name in ("random_labels", "validation", "stop_below_peak"):
        value = getattr(config, name)
        require(0 <= value < 1, name.replace("_", "-"), value, "fraction must be in [0, 1)")
    require(
        0 < config.stop_at_accuracy <= 1,
        "stop-at-accuracy",
        config.stop_at_accuracy,
        "must be in (0, 1]",
    )
    for t in config.thresholds:
        require(0 < t <= 1, "thresholds", t, "must be in (0, 1]")
    window = config.loss_window
    require(
        window == () or (len(window) == 2 and 0 <= window[0] < window[1]),
        "loss-window",
        ",".join(map(str, window)),
        "expected LOW,HIGH with 0 ≤ LOW < HIGH",
    )
    levels = config.loss_levels
    require(
        all(v > 0 for v in levels) and len(set(levels)) == len(levels),
        "loss-levels",
        ",".join(map(str, levels)),
        "expected distinct training-loss levels > 0",
    )
    models.check_activation(config.activation, config.model)
    for name in ("measure_size", "lanczos_steps", "top_k", "check_every"):
        require(getattr(config, name) >= 1, name, getattr(config, name), "must be ≥ 1")
    for name in ("top_k", "nsgd_k") if config.optimizer == "nsgd" else ("top_k",):
        value = getattr(config, name)
        require(
            value <= config.lanczos_steps,
            name,
            value,
            f"at most lanczos_steps={config.lanczos_steps} (Lanczos finds that many directions)",
        )
    require(config.trace_probes >= 0, "trace_probes", config.trace_probes, "must be ≥ 0")
    require(
        config.divergence_ratio > 1,
        "divergence_ratio",
        config.divergence_ratio,
        "must be > 1 (a loss this many times its initial value counts as diverged)",
    )
    require(config.measure_every >= 0, "measure_every", config.measure_every, "must be ≥ 0")
    require(config.early_measure >= 0, "early_measure", config.early_measure, "must be ≥ 0")
    if config.optimizer == "nsgd":
        Nudge(config.nsgd_gamma, config.nsgd_k)


def resolve_device(device: str) -> str:
    """``auto`` → ``cuda`` when a CUDA device is present, else ``cpu``."""
    require(device in ("auto", "cpu", "cuda"), "device", device, "use cpu, cuda or auto")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    require(device == "cpu" or torch.cuda.is_available(), "device", device, "no CUDA device")
    return device


@contextlib.contextmanager
def deterministic(device: str) -> Iterator[None]:
    """One intra-op thread on CPU; deterministic kernels on CUDA. Restores the settings."""
    threads = torch.get_num_threads()
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    if device == "cpu":
        torch.set_num_threads(1)
    else:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(was_deterministic)


@functools.lru_cache(maxsize=8)
def _load(
    name: str, n_test: int | None, data_dir: str | None, download: bool, device: str
) -> datasets.Dataset:
    return datasets.load(name, n_test=n_test, data_dir=data_dir, download=download, device=device)


def prepare_data(
    config: TrainConfig, device: str, data_dir: str | None = None, download: bool = False
) -> datasets.Dataset:
    """The run's data: loaded, subset to ``n_train``, a ``validation`` fraction held out
    (with clean labels) and random labels on the rest, all seeded by ``data_seed``."""
    data = _load(config.dataset, config.n_test, data_dir, download, device)
    if config.n_train is not None:
        data = datasets.subset(data, config.n_train, config.data_seed)
    data = datasets.hold_out(data, config.validation, config.data_seed)
    return datasets.randomize_labels(data, config.random_labels, config.data_seed)


@torch.no_grad()
def evaluate(
    model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, chunk: int = 4096
) -> tuple[float, float, torch.Tensor]:
    """Mean cross-entropy, accuracy, and the per-example correctness mask on (inputs, targets)."""
    total, correct = 0.0, []
    with _eval_mode(model):
        for start in range(0, len(targets), chunk):
            out = model(inputs[start : start + chunk])
            y = targets[start : start + chunk]
            total += float(F.cross_entropy(out, y, reduction="sum"))
            correct.append(out.argmax(dim=1) == y)
    hits = torch.cat(correct)
    return total / len(targets), float(hits.float().mean()), hits


def _evaluation(model: nn.Module, data: datasets.Dataset) -> dict[str, float]:
    train_loss, train_acc, hits = evaluate(model, data.x_train, data.y_train)
    test_loss, test_acc, _ = evaluate(model, data.x_test, data.y_test)
    out = dict(
        train_loss=train_loss,
        train_accuracy=train_acc,
        test_loss=test_loss,
        test_accuracy=test_acc,
    )
    if data.x_val is not None and data.y_val is not None:
        out["validation_loss"], out["validation_accuracy"], _ = evaluate(
            model, data.x_val, data.y_val
        )
    if bool(data.corrupted.any()):  # memorization: accuracy on the randomised labels
        out["train_accuracy_corrupted"] = float(hits[data.corrupted].float().mean())
        out["train_accuracy_clean"] = float(hits[~data.corrupted].float().mean())
    return out


def measurement_seed(seed: int, epoch: int) -> int:
    """The seed of the measurement at ``epoch``: a function of (seed, epoch) only."""
    return (int(seed) * 1_000_003 + int(epoch)) % (2**31 - 1)


@contextlib.contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def _measure(
    model: nn.Module,
    subset: tuple[torch.Tensor, torch.Tensor],
    config: TrainConfig,
    epoch: int,
    spectrum_only: bool = False,
) -> dict[str, Any]:
    """Curvature and noise of the training loss on the measurement subset (eval mode);
    ``spectrum_only``: the top-k eigenvalues alone (the eigenvalues are the same either way:
    the Lanczos seed depends on (seed, epoch) only)."""
    from threefactors.empirical import curvature

    with _eval_mode(model):
        result = curvature.measure(
            model,
            F.cross_entropy,
            *subset,
            k=config.top_k,
            lanczos_steps=config.lanczos_steps,
            trace_probes=0 if spectrum_only else config.trace_probes,
            noise=config.noise and not spectrum_only,
            seed=measurement_seed(config.seed, epoch),
        )
    result = dict(result)
    result["measure_seconds"] = result.pop("seconds", None)
    return result


def nudge_directions(
    model: nn.Module,
    subset: tuple[torch.Tensor, torch.Tensor],
    config: TrainConfig,
    state: dict[str, Any],
) -> torch.Tensor:
    """Nudged SGD's top-K Hessian eigenvectors at the end of epoch ``state["epoch"]`` (the
    basis for the next epoch); their eigenvalues are kept in that epoch's history entry as
    ``nudge_eigenvalues``, so λ₁ … λ_K are known at every epoch (e.g. at the
    best-validation checkpoint) without a second measurement."""
    from threefactors.empirical import curvature

    with _eval_mode(model):
        pairs = curvature.top_eigenvectors(
            model,
            F.cross_entropy,
            *subset,
            config.nsgd_k,
            config.lanczos_steps,
            measurement_seed(config.seed, state["epoch"]),
        )
    state["history"][-1]["nudge_eigenvalues"] = [float(v) for v in pairs.eigenvalues]
    return pairs.eigenvectors.to(dtype=next(model.parameters()).dtype)


def _resume(
    saved: Any, model: nn.Module, optimizer: torch.optim.Optimizer, generator: torch.Generator
) -> dict[str, Any]:
    """Load a checkpoint's model, optimizer and generator; its run state (epoch, history…).

    Raises (:class:`~threefactors.saved.Invalid`, or torch's own errors) on a checkpoint
    that does not hold all of them in the shapes of this run.
    """
    require_fields(saved, ("model", "optimizer", "generator", "state"), "checkpoint")
    state = require_fields(saved["state"], ("epoch", "history", "at", "seconds", "step"), "state")
    check(isinstance(state["history"], list) and state["history"], "state has no history")
    check(isinstance(saved["generator"], torch.Tensor), "generator state is not a tensor")
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    generator.set_state(saved["generator"].to("cpu"))
    return state


def _summary(entry: dict[str, Any] | None) -> dict[str, Any]:
    """The record's top-level metrics: a history entry without its per-epoch bookkeeping
    (schedule values, wall time), or nulls (a run that diverged before any threshold)."""
    kept = {k: v for k, v in (entry or {}).items() if k not in ("lr", "batch", "seconds")}
    return {**dict.fromkeys(("epoch", "steps", *METRICS, *CURVATURE)), **kept}


def build_model(config: TrainConfig, data: datasets.Dataset, device: str) -> nn.Module:
    """The run's network at its initial weights (drawn from ``config.seed``), on ``device``.

    Refuses (InputError, before any training) a ``top_k`` or NSGD ``nsgd_k`` larger than the
    network's number of parameters: there are not that many Hessian directions."""
    model = models.build(
        config.model,
        data.input_shape,
        data.num_classes,
        width=config.width,
        depth=config.depth,
        seed=config.seed,
        activation=config.activation,
    ).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    for name in ("top_k", "nsgd_k") if config.optimizer == "nsgd" else ("top_k",):
        value = getattr(config, name)
        require(value <= n_params, name, value, f"at most the model's {n_params} parameters")
    return model


def levels_of(config: TrainConfig) -> list[float]:
    """The accuracy thresholds at which a run is measured, the stop threshold included."""
    return sorted({*config.thresholds, config.stop_at_accuracy})


def initial_state() -> dict[str, Any]:
    """A run's bookkeeping before its first epoch (what its checkpoint saves)."""
    return {"epoch": 0, "history": [], "at": {}, "seconds": 0.0, "step": 0}


def record_epoch_entry(
    config: TrainConfig,
    state: dict[str, Any],
    entry: dict[str, Any],
    final: bool,
    measure: Callable[[], dict[str, Any]],
    seconds: float,
    on_epoch: EpochCallback | None,
    measure_previous: Callable[[], dict[str, Any]] | None = None,
) -> bool:
    """Add measurements and thresholds to ``entry`` and append it to ``state["history"]``;
    True when the run should stop (``measure(spectrum_only=...)`` gives the curvature/noise
    of the epoch). An epoch whose train loss first falls to one of ``config.loss_levels``
    gets its top-k spectrum, and so does the epoch before it, through ``measure_previous()``
    (the spectrum at that epoch's saved parameters; skipped when it is None or that epoch
    was measured): the two bracket the level's first crossing."""
    epoch = entry["epoch"]
    before = last_epoch_entry(state["history"])
    losses = [h["train_loss"] for h in state["history"] if h.get("train_loss") is not None]
    bracket = before is not None and bool(first_crossings(config, min(losses), entry["train_loss"]))
    crossed = [
        t for t in levels_of(config) if str(t) not in state["at"] and entry["train_accuracy"] >= t
    ]
    stop = config.stop_at_accuracy in crossed and not config.continue_after_threshold
    periodic = config.measure_every > 0 and epoch % config.measure_every == 0
    full = bool(crossed) or periodic or final or stop
    early = _early_epoch(config, epoch)
    if config.measure and (full or early or bracket or in_loss_window(config, entry["train_loss"])):
        entry.update(measure(spectrum_only=not full))
        stop = stop or _past_peak(config, state["history"], entry)
    if config.measure and bracket and measure_previous is not None:
        if before.get("top_eigenvalues") is None:
            before.update(measure_previous())
    for t in crossed:
        state["at"][str(t)] = entry
    entry["seconds"] = seconds
    state["history"].append(entry)
    if on_epoch is not None:
        on_epoch(entry)
    return stop


EARLY_EPOCHS = 2


def _early_epoch(config: TrainConfig, epoch: int) -> bool:
    """True for epochs 1 … ``EARLY_EPOCHS`` of a run with ``early_measure`` > 0."""
    return config.early_measure > 0 and 1 <= epoch <= EARLY_EPOCHS


def early_steps(config: TrainConfig, epoch: int, steps: int) -> list[int]:
    """The steps k (1 ≤ k < ``steps``) of ``epoch`` after which the top-k spectrum is
    measured within the epoch: ``early_measure`` evenly spaced points per epoch (the epoch's
    end is the last) in the first ``EARLY_EPOCHS`` epochs, where λ_max rises fastest."""
    if not config.measure or not _early_epoch(config, epoch):
        return []
    m = config.early_measure
    return sorted({round(j * steps / m) for j in range(1, m)} - {0, steps})


def measure_within_epoch(
    model: nn.Module,
    subset: tuple[torch.Tensor, torch.Tensor],
    config: TrainConfig,
    state: dict[str, Any],
    step: int,
    steps: int,
    schedule_value: tuple[float, int],
) -> None:
    """Append the top-k spectrum after step ``step`` of the ``steps`` of the epoch after
    ``state["epoch"]`` to the history: a fractional epoch, no train loss (the training set
    is not evaluated), a measurement seed that no epoch uses."""
    total = state["step"] + step
    spectrum = _measure(model, subset, config, -2 - total, spectrum_only=True)
    eta, batch = schedule_value
    state["history"].append(
        {
            "epoch": state["epoch"] + step / steps,
            "lr": eta,
            "batch": batch,
            "steps": total,
            **spectrum,
        }
    )


def last_epoch_entry(history: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The last whole-epoch entry of ``history`` (one with a train loss), or None."""
    return next((h for h in reversed(history) if h.get("train_loss") is not None), None)


def first_crossings(config: TrainConfig, lowest: float, loss: float) -> list[float]:
    """The levels L of ``config.loss_levels`` an epoch of train loss ``loss`` reaches for the
    first time: ``lowest`` (the lowest train loss of the epochs before it) > L ≥ ``loss``.
    A loss that rises and falls back past a level does not cross it again."""
    return [level for level in config.loss_levels if lowest > level >= loss]


def measure_at(
    model: nn.Module,
    theta: torch.Tensor,
    subset: tuple[torch.Tensor, torch.Tensor],
    config: TrainConfig,
    epoch: int,
) -> dict[str, Any]:
    """The top-k spectrum of the model at flat parameters ``theta`` as :func:`_measure`
    gives it at ``epoch`` (the same measurement seed); the model's own parameters are put
    back afterwards."""
    current = flat_params(model)
    set_flat_params(model, theta)
    try:
        return _measure(model, subset, config, epoch, spectrum_only=True)
    finally:
        set_flat_params(model, current)


def in_loss_window(config: TrainConfig, train_loss: float) -> bool:
    """True when ``config.loss_window`` = (low, high) is set and low ≤ ``train_loss`` ≤ high."""
    return bool(config.loss_window) and (
        config.loss_window[0] <= train_loss <= config.loss_window[1]
    )


def best_validation(history: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The history entry of the best-validation checkpoint: the first epoch with the
    highest validation accuracy (None for a run without a validation split)."""
    scored = [h for h in history if h.get("validation_accuracy") is not None]
    return max(scored, key=lambda h: h["validation_accuracy"]) if scored else None


def _past_peak(config: TrainConfig, history: list[dict[str, Any]], entry: dict[str, Any]) -> bool:
    """True when ``stop_below_peak`` > 0 and the λ_max just measured has fallen below that
    fraction of the running maximum (the peak is behind the run)."""
    if config.stop_below_peak <= 0 or entry.get("lambda_max") is None:
        return False
    peak = max([h["lambda_max"] for h in history if h.get("lambda_max") is not None], default=0.0)
    return entry["lambda_max"] < config.stop_below_peak * peak


def finish_record(
    config: TrainConfig,
    state: dict[str, Any],
    diverged_step: int | None,
    data: datasets.Dataset,
    n_params: int,
    seconds: float,
    device: str,
    ensemble_size: int = 1,
) -> dict[str, Any]:
    """The run's record (keys of :mod:`~threefactors.empirical.records`) from its state."""
    at_stop = state["at"].get(str(config.stop_at_accuracy))
    reached = at_stop is not None
    final = None if diverged_step is not None else state["history"][-1]
    top = at_stop if reached else final
    record: dict[str, Any] = {"config": dataclasses.asdict(config), **_summary(top)}
    record.update(
        best_validation=best_validation(state["history"]),
        diverged=diverged_step is not None,
        diverged_step=diverged_step,
        reached_threshold=reached,
        thresholds={str(t): state["at"].get(str(t)) for t in levels_of(config)},
        final=final,
        history=state["history"],
        eta_over_s=config.setting.eta_over_s,
        n_train=data.n_train,
        n_test=int(data.y_test.shape[0]),
        n_params=n_params,
        ensemble_size=ensemble_size,
        seconds=seconds,
        provenance=provenance(dataclasses.asdict(config), config.seed, device),
    )
    return record


def train(
    config: TrainConfig,
    *,
    device: str = "cpu",
    data_dir: str | None = None,
    download: bool = False,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: float = 30.0,
    on_epoch: EpochCallback | None = None,
) -> Run:
    """Train one run; its record (see :mod:`threefactors.empirical.records`) and model.

    With ``checkpoint`` set, the state (model, optimizer, generator, epoch, history) is saved
    there atomically at most every ``checkpoint_every`` seconds (at the end of an epoch), and
    a run finding a checkpoint resumes from it. ``on_epoch`` receives each history entry.
    """
    device = resolve_device(device)
    validate(config)
    with deterministic(device):
        return _train(config, device, data_dir, download, checkpoint, checkpoint_every, on_epoch)


def _train(
    config: TrainConfig,
    device: str,
    data_dir: str | None,
    download: bool,
    checkpoint: str | os.PathLike[str] | None,
    checkpoint_every: float,
    on_epoch: EpochCallback | None,
) -> Run:
    started = time.perf_counter()
    data = prepare_data(config, device, data_dir, download)
    validate(config, data.n_train)
    subset = datasets.measurement_subset(data, config.measure_size)

    def fresh() -> tuple[nn.Module, torch.optim.Optimizer, torch.Generator]:
        model = build_model(config, data, device)
        optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
        return model, optimizer, torch.Generator(device=device).manual_seed(config.seed)

    model, optimizer, generator = fresh()
    nudge = Nudge(config.nsgd_gamma, config.nsgd_k) if config.optimizer == "nsgd" else None
    schedule = config.schedule_of()

    state = initial_state()
    ckpt = Path(checkpoint) if checkpoint is not None else None
    if ckpt is not None and ckpt.is_file():
        resumed = load_validated(
            ckpt,
            lambda saved: _resume(saved, model, optimizer, generator),
            read=lambda path: torch.load(path, map_location=device, weights_only=True),
        )
        if resumed is None:  # moved aside; a failed load may have half-filled the model
            model, optimizer, generator = fresh()
        else:
            state = resumed
    elapsed_before = state["seconds"]

    def seconds() -> float:
        return elapsed_before + time.perf_counter() - started

    previous: dict[str, Any] = {}  # the last epoch's parameters, while loss levels are set

    def record_epoch(entry: dict[str, Any], final: bool) -> bool:
        measure = functools.partial(_measure, model, subset, config, entry["epoch"])
        at_previous = (
            functools.partial(
                measure_at, model, previous["theta"], subset, config, previous["epoch"]
            )
            if previous
            else None
        )
        stop = record_epoch_entry(
            config, state, entry, final, measure, seconds(), on_epoch, at_previous
        )
        if config.loss_levels:
            previous.update(theta=flat_params(model), epoch=entry["epoch"])
        return stop

    diverged_step: int | None = None
    if not state["history"]:
        initial = {"epoch": 0, "lr": None, "batch": None, "steps": 0, **_evaluation(model, data)}
        record_epoch(initial, final=False)
    limit = config.divergence_ratio * max(state["history"][0]["train_loss"], 1e-12)
    stopped = str(config.stop_at_accuracy) in state["at"] and not config.continue_after_threshold
    model.train()
    while not stopped and state["epoch"] < config.epochs and diverged_step is None:
        epoch = state["epoch"] + 1
        eta, batch = schedule.at(epoch - 1)
        for group in optimizer.param_groups:
            group["lr"] = eta
        if nudge is not None:
            nudge.set_basis(nudge_directions(model, subset, config, state))
        steps = data.n_train // batch
        within = functools.partial(
            measure_within_epoch,
            model,
            subset,
            config,
            state,
            steps=steps,
            schedule_value=(eta, batch),
        )
        diverged_step = run_epoch(
            model,
            optimizer,
            nudge,
            data,
            generator,
            batch,
            limit,
            config,
            early_steps(config, epoch, steps),
            within,
        )
        if diverged_step is not None:
            diverged_step += state["step"]
            break
        state["step"] += steps
        state["epoch"] = epoch
        entry = {"epoch": epoch, "lr": eta, "batch": batch, "steps": state["step"]}
        entry.update(_evaluation(model, data))
        stopped = record_epoch(entry, final=epoch == config.epochs)
        if ckpt is not None and (seconds() - state.get("saved_at", -math.inf) >= checkpoint_every):
            state["saved_at"] = seconds()
            state["seconds"] = seconds()
            snapshot = {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "generator": generator.get_state(),
                "state": state,
            }
            write_atomic(ckpt, functools.partial(torch.save, snapshot))

    n_params = sum(p.numel() for p in model.parameters())
    record = finish_record(config, state, diverged_step, data, n_params, seconds(), device)
    return Run(record, model)


def run_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    nudge: Nudge | None,
    data: datasets.Dataset,
    generator: torch.Generator,
    batch: int,
    limit: float,
    config: TrainConfig,
    measure_after: Sequence[int] = (),
    at_step: Callable[[int], None] | None = None,
) -> int | None:
    """One epoch of ⌊N/S⌋ steps; the 0-based step (within the epoch) of divergence, or None.

    The divergence flag lives on the device: ``first_bad`` keeps the first step whose loss
    is not < ``limit`` (NaN fails the comparison), read every ``check_every`` steps and
    before each ``at_step(k)`` call, made after step k for k in ``measure_after`` while the
    run has not diverged.
    """
    measure_after = set(measure_after)
    n = data.n_train
    device = data.x_train.device
    order = torch.randperm(n, generator=generator, device=device)
    counter = torch.zeros((), dtype=torch.int64, device=device)
    first_bad = torch.full((), -1, dtype=torch.int64, device=device)
    steps = n // batch
    for i in range(steps):
        index = order[i * batch : (i + 1) * batch]
        loss = F.cross_entropy(model(data.x_train[index]), data.y_train[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if nudge is not None:
            nudge.apply(model)
        optimizer.step()
        bad = ~(loss.detach() < limit)
        first_bad = torch.where(bad & (first_bad < 0), counter, first_bad)
        counter += 1
        if (i + 1) % config.check_every == 0 and int(first_bad) >= 0:
            break
        if at_step is not None and i + 1 in measure_after and int(first_bad) < 0:
            at_step(i + 1)
    bad_step = int(first_bad)
    return bad_step if bad_step >= 0 else None
