"""FashionMNIST and CIFAR-10 from torchvision's on-disk layout: the arrays read back are the
arrays written; corrupt or code-carrying files are refused with one line; VGG-11 and
ResNet-32 train on them through the ``train`` command."""

from __future__ import annotations

import json
import math
import os
import pickle
import struct

import numpy as np
import pytest

from threefactors.cli import main
from threefactors.empirical import data
from threefactors.errors import InputError


def test_the_fixture_files_have_the_real_formats(vision_data):
    """IDX magic numbers 2051 (images, 3 dims) and 2049 (labels, 1 dim) with big-endian
    sizes; CIFAR-10 batches are Python 2 protocol-2 pickles: read by the data set's own
    recipe, ``pickle.load(f, encoding="bytes")``, their keys are byte strings (a Python 3
    pickle would give str keys), ``data`` an (N, 3072) uint8 array, ``labels`` a list of
    ints; ``batches.meta`` names the ten classes."""
    root, written = vision_data
    raw = root / "FashionMNIST" / "raw"
    for name, magic, shape in (
        ("train-images-idx3-ubyte", 2051, (200, 28, 28)),
        ("train-labels-idx1-ubyte", 2049, (200,)),
        ("t10k-images-idx3-ubyte", 2051, (100, 28, 28)),
        ("t10k-labels-idx1-ubyte", 2049, (100,)),
    ):
        content = (raw / name).read_bytes()
        head = struct.unpack(f">{1 + len(shape)}i", content[: 4 + 4 * len(shape)])
        assert head == (magic, *shape)
        assert len(content) == 4 + 4 * len(shape) + math.prod(shape)
    cifar = root / "cifar-10-batches-py"
    sizes = []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        content = (cifar / name).read_bytes()
        assert content[:3] == b"\x80\x02}"  # protocol 2, a dict
        batch = pickle.loads(content, encoding="bytes")
        assert set(batch) == {b"batch_label", b"labels", b"data", b"filenames"}
        assert batch[b"data"].dtype == np.uint8 and batch[b"data"].shape[1] == 3072
        assert all(type(v) is int for v in batch[b"labels"])
        assert len(batch[b"labels"]) == len(batch[b"filenames"]) == len(batch[b"data"])
        sizes.append(len(batch[b"data"]))
    assert sizes == [40] * 5 + [100]
    first = pickle.loads((cifar / "data_batch_1").read_bytes(), encoding="bytes")
    images, labels = written["cifar10_train"]
    np.testing.assert_array_equal(first[b"data"], images[:40].reshape(40, 3072))
    assert first[b"labels"] == labels[:40].tolist()
    meta = pickle.loads((cifar / "batches.meta").read_bytes(), encoding="latin1")
    assert meta["label_names"][:2] == ["airplane", "automobile"] and meta["num_vis"] == 3072


def test_fashionmnist_reads_back_what_was_written(vision_data):
    root, written = vision_data
    loaded = data.load("fashionmnist", data_dir=str(root))
    for split, x, y in (
        ("train", loaded.x_train, loaded.y_train),
        ("test", loaded.x_test, loaded.y_test),
    ):
        images, labels = written[f"fashionmnist_{split}"]
        assert x.shape == (len(images), 1, 28, 28)
        np.testing.assert_array_equal(x.numpy(), images[:, None].astype(np.float32) / 255)
        np.testing.assert_array_equal(y.numpy(), labels)
    assert loaded.num_classes == int(max(written["fashionmnist_train"][1].max(),
                                         written["fashionmnist_test"][1].max())) + 1  # fmt: skip


def test_cifar10_reads_back_what_was_written_and_is_standardised(vision_data):
    """Images come back in the written channel-first order, standardised per channel with
    the training set's mean and standard deviation (float32 rounding: 1e-5)."""
    root, written = vision_data
    loaded = data.load("cifar10", data_dir=str(root))
    train, labels = written["cifar10_train"]
    test, test_labels = written["cifar10_test"]
    pixels = train.astype(np.float64) / 255
    mean = pixels.mean(axis=(0, 2, 3), keepdims=True)
    std = pixels.std(axis=(0, 2, 3), keepdims=True)
    np.testing.assert_allclose(loaded.x_train.numpy(), (pixels - mean) / std, atol=1e-5)
    np.testing.assert_allclose(loaded.x_test.numpy(), (test / 255 - mean) / std, atol=1e-5)
    np.testing.assert_array_equal(loaded.y_train.numpy(), labels)
    np.testing.assert_array_equal(loaded.y_test.numpy(), test_labels)


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


IDX = b"\x00\x00\x08\x03" + np.array([5, 28, 28], ">i4").tobytes()
TRAIN_IMAGES = "FashionMNIST/raw/train-images-idx3-ubyte"
TEST_BATCH = "cifar-10-batches-py/test_batch"


def _idx(*shape: int) -> bytes:
    return b"\x00\x00\x08" + bytes([len(shape)]) + np.array(shape, ">i4").tobytes()


