"""Schedules: the triangular cycle, and both cycles sweeping the same η/S range."""

from __future__ import annotations

import pytest

from threefactors.empirical.schedules import Schedule
from threefactors.errors import InputError


def test_triangle_shape():
    s = Schedule("cyclic-lr", 0.1, 32, factor=5, period=4)
    assert [s.triangle(e) for e in range(9)] == [0, 0.5, 1, 0.5, 0, 0.5, 1, 0.5, 0]


def test_constant():
    s = Schedule("constant", 0.05, 64)
    assert {s.at(e) for e in range(10)} == {(0.05, 64)}


@pytest.mark.parametrize("factor", [2.0, 5.0])
def test_cycles_sweep_the_same_noise_ratio(factor):
    """Both cycles span η/S ∈ [η/(fS), η/S]; CLR holds S, CBS holds η."""
    eta, batch = 0.1, 32
    lr = [Schedule("cyclic-lr", eta, batch, factor, 4).at(e) for e in range(8)]
    bs = [Schedule("cyclic-batch", eta, batch, factor, 4).at(e) for e in range(8)]
    assert {s for _, s in lr} == {batch} and {e for e, _ in bs} == {eta}
    for values in (lr, bs):
        ratios = [e / s for e, s in values]
        assert min(ratios) == pytest.approx(eta / (factor * batch))
        assert max(ratios) == pytest.approx(eta / batch)
    assert lr[0][0] == pytest.approx(eta / factor) and bs[0][1] == round(factor * batch)
    assert Schedule("cyclic-batch", eta, batch, factor, 4).max_batch_size() == round(factor * batch)


@pytest.mark.parametrize(
    ("args", "parameter"),
    [
        (("weekly", 0.1, 32), "schedule"),
        (("constant", 0.0, 32), "lr"),
        (("constant", 0.1, 0), "batch"),
        (("cyclic-lr", 0.1, 32, 0.5), "cycle-factor"),
    ],
)
def test_bad_input(args, parameter):
    with pytest.raises(InputError) as err:
        Schedule(*args)
    assert err.value.parameter == parameter
