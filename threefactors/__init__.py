"""threefactors: the physics of SGD in three views.

- :mod:`threefactors.theory` (sympy): SGD → SDE → Fokker–Planck → stationary laws, minima
  probabilities, escape times, finite-η corrections.
- :mod:`threefactors.simulate` (numba): particle ensembles of the SDE and of minibatch SGD.
- :mod:`threefactors.empirical` (torch): real networks over (η, S) grids.

The public API, for notebooks (names load on first use, PEP 562)::

    import threefactors as tf

    well = tf.double_well(depth_left=1.0, depth_right=0.8, width_left=0.2, width_right=0.5)
    setting = tf.SGDSetting(eta=0.3, batch_size=1)           # T = ησ²/(2S) = 0.15
    tf.theory.gibbs_probabilities(well, setting)
    tf.simulate.langevin(well, setting, particles=10_000, time=50.0, scheme="lm")
    tf.empirical.train(tf.empirical.TrainConfig(lr=0.3, batch=64))   # imports torch
"""

from __future__ import annotations

from threefactors.lazy import make_lazy
from threefactors.provenance import VERSION as __version__

_EXPORTS = {
    "Landscape": "threefactors.theory.landscape",
    "SGDSetting": "threefactors.theory.setting",
    "quadratic": "threefactors.theory.builtin_landscapes",
    "double_well": "threefactors.theory.builtin_landscapes",
    "symmetric_double_well": "threefactors.theory.builtin_landscapes",
    "tilted_multiwell": "threefactors.theory.builtin_landscapes",
    "two_minima_2d": "threefactors.theory.builtin_landscapes",
}
_SUBMODULES = ("theory", "simulate", "empirical")

make_lazy(__name__)
__all__ = ["__version__", *_EXPORTS, *_SUBMODULES]
