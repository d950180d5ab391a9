"""The formula parser: user text is data. Injection attempts are refused and never run;
every formula the project documents parses to the same expression as before; work is bounded.
"""

from __future__ import annotations

import ast
import itertools
import re
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pytest
import sympy as sp

from threefactors.cli import main
from threefactors.errors import InputError
from threefactors.theory.parser import FUNCTIONS, parse_loss

ROOT = Path(__file__).resolve().parents[1]
MARK = "owned.txt"
RUN = f"__import__('os').system('touch {MARK}')"

#: Hostile or careless formulas: each would create MARK (or read a builtin) if evaluated.
INJECTIONS = [
    "(x**2-1)**2 + 0*x.__class__.__new__.__globals__['__builtins__']['__import__']"
    f"('os').system('touch {MARK}')",
    RUN,
    f"x + {RUN}",
    "getattr(x, '__class__')",
    f'eval("{RUN}")',
    f"exec(\"open('{MARK}', 'w')\")",
    f"open('{MARK}', 'w')",
    f"(lambda: {RUN})()",
    f'f"{{{RUN}}}"',
    "'{0.__class__}'.format(x) + x",
    "().__class__.__bases__[0].__subclasses__()",
    "globals()['__builtins__']",
    "x[0]",
    f"[{RUN} for _ in [1]][0] + x",
    "exp(x=1)",
    "exp(*[x])",
    'ｅｘｅｃ(\'open("owned.txt", "w")\')',  # full-width look-alikes: NFKC → exec
    "x．__class__",
    "Symbol('os') + x",
    "Function('f')(x)",
    "sympify('x')",
    "S('x')",
    "x.subs(x, 1)",
    "exp.__globals__",
    "(y := 1) + x",
    "x if x else 1",
    "x == 1",
    "x and 1",
    "not x",
    "~x",
    "x @ x",
    "x % 2",
    "x // 2",
    "x << 1",
    "b'x' + x",
    "'x' + x",
    "1j*x",
    "True + x",
    "None",
    "... + x",
    "__builtins__",
    "_x**2",
    "x__class__ + __import__",
    "{x: 1}",
    "[x][0]",
    "x,",
    "exp",
    "exp(x, x)",
]


