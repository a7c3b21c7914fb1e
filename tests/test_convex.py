"""The convex view: the entropic LP, its certified optimiser and its conjugate.

Reference values: the closed form ``tropical.lse`` / ``tropical.softmax``
(which the optimiser does not use), mpmath at 50 digits on the exact float
data, the exact lower hull of ``tropical.geometry`` (rational arithmetic) on
integer data, and brute-force HiGHS LPs.

Tolerances. ``scale = max_j (|w_j|.|x| + |b_j|) + eps*max(1, log N)`` is the
magnitude every rounding error of the problem is relative to (the terms of
``a = W x + b`` and the entropy term). The optimiser certifies
``upper - lower <= 1e-12 * scale`` and returns a value inside that bracket;
``tropical.lse`` is within a few ulps of the scale, so the two agree to
``1e-12 * scale``. The Gibbs weights are compared absolutely to ``1e-10``
(their error is ``|a_j|/eps`` ulps on terms that are not negligible).
"""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest

import tropical
from tropical.views.convex import ConjugateSolution, EntropicLP, LPSolution

EPS_VALUES = [1e-6, 1e-3, 1.0, 1e3]


def _scale(W, b, X, eps):
    return (np.abs(X) @ np.abs(W).T + np.abs(b)).max(axis=-1) + eps * max(1.0, math.log(len(b)))


def _problem(rng, N, d, spread=3.0):
    return rng.standard_normal((N, d)), spread * rng.standard_normal(N)


def _mp_lse(W, b, x, eps):
    """eps*log sum exp((w_j.x + b_j)/eps) at 50 digits, on the exact float data."""
    with mpmath.workdps(50):
        a = [sum(mpmath.mpf(float(W[j, k])) * mpmath.mpf(float(x[k])) for k in range(W.shape[1]))
             + mpmath.mpf(float(b[j])) for j in range(W.shape[0])]
        if eps == 0:
            return max(a)
        e = mpmath.mpf(eps)
        m = max(a)
        return m + e * mpmath.log(mpmath.fsum(mpmath.exp((t - m) / e) for t in a))


# ---------------------------------------------------------------------------
# the primal problem, eps > 0
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("eps", EPS_VALUES)
@pytest.mark.parametrize("N,d", [(1, 1), (7, 1), (40, 2), (300, 5), (2000, 16)])
def test_value_and_argmax_match_closed_form(rng, N, d, eps):
    W, b = _problem(rng, N, d)
    # include points far from the data: no overflow at any eps
    X = np.vstack([rng.standard_normal((20, d)), 300.0 * rng.standard_normal((4, d))])
    lp = EntropicLP(W, b, eps)
    sol = lp.solve(X)
    A = X @ W.T + b
    scale = _scale(W, b, X, eps)
    assert sol.converged
    assert np.all(sol.gap <= 1e-12 * scale)
    assert np.all(np.abs(sol.value - tropical.lse(A, eps)) <= 1e-12 * scale)
    assert np.all(np.abs(sol.pi - tropical.softmax(A, eps)) <= 1e-10)
    # pi is feasible: on the simplex
    assert np.all(sol.pi >= 0)
    assert np.allclose(sol.pi.sum(axis=1), 1.0, rtol=0, atol=1e-13)
    np.testing.assert_array_equal(lp.value(X), sol.value)
    np.testing.assert_array_equal(lp.argmax(X), sol.pi)


@pytest.mark.parametrize("eps", EPS_VALUES)
def test_certified_bracket_contains_the_true_optimum(rng, eps):
    """lower <= optimum <= upper, the optimum at 50 digits on the float data."""
    W, b = _problem(rng, 25, 3)
    X = np.vstack([rng.standard_normal((6, 3)), 40.0 * rng.standard_normal((2, 3))])
    sol = EntropicLP(W, b, eps).solve(X)
    for i, x in enumerate(X):
        opt = _mp_lse(W, b, x, eps)
        assert mpmath.mpf(float(sol.lower[i])) <= opt <= mpmath.mpf(float(sol.upper[i]))
        assert sol.lower[i] <= sol.value[i] <= sol.upper[i]
        assert abs(mpmath.mpf(float(sol.value[i])) - opt) <= sol.tol[i]
    assert np.all(sol.gap > 0)  # a real bracket (rounding allowance), not a point


