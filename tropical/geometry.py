r"""Geometry of tropical polynomials: Newton polytopes, subdivisions, curves, regions.

For a max-sense tropical polynomial ``p(x) = max_j (c_j + <a_j, x>)``:

* the **Newton polytope** is ``conv{a_j}``;
* the **dual subdivision** is the regular subdivision of the Newton polytope
  induced by lifting ``a_j`` to height ``c_j`` and projecting the faces of the
  *upper* hull;
* the **tropical hypersurface** is the set of ``x`` where the maximum is
  attained at least twice; it is dual to the subdivision (MATH.md section 2):
  a vertex for each 2-cell, a bounded edge for each interior edge and a ray
  for each boundary edge, each perpendicular to its dual edge, with weight the
  lattice length of the dual edge;
* the **linear regions** are the closed polyhedra on which one monomial is
  maximal, one per monomial that is strictly maximal somewhere.

The min sense is the image of the max sense under negation: a min-sense
``p`` satisfies ``p(x) = -q(-x)`` with ``q`` the max-sense polynomial with the
same exponents and coefficients ``-c_j``. So its subdivision is induced by the
*lower* hull of the lifts ``(a_j, c_j)`` (the same as the upper hull of
``(a_j, -c_j)``), its curve is the reflection ``x -> -x`` of the curve of
``q``, and a min-sense ``p`` and the max-sense ``-p`` (exponents ``-a_j``,
coefficients ``-c_j``) have the same hypersurface and the same regions.

Exactness: exponents and coefficients are floats, i.e. dyadic rationals, and
all decisions (which monomials survive, which cells and edges exist) are exact
for the stored numbers (see :mod:`tropical._hull`). In one and two variables
the coordinates are also computed exactly and offered as
:class:`fractions.Fraction` (``vertices_exact``, ``A_exact``, ...); integer
or rational input (e.g. ``0.5``) gives its exact rational answer. In three
or more variables coordinates are floats.

Examples
--------
>>> from tropical.polynomial import TropicalPolynomial
>>> from tropical.geometry import hypersurface
>>> line = TropicalPolynomial([[1, 0], [0, 1], [0, 0]], [0.0, 0.0, 0.0])  # max(x, y, 0)
>>> C = hypersurface(line)
>>> C.vertices_exact
[(Fraction(0, 1), Fraction(0, 1))]
>>> sorted(d for _, d, _ in C.rays)
[(-1, 0), (0, -1), (1, 1)]
"""

from __future__ import annotations

import math
from collections import namedtuple
from fractions import Fraction

import numpy as np

from . import _hull

__all__ = [
    "newton_polytope",
    "dual_subdivision",
    "hypersurface",
    "roots",
    "regions",
    "plot_curve",
    "plot_subdivision",
    "NewtonPolytope",
    "Subdivision",
    "TropicalCurve",
    "Region",
    "TropicalRoot",
]

TropicalRoot = namedtuple("TropicalRoot", ["point", "multiplicity"])
TropicalRoot.__doc__ = """A tropical root: a breakpoint of ``p`` and the jump of its slope there.

``point`` is a :class:`fractions.Fraction` (exact); ``multiplicity`` an ``int``
for integer exponents, else a :class:`~fractions.Fraction`.
"""


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def _data(p, name="p"):
    """Validate ``p``; return exponents, max-convention heights ``s*c`` and ``s``."""
    from .polynomial import TropicalPolynomial

    if not isinstance(p, TropicalPolynomial):
        raise TypeError(f"{name} must be a TropicalPolynomial, got {type(p).__name__}")
    if p.is_zero():
        raise ValueError(f"{name} is the zero polynomial (no monomials)")
    s = 1 if p.sense == "max" else -1
    return np.asarray(p.exponents, dtype=np.float64), s * np.asarray(p.coefficients), s


def _fr(v) -> Fraction:
    return Fraction(float(v))


def _intify(q: Fraction):
    return int(q) if q.denominator == 1 else q


