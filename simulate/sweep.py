"""Sweeps over (η, S, σ): one simulation per setting, one tidy row per setting.

Each row holds the setting, its temperature T and η/S
(:class:`~threefactors.theory.setting.SGDSetting`), the occupancy of every minimum with
its standard error, mean loss, trace of the covariance, diverged count and
first divergence step, and the run's speed; seeds are ``seed + i`` for setting i, so rows
are independent and reproducible — and identical whichever executor runs them
(:mod:`threefactors.executors`: this process, local processes, or one Dask task per setting).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from threefactors.errors import check_seed, require
from threefactors.executors import LOCAL, ExecutorSpec, run_tasks
from threefactors.progress import Progress
from threefactors.resources import check_memory
from threefactors.simulate.ensemble import langevin
from threefactors.simulate.sgd import sgd
from threefactors.theory.critical import critical_points
from threefactors.theory.landscape import Landscape
from threefactors.theory.setting import SGDSetting

SIMULATORS = {"langevin": langevin, "sgd": sgd}
#: Memory one setting holds until the sweep returns: its task, its row, the tasks' results
#: (6.6 KiB at the peak per setting, measured with tracemalloc on a 200-setting sweep).
SETTING_BYTES = 8 * 2**10


def sweep(
    landscape: Landscape,
    *,
    etas: Sequence[float],
    batch_sizes: Sequence[int],
    sigmas: Sequence[float] = (1.0,),
    simulator: str = "langevin",
    examples: int | None = None,
    replacement: bool = True,
    seed: int = 0,
    show_progress: bool = False,
    executor: ExecutorSpec = LOCAL,
    **run_kwargs: Any,
) -> list[dict[str, Any]]:
    """Run ``simulator`` ("langevin" or "sgd") on the grid etas × batch_sizes × sigmas.

    Each grid point is an :class:`~threefactors.theory.setting.SGDSetting` (with
    ``examples`` N and ``replacement``; "sgd" needs N). ``run_kwargs`` go to every run
    (particles, steps or time, dt, observe, ...). Each setting is one task on ``executor``;
    a setting that raises stops the sweep with its error.
    """
    require(simulator in SIMULATORS, "simulator", simulator, "choose langevin or sgd")
    require(simulator == "langevin" or examples is not None, "examples", examples, "sgd needs N")
    shape = f"{len(etas)} × {len(batch_sizes)} × {len(sigmas)} settings"
    check_memory(len(etas) * len(batch_sizes) * len(sigmas) * SETTING_BYTES, "lr", shape)
    grid = list(itertools.product(etas, batch_sizes, sigmas))
    require(len(grid) >= 1, "etas", etas, "empty grid")
    check_seed(seed, len(grid))  # setting i runs with seed + i
    critical = run_kwargs.pop("critical", None) or critical_points(landscape)
    settings = [SGDSetting(eta, batch, sigma, examples, replacement) for eta, batch, sigma in grid]
    tasks = [
        (simulator, landscape, critical, setting, seed + i, run_kwargs)
        for i, setting in enumerate(settings)
    ]
    labels = [f"lr={eta:g},S={batch},sigma={sigma:g}" for eta, batch, sigma in grid]
    progress = Progress("sweep", len(grid), enabled=show_progress)
    outcomes = run_tasks(run_setting, tasks, executor, labels=labels, progress=progress)
    for outcome in outcomes:
        if outcome.error is not None:
            raise RuntimeError(f"sweep setting {outcome.label} failed: {outcome.error}")
    return [outcome.value for outcome in outcomes]


def run_setting(task: tuple) -> dict[str, Any]:
    """One setting of a sweep (the tuple built by :func:`sweep`) → its row."""
    simulator, landscape, critical, setting, seed, run_kwargs = task
    result = SIMULATORS[simulator](landscape, setting, seed=seed, critical=critical, **run_kwargs)
    row: dict[str, Any] = {**setting.record(), "seed": seed}
    for j, (p, se) in enumerate(zip(result.occupancy, result.occupancy_stderr, strict=True)):
        row[f"occupancy_{j}"] = float(p)
        row[f"occupancy_stderr_{j}"] = float(se)
    alive = result.diverged < len(result.final) - 1
    row["mean_loss"] = result.mean_loss
    row["covariance_trace"] = float(result.covariance.trace()) if alive else None
    row["diverged"] = result.diverged
    row["first_divergence_step"] = result.first_divergence_step
    row["ns_per_particle_step"] = result.ns_per_particle_step
    return row
