"""Ensembles of independent particles on a Landscape: the SGD SDE (Langevin) and its runner.

``langevin`` integrates dθ = −∇L dt + sqrt(η/S) B(θ) dW (docs/theory.md, "The SDE of SGD";
time t = kη) for N particles with a scheme of :mod:`.schemes` and a noise model of
:mod:`.noise_models`; for isotropic noise the temperature is T = ησ²/(2S) and the stationary
law is Gibbs, p ∝ exp(−L/T).
:func:`simulate` is the one runner every simulator (including true SGD, :mod:`.sgd`) goes
through: :func:`plan` (validate, size, budget), :func:`compile_plan` (generated kernel),
:func:`run_chunks` (integrate in chunks, timed), :func:`reduce` (block sums → result).
"""

from __future__ import annotations

import itertools
import time as _time
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from threefactors.errors import InputError, check_positive, check_seed, require
from threefactors.progress import Progress
from threefactors.provenance import provenance
from threefactors.resources import check_memory
from threefactors.simulate import rng
from threefactors.simulate.codegen import KERNEL_ARGS, compile_kernel, gradient_data
from threefactors.simulate.noise_models import NoiseModel, get_noise
from threefactors.simulate.observers import (
    Accumulators,
    Basins,
    EscapeStats,
    Observe,
    ObservePlan,
    observe_from,
)
from threefactors.simulate.schemes import Scheme, get_scheme
from threefactors.theory.critical import CriticalPoints, critical_points, default_box
from threefactors.theory.landscape import Landscape
from threefactors.theory.setting import SGDSetting, setting_from

#: Largest particles × steps × d one call accepts (≈ 10 min at 3 ns per particle-step).
MAX_WORK = 2 * 10**11
#: particles × steps × d per kernel call; a longer run is split into up to 50 calls (progress
#: lines), which draw exactly the numbers of one call.
CHUNK_WORK = 5 * 10**8


