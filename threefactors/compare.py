"""Two claims reports side by side: per claim and per part, the two verdicts and effects.

``threefactors reproduce --compare A B`` reads two ``claims.json`` files (two replicate sets,
two machines, two versions) and says, claim by claim and part by part, whether the verdicts
are the same, with each side's effect and interval: the stability statement of the README is
this command's output, never written by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from threefactors.errors import InputError


def load_report(path: str | Path) -> dict[str, Any]:
    """A claims.json (a file, or a folder holding one), checked for the keys compared."""
    from threefactors.saved import Invalid, check, read_json, require_fields

    path = Path(path)
    if path.is_dir():
        path = path / "claims.json"
    if not path.is_file():
        raise InputError("compare", str(path), "no claims.json there")
    try:
        report = require_fields(read_json(path), ("claims", "provenance"), "claims.json")
        check(isinstance(report["claims"], list), "claims is not a list")
        for claim in report["claims"]:
            require_fields(claim, ("id", "verdict", "parts"), "claim")
            check(isinstance(claim["parts"], list), f"claim {claim['id']!r}: parts not a list")
            for part in claim["parts"]:
                require_fields(part, ("statement", "verdict", "primary"), "part")
    except (Invalid, ValueError) as err:
        raise InputError("compare", str(path), f"not a claims report: {err}") from err
    return report


def _effect(part: dict[str, Any]) -> str:
    primary = part.get("primary") or {}
    effect, interval = primary.get("effect"), primary.get("interval")
    if not isinstance(effect, int | float):
        return "—"
    text = f"{effect:+.4g}"
    if isinstance(interval, list) and len(interval) == 2 and None not in interval:
        text += f" [{interval[0]:+.3g}, {interval[1]:+.3g}]"
    return text


def _rows(part: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """A part as compared: itself (key "") and, on a claim of several model families, each
    family's label and test (key: the family)."""
    if part is None:
        return {}
    families = part.get("families") if isinstance(part.get("families"), dict) else {}
    return {"": part, **{f: v for f, v in families.items() if isinstance(v, dict)}}


def compare_reports(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Per claim id in either report: both verdicts, and per part (and, on several model
    families, per part and family) both verdicts and effects; ``same`` counts the claims
    whose verdict and every part's verdict agree."""
    first = {c["id"]: c for c in a["claims"]}
    second = {c["id"]: c for c in b["claims"]}
    rows = []
    for claim_id in [*first, *(i for i in second if i not in first)]:
        x, y = first.get(claim_id), second.get(claim_id)
        parts = []
        for k in range(max(len((x or {}).get("parts", [])), len((y or {}).get("parts", [])))):
            px = x["parts"][k] if x and k < len(x["parts"]) else None
            py = y["parts"][k] if y and k < len(y["parts"]) else None
            rx, ry = _rows(px), _rows(py)
            for family in [*rx, *(f for f in ry if f not in rx)]:
                fx, fy = rx.get(family), ry.get(family)
                statement = (px or py)["statement"] + (f" [{family}]" if family else "")
                parts.append(
                    {
                        "statement": statement,
                        "verdicts": [p and p.get("verdict") for p in (fx, fy)],
                        "effects": [_effect(p) if p else "—" for p in (fx, fy)],
                        "same": bool(fx and fy and fx.get("verdict") == fy.get("verdict")),
                    }
                )
        same = bool(x and y and x["verdict"] == y["verdict"] and all(p["same"] for p in parts))
        rows.append(
            {
                "id": claim_id,
                "verdicts": [c and c["verdict"] for c in (x, y)],
                "same": same,
                "parts": parts,
            }
        )
    seeds = [r["provenance"].get("seed") for r in (a, b)]
    return {
        "seeds": seeds,
        "claims": rows,
        "same": sum(r["same"] for r in rows),
        "total": len(rows),
    }


def render(comparison: dict[str, Any], names: tuple[str, str]) -> str:
    """The comparison as a Markdown table, one row per part, and a closing count."""
    a, b = names
    lines = [
        f"| claim | part | {a} | {b} | same |",
        "|---|---|---|---|---|",
    ]
    for row in comparison["claims"]:
        for k, part in enumerate(row["parts"]):
            cells = [
                f"{v or 'absent'} {e}"
                for v, e in zip(part["verdicts"], part["effects"], strict=True)
            ]
            claim = f"{row['id']} ({' / '.join(v or 'absent' for v in row['verdicts'])})"
            lines.append(
                f"| {claim if k == 0 else ''} | {part['statement']} | {cells[0]} | {cells[1]} | "
                f"{'yes' if part['same'] else '**no**'} |"
            )
    lines.append("")
    lines.append(
        f"{comparison['same']} of {comparison['total']} claims have the same verdict on every "
        f"part (seeds {comparison['seeds'][0]} and {comparison['seeds'][1]})."
    )
    return "\n".join(lines)
