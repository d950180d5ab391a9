"""The claims report: one Markdown page and one JSON document, made from Claim results.

The page opens with what the report promises (registered designs, amendments, the two kinds
of rows and their vocabularies, the statistics and their families), then two tables — what
the machinery verifies, and what the papers claim, reproduced on networks — then per claim
its registered design with its hash, each part's registered test (effect, confidence
interval, p or margin, and when inconclusive the smallest effect the design could have
detected) and label, its amendments with the old results, every piece of evidence and the
figures. ``claims.json`` has the keys scripts read: ``provenance``, ``scale`` and per claim
``id``, ``kind``, ``statement``, ``source``, ``verdict``, ``design_hash``, ``amendments``,
``parts`` (each ``statement``, ``verdict``, ``primary``), ``primary`` (the first part's
test), ``evidence`` and ``seconds``; beside them ``verdict_text`` and ``families`` (per model
family its label) and, per part with several families, ``families`` (each its label and test).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from threefactors.jsonio import dumps, write_atomic

if TYPE_CHECKING:
    from threefactors.claims.base import Claim, ClaimSpec, Evidence, Kind

_MARK = {
    "verified": "verified",
    "failed": "**failed**",
    "reproduced": "reproduced",
    "not reproduced": "**not reproduced**",
    "inconclusive": "inconclusive",
    "not run": "—",
}
SCALE_TEXT = {
    "quick": "quick (CPU minutes; not a confirming run: network claims may be inconclusive, "
    "with their power)",
    "default": "default (tens of CPU minutes; confirming seeds only)",
    "paper": "paper (the papers' data sets and models, for a GPU)",
}


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


def _test_dict(e: Evidence | None, unit: str = "") -> dict[str, Any] | None:
    """The contract's ``primary`` object of one registered test (None when it did not run)."""
    if e is None:
        return None
    return {
        "view": e.view,
        "test": e.test,
        "quantity": e.quantity,
        "effect": e.effect,
        "interval": e.interval,
        "level": e.level,
        "p": e.p,
        "margin": e.margin,
        "detectable_effect": e.detectable_effect,
        "n": e.n,
        "unit": unit,
        "verdict": e.verdict,
    }


def parts_list(claim: Claim, spec: ClaimSpec | None = None) -> list[dict[str, Any]]:
    """The contract's ``parts``: per part its statement, label and registered test (on the
    first model family); with several families, ``verdict`` holds on all of them and
    ``families`` gives each family's label and test."""
    from threefactors.claims.base import combine, family_quantity

    units = {p.quantity: p.unit for p in spec.parts} if spec else {}
    by_family = {f: claim.part_labels(f) for f in claim.families}
    out = []
    for i, (part, verdict) in enumerate(zip(claim.parts, claim.part_labels(), strict=True)):
        unit = units.get(part["quantity"], "")
        entry: dict[str, Any] = {
            "statement": part["statement"],
            "verdict": verdict,
            "primary": _test_dict(claim.evidence_of(part["quantity"]), unit),
        }
        if len(by_family) > 1:
            entry["verdict"] = combine(claim.kind, [labels[i] for labels in by_family.values()])
            entry["families"] = {
                f: {
                    "verdict": labels[i],
                    "primary": _test_dict(
                        claim.evidence_of(family_quantity(part["quantity"], f, claim.families)),
                        unit,
                    ),
                }
                for f, labels in by_family.items()
            }
        out.append(entry)
    return out


def _part_marks(claim: Claim) -> list[str]:
    """Each part's label, per family when the claim has several ("mlp reproduced / cnn
    inconclusive")."""
    if len(claim.families) <= 1:
        return [_MARK[label] for label in claim.part_labels()]
    by_family = {f: claim.part_labels(f) for f in claim.families}
    return [
        " / ".join(f"{f} {_MARK[labels[i]]}" for f, labels in by_family.items())
        for i in range(len(claim.parts))
    ]


def verdict_mark(claim: Claim) -> str:
    """The claim's verdict as the tables show it (with its families when several)."""
    if len(claim.families) <= 1:
        return _MARK[claim.verdict]
    text = claim.verdict_text
    return f"**{text}**" if claim.verdict in ("not reproduced", "failed") else text


def test_text(e: Evidence | None) -> str:
    """One line: a registered test's effect with its confidence interval, p or margin, and
    the power statement when inconclusive."""
    if e is None:
        return "did not run"
    text = f"{e.test or 'test'}: " + (
        f"effect {_fmt(e.effect)}" if e.effect is not None else f"{_fmt(e.observed)}"
    )
    if e.interval is not None:
        level = f"{100 * e.level:.0f} % CI " if e.level else "interval "
        text += f", {level}[{_fmt(e.interval[0])}, {_fmt(e.interval[1])}]"
    extras = []
    if e.margin is not None:
        extras.append(f"margin ±{_fmt(e.margin)}")
    if e.p is not None:
        extras.append(f"p = {e.p:.3g}")
    if e.n is not None:
        extras.append(f"n = {e.n}")
    if e.verdict == "inconclusive" and e.detectable_effect is not None:
        extras.append(f"the design could detect |effect| ≥ {_fmt(e.detectable_effect)}")
    return "; ".join([text, *extras])