def test_bracket_is_tight_and_primal_objective_is_independent(rng):
    """value is the objective <pi, a> + eps*H(pi) at the returned pi: recompute it."""
    W, b = _problem(rng, 30, 2)
    X = rng.standard_normal((10, 2))
    eps = 0.7
    sol = EntropicLP(W, b, eps).solve(X)
    A = X @ W.T + b
    P = np.einsum("ij,ij->i", sol.pi, A) + eps * tropical.entropy(sol.pi)
    assert np.all(np.abs(P - sol.value) <= 1e-13 * _scale(W, b, X, eps))
    # Newton's dual iterations are few (about log N + 5)
    assert np.all(sol.iterations <= math.log(30) + 8)


def test_rtol_controls_the_gap(rng):
    W, b = _problem(rng, 50, 3)
    X = rng.standard_normal((5, 3))
    lp = EntropicLP(W, b, 1.0)
    loose = lp.solve(X, rtol=1e-4)
    tight = lp.solve(X, rtol=1e-12)
    assert np.all(loose.gap <= loose.tol) and np.all(tight.gap <= tight.tol)
    assert np.all(loose.iterations <= tight.iterations)
    assert np.max(tight.gap) < np.max(loose.tol)


def test_batch_shapes(rng):
    W, b = _problem(rng, 6, 2)
    lp = EntropicLP(W, b, 0.5)
    X = rng.standard_normal((2, 3, 2))
    assert lp.value(X).shape == (2, 3)
    assert lp.argmax(X).shape == (2, 3, 6)
    v = lp.value(X[0, 0])
    assert np.ndim(v) == 0 and v == lp.value(X)[0, 0]
    sol = lp.solve(X[0, 0])
    assert isinstance(sol, LPSolution) and sol.pi.shape == (6,) and np.ndim(sol.gap) == 0
    lp1 = EntropicLP([1.0, -1.0], [0.0, 0.0], 1.0)  # d = 1: the trailing axis may be omitted
    np.testing.assert_array_equal(lp1.value([0.0, 2.0]), lp1.value([[0.0], [2.0]]))


# ---------------------------------------------------------------------------
# the primal problem, eps = 0: HiGHS with an exact certificate
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("N,d", [(1, 1), (9, 2), (300, 6)])
def test_lp_value_is_the_max_exactly(rng, N, d):
    W, b = _problem(rng, N, d)
    X = np.vstack([rng.standard_normal((30, d)), 1e3 * rng.standard_normal((3, d))])
    lp = EntropicLP(W, b, 0.0)
    sol = lp.solve(X)
    A = X @ W.T + b
    np.testing.assert_array_equal(sol.value, A.max(axis=1))
    # the returned pi is a vertex e_j of the optimal face; face = the argmax terms
    assert np.all((sol.pi == 0) | (sol.pi == 1)) and np.all(sol.pi.sum(axis=1) == 1)
    np.testing.assert_array_equal(sol.face, A == A.max(axis=1, keepdims=True))
    assert np.all(sol.face[sol.pi == 1])
    assert np.all(sol.lower <= sol.value) and np.all(sol.value <= sol.upper)
    assert np.all(sol.gap <= 1e-14 * _scale(W, b, X, 0.0))


def test_lp_ties_give_the_whole_face():
    # max(x, y, 0) at the origin: every term is optimal
    lp = EntropicLP([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]], [0.0, 0.0, 0.0], 0.0)
    sol = lp.solve([0.0, 0.0])
    assert sol.value == 0.0 and sol.face.tolist() == [True, True, True]
    assert sol.pi.sum() == 1.0


