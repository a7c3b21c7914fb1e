r"""Reading tropical polynomials from text: :func:`tropical.parse`.

A hand-written tokenizer and recursive-descent parser (no ``eval``, no
``sympify``) for two notations. The text is in **max/min notation** when it
contains a call, the word ``max`` or ``min`` followed by ``(``; otherwise it is
in **classical notation**.

Max/min notation: ordinary arithmetic on functions
    ``max(0, x + 2*y - 1, 3*x)`` means what it says: ``+ - * /`` are the
    ordinary operations and the arguments are affine expressions, or
    functions built from nested calls of the same word. The value of a max
    call is the tropical (+)-sum of its arguments; ``a + b`` of two
    functions is their tropical (x)-product (``1 + max(x, y)`` is
    ``max(x + 1, y + 1)``); ``-``, ``*`` and ``/`` act on a function of
    several terms only where the result is again a max of affine functions
    (subtracting an affine function, scaling by a constant ``>= 0``).
    This is the notation of ``str(p)``.

Classical notation, read tropically
    ``3*x^2*y + x*y^(1/2) + -1``: ``+`` is (+) (max or min, from ``sense``),
    ``*`` or juxtaposition (``2x``, ``x y``, ``(x + 1)(y + 1)``) is (x),
    ``/`` divides by a monomial, ``^`` (or ``**``) is the tropical power with a
    real exponent (``x^2`` is the function ``2x``; ``3^2`` is 6), a unary
    ``-`` is the (x)-inverse of a monomial (the function ``-m``; ``-3`` is
    the constant -3, ``-x`` is ``x^-1``), and a bare number is a constant.
    A binary ``-`` has no tropical meaning and is an error (write ``+ -1``).

Grammar (EBNF; ``NUMBER`` is a decimal float literal: ``2``, ``.5``, ``2.``,
``1e-5``, ``1.5E+20``; ``NAME`` a Python identifier; whitespace separates
tokens and is otherwise ignored)::

    (* max/min notation: ordinary arithmetic *)
    text_m   = m_sum END ;
    m_sum    = m_prod { ("+" | "-") m_prod } ;
    m_prod   = m_unary { ("*" | "/") m_unary } ;
    m_unary  = { "+" | "-" } m_atom ;
    m_atom   = NUMBER | NAME | "(" m_sum ")" | call ;
    call     = ("max" | "min") "(" [ m_sum { "," m_sum } ] ")" ;

    (* classical notation: tropical operations *)
    text_c   = c_poly END ;
    c_poly   = c_term { "+" c_term } ;
    c_term   = c_factor { [ "*" | "/" ] c_factor } ;   (* no "*": juxtaposition *)
    c_factor = { "-" } c_power ;
    c_power  = c_atom [ ("^" | "**") exponent ] ;
    c_atom   = NUMBER | NAME | "(" c_poly ")" ;
    exponent = { "+" | "-" } ( NUMBER | "(" n_sum ")" ) ;

    (* exponents: ordinary arithmetic on real numbers *)
    n_sum    = n_prod { ("+" | "-") n_prod } ;
    n_prod   = n_unary { ("*" | "/") n_unary } ;
    n_unary  = { "+" | "-" } n_atom ;
    n_atom   = NUMBER | "(" n_sum ")" ;

Every malformed text raises :class:`ParseError`, a :class:`ValueError` whose
message names the offending column and shows the text with a caret under it.
"""

from __future__ import annotations

import re

import numpy as np

from ._validate import check_sense
from .polynomial import TropicalPolynomial

__all__ = ["parse", "ParseError", "MAX_DEPTH", "MAX_TERMS"]

#: deepest nesting of parentheses and calls accepted (deeper text is a ParseError)
MAX_DEPTH = 100
#: largest number of monomial pairs one (x)-product may form
MAX_TERMS = 200_000

_NUMBER = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_OPERATORS = ("**", "+", "-", "*", "/", "^", "(", ")", ",")
_CALLS = ("max", "min")
_NONFINITE = ("nan", "inf", "infinity")
_DIGITS = re.compile(r"([0-9]+)")


