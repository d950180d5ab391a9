"""Stochastic Lanczos quadrature against exact spectra: a network's dense Hessian
(torch.func.hessian + eigvalsh) and a synthetic matrix with a known bulk and outliers.

Tolerances from the estimator: moments within 4 standard errors over probes; the
Wasserstein-1 distance between the quadrature measure and the exact spectrum within the
estimator's own bound (Chebyshev–Markov–Stieltjes quadrature part + 4 ∫ se_F dt); planted
faults (the spectrum shifted, the quadrature weights made uniform) exceed that bound.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from scipy.stats import wasserstein_distance

from threefactors.empirical.hessian import HessianOperator
from threefactors.empirical.linear_operator import MatrixOperator
from threefactors.empirical.slq import spectral_density
from threefactors.errors import InputError

pytestmark = pytest.mark.usefixtures("torch_one_thread")
OUTLIERS = (4.0, 6.0, 9.0)


def _synthetic(seed: int, dim: int = 400) -> tuple[torch.Tensor, torch.Tensor]:
    """(eigenvalues, matrix): a bulk u² − 0.05 (u uniform, dense near 0, a few negative, as
    network Hessians) plus three outliers, rotated by a random orthogonal matrix."""
    g = torch.Generator().manual_seed(seed)
    bulk = torch.rand(dim - len(OUTLIERS), generator=g, dtype=torch.float64) ** 2 - 0.05
    values = torch.cat([bulk, torch.tensor(OUTLIERS, dtype=torch.float64)])
    q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=g, dtype=torch.float64))
    return values, (q * values) @ q.T


def _w1(result, values: torch.Tensor, weights: torch.Tensor | None = None) -> float:
    w = result.weights if weights is None else weights
    return wasserstein_distance(
        result.nodes.reshape(-1).numpy(), values.numpy(), w.reshape(-1).numpy()
    )


def _check_against(result, values: torch.Tensor, powers=(1, 2, 3, 4)) -> None:
    for p in powers:
        estimate, stderr = result.moment(p)
        exact = float((values**p).mean())
        assert abs(estimate - exact) <= 4 * stderr, (p, estimate, exact, stderr)
    assert _w1(result, values) <= result.wasserstein_bound(z=4.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_slq_matches_a_known_spectrum_with_outliers(seed: int) -> None:
    values, matrix = _synthetic(seed)
    op = MatrixOperator(matrix)
    result = spectral_density(op, probes=20, steps=30, seed=seed)
    assert result.n_matvecs == op.n_matvecs == 20 * 30
    assert torch.allclose(result.weights.sum(dim=1), torch.ones(20, dtype=torch.float64))
    _check_against(result, values)
    # the top Ritz value of every probe has converged to the largest outlier (Lanczos)
    assert torch.allclose(result.nodes.max(dim=1).values, torch.tensor(9.0, dtype=torch.float64))
    # the outliers hold 3/d of the mass: mean weight above the bulk within 4 se
    above = (result.weights * (result.nodes > 2)).sum(dim=1)
    se = float(above.std()) / 20**0.5
    assert abs(float(above.mean()) - 3 / 400) <= 4 * se
    # a probability density on its grid, which ends 4σ past the extreme nodes (P(|Z| > 4) =
    # 6e-5 of an extreme node's mass left out)
    assert float(torch.trapezoid(result.density, result.grid)) == pytest.approx(1, abs=1e-4)
    assert bool((result.density_stderr >= 0).all())


def test_planted_faults_exceed_the_wasserstein_bound() -> None:
    values, matrix = _synthetic(0)
    result = spectral_density(MatrixOperator(matrix), probes=20, steps=30, seed=0)
    bound = result.wasserstein_bound(z=4.0)
    assert _w1(result, values + 0.25) > bound  # a spectrum shifted by a quarter of the bulk
    uniform = torch.full_like(result.weights, 1 / result.steps)  # Ritz values, equal weights
    assert _w1(result, values, uniform) > bound


def test_slq_matches_a_networks_dense_hessian(make_classifier) -> None:
    model, x, y = make_classifier()
    op = HessianOperator(model, F.cross_entropy, x, y)
    values = torch.linalg.eigvalsh(op.dense())
    result = spectral_density(op, probes=20, steps=30, grid=200, seed=1)
    assert result.dim == 341 and result.grid.shape == result.density.shape == (200,)
    _check_against(result, values)
    assert float(result.nodes.max()) == pytest.approx(float(values.max()), rel=1e-8)


def test_slq_is_seeded_and_takes_an_explicit_grid_and_width() -> None:
    _, matrix = _synthetic(3, dim=60)
    grid = torch.linspace(-1, 10, 50, dtype=torch.float64)
    a = spectral_density(MatrixOperator(matrix), probes=3, steps=10, grid=grid, width=0.2, seed=5)
    b = spectral_density(MatrixOperator(matrix), probes=3, steps=10, grid=grid, width=0.2, seed=5)
    c = spectral_density(MatrixOperator(matrix), probes=3, steps=10, grid=grid, width=0.2, seed=6)
    assert torch.equal(a.nodes, b.nodes) and torch.equal(a.density, b.density)
    assert not torch.equal(a.nodes, c.nodes)
    assert torch.equal(a.grid, grid) and a.width == 0.2
    record = a.record()
    assert len(record["nodes"]) == 3 and len(record["grid"]) == 50


def test_steps_beyond_the_dimension_give_the_exact_spectrum() -> None:
    values = torch.tensor([-1.0, 0.5, 2.0, 3.0], dtype=torch.float64)
    result = spectral_density(MatrixOperator(torch.diag(values)), probes=4, steps=10, seed=0)
    assert result.steps == 4
    for nodes in result.nodes:
        assert torch.allclose(nodes, values, atol=1e-10)
    with pytest.raises(InputError):
        result.moment(8)  # beyond 2m − 1 = 7 the rule is no longer exact


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"probes": 0}, "probes"),
        ({"steps": 1}, "steps"),
        ({"width": -1.0}, "width"),
        ({"grid": 1}, "grid"),
    ],
)
def test_bad_arguments_name_the_parameter(kwargs, name) -> None:
    op = MatrixOperator(torch.eye(5, dtype=torch.float64))
    with pytest.raises(InputError) as caught:
        spectral_density(op, **kwargs)
    assert caught.value.parameter == name