def test_lp_tolerance_level_vertex_is_repaired(monkeypatch):
    """HiGHS may stop at a vertex optimal only within its tolerance; one pivot fixes it."""
    import scipy.optimize

    real = scipy.optimize.linprog

    def sloppy(c, *args, **kwargs):  # the vertex e_0 whatever the costs (within 1e-9 here)
        res = real(c, *args, **kwargs)
        x = np.zeros_like(res.x)
        x[:: len(c) // len(kwargs["b_eq"])] = 1.0
        res.x = x
        return res

    monkeypatch.setattr(scipy.optimize, "linprog", sloppy)
    W = np.array([[1.0], [1.0], [0.0]])
    b = np.array([0.0, 1e-9, -5.0])
    sol = EntropicLP(W, b, 0.0).solve([[0.0], [1.0]])
    np.testing.assert_array_equal(sol.value, [1e-9, 1.0 + 1e-9])
    assert sol.pi[:, 1].tolist() == [1.0, 1.0]
    assert sol.iterations.tolist() == [2, 2]


@pytest.mark.parametrize("eps", EPS_VALUES)
def test_vertical_limit_of_the_value(rng, eps):
    """0 <= f_eps - f_0 <= eps*log N (to the certified tolerances)."""
    N = 50
    W, b = _problem(rng, N, 3)
    X = rng.standard_normal((25, 3)) * 3
    s0 = EntropicLP(W, b, 0.0).solve(X)
    se = EntropicLP(W, b, eps).solve(X)
    diff = se.value - s0.value
    assert np.all(diff >= -se.tol)
    assert np.all(diff <= eps * math.log(N) + se.tol)
    # and the limit is approached: at eps = 1e-6 the gap is of the order eps
    if eps == 1e-6:
        assert np.all(diff <= 1e-5)


# ---------------------------------------------------------------------------
# the conjugate and Fenchel-Young
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("eps", EPS_VALUES)
@pytest.mark.parametrize("N,d", [(6, 1), (25, 2), (60, 3)])
def test_fenchel_young_equality_at_the_gradient(rng, N, d, eps):
    W, b = _problem(rng, N, d, spread=1.0)
    lp = EntropicLP(W, b, eps)
    X = rng.standard_normal((4, d))
    Y = lp.argmax(X) @ W  # grad f_eps(x) = W^T pi(x)
    gaps = lp.fenchel_young_gap(X, Y)
    scale = _scale(W, b, X, eps) + np.abs(np.einsum("ij,ij->i", X, Y))
    assert np.all(np.abs(gaps) <= 1e-10 * scale)
    for x, y in zip(X, Y):
        s = lp.solve_conjugate(y)
        assert isinstance(s, ConjugateSolution) and s.inside and s.gap <= s.tol
        # the mpmath dual value <x, y> - f(x) is a lower bound on f*(y), tight to
        # second order in the rounding of y
        with mpmath.workdps(50):
            ref = (mpmath.fsum(mpmath.mpf(float(u)) * mpmath.mpf(float(v)) for u, v in zip(x, y))
                   - _mp_lse(W, b, x, eps))
            assert mpmath.mpf(float(s.upper)) >= ref
            assert abs(mpmath.mpf(float(s.value)) - ref) <= 1e-11 * (1 + abs(ref))
        assert s.residual <= 1e-13 * (1 + np.abs(W).max())


@pytest.mark.parametrize("eps", [1e-3, 1.0, 1e3])
def test_fenchel_young_strict_inequality_elsewhere(rng, eps):
    W, b = _problem(rng, 20, 2, spread=1.0)
    lp = EntropicLP(W, b, eps)
    X = rng.standard_normal((5, 2))
    Q = rng.dirichlet(np.ones(20), size=5)
    Y = Q @ W  # in the hull, but not the gradient at x
    gaps = lp.fenchel_young_gap(X, Y)
    grad = lp.argmax(X) @ W
    assert np.all(np.linalg.norm(Y - grad, axis=1) > 1e-3)
    assert np.all(gaps > 1e-9)
    # and the gap grows like the distance squared near the gradient
    assert np.all(lp.fenchel_young_gap(X, grad) < gaps)


def test_conjugate_is_the_legendre_transform_and_convex(rng):
    """f*(y) = sup_x <x, y> - f(x) >= the value at any x; f* convex along a segment."""
    W, b = _problem(rng, 15, 2, spread=1.0)
    lp = EntropicLP(W, b, 0.3)
    y0, y1 = rng.dirichlet(np.ones(15), size=2) @ W
    ts = np.linspace(0, 1, 7)
    vals = lp.conjugate(np.outer(1 - ts, y0) + np.outer(ts, y1))
    assert np.all(np.diff(vals, 2) >= -1e-11)  # convexity, discretely
    Xs = rng.standard_normal((50, 2)) * 2
    assert np.all(Xs @ y0 - lp.value(Xs) <= lp.conjugate(y0) + 1e-12)


SQUARE_W = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, 0.5], [0.25, 0.75]])
SQUARE_B = np.array([0.0, 1.0, -1.0, 2.0, 0.5, 0.3])


