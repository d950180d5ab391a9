"""Ensembles of independent particles on a Landscape: the SGD SDE (Langevin) and its runner.

``langevin`` integrates dθ = −∇L dt + sqrt(η/S) B(θ) dW (THEORY.md, time t = kη) for N
particles with a scheme of :mod:`.schemes` and a noise model of :mod:`.noise`; for isotropic
noise the temperature is T = ησ²/(2S) and the stationary law is Gibbs, p ∝ exp(−L/T).
:func:`simulate` is the one runner every simulator (including true SGD, :mod:`.sgd`) goes
through: compile, start, integrate in chunks, reduce the observers, time it.
"""

from __future__ import annotations

import itertools
import time as _time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from threefactors.errors import InputError, check_batch, check_positive, check_sigma, require
from threefactors.progress import Progress
from threefactors.provenance import provenance
from threefactors.resources import check_memory
from threefactors.simulate import rng
from threefactors.simulate.codegen import compile_kernel, gradient_data
from threefactors.simulate.noise import DIAGONAL, NOISE_MODELS, NoiseModel, get_noise
from threefactors.simulate.observers import Accumulators, Basins, EscapeStats
from threefactors.simulate.schemes import Scheme, get_scheme
from threefactors.theory.critical import (
    CriticalPoints,
    critical_points,
    default_box,
    quadratic_form,
)
from threefactors.theory.landscape import Landscape

#: Largest particles × steps × d one call accepts (≈ 10 min at 3 ns per particle-step).
MAX_WORK = 2 * 10**11
#: particles × steps × d per kernel call; a longer run is split into up to 50 calls (progress
#: lines), which draw exactly the numbers of one call.
CHUNK_WORK = 5 * 10**8
#: Divergence bound on |θ_i| unless the caller gives one.
DEFAULT_BOUND = 1e6


