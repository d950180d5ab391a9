"""Lanczos and power iteration against torch.linalg.eigvalsh of the dense Hessian."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from threefactors.empirical.hessian import HessianOperator
from threefactors.empirical.lanczos import lanczos, lanczos_vs_power, power_iteration
from threefactors.empirical.linear_operator import MatrixOperator
from threefactors.errors import InputError

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def hessian(make_classifier):
    """(operator, exact eigenvalues descending, exact eigenvectors) of a 341-parameter MLP.

    Only the first test runs Lanczos through the network's Hessian–vector products; the
    others use its dense matrix (the products are checked against it in test_empirical_hessian).
    """
    model, x, y = make_classifier()
    op = HessianOperator(model, F.cross_entropy, x, y)
    dense = op.dense()
    values, vectors = torch.linalg.eigh(dense)
    return op, values.flip(0), vectors.flip(1), dense


def _rel_error(values, exact):
    return float(((values - exact).abs() / exact.abs()).max())


def test_lanczos_top_k_matches_eigvalsh(hessian):
    op, exact, exact_vectors, _ = hessian
    pairs = lanczos(op, k=5, steps=60, seed=3)
    # The accuracy demand: 1e-4 relative (60 of 341 steps converge to ~1e-14).
    assert _rel_error(pairs.eigenvalues, exact[:5]) < 1e-4
    # Each Ritz value lies within its residual of an eigenvalue (Golub & Van Loan 10.1.4).
    assert bool(((pairs.eigenvalues - exact[:5]).abs() <= pairs.residuals + 1e-12).all())
    gram = pairs.eigenvectors.T @ pairs.eigenvectors
    assert torch.allclose(gram, torch.eye(5, dtype=torch.float64), atol=1e-10)
    # Top-5 gaps are ≥ 0.018 here, so the eigenvectors are unique up to sign.
    cosines = (pairs.eigenvectors * exact_vectors[:, :5]).sum(dim=0).abs()
    assert torch.allclose(cosines, torch.ones(5, dtype=torch.float64), atol=1e-8)
    assert pairs.n_matvecs == 60


def test_lanczos_default_steps_bound_error_by_residual(hessian):
    """At the default 25 steps the error may exceed 1e-4, but never the residual bound."""
    _, exact, _, dense = hessian
    op = MatrixOperator(dense)
    pairs = lanczos(op, k=5, steps=25, seed=0)
    assert bool(((pairs.eigenvalues - exact[:5]).abs() <= pairs.residuals + 1e-12).all())
    assert float((pairs.eigenvalues[0] - exact[0]).abs()) < 1e-6 * float(exact[0])


def test_lanczos_is_reproducible(hessian):
    op = MatrixOperator(hessian[3])
    a, b = lanczos(op, 3, 20, seed=7), lanczos(op, 3, 20, seed=7)
    assert torch.equal(a.eigenvalues, b.eigenvalues)
    assert torch.equal(a.eigenvectors, b.eigenvectors)


def test_lanczos_restarts_on_degenerate_spectrum():
    """Spectrum {5, 5, 3, 1 ×17}: one Krylov space sees 3 distinct values and breaks down;
    the restart must still find the double eigenvalue 5."""
    generator = torch.Generator().manual_seed(0)
    rotation, _ = torch.linalg.qr(torch.randn(20, 20, dtype=torch.float64, generator=generator))
    spectrum = torch.tensor([5.0, 5.0, 3.0] + [1.0] * 17, dtype=torch.float64)
    op = MatrixOperator(rotation @ torch.diag(spectrum) @ rotation.T)
    pairs = lanczos(op, k=3, steps=20)
    assert torch.allclose(pairs.eigenvalues, spectrum[:3], rtol=1e-10)
    assert torch.allclose(
        pairs.eigenvectors.T @ pairs.eigenvectors, torch.eye(3, dtype=torch.float64), atol=1e-10
    )


def test_power_iteration_matches_eigvalsh(hessian):
    _, exact, exact_vectors, dense = hessian
    op = MatrixOperator(dense)
    pairs = power_iteration(op, k=3, tol=1e-10, max_iter=3000)
    assert _rel_error(pairs.eigenvalues, exact[:3]) < 1e-4
    cosines = (pairs.eigenvectors * exact_vectors[:, :3]).sum(dim=0).abs()
    assert bool((cosines > 0.999).all())


def test_lanczos_vs_power_reaches_the_accuracy_with_fewer_products(hessian):
    _, exact, _, dense = hessian
    op = MatrixOperator(dense)
    result = lanczos_vs_power(op, k=5, rel_tol=1e-3, reference_steps=80)
    assert (
        _rel_error(torch.tensor(result["reference"]["eigenvalues"], dtype=torch.float64), exact[:5])
        < 1e-10
    )
    assert result["lanczos"]["converged"] and result["power"]["converged"]
    assert result["lanczos"]["max_rel_error"] <= 1e-3
    assert result["power"]["max_rel_error"] <= 1e-3
    # Power iteration converges at rate λ_{i+1}/λ_i (≥ 0.77 here), Lanczos at a Chebyshev rate:
    # the target is ≥ 3× fewer products (≈ 10× here: 28 against 278; deterministic).
    assert result["matvec_ratio"] >= 3


def test_bad_input(hessian):
    op = MatrixOperator(hessian[3])
    with pytest.raises(InputError, match="steps"):
        lanczos(op, k=5, steps=3)
    with pytest.raises(InputError, match="k"):
        lanczos(op, k=0)


def test_same_seed_same_numbers_on_one_and_two_threads(hessian):
    """Probes are drawn from a seeded CPU generator; only BLAS rounding may differ (float64)."""
    op = hessian[0]
    results = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        results.append(lanczos(op, k=3, steps=10, seed=11).eigenvalues)
    torch.set_num_threads(1)
    assert torch.allclose(results[0], results[1], rtol=1e-12, atol=0)