@pytest.mark.parametrize("eps", [0.0] + EPS_VALUES)
@pytest.mark.parametrize("delta", [1e-3, 1e-9, 2.0 ** -40, 2.0 ** -52])
def test_conjugate_inf_just_outside_a_face_finite_inside(eps, delta):
    lp = EntropicLP(SQUARE_W, SQUARE_B, eps)
    t = 0.3
    outside = [[t, 1.0 + delta], [1.0 + delta, t], [t, -delta], [-delta, 0.5], [1 + delta, 1.0]]
    assert np.all(lp.conjugate(outside) == np.inf)
    s = lp.solve_conjugate([t, 1.0 + delta])
    assert not s.inside and s.value == np.inf
    # a separating direction, proposed by HiGHS and checked exactly (exact in floats here)
    assert s.separator @ [t, 1.0 + delta] > (SQUARE_W @ s.separator).max()
    inside = lp.conjugate([[t, 1.0 - delta], [1.0 - delta, t], [t, delta], [delta, 0.5]])
    assert np.all(np.isfinite(inside))


@pytest.mark.parametrize("eps", [0.0] + EPS_VALUES)
def test_conjugate_on_the_boundary_is_the_face_problem(eps):
    """On the edge [(0,1), (1,1)] only those two terms can carry mass: closed form."""
    lp = EntropicLP(SQUARE_W, SQUARE_B, eps)
    for t in (0.3, 0.5, 0.9):
        s = lp.solve_conjugate([t, 1.0])
        ent = eps * (t * math.log(t) + (1 - t) * math.log(1 - t))
        ref = ent - t * SQUARE_B[3] - (1 - t) * SQUARE_B[2]
        assert abs(s.value - ref) <= 1e-12 * (1 + abs(ref) + eps)
        assert s.face.tolist() == [False, False, True, True, False, False]
        assert s.pi[[0, 1, 4, 5]].tolist() == [0.0] * 4
    # at a vertex: pi = e_j and f*(w_j) = -b_j exactly (the entropy vanishes)
    assert lp.conjugate([1.0, 1.0]) == -SQUARE_B[3]
    # and continuity from the inside
    near = lp.conjugate([0.3, 1.0 - 1e-9])
    ref = lp.conjugate([0.3, 1.0])
    assert abs(near - ref) <= 1e-6 * (1 + eps)


@pytest.mark.parametrize("eps", [0.0, 1.0])
def test_conjugate_degenerate_hulls(eps):
    # collinear rows in the plane: the hull is a segment; y on it finite, off it +inf
    W = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [0.5, 0.5]])
    b = np.array([0.0, 1.0, 0.0, 0.2])
    lp = EntropicLP(W, b, eps)
    v = lp.conjugate([[1.0, 1.0], [0.5, 0.5], [1.0, 1.0 + 1e-12], [3.0, 3.0]])
    assert np.all(np.isfinite(v[:2])) and np.all(v[2:] == np.inf)
    # matches the same problem on the line (d = 1)
    lp1 = EntropicLP(W[:, :1], b, eps)
    np.testing.assert_allclose(v[:2], lp1.conjugate([1.0, 0.5]), rtol=0, atol=1e-12)
    # one term, and duplicated terms
    assert EntropicLP([[1.0, 2.0]], [3.0], eps).conjugate([1.0, 2.0]) == -3.0
    dup = EntropicLP([[1.0, 2.0], [1.0, 2.0]], [3.0, 3.0], eps).conjugate([1.0, 2.0])
    assert abs(dup - (-3.0 - eps * math.log(2))) <= 1e-14 * 4


@pytest.mark.parametrize("eps", EPS_VALUES)
def test_vertical_limit_of_the_conjugate(rng, eps):
    """f_0 <= f_eps <= f_0 + eps log N  =>  f_0* - eps log N <= f_eps* <= f_0*."""
    N = 12
    W, b = _problem(rng, N, 2, spread=1.0)
    Y = rng.dirichlet(np.ones(N), size=4) @ W
    c0 = EntropicLP(W, b, 0.0).conjugate(Y)
    ce = EntropicLP(W, b, eps).conjugate(Y)
    slack = 1e-12 * (1 + np.abs(c0) + eps * math.log(N))
    assert np.all(ce <= c0 + slack)
    assert np.all(ce >= c0 - eps * math.log(N) - slack)


