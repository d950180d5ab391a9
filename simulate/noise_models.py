"""Gradient-noise models, as source snippets for the generated kernel plus their data.

A step of every simulator is θ ← θ − ∇L(θ) dt + ζ (see :mod:`.schemes`); the noise model
says how the increment ζ is drawn. The generated kernel draws ζ for a whole block of
particles before it moves them: ``setup`` runs once per block (unpacking the model's data
tuple ``nd``), ``draw`` once per particle ``p`` (row ``j`` of the block's buffer ``Z``,
position ``X[p]``) with the generator state ``s0..s3`` in local variables. Lines starting
with ``@each`` are per coordinate: :mod:`.codegen` unrolls them for small d (``{i}`` the
index, ``{acc}`` a scalar local) or wraps them in ``for i in range(D)`` (``{acc}`` = ``W[i]``).
``draw`` may hold ``{hessian_root}``, which codegen fills with the cheapest exact factor of
the curvature at X[p] (d = 1: sqrt(max(h, 0)); d = 2: closed-form 2×2 eigen; d ≥ 3: Cholesky
with an eigen fallback, :mod:`.primitives`).

SDE models, dθ = −∇L dt + sqrt(η/S) B(θ) dW with B Bᵀ = C (docs/theory.md, "The SDE of
SGD"); an increment over dt is ζ = sqrt(η dt/S) B(θ) ξ, ξ ~ N(0, I):

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

Minibatch indices: with replacement i ~ U{0..N−1} independently (four per uint64 for
N ≤ 4096, two otherwise: :func:`.rng.randint_quad`, :func:`.rng.randint_pair`); without
replacement a partial Fisher–Yates shuffle of ``P`` (S distinct indices, uniform over
subsets).

Snippets may not assign the kernel's own names (b, n, m, r, k, p, j, lo, hi, Z, X, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from threefactors.errors import InputError, require

if TYPE_CHECKING:  # the CLI imports this module for its choices: keep it light
    import numpy as np

    from threefactors.theory.landscape import Landscape

#: ``prepare(model, landscape, scale, sigma, covariance) -> (kernel model, data)``: what an
#: SDE model hands the kernel, scale = sqrt(η dt/S) (see :meth:`NoiseModel.kernel_data`).
Prepare = Callable[["NoiseModel", "Landscape", float, float, "np.ndarray | None"], tuple]


@dataclass(frozen=True)
class NoiseModel:
    """How ζ is drawn: kernel snippets, and whether it is additive / minibatch noise.

    ``user_data``: the model needs data only a Python caller can give (a covariance), so
    the CLI does not offer it. ``prepare`` builds an SDE model's kernel data (default: the
    amplitude σ·sqrt(η dt/S) alone). A model is made available by :func:`register`.
    """

    name: str
    additive: bool
    minibatch: bool
    needs_hessian: bool
    setup: str
    draw: str
    summary: str = ""
    user_data: bool = False
    prepare: Prepare | None = None

    def kernel_data(
        self, landscape: Landscape, scale: float, sigma: float, covariance: np.ndarray | None
    ) -> tuple[NoiseModel, tuple]:
        """The model the kernel runs and its data ``nd`` for an SDE step of amplitude
        ``scale`` = sqrt(η dt/S); a model may hand the kernel a cheaper equivalent one."""
        if self.prepare is not None:
            return self.prepare(self, landscape, scale, sigma, covariance)
        require(covariance is None, "covariance", "given", f"{self.name} noise takes no C")
        return self, (scale * sigma,)


#: The registry: every noise model a simulator or the CLI can choose, by name.
NOISE_MODELS: dict[str, NoiseModel] = {}


def register(model: NoiseModel) -> NoiseModel:
    """Add ``model`` to :data:`NOISE_MODELS` (its name must be new); return it."""
    if model.name in NOISE_MODELS:
        raise ValueError(f"noise model {model.name!r} is already registered")
    NOISE_MODELS[model.name] = model
    return model


def noise_names(minibatch: bool, cli: bool = False) -> tuple[str, ...]:
    """Registered models of one family (SDE or minibatch); ``cli``: those the CLI offers."""
    return tuple(
        name
        for name, model in NOISE_MODELS.items()
        if model.minibatch == minibatch and not (cli and model.user_data)
    )


_GAUSSIAN_SETUP = "amp = nd[0]\n"

_ISOTROPIC = """\
@each z, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
@each Z[j, {i}] = amp * z
"""

_DIAGONAL = """\
@each z, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
@each Z[j, {i}] = amp * root[{i}] * z
"""

_CONSTANT = """\
@each W[{i}], s0, s1, s2, s3 = normal(s0, s1, s2, s3)
for i in range(D):
    zi = 0.0
    for l in range(D):
        zi += root[i, l] * W[l]
    Z[j, i] = amp * zi
