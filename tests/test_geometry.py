"""Geometry of tropical polynomials: exact hulls, subdivisions, curves, roots, regions.

Known curves are worked by hand in the comments; every comparison on integer
data is exact (``Fraction``).
"""

from __future__ import annotations

import doctest
import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tropical._hull as hull
import tropical.geometry as geo
from tropical.geometry import (
    dual_subdivision,
    hypersurface,
    newton_polytope,
    regions,
    roots,
)
from tropical.polynomial import TropicalPolynomial

F = Fraction


def poly(monomials, sense="max"):
    """Polynomial from a dict {exponent tuple: coefficient}."""
    E = list(monomials)
    return TropicalPolynomial(E, [float(monomials[e]) for e in E], sense)


def index_of(p, e):
    return [tuple(r) for r in p.exponents.tolist()].index(tuple(float(v) for v in e))


def exact_value(p, x):
    """max/min_j (c_j + <a_j, x>) in Fractions."""
    vals = [F(float(c)) + sum(F(float(a)) * F(xi) for a, xi in zip(row, x))
            for row, c in zip(p.exponents, p.coefficients)]
    return (max if p.sense == "max" else min)(vals), vals


def attained_twice(p, x):
    m, vals = exact_value(p, x)
    return sum(v == m for v in vals) >= 2


def smooth(d, sense="max"):
    """Degree-d curve with coefficients -(i^2 + i j + j^2): a unimodular triangulation.

    Worked by hand: the up-triangle {(i,j),(i+1,j),(i,j+1)} is dual to the vertex
    (2i+j+1, i+2j+1), the down-triangle {(i+1,j),(i,j+1),(i+1,j+1)} to
    (2i+j+2, i+2j+2).
    """
    mons = {(i, j): -(i * i + i * j + j * j) for i in range(d + 1) for j in range(d + 1 - i)}
    return poly(mons, sense)


def vertex_set(C):
    return sorted(C.vertices_exact)


# ---------------------------------------------------------------------------
# the exact hull
# ---------------------------------------------------------------------------
def brute_force_mask(E, c):
    """Exact answer by the exact simplex on every monomial (small inputs)."""
    E = np.asarray(E, dtype=float)
    c = np.asarray(c, dtype=float)
    ex = hull._Exact(E, c)
    return np.array([hull._exact_decide_all(E, c, ex, j) for j in range(len(c))])


@st.composite
def small_instance(draw):
    n = draw(st.integers(1, 3))
    pts = draw(st.lists(st.tuples(*[st.integers(-2, 2)] * n), min_size=2, max_size=9,
                        unique=True))
    kind = draw(st.sampled_from(["int", "zero", "quad", "half"]))
    E = np.array(pts, dtype=float)
    if kind == "int":
        c = np.array(draw(st.lists(st.integers(-3, 3), min_size=len(pts), max_size=len(pts))),
                     dtype=float)
    elif kind == "zero":
        c = np.zeros(len(pts))
    elif kind == "quad":
        c = -(E ** 2).sum(axis=1)
    else:
        c = np.array(draw(st.lists(st.integers(-6, 6), min_size=len(pts), max_size=len(pts))),
                     dtype=float) / 2
    return E, c


@given(small_instance())
def test_strictly_maximal_terms_matches_exact_simplex(inst):
    E, c = inst
    expected = brute_force_mask(E, c)
    assert hull.strictly_maximal_terms(E, c).tolist() == expected.tolist()
    assert hull._lp_mask(E, c).tolist() == expected.tolist()