class ParseError(ValueError):
    """Malformed text given to :func:`tropical.parse`.

    Attributes
    ----------
    text : str
        The whole text.
    position : int
        0-based offset of the offending character (``len(text)`` at the end).
    line, column : int
        1-based line and column of that character.
    reason : str
        The message without the location and the caret picture.

    Examples
    --------
    >>> import tropical
    >>> try:
    ...     tropical.parse("max(x, y")
    ... except tropical.ParseError as err:
    ...     print(err.column)
    9
    """

    def __init__(self, reason: str, text: str, position: int):
        self.reason, self.text, self.position = reason, text, position
        start = text.rfind("\n", 0, position) + 1
        end = text.find("\n", position)
        end = len(text) if end < 0 else end
        self.line = text.count("\n", 0, position) + 1
        self.column = position - start + 1
        where = f"column {self.column}"
        if "\n" in text:
            where = f"line {self.line}, {where}"
        # a window of the offending line, printable, with a caret under the position
        lo, hi = max(start, position - 60), min(end, position + 60)
        shown = "".join(ch if ch.isprintable() else " " for ch in text[lo:hi])
        shown = ("..." if lo > start else "") + shown + ("..." if hi < end else "")
        caret = " " * (position - lo + (3 if lo > start else 0)) + "^"
        super().__init__(f"{reason} at {where}\n    {shown}\n    {caret}")


class _Token:
    __slots__ = ("kind", "text", "pos", "value")

    def __init__(self, kind, text, pos, value=None):
        self.kind, self.text, self.pos, self.value = kind, text, pos, value

    def describe(self) -> str:
        if self.kind == "end":
            return "end of text"
        if self.kind == "num":
            return f"number {self.text!r}"
        if self.kind == "name":
            return f"name {self.text!r}"
        return repr(self.text)


def _tokenize(text: str) -> list[_Token]:
    tokens = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        match = _NUMBER.match(text, i)
        if match:
            value = float(match.group())
            if value == float("inf"):
                raise ParseError(f"number {match.group()!r} is too large for a float", text, i)
            tokens.append(_Token("num", match.group(), i, value))
            i = match.end()
            continue
        if ch.isidentifier():
            j = i + 1
            while j < n and ("a" + text[j]).isidentifier():
                j += 1
            tokens.append(_Token("name", text[i:j], i))
            i = j
            continue
        for op in _OPERATORS:
            if text.startswith(op, i):
                tokens.append(_Token("op", op, i))
                i += len(op)
                break
        else:
            raise ParseError(f"unexpected character {ch!r}", text, i)
    tokens.append(_Token("end", "", n))
    return tokens


def _natural_key(name: str):
    parts = _DIGITS.split(name)
    return [int(p) if k % 2 else p for k, p in enumerate(parts)], name


