"""SGD → SDE → Fokker–Planck: the stationary density is verified by the FP residual."""

from __future__ import annotations

import pytest
import sympy as sp

from threefactors.errors import InputError
from threefactors.theory.builtin_landscapes import double_well
from threefactors.theory.formula import BATCH, ETA, SIGMA
from threefactors.theory.landscape import Landscape
from threefactors.theory.sde import derive


def test_isotropic_gibbs_density_has_zero_fp_residual_and_depends_on_eta_over_s() -> None:
    # float coefficients (typed, or from double_well's construction) must still cancel exactly
    for land in (
        Landscape.from_string("(x**2-1)**2 + 0.3*x"),
        Landscape.from_string("(x**2-1)**2 + 2*y**2 + 0.5*x*y"),
        double_well(),
    ):
        result = derive(land)
        assert result.verified and result.fp_residual == 0
        assert result.eta_over_s_only
        # the density is exp(−L/T) with T = ησ²/(2S)
        ratio = sp.simplify(sp.log(result.stationary_density.expr) * result.temperature.expr)
        assert sp.simplify(ratio + result.landscape.loss) == 0
        assert sp.simplify(result.temperature.expr - ETA * SIGMA**2 / (2 * BATCH)) == 0


def test_a_wrong_density_fails_the_residual_check() -> None:
    # planted fault: the FP operator applied to exp(−L/(2T)) must not vanish
    result = derive(Landscape.from_string("(x**2-1)**2"))
    x = result.landscape.coords[0]
    wrong = sp.exp(-result.landscape.loss / (2 * result.temperature.expr))
    drift, diffusion = result.drift.expr[0], result.diffusion.expr[0, 0]
    residual = -sp.diff(drift * wrong, x) + sp.diff(diffusion * wrong, x, 2)
    assert sp.simplify(residual / wrong) != 0


def test_hessian_noise_on_a_quadratic_gives_the_lyapunov_gaussian() -> None:
    result = derive(Landscape.from_string("x**2/2 + 3*y**2"), noise="hessian")
    x, y = result.landscape.coords
    assert result.verified
    # C = σ²H: Σ = (η σ²/2S) I, density exp(−S |θ|²/(ησ²))
    expected = -BATCH * (x**2 + y**2) / (ETA * SIGMA**2)
    assert sp.simplify(sp.log(result.stationary_density.expr) - expected) == 0


def test_without_replacement_and_order_two_break_the_eta_over_s_invariance() -> None:
    land = Landscape.from_string("(x**2-1)**2")
    finite = derive(land, replacement=False)
    assert finite.verified and not finite.eta_over_s_only
    n = sp.Symbol("N", positive=True)
    expected = ETA * SIGMA**2 * (n - BATCH) / (2 * BATCH * (n - 1))
    assert sp.simplify(finite.temperature.expr - expected) == 0
    second = derive(land, order=2)
    assert second.verified and not second.eta_over_s_only
    x = land.coords[0]
    g = sp.diff(land.loss, x)
    assert sp.simplify(second.drift.expr[0] + sp.diff(land.loss + ETA / 4 * g**2, x)) == 0


def test_formula_three_ways() -> None:
    result = derive(Landscape.from_string("(x**2-1)**2"))
    density = result.stationary_density
    assert "frac" in density.latex
    value = density.callable(0.0, 0.1, 8.0, 1.0)  # x, eta, S, sigma
    assert abs(value - float(sp.exp(-2 * 8 / 0.1))) < 1e-300 + 1e-12 * value


def test_symbolic_work_past_the_time_limit_is_refused() -> None:
    """A 199-term sum of sines ran derive for minutes (issue 22): refused at the limit."""
    text = " + ".join(f"sin({i}*x + {i % 7}*y)" for i in range(1, 200))
    with pytest.raises(InputError, match="the symbolic derivation took more than 1 s"):
        derive(Landscape.from_string(text), time_limit=1.0)
    assert derive(Landscape.from_string("(x**2-1)**2"), time_limit=30.0).verified


def test_hessian_noise_with_a_singular_hessian_is_refused() -> None:
    with pytest.raises(InputError, match=r"noise='hessian': .*singular everywhere"):
        derive(Landscape.from_string("sin(x + y)"), "hessian")
