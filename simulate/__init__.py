"""Numba particle ensembles of the SGD SDE and of true minibatch SGD."""