class _Parser:
    """Recursive descent over the token list; values are dicts {exponent tuple: coefficient}."""

    def __init__(self, text, tokens, sign, index, nvars):
        self.text, self.tokens, self.i = text, tokens, 0
        self.sign, self.index, self.nvars = sign, index, nvars
        self.depth = 0

    # -- tokens ------------------------------------------------------------------
    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def at(self, *ops) -> bool:
        t = self.tokens[self.i]
        return t.kind == "op" and t.text in ops

    def advance(self) -> _Token:
        t = self.tokens[self.i]
        self.i += 1
        return t

    def fail(self, reason, pos=None):
        raise ParseError(reason, self.text, self.tok.pos if pos is None else pos)

    def unexpected(self, hint=""):
        self.fail(f"unexpected {self.tok.describe()}" + (f" ({hint})" if hint else ""))

    def expect_close(self, opening: _Token):
        if not self.at(")"):
            col = opening.pos - self.text.rfind("\n", 0, opening.pos)
            self.fail(f"expected ')', found {self.tok.describe()} (the '(' at column {col} "
                      "is not closed)")
        self.advance()

    def enter(self, t: _Token):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail(f"expression nested more than {MAX_DEPTH} levels deep", t.pos)

    def starts_atom(self) -> bool:
        t = self.tok
        return t.kind in ("num", "name") or (t.kind == "op" and t.text == "(")

    # -- values ------------------------------------------------------------------
    def constant(self, value):
        return {(0.0,) * self.nvars: value}

    def variable(self, t: _Token):
        e = [0.0] * self.nvars
        e[self.index[t.text]] = 1.0
        return {tuple(e): 0.0}

    @staticmethod
    def is_monomial(p) -> bool:
        return len(p) == 1

    @staticmethod
    def constant_value(p):
        """The value of a constant polynomial (one term, zero exponent), else None."""
        if len(p) == 1:
            (e, c), = p.items()
            if not any(e):
                return c
        return None

    def check_finite(self, p, t):
        for e, c in p.items():
            if not (abs(c) < float("inf") and all(abs(a) < float("inf") for a in e)):
                self.fail("overflow: a coefficient or exponent is too large for a float", t.pos)
        return p

    def union(self, p, q):
        """The (+)-sum: the monomials of both, equal exponents merged by the sense."""
        out = dict(p)
        for e, c in q.items():
            self.merge(out, e, c)
        return out

    def merge(self, out, e, c):
        old = out.get(e)
        if old is None or (c > old if self.sign > 0 else c < old):
            out[e] = c

    def product(self, p, q, t):
        """The (x)-product: pointwise sum of the functions, Minkowski sum of the monomials."""
        if len(p) * len(q) > MAX_TERMS:
            self.fail(f"the product would form {len(p) * len(q)} pairs of terms "
                      f"(more than {MAX_TERMS})", t.pos)
        out = {}
        for e1, c1 in p.items():
            for e2, c2 in q.items():
                self.merge(out, tuple(a + b for a, b in zip(e1, e2)), c1 + c2)
        return self.check_finite(out, t)

    def scale(self, p, k, t, divide=False):
        """``k * p`` (or ``p / k``): the power ``p^k`` in tropical terms."""
        if len(p) > 1 and k < 0:
            self.fail("a function of several terms times a negative number is not a "
                      f"{'max' if self.sign > 0 else 'min'} of affine functions", t.pos)
        out = {}
        for e, c in p.items():
            if divide:
                self.merge(out, tuple(a / k for a in e), c / k)
            else:
                self.merge(out, tuple(a * k for a in e), c * k)
        return self.check_finite(out, t)

    def negate(self, p, t, what):
        if len(p) != 1:
            self.fail(f"{what} applies only to a single affine term, not to "
                      f"{'the zero polynomial' if not p else 'a sum of several terms'}", t.pos)
        (e, c), = p.items()
        return {tuple(-a for a in e): -c}

    # -- max/min notation ----------------------------------------------------------
    def m_sum(self):
        left = self.m_prod()
        while self.at("+", "-"):
            t = self.advance()
            right = self.m_prod()
            if t.text == "-":
                right = self.negate(right, t, "subtraction")
            left = self.product(left, right, t)
        return left

    def m_prod(self):
        left = self.m_unary()
        while self.at("*", "/"):
            t = self.advance()
            right = self.m_unary()
            k = self.constant_value(right)
            if t.text == "/":
                if k is None:
                    self.fail("can only divide by a constant", t.pos)
                if k == 0:
                    self.fail("division by zero", t.pos)
                left = self.scale(left, k, t, divide=True)
                continue
            if k is None:  # the constant factor is on the left
                k, left = self.constant_value(left), right
                if k is None:
                    self.fail("the product of two non-constant expressions is not affine", t.pos)
            left = self.scale(left, k, t)
        return left

    def m_unary(self):
        signs = []
        while self.at("+", "-"):
            signs.append(self.advance())
        value = self.m_atom()
        for t in reversed(signs):
            if t.text == "-":
                value = self.negate(value, t, "unary '-'")
        return value

    def m_atom(self):
        t = self.tok
        if t.kind == "num":
            self.advance()
            value = self.constant(t.value)
        elif t.kind == "name":
            self.advance()
            value = self.call(t) if self.at("(") and t.text in _CALLS else self.variable(t)
        elif self.at("("):
            self.advance()
            self.enter(t)
            value = self.m_sum()
            self.expect_close(t)
            self.depth -= 1
        else:
            self.unexpected("expected a number, a name, '(' or a max/min call")
        if self.at("^", "**"):
            self.unexpected("in max/min notation the arguments are ordinary affine "
                            "expressions: write 2*x, not x^2")
        if self.starts_atom():
            self.unexpected("missing operator: in max/min notation write 2*x, not 2x")
        return value

    def call(self, name: _Token):
        opening = self.advance()
        self.enter(name)
        value = {}
        if not self.at(")"):
            while True:
                if self.at(",", ")"):
                    self.unexpected("expected an argument")
                value = self.union(value, self.m_sum())
                if not self.at(","):
                    break
                self.advance()
        self.expect_close(opening)
        self.depth -= 1
        return value

    # -- classical notation ------------------------------------------------------------
    def c_poly(self):
        left = self.c_term()
        while self.at("+"):
            self.advance()
            left = self.union(left, self.c_term())
        if self.at("-"):
            self.unexpected("a binary '-' has no tropical meaning; for a negative "
                            "constant write '+ -1', for a quotient '/'")
        return left

    def c_term(self):
        left = self.c_factor()
        while True:
            if self.at("*", "/"):
                t = self.advance()
            elif self.starts_atom():  # juxtaposition
                t = self.tok
                if t.kind == "num" and self.tokens[self.i - 1].kind == "num":
                    self.unexpected("two numbers in a row")
            else:
                return left
            right = self.c_factor()
            if t.kind == "op" and t.text == "/":
                if len(right) != 1:
                    self.fail("can only divide by a monomial (a quotient by a sum is a "
                              "tropical rational function)", t.pos)
                right = self.negate(right, t, "division")
            left = self.product(left, right, t)

    def c_factor(self):
        signs = []
        while self.at("-"):
            signs.append(self.advance())
        value = self.c_power()
        for t in reversed(signs):
            value = self.negate(value, t, "unary '-' (the tropical inverse)")
        return value

    def c_power(self):
        base = self.c_atom()
        if not self.at("^", "**"):
            return base
        t = self.advance()
        k = self.exponent()
        if self.at("^", "**"):
            self.unexpected("chained powers are ambiguous: use parentheses")
        if len(base) <= 1 or (k > 0 and not float(k).is_integer()):
            return self.scale(base, k, t)  # a monomial, or k*p for real k > 0
        if k < 0:
            self.fail("a negative power of a sum of several terms is not a polynomial", t.pos)
        result, k = self.constant(0.0), int(k)
        while k:  # the formal (x)-power, by squaring
            if k & 1:
                result = self.product(result, base, t)
            k >>= 1
            if k:
                base = self.product(base, base, t)
        return result

    def c_atom(self):
        t = self.tok
        if t.kind == "num":
            self.advance()
            return self.constant(t.value)
        if t.kind == "name":
            self.advance()
            return self.variable(t)
        if self.at("("):
            self.advance()
            self.enter(t)
            value = self.c_poly()
            self.expect_close(t)
            self.depth -= 1
            return value
        self.unexpected("expected a number, a name or '('")

    # -- exponents: real arithmetic ----------------------------------------------------------
    def exponent(self) -> float:
        negative = False
        while self.at("+", "-"):
            negative ^= self.advance().text == "-"
        t = self.tok
        if t.kind == "num":
            self.advance()
            value = t.value
        elif self.at("("):
            value = self.n_atom()
        elif t.kind == "name":
            self.unexpected("an exponent is a number: names are not allowed in exponents")
        else:
            self.unexpected("expected a number or '(' after '^'")
        return -value if negative else value

    def n_sum(self) -> float:
        left = self.n_prod()
        while self.at("+", "-"):
            t = self.advance()
            right = self.n_prod()
            left = self.n_finite(left + right if t.text == "+" else left - right, t)
        return left

    def n_prod(self) -> float:
        left = self.n_unary()
        while self.at("*", "/"):
            t = self.advance()
            right = self.n_unary()
            if t.text == "/" and right == 0:
                self.fail("division by zero", t.pos)
            left = self.n_finite(left * right if t.text == "*" else left / right, t)
        return left

    def n_unary(self) -> float:
        negative = False
        while self.at("+", "-"):
            negative ^= self.advance().text == "-"
        value = self.n_atom()
        return -value if negative else value

    def n_atom(self) -> float:
        t = self.tok
        if t.kind == "num":
            self.advance()
            value = t.value
        elif self.at("("):
            self.advance()
            self.enter(t)
            value = self.n_sum()
            self.expect_close(t)
            self.depth -= 1
        elif t.kind == "name":
            self.unexpected("an exponent is a number: names are not allowed in exponents")
        else:
            self.unexpected("expected a number or '('")
        if self.at("^", "**"):
            self.unexpected("powers inside an exponent are not supported")
        if self.starts_atom():
            self.unexpected("missing operator in the exponent")
        return value

    def n_finite(self, value, t):
        if not abs(value) < float("inf"):
            self.fail("overflow: the exponent is too large for a float", t.pos)
        return value


