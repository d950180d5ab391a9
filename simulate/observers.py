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

What to observe is one object, :class:`Observe` (records, histogram, escape, bound): it
validates the request, plans the kernel's observer arguments for a run
(:class:`ObservePlan`), estimates their memory, and the result carries only what it asked
for (no histogram, no escape times unless requested).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from threefactors.errors import check_positive, require
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


#: Divergence bound on |θ_i| unless the caller gives one.
DEFAULT_BOUND = 1e6


@dataclass(frozen=True)
class Histogram:
    """Marginal histograms of every coordinate over the landscape's box, ``bins`` bins,
    summed over the record steps ≥ ``start`` (default: half the run)."""

    bins: int
    start: int | None = None

    def __post_init__(self) -> None:
        require(int(self.bins) == self.bins and self.bins >= 1, "bins", self.bins, "need ≥ 1")
        if self.start is not None:
            require(
                int(self.start) == self.start and self.start >= 0,
                "histogram_from",
                self.start,
                "need an integer step ≥ 0",
            )


@dataclass(frozen=True)
class FirstPassage:
    """First-passage times from minimum ``minimum`` (index in ``critical_points`` order) to
    within ``radius`` of any other minimum (default: the smallest capture radius). The
    particles start at that minimum unless a start is given; an escaped particle stops."""

    minimum: int
    radius: float | None = None

    def __post_init__(self) -> None:
        require(
            int(self.minimum) == self.minimum and self.minimum >= 0,
            "escape_from",
            self.minimum,
            "need a minimum index ≥ 0",
        )
        if self.radius is not None:
            check_positive("escape_radius", self.radius)


@dataclass(frozen=True)
class Observe:
    """What a run measures: ``records`` evenly spaced record steps (occupancy, mean, mean
    loss, live count; ≥ 2, first and last step included), an optional :class:`Histogram`
    (or its number of bins), an optional :class:`FirstPassage` (or the index of the minimum), and
    the divergence ``bound`` on |θ_i|.

    >>> Observe(records=11, escape=0).escape
    FirstPassage(minimum=0, radius=None)
    """

    records: int = 101
    histogram: Histogram | int | None = None
    escape: FirstPassage | int | None = None
    bound: float = DEFAULT_BOUND

    def __post_init__(self) -> None:
        require(
            int(self.records) == self.records and self.records >= 2,
            "records",
            self.records,
            "need an integer ≥ 2",
        )
        check_positive("bound", self.bound)
        if isinstance(self.histogram, int | np.integer):
            bins = int(self.histogram)
            require(bins >= 0, "bins", bins, "need an integer ≥ 0")
            object.__setattr__(self, "histogram", Histogram(bins) if bins else None)
        if isinstance(self.escape, int | np.integer):
            object.__setattr__(self, "escape", FirstPassage(int(self.escape)))

    @classmethod
    def from_keywords(
        cls,
        records: int = 101,
        bins: int = 0,
        histogram_from: int | None = None,
        escape_from: int | None = None,
        escape_radius: float | None = None,
        bound: float = DEFAULT_BOUND,
    ) -> Observe:
        """The flat keyword shortcuts of :func:`.ensemble.langevin` / :func:`.sgd.sgd`."""
        require(int(bins) == bins and bins >= 0, "bins", bins, "need an integer ≥ 0")
        return cls(
            records=records,
            histogram=Histogram(int(bins), histogram_from) if bins else None,
            escape=None if escape_from is None else FirstPassage(escape_from, escape_radius),
            bound=bound,
        )

    def plan(self, basins: Basins, box: np.ndarray, steps: int) -> ObservePlan:
        """The kernel's observer arguments for a run of ``steps`` steps."""
        record = np.unique(
            np.linspace(0, steps, min(int(self.records), steps + 1)).round().astype(np.int64)
        )
        n_min = len(basins.minima)
        escape = (-1, 0.0)
        start = None
        if isinstance(self.escape, FirstPassage):
            index = self.escape.minimum
            require(
                index < n_min and n_min > 1,
                "escape_from",
                index,
                f"need a minimum index in 0..{n_min - 1} of a landscape with ≥ 2 minima",
            )
            radius = self.escape.radius
            radius = radius if radius is not None else float(basins.capture_radius.min())
            check_positive("escape_radius", radius)
            escape = (index, radius**2)
            start = basins.minima[index]
        bins, first = 0, steps // 2
        if isinstance(self.histogram, Histogram):
            bins = self.histogram.bins
            first = first if self.histogram.start is None else int(self.histogram.start)
        return ObservePlan(
            record=record,
            basins=basins,
            escape=escape,
            escape_start=start,
            bound=float(self.bound),
            bins=bins,
            hist_spec=(box[:, 0].copy(), box[:, 1].copy(), first),
        )


def observe_from(observe: Observe | None, keywords: dict[str, Any]) -> Observe:
    """``observe``, or the :class:`Observe` of the flat keyword shortcuts (never both)."""
    known = ("records", "bins", "histogram_from", "escape_from", "escape_radius", "bound")
    for name, value in keywords.items():
        require(name in known, name, value, f"unknown keyword; observations: {', '.join(known)}")
    if observe is None:
        return Observe.from_keywords(**keywords)
    require(
        not keywords,
        next(iter(keywords), "observe"),
        next(iter(keywords.values()), None),
        "give observe=Observe(...) or its keyword shortcuts, not both",
    )
    require(isinstance(observe, Observe), "observe", observe, "need an Observe")
    return observe


@dataclass(frozen=True)
class ObservePlan:
    """An :class:`Observe` request fixed for one run: the kernel's observer arguments."""

    record: np.ndarray
    basins: Basins
    escape: tuple[int, float]
    escape_start: np.ndarray | None
    bound: float
    bins: int
    hist_spec: tuple[np.ndarray, np.ndarray, int]

    @property
    def escapes(self) -> bool:
        return self.escape[0] >= 0

    def nbytes(self, particles: int, blocks: int, dim: int) -> int:
        """Memory of the observers: accumulators, plus a step per particle for escapes."""
        n_min = len(self.basins.minima)
        escape = 8 * particles if self.escapes else 0
        return escape + Accumulators.nbytes(blocks, len(self.record), n_min, dim, self.bins)

    def accumulators(self, blocks: int, dim: int) -> Accumulators:
        return Accumulators.empty(blocks, len(self.record), len(self.basins.minima), dim, self.bins)

    def escaped_at(self, particles: int) -> np.ndarray:
        """Step of escape per particle (−1: never); empty when escapes are not observed (the
        kernel never touches it then)."""
        return np.full(particles if self.escapes else 0, -1, dtype=np.int64)

    def kernel_args(self) -> dict[str, Any]:
        """The observer arguments of the kernel signature (:data:`.codegen.KERNEL_ARGS`)."""
        return {
            "record": self.record,
            "basins": self.basins.kernel_args(),
            "escape": self.escape,
            "bound": self.bound,
            "hist_spec": self.hist_spec,
        }

    def edges(self) -> np.ndarray | None:
        """Histogram bin edges per coordinate, shape (d, bins + 1); None without histogram."""
        if not self.bins:
            return None
        lo, hi, _ = self.hist_spec
        return np.stack([np.linspace(a, b, self.bins + 1) for a, b in zip(lo, hi, strict=True)])
