"""Read MNIST, FashionMNIST and CIFAR-10 from torchvision's on-disk layout, without torchvision.

The layout under a data folder ROOT (what ``torchvision.datasets`` writes when it downloads):

- MNIST / FashionMNIST: ``ROOT/<MNIST|FashionMNIST>/raw/{train,t10k}-{images-idx3,labels-idx1}
  -ubyte``, the IDX format of LeCun et al.: a big-endian header (two zero bytes, the type
  code 0x08 = unsigned byte, the number of dimensions n), n big-endian int32 sizes, then the
  values in row-major order;
- CIFAR-10: ``ROOT/cifar-10-batches-py/data_batch_{1..5}`` and ``test_batch`` (Krizhevsky
  2009): pickled dicts with ``data`` (N × 3072 uint8, the 1024 red, then green, then blue
  values of each 32 × 32 image, row-major) and ``labels``.

The pickles are read as data: the unpickler accepts only the globals a numpy array needs
(:class:`_ArrayUnpickler`), so a file that would run code is refused with one error line.
Only regular files are read, their sizes checked (against the IDX header, or a bound for a
pickle) before reading; magic numbers, shapes and label values are validated as they are read.
"""

from __future__ import annotations

import io
import math
import os
import pickle
import struct
from pathlib import Path
from typing import Any

import numpy as np

from threefactors.errors import InputError, require, shorten
from threefactors.resources import check_memory
from threefactors.saved import open_regular, read_bounded

IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
IDX_FOLDERS = {"mnist": "MNIST", "fashionmnist": "FashionMNIST"}
CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST = ("test_batch",)
#: The largest CIFAR-10 batch file read (one of torchvision's is 31 MB: 10000 images).
CIFAR10_BATCH_BYTES = 64 * 2**20


def read_idx(path: Path) -> np.ndarray:
    """The unsigned-byte array stored in IDX file ``path``.

    The header's sizes are checked (each ≥ 0, their product in exact integers) against the
    file's size and the memory budget before the values are read; only a regular file is
    opened (:func:`threefactors.saved.open_regular`).
    """
    with open_regular(path, "data-dir") as handle:
        head = handle.read(4)
        require(
            len(head) == 4 and head[:3] == b"\x00\x00\x08",
            "data-dir",
            str(path),
            "not an unsigned-byte IDX file (bad magic number)",
        )
        ndim = head[3]
        dims = handle.read(4 * ndim)
        require(len(dims) == 4 * ndim, "data-dir", str(path), "IDX header truncated")
        shape = struct.unpack(f">{ndim}i", dims)
        require(min(shape, default=0) >= 0, "data-dir", str(path), f"IDX sizes {shape} < 0")
        size = math.prod(shape)
        stored = os.fstat(handle.fileno()).st_size - 4 - 4 * ndim
        require(
            stored == size,
            "data-dir",
            str(path),
            f"IDX size mismatch: header says {shape}, file holds {stored} values",
        )
        check_memory(5 * size, "data-dir", str(path))  # the bytes and their float32 copy
        raw = handle.read(size)
    require(len(raw) == size, "data-dir", str(path), "IDX file shrank while read")
    return np.frombuffer(raw, dtype=np.uint8).reshape(shape)


def read_idx_split(root: Path, name: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 28, 28) and labels (N,) of ``split`` ("train"/"test") of MNIST-like ``name``."""
    folder = root / IDX_FOLDERS[name] / "raw"
    images, labels = (read_idx(folder / f) for f in IDX_FILES[split])
    require(
        images.ndim == 3 and min(images.shape) >= 1,
        "data-dir",
        str(folder / IDX_FILES[split][0]),
        f"images must be N × rows × columns, each ≥ 1, got {images.shape}",
    )
    require(labels.ndim == 1, "data-dir", str(folder), "labels must be one-dimensional")
    require(
        len(images) == len(labels),
        "data-dir",
        str(folder),
        f"{len(images)} images but {len(labels)} labels in the {split} split",
    )
    require(int(labels.max(initial=0)) <= 9, "data-dir", str(folder), "labels must be 0…9")
    return images, labels.astype(np.int64)


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, bytes, strings and numpy arrays — and nothing that runs code."""

    ALLOWED = frozenset(
        {
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
        }
    )

    def find_class(self, module: str, name: str) -> type:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed")
        return super().find_class(module, name)


def _cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    raw = read_bounded(path, CIFAR10_BATCH_BYTES, "data-dir")
    try:
        entry = _ArrayUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as err:
        raise InputError("data-dir", str(path), f"not a CIFAR-10 batch: {err}") from None
    require(isinstance(entry, dict), "data-dir", str(path), "not a CIFAR-10 batch (no dict)")
    entry = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in entry.items()}
    require(
        "data" in entry and "labels" in entry,
        "data-dir",
        str(path),
        "a CIFAR-10 batch needs 'data' and 'labels'",
    )
    data = entry["data"]
    require(
        isinstance(data, np.ndarray)
        and data.dtype == np.uint8
        and data.ndim == 2
        and data.shape[1] == 3072,
        "data-dir",
        str(path),
        f"'data' must be an N × 3072 uint8 array, got {getattr(data, 'shape', type(data))}",
    )
    return data.reshape(-1, 3, 32, 32), _cifar_labels(entry["labels"], len(data), path)


def _cifar_labels(labels: Any, n: int, path: Path) -> np.ndarray:
    """``labels`` as int64 if it is a list (or 1-D integer array) of ``n`` labels 0…9: a
    label 1.7, 2**70, "a" or NaN is refused, never truncated or wrapped."""
    if isinstance(labels, np.ndarray) and labels.ndim == 1 and labels.dtype.kind in "iu":
        labels = labels.tolist()
    require(
        isinstance(labels, list)
        and len(labels) == n
        and all(type(v) is int and 0 <= v <= 9 for v in labels),
        "data-dir",
        str(path),
        f"'labels' must be one integer label 0…9 per image ({n}), got {shorten(labels)}",
    )
    return np.array(labels, dtype=np.int64)


def read_cifar10_split(root: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 3, 32, 32) uint8 and labels (N,) of CIFAR-10's ``split`` ("train"/"test")."""
    names = CIFAR10_TRAIN if split == "train" else CIFAR10_TEST
    batches = [_cifar_batch(root / CIFAR10_FOLDER / name) for name in names]
    return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])
