"""Tiny FashionMNIST and CIFAR-10 sets written byte for byte in the formats of the real files,
in torchvision's on-disk layout (what ``torchvision.datasets`` leaves after a download):

- ``FashionMNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte``: IDX files (LeCun et al.;
  Xiao et al. 2017 keep MNIST's format): magic 0x00000803 (2051: unsigned byte, 3 dims) for
  images and 0x00000801 (2049, 1 dim) for labels, big-endian int32 sizes, then the bytes.
- ``cifar-10-batches-py/data_batch_1..5``, ``test_batch``, ``batches.meta``: the pickles
  Krizhevsky (2009) made with Python 2's cPickle at protocol 2 — every string a byte string
  (opcodes SHORT_BINSTRING / BINSTRING), the images a numpy uint8 array (N, 3072) rebuilt by
  ``numpy.core.multiarray._reconstruct``, ``labels`` a list of ints, ``batch_label`` and
  ``filenames`` strings; ``batches.meta`` holds ``label_names``, ``num_cases_per_batch``
  and ``num_vis``. Read with ``pickle.load(f, encoding="bytes")`` (the data set's own
  ``unpickle`` recipe) the keys come back as bytes, as from the real files; a Python 3
  pickle would give str keys.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip


def _py2_string(data: bytes) -> bytes:
    if len(data) < 256:
        return b"U" + bytes([len(data)]) + data  # SHORT_BINSTRING
    return b"T" + struct.pack("<i", len(data)) + data  # BINSTRING


def _py2_items(value: Any) -> bytes:
    """The protocol-2 opcodes Python 2's cPickle writes for ``value`` (no memo)."""
    if isinstance(value, bool):
        return b"\x88" if value else b"\x89"  # NEWTRUE / NEWFALSE
    if isinstance(value, int):
        return b"J" + struct.pack("<i", value)  # BININT
    if value is None:
        return b"N"
    if isinstance(value, str):  # a Python 2 str is bytes
        return _py2_string(value.encode("latin1"))
    if isinstance(value, bytes):
        return _py2_string(value)
    if isinstance(value, tuple):
        return b"(" + b"".join(map(_py2_items, value)) + b"t"  # MARK … TUPLE
    if isinstance(value, list):
        return b"](" + b"".join(map(_py2_items, value)) + b"e"  # EMPTY_LIST MARK … APPENDS
    if isinstance(value, dict):
        body = b"".join(_py2_items(k) + _py2_items(v) for k, v in value.items())
        return b"}(" + body + b"u"  # EMPTY_DICT MARK … SETITEMS
    if isinstance(value, np.ndarray) and value.dtype == np.uint8:
        # _reconstruct(ndarray, (0,), 'b'), then BUILD with the state
        # (1, shape, dtype('u1', 0, 1) BUILT with (3, '|', None, None, None, -1, -1, 0),
        #  False, the C-order bytes)
        dtype = (
            b"cnumpy\ndtype\n" + _py2_items(("u1", 0, 1)) + b"R"
            + _py2_items((3, "|", None, None, None, -1, -1, 0)) + b"b"
        )  # fmt: skip
        return (
            b"cnumpy.core.multiarray\n_reconstruct\n"
            + b"cnumpy\nndarray\n" + _py2_items((0,)) + _py2_items("b") + b"\x87R"
            + b"(" + _py2_items(1) + _py2_items(tuple(value.shape)) + dtype
            + _py2_items(False) + _py2_string(np.ascontiguousarray(value).tobytes()) + b"tb"
        )  # fmt: skip
    raise TypeError(f"no Python 2 pickle of {type(value).__name__}")


def py2_pickle(value: Any) -> bytes:
    """``value`` as ``cPickle.dumps(value, 2)`` under Python 2 writes it."""
    return b"\x80\x02" + _py2_items(value) + b"."


def _idx(values: np.ndarray) -> bytes:
    header = b"\x00\x00\x08" + bytes([values.ndim]) + np.array(values.shape, ">i4").tobytes()
    return header + values.astype(np.uint8).tobytes()


def write_vision_data(root: Any, n_train: int = 200, n_test: int = 100, seed: int = 0) -> Any:
    """Random FashionMNIST and CIFAR-10 sets under ``root`` in the formats above (CIFAR-10's
    ``n_train`` images spread over data_batch_1..5); returns the arrays written:
    ``{"fashionmnist_train": (images (N, 28, 28), labels), ..., "cifar10_test": (images
    (N, 3, 32, 32), labels)}``."""
    rng = np.random.default_rng(seed)
    root = Path(root)
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    written: dict[str, Any] = {}
    for split, prefix, n in (("train", "train", n_train), ("test", "t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(_idx(images))
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(_idx(labels))
        written[f"fashionmnist_{split}"] = (images, labels)
    cifar = root / "cifar-10-batches-py"
    cifar.mkdir()
    for split, names, n in (
        ("train", [f"data_batch_{i}" for i in range(1, 6)], n_train),
        ("test", ["test_batch"], n_test),
    ):
        images = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, n).tolist()
        for number, (name, part) in enumerate(
            zip(names, np.array_split(np.arange(n), len(names)), strict=True), 1
        ):
            batch = {
                "batch_label": f"{'training' if split == 'train' else 'testing'} batch "
                f"{number if split == 'train' else 1} of {len(names)}",
                "labels": [labels[i] for i in part],
                "data": images[part],
                "filenames": [f"{CIFAR10_CLASSES[labels[i]]}_s_{i:06d}.png" for i in part],
            }
            (cifar / name).write_bytes(py2_pickle(batch))
        written[f"cifar10_{split}"] = (images.reshape(n, 3, 32, 32), np.array(labels))
    meta = {
        "num_cases_per_batch": max(1, n_train // 5),
        "label_names": list(CIFAR10_CLASSES),
        "num_vis": 3072,
    }
    (cifar / "batches.meta").write_bytes(py2_pickle(meta))
    return written
