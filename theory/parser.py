"""Formulas typed by users, read as data: a small grammar, never Python's ``eval``.

A loss such as ``"(x^2 - 1)^2 + 0.3*x + a*exp(-y^2)"`` is parsed by Python's :mod:`ast`
(which only builds a tree; it runs nothing) and the tree is then *walked*: every node must be
one of

- a number (``3``, ``0.25``, ``1e-3``), a name (a coordinate, a parameter, ``pi`` or ``E``),
- ``+ - * / ** ^`` (``^`` means power, as on paper) and unary ``+ -``,
- a call of an allowed function by its bare name with positional arguments
  (:data:`FUNCTIONS`: exp, log, sqrt, sin, cos, tan, tanh, cosh, sinh, atan, Abs),

and the sympy expression is built node by node from those pieces alone. Attributes,
subscripts, strings, lambdas, comprehensions, keyword arguments, names starting with ``_``
and every other construct are refused with an :class:`~threefactors.errors.InputError`
naming the parameter, so no text can reach Python's builtins. The work is bounded before it
is done: the text's length, the number of nodes, the nesting depth, the size of integer
literals, numeric exponents, and the size of exact numbers that powers would create.
"""

from __future__ import annotations

import ast
import math
import re
import unicodedata
from collections.abc import Callable

import sympy as sp

from threefactors.errors import InputError, require

#: Functions a formula may call, with the numbers of arguments each accepts.
FUNCTIONS: dict[str, tuple[Callable[..., sp.Expr], tuple[int, ...]]] = {
    "exp": (sp.exp, (1,)),
    "log": (sp.log, (1, 2)),
    "sqrt": (sp.sqrt, (1,)),
    "sin": (sp.sin, (1,)),
    "cos": (sp.cos, (1,)),
    "tan": (sp.tan, (1,)),
    "tanh": (sp.tanh, (1,)),
    "cosh": (sp.cosh, (1,)),
    "sinh": (sp.sinh, (1,)),
    "atan": (sp.atan, (1,)),
    "Abs": (sp.Abs, (1,)),
}

#: Named constants a formula may use.
CONSTANTS: dict[str, sp.Expr] = {"pi": sp.pi, "E": sp.E}

MAX_LENGTH = 50_000  # characters of text
MAX_NODES = 20_000  # nodes of the syntax tree
MAX_DEPTH = 60  # nesting of the syntax tree
MAX_INTEGER_DIGITS = 30  # digits of an integer literal
MAX_EXPONENT = 64  # |p| of a numeric exponent in a**p (degree-64 polynomials at most)
MAX_EXACT_BITS = 4_096  # bits of an exact number that a power may create

#: Characters a formula may contain: ASCII letters, digits, operators, brackets, blanks and
#: Greek letters (θ). Anything else (a full-width or other look-alike letter that Python
#: would fold into an ASCII name) is refused before parsing.
_ALLOWED_CHARACTERS = re.compile(r"[A-Za-z0-9_+\-*/^().,\s\u0370-\u03ff]*")
_NAME = re.compile(r"[A-Za-z\u0370-\u03ff][A-Za-z0-9_\u0370-\u03ff]*")

_BINARY: dict[type[ast.operator], Callable[[sp.Expr, sp.Expr], sp.Expr]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}

_WHAT = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscripts",
    ast.Lambda: "lambdas",
    ast.JoinedStr: "f-strings",
    ast.ListComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.Compare: "comparisons",
    ast.BoolOp: "boolean operators",
    ast.IfExp: "conditional expressions",
    ast.NamedExpr: "assignments",
    ast.Starred: "starred arguments",
}

_GRAMMAR = (
    "a formula may use numbers, coordinates, parameters, pi, E, + - * / ** ^ and "
    + ", ".join(FUNCTIONS)
)


def _family(node: ast.AST) -> type[ast.operator] | None:
    """Sums (``+ -``) and products (``* /``) are chains, not nesting: ``a + b + c`` is one
    level however many terms it has (a 100-term quadratic is flat)."""
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Add | ast.Sub):
            return ast.Add
        if isinstance(node.op, ast.Mult | ast.Div):
            return ast.Mult
    return None


