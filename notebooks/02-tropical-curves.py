# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Tropical plane curves: lines, conics, cubics
#
# **What this notebook shows.** A tropical polynomial in two variables,
# $p(x, y) = \max_{(i,j)} \bigl(c_{ij} + i x + j y\bigr)$, is convex and
# piecewise affine. Its **tropical curve** is where the maximum is attained at
# least twice. It is dual to the **regular subdivision** of the Newton polygon
# $\mathrm{conv}\{(i, j)\}$ induced by lifting $(i, j)$ to height $c_{ij}$ (upper
# hull): a vertex per 2-cell, an edge per interior edge, a ray per boundary
# edge, each perpendicular to its dual edge with weight the lattice length of
# that edge (`MATH.md` section 2). We
#
# 1. write polynomials as text (`tropical.parse`) and draw the tropical line;
# 2. compute the curves of a conic and a cubic (`tropical.geometry`), check
#    **balancing** at every vertex and the duality with the subdivision,
#    exactly, in rational arithmetic;
# 3. count: a smooth curve of degree $d$ has $d^2$ triangles, $3d$ rays and
#    genus $(d-1)(d-2)/2$;
# 4. intersect curves and find tropical **Bezout**: $d \cdot e$ points with
#    multiplicity;
# 5. deform a curve's polynomial to log-sum-exp with a symbolic
#    $\varepsilon$ and take the limit back (`tropical.symbolic`).
#
# At $\varepsilon > 0$ the max becomes log-sum-exp,
# $p_\varepsilon = \varepsilon \log \sum e^{(c_{ij} + i x + j y)/\varepsilon}$, with
# $p_\varepsilon = p + \varepsilon \log k + O(\varepsilon e^{-\mathrm{gap}/\varepsilon})$
# where $k$ is the number of monomials attaining the max.
#
# Every cell asserts the facts it shows, so running the notebook is a test.

# %%
import itertools
import math
from fractions import Fraction

import mpmath
import numpy as np
import sympy as sp

import tropical
from tropical import TropicalPolynomial
from tropical.geometry import dual_subdivision, hypersurface, newton_polytope, regions
from tropical.symbolic import deform, dequantize, eps, expand, from_sympy, to_sympy

# %% [markdown]
# ## 1. The tropical line
#
# The classical notation is read tropically: `+` is max, juxtaposition is
# $+$, `^` multiplies, so `x + y + 0` is $\max(x, y, 0)$ and `-1x` is the
# function $x - 1$. The line $\max(x + a, y + b, c)$ has one vertex,
# $(c - a, c - b)$, where the three terms tie, and three rays leaving it in
# the directions $(-1, 0)$, $(0, -1)$, $(1, 1)$: the outer normals of its
# Newton triangle $\mathrm{conv}\{(1, 0), (0, 1), (0, 0)\}$.

# %%
lines = {"x + y + 0": (0, 0), "-1x + -2y + 0": (1, 2), "2x + 0.5y + 1": (-1, Fraction(1, 2))}
for text, vertex in lines.items():
    ell = tropical.parse(text, variables=("x", "y"))
    L = hypersurface(ell)
    print(f"{text:16} = {str(ell):22} vertex {tuple(map(str, L.vertices_exact[0]))}, rays {L.rays}")
    assert L.vertices_exact == [tuple(Fraction(v) for v in vertex)]
    assert sorted(d for _, d, _ in L.rays) == [(-1, 0), (0, -1), (1, 1)] and L.is_balanced()
    # the three terms tie at the vertex, exactly (Fraction arithmetic)
    vx, vy = L.vertices_exact[0]
    values = {Fraction(c) + Fraction(a) * vx + Fraction(b) * vy
              for (a, b), c in zip(ell.exponents, ell.coefficients)}
    assert len(values) == 1

# %% [markdown]
# ## 2. A conic and a cubic, from text
#
# The coefficients $c_{ij} = -(i^2 + ij + j^2)$ (a strictly concave lifting)
# give smooth curves; `-3x y` is the function $x + y - 3$.

# %%
conic = tropical.parse("0 + -1x + -1y + -4x^2 + -3x y + -4y^2")
cubic = tropical.parse(
    "0 + -1x + -1y + -4x^2 + -3x y + -4y^2 + -9x^3 + -7x^2 y + -7x y^2 + -9y^3")
print(conic)
print(cubic)


def c_smooth(i, j):
    return -(i * i + i * j + j * j)


