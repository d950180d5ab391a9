"""The memory budget is a fraction of the memory available now, checked before allocating."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator

import pytest

from threefactors import resources
from threefactors.errors import InputError
from threefactors.theory.landscape import Landscape


@pytest.fixture
def budget() -> Iterator[None]:
    yield
    resources.set_memory_budget(None)


def test_budget_is_a_fraction_of_available_memory(budget) -> None:
    available = resources.available_memory()
    assert available > 0
    # MemAvailable moves between the two reads: allow 10% of it
    assert abs(resources.memory_budget() - resources.FRACTION * available) <= 0.1 * available
    resources.set_memory_budget(2**20)
    assert resources.memory_budget() == 2**20


def test_check_memory_names_the_option(budget) -> None:
    resources.set_memory_budget(1000)
    resources.check_memory(1000, "particles", 1)
    with pytest.raises(InputError) as info:
        resources.check_memory(1001, "particles", 7)
    assert info.value.parameter == "particles" and "--memory-budget" in str(info.value)
    with pytest.raises(InputError):
        resources.set_memory_budget(0)


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        ("sgd", "examples"),  # simulate sgd --examples 10^9 allocated 6 GiB before refusing
        ("langevin", "particles"),
    ],
)
def test_refused_before_allocating(call: str, parameter: str, budget) -> None:
    """With a 64 MiB budget, 10^9 examples / particles are refused having allocated < 1 MiB."""
    from threefactors.simulate.ensemble import langevin
    from threefactors.simulate.sgd import sgd

    landscape = Landscape.from_string("(x^2-1)^2")
    resources.set_memory_budget(64 * 2**20)
    tracemalloc.start()
    try:
        with pytest.raises(InputError) as info:
            if call == "sgd":
                sgd(landscape, eta=0.1, batch_size=1, examples=10**9, steps=1, particles=1)
            else:
                langevin(landscape, eta=0.1, steps=1, particles=10**9)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info.value.parameter == parameter
    assert peak < 2**20


def test_an_explicit_budget_reaches_worker_processes(budget) -> None:
    """Grid workers are fresh processes: the budget travels in the environment."""
    import subprocess
    import sys

    resources.set_memory_budget(12345)
    code = "from threefactors import resources; print(resources.memory_budget())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "12345"