# ---------------------------------------------------------------------------
# eps = 0 conjugate: the lower hull, exactly
# ---------------------------------------------------------------------------
def _lower_hull_exact(W, b, y):
    """max over the cells c of the subdivision of (<x_c, y> - f_0(x_c)), in Fractions.

    x_c are the exact tie points of tropical.geometry's dual subdivision of the
    max-plus polynomial with monomials (w_j, b_j): the affine pieces of the
    lower hull of (w_j, -b_j).
    """
    from tropical.geometry import dual_subdivision
    from tropical.polynomial import TropicalPolynomial

    p = TropicalPolynomial(W, b, "max")
    S = dual_subdivision(p)
    E = [[Fraction(float(v)) for v in row] for row in p.exponents]
    c = [Fraction(float(v)) for v in p.coefficients]
    yf = [Fraction(float(v)) for v in y]
    best = None
    for xc in S._tie:
        f0 = max(cj + sum(a * t for a, t in zip(ej, xc)) for ej, cj in zip(E, c))
        val = sum(t * u for t, u in zip(xc, yf)) - f0
        best = val if best is None or val > best else best
    return best


def test_eps0_conjugate_is_the_lower_hull_exactly(rng):
    for trial in range(4):
        N = 14
        W = rng.integers(-4, 5, size=(N, 2)).astype(float)
        b = rng.integers(-6, 7, size=N).astype(float)
        lp = EntropicLP(W, b, 0.0)
        # rational points in the hull: y = W^T q with dyadic q (exact in floats)
        Q = rng.integers(0, 5, size=(6, N)).astype(float)
        Q /= 2.0 ** np.ceil(np.log2(Q.sum(axis=1, keepdims=True)))
        Q[:, 0] += 1.0 - Q.sum(axis=1)
        Y = np.vstack([Q @ W, W[:3]])
        for y in Y:
            s = lp.solve_conjugate(y)
            exact = _lower_hull_exact(W, b, y)
            assert s.inside
            assert s.value == float(exact)  # correctly rounded exact value
            assert Fraction(float(s.lower)) <= exact <= Fraction(float(s.upper))


def test_eps0_conjugate_in_one_variable_exactly():
    W = np.array([[0.0], [1.0], [2.0], [3.0]])
    b = np.array([0.0, 1.0, 0.0, 2.0])
    lp = EntropicLP(W, b, 0.0)
    # lower hull of (0,0), (1,-1), (2,0), (3,-2): vertices 0, 1, 3 (2 lies above)
    ys = [0.0, 0.5, 1.0, 2.0, 2.5, 3.0, -0.1, 3.1]
    ref = [0.0, -0.5, -1.0, -1.5, -1.75, -2.0, np.inf, np.inf]
    assert lp.conjugate(np.array(ys)[:, None]).tolist() == ref


def test_eps0_conjugate_matches_brute_force_lp(rng):
    from scipy.optimize import linprog

    N, d = 40, 3
    W, b = _problem(rng, N, d, spread=1.0)
    lp = EntropicLP(W, b, 0.0)
    Y = rng.dirichlet(np.ones(N) * 0.3, size=5) @ W
    for y in Y:
        res = linprog(-b, A_eq=np.vstack([W.T, np.ones(N)]), b_eq=np.r_[y, 1.0],
                      bounds=(0, None), method="highs")
        s = lp.solve_conjugate(y)
        assert abs(s.value - res.fun) <= 1e-9 * (1 + abs(res.fun))
        # the dual point certifies it: f_0*(y) = <x, y> - f_0(x)
        assert abs(s.x @ y - lp.value(s.x) - s.value) <= 1e-12 * (1 + np.abs(s.x).sum())


# ---------------------------------------------------------------------------
# the other views, model API, bad input
# ---------------------------------------------------------------------------
def test_with_eps_and_to_network(rng):
    W, b = _problem(rng, 8, 2)
    lp = EntropicLP(W, b, 0.0)
    lp2 = lp.with_eps(0.25)
    assert lp2.eps == 0.25 and lp2 == EntropicLP(W, b, 0.25) and lp2 != lp
    assert hash(lp2) == hash(EntropicLP(W, b, 0.25))
    assert repr(lp2) == "EntropicLP(N=8, d=2, eps=0.25)"
    assert lp2.N == 8 and lp2.d == 2
    with pytest.raises(ValueError):
        lp.W[0, 0] = 1.0  # read-only
    network = pytest.importorskip("tropical.views.network")
    layer = lp2.to_network()
    assert isinstance(layer, network.LSELayer)
    X = rng.standard_normal((5, 2))
    np.testing.assert_allclose(layer(X), lp2.value(X), rtol=0,
                               atol=1e-12 * _scale(W, b, X, 0.25).max())
    back = layer.to_convex()
    assert back == lp2


