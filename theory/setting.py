"""One SGD setting (η, S, σ, N, replacement) and the quantities every view derives from it.

SGD θ ← θ − η g_S draws a minibatch of S of the N examples; E[g_S] = ∇L and
Cov[g_S] = f C(θ), with C the per-example gradient covariance and the *noise factor*

    f = 1/S                        with replacement (or N infinite),
    f = (N − S)/(S(N − 1))         without replacement

(the variance of a sample mean drawn without replacement). With isotropic noise C = σ² I the
SDE of SGD (time t = kη) has diffusion D = η f σ²/2 and the stationary Gibbs law
p ∝ exp(−L/T) at the *temperature*

    T = η f σ²/2   (= ησ²/(2S) with replacement),

so only η/S enters (Jastrzębski et al., "Three Factors Influencing Minima in SGD",
arXiv 1711.04623; docs/theory.md, "Fokker–Planck and the Gibbs law").

:func:`noise_factor` and :func:`temperature` are the one place these formulas are written:
they are plain arithmetic, so they work on numbers (:class:`SGDSetting`) and on sympy
symbols (:mod:`.sde`, the symbolic derivation) alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from threefactors.errors import check_batch, check_positive, check_sigma, require


def noise_factor(batch_size: Any, examples: Any = None, replacement: bool = True) -> Any:
    """f with Cov[g_S] = f C: 1/S with replacement (or N = None), (N − S)/(S(N − 1)) without."""
    if replacement or examples is None:
        return 1 / batch_size
    return (examples - batch_size) / (batch_size * (examples - 1))


def temperature(eta: Any, sigma: Any, factor: Any) -> Any:
    """T = η f σ²/2: the temperature of the Gibbs law of SGD's SDE with noise factor f."""
    return eta * factor * sigma**2 / 2


@dataclass(frozen=True)
class SGDSetting:
    """Learning rate η, batch size S, gradient-noise scale σ, examples N, sampling.

    Immutable and validated once, at construction: η > 0, S ≥ 1 an integer (≤ N when N is
    given), σ ≥ 0, N ≥ 2 an integer or None (infinite data). ``replacement`` says how
    minibatches are drawn; it matters only when N is given.

    >>> SGDSetting(eta=0.3, batch_size=1).temperature
    0.15
    """

    eta: float
    batch_size: int
    sigma: float = 1.0
    examples: int | None = None
    replacement: bool = True

    def __post_init__(self) -> None:
        check_positive("eta", self.eta)
        check_sigma(self.sigma)
        if self.examples is not None:
            require(
                int(self.examples) == self.examples and self.examples >= 2,
                "examples",
                self.examples,
                "need an integer ≥ 2 (or None for infinite data)",
            )
            object.__setattr__(self, "examples", int(self.examples))
        size = check_batch(self.batch_size, self.examples, "batch_size")
        object.__setattr__(self, "batch_size", size)
        object.__setattr__(self, "eta", float(self.eta))
        object.__setattr__(self, "sigma", float(self.sigma))
        object.__setattr__(self, "replacement", bool(self.replacement))
        squared = self.sigma**2 if self.sigma < 1e154 else math.inf  # Python's ** raises
        culprit = "sigma" if math.isinf(squared) else "eta"  # σ² alone, or η·f·σ², overflows
        require(
            math.isfinite(temperature(self.eta, 1.0, self.noise_factor) * squared),
            culprit,
            getattr(self, culprit),
            f"T = ηfσ²/2 overflows a double (eta={self.eta:g}, batch_size={self.batch_size}, "
            f"sigma={self.sigma:g})",
        )

    @property
    def noise_factor(self) -> float:
        """f: Cov[g_S] = f C (module docstring)."""
        return noise_factor(self.batch_size, self.examples, self.replacement)

    @property
    def temperature(self) -> float:
        """T = η f σ²/2, = ησ²/(2S) with replacement."""
        return temperature(self.eta, self.sigma, self.noise_factor)

    @property
    def eta_over_s(self) -> float:
        """η/S, the ratio the SDE's stationary law depends on."""
        return self.eta / self.batch_size

    def record(self) -> dict[str, Any]:
        """The setting as record keys (``lr``, ``batch`` — the JSON contract — and
        ``sigma``, ``examples``, ``replacement``, ``temperature``, ``lr_over_batch``)."""
        return {
            "lr": self.eta,
            "batch": self.batch_size,
            "sigma": self.sigma,
            "examples": self.examples,
            "replacement": self.replacement,
            "temperature": self.temperature,
            "lr_over_batch": self.eta_over_s,
        }


def as_temperature(value: float | SGDSetting) -> float:
    """The temperature T of ``value``: an SGDSetting's η f σ²/2, or a number T > 0 itself."""
    if isinstance(value, SGDSetting):
        require(value.sigma > 0, "sigma", value.sigma, "need σ > 0 for a temperature T > 0")
        return value.temperature
    return check_positive("temperature", value)


def setting_from(
    setting: SGDSetting | None,
    eta: float | None,
    batch_size: int | None,
    sigma: float | None,
    examples: int | None = None,
    replacement: bool | None = None,
) -> SGDSetting:
    """``setting``, or one built from the keyword shortcuts (never both).

    Notebooks call ``langevin(land, eta=0.3, batch_size=4)``; programs pass
    ``langevin(land, SGDSetting(0.3, 4))``. Shortcuts left at None take SGDSetting's
    defaults (S = 1, σ = 1, N = None, with replacement).
    """
    shortcuts = {
        "eta": eta,
        "batch_size": batch_size,
        "sigma": sigma,
        "examples": examples,
        "replacement": replacement,
    }
    given = {k: v for k, v in shortcuts.items() if v is not None}
    if setting is not None:
        require(
            not given,
            next(iter(given), "setting"),
            next(iter(given.values()), None),
            "give an SGDSetting or keyword shortcuts, not both",
        )
        require(isinstance(setting, SGDSetting), "setting", setting, "need an SGDSetting")
        return setting
    require(eta is not None, "eta", eta, "give the learning rate (or an SGDSetting)")
    given.setdefault("batch_size", 1)
    return SGDSetting(**given)
