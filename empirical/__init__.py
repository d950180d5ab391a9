"""Real networks (torch): (η, S) grids, Hessian spectra, gradient noise, Nudged SGD.

Main entry points (loaded on first use; torch is imported then, not before):
:class:`TrainConfig` and :func:`train` (one run, metrics at matched train accuracy),
:func:`train_ensemble` (many runs of one shape as one vectorised model),
:func:`run_experiment` (a resumable grid of run records; the claims judge them);
for your own networks :class:`HessianOperator` (H v without forming H),
:func:`lanczos` (top-k eigenpairs), :func:`hutchinson` / :func:`hutchpp` (Tr H) and
:func:`gradient_noise` (Tr C, |g|², B_simple = Tr C/|g|²), :func:`spectral_density` (the
Hessian's eigenvalue density by stochastic Lanczos quadrature) and :class:`Monitor` (all of
them along any torch training loop, one JSON line per measurement); the modules
``curvature`` (``measure``: all of them in one call), ``probes`` (``interpolate``,
``step_too_long``, ``fluctuation_dissipation``) and ``linear_operator`` (the operator
protocol).
"""

from threefactors.lazy import make_lazy

_EXPORTS = {
    "TrainConfig": "threefactors.empirical.train",
    "train": "threefactors.empirical.train",
    "train_ensemble": "threefactors.empirical.ensemble",
    "run_experiment": "threefactors.empirical.experiments",
    "HessianOperator": "threefactors.empirical.hessian",
    "lanczos": "threefactors.empirical.lanczos",
    "hutchinson": "threefactors.empirical.trace",
    "hutchpp": "threefactors.empirical.trace",
    "gradient_noise": "threefactors.empirical.noise",
    "spectral_density": "threefactors.empirical.slq",
    "Monitor": "threefactors.empirical.monitor",
}

#: Modules the README names as ``tf.empirical.<module>.<name>``, loaded on first access.
_SUBMODULES = ("curvature", "probes", "linear_operator")

make_lazy(__name__)
__all__ = [*_EXPORTS, *_SUBMODULES]
