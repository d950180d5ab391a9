"""argparse types: finite numbers in range, integers, seeds, memory sizes, output folders."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from threefactors import options


@pytest.mark.parametrize(
    ("parse", "text", "value"),
    [
        (options.positive, "0.1", 0.1),
        (options.positive, "1e-300", 1e-300),
        (options.nonnegative, "0", 0.0),
        (options.real(0.0, 1.0, open_high=True), "0.999", 0.999),
        (options.count, "10", 10),
        (options.count, "1e6", 1_000_000),
        (options.integer(0), "0", 0),
        (options.seed, str(2**64 - 1), 2**64 - 1),
        (options.memory, "2G", 2 * 2**30),
        (options.memory, "512MiB", 512 * 2**20),
        (options.memory, "1000", 1000),
    ],
)
def test_accepted(parse, text: str, value: float) -> None:
    assert parse(text) == value


@pytest.mark.parametrize(
    ("parse", "text", "says"),
    [
        (options.positive, "0", "> 0"),
        (options.positive, "inf", "finite"),
        (options.positive, "nan", "finite"),
        (options.positive, "-inf", "finite"),
        (options.positive, "a", "a number"),
        (options.nonnegative, "-1e-9", "≥ 0"),
        (options.real(0.0, 1.0, open_high=True), "1", "[0, 1)"),
        (options.real(0.0, 1.0, open_low=True), "0", "(0, 1]"),
        (options.count, "0", "≥ 1"),
        (options.count, "1.5", "integer"),
        (options.count, "10^12", "integer"),
        (options.count, "inf", "integer"),
        (options.seed, str(2**64), "0..18446744073709551615"),
        (options.seed, "-1", "0.."),
        (options.memory, "0", "> 0"),
        (options.memory, "xG", "a size"),
        (options.memory, "infG", "a size"),
    ],
)
def test_refused_with_the_reason(parse, text: str, says: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as info:
        parse(text)
    assert says in str(info.value) and repr(text) in str(info.value)


def test_output_dir(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    assert options.output_dir(str(tmp_path / "new" / "deep")) == tmp_path / "new" / "deep"
    assert not (tmp_path / "new").exists()  # checked, not created
    assert options.output_dir(str(tmp_path)) == tmp_path
    for bad, says in (
        ("", "empty"),
        ("  ", "empty"),
        (str(tmp_path / "file"), "is a file"),
        (str(tmp_path / "file" / "sub"), "under the file"),
    ):
        with pytest.raises(argparse.ArgumentTypeError, match=says):
            options.output_dir(bad)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_output_dir_not_writable(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(argparse.ArgumentTypeError, match="cannot write"):
        options.output_dir(str(locked / "out"))


def test_a_parser_reports_the_option_as_typed() -> None:
    parser = argparse.ArgumentParser(exit_on_error=False)
    parser.add_argument("--lr", type=options.positive)
    with pytest.raises(argparse.ArgumentError, match="argument --lr: must be a finite number"):
        parser.parse_args(["--lr", "inf"])