for p, d in [(conic, 2), (cubic, 3)]:
    expected = {(i, j): c_smooth(i, j) for i in range(d + 1) for j in range(d + 1 - i)}
    got = {(int(a), int(b)): c for (a, b), c in p.monomials()}
    assert got == expected
    # str(p) parses back to p, and evaluation agrees with a brute-force max
    # (at quarter-integer points every sum is exact in floating point)
    assert tropical.parse(str(p), variables=p.variables) == p
    pts = np.random.default_rng(d).integers(-12, 25, size=(200, 2)) / 4
    brute = np.array([max(c + i * x + j * y for (i, j), c in expected.items()) for x, y in pts])
    assert np.array_equal(p(pts), brute)

# %% [markdown]
# ## 3. Curves: vertices, edges, rays, balancing
#
# At every vertex the weighted primitive directions of the edges and rays that
# leave it sum to zero (balancing).

# %%
curves = {}
for name, p in [("conic", conic), ("cubic", cubic)]:
    C = hypersurface(p)
    curves[name] = C
    print(name, C)
    print("  vertices:", [(int(a), int(b)) for a, b in C.vertices_exact])
    print("  edges (u, v, weight):", C.edges)
    for k in range(len(C.vertices_exact)):
        sx = sum(w * d[0] for d, w in C.directions(k))
        sy = sum(w * d[1] for d, w in C.directions(k))
        assert (sx, sy) == (0, 0)
    assert C.is_balanced()

Cc = curves["conic"]
assert sorted(map(tuple, Cc.vertices.tolist())) == [(1, 1), (2, 2), (2, 3), (3, 2)]
assert len(Cc.edges) == 3 and len(Cc.rays) == 6
# three rays in each outer normal direction of the Newton triangle: (-1, 0), (0, -1), (1, 1)
for name, d in [("conic", 2), ("cubic", 3)]:
    dirs = sorted(dv for _, dv, _ in curves[name].rays)
    assert dirs == [(-1, 0)] * d + [(0, -1)] * d + [(1, 1)] * d

# %% [markdown]
# Each vertex is a point where exactly the three monomials of its dual triangle
# tie at the maximum, and each edge is perpendicular to its dual edge. All
# coordinates are exact fractions, so the checks are exact.

# %%
for name, p in [("conic", conic), ("cubic", cubic)]:
    C, S = curves[name], dual_subdivision(p)
    E = [tuple(Fraction(v) for v in e) for e in p.exponents]
    c = [Fraction(v) for v in p.coefficients]

    def values(pt):
        return [c[j] + E[j][0] * pt[0] + E[j][1] * pt[1] for j in range(len(c))]

    for k, v in enumerate(C.vertices_exact):
        vals = values(v)
        assert [j for j, z in enumerate(vals) if z == max(vals)] == S.cells[k]
    for (u, v, w), (a, b) in zip(C.edges, C.edge_duals):
        edge = [q - r for q, r in zip(C.vertices_exact[v], C.vertices_exact[u])]
        dual = [q - r for q, r in zip(E[b], E[a])]
        assert edge[0] * dual[0] + edge[1] * dual[1] == 0
        assert w == math.gcd(int(dual[0]), int(dual[1]))
print("vertices are triple ties; edges are perpendicular to their dual edges")

# %% [markdown]
# ## 4. Smooth curves: $d^2$ triangles and genus = interior lattice points
#
# A smooth curve of degree $d$ has a unimodular triangulation of the Newton
# triangle of area $d^2/2$: $d^2$ triangles of area $1/2$. Its genus (number
# of independent cycles of the graph) is the number of interior lattice
# points of the Newton polygon, $(d-1)(d-2)/2$, and each interior lattice point
# is a bounded linear region (a cycle of the curve bounds it).

# %%
print(f"{'':6} {'d':>2} {'area':>5} {'triangles':>9} {'interior pts':>12} {'genus':>5} {'bounded regions':>15}")
for name, p, d in [("conic", conic, 2), ("cubic", cubic, 3)]:
    P, S, C = newton_polytope(p), dual_subdivision(p), curves[name]
    lo = int(P.vertices.min())
    hi = int(P.vertices.max())
    interior = [(i, j) for i in range(lo, hi + 1) for j in range(lo, hi + 1)
                if all(a * i + b * j < r for (a, b), r in zip(P.A_exact, P.b_exact))]
    bounded = [tuple(p.exponents[r.monomial].astype(int)) for r in regions(p) if r.bounded]
    print(f"{name:6} {d:>2} {str(P.volume):>5} {len(S.cells):>9} {len(interior):>12} "
          f"{C.genus():>5} {len(bounded):>15}")
    assert P.volume == Fraction(d * d, 2)
    assert len(S.cells) == d * d and S.is_unimodular()
    assert len(interior) == (d - 1) * (d - 2) // 2 == C.genus()
    assert sorted(bounded) == sorted(interior)
    assert len(C.vertices) == d * d and len(C.rays) == 3 * d

