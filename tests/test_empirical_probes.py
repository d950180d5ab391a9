"""Line probes against cases solved by hand: linear regression and the 1-D quadratic."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from threefactors.empirical.functional import flat_params, make_loss, set_flat_params
from threefactors.empirical.hessian import HessianOperator
from threefactors.empirical.probes import (
    fd_sample,
    fluctuation_dissipation,
    interpolate,
    step_lengths,
    step_too_long,
    tanh_saturation,
)
from threefactors.errors import InputError

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def regression():
    """Linear regression y = xᵀw + b + noise, 6 features, 200 examples (float64); MSE loss,
    so L is exactly quadratic in θ with H = 2 [x 1]ᵀ[x 1] / N."""
    generator = torch.Generator().manual_seed(0)
    x = (
        torch.randn(200, 6, dtype=torch.float64, generator=generator)
        * torch.linspace(0.3, 2, 6).double()
    )
    y = x @ torch.randn(6, 1, dtype=torch.float64, generator=generator) + 0.3 * torch.randn(
        200, 1, dtype=torch.float64, generator=generator
    )
    torch.manual_seed(0)
    return nn.Linear(6, 1).double(), x, y


@pytest.fixture(scope="module")
def classifier():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 4)).double()
    x = torch.randn(100, 8, dtype=torch.float64)
    y = torch.randint(0, 4, (100,))
    return model, x, y


def test_interpolation_endpoints_are_the_two_solutions(classifier):
    model, x, y = classifier
    theta_1 = flat_params(model)
    theta_2 = theta_1 + 0.3 * torch.randn_like(theta_1)
    out = interpolate(model, theta_1, theta_2, F.cross_entropy, x, y, chunk_size=30)
    assert len(out["alpha"]) == 31 and out["alpha"][0] == -1 and out["alpha"][-1] == 2
    i0, i1 = out["alpha"].index(0.0), out["alpha"].index(1.0)
    for index, theta in ((i0, theta_1), (i1, theta_2)):
        clone = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 4)).double()
        set_flat_params(clone, theta)
        with torch.no_grad():
            outputs = clone(x)
        assert out["loss"][index] == pytest.approx(float(F.cross_entropy(outputs, y)), rel=1e-12)
        assert out["accuracy"][index] == float((outputs.argmax(1) == y).double().mean())
    assert torch.equal(flat_params(model), theta_1)


def test_interpolation_is_a_parabola_for_a_quadratic_loss(regression):
    """MSE of a linear model is quadratic in α: a parabola through 3 points predicts all."""
    model, x, y = regression
    theta_1 = flat_params(model)
    theta_2 = theta_1 + torch.randn_like(theta_1)
    out = interpolate(model, theta_1, theta_2, F.mse_loss, x, y)
    alpha = torch.tensor(out["alpha"], dtype=torch.float64)
    loss = torch.tensor(out["loss"], dtype=torch.float64)
    coefficients = torch.linalg.lstsq(
        torch.stack([alpha**0, alpha, alpha**2], 1)[:3], loss[:3, None]
    )
    predicted = torch.stack([alpha**0, alpha, alpha**2], 1) @ coefficients.solution
    assert torch.allclose(predicted[:, 0], loss, rtol=1e-9)
    assert out["accuracy"] == [None] * 31  # regression: no accuracy


@pytest.mark.parametrize(
    ("eta_lambda", "too_long", "overshoot"),
    [(0.5, False, False), (1.5, False, True), (2.5, True, True)],
)
def test_step_too_long_on_a_quadratic(regression, eta_lambda, too_long, overshoot):
    """Along the top eigenvector of a quadratic: Δℓ = η (gᵀv)² (ηλ/2 − 1) exactly, the line
    minimum at 1/(ηλ); the step overshoots iff ηλ > 1 and raises the loss iff ηλ > 2."""
    model, x, y = regression
    lam = float(torch.linalg.eigvalsh(HessianOperator(model, F.mse_loss, x, y).dense())[-1])
    eta = eta_lambda / lam
    out = step_too_long(
        model, F.mse_loss, x, y, eta, lanczos_steps=7, alphas=torch.linspace(0, 2, 201)
    )
    assert out["curvature"] == pytest.approx(lam, rel=1e-10)
    assert out["eta_curvature"] == pytest.approx(eta_lambda, rel=1e-10)
    assert out["loss_change"] == pytest.approx(out["quadratic_change"], rel=1e-8, abs=1e-14)
    assert abs(out["line_minimum"] - 1 / eta_lambda) <= 0.005 + 1e-12  # half the grid spacing
    assert out["too_long"] is too_long and out["overshoot"] is overshoot


def test_step_too_long_with_a_minibatch_on_a_quadratic(regression):
    """Minibatch step t = −η g_Bᵀv on the full quadratic loss: ℓ(1) − ℓ(0) = t gᵀv + t² λ/2
    exactly, and the profile's minimum sits at s* = −gᵀv/(t λ)."""
    model, x, y = regression
    lam = float(torch.linalg.eigvalsh(HessianOperator(model, F.mse_loss, x, y).dense())[-1])
    out = step_too_long(
        model,
        F.mse_loss,
        x,
        y,
        1.0 / lam,
        batch=(x[:20], y[:20]),
        lanczos_steps=7,
        alphas=torch.linspace(-3, 3, 601),
    )
    assert out["step_slope"] != pytest.approx(out["slope"], rel=1e-3)  # the batch differs
    assert out["loss_change"] == pytest.approx(out["quadratic_change"], rel=1e-8, abs=1e-14)
    assert -3 < out["quadratic_line_minimum"] < 3
    assert abs(out["line_minimum"] - out["quadratic_line_minimum"]) <= 0.005 + 1e-12


