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


def write_vision_data(root: Any, n_train: int = 200, n_test: int = 100, seed: int = 0) -> Any:
    """Tiny random FashionMNIST and CIFAR-10 sets under ``root`` in torchvision's on-disk
    layout (IDX files under FashionMNIST/raw; CIFAR-10 python pickles, ``n_train`` images
    spread over data_batch_1..5); returns the arrays written."""
    import pickle
    from pathlib import Path

    import numpy as np

    rng = np.random.default_rng(seed)
    root = Path(root)
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    written: dict[str, Any] = {}
    for split, (images_name, labels_name), n in (
        ("train", ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"), n_train),
        ("test", ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"), n_test),
    ):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        (raw / images_name).write_bytes(
            b"\x00\x00\x08\x03" + np.array([n, 28, 28], ">i4").tobytes() + images.tobytes()
        )
        (raw / labels_name).write_bytes(
            b"\x00\x00\x08\x01" + np.array([n], ">i4").tobytes() + labels.tobytes()
        )
        written[f"fashionmnist_{split}"] = (images, labels)
    cifar = root / "cifar-10-batches-py"
    cifar.mkdir()
    for split, names, n in (
        ("train", [f"data_batch_{i}" for i in range(1, 6)], n_train),
        ("test", ["test_batch"], n_test),
    ):
        images = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, n).tolist()
        for name, part in zip(names, np.array_split(np.arange(n), len(names)), strict=True):
            batch = {"batch_label": name, "data": images[part], "labels": [labels[i] for i in part]}
            (cifar / name).write_bytes(pickle.dumps(batch))
        written[f"cifar10_{split}"] = (images.reshape(n, 3, 32, 32), np.array(labels))
    return written


@pytest.fixture(scope="session")
def vision_data(tmp_path_factory) -> tuple[Any, dict[str, Any]]:
    """(data folder, arrays written) of :func:`write_vision_data`, shared by a session."""
    root = tmp_path_factory.mktemp("vision")
    return root, write_vision_data(root)