# %% [markdown]
# A curve that is not smooth: $\max(0, 2x, x + y - 1, x - y - 1)$ has a bounded
# edge of weight 2, dual to the segment from $(0, 0)$ to $(2, 0)$ (lattice
# length 2); balancing counts it twice.

# %%
q = tropical.parse("max(0, 2*x, x + y - 1, x - y - 1)")
Cq = hypersurface(q)
print(Cq.vertices_exact, Cq.edges, Cq.rays)
assert sorted(Cq.vertices_exact) == [(0, -1), (0, 1)]
assert [w for *_, w in Cq.edges] == [2] and Cq.is_balanced()
assert not dual_subdivision(q).is_unimodular()

# %% [markdown]
# The curves and their subdivisions as pictures, when matplotlib is installed
# (an optional extra; the assertions above are the record).

# %%
try:
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib not installed: see the tables above")
else:
    from tropical.geometry import plot_curve, plot_subdivision

    fig, axes = plt.subplots(2, 3, figsize=(10, 6.5))
    for col, p in enumerate([conic, cubic, q]):
        plot_curve(p, ax=axes[0, col])
        plot_subdivision(p, ax=axes[1, col])
    for ax, title in zip(axes[0], ["smooth conic", "smooth cubic", "an edge of weight 2"]):
        ax.set_title(title)
    plt.show()

# %% [markdown]
# ## 5. Intersections and tropical Bezout
#
# The curve of a product $p \otimes q$ (the sum of the functions) is the union
# of the two curves, and its subdivision is the common refinement of theirs.
# Where the curves cross transversally, the product's subdivision has a
# **mixed cell**, a parallelogram spanned by an edge of each; its area is the
# intersection multiplicity. Tropical Bezout: two curves of degrees $d$ and
# $e$ in general position meet in $d \cdot e$ points counted with
# multiplicity. We shift copies of the curves by dyadic amounts (so that
# every coordinate stays an exact binary fraction) to put them in general
# position.

# %%
def stable_intersection(p, q):
    """[(point, multiplicity)] where the curves of p and q cross (vertices of the
    curve of p*q that are vertices of neither curve), exact."""
    own = set(hypersurface(p).vertices_exact) | set(hypersurface(q).vertices_exact)
    pq = p * q
    C, S = hypersurface(pq), dual_subdivision(pq)
    found = []
    for k, v in enumerate(C.vertices_exact):
        if v not in own:
            cell = pq.exponents[S.cells[k]]
            found.append((v, newton_polytope(TropicalPolynomial(cell, np.zeros(len(cell)))).volume))
    return found


def on_curve(p, pt):
    """The maximum of p is attained at least twice at the exact point pt."""
    vals = [Fraction(c) + sum(Fraction(a) * t for a, t in zip(e, pt))
            for e, c in zip(p.exponents, p.coefficients)]
    return vals.count(max(vals)) >= 2


def shifted(p, dx, dy):
    return p.compose([[1, 0], [0, 1]], [dx, dy])


line = tropical.parse("-1x + -2y + 0")
pairs = {
    "line . line": (tropical.parse("x + y + 0"), line, 1),
    "conic . line": (conic, tropical.parse("-0.5x + -2.5y + 0"), 2),
    "conic . conic": (conic, shifted(conic, 0.25, -0.5), 4),
    "cubic . conic": (cubic, shifted(conic, 0.25, -0.5), 6),
}
print(f"{'':14} {'points (multiplicity)':70} total")
for name, (p, q, expected) in pairs.items():
    pts = stable_intersection(p, q)
    desc = ", ".join(f"({x_}, {y_})x{m}" for (x_, y_), m in pts)
    total = sum(m for _, m in pts)
    print(f"{name:14} {desc:70} {total}")
    assert total == expected
    assert all(on_curve(p, v) and on_curve(q, v) for v, _ in pts)

