"""The monitor's cost: a plain SGD loop with and without :class:`~threefactors.empirical.
monitor.Monitor`, in one process.

The MLP 40-256-256-10 on MNIST-1D, S = 64, one thread, the loop of a user (a seeded
permutation per epoch, minibatches by slicing). Overhead = (t_monitored − t_plain)/t_plain at
``every`` = 100 and 1,000 with the monitor's defaults on 1,000 measurement examples (top-5
by 25 Lanczos steps, 10 Hutchinson probes, per-example noise), and at every = 100 with a lean
measurement (256 examples, λ_max by 10 Lanczos steps, 4 probes). ``every_for_10_percent``:
the interval at which a measurement of the mean measured cost would add 10 %,
seconds per measurement / (0.1 × seconds per step).
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch
import torch.nn.functional as F

from threefactors.empirical import data as datasets
from threefactors.empirical import models
from threefactors.empirical.monitor import Monitor
from threefactors.empirical.train import deterministic

BATCH, ETA = 64, 0.1
LEAN = {"k": 1, "lanczos_steps": 10, "trace_probes": 4}


def _loop(data: datasets.Dataset, steps: int, every: int | None, size: int, options: dict):
    """(seconds of ``steps`` SGD steps, seconds per measurement or None)."""
    model = models.build("mlp", data.input_shape, data.num_classes, seed=0)
    optimizer = torch.optim.SGD(model.parameters(), lr=ETA)
    x, y = data.x_train, data.y_train
    monitor = None
    if every is not None:
        monitor = Monitor(
            model,
            F.cross_entropy,
            (x[:size], y[:size]),
            eta=ETA,
            batch_size=BATCH,
            every=every,
            **options,
        )
    generator = torch.Generator().manual_seed(0)
    per_epoch = len(y) // BATCH
    clock = time.perf_counter()
    for step in range(steps):
        if step % per_epoch == 0:
            order = torch.randperm(len(y), generator=generator)
        batch = order[(step % per_epoch) * BATCH : (step % per_epoch + 1) * BATCH]
        optimizer.zero_grad()
        F.cross_entropy(model(x[batch]), y[batch]).backward()
        optimizer.step()
        if monitor is not None:
            monitor.step(step + 1)  # step 0 (the initialisation) is not measured
    seconds = time.perf_counter() - clock
    if monitor is None or not monitor.records:
        return seconds, None
    return seconds, sum(r["seconds"] for r in monitor.records) / len(monitor.records)


def run(quick: bool) -> dict[str, Any]:
    """Overheads of the monitor at every = 100 and 1,000 (and lean at 100)."""
    data = datasets.load("mnist1d")
    steps = 1000 if quick else 3000
    cases = [("default", 100, 1000, {}), ("default", 1000, 1000, {}), ("lean", 100, 256, LEAN)]
    with deterministic("cpu"):
        _loop(data, 100, None, 0, {})  # warm-up
        plain, _ = _loop(data, steps, None, 0, {})
        rows = []
        for name, every, size, options in cases:
            seconds, per_measurement = _loop(data, steps, every, size, options)
            rows.append(
                {
                    "measurement": name,
                    "every": every,
                    "measure_size": size,
                    "seconds": seconds,
                    "overhead": (seconds - plain) / plain,
                    "seconds_per_measurement": per_measurement,
                    "every_for_10_percent": math.ceil(per_measurement / (0.1 * plain / steps)),
                }
            )
    return {
        "model": "mlp 40-256-256-10, MNIST-1D",
        "batch": BATCH,
        "steps": steps,
        "plain_seconds": plain,
        "plain_steps_per_s": steps / plain,
        "cases": rows,
    }


def format_text(result: dict[str, Any]) -> list[str]:
    """Lines for ``bench --empirical``'s text output."""
    lines = [
        f"Monitor overhead ({result['model']}, S = {result['batch']}, {result['steps']} steps; "
        f"plain loop {result['plain_steps_per_s']:.0f} steps/s):"
    ]
    for row in result["cases"]:
        lines.append(
            f"  {row['measurement']:7s} ({row['measure_size']:4d} examples) every "
            f"{row['every']:5d}: overhead {100 * row['overhead']:7.1f} %   "
            f"{row['seconds_per_measurement']:.2f} s/measurement; "
            f"< 10 % from every ≈ {row['every_for_10_percent']}"
        )
    return lines