def _lattice(d):
    """Primitive integer direction and rational lattice length of an exact vector ``d``.

    ``d = length * primitive`` with ``primitive`` a primitive integer vector;
    ``length`` is the usual lattice length (number of lattice steps) for
    integer vectors, an int then.
    """
    d = [Fraction(v) for v in d]
    L = 1
    for v in d:
        L = L * v.denominator // math.gcd(L, v.denominator)
    ints = [int(v * L) for v in d]
    G = 0
    for v in ints:
        G = math.gcd(G, v)
    if G == 0:
        raise ValueError("zero vector has no lattice length")
    return tuple(v // G for v in ints), _intify(Fraction(G, L))


def _to_float(pts):
    return np.array([[float(v) for v in p] for p in pts], dtype=np.float64).reshape(len(pts), -1)


def _solve2(a11, a12, a21, a22, b1, b2):
    det = a11 * a22 - a12 * a21
    return ((b1 * a22 - a12 * b2) / det, (a11 * b2 - a21 * b1) / det)


def _polygon_area2(poly):
    """Twice the signed area of an exact polygon."""
    k = len(poly)
    return sum(poly[i][0] * poly[(i + 1) % k][1] - poly[(i + 1) % k][0] * poly[i][1]
               for i in range(k))


def _clip(poly, a, b):
    """Sutherland-Hodgman: the convex polygon ``poly`` cut by ``a . x <= b`` (exact)."""
    out = []
    k = len(poly)
    for i in range(k):
        P, Q = poly[i], poly[(i + 1) % k]
        fP = a[0] * P[0] + a[1] * P[1] - b
        fQ = a[0] * Q[0] + a[1] * Q[1] - b
        if fP <= 0:
            out.append(P)
        if (fP < 0 < fQ) or (fQ < 0 < fP):
            t = fP / (fP - fQ)
            out.append((P[0] + t * (Q[0] - P[0]), P[1] + t * (Q[1] - P[1])))
    # drop repeated points
    res = []
    for v in out:
        if not res or v != res[-1]:
            res.append(v)
    if len(res) > 1 and res[0] == res[-1]:
        res.pop()
    return res


def _check_box(box, n):
    if box is None:
        return None
    B = np.asarray(box, dtype=np.float64)
    if B.shape != (n, 2) or not np.isfinite(B).all() or not (B[:, 0] < B[:, 1]).all():
        raise ValueError(f"box must be a finite array of shape ({n}, 2) of [low, high] "
                         f"with low < high, got {np.asarray(box).tolist()!r}")
    return B


# ---------------------------------------------------------------------------
# Newton polytope
# ---------------------------------------------------------------------------
class NewtonPolytope:
    """The Newton polytope ``conv{a_j}`` of a tropical polynomial.

    Attributes
    ----------
    vertices : ndarray, shape (k, n)
        The vertices (counter-clockwise in two variables, increasing in one).
    indices : list of int
        Monomial index of each vertex.
    dim : int
        Dimension of the polytope.
    A, b : ndarray or None
        H-representation ``A a <= b`` (irredundant) when ``dim == n``; in one
        and two variables with exact rational counterparts ``A_exact``,
        ``b_exact`` (integer primitive normals for integer exponents).
    volume : Fraction or float
        Length / area (exact, ``Fraction``) in one / two variables, volume
        (float) otherwise; 0 when ``dim < n``.
    """

    def __init__(self, vertices, indices, dim, A, b, volume, A_exact=None, b_exact=None):
        self.vertices = vertices
        self.indices = indices
        self.dim = dim
        self.A, self.b = A, b
        self.A_exact, self.b_exact = A_exact, b_exact
        self.volume = volume

    def __repr__(self):
        return f"NewtonPolytope(dim={self.dim}, {len(self.indices)} vertices)"


def newton_polytope(p) -> NewtonPolytope:
    """The Newton polytope of ``p``: the convex hull of its exponent vectors.

    Parameters
    ----------
    p : TropicalPolynomial

    Returns
    -------
    NewtonPolytope
        Its vertices are decided exactly (they are the monomials of ``p`` with
        all coefficients set to 0 that are strictly maximal somewhere).

    Examples
    --------
    >>> from tropical.polynomial import TropicalPolynomial
    >>> from tropical.geometry import newton_polytope
    >>> p = TropicalPolynomial([[0, 0], [2, 0], [0, 2], [1, 1]], [0.0, 1.0, -1.0, 5.0])
    >>> P = newton_polytope(p)
    >>> P.vertices.tolist(), P.volume
    ([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]], Fraction(2, 1))
    >>> P.A_exact, P.b_exact
    ([(0, -1), (1, 1), (-1, 0)], [0, 2, 0])
    """
    E, _, _ = _data(p)
    N, n = E.shape
    mask = _hull.strictly_maximal_terms(E, np.zeros(N))
    idx = np.flatnonzero(mask).tolist()
    if n == 1 or (n >= 1 and len(idx) <= 2):
        idx = sorted(idx, key=lambda i: tuple(E[i]))
        verts = E[idx]
        if len(idx) == 1:
            return NewtonPolytope(verts, idx, 0, None, None, Fraction(0) if n <= 2 else 0.0)
        if n == 1:
            lo, hi = _fr(E[idx[0], 0]), _fr(E[idx[1], 0])
            Ae, be = [(-1,), (1,)], [-lo, hi]
            return NewtonPolytope(verts, idx, 1, np.array([[-1.0], [1.0]]),
                                  np.array([float(-lo), float(hi)]), hi - lo,
                                  Ae, [_intify(v) for v in be])
        return NewtonPolytope(verts, idx, 1, None, None, Fraction(0) if n <= 2 else 0.0)
    if n == 2:
        pts = [(_fr(E[i, 0]), _fr(E[i, 1])) for i in idx]
        order = _hull.convex_hull_2d(pts)
        idx = [idx[k] for k in order]
        pts = [pts[k] for k in order]
        Ae, be = [], []
        for k in range(len(pts)):
            P, Q = pts[k], pts[(k + 1) % len(pts)]
            normal, _ = _lattice((Q[1] - P[1], P[0] - Q[0]))  # outer normal (CCW)
            Ae.append(normal)
            be.append(_intify(normal[0] * P[0] + normal[1] * P[1]))
        area = Fraction(_polygon_area2(pts), 2)
        return NewtonPolytope(E[idx], idx, 2, np.array(Ae, dtype=float),
                              np.array([float(v) for v in be]), area, Ae, be)
    V = E[idx]
    dim = int(np.linalg.matrix_rank(V[1:] - V[0]))
    if dim < n:
        return NewtonPolytope(V, idx, dim, None, None, 0.0)
    from scipy.spatial import ConvexHull

    h = ConvexHull(V)
    eq = np.unique(np.round(h.equations, 12), axis=0)
    return NewtonPolytope(V, idx, n, eq[:, :-1], -eq[:, -1], float(h.volume))


# ---------------------------------------------------------------------------
# dual subdivision
# ---------------------------------------------------------------------------
class Subdivision:
    """The regular subdivision of the Newton polytope dual to a tropical polynomial.

    Attributes
    ----------
    points : ndarray, shape (N, n)
        The exponent vectors (monomial ``j`` is ``points[j]``).
    heights : ndarray, shape (N,)
        The coefficients ``c_j`` (lifting heights; upper hull for max, lower
        hull for min).
    sense : str
    cells : list of list of int
        The maximal cells: for each, every monomial whose lifted point lies on
        the corresponding face of the hull (sorted).
    cell_vertices : list of list of int
        The vertices of each cell (counter-clockwise in two variables).
    vertices : list of int
        Monomials that are vertices of the subdivision (strictly maximal
        somewhere).
    edges : list of tuple
        Two variables: ``(u, v, left_cell, right_cell)`` for each edge of the
        subdivision, ``u -> v`` counter-clockwise around ``left_cell``;
        ``right_cell`` is ``None`` on the boundary. One variable:
        ``(u, v)`` for each cell.
    triangles : list of tuple or None
        Two variables: a triangulation (counter-clockwise triangles of
        monomial indices) refining the subdivision.
    """

    def __init__(self, points, heights, sense, cells, cell_vertices, vertices, edges,
                 triangles=None, tie_points=None):
        self.points = points
        self.heights = heights
        self.sense = sense
        self.cells = cells
        self.cell_vertices = cell_vertices
        self.vertices = vertices
        self.edges = edges
        self.triangles = triangles
        self._tie = tie_points

    def is_triangulation(self) -> bool:
        """True if every maximal cell is a simplex with no other marked point."""
        return all(len(c) == len(v) == self.points.shape[1] + 1
                   for c, v in zip(self.cells, self.cell_vertices))

    def is_unimodular(self) -> bool:
        """A triangulation whose simplices all have normalised volume 1 (two variables)."""
        if self.points.shape[1] != 2 or not self.is_triangulation():
            return False
        for cv in self.cell_vertices:
            P = [(_fr(self.points[i, 0]), _fr(self.points[i, 1])) for i in cv]
            if abs(_polygon_area2(P)) != 1:
                return False
        return True

    def __repr__(self):
        return (f"Subdivision({len(self.cells)} cells, {len(self.vertices)} vertices, "
                f"sense={self.sense!r})")


class _Structure2D:
    """Exact cells/edges of the upper subdivision in two variables (max convention)."""

    def __init__(self, E, sc):
        tri = _hull.upper_triangulation_2d(E, sc, fallback_lp=True)
        if tri is None:  # pragma: no cover - qhull failed even on the exact vertex set
            raise RuntimeError(
                "could not build an exactly verified subdivision (qhull failed on the "
                "certified vertex set; the input is numerically extremely degenerate)")
        self.E, self.sc = E, sc
        self.A = [(_fr(a[0]), _fr(a[1])) for a in E]
        self.C = [_fr(v) for v in sc]
        self.tri = tri
        tris = tri.triangles
        kept = tri.kept
        # cell of each triangle: its tie point (equal planes <=> equal tie points)
        key_of = []
        cell_index: dict = {}
        self.tie, self.value = [], []
        for (i, j, k) in tris:
            A, C = self.A, self.C
            y = _solve2(A[j][0] - A[i][0], A[j][1] - A[i][1],
                        A[k][0] - A[i][0], A[k][1] - A[i][1], C[i] - C[j], C[i] - C[k])
            if y not in cell_index:
                cell_index[y] = len(self.tie)
                self.tie.append(y)
                self.value.append(C[i] + A[i][0] * y[0] + A[i][1] * y[1])
            key_of.append(cell_index[y])
        self.cell_of_triangle = key_of
        ncell = len(self.tie)
        directed = {}
        for ti, (i, j, k) in enumerate(tris):
            for e in ((i, j), (j, k), (k, i)):
                directed[e] = ti
        # boundary cycle of each cell, split at the kept vertices
        nxt: list[dict] = [dict() for _ in range(ncell)]
        for (u, v), ti in directed.items():
            cell = key_of[ti]
            rev = directed.get((v, u))
            if rev is None or key_of[rev] != cell:
                nxt[cell][u] = (v, None if rev is None else key_of[rev])
        self.cell_vertices, self.edges = [], []
        for cell in range(ncell):
            start = next(u for u in nxt[cell] if kept[u])
            cyc, u = [], start
            while True:
                cyc.append(u)
                u = nxt[cell][u][0]
                if u == start:
                    break
            verts = [v for v in cyc if kept[v]]
            self.cell_vertices.append(verts)
            for q, u in enumerate(verts):
                v = verts[(q + 1) % len(verts)]
                other = nxt[cell][u][1]
                self.edges.append((u, v, cell, other))
        # cell members: triangle vertices plus located points lying on the face
        members = [set() for _ in range(ncell)]
        for ti, t in enumerate(tris):
            members[key_of[ti]].update(t)
        for i, (ti, on_face) in tri.location.items():
            if not on_face:
                continue
            cands = {key_of[ti]}
            a, b, c = tris[ti]
            for (u, v) in ((a, b), (b, c), (c, a)):
                rev = directed.get((v, u))
                if rev is not None and _hull._orient2d(self.A[u], self.A[v], self.A[i]) == 0:
                    cands.add(key_of[rev])
            for cell in cands:
                y = self.tie[cell]
                if self.C[i] + self.A[i][0] * y[0] + self.A[i][1] * y[1] == self.value[cell]:
                    members[cell].add(i)
        cells = [sorted(m) for m in members]
        # canonical order of the cells (and of everything indexed by them)
        perm = sorted(range(ncell), key=lambda k: cells[k])
        inv = {old: new for new, old in enumerate(perm)}
        self.cells = [cells[k] for k in perm]
        self.tie = [self.tie[k] for k in perm]
        self.value = [self.value[k] for k in perm]
        self.cell_vertices = [self.cell_vertices[k] for k in perm]
        self.edges = sorted(((u, v, inv[a], None if b is None else inv[b])
                             for (u, v, a, b) in self.edges),
                            key=lambda e: (e[2], -1 if e[3] is None else e[3], e[0], e[1]))
        self.cell_of_triangle = [inv[k] for k in key_of]
        self.triangles = tris
        self.kept = kept


def _structure_1d(E, sc):
    """Hull chain of a polynomial whose exponents lie on a line (max convention).

    Returns (chain of monomial indices in increasing parameter, cells with members,
    exact parameter values).
    """
    t = _hull._line_parameter(E)
    z = [_fr(v) for v in sc]
    chain = _hull.upper_chain_1d(t, z)
    cells = []
    for q in range(len(chain) - 1):
        u, v = chain[q], chain[q + 1]
        lo, hi = t[u], t[v]
        mem = [i for i in range(len(t)) if lo <= t[i] <= hi and
               (z[i] - z[u]) * (hi - lo) == (z[v] - z[u]) * (t[i] - lo)]
        cells.append(sorted(mem))
    return chain, cells, t


def dual_subdivision(p) -> Subdivision:
    """The regular subdivision of the Newton polytope induced by the coefficients.

    Lift each exponent ``a_j`` to height ``c_j``; the projections of the faces
    of the upper hull (lower hull for the min sense) are the cells. Computed
    from scipy's qhull on the lifted points and verified exactly in one and two
    variables (exact for integer or any float input); in three or more
    variables the cells come from qhull and are grouped by their exact
    supporting planes.

    Parameters
    ----------
    p : TropicalPolynomial

    Returns
    -------
    Subdivision

    Examples
    --------
    >>> from tropical.polynomial import TropicalPolynomial
    >>> from tropical.geometry import dual_subdivision
    >>> p = TropicalPolynomial([[0, 0], [1, 0], [0, 1], [1, 1]], [0.0, 0.0, 0.0, 1.0])
    >>> S = dual_subdivision(p)
    >>> S.cells
    [[0, 1, 3], [0, 2, 3]]
    >>> S.is_unimodular()
    True
    """
    E, sc, s = _data(p)
    N, n = E.shape
    sense = p.sense
    if N == 1:
        return Subdivision(E, p.coefficients, sense, [[0]], [[0]], [0], [], None)
    line = _hull._line_parameter(E)
    if line is not None:
        chain, cells, _ = _structure_1d(E, sc)
        cv = [[chain[q], chain[q + 1]] for q in range(len(chain) - 1)]
        return Subdivision(E, p.coefficients, sense, cells, cv, sorted(chain),
                           [tuple(v) for v in cv])
    if n == 2:
        st = _Structure2D(E, sc)
        edges = [e for e in st.edges if e[3] is None or e[2] < e[3]]
        return Subdivision(E, p.coefficients, sense, st.cells, st.cell_vertices,
                           np.flatnonzero(st.kept).tolist(), edges, st.triangles, st.tie)
    return _subdivision_nd(E, sc, sense, p.coefficients)


def _subdivision_nd(E, sc, sense, coefficients):
    from scipy.spatial import ConvexHull

    N, n = E.shape
    kept = _hull.strictly_maximal_terms(E, sc)
    idx = np.flatnonzero(kept)
    V = E[idx]
    dim = int(np.linalg.matrix_rank(V[1:] - V[0]))
    if dim < n:
        raise NotImplementedError(
            "dual_subdivision in three or more variables needs a full-dimensional "
            f"Newton polytope (dimension {dim} < {n})")
    pts = np.column_stack([V, sc[idx]])
    ctr = pts.mean(axis=0)
    scl = np.abs(pts - ctr).max(axis=0)
    scl[scl == 0] = 1.0
    pts = (pts - ctr) / scl
    # a point far below the centroid keeps the hull full-dimensional when the
    # lifted points are (nearly) coplanar; facets through it are not upper facets
    below = np.r_[pts[:, :n].mean(axis=0), pts[:, n].min() - 4.0]
    h = ConvexHull(np.vstack([pts, below]))
    extra = len(pts)
    groups: dict = {}
    for simplex, eq in zip(h.simplices, h.equations):
        if eq[n] <= 0 or extra in simplex:
            continue
        verts = [int(idx[v]) for v in simplex]
        M = [[_fr(E[verts[k], q]) - _fr(E[verts[0], q]) for q in range(n)] for k in range(1, n + 1)]
        rhs = [_fr(sc[verts[0]]) - _fr(sc[verts[k]]) for k in range(1, n + 1)]
        y = _solve_exact(M, rhs)
        if y is None:
            continue
        groups.setdefault(tuple(y), set()).update(verts)
    cells, cell_vertices, ties = [], [], []
    for y, verts in groups.items():
        yf = np.array([float(v) for v in y])
        vals = E @ yf + sc
        m = vals.max()
        cand = np.flatnonzero(vals >= m - 1e-9 * (1 + np.abs(vals).max()))
        mem = []
        ref = max(verts)
        vref = _fr(sc[ref]) + sum(_fr(E[ref, q]) * y[q] for q in range(n))
        for i in cand:
            vi = _fr(sc[i]) + sum(_fr(E[i, q]) * y[q] for q in range(n))
            if vi == vref:
                mem.append(int(i))
        cells.append(sorted(mem))
        cell_vertices.append(sorted(i for i in mem if kept[i]))
        ties.append(y)
    order = sorted(range(len(cells)), key=lambda k: cells[k])
    return Subdivision(E, coefficients, sense, [cells[k] for k in order],
                       [cell_vertices[k] for k in order], idx.tolist(), [], None,
                       [ties[k] for k in order])


def _solve_exact(M, rhs):
    """Exact Gaussian elimination for a square Fraction system; None if singular."""
    n = len(M)
    A = [list(r) + [b] for r, b in zip(M, rhs)]
    for col in range(n):
        piv = next((r for r in range(col, n) if A[r][col] != 0), None)
        if piv is None:
            return None
        A[col], A[piv] = A[piv], A[col]
        for r in range(n):
            if r != col and A[r][col] != 0:
                f = A[r][col] / A[col][col]
                A[r] = [x - f * y for x, y in zip(A[r], A[col])]
    return [A[r][n] / A[r][r] for r in range(n)]


# ---------------------------------------------------------------------------
# tropical curves (two variables)
# ---------------------------------------------------------------------------
class TropicalCurve:
    """The tropical curve of a polynomial in two variables, exactly.

    Attributes
    ----------
    vertices : ndarray, shape (k, 2)
        Each vertex once (floats).
    vertices_exact : list of (Fraction, Fraction)
        The same vertices, exact.
    edges : list of (int, int, weight)
        Bounded edges: vertex indices and the weight (lattice length of the
        dual edge; an ``int`` for integer exponents, else a ``Fraction``).
    rays : list of (int, tuple of int, weight)
        Unbounded edges: start vertex, primitive integer direction, weight.
    lines : list of ((Fraction, Fraction), tuple of int, weight)
        Only when the exponents are collinear (no vertices): the parallel
        lines as (a point on the line, primitive direction, weight).
    vertex_cells : list of list of int
        Duality: the 2-cell (its vertices, counter-clockwise monomial indices)
        of the subdivision dual to each vertex; vertex ``k`` is dual to
        ``dual_subdivision(p).cells[k]``.
    edge_duals : list of (int, int)
        Duality: the monomials at the ends of the interior subdivision edge
        dual to each bounded edge (perpendicular to it).
    ray_duals : list of (int, int)
        Duality: the boundary subdivision edge dual to each ray.
    sense : str
    graph : networkx.Graph
        Vertices with node attributes ``pos`` (float pair), ``exact`` and
        ``rays`` (list of (direction, weight)); bounded edges with ``weight``.
    """

    def __init__(self, vertices_exact, edges, rays, lines, vertex_cells, edge_duals,
                 ray_duals, sense):
        self.vertices_exact = vertices_exact
        self.vertices = _to_float(vertices_exact) if vertices_exact else np.zeros((0, 2))
        self.edges = edges
        self.rays = rays
        self.lines = lines
        self.vertex_cells = vertex_cells
        self.edge_duals = edge_duals
        self.ray_duals = ray_duals
        self.sense = sense
        self._graph = None

    @property
    def graph(self):
        if self._graph is None:
            import networkx as nx

            G = nx.Graph()
            for k, v in enumerate(self.vertices_exact):
                G.add_node(k, pos=(float(v[0]), float(v[1])), exact=v, rays=[])
            for u, v, w in self.edges:
                G.add_edge(u, v, weight=w)
            for u, d, w in self.rays:
                G.nodes[u]["rays"].append((d, w))
            self._graph = G
        return self._graph

    def genus(self) -> int:
        """Number of independent cycles of the graph (first Betti number)."""
        import networkx as nx

        G = self.graph
        return G.number_of_edges() - G.number_of_nodes() + nx.number_connected_components(G)

    def directions(self, k):
        """Weighted outgoing directions at vertex ``k``: list of (primitive direction, weight)."""
        out = []
        for u, v, w in self.edges:
            if u == k or v == k:
                other = v if u == k else u
                d = tuple(b - a for a, b in zip(self.vertices_exact[k], self.vertices_exact[other]))
                out.append((_lattice(d)[0], w))
        out.extend((d, w) for u, d, w in self.rays if u == k)
        return out

    def is_balanced(self) -> bool:
        """Exact balancing: at every vertex the weighted primitive directions sum to zero."""
        for k in range(len(self.vertices_exact)):
            sx = sum(Fraction(w) * d[0] for d, w in self.directions(k))
            sy = sum(Fraction(w) * d[1] for d, w in self.directions(k))
            if sx != 0 or sy != 0:
                return False
        return True

    def __repr__(self):
        return (f"TropicalCurve({len(self.vertices_exact)} vertices, {len(self.edges)} edges, "
                f"{len(self.rays)} rays, sense={self.sense!r})")


def hypersurface(p) -> TropicalCurve:
    """The tropical curve of a polynomial in two variables, exactly.

    The locus where the max (min) is attained at least twice. Vertices are
    dual to the 2-cells of :func:`dual_subdivision`, bounded edges to its
    interior edges and rays to its boundary edges, each perpendicular to its
    dual edge with weight the lattice length of that edge. Rays point along
    the outer normals of the Newton polygon for the max sense (inner normals
    for the min sense).

    Parameters
    ----------
    p : TropicalPolynomial
        Two variables.

    Returns
    -------
    TropicalCurve

    Examples
    --------
    >>> from tropical.polynomial import TropicalPolynomial
    >>> from tropical.geometry import hypersurface
    >>> p = TropicalPolynomial([[2, 0], [0, 0], [0, 1]], [0.0, 0.0, 0.0])  # max(2x, 0, y)
    >>> C = hypersurface(p)
    >>> C.vertices.tolist()
    [[0.0, 0.0]]
    >>> sorted((d, w) for _, d, w in C.rays)
    [((-1, 0), 1), ((0, -1), 2), ((1, 2), 1)]
    >>> C.is_balanced()
    True
    """
    E, sc, s = _data(p)
    if E.shape[1] != 2:
        raise ValueError(f"hypersurface needs a polynomial in two variables, got {E.shape[1]}")
    if E.shape[0] == 1:
        return TropicalCurve([], [], [], [], [], [], [], p.sense)
    if _hull._line_parameter(E) is not None:
        chain, _, _ = _structure_1d(E, sc)
        lines = []
        for q in range(len(chain) - 1):
            u, v = chain[q], chain[q + 1]
            d = (_fr(E[v, 0]) - _fr(E[u, 0]), _fr(E[v, 1]) - _fr(E[u, 1]))
            _, w = _lattice(d)
            # (a_v - a_u) . y = c_u - c_v: the point of that line nearest the origin
            lam = (_fr(sc[u]) - _fr(sc[v])) / (d[0] * d[0] + d[1] * d[1])
            point = (s * lam * d[0], s * lam * d[1])
            direction, _ = _lattice((-d[1], d[0]))
            lines.append((point, direction, w))
        return TropicalCurve([], [], [], lines, [], [], [], p.sense)
    st = _Structure2D(E, sc)
    verts = [(s * y[0], s * y[1]) for y in st.tie]
    edges, edge_duals, rays, ray_duals = [], [], [], []
    for (u, v, cell, other) in st.edges:
        d = (st.A[v][0] - st.A[u][0], st.A[v][1] - st.A[u][1])
        normal, w = _lattice((d[1], -d[0]))  # outer normal of `cell` across u -> v
        if other is None:
            rays.append((cell, tuple(s * x for x in normal), w))
            ray_duals.append((u, v))
        elif cell < other:
            edges.append((cell, other, w))
            edge_duals.append((u, v))
    return TropicalCurve(verts, edges, rays, [], [list(cv) for cv in st.cell_vertices],
                         edge_duals, ray_duals, p.sense)


# ---------------------------------------------------------------------------
# roots (one variable)
# ---------------------------------------------------------------------------
def roots(p) -> list:
    """Tropical roots of a polynomial in one variable, with multiplicities, exactly.

    The roots are the breakpoints of the piecewise-linear function ``p``;
    the multiplicity of a root is the jump of the slope there (the lattice
    length of the dual edge of the subdivision). The factor ``x^{a_min}``
    (a root at ``-inf`` for max, ``+inf`` for min) is not listed.

    Parameters
    ----------
    p : TropicalPolynomial
        One variable.

    Returns
    -------
    list of TropicalRoot
        ``(point, multiplicity)`` in increasing order of ``point``
        (:class:`fractions.Fraction`).

    Examples
    --------
    >>> from tropical.polynomial import TropicalPolynomial
    >>> from tropical.geometry import roots
    >>> p = TropicalPolynomial([0, 1, 3], [0.0, 2.0, 1.0])   # max(0, x + 2, 3x + 1)
    >>> [(str(r.point), r.multiplicity) for r in roots(p)]
    [('-2', 1), ('1/2', 2)]
    """
    E, sc, s = _data(p)
    if E.shape[1] != 1:
        raise ValueError(f"roots needs a polynomial in one variable, got {E.shape[1]}")
    a = [_fr(v) for v in E[:, 0]]
    z = [_fr(v) for v in sc]
    chain = _hull.upper_chain_1d(a, z)
    out = []
    for q in range(len(chain) - 1):
        u, v = chain[q], chain[q + 1]
        y = (z[u] - z[v]) / (a[v] - a[u])
        out.append(TropicalRoot(s * y, _intify(a[v] - a[u])))
    out.sort(key=lambda r: r.point)
    return out


# ---------------------------------------------------------------------------
# linear regions
# ---------------------------------------------------------------------------
class Region:
    """A linear region of a tropical polynomial: where one monomial is maximal (minimal).

    Attributes
    ----------
    monomial : int
        Index of the monomial that is maximal (minimal) on the region.
    A, b : ndarray
        Irredundant H-representation ``A x <= b`` (box rows included when a
        box was given).
    A_exact, b_exact : list or None
        The same rows exactly (``Fraction``) in one and two variables.
    vertices : ndarray or None
        Vertices of the region (of its intersection with the box when given);
        ``None`` for an unbounded region without a box.
    vertices_exact : list or None
        Exact vertices (one and two variables), counter-clockwise in two.
    interior_point : ndarray
        A point in the interior of the region (and of the box).
    interior_point_exact : tuple of Fraction or None
    bounded : bool
        Whether the region itself (not clipped by the box) is bounded.
    volume : Fraction, float or None
        Length / area / volume of the (clipped) region when it is bounded or a
        box is given; exact ``Fraction`` in one and two variables.
    """

    def __init__(self, monomial, A, b, vertices, interior_point, bounded, volume,
                 A_exact=None, b_exact=None, vertices_exact=None, interior_point_exact=None):
        self.monomial = monomial
        self.A, self.b = A, b
        self.A_exact, self.b_exact = A_exact, b_exact
        self.vertices = vertices
        self.vertices_exact = vertices_exact
        self.interior_point = interior_point
        self.interior_point_exact = interior_point_exact
        self.bounded = bounded
        self.volume = volume

    def contains(self, x, tol=0.0) -> bool:
        """Whether ``A x <= b + tol`` (floats)."""
        x = np.asarray(x, dtype=np.float64)
        return bool(np.all(self.A @ x <= self.b + tol))

    def __repr__(self):
        return f"Region(monomial={self.monomial}, {len(self.b)} facets, bounded={self.bounded})"


def regions(p, box=None) -> list:
    """The linear regions of ``p`` as polyhedra, one per monomial strictly maximal somewhere.

    Region ``j`` is ``{x : c_j + <a_j, x> >= c_i + <a_i, x> for all i}`` (``<=``
    for the min sense), given by its irredundant inequalities. In one and two
    variables everything is exact (``*_exact`` attributes); in more
    variables the irredundant rows and vertices come from qhull/HiGHS (floats).

    Parameters
    ----------
    p : TropicalPolynomial
    box : array_like, shape (n, 2), optional
        ``[[low, high], ...]`` per variable. When given, regions are
        intersected with the box (its rows are part of ``A, b``), regions not
        meeting the box's interior are omitted, and every region has vertices.

    Returns
    -------
    list of Region
        Ordered by monomial index.

    Examples
    --------
    >>> from tropical.polynomial import TropicalPolynomial
    >>> from tropical.geometry import regions
    >>> p = TropicalPolynomial([[1, 0], [0, 1], [0, 0]], [0.0, 0.0, 0.0])  # max(x, y, 0)
    >>> R = regions(p, box=[[-1, 1], [-1, 1]])
    >>> [(r.monomial, r.volume) for r in R]
    [(0, Fraction(1, 1)), (1, Fraction(3, 2)), (2, Fraction(3, 2))]
    >>> sum(r.volume for r in R)
    Fraction(4, 1)
    """
    E, sc, s = _data(p)
    N, n = E.shape
    B = _check_box(box, n)
    if N == 1:
        return [_whole_space_region(n, B)]
    if n <= 2:
        return _regions_exact(E, sc, s, B)
    return _regions_nd(E, sc, s, B)


def _whole_space_region(n, B):
    """The single region of a one-term polynomial (everything, or the box)."""
    if B is None:
        exact = n <= 2
        return Region(0, np.zeros((0, n)), np.zeros(0), None, np.zeros(n), n == 0, None,
                      [] if exact else None, [] if exact else None, None,
                      tuple(Fraction(0) for _ in range(n)) if exact else None)
    A = np.vstack([np.eye(n), -np.eye(n)])
    b = np.r_[B[:, 1], -B[:, 0]]
    if n > 2:
        verts = np.array(np.meshgrid(*B)).reshape(n, -1).T
        return Region(0, A, b, verts, B.mean(axis=1), False, float(np.prod(B[:, 1] - B[:, 0])))
    lo = [_fr(v) for v in B[:, 0]]
    hi = [_fr(v) for v in B[:, 1]]
    if n == 1:
        verts = [(lo[0],), (hi[0],)]
    else:
        verts = [(lo[0], lo[1]), (hi[0], lo[1]), (hi[0], hi[1]), (lo[0], hi[1])]
    volume = Fraction(1)
    for a, z in zip(lo, hi):
        volume *= z - a
    Ae = [tuple(int(q == k) for q in range(n)) for k in range(n)] + \
        [tuple(-int(q == k) for q in range(n)) for k in range(n)]
    return Region(0, A, b, _to_float(verts), B.mean(axis=1), False, volume,
                  Ae, hi + [-v for v in lo], verts,
                  tuple((a + z) / 2 for a, z in zip(lo, hi)))


def _regions_exact(E, sc, s, B):
    """Regions in one or two variables, exactly (computed for y = s*x, max convention)."""
    N, n = E.shape
    A = [tuple(_fr(v) for v in row) for row in E]
    C = [_fr(v) for v in sc]
    line = _hull._line_parameter(E)
    if line is not None:
        chain, _, t = _structure_1d(E, sc)
        order = chain
        nbrs = {j: [] for j in chain}
        for q in range(len(chain) - 1):
            nbrs[chain[q]].append(chain[q + 1])
            nbrs[chain[q + 1]].append(chain[q])
        ties = []
        for q in range(len(chain) - 1):
            u, v = chain[q], chain[q + 1]
            d = [A[v][k] - A[u][k] for k in range(n)]
            lam = (C[u] - C[v]) / sum(x * x for x in d)
            ties.append(tuple(lam * x for x in d))
        bounded_set = set()
    else:
        st = _Structure2D(E, sc)
        order = np.flatnonzero(st.kept).tolist()
        nbrs = {j: set() for j in order}
        boundary = set()
        for (u, v, cell, other) in st.edges:
            nbrs[u].add(v)
            nbrs[v].add(u)
            if other is None:
                boundary.update((u, v))
        nbrs = {j: sorted(v) for j, v in nbrs.items()}
        ties = st.tie
        bounded_set = set(order) - boundary
    # a box (in y = s*x coordinates) containing every region vertex strictly inside
    if B is not None:
        lo = [Fraction(float(v)) for v in (B[:, 0] if s == 1 else -B[:, 1])]
        hi = [Fraction(float(v)) for v in (B[:, 1] if s == 1 else -B[:, 0])]
    else:
        lo = [min((y[k] for y in ties), default=Fraction(0)) - 1 for k in range(n)]
        hi = [max((y[k] for y in ties), default=Fraction(0)) + 1 for k in range(n)]
        span = max(h - l for h, l in zip(hi, lo))
        lo = [v - span for v in lo]
        hi = [v + span for v in hi]
    out = []
    for j in sorted(order):
        rows = []
        for i in nbrs[j]:
            rows.append((tuple(A[i][k] - A[j][k] for k in range(n)), C[j] - C[i], i))
        bounded = (j in bounded_set) and n == 2
        if n == 1:
            lo_j, hi_j = lo[0], hi[0]
            lo_row = hi_row = None  # None: the end is the box's (or infinity)
            for r in rows:
                a, b, _ = r
                if a[0] > 0 and b / a[0] <= hi_j:
                    hi_j, hi_row = b / a[0], r
                elif a[0] < 0 and b / a[0] >= lo_j:
                    lo_j, lo_row = b / a[0], r
            if not lo_j < hi_j:
                continue
            keep_rows = [r for r in (hi_row, lo_row) if r is not None]
            poly = [(lo_j,), (hi_j,)]
            interior = ((lo_j + hi_j) / 2,)
            volume = hi_j - lo_j
            bounded = False
        else:
            poly = [(lo[0], lo[1]), (hi[0], lo[1]), (hi[0], hi[1]), (lo[0], hi[1])]
            for a, b, _ in rows:
                poly = _clip(poly, a, b)
                if len(poly) < 3:
                    break
            if len(poly) < 3 or _polygon_area2(poly) == 0:
                continue
            poly = _drop_collinear(poly)
            keep_rows = [r for r in rows if _row_is_facet(poly, r[0], r[1])]
            interior = _centroid(poly)
            volume = Fraction(_polygon_area2(poly), 2)
        Ae = [tuple(s * v for v in a) for a, _, _ in keep_rows]
        be = [b for _, b, _ in keep_rows]
        if B is not None:
            for k in range(n):
                e = tuple(Fraction(int(q == k)) for q in range(n))
                box_rows = [(e, Fraction(float(B[k, 1]))),
                            (tuple(-v for v in e), -Fraction(float(B[k, 0])))]
                for a, b in box_rows:
                    ys = tuple(s * v for v in a)  # the row in y coordinates
                    if n == 1:
                        end = poly[1][0] if ys[0] > 0 else poly[0][0]
                        facet = ys[0] * end == b and (
                            (hi_row is None) if ys[0] > 0 else (lo_row is None))
                    else:
                        facet = _row_is_facet(poly, ys, b) and not any(
                            _same_halfplane(ys, b, r[0], r[1]) for r in keep_rows)
                    if facet:
                        Ae.append(a)
                        be.append(b)
        verts_exact = None
        if B is not None or bounded:
            verts_exact = [tuple(s * v for v in P) for P in poly]
        out.append(Region(
            j, np.array([[float(v) for v in a] for a in Ae]).reshape(len(Ae), n),
            np.array([float(v) for v in be]), None if verts_exact is None else
            _to_float(verts_exact), np.array([float(s * v) for v in interior]), bounded,
            volume if (B is not None or bounded) else None,
            [tuple(_intify(v) for v in a) for a in Ae], be, verts_exact,
            tuple(s * v for v in interior)))
    return out


def _same_halfplane(a1, b1, a2, b2) -> bool:
    """Are ``a1.x <= b1`` and ``a2.x <= b2`` the same half-plane (exact)?"""
    if a1[0] * a2[1] != a1[1] * a2[0]:
        return False
    k = 0 if a2[0] != 0 else 1
    lam = a1[k] / a2[k]
    return lam > 0 and b1 == lam * b2


def _drop_collinear(poly):
    out = []
    k = len(poly)
    for i in range(k):
        P, Q, R = poly[i - 1], poly[i], poly[(i + 1) % k]
        if _hull._orient2d(P, Q, R) != 0:
            out.append(Q)
    return out


def _row_is_facet(poly, a, b) -> bool:
    """Does ``a.x <= b`` hold with equality along an edge of positive length of ``poly``?"""
    k = len(poly)
    for i in range(k):
        P, Q = poly[i], poly[(i + 1) % k]
        if a[0] * P[0] + a[1] * P[1] == b and a[0] * Q[0] + a[1] * Q[1] == b:
            return True
    return False


def _centroid(poly):
    area2 = _polygon_area2(poly)
    cx = cy = Fraction(0)
    k = len(poly)
    for i in range(k):
        P, Q = poly[i], poly[(i + 1) % k]
        cr = P[0] * Q[1] - Q[0] * P[1]
        cx += (P[0] + Q[0]) * cr
        cy += (P[1] + Q[1]) * cr
    return (cx / (3 * area2), cy / (3 * area2))


def _regions_nd(E, sc, s, B):
    """Regions in three or more variables (floats; qhull halfspace intersection + HiGHS)."""
    from scipy.optimize import linprog
    from scipy.spatial import HalfspaceIntersection

    N, n = E.shape
    kept = np.flatnonzero(_hull.strictly_maximal_terms(E, sc))
    if B is not None:
        Bl = B[:, 0] if s == 1 else -B[:, 1]
        Bh = B[:, 1] if s == 1 else -B[:, 0]
        big = None
    else:
        Bl = Bh = None
        try:
            sub = _subdivision_nd(E, sc, "max", sc)._tie
            ties = np.array([[float(v) for v in y] for y in sub])
            lo, hi = ties.min(axis=0) - 1, ties.max(axis=0) + 1
            span = float((hi - lo).max())
            big = (lo - span, hi + span)
        except NotImplementedError:
            big = None
    out = []
    for j in kept:
        others = kept[kept != j]
        Ar = E[others] - E[j]
        br = sc[j] - sc[others]
        if B is not None:
            Abox = np.vstack([np.eye(n), -np.eye(n)])
            bbox = np.r_[Bh, -Bl]
        elif big is not None:
            Abox = np.vstack([np.eye(n), -np.eye(n)])
            bbox = np.r_[big[1], -big[0]]
        else:
            Abox, bbox = np.zeros((0, n)), np.zeros(0)
        Aall = np.vstack([Ar, Abox])
        ball = np.r_[br, bbox]
        norms = np.linalg.norm(Aall, axis=1)
        res = linprog(np.r_[np.zeros(n), -1.0], A_ub=np.column_stack([Aall, norms]), b_ub=ball,
                      bounds=[(None, None)] * n + [(None, 1.0)], method="highs")
        if res.status != 0 or -res.fun <= 1e-12:
            continue
        center = res.x[:n]
        if len(bbox):
            hs = HalfspaceIntersection(np.column_stack([Aall, -ball]), center)
            facets = sorted({int(k) for f in hs.dual_facets for k in f})
            verts = hs.intersections
            from scipy.spatial import ConvexHull
            vol = float(ConvexHull(verts).volume)
        else:
            facets = [k for k in range(len(ball)) if _lp_irredundant(Aall, ball, k, linprog)]
            verts, vol = None, None
        rows = [k for k in facets if k < len(br) or B is not None]
        box_active = any(k >= len(br) for k in facets)
        bounded = B is None and big is not None and not box_active
        if B is None and not bounded:
            verts, vol = None, None
        if B is not None:
            # is the region itself bounded? (no recession direction)
            bounded = all(
                linprog(-d, A_ub=Ar, b_ub=br, bounds=[(None, None)] * n,
                        method="highs").status == 0 for d in np.vstack([np.eye(n), -np.eye(n)]))
        A_out = s * Aall[rows]
        out.append(Region(int(j), A_out, ball[rows], None if verts is None else s * verts,
                          s * center, bounded, vol))
    return out


def _lp_irredundant(A, b, k, linprog):
    others = np.delete(np.arange(len(b)), k)
    res = linprog(-A[k], A_ub=np.vstack([A[others], A[k]]), b_ub=np.r_[b[others], b[k] + 1.0],
                  bounds=[(None, None)] * A.shape[1], method="highs")
    return res.status == 0 and -res.fun > b[k] + 1e-9 * (1 + abs(b[k]))




# ---------------------------------------------------------------------------
# plots
# ---------------------------------------------------------------------------
def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "plotting needs matplotlib: pip install 'tropical-engine[plot]'") from None
    return plt


