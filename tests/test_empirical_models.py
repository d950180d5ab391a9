"""Models: shapes, parameter counts from the architecture, seeded init, no BatchNorm."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from threefactors.empirical import models
from threefactors.errors import InputError


def test_mlp_is_the_papers_40_256_256_10():
    net = models.build("mlp", (1, 40), 10)
    linear = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [(40, 256), (256, 256), (256, 10)]
    expected = sum(i * o + o for i, o in [(40, 256), (256, 256), (256, 10)])
    assert sum(p.numel() for p in net.parameters()) == expected
    deep = models.build("deep-mlp", (1, 40), 10, width=32)
    assert sum(isinstance(m, nn.Linear) for m in deep.modules()) == 7


def test_seeded_init_and_global_rng_untouched():
    torch.manual_seed(7)
    before = torch.rand(3)
    torch.manual_seed(7)
    a = models.build("mlp", (1, 40), 10, width=16, seed=1)
    assert torch.equal(torch.rand(3), before)
    b = models.build("mlp", (1, 40), 10, width=16, seed=1)
    c = models.build("mlp", (1, 40), 10, width=16, seed=2)
    flat = [torch.cat([p.flatten() for p in m.parameters()]) for m in (a, b, c)]
    assert torch.equal(flat[0], flat[1])
    assert not torch.equal(flat[0], flat[2])


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("cnn", (1, 40)),
        ("cnn", (1, 8, 8)),
        ("simplecnn", (1, 28, 28)),
        ("simplecnn", (3, 32, 32)),
        ("resnet20", (3, 16, 16)),
        ("vgg11", (1, 8, 8)),
    ],
)
def test_forward_shapes_and_no_batchnorm(name, shape):
    net = models.build(name, shape, 10)
    out = net(torch.randn(4, *shape))
    assert out.shape == (4, 10)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in net.modules())


def test_simplecnn_is_two_conv_pool_stages_and_two_dense_layers():
    """16 then 32 channels of 3 × 3 convolutions, each followed by ReLU and a 2× max-pool
    (28 → 14 → 7), then 32·7·7 → 128 → 10: the parameter count follows from the layers."""
    net = models.build("simplecnn", (1, 28, 28), 10)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [(m.in_channels, m.out_channels, m.kernel_size) for m in convs] == [
        (1, 16, (3, 3)),
        (16, 32, (3, 3)),
    ]
    linear = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [(32 * 7 * 7, 128), (128, 10)]
    expected = (9 * 1 + 1) * 16 + (9 * 16 + 1) * 32 + (1568 + 1) * 128 + (128 + 1) * 10
    assert sum(p.numel() for p in net.parameters()) == expected == 206_922
    assert sum(isinstance(m, nn.ReLU) for m in net.modules()) == 3


def test_resnet_skipinit_starts_as_its_shortcut_path():
    """With every residual scale α = 0, each block is relu(shortcut(x)): changing the
    branch convolutions cannot change the output at initialisation."""
    net = models.build("resnet20", (3, 8, 8), 10, seed=0)
    x = torch.randn(2, 3, 8, 8)
    before = net(x)
    with torch.no_grad():
        for block in net.modules():
            if hasattr(block, "alpha"):
                block.conv1.weight.normal_()
    assert torch.allclose(before, net(x))
    assert sum(p.numel() for p in models.build("resnet32", (3, 8, 8), 10).parameters()) > sum(
        p.numel() for p in net.parameters()
    )


def test_tanh_mlp_forward_and_backward_against_the_chain_rule():
    """The tanh MLP is Linear → tanh → Linear: its output and the gradient of a scalar of it
    are those written out by hand (∂/∂W₁ of Σ out = ((W₂ᵀ1) ⊙ (1 − h²)) xᵀ)."""
    net = models.build("mlp", (1, 5), 3, width=4, depth=1, activation="tanh", seed=0).double()
    assert [type(m) for m in net] == [nn.Flatten, nn.Linear, nn.Tanh, nn.Linear]
    x = torch.randn(2, 1, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    w1, b1, w2, b2 = (p.detach() for p in net.parameters())
    h = torch.tanh(x.flatten(1) @ w1.T + b1)
    assert torch.allclose(net(x), h @ w2.T + b2, atol=1e-14)
    net(x).sum().backward()
    delta = (torch.ones(2, 3, dtype=torch.float64) @ w2) * (1 - h**2)
    assert torch.allclose(net[1].weight.grad, delta.T @ x.flatten(1), atol=1e-13)


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"name": "mlp", "input_shape": (1, 40), "activation": "gelu"}, "activation"),
        ({"name": "cnn", "input_shape": (1, 40), "activation": "tanh"}, "activation"),
        ({"name": "transformer", "input_shape": (1, 40)}, "model"),
        ({"name": "resnet20", "input_shape": (1, 40)}, "model"),
        ({"name": "mlp", "input_shape": (1, 40), "width": 0}, "width"),
        ({"name": "simplecnn", "input_shape": (1, 40)}, "model"),
        ({"name": "simplecnn", "input_shape": (1, 3, 3)}, "model"),
    ],
)
def test_bad_input(kwargs, parameter):
    with pytest.raises(InputError) as err:
        models.build(num_classes=10, **kwargs)
    assert err.value.parameter == parameter
