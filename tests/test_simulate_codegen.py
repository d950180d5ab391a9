"""Generated kernels evaluate the same ∇L, L and ∇²L as the sympy landscape."""

from __future__ import annotations

import re

import numpy as np
import pytest
import sympy as sp

from threefactors.errors import InputError
from threefactors.simulate.codegen import compile_kernel, gradient_data, kernel_source
from threefactors.simulate.ensemble import langevin
from threefactors.simulate.noise_models import NOISE_MODELS
from threefactors.simulate.schemes import SCHEMES
from threefactors.theory.landscape import Landscape


@pytest.fixture(scope="module")
def landscape() -> Landscape:
    return Landscape.from_string(
        "exp(-x^2) * sin(3*y) + a*(x^4 + y^4) + tanh(x*y)", params={"a": 0.3}
    )


def test_generated_functions_match_sympy(landscape: Landscape) -> None:
    module = compile_kernel(landscape, NOISE_MODELS["hessian"], SCHEMES["em"])
    points = np.random.default_rng(0).uniform(-2, 2, size=(20, 2))
    g = np.empty(2)
    h = np.empty((2, 2))
    gd = gradient_data(landscape)
    for p in range(len(points)):
        module.grad(points, p, g, gd)
        module.hess(points, p, h, gd)
        # same formula evaluated in a different order: agreement to rounding (1e-12 relative)
        np.testing.assert_allclose(g, landscape.gradient_at(points[p]), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(h, landscape.hessian_at(points[p]), rtol=1e-12, atol=1e-12)
        assert module.loss(points, p, gd) == pytest.approx(
            float(landscape.loss_at(points[p])), rel=1e-12
        )


def test_in_process_cache_returns_same_module(landscape: Landscape) -> None:
    first = compile_kernel(landscape, NOISE_MODELS["hessian"], SCHEMES["em"])
    assert compile_kernel(landscape, NOISE_MODELS["hessian"], SCHEMES["em"]) is first
    changed = landscape.with_params(a=0.5)
    assert "0.5" in kernel_source(changed, NOISE_MODELS["isotropic"], SCHEMES["em"])


def test_hessian_only_when_needed(landscape: Landscape) -> None:
    assert "def hess" not in kernel_source(landscape, NOISE_MODELS["isotropic"], SCHEMES["lm"])
    lm = kernel_source(landscape, NOISE_MODELS["isotropic"], SCHEMES["lm"])
    assert "0.5 * (Zf[j * D + 1] + ZPf[p * D + 1])" in lm  # LM's memory, unrolled for d = 2


def test_uncompilable_loss_is_input_error() -> None:
    weird = Landscape.from_string("Abs(x)")
    with pytest.raises(InputError, match="loss"):
        kernel_source(weird, NOISE_MODELS["hessian"], SCHEMES["em"])


#: The payload of issue 22 (S1): a name that closed the kernel's docstring and ran a command.
PAYLOAD = 'w""" and __import__("os").system("touch {mark}") and """'


def test_landscape_name_never_reaches_generated_source(tmp_path) -> None:
    mark = tmp_path / "MARK"
    payload = PAYLOAD.format(mark=mark)
    well = Landscape.from_string("(x**2-1)**2", name=payload)
    source = kernel_source(well, NOISE_MODELS["isotropic"], SCHEMES["em"])
    assert "touch" not in source and "__import__" not in source
    run = langevin(well, eta=0.1, batch_size=1, sigma=0.5, particles=64, steps=10, seed=0)
    assert run.final.shape == (64, 1)
    assert not mark.exists()


@pytest.mark.parametrize(
    "build",
    [
        lambda p: Landscape.from_string("(x**2-1)**2", coords=["x", p]),
        lambda p: Landscape.from_string("(x**2-1)**2 + a*x", params={"a": 0.1, p: 1.0}),
        lambda p: Landscape(sp.Symbol(p, real=True) ** 2, (sp.Symbol(p, real=True),)),
        lambda p: Landscape(sp.Symbol("x", real=True) ** 2 + sp.Symbol(p), (sp.Symbol("x"),)),
    ],
    ids=["coordinate", "parameter", "symbol", "free-symbol"],
)
def test_user_names_are_refused_before_codegen(tmp_path, build) -> None:
    mark = tmp_path / "MARK"
    with pytest.raises(InputError):
        landscape = build(PAYLOAD.format(mark=mark))
        compile_kernel(landscape, NOISE_MODELS["isotropic"], SCHEMES["em"])
    assert not mark.exists()


def test_coordinates_match_by_name_whatever_their_assumptions() -> None:
    """A coordinate given as Symbol('x') and an expression in Symbol('x', real=True) are one
    coordinate: renamed to the kernel's local, never printed by its own name."""
    plain, real = sp.Symbol("x"), sp.Symbol("x", real=True)
    landscape = Landscape((real**2 - 1) ** 2, (plain,))
    source = kernel_source(landscape, NOISE_MODELS["isotropic"], SCHEMES["em"])
    assert re.search(r"\bx\b", source.split("D = 1")[1]) is None
    module = compile_kernel(landscape, NOISE_MODELS["isotropic"], SCHEMES["em"])
    g = np.empty(1)
    module.grad(np.array([[2.0]]), 0, g, gradient_data(landscape))
    assert g[0] == pytest.approx(4 * 2.0 * (2.0**2 - 1), rel=1e-15)  # 4x(x²−1)
