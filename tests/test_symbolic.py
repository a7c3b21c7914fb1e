"""Tests of tropical.symbolic: deformation, dequantization, expansion, conversion.

Exactness conventions: structural SymPy equality where the forms are
canonical, exact rational evaluation otherwise; the asymptotic expansion is
checked against mpmath at 50 digits with the *derived* remainder bound of
:class:`tropical.symbolic.Expansion` (plus an allowance for the rounding of
50-digit arithmetic, 1e-45, far below every bound used here).
"""

from __future__ import annotations

import doctest
import subprocess
import sys

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import tropical.symbolic as sym
from tropical.polynomial import TropicalPolynomial
from tropical.symbolic import (deform, dequantize, eps, expand, from_sympy,
                               hopf_cole_residual, lambdify_deformed, to_sympy, tropicalize)

x, y = sp.symbols("x y", real=True)
ROUNDING = mpmath.mpf("1e-45")   # absolute rounding allowance of 50-digit evaluation


# ---------------------------------------------------------------------------------
# strategies
# ---------------------------------------------------------------------------------
@st.composite
def polynomials(draw, floats=False):
    n = draw(st.integers(1, 2))
    N = draw(st.integers(1, 5))
    E = draw(st.lists(st.tuples(*[st.integers(-2, 3)] * n), min_size=N, max_size=N))
    if floats:
        coef = st.floats(-10, 10, allow_nan=False, allow_infinity=False)
    else:
        coef = st.integers(-10, 10).map(lambda k: k / 2)
    c = draw(st.lists(coef, min_size=N, max_size=N))
    sense = draw(st.sampled_from(["max", "min"]))
    return TropicalPolynomial(np.array(E, dtype=float), c, sense)


def _leaf(draw):
    a, b, c = (draw(st.integers(-3, 3)) for _ in range(3))
    return a * x + b * y + sp.Rational(c, 2)


@st.composite
def tropical_exprs(draw, depth=3):
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return _leaf(draw)
    kind = draw(st.sampled_from(["max", "min", "add", "scale"]))
    if kind in ("max", "min"):
        k = draw(st.integers(2, 3))
        args = [draw(tropical_exprs(depth=depth - 1)) for _ in range(k)]
        return (sp.Max if kind == "max" else sp.Min)(*args)
    if kind == "add":
        return draw(tropical_exprs(depth=depth - 1)) + draw(tropical_exprs(depth=depth - 1))
    factor = draw(st.sampled_from([-1, 2, sp.Rational(1, 2), -3]))
    return factor * draw(tropical_exprs(depth=depth - 1))


POINTS = [(sp.Rational(a, 3), sp.Rational(b, 2)) for a, b in
          [(0, 0), (1, 1), (-4, 3), (7, -5), (2, 9), (-11, -1), (5, 5)]]


def _same_function(e1, e2):
    return all(sp.simplify(e1.subs({x: a, y: b}) - e2.subs({x: a, y: b})) == 0
               for a, b in POINTS)


