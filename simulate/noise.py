"""Gradient-noise models, as source snippets for the generated kernel plus their data.

A step of every simulator is θ ← θ − ∇L(θ) dt + ζ (see :mod:`.schemes`); the noise model
says how the increment ζ is drawn. Each snippet is the body of
``noise(X, p, Z, nd, W, H, P, s0, s1, s2, s3)``: it writes ζ for particle ``p`` (position
``X[p]``) into ``Z``, reading its data tuple ``nd``, with scratch ``W`` (d), ``H`` (d×d),
``P`` (example indices) and the generator state ``s0..s3``, which it returns.

SDE models, dθ = −∇L dt + sqrt(η/S) B(θ) dW with B Bᵀ = C (THEORY.md, "Continuous-time
model"); an increment over dt is ζ = sqrt(η dt/S) B(θ) ξ, ξ ~ N(0, I):

- ``isotropic``: C = σ² I, ζ = sqrt(2T dt) ξ with T = ησ²/(2S).
- ``constant``: a given constant positive semi-definite C = B Bᵀ (B = V Λ^{1/2} Vᵀ).
- ``hessian``: C = σ² H(θ)₊, the curvature-shaped noise of Zhu et al. / Xie et al.; H₊ keeps
  the non-negative part of the spectrum (H = V Λ Vᵀ → V max(Λ, 0) Vᵀ) so that B = σ H₊^{1/2}
  exists where the loss is concave.

Minibatch models (true SGD, dt = η): ζ = −η (g_S − g), the deviation of the minibatch mean
of per-example gradients from the full gradient (:mod:`.finite_sum` builds the data):

- ``shift``: ℓ_i = L + a_i·θ, so g_S − g = mean_{i∈B} a_i.
- ``regression``: ℓ_i = L + ½(x_i·θ − y_i)² − ½ mean_j (x_j·θ − y_j)², so
  g_S − g = mean_{i∈B} x_i(x_i·θ − y_i) − (Mθ − m), M = mean x xᵀ, m = mean x y.

Minibatch indices: with replacement i ~ U{0..N−1} independently; without replacement a
partial Fisher–Yates shuffle of ``P`` (S distinct indices, uniform over subsets).
"""

from __future__ import annotations

from dataclasses import dataclass

from threefactors.errors import InputError


@dataclass(frozen=True)
class NoiseModel:
    """How ζ is drawn: its kernel snippet, and whether it is additive / minibatch noise."""

    name: str
    additive: bool
    minibatch: bool
    needs_hessian: bool
    snippet: str


_ISOTROPIC = """\
    amp = nd[0]
    for i in range(D):
        z, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
        Z[i] = amp * z
"""

_CONSTANT = """\
    amp = nd[0]
    B = nd[1]
    for i in range(D):
        W[i], s0, s1, s2, s3 = normal(s0, s1, s2, s3)
    for i in range(D):
        acc = 0.0
        for j in range(D):
            acc += B[i, j] * W[j]
        Z[i] = amp * acc
"""

_HESSIAN = """\
    amp = nd[0]
    hess(X, p, H)
    if D == 1:
        z, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
        Z[0] = amp * math.sqrt(max(H[0, 0], 0.0)) * z
        return s0, s1, s2, s3
    lam, V = np.linalg.eigh(H)
    for i in range(D):
        z, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
        W[i] = math.sqrt(max(lam[i], 0.0)) * z
    for i in range(D):
        acc = 0.0
        for j in range(D):
            acc += V[i, j] * W[j]
        Z[i] = amp * acc
"""

_SHIFT = """\
    eta = nd[0]
    A = nd[1]
    S = nd[2]
    replace = nd[3]
    n_ex = A.shape[0]
    for i in range(D):
        Z[i] = 0.0
    for j in range(S):
        idx, s0, s1, s2, s3 = batch_index(P, j, n_ex, replace, s0, s1, s2, s3)
        for i in range(D):
            Z[i] += A[idx, i]
    c = -eta / S
    for i in range(D):
        Z[i] *= c
"""

_REGRESSION = """\
    eta = nd[0]
    Xd = nd[1]
    y = nd[2]
    M = nd[3]
    m = nd[4]
    S = nd[5]
    replace = nd[6]
    n_ex = Xd.shape[0]
    for i in range(D):
        acc = m[i]
        for j in range(D):
            acc -= M[i, j] * X[p, j]
        Z[i] = S * acc
    for j in range(S):
        idx, s0, s1, s2, s3 = batch_index(P, j, n_ex, replace, s0, s1, s2, s3)
        r = -y[idx]
        for i in range(D):
            r += Xd[idx, i] * X[p, i]
        for i in range(D):
            Z[i] += Xd[idx, i] * r
    c = -eta / S
    for i in range(D):
        Z[i] *= c
"""

NOISE_MODELS: dict[str, NoiseModel] = {
    m.name: m
    for m in (
        NoiseModel("isotropic", True, False, False, _ISOTROPIC),
        NoiseModel("constant", True, False, False, _CONSTANT),
        NoiseModel("hessian", False, False, True, _HESSIAN),
        NoiseModel("shift", True, True, False, _SHIFT),
        NoiseModel("regression", False, True, False, _REGRESSION),
    )
}

SDE_NOISES = tuple(n for n, m in NOISE_MODELS.items() if not m.minibatch)
MINIBATCH_NOISES = tuple(n for n, m in NOISE_MODELS.items() if m.minibatch)


def get_noise(name: str, minibatch: bool, parameter: str = "noise") -> NoiseModel:
    """The noise model ``name`` of the requested family (SDE or minibatch)."""
    allowed = MINIBATCH_NOISES if minibatch else SDE_NOISES
    if name not in allowed:
        raise InputError(
            parameter, name, f"unknown noise model; choose one of {', '.join(allowed)}"
        )
    return NOISE_MODELS[name]