"""

_SHIFT_SETUP = """\
eta = nd[0]
A = nd[1]
S = nd[2]
replace = nd[3]
n_ex = A.shape[0]
c = -eta / S
quarters = n_ex <= 4096
"""

_SHIFT = """\
@each {acc} = 0.0
if replace:
    if quarters:
        for t in range(S // 4):
            i1, i2, i3, i4, s0, s1, s2, s3 = randint_quad(s0, s1, s2, s3, n_ex)
            @each {acc} += (A[i1, {i}] + A[i2, {i}]) + (A[i3, {i}] + A[i4, {i}])
        done = S - S % 4
    else:
        for t in range(S // 2):
            i1, i2, s0, s1, s2, s3 = randint_pair(s0, s1, s2, s3, n_ex)
            @each {acc} += A[i1, {i}] + A[i2, {i}]
        done = S - S % 2
    for t in range(done, S):
        i1, s0, s1, s2, s3 = randint(s0, s1, s2, s3, n_ex)
        @each {acc} += A[i1, {i}]
else:
    for t in range(S):
        i1, s0, s1, s2, s3 = batch_index(P, t, n_ex, False, s0, s1, s2, s3)
        @each {acc} += A[i1, {i}]
@each Z[j, {i}] = c * {acc}
"""

_REGRESSION_SETUP = """\
eta = nd[0]
Xd = nd[1]
y = nd[2]
M = nd[3]
m_xy = nd[4]
S = nd[5]
replace = nd[6]
n_ex = Xd.shape[0]
c = -eta / S
"""

_REGRESSION = """\
for i in range(D):
    zi = m_xy[i]
    for l in range(D):
        zi -= M[i, l] * X[p, l]
    Z[j, i] = S * zi
for t in range(S):
    i1, s0, s1, s2, s3 = batch_index(P, t, n_ex, replace, s0, s1, s2, s3)
    res = -y[i1]
    for i in range(D):
        res += Xd[i1, i] * X[p, i]
    for i in range(D):
        Z[j, i] += Xd[i1, i] * res
for i in range(D):
    Z[j, i] *= c
"""


def _constant_root(covariance: np.ndarray, scale: float) -> tuple[NoiseModel, tuple]:
    """The kernel's model and data for constant C = B Bᵀ: ``diagonal`` with B = diag(sqrt(C_ii))
    when C is diagonal, else ``constant`` with the symmetric root B = V Λ₊^{1/2} Vᵀ."""
    import numpy as np  # here, not at import: the CLI's --help stays numpy-free

    if np.count_nonzero(covariance - np.diag(np.diag(covariance))) == 0:
        return DIAGONAL, (scale, np.sqrt(np.clip(np.diag(covariance), 0, None)))
    lam, vec = np.linalg.eigh(covariance)
    root = vec @ np.diag(np.sqrt(np.clip(lam, 0, None))) @ vec.T
    return CONSTANT, (scale, root)


def _prepare_constant(
    model: NoiseModel, landscape: Landscape, scale: float, sigma: float, covariance: Any
) -> tuple[NoiseModel, tuple]:
    """A caller's constant C (d×d, symmetric, PSD); σ unused."""
    import numpy as np  # here, not at import: the CLI's --help stays numpy-free

    require(covariance is not None, "covariance", covariance, "constant noise needs C")
    d = landscape.dim
    c = np.atleast_2d(np.asarray(covariance, dtype=float))
    require(c.shape == (d, d) and np.allclose(c, c.T), "covariance", c.shape, "need d×d, symmetric")
    lam = np.linalg.eigvalsh(c)
    require(lam.min() >= -1e-12 * max(lam.max(), 1), "covariance", lam.min(), "not PSD")
    return _constant_root(c, scale)


def _prepare_hessian(
    model: NoiseModel, landscape: Landscape, scale: float, sigma: float, covariance: Any
) -> tuple[NoiseModel, tuple]:
    """σ² H(θ)₊ per particle-step, or once when the loss is quadratic (constant curvature)."""
    import numpy as np  # here, not at import: the CLI's --help stays numpy-free

    from threefactors.theory.critical import quadratic_form

    require(covariance is None, "covariance", "given", "hessian noise takes no C")
    form = quadratic_form(landscape)
    if form is None:
        return model, (scale * sigma,)
    lam, vec = np.linalg.eigh(form[0])
    positive = vec @ np.diag(np.clip(lam, 0, None)) @ vec.T
    if np.count_nonzero(form[0] - np.diag(np.diag(form[0]))) == 0:
        positive = np.diag(np.clip(np.diag(form[0]), 0, None))
    return _constant_root(sigma**2 * positive, scale)


ISOTROPIC = register(
    NoiseModel("isotropic", True, False, False, _GAUSSIAN_SETUP, _ISOTROPIC, "C = σ² I")
)
CONSTANT = register(
    NoiseModel(
        "constant", True, False, False, _GAUSSIAN_SETUP + "root = nd[1]\n", _CONSTANT,
        "constant C = B Bᵀ given by the caller", user_data=True, prepare=_prepare_constant,
    )
)  # fmt: skip
HESSIAN = register(
    NoiseModel(
        "hessian", False, False, True, _GAUSSIAN_SETUP, "{hessian_root}", "C = σ² H(θ)₊",
        prepare=_prepare_hessian,
    )
)  # fmt: skip
SHIFT = register(NoiseModel("shift", True, True, False, _SHIFT_SETUP, _SHIFT, "ℓ_i = L + a_i·θ"))
REGRESSION = register(
    NoiseModel(
        "regression", False, True, False, _REGRESSION_SETUP, _REGRESSION,
        "least-squares noise, state dependent",
    )
)  # fmt: skip
#: Constant C with a diagonal factor (B = diag(root)): what ``constant`` and ``hessian``
#: noise become when B is diagonal (e.g. σ² H₊ of a separable quadratic); d draws per step
#: instead of a d×d product. Internal: chosen by :mod:`.ensemble`, not registered.
DIAGONAL = NoiseModel("diagonal", True, False, False, _GAUSSIAN_SETUP + "root = nd[1]\n", _DIAGONAL)


def get_noise(name: str, minibatch: bool, parameter: str = "noise") -> NoiseModel:
    """The noise model ``name`` of the requested family (SDE or minibatch)."""
    allowed = noise_names(minibatch)
    if name not in allowed:
        raise InputError(
            parameter, name, f"unknown noise model; choose one of {', '.join(allowed)}"
        )
    return NOISE_MODELS[name]