def test_step_too_long_with_a_minibatch_and_given_direction(classifier):
    model, x, y = classifier
    v = torch.randn(sum(p.numel() for p in model.parameters()), dtype=torch.float64)
    out = step_too_long(model, F.cross_entropy, x, y, 0.1, v, batch=(x[:10], y[:10]))
    grad = torch.func.grad(make_loss(model, F.cross_entropy, x[:10], y[:10]))(flat_params(model))
    assert out["step_slope"] == pytest.approx(float(grad @ v) / float(v.norm()), rel=1e-10)
    assert out["profile"]["loss"][0] == pytest.approx(out["loss_before"], rel=1e-12)
    with pytest.raises(InputError, match="eta"):
        step_too_long(model, F.cross_entropy, x, y, 0.0, v)
    with pytest.raises(InputError, match="direction"):
        step_too_long(model, F.cross_entropy, x, y, 0.1, v[:-1])


def _quadratic_sgd_stream(eta, h, noise_sd, steps, seed):
    """SGD on L = hθ²/2 with g = hθ + ξ, ξ ~ N(0, noise_sd²), from stationarity."""
    generator = torch.Generator().manual_seed(seed)
    xi = noise_sd * torch.randn(steps, dtype=torch.float64, generator=generator)
    variance = eta * noise_sd**2 / (h * (2 - eta * h))  # exact stationary Var θ
    theta = math.sqrt(variance) * float(torch.randn(1, dtype=torch.float64, generator=generator))
    lhs, norms = [], []
    for t in range(steps):
        g = h * theta + float(xi[t])
        a, b = fd_sample(torch.tensor([theta]), torch.tensor([g]))
        lhs.append(a)
        norms.append(b)
        theta -= eta * g
    return lhs, norms


