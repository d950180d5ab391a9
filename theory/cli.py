"""CLI subcommands of threefactors.theory: ``derive``, ``minima``, ``stationary``, ``relax``."""

from __future__ import annotations

import argparse
import math
import re
import sys
from typing import Any

from threefactors import options


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this view's subcommands. Import heavy modules inside the handlers only."""
    derive = subparsers.add_parser(
        "derive",
        help="SGD → SDE → Fokker–Planck → stationary density for a typed loss",
        description="Derive the SDE of SGD, its Fokker–Planck equation and the stationary "
        "density, verified by simplifying the Fokker–Planck residual to 0.",
    )
    add_loss_arguments(derive)
    derive.add_argument("--noise", choices=["isotropic", "hessian"], default="isotropic")
    derive.add_argument("--format", choices=["text", "latex", "json"], default="text")
    derive.add_argument("--json", action="store_true", help="same as --format json")
    derive.add_argument(
        "--order",
        type=int,
        choices=[1, 2],
        default=1,
        help="2: order-2 modified-equation drift −∇(L + η|∇L|²/4)",
    )
    derive.set_defaults(func=_derive)

    for name, helptext in (
        ("minima", "minima, saddles, Laplace/Gibbs probabilities and Kramers escape times"),
        ("stationary", "stationary covariance of SGD vs its SDE in a quadratic basin"),
    ):
        sub = subparsers.add_parser(name, help=helptext, description=helptext)
        if name == "minima":
            add_loss_arguments(sub)
        else:
            sub.add_argument("--hessian", required=True, help='eigenvalues, e.g. "1,4"')
            sub.add_argument("--noise", choices=["isotropic", "hessian"], default="isotropic")
        sub.add_argument(
            "--lr", "--eta", type=options.positive, required=True, help="learning rate η"
        )
        sub.add_argument(
            "--batch", "--batch-size", type=options.count, required=True, help="batch size S"
        )
        sub.add_argument(
            "--sigma",
            type=options.positive if name == "minima" else options.nonnegative,
            required=True,
            help="gradient noise scale σ",
        )
        sub.add_argument("--json", action="store_true", help="print one JSON document")
        sub.set_defaults(func=_minima if name == "minima" else _stationary)
    register_relax(subparsers)


def add_loss_arguments(parser: argparse.ArgumentParser) -> None:
    """``--loss EXPR`` and repeatable ``--param NAME=VALUE`` (shared by every view's CLI)."""
    parser.add_argument(
        "--loss", required=True, help='loss in x, y, z or x1, x2, ..., e.g. "(x^2-1)^2 + a*x"'
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="value of a parameter of the loss (repeatable)",
    )


def landscape_from_args(args: argparse.Namespace) -> Any:
    """The Landscape of ``--loss`` with the ``--param`` values: each NAME a formula name,
    given once, not a constant (E, pi) and used by the loss; each VALUE a finite number."""
    from threefactors.errors import InputError, require
    from threefactors.theory.landscape import Landscape
    from threefactors.theory.parser import CONSTANTS, check_name

    params: dict[str, float] = {}
    for item in args.param:
        name, equals, value = (part.strip() for part in item.partition("="))
        require(bool(equals) and bool(name), "param", item, "expected NAME=VALUE")
        check_name(name, "param")
        require(name not in CONSTANTS, "param", item, f"{name} is a constant, not a parameter")
        require(name not in params, "param", item, f"{name} given twice")
        try:
            params[name] = float(value)
        except ValueError:
            raise InputError("param", item, "expected NAME=VALUE with a number") from None
        require(math.isfinite(params[name]), "param", item, "must be a finite number")
    landscape = Landscape.from_string(args.loss, params=params)
    used = {s.name for s in landscape.expr.free_symbols}
    unused = [name for name in params if name not in used]
    require(not unused, "param", unused[0] if unused else "", "not a symbol of the loss")
    return landscape


