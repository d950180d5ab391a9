"""Real networks (torch): (η, S) grids, Hessian spectra, gradient noise, Nudged SGD."""