def test_fluctuation_dissipation_on_the_quadratic():
    """Both sides equal η σ_g² / (2 − η h) (σ_g² the gradient-noise variance): derived from
    the exact stationary variance η σ_g² / (h (2 − η h)) of the discrete recursion."""
    eta, h, noise_sd = 0.1, 2.0, 1.0
    exact = eta * noise_sd**2 / (2 - eta * h)
    lhs, norms = _quadratic_sgd_stream(eta, h, noise_sd, 40_000, seed=3)
    out = fluctuation_dissipation(lhs, norms, eta)
    assert abs(out["lhs"] - exact) <= 4 * out["lhs_stderr"]
    assert abs(out["rhs"] - exact) <= 4 * out["rhs_stderr"]
    assert abs(out["ratio"] - 1) <= 4 * out["ratio_stderr"]
    assert abs(out["difference"]) <= 4 * out["difference_stderr"]
    assert out["ratio_stderr"] < 0.05  # the check has the power to see a 20% violation
    # Planted fault: the stream was made with η, the check is told 1.25 η.
    wrong = fluctuation_dissipation(lhs, norms, 1.25 * eta)
    assert abs(wrong["ratio"] - 1) > 4 * wrong["ratio_stderr"]


def test_fluctuation_dissipation_bad_input():
    with pytest.raises(InputError, match="grad_norm_sq"):
        fluctuation_dissipation([1.0] * 40, [1.0] * 39, 0.1)
    with pytest.raises(InputError, match="eta"):
        fluctuation_dissipation([1.0] * 40, [1.0] * 40, -0.1)


@pytest.mark.slow
def test_fluctuation_dissipation_for_sgd_on_a_linear_network(regression):
    """Real minibatch SGD (S = 4 of N = 200, with replacement) on nn.Linear + MSE, through
    autograd: at stationarity FDR₁ holds whatever the noise's shape, so the ratio is 1."""
    model, x, y = regression
    model = nn.Linear(6, 1).double()
    eta, batch, burn_in, steps = 0.05, 4, 2_000, 40_000
    generator = torch.Generator().manual_seed(5)
    lhs, norms = [], []
    for t in range(burn_in + steps):
        idx = torch.randint(0, len(x), (batch,), generator=generator)
        loss = F.mse_loss(model(x[idx]), y[idx])
        grads = torch.autograd.grad(loss, list(model.parameters()))
        if t >= burn_in:
            a, b = fd_sample(flat_params(model), torch.cat([g.reshape(-1) for g in grads]))
            lhs.append(a)
            norms.append(b)
        with torch.no_grad():
            for p, g in zip(model.parameters(), grads, strict=True):
                p.sub_(eta * g)
    out = fluctuation_dissipation(lhs, norms, eta)
    assert abs(out["ratio"] - 1) <= 4 * out["ratio_stderr"]
    assert out["ratio_stderr"] < 0.1


def test_step_lengths_on_a_quadratic(regression):
    """On a quadratic along any unit v, with t = −η g_Bᵀv: Δ(γ) = γ t gᵀv + (γ t)² vᵀHv/2
    exactly, for each minibatch and direction."""
    model, x, y = regression
    op = HessianOperator(model, F.mse_loss, x, y)
    _, grad = op.loss_and_gradient()
    generator = torch.Generator().manual_seed(3)
    directions = {n: torch.randn(op.dim, dtype=torch.float64, generator=generator) for n in "ab"}
    batches = [(x[:20], y[:20]), (x[50:90], y[50:90])]
    eta = 0.05
    out = step_lengths(model, F.mse_loss, x, y, eta, directions, batches, (0.5, 1.0))
    for name, v in directions.items():
        v = v / v.norm()
        for k, batch in enumerate(batches):
            g_b = HessianOperator(model, F.mse_loss, *batch).loss_and_gradient()[1]
            t = -eta * float(g_b @ v)
            for gamma in (0.5, 1.0):
                exact = gamma * t * float(grad @ v) + (gamma * t) ** 2 * float(v @ op.matvec(v)) / 2
                assert out[name][f"{gamma:g}"][k] == pytest.approx(exact, rel=1e-8, abs=1e-14)