def test_hull_degenerate_cases():
    # collinear middle point removed, kink kept
    assert hull.strictly_maximal_terms([[0], [1], [2]], [0.0, 1.0, 2.0]).tolist() == \
        [True, False, True]
    assert hull.strictly_maximal_terms([[0], [1], [2]], [0.0, 1.0 + 2 ** -52, 2.0]).tolist() == \
        [True, True, True]
    # points on a line in 2-D, and all lifted points on one plane
    E = [[0, 0], [1, 1], [2, 2], [3, 3]]
    assert hull.strictly_maximal_terms(E, [0.0, 1.0, 1.0, 0.0]).tolist() == \
        [True, True, True, True]
    E = [[i, j] for i in range(4) for j in range(4)]
    c = [2.0 * i - j + 0.5 for i, j in E]
    mask = hull.strictly_maximal_terms(E, c)
    assert sorted(map(tuple, np.array(E)[mask].tolist())) == [(0, 0), (0, 3), (3, 0), (3, 3)]
    # a tiny kink of one ulp is still a vertex (exactness, not tolerance)
    c[5] += 2 ** -40
    assert hull.strictly_maximal_terms(E, c)[5]


def test_hull_real_exponents_agree_with_lp():
    rng = np.random.default_rng(7)
    E = rng.standard_normal((200, 2))
    c = rng.standard_normal(200)
    assert (hull.strictly_maximal_terms(E, c) == hull._lp_mask(E, c)).all()


def test_hull_three_variables_exact():
    E = np.array(list(itertools.product(range(3), repeat=3)), dtype=float)
    c = -(E ** 2).sum(axis=1)  # strictly concave: every point is a vertex
    assert hull.strictly_maximal_terms(E, c).all()
    c = np.zeros(len(E))  # flat: only the 8 corners of the cube
    assert hull.strictly_maximal_terms(E, c).sum() == 8


def test_hull_large_2d_uses_the_triangulation():
    rng = np.random.default_rng(3)
    E = np.unique(rng.integers(0, 150, size=(10000, 2)).astype(float), axis=0)
    c = -(E ** 2).sum(axis=1) + rng.integers(0, 3, size=len(E))
    mask = hull.strictly_maximal_terms(E, c)
    # the verified triangulation was used (no LP fallback) and agrees
    tri = hull.upper_triangulation_2d(E, c)
    assert tri is not None and (tri.kept == mask).all()


def test_verification_rejects_bad_candidates():
    # unit square, (1, 1) lifted to 1: the upper hull uses the diagonal (0,0)-(1,1)
    E = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=float)
    c = np.array([0.0, 0.0, 0.0, 1.0])
    cols = hull._column_ints(np.column_stack([E, c]))
    P = list(zip(*cols))
    A2 = [(q[0], q[1]) for q in P]
    H = hull.convex_hull_2d(A2)
    good = [(0, 1, 3), (0, 3, 2)]
    assert hull._verify(P, A2, H, good, E) is not None
    assert hull._verify(P, A2, H, [(0, 1, 2), (1, 3, 2)], E) is None  # not concave
    assert hull._verify(P, A2, H, [(0, 1, 3)], E) is None  # does not cover
    assert hull._verify(P, A2, H, good + [(0, 1, 3)], E) is None  # covers twice
    # a point above the proposed surface is caught
    E5 = np.vstack([E, [[0.5, 0.25]]])
    c5 = np.r_[c, 5.0]
    cols = hull._column_ints(np.column_stack([E5, c5]))
    P5 = list(zip(*cols))
    A5 = [(q[0], q[1]) for q in P5]
    assert hull._verify(P5, A5, hull.convex_hull_2d(A5), good, E5) is None


def test_flips_repair_a_wrong_diagonal_and_missing_points():
    # unit square, (1, 1) lifted to 1: the upper hull uses the diagonal (0,0)-(1,1)
    E = np.array([[0, 0], [1, 0], [0, 1], [1, 1], [0.5, 0.25]], dtype=float)
    c = np.array([0.0, 0.0, 0.0, 1.0, 5.0])
    cols = hull._column_ints(np.column_stack([E, c]))
    P = list(zip(*cols))
    A2 = [(q[0], q[1]) for q in P]
    H = hull.convex_hull_2d(A2)
    wrong = [(0, 1, 2), (1, 3, 2)]  # wrong diagonal, and point 4 (above) left out
    assert hull._verify(P, A2, H, wrong, E) is None
    fixed = hull._flip_to_upper(P, A2, wrong, 50, E)
    tri = hull._verify(P, A2, H, fixed, E)
    assert tri is not None
    assert tri.kept.tolist() == hull._lp_mask(E, c).tolist()
    # only a corner proposed: the fills extend it to conv(a)
    fixed = hull._flip_to_upper(P, A2, [(0, 1, 4)], 50, E)
    assert hull._verify(P, A2, H, fixed, E) is not None


