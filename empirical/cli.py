"""CLI subcommands of threefactors.empirical (registered by threefactors.cli)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this view's subcommands. Import heavy modules inside the handlers only."""