@pytest.mark.parametrize("text", INJECTIONS)
def test_injection_is_refused_by_the_api(text: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as info:
        parse_loss(text)
    assert info.value.parameter == "loss"
    assert not (tmp_path / MARK).exists()


@pytest.mark.parametrize("text", INJECTIONS[:12])
@pytest.mark.parametrize(
    "command",
    [
        ["minima", "--lr", "0.1", "--batch", "1", "--sigma", "1"],
        ["derive"],
        ["simulate", "langevin", "--lr", "0.1", "--batch", "1", "--particles", "8", "--steps", "1"],
    ],
    ids=["minima", "derive", "simulate"],
)
def test_injection_through_the_cli_exits_2_with_one_line(
    text: str, command: list[str], tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = [*command[:2], "--loss", text, *command[2:]] if command[0] == "simulate" else None
    argv = argv or [command[0], "--loss", text, *command[1:]]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "loss=" in err and "Traceback" not in err
    assert not (tmp_path / MARK).exists()


def test_the_reported_exploit_runs_nothing_in_a_real_process(tmp_path: Path) -> None:
    """The exact command of the bug report, as a separate process: exit 2, no file made."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "threefactors",
            "minima",
            "--loss",
            INJECTIONS[0],
            "--lr",
            "0.1",
            "--batch",
            "1",
            "--sigma",
            "1",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / MARK).exists()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("x**2 + 9**9**9", "too large"),
        ("x**(10**10)", "too large"),
        ("x**1000", "too large"),
        ("(10**30)**60 + x", "exact number"),
        ("x + " + "9" * 40, "longer than"),
        ("x" + "+x" * 12_000, "too large|parse|longer"),
        ("(" * 300 + "x" + ")" * 300, "nested|parse"),
        ("-" * 500 + "x", "nested|parse"),
        ("exp(" * 70 + "x" + ")" * 70, "nested|parse"),
        ("x" * 60_000, "longer than"),
        ("1/0 + x", "finite real"),
        ("sqrt(-1) + x", "finite real"),
        ("x**(1e400)", "finite|too large"),
    ],
    ids=lambda value: value[:24],
)
def test_work_is_bounded_before_it_is_done(text: str, fragment: str) -> None:
    start = time.perf_counter()
    with pytest.raises(InputError, match=fragment) as info:
        parse_loss(text)
    assert len(str(info.value)) < 600  # one readable line, not the whole hostile text
    assert time.perf_counter() - start < 5  # a refusal, not minutes of exact arithmetic


def _reference(text: str) -> sp.Expr:
    """What sympy's own parser made of a trusted formula (the previous behaviour)."""
    from sympy.parsing.sympy_parser import convert_xor, parse_expr, standard_transformations

    names = set(re.findall(r"[A-Za-zθ_][A-Za-zθ_0-9]*", text)) - set(FUNCTIONS) - {"pi", "E"}
    local: dict[str, object] = {n: getattr(sp, n) for n in FUNCTIONS}
    local.update({"pi": sp.pi, "E": sp.E})
    local.update({n: sp.Symbol(n, real=True) for n in names})
    return parse_expr(
        text, local_dict=local, transformations=(*standard_transformations, convert_xor)
    )


def _documented_formulas() -> list[str]:
    """Every literal formula in the README and the tests: ``--loss "..."`` and
    ``from_string("...")``."""
    found: set[str] = set()
    readme = (ROOT / "README.md").read_text()
    found.update(re.findall(r'--loss "([^"]+)"', readme))
    found.update(re.findall(r'from_string\("([^"]+)"', readme))
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        if path.name == Path(__file__).name:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", getattr(node.func, "id", "")) == "from_string"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.add(node.args[0].value)
            if isinstance(node, ast.List):
                items = [e.value for e in node.elts if isinstance(e, ast.Constant)]
                for before, value in itertools.pairwise(items):
                    if before == "--loss" and isinstance(value, str):
                        found.add(value)
    return sorted(found)


def _parses(text: str) -> bool:
    if unicodedata.normalize("NFKC", text) != text:  # Python folds ϑ into θ: refused on purpose
        return False
    try:
        _reference(text)
    except Exception:  # a formula the tests use as bad input, e.g. "(x**2"
        return False
    return True


FORMULAS = [text for text in _documented_formulas() if _parses(text)]


def test_the_documented_corpus_is_not_empty() -> None:
    assert len(FORMULAS) >= 15 and "(x^2 - 1)^2 + 0.3*x" in FORMULAS


@pytest.mark.parametrize("text", FORMULAS)
def test_documented_formulas_parse_as_before(text: str) -> None:
    assert sp.simplify(parse_loss(text) - _reference(text)) == 0
    assert parse_loss(text) == _reference(text)  # and structurally identical


@pytest.mark.parametrize(
    "text",
    [
        "(x^2 - 1)^2 + 0.3*x",
        "exp(-x**2/2) * cos(3*y) + log(1 + x**2) + Abs(y)",
        "tanh(x) + sinh(y)**2 + atan(x*y) + sqrt(1 + y**2) + tan(x/10) + cosh(x)",
        "log(x**2 + 1, 10) + pi*x**2 + E",
        "1e-3*x**4 - 2.5E+1*x**2 + 1_000*y**2 + .5*x + 3.*y",
        "θ**2 + x1**2 + x_2**2",
        "-x**-2 + (+x)**(1/2)",
    ],
)
def test_the_grammar_covers_what_physicists_write(text: str) -> None:
    assert parse_loss(text) == _reference(text.replace("1_000", "1000"))


def test_long_sums_and_products_are_flat_not_deep() -> None:
    """A 500-term quadratic and a 300-factor product parse (chains are one level deep), to
    the same expression as sympy's own parser."""
    quadratic = " + ".join(f"{i + 1}*(x{i + 1} - {i / 7!r})**2" for i in range(500))
    product = "*".join(f"(1 + x{i + 1}**2)" for i in range(300))
    for text in (quadratic, product, "x - 1 - 2 - 3/2/y/3"):
        assert parse_loss(text) == _reference(text)


def test_symbols_are_real_and_functions_are_sympys() -> None:
    expr = parse_loss("exp(a*x)")
    assert all(s.is_real for s in expr.free_symbols)
    assert expr.func is sp.exp


@pytest.mark.parametrize("text", INJECTIONS)
def test_the_tree_walk_refuses_injections_even_without_the_character_filter(
    text: str, tmp_path: Path, monkeypatch
) -> None:
    """Defence in depth: the syntax-tree walk alone refuses every construct of the corpus
    (the character filter usually stops them first)."""
    from threefactors.theory.parser import _Builder

    monkeypatch.chdir(tmp_path)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return  # not even Python: nothing to walk
    with pytest.raises(InputError):
        _Builder(text, text, "loss").build(tree.body)
    assert not (tmp_path / MARK).exists()


@pytest.mark.parametrize(("text", "variant"), [("ϑ**2 + θ**2", "ϑ"), ("ϕ*x", "ϕ"), ("x + ϵ", "ϵ")])
def test_names_that_nfkc_folds_onto_another_are_refused(text: str, variant: str) -> None:
    """Python's parser folds ϑ into θ: "ϑ**2 + θ**2" became 2θ², one coordinate (issue 22)."""
    with pytest.raises(InputError, match=f"character '{variant}' is a variant"):
        parse_loss(text)