@pytest.mark.parametrize("W,b,eps,exc", [
    ([[np.nan, 0.0]], [0.0], 0.0, ValueError),
    ([[np.inf, 0.0]], [0.0], 0.0, ValueError),
    ([[-np.inf, 0.0]], [0.0], 0.0, ValueError),
    ([[1.0, 0.0]], [-np.inf], 0.0, ValueError),
    ([[1.0, 0.0]], [0.0, 1.0], 0.0, ValueError),
    (np.zeros((0, 2)), np.zeros(0), 0.0, ValueError),
    ([[1.0, 0.0]], [0.0], -1.0, ValueError),
    ([[1.0, 0.0]], [0.0], np.nan, ValueError),
    ([[1.0, 0.0]], [0.0], "1", TypeError),
    ([["a", "b"]], [0.0], 0.0, TypeError),
    ([[1.0 + 1j, 0.0]], [0.0], 0.0, TypeError),
    (np.zeros((2, 2, 2)), np.zeros(2), 0.0, ValueError),
])
def test_bad_model(W, b, eps, exc):
    with pytest.raises(exc):
        EntropicLP(W, b, eps)


def test_bad_points():
    lp = EntropicLP([[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0], 1.0)
    for bad, exc in [([1.0, 2.0, 3.0], ValueError), ([np.nan, 0.0], ValueError),
                     ([np.inf, 0.0], ValueError), ([-np.inf, 0.0], ValueError),
                     (["a", "b"], TypeError), ([[1.0], [2.0, 3.0]], ValueError)]:
        with pytest.raises(exc):
            lp.value(bad)
        with pytest.raises(exc):
            lp.conjugate(bad)
    with pytest.raises(ValueError, match="one point"):
        lp.solve_conjugate([[0.5, 0.5], [0.5, 0.5]])
    with pytest.raises(ValueError):
        lp.fenchel_young_gap(np.zeros((3, 2)), np.zeros((2, 2)))
    for rtol, exc in [(0.0, ValueError), (1.0, ValueError), (np.nan, ValueError),
                      ("1e-9", TypeError), (True, TypeError)]:
        with pytest.raises(exc):
            lp.solve([0.0, 0.0], rtol=rtol)
    with pytest.raises(ValueError):
        lp.solve([0.0, 0.0], max_iter=0)


def test_membership_without_a_separator_falls_back_to_the_exact_simplex(monkeypatch):
    from tropical.views import convex

    monkeypatch.setattr(convex, "_separator", lambda W, y: None)
    for eps in (0.0, 1.0):
        lp = EntropicLP(SQUARE_W, SQUARE_B, eps)
        s = lp.solve_conjugate([0.3, 1.0 + 2.0 ** -45])
        assert not s.inside and s.value == np.inf and s.separator is None
        assert np.isfinite(lp.conjugate([0.3, 1.0 - 2.0 ** -45]))


# ---------------------------------------------------------------------------
# the compiled optimiser (kernels/views.py) and its numpy twin
# ---------------------------------------------------------------------------
def _dual_rows(mod, A, eps, tol, err_a, max_iter=100):
    P, N = A.shape
    value, lower, upper, ent = (np.empty(P) for _ in range(4))
    pi = np.empty((P, N))
    its = np.zeros(P, dtype=np.int64)
    mod.entropic_dual_rows(np.ascontiguousarray(A), eps, tol, err_a, max_iter, value, pi, lower,
                           upper, its, ent)
    return value, pi, lower, upper, its, ent


@pytest.mark.parametrize("eps", [1e-300, 1e-6, 0.05, 1.0, 1e3])
def test_compiled_dual_brackets_the_optimum(rng, eps):
    """Both implementations bracket the 50-digit optimum; the compiled one leaves out
    terms below exp(-60) (spread data: many are) and starts from counted bounds."""
    from tropical.kernels import reference, views

    W, b = _problem(rng, 40, 2, spread=30.0)
    X = np.vstack([rng.standard_normal((5, 2)), 50.0 * rng.standard_normal((2, 2))])
    A = X @ W.T + b
    scale = _scale(W, b, X, eps)
    tol = 1e-12 * scale
    err_a = 4 * 2.0 ** -53 * scale
    for mod in (views, reference):
        value, pi, lower, upper, its, ent = _dual_rows(mod, A, eps, tol, err_a)
        assert np.all(upper - lower <= tol) and np.all(upper - lower > 0)
        for i, x in enumerate(X):
            # the bracket is for the problem on the float a (err_a covers a = W x + b)
            with mpmath.workdps(50):
                a = [mpmath.mpf(float(v)) for v in A[i]]
                m = max(a)
                e = mpmath.mpf(eps)
                opt = m + e * mpmath.log(mpmath.fsum(mpmath.exp((t - m) / e) for t in a))
            assert mpmath.mpf(float(lower[i])) <= opt <= mpmath.mpf(float(upper[i]))
        # value is the primal objective at the returned pi, entropy its H(pi)
        np.testing.assert_allclose(ent, tropical.entropy(pi), rtol=1e-12, atol=1e-13)
        P_obj = np.einsum("ij,ij->i", pi, A) + eps * tropical.entropy(pi)
        assert np.all(np.abs(P_obj - value) <= 1e-13 * scale)
        assert np.all(pi >= 0) and np.allclose(pi.sum(axis=1), 1.0, rtol=0, atol=1e-13)


@pytest.mark.parametrize("eps", [1e-4, 0.3, 20.0])
def test_compiled_solve_brackets_the_optimum_of_the_float_data(rng, eps):
    """N * P above the small-batch threshold: solve runs entropic_dual_points, which
    forms W x + b itself; err_a covers its rounding, so the bracket holds for the
    exact a of the float data (mpmath at 50 digits)."""
    from tropical.kernels import reference, views

    W, b = _problem(rng, 2000, 3, spread=5.0)
    X = np.vstack([rng.standard_normal((15, 3)), 30.0 * rng.standard_normal((2, 3))])
    sol = EntropicLP(W, b, eps).solve(X)
    assert sol.converged and sol.pi.shape == (17, 2000)
    for i in (0, 7, 15, 16):
        opt = _mp_lse(W, b, X[i], eps)
        assert mpmath.mpf(float(sol.lower[i])) <= opt <= mpmath.mpf(float(sol.upper[i]))
    assert np.all(sol.gap <= 1e-12 * _scale(W, b, X, eps))
    # the kernel and its numpy twin agree to their tolerances
    outs = []
    for mod in (views, reference):
        o = [np.empty(17), np.empty((17, 2000)), np.empty(17), np.empty(17),
             np.zeros(17, dtype=np.int64), np.empty(17), np.empty(17), np.empty(17)]
        mod.entropic_dual_points(X, np.ascontiguousarray(W.T), b, eps, 1e-12, 100, *o)
        outs.append(o)
    np.testing.assert_allclose(outs[0][-2], outs[1][-2], rtol=1e-12)      # tol
    assert np.all(np.abs(outs[0][0] - outs[1][0]) <= outs[0][-2] + outs[1][-2])
    from tropical import _config

    np.testing.assert_array_equal(outs[0 if _config.jit_enabled() else 1][0], sol.value)


def test_compiled_dual_iterations_and_certificate_are_independent_of_the_closed_form(rng):
    """Many terms within eps of the top (a long Newton climb): still few iterations,
    and a value certified by the dual, not equal to the closed form bit for bit."""
    from tropical.kernels import views

    N = 5000
    A = np.vstack([np.zeros(N), -np.arange(N) * 1e-3, rng.standard_normal(N)])
    eps = 1.0
    scale = np.abs(A).max(axis=1) + eps * math.log(N)
    value, pi, lower, upper, its, ent = _dual_rows(views, A, eps, 1e-12 * scale,
                                                   np.zeros(3))
    lse = tropical.lse(A, eps)
    assert np.all((lower <= lse + 4e-16 * scale) & (lse - 4e-16 * scale <= upper))
    assert np.all(its <= math.log(N) + 8)
    np.testing.assert_allclose(value, lse, rtol=0, atol=1e-12 * scale.max())


def test_vectorised_log_and_exp_within_one_ulp(rng):
    from tropical.kernels import views

    x = np.concatenate([rng.uniform(0.0, 1.0, 20000), 10.0 ** rng.uniform(-320, 300, 20000),
                        [5e-324, 2.2250738585072014e-308, 2.225073858507201e-308, 0.5, 1.0,
                         2.0, np.sqrt(0.5), np.sqrt(2.0), 1.7976931348623157e308]])
    x = x[x > 0]
    out = np.empty_like(x)
    views.log_pos_array(x, out)
    ref = np.log(x.astype(np.longdouble))
    one = x == 1.0
    assert np.all(out[one] == 0.0)
    err = np.abs(out[~one].astype(np.longdouble) - ref[~one]) / \
        np.spacing(np.abs(out[~one])).astype(np.longdouble)
    assert float(err.max()) <= 1.0
    z = np.concatenate([rng.uniform(-708, 1, 20000), [0.0, 1.0, -708.0, -709.0, -np.inf]])
    e = np.empty_like(z)
    views.exp_term_array(z, e)
    ref = np.exp(z.astype(np.longdouble))
    keep = z >= -708
    rel = np.abs(e[keep] - ref[keep]) / np.spacing(e[keep]).astype(np.longdouble)
    # without FMA contraction (NUMBA_DISABLE_JIT=1, plain Python) the polynomial
    # exp loses a little: 1.12 ulp measured in kernels/lse.py
    import numba

    assert float(rel.max()) <= (1.2 if numba.config.DISABLE_JIT else 1.0)
    assert np.all(e[~keep] == 0.0)


# ---------------------------------------------------------------------------
# eps = 0: the one-pivot simplex method
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("N,d", [(1, 1), (9, 2), (400, 5)])
def test_lp_pivot_equals_highs_exactly(rng, N, d):
    W, b = _problem(rng, N, d)
    W = np.round(W * 4) / 4    # dyadic data: ties happen
    b = np.round(b)
    X = np.vstack([np.round(rng.standard_normal((25, d))), rng.standard_normal((5, d))])
    lp = EntropicLP(W, b, 0.0)
    hi = lp.solve(X)
    pv = lp.solve(X, method="pivot")
    np.testing.assert_array_equal(pv.value, hi.value)
    np.testing.assert_array_equal(pv.face, hi.face)
    np.testing.assert_array_equal(pv.lower, hi.lower)
    np.testing.assert_array_equal(pv.upper, hi.upper)
    assert np.all(pv.pi[pv.face].sum() == len(X)) and np.all(pv.pi.sum(axis=1) == 1)
    assert set(np.unique(pv.iterations)) <= {1, 2} and np.all(pv.entropy == 0)
    # the start vertex e_1 is kept when it is optimal (no pivot)
    first_opt = hi.face[:, 0]
    assert np.all(pv.iterations[first_opt] == 1) and np.all(pv.iterations[~first_opt] == 2)


def test_lp_pivot_when_rounded_reduced_costs_tie():
    # a_2 < a_3 one ulp apart just below 2**27 and a_1 = -2: a_k - a_1 crosses
    # the binade and rounds both to the same float, so Dantzig's first pivot
    # enters the worse term (the first of the tie) and a second one follows
    big = 2.0 ** 27
    A_row = np.array([-2.0, np.nextafter(big, 0.0), big])
    lp = EntropicLP([[0.0], [0.0], [0.0]], A_row, 0.0)
    assert (A_row[1] - A_row[0]) == (A_row[2] - A_row[0])
    sol = lp.solve([0.0], method="pivot")
    assert sol.value == A_row[2] and sol.pi.tolist() == [0.0, 0.0, 1.0]
    assert sol.iterations == 3


def test_lp_method_validated():
    lp = EntropicLP([[1.0]], [0.0], 0.0)
    with pytest.raises(ValueError, match="method must be 'highs' or 'pivot'"):
        lp.solve([0.0], method="simplex")


def test_entropy_attribute(rng):
    W, b = _problem(rng, 12, 2)
    X = rng.standard_normal((4, 2))
    sol = EntropicLP(W, b, 0.3).solve(X)
    np.testing.assert_allclose(sol.entropy, tropical.entropy(sol.pi), rtol=1e-12, atol=1e-14)
    assert np.all(EntropicLP(W, b, 0.0).solve(X).entropy == 0)


def test_doctests():
    import doctest

    import tropical.views.convex as mod

    res = doctest.testmod(mod)
    assert res.failed == 0 and res.attempted > 0


def test_vectorised_exp_is_bitwise_the_lse_one(rng):
    """kernels/views.py carries a copy of the exp of kernels/lse.py (one file per cached
    kernel): the copies must not drift apart."""
    from tropical.kernels import lse, views

    z = np.concatenate([rng.uniform(-708, 1, 20000), -rng.exponential(5.0, 20000),
                        [0.0, -0.0, 1.0, -708.0, -709.0, -745.2, -1e-300, -np.inf]])
    a, b = np.empty_like(z), np.empty_like(z)
    views.exp_term_array(z, a)
    lse._exp_term_array(z, b)
    assert np.array_equal(a, b)
