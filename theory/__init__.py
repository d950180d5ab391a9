"""Symbolic theory of SGD (sympy): SDE, Fokker–Planck, stationary laws, minima, escape.

Main entry points (loaded on first use): :class:`Landscape`, :class:`SGDSetting`,
:func:`critical_points`, :func:`gibbs_probabilities` / :func:`laplace_probabilities`,
:func:`laplace_crossover`, :func:`kramers_time` / :func:`escape_routes` /
:func:`mean_first_passage_time`, :func:`derive` (SGD → SDE → Fokker–Planck, verified),
:func:`quadratic_stationary` (SDE vs discrete SGD in a quadratic basin), and the built-in
landscapes. The science is in docs/theory.md.
"""

from threefactors.lazy import make_lazy

_EXPORTS = {
    "Landscape": "threefactors.theory.landscape",
    "SGDSetting": "threefactors.theory.setting",
    "critical_points": "threefactors.theory.critical",
    "gibbs_probabilities": "threefactors.theory.gibbs",
    "laplace_probabilities": "threefactors.theory.gibbs",
    "laplace_crossover": "threefactors.theory.gibbs",
    "gibbs_crossover": "threefactors.theory.gibbs",
    "escape_routes": "threefactors.theory.escape",
    "kramers_time": "threefactors.theory.escape",
    "mean_first_passage_time": "threefactors.theory.escape",
    "derive": "threefactors.theory.sde",
    "quadratic_stationary": "threefactors.theory.stationary",
    "mean_square_bound": "threefactors.theory.stationary",
    "quadratic": "threefactors.theory.builtin_landscapes",
    "double_well": "threefactors.theory.builtin_landscapes",
    "symmetric_double_well": "threefactors.theory.builtin_landscapes",
    "tilted_multiwell": "threefactors.theory.builtin_landscapes",
    "two_minima_2d": "threefactors.theory.builtin_landscapes",
}

make_lazy(__name__)
__all__ = list(_EXPORTS)
