"""Error messages name the parameter and print its value cut short, whatever the value."""

from __future__ import annotations

import tracemalloc

import pytest

from threefactors.errors import VALUE_CHARS, InputError, shorten


def _bomb(levels: int = 9) -> list:
    """Nine references per level: 9**9 ≈ 3.9e8 strings if it were ever written out."""
    value: list = ["x"] * 9
    for _ in range(levels):
        value = [value] * 9
    return value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.1, "0.1"),
        ("tcp://127.0.0.1:8786", "'tcp://127.0.0.1:8786'"),
        (10**38, str(10**38)),  # 128 bits: printed in full
        (10**116, "<an integer of about 117 digits>"),
        (-(10**5000), "<a negative integer of about 5001 digits>"),  # over the 4300 limit
    ],
    ids=["float", "text", "int-128-bits", "int-117-digits", "int-5001-digits"],
)
def test_short_values_in_full_and_huge_integers_by_their_size(value, expected) -> None:
    assert shorten(value) == expected


def test_a_long_text_keeps_its_start_and_end() -> None:
    path = "/data/" + "deep/" * 40 + "train-images-idx3-ubyte"
    text = shorten(path)
    assert len(text) <= VALUE_CHARS and text.startswith("'/data/deep")
    assert text.endswith("train-images-idx3-ubyte'")


def test_a_nested_bomb_is_never_written_out() -> None:
    """A YAML alias bomb's value made a 2.4 GB error message."""
    tracemalloc.start()
    try:
        message = str(InputError("jobs-config memory", _bomb(), "expected str"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert message.startswith("jobs-config memory=[[[") and message.endswith(": expected str")
    assert len(message) < VALUE_CHARS + 50 and peak < 2**20