@pytest.mark.parametrize("seed", range(6))
def test_products_with_rounded_exponents_use_the_triangulation(seed):
    # products are Minkowski sums: parallelograms whose fourth corner is a rounded
    # sum, coplanar up to rounding; qhull alone picks wrong diagonals there
    rng = np.random.default_rng(seed)
    p = TropicalPolynomial(rng.standard_normal((4, 2)), rng.standard_normal(4))
    q = TropicalPolynomial(rng.standard_normal((4, 2)), rng.standard_normal(4))
    r = p * q * TropicalPolynomial(rng.standard_normal((3, 2)), rng.standard_normal(3))
    E, c = r.exponents, r.coefficients
    tri = hull.upper_triangulation_2d(E, c)
    assert tri is not None
    assert tri.kept.tolist() == hull._lp_mask(E, c).tolist()


def test_exact_simplex_small_lp():
    # min x0 + 2 x1 s.t. x0 + x1 = 1, x >= 0  ->  1 at (1, 0); dual y = 1
    value, x, y = hull.exact_simplex([[F(1), F(1)]], [F(1)], [F(1), F(2)])
    assert value == 1 and x == [1, 0] and y == [1]
    assert hull.exact_simplex([[F(1), F(1)]], [F(-1)], [F(1), F(1)]) is None


# ---------------------------------------------------------------------------
# Newton polytope and subdivision
# ---------------------------------------------------------------------------
def test_newton_polytope():
    p = smooth(3)
    P = newton_polytope(p)
    assert P.dim == 2 and P.volume == F(9, 2)
    assert sorted(map(tuple, P.vertices.tolist())) == [(0, 0), (0, 3), (3, 0)]
    assert all(np.all(P.A @ e <= P.b) for e in p.exponents)
    q = TropicalPolynomial([[0], [2], [5]], [0.0, 0.0, 0.0])
    assert newton_polytope(q).volume == 5 and newton_polytope(q).vertices.ravel().tolist() == [0, 5]
    r = TropicalPolynomial(list(itertools.product(range(2), repeat=3)), np.zeros(8))
    R = newton_polytope(r)
    assert R.dim == 3 and abs(R.volume - 1) < 1e-12 and len(R.indices) == 8


@pytest.mark.parametrize("d", [1, 2, 3, 4, 5])
def test_smooth_curve_degree_d(d):
    p = smooth(d)
    S = dual_subdivision(p)
    assert len(S.cells) == d * d and S.is_unimodular()
    C = hypersurface(p)
    interior = (d - 1) * (d - 2) // 2
    assert C.genus() == interior
    assert len(C.vertices) == d * d and len(C.rays) == 3 * d
    assert all(w == 1 for *_, w in C.edges + C.rays)
    assert C.is_balanced()


def test_subdivision_marked_points_and_min():
    # max(x, y, 0)^2: all six monomials on one flat face
    p = TropicalPolynomial([[1, 0], [0, 1], [0, 0]], [0.0, 0.0, 0.0]) ** 2
    S = dual_subdivision(p)
    assert S.cells == [list(range(6))]
    assert sorted(map(tuple, p.exponents[S.vertices].tolist())) == [(0, 0), (0, 2), (2, 0)]
    # min sense: lower hull of (a, c); the high corner (1, 1) splits the square along
    # the other diagonal than in the max sense
    q = TropicalPolynomial([[0, 0], [1, 0], [0, 1], [1, 1]], [0.0, 0.0, 0.0, 1.0], "min")
    assert dual_subdivision(q).cells == [[0, 1, 2], [1, 2, 3]]
    qmax = TropicalPolynomial(q.exponents, q.coefficients, "max")
    assert dual_subdivision(qmax).cells == [[0, 1, 3], [0, 2, 3]]
    # an interior point lifted high is a vertex for max, absent for min
    r = poly({(0, 0): 0, (2, 0): 0, (0, 2): 0, (1, 1): 1, (1, 0): -5})
    assert index_of(r, (1, 1)) in dual_subdivision(r).vertices
    assert index_of(r, (1, 0)) not in dual_subdivision(r).vertices
    rmin = TropicalPolynomial(r.exponents, r.coefficients, "min")
    Smin = dual_subdivision(rmin)
    assert index_of(r, (1, 1)) not in Smin.vertices and index_of(r, (1, 0)) in Smin.vertices


