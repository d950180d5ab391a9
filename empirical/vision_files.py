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
Files are validated (magic numbers, sizes, label ranges) as they are read.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from threefactors.errors import InputError, require

IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
IDX_FOLDERS = {"mnist": "MNIST", "fashionmnist": "FashionMNIST"}
CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST = ("test_batch",)


def read_idx(path: Path) -> np.ndarray:
    """The unsigned-byte array stored in IDX file ``path``."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise InputError("data-dir", str(path), f"cannot read: {err.strerror}") from None
    require(
        len(raw) >= 4 and raw[:3] == b"\x00\x00\x08",
        "data-dir",
        str(path),
        "not an unsigned-byte IDX file (bad magic number)",
    )
    ndim = raw[3]
    header = 4 + 4 * ndim
    require(len(raw) >= header, "data-dir", str(path), "IDX header truncated")
    shape = tuple(int(v) for v in np.frombuffer(raw[4:header], dtype=">i4"))
    size = int(np.prod(shape))
    require(
        len(raw) == header + size,
        "data-dir",
        str(path),
        f"IDX size mismatch: header says {shape}, file holds {len(raw) - header} values",
    )
    return np.frombuffer(raw[header:], dtype=np.uint8).reshape(shape)


def read_idx_split(root: Path, name: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 28, 28) and labels (N,) of ``split`` ("train"/"test") of MNIST-like ``name``."""
    folder = root / IDX_FOLDERS[name] / "raw"
    images, labels = (read_idx(folder / f) for f in IDX_FILES[split])
    require(images.ndim == 3, "data-dir", str(folder), "images must be N × rows × columns")
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
    try:
        with path.open("rb") as handle:
            entry = _ArrayUnpickler(handle, encoding="latin1").load()
    except OSError as err:
        raise InputError("data-dir", str(path), f"cannot read: {err.strerror}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as err:
        raise InputError("data-dir", str(path), f"not a CIFAR-10 batch: {err}") from None
    require(isinstance(entry, dict), "data-dir", str(path), "not a CIFAR-10 batch (no dict)")
    entry = {k.decode() if isinstance(k, bytes) else k: v for k, v in entry.items()}
    require(
        "data" in entry and "labels" in entry,
        "data-dir",
        str(path),
        "a CIFAR-10 batch needs 'data' and 'labels'",
    )
    data = np.asarray(entry["data"])
    labels = np.asarray(entry["labels"], dtype=np.int64)
    require(
        data.dtype == np.uint8 and data.ndim == 2 and data.shape[1] == 3072,
        "data-dir",
        str(path),
        f"'data' must be N × 3072 uint8, got {data.shape} {data.dtype}",
    )
    require(
        labels.shape == (len(data),) and labels.min(initial=0) >= 0 and labels.max(initial=0) <= 9,
        "data-dir",
        str(path),
        "'labels' must be one label 0…9 per image",
    )
    return data.reshape(-1, 3, 32, 32), labels


def read_cifar10_split(root: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 3, 32, 32) uint8 and labels (N,) of CIFAR-10's ``split`` ("train"/"test")."""
    names = CIFAR10_TRAIN if split == "train" else CIFAR10_TEST
    batches = [_cifar_batch(root / CIFAR10_FOLDER / name) for name in names]
    return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])
