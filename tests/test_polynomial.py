"""TropicalPolynomial and TropicalRational: evaluation, algebra laws, simplify, JSON.

Integer-valued data keeps every float operation exact, so the laws are
checked with ``==``, not a tolerance.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tropical.polynomial import TropicalPolynomial, TropicalRational

F = Fraction


@st.composite
def polys(draw, nvars=None, sense=None, max_terms=6, exp_range=(-3, 4)):
    n = draw(st.integers(1, 3)) if nvars is None else nvars
    k = draw(st.integers(1, max_terms))
    E = draw(st.lists(st.tuples(*[st.integers(*exp_range)] * n), min_size=k, max_size=k))
    c = draw(st.lists(st.integers(-10, 10), min_size=k, max_size=k))
    s = draw(st.sampled_from(["max", "min"])) if sense is None else sense
    return TropicalPolynomial(np.array(E, dtype=float), np.array(c, dtype=float), s)


def same_shape(nvars, sense):
    return polys(nvars=nvars, sense=sense)


def int_points(rng, n, m=64, lo=-20, hi=20):
    return rng.integers(lo, hi, size=(m, n)).astype(float)


def brute(p, X):
    """max/min over monomials, computed directly."""
    V = np.array([[c + float(np.dot(a, x)) for a, c in zip(p.exponents, p.coefficients)]
                  for x in X])
    return V.max(axis=1) if p.sense == "max" else V.min(axis=1)


def exact_eval(p, x):
    vals = [F(float(c)) + sum(F(float(a)) * F(xi) for a, xi in zip(row, x))
            for row, c in zip(p.exponents, p.coefficients)]
    return (max if p.sense == "max" else min)(vals)


# ---------------------------------------------------------------------------
# evaluation
# ---------------------------------------------------------------------------
@given(polys(), st.integers(0, 2 ** 32 - 1))
def test_evaluation_matches_brute_force(p, seed):
    X = int_points(np.random.default_rng(seed), p.nvars)
    assert np.array_equal(p(X), brute(p, X))


def test_evaluation_shapes_and_eps():
    p = TropicalPolynomial([[1, 0], [0, 1], [0, 0]], [0.0, 0.0, 0.0])
    X = np.arange(24, dtype=float).reshape(3, 4, 2)
    assert p(X).shape == (3, 4)
    assert p(X[0, 0]).shape == ()
    q = TropicalPolynomial([0, 1, 2], [0.0, 1.0, -1.0])
    assert q(np.zeros((2, 3))).shape == (2, 3)
    # log-sum-exp deformation: p <= p_eps <= p + eps log N
    x = np.array([[0.3, -1.2], [2.0, 2.0]])
    for eps in (0.01, 0.5, 2.0):
        v0, v = p(x), p(x, eps=eps)
        assert np.all(v >= v0) and np.all(v <= v0 + eps * math.log(3) + 1e-12)
    assert p([0.0, 0.0], eps=1.0) == pytest.approx(math.log(3))
    # min sense deforms the other way
    m = -p
    assert m([0.0, 0.0], eps=1.0) == pytest.approx(-math.log(3))


def test_zero_polynomial_and_constants():
    z = TropicalPolynomial(np.zeros((0, 2)), np.zeros(0))
    assert z.is_zero() and z([1.0, 2.0]) == -np.inf
    assert TropicalPolynomial([[0, 0]], [-np.inf]).is_zero()
    one = TropicalPolynomial.constant(0.0, nvars=2)
    p = TropicalPolynomial([[1, 0], [0, 1]], [1.0, 2.0])
    assert (p * one).equals(p) and (p + z).equals(p) and (p * z).is_zero()


# ---------------------------------------------------------------------------
# algebra laws as functions (exact on integer data)
# ---------------------------------------------------------------------------
@settings(max_examples=30)
@given(st.integers(1, 3), st.sampled_from(["max", "min"]), st.data())
def test_semiring_laws(n, sense, data):
    p, q, r = (data.draw(same_shape(n, sense)) for _ in range(3))
    X = int_points(np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1))), n)
    op = np.maximum if sense == "max" else np.minimum
    assert np.array_equal((p + q)(X), op(p(X), q(X)))
    assert np.array_equal((p * q)(X), p(X) + q(X))
    # commutativity, associativity, distributivity: equal as functions, and as polynomials
    assert np.array_equal((p + q)(X), (q + p)(X)) and (p + q).equals(q + p)
    assert np.array_equal((p * q)(X), (q * p)(X)) and (p * q).equals(q * p)
    assert np.array_equal(((p + q) + r)(X), (p + (q + r))(X))
    assert np.array_equal(((p * q) * r)(X), (p * (q * r))(X)) and ((p * q) * r).equals(p * (q * r))
    assert np.array_equal((p * (q + r))(X), (p * q + p * r)(X))
    assert (p * (q + r)).equals(p * q + p * r)
    # powers
    assert np.array_equal((p ** 3)(X), 3 * p(X)) and (p ** 3).equals(p * p * p)
    assert np.array_equal((p ** 0)(X), np.zeros(len(X)))
    # scalars are constants: p + 3 is max(p, 3), p * 3 adds 3
    assert np.array_equal((p + 3)(X), op(p(X), 3.0))
    assert np.array_equal((p * 3)(X), p(X) + 3.0)


def test_mixing_senses_is_an_error():
    p = TropicalPolynomial([0, 1], [0.0, 0.0])
    with pytest.raises(ValueError, match="sense"):
        p + (-p)
    with pytest.raises(ValueError, match="sense"):
        p * (-p)
    with pytest.raises(ValueError, match="variables"):
        p + TropicalPolynomial([[0, 1]], [0.0])
    assert (p == -p) is False


# ---------------------------------------------------------------------------
# simplify
# ---------------------------------------------------------------------------
def test_simplify_removes_a_known_redundant_term():
    p = TropicalPolynomial([0, 1, 2], [0.0, -1.0, 0.0])  # x - 1 <= max(0, 2x) everywhere
    s = p.simplify()
    assert str(s) == "max(0, 2*x)" and s.nterms == 2
    assert p.maximal_terms().tolist() == [True, False, True]
    # a tie on a point only (x + 0 touches max(0, 2x) at x = 0): also removed
    q = TropicalPolynomial([0, 1, 2], [0.0, 0.0, 0.0])
    assert q.simplify().nterms == 2
    # a term strictly maximal on a tiny interval stays
    r = TropicalPolynomial([0, 1, 2], [0.0, 2 ** -30, 0.0])
    assert r.simplify().nterms == 3
    # in two variables: x + y <= max(0, 2x, 2y) when its coefficient is <= 0
    t = TropicalPolynomial([[0, 0], [2, 0], [0, 2], [1, 1]], [0.0, 0.0, 0.0, -0.5])
    assert t.simplify().nterms == 3
    u = TropicalPolynomial([[0, 0], [2, 0], [0, 2], [1, 1]], [0.0, 0.0, 0.0, 0.5])
    assert u.simplify().nterms == 4


@settings(max_examples=30)
@given(polys(nvars=2, max_terms=10, exp_range=(0, 4)), st.integers(0, 2 ** 32 - 1))
def test_simplify_never_changes_the_function_2d(p, seed):
    from tropical.geometry import regions

    s = p.simplify()
    assert s.nterms <= p.nterms
    X = int_points(np.random.default_rng(seed), 2, m=200)
    assert np.array_equal(p(X), s(X))
    # exactly at every vertex of every linear region (where removed terms could tie)
    for R in regions(p, box=[[-7, 9], [-8, 6]]):
        for v in R.vertices_exact:
            assert exact_eval(p, v) == exact_eval(s, v)
    assert s.equals(p) and s.simplify().nterms == s.nterms
    assert s.maximal_terms().all()


@settings(max_examples=30)
@given(polys(nvars=3, max_terms=8), st.integers(0, 2 ** 32 - 1))
def test_simplify_never_changes_the_function_3d(p, seed):
    s = p.simplify()
    rng = np.random.default_rng(seed)
    X = np.vstack([int_points(rng, 3, m=200), rng.integers(-3, 3, size=(50, 3)) / 4.0])
    assert np.array_equal(p(X), s(X))
    # every removed term is nowhere strictly better: exact check at the sample points
    assert s.nterms <= p.nterms and s.maximal_terms().all()


def test_simplify_real_exponents():
    rng = np.random.default_rng(5)
    E = rng.standard_normal((60, 2))
    c = rng.standard_normal(60)
    p = TropicalPolynomial(E, c)
    s = p.simplify()
    X = rng.standard_normal((500, 2)) * 3
    assert np.allclose(p(X), s(X), rtol=0, atol=1e-12)
    # each kept term is the strict maximum somewhere
    V = s.affine_values(rng.standard_normal((20000, 2)) * 3)
    assert len(set(np.argmax(V, axis=1).tolist())) <= s.nterms


# ---------------------------------------------------------------------------
# equality, hashing, compose, negation
# ---------------------------------------------------------------------------
def test_equals_and_hash():
    p = TropicalPolynomial([0, 1, 2], [0.0, -1.0, 0.0])
    q = TropicalPolynomial([0, 2], [0.0, 0.0])
    assert p == q and p.equals(q) and hash(p) == hash(q)
    assert len({p, q}) == 1
    assert p != TropicalPolynomial([0, 2], [0.0, 1.0])
    assert p != -p
    assert TropicalPolynomial.constant(2.0) == 2.0


@given(polys(), st.integers(0, 2 ** 32 - 1))
def test_compose_with_affine_maps(p, seed):
    rng = np.random.default_rng(seed)
    m = int(rng.integers(1, 4))
    A = rng.integers(-2, 3, size=(p.nvars, m)).astype(float)
    b = rng.integers(-3, 4, size=p.nvars).astype(float)
    pc = p.compose(A, b)
    Y = int_points(rng, m)
    assert pc.nvars == m and pc.sense == p.sense
    assert np.array_equal(pc(Y), p(Y @ A.T + b))


@given(polys(), st.integers(0, 2 ** 32 - 1))
def test_negation_flips_sense(p, seed):
    X = int_points(np.random.default_rng(seed), p.nvars)
    q = -p
    assert q.sense == ("min" if p.sense == "max" else "max")
    assert np.array_equal(q(X), -p(X))
    assert (-q).equals(p)


# ---------------------------------------------------------------------------
# JSON, text
# ---------------------------------------------------------------------------
@given(polys())
def test_json_round_trip(p):
    q = TropicalPolynomial.from_json(p.to_json())
    assert q.sense == p.sense and q.variables == p.variables
    assert np.array_equal(q.exponents, p.exponents)
    assert np.array_equal(q.coefficients, p.coefficients)


def test_json_round_trip_exact_floats_and_errors():
    p = TropicalPolynomial([[0.1, 1 / 3], [2.5, -7.0]], [0.1, -1e-300], "min",
                           variables=("u", "v"))
    q = TropicalPolynomial.from_json(p.to_json())
    assert q.exponents.tobytes() == p.exponents.tobytes()
    assert q.coefficients.tobytes() == p.coefficients.tobytes()
    assert q.variables == ("u", "v") and q.sense == "min"
    z = TropicalPolynomial(np.zeros((0, 2)), np.zeros(0))
    assert TropicalPolynomial.from_json(z.to_json()).is_zero()
    with pytest.raises(ValueError):
        TropicalPolynomial.from_json(json.dumps({"type": "TropicalRational"}))
    with pytest.raises(ValueError):
        TropicalPolynomial.from_json(json.dumps({"type": "TropicalPolynomial", "sense": "max"}))


def test_str_and_latex():
    p = TropicalPolynomial([[0, 0], [1, 2], [3, 0]], [0.0, -1.0, 0.0])
    assert str(p) == "max(0, x + 2*y - 1, 3*x)"
    assert p._repr_latex_().startswith("$\\max")
    assert "x_{1}" in TropicalPolynomial(np.eye(4), np.zeros(4))._repr_latex_()


# ---------------------------------------------------------------------------
# rational functions
# ---------------------------------------------------------------------------
@settings(max_examples=30)
@given(st.integers(1, 2), st.sampled_from(["max", "min"]), st.data())
def test_rational_functions(n, sense, data):
    G, H, K, L = (data.draw(same_shape(n, sense)) for _ in range(4))
    R, S = TropicalRational(G, H), TropicalRational(K, L)
    X = int_points(np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1))), n)
    op = np.maximum if sense == "max" else np.minimum
    assert np.array_equal(R(X), G(X) - H(X))
    assert np.array_equal((R + S)(X), op(R(X), S(X)))
    assert np.array_equal((R * S)(X), R(X) + S(X))
    assert np.array_equal((R / S)(X), R(X) - S(X))
    assert np.array_equal((R ** 2)(X), 2 * R(X))
    assert np.array_equal((-R)(X), -R(X))
    assert np.array_equal((R + G)(X), op(R(X), G(X)))
    assert np.array_equal((G / H)(X), R(X))
    assert np.array_equal(R.simplify()(X), R(X))
    T = TropicalRational.from_json(R.to_json())
    assert np.array_equal(T(X), R(X)) and T.sense == sense


def test_rational_errors():
    G = TropicalPolynomial([0, 1], [0.0, 0.0])
    with pytest.raises(ZeroDivisionError):
        TropicalRational(G, TropicalPolynomial(np.zeros((0, 1)), np.zeros(0)))
    with pytest.raises(ValueError, match="sense"):
        TropicalRational(G, -G)
    with pytest.raises(TypeError):
        TropicalRational(G, 1.0)


def test_doctests():
    import doctest

    import tropical.polynomial as mod

    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