def test_subdivision_three_variables():
    # max(-1, x, y, z, x + y + z): the bipyramid conv{0, e1, e2, e3, (1,1,1)} is split by
    # the triangle e1 e2 e3 (heights 0 on e_i and (1,1,1), -1 at the origin)
    E = [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]]
    p = TropicalPolynomial(E, [-1.0, 0.0, 0.0, 0.0, 0.0])
    S = dual_subdivision(p)
    assert S.cells == [[0, 1, 2, 3], [1, 2, 3, 4]] and S.is_triangulation()
    # all heights equal: one flat cell
    assert dual_subdivision(TropicalPolynomial(E, np.zeros(5))).cells == [[0, 1, 2, 3, 4]]


# ---------------------------------------------------------------------------
# curves worked by hand
# ---------------------------------------------------------------------------
def test_tropical_line():
    # max(x, y, 0): all three tie only at (0, 0); x = y = t > 0 ties x and y: ray (1, 1);
    # x = -t, y = 0 ties y and 0: ray (-1, 0); x = 0, y = -t: ray (0, -1).
    p = poly({(1, 0): 0, (0, 1): 0, (0, 0): 0})
    C = hypersurface(p)
    assert C.vertices_exact == [(0, 0)] and C.vertices.tolist() == [[0.0, 0.0]]
    assert C.edges == []
    assert sorted((d, w) for _, d, w in C.rays) == [((-1, 0), 1), ((0, -1), 1), ((1, 1), 1)]
    for _, d, _ in C.rays:
        for t in (F(1), F(7, 3)):
            assert attained_twice(p, (t * d[0], t * d[1]))
    assert C.is_balanced() and C.genus() == 0
    # the ray directions are perpendicular to their dual edges
    for (_, d, _), (u, v) in zip(C.rays, C.ray_duals):
        e = p.exponents[v] - p.exponents[u]
        assert d[0] * e[0] + d[1] * e[1] == 0
    # a shifted line: max(x - 1, y + 2, 0) has its vertex at (1, -2)
    q = poly({(1, 0): -1, (0, 1): 2, (0, 0): 0})
    assert hypersurface(q).vertices_exact == [(1, -2)]


def test_smooth_conic_by_hand():
    # c(i,j) = -(i^2+ij+j^2): monomials 0, x-1, y-1, 2x-4, x+y-3, 2y-4.
    # T1 {00,10,01}: 0 = x-1 = y-1 -> (1,1); T2 {10,01,11}: x-1 = y-1 = x+y-3 -> (2,2)
    # T3 {10,20,11}: x-1 = 2x-4 = x+y-3 -> (3,2); T4 {01,11,02} -> (2,3).
    p = smooth(2)
    C = hypersurface(p)
    assert vertex_set(C) == [(1, 1), (2, 2), (2, 3), (3, 2)]
    pos = {v: k for k, v in enumerate(C.vertices_exact)}
    bounded = sorted(tuple(sorted((C.vertices_exact[u], C.vertices_exact[v]))) + (w,)
                     for u, v, w in C.edges)
    assert bounded == [((1, 1), (2, 2), 1), ((2, 2), (2, 3), 1), ((2, 2), (3, 2), 1)]
    rays = sorted((C.vertices_exact[u], d, w) for u, d, w in C.rays)
    assert rays == [((1, 1), (-1, 0), 1), ((1, 1), (0, -1), 1),
                    ((2, 3), (-1, 0), 1), ((2, 3), (1, 1), 1),
                    ((3, 2), (0, -1), 1), ((3, 2), (1, 1), 1)]
    assert C.is_balanced()
    # each vertex is where its three dual monomials tie and are maximal
    S = dual_subdivision(p)
    for k, v in enumerate(C.vertices_exact):
        m, vals = exact_value(p, v)
        assert [i for i, x in enumerate(vals) if x == m] == S.cells[k]
        assert sorted(C.vertex_cells[k]) == S.cells[k]
    # the edge (1,1)-(2,2) is dual to the segment (1,0)-(0,1)
    k = next(i for i, (u, v, _) in enumerate(C.edges)
             if {C.vertices_exact[u], C.vertices_exact[v]} == {(1, 1), (2, 2)})
    u, v = C.edge_duals[k]
    assert {tuple(p.exponents[u]), tuple(p.exponents[v])} == {(1.0, 0.0), (0.0, 1.0)}
    assert pos[(2, 2)] in C.graph and C.graph.nodes[pos[(2, 2)]]["pos"] == (2.0, 2.0)


