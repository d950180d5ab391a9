"""``threefactors bench``: ns per particle-step of our kernels against baselines, same run.

Euler–Maruyama on the SGD SDE, float64, isotropic noise, dt = 0.01:
 A. 1-D asymmetric double well L = (x² − 1)² + 0.3x, 10⁵ particles × 10³ steps;
 B. 100-d anisotropic quadratic, Hessian eigenvalues log-spaced in [0.1, 10], 10⁴ × 10³;
 C. true SGD on A (shift noise, N = 1000 examples, S = 1, 8, 32, with replacement),
    10⁵ × 10³, as a ratio to the Langevin kernel on A.
Baselines measured in the same process on the same problems: vectorised numpy
(``Generator.standard_normal``, PCG64) and torchsde's ``sdeint(method="euler")`` where
torchsde is installed (fewer steps: the per-step cost is constant). The issue's targets:
≥ 6× numpy, ≥ 100× torchsde, SGD ≤ 3× the Langevin kernel at S ≤ 32 (compared in CPU time
per particle-step, which load from other jobs does not inflate).
``--quick`` shrinks every size 10× for a smoke run. Compilation is excluded from timings.
Besides wall time, each of our rows gives ``cpu_ns_per_thread``: the kernel's CPU time per
particle-step divided by the thread count, which is what the wall time would be on an idle
machine (on a machine shared with other jobs, wall time counts their share too).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from threefactors.provenance import provenance

DT = 0.01
TILT = 0.3


def _eigenvalues(dim: int = 100) -> np.ndarray:
    return np.logspace(-1, 1, dim)


def _numpy_ns(
    gradient: Callable[[Any, Any], Any], h: np.ndarray, shape: tuple[int, int], steps: int
) -> float:
    """Vectorised numpy Euler–Maruyama: x ← x − ∇L dt + sqrt(2T dt) ξ (∇L = gradient(x, h))."""
    gen = np.random.default_rng(0)
    x = gen.uniform(-1.5, 1.5, size=shape)
    amp = np.sqrt(2 * 0.05 * DT)
    t0 = time.perf_counter()
    for _ in range(steps):
        x -= gradient(x, h) * DT
        x += amp * gen.standard_normal(shape)
    return 1e9 * (time.perf_counter() - t0) / (shape[0] * steps)


def _torchsde_ns(
    gradient: Callable[[Any, Any], Any], h: np.ndarray, shape: tuple[int, int], steps: int
) -> float | None:
    """torchsde ``sdeint`` (Itô, diagonal noise, method="euler"); None when not installed."""
    try:
        import torch
        import torchsde
    except ImportError:
        return None

    class SDE(torch.nn.Module):
        noise_type, sde_type = "diagonal", "ito"

        def f(self, t, y):
            return -gradient(y, coefficients)

        def g(self, t, y):
            return torch.full_like(y, float(np.sqrt(2 * 0.05)))

    coefficients = torch.as_tensor(h)
    y0 = torch.rand(shape, dtype=torch.float64) * 3 - 1.5
    ts = torch.tensor([0.0, steps * DT], dtype=torch.float64)
    with torch.no_grad():
        t0 = time.perf_counter()
        torchsde.sdeint(SDE(), y0, ts, method="euler", dt=DT)
        return 1e9 * (time.perf_counter() - t0) / (shape[0] * steps)


def run(quick: bool = False) -> dict[str, Any]:
    """Measure A, B, C and their baselines; JSON-able, with provenance."""
    import numba

    from threefactors.simulate.ensemble import langevin
    from threefactors.simulate.sgd import sgd
    from threefactors.theory.builtin_landscapes import quadratic
    from threefactors.theory.landscape import Landscape

    threads = numba.get_num_threads()
    scale = 10 if quick else 1
    well = Landscape.from_string(f"(x**2 - 1)**2 + {TILT}*x")
    h = _eigenvalues()
    cases = {
        "A_double_well_1d": (well, 10**5 // scale, lambda x, c: 4 * x * (x * x - 1) + TILT),
        "B_quadratic_100d": (quadratic(h), 10**4 // scale, lambda x, c: c * x),
    }
    steps = 1000 // scale
    rows: dict[str, Any] = {}
    for name, (landscape, particles, gradient) in cases.items():
        run_kw = dict(eta=0.1, sigma=1.0, batch_size=1, dt=DT, particles=particles, records=2)
        run = langevin(landscape, steps=steps, **run_kw)
        ours = run.ns_per_particle_step
        shape = (particles, landscape.dim)
        numpy_ns = _numpy_ns(gradient, h, shape, max(steps // 10, 5))
        torch_ns = _torchsde_ns(gradient, h, shape, max(steps // 50, 2))
        rows[name] = {
            "particles": particles,
            "steps": steps,
            "ours_ns": ours,
            "cpu_ns_per_thread": run.cpu_ns_per_particle_step / threads,
            "numpy_ns": numpy_ns,
            "torchsde_ns": torch_ns,
            "speedup_vs_numpy": numpy_ns / ours,
            "speedup_vs_torchsde": None if torch_ns is None else torch_ns / ours,
        }
    particles = cases["A_double_well_1d"][1]
    for batch in (1, 8, 32):
        run = sgd(
            well, eta=DT, batch_size=batch, examples=1000, particles=particles, steps=steps,
            records=2,
        )  # fmt: skip
        cpu = run.cpu_ns_per_particle_step / threads
        rows[f"C_sgd_double_well_S{batch}"] = {
            "particles": particles,
            "steps": steps,
            "ours_ns": run.ns_per_particle_step,
            "cpu_ns_per_thread": cpu,
            "ratio_to_langevin_A": cpu / rows["A_double_well_1d"]["cpu_ns_per_thread"],
        }
    config = {"quick": quick, "threads": threads, "dt": DT}
    return {"cases": rows, "provenance": provenance(config, seed=0)}


def format_text(result: dict[str, Any]) -> str:
    """One line per case: ns per particle-step and ratios."""
    lines = [
        f"simulate bench ({result['provenance']['config']['threads']} threads), ns/particle-step"
    ]
    for name, row in result["cases"].items():
        if "numpy_ns" in row:
            torch = row["torchsde_ns"]
            torch_text = (
                "torchsde not installed"
                if torch is None
                else f"torchsde {torch:.1f} ({row['speedup_vs_torchsde']:.0f}×)"
            )
            lines.append(
                f"  {name}: ours {row['ours_ns']:.2f} (CPU/thread {row['cpu_ns_per_thread']:.2f})"
                f" | numpy {row['numpy_ns']:.1f} ({row['speedup_vs_numpy']:.1f}×) | {torch_text}"
            )
        else:
            lines.append(
                f"  {name}: ours {row['ours_ns']:.2f} (CPU/thread {row['cpu_ns_per_thread']:.2f},"
                f" {row['ratio_to_langevin_A']:.2f}× the Langevin kernel on A)"
            )
    return "\n".join(lines)
