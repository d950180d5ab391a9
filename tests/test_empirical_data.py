"""Data sets: MNIST-1D generated with the global RNG untouched, labels randomised as stated."""

from __future__ import annotations

import random  # the global states that mnist1d.set_seed touches

import numpy as np
import pytest
import torch
from scipy import stats

from threefactors.empirical import data
from threefactors.errors import InputError


@pytest.fixture(scope="module")
def mnist1d() -> data.Dataset:
    return data.load("mnist1d")


def test_mnist1d_generation_leaves_global_rng_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("THREEFACTORS_CACHE", str(tmp_path))
    np.random.seed(123)  # noqa: NPY002
    random.seed(123)
    expected = (np.random.rand(), random.random())  # noqa: NPY002
    np.random.seed(123)  # noqa: NPY002
    random.seed(123)
    fresh = data.load("mnist1d", n_train=300, n_test=100)
    assert (np.random.rand(), random.random()) == expected  # noqa: NPY002
    assert len(list(tmp_path.glob("mnist1d-*.npz"))) == 1
    cached = data.load("mnist1d", n_train=300, n_test=100)
    assert torch.equal(fresh.x_train, cached.x_train)
    assert torch.equal(fresh.y_test, cached.y_test)


@pytest.mark.parametrize("damage", ["truncated", "wrong-keys", "wrong-shape"])
def test_a_damaged_mnist1d_cache_is_moved_aside_and_regenerated(tmp_path, monkeypatch, damage):
    """A truncated or foreign cache file failed every run and was never moved aside."""
    monkeypatch.setenv("THREEFACTORS_CACHE", str(tmp_path))
    fresh = data.load("mnist1d", n_train=300, n_test=100)
    (path,) = tmp_path.glob("mnist1d-*.npz")
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:1000])
    else:
        arrays = dict(np.load(path))
        if damage == "wrong-keys":
            arrays["inputs"] = arrays.pop("x")
        else:
            arrays["x"] = arrays["x"][:7]
        np.savez(path, **arrays)
    again = data.load("mnist1d", n_train=300, n_test=100)
    assert torch.equal(again.x_train, fresh.x_train) and torch.equal(again.y_test, fresh.y_test)
    assert len(list(tmp_path.glob("mnist1d-*.npz.corrupt-*"))) == 1
    assert torch.equal(data.load("mnist1d", n_train=300, n_test=100).x_test, fresh.x_test)


def test_mnist1d_shapes_and_standardisation(mnist1d):
    assert mnist1d.x_train.shape == (4000, 1, 40)
    assert mnist1d.x_test.shape == (1000, 1, 40)
    assert mnist1d.num_classes == 10
    assert not bool(mnist1d.corrupted.any())
    # make_dataset standardises the whole set: mean 0, sd 1 over train ∪ test
    everything = torch.cat([mnist1d.x_train, mnist1d.x_test]).double()
    assert abs(float(everything.mean())) < 1e-6
    assert abs(float(everything.std()) - 1.0) < 1e-3
    # ten balanced classes: counts within 5 binomial sd of N/10
    counts = torch.bincount(mnist1d.y_train, minlength=10).double()
    assert float((counts - 400).abs().max()) < 5 * (4000 * 0.1 * 0.9) ** 0.5


def test_digits_offline():
    digits = data.load("digits")
    assert digits.input_shape == (1, 8, 8)
    assert digits.n_train + digits.x_test.shape[0] == 1797
    assert 0.0 <= float(digits.x_train.min()) and float(digits.x_train.max()) <= 1.0


def test_random_labels_fraction_and_uniform_wrong_class(mnist1d):
    noisy = data.randomize_labels(mnist1d, 0.25, seed=3)
    changed = noisy.y_train != mnist1d.y_train
    assert int(noisy.corrupted.sum()) == 1000
    assert torch.equal(changed, noisy.corrupted)  # every corrupted label is a wrong class
    # the offset (new − old) mod 10 is uniform on 1..9: chi-square goodness of fit
    shift = (noisy.y_train - mnist1d.y_train)[changed] % 10
    observed = torch.bincount(shift, minlength=10)[1:].numpy()
    assert stats.chisquare(observed).pvalue > 1e-4
    again = data.randomize_labels(mnist1d, 0.25, seed=3)
    other = data.randomize_labels(mnist1d, 0.25, seed=4)
    assert torch.equal(again.y_train, noisy.y_train)
    assert not torch.equal(other.corrupted, noisy.corrupted)
    assert data.randomize_labels(mnist1d, 0.0, seed=3) is mnist1d


def test_subset_and_measurement_subset(mnist1d):
    part = data.subset(mnist1d, 500, seed=1)
    assert part.n_train == 500
    assert torch.equal(part.x_test, mnist1d.x_test)
    # every kept row is a row of the original training set, with its own label
    rows = {
        tuple(x.flatten().tolist()): int(y)
        for x, y in zip(mnist1d.x_train, mnist1d.y_train, strict=True)
    }
    assert all(
        rows[tuple(x.flatten().tolist())] == int(y)
        for x, y in zip(part.x_train, part.y_train, strict=True)
    )
    x1, y1 = data.measurement_subset(mnist1d, 700)
    x2, y2 = data.measurement_subset(mnist1d, 700)
    assert x1.shape[0] == 700 and torch.equal(x1, x2) and torch.equal(y1, y2)
    assert data.measurement_subset(mnist1d, 10**6)[0].shape[0] == 4000


def test_hold_out_splits_the_training_set_disjointly_and_reproducibly(mnist1d):
    """10% of the 4000 training rows move to validation: the two parts partition the
    original rows (no example in both, none lost) and the split is fixed by the seed."""
    split = data.hold_out(mnist1d, 0.1, seed=3)
    assert split.n_train == 3600 and split.x_val.shape[0] == 400
    rows = lambda x: {tuple(r.flatten().tolist()) for r in x}  # noqa: E731
    train, val = rows(split.x_train), rows(split.x_val)
    assert not train & val and train | val == rows(mnist1d.x_train)
    again = data.hold_out(mnist1d, 0.1, seed=3)
    assert torch.equal(again.x_val, split.x_val) and torch.equal(again.y_val, split.y_val)
    assert not torch.equal(data.hold_out(mnist1d, 0.1, seed=4).x_val, split.x_val)
    assert data.hold_out(mnist1d, 0.0, seed=3) is mnist1d


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda d: data.load("imagenet"), "dataset"),
        (lambda d: data.randomize_labels(d, 1.0, 0), "random-labels"),
        (lambda d: data.randomize_labels(d, -0.1, 0), "random-labels"),
        (lambda d: data.subset(d, 5000, 0), "n-train"),
        (lambda d: data.hold_out(d, 1.0, 0), "validation"),
        (lambda d: data.load("cifar10"), "data-dir"),
        (lambda d: data.load("fashionmnist", data_dir="/no/such/dir"), "data-dir"),
    ],
)
def test_bad_input_names_the_parameter(mnist1d, call, parameter):
    with pytest.raises(InputError) as err:
        call(mnist1d)
    assert err.value.parameter == parameter