def _depth(node: ast.AST) -> int:
    """Nesting depth of ``node``, chains of one operator family counted once (iterative: a
    hostile tree cannot exhaust the stack)."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        current, level = stack.pop()
        deepest = max(deepest, level)
        family = _family(current)
        for child in ast.iter_child_nodes(current):
            same = family is not None and _family(child) is family
            stack.append((child, level if same else level + 1))
    return deepest


def _require_unfolded(text: str, parameter: str, shown: str) -> None:
    """Refuse a character that Unicode's NFKC folds onto another: Python's parser folds
    names so (ϑ → θ, ϕ → φ), and two names typed differently would silently be one."""
    for char in dict.fromkeys(text):
        folded = unicodedata.normalize("NFKC", char)
        require(
            folded == char,
            parameter,
            shown,
            f"character {char!r} is a variant of {folded!r} (Unicode NFKC); type {folded!r}",
        )


def check_name(name: str, parameter: str) -> str:
    """``name`` is a formula name: a letter (ASCII or Greek) then letters, digits or _,
    with no character that NFKC folds onto another; returned unchanged."""
    require(
        isinstance(name, str) and _NAME.fullmatch(name) is not None,
        parameter,
        name,
        "a name is a letter (a-z, A-Z, Greek) followed by letters, digits or _",
    )
    _require_unfolded(name, parameter, name)
    return name


class _Builder:
    """Builds the sympy expression from an already size-checked syntax tree."""

    def __init__(self, source: str, text: str, parameter: str) -> None:
        self.source = source  # what was parsed (``^`` replaced by ``**``)
        self.text = text  # what the user typed, for messages
        self.parameter = parameter
        self.symbols: dict[str, sp.Symbol] = {}

    def refuse(self, reason: str) -> InputError:
        return InputError(self.parameter, self.text, reason)

    def build(self, node: ast.AST) -> sp.Expr:
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            operand = self.build(node.operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        if _family(node) is not None:
            return self.chain(node)
        if isinstance(node, ast.BinOp):
            if not isinstance(node.op, ast.Pow):
                raise self.refuse(f"operator {type(node.op).__name__} is not allowed: {_GRAMMAR}")
            return self.power(self.build(node.left), self.build(node.right))
        if isinstance(node, ast.Call):
            return self.call(node)
        what = _WHAT.get(type(node), type(node).__name__)
        raise self.refuse(f"{what} not allowed: {_GRAMMAR}")

    def chain(self, node: ast.AST) -> sp.Expr:
        """``a ± b ± c …`` or ``a */ b */ c …``, built left to right without recursing down
        the chain (a long sum is as cheap as a short one)."""
        family, steps = _family(node), []
        while _family(node) is family and isinstance(node, ast.BinOp):
            steps.append((type(node.op), node.right))
            node = node.left
        value = self.build(node)
        for operator, right in reversed(steps):
            value = _BINARY[operator](value, self.build(right))
            self.bound_exact(value)
        return value

    def bound_exact(self, value: sp.Expr) -> None:
        """Refuse once the exact number a chain has folded together (its leading numeric
        coefficient or constant term) passes MAX_EXACT_BITS: products of powers that are each
        within bounds could otherwise grow without limit."""
        head = value.as_coeff_Add()[0] if value.is_Add else value.as_coeff_Mul()[0]
        if head.is_Rational and max(head.p.bit_length(), head.q.bit_length()) > MAX_EXACT_BITS:
            raise self.refuse(f"exact number too large (more than {MAX_EXACT_BITS} bits)")

    def number(self, node: ast.Constant) -> sp.Expr:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.refuse(f"{type(value).__name__} constants not allowed: {_GRAMMAR}")
        if isinstance(value, int):
            digits = len(str(abs(value))) if value.bit_length() < 4 * MAX_INTEGER_DIGITS else None
            if digits is None or digits > MAX_INTEGER_DIGITS:
                raise self.refuse(f"integer literal longer than {MAX_INTEGER_DIGITS} digits")
            return sp.Integer(value)
        if not math.isfinite(value):
            raise self.refuse("number out of range (not finite as a float)")
        literal = ast.get_source_segment(self.source, node)
        return sp.Float(literal if literal else value)

    def name(self, name: str) -> sp.Expr:
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in FUNCTIONS:
            raise self.refuse(f"function '{name}' used without arguments; write {name}(...)")
        if not _NAME.fullmatch(name):
            raise self.refuse(f"name '{name}' not allowed (a name starts with a letter)")
        return self.symbols.setdefault(name, sp.Symbol(name, real=True))

    def power(self, base: sp.Expr, exponent: sp.Expr) -> sp.Expr:
        if exponent.is_number:
            if not exponent.is_real:
                raise self.refuse(f"exponent {exponent} is not a real number")
            if abs(float(exponent)) > MAX_EXPONENT:
                raise self.refuse(f"exponent {exponent} too large (|p| ≤ {MAX_EXPONENT})")
            if base.is_Rational and exponent.is_Rational:
                size = max(base.p.bit_length(), base.q.bit_length()) * abs(float(exponent))
                if size > MAX_EXACT_BITS:
                    raise self.refuse(f"exact number {base}**{exponent} too large")
        return base**exponent

    def call(self, node: ast.Call) -> sp.Expr:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            called = node.func.id if isinstance(node.func, ast.Name) else "this expression"
            raise self.refuse(f"calling {called} is not allowed: {_GRAMMAR}")
        function, arities = FUNCTIONS[node.func.id]
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.refuse(f"{node.func.id}(...) takes positional arguments only")
        if len(node.args) not in arities:
            counts = " or ".join(map(str, arities))
            raise self.refuse(f"{node.func.id}(...) takes {counts} argument(s)")
        return function(*(self.build(arg) for arg in node.args))


def parse_loss(text: str, parameter: str = "loss") -> sp.Expr:
    """Parse a loss typed by a user, e.g. ``"(x**2-1)**2 + 0.3*x"`` (``^`` means power).

    Only numbers, names (coordinates and parameters become real sympy symbols; ``pi`` and
    ``E`` are the constants), ``+ - * / ** ^`` and calls of :data:`FUNCTIONS` are accepted;
    anything else, and anything over the size bounds of this module, is an
    :class:`~threefactors.errors.InputError` naming ``parameter``. Nothing in ``text`` is
    executed: the expression is built from the syntax tree by this module alone.

    >>> parse_loss("(x^2 - 1)^2 + 0.3*x")
    0.3*x + (x**2 - 1)**2
    """
    require(isinstance(text, str), parameter, text, "must be text")
    require(text.strip() != "", parameter, text, "empty expression")
    shown = text if len(text) <= 120 else text[:100] + "…"  # messages stay one short line
    require(len(text) <= MAX_LENGTH, parameter, shown, f"longer than {MAX_LENGTH} characters")
    bad = sorted(set(_ALLOWED_CHARACTERS.sub("", text)))
    require(not bad, parameter, shown, f"character(s) {' '.join(bad)} not allowed: {_GRAMMAR}")
    _require_unfolded(text, parameter, shown)
    source = text.strip().replace("^", "**")
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as err:
        reason = err.msg if isinstance(err, SyntaxError) else type(err).__name__
        raise InputError(parameter, shown, f"cannot parse expression ({reason})") from None
    nodes = sum(1 for _ in ast.walk(tree))
    require(nodes <= MAX_NODES, parameter, shown, f"expression too large ({nodes} > {MAX_NODES})")
    depth = _depth(tree)
    require(depth <= MAX_DEPTH, parameter, shown, f"nested too deeply ({depth} > {MAX_DEPTH})")
    expr = _Builder(source, shown, parameter).build(tree.body)
    require(
        bool(expr.is_real is not False and expr.is_finite is not False),
        parameter,
        shown,
        "not a finite real-valued expression",
    )
    return expr
