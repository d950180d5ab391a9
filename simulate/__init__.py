"""Numba particle ensembles of the SGD SDE and of true minibatch SGD.

Main entry points (loaded on first use): :func:`langevin` (the SDE), :func:`sgd` (true
minibatch SGD on a finite sum), :func:`sweep` (a grid over η, S, σ), :class:`Observe` with
:class:`Histogram` and :class:`FirstPassage` (what a run measures), and the registries
:data:`NOISE_MODELS` and :data:`SCHEMES`.
"""

from threefactors.lazy import make_lazy
from threefactors.simulate.kernel_cache import guard_numba_cache_dir

guard_numba_cache_dir()  # before numba caches anything (see kernel_cache)

_EXPORTS = {
    "langevin": "threefactors.simulate.ensemble",
    "EnsembleResult": "threefactors.simulate.ensemble",
    "sgd": "threefactors.simulate.sgd",
    "sweep": "threefactors.simulate.sweep",
    "Observe": "threefactors.simulate.observers",
    "Histogram": "threefactors.simulate.observers",
    "FirstPassage": "threefactors.simulate.observers",
    "NOISE_MODELS": "threefactors.simulate.noise_models",
    "SCHEMES": "threefactors.simulate.schemes",
}

make_lazy(__name__)
__all__ = list(_EXPORTS)