def test_smooth_cubic_by_hand():
    p = smooth(3)
    C = hypersurface(p)
    up = [(2 * i + j + 1, i + 2 * j + 1) for i in range(3) for j in range(3 - i)]
    down = [(2 * i + j + 2, i + 2 * j + 2) for i in range(2) for j in range(2 - i)]
    assert vertex_set(C) == sorted(up + down)
    assert vertex_set(C)[:3] == [(1, 1), (2, 2), (2, 3)]
    assert len(C.edges) == 9 and C.genus() == 1
    assert all(w == 1 for *_, w in C.edges)
    assert sorted(d for _, d, _ in C.rays) == [(-1, 0)] * 3 + [(0, -1)] * 3 + [(1, 1)] * 3
    assert C.is_balanced()
    # every edge's midpoint has exactly its two dual monomials maximal
    for (u, v, _), (a, b) in zip(C.edges, C.edge_duals):
        mid = tuple((x + y) / 2 for x, y in zip(C.vertices_exact[u], C.vertices_exact[v]))
        m, vals = exact_value(p, mid)
        assert sorted(i for i, x in enumerate(vals) if x == m) == sorted((a, b))


def test_weight_two_ray():
    # max(2x, 0, y): 2x = 0 = y at (0, 0); along x = 0, y < 0 the monomials 2x and 0 tie:
    # ray (0, -1) dual to the edge (0,0)-(2,0) of lattice length 2.
    C = hypersurface(poly({(2, 0): 0, (0, 0): 0, (0, 1): 0}))
    assert C.vertices_exact == [(0, 0)]
    assert sorted((d, w) for _, d, w in C.rays) == [((-1, 0), 1), ((0, -1), 2), ((1, 2), 1)]
    assert C.is_balanced()


def test_weight_two_bounded_edge():
    # max(0, 2x, x + y - 1, x - y - 1): cells {0, 2x, x+y-1} at (0, 1) and
    # {0, 2x, x-y-1} at (0, -1), joined by an edge of weight 2 dual to (0,0)-(2,0).
    p = poly({(0, 0): 0, (2, 0): 0, (1, 1): -1, (1, -1): -1})
    C = hypersurface(p)
    assert vertex_set(C) == [(0, -1), (0, 1)]
    assert [w for *_, w in C.edges] == [2]
    assert C.is_balanced()
    u, v = C.edge_duals[0]
    assert {tuple(p.exponents[u]), tuple(p.exponents[v])} == {(0.0, 0.0), (2.0, 0.0)}
    # squaring doubles every weight
    C2 = hypersurface(p ** 2)
    assert vertex_set(C2) == vertex_set(C)
    assert [w for *_, w in C2.edges] == [4] and {w for *_, w in C2.rays} == {2}
    assert C2.is_balanced()