# ---------------------------------------------------------------------------------
# module hygiene
# ---------------------------------------------------------------------------------
def test_import_tropical_does_not_import_sympy():
    code = "import sys, tropical; tropical.TropicalPolynomial; print('sympy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_docstring_examples():
    result = doctest.testmod(sym, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 20
    assert result.failed == 0


def test_every_public_name_has_examples():
    for name in sym.__all__:
        obj = getattr(sym, name)
        if name == "eps":
            assert obj.is_positive and obj.name == "eps"
            continue
        assert "Examples" in (obj.__doc__ or ""), name


# ---------------------------------------------------------------------------------
# deform / dequantize
# ---------------------------------------------------------------------------------
def test_deform_forms():
    z = sp.Symbol("z", real=True)
    assert deform(sp.Max(z, 0)) == eps * sp.log(1 + sp.exp(z / eps))          # softplus
    assert deform(sp.Min(x, y)) == -eps * sp.log(sp.exp(-x / eps) + sp.exp(-y / eps))
    assert deform(x + 1) == x + 1
    p = TropicalPolynomial([[1, 0], [0, 2]], [0.0, -1.0], sense="min")
    assert deform(p) == -eps * sp.log(sp.exp(-x / eps) + sp.exp(-(2 * y - 1) / eps))
    h = sp.Symbol("h", positive=True)
    assert deform(sp.Max(x, y), eps=h) == h * sp.log(sp.exp(x / h) + sp.exp(y / h))


def test_deform_rejects_other_functions():
    with pytest.raises(ValueError, match=r"sin\(Max\(x, y\)\)"):
        deform(sp.sin(sp.Max(x, y)))
    with pytest.raises(ValueError, match=r"Max\(0, x\)\*Max\(0, y\)"):
        deform(sp.Max(x, 0) * sp.Max(y, 0))
    with pytest.raises(TypeError):
        deform("max(x, y)")


@given(polynomials())
def test_dequantize_deform_is_identity_on_polynomials(p):
    back = dequantize(deform(p))
    assert back == to_sympy(p)
    q = from_sympy(back, variables=p.variables, sense=p.sense)  # one monomial: no Max/Min
    assert q.sense == p.sense
    assert np.array_equal(q.exponents, p.exponents)
    assert np.array_equal(q.coefficients, p.coefficients)


@settings(max_examples=20)
@given(polynomials(floats=True))
def test_dequantize_deform_is_identity_with_float_coefficients(p):
    q = from_sympy(dequantize(deform(p)), variables=p.variables, sense=p.sense)
    assert np.array_equal(q.coefficients, p.coefficients)
    assert np.array_equal(q.exponents, p.exponents)


@settings(max_examples=25)
@given(tropical_exprs())
def test_dequantize_deform_is_identity_on_nested_expressions(e):
    back = dequantize(deform(e))
    assert not back.has(eps)
    assert _same_function(back, e)


def test_dequantize_nested_structurally():
    e = sp.Max(sp.Min(x, y) + 1, 2 * x - 1, sp.Min(3 * y, x - 2, sp.Max(x, y)))
    assert dequantize(deform(e)) == e
    assert dequantize(deform(-sp.Max(x, y) + 2 * sp.Min(x, 0))) == \
        sp.Min(-x, -y) + sp.Min(0, 2 * x)


def test_dequantize_valuation_rules():
    # positive constants, powers of eps and products of exponentials contribute 0 / sums
    S = 3 * sp.exp(x / eps) + eps ** 2 * sp.exp(y / eps) * sp.exp(1 / eps) + sp.pi
    assert dequantize(eps * sp.log(S)) == sp.Max(0, x, y + 1)
    assert dequantize(eps * sp.log(sp.exp(x / eps) ** 2 + 1) + 5 * eps) == sp.Max(0, 2 * x)
    assert dequantize(eps * sp.log(1 / (sp.exp(x / eps) + sp.exp(y / eps)))) == sp.Min(-x, -y)
    assert dequantize(eps ** 2 * sp.log(sp.exp(x / eps) + 1)) == 0
    assert dequantize(sp.Max(eps * sp.log(sp.exp(x / eps) + 1), y)) == sp.Max(0, x, y)


def test_dequantize_rejects_cancellation_and_non_tropical_forms():
    with pytest.raises(ValueError, match=r"-exp\(y/eps\).*factor -1"):
        dequantize(eps * sp.log(sp.exp(x / eps) - sp.exp(y / eps)))
    with pytest.raises(ValueError, match=r"x\*exp\(y/eps\)"):       # sign of x unknown
        dequantize(eps * sp.log(x * sp.exp(y / eps) + 1))
    with pytest.raises(ValueError, match=r"in the sum 1 - eps"):
        dequantize(eps * sp.log(1 - eps))
    with pytest.raises(ValueError, match="without a factor eps"):
        dequantize(sp.log(sp.exp(x / eps) + 1))
    with pytest.raises(ValueError, match=r"exp\(x/eps\*\*2\)"):
        dequantize(eps * sp.log(sp.exp(x / eps ** 2) + 1))
    with pytest.raises(ValueError, match="diverges"):
        dequantize(x / eps)


@pytest.mark.parametrize("a, b", [(2, 1), (-1, 3), (sp.Rational(1, 2), sp.Rational(1, 2))])
def test_sympy_limit_spot_check_on_numbers(a, b):
    lse_max = eps * sp.log(sp.exp(a / eps) + sp.exp(b / eps))
    lse_min = -eps * sp.log(sp.exp(-a / eps) + sp.exp(-b / eps))
    for F in (lse_max, lse_min):
        assert sp.limit(F, eps, 0, "+") == dequantize(F)
    assert dequantize(lse_max) == max(a, b) and dequantize(lse_min) == min(a, b)


def test_dequantize_is_right_where_sympy_limit_is_wrong_symbolically():
    a, b = sp.symbols("a b", real=True)
    F = eps * sp.log(sp.exp(a / eps) + sp.exp(b / eps))
    assert dequantize(F) == sp.Max(a, b)
    assert dequantize(F).subs({a: 2, b: 1}) == 2


# ---------------------------------------------------------------------------------
# expand
# ---------------------------------------------------------------------------------
def _mp_value(expr, point, h):
    """``expr`` at ``point`` and ``eps = h`` in 50-digit mpmath arithmetic."""
    f = sp.lambdify(eps, expr.subs(point), "mpmath")
    return f(h)


def _lse_case(values, sense, coefficients=None):
    """A deformed 2-variable polynomial whose monomials take ``values`` at (1, -1)."""
    point = {x: 1, y: -1}
    monos = []
    for j, v in enumerate(values):
        a, b = j % 3 - 1, j // 3          # distinct linear parts
        monos.append(a * x + b * y + (v - a * 1 - b * (-1)))
    sign = 1 if sense == "max" else -1
    terms = [(coefficients[j] if coefficients else 1) * sp.exp(sign * m / eps)
             for j, m in enumerate(monos)]
    return sign * eps * sp.log(sp.Add(*terms)), point


def _gapped(h, ties, gaps, sense):
    M = sp.Rational(3, 2)
    vals = [M] * ties + [M - g * h for g in gaps]
    if sense == "min":
        vals = [-v for v in vals]
    return vals


@pytest.mark.parametrize("sense", ["max", "min"])
@pytest.mark.parametrize("h", [sp.Rational(1, 100), sp.Rational(1, 1000)])
@pytest.mark.parametrize("ties, gaps, order", [
    (1, [4, 9, 15], 1), (2, [4, 9, 15], 1), (3, [4, 9, 15], 2),
    (2, [5, 5, 12], 1), (2, [4, 7, 30], 3), (4, [6], 1), (2, [], 1),
])
def test_expand_agrees_with_mpmath_within_the_derived_bound(sense, h, ties, gaps, order):
    vals = _gapped(h, ties, gaps, sense)
    F, point = _lse_case(vals, sense)
    X = expand(F, at=point, order=order)
    sign = 1 if sense == "max" else -1
    assert X.leading == sign * sp.Rational(3, 2)
    assert X.multiplicity == (ties,)
    assert X.log_multiplicity == sign * eps * sp.log(ties)
    distinct = sorted(set(gaps))
    assert [r for _, r in X.corrections] == [g * h for g in distinct[:order]]
    assert [c for c, _ in X.corrections] == [sign * sp.Rational(gaps.count(g), ties)
                                             for g in distinct[:order]]
    with mpmath.workdps(50):
        hm = mpmath.mpf(h.p) / h.q
        value = _mp_value(F, point, hm)
        truncated = _mp_value(X.as_expr(), point, hm)
        bound = X.remainder_bound(hm)
        assert abs(value - truncated) <= bound + ROUNDING
        if gaps:
            assert bound > 1e6 * ROUNDING          # the check is not vacuous
        else:
            assert bound == 0 and abs(value - truncated) <= ROUNDING
        if ties > 1:   # the multiplicity term is needed: without it the bound fails
            assert abs(value - (truncated - X.log_multiplicity.subs(eps, hm))) > bound
        if gaps and distinct[0] * 2 > distinct[min(1, len(distinct) - 1)] - 3 and order >= 1:
            # the first correction is needed: the order-0 error exceeds the order-1 bound
            X0 = expand(F, at=point, order=0)
            err0 = abs(value - _mp_value(X0.as_expr(), point, hm))
            assert err0 > bound


def test_expand_bound_is_sharp_when_only_the_quadratic_term_remains():
    h = sp.Rational(1, 100)
    F, point = _lse_case([1, 1 - 9 * h], "max")
    X = expand(F, at=point, order=1)
    with mpmath.workdps(50):
        hm = mpmath.mpf(1) / 100
        err = abs(_mp_value(F, point, hm) - _mp_value(X.as_expr(), point, hm))
        bound = X.remainder_bound(hm)
    assert err <= bound <= err * (1 + 1e-3)
    assert X.next_rate == 2 * 9 * h


@settings(max_examples=15)
@given(st.integers(1, 3), st.lists(st.integers(3, 25), min_size=0, max_size=4),
       st.integers(0, 3), st.sampled_from(["max", "min"]),
       st.lists(st.integers(1, 4), min_size=8, max_size=8))
def test_expand_random_ties_gaps_and_coefficients(ties, gaps, order, sense, cs):
    h = sp.Rational(1, 100)
    vals = _gapped(h, ties, gaps, sense)
    F, point = _lse_case(vals, sense, coefficients=cs)
    X = expand(F, at=point, order=order)
    C = sum(cs[:ties])
    sign = 1 if sense == "max" else -1
    assert X.log_multiplicity == sign * eps * sp.log(C)
    with mpmath.workdps(50):
        hm = mpmath.mpf(1) / 100
        err = abs(_mp_value(F, point, hm) - _mp_value(X.as_expr(), point, hm))
        assert err <= X.remainder_bound(hm) + ROUNDING


def test_expand_sum_of_deformations_and_rational_functions():
    # a tropical rational function: the difference of two deformations
    G = sp.Max(x, y, 0)
    H = sp.Max(x - 1, y)
    F = deform(G) - deform(H)
    point = {x: sp.Rational(1, 2), y: sp.Rational(1, 2)}
    X = expand(F, at=point, order=3)
    assert X.leading == G.subs(point) - H.subs(point)
    assert X.multiplicity == (2, 1)
    assert X.log_multiplicity == eps * sp.log(2)
    assert X.corrections == [(sp.Rational(1, 2), sp.Rational(1, 2)), (-1, 1)]
    with mpmath.workdps(50):
        for hm in (mpmath.mpf("0.01"), mpmath.mpf("0.05")):
            err = abs(_mp_value(F, point, hm) - _mp_value(X.as_expr(), point, hm))
            assert err <= X.remainder_bound(hm) + ROUNDING


def test_expand_symbolic_pieces_match_the_point_expansion():
    F = deform(sp.Max(x, 2 * y, x + y - 1))
    pieces = expand(F)
    assert len(pieces) == 3
    point = {x: sp.Rational(3, 2), y: sp.Rational(1, 4)}   # x dominates
    (piece,) = [p for p in pieces if all(c.subs(point) for c in p.conditions)]
    assert piece.leading == x
    at = expand(F, at=point, order=5)
    assert sp.simplify(piece.as_expr().subs(point) - at.as_expr()) == 0


def test_expand_rejects_what_it_cannot_expand():
    with pytest.raises(ValueError, match="nested deformation"):
        expand(deform(sp.Max(sp.Min(x, y), 0)), at={x: 0, y: 0})
    with pytest.raises(ValueError, match="not positive"):
        expand(eps * sp.log(x * sp.exp(y / eps) + 1), at={x: -1, y: 0})
    with pytest.raises(ValueError, match=r"\['y'\]"):
        expand(deform(sp.Max(x, y)), at={x: 0})
    with pytest.raises(ValueError, match="order"):
        expand(deform(sp.Max(x, y)), at={x: 0, y: 0}, order=-1)


# ---------------------------------------------------------------------------------
# conversion
# ---------------------------------------------------------------------------------
@given(polynomials(floats=True))
def test_to_sympy_from_sympy_round_trip(p):
    q = from_sympy(to_sympy(p), variables=p.variables, sense=p.sense)
    assert q.sense == p.sense and q.variables == p.variables
    assert np.array_equal(q.exponents, p.exponents)
    assert np.array_equal(q.coefficients, p.coefficients)


def test_from_sympy_forms_and_values():
    p = from_sympy(sp.Max(0, x + 2 * y - 1, sp.Max(3 * x, y)))
    assert str(p) == "max(0, y, x + 2*y - 1, 3*x)"
    q = from_sympy(sp.Min(x, 1) + sp.Min(y, 2))
    assert q.sense == "min" and q.nterms == 4
    r = from_sympy(-sp.Max(x, y))                      # -max = min of the negatives
    assert r.sense == "min"
    pts = np.array([[0.5, -2.0], [3.0, 1.0], [-1.0, -1.0]])
    assert np.array_equal(r(pts), -np.maximum(pts[:, 0], pts[:, 1]))
    lone = from_sympy(2 * x - 3, sense="min")
    assert lone.nterms == 1 and lone.sense == "min"
    z = sp.Symbol("z")                                 # assumptions do not matter: names do
    assert from_sympy(sp.Max(z, 0), variables=["z"]).variables == ("z",)


def test_from_sympy_errors_name_the_subexpression():
    with pytest.raises(ValueError, match=r"x\*y"):
        from_sympy(sp.Max(x * y, 0))
    with pytest.raises(ValueError, match=r"Min\(x, y\)"):
        from_sympy(sp.Max(sp.Min(x, y), 0))
    with pytest.raises(ValueError, match=r"\['y'\]"):
        from_sympy(sp.Max(x, y), variables=["x"])
    with pytest.raises(ValueError, match="not a min"):
        from_sympy(sp.Max(x, y), sense="min")
    with pytest.raises(ValueError, match="eps"):
        from_sympy(deform(sp.Max(x, y)))
    with pytest.raises(TypeError):
        from_sympy("max(x, y)")


def test_to_sympy_zero_and_single_monomial():
    zero = TropicalPolynomial(np.zeros((0, 1)), [], "max")
    assert to_sympy(zero) == -sp.oo
    assert to_sympy(TropicalPolynomial([[2]], [1.5])) == 2 * x + sp.Float(1.5)


# ---------------------------------------------------------------------------------
# tropicalize
# ---------------------------------------------------------------------------------
t = sp.Symbol("t", positive=True)
X_, Y_ = sp.symbols("x y")


def test_tropicalize_textbook_example_by_hand():
    # f = t x^2 + x y + t^3 + (1 + t) y^2 + 5 t^(1/2) x - 2 t^(-1) y + (t^2 - 3 t^(5/2)) x^2 y
    f = (t * X_ ** 2 + X_ * Y_ + t ** 3 + (1 + t) * Y_ ** 2 + 5 * sp.sqrt(t) * X_
         - 2 / t * Y_ + (t ** 2 - 3 * t ** sp.Rational(5, 2)) * X_ ** 2 * Y_)
    # valuations by hand: x^2 -> 1, xy -> 0, 1 -> 3, y^2 -> 0 (val(1 + t) = 0),
    # x -> 1/2, y -> -1, x^2 y -> 2
    expected = {(2, 0): 1.0, (1, 1): 0.0, (0, 0): 3.0, (0, 2): 0.0, (1, 0): 0.5,
                (0, 1): -1.0, (2, 1): 2.0}
    p = tropicalize(f, t)
    assert p.sense == "min" and p.variables == ("x", "y")
    got = {tuple(int(a) for a in e): c for e, c in p.monomials()}
    assert got == expected
    q = tropicalize(f, t, sense="max")
    assert q.sense == "max"
    assert {tuple(int(a) for a in e): c for e, c in q.monomials()} == \
        {k: -v for k, v in expected.items()}
    # the tropical polynomial as a function, at a point worked by hand:
    # min(1 + 2x, x + y, 3, 2y, 1/2 + x, -1 + y, 2 + 2x + y) at (1, 1) = min(3,2,3,2,1.5,0,5) = 0
    assert p([1.0, 1.0]) == 0.0


def test_tropicalize_cancellation_and_errors():
    p = tropicalize((t ** 2 - t ** 2 + t ** 3) * X_ + (t - t) * Y_ + 1, t)
    assert {tuple(e): c for e, c in p.monomials()} == {(1.0,): 3.0, (0.0,): 0.0}
    with pytest.raises(ValueError, match="zero polynomial"):
        tropicalize(X_ - X_ + t - t, t)
    with pytest.raises(ValueError, match=r"1/\(t \+ 1\)"):
        tropicalize(X_ / (1 + t) + 1, t)
    with pytest.raises(ValueError, match=r"log\(t\)"):
        tropicalize(sp.log(t) * X_, t)
    a = sp.Symbol("a")
    with pytest.raises(ValueError, match="not a number"):
        tropicalize(a * t * X_ + 1, t, variables=[X_])
    with pytest.raises(ValueError, match="monomial"):
        tropicalize(sp.sin(X_) + t, t)


# ---------------------------------------------------------------------------------
# numerics
# ---------------------------------------------------------------------------------
def test_lambdify_deformed_routes_polynomials_through_the_kernels():
    p = TropicalPolynomial([[0, 0], [1, 2], [3, 0], [-1, 1]], [0.0, -1.0, 0.0, 2.5])
    rng = np.random.default_rng(7)
    X = rng.normal(size=(50, 2)) * 100
    for h in (1.0, 1e-3):
        f = lambdify_deformed(deform(p), ["x", "y"], h)
        assert np.array_equal(f(X), p(X, eps=h))
        g = lambdify_deformed(deform(-p), ["x", "y"], h)   # min sense
        assert np.array_equal(g(X), (-p)(X, eps=h))


def test_lambdify_deformed_matches_mpmath_without_overflow():
    e = sp.Max(sp.Min(x, y) + 1, 2 * x - 1, sp.Min(3 * y, x - 2, sp.Max(x, y))) + \
        sp.Max(300 * x, 0)
    F = deform(e)
    h = 1e-3
    f = lambdify_deformed(F, [x, y], h)
    pts = np.array([[1.0, 1.0], [2.0, -3.0], [-5.0, 7.0], [0.25, 0.25], [100.0, 99.0]])
    out = f(pts)
    assert np.all(np.isfinite(out))
    ref = sp.lambdify((eps, x, y), F, "mpmath")
    with mpmath.workdps(50):
        for (a, b), v in zip(pts, out):
            r = ref(mpmath.mpf(h), mpmath.mpf(a), mpmath.mpf(b))
            assert abs(v - r) <= 1e-13 * max(1.0, abs(float(r)))
    # and the tropical limit is approached within the eps*log N budget
    assert np.all(np.abs(out - np.array([float(e.subs({x: a, y: b})) for a, b in pts]))
                  <= 3 * h * np.log(4) + 1e-12)


def test_lambdify_deformed_softplus_with_constants():
    F = eps * sp.log(3 * sp.exp(x / eps) + 1) + eps
    f = lambdify_deformed(F, [x], 1e-2)
    v = f(np.array([-1.0, 0.0, 2.0]))
    expected = [1e-2 * np.log1p(3 * np.exp(-100.0)) + 1e-2, 1e-2 * np.log(4) + 1e-2,
                2.0 + 1e-2 * np.log(3 + np.exp(-200.0)) + 1e-2]
    np.testing.assert_allclose(v, expected, rtol=1e-15, atol=1e-17)


def test_lambdify_deformed_rejects_bad_input():
    with pytest.raises(ValueError, match="eps_value"):
        lambdify_deformed(deform(sp.Max(x, 0)), [x], 0.0)
    with pytest.raises(ValueError, match=r"\['y'\]"):
        lambdify_deformed(deform(sp.Max(x, y)), [x], 0.1)


# ---------------------------------------------------------------------------------
# Hopf-Cole
# ---------------------------------------------------------------------------------
@pytest.mark.parametrize("N", [2, 3])
@pytest.mark.parametrize("d", [1, 2])
def test_hopf_cole_residual_is_exactly_zero(N, d):
    assert hopf_cole_residual(N, d) == 0


@pytest.mark.parametrize("N, d", [(2, 1), (3, 2)])
def test_hopf_cole_wrong_formula_has_a_nonzero_residual(N, d):
    r = hopf_cole_residual(N, d, time_factor=2)
    assert r != 0
    assert sp.simplify(r) != 0
