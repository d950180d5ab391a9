"""Integrators of the SGD SDE, declared as data: the ensemble runner is written once.

Every scheme advances θ by one step dt in SDE time (t = kη) as

    θ_{k+1} = θ_k − ∇L(θ_k) dt + w_new ζ_{k+1} + w_old ζ_k,

where ζ_k is the k-th noise increment of the noise model (for isotropic noise
ζ = sqrt(2T dt) ξ, T = ησ²/(2S), ξ ~ N(0, I)). The two weights are all that distinguish the
schemes: each declares the per-coordinate kernel lines that apply them (``update``: ``{x}``
is θ_i, ``{g}`` is ∂_iL, ``Z[j, {i}]`` is ζ_{k+1,i} and ``ZP[p, {i}]`` the previous ζ_{k,i};
the new value goes to ``v``), so one code generator writes them all (the scheme with
w_old = 0 keeps no memory of the previous noise).

- ``em``, Euler–Maruyama (w_new = 1, w_old = 0): weak order 1 (Kloeden & Platen 1992,
  §14.1). On the OU process dθ = −hθ dt + sqrt(2T) dW its stationary variance is
  T/(h(1 − h dt/2)) (discrete Lyapunov), a dt-bias of relative size h dt/2. With dt = η and
  the minibatch noise model (see :mod:`threefactors.simulate.noise_models`) it *is* SGD.
- ``lm``, Leimkuhler–Matthews (w_new = w_old = 1/2; Leimkuhler & Matthews, AMRX 2013, 34;
  Leimkuhler, Matthews & Stoltz, IMA J. Numer. Anal. 36, 2016): the same cost as EM, weak
  order 2 for stationary averages with additive noise. On the OU process its stationary
  variance is exactly T/h for every stable dt (derivation: θ_k = u_k + ζ_k/2 with u_k
  independent of ζ_k gives Var θ = c²/(2(1 − a)), a = 1 − h dt, c² = 2T dt). Use it for
  stationary laws (occupancies, variances); for escape times use ``em`` with a small dt,
  since both are weak order 1 for the dynamics.
"""

from __future__ import annotations

from dataclasses import dataclass

from threefactors.errors import InputError


@dataclass(frozen=True)
class Scheme:
    """One integrator: its noise weights and what it is good for."""

    name: str
    w_new: float
    w_old: float
    update: str
    weak_order: int
    stationary_weak_order: int
    additive_noise_only: bool
    summary: str

    @property
    def uses_previous_noise(self) -> bool:
        return self.w_old != 0.0


#: The registry: every scheme :func:`.ensemble.langevin` and the CLI can choose, by name.
SCHEMES: dict[str, Scheme] = {}


def register(scheme: Scheme) -> Scheme:
    """Add ``scheme`` to :data:`SCHEMES` (its name must be new); return it."""
    if scheme.name in SCHEMES:
        raise ValueError(f"scheme {scheme.name!r} is already registered")
    SCHEMES[scheme.name] = scheme
    return scheme


EULER_MARUYAMA = register(
    Scheme(
        "em",
        1.0,
        0.0,
        "v = {x} - {g} * dt + Z[j, {i}]",
        1,
        1,
        False,
        "Euler–Maruyama; dt = η with minibatch noise is SGD",
    )
)
LEIMKUHLER_MATTHEWS = register(
    Scheme(
        "lm",
        0.5,
        0.5,
        "v = {x} - {g} * dt + 0.5 * (Z[j, {i}] + ZP[p, {i}])\nZP[p, {i}] = Z[j, {i}]",
        1,
        2,
        True,
        "Leimkuhler–Matthews; second order for stationary averages (additive noise)",
    )
)


def get_scheme(name: str, additive_noise: bool) -> Scheme:
    """The scheme called ``name``, checked against the noise model (parameter "scheme")."""
    if name not in SCHEMES:
        raise InputError("scheme", name, f"unknown scheme; choose one of {', '.join(SCHEMES)}")
    scheme = SCHEMES[name]
    if scheme.additive_noise_only and not additive_noise:
        raise InputError(
            "scheme", name, "needs additive (state-independent) noise; use 'em' for this noise"
        )
    return scheme
