"""Networks, built with a seeded initialisation that leaves torch's global RNG untouched.

- ``mlp``: Flatten → [Linear(width) → φ] × depth → Linear(classes), φ = ReLU (default) or
  tanh (``activation``: a saturating non-linearity, for the saturation probe of "SGD smooths
  the sharpest directions"). With the defaults (width 256, depth 2) on MNIST-1D this is the
  paper's 40-256-256-10 MLP.
- ``deep-mlp``: the same with depth 6 (a deep ReLU MLP).
- ``cnn``: two convolutions (16 and 32 channels, stride 2) → global average pool → Linear;
  1-D or 2-D convolutions following the input's shape.
- ``simplecnn``: the papers' SimpleCNN at CPU size, 2-D images only (below).
- ``resnet20`` / ``resnet32``: He et al.'s CIFAR ResNets (3 stages of 3 / 5 basic blocks,
  16-32-64 channels) *without BatchNorm*: each residual branch is multiplied by a learnable
  scalar initialised to 0 (SkipInit, De & Smith 2020), which makes them trainable without
  normalisation. Curvature under BatchNorm depends on train/eval mode, so none is used.
- ``vgg11``: VGG-11 convolutions (64-M-128-M-256-256-M-512-512-M-512-512-M) without
  BatchNorm, pooling skipped once the map is 1 pixel wide, then Linear(512, classes).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from threefactors.errors import InputError, require
from threefactors.resources import check_memory

MODELS = ("mlp", "deep-mlp", "cnn", "simplecnn", "resnet20", "resnet32", "vgg11")
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}  # the MLPs' hidden non-linearity
_IMAGE_ONLY = ("simplecnn", "resnet20", "resnet32", "vgg11")


def mlp(
    input_dim: int, num_classes: int, width: int, depth: int, activation: str = "relu"
) -> nn.Sequential:
    """Fully connected network with ``depth`` hidden layers of ``width`` units, each followed
    by ``activation`` (a key of ``ACTIVATIONS``)."""
    layers: list[nn.Module] = [nn.Flatten()]
    fan_in = input_dim
    for _ in range(depth):
        layers += [nn.Linear(fan_in, width), ACTIVATIONS[activation]()]
        fan_in = width
    layers.append(nn.Linear(fan_in, num_classes))
    return nn.Sequential(*layers)


def cnn(input_shape: tuple[int, ...], num_classes: int, width: int = 16) -> nn.Sequential:
    """Two stride-2 convolutions (``width``, 2·``width`` channels), global pool, Linear."""
    channels, spatial = input_shape[0], len(input_shape) - 1
    conv = {1: nn.Conv1d, 2: nn.Conv2d}[spatial]
    pool = {1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d}[spatial]
    return nn.Sequential(
        conv(channels, width, 5, stride=2, padding=2),
        nn.ReLU(),
        conv(width, 2 * width, 3, stride=2, padding=1),
        nn.ReLU(),
        pool(1),
        nn.Flatten(),
        nn.Linear(2 * width, num_classes),
    )


def simple_cnn(
    input_shape: tuple[int, ...], num_classes: int, channels: int = 16, hidden: int = 128
) -> nn.Sequential:
    """[Conv2d 3×3 (padding 1) → ReLU → MaxPool 2] with c then 2c channels → Flatten →
    Linear(hidden) → ReLU → Linear(classes), c = ``channels``; no BatchNorm.

    The motif of the SimpleCNN of Jastrzębski et al. (ICLR 2019, arXiv 1807.05031; their
    ``src/models/simple_cnn.py``: two conv–conv–max-pool stages of 32 and 64 filters, a Dense
    128 layer, ReLU, ``bn=False``) with one convolution per stage and 16 / 32 channels, so that
    an epoch on 4,000 MNIST digits takes seconds on one CPU core. On 28 × 28 inputs:
    28 → 14 → 7, 1,568 features, 206,922 parameters. The convolution weights are stored
    channels-last, so the activations are too: max-pooling an NCHW tensor on a CPU costs
    ~7× more, a third of a training step (a step of 32 digits 18 → 13 ms on one core; the
    same function: gradients agree with NCHW storage to float round-off, ~3e-8).
    """
    c, (rows, cols) = channels, input_shape[1:]
    net = nn.Sequential(
        nn.Conv2d(input_shape[0], c, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(c, 2 * c, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(2 * c * (rows // 4) * (cols // 4), hidden),
        nn.ReLU(),
        nn.Linear(hidden, num_classes),
    )
    return net.to(memory_format=torch.channels_last)


class _Block(nn.Module):
    """x ↦ relu(shortcut(x) + α · conv(relu(conv(x)))), α a learnable scalar, α₀ = 0."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.alpha = nn.Parameter(torch.zeros(()))
        self.shortcut: nn.Module = (
            nn.Identity() if stride == 1 and c_in == c_out else nn.Conv2d(c_in, c_out, 1, stride)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch = self.conv2(torch.relu(self.conv1(x)))
        return torch.relu(self.shortcut(x) + self.alpha * branch)


def resnet(input_shape: tuple[int, ...], num_classes: int, blocks: int) -> nn.Sequential:
    """CIFAR ResNet-(6·blocks+2) without BatchNorm (SkipInit residual scaling)."""
    layers: list[nn.Module] = [nn.Conv2d(input_shape[0], 16, 3, padding=1), nn.ReLU()]
    c_in = 16
    for stage, c_out in enumerate((16, 32, 64)):
        for b in range(blocks):
            layers.append(_Block(c_in, c_out, 2 if stage > 0 and b == 0 else 1))
            c_in = c_out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, num_classes)]
    return nn.Sequential(*layers)


