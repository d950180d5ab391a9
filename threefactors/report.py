"""The claims report: one Markdown page and one JSON document, made from Claim results.

Per claim the report gives its declared primary test — effect with its interval, p (or the
equivalence / non-inferiority margin), the verdict, and when inconclusive the smallest effect
the design could have detected — then every piece of evidence (secondary p-values
Holm-adjusted) and the figures. ``claims.json`` has the keys scripts read: ``provenance``,
``scale`` and per claim ``id``, ``statement``, ``source``, ``verdict``, ``primary`` and
``evidence``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from threefactors.jsonio import dumps, write_atomic

if TYPE_CHECKING:
    from threefactors.claims.base import Claim, ClaimSpec, Evidence

VIEWS = ("theory", "simulate", "empirical")
_MARK = {
    "agrees": "agrees",
    "disagrees": "**disagrees**",
    "inconclusive": "inconclusive",
    "not run": "—",
}
SCALE_TEXT = {
    "quick": "quick (CPU minutes; may leave network claims inconclusive, with their power)",
    "default": "default (tens of CPU minutes)",
    "paper": "paper (the papers' data sets and models, for a GPU)",
}


def _view_verdict(evidence: Sequence[Evidence], view: str) -> str:
    """A view's summary: its primary-like reading — disagrees if any item disagrees, agrees
    if all that ran agree, else inconclusive (shown beside the claim's primary verdict)."""
    ran = [e.verdict for e in evidence if e.view == view and e.verdict != "not run"]
    if not ran:
        return "not run"
    if "disagrees" in ran:
        return "disagrees"
    return "agrees" if all(v == "agrees" for v in ran) else "inconclusive"


def _fmt(value: Any, nested: bool = False) -> str:
    """A table cell: floats to 4 significant digits; an absent value is an empty cell, or
    "none" inside a list or mapping (e.g. no breaking β found at one end)."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_fmt(v, True) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_fmt(v, True)}" for k, v in value.items()) + "}"
    if value is None:
        return "none" if nested else ""
    return str(value)


def primary_dict(claim: Claim) -> dict[str, Any] | None:
    """The contract's ``primary`` object of a claim (None when its primary did not run)."""
    e = claim.primary
    if e is None:
        return None
    return {
        "view": e.view,
        "test": e.test,
        "quantity": e.quantity,
        "effect": e.effect,
        "interval": e.interval,
        "p": e.p,
        "margin": e.margin,
        "detectable_effect": e.detectable_effect,
        "verdict": e.verdict,
    }


def primary_text(claim: Claim) -> str:
    """One line: the primary test, effect [interval], p or margin, and the power statement."""
    e = claim.primary
    if e is None:
        return "primary test did not run"
    parts = [f"{e.test or 'test'}: effect {_fmt(e.effect)}"]
    if e.interval is not None:
        parts[0] += f" [{_fmt(e.interval[0])}, {_fmt(e.interval[1])}]"
    if e.margin is not None:
        parts.append(f"margin ±{_fmt(e.margin)}")
    if e.p is not None:
        parts.append(f"p = {e.p:.3g}")
    if e.n is not None:
        parts.append(f"n = {e.n}")
    if e.verdict == "inconclusive" and e.detectable_effect is not None:
        parts.append(f"the design could detect |effect| ≥ {_fmt(e.detectable_effect)}")
    return "; ".join(parts)


def _cell(text: str) -> str:
    """``text`` safe inside a Markdown table cell (a literal | would split the cell)."""
    return text.replace("|", "\\|")


def claims_table(claims: Sequence[Claim], commands: dict[str, str] | None = None) -> str:
    """A Markdown table: claim, each view's reading, the primary test, the claim's verdict."""
    head = "| claim | theory | simulate | empirical | primary test | verdict |"
    rule = "|---|---|---|---|---|---|"
    if commands:
        head, rule = head + " command |", rule + "---|"
    rows = [head, rule]
    for claim in claims:
        cells = [_MARK[_view_verdict(claim.evidence, v)] for v in VIEWS]
        primary = claim.primary
        where = f"{primary.view}: {primary.quantity}" if primary else "—"
        row = f"| {_cell(claim.statement)} ({claim.id}) | " + " | ".join(cells)
        row += f" | {_cell(where)} | {_MARK[claim.verdict]} |"
        if commands:
            row += f" `{commands.get(claim.id, '')}` |"
        rows.append(row)
    return "\n".join(rows)


def render_markdown(
    claims: Sequence[Claim],
    provenance: dict[str, Any],
    scale: str = "default",
    specs: Sequence[ClaimSpec] = (),
) -> str:
    """The report: header with the scale, summary table, then per claim its primary test,
    evidence and figures, and the paper-scale setting of each network claim."""
    by_id = {s.id: s for s in specs}
    lines = [
        "# threefactors — claims report",
        "",
        f"Scale: **{SCALE_TEXT.get(scale, scale)}**. Generated {provenance.get('time_utc', '')}"
        f", seed {provenance.get('seed')}, on {provenance.get('device', 'cpu')}; versions "
        + ", ".join(f"{k} {v}" for k, v in provenance.get("versions", {}).items())
        + ". Finished claims are reused by later runs with the same settings; each section "
        "gives the seconds its check took.",
        "",
        "A claim's verdict is its **declared primary test's** verdict (declared in the claim's "
        "module before any data are seen); the other tests are secondary, Holm-adjusted "
        "across the claim, shown but never overriding it. *agrees* — the primary test "
        "supports the claim at α = 0.05 (or, for a prediction, the observation lies within "
        "4 standard errors plus the stated bias bound); *disagrees* — it contradicts it; "
        "*inconclusive* — the design could not tell, and the report states the smallest "
        "effect it could have detected. Nothing is tuned until it agrees. The theory, "
        "simulate and empirical columns summarise *all* of that view's evidence, primary and "
        "secondary (agrees only if every item agrees), so a view column can read "
        "inconclusive beside a primary test that agrees.",
        "",
        claims_table(claims),
        "",
    ]
    for claim in claims:
        spec = by_id.get(claim.id)
        lines += [
            f"## {claim.id}: {claim.statement}",
            "",
            f"Source: {claim.source}. Verdict: **{claim.verdict}** ({claim.seconds:.1f} s).",
            "",
            f"Primary test ({spec.primary_view if spec else '?'}: "
            f"{spec.primary_test if spec else claim.primary_quantity}): {primary_text(claim)}.",
            "",
        ]
        if spec and spec.paper_setting:
            lines += [f"Paper-scale setting (`--scale paper`): {spec.paper_setting}.", ""]
        lines += [
            "| view | quantity | predicted | observed | interval / tolerance | p (Holm) "
            "| verdict | detail |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for e in claim.evidence:
            bound = _fmt(e.interval) if e.interval is not None else _fmt(e.tolerance)
            p = "" if e.p is None else f"{e.p:.3g}"
            if e.p_holm is not None:
                p += f" ({e.p_holm:.3g})"
            mark = " (primary)" if e.quantity == claim.primary_quantity else ""
            detail = e.detail
            if e.verdict == "inconclusive" and e.detectable_effect is not None:
                detail += f" Detectable effect: {_fmt(e.detectable_effect)}."
            lines.append(
                f"| {e.view} | {_cell(e.quantity)}{mark} | {_cell(_fmt(e.predicted))} | "
                f"{_cell(_fmt(e.observed))} | {bound} | {p} | {e.verdict} | {_cell(detail)} |"
            )
        figures = sorted({e.figure for e in claim.evidence if e.figure})
        lines += [""] + [f"![{f}]({f})" for f in figures] + [""]
    return "\n".join(lines)


def write_report(
    claims: Sequence[Claim],
    out: Path,
    provenance: dict[str, Any],
    scale: str = "default",
    specs: Sequence[ClaimSpec] = (),
) -> Path:
    """Write out/REPORT.md and out/claims.json (atomically); return the Markdown path."""
    path = Path(out) / "REPORT.md"
    write_atomic(path, render_markdown(claims, provenance, scale, specs))
    payload = {
        "provenance": provenance,
        "scale": scale,
        "claims": [
            {
                "id": c.id,
                "statement": c.statement,
                "source": c.source,
                "verdict": c.verdict,
                "primary": primary_dict(c),
                "evidence": [asdict(e) for e in c.evidence],
                "seconds": c.seconds,
            }
            for c in claims
        ],
    }
    write_atomic(Path(out) / "claims.json", dumps(payload))
    return path


README_BEGIN = "<!-- claims table: rebuilt by `threefactors reproduce --readme README.md` -->"
README_END = "<!-- end of claims table -->"


def update_readme(path: Path, claims: Sequence[Claim], commands: dict[str, str]) -> None:
    """Replace the claims table between the README's markers with the report's table."""
    from threefactors.errors import require

    text = Path(path).read_text()
    require(
        README_BEGIN in text and README_END in text,
        "readme",
        str(path),
        "has no claims-table markers",
    )
    head, rest = text.split(README_BEGIN, 1)
    _, tail = rest.split(README_END, 1)
    table = claims_table(claims, commands)
    write_atomic(Path(path), f"{head}{README_BEGIN}\n{table}\n{README_END}{tail}")