def plot_curve(p, ax=None, ray_length=None, annotate=True):
    """Draw the tropical curve of ``p`` (two variables); weights > 1 are labelled.

    Parameters
    ----------
    p : TropicalPolynomial or sequence of TropicalPolynomial
        One polynomial or several of the same sense (drawn together).
    ax : matplotlib Axes, optional
    ray_length : float, optional
        Length of the drawn rays (default: a third of the picture's size).
    annotate : bool, default True
        Label edges of weight > 1 with their weight.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from tropical.polynomial import TropicalPolynomial
    >>> from tropical.geometry import plot_curve
    >>> ax = plot_curve(TropicalPolynomial([[1, 0], [0, 1], [0, 0]], [0.0, 0.0, 0.0]))
    >>> len(ax.lines)
    3
    """
    polys = [p] if not isinstance(p, (list, tuple)) else list(p)
    _same_sense(polys)
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots()
    curves = [hypersurface(q) for q in polys]
    allv = np.vstack([c.vertices for c in curves if len(c.vertices)] or [np.zeros((1, 2))])
    size = float(np.ptp(allv, axis=0).max()) if len(allv) > 1 else 0.0
    L = ray_length if ray_length is not None else max(size / 3, 1.0)
    for k, C in enumerate(curves):
        color = f"C{k}"
        for u, v, w in C.edges:
            P, Q = C.vertices[u], C.vertices[v]
            ax.plot([P[0], Q[0]], [P[1], Q[1]], color=color, lw=1 + (w != 1))
            if annotate and w != 1:
                ax.annotate(str(w), (P + Q) / 2, color=color)
        for u, d, w in C.rays:
            P = C.vertices[u]
            dd = np.array(d, dtype=float)
            Q = P + L * dd / np.linalg.norm(dd)
            ax.plot([P[0], Q[0]], [P[1], Q[1]], color=color, lw=1 + (w != 1))
            if annotate and w != 1:
                ax.annotate(str(w), Q, color=color)
        for point, d, w in C.lines:
            P = np.array([float(point[0]), float(point[1])])
            dd = np.array(d, dtype=float) / np.linalg.norm(d)
            ax.plot(*np.array([P - 3 * L * dd, P + 3 * L * dd]).T, color=color,
                    lw=1 + (w != 1))
        if len(C.vertices):
            ax.scatter(C.vertices[:, 0], C.vertices[:, 1], color=color, s=9, zorder=3)
    ax.set_aspect("equal", adjustable="datalim")
    return ax


