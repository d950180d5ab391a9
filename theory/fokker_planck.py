"""Transient densities of the SGD SDE: the Fokker–Planck equation on a grid (d ≤ 2).

SDE dθ = −∇L dt + sqrt(2T) dW (time t = kη, T = ησ²/(2S); docs/theory.md, "The SDE of
SGD"), density p(θ, t):

    ∂p/∂t = ∇·(∇L p) + T Δp = ∇·(T e^{−U} ∇(e^{U} p)),   U = L/T.

Space: finite volumes on N cells per axis (uniform, cell-centred) over the Gibbs box
(:func:`~threefactors.theory.gibbs.gibbs_box`: e^{−(L − L_min)/T} < e^{−50} outside), no flux
through the box's faces. Across the face between neighbouring cells i and j = i + e_a
(spacing h along axis a) the Scharfetter–Gummel flux (Scharfetter & Gummel, IEEE Trans.
Electron Devices 16, 64 (1969); the exponential fitting of Chang & Cooper, J. Comput. Phys.
6, 1 (1970)) is

    F_ij = (T/h) [B(U_j − U_i) p_i − B(U_i − U_j) p_j],   B(z) = z/(e^z − 1),

so dp/dt = Q p with a sparse generator Q. Properties (each tested):

- mass: a flux leaves one cell and enters its neighbour, so every column of Q sums to 0 and
  Σ_i p_i h^d is conserved;
- positivity: the off-diagonal entries T B(·)/h² are ≥ 0 (Q is a rate matrix), so
  e^{tQ} and (I − Δt Q)^{-1} map densities ≥ 0 to densities ≥ 0;
- stationary state: B(z) = e^{−z} B(−z) makes every F_ij vanish for p_i ∝ e^{−U_i}: the
  normalised discrete Gibbs density is the exact null vector;
- detailed balance: Q_ji e^{−U_i} = Q_ij e^{−U_j}, so S = e^{U/2} Q e^{−U/2} is symmetric
  and ≤ 0. The relaxation rates (the eigenvalues 0 = λ_0 < λ_1 ≤ … of −Q) are real: the
  smallest by ``scipy.sparse.linalg.eigsh`` on −S with shift-invert;
- order: second order in h for smooth L while the cell Péclet number h|∇L|/T is ≲ 1 (the
  rates and smooth averages converge as h², tested); at larger Péclet numbers the
  exponential fitting degrades towards first-order upwinding (stable, still positive).

Time: p(t) = π + e^{tQ}(p₀ − π), π the discrete Gibbs density of p₀'s mass. ``krylov``
(default) evaluates e^{tQ} in a shift-and-invert Krylov space (van den Eshof & Hochbruck,
SIAM J. Sci. Comput. 27, 1438 (2006)): each iteration is one implicit solve with (I − γQ),
γ tied to the output times, and the answer has no time-step error (converged to ``rtol``,
checked by comparing iterates; the part along π is never touched, so mass is conserved to
round-off). ``implicit-euler`` takes ``steps`` backward-Euler steps per output interval on
p itself (first order in Δt; positive and mass conserving step by step): the independent
route the tests compare with.

Basins: 1-D cells split at the maxima between minima; 2-D cells by gradient flow
(:func:`~threefactors.theory.critical.flow_to_minima`). Occupancy of basin A = Σ_{i∈A} p_i h^d.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sparse
from scipy.linalg import expm
from scipy.sparse.linalg import eigsh, splu
from threadpoolctl import threadpool_limits

from threefactors.errors import InputError, check_positive, require
from threefactors.resources import check_memory
from threefactors.theory.critical import CriticalPoints, critical_points, flow_to_minima
from threefactors.theory.gibbs import gibbs_box
from threefactors.theory.landscape import Landscape

#: Cells per narrowest Gibbs width sqrt(T/λ_max): fewer do not resolve the sharpest minimum.
CELLS_PER_WIDTH = 2.0
#: Default cells per axis (more when the sharpest minimum needs it).
DEFAULT_GRID = {1: 2000, 2: 200}
METHODS = ("krylov", "implicit-euler")
#: Largest Krylov space per group of output times.
_KRYLOV_MAX = 200
#: Largest t·max|Q_ii| evolve accepts: I − γQ stays far from overflow (it fails near 1e308).
MAX_TIME_RATE = 1e250


def bernoulli(z: np.ndarray) -> np.ndarray:
    """B(z) = z/(e^z − 1), with B(0) = 1 and no overflow for large |z|."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    small = np.abs(z) < 1e-8
    up = (z > 0) & ~small
    down = (z <= 0) & ~small
    out[up] = z[up] * np.exp(-z[up]) / -np.expm1(-z[up])
    out[down] = z[down] / np.expm1(z[down])
    out[small] = 1.0 - z[small] / 2
    return out


