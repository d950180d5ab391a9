"""The one-call curvature summary against dense oracles on a tiny network."""

from __future__ import annotations

import json
import math
import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from threefactors.empirical import curvature
from threefactors.empirical.curvature import measure, top_eigenvectors
from threefactors.empirical.functional import flat_params
from threefactors.empirical.hessian import HessianOperator
from threefactors.empirical.noise import gradient_noise
from threefactors.errors import InputError

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def problem(make_classifier):
    model, x, y = make_classifier()
    dense = HessianOperator(model, F.cross_entropy, x, y).dense()
    return model, x, y, dense


def test_measure_agrees_with_dense_hessian(problem):
    model, x, y, dense = problem
    before = flat_params(model)
    result = measure(model, F.cross_entropy, x, y, k=3, lanczos_steps=40, trace_probes=40)
    exact = torch.linalg.eigvalsh(dense).flip(0)[:3]
    assert torch.allclose(
        torch.tensor(result["top_eigenvalues"], dtype=torch.float64), exact, rtol=1e-4
    )
    assert result["lambda_max"] == result["top_eigenvalues"][0]
    assert result["condition_top_k"] == pytest.approx(float(exact[0] / exact[2]), rel=1e-4)
    # Hutchinson: within 4 of its own standard error of the exact trace.
    assert abs(result["hessian_trace"] - float(dense.trace())) <= 4 * result["hessian_trace_stderr"]
    assert result["n_matvecs"] == 40 + 40 and result["mode"] == "train"
    assert 0 < result["noise_top_k_fraction"] < 1
    assert result["noise_scale"] == pytest.approx(
        result["grad_noise_trace"] / result["grad_norm_sq"]
    )
    json.dumps(result)  # JSON-able as it is
    assert torch.equal(flat_params(model), before) and model.training


def test_measure_without_noise_or_trace(problem):
    model, x, y, _ = problem
    result = measure(
        model, F.cross_entropy, x, y, k=2, lanczos_steps=10, trace_probes=0, noise=False
    )
    assert result["hessian_trace"] is None and result["grad_noise_trace"] is None
    assert result["n_matvecs"] == 10


def test_top_eigenvectors_are_hessian_eigenvectors(problem):
    model, x, y, dense = problem
    pairs = top_eigenvectors(model, F.cross_entropy, x, y, k=2, steps=40, seed=1)
    residual = dense @ pairs.eigenvectors - pairs.eigenvectors * pairs.eigenvalues
    assert float(residual.norm()) < 1e-8


@pytest.mark.gpu
def test_measure_on_cuda_matches_cpu(problem):
    """Same seed, same numbers on either device (float64; probes are drawn on the CPU)."""
    import copy

    model, x, y, _ = problem
    cpu = measure(model, F.cross_entropy, x, y, k=3, lanczos_steps=30, trace_probes=5)
    gpu_model = copy.deepcopy(model).cuda()
    gpu = measure(
        gpu_model, F.cross_entropy, x.cuda(), y.cuda(), k=3, lanczos_steps=30, trace_probes=5
    )
    for key in ("top_eigenvalues", "hessian_trace", "grad_noise_trace", "noise_top_k_fraction"):
        assert gpu[key] == pytest.approx(cpu[key], rel=1e-8), key


@pytest.mark.slow
def test_defaults_meet_the_issue_accuracy_on_a_trained_digits_network():
    """measure() at its defaults (25 Lanczos steps, 10 probes) on a 1,810-parameter MLP trained
    on scikit-learn's 1,797 digits: top-5 to 1e-4 relative, trace within 4 se."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.data / 16, dtype=torch.float64)
    y = torch.tensor(digits.target)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 24), nn.Tanh(), nn.Linear(24, 10)).double()
    optimiser = torch.optim.SGD(model.parameters(), lr=0.5)
    generator = torch.Generator().manual_seed(0)
    for _ in range(30):
        order = torch.randperm(len(x), generator=generator)
        for i in range(0, len(x), 64):
            idx = order[i : i + 64]
            optimiser.zero_grad()
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            optimiser.step()
    dense = HessianOperator(model, F.cross_entropy, x, y).dense()
    exact = torch.linalg.eigvalsh(dense).flip(0)[:5]
    result = measure(model, F.cross_entropy, x, y)
    values = torch.tensor(result["top_eigenvalues"], dtype=torch.float64)
    assert float(((values - exact).abs() / exact).max()) < 1e-4
    assert abs(result["hessian_trace"] - float(dense.trace())) <= 4 * result["hessian_trace_stderr"]


def _bad_inputs() -> dict[str, tuple]:
    torch.manual_seed(0)
    x, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    norm = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 3))
    return {
        # was functorch's "attempted to call in-place operation … mutate a captured Tensor"
        "batchnorm in train mode": (norm.train(), x, y, "BatchNorm1d in train mode"),
        "no parameters": (nn.Flatten(), x[:, :3], y, "has no parameters"),  # torch.cat error
        "empty batch": (nn.Linear(4, 3), x[:0], y[:0], "an empty batch"),  # ZeroDivisionError
        "targets short": (nn.Linear(4, 3), x, y[:5], "one target per input (16)"),
    }


@pytest.mark.parametrize("case", list(_bad_inputs()))
def test_what_cannot_be_measured_is_one_clear_error(case):
    model, x, y, says = _bad_inputs()[case]
    state = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(InputError, match=re.escape(says)):
        curvature.measure(model, F.cross_entropy, x, y, k=2, lanczos_steps=4, trace_probes=2)
    with pytest.raises(InputError, match=re.escape(says)):
        gradient_noise(model, F.cross_entropy, x, y)
    for name, value in model.state_dict().items():  # nothing was run: no statistics moved
        assert torch.equal(value, state[name]), name


def test_batchnorm_in_eval_mode_is_measured():
    model, x, y, _ = _bad_inputs()["batchnorm in train mode"]
    result = curvature.measure(model.eval(), F.cross_entropy, x, y, k=2, lanczos_steps=4)
    assert result["mode"] == "eval" and math.isfinite(result["lambda_max"])
