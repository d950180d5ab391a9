"""Real networks (torch): (η, S) grids, Hessian spectra, gradient noise, Nudged SGD.

Main entry points (loaded on first use; torch is imported then, not before):
:class:`TrainConfig` and :func:`train` (one run, metrics at matched train accuracy),
:func:`run_experiment` (a resumable grid and its verdicts).
"""

from threefactors.lazy import make_lazy

_EXPORTS = {
    "TrainConfig": "threefactors.empirical.train",
    "train": "threefactors.empirical.train",
    "run_experiment": "threefactors.empirical.experiments",
}

make_lazy(__name__)
__all__ = list(_EXPORTS)