try:
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib not installed: see the table above")
else:
    from tropical.geometry import plot_curve

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    for ax, name in zip(axes, ["conic . line", "cubic . conic"]):
        p, q, _ = pairs[name]
        plot_curve(p, ax=ax)
        n_first = len(ax.lines)
        plot_curve(q, ax=ax)
        for artist in ax.lines[n_first:]:     # the second curve in another colour
            artist.set_color("darkorange")
        pts = np.array([[float(t) for t in v] for v, _ in stable_intersection(p, q)])
        ax.plot(pts[:, 0], pts[:, 1], "o", color="crimson", ms=7, zorder=5)
        ax.set_title(f"{name}: {len(pts)} crossings")
    plt.show()

# %% [markdown]
# ## 6. Deform and dequantize: a round trip
#
# `deform` replaces the max by log-sum-exp with a positive symbol `eps`;
# `dequantize` takes the exact limit $\varepsilon \to 0^+$ back by a valuation
# rewrite ($e^{u/\varepsilon} \to u$, sums $\to \max$, products $\to$ sums).

# %%
for p in [conic, cubic, q]:
    F = deform(p)
    back = dequantize(F)
    assert not back.has(eps)
    assert sp.simplify(back - to_sympy(p)) == 0
    assert from_sympy(back, variables=p.variables) == p
print(deform(conic))
print(dequantize(deform(conic)))

# %% [markdown]
# ## 7. The expansion at small eps against the numbers
#
# At a vertex of the conic three monomials tie ($k = 3$), at the middle of an
# edge two ($k = 2$), and at a generic point one. The expansion
# $\max + \varepsilon \log k + \varepsilon \sum_i b_i e^{-r_i/\varepsilon}$ is
# compared with a 40-digit mpmath evaluation of the deformation and with the
# float kernel `p(x, eps=...)`; the difference is within the stated remainder
# bound.

# %%
x, y = sp.symbols("x y", real=True)
F = deform(conic)
points = {
    "vertex (2, 2)": (sp.Integer(2), sp.Integer(2)),
    "edge midpoint (3/2, 3/2)": (sp.Rational(3, 2), sp.Rational(3, 2)),
    "generic (0, 5/2)": (sp.Integer(0), sp.Rational(5, 2)),
}
mons = conic.monomials()


def exact_lse(pt, h):
    """p_eps at pt, at the current mpmath precision."""
    vals = [mpmath.mpf(c) + a * mpmath.mpf(pt[0].p) / pt[0].q + b * mpmath.mpf(pt[1].p) / pt[1].q
            for (a, b), c in mons]
    return h * mpmath.log(mpmath.fsum(mpmath.exp(v / h) for v in vals))


print(f"{'point':26} {'k':>2} {'eps':>5} {'|expansion - exact|':>20} {'bound':>10} {'|kernel - exact|':>17}")
with mpmath.workdps(40):
    for label, pt in points.items():
        X = expand(F, at={x: pt[0], y: pt[1]}, order=2)
        k = X.multiplicity[0]
        assert X.leading == to_sympy(conic).subs({x: pt[0], y: pt[1]})
        assert sp.simplify(X.log_multiplicity - eps * sp.log(k)) == 0
        approx = sp.lambdify(eps, X.as_expr(), "mpmath")
        for h in ["0.5", "0.2", "0.1", "0.05"]:
            hm = mpmath.mpf(h)
            exact = exact_lse(pt, hm)
            err = abs(approx(hm) - exact)
            bound = X.remainder_bound(hm)
            kernel = conic(np.array([float(pt[0]), float(pt[1])]), eps=float(h))
            kerr = abs(mpmath.mpf(float(kernel)) - exact)
            print(f"{label:26} {k:>2} {h:>5} {mpmath.nstr(err, 3):>20} "
                  f"{mpmath.nstr(bound, 3):>10} {mpmath.nstr(kerr, 3):>17}")
            assert err <= bound
            assert kerr <= 4e-16 * max(1, abs(float(exact)))
        assert {"vertex (2, 2)": 3, "edge midpoint (3/2, 3/2)": 2,
                "generic (0, 5/2)": 1}[label] == k

# %% [markdown]
# The multiplicity term is what distinguishes the points: $(p_\varepsilon - p)/\varepsilon$
# tends to $\log k$.

# %%
for label, pt in points.items():
    xy = np.array([float(pt[0]), float(pt[1])])
    k = expand(F, at={x: pt[0], y: pt[1]}).multiplicity[0]
    slope = (conic(xy, eps=1e-3) - conic(xy)) / 1e-3
    print(f"{label:26} (p_eps - p)/eps = {slope:.9f}   log k = {math.log(k):.9f}")
    assert abs(slope - math.log(k)) < 1e-9
