"""threefactors: the physics of SGD in three views.

- :mod:`threefactors.theory` (sympy): SGD → SDE → Fokker–Planck → stationary laws, minima
  probabilities, escape times, finite-η corrections.
- :mod:`threefactors.simulate` (numba): particle ensembles of the SDE and of minibatch SGD.
- :mod:`threefactors.empirical` (torch): real networks over (η, S) grids.
"""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("threefactors")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0+unknown"

__all__ = ["__version__"]