def _check_variables(variables):
    if isinstance(variables, str):
        raise TypeError(f"variables must be a sequence of names, not the string {variables!r}")
    try:
        names = tuple(variables)
    except TypeError:
        raise TypeError(f"variables must be a sequence of names, got {variables!r}") from None
    if not all(isinstance(v, str) and v.isidentifier() for v in names):
        raise ValueError(f"variables must be identifiers, got {names!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"variables must be distinct, got {names!r}")
    return names


def parse(text, sense=None, variables=None):
    """Read a tropical polynomial from text.

    Two notations are accepted; the text is in **max/min notation** when it
    contains the word ``max`` or ``min`` followed by ``(`` anywhere, and in
    **classical notation** otherwise:

    - max/min notation is ordinary arithmetic: ``max(0, x + 2*y - 1, 3*x)``.
      The arguments are affine expressions (``+ - * /``, numbers, names,
      parentheses) or nested calls of the same word, which flatten
      (``max(x, max(y, 0))``). A function of several terms may be shifted by
      an affine expression (``max(x, y) - 1``, ``1 + max(x, y)``, each the
      tropical (x)-product) or scaled by a constant ``>= 0``
      (``2*max(x, 0)``). ``max()`` is the zero polynomial. This is the
      notation of ``str(p)``, and ``parse(str(p), variables=p.variables)``
      reproduces ``p`` exactly.
    - classical notation is read tropically: ``+`` is (+), ``*`` or
      juxtaposition (``2x``, ``x y``) is (x), ``/`` divides by a monomial,
      ``^`` or ``**`` is the power with a real exponent (``x^2``, ``x^-1``,
      ``x^0.5``, ``x^(1/2)``; the exponent is a number or parenthesised
      ordinary arithmetic on numbers), a unary ``-`` inverts a monomial
      (``-3`` is the constant -3, ``-x`` is ``x^-1``) and a number is a
      constant. ``p^k`` of a sum of several terms is the formal (x)-power
      for an integer ``k >= 0`` (``(x + y)^2 = x^2 + x y + y^2``) and the
      function ``k*p`` for a non-integer ``k > 0``. A binary ``-`` is an
      error.

    Parameters
    ----------
    text : str
        The polynomial. Whitespace separates tokens and is otherwise ignored.
        Numbers are decimal float literals (``2``, ``.5``, ``2.``, ``1e-5``);
        a letter right after a number starts a new token (``2x`` is ``2`` then
        ``x``; ``2e5`` is a number). ``nan``, ``inf`` and ``infinity`` (any
        case) are rejected, as are numbers that overflow a float.
    sense : {"max", "min"}, optional
        The sense of ``+`` in classical notation (default ``"max"``). In
        max/min notation the word in the text decides; a ``sense`` given
        explicitly must agree with it, and ``max`` and ``min`` never mix in one
        text.
    variables : sequence of str, optional
        The variables, in order. By default the names in the text, sorted
        with digit runs compared as numbers (``x2`` before ``x10``). When
        given, every name in the text must be one of them; names that are
        otherwise reserved (``max``, ``min``, ``nan``, ``inf``, ``infinity``)
        may then be variables (``max(`` is still a call).

    Returns
    -------
    TropicalPolynomial

    Raises
    ------
    ParseError
        A :class:`ValueError` for malformed text; the message names the column
        (and the line, for text with several lines) and shows a caret under
        the offending place. Nesting deeper than ``MAX_DEPTH`` (100) levels
        and (x)-products of more than ``MAX_TERMS`` monomial pairs are errors.
    ValueError
        For an invalid ``sense``, repeated or non-identifier ``variables``.
    TypeError
        When ``text`` is not a string or ``variables`` is a string.

    Examples
    --------
    >>> import tropical
    >>> p = tropical.parse("max(0, x + 2*y - 1, 3*x)")
    >>> p.exponents.tolist(), p.coefficients.tolist()
    ([[0.0, 0.0], [1.0, 2.0], [3.0, 0.0]], [0.0, -1.0, 0.0])
    >>> print(tropical.parse("x^2 + 2x y + -1"))       # classical, read tropically
    max(-1, x + y + 2, 2*x)
    >>> print(tropical.parse("(x + 0)^2", sense="min"))
    min(0, x, 2*x)
    >>> tropical.parse("max(x,))")
    Traceback (most recent call last):
    ...
    tropical.ParseError: unexpected ')' (expected an argument) at column 7
        max(x,))
              ^
    >>> q = tropical.parse("min(0, 0.5*x - 1e-05)")
    >>> tropical.parse(str(q), variables=q.variables).coefficients.tolist()
    [0.0, -1e-05]
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if sense is not None:
        check_sense(sense)
    declared = None if variables is None else _check_variables(variables)
    tokens = _tokenize(text)
    if len(tokens) == 1:
        raise ParseError("empty text: expected a polynomial", text, len(text))

    # which names are calls, which are variables; the notation and its sense
    calls, names = [], []
    for k, t in enumerate(tokens):
        if t.kind != "name":
            continue
        nxt = tokens[k + 1]
        if t.text in _CALLS and nxt.kind == "op" and nxt.text == "(":
            calls.append(t)
        elif declared is not None and t.text in declared:
            names.append(t)
        elif t.text in _CALLS:
            raise ParseError(f"{t.text!r} is reserved for {t.text}(...) calls", text, t.pos)
        elif t.text.lower() in _NONFINITE:
            raise ParseError(f"{t.text!r} is not allowed: numbers must be finite", text, t.pos)
        elif declared is not None:
            raise ParseError(f"unknown variable {t.text!r} (variables are {declared!r})",
                             text, t.pos)
        else:
            names.append(t)
    if calls:
        text_sense = calls[0].text
        for t in calls:
            if t.text != text_sense:
                raise ParseError(f"{t.text}(...) inside a {text_sense}-sense text: max and "
                                 "min do not mix", text, t.pos)
        if sense is not None and sense != text_sense:
            raise ParseError(f"the text is in {text_sense}(...) notation but "
                             f"sense={sense!r} was given", text, calls[0].pos)
        sense = text_sense
    elif sense is None:
        sense = "max"
    if declared is None:
        declared = tuple(sorted({t.text for t in names}, key=_natural_key))
    index = {v: k for k, v in enumerate(declared)}

    parser = _Parser(text, tokens, 1 if sense == "max" else -1, index, len(declared))
    try:
        value = parser.m_sum() if calls else parser.c_poly()
    except RecursionError:  # only when the caller's own stack is already deep
        raise ParseError("expression nested too deeply", text, parser.tok.pos) from None
    if parser.tok.kind != "end":
        parser.unexpected("expected the end of the text")
    E = np.array(list(value), dtype=np.float64).reshape(len(value), len(declared))
    c = np.array(list(value.values()), dtype=np.float64) + 0.0  # no negative zeros
    return TropicalPolynomial(E, c, sense, declared)


parse.__module__ = "tropical"
ParseError.__module__ = "tropical"
