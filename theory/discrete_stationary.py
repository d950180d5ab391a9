"""The stationary law of discrete SGD with Gaussian gradient noise on a 1-D landscape.

SGD with isotropic minibatch noise of variance σ²/S is the Markov chain
x' = x − η L'(x) − η ξ, ξ ~ N(0, σ²/S): a Gaussian transition of mean x − η L'(x) and
variance η²σ²/S = 2Tη (T = ησ²/(2S)), i.e. Euler–Maruyama with step η at temperature T.
Its stationary density p solves p(y) = ∫ K(x, y) p(x) dx. On a uniform grid (spacing a fifth
of the step's noise scale sqrt(2Tη)) the kernel is a banded stochastic matrix (±8 noise
scales), and p is its left eigenvector of eigenvalue 1, found by one sparse solve — exact up
to the grid, at any ηL'' < 2 (docs/theory.md, "Where the SDE breaks"). As η → 0 it tends to
the Gibbs law exp(−L/T); on a quadratic its variance is the finite-η law
ησ²/(Sh(2 − ηh)) (Liu, Ziyin, Ueda, arXiv 2012.03636). Between wells it is not Gibbs: the
discrete chain's occupancies move with η at fixed T (η/S), the finite-η correction the
width–depth claim compares with true SGD. To first order in η the density is
exp(−[L − η L'²/4 + ηT L''/2]/T) (the Euler–Maruyama invariant-measure expansion; Abdulle,
Vilmart & Zygalakis, SIAM J. Numer. Anal. 52, 2014): the sharp well widens (−ηL'²/4) but
its mass also falls (ηT L''/2), and the second wins — a per-well Gaussian mass with only
the finite-η variance gets the sign wrong.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from threefactors.errors import check_positive, require
from threefactors.theory.critical import CriticalPoints, critical_points
from threefactors.theory.gibbs import gibbs_box
from threefactors.theory.landscape import Landscape

#: Grid points per noise scale sqrt(2Tη) of one step, and the kernel's reach in those scales.
POINTS_PER_SCALE = 5
REACH = 8.0
#: The largest grid a solve accepts (a banded sparse system of this many unknowns).
MAX_POINTS = 200_000


def stationary_density(
    landscape: Landscape,
    eta: float,
    temperature: float,
    critical: CriticalPoints | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(grid x, probabilities p on it) of discrete SGD's stationary law (module docstring).

    The grid spans the Gibbs box at 2T (outside it exp(−L/(2T)) < e^{−50}). Raises
    InputError for a landscape that is not 1-D, a grid beyond :data:`MAX_POINTS`, or an η
    whose step leaves the box from inside it (the chain diverges: ηL'' > 2 on a wall).
    """
    from scipy import sparse
    from scipy.sparse.linalg import spsolve

    require(landscape.dim == 1, "landscape", landscape.name, "the discrete law is 1-D only")
    check_positive("eta", eta)
    check_positive("temperature", temperature)
    critical = critical or critical_points(landscape)
    ((low, high),) = gibbs_box(landscape, 2 * temperature, critical)
    scale = math.sqrt(2 * temperature * eta)
    points = math.ceil((high - low) / scale * POINTS_PER_SCALE) + 1
    require(points <= MAX_POINTS, "eta", eta, f"needs a grid of {points} points (too fine)")
    x = np.linspace(low, high, points)
    dx = x[1] - x[0]
    mean = x - eta * landscape.gradient_at(x[:, None])[:, 0]
    outside = np.flatnonzero((mean < low) | (mean > high))
    require(
        outside.size == 0,
        "eta",
        eta,
        f"one step from x = {x[outside[0]] if outside.size else 0:.3g} leaves the box "
        f"[{low:.3g}, {high:.3g}]: ηL'' > 2 on the walls, SGD diverges there",
    )
    reach = math.ceil(REACH * scale / dx)
    centre = np.clip(np.rint((mean - low) / dx).astype(np.int64), 0, points - 1)
    offsets = np.arange(-reach, reach + 1)
    cols = centre[:, None] + offsets[None, :]
    inside = (cols >= 0) & (cols < points)
    cols = np.clip(cols, 0, points - 1)
    weights = np.exp(-((x[cols] - mean[:, None]) ** 2) / (2 * scale**2)) * inside
    weights /= weights.sum(axis=1, keepdims=True)  # what would leave the grid stays at its edge
    rows = np.repeat(np.arange(points), offsets.size)
    kernel = sparse.csr_matrix(
        (weights.ravel(), (rows, cols.ravel())), shape=(points, points)
    )  # K[i, j] = P(x_i → x_j)
    system = (kernel.T - sparse.identity(points)).tolil()
    system[points - 1, :] = 1.0  # normalisation replaces one (redundant) balance equation
    rhs = np.zeros(points)
    rhs[-1] = 1.0
    p = spsolve(system.tocsc(), rhs)
    return x, np.clip(p, 0.0, None) / np.clip(p, 0.0, None).sum()


def stationary_masses(
    landscape: Landscape,
    eta: float,
    temperature: float,
    critical: CriticalPoints | None = None,
) -> np.ndarray:
    """The stationary probability of each minimum's basin (``critical_points`` order; the
    basins split at the maxima between them, as the simulator's observer splits them)."""
    critical = critical or critical_points(landscape)
    x, p = stationary_density(landscape, eta, temperature, critical)
    minima = np.array([m.x[0] for m in critical.minima])
    tops = np.sort([q.x[0] for q in (*critical.saddles, *critical.others)])
    splits = [
        next((t for t in tops if a < t < b), 0.5 * (a + b)) for a, b in itertools.pairwise(minima)
    ]
    basin = np.searchsorted(np.array(splits), x)
    return np.bincount(basin, weights=p, minlength=len(minima))
