"""Numba particle ensembles of the SGD SDE and of true minibatch SGD.

Main entry points (loaded on first use): :func:`langevin` (the SDE), :func:`sgd` (true
minibatch SGD on a finite sum), :func:`sweep` (a grid over η, S, σ), :class:`Observe` with
:class:`Histogram` and :class:`FirstPassage` (what a run measures), and the registries
:data:`NOISE_MODELS` and :data:`SCHEMES`.
"""

from threefactors.lazy import lazy_exports

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

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = list(_EXPORTS)