def block_size(dim: int) -> int:
    """Particles per generator block: a block's positions fit in L1 (≤ 4096 doubles)."""
    return max(8, min(1024, 4096 // dim))


@dataclass
class EnsembleResult:
    """What a run measured. Times are SDE time t = k·dt (for SGD, dt = η).

    ``occupancy_over_time[t, j]``: fraction of live particles in basin j at record time t;
    ``final``: positions (N, d) at the end (diverged particles frozen where they left);
    ``diverged_at``: step per particle, −1 for never. Only what :class:`.observers.Observe`
    asked for is present: ``escaped_at`` / ``escape`` with an escape request, ``histogram``
    / ``histogram_edges`` with a histogram request, else None.
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
    ns_per_particle_step: float
    cpu_ns_per_particle_step: float
    escaped_at: np.ndarray | None = None
    escape: EscapeStats | None = None
    histogram: np.ndarray | None = None
    histogram_edges: np.ndarray | None = None
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


@dataclass(frozen=True)
class Plan:
    """One ensemble run, validated and sized: what :func:`simulate` will compile and run.

    ``chunks``: the step boundaries of the kernel calls (progress lines between them).
    """

    landscape: Landscape
    noise: NoiseModel
    scheme: Scheme
    noise_data: tuple
    dt: float
    steps: int
    particles: int
    seed: int
    n_examples: int
    start: np.ndarray | None
    gradient: tuple
    observe: ObservePlan
    block: int
    chunks: np.ndarray
    config: dict[str, Any]

    @property
    def blocks(self) -> int:
        return -(-self.particles // self.block)


@dataclass
class Ensemble:
    """The mutable state of a run: positions, generator states, per-particle steps, sums."""

    X: np.ndarray
    ZP: np.ndarray
    frozen: np.ndarray
    states: np.ndarray
    diverged_at: np.ndarray
    escaped_at: np.ndarray
    acc: Accumulators

    @classmethod
    def start(cls, plan: Plan) -> Ensemble:
        X = _start_positions(plan.landscape, plan.particles, plan.start, plan.seed)
        d = plan.landscape.dim
        return cls(
            X=X,
            ZP=np.zeros_like(X) if plan.scheme.uses_previous_noise else np.zeros((0, d)),
            frozen=np.zeros_like(X),
            states=rng.block_states(plan.seed, plan.blocks),
            diverged_at=np.full(plan.particles, -1, dtype=np.int64),
            escaped_at=plan.observe.escaped_at(plan.particles),
            acc=plan.observe.accumulators(plan.blocks, d),
        )

    def head(self, plan: Plan) -> Ensemble:
        """A one-particle copy with one block of fresh accumulators (to compile on)."""
        return Ensemble(
            X=self.X[:1].copy(),
            ZP=self.ZP[:1].copy(),
            frozen=self.frozen[:1].copy(),
            states=self.states[:1].copy(),
            diverged_at=self.diverged_at[:1].copy(),
            escaped_at=self.escaped_at[:1].copy(),
            acc=plan.observe.accumulators(1, plan.landscape.dim),
        )


def plan(
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
    observe: Observe | None = None,
    critical: CriticalPoints | None = None,
    config: dict[str, Any] | None = None,
) -> Plan:
    """Validate a run and size it: work and memory budgets, record steps, chunks."""
    require(int(particles) == particles and particles >= 1, "particles", particles, "need ≥ 1")
    require(int(steps) == steps and steps >= 1, "steps", steps, "need ≥ 1")
    check_seed(seed)
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
    basins = Basins.from_critical(landscape, critical or critical_points(landscape))
    box = np.array(landscape.box or default_box(landscape), dtype=float)
    observed = (observe or Observe()).plan(basins, box, steps)
    check_memory(
        8 * particles * d * 3 + 8 * particles + observed.nbytes(particles, n_blocks, d),
        "particles",
        particles,
    )
    if start is None and observed.escape_start is not None:
        start = observed.escape_start
    chunks = max(1, min(steps, particles * steps * d // CHUNK_WORK + 1, 50))
    return Plan(
        landscape=landscape,
        noise=noise,
        scheme=scheme,
        noise_data=noise_data,
        dt=float(dt),
        steps=steps,
        particles=particles,
        seed=int(seed),
        n_examples=int(n_examples),
        start=start,
        gradient=gradient_data(landscape),
        observe=observed,
        block=block,
        chunks=np.linspace(0, steps, chunks + 1).round().astype(np.int64),
        config=dict(config or {}),
    )


def _call(module: ModuleType, plan: Plan, state: Ensemble, k0: int, k1: int) -> None:
    """One kernel call: steps k0+1..k1 of every particle of ``state``."""
    args = {
        "X": state.X,
        "ZP": state.ZP,
        "frozen": state.frozen,
        "k0": int(k0),
        "steps": int(k1 - k0),
        "dt": plan.dt,
        "nd": plan.noise_data,
        "gd": plan.gradient,
        "n_examples": plan.n_examples,
        "states": state.states,
        "block": plan.block,
        "r0": int(np.searchsorted(plan.observe.record, k0)),
        "diverged_at": state.diverged_at,
        "escaped_at": state.escaped_at,
        "acc": state.acc.kernel_args(),
        **plan.observe.kernel_args(),
    }
    module.integrate(*(args[name] for name in KERNEL_ARGS))


def compile_plan(plan: Plan, state: Ensemble) -> ModuleType:
    """The kernel of ``plan``, compiled (or loaded from cache) by one step of a one-particle
    copy of ``state``, so that the timing of :func:`run_chunks` is pure run."""
    module = compile_kernel(plan.landscape, plan.noise, plan.scheme, escape=plan.observe.escapes)
    _call(module, plan, state.head(plan), 0, 1)
    return module


def run_chunks(
    module: ModuleType, plan: Plan, state: Ensemble, show_progress: bool = False
) -> tuple[float, float]:
    """Integrate ``state`` over the plan's chunks; (wall, CPU) seconds spent in the kernel."""
    progress = Progress("simulate", plan.steps, enabled=show_progress)
    elapsed = cpu = 0.0
    for k0, k1 in itertools.pairwise(plan.chunks):
        t0, c0 = _time.perf_counter(), _time.process_time()
        _call(module, plan, state, k0, k1)
        elapsed += _time.perf_counter() - t0
        cpu += _time.process_time() - c0
        progress.update(int(k1))
    return elapsed, cpu


def reduce(plan: Plan, state: Ensemble, elapsed: float, cpu: float) -> EnsembleResult:
    """The result of a finished run: block sums reduced, only the requested observations."""
    alive = state.diverged_at < 0
    final = state.X
    final[~alive] = state.frozen[~alive]  # where they left the bound
    reduced = state.acc.reduce()
    observed = plan.observe
    work = plan.particles * plan.steps
    return EnsembleResult(
        config=plan.config,
        minima=observed.basins.minima,
        steps=observed.record,
        times=observed.record * plan.dt,
        occupancy_over_time=reduced["occupancy"],
        mean_over_time=reduced["mean"],
        mean_loss_over_time=reduced["mean_loss"],
        alive_over_time=reduced["alive"],
        final=final,
        diverged_at=state.diverged_at,
        ns_per_particle_step=1e9 * elapsed / work,
        cpu_ns_per_particle_step=1e9 * cpu / work,
        escaped_at=state.escaped_at if observed.escapes else None,
        escape=(
            EscapeStats.from_steps(state.escaped_at, alive, plan.dt) if observed.escapes else None
        ),
        histogram=reduced["histogram"] if observed.bins else None,
        histogram_edges=observed.edges(),
        provenance=provenance(plan.config, plan.seed),
    )


def simulate(planned: Plan, show_progress: bool = False) -> EnsembleResult:
    """Run one planned ensemble, the shared engine of :func:`langevin` and :func:`.sgd.sgd`:
    :func:`plan` → :func:`compile_plan` → :func:`run_chunks` → :func:`reduce`.

    With an escape request (:class:`.observers.FirstPassage`) the particles start at that minimum
    unless a start is given, and an escaped particle stops there (its work is done), so a
    run costs N × mean escape time, not N × the longest one.
    """
    state = Ensemble.start(planned)
    module = compile_plan(planned, state)
    elapsed, cpu = run_chunks(module, planned, state, show_progress)
    return reduce(planned, state, elapsed, cpu)


def langevin(
    landscape: Landscape,
    setting: SGDSetting | None = None,
    *,
    eta: float | None = None,
    batch_size: int | None = None,
    sigma: float | None = None,
    noise: str = "isotropic",
    covariance: np.ndarray | None = None,
    particles: int = 10_000,
    time: float | None = None,
    steps: int | None = None,
    dt: float | None = None,
    scheme: str = "em",
    seed: int = 0,
    start: np.ndarray | None = None,
    observe: Observe | None = None,
    critical: CriticalPoints | None = None,
    show_progress: bool = False,
    **observe_keywords: Any,
) -> EnsembleResult:
    """Ensemble of the SGD SDE dθ = −∇L dt + sqrt(η/S) B(θ) dW, in SDE time t = kη.

    ``setting`` (:class:`~threefactors.theory.setting.SGDSetting`; or the shortcuts ``eta``,
    ``batch_size``, ``sigma``) gives η, S, σ. Noise (docs/theory.md, "The SDE of SGD"):
    ``isotropic`` C = σ² I (temperature T = ησ²/(2S)); ``hessian`` C = σ² H(θ)₊;
    ``constant`` C = ``covariance`` (σ unused). Give ``time`` (SDE time) or ``steps``;
    ``dt`` defaults to η, one SGD step per step. Particles start uniform over the
    landscape's box unless ``start`` or an escape request is given. ``observe`` says what
    to measure (default ``Observe()``); its flat shortcuts (``records``, ``bins``,
    ``histogram_from``, ``escape_from``, ``escape_radius``, ``bound``) are accepted too.
    """
    setting = setting_from(setting, eta, batch_size, sigma)
    eta, batch_size, sigma = setting.eta, setting.batch_size, setting.sigma
    observe = observe_from(observe, observe_keywords)
    model = get_noise(noise, minibatch=False)
    chosen = get_scheme(scheme, model.additive)
    dt = float(eta if dt is None else dt)
    check_positive("dt", dt)
    if (time is None) == (steps is None):
        raise InputError("time", time, "give exactly one of time and steps")
    if time is not None:
        check_positive("time", time)
        require(dt <= time, "dt", dt, f"longer than time={time:g}: need dt ≤ time")
        steps = int(np.ceil(time / dt - 1e-9))
    scale = float(np.sqrt(eta * dt / batch_size))
    kernel_model, noise_data = model.kernel_data(landscape, scale, sigma, covariance)
    escape = observe.escape
    config = {
        "simulator": "langevin",
        "loss": str(landscape.loss),
        "coords": landscape.coord_names,
        **setting.record(),
        "noise": noise,
        "scheme": scheme,
        "dt": dt,
        "steps": steps,
        "time": steps * dt,  # time rounded up to whole steps
        "time_requested": time,
        "particles": particles,
        "start": None if start is None else np.asarray(start, dtype=float),
        "escape_from": None if escape is None else escape.minimum,
    }
    planned = plan(
        landscape, kernel_model, chosen, noise_data, dt=dt, steps=int(steps),
        particles=particles, seed=seed, start=start, observe=observe, critical=critical,
        config=config,
    )  # fmt: skip
    return simulate(planned, show_progress)