@dataclass(frozen=True)
class Grid:
    """Cell-centred uniform grid: ``box`` (low, high) per axis, ``cells`` per axis."""

    box: tuple[tuple[float, float], ...]
    cells: tuple[int, ...]

    @property
    def spacing(self) -> np.ndarray:
        return np.array([(hi - lo) / n for (lo, hi), n in zip(self.box, self.cells, strict=True)])

    @property
    def axes(self) -> list[np.ndarray]:
        return [
            lo + (np.arange(n) + 0.5) * h
            for (lo, _), n, h in zip(self.box, self.cells, self.spacing, strict=True)
        ]

    @property
    def volume(self) -> float:
        """h^d, the volume of one cell."""
        return float(np.prod(self.spacing))

    @property
    def centres(self) -> np.ndarray:
        """Cell centres, shape (cells, d), in C order (last axis fastest)."""
        mesh = np.meshgrid(*self.axes, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=-1)


def faces(grid: Grid) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """Every pair of neighbouring cells: per axis (h, first, second), flat C-order indices
    with second = first + e_axis."""
    shape = grid.cells
    index = np.arange(int(np.prod(shape))).reshape(shape)
    return [
        (
            float(h),
            np.take(index, np.arange(shape[axis] - 1), axis=axis).ravel(),
            np.take(index, np.arange(1, shape[axis]), axis=axis).ravel(),
        )
        for axis, h in enumerate(grid.spacing)
    ]


def generator(potential: np.ndarray, temperature: float, grid: Grid) -> sparse.csr_matrix:
    """The Scharfetter–Gummel generator Q (dp/dt = Qp) for U = ``potential`` (= L/T) on the
    cell centres of ``grid`` (flat, C order); zero flux through the box."""
    rows, cols, vals = [], [], []
    for h, first, second in faces(grid):
        jump = potential[second] - potential[first]
        forward = temperature / h**2 * bernoulli(jump)  # rate first → second
        backward = temperature / h**2 * bernoulli(-jump)  # rate second → first
        rows += [second, first, first, second]
        cols += [first, second, first, second]
        vals += [forward, backward, -forward, -backward]
    n = potential.size
    return sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    )


@dataclass
class Evolution:
    """p(θ, t) at ``times`` (rows of ``densities``, cell values), their basin occupancies
    (``occupancy[t, A]``), the largest |1 − Σ p h^d| and the smallest cell value.
    ``time_error``: bound on the time-integration error of the occupancies (Krylov: L1
    change of p over the last iterations; implicit Euler: |p(Δt) − p(2Δt)| of the
    occupancies, Richardson's estimate)."""

    times: np.ndarray
    densities: np.ndarray
    occupancy: np.ndarray
    mass_error: float
    min_density: float
    time_error: float
    method: str


