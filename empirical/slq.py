"""The Hessian's spectral density by stochastic Lanczos quadrature (SLQ).

The spectral density of a symmetric d × d matrix H with eigenpairs (λ_i, u_i) is
φ(t) = (1/d) Σ_i δ(t − λ_i). For a random unit vector v with E[v vᵀ] = I/d, the measure
φ_v = Σ_i (vᵀu_i)² δ(t − λ_i) has E[φ_v] = φ. Lanczos run m steps from q_1 = v gives
T_m = S diag(θ) Sᵀ, and the Gauss quadrature rule of φ_v has the Ritz values θ_k as nodes
and w_k = S_1k² as weights (Golub & Meurant, *Matrices, Moments and Quadrature*, 2010, ch. 6):

    ∫ f dφ_v ≈ Σ_k w_k f(θ_k),   exact for polynomials f of degree ≤ 2m − 1.

Averaging n_v probes and smoothing each node by a Gaussian g_σ of width σ gives the estimate
(Lin, Saad & Yang, SIAM Review 58, 34, 2016, §3.2; for network Hessians Ghorbani, Krishnan &
Xiao, ICML 2019, arXiv 1901.10159)

    φ̂(t) = (1/n_v) Σ_j Σ_k w_jk g_σ(t − θ_jk),   g_σ(x) = exp(−x²/2σ²) / (σ sqrt(2π)).

Default width (Papyan, JMLR 21, 2020, App. D.2, κ = 3): σ = (b − a)/((m − 1) sqrt(8 ln 3)),
[a, b] the span of the nodes, so neighbouring nodes' Gaussians overlap at height 1/κ.

Error estimates, all from the probes themselves:
- density: se φ̂(t) = sd_j φ̂_j(t)/sqrt(n_v);
- moments: (1/d) Tr H^p is estimated per probe by Σ_k w_k θ_k^p = vᵀ H^p v (exact for
  p ≤ 2m − 1), mean and standard error over probes (:meth:`SpectralDensity.moment`);
- Wasserstein-1 distance between the quadrature measure μ̂ = (1/n_v) Σ_jk w_jk δ(θ_jk) and φ,
  W₁ = ∫ |F̂(t) − F(t)| dt for the CDFs F̂, F; W₁ is jointly convex, so a quadrature part and
  a sampling part add. Quadrature: by the Chebyshev–Markov–Stieltjes inequalities the Gauss
  rule's CDF F_q brackets F_v at every node, F_q(θ_k⁻) ≤ F_v(θ_k) ≤ F_q(θ_k) (Golub &
  Meurant 2010, ch. 6; Chen, Trogdon & Ubaru, ICML 2021), so |F_q − F_v| ≤ max(w_k, w_k+1)
  between neighbouring nodes and W₁(μ̂_j, φ_vj) ≤ Σ_k (θ_k+1 − θ_k) max(w_k, w_k+1) (the
  stretches beyond the extreme nodes, where the extreme Ritz values converge first, are
  neglected). Sampling: W₁(φ̄_v, φ) = ∫ |F̄_v(t) − F(t)| dt has expectation at most
  ∫ se_F(t) dt, se_F the standard error over probes of the quadrature CDFs.
  :meth:`SpectralDensity.wasserstein_bound` returns the mean quadrature bound + z ∫ se_F dt.

Probes are seeded Gaussian vectors normalised to unit length (uniform on the sphere), drawn
on the CPU, so the same seed gives the same density on any device and thread count.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from threefactors.empirical.lanczos import tridiagonal
from threefactors.empirical.linear_operator import LinearOperator
from threefactors.empirical.trace import mean_and_stderr
from threefactors.errors import check_positive, require

KAPPA = 3.0  # Papyan's overlap of neighbouring nodes' Gaussians (module docstring)


@dataclass(frozen=True)
class SpectralDensity:
    """An SLQ estimate of the spectral density (module docstring).

    ``grid`` (n,) and ``density`` (n,) with its standard error ``density_stderr`` over
    probes; ``nodes`` and ``weights`` (probes, m): each probe's Gauss quadrature rule (weights
    sum to 1 per probe); ``width`` σ of the Gaussian smoothing; ``dim`` d; ``n_matvecs``
    products used (probes × m).
    """

    grid: Tensor
    density: Tensor
    density_stderr: Tensor
    nodes: Tensor
    weights: Tensor
    width: float
    dim: int
    n_matvecs: int

    @property
    def probes(self) -> int:
        return int(self.nodes.shape[0])

    @property
    def steps(self) -> int:
        return int(self.nodes.shape[1])

    def moment(self, power: int) -> tuple[float, float]:
        """(1/d) Tr H^p estimated as the mean over probes of vᵀ H^p v, and its standard error."""
        require(int(power) == power and power >= 0, "power", power, "need an integer ≥ 0")
        exact = 2 * self.steps - 1
        require(power <= exact, "power", power, f"the rule is exact up to 2m − 1 = {exact}")
        per_probe = (self.weights * self.nodes**power).sum(dim=1)
        return mean_and_stderr(per_probe)

    def wasserstein_bound(self, z: float = 4.0) -> float:
        """Quadrature bound (mean over probes) + z ∫ se_F(t) dt (module docstring)."""
        quadrature = 0.0
        for nodes, weights in zip(self.nodes, self.weights, strict=True):
            keep = weights > 0  # nodes of a block after a restart carry no weight
            nodes, weights = nodes[keep], weights[keep]
            quadrature += float((nodes.diff() * torch.maximum(weights[1:], weights[:-1])).sum())
        points = self.nodes.reshape(-1).sort().values
        # F_j at each sorted node: the weight of probe j's nodes at or below it
        below = (self.nodes[:, None, :] <= points[None, :, None]).to(torch.float64)
        cdfs = (below * self.weights[:, None, :]).sum(dim=2)
        spread = cdfs.std(dim=0, correction=1) / math.sqrt(self.probes)
        sampling = float((spread[:-1] * points.diff()).sum())
        return quadrature / self.probes + z * sampling

    def record(self) -> dict[str, Any]:
        """JSON-able fields (lists of floats)."""
        return {
            "grid": self.grid.tolist(),
            "density": self.density.tolist(),
            "density_stderr": self.density_stderr.tolist(),
            "nodes": self.nodes.tolist(),
            "weights": self.weights.tolist(),
            "width": self.width,
            "dim": self.dim,
            "n_matvecs": self.n_matvecs,
        }


def gauss_quadrature(alphas: Tensor, betas: Tensor) -> tuple[Tensor, Tensor]:
    """Nodes θ_k (eigenvalues of T) and weights S_1k² of the Lanczos tridiagonal T."""
    tri = torch.diag(alphas) + torch.diag(betas, 1) + torch.diag(betas, -1)
    values, vectors = torch.linalg.eigh(tri)
    return values, vectors[0] ** 2


def smoothed(nodes: Tensor, weights: Tensor, grid: Tensor, width: float) -> Tensor:
    """Per probe, Σ_k w_k g_σ(t − θ_k) on ``grid``: a (probes, n) block."""
    gap = (grid[None, :, None] - nodes[:, None, :]) / width
    kernel = torch.exp(-0.5 * gap**2) / (width * math.sqrt(2 * math.pi))
    return (kernel * weights[:, None, :]).sum(dim=2)


def _grid(grid: int | Sequence[float] | Tensor, low: float, high: float) -> Tensor:
    if isinstance(grid, int):
        require(grid >= 2, "grid", grid, "need at least 2 points")
        return torch.linspace(low, high, grid, dtype=torch.float64)
    points = torch.as_tensor(grid, dtype=torch.float64).reshape(-1)
    require(points.numel() >= 2, "grid", points.numel(), "need at least 2 points")
    require(bool(torch.isfinite(points).all()), "grid", "…", "points must be finite")
    return points


def spectral_density(
    operator: LinearOperator,
    probes: int = 10,
    steps: int = 80,
    grid: int | Sequence[float] | Tensor = 1000,
    width: float | None = None,
    seed: int = 0,
) -> SpectralDensity:
    """The spectral density of ``operator`` by SLQ with ``probes`` × ``steps`` products.

    ``grid``: a number of points spanning the nodes ± 4σ, or the points themselves;
    ``width``: σ of the Gaussian smoothing (default: Papyan's rule, module docstring).
    ``steps`` is capped at the dimension (Lanczos is then exact).
    """
    require(int(probes) == probes and probes >= 1, "probes", probes, "need an integer ≥ 1")
    require(int(steps) == steps and steps >= 2, "steps", steps, "need an integer ≥ 2")
    if width is not None:
        check_positive("width", width)
    generator = torch.Generator().manual_seed(int(seed))
    seeds = torch.randint(0, 2**62, (int(probes),), generator=generator).tolist()
    start = operator.n_matvecs
    rules = [gauss_quadrature(*tridiagonal(operator, int(steps), s)) for s in seeds]
    nodes = torch.stack([r[0] for r in rules])
    weights = torch.stack([r[1] for r in rules])
    low, high = float(nodes.min()), float(nodes.max())
    m = nodes.shape[1]
    if width is None:
        span = high - low if high > low else max(abs(high), 1.0)
        width = span / ((m - 1) * math.sqrt(8 * math.log(KAPPA)))
    points = _grid(grid, low - 4 * width, high + 4 * width)
    per_probe = smoothed(nodes, weights, points, width)
    spread = (
        per_probe.std(dim=0, correction=1) / math.sqrt(probes)
        if probes > 1
        else torch.full_like(points, math.inf)
    )
    return SpectralDensity(
        grid=points,
        density=per_probe.mean(dim=0),
        density_stderr=spread,
        nodes=nodes,
        weights=weights,
        width=float(width),
        dim=operator.dim,
        n_matvecs=operator.n_matvecs - start,
    )