def _batch(labels, key: bytes = b"labels", pixel: int = 0) -> bytes:
    data = np.full((len(labels), 3072), pixel, np.uint8)
    return pickle.dumps({b"data": data, key: labels})


@pytest.mark.parametrize(
    ("dataset", "file", "content", "message"),
    [
        ("cifar10", "cifar-10-batches-py/test_batch",
         pickle.dumps({"data": _RunsCode(), "labels": []}), "posix.system is not allowed"),
        ("cifar10", "cifar-10-batches-py/data_batch_2",
         pickle.dumps({"data": np.zeros((2, 3), np.uint8), "labels": [0, 1]}), "N × 3072"),
        ("cifar10", "cifar-10-batches-py/data_batch_1", pickle.dumps([1, 2]), "no dict"),
        ("fashionmnist", "FashionMNIST/raw/t10k-images-idx3-ubyte", IDX + b"\x00" * 10,
         "size mismatch"),
        ("fashionmnist", "FashionMNIST/raw/train-labels-idx1-ubyte", b"PK\x03\x04",
         "bad magic number"),
        # sizes whose int32 product wraps to the file's size, negative, zero examples
        ("fashionmnist", TRAIN_IMAGES, _idx(65536, 65536, 1) + b"\x00" * 4, "size mismatch"),
        ("fashionmnist", TRAIN_IMAGES, _idx(-1, 28, 28), "< 0"),
        ("fashionmnist", TRAIN_IMAGES, _idx(0, 28, 28), "each ≥ 1, got (0, 28, 28)"),
        ("fashionmnist", TRAIN_IMAGES, _idx(20, 0, 0), "each ≥ 1, got (20, 0, 0)"),
        ("cifar10", TEST_BATCH, _batch([2**70] * 10), "one integer label 0…9"),
        ("cifar10", TEST_BATCH, _batch(["a"] * 10), "one integer label 0…9"),
        ("cifar10", TEST_BATCH, _batch([float("nan")] * 10), "one integer label 0…9"),
        ("cifar10", TEST_BATCH, _batch([1.7] * 10), "got [1.7, 1.7,"),  # was truncated to 1
        ("cifar10", TEST_BATCH, _batch([1] * 10, key=b"\xff\xfe"), "needs 'data' and 'labels'"),
    ],
)  # fmt: skip
def test_damaged_or_code_carrying_files_are_refused(tmp_path, dataset, file, content, message):
    from torchvision_layout import write_vision_data

    write_vision_data(tmp_path, n_train=20, n_test=10)
    (tmp_path / file).write_bytes(content)
    with pytest.raises(InputError, match="data-dir") as err:
        data.load(dataset, data_dir=str(tmp_path))
    assert message in str(err.value) and file.split("/")[-1] in str(err.value)


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "folder"])
@pytest.mark.parametrize(
    ("dataset", "file"), [("fashionmnist", TRAIN_IMAGES), ("cifar10", TEST_BATCH)]
)
def test_only_regular_files_are_read(tmp_path, kind, dataset, file):
    """A link to /dev/zero read 3 GB; a FIFO hung the read. Now: one line, nothing read."""
    import tracemalloc

    from torchvision_layout import write_vision_data

    write_vision_data(tmp_path, n_train=20, n_test=10)
    path = tmp_path / file
    path.unlink()
    {"dev-zero": lambda: path.symlink_to("/dev/zero"), "fifo": lambda: os.mkfifo(path),
     "folder": path.mkdir}[kind]()  # fmt: skip
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match="not a regular file"):
            data.load(dataset, data_dir=str(tmp_path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20


def test_constant_cifar_images_are_refused_not_nan(tmp_path, capsys):
    """Every pixel the same: std 0, NaN inputs, every metric null and exit 0; now refused."""
    from torchvision_layout import write_vision_data

    write_vision_data(tmp_path, n_train=20, n_test=10)
    for name in [f"data_batch_{i}" for i in range(1, 6)]:  # 7/255: its float32 std is not 0
        (tmp_path / "cifar-10-batches-py" / name).write_bytes(_batch([3] * 4, pixel=7))
    argv = ["train", "--dataset", "cifar10", "--data-dir", str(tmp_path), "--epochs", "1"]
    assert main([*argv, "--no-measure", "--batch", "4"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "constant in a channel (std 0)" in err[0]


@pytest.mark.parametrize(("dataset", "model"), [("cifar10", "vgg11"), ("fashionmnist", "resnet32")])
def test_paper_models_train_on_the_files(vision_data, capsys, dataset, model):
    """Two SGD steps (64 examples, S = 32) through ``train``: a finite record of 1 epoch."""
    root, _ = vision_data
    argv = ["train", "--dataset", dataset, "--model", model, "--data-dir", str(root),
            "--n-train", "64", "--n-test", "32", "--batch", "32", "--epochs", "1",
            "--lr", "0.01", "--no-measure", "--json"]  # fmt: skip
    assert main(argv) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["config"]["model"] == model and record["config"]["dataset"] == dataset
    assert not record["diverged"] and len(record["history"]) == 2
    assert np.isfinite(record["final"]["train_loss"])
