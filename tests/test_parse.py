"""tropical.parse: both notations, the sense and variable rules, errors, round trips.

The expected exponent and coefficient arrays below are worked by hand from the
rules in the docstring of :func:`tropical.parse`; rows are in the canonical
(lexicographic) order of :class:`TropicalPolynomial`.
"""

from __future__ import annotations

import doctest
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tropical
from tropical.polynomial import TropicalPolynomial

parse = tropical.parse  # resolve the public name before the module is imported by name
from tropical._parse import MAX_DEPTH, ParseError  # noqa: E402


def arrays(p):
    return p.exponents.tolist(), p.coefficients.tolist()


def assert_poly(p, exponents, coefficients, sense="max", variables=None):
    assert isinstance(p, TropicalPolynomial)
    assert p.sense == sense
    if variables is not None:
        assert p.variables == tuple(variables)
    assert arrays(p) == (exponents, coefficients)


# ---- max/min notation -------------------------------------------------------------
def test_the_issue_example():
    assert_poly(parse("max(0, x + 2*y - 1, 3*x)"),
                [[0.0, 0.0], [1.0, 2.0], [3.0, 0.0]], [0.0, -1.0, 0.0], "max", ("x", "y"))


def test_min_notation_and_number_syntax():
    p = parse("min(2.5*x - .5, -x + 1e-5, 2., 1.5E+2*x*2)")
    assert_poly(p, [[-1.0], [0.0], [2.5], [300.0]], [1e-5, 2.0, -0.5, 0.0], "min", ("x",))


@pytest.mark.parametrize("text, exponents, coefficients", [
    # x*3 = 3x; (x + 1)*2 = 2x + 2; -(y - 1) = 1 - y
    ("max(x*3, (x + 1)*2, -(y - 1))", [[0.0, -1.0], [2.0, 0.0], [3.0, 0.0]], [1.0, 2.0, 0.0]),
    ("max(x, max(y, 0))", [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0]], [0.0, 0.0, 0.0]),
    # 1 + max(x, y) - x = max(1, y - x + 1)
    ("1 + max(x, y) - x", [[-1.0, 1.0], [0.0, 0.0]], [1.0, 1.0]),
    ("max(x + y)", [[1.0, 1.0]], [0.0]),
])
def test_max_notation_arithmetic(text, exponents, coefficients):
    assert_poly(parse(text), exponents, coefficients, "max", ("x", "y"))


def test_scaling_and_division_of_a_max():
    assert arrays(parse("2*max(x, 0)")) == ([[0.0], [2.0]], [0.0, 0.0])
    assert arrays(parse("max(x, 1) * 3")) == ([[0.0], [3.0]], [3.0, 0.0])
    assert arrays(parse("max(x, 1)/2")) == ([[0.0], [0.5]], [0.5, 0.0])
    assert arrays(parse("0*max(x, 1)")) == ([[0.0]], [0.0])


def test_equal_monomials_merge_with_the_sense():
    assert arrays(parse("max(x, x + 1, x - 1)")) == ([[1.0]], [1.0])
    assert arrays(parse("min(x, x + 1, x - 1)")) == ([[1.0]], [-1.0])


def test_zero_polynomial_and_constants():
    z = parse("max()")
    assert z.is_zero() and z.nvars == 0 and z.sense == "max"
    assert parse("min()", variables=("x",)).nvars == 1
    assert arrays(parse("max(1 + max())")) == ([], [])  # x (x) zero = zero
    c = parse("max(2.5)")
    assert c.exponents.shape == (1, 0) and c.coefficients.tolist() == [2.5]