@dataclass
class FokkerPlanck:
    """The discretised Fokker–Planck equation of a landscape at temperature T (d ≤ 2).

    Build with :func:`fokker_planck`. ``labels[i]``: the basin (index into
    ``critical.minima``) of cell i, −1 for cells gradient flow carries out of every basin.
    """

    landscape: Landscape
    temperature: float
    grid: Grid
    critical: CriticalPoints
    potential: np.ndarray
    labels: np.ndarray
    generator: sparse.csr_matrix = field(repr=False)

    # ------------------------------------------------------------------ densities
    @cached_property
    def stationary(self) -> np.ndarray:
        """The normalised discrete Gibbs density e^{−U_i}/(Σ_j e^{−U_j} h^d)."""
        weight = np.exp(-(self.potential - self.potential.min()))
        return weight / (weight.sum() * self.grid.volume)

    def point_mass(self, point: Sequence[float]) -> np.ndarray:
        """A point mass at ``point``, shared linearly between the 2^d nearest cell centres
        (cloud in cell), so its mean is exactly ``point``; InputError outside the box."""
        x = np.atleast_1d(np.asarray(point, dtype=float))
        shown = [float(v) for v in x]
        d = self.landscape.dim
        require(x.shape == (d,), "start", shown, f"need {d} coordinates")
        inside = all(lo <= v <= hi for v, (lo, hi) in zip(x, self.grid.box, strict=True))
        box = [[float(round(lo, 6)), float(round(hi, 6))] for lo, hi in self.grid.box]
        require(inside, "start", shown, f"outside the box {box}")
        cells = np.array(self.grid.cells)
        lo = np.array([b[0] for b in self.grid.box])
        where = np.clip((x - lo) / self.grid.spacing - 0.5, 0.0, cells - 1.0)
        left = np.minimum(np.floor(where).astype(int), cells - 2)
        frac = where - left
        p = np.zeros(self.potential.size)
        for corner in np.ndindex(*(2,) * d):
            offset = np.array(corner)
            weight = float(np.prod(np.where(offset == 1, frac, 1.0 - frac)))
            flat = np.ravel_multi_index(tuple(left + offset), self.grid.cells)
            p[flat] += weight / self.grid.volume
        return p

    def gaussian(self, mean: Sequence[float], std: float) -> np.ndarray:
        """An isotropic Gaussian N(mean, std² I) restricted to the box, normalised."""
        check_positive("std", std)
        r2 = np.sum((self.grid.centres - np.asarray(mean, dtype=float)) ** 2, axis=1)
        p = np.exp(-0.5 * r2 / std**2)
        require(p.sum() > 0, "mean", list(mean), "the Gaussian misses the box")
        return p / (p.sum() * self.grid.volume)

    def uniform(self) -> np.ndarray:
        """The uniform density over the box."""
        return np.full(self.potential.size, 1.0 / (self.potential.size * self.grid.volume))

    def occupancy(self, density: np.ndarray) -> np.ndarray:
        """Σ_{i∈A} p_i h^d per basin A; ``density`` shape (cells,) or (times, cells)."""
        p = np.atleast_2d(density) * self.grid.volume
        out = np.stack([p[:, self.labels == k].sum(axis=1) for k in range(self.minima)], -1)
        return out if np.ndim(density) == 2 else out[0]

    @property
    def minima(self) -> int:
        return len(self.critical.minima)

    # ------------------------------------------------------------------ spectrum
    @cached_property
    def symmetric(self) -> sparse.csr_matrix:
        """S = e^{U/2} Q e^{−U/2}, symmetric negative semi-definite (detailed balance).

        Built from the potential jumps, never from e^{±U/2} (no overflow): across a face with
        jump z = U_j − U_i, S_ij = S_ji = (T/h²) (z/2)/sinh(z/2) = (T/h²) B(z) e^{z/2}.
        """
        rows, cols, vals = [], [], []
        for h, first, second in faces(self.grid):
            half = 0.5 * (self.potential[second] - self.potential[first])
            with np.errstate(over="ignore", invalid="ignore"):
                coupling = (
                    self.temperature
                    / h**2
                    * np.where(np.abs(half) < 1e-8, 1.0 - half**2 / 6, half / np.sinh(half))
                )
            rows += [first, second]
            cols += [second, first]
            vals += [coupling, coupling]
        n = self.potential.size
        off = sparse.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
        )
        return (off + sparse.diags(self.generator.diagonal())).tocsr()

    def relaxation_rates(self, count: int) -> np.ndarray:
        """The ``count`` smallest nonzero eigenvalues λ_1 ≤ λ_2 ≤ … of −Q (rates e^{−λt}).

        Shift-invert Lanczos (``eigsh``, sigma just below 0) on −S; the zero eigenvalue of the
        stationary state is dropped. Rates below ~1e-13·‖Q‖ are round-off, not resolved.
        The start vector is fixed (uniform), not ARPACK's random one, and BLAS runs on one
        thread: the same input gives the same bits on every run.
        """
        require(int(count) == count and count >= 1, "count", count, "need an integer ≥ 1")
        n = self.potential.size
        k = min(int(count) + 1, n - 2)
        scale = float(abs(self.symmetric.diagonal()).max())
        start = np.full(n, 1 / np.sqrt(n))
        with threadpool_limits(limits=1, user_api="blas"):  # see _krylov
            values = eigsh(-self.symmetric, k=k, sigma=-1e-10 * scale, which="LM", v0=start,
                           return_eigenvectors=False)  # fmt: skip
        values = np.sort(values)
        return values[1 : int(count) + 1]

    # ------------------------------------------------------------------ time
    def evolve(
        self,
        initial: np.ndarray,
        times: Sequence[float],
        method: str = "krylov",
        steps: int = 200,
        rtol: float = 1e-8,
    ) -> Evolution:
        """p(t) for each of ``times`` (sorted, ≥ 0) from the density ``initial`` (cell values,
        normalised here to Σ p h^d = 1).

        ``method``: ``krylov`` (no time-step error) or ``implicit-euler`` (``steps`` per
        interval between consecutive times); see the module docstring.
        """
        require(method in METHODS, "method", method, f"one of {', '.join(METHODS)}")
        times = check_times(times)
        reach = float(times[-1]) * float(abs(self.generator.diagonal()).max())  # t·‖Q‖
        require(
            reach <= MAX_TIME_RATE,
            "times",
            float(times[-1]),
            f"too long for the solver (t·max|Q_ii| = {reach:.3g} > {MAX_TIME_RATE:g}; "
            "the stationary law is reached long before)",
        )
        p0 = np.asarray(initial, dtype=float).ravel()
        require(
            p0.size == self.potential.size,
            "initial",
            p0.size,
            f"need {self.potential.size} cell values",
        )
        require(
            bool(np.all(p0 >= 0)) and p0.sum() > 0, "initial", "density", "must be ≥ 0, not all 0"
        )
        p0 = p0 / (p0.sum() * self.grid.volume)
        base = self.stationary
        if method == "krylov":
            deviation, error = self._krylov(p0 - base, times, rtol)
            densities = base + deviation
        else:
            densities, error = self._implicit_euler(p0, times, int(steps))
        masses = densities.sum(axis=1) * self.grid.volume
        occupancy = self.occupancy(densities)
        return Evolution(
            times=times,
            densities=densities,
            occupancy=occupancy,
            mass_error=float(np.max(np.abs(1.0 - masses))),
            min_density=float(densities.min()),
            time_error=error,
            method=method,
        )

    def _krylov(
        self, deviation: np.ndarray, times: np.ndarray, rtol: float
    ) -> tuple[np.ndarray, float]:
        """e^{tQ} applied to a zero-mass ``deviation`` by shift-and-invert Arnoldi.

        One Krylov space per group of output times spanning at most a factor 100, built from
        (I − γQ)^{-1}, γ = (smallest time of the group)/2; e^{tQ} ≈ V e^{t VᵀQV} Vᵀ. Iterated
        until the density moves by less than ``rtol`` in L1 (Σ|Δp| h^d, which bounds the
        change of every occupancy) between checks (every 4 iterations, at most 200), that
        change reported as the error bound. (I − γQ)^{-1} keeps zero mass;
        the round-off of each solve is put back along π, so mass is conserved to round-off.
        """
        out = np.zeros((len(times), deviation.size))
        out[times == 0] = deviation
        error = 0.0
        positive = times[times > 0]
        start = 0
        while start < positive.size:
            group = positive[(positive >= positive[start]) & (positive <= 100 * positive[start])]
            # small dense products only: BLAS threads cost more than they give (100× on a
            # loaded machine)
            with threadpool_limits(limits=1, user_api="blas"):
                values, change = self._krylov_group(deviation, group, float(group[0]) / 2, rtol)
            out[np.searchsorted(times, group)] = values
            error = max(error, change)
            start += group.size
        return out, error

    def _krylov_group(
        self, deviation: np.ndarray, times: np.ndarray, gamma: float, rtol: float
    ) -> tuple[np.ndarray, float]:
        norm = float(np.linalg.norm(deviation))
        if norm == 0.0:
            return np.zeros((len(times), deviation.size)), 0.0
        shifted = sparse.identity(deviation.size, format="csc") - gamma * self.generator
        solve = splu(shifted.tocsc()).solve
        basis = np.zeros((_KRYLOV_MAX + 1, deviation.size))
        images = np.zeros_like(basis)  # Q v_j
        ritz = np.zeros((_KRYLOV_MAX + 1, _KRYLOV_MAX + 1))  # VᵀQV, grown a row and column
        basis[0] = deviation / norm
        images[0] = self.generator @ basis[0]
        ritz[0, 0] = basis[0] @ images[0]
        size, previous = 1, None
        change, values = np.inf, np.zeros((len(times), deviation.size))
        for m in range(1, _KRYLOV_MAX + 1):
            w = solve(basis[size - 1])
            for _ in range(2):  # full re-orthogonalisation, twice; and back to zero mass
                w -= basis[:size].T @ (basis[:size] @ w)
                w -= (w.sum() * self.grid.volume) * self.stationary
            beta = float(np.linalg.norm(w))
            exhausted = beta <= 1e-13
            if not exhausted:
                basis[size] = w / beta
                images[size] = self.generator @ basis[size]
                ritz[: size + 1, size] = basis[: size + 1] @ images[size]
                ritz[size, :size] = images[:size] @ basis[size]
                size += 1
            if m % 4 and not exhausted and m < _KRYLOV_MAX:
                continue
            projected = ritz[:size, :size]
            coeff = np.stack([expm(t * projected)[:, 0] * norm for t in times])
            values = np.stack([c @ basis[:size] for c in coeff])  # gemv: no gemm threads
            if previous is not None:  # L1 change: bounds the change of every occupancy
                change = float(np.abs(values - previous).sum(axis=1).max() * self.grid.volume)
                if change < rtol or exhausted:
                    break
            previous = values
        return values, change

    def _implicit_euler(
        self, initial: np.ndarray, times: np.ndarray, steps: int
    ) -> tuple[np.ndarray, float]:
        """Backward Euler on p itself (each step maps p ≥ 0 to p ≥ 0), ``steps`` per
        interval; error bound |p(Δt) − p(2Δt)| (Richardson's estimate)."""
        require(steps >= 2 and steps % 2 == 0, "steps", steps, "need an even integer ≥ 2")
        fine = self._euler_run(initial, times, steps)
        coarse = self._euler_run(initial, times, steps // 2)
        error = float(np.max(np.abs(self.occupancy(fine) - self.occupancy(coarse))))
        return fine, error

    def _euler_run(self, initial: np.ndarray, times: np.ndarray, steps: int) -> np.ndarray:
        identity = sparse.identity(initial.size, format="csc")
        out = np.zeros((len(times), initial.size))
        p, now = initial.copy(), 0.0
        for k, t in enumerate(times):
            if t > now:
                dt = (t - now) / steps
                solve = splu((identity - dt * self.generator).tocsc()).solve
                for _ in range(steps):
                    p = solve(p)
                now = float(t)
            out[k] = p
        return out


def check_times(times: Sequence[float]) -> np.ndarray:
    """Output times: finite, ≥ 0, strictly increasing (InputError naming ``times``)."""
    values = np.atleast_1d(np.asarray(times, dtype=float))
    shown = [float(t) for t in values]
    require(values.size >= 1, "times", shown, "need at least one time")
    require(bool(np.all(np.isfinite(values))), "times", shown, "must be finite")
    require(bool(np.all(values >= 0)), "times", shown, "must be ≥ 0")
    require(bool(np.all(np.diff(values) > 0)), "times", shown, "must be strictly increasing")
    return values


def smallest_grid(landscape: Landscape, temperature: float, critical: CriticalPoints,
                  box: Sequence[tuple[float, float]]) -> int:  # fmt: skip
    """Cells per axis needed for ``CELLS_PER_WIDTH`` cells per narrowest Gibbs width
    sqrt(T/λ_max), λ_max the largest Hessian eigenvalue over the minima."""
    sharpest = max(float(np.max(m.hessian_eigenvalues)) for m in critical.minima)
    width = np.sqrt(temperature / max(sharpest, 1e-300))
    return int(max(np.ceil(CELLS_PER_WIDTH * (hi - lo) / width) for lo, hi in box))


def bytes_per_cell(dim: int, cells: int) -> float:
    """Memory a model of ``cells`` cells needs per cell, at its peak: the Krylov basis and
    its images (2 × 201 doubles), the sparse LU factors of I − γQ (12 bytes per nonzero:
    4 per cell in 1-D; in 2-D about 7·log2(cells), measured 87 at 200² and 110 at 400² with
    SuperLU's default ordering) and the model's own arrays (centres, potential, labels,
    stationary density, Q and its symmetrised form: ~400 bytes)."""
    lu_nonzeros = 4.0 if dim == 1 else 7.0 * math.log2(max(cells, 2))
    return 2 * (_KRYLOV_MAX + 1) * 8 + 12 * lu_nonzeros + 400


def fokker_planck(
    landscape: Landscape,
    temperature: float,
    grid: int | None = None,
    critical: CriticalPoints | None = None,
    box: Sequence[tuple[float, float]] | None = None,
) -> FokkerPlanck:
    """Discretise the Fokker–Planck equation of ``landscape`` at ``temperature`` (d ≤ 2).

    ``grid``: cells per axis (default 2000 in 1-D, 200 in 2-D, or more when the sharpest
    minimum needs it); an explicit grid coarser than :func:`smallest_grid` is an InputError
    that names the smallest that would do. ``box``: the region (one (low, high) per axis;
    default the Gibbs box, outside which e^{−(L − L_min)/T} < e^{−50}).
    """
    check_positive("temperature", temperature)
    d = landscape.dim
    require(d <= 2, "loss", str(landscape.loss), f"Fokker–Planck on a grid needs d ≤ 2 (d = {d})")
    critical = critical or critical_points(landscape)
    if box is None:
        box = gibbs_box(landscape, temperature, critical)
    box = tuple((float(lo), float(hi)) for lo, hi in box)
    require(len(box) == d and all(lo < hi for lo, hi in box), "box", box, f"need {d} intervals")
    needed = smallest_grid(landscape, temperature, critical, box)
    if grid is None:
        grid = max(DEFAULT_GRID[d], needed)
    require(int(grid) == grid, "grid", grid, "need an integer number of cells")
    require(
        grid >= needed,
        "grid",
        grid,
        f"too coarse for the narrowest minimum (width sqrt(T/λ_max)); need grid ≥ {needed}",
    )
    if grid**d > 4_000_000:
        raise InputError("grid", grid, f"{grid}^{d} cells is more than the 4e6 this solves")
    check_memory(grid**d * bytes_per_cell(d, grid**d), "grid", grid)
    mesh = Grid(tuple(box), (int(grid),) * d)
    centres = mesh.centres
    potential = landscape.loss_at(centres) / temperature
    labels = _basin_labels(landscape, critical, centres)
    return FokkerPlanck(
        landscape, float(temperature), mesh, critical, potential, labels,
        generator(potential, temperature, mesh),
    )  # fmt: skip


def _basin_labels(
    landscape: Landscape, critical: CriticalPoints, centres: np.ndarray
) -> np.ndarray:
    """Basin of each cell centre: 1-D between the maxima, 2-D by gradient flow."""
    if len(critical.minima) == 1:
        return np.zeros(len(centres), dtype=int)
    if landscape.dim == 1:
        tops = np.sort([s.x[0] for s in critical.saddles])
        return np.searchsorted(tops, centres[:, 0])
    return flow_to_minima(landscape, centres, critical)