def _derive(args: argparse.Namespace) -> int:
    import sympy as sp

    from threefactors.output import emit
    from threefactors.theory.sde import derive

    result = derive(landscape_from_args(args), args.noise, order=args.order)
    fmt = "json" if args.json else args.format
    if fmt == "latex":
        print(_latex(result))
        return 0
    out = {
        "loss": str(result.landscape.loss),
        "noise": args.noise,
        "order": args.order,
        "sde": {
            "drift": [str(e) for e in result.drift.expr],
            "diffusion": [[str(e) for e in row] for row in result.diffusion.expr.tolist()],
        },
        "fokker_planck": str(result.fokker_planck.expr.rhs),
        "fokker_planck_conservative": result.conservative_text,
        "fokker_planck_conservative_components": str(result.fokker_planck_conservative.expr.rhs),
        "stationary_density": str(result.stationary_density.expr),
        "temperature": str(result.temperature.expr),
        "fp_residual": str(result.fp_residual),
        "verified": bool(result.verified),
        "eta_over_S_only": bool(result.eta_over_s_only),
        "note": result.note,
    }
    emit(out, fmt == "json", lambda r: _derive_text(r, sp))
    return 0


def _derive_text(r: dict[str, Any], sp: Any) -> str:
    lines = [
        f"loss            L = {r['loss']}   (noise: {r['noise']}, drift order {r['order']})",
        "SDE             dθ = b dt + sqrt(2D) dW,  t = kη",
        f"  drift       b = {r['sde']['drift']}",
        f"  diffusion   D = {r['sde']['diffusion']}",
        f"Fokker–Planck   {r['fokker_planck_conservative']}",
        f"  components    ∂p/∂t = {r['fokker_planck_conservative_components']}",
        f"  expanded      ∂p/∂t = {r['fokker_planck']}",
        f"stationary      p ∝ {r['stationary_density']}",
        f"temperature     T = {r['temperature']}",
        f"FP residual     {r['fp_residual']}   verified: {r['verified']}",
        f"only η/S enters {r['eta_over_S_only']}",
    ]
    return "\n".join(lines + ([f"note            {r['note']}"] if r["note"] else []))


def _latex(result: Any) -> str:
    import sympy as sp

    coords = result.landscape.coords
    theta = ", ".join(sp.latex(c) for c in coords)
    drift = sp.latex(result.drift.expr)
    diff = sp.latex(result.diffusion.expr)
    fp = result.fokker_planck.expr
    check = (
        r"Substituting $p_s$ into the stationary Fokker--Planck operator and simplifying "
        r"gives exactly $0$ (verified symbolically)."
        if result.verified
        else rf"The Fokker--Planck residual of $p_s$ is ${sp.latex(result.fp_residual)}$."
    )
    return "\n".join(
        [
            r"\begin{align}",
            rf"L({theta}) &= {sp.latex(result.landscape.loss)} \\",
            r"\mathrm{d}\theta &= b(\theta)\,\mathrm{d}t + \sqrt{2D}\,\mathrm{d}W_t,"
            r"\qquad t = k\eta \\",
            rf"b(\theta) &= {drift}, \qquad D = {diff} \\",
            rf"{sp.latex(fp.lhs)} &= {sp.latex(result.fokker_planck_conservative.expr.rhs)} \\",
            rf"&= {sp.latex(fp.rhs)} \\",
            rf"p_s({theta}) &\propto {sp.latex(result.stationary_density.expr)},"
            rf"\qquad T = {sp.latex(result.temperature.expr)}",
            r"\end{align}",
            check,
        ]
    )