def _cell(text: str) -> str:
    """``text`` safe inside a Markdown table cell: a literal | would split the cell, a
    newline end the row, and < open an HTML tag."""
    return " ".join(str(text).split()).replace("|", "\\|").replace("<", "&lt;")


def claims_table(
    claims: Sequence[Claim], commands: dict[str, str] | None = None, kind: Kind | None = None
) -> str:
    """A Markdown table: claim, each part's label, the claim's label (rows of ``kind``)."""
    head = "| claim | parts: registered test → label | verdict |"
    rule = "|---|---|---|"
    if commands:
        head, rule = head + " command |", rule + "---|"
    rows = [head, rule]
    for claim in claims:
        if kind is not None and claim.kind != kind:
            continue
        parts = "; ".join(
            f"{part['statement']} → {mark}"
            for part, mark in zip(claim.parts, _part_marks(claim), strict=True)
        )
        row = f"| {_cell(claim.statement)} ({claim.id}) | {_cell(parts)} | {verdict_mark(claim)} |"
        if commands:
            row += f" `{commands.get(claim.id, '')}` |"
        rows.append(row)
    return "\n".join(rows)


HEADER = (
    "Every claim's design was registered before its confirming runs: its statement split "
    "into parts, and per part the quantity, readout, test, sidedness, α, margin and why, "
    "unit of replication, replicates and stopping rule (printed below with the design's "
    "hash; a test fails when a design changes without an amendment). Seeds that sized or "
    "chose a design (pilots) are recorded and never among the confirming seeds. Every "
    "change made after data were seen is an amendment, shown with the old design's result "
    "beside the new one.\n\n"
    "Two kinds of rows, each with its own verdicts. A **verification** holds the package's "
    "own machinery against an "
    "exact answer it also computes (an SDE ensemble against its Gibbs law, SGD against the "
    "finite-η law, relaxation against the MFPT, weak orders): *verified* or *failed*; it "
    "checks the machinery and cannot confirm or refute a paper. A **reproduction** tests a "
    "paper's statement on what the paper tested: *reproduced*; *not reproduced* (the "
    "registered test contradicts the statement — its interval says by how much); "
    "*inconclusive* (the design could not tell; the smallest effect it could detect is "
    "given). A statement of several parts is reproduced only when every part is "
    "(intersection–union: no correction across parts).\n\n"
    "Statistics: the replicate (seed, or a particle ensemble for verifications) is the "
    "unit; every interval is a confidence interval of the effect at the stated level (t, "
    "exact or distribution-free, as the test says); computed theory curves are exact facts "
    "with no p-value. Multiplicity: secondary tests are Holm-adjusted within their claim; a "
    "range of β is found by a fixed-sequence procedure (FWER ≤ 0.05 per metric, side and "
    "training-set size); no correction is applied across claims — each claim is its own "
    "family. Secondary evidence is shown, never decides."
)


PILOT_BANNER = [
    "**PILOT run** (`reproduce --pilot`): it sizes designs and may use pilot seeds; its "
    "verdicts are never confirming evidence.",
    "",
]


def smoke_banner(overrides: Sequence[str]) -> list[str]:
    """The header line of a run whose network runs were changed by ``reproduce --set``."""
    if not overrides:
        return []
    settings = " ".join(f"`--set {text}`" for text in overrides)
    return [
        f"**SMOKE TEST** (every network run changed: {settings}): it checks that the path "
        "runs; its verdicts are not the registered designs'.",
        "",
    ]


def render_markdown(
    claims: Sequence[Claim],
    provenance: dict[str, Any],
    scale: str = "default",
    specs: Sequence[ClaimSpec] = (),
) -> str:
    """The report: header, the two summary tables, then per claim its registered design and
    hash, each part's test and label, its amendments, every piece of evidence and figures."""
    by_id = {s.id: s for s in specs}
    lines = [
        "# threefactors — claims report",
        "",
        f"Scale: **{SCALE_TEXT.get(scale, scale)}**. Generated {provenance.get('time_utc', '')}"
        f", seed {provenance.get('seed')}, on {provenance.get('device', 'cpu')}; versions "
        + ", ".join(f"{k} {v}" for k, v in provenance.get("versions", {}).items())
        + ". Finished claims are reused by later runs with the same settings and design; each "
        "section gives the seconds its check took.",
        "",
        *(PILOT_BANNER if provenance.get("config", {}).get("pilot") else []),
        *smoke_banner(provenance.get("config", {}).get("set") or []),
        HEADER,
        "",
        "## What the machinery verifies",
        "",
        claims_table(claims, kind="verification"),
        "",
        "## What the papers claim, reproduced on networks",
        "",
        claims_table(claims, kind="reproduction"),
        "",
    ]
    for claim in claims:
        lines += _claim_section(claim, by_id.get(claim.id))
    return "\n".join(lines)