def test_rational_coefficients_and_exponents_exact():
    # max(x/2, y/3, 1/4): vertex where x/2 = y/3 = 1/4 -> (1/2, 3/4)
    p = TropicalPolynomial([[0.5, 0], [0, 1 / 3], [0, 0]], [0.0, 0.0, 0.25])
    C = hypersurface(p)
    x, y = C.vertices_exact[0]
    assert x == F(1, 2)
    assert y == F(0.25) / F(1 / 3)  # exact for the stored float 1/3
    assert C.is_balanced()
    q = TropicalPolynomial([[1, 0], [0, 1], [0, 0]], [0.5, -0.25, 0.125])
    assert hypersurface(q).vertices_exact == [(F(-3, 8), F(3, 8))]


def test_collinear_curve_is_lines():
    # max(0, x + y, 2x + 2y - 3): lines x + y = 0 and x + y = 3, both direction (-1, 1)
    p = poly({(0, 0): 0, (1, 1): 0, (2, 2): -3})
    C = hypersurface(p)
    assert C.vertices_exact == [] and C.edges == [] and C.rays == []
    assert C.lines == [((0, 0), (-1, 1), 1), ((F(3, 2), F(3, 2)), (-1, 1), 1)]
    assert C.is_balanced()


def test_hypersurface_errors():
    with pytest.raises(ValueError, match="two variables"):
        hypersurface(TropicalPolynomial([0, 1], [0.0, 0.0]))
    with pytest.raises(TypeError):
        hypersurface("max(x, y)")
    with pytest.raises(ValueError, match="mix"):
        geo.plot_curve([smooth(1), -smooth(1)])


# ---------------------------------------------------------------------------
# random curves: duality, perpendicularity, balancing, genus
# ---------------------------------------------------------------------------
@settings(max_examples=25)
@given(st.integers(1, 4), st.data())
def test_random_curves_duality(d, data):
    mons = [(i, j) for i in range(d + 1) for j in range(d + 1 - i)]
    coeffs = data.draw(st.lists(st.integers(-6, 6), min_size=len(mons), max_size=len(mons)))
    sense = data.draw(st.sampled_from(["max", "min"]))
    p = TropicalPolynomial(mons, np.array(coeffs, dtype=float), sense)
    if len({tuple(r) for r in p.exponents[p.maximal_terms()]}) < 2:
        return
    C = hypersurface(p)
    assert C.is_balanced()
    S = dual_subdivision(p)
    if C.lines:
        return
    assert len(C.vertices_exact) == len(S.cells) == len(set(C.vertices_exact))
    for k, v in enumerate(C.vertices_exact):
        m, vals = exact_value(p, v)
        assert [i for i, x in enumerate(vals) if x == m] == S.cells[k]
    for (u, v, w), (a, b) in zip(C.edges, C.edge_duals):
        dv = [y - x for x, y in zip(C.vertices_exact[u], C.vertices_exact[v])]
        de = p.exponents[b] - p.exponents[a]
        assert dv[0] * F(de[0]) + dv[1] * F(de[1]) == 0  # perpendicular
        assert w == np.gcd(int(de[0]), int(de[1]))
        mid = tuple((x + y) / 2 for x, y in zip(C.vertices_exact[u], C.vertices_exact[v]))
        assert attained_twice(p, mid)
    for (u, dvec, w), (a, b) in zip(C.rays, C.ray_duals):
        far = tuple(x + 5 * dd for x, dd in zip(C.vertices_exact[u], dvec))
        m, vals = exact_value(p, far)
        assert sorted(i for i, x in enumerate(vals) if x == m) == sorted(
            i for i in range(p.nterms) if vals[i] == m)
        assert vals[a] == m and vals[b] == m
    # genus = interior lattice points of the Newton polygon for unimodular subdivisions
    if S.is_unimodular() and len(S.vertices) == p.nterms:
        assert C.genus() == (d - 1) * (d - 2) // 2


