"""``threefactors bench --sweep``: a simulation sweep on Dask, 2 workers against 1.

The same sweep (Langevin on the tilted double well L = (x² − 1)² + 0.3x, 8 settings of
(η, S), seeds 0…7) runs as one Dask task per setting on a ``LocalCluster`` of one
single-threaded worker, then of two, in the same process; kernels are loaded on every
worker before timing. Reported:

- ``speedup``: wall(1 worker) / wall(2 workers) — the issue's target is ≥ 1.7× on 2 cores;
- ``task_s`` / ``task_cpu_s``: wall and CPU seconds summed inside the tasks; on a machine
  shared with other jobs the wall inside the tasks grows with 2 workers while the CPU
  seconds do not — the missing speedup is then the other jobs' share of the cores;
- ``overhead_per_task_s``: (wall − Σ time inside the tasks) / tasks on the 1-worker cluster,
  what Dask adds per task (submission, scheduling, transfer of the row), and
  ``overhead_fraction``: that over the mean task time (target < 5% of a quick run).
``--quick`` uses 10× fewer particles.
"""

from __future__ import annotations

import time
from typing import Any

from threefactors.executors import ExecutorSpec, dask_client, run_tasks
from threefactors.jsonio import dumps
from threefactors.provenance import provenance
from threefactors.simulate.sweep import run_setting
from threefactors.theory.critical import critical_points
from threefactors.theory.landscape import Landscape
from threefactors.theory.setting import SGDSetting

LOSS = "(x^2 - 1)^2 + 0.3*x"
ETAS = (0.02, 0.05, 0.1, 0.15)
BATCH_SIZES = (1, 4)


def _timed(task: tuple) -> tuple[dict[str, Any], float, float]:
    """run_setting, and the wall and CPU seconds it took inside the worker."""
    start, cpu = time.perf_counter(), time.process_time()
    row = run_setting(task)
    return row, time.perf_counter() - start, time.process_time() - cpu


def _tasks(particles: int, steps: int) -> list[tuple]:
    landscape = Landscape.from_string(LOSS)
    critical = critical_points(landscape)
    settings = [SGDSetting(eta, batch) for eta in ETAS for batch in BATCH_SIZES]
    kwargs = {"particles": particles, "steps": steps}
    return [
        ("langevin", landscape, critical, setting, i, kwargs) for i, setting in enumerate(settings)
    ]


def _on_cluster(workers: int, tasks: list[tuple]) -> dict[str, Any]:
    with dask_client(ExecutorSpec("dask", workers=workers)) as client:
        address = client.scheduler.address
        warm = [(*tasks[0][:-1], {"particles": 10, "steps": 10})]
        client.run(run_tasks, _timed, warm)  # every worker loads the kernels
        start = time.perf_counter()
        outcomes = run_tasks(_timed, tasks, ExecutorSpec("dask", scheduler=address))
        wall = time.perf_counter() - start
    inside = sum(o.value[1] for o in outcomes)
    return {
        "workers": workers,
        "wall_s": wall,
        "task_s": inside,
        "task_cpu_s": sum(o.value[2] for o in outcomes),
        "rows": dumps(
            [{k: v for k, v in o.value[0].items() if k != "ns_per_particle_step"} for o in outcomes]
        ),  # JSON: NaN compares equal to NaN
    }


def run(quick: bool = False) -> dict[str, Any]:
    """Time the sweep on 1 and 2 workers; JSON-able, with provenance."""
    particles, steps = (20_000, 2_000) if quick else (200_000, 2_000)
    tasks = _tasks(particles, steps)
    one, two = _on_cluster(1, tasks), _on_cluster(2, tasks)
    same = one.pop("rows") == two.pop("rows")
    overhead = max(one["wall_s"] - one["task_s"], 0.0) / len(tasks)
    config = {"loss": LOSS, "settings": len(tasks), "particles": particles, "steps": steps}
    return {
        "one_worker": one,
        "two_workers": two,
        "speedup": one["wall_s"] / two["wall_s"],
        "overhead_per_task_s": overhead,
        "overhead_fraction": overhead / (one["task_s"] / len(tasks)),
        "same_rows": same,
        "provenance": provenance(config),
    }


def format_text(result: dict[str, Any]) -> str:
    """Walls, the 2-vs-1 speedup and the per-task overhead."""
    one, two = result["one_worker"], result["two_workers"]
    config = result["provenance"]["config"]
    return "\n".join(
        [
            f"sweep bench: {config['settings']} settings × {config['particles']} particles × "
            f"{config['steps']} steps, one Dask task each",
            f"  1 worker  {one['wall_s']:.2f} s (inside tasks {one['task_s']:.2f} s, "
            f"CPU {one['task_cpu_s']:.2f} s)",
            f"  2 workers {two['wall_s']:.2f} s (inside tasks {two['task_s']:.2f} s, "
            f"CPU {two['task_cpu_s']:.2f} s)",
            f"  speedup {result['speedup']:.2f}× (target ≥ 1.7×); rows identical: "
            f"{result['same_rows']}",
            f"  Dask overhead {1e3 * result['overhead_per_task_s']:.1f} ms per task = "
            f"{100 * result['overhead_fraction']:.2f}% of a task (target < 5%)",
        ]
    )