def setting_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~threefactors.theory.setting.SGDSetting` of ``--lr``, ``--batch``,
    ``--sigma`` (and ``--examples`` / ``--replacement`` where the command has them); a
    temperature that over- or underflows a double is refused naming ``--lr``."""
    from threefactors.errors import require
    from threefactors.theory.setting import SGDSetting

    setting = SGDSetting(
        eta=args.lr,
        batch_size=args.batch,
        sigma=args.sigma,
        examples=getattr(args, "examples", None),
        replacement=getattr(args, "replacement", True),
    )
    temperature = float(setting.temperature)
    require(
        args.sigma == 0 or 0 < temperature < math.inf,
        "lr",
        args.lr,
        f"with sigma={args.sigma:g} and batch={args.batch:g}, T = ησ²/(2S) = {temperature:g} "
        f"{'overflows' if temperature else 'underflows'} a double",
    )
    return setting


def _minima(args: argparse.Namespace) -> int:
    import numpy as np

    from threefactors.output import emit
    from threefactors.provenance import provenance
    from threefactors.theory.critical import critical_points
    from threefactors.theory.escape import escape_routes
    from threefactors.theory.gibbs import gibbs_probabilities, laplace_probabilities
    from threefactors.theory.setting import as_temperature

    setting = setting_from_args(args)
    temperature = as_temperature(setting)
    land = landscape_from_args(args)
    cp = critical_points(land)
    with np.errstate(all="ignore"):  # under/overflow at tiny T is reported in "notes"
        laplace = laplace_probabilities(land, temperature, cp)
        gibbs = gibbs_probabilities(land, temperature, cp) if land.dim <= 2 else None
        routes = escape_routes(land, temperature, cp)
    notes = []
    if gibbs is not None and not np.all(np.isfinite(gibbs)):
        gibbs = None
        notes.append(
            f"underflow: T = {temperature:.3g} too small for the Gibbs quadrature "
            "(exp(-ΔL/T) underflows); Laplace is exact as T → 0"
        )
    if not cp.complete:
        notes.append(
            f"incomplete search: {cp.starts} Newton starts reached some minimum or saddle "
            "only once, so others are likely missed; probabilities are over those found"
        )
    minima = []
    for k, m in enumerate(cp.minima):
        entry = {
            "x": m.x,
            "loss": m.loss,
            "hessian_eigenvalues": m.hessian_eigenvalues,
            "degenerate": m.degenerate,
            "laplace_probability": None if m.degenerate else laplace[k],
            "laplace_valid": not any(p.degenerate for p in cp.minima),
        }
        if gibbs is not None:
            entry["gibbs_probability"] = gibbs[k]
        minima.append(entry)
    escape = [
        {
            "from": r.start,
            "via": None if r.saddle is None else r.saddle.x,
            "to": None if r.target < 0 else r.target,
            "barrier": r.barrier,
            "kramers_time": r.time if math.isfinite(r.time) else None,
            "kramers_steps": r.time / setting.eta if math.isfinite(r.time) else None,
            "kramers_valid": not cp.minima[r.start].degenerate,
            "escapable": r.saddle is not None,
        }
        for r in routes
    ]
    if any(e["kramers_time"] is None and e["kramers_valid"] for e in escape if e["escapable"]):
        notes.append(
            f"overflow: T = {temperature:.3g} too small for the Kramers time exp(ΔL/T) "
            "(null in JSON)"
        )
    out = {
        "loss": str(land.loss),
        "coordinates": list(land.coord_names),
        "temperature": temperature,
        "method": cp.method,
        "complete": cp.complete,
        "starts": cp.starts,
        "notes": notes,
        "minima": minima,
        "saddles": [
            {"x": s.x, "loss": s.loss, "hessian_eigenvalues": s.hessian_eigenvalues}
            for s in cp.saddles
        ],
        "escape": escape,
        "provenance": provenance({"loss": args.loss, **setting.record()}),
    }
    emit(out, args.json, _minima_text)
    return 0


def _fmt(values: Any) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in values) + ")"


def _minima_text(r: dict[str, Any]) -> str:
    lines = [
        f"L = {r['loss']}   T = ησ²/(2S) = {r['temperature']:.6g}   [{r['method']}]",
        "minima:",
    ]
    for k, m in enumerate(r["minima"]):
        gibbs = f"  gibbs {m['gibbs_probability']:.4g}" if "gibbs_probability" in m else ""
        laplace = (
            f"laplace {m['laplace_probability']:.4g}"
            if m["laplace_valid"]
            else "laplace invalid (degenerate minimum)"
        )
        lines.append(
            f"  [{k}] x = {_fmt(m['x'])}  L = {m['loss']:.6g}  "
            f"eig = {_fmt(m['hessian_eigenvalues'])}  {laplace}{gibbs}"
        )
    lines.append("saddles:")
    lines += [
        f"  x = {_fmt(s['x'])}  L = {s['loss']:.6g}  eig = {_fmt(s['hessian_eigenvalues'])}"
        for s in r["saddles"]
    ] or ["  none"]
    lines.append("escape (Eyring–Kramers, SDE time t = kη):")
    for e in r["escape"]:
        if not e["escapable"]:
            lines.append(f"  from [{e['from']}]: no saddle, no escape")
            continue
        head = f"  from [{e['from']}] via {_fmt(e['via'])} → [{e['to']}]: ΔL = {e['barrier']:.4g}"
        if not e["kramers_valid"]:
            tail = ", Eyring–Kramers invalid (degenerate minimum)"
        elif e["kramers_time"] is not None and math.isfinite(e["kramers_steps"]):
            tail = f", τ = {e['kramers_time']:.4g} ({e['kramers_steps']:.4g} steps)"
        else:
            tail = f", τ overflows: T = {r['temperature']:.3g} too small for exp(ΔL/T)"
        lines.append(head + tail)
    lines += [f"warning: {note}" for note in r["notes"]]
    return "\n".join(lines)


def _stationary(args: argparse.Namespace) -> int:
    from threefactors.errors import InputError, check_finite
    from threefactors.output import emit
    from threefactors.provenance import provenance
    from threefactors.theory.stationary import quadratic_stationary

    try:
        eigenvalues = [float(v) for v in args.hessian.split(",")]
    except ValueError:
        raise InputError("hessian", args.hessian, "comma-separated numbers") from None
    for value in eigenvalues:
        check_finite("hessian", value)
    setting = setting_from_args(args)
    result = quadratic_stationary(eigenvalues, setting, noise=args.noise)
    out = {
        "hessian": eigenvalues,
        "noise": args.noise,
        "temperature": setting.temperature,
        "stable": result.stable,
        "stability_bound": result.stability_bound,
        "sde_covariance_diag": result.sde_covariance_diag,
        "sgd_covariance_diag": result.sgd_covariance_diag,
        "ratio": result.ratio,
        "sde_excess_loss": result.sde_excess_loss,
        "sgd_excess_loss": result.sgd_excess_loss,
        "provenance": provenance({"hessian": eigenvalues, **setting.record(), "noise": args.noise}),
    }
    emit(out, args.json, _stationary_text)
    if not result.stable:
        print(
            f"threefactors stationary: error: lr={args.lr!r}: past the linear stability bound "
            f"η < 2/λ_max = {result.stability_bound:.6g}; SGD has no stationary law",
            file=sys.stderr,
        )
        return 2
    return 0


def _stationary_text(r: dict[str, Any]) -> str:
    lines = [
        f"quadratic basin, eigenvalues {_fmt(r['hessian'])}, noise {r['noise']}, "
        f"T = {r['temperature']:.6g}",
        f"stable: {r['stable']}  (η < 2/λ_max = {r['stability_bound']:.6g})",
        f"SDE covariance diag   {_fmt(r['sde_covariance_diag'])}   E[L−L*] = "
        f"{r['sde_excess_loss']:.6g}",
    ]
    if r["stable"]:
        lines += [
            f"SGD covariance diag   {_fmt(r['sgd_covariance_diag'])}   E[L−L*] = "
            f"{r['sgd_excess_loss']:.6g}",
            f"ratio SGD/SDE         {_fmt(r['ratio'])}  (= 1/(1 − ηh/2))",
        ]
    return "\n".join(lines)


def register_relax(subparsers: argparse._SubParsersAction) -> None:
    """``relax``: the Fokker–Planck transient from a start point (d ≤ 2)."""
    helptext = "occupancy of each basin over time from a start point (Fokker–Planck, d ≤ 2)"
    sub = subparsers.add_parser(
        "relax",
        help=helptext,
        description=f"{helptext}; relaxation rates against Eyring–Kramers and exact MFPT rates",
    )
    add_loss_arguments(sub)
    sub.add_argument("--lr", "--eta", type=options.positive, required=True, help="learning rate η")
    sub.add_argument(
        "--batch", "--batch-size", type=options.count, required=True, help="batch size S"
    )
    sub.add_argument("--sigma", type=options.positive, required=True, help="noise scale σ > 0")
    sub.add_argument("--start", required=True, help='start point θ₀, e.g. "-1" or "-1,0"')
    sub.add_argument("--times", help="SDE times t = kη, comma-separated, increasing, ≥ 0")
    sub.add_argument(
        "--grid", type=options.count, help="cells per axis (default 2000 in 1-D, 200 in 2-D)"
    )
    options.add_memory_budget(sub)
    sub.add_argument("--json", action="store_true", help="print one JSON document")
    # let "--start -1,0" and "--times -1,2" through as values (argparse takes a leading "-"
    # for an option unless the token is one negative number); bad values are then named
    sub._negative_number_matcher = re.compile(r"^-[0-9.eE+\-]*(,[-0-9.eE+]*)*$")
    sub.set_defaults(func=_relax)


def _numbers(text: str, parameter: str) -> list[float]:
    from threefactors.errors import InputError

    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise InputError(parameter, text, "comma-separated numbers") from None


def _relax(args: argparse.Namespace) -> int:
    from threefactors.errors import require
    from threefactors.output import emit
    from threefactors.provenance import provenance
    from threefactors.resources import set_memory_budget
    from threefactors.theory.relaxation import relax

    if args.memory_budget is not None:
        set_memory_budget(args.memory_budget)
    temperature = float(setting_from_args(args).temperature)
    land = landscape_from_args(args)
    require(land.dim <= 2, "loss", args.loss, f"relax needs d ≤ 2 (d = {land.dim})")
    start = _numbers(args.start, "start")
    times = None if args.times is None else _numbers(args.times, "times")
    result = relax(land, temperature, start, times, args.grid)
    out = {
        **result.summary(),
        "loss": str(land.loss),
        "start": start,
        "provenance": provenance(
            {
                "loss": args.loss,
                "lr": args.lr,
                "batch": args.batch,
                "sigma": args.sigma,
                "start": start,
                "times": times,
                "grid": args.grid,
            }
        ),
    }
    emit(out, args.json, _relax_text)
    return 0


def _relax_text(r: dict[str, Any]) -> str:
    lines = [
        f"L = {r['loss']}   T = {r['temperature']:.6g}   start {_fmt(r['start'])}   "
        f"grid {r['grid']} per axis   mass error {r['mass_error']:.2g}",
        "minima: " + "  ".join(f"[{k}] {_fmt(m)}" for k, m in enumerate(r["minima"])),
        "      t   occupancy",
    ]
    lines += [f"{t:9.4g}   {_fmt(occ)}" for t, occ in zip(r["times"], r["occupancy"], strict=True)]
    lines.append(f"stationary  {_fmt(r['stationary_occupancy'])}")
    lines.append(f"relaxation rates (−Q spectrum)  {_fmt(r['relaxation_rates'])}")
    lines.append(f"Kramers escape rates            {_fmt(r['kramers_rates'])}")
    if r["mfpt_rates"] is not None:
        lines.append(f"exact 1/MFPT rates              {_fmt(r['mfpt_rates'])}")
    if r["mfpt_relaxation_rate"] is not None:
        lines.append(f"1/MFPT(A→B) + 1/MFPT(B→A)       {r['mfpt_relaxation_rate']:.6g}")
    return "\n".join(lines)