# ---------------------------------------------------------------------------
# roots
# ---------------------------------------------------------------------------
def test_roots_by_hand():
    # max(0, x + 2, 3x + 1): 0 = x + 2 at -2 (slope 0 -> 1); x + 2 = 3x + 1 at 1/2 (1 -> 3)
    p = TropicalPolynomial([0, 1, 3], [0.0, 2.0, 1.0])
    assert roots(p) == [(-2, 1), (F(1, 2), 2)]
    # (x (+) 1)^3 (x) x^2: one root 1 of multiplicity 3 (the factor x^2 is the root at -inf)
    q = TropicalPolynomial([1, 0], [0.0, 1.0]) ** 3 * TropicalPolynomial([2], [0.0])
    assert roots(q) == [(1, 3)]
    # a redundant middle monomial does not create a root
    assert roots(TropicalPolynomial([0, 1, 2], [0.0, -5.0, 0.0])) == [(0, 2)]
    # min sense: min(0, x + 2) breaks at -2
    assert roots(TropicalPolynomial([0, 1], [0.0, 2.0], "min")) == [(-2, 1)]
    with pytest.raises(ValueError, match="one variable"):
        roots(smooth(1))


@given(st.lists(st.tuples(st.integers(0, 6), st.integers(-8, 8)), min_size=1, max_size=7,
                unique_by=lambda t: t[0]),
       st.sampled_from(["max", "min"]))
def test_roots_are_slope_jumps(mons, sense):
    p = TropicalPolynomial([m[0] for m in mons], [float(m[1]) for m in mons], sense)
    rs = roots(p)
    E = p.exponents[:, 0]
    # total multiplicity = degree span of the surviving monomials
    keep = p.maximal_terms()
    assert sum(r.multiplicity for r in rs) == E[keep].max() - E[keep].min()
    sign = 1 if sense == "max" else -1

    def slope(x):  # the exponent of the active monomial at x
        return max((sign * (F(float(c)) + F(float(a)) * x), a)
                   for a, c in zip(E, p.coefficients))[1]

    for r in rs:
        h = F(1, 1000)
        assert abs(slope(r.point + h) - slope(r.point - h)) == r.multiplicity
        assert attained_twice(p, (r.point,))


# ---------------------------------------------------------------------------
# regions
# ---------------------------------------------------------------------------
def _check_regions_tile(p, box):
    R = regions(p, box=box)
    area = F(1)
    for lo, hi in box:
        area *= F(hi) - F(lo)
    assert sum(r.volume for r in R) == area
    for r in R:
        x = r.interior_point_exact
        m, vals = exact_value(p, x)
        assert vals[r.monomial] == m and sum(v == m for v in vals) == 1
        # the exact H-representation holds at the vertices and strictly inside
        for a, b in zip(r.A_exact, r.b_exact):
            assert sum(F(ai) * xi for ai, xi in zip(a, x)) < b
            assert all(sum(F(ai) * vi for ai, vi in zip(a, v)) <= b for v in r.vertices_exact)
            # irredundant: the row is tight on a whole edge (2 vertices) / an endpoint
            tight = sum(sum(F(ai) * vi for ai, vi in zip(a, v)) == b for v in r.vertices_exact)
            assert tight >= len(x)
        # each vertex: the monomial is maximal there
        for v in r.vertices_exact:
            mv, vv = exact_value(p, v)
            assert vv[r.monomial] == mv
    return R


@settings(max_examples=25)
@given(st.integers(1, 3), st.data())
def test_regions_tile_the_box(d, data):
    mons = [(i, j) for i in range(d + 1) for j in range(d + 1 - i)]
    coeffs = data.draw(st.lists(st.integers(-4, 4), min_size=len(mons), max_size=len(mons)))
    sense = data.draw(st.sampled_from(["max", "min"]))
    p = TropicalPolynomial(mons, np.array(coeffs, dtype=float), sense)
    _check_regions_tile(p, [[-3, 4], [-5, 2]])


