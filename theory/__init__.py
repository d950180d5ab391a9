"""Symbolic theory of SGD (sympy): SDE, Fokker–Planck, stationary laws, minima, escape."""
