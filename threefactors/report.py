"""The claims report: one Markdown page and one JSON document, made from Claim results."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from threefactors.claims import Claim, Evidence
from threefactors.jsonio import dumps, write_atomic

VIEWS = ("theory", "simulate", "empirical")
_MARK = {
    "agrees": "agrees",
    "disagrees": "**disagrees**",
    "inconclusive": "inconclusive",
    "not run": "—",
}


def _view_verdict(evidence: Sequence[Evidence], view: str) -> str:
    return Claim("", "", "", [e for e in evidence if e.view == view]).verdict


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return "" if value is None else str(value)


def claims_table(claims: Sequence[Claim], commands: dict[str, str] | None = None) -> str:
    """A Markdown table: claim, the verdict of each view, overall verdict (and command)."""
    head = "| claim | theory | simulate | empirical | verdict |"
    rule = "|---|---|---|---|---|"
    if commands:
        head, rule = head + " command |", rule + "---|"
    rows = [head, rule]
    for claim in claims:
        cells = [_MARK[_view_verdict(claim.evidence, v)] for v in VIEWS]
        row = f"| {claim.statement} ({claim.id}) | " + " | ".join(cells)
        row += f" | {_MARK[claim.verdict]} |"
        if commands:
            row += f" `{commands.get(claim.id, '')}` |"
        rows.append(row)
    return "\n".join(rows)


def render_markdown(claims: Sequence[Claim], provenance: dict[str, Any]) -> str:
    """The report: summary table, then for each claim its evidence and figures."""
    lines = [
        "# threefactors — claims report",
        "",
        f"Generated {provenance.get('time_utc', '')} at "
        f"{'quick' if provenance.get('config', {}).get('quick') else 'full'} scale, seed "
        f"{provenance.get('seed')}, on {provenance.get('device', 'cpu')}; versions "
        + ", ".join(f"{k} {v}" for k, v in provenance.get("versions", {}).items())
        + ". Finished claims are reused by later runs with the same settings; each section "
        "gives the seconds its check took.",
        "",
        "Verdicts: *agrees* — within the estimator's standard error (z = 4) plus any stated "
        "bias bound, or a monotone trend of the claimed sign at p < 0.05; *disagrees* — "
        "outside it, or the opposite trend at p < 0.05; *inconclusive* — too little data to "
        "tell at this scale. Nothing is massaged: a quick run that cannot show a claim says so.",
        "",
        claims_table(claims),
        "",
    ]
    for claim in claims:
        lines += [
            f"## {claim.id}: {claim.statement}",
            "",
            f"Source: {claim.source}. Verdict: **{claim.verdict}** ({claim.seconds:.1f} s).",
            "",
        ]
        lines += [
            "| view | quantity | predicted | observed | tolerance | verdict | detail |",
            "|---|---|---|---|---|---|---|",
        ]
        for e in claim.evidence:
            lines.append(
                f"| {e.view} | {e.quantity} | {_fmt(e.predicted)} | {_fmt(e.observed)} | "
                f"{_fmt(e.tolerance)} | {e.verdict} | {e.detail} |"
            )
        figures = sorted({e.figure for e in claim.evidence if e.figure})
        lines += [""] + [f"![{f}]({f})" for f in figures] + [""]
    return "\n".join(lines)


def write_report(claims: Sequence[Claim], out: Path, provenance: dict[str, Any]) -> Path:
    """Write out/REPORT.md and out/claims.json (atomically); return the Markdown path."""
    path = Path(out) / "REPORT.md"
    write_atomic(path, render_markdown(claims, provenance))
    payload = {
        "provenance": provenance,
        "claims": [{**_claim_dict(c), "verdict": c.verdict} for c in claims],
    }
    write_atomic(Path(out) / "claims.json", dumps(payload))
    return path


def _claim_dict(claim: Claim) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(claim)
