"""The claim comparisons can fail: planted faults must be judged `disagrees`."""

from __future__ import annotations

import numpy as np
import pytest

from threefactors.claims.base import (
    Claim,
    Evidence,
    compare,
    intersection,
    jointly,
    trend,
)


def test_compare_accepts_a_monte_carlo_estimate_and_rejects_a_planted_fault() -> None:
    rng = np.random.default_rng(1)
    samples = rng.normal(loc=2.0, scale=1.0, size=10_000)
    mean, se = samples.mean(), samples.std(ddof=1) / np.sqrt(samples.size)
    assert compare("simulate", "mean", 2.0, mean, se).verdict == "agrees"
    # a prediction off by 10 standard errors (a planted fault) must disagree
    assert compare("simulate", "mean", 2.0 + 10 * se, mean, se).verdict == "disagrees"
    # a stated bias bound widens the tolerance by exactly that amount
    assert compare("simulate", "mean", 2.0 + 10 * se, mean, se, bias=8 * se).verdict == "agrees"
    # the tolerance is exactly 4 se + bias: just inside agrees, just outside disagrees
    for offset, verdict in ((11.99, "agrees"), (12.01, "disagrees")):
        assert compare("s", "m", mean + offset * se, mean, se, bias=8 * se).verdict == verdict
    # a diverged run (non-finite observation) never agrees
    assert compare("simulate", "mean", 2.0, float("nan"), se).verdict == "disagrees"


def test_trend_on_a_computed_curve_is_an_exact_fact() -> None:
    x = np.linspace(0.1, 1.0, 8)
    rising = trend("theory", "gap", x, x**2, +1)
    assert rising.verdict == "agrees" and rising.p is None  # no p-value on a computed curve
    assert rising.effect == 1.0  # every step in the claimed direction
    assert trend("theory", "gap", x, x**2, -1).verdict == "disagrees"
    bump = x**2
    bump[4] = bump[3]  # one flat step: not strictly monotone
    flat = trend("theory", "gap", x, bump, +1)
    assert flat.verdict == "disagrees" and flat.effect == pytest.approx(6 / 7)
    assert trend("theory", "gap", [1.0], [2.0], +1).verdict == "not run"


def _claim(kind: str, *evidence: Evidence, parts: tuple[str, ...] = ("a", "b")) -> Claim:
    return Claim(
        "c", "s", "src", list(evidence), kind=kind,
        parts=[{"statement": q, "quantity": q} for q in parts],
    )  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "verdicts", "expected"),
    [
        ("reproduction", ("agrees", "agrees"), "reproduced"),
        ("reproduction", ("agrees", "inconclusive"), "inconclusive"),
        ("reproduction", ("inconclusive", "disagrees"), "not reproduced"),
        ("reproduction", ("agrees", "not run"), "not run"),
        ("verification", ("agrees", "agrees"), "verified"),
        ("verification", ("agrees", "disagrees"), "failed"),
        ("verification", ("agrees", "inconclusive"), "failed"),
    ],
)
def test_a_claim_holds_only_when_every_part_holds(kind, verdicts, expected) -> None:
    """Each part is decided by its registered test; secondary items never decide."""
    items = [Evidence("empirical", q, 1, 1, v) for q, v in zip("ab", verdicts, strict=True)]
    fault = Evidence("simulate", "secondary", 1, 2, "disagrees")
    claim = _claim(kind, *items, fault)
    assert claim.verdict == expected
    assert _claim(kind, fault).verdict == "not run"


def test_jointly_agrees_only_when_every_item_agrees() -> None:
    good = [compare("simulate", f"q{i}", 0.0, 0.1 * i, 0.1) for i in range(3)]  # ≤ 2 se
    bad = compare("simulate", "q9", 0.0, 1.0, 0.1)  # 10 se off
    joint = jointly("simulate", "all", good)
    assert joint.verdict == "agrees"
    assert joint.effect == pytest.approx(0.5)  # the worst: 0.2 / (4·0.1)
    # the worst item's 95 % interval, in units of its tolerance: (0.2 ± 1.96·0.1) / 0.4
    assert joint.interval == pytest.approx([(0.2 - 0.196) / 0.4, (0.2 + 0.196) / 0.4], rel=1e-3)
    assert joint.level == 0.95 and "q2" in joint.detail
    assert jointly("simulate", "all", [*good, bad]).verdict == "disagrees"
    assert jointly("simulate", "all", []).verdict == "not run"


def test_intersection_needs_every_test_and_reports_the_deciding_one() -> None:
    def item(q: str, verdict: str, p: float) -> Evidence:
        return Evidence("empirical", q, None, 0.1, verdict, p=p, effect=0.1, interval=[0, 1])

    held = intersection("empirical", "all", [item("x", "agrees", 0.01), item("y", "agrees", 0.04)])
    assert held.verdict == "agrees" and held.p == 0.04 and "y" in held.detail
    unsure = intersection(
        "empirical", "all", [item("x", "agrees", 0.01), item("y", "inconclusive", 0.3)]
    )
    assert unsure.verdict == "inconclusive"
    against = intersection(
        "empirical", "all", [item("x", "inconclusive", 0.3), item("y", "disagrees", 0.001)]
    )
    assert against.verdict == "disagrees" and "y" in against.detail
    assert intersection("empirical", "all", []).verdict == "not run"
