"""What a run observes is one object (Observe); results carry only what it asked for; the
kernel signature is declared once; noise models and schemes come from registries.
(The runs on ``line`` share one compiled kernel: isotropic noise, LM, no escape.)"""

from __future__ import annotations

import ast
import math

import numpy as np
import pytest
from scipy.stats import norm

from threefactors.cli import build_parser
from threefactors.errors import InputError
from threefactors.simulate import noise_models
from threefactors.simulate.codegen import KERNEL_ARGS, kernel_source
from threefactors.simulate.ensemble import langevin
from threefactors.simulate.noise_models import ISOTROPIC, NOISE_MODELS, NoiseModel, noise_names
from threefactors.simulate.observers import FirstPassage, Histogram, Observe
from threefactors.simulate.schemes import SCHEMES
from threefactors.theory.builtin_landscapes import symmetric_double_well
from threefactors.theory.landscape import Landscape
from threefactors.theory.setting import SGDSetting


@pytest.fixture(scope="module")
def line() -> Landscape:
    """L = x²/2 on the box [−1, 1]: an OU process, stationary N(0, T) with LM."""
    return Landscape.from_string("x^2/2", box=[(-1, 1)])


def test_a_plain_run_carries_no_histogram_and_no_escape_times(line: Landscape) -> None:
    run = langevin(line, SGDSetting(0.1, 1), particles=200, steps=20, scheme="lm", seed=1)
    assert run.histogram is None and run.histogram_edges is None
    assert run.escape is None and run.escaped_at is None
    assert "escape_times" not in run.summary()


def test_the_histogram_is_of_the_recorded_positions_and_gibbs(line: Landscape) -> None:
    """records=2 and a histogram from step 1: it bins the final positions only (exactly what
    numpy bins), and each bin's mass is the Gibbs (Gaussian, variance T) mass within 4 se."""
    setting, bins, n = SGDSetting(eta=0.1, batch_size=1, sigma=1.0), 10, 40_000
    observe = Observe(records=2, histogram=Histogram(bins, start=1))
    run = langevin(line, setting, particles=n, steps=400, dt=0.05, scheme="lm", seed=2,
                   start=[0.0], observe=observe)  # fmt: skip
    assert run.histogram is not None and run.histogram_edges is not None
    edges = run.histogram_edges[0]
    np.testing.assert_array_equal(run.histogram[0], np.histogram(run.final[:, 0], edges)[0])
    expected = np.diff(norm.cdf(edges / math.sqrt(setting.temperature)))
    se = np.sqrt(expected * (1 - expected) / n)
    assert np.all(np.abs(run.histogram[0] / n - expected) <= 4 * se)


def test_observe_and_its_keyword_shortcuts_give_the_same_numbers() -> None:
    well = symmetric_double_well(depth=0.5, width=0.5)
    kw = dict(particles=300, steps=3000, dt=0.01, seed=4)
    by_object = langevin(
        well, SGDSetting(0.6, 1), observe=Observe(records=5, escape=FirstPassage(0, 0.2)), **kw
    )
    by_keywords = langevin(well, eta=0.6, records=5, escape_from=0, escape_radius=0.2, **kw)
    assert by_object.escape is not None and by_object.escape.count > 0
    assert by_object.escape == by_keywords.escape
    np.testing.assert_array_equal(by_object.escaped_at, by_keywords.escaped_at)
    np.testing.assert_array_equal(by_object.final, by_keywords.final)


@pytest.mark.parametrize(
    ("make", "parameter"),
    [
        (lambda: Observe(records=1), "records"),
        (lambda: Observe(bound=0.0), "bound"),
        (lambda: Observe(histogram=-3), "bins"),
        (lambda: Observe(escape=-1), "escape_from"),
        (lambda: Observe(escape=FirstPassage(0, radius=0.0)), "escape_radius"),
        (lambda: Histogram(4, start=-1), "histogram_from"),
    ],
)
def test_bad_observations_name_their_parameter(make, parameter: str) -> None:
    with pytest.raises(InputError) as err:
        make()
    assert err.value.parameter == parameter


def test_observe_or_its_shortcuts_never_both_and_no_unknown_keyword(line: Landscape) -> None:
    with pytest.raises(InputError) as err:
        langevin(line, eta=0.1, steps=2, observe=Observe(), records=3)
    assert err.value.parameter == "records"
    with pytest.raises(InputError) as err:
        langevin(line, eta=0.1, steps=2, recods=3)
    assert err.value.parameter == "recods"


def test_escape_needs_a_second_minimum(line: Landscape) -> None:
    with pytest.raises(InputError) as err:
        langevin(line, eta=0.1, steps=2, observe=Observe(escape=0))
    assert err.value.parameter == "escape_from"


def test_the_kernel_signature_is_declared_once(line: Landscape) -> None:
    tree = ast.parse(kernel_source(line, ISOTROPIC, SCHEMES["em"]))
    functions = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
    assert [a.arg for a in functions["integrate"].args.args] == list(KERNEL_ARGS)
    assert [a.arg for a in functions["run_block"].args.args] == ["b", *KERNEL_ARGS]


def test_a_registered_noise_model_is_usable_and_offered_by_the_cli(line: Landscape) -> None:
    """Declaring one object adds a noise model: langevin runs it, the CLI offers it."""
    twin = noise_models.register(
        NoiseModel("isotropic-twin", True, False, False, ISOTROPIC.setup, ISOTROPIC.draw,
                   "the isotropic snippet under another name")
    )  # fmt: skip
    try:
        assert "isotropic-twin" in noise_names(minibatch=False, cli=True)
        args = build_parser().parse_args(
            ["simulate", "langevin", "--loss", "x^2", "--lr", "0.1", "--steps", "3",
             "--noise", twin.name]
        )  # fmt: skip
        assert args.noise == twin.name
        kw = dict(particles=100, steps=50, scheme="lm", seed=3, start=[0.5])
        ours = langevin(line, SGDSetting(0.1, 1), noise=twin.name, **kw)
        reference = langevin(line, SGDSetting(0.1, 1), noise="isotropic", **kw)
        np.testing.assert_array_equal(ours.final, reference.final)
        with pytest.raises(ValueError, match="already registered"):
            noise_models.register(twin)
    finally:
        del NOISE_MODELS[twin.name]


def test_cli_choices_are_the_registries() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices["simulate"]
    sims = next(a for a in sub._actions if a.dest == "simulator").choices
    choices = {
        (name, a.dest): tuple(a.choices)
        for name, p in sims.items()
        for a in p._actions
        if a.choices is not None
    }
    assert choices[("langevin", "noise")] == ("isotropic", "hessian")  # constant needs data
    assert choices[("langevin", "scheme")] == tuple(SCHEMES)
    assert choices[("sgd", "perturbation")] == noise_names(minibatch=True)
