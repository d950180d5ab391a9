"""Streaming observers: what the kernel measures instead of storing trajectories.

Memory is O(N·d) for the particles plus O(blocks × records × (minima + d)) for per-block
accumulators, never O(N × steps). At each record step the kernel adds, per block, the
number of live particles in each basin, Σθ, ΣL(θ) and the live count; from a chosen step on
it adds every live coordinate to a marginal histogram. Per particle it keeps the step of
divergence (|θ_i| > bound or non-finite; the particle's position at that step is kept as its
final position and it is left out of every statistic) and the first step of escape (within
the capture radius of another minimum).
Blocks are reduced here, in block order, so the sums do not depend on the thread count.

Basin of a point = the minimum gradient flow carries it to (:class:`Basins`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from threefactors.errors import require
from threefactors.theory.critical import CriticalPoints
from threefactors.theory.landscape import Landscape


@dataclass(frozen=True)
class Basins:
    """Minima (in ``critical_points`` order) and how the kernel assigns a point to one.

    d = 1: the basin boundaries are the maxima between consecutive minima (``splits``).
    d ≥ 2: gradient flow θ ← θ − τ∇L, τ = ``flow_dt`` = 0.5/λ_max over the minima's
    Hessians, each move at most ``max_move``, until the point is within ``capture_radius``
    of a minimum (a quarter of the distance to the nearest other critical point), at most
    ``flow_steps`` moves; then the nearest minimum.
    """

    minima: np.ndarray
    capture_radius: np.ndarray
    splits: np.ndarray
    flow_dt: float
    flow_steps: int
    max_move: float

    @classmethod
    def from_critical(cls, landscape: Landscape, critical: CriticalPoints) -> Basins:
        require(len(critical.minima) >= 1, "loss", str(landscape.loss), "the loss has no minimum")
        minima = np.array([m.x for m in critical.minima], dtype=float).reshape(-1, landscape.dim)
        others = [p.x for p in (*critical.minima, *critical.saddles, *critical.others)]
        points = np.array(others, dtype=float).reshape(-1, landscape.dim)
        radius = np.empty(len(minima))
        for j, m in enumerate(minima):
            dist = np.linalg.norm(points - m, axis=1)
            dist = dist[dist > 1e-12]
            radius[j] = 0.25 * dist.min() if dist.size else np.inf
        splits = np.zeros(0)
        if landscape.dim == 1 and len(minima) > 1:
            tops = np.sort([p.x[0] for p in (*critical.saddles, *critical.others)])
            splits = np.array(
                [
                    next((t for t in tops if a < t < b), 0.5 * (a + b))
                    for a, b in zip(minima[:-1, 0], minima[1:, 0], strict=True)
                ]
            )
        curvature = max(float(np.max(np.abs(m.hessian_eigenvalues))) for m in critical.minima)
        finite = radius[np.isfinite(radius)]
        return cls(
            minima=minima,
            capture_radius=radius,
            splits=splits,
            flow_dt=0.5 / max(curvature, 1e-12),
            flow_steps=2000,
            max_move=float(finite.min()) if finite.size else 1.0,
        )

    def kernel_args(self) -> tuple:
        radius2 = np.where(np.isfinite(self.capture_radius), self.capture_radius**2, np.inf)
        return (
            self.minima,
            radius2,
            self.splits,
            self.splits.size > 0,
            self.flow_dt,
            self.flow_steps,
            self.max_move,
        )


@dataclass
class Accumulators:
    """Per-block sums the kernel fills: shapes (blocks, records, ...)."""

    basin: np.ndarray
    mean: np.ndarray
    loss: np.ndarray
    alive: np.ndarray
    histogram: np.ndarray

    @classmethod
    def empty(cls, blocks: int, records: int, minima: int, dim: int, bins: int) -> Accumulators:
        return cls(
            basin=np.zeros((blocks, records, minima), dtype=np.int64),
            mean=np.zeros((blocks, records, dim)),
            loss=np.zeros((blocks, records)),
            alive=np.zeros((blocks, records), dtype=np.int64),
            histogram=np.zeros((blocks, dim, bins), dtype=np.int64),
        )

    @staticmethod
    def nbytes(blocks: int, records: int, minima: int, dim: int, bins: int) -> int:
        return 8 * (blocks * records * (minima + dim + 2) + blocks * dim * bins)

    def kernel_args(self) -> tuple:
        return (self.basin, self.mean, self.loss, self.alive, self.histogram)

    def reduce(self) -> dict[str, np.ndarray]:
        """Sum over blocks (fixed order) and normalise by the live count per record."""
        alive = self.alive.sum(axis=0)
        safe = np.where(alive > 0, alive, np.nan)[:, None]  # no live particle: NaN, not 0
        with np.errstate(invalid="ignore"):
            return {
                "alive": alive,
                "occupancy": self.basin.sum(axis=0) / safe,
                "mean": self.mean.sum(axis=0) / safe,
                "mean_loss": self.loss.sum(axis=0) / safe[:, 0],
                "histogram": self.histogram.sum(axis=0),
            }


@dataclass(frozen=True)
class EscapeStats:
    """First-passage times (SDE time) of the particles that escaped; ``censored`` never did.

    mean ± stderr with stderr = sd/sqrt(count) (independent particles). With censored
    particles the mean is biased low: run longer until ``censored`` is 0.
    """

    mean: float
    stderr: float
    count: int
    censored: int

    @classmethod
    def from_steps(cls, escaped_at: np.ndarray, alive: np.ndarray, dt: float) -> EscapeStats:
        times = escaped_at[(escaped_at >= 0)] * dt
        count = int(times.size)
        censored = int(np.sum((escaped_at < 0) & alive))
        if count == 0:
            return cls(float("nan"), float("nan"), 0, censored)
        sd = float(times.std(ddof=1)) if count > 1 else float("nan")
        return cls(float(times.mean()), sd / np.sqrt(count), count, censored)
