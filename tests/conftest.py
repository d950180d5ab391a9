"""Shared test configuration: the `gpu` mark skips where no CUDA device is present; small
torch problems shared by the empirical tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest


def _has_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _has_cuda():
        return
    skip = pytest.mark.skip(reason="no CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def torch_one_thread() -> Iterator[None]:
    """Tiny torch products on one thread: no oversubscription stalls on a 2-core machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def make_classifier() -> Callable[..., Any]:
    """Factory of (model, x, y): a 2-layer float64 MLP (8-24-5: 341 parameters, small
    enough for a dense Hessian) on seeded random points with random labels."""
    import torch
    from torch import nn

    def make(activation: str = "tanh", n: int = 300, seed: int = 0) -> Any:
        torch.manual_seed(seed)
        act = {"tanh": nn.Tanh, "relu": nn.ReLU}[activation]()
        model = nn.Sequential(nn.Linear(8, 24), act, nn.Linear(24, 5)).double()
        x = torch.randn(n, 8, dtype=torch.float64)
        y = torch.randint(0, 5, (n,))
        return model, x, y

    return make


@pytest.fixture(scope="session")
def vision_data(tmp_path_factory) -> tuple[Any, dict[str, Any]]:
    """(data folder, arrays written) of :func:`write_vision_data`, shared by a session."""
    from torchvision_layout import write_vision_data

    root = tmp_path_factory.mktemp("vision")
    return root, write_vision_data(root)
