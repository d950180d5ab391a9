"""FashionMNIST and CIFAR-10 from torchvision's on-disk layout: the arrays read back are the
arrays written; corrupt or code-carrying files are refused with one line; VGG-11 and
ResNet-32 train on them through the ``train`` command."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest

from threefactors.cli import main
from threefactors.empirical import data
from threefactors.errors import InputError


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
    ],
)  # fmt: skip
def test_damaged_or_code_carrying_files_are_refused(tmp_path, dataset, file, content, message):
    from conftest import write_vision_data

    write_vision_data(tmp_path, n_train=20, n_test=10)
    (tmp_path / file).write_bytes(content)
    with pytest.raises(InputError, match="data-dir") as err:
        data.load(dataset, data_dir=str(tmp_path))
    assert message in str(err.value) and file.split("/")[-1] in str(err.value)


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
