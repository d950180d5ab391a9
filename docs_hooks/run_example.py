"""Run one gallery script as ``__main__`` and save every matplotlib figure it makes.

``python run_example.py SCRIPT OUTDIR``: the script runs unchanged (as a user runs it);
``plt.show()`` — and the end of the script — save the open figures as
``OUTDIR/<stem>_<n>.png`` in the order they were made, then close them. stdout and stderr
pass through to the caller (the gallery hook captures them).
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

DPI = 110


def main(script: str, outdir: str) -> None:
    stem = Path(script).stem
    saved: list[Path] = []

    def save_open_figures(*_args: object, **_kwargs: object) -> None:
        for number in plt.get_fignums():
            path = Path(outdir) / f"{stem}_{len(saved) + 1}.png"
            plt.figure(number).savefig(path, dpi=DPI, bbox_inches="tight")
            saved.append(path)
        plt.close("all")

    plt.show = save_open_figures
    sys.argv = [script]
    runpy.run_path(script, run_name="__main__")  # the project's own example, not user input
    save_open_figures()


if __name__ == "__main__":
    main(*sys.argv[1:])
