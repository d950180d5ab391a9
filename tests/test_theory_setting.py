"""SGDSetting: one immutable (η, S, σ, N, replacement), its temperature and noise factor,
checked against brute force (every minibatch enumerated) and the symbolic derivation."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
import sympy as sp

from threefactors.errors import InputError
from threefactors.theory.builtin_landscapes import double_well
from threefactors.theory.formula import BATCH, ETA, EXAMPLES, SIGMA
from threefactors.theory.gibbs import gibbs_probabilities
from threefactors.theory.sde import batch_factor, derive
from threefactors.theory.setting import SGDSetting, as_temperature, noise_factor, setting_from


def _minibatch_mean_variance(values: np.ndarray, batch: int, replacement: bool) -> float:
    """Exact variance of the mean of a minibatch, every minibatch enumerated (equally likely)."""
    draws = (
        itertools.product(values, repeat=batch)
        if replacement
        else itertools.combinations(values, batch)
    )
    means = np.array([np.mean(d) for d in draws])
    return float(means.var())


@pytest.mark.parametrize("replacement", [True, False])
@pytest.mark.parametrize(("examples", "batch"), [(6, 1), (6, 3), (7, 4), (5, 5)])
def test_noise_factor_is_the_variance_of_a_minibatch_mean(
    examples: int, batch: int, replacement: bool
) -> None:
    """Cov[g_S] = f C with C the population variance (ddof 0) of the per-example values."""
    values = np.random.default_rng(examples * 10 + batch).normal(size=examples)
    setting = SGDSetting(0.1, batch, examples=examples, replacement=replacement)
    exact = _minibatch_mean_variance(values, batch, replacement)
    assert setting.noise_factor * values.var() == pytest.approx(exact, rel=1e-12, abs=1e-15)


def test_temperature_is_eta_sigma2_over_2s_and_depends_on_eta_over_s_only() -> None:
    setting = SGDSetting(eta=0.3, batch_size=4, sigma=2.0)
    assert setting.temperature == pytest.approx(0.3 * 2.0**2 / (2 * 4), rel=1e-15)
    assert setting.eta_over_s == pytest.approx(0.075)
    scaled = SGDSetting(eta=1.2, batch_size=16, sigma=2.0)
    assert scaled.temperature == pytest.approx(setting.temperature, rel=1e-15)
    # N matters only without replacement
    assert SGDSetting(0.3, 4, 2.0, examples=10).temperature == setting.temperature
    finite = SGDSetting(0.3, 4, 2.0, examples=10, replacement=False)
    assert finite.temperature == pytest.approx(setting.temperature * (10 - 4) / (10 - 1))


@pytest.mark.parametrize("replacement", [True, False])
def test_the_same_formulas_serve_the_symbolic_derivation(replacement: bool) -> None:
    """sde.derive's temperature, evaluated at a setting, is the setting's temperature."""
    assert sp.simplify(batch_factor(replacement) - noise_factor(BATCH, EXAMPLES, replacement)) == 0
    derivation = derive(double_well(1.0, 0.8, 0.2, 0.5), replacement=replacement, examples=20)
    setting = SGDSetting(0.25, 5, 1.5, examples=20, replacement=replacement)
    value = derivation.temperature.expr.subs({ETA: 0.25, BATCH: 5, SIGMA: 1.5})
    assert float(value) == pytest.approx(setting.temperature, rel=1e-12)


def test_setting_is_immutable_and_normalised() -> None:
    setting = SGDSetting(eta=1, batch_size=8.0, sigma=1)
    assert isinstance(setting.batch_size, int) and isinstance(setting.eta, float)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setting.eta = 0.5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"eta": 0.0, "batch_size": 1}, "eta"),
        ({"eta": float("nan"), "batch_size": 1}, "eta"),
        ({"eta": 0.1, "batch_size": 0}, "batch_size"),
        ({"eta": 0.1, "batch_size": 2.5}, "batch_size"),
        ({"eta": 0.1, "batch_size": 1, "sigma": -1.0}, "sigma"),
        ({"eta": 0.1, "batch_size": 1, "examples": 1}, "examples"),
        ({"eta": 0.1, "batch_size": 11, "examples": 10}, "batch_size"),
    ],
)
def test_bad_values_name_their_parameter(kwargs: dict, parameter: str) -> None:
    with pytest.raises(InputError) as err:
        SGDSetting(**kwargs)
    assert err.value.parameter == parameter


def test_keyword_shortcuts_or_a_setting_never_both() -> None:
    setting = SGDSetting(0.2, 4)
    assert setting_from(setting, None, None, None) is setting
    assert setting_from(None, 0.2, 4, None) == setting
    assert setting_from(None, 0.2, None, None) == SGDSetting(0.2, 1)
    with pytest.raises(InputError) as err:
        setting_from(setting, 0.2, None, None)
    assert err.value.parameter == "eta"
    with pytest.raises(InputError) as err:
        setting_from(None, None, 4, None)
    assert err.value.parameter == "eta"


def test_theory_takes_a_setting_wherever_it_takes_a_temperature() -> None:
    land = double_well(1.0, 0.8, 0.2, 0.5)
    setting = SGDSetting(0.3, 1)
    np.testing.assert_array_equal(
        gibbs_probabilities(land, setting), gibbs_probabilities(land, setting.temperature)
    )
    assert as_temperature(0.15) == 0.15
    with pytest.raises(InputError) as err:
        as_temperature(SGDSetting(0.3, 1, sigma=0.0))
    assert err.value.parameter == "sigma"


def test_cli_takes_the_python_names_as_aliases_and_reports_errors_by_flag(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--eta/--batch-size are aliases of the contract flags --lr/--batch; an error raised
    below the CLI under the Python name (eta) is reported by the flag the user typed."""
    import json

    from threefactors.cli import main

    docs = []
    for flags in (["--lr", "0.2", "--batch", "4"], ["--eta", "0.2", "--batch-size", "4"]):
        assert main(["stationary", "--hessian", "1,4", *flags, "--sigma", "1", "--json"]) == 0
        doc = json.loads(capsys.readouterr().out)
        doc.pop("provenance")
        docs.append(doc)
    assert docs[0] == docs[1]
    assert docs[0]["temperature"] == pytest.approx(SGDSetting(0.2, 4).temperature)
    assert (
        main(["stationary", "--hessian", "1", "--eta", "-1", "--batch", "4", "--sigma", "1"]) == 2
    )
    err = capsys.readouterr().err
    assert "argument --lr/--eta:" in err  # argparse names the option with its alias


@pytest.mark.parametrize("sigma", [1e200, 1e155])
def test_temperature_that_overflows_is_refused(sigma: float) -> None:
    with pytest.raises(InputError, match=r"sigma=.*overflows a double"):
        SGDSetting(eta=0.1, batch_size=1, sigma=sigma)
