"""The ``threefactors`` command line.

Each view registers its own subcommands (``theory/cli.py``, ``simulate/cli.py``,
``empirical/cli.py``) through a ``register(subparsers)`` function that imports only argparse
at module level, so start-up stays fast; heavy imports happen inside the handlers.
Every computing subcommand takes ``--json`` and prints one JSON document on stdout.
Bad input (:class:`~threefactors.errors.InputError` or an argparse error) prints one line
on stderr and exits with code 2; a Python parameter name (``eta``) is reported as its flag
(``lr``). Output goes through :func:`threefactors.output.emit` (base layer).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import NoReturn

from threefactors.errors import InputError

EXIT_BAD_INPUT = 2
#: The Python API names a quantity once (eta, batch_size); the CLI flags that are a contract
#: (--lr, --batch) keep theirs, so an error raised below the CLI is reported by its flag.
FLAG_NAMES = {"eta": "lr", "batch_size": "batch"}


class Terminated(KeyboardInterrupt):
    """SIGTERM: the command stops as on Ctrl-C — worker processes stopped, checkpoints kept,
    and the interpreter's own clean-up run (killed outright by the default handler, a
    parallel grid left its worker pool's semaphores to the resource tracker, which warned
    of leaked semaphores)."""


def _terminate(signum: int, frame: object) -> NoReturn:
    raise Terminated


@contextlib.contextmanager
def _sigterm_stops_cleanly() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line naming the problem (exit code 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def build_parser() -> OneLineParser:
    from threefactors import __version__, bench, monitor_cli, reproduce
    from threefactors.empirical import cli as empirical_cli
    from threefactors.simulate import cli as simulate_cli
    from threefactors.theory import cli as theory_cli

    parser = OneLineParser(
        prog="threefactors",
        description="How learning rate, batch size and gradient noise decide the minima SGD "
        "finds: derive it (theory), watch it (simulate), test it on networks (empirical).",
    )
    parser.add_argument("--version", action="version", version=f"threefactors {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for module in (theory_cli, simulate_cli, empirical_cli, monitor_cli, bench, reproduce):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, --version, or a refused option (one line printed)
        return int(done.code or 0)
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    try:
        with _sigterm_stops_cleanly():
            code = args.func(args)
    except InputError as err:
        flag = FLAG_NAMES.get(err.parameter, err.parameter)
        print(
            f"threefactors {args.command}: error: {InputError(flag, err.value, err.reason)}",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # output piped into `head`: stop quietly
        sys.stdout = open(os.devnull, "w")  # the interpreter flushes stdout at exit
        return 0
    except Terminated:
        print(f"threefactors {args.command}: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print(f"threefactors {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
