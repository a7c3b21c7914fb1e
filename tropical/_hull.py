r"""Exact upper hulls of lifted point sets: which monomials are strictly maximal.

A monomial ``j`` of ``max_i (c_i + <a_i, x>)`` is *strictly maximal somewhere*
iff some ``x`` has ``c_j + <a_j, x> > c_i + <a_i, x>`` for every ``i != j``,
iff the lifted point ``(a_j, c_j)`` is a vertex of the upper hull of
``{(a_i, c_i)}`` (the exponents are pairwise distinct). Equivalently it is
*not* dominated: there is no convex combination ``lambda`` of the other
monomials with ``sum lambda_i a_i = a_j`` and ``sum lambda_i c_i >= c_j``.

Exactness strategy
------------------
Every float is a dyadic rational, so the question has an exact answer for the
stored numbers, and that is the answer returned; floating point is used only
to *propose* answers, which are then certified in exact arithmetic (Python
integers and :class:`fractions.Fraction`).

* 1 variable (or exponents on a line): scale each coordinate to exact Python
  integers and run Andrew's monotone chain; collinear points are removed.
* 2 variables: qhull proposes a triangulation of the upper hull; it is
  accepted only after an exact check that it triangulates ``conv(a)``
  (orientation, edge matching, boundary on the convex hull, area), that it is
  locally concave across every interior edge (hence globally concave), and
  that every other lifted point lies in a triangle and on or below its plane
  (a dual certificate). Vertices are then classified exactly from the
  triangulation. If qhull fails or the check fails, the LP path below runs.
* n variables: per monomial, a linear programme (HiGHS, with constraint
  generation) ``max t`` s.t. ``(a_i - a_j).x + t <= c_j - c_i``, ``t <= 1``.
  A kept monomial is certified by checking in exact arithmetic (after a
  rigorous floating-point filter) that it is strictly maximal at the LP's
  ``x``; a removed one by an exact dual certificate ``lambda`` (from HiGHS's
  duals, re-solved exactly on their support). Where neither certificate
  verifies, an exact simplex method on Fractions (Bland's rule) decides.
  Nothing is ever guessed.
"""

from __future__ import annotations

import math
from fractions import Fraction
from math import gcd

import numpy as np

__all__ = ["strictly_maximal_terms"]


def strictly_maximal_terms(E, c) -> np.ndarray:
    """Mask of the monomials of ``max_i (c_i + <a_i, x>)`` that are strictly maximal somewhere.

    Parameters
    ----------
    E : array_like, shape (N, n)
        Pairwise distinct finite exponent vectors ``a_i``.
    c : array_like, shape (N,)
        Finite coefficients (max convention; pass ``sign * c`` for min).

    Returns
    -------
    ndarray of bool, shape (N,)
        ``True`` exactly for the vertices of the upper hull of the lifted points.

    Examples
    --------
    >>> from tropical._hull import strictly_maximal_terms
    >>> strictly_maximal_terms([[0], [1], [2]], [0.0, -1.0, 0.0]).tolist()
    [True, False, True]
    >>> strictly_maximal_terms([[0, 0], [1, 0], [0, 1], [1, 1]], [0.0, 0.0, 0.0, 0.0]).tolist()
    [True, True, True, True]
    >>> strictly_maximal_terms([[0, 0], [2, 0], [0, 2], [1, 1]], [0.0, 0.0, 0.0, 0.0]).tolist()
    [True, True, True, False]
    """
    E = np.asarray(E, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64).reshape(-1)
    if E.ndim == 1:
        E = E[:, None]
    N = E.shape[0]
    if c.shape != (N,):
        raise ValueError(f"c must have shape ({N},), got {c.shape}")
    if not (np.isfinite(E).all() and np.isfinite(c).all()):
        raise ValueError("exponents and coefficients must be finite")
    if N <= 1:
        return np.ones(N, dtype=bool)
    n = E.shape[1]
    if n == 0:
        raise ValueError("distinct exponent vectors are required (n = 0 with N > 1)")
    line = _line_parameter(E)
    if line is not None:
        return _hull_1d_mask(line, _column_ints(c[:, None])[0])
    if n == 2:
        tri = upper_triangulation_2d(E, c)
        if tri is not None:
            return tri.kept.copy()
    return _lp_mask(E, c)