def _claim_section(claim: Claim, spec: ClaimSpec | None) -> list[str]:
    lines = [
        f"## {claim.id}: {_cell(claim.statement)}",
        "",
        f"{claim.kind.capitalize()}. Source: {claim.source}. Verdict: **{claim.verdict_text}** "
        f"({claim.seconds:.1f} s). Design `{claim.design_hash}`."
        + (
            f" Model families: {', '.join(claim.families)} (each part is tested on each; "
            "the claim is reproduced only where every family reproduces it)."
            if len(claim.families) > 1
            else f" Model family: {claim.families[0]} only."
            if claim.families
            else ""
        ),
        "",
    ]
    if spec is not None:
        lines += [
            "Registered design:",
            "",
            "| part | quantity | readout | test | sidedness, α | margin | unit | replicates "
            "| stopping |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for part in spec.parts:
            alpha = "" if part.alpha is None else f", α = {part.alpha:g}"
            lines.append(
                "| "
                + " | ".join(
                    _cell(x)
                    for x in (
                        part.statement,
                        part.quantity,
                        part.readout,
                        part.test,
                        part.sidedness + alpha,
                        part.margin or "—",
                        part.unit,
                        part.replicates,
                        part.stopping,
                    )
                )
                + " |"
            )
        if spec.pilot_seeds:
            pilots = ", ".join(f"{lo}…{hi - 1}" for lo, hi in spec.pilot_seeds)
            lines += ["", f"Pilot seeds (never confirming): {pilots}."]
        if spec.paper_setting:
            lines += ["", f"Paper-scale setting (`--scale paper`): {spec.paper_setting}."]
        lines.append("")
    lines.append("Parts:")
    lines.append("")
    from threefactors.claims.base import family_quantity

    for family in claim.families or [None]:
        if len(claim.families) > 1:
            lines.append(f"- on **{family}**:")
        indent = "  " if len(claim.families) > 1 else ""
        for part, verdict in zip(claim.parts, claim.part_labels(family), strict=True):
            found = claim.evidence_of(family_quantity(part["quantity"], family, claim.families))
            lines.append(f"{indent}- {part['statement']}: **{verdict}** — {test_text(found)}.")
    lines.append("")
    if claim.amendments:
        lines += [
            "Amendments (changes after data were seen; the old design's result beside the "
            f"new: **{claim.verdict}**):",
            "",
            "| date | change | old result | reason |",
            "|---|---|---|---|",
        ]
        for a in claim.amendments:
            lines.append(
                f"| {a['date']} | {_cell(a['change'])} | {_cell(a['old_result'])} "
                f"| {_cell(a['reason'])} |"
            )
        lines.append("")
    registered = {p["quantity"] for p in claim.parts}
    lines += [
        "| view | quantity | predicted | observed | interval (level) / tolerance | p (Holm) "
        "| verdict | detail |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for e in claim.evidence:
        if e.interval is not None:
            bound = _fmt(e.interval) + (f" ({100 * e.level:.0f} %)" if e.level else "")
            if e.tolerance is not None:
                bound += f"; tolerance {_fmt(e.tolerance)}"
        else:
            bound = _fmt(e.tolerance)
        p = "" if e.p is None else f"{e.p:.3g}"
        if e.p_holm is not None:
            p += f" ({e.p_holm:.3g})"
        mark = " (registered)" if e.quantity in registered else ""
        detail = e.detail
        if e.verdict == "inconclusive" and e.detectable_effect is not None:
            detail += f" Detectable effect: {_fmt(e.detectable_effect)}."
        lines.append(
            f"| {e.view} | {_cell(e.quantity)}{mark} | {_cell(_fmt(e.predicted))} | "
            f"{_cell(_fmt(e.observed))} | {_cell(bound)} | {p} | {e.verdict} | {_cell(detail)} |"
        )
    figures = sorted({e.figure for e in claim.evidence if e.figure})
    return [*lines, "", *(f"![{f}]({f})" for f in figures), ""]


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
    by_id = {s.id: s for s in specs}

    def entry(c: Claim) -> dict[str, Any]:
        parts = parts_list(c, by_id.get(c.id))
        return {
            "id": c.id,
            "kind": c.kind,
            "statement": c.statement,
            "source": c.source,
            "verdict": c.verdict,
            "verdict_text": c.verdict_text,
            "families": c.family_verdicts(),
            "design_hash": c.design_hash,
            "amendments": c.amendments,
            "parts": parts,
            "primary": parts[0]["primary"] if parts else None,  # the first part's test
            "evidence": [asdict(e) for e in c.evidence],
            "seconds": c.seconds,
        }

    payload = {"provenance": provenance, "scale": scale, "claims": [entry(c) for c in claims]}
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
    table = (
        "What the machinery verifies:\n\n"
        + claims_table(claims, commands, "verification")
        + "\n\nWhat the papers claim, reproduced on networks:\n\n"
        + claims_table(claims, commands, "reproduction")
    )
    write_atomic(Path(path), f"{head}{README_BEGIN}\n{table}\n{README_END}{tail}")