def block_size(dim: int) -> int:
    """Particles per generator block: a block's positions fit in L1 (≤ 4096 doubles)."""
    return max(8, min(1024, 4096 // dim))


@dataclass
class EnsembleResult:
    """What a run measured. Times are SDE time t = k·dt (for SGD, dt = η).

    ``occupancy[t, j]``: fraction of live particles in basin j at record time t;
    ``final``: positions (N, d) at the end (diverged particles frozen where they left);
    ``diverged_at`` / ``escaped_at``: step per particle, −1 for never.
    ``ns_per_particle_step``: wall time of the kernel per particle-step;
    ``cpu_ns_per_particle_step``: CPU time of all its threads per particle-step (divide by
    the thread count for the wall time an otherwise idle machine would show).
    """

    config: dict[str, Any]
    minima: np.ndarray
    steps: np.ndarray
    times: np.ndarray
    occupancy_over_time: np.ndarray
    mean_over_time: np.ndarray
    mean_loss_over_time: np.ndarray
    alive_over_time: np.ndarray
    final: np.ndarray
    diverged_at: np.ndarray
    escaped_at: np.ndarray
    escape: EscapeStats | None
    histogram: np.ndarray
    histogram_edges: np.ndarray
    ns_per_particle_step: float
    cpu_ns_per_particle_step: float
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def alive(self) -> np.ndarray:
        return self.diverged_at < 0

    @property
    def occupancy(self) -> np.ndarray:
        """Fraction of live particles per minimum at the last record."""
        return self.occupancy_over_time[-1]

    @property
    def occupancy_stderr(self) -> np.ndarray:
        """sqrt(p(1 − p)/N_alive): particles are independent."""
        p = self.occupancy
        return np.sqrt(p * (1 - p) / self.alive_over_time[-1]) if self.alive.any() else p

    @property
    def mean(self) -> np.ndarray:
        return self.final[self.alive].mean(axis=0)

    @property
    def covariance(self) -> np.ndarray:
        """Covariance of the live final positions (ddof = 1), shape (d, d)."""
        live = self.final[self.alive]
        return (
            np.atleast_2d(np.cov(live, rowvar=False)) if len(live) > 1 else np.full((1, 1), np.nan)
        )

    @property
    def mean_loss(self) -> float:
        return float(self.mean_loss_over_time[-1])

    @property
    def diverged(self) -> int:
        return int(np.sum(~self.alive))

    @property
    def first_divergence_step(self) -> int | None:
        return int(self.diverged_at[~self.alive].min()) if self.diverged else None

    def summary(self) -> dict[str, Any]:
        """The CLI document: occupancy (± stderr), moments, divergence, escape, speed."""
        out: dict[str, Any] = {
            "minima": self.minima,
            "occupancy": self.occupancy,
            "occupancy_stderr": self.occupancy_stderr,
            "mean_loss": self.mean_loss,
            "mean": self.mean if self.diverged < len(self.final) else None,
            "covariance": self.covariance if self.diverged < len(self.final) - 1 else None,
            "diverged": self.diverged,
            "first_divergence_step": self.first_divergence_step,
            "ns_per_particle_step": self.ns_per_particle_step,
        }
        if self.escape is not None:
            out["escape_times"] = {
                "mean": self.escape.mean,
                "stderr": self.escape.stderr,
                "count": self.escape.count,
                "censored": self.escape.censored,
            }
        out["provenance"] = self.provenance
        return out


def _record_steps(steps: int, records: int) -> np.ndarray:
    """``records`` record steps from 0 to ``steps`` (inclusive), evenly spaced, distinct."""
    require(int(records) == records and records >= 2, "records", records, "need ≥ 2")
    return np.unique(np.linspace(0, steps, min(int(records), steps + 1)).round().astype(np.int64))


def _start_positions(
    landscape: Landscape, particles: int, start: np.ndarray | None, seed: int
) -> np.ndarray:
    """All particles at ``start``, or uniform over the landscape's box (theory's default)."""
    d = landscape.dim
    if start is not None:
        point = np.asarray(start, dtype=float).reshape(-1)
        require(point.shape == (d,), "start", start, f"need {d} coordinates")
        require(bool(np.all(np.isfinite(point))), "start", start, "must be finite")
        return np.tile(point, (particles, 1))
    box = np.array(landscape.box or default_box(landscape), dtype=float)
    u = rng.uniform_draws(particles * d, seed, stream=1).reshape(particles, d)
    return box[:, 0] + u * (box[:, 1] - box[:, 0])


def simulate(
    landscape: Landscape,
    noise: NoiseModel,
    scheme: Scheme,
    noise_data: tuple,
    *,
    dt: float,
    steps: int,
    particles: int,
    seed: int,
    n_examples: int = 0,
    start: np.ndarray | None = None,
    escape_from: int | None = None,
    escape_radius: float | None = None,
    records: int = 101,
    bins: int = 0,
    histogram_from: int | None = None,
    bound: float = DEFAULT_BOUND,
    critical: CriticalPoints | None = None,
    config: dict[str, Any] | None = None,
    show_progress: bool = False,
) -> EnsembleResult:
    """Run one ensemble: the shared engine of :func:`langevin` and :func:`.sgd.sgd`.

    ``escape_from`` = index of a minimum: the particles start there (unless ``start`` is
    given) and the first step within ``escape_radius`` (default: the smallest capture
    radius) of another minimum is recorded; an escaped particle stops there (its work is
    done), so a run costs N × mean escape time, not N × the longest one. ``bins`` > 0 adds
    marginal histograms of the positions at every record step ≥ ``histogram_from``
    (default: half the run) over the box.
    """
    require(int(particles) == particles and particles >= 1, "particles", particles, "need ≥ 1")
    require(int(steps) == steps and steps >= 1, "steps", steps, "need ≥ 1")
    require(int(seed) == seed and seed >= 0, "seed", seed, "need an integer ≥ 0")
    require(int(bins) == bins and bins >= 0, "bins", bins, "need an integer ≥ 0")
    check_positive("bound", bound)
    particles, steps, d = int(particles), int(steps), landscape.dim
    block = block_size(d)
    n_blocks = -(-particles // block)
    check_memory(8 * particles * d * 3 + 16 * particles + 32 * n_blocks, "particles", particles)
    require(
        particles * steps * d <= MAX_WORK,
        "steps",
        steps,
        f"particles × steps × d = {particles * steps * d:.3g} exceeds the budget {MAX_WORK:.0e}",
    )
    critical = critical or critical_points(landscape)
    basins = Basins.from_critical(landscape, critical)
    n_min = len(basins.minima)
    record = _record_steps(steps, records)
    check_memory(
        8 * particles * d * 3
        + 16 * particles
        + Accumulators.nbytes(n_blocks, len(record), n_min, d, bins),
        "bins" if bins else "particles",
        bins or particles,
    )
    escape = (-1, 0.0)
    if escape_from is not None:
        require(
            int(escape_from) == escape_from and 0 <= escape_from < n_min and n_min > 1,
            "escape_from",
            escape_from,
            f"need a minimum index in 0..{n_min - 1} of a landscape with ≥ 2 minima",
        )
        radius = escape_radius if escape_radius is not None else basins.capture_radius.min()
        check_positive("escape_radius", radius)
        escape = (int(escape_from), float(radius) ** 2)
        if start is None:
            start = basins.minima[int(escape_from)]
    box = np.array(landscape.box or default_box(landscape), dtype=float)
    hist_start = steps // 2 if histogram_from is None else int(histogram_from)
    hist_spec = (box[:, 0].copy(), box[:, 1].copy(), hist_start)

    module = compile_kernel(landscape, noise, scheme, escape=escape_from is not None)
    gradient = gradient_data(landscape)
    X = _start_positions(landscape, particles, start, seed)
    ZP = np.zeros_like(X) if scheme.uses_previous_noise else np.zeros((0, d))
    frozen = np.zeros_like(X)
    states = rng.block_states(seed, n_blocks)
    diverged_at = np.full(particles, -1, dtype=np.int64)
    escaped_at = np.full(particles, -1, dtype=np.int64)
    acc = Accumulators.empty(n_blocks, len(record), n_min, d, bins)
    basin_args = basins.kernel_args()

    def call(X, ZP, frozen, k0, n_steps, states, r0, div, esc, acc_args):
        module.integrate(
            X, ZP, frozen, k0, n_steps, float(dt), noise_data, gradient, int(n_examples),
            states, block, record, r0, basin_args, escape, float(bound), hist_spec, div, esc,
            acc_args,
        )  # fmt: skip

    # compile (or load from cache) on a one-particle copy, so the timing below is pure run
    tiny = Accumulators.empty(1, len(record), n_min, d, bins).kernel_args()
    call(X[:1].copy(), ZP[:1].copy(), frozen[:1].copy(), 0, 1, states[:1].copy(), 0,
         diverged_at[:1].copy(), escaped_at[:1].copy(), tiny)  # fmt: skip

    chunks = max(1, min(steps, particles * steps * d // CHUNK_WORK + 1, 50))
    bounds = np.linspace(0, steps, chunks + 1).round().astype(np.int64)
    progress = Progress("simulate", steps, enabled=show_progress)
    elapsed = cpu = 0.0
    for k0, k1 in itertools.pairwise(bounds):
        r0 = int(np.searchsorted(record, k0))
        t0, c0 = _time.perf_counter(), _time.process_time()
        call(X, ZP, frozen, int(k0), int(k1 - k0), states, r0, diverged_at, escaped_at,
             acc.kernel_args())  # fmt: skip
        elapsed += _time.perf_counter() - t0
        cpu += _time.process_time() - c0
        progress.update(int(k1))
    alive = diverged_at < 0
    X[~alive] = frozen[~alive]  # where they left the bound

    reduced = acc.reduce()
    edges = np.stack([np.linspace(lo, hi, bins + 1) for lo, hi in box])
    return EnsembleResult(
        config=dict(config or {}),
        minima=basins.minima,
        steps=record,
        times=record * dt,
        occupancy_over_time=reduced["occupancy"],
        mean_over_time=reduced["mean"],
        mean_loss_over_time=reduced["mean_loss"],
        alive_over_time=reduced["alive"],
        final=X,
        diverged_at=diverged_at,
        escaped_at=escaped_at,
        escape=None if escape_from is None else EscapeStats.from_steps(escaped_at, alive, dt),
        histogram=reduced["histogram"],
        histogram_edges=edges,
        ns_per_particle_step=1e9 * elapsed / (particles * steps),
        cpu_ns_per_particle_step=1e9 * cpu / (particles * steps),
        provenance=provenance(config, seed),
    )


def _constant_noise(covariance: np.ndarray, scale: float) -> tuple[NoiseModel, tuple]:
    """The kernel's model and data for constant C = B Bᵀ: ``diagonal`` with B = diag(sqrt(C_ii))
    when C is diagonal, else ``constant`` with the symmetric root B = V Λ₊^{1/2} Vᵀ."""
    if np.count_nonzero(covariance - np.diag(np.diag(covariance))) == 0:
        return DIAGONAL, (scale, np.sqrt(np.clip(np.diag(covariance), 0, None)))
    lam, vec = np.linalg.eigh(covariance)
    root = vec @ np.diag(np.sqrt(np.clip(lam, 0, None))) @ vec.T
    return NOISE_MODELS["constant"], (scale, root)


def langevin(
    landscape: Landscape,
    *,
    eta: float,
    batch_size: int = 1,
    sigma: float = 1.0,
    noise: str = "isotropic",
    covariance: np.ndarray | None = None,
    particles: int = 10_000,
    time: float | None = None,
    steps: int | None = None,
    dt: float | None = None,
    scheme: str = "em",
    seed: int = 0,
    start: np.ndarray | None = None,
    escape_from: int | None = None,
    escape_radius: float | None = None,
    records: int = 101,
    bins: int = 0,
    histogram_from: int | None = None,
    bound: float = DEFAULT_BOUND,
    critical: CriticalPoints | None = None,
    show_progress: bool = False,
) -> EnsembleResult:
    """Ensemble of the SGD SDE dθ = −∇L dt + sqrt(η/S) B(θ) dW, in SDE time t = kη.

    Noise (THEORY.md): ``isotropic`` C = σ² I (temperature T = ησ²/(2S)); ``hessian``
    C = σ² H(θ)₊; ``constant`` C = ``covariance`` (σ unused). Give ``time`` (SDE time) or
    ``steps``; ``dt`` defaults to η, one SGD step per step. Particles start uniform over
    the landscape's box unless ``start`` or ``escape_from`` is given.
    """
    check_positive("lr", eta)
    check_batch(batch_size)
    check_sigma(sigma)
    model = get_noise(noise, minibatch=False)
    chosen = get_scheme(scheme, model.additive)
    dt = float(eta if dt is None else dt)
    check_positive("dt", dt)
    if (time is None) == (steps is None):
        raise InputError("time", time, "give exactly one of time and steps")
    if time is not None:
        check_positive("time", time)
        steps = int(np.ceil(time / dt - 1e-9))
    scale = np.sqrt(eta * dt / batch_size)
    d = landscape.dim
    if model.name == "constant":
        require(covariance is not None, "covariance", covariance, "constant noise needs C")
        c = np.atleast_2d(np.asarray(covariance, dtype=float))
        require(
            c.shape == (d, d) and np.allclose(c, c.T), "covariance", c.shape, "need d×d, symmetric"
        )
        lam = np.linalg.eigvalsh(c)
        require(lam.min() >= -1e-12 * max(lam.max(), 1), "covariance", lam.min(), "not PSD")
        kernel_model, noise_data = _constant_noise(c, float(scale))
    elif model.name == "hessian" and (form := quadratic_form(landscape)) is not None:
        # constant curvature: the factor of σ²H₊ once, not per particle-step
        lam, vec = np.linalg.eigh(form[0])
        positive = vec @ np.diag(np.clip(lam, 0, None)) @ vec.T
        if np.count_nonzero(form[0] - np.diag(np.diag(form[0]))) == 0:
            positive = np.diag(np.clip(np.diag(form[0]), 0, None))
        kernel_model, noise_data = _constant_noise(sigma**2 * positive, float(scale))
    else:
        kernel_model, noise_data = model, (float(scale * sigma),)
    config = {
        "simulator": "langevin",
        "loss": str(landscape.loss),
        "coords": landscape.coord_names,
        "lr": eta,
        "batch": batch_size,
        "sigma": sigma,
        "temperature": eta * sigma**2 / (2 * batch_size),
        "noise": noise,
        "scheme": scheme,
        "dt": dt,
        "steps": steps,
        "particles": particles,
        "start": None if start is None else np.asarray(start, dtype=float),
        "escape_from": escape_from,
    }
    return simulate(
        landscape,
        kernel_model,
        chosen,
        noise_data,
        dt=dt,
        steps=int(steps),
        particles=particles,
        seed=seed,
        start=start,
        escape_from=escape_from,
        escape_radius=escape_radius,
        records=records,
        bins=bins,
        histogram_from=histogram_from,
        bound=bound,
        critical=critical,
        config=config,
        show_progress=show_progress,
    )