# ---------------------------------------------------------------------------
# exact integer coordinates
# ---------------------------------------------------------------------------
def _column_ints(M) -> list[list[int]]:
    """Each column of a float matrix as exact Python integers (column scaled by a power of 2).

    A positive scaling of each axis separately preserves every hull/convexity
    predicate used here.
    """
    M = np.asarray(M, dtype=np.float64)
    cols = []
    for k in range(M.shape[1]):
        ratios = [float(v).as_integer_ratio() for v in M[:, k]]
        D = max(q for _, q in ratios)
        cols.append([p * (D // q) for p, q in ratios])
    return cols


def _line_parameter(E):
    """If the exponent vectors are collinear, an exact integer parameter along the line.

    Returns a list of Python ints ``t_i`` (an injective affine image of the
    points on their line), or ``None`` when the affine hull has dimension >= 2.
    """
    N, n = E.shape
    if n == 1:
        return _column_ints(E)[0]
    cols = _column_ints(E)
    rows = list(zip(*cols))
    p0 = rows[0]
    d = None
    for r in rows[1:]:
        if r != p0:
            d = tuple(ri - pi for ri, pi in zip(r, p0))
            break
    if d is None:  # pragma: no cover - duplicates are merged upstream
        raise ValueError("exponent vectors must be pairwise distinct")
    # collinear iff every difference is parallel to d: all 2x2 minors vanish
    nz = [k for k in range(n) if d[k] != 0]
    k0 = nz[0]
    for r in rows:
        diff = [ri - pi for ri, pi in zip(r, p0)]
        for k in range(n):
            if diff[k] * d[k0] != diff[k0] * d[k]:
                return None
    return [sum((ri - pi) * dk for ri, pi, dk in zip(r, p0, d)) for r in rows]


# ---------------------------------------------------------------------------
# 1-D: monotone chain
# ---------------------------------------------------------------------------
def upper_chain_1d(t, z) -> list[int]:
    """Indices of the upper-hull vertices of the points ``(t_i, z_i)``, left to right.

    ``t`` and ``z`` are exact (ints or Fractions); ``t`` pairwise distinct.
    Points on a hull edge (collinear) are not vertices.
    """
    order = sorted(range(len(t)), key=lambda i: t[i])
    hull: list[int] = []
    for i in order:
        while len(hull) >= 2:
            o, a = hull[-2], hull[-1]
            cross = (t[a] - t[o]) * (z[i] - z[o]) - (z[a] - z[o]) * (t[i] - t[o])
            if cross >= 0:  # a is on or below the segment o-i: not a vertex
                hull.pop()
            else:
                break
        hull.append(i)
    return hull


def _hull_1d_mask(t, z) -> np.ndarray:
    mask = np.zeros(len(t), dtype=bool)
    mask[upper_chain_1d(t, z)] = True
    return mask


# ---------------------------------------------------------------------------
# 2-D: qhull candidate, exact verification
# ---------------------------------------------------------------------------
def _orient2d(p, q, r):
    return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])


def convex_hull_2d(pts) -> list[int]:
    """Corners of the convex hull of exact 2-D points, counter-clockwise (monotone chain)."""
    order = sorted(range(len(pts)), key=lambda i: pts[i])

    def half(seq):
        h: list[int] = []
        for i in seq:
            while len(h) >= 2 and _orient2d(pts[h[-2]], pts[h[-1]], pts[i]) <= 0:
                h.pop()
            h.append(i)
        return h

    lower, upper = half(order), half(order[::-1])
    return lower[:-1] + upper[:-1]


class Triangulation2D:
    """A verified triangulation of the upper hull of lifted points over ``conv(a)`` in 2-D.

    Attributes
    ----------
    triangles : list of (i, j, k)
        Counter-clockwise (in the exponent plane) triangles on the point set
        ``S`` (every vertex of the upper hull, plus possibly some points on
        its faces).
    kept : ndarray of bool
        Exactly the vertices of the upper hull.
    location : dict
        For every point not in ``S``: ``(triangle index, on_face)``, the
        triangle whose projection contains it and whether the lifted point
        lies on that triangle's plane.
    hull : list of int
        Corners of ``conv(a)``, counter-clockwise.
    """

    def __init__(self, triangles, kept, location, hull):
        self.triangles = triangles
        self.kept = kept
        self.location = location
        self.hull = hull


def upper_triangulation_2d(E, c, fallback_lp=False):
    """Verified :class:`Triangulation2D` of the lifted points, or ``None`` if qhull could not
    propose one that passes the exact checks (the caller then uses exact LPs).

    Requires two-dimensional ``conv(a)`` (non-collinear exponents). With
    ``fallback_lp``, a failed attempt is retried with qhull on the exactly
    certified vertices only (found by :func:`_lp_mask`), verified on all points.
    """
    E = np.asarray(E, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    cols = _column_ints(np.column_stack([E, c]))
    P = list(zip(*cols))  # exact integer lifted points (scaled per axis)
    A2 = [(p[0], p[1]) for p in P]
    hull = convex_hull_2d(A2)
    if len(hull) < 3:
        return None
    N = len(P)
    if N == 3:
        tri = [tuple(hull)]
        return _verify(P, A2, hull, tri, E)
    for options in (None, "QJ"):
        tris = _qhull_upper(E, c, options)
        if tris is None:
            continue
        result = _verify(P, A2, hull, tris, E)
        if result is not None:
            return result
        # repair the proposal; then again from its clearly upward facets only
        # (near-vertical ones can fold over in projection; fills put back, exactly,
        # what they covered)
        for proposal in (tris, _qhull_upper(E, c, options, min_z=1e-9)):
            fixed = None if proposal is None else _flip_to_upper(P, A2, proposal, 10 * N + 100, E)
            result = None if fixed is None else _verify(P, A2, hull, fixed, E)
            if result is not None:
                return result
    # all lifted points on one plane: qhull cannot build a 3-D hull
    p0, p1, p2 = hull[0], hull[1], hull[2]
    n = _normal(P[p0], P[p1], P[p2])
    if all(_dot3(_sub3(P[i], P[p0]), n) == 0 for i in range(N)):
        fan = [(hull[0], hull[k], hull[k + 1]) for k in range(1, len(hull) - 1)]
        return _verify(P, A2, hull, fan, E)
    if fallback_lp:
        idx = np.flatnonzero(_lp_mask(E, c))
        for options in (None, "QJ"):
            tris = _qhull_upper(E[idx], c[idx], options)
            if tris is None:
                continue
            tris = [tuple(int(idx[v]) for v in t) for t in tris]
            result = _verify(P, A2, hull, tris, E)
            if result is not None:
                return result
    return None


def _flip_to_upper(P, A2, tris, max_steps, E):
    """Repair a proposed triangulation towards the upper hull, in exact arithmetic.

    Floating-point hulls pick the wrong diagonal where lifted points are coplanar up
    to rounding. Products of tropical polynomials are Minkowski sums, full of
    parallelograms whose fourth corner is a rounded sum, so this is the common case,
    not the rare one. Starting from qhull's proposal, exact moves are applied until
    none applies: filling the region out to ``conv(a)`` (qhull drops a point lying
    a rounding error outside a hull edge), a 2-2 flip of an interior edge across
    which the surface is not concave (when the quadrilateral is convex), removal of
    a degree-3 vertex lying below its neighbours' plane (3-1), and insertion of a
    point lying above the surface (1-3, or 2-4 on an edge). Fills enlarge the
    region and the other moves strictly raise the surface over it, so the loop
    ends. Edges are rechecked from a work list (Lawson), so a repair costs time in
    proportion to the moves it makes. The result is only a proposal:
    :func:`_verify` decides. Returns ``None`` when stuck or out of steps.
    """
    N = len(P)
    tri: dict[int, tuple[int, int, int]] = {}
    edge: dict[tuple[int, int], int] = {}
    out: list[set[int]] = [set() for _ in range(N)]
    work: list[tuple[int, int]] = []
    counter = [0]

    class _Stuck(Exception):
        pass

    def add(t):
        i, j, k = t
        o = _orient2d(A2[i], A2[j], A2[k])
        if o == 0:
            return
        if o < 0:
            t = (i, k, j)
        es = ((t[0], t[1]), (t[1], t[2]), (t[2], t[0]))
        if any(e in edge for e in es):
            raise _Stuck
        tid = counter[0] = counter[0] + 1
        tri[tid] = t
        for e in es:
            edge[e] = tid
            out[e[0]].add(e[1])
            work.append(e)

    def remove(tid):
        t = tri.pop(tid)
        for e in ((t[0], t[1]), (t[1], t[2]), (t[2], t[0])):
            del edge[e]
            out[e[0]].discard(e[1])

    def third(tid, u, v):
        return next(q for q in tri[tid] if q != u and q != v)

    def above(w, t):  # lifted point w strictly above the plane of triangle t
        i, j, k = t
        return _dot3(_sub3(P[w], P[i]), _normal(P[i], P[j], P[k])) > 0

    # the hull edges each point lies on: a boundary edge is final iff u, v share one
    hull = convex_hull_2d(A2)
    H = len(hull)
    on_hull: list[set[int]] = [set() for _ in range(N)]
    for h in range(H):
        a, b = A2[hull[h]], A2[hull[(h + 1) % H]]
        for q in range(N):
            if _orient2d(a, b, A2[q]) == 0:
                on_hull[q].add(h)

    Ex, Ey = np.ascontiguousarray(E[:, 0], dtype=np.float64), np.ascontiguousarray(E[:, 1], dtype=np.float64)
    everyone = np.arange(N)

    def orient_signs(u, v, idx):
        """Exact signs of orient(u, v, q) for q in ``idx``: a floating-point filter
        (Shewchuk's bound for orient2d; A2 is E scaled per axis by powers of 2, which
        keeps every sign), exact integers where the filter cannot decide."""
        ax, ay = Ex[v] - Ex[u], Ey[v] - Ey[u]
        left, right = ax * (Ey[idx] - Ey[u]), ay * (Ex[idx] - Ex[u])
        det = left - right
        bound = 3.3306690738754716e-16 * (np.abs(left) + np.abs(right))
        sign = np.where(det > bound, 1, np.where(det < -bound, -1, 0))
        for k in np.flatnonzero(~((det > bound) | (det < -bound))):  # undecided (or NaN)
            o = _orient2d(A2[u], A2[v], A2[int(idx[k])])
            sign[k] = (o > 0) - (o < 0)
        return sign

    def fits(t):
        """A ccw triangle that overlaps no triangle: no edge taken, no vertex inside it."""
        a, b, cc = t
        if (a, b) in edge or (b, cc) in edge or (cc, a) in edge:
            return False
        idx = np.array([q for q in range(N) if out[q] and q not in t], dtype=np.intp)
        if not len(idx):
            return True
        inside = (orient_signs(a, b, idx) >= 0) & (orient_signs(b, cc, idx) >= 0) \
            & (orient_signs(cc, a, idx) >= 0)
        return not inside.any()

    def fix_boundary(u, v, extend):
        """Fill outside the boundary edge u -> v (interior on its left); True if moved.

        Reflex corners first (``extend=False``); only when none is left, triangles
        on points outside the region (``extend=True``).
        """
        if on_hull[u] & on_hull[v]:
            return False
        nxt = [w for w in out[v] if (w, v) not in edge]
        for w in nxt:  # a reflex corner at v
            if w != u and _orient2d(A2[u], A2[v], A2[w]) < 0 and fits((u, w, v)):
                add((u, w, v))
                return True
        if not extend:
            return False
        outside = everyone[orient_signs(u, v, everyone) < 0].tolist()
        if not outside:
            return False
        p = outside[0]
        for q in outside[1:]:  # shrink to a triangle with no other outside point in it;
            # each new triangle lies inside the last, so one pass suffices
            if _orient2d(A2[u], A2[q], A2[v]) > 0 and _orient2d(A2[u], A2[p], A2[q]) >= 0 \
                    and _orient2d(A2[q], A2[p], A2[v]) >= 0:
                p = q
        if not fits((u, p, v)):
            return False
        add((u, p, v))
        return True

    def fix_edge(u, v):
        """Make the surface concave across u -> v; True if a move was made."""
        t1, t2 = edge[(u, v)], edge[(v, u)]
        x, w = third(t1, u, v), third(t2, v, u)
        if not above(w, tri[t1]):
            return False
        ou, ov = _orient2d(A2[x], A2[w], A2[u]), _orient2d(A2[x], A2[w], A2[v])
        if ((ou > 0 > ov) or (ou < 0 < ov)) and (x, w) not in edge and (w, x) not in edge:
            # convex quadrilateral u, w, v, x: 2-2 flip
            remove(t1)
            remove(t2)
            add((u, w, x))
            add((w, v, x))
            return True
        for r in (u, v):  # a reflex corner: remove it if it has degree 3 and lies below
            around = {edge[(r, q)] for q in out[r]}
            if len(around) != 3 or any((q, r) not in edge for q in out[r]):
                continue
            a, b, cc = sorted({q for tid in around for q in tri[tid]} - {r})
            o = _orient2d(A2[a], A2[b], A2[cc])
            big = (a, b, cc) if o > 0 else (a, cc, b)
            if o != 0 and _dot3(_sub3(P[r], P[big[0]]),
                                _normal(P[big[0]], P[big[1]], P[big[2]])) < 0:
                for tid in around:
                    remove(tid)
                add(big)
                return True
        return False

    def insert(p, tid):
        a, b, cc = tri[tid]
        o = [_orient2d(A2[a], A2[b], A2[p]), _orient2d(A2[b], A2[cc], A2[p]),
             _orient2d(A2[cc], A2[a], A2[p])]
        if min(o) < 0:
            return False
        zero = [e for e, oe in zip(((a, b), (b, cc), (cc, a)), o) if oe == 0]
        remove(tid)
        if not zero:
            add((a, b, p))
            add((b, cc, p))
            add((cc, a, p))
            return True
        e0, e1 = zero[0]
        add((e0, p, third_of((a, b, cc), e0, e1)))
        add((p, e1, third_of((a, b, cc), e0, e1)))
        other = edge.get((e1, e0))
        if other is not None:
            q3 = third(other, e1, e0)
            remove(other)
            add((e1, p, q3))
            add((p, e0, q3))
        return True

    def third_of(t, u, v):
        return next(q for q in t if q != u and q != v)

    try:
        for t in tris:  # a proposal's facets can overlap: keep the first of a conflict
            try:
                add(t)
            except _Stuck:
                pass
        work.clear()
        work.extend(edge)
        if not tri:
            return None
        steps = 0
        while True:
            swept = False
            while True:
                moves = 0
                while work:
                    u, v = work.pop()
                    if (u, v) not in edge:
                        continue
                    if fix_boundary(u, v, False) if (v, u) not in edge else fix_edge(u, v):
                        moves += 1
                        steps += 1
                        if steps > max_steps:
                            return None
                if swept and not moves:
                    for e in list(edge):  # extend the region, one triangle per edge
                        if e in edge and (e[1], e[0]) not in edge and fix_boundary(*e, True):
                            moves += 1
                            steps += 1
                    if not moves:
                        break
                    if steps > max_steps:
                        return None
                # a full sweep: an edge that could not move before may move now
                work.extend(edge)
                swept = True
            used = {q for t in tri.values() for q in t}
            others = np.array([q for q in range(N) if q not in used], dtype=np.intp)
            if not len(others):
                return list(tri.values())
            ids = list(tri)
            loc = _locate(A2, [tri[i] for i in ids], others, E)
            inserted = False
            for p, k in loc.items():  # every point above the surface, one pass
                if k is None or ids[k] not in tri or not above(p, tri[ids[k]]):
                    continue
                if insert(p, ids[k]):
                    inserted = True
                    steps += 1
            if not inserted:
                return list(tri.values())
            if steps > max_steps:
                return None
    except _Stuck:
        return None


def _qhull_upper(E, c, options, min_z=0.0):
    from scipy.spatial import ConvexHull, QhullError

    pts = np.column_stack([E, c])
    pts = pts - pts.mean(axis=0)
    scale = np.abs(pts).max(axis=0)
    scale[scale == 0] = 1.0
    pts = pts / scale
    try:
        h = ConvexHull(pts, qhull_options=options) if options else ConvexHull(pts)
    except (QhullError, ValueError):
        return None
    upper = h.equations[:, 2] > min_z
    return [tuple(int(v) for v in s) for s in h.simplices[upper]]


def _sub3(p, q):
    return (p[0] - q[0], p[1] - q[1], p[2] - q[2])


def _cross3(u, v):
    return (u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0])


def _dot3(u, v):
    return u[0] * v[0] + u[1] * v[1] + u[2] * v[2]


def _normal(p, q, r):
    """Upward normal of the lifted triangle (p, q, r) (counter-clockwise in projection)."""
    return _cross3(_sub3(q, p), _sub3(r, p))


def _reduced_direction(dx, dy):
    g = gcd(dx, dy)
    return (dx // g, dy // g)


def _verify(P, A2, hull, tris, E):
    """Exact verification of a candidate upper triangulation; ``None`` if it fails."""
    N = len(P)
    good = []
    for t in tris:
        i, j, k = t
        o = _orient2d(A2[i], A2[j], A2[k])
        if o > 0:
            good.append((i, j, k))
        elif o < 0:
            good.append((i, k, j))
        # o == 0: a vertical facet of the 3-D hull, not part of the upper hull
    tris = good
    if not tris:
        return None
    # 1. edge matching
    directed = {}
    for ti, (i, j, k) in enumerate(tris):
        for e in ((i, j), (j, k), (k, i)):
            if e in directed:
                return None
            directed[e] = ti
    boundary = [e for e in directed if (e[1], e[0]) not in directed]
    # 2. boundary edges lie on the convex hull's boundary, same orientation
    hull_dirs = {}
    H = len(hull)
    for h in range(H):
        u, v = hull[h], hull[(h + 1) % H]
        d = _reduced_direction(A2[v][0] - A2[u][0], A2[v][1] - A2[u][1])
        hull_dirs[d] = (u, v)
    for (u, v) in boundary:
        d = _reduced_direction(A2[v][0] - A2[u][0], A2[v][1] - A2[u][1])
        if d not in hull_dirs:
            return None
        hu, hv = hull_dirs[d]
        if _orient2d(A2[hu], A2[hv], A2[u]) != 0:
            return None
    # 3. area: the triangles cover conv(a) exactly once
    area2 = sum(_orient2d(A2[i], A2[j], A2[k]) for i, j, k in tris)
    hull_area2 = sum(A2[hull[h]][0] * A2[hull[(h + 1) % H]][1]
                     - A2[hull[(h + 1) % H]][0] * A2[hull[h]][1] for h in range(H))
    if area2 != hull_area2:
        return None
    # 4. local concavity across every interior edge (=> the PL surface is concave)
    normals = [_normal(P[i], P[j], P[k]) for i, j, k in tris]
    for (u, v), ti in directed.items():
        if u < v and (v, u) in directed:
            tj = directed[(v, u)]
            w = next(x for x in tris[tj] if x != u and x != v)
            if _dot3(_sub3(P[w], P[u]), normals[ti]) > 0:
                return None
    # 5. every other point lies in a triangle, on or below its plane
    S = sorted({v for t in tris for v in t})
    in_S = np.zeros(N, dtype=bool)
    in_S[S] = True
    others = np.flatnonzero(~in_S)
    location = {}
    if len(others):
        loc = _locate(A2, tris, others, E)
        for i in others:
            i = int(i)
            ti = loc.get(i)
            if ti is None:
                return None
            a, b, cc = tris[ti]
            h = _dot3(_sub3(P[i], P[a]), normals[ti])
            if h > 0:
                return None
            location[i] = (ti, h == 0)
    # 6. classify the vertices of S exactly
    kept = np.zeros(N, dtype=bool)
    incident: dict[int, list[int]] = {v: [] for v in S}
    for ti, t in enumerate(tris):
        for v in t:
            incident[v].append(ti)
    bnext = {u: v for (u, v) in boundary}
    bprev = {v: u for (u, v) in boundary}
    for v in S:
        if v in bnext:
            u, w = bprev[v], bnext[v]
            if _orient2d(A2[u], A2[v], A2[w]) != 0:
                kept[v] = True  # a corner of the Newton polygon
            else:
                cr = _cross3(_sub3(P[w], P[u]), _sub3(P[v], P[u]))
                kept[v] = cr != (0, 0, 0)
        else:
            grads = {(Fraction(normals[t][0], normals[t][2]),
                      Fraction(normals[t][1], normals[t][2])) for t in incident[v]}
            kept[v] = _affine_dim_2(list(grads))
    return Triangulation2D(tris, kept, location, hull)


def _affine_dim_2(pts) -> bool:
    """True if the exact 2-D points are not all on one line."""
    if len(pts) < 3:
        return False
    p0 = pts[0]
    q = next((p for p in pts[1:] if p != p0), None)
    if q is None:
        return False
    return any(_orient2d(p0, q, r) != 0 for r in pts)


def _locate(A2, tris, others, E):
    """Triangle (index) whose projection contains each point of ``others`` (exact).

    Candidates come from a uniform grid of triangle bounding boxes (floats,
    inflated); each candidate is checked exactly.
    """
    pts = np.asarray(E, dtype=np.float64)
    T = np.asarray(tris)
    lo = pts.min(axis=0)
    span = np.maximum(pts.max(axis=0) - lo, 1e-300)
    G = max(1, int(math.sqrt(len(tris))))
    tx = (pts[T, 0] - lo[0]) / span[0] * G
    ty = (pts[T, 1] - lo[1]) / span[1] * G
    fudge = 1e-9 * G + 1e-12
    x0 = np.clip(np.floor(tx.min(axis=1) - fudge), 0, G - 1).astype(int)
    x1 = np.clip(np.floor(tx.max(axis=1) + fudge), 0, G - 1).astype(int)
    y0 = np.clip(np.floor(ty.min(axis=1) - fudge), 0, G - 1).astype(int)
    y1 = np.clip(np.floor(ty.max(axis=1) + fudge), 0, G - 1).astype(int)
    grid: dict[tuple[int, int], list[int]] = {}
    for ti in range(len(tris)):
        for gx in range(x0[ti], x1[ti] + 1):
            for gy in range(y0[ti], y1[ti] + 1):
                grid.setdefault((gx, gy), []).append(ti)
    px = np.clip(np.floor((pts[others, 0] - lo[0]) / span[0] * G), 0, G - 1).astype(int)
    py = np.clip(np.floor((pts[others, 1] - lo[1]) / span[1] * G), 0, G - 1).astype(int)

    def inside(i, ti):
        a, b, c = tris[ti]
        p = A2[i]
        return (_orient2d(A2[a], A2[b], p) >= 0 and _orient2d(A2[b], A2[c], p) >= 0
                and _orient2d(A2[c], A2[a], p) >= 0)

    out = {}
    for i, gx, gy in zip(others.tolist(), px.tolist(), py.tolist()):
        found = None
        for ti in grid.get((gx, gy), ()):
            if inside(i, ti):
                found = ti
                break
        if found is None:  # exact brute force (rare: float rounding at cell borders)
            found = next((ti for ti in range(len(tris)) if inside(i, ti)), None)
        out[i] = found
    return out


# ---------------------------------------------------------------------------
# n-D: LP with exact certificates
# ---------------------------------------------------------------------------
_U = 2.0 ** -53


class _Exact:
    """Lazily converted exact (Fraction) rows of E and entries of c."""

    def __init__(self, E, c):
        self.E, self.c = E, c
        self._rows: dict[int, tuple] = {}

    def row(self, i):
        r = self._rows.get(i)
        if r is None:
            r = (tuple(Fraction(float(v)) for v in self.E[i]), Fraction(float(self.c[i])))
            self._rows[i] = r
        return r


def _strict_max_at(E, c, ex: _Exact, j, x) -> tuple[bool, np.ndarray]:
    """Is monomial ``j`` strictly maximal at the (exactly representable) point ``x``?

    Decided exactly: a rigorous floating-point error bound settles most
    comparisons, the ambiguous ones are redone with Fractions. Returns the
    decision and the indices that are ``>=`` monomial ``j`` at ``x``.
    """
    n = E.shape[1]
    with np.errstate(all="ignore"):
        v = E @ x + c
        mag = np.abs(E) @ np.abs(x) + np.abs(c)
    gamma = (n + 4) * _U / (1 - (n + 4) * _U)
    err = gamma * mag * (1 + 1e-6)
    diff = v[j] - v
    bound = err + err[j]
    ok = np.isfinite(diff) & np.isfinite(bound)
    sure_less = ok & (diff > bound)
    sure_geq = ok & (diff < -bound)
    sure_less[j] = True
    sure_geq[j] = False
    ambiguous = np.flatnonzero(~sure_less & ~sure_geq)
    if len(ambiguous):
        xf = [Fraction(float(t)) for t in x]
        aj, cj = ex.row(j)
        vj = cj + sum(a * t for a, t in zip(aj, xf))
        for i in ambiguous:
            ai, ci = ex.row(int(i))
            vi = ci + sum(a * t for a, t in zip(ai, xf))
            if vi >= vj:
                sure_geq[i] = True
    geq = np.flatnonzero(sure_geq)
    return len(geq) == 0, geq


def _dual_problem(ex: _Exact, j, cols):
    """Exact standard form of the dual LP of monomial ``j`` restricted to ``cols``.

    min sum_i lam_i (c_j - c_i) + mu  s.t.  sum_i lam_i (a_i - a_j) = 0,
    sum_i lam_i + mu = 1,  lam, mu >= 0.   (optimum = max t of the primal)
    """
    aj, cj = ex.row(j)
    n = len(aj)
    A = [[None] * (len(cols) + 1) for _ in range(n + 1)]
    cost = []
    for k, i in enumerate(cols):
        ai, ci = ex.row(i)
        for r in range(n):
            A[r][k] = ai[r] - aj[r]
        A[n][k] = Fraction(1)
        cost.append(cj - ci)
    for r in range(n):
        A[r][-1] = Fraction(0)
    A[n][-1] = Fraction(1)
    cost.append(Fraction(1))
    b = [Fraction(0)] * n + [Fraction(1)]
    return A, b, cost


def exact_simplex(A, b, cost):
    """Solve ``min cost.x  s.t.  A x = b, x >= 0`` exactly (Fractions, Bland's rule).

    Returns ``(value, x, y)`` with ``y`` optimal duals (``A^T y <= cost``), or
    ``None`` when infeasible. The problem must be bounded.
    """
    m, ncol = len(A), len(cost)
    T = []
    sign = []
    for r in range(m):
        s = -1 if b[r] < 0 else 1
        sign.append(s)
        T.append([Fraction(s * v) for v in A[r]] + [Fraction(int(r == q)) for q in range(m)]
                 + [Fraction(s * b[r])])
    basis = [ncol + r for r in range(m)]
    width = ncol + m

    def run(costs, allowed):
        while True:
            enter = None
            for k in range(allowed):
                if k in basis:
                    continue
                rc = costs[k] - sum(costs[basis[r]] * T[r][k] for r in range(m) if T[r][k])
                if rc < 0:
                    enter = k
                    break
            if enter is None:
                return True
            best, leave = None, None
            for r in range(m):
                if T[r][enter] > 0:
                    ratio = T[r][-1] / T[r][enter]
                    if best is None or ratio < best or (ratio == best and basis[r] < basis[leave]):
                        best, leave = ratio, r
            if leave is None:
                raise ValueError("unbounded linear programme")
            _pivot(T, leave, enter)
            basis[leave] = enter

    phase1 = [Fraction(0)] * ncol + [Fraction(1)] * m
    run(phase1, width)
    if sum(T[r][-1] for r in range(m) if basis[r] >= ncol) != 0:
        return None
    # drive zero-level artificials out of the basis where possible
    for r in range(m):
        if basis[r] >= ncol:
            k = next((k for k in range(ncol) if T[r][k] != 0 and k not in basis), None)
            if k is not None:
                _pivot(T, r, k)
                basis[r] = k
    costs = list(cost) + [Fraction(0)] * m
    run(costs, ncol)
    x = [Fraction(0)] * ncol
    for r in range(m):
        if basis[r] < ncol:
            x[basis[r]] = T[r][-1]
    value = sum(cost[k] * x[k] for k in range(ncol))
    # y = c_B B^{-1}; B^{-1} (of the sign-normalised system) sits in the artificial columns
    y = []
    for q in range(m):
        yq = sum(costs[basis[r]] * T[r][ncol + q] for r in range(m))
        y.append(yq * sign[q])
    return value, x, y


def _pivot(T, r, k):
    piv = T[r][k]
    row = T[r]
    if piv != 1:
        row[:] = [v / piv for v in row]
    for q in range(len(T)):
        if q != r and T[q][k] != 0:
            f = T[q][k]
            other = T[q]
            other[:] = [ov - f * rv for ov, rv in zip(other, row)]


def _lp_mask(E, c) -> np.ndarray:
    """Exactly certified strict-maximality mask in any dimension (LP + certificates)."""
    from scipy.optimize import linprog

    N, n = E.shape
    ex = _Exact(E, c)
    keep = np.zeros(N, dtype=bool)
    decided = np.zeros(N, dtype=bool)
    # cheap keeps: strict argmax at sample points, certified exactly
    rng = np.random.default_rng(0)
    span = float(np.abs(E).max()) or 1.0
    cspan = float(np.ptp(c)) or 1.0
    best_deficit = np.full(N, -np.inf)
    best_point = np.zeros((N, n))
    for scale in (0.1, 1.0, 10.0, 100.0):
        X = rng.standard_normal((256, n)) * (scale * cspan / span)
        V = X @ E.T + c
        top = np.argmax(V, axis=1)
        for s in np.unique(top):
            rows = np.flatnonzero(top == s)
            r = rows[np.argmax(V[rows, s] - np.partition(V[rows], -2, axis=1)[:, -2])]
            if not decided[s]:
                ok, _ = _strict_max_at(E, c, ex, int(s), X[r])
                if ok:
                    keep[s] = decided[s] = True
        deficit = V - V.max(axis=1, keepdims=True)
        arg = np.argmax(deficit, axis=0)
        val = deficit[arg, np.arange(N)]
        better = val > best_deficit
        best_deficit[better] = val[better]
        best_point[better] = X[arg[better]]
    batch = max(2 * n + 2, 8)
    for j in np.flatnonzero(~decided):
        j = int(j)
        v = E @ best_point[j] + c
        v[j] = -np.inf
        cons = set(np.argsort(-v)[:batch].tolist())
        cons.discard(j)
        for _ in range(50):
            cols = sorted(cons)
            A = np.column_stack([E[cols] - E[j], np.ones(len(cols))])
            b = c[j] - c[cols]
            res = linprog(np.r_[np.zeros(n), -1.0], A_ub=A, b_ub=b,
                          bounds=[(None, None)] * n + [(None, 1.0)], method="highs")
            if res.status != 0:
                decision = _exact_decide(E, c, ex, j, cols, cons)
                if decision is None:
                    continue
                keep[j] = decision
                break
            t = -res.fun
            x = res.x[:n]
            if t > 0:
                ok, geq = _strict_max_at(E, c, ex, j, x)
                if ok:
                    keep[j] = True
                    break
                new = set(geq.tolist()) - cons
                if new:
                    vals = E[list(new)] @ x + c[list(new)]
                    cons |= {list(new)[q] for q in np.argsort(-vals)[:batch]}
                    continue
                decision = _exact_decide(E, c, ex, j, cols, cons)
            else:
                lam = -np.asarray(res.ineqlin.marginals)
                support = [cols[q] for q in np.flatnonzero(lam > 1e-12 * max(lam.max(), 1e-300))]
                if support and _removed_certificate(ex, j, support):
                    keep[j] = False
                    break
                decision = _exact_decide(E, c, ex, j, cols, cons)
            if decision is None:
                continue
            keep[j] = decision
            break
        else:  # pragma: no cover - constraint generation must converge; be exact anyway
            keep[j] = _exact_decide_all(E, c, ex, j)
    return keep


def _removed_certificate(ex, j, support) -> bool:
    """Exact check: a convex combination of ``support`` dominates monomial ``j``."""
    sol = exact_simplex(*_dual_problem(ex, j, support))
    return sol is not None and sol[0] <= 0


def _exact_decide(E, c, ex, j, cols, cons):
    """Exact simplex on the constraint set ``cols``.

    Returns False (removed, certified), True (kept, certified at the exact
    optimal point), or None after adding the violators to ``cons`` (continue).
    """
    value, _, y = exact_simplex(*_dual_problem(ex, j, cols))
    if value <= 0:
        return False
    n = E.shape[1]
    xf = y[:n]
    aj, cj = ex.row(j)
    vj = cj + sum(a * t for a, t in zip(aj, xf))
    viol = []
    for i in range(E.shape[0]):
        if i == j:
            continue
        ai, ci = ex.row(i)
        if ci + sum(a * t for a, t in zip(ai, xf)) >= vj:
            viol.append(i)
    if not viol:
        return True
    cons |= set(viol)
    return None


def _exact_decide_all(E, c, ex, j) -> bool:  # pragma: no cover - last resort
    cols = [i for i in range(E.shape[0]) if i != j]
    value, _, _ = exact_simplex(*_dual_problem(ex, j, cols))
    return value > 0