# ---- classical notation -----------------------------------------------------------
@pytest.mark.parametrize("text, exponents, coefficients", [
    ("x^2 + y + 3", [[0.0, 0.0], [0.0, 1.0], [2.0, 0.0]], [3.0, 0.0, 0.0]),
    ("3*x^2*y + x*y^(1/2)", [[1.0, 0.5], [2.0, 1.0]], [0.0, 3.0]),
    ("2x + x y", [[1.0, 0.0], [1.0, 1.0]], [2.0, 0.0]),
    ("(x + y)^2", [[0.0, 2.0], [1.0, 1.0], [2.0, 0.0]], [0.0, 0.0, 0.0]),
    ("x^-1 y + x^0.5 + x^(-(1 + 1)/4)", [[-1.0, 1.0], [-0.5, 0.0], [0.5, 0.0]],
     [0.0, 0.0, 0.0]),
    ("x**2 y**-3", [[2.0, -3.0]], [0.0]),
    ("x/y + -2", [[0.0, 0.0], [1.0, -1.0]], [-2.0, 0.0]),
    ("-x + --y + -(2x)", [[-1.0, 0.0], [0.0, 1.0]], [0.0, 0.0]),  # -(2x) = -2 - x merges
    ("(x + 1)(y + 1)", [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [2.0, 1.0, 1.0, 0.0]),
    ("(x + y)^0.5", [[0.0, 0.5], [0.5, 0.0]], [0.0, 0.0]),
    ("(x + y)^0", [[0.0, 0.0]], [0.0]),
])
def test_classical_notation(text, exponents, coefficients):
    assert_poly(parse(text), exponents, coefficients, "max", ("x", "y"))


def test_classical_constants():
    assert arrays(parse("3^2")) == ([[]], [6.0])  # the tropical power of a number
    assert arrays(parse("-3")) == ([[]], [-3.0])
    assert arrays(parse("-3^2")) == ([[]], [-6.0])
    assert arrays(parse("2 * -1 + 1.5")) == ([[]], [1.5])
    assert arrays(parse("(2)3")) == ([[]], [5.0])


def test_classical_sense():
    # (x + 1)(x + 2) = 3 (+) (x + 2) (+) (x + 1) (+) 2x: the two x terms merge by the sense
    assert_poly(parse("(x + 1)(x + 2)"), [[0.0], [1.0], [2.0]], [3.0, 2.0, 0.0], "max")
    assert_poly(parse("(x + 1)(x + 2)", sense="min"), [[0.0], [1.0], [2.0]], [3.0, 1.0, 0.0],
                "min")


def test_power_of_a_sum_is_the_formal_product():
    p = parse("(x + -1)^3")
    q = parse("(x + -1)(x + -1)(x + -1)")
    assert arrays(p) == arrays(q) == ([[0.0], [1.0], [2.0], [3.0]], [-3.0, -2.0, -1.0, 0.0])


def test_both_notations_agree_as_functions(rng):
    p = parse("max(3 + 2*x + y, x + 0.5*y, -1)")
    q = parse("3 x^2 y + x y^0.5 + -1")
    assert arrays(p) == arrays(q)
    X = rng.integers(-9, 10, size=(50, 2)).astype(float)  # exact arithmetic
    np.testing.assert_array_equal(p(X), np.maximum.reduce(
        [3 + 2 * X[:, 0] + X[:, 1], X[:, 0] + 0.5 * X[:, 1], np.full(50, -1.0)]))


def test_which_notation():
    # a call anywhere makes the whole text ordinary arithmetic ...
    assert arrays(parse("x + max(y, 0)")) == ([[1.0, 0.0], [1.0, 1.0]], [0.0, 0.0])
    assert arrays(parse("max (x, 0)")) == ([[0.0], [1.0]], [0.0, 0.0])
    # ... without one, + is the tropical sum
    assert arrays(parse("x + y")) == ([[0.0, 1.0], [1.0, 0.0]], [0.0, 0.0])


# ---- variables --------------------------------------------------------------------
def test_variables_sorted_by_name_with_numbers_compared_as_numbers():
    p = parse("y + x10 + x2 + b_1")
    assert p.variables == ("b_1", "x2", "x10", "y")
    assert arrays(p)[0] == [[0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 0.0],
                            [1.0, 0.0, 0.0, 0.0]]


def test_given_variables_fix_the_order_and_may_be_unused():
    p = parse("max(x + 2*y)", variables=("y", "z", "x"))
    assert p.variables == ("y", "z", "x") and arrays(p) == ([[2.0, 0.0, 1.0]], [0.0])


def test_unknown_variable_is_named_with_its_column():
    with pytest.raises(ValueError, match=r"unknown variable 'w'.* at column 5") as info:
        parse("x + w", variables=("x", "y"))
    assert info.value.column == 5


def test_reserved_names():
    for text, column in [("max + 1", 1), ("x + min", 5), ("nan", 1), ("x + Inf", 5),
                         ("max(infinity)", 5)]:
        with pytest.raises(ValueError, match=f"column {column}"):
            parse(text)
    # declared, they are ordinary variables (a call still needs the parenthesis)
    p = parse("max(max + 1, 2*inf)", variables=("inf", "max"))
    assert arrays(p) == ([[0.0, 1.0], [2.0, 0.0]], [1.0, 0.0])


def test_bad_variables_argument():
    with pytest.raises(TypeError):
        parse("x", variables="xy")
    with pytest.raises(ValueError, match="distinct"):
        parse("x", variables=("x", "x"))
    with pytest.raises(ValueError, match="identifiers"):
        parse("x", variables=("x", "2y"))
    with pytest.raises(TypeError):
        parse(b"x")


# ---- sense ------------------------------------------------------------------------
def test_sense_rules():
    assert parse("x + 1").sense == "max"  # classical default
    assert parse("x + 1", sense="min").sense == "min"
    assert parse("min(x)").sense == "min"  # the word in the text decides ...
    assert parse("min(x)", sense="min").sense == "min"
    with pytest.raises(ValueError, match="sense='max'.* column 3"):  # ... an explicit one agrees
        parse("  min(x)", sense="max")
    with pytest.raises(ValueError, match="do not mix.*column 8"):
        parse("max(x, min(y, 0))")
    with pytest.raises(ValueError, match="sense must be"):
        parse("x", sense="avg")


# ---- errors -----------------------------------------------------------------------
@pytest.mark.parametrize("text, column, fragment", [
    ("max(x,))", 7, "unexpected ')'"),
    ("max(,)", 5, "unexpected ','"),
    ("", 1, "empty"),
    ("   ", 4, "empty"),
    ("((x)", 5, "'(' at column 1 is not closed"),
    ("x)", 2, "unexpected ')'"),
    ("x^", 3, "end of text"),
    ("x^y", 3, "names are not allowed"),
    ("x^2^3", 4, "chained"),
    ("x - 1", 3, "binary '-'"),
    ("2 3", 3, "two numbers"),
    ("1.2.3", 4, "two numbers"),
    ("max(2x)", 6, "missing operator"),
    ("max(x^2)", 6, "'^'"),
    ("max(x*y)", 6, "not affine"),
    ("max(x, y) - max(x, y)", 11, "subtraction"),
    ("-max(x, y)", 1, "unary '-'"),
    ("-2*max(x, y)", 3, "negative"),
    ("max(x/0)", 6, "division by zero"),
    ("x^(1/0)", 5, "division by zero"),
    ("-(x + 1)", 1, "unary '-'"),
    ("x/(x + 1)", 2, "monomial"),
    ("(x + 1)^-1", 8, "negative power"),
    ("max(x) y", 8, "missing operator"),
    ("max(x), 1", 7, "end of the text"),
    ("x + 1e400", 5, "too large"),
    ("max(1e308 + 1e308)", 11, "overflow"),
    ("(1e308)(1e308)", 8, "overflow"),
    ("x^(1e308*10)", 9, "overflow"),
    ("(x + 1)^1000000", 8, "terms"),
    ("x # 1", 3, "unexpected character '#'"),
    ("__import__('os')", 12, "unexpected character"),
    ("x +\n  ) + y", 3, "line 2"),
])
def test_errors_point_at_the_column(text, column, fragment):
    with pytest.raises(ValueError) as info:
        parse(text)
    err = info.value
    assert isinstance(err, ParseError)
    message = str(err)
    assert fragment in message and f"column {column}" in message, message
    assert err.column == column
    # the caret line points at the column under the shown text
    shown, caret = message.splitlines()[-2:]
    assert caret.index("^") - 4 == column - 1 and shown.startswith("    ")


@pytest.mark.parametrize("text", [
    "(" * 5000 + "x" + ")" * 5000,
    "max(" * 5000 + "x" + ")" * 5000,
    "x^" + "(" * 5000 + "1" + ")" * 5000,
    "(" * 100000,
])
def test_deep_nesting_is_a_value_error(text):
    with pytest.raises(ValueError, match=f"more than {MAX_DEPTH} levels"):
        parse(text)


def test_nesting_up_to_the_limit_works_even_on_a_deep_stack():
    text = "(" * MAX_DEPTH + "x" + ")" * MAX_DEPTH
    assert arrays(parse(text)) == ([[1.0]], [0.0])
    assert arrays(parse("-" * 10000 + "x")) == ([[1.0]], [0.0])  # unary minus is a loop

    def deep(n):  # leave little stack to parse: a RecursionError must become a ValueError
        if n:
            return deep(n - 1)
        try:
            return parse(text)
        except ValueError as err:
            return err

    result = deep(sys.getrecursionlimit() - 200)
    assert isinstance(result, (TropicalPolynomial, ParseError))


# ---- round trips ------------------------------------------------------------------
finite = st.floats(allow_nan=False, allow_infinity=False)
NAMES = ["x", "y", "z", "x1", "x2", "x10", "e", "E5", "_t", "max", "inf", "é", "min_"]


@st.composite
def polynomials(draw):
    n = draw(st.integers(1, 4))
    N = draw(st.integers(0, 6))
    ints = draw(st.booleans())
    entry = st.integers(-6, 6).map(float) if ints else finite
    E = draw(st.lists(st.lists(entry, min_size=n, max_size=n), min_size=N, max_size=N))
    c = draw(st.lists(st.integers(-9, 9).map(float) if ints else finite, min_size=N,
                      max_size=N))
    sense = draw(st.sampled_from(["max", "min"]))
    names = draw(st.none() | st.lists(st.sampled_from(NAMES), min_size=n, max_size=n,
                                      unique=True))
    E = np.array(E, dtype=np.float64).reshape(N, n)
    return TropicalPolynomial(E, c, sense, names)


def same_bits(a, b):
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


@given(polynomials())
@settings(max_examples=150)
def test_str_parses_back_exactly(p):
    q = parse(str(p), variables=p.variables)
    assert q.sense == p.sense and q.variables == p.variables
    assert same_bits(q.exponents, p.exponents)
    # str cannot tell -0.0 from 0.0; the parser returns 0.0
    assert same_bits(q.coefficients, p.coefficients + 0.0)
    # an explicit sense that agrees is accepted
    assert parse(str(p), sense=p.sense, variables=p.variables).nterms == p.nterms


@given(polynomials())
def test_str_parses_back_without_variables_when_all_default_names_occur(p):
    names = tropical.polynomial.default_variables(p.nvars)
    p = TropicalPolynomial(p.exponents, p.coefficients, p.sense, names)
    if p.nterms and (p.exponents != 0).any(axis=0).all():
        q = parse(str(p))
        assert q.variables == names and same_bits(q.exponents, p.exponents)


def test_round_trip_of_awkward_numbers():
    E = [[1e-05, 1.5e20], [5e-324, -1.7976931348623157e308], [0.1, 1e16]]
    c = [-1.7976931348623157e308, 2.2250738585072014e-308, 1e-05]
    for sense in ("max", "min"):
        p = TropicalPolynomial(E, c, sense)
        q = parse(str(p), variables=p.variables)
        assert same_bits(q.exponents, p.exponents) and same_bits(q.coefficients, p.coefficients)


# ---- random text ------------------------------------------------------------------
PIECES = ["x", "y", "z", "x1", "max", "min", "(", ")", ",", "+", "-", "*", "**", "/", "^",
          "0", "2", "0.5", ".5", "3.", "1e-5", "1e400", "e", "nan", "inf", " ", "\n", "\t",
          ".", "_", "é", "#", "max(", "min(", "))", "(("]


def check_outcome(text, **kwargs):
    try:
        result = parse(text, **kwargs)
    except ValueError as err:  # nothing but ValueError, and it locates the problem
        assert "column" in str(err)
        return None
    assert isinstance(result, TropicalPolynomial)
    return result


@given(st.lists(st.sampled_from(PIECES), max_size=40).map("".join))
@settings(max_examples=300)
def test_random_token_soup_returns_a_polynomial_or_raises_value_error(text):
    check_outcome(text)
    check_outcome(text, sense="min")


@given(st.text(max_size=60))
@settings(max_examples=200)
def test_arbitrary_text_returns_a_polynomial_or_raises_value_error(text):
    check_outcome(text)


@given(st.text(alphabet="xy0123456789.e+-*/^(), maxin", max_size=40))
@settings(max_examples=300)
def test_character_soup_returns_a_polynomial_or_raises_value_error(text):
    check_outcome(text, variables=("x", "y", "e", "a", "m", "n", "ma", "ax"))
    check_outcome(text)


@given(polynomials(), st.data())
def test_mutated_str_returns_a_polynomial_or_raises_value_error(p, data):
    text = str(p)
    i = data.draw(st.integers(0, len(text)))
    piece = data.draw(st.sampled_from(PIECES))
    check_outcome(text[:i] + piece + text[i + 1:], variables=p.variables)
    check_outcome(text[:i] + text[i + 1:])


# ---- the public name --------------------------------------------------------------
def test_public_name_and_docstring_examples():
    assert tropical.parse is parse and parse.__module__ == "tropical"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = doctest.DocTestFinder().find(parse, "parse")
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted >= 5 and result.failed == 0