def vgg11(input_shape: tuple[int, ...], num_classes: int) -> nn.Sequential:
    """VGG-11 without BatchNorm; max-pooling stops once the map is one pixel wide."""
    layers: list[nn.Module] = []
    c_in, size = input_shape[0], min(input_shape[1:])
    for item in (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"):
        if item == "M":
            if size > 1:
                layers.append(nn.MaxPool2d(2))
                size //= 2
            continue
        layers += [nn.Conv2d(c_in, int(item), 3, padding=1), nn.ReLU()]
        c_in = int(item)
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, num_classes)]
    return nn.Sequential(*layers)


def check_activation(activation: str, model: str = "mlp") -> None:
    """InputError unless ``activation`` is one of ``ACTIVATIONS`` and ``model`` an MLP (the
    other models are ReLU networks)."""
    require(
        activation in ACTIVATIONS,
        "activation",
        activation,
        f"unknown; choose one of {', '.join(ACTIVATIONS)}",
    )
    require(
        activation == "relu" or model in ("mlp", "deep-mlp"),
        "activation",
        activation,
        f"only the mlp and deep-mlp take a non-ReLU activation, not model {model}",
    )


def build(
    name: str,
    input_shape: tuple[int, ...],
    num_classes: int,
    *,
    width: int = 256,
    depth: int = 2,
    seed: int = 0,
    activation: str = "relu",
) -> nn.Module:
    """Model ``name`` for inputs of ``input_shape`` (channel first), initialised from ``seed``.

    Initialisation draws from torch's default generator inside ``fork_rng``, so the global
    RNG state is the same before and after, and the same seed gives the same weights.
    ``activation`` (relu or tanh) applies to the MLPs; the other models are ReLU networks.
    """
    require(name in MODELS, "model", name, f"unknown; choose one of {', '.join(MODELS)}")
    check_activation(activation, name)
    require(width >= 1, "width", width, "must be ≥ 1")
    require(depth >= 1, "depth", depth, "must be ≥ 1")
    if name in _IMAGE_ONLY and len(input_shape) != 3:
        raise InputError("model", name, f"needs image inputs (C, H, W), got shape {input_shape}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if name in ("mlp", "deep-mlp"):
            dim = math.prod(input_shape)
            layers = depth if name == "mlp" else max(depth, 6)
            weights = dim * width + (layers - 1) * width**2 + width * num_classes
            # parameters, gradient, momentum and a Hessian-vector product: 4 float32 copies
            check_memory(16 * weights, "width", width)
            return mlp(dim, num_classes, width, layers, activation)
        if name == "cnn":
            return cnn(input_shape, num_classes)
        if name == "simplecnn":
            require(
                min(input_shape[1:]) >= 4,
                "model",
                name,
                f"needs images of at least 4 × 4 pixels (two 2× poolings), got {input_shape}",
            )
            return simple_cnn(input_shape, num_classes)
        if name == "vgg11":
            return vgg11(input_shape, num_classes)
        return resnet(input_shape, num_classes, blocks={"resnet20": 3, "resnet32": 5}[name])
