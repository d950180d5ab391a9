"""Generated kernels evaluate the same ∇L, L and ∇²L as the sympy landscape."""

from __future__ import annotations

import numpy as np
import pytest

from threefactors.errors import InputError
from threefactors.simulate.codegen import compile_kernel, gradient_data, kernel_source
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