def test_regions_by_hand_and_unbounded():
    p = smooth(3)
    R = regions(p)
    assert len(R) == 10
    inner = [r for r in R if r.bounded]
    # the only interior lattice point (1, 1) gives the only bounded region: a hexagon
    assert [tuple(p.exponents[r.monomial]) for r in inner] == [(1.0, 1.0)]
    hexagon = inner[0]
    assert len(hexagon.vertices_exact) == 6 and len(hexagon.b) == 6
    assert hexagon.volume > 0
    assert all(r.vertices is None for r in R if not r.bounded)
    # one variable: intervals from the roots
    q = TropicalPolynomial([0, 1, 3], [0.0, 2.0, 1.0])
    Rq = regions(q, box=[[-10, 10]])
    assert [(r.monomial, r.vertices_exact) for r in Rq] == [
        (0, [(-10,), (-2,)]), (1, [(-2,), (F(1, 2),)]), (2, [(F(1, 2),), (10,)])]
    assert sum(r.volume for r in Rq) == 20
    assert [len(r.b) for r in regions(q)] == [1, 2, 1]


def test_regions_three_variables():
    E = [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]]
    p = TropicalPolynomial(E, [0.0, 0.0, 0.0, 0.0])
    box = [[-1, 1]] * 3
    R = regions(p, box=box)
    assert len(R) == 4
    assert abs(sum(r.volume for r in R) - 8) < 1e-9
    for r in R:
        vals = p.affine_values(r.interior_point)
        assert np.argmax(vals) == r.monomial
    Ru = regions(p)
    assert all(not r.bounded for r in Ru)
    assert sorted(len(r.b) for r in Ru) == [3, 3, 3, 3]


def test_min_and_max_agree_under_negation():
    rng = np.random.default_rng(11)
    mons = [(i, j) for i in range(4) for j in range(4 - i)]
    p = TropicalPolynomial(mons, rng.integers(-5, 5, len(mons)).astype(float), "min")
    q = -p  # max sense, exponents -a, coefficients -c: the same function up to sign
    assert q.sense == "max"
    Cp, Cq = hypersurface(p), hypersurface(q)
    assert vertex_set(Cp) == vertex_set(Cq)
    edges = lambda C: sorted(  # noqa: E731
        tuple(sorted((C.vertices_exact[u], C.vertices_exact[v]))) + (w,) for u, v, w in C.edges)
    assert edges(Cp) == edges(Cq)
    rays = lambda C: sorted((C.vertices_exact[u], d, w) for u, d, w in C.rays)  # noqa: E731
    assert rays(Cp) == rays(Cq)
    box = [[-6, 5], [-4, 7]]
    Rp, Rq = regions(p, box), regions(q, box)
    key_p = sorted((tuple(p.exponents[r.monomial]), sorted(r.vertices_exact)) for r in Rp)
    key_q = sorted((tuple(-q.exponents[r.monomial]), sorted(r.vertices_exact)) for r in Rq)
    assert key_p == key_q
    # roots too
    r1 = TropicalPolynomial([0, 1, 3], [0.0, 2.0, 1.0], "min")
    assert roots(r1) == roots(-r1)
    # and the subdivision of min p is the lower hull: the reflection of that of q
    Sp, Sq = dual_subdivision(p), dual_subdivision(q)
    cells_p = sorted(sorted(tuple(p.exponents[i]) for i in c) for c in Sp.cells)
    cells_q = sorted(sorted(tuple(-q.exponents[i]) for i in c) for c in Sq.cells)
    assert cells_p == cells_q


# ---------------------------------------------------------------------------
# plots and doctests
# ---------------------------------------------------------------------------
def test_plots():
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    p = smooth(3)
    ax = geo.plot_curve(p)
    assert len(ax.lines) == 9 + 9
    ax = geo.plot_subdivision(p, annotate=True)
    assert len(ax.lines) == 9 + 9
    geo.plot_curve([p, p + 3.0])
    geo.plot_subdivision(TropicalPolynomial([0, 1, 3], [0.0, 2.0, 1.0]))
    plt.close("all")


def test_doctests():
    for module in (geo, hull):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0 and result.attempted > 0, module.__name__


def test_public_api():
    assert set(geo.__all__) >= {"newton_polytope", "dual_subdivision", "hypersurface", "roots",
                                "regions", "plot_curve", "plot_subdivision"}
    for name in geo.__all__:
        obj = getattr(geo, name)
        assert obj.__doc__, name