def plot_subdivision(p, ax=None, annotate=False):
    """Draw the dual subdivision of the Newton polygon of ``p`` (one or two variables).

    Parameters
    ----------
    p : TropicalPolynomial
    ax : matplotlib Axes, optional
    annotate : bool, default False
        Label each point with its monomial index.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from tropical.polynomial import TropicalPolynomial
    >>> from tropical.geometry import plot_subdivision
    >>> p = TropicalPolynomial([[0, 0], [1, 0], [0, 1], [1, 1]], [0.0, 0.0, 0.0, 1.0])
    >>> ax = plot_subdivision(p)
    >>> len(ax.lines)
    5
    """
    plt = _pyplot()
    S = dual_subdivision(p)
    if S.points.shape[1] > 2:
        raise ValueError("plot_subdivision draws one or two variables")
    if ax is None:
        _, ax = plt.subplots()
    P = S.points if S.points.shape[1] == 2 else np.column_stack([S.points, np.zeros(len(S.points))])
    if S.points.shape[1] == 2 and S.edges and len(S.edges[0]) == 4:
        seen = set()
        for u, v, _, _ in S.edges:
            key = (min(u, v), max(u, v))
            if key in seen:
                continue
            seen.add(key)
            ax.plot(P[[u, v], 0], P[[u, v], 1], color="k", lw=1)
    else:
        for cv in S.cell_vertices:
            if len(cv) == 2:
                ax.plot(P[cv, 0], P[cv, 1], color="k", lw=1)
    kept = np.zeros(len(P), dtype=bool)
    kept[S.vertices] = True
    ax.scatter(P[kept, 0], P[kept, 1], color="k", s=12, zorder=3)
    ax.scatter(P[~kept, 0], P[~kept, 1], facecolors="none", edgecolors="gray", s=12, zorder=3)
    if annotate:
        for i, q in enumerate(P):
            ax.annotate(str(i), q)
    ax.set_aspect("equal", adjustable="datalim")
    return ax


def _same_sense(polys):
    senses = {q.sense for q in polys}
    if len(senses) > 1:
        raise ValueError("cannot mix max-sense and min-sense polynomials "
                         "(negate one of them first: -p flips the sense)")