def test_relative_step_lengths_along_eigenvectors_match_the_closed_form(regression):
    """On the quadratic L (MSE of a linear model, Hessian H), along an eigenvector v (Hv = λv)
    with the full-batch gradient g as the step's gradient: Δ(γ) = η(gᵀv)²(γ²ηλ/2 − γ),
    reported as 100·Δ/L(θ). The grid minimiser is the γ nearest below/above 1/(ηλ): with
    ηλ₁ = 1.6 it is ½ (the step is too long), along a flatter v with ηλ < 0.75 it is ≥ 1."""
    from threefactors.claims.step_too_long import MULTIPLIERS

    model, x, y = regression
    op = HessianOperator(model, F.mse_loss, x, y)
    loss, grad = op.loss_and_gradient()
    dense = torch.stack([op.matvec(e) for e in torch.eye(op.dim, dtype=torch.float64)])
    values, vectors = torch.linalg.eigh(dense)
    eta = 1.6 / float(values[-1])
    k = max(i for i in range(op.dim) if eta * float(values[i]) < 0.75)  # the sharpest of those
    top, flat = vectors[:, -1], vectors[:, k]
    directions = {"top": top, "flat": flat}
    out = step_lengths(
        model, F.mse_loss, x, y, eta, directions, [(x, y)], MULTIPLIERS, relative=True
    )
    minimisers = {}
    for name, v in directions.items():
        lam = float(v @ op.matvec(v))
        exact = [
            100 * eta * float(grad @ v) ** 2 * (g * g * eta * lam / 2 - g) / float(loss)
            for g in MULTIPLIERS
        ]
        measured = [out[name][f"{g:g}"][0] for g in MULTIPLIERS]
        assert measured == pytest.approx(exact, rel=1e-7, abs=1e-12)
        minimisers[name] = MULTIPLIERS[measured.index(min(measured))]
    assert minimisers["top"] == 0.5  # γ* = 1/(ηλ₁) = 0.625: the SGD step overshoots
    assert minimisers["flat"] >= 1  # γ* = 1/(ηλ) > 1.33: the step is too short, not too long


def test_tanh_saturation_against_known_preactivations():
    """Two tanh layers whose pre-activations are set exactly: layer 1 (identity weights,
    biases 0, 3, −2.5, inputs ±1) has z = x + b; layer 2 (zero weights) z = its biases 4, 0.
    The fraction |z| > 2 and the mean φ′ = 1 − tanh² z are counted by hand."""
    model = nn.Sequential(nn.Linear(3, 3), nn.Tanh(), nn.Linear(3, 2), nn.Tanh()).double()
    with torch.no_grad():
        model[0].weight.copy_(torch.eye(3))
        model[0].bias.copy_(torch.tensor([0.0, 3.0, -2.5]))
        model[2].weight.zero_()
        model[2].bias.copy_(torch.tensor([4.0, 0.0]))
    x = torch.tensor([[1.0, 1.0, 1.0], [-1.0, -1.0, -1.0]], dtype=torch.float64)
    z1 = torch.tensor([[1.0, 4.0, -1.5], [-1.0, 2.0, -3.5]], dtype=torch.float64)
    z2 = torch.tensor([[4.0, 0.0], [4.0, 0.0]], dtype=torch.float64)
    state = tanh_saturation(model, x)
    # |z| > 2: layer 1 has 4.0 and −3.5 (2.0 is not > 2): 2 of 6; layer 2: 2 of 4
    assert state["layers"][0]["fraction"] == pytest.approx(2 / 6, abs=1e-15)
    assert state["layers"][1]["fraction"] == pytest.approx(2 / 4, abs=1e-15)
    assert state["fraction"] == pytest.approx(4 / 10, abs=1e-15)
    derivative = torch.cat(
        [(1 - torch.tanh(z1) ** 2).flatten(), (1 - torch.tanh(z2) ** 2).flatten()]
    )
    assert state["mean_derivative"] == pytest.approx(float(derivative.mean()), rel=1e-12)
    assert state["layers"][1]["mean_derivative"] == pytest.approx(
        (1 - math.tanh(4.0) ** 2 + 1) / 2, rel=1e-12
    )
    with pytest.raises(InputError, match="bound"):
        tanh_saturation(model, x, bound=0.0)
    with pytest.raises(InputError, match="no tanh layer"):
        tanh_saturation(nn.Sequential(nn.Linear(3, 2), nn.ReLU()).double(), x)
