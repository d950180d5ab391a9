"""MkDocs hook: the CLI reference page, generated from the argparse parsers
(:func:`threefactors.cli.build_parser`), so it never disagrees with ``--help``."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager

from mkdocs.structure.files import File, Files

WIDTH = "88"  # argparse wraps help at $COLUMNS: fits the page's code column


def subcommands(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """Every parser under ``parser``, depth first, in registration order."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):  # aliases share a parser
                yield child
                yield from subcommands(child)


@contextmanager
def _columns(width: str) -> Iterator[None]:
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = width
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("COLUMNS")
        else:
            os.environ["COLUMNS"] = old


def cli_page() -> str:
    from threefactors.cli import build_parser

    parser = build_parser()
    with _columns(WIDTH):
        parts = [
            "# CLI reference\n",
            "Generated from the command's own argparse parsers at build time (what "
            "`threefactors COMMAND --help` prints). Every computing command takes `--json`; "
            "bad input is refused with one line naming the option and exit code 2.\n",
            f"```text\n{parser.format_help()}```\n",
        ]
        for child in subcommands(parser):
            depth = len(child.prog.split()) - 1
            parts.append(f"{'#' * min(depth + 1, 4)} `{child.prog}`\n")
            parts.append(f"```text\n{child.format_help()}```\n")
    return "\n".join(parts)


def on_files(files: Files, config) -> Files:
    files.append(File.generated(config, "cli.md", content=cli_page()))
    return files
