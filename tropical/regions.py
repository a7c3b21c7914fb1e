r"""Exact activation regions of piecewise-linear networks in a box.

An *activation region* of a network ``F`` of ``relu``, ``leaky_relu``,
``maxout`` and ``identity`` layers is the closure of a set of inputs on which
every unit uses the same piece of its activation (the same on/off pattern, the
same argmax in every maxout group); it is a convex polyhedron, and ``F`` is
affine on it. A *linear region* (MATH.md section 4) is a maximal connected set
on which ``F`` is affine: a union of adjacent activation regions with the
same affine map. :func:`regions` enumerates every activation region that meets
an axis-aligned box with non-empty interior; :meth:`Regions.merge_linear`
merges them into linear regions. Both counts are reported, and named.

Algorithms
----------
``d = 2`` (relu / leaky_relu / identity layers)
    Polygon splitting, layer by layer: the box is a single polygon; each
    layer's pre-activations are known at every vertex (and affine on each
    face), and every face is cut by the zero line of each unit that has
    vertices strictly on both sides (the Numba kernel
    ``tropical.kernels.regions.split_faces_2d``; float64 throughout). The
    side of a vertex is a property of the vertex with a tolerance of
    ``1e-10`` times the largest ``|z_i|`` of that unit at the layer's vertices,
    so two faces sharing an edge always agree whether a line crosses it, and
    new vertices on an edge are shared: the partition stays edge-to-edge.
``d = 1`` (relu / leaky_relu / identity layers)
    Breakpoints, layer by layer: the same splitting on intervals.
any ``d``, and maxout networks
    A walk of the region adjacency graph. Start from the region of a point
    near the box centre; for a region, build its inequalities (one per unit
    and per maxout rival, plus the box), compute its Chebyshev centre (LP,
    SciPy's HiGHS), intersect the half-spaces (qhull) to get its vertices
    and facets (a row is a facet when the vertices on it span ``d - 1``
    dimensions), and cross each facet at the mean of its vertices (a point of
    the facet's relative interior) in the direction of its outer normal. The
    neighbour's pattern is the pattern at ``y + t n`` for ``t -> 0+``, found
    exactly layer by layer from the value and the directional derivative of
    each pre-activation (first the sign of ``z(y)``, and where ``z(y) = 0``
    within rounding, the sign of ``dz``), so facets where several units switch
    at once are crossed correctly. A pattern is a region when its Chebyshev
    radius is positive. Patterns seen are kept in a dictionary, so each region
    is solved once. Regions whose half-space intersection qhull rejects (very
    thin ones) fall back to one LP per row.

Precision
---------
Everything is float64. In 2-D, volumes are shoelace areas of the vertex
polygons, which tile the box exactly up to rounding, so they sum to the box
area to about ``1e-15`` relative; in 1-D they are interval lengths. In more
dimensions volumes are qhull's ``ConvexHull(vertices).volume`` (relative
error about ``1e-12``), computed on first access. Regions thinner than about
``1e-10`` of the box (in units of the pre-activations) are below the
resolution of both methods and are merged with a neighbour.

Examples
--------
>>> import numpy as np
>>> from tropical.nets import Network
>>> from tropical.regions import regions
>>> net = Network.from_weights([(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
...                              np.array([0.0, 0.0, -0.5])),
...                             (np.ones((1, 3)), np.zeros(1))])
>>> R = regions(net, box=1.0)
>>> len(R), R.merge_linear().count
(7, 7)
>>> float(sum(r.volume for r in R))
4.0
"""

from __future__ import annotations

import math
from array import array
import sys
import types
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from ._jsonio import dump_document, load_document
from ._progress import want_progress

__all__ = [
    "regions",
    "Regions",
    "Region",
    "LinearRegions",
    "estimate_count",
    "gibbs_concentration",
    "GibbsConcentration",
    "regions_cli",
]

_REL_TOL = 1e-10          # sign tolerance of pre-activations (relative)
_RADIUS_TOL = 1e-11       # smallest Chebyshev radius of a region (relative to the box)
_PIECEWISE = ("relu", "leaky_relu", "maxout")


# ---------------------------------------------------------------------------
# the network, as plain arrays
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _L:
    W: np.ndarray
    b: np.ndarray
    kind: str          # relu | leaky_relu | maxout | identity
    alpha: float
    group: int
    width: int         # pre-activations
    ncode: int         # entries of the pattern code (units, or groups for maxout)


def _spec(net):
    """The layers of ``net`` as :class:`_L` (validated); accepts a Network or (W, b) pairs."""
    from .nets import Network

    if not isinstance(net, Network):
        if isinstance(net, (list, tuple)) and net and all(
                isinstance(p, (list, tuple)) and len(p) == 2 for p in net):
            net = Network.from_weights(list(net))
        else:
            raise TypeError(f"net must be a tropical.nets.Network (or a list of (W, b) pairs), "
                            f"got {type(net).__name__}")
    out = []
    for k, layer in enumerate(net.layers):
        act = layer.activation
        if act in ("softplus", "lse"):
            if layer.eps != 0:
                raise ValueError(
                    f"layer {k} is {layer.describe()}: a smooth network has no activation "
                    f"regions; enumerate those of its tropical limit net.tropicalize(), or use "
                    f"gibbs_concentration() to see how it approaches them")
            act = "relu" if act == "softplus" else "maxout"
        if act not in _PIECEWISE + ("identity",):
            raise ValueError(f"layer {k}: unsupported activation {act!r} for region enumeration")
        W = np.ascontiguousarray(layer.W, dtype=np.float64)
        b = np.ascontiguousarray(layer.b, dtype=np.float64)
        if not (np.isfinite(W).all() and np.isfinite(b).all()):
            raise ValueError(f"layer {k}: weights must be finite")
        n = W.shape[0]
        group = int(layer.group) if act == "maxout" else 1
        ncode = 0 if act == "identity" else (n // group if act == "maxout" else n)
        out.append(_L(W, b, act, float(layer.alpha), group, n, ncode))
    return net, out


def _box(box, d):
    """``(lo, hi)`` float arrays of shape (d,) from a half-width or a (lo, hi) pair."""
    if isinstance(box, (bool, np.bool_)):
        raise TypeError(f"box must be a half-width or a (lo, hi) pair, got {box!r}")
    if np.ndim(box) == 0:
        try:
            h = float(box)
        except (TypeError, ValueError):
            raise TypeError(f"box must be a half-width or a (lo, hi) pair, got {box!r}") from None
        if not math.isfinite(h) or h <= 0:
            raise ValueError(f"box half-width must be finite and > 0, got {box!r} "
                             f"(the box would be empty)")
        return np.full(d, -h), np.full(d, h)
    try:
        lo, hi = box
        lo = np.broadcast_to(np.asarray(lo, dtype=np.float64), (d,)).copy()
        hi = np.broadcast_to(np.asarray(hi, dtype=np.float64), (d,)).copy()
    except (TypeError, ValueError):
        raise ValueError(f"box must be a half-width or a pair (lo, hi) of length-{d} arrays, "
                         f"got {box!r}") from None
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        raise ValueError(f"box must be finite, got lo={lo.tolist()}, hi={hi.tolist()}")
    if not (lo < hi).all():
        k = int(np.flatnonzero(~(lo < hi))[0])
        raise ValueError(f"box is empty or inverted in coordinate {k}: lo={lo[k]} >= hi={hi[k]}")
    return lo, hi


def _code_layout(spec):
    """Offsets of each layer's entries in a flat pattern code."""
    off = [0]
    for L in spec:
        off.append(off[-1] + L.ncode)
    return off


def _forward_codes(spec, X):
    """Flat pattern codes (N, P) int16 of the points ``X`` (N, d)."""
    u = X
    codes = []
    for L in spec:
        z = u @ L.W.T + L.b
        if L.kind == "relu":
            codes.append(z > 0)
            u = np.maximum(z, 0.0)
        elif L.kind == "leaky_relu":
            s = z > 0
            codes.append(s)
            u = np.where(s, z, L.alpha * z)
        elif L.kind == "maxout":
            g = z.reshape(len(z), -1, L.group)
            a = np.argmax(g, axis=-1)
            codes.append(a)
            u = np.take_along_axis(g, a[..., None], axis=-1)[..., 0]
        else:
            u = z
    if not codes:
        return np.zeros((len(X), 0), np.int16), u
    return np.concatenate([c.astype(np.int16) for c in codes], axis=1), u


def _affine_batch(spec, codes, d):
    """Per-layer constraint data and the final affine map for many patterns at once.

    Returns ``(J, c, layers)`` with ``J`` (N, out, d), ``c`` (N, out) and, per
    layer, the pre-activation maps ``(G, g)`` (N, width, d), (N, width).
    """
    N = len(codes)
    M = np.broadcast_to(np.eye(d), (N, d, d))
    m = np.zeros((N, d))
    off = _code_layout(spec)
    pre = []
    for k, L in enumerate(spec):
        G = np.matmul(L.W, M)                      # (N, width, d)
        g = m @ L.W.T + L.b                         # (N, width)
        pre.append((G, g))
        code = codes[:, off[k]:off[k + 1]]
        if L.kind in ("relu", "leaky_relu"):
            s = code.astype(np.float64)
            if L.kind == "leaky_relu":
                s = s + L.alpha * (1.0 - s)
            M = G * s[:, :, None]
            m = g * s
        elif L.kind == "maxout":
            idx = np.arange(L.ncode) * L.group + code.astype(np.int64)
            M = np.take_along_axis(G, idx[:, :, None], axis=1)
            m = np.take_along_axis(g, idx, axis=1)
        else:
            M, m = G, g
    return np.ascontiguousarray(M), np.ascontiguousarray(m), pre


def _constraints(spec, code, d, lo, hi):
    """Normalised inequalities ``A x <= b`` of one pattern: unit rows, then the box.

    Returns ``(A, b, tags)``; ``tags[k]`` is ``(layer, unit)`` of a unit row
    (for maxout ``unit`` is the rival pre-activation) and ``(-1, axis)`` for
    a box row. Rows that vanish identically are dropped.
    """
    _, _, pre = _affine_batch(spec, code[None], d)
    off = _code_layout(spec)
    rows, rhs, tags = [], [], []
    for k, L in enumerate(spec):
        if L.kind == "identity":
            continue
        G, g = pre[k][0][0], pre[k][1][0]
        c = code[off[k]:off[k + 1]]
        if L.kind in ("relu", "leaky_relu"):
            sgn = np.where(c > 0, -1.0, 1.0)       # active: -z <= 0; inactive: z <= 0
            rows.append(G * sgn[:, None])
            rhs.append(-g * sgn)
            tags.extend((k, i) for i in range(L.width))
        else:
            win = np.arange(L.ncode) * L.group + c.astype(np.int64)
            rival = np.arange(L.width)
            winner_of = np.repeat(win, L.group)
            keep = rival != winner_of
            rows.append(G[rival[keep]] - G[winner_of[keep]])
            rhs.append(g[winner_of[keep]] - g[rival[keep]])
            tags.extend((k, int(i)) for i in rival[keep])
    rows.append(np.vstack([np.eye(d), -np.eye(d)]))
    rhs.append(np.r_[hi, -lo])
    tags.extend([(-1, j) for j in range(d)] + [(-1, d + j) for j in range(d)])
    A = np.vstack(rows)
    b = np.concatenate(rhs)
    norms = np.linalg.norm(A, axis=1)
    keep = norms > 1e-13 * (1.0 + np.abs(b))
    if not np.all(b[~keep] >= -1e-12):
        return None                                   # 0 <= negative: empty
    A = A[keep] / norms[keep, None]
    b = b[keep] / norms[keep]
    tags = [t for t, k in zip(tags, keep) if k]
    return A, b, tags


def _limit_codes(spec, Y, N):
    """Pattern codes at ``Y + t N`` for ``t -> 0+``, row by row.

    Returns ``(codes, ok)``: ``ok[k]`` is False where some unit is zero to
    first order along the ray (the point lies on a degenerate boundary).
    """
    u, du = Y, N
    codes = []
    ok = np.ones(len(Y), dtype=bool)
    for L in spec:
        z = u @ L.W.T + L.b
        dz = du @ L.W.T
        aW = np.abs(L.W).T
        tz = 1e-9 * (np.abs(u) @ aW + np.abs(L.b)) + 1e-300
        tdz = 1e-9 * (np.abs(du) @ aW) + 1e-300
        zero = np.abs(z) <= tz
        if L.kind in ("relu", "leaky_relu"):
            ok &= ~np.any(zero & (np.abs(dz) <= tdz), axis=1)
            s = np.where(zero, dz > 0, z > 0)
            codes.append(s.astype(np.int16))
            f = s.astype(np.float64)
            if L.kind == "leaky_relu":
                f = f + L.alpha * (1.0 - f)
            u, du = z * f, dz * f
        elif L.kind == "maxout":
            F, g = len(z), L.group
            zg, dg = z.reshape(F, -1, g), dz.reshape(F, -1, g)
            tg = tz.reshape(F, -1, g).max(axis=2, keepdims=True)
            cand = zg >= zg.max(axis=2, keepdims=True) - 2 * tg
            dmask = np.where(cand, dg, -np.inf)
            a = np.argmax(dmask, axis=2)
            best = np.take_along_axis(dmask, a[..., None], axis=2)
            tdg = tdz.reshape(F, -1, g).max(axis=2, keepdims=True)
            ties = np.sum(cand & (np.abs(dmask - best) <= tdg), axis=2)
            ok &= ~np.any(ties > 1, axis=1)
            codes.append(a.astype(np.int16))
            sel = (np.arange(a.shape[1]) * g + a)
            u = np.take_along_axis(z, sel, axis=1)
            du = np.take_along_axis(dz, sel, axis=1)
        else:
            u, du = z, dz
    C = np.concatenate(codes, axis=1) if codes else np.zeros((len(Y), 0), np.int16)
    return C, ok


# ---------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------
class Region:
    """One activation region (a view into :class:`Regions`).

    Attributes
    ----------
    index : int
    pattern : list of ndarray
        One array per layer, as :meth:`tropical.nets.Network.activation_pattern`
        returns it (bool per unit for relu / leaky_relu, the argmax within each
        group for maxout, empty for identity layers).
    code : ndarray
        The same pattern flattened (int16), the key of the region.
    A, b : ndarray
        Irredundant H-representation ``A x <= b`` (rows of unit norm; box
        faces included where they bound the region).
    J, c : ndarray
        The network on the region: ``F(x) = J @ x + c``.
    interior_point : ndarray
        The Chebyshev centre (LP walk) or the vertex centroid (1-D and 2-D
        fast paths): a point of the interior.
    volume : float
        Length / area / volume of the region.
    vertices : ndarray
        Vertices (counter-clockwise in 2-D, ``[lo, hi]`` in 1-D).
    """

    __slots__ = ("_R", "index")

    def __init__(self, R, index):
        self._R = R
        self.index = index

    @property
    def code(self):
        return self._R.codes[self.index]

    @property
    def pattern(self):
        return self._R._split_code(self.code)

    @property
    def A(self):
        return self._R._hrep(self.index)[0]

    @property
    def b(self):
        return self._R._hrep(self.index)[1]

    @property
    def J(self):
        return self._R.jacobians[self.index]

    @property
    def c(self):
        return self._R.offsets[self.index]

    @property
    def interior_point(self):
        return self._R.interior_points[self.index]

    @property
    def volume(self):
        return float(self._R.volumes[self.index])

    @property
    def vertices(self):
        return self._R._vertices(self.index)

    @property
    def neighbors(self):
        return sorted(self._R.graph.neighbors(self.index))

    def chebyshev(self):
        """``(centre, radius)`` of the largest ball inside the region (an LP)."""
        A, b = self._R._hrep(self.index)
        return _chebyshev_linprog(A, b, float(np.max(self._R.hi - self._R.lo)))

    def contains(self, x, tol=1e-12) -> bool:
        """Whether ``A x <= b + tol``."""
        A, b = self._R._hrep(self.index)
        return bool(np.all(A @ np.asarray(x, dtype=np.float64) <= b + tol))

    def __repr__(self):
        return (f"Region({self.index}, {len(self.b)} facets, volume={self.volume:.6g}, "
                f"pattern={''.join(str(int(v)) for v in self.code)})")


class LinearRegions:
    """Linear regions: adjacent activation regions with the same affine map, merged.

    Attributes
    ----------
    count : int
        Number of linear regions.
    labels : ndarray of int
        ``labels[i]``: the linear region of activation region ``i``.
    members : list of ndarray
        The activation regions of each linear region.
    volumes : ndarray
        Volume of each linear region (computed on first access).
    """

    def __init__(self, regions, labels):
        self._R = regions
        self.labels = labels
        self.count = int(labels.max()) + 1 if len(labels) else 0
        self._members = None

    @property
    def members(self):
        if self._members is None:
            order = np.argsort(self.labels, kind="stable")
            cuts = np.flatnonzero(np.diff(self.labels[order])) + 1
            self._members = np.split(order, cuts)
        return self._members

    @property
    def volumes(self):
        return np.bincount(self.labels, weights=self._R.volumes, minlength=self.count)

    def __len__(self):
        return self.count

    def __repr__(self):
        return f"LinearRegions({self.count} linear regions)"


class Regions:
    """The activation regions of a network in a box (see :func:`regions`).

    ``len(R)`` is the number of activation regions; iterating gives
    :class:`Region` views. Array attributes, row ``i`` for region ``i``:
    ``codes`` (flat patterns), ``interior_points``, ``volumes``,
    ``jacobians``, ``offsets``. ``graph`` is the region adjacency graph
    (:mod:`networkx`; an edge where two regions share a facet), ``edges`` the
    same as an (E, 2) array. ``complete`` is False when the enumeration was
    interrupted (Ctrl-C) or stopped at ``max_regions``: the regions found are
    exact, but there may be more.

    Examples
    --------
    >>> import numpy as np
    >>> import tropical
    >>> net = tropical.Network.from_weights(
    ...     [(np.array([[1.0, 0.0], [0.0, 1.0]]), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))])
    >>> R = tropical.regions(net, 1.0)      # max(x, 0) + max(y, 0) on [-1, 1]^2
    >>> len(R), R.complete, float(R.volumes.sum())
    (4, True, 4.0)
    """

    def __init__(self, *, dim, lo, hi, codes, interior, edges, method, complete, spec=None,
                 net=None, layout=None, volumes=None, hrep=None, verts=None, poly=None,
                 jac=None, off=None, elapsed=0.0):
        self.dim = int(dim)
        self.lo, self.hi = np.asarray(lo, float), np.asarray(hi, float)
        self.codes = np.asarray(codes, dtype=np.int16).reshape(len(codes), -1)
        self._interior = None if interior is None else \
            np.asarray(interior, float).reshape(len(self.codes), self.dim)
        self._edges = None if edges is None else np.asarray(edges, dtype=np.int64).reshape(-1, 2)
        self.method = method
        self.complete = bool(complete)
        self.elapsed = float(elapsed)
        self._spec = spec
        self.network = net
        self._layout = layout        # list of (kind, ncode) per layer
        self._volumes = None if volumes is None else np.asarray(volumes, float)
        self._hreps = hrep if hrep is not None else {}
        self._verts = verts if verts is not None else {}
        self._poly = poly            # 2-D: (XY, ptr, idx)
        self._jac, self._off = jac, off
        self._index = None
        self._graph = None

    # -- container --------------------------------------------------------------
    def __len__(self):
        return len(self.codes)

    def __iter__(self):
        return (Region(self, i) for i in range(len(self)))

    def __getitem__(self, i):
        n = len(self)
        i = int(i)
        if not -n <= i < n:
            raise IndexError(f"region index {i} out of range for {n} regions")
        return Region(self, i % n)

    def __repr__(self):
        state = "" if self.complete else ", incomplete"
        return (f"Regions({len(self)} activation regions in {self.dim}-D, "
                f"method={self.method!r}{state})")

    # -- derived data -----------------------------------------------------------
    def _split_code(self, code):
        out, k = [], 0
        for kind, n in self._layout:
            part = code[k:k + n]
            k += n
            if kind == "identity":
                out.append(np.zeros(0, dtype=bool))
            elif kind == "maxout":
                out.append(part.astype(np.int64))
            else:
                out.append(part.astype(bool))
        return out

    @property
    def interior_points(self):
        """(N, d): a point in the interior of each region."""
        if self._interior is None:
            XY, ptr, idx = self._poly
            cnt = np.diff(ptr)
            self._interior = np.column_stack(
                [np.add.reduceat(XY[idx, k], ptr[:-1]) for k in range(2)]) / cnt[:, None]
        return self._interior

    @property
    def edges(self):
        """(E, 2) int array: the pairs of adjacent regions (``i < j``)."""
        if self._edges is None:
            self._edges = _polygon_adjacency(*self._poly)
        return self._edges

    def _key_index(self):
        if self._index is None:
            self._index = {c.tobytes(): i for i, c in enumerate(self.codes)}
        return self._index

    @property
    def graph(self):
        """Region adjacency graph (networkx.Graph on region indices)."""
        if self._graph is None:
            import networkx as nx

            G = nx.Graph()
            G.add_nodes_from(range(len(self)))
            G.add_edges_from(map(tuple, self.edges.tolist()))
            self._graph = G
        return self._graph

    def _affine(self):
        if self._jac is None:
            if self._spec is None:
                raise ValueError("affine maps unavailable (no network)")
            J, c, _ = _affine_batch(self._spec, self.codes, self.dim)
            self._jac, self._off = J, c
        return self._jac, self._off

    @property
    def jacobians(self):
        """(N, out, d): ``F(x) = jacobians[i] @ x + offsets[i]`` on region ``i``."""
        return self._affine()[0]

    @property
    def offsets(self):
        return self._affine()[1]

    @property
    def volumes(self):
        """(N,): length / area / volume of each region (qhull, on first access, in d >= 3)."""
        if self._volumes is None and self._poly is not None:
            self._volumes = _shoelace(*self._poly)
        if self._volumes is None:
            self._volumes = np.array([self._volume_nd(i) for i in range(len(self))])
        return self._volumes

    def _volume_nd(self, i):
        from scipy.spatial import ConvexHull

        V = self._vertices(i)
        if self.dim == 1:
            return float(V.max() - V.min())
        if self.dim == 2:
            return float(_shoelace(V, np.array([0, len(V)]), np.arange(len(V)))[0])
        try:
            return float(ConvexHull(V).volume)
        except Exception:  # noqa: BLE001 - qhull precision on a sliver
            return float(ConvexHull(V, qhull_options="QJ").volume)

    def _vertices(self, i):
        if i in self._verts:
            return self._verts[i]
        if self._poly is not None:
            XY, ptr, idx = self._poly
            V = _drop_collinear(XY[idx[ptr[i]:ptr[i + 1]]])
        elif self.dim == 1:
            A, b = self._hrep(i)
            V = np.array([[max(self.lo[0], *(b[A[:, 0] < 0] / A[A[:, 0] < 0, 0]))],
                          [min(self.hi[0], *(b[A[:, 0] > 0] / A[A[:, 0] > 0, 0]))]])
        else:
            V = _hs_vertices(*self._hrep(i), self.interior_points[i])
        if self.dim == 2 and self._poly is None:
            V = _ccw(V)
        self._verts[i] = V
        return V

    def _hrep(self, i):
        h = self._hreps.get(i)
        if isinstance(h, tuple):
            return h
        if h is not None:                 # facet row indices of the pattern's inequalities
            A, b, _ = _constraints(self._spec, self.codes[i], self.dim, self.lo, self.hi)
            return A[h], b[h]
        if self._poly is not None:
            A, b = _polygon_hrep(self._vertices(i))
        elif self.dim == 1:
            A, b = self._hreps_1d(i)
        else:
            if self._spec is None:
                raise ValueError("H-representation unavailable (no network)")
            A, b, _ = _constraints(self._spec, self.codes[i], self.dim, self.lo, self.hi)
            rows = _irredundant_rows(A, b, self.interior_points[i])
            A, b = A[rows], b[rows]
        if self.dim <= 2 or len(self) < 20000:
            self._hreps[i] = (A, b)
        return A, b

    def _hreps_1d(self, i):
        lo, hi = self._verts[i][:, 0]
        return np.array([[-1.0], [1.0]]), np.array([-lo, hi])

    # -- queries ------------------------------------------------------------------
    def locate(self, x):
        """Region index of each point of ``x`` (shape (..., d)); -1 outside the box.

        Uses the network's activation pattern at the point (on a boundary the
        convention of :meth:`~tropical.nets.Network.activation_pattern`,
        ``z > 0`` active, picks one side); without a network (after
        :meth:`from_json`), the first region whose inequalities hold.
        """
        X = np.asarray(x, dtype=np.float64)
        if X.ndim == 0 or X.shape[-1] != self.dim:
            raise ValueError(f"x must have shape (..., {self.dim}), got {X.shape}")
        shape = X.shape[:-1]
        X = X.reshape(-1, self.dim)
        inside = np.all((X >= self.lo) & (X <= self.hi), axis=1)
        out = np.full(len(X), -1, dtype=np.int64)
        if self._spec is not None:
            codes, _ = _forward_codes(self._spec, X)
            index = self._key_index()
            for k in np.flatnonzero(inside):
                out[k] = index.get(codes[k].tobytes(), -1)
            miss = np.flatnonzero(inside & (out < 0))
        else:
            miss = np.flatnonzero(inside)
        for k in miss:           # on a degenerate boundary, or no network: by inequalities
            for i in range(len(self)):
                A, b = self._hrep(i)
                if np.all(A @ X[k] <= b + 1e-9 * (1 + np.abs(b))):
                    out[k] = i
                    break
        return out.reshape(shape)

    def merge_linear(self, rtol=1e-9) -> LinearRegions:
        """Merge adjacent regions whose affine maps agree (to ``rtol``): the linear regions."""
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        J, c = self._affine()
        N = len(self)
        E = self.edges
        if len(E):
            i, j = E[:, 0], E[:, 1]
            scale = 1.0 + max(np.abs(self.lo).max(), np.abs(self.hi).max())
            dJ = np.abs(J[i] - J[j]).reshape(len(i), -1).max(axis=1, initial=0.0)
            dc = np.abs(c[i] - c[j]).max(axis=1, initial=0.0)
            mag = 1.0 + np.maximum(np.abs(J[i]).reshape(len(i), -1).max(axis=1, initial=0.0),
                                   np.abs(c[i]).max(axis=1, initial=0.0))
            same = dJ * scale + dc <= rtol * mag * scale
            i, j = i[same], j[same]
        else:
            i = j = np.zeros(0, np.int64)
        G = coo_matrix((np.ones(len(i)), (i, j)), shape=(N, N))
        _, labels = connected_components(G, directed=False)
        return LinearRegions(self, labels.astype(np.int64))

    def counts(self) -> dict:
        """``{"activation_regions": ..., "linear_regions": ..., "complete": ...}``."""
        return {"activation_regions": len(self), "linear_regions": self.merge_linear().count,
                "complete": self.complete}

    # -- serialisation ------------------------------------------------------------
    def to_json(self, path=None, *, with_geometry=True) -> str:
        """JSON text (written to ``path`` too when given); :meth:`from_json` reads it back."""
        J, c = self._affine()
        doc = {
            "format": "tropical.regions", "version": 1, "dim": self.dim,
            "box": [self.lo.tolist(), self.hi.tolist()], "method": self.method,
            "complete": self.complete, "layout": [list(t) for t in self._layout],
            "counts": {"activation_regions": len(self),
                       "linear_regions": self.merge_linear().count},
            "edges": self.edges.tolist(),
            "regions": [],
        }
        vols = self.volumes
        for i in range(len(self)):
            item = {"code": self.codes[i].tolist(),
                    "interior_point": self.interior_points[i].tolist(),
                    "volume": float(vols[i]), "J": J[i].tolist(), "c": c[i].tolist()}
            if with_geometry:
                A, b = self._hrep(i)
                item["A"], item["b"] = A.tolist(), b.tolist()
                if self.dim <= 2:
                    item["vertices"] = self._vertices(i).tolist()
            doc["regions"].append(item)
        return dump_document(doc, path)

    @classmethod
    def from_json(cls, text) -> "Regions":
        """Rebuild from :meth:`to_json` output (text or a path); no network attached."""
        doc = load_document(text, "tropical.regions")
        d = doc["dim"]
        regs = doc["regions"]
        N = len(regs)
        hrep = {i: (np.array(r["A"], float).reshape(-1, d), np.array(r["b"], float))
                for i, r in enumerate(regs) if "A" in r}
        verts = {i: np.array(r["vertices"], float).reshape(-1, d)
                 for i, r in enumerate(regs) if "vertices" in r}
        out_dim = len(regs[0]["c"]) if N else 0
        return cls(dim=d, lo=doc["box"][0], hi=doc["box"][1],
                   codes=np.array([r["code"] for r in regs], np.int16).reshape(N, -1),
                   interior=np.array([r["interior_point"] for r in regs], float).reshape(N, d),
                   edges=doc["edges"], method=doc["method"], complete=doc["complete"],
                   layout=[tuple(t) for t in doc["layout"]],
                   volumes=[r["volume"] for r in regs], hrep=hrep, verts=verts,
                   jac=np.array([r["J"] for r in regs], float).reshape(N, out_dim, d),
                   off=np.array([r["c"] for r in regs], float).reshape(N, out_dim))

    # -- plots ---------------------------------------------------------------------
    def plot(self, ax=None, color_by="region", edgecolor="k", linewidth=0.3, output=0):
        """Draw the 2-D partition, coloured by region or by the gradient of output ``output``.

        ``color_by="region"``: a random colour per activation region;
        ``"gradient"``: the direction of ``grad F_output`` as hue and its
        length as brightness (regions of one linear region share a colour).
        Returns the matplotlib Axes. Needs matplotlib (the ``plot`` extra).
        """
        if self.dim != 2:
            raise ValueError(f"plot draws 2-D partitions; these regions are {self.dim}-D")
        if color_by not in ("region", "gradient"):
            raise ValueError(f"color_by must be 'region' or 'gradient', got {color_by!r}")
        try:
            import matplotlib.pyplot as plt
            from matplotlib.collections import PolyCollection
            from matplotlib.colors import hsv_to_rgb
        except ImportError:  # pragma: no cover - depends on the environment
            raise ImportError("Regions.plot needs matplotlib: pip install "
                              "'tropical-engine[plot]'") from None
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 6))
        polys = [self._vertices(i) for i in range(len(self))]
        if color_by == "region":
            rng = np.random.default_rng(0)
            colors = rng.uniform(0.25, 1.0, size=(len(self), 3))
        else:
            g = self.jacobians[:, output, :]
            ang = (np.arctan2(g[:, 1], g[:, 0]) / (2 * np.pi)) % 1.0
            mag = np.linalg.norm(g, axis=1)
            val = 0.25 + 0.75 * mag / (mag.max() if mag.size and mag.max() > 0 else 1.0)
            colors = hsv_to_rgb(np.column_stack([ang, np.full_like(ang, 0.6), val]))
        ax.add_collection(PolyCollection(polys, facecolors=colors, edgecolors=edgecolor,
                                         linewidths=linewidth))
        ax.set_xlim(self.lo[0], self.hi[0])
        ax.set_ylim(self.lo[1], self.hi[1])
        ax.set_aspect("equal")
        ax.set_title(f"{len(self)} activation regions")
        return ax


# ---------------------------------------------------------------------------
# geometry helpers
# ---------------------------------------------------------------------------
def _drop_collinear(P, tol=1e-14):
    """Vertices of a convex polygon without the ones inside an edge."""
    if len(P) <= 3:
        return P
    prev = np.roll(P, 1, axis=0)
    nxt = np.roll(P, -1, axis=0)
    cr = (P[:, 0] - prev[:, 0]) * (nxt[:, 1] - P[:, 1]) - (P[:, 1] - prev[:, 1]) * (nxt[:, 0] - P[:, 0])
    scale = np.linalg.norm(P - prev, axis=1) * np.linalg.norm(nxt - P, axis=1)
    keep = np.abs(cr) > tol * scale
    return P[keep] if keep.sum() >= 3 else P


def _ccw(V):
    """The points of a convex polygon in counter-clockwise order."""
    c = V.mean(axis=0)
    return V[np.argsort(np.arctan2(V[:, 1] - c[1], V[:, 0] - c[0]))]


def _polygon_hrep(P):
    """Unit-normal ``A x <= b`` of a counter-clockwise convex polygon (one row per edge)."""
    Q = np.roll(P, -1, axis=0)
    e = Q - P
    n = np.column_stack([e[:, 1], -e[:, 0]])
    L = np.linalg.norm(n, axis=1)
    ok = L > 0
    n = n[ok] / L[ok, None]
    return n, np.einsum("ij,ij->i", n, P[ok])


def _shoelace(XY, ptr, idx):
    x, y = XY[idx, 0], XY[idx, 1]
    nxt = np.arange(len(idx)) + 1
    nxt[ptr[1:] - 1] = ptr[:-1]
    cross = x * y[nxt] - x[nxt] * y
    return 0.5 * np.add.reduceat(cross, ptr[:-1]) if len(ptr) > 1 else np.zeros(0)


class _Chebyshev:
    """Chebyshev centres by HiGHS, one solver object reused (no presolve).

    Uses SciPy's bundled HiGHS bindings directly (about 10x less overhead
    per LP than :func:`scipy.optimize.linprog`); falls back to ``linprog``
    where those private bindings are missing.
    """

    def __init__(self):
        try:
            from scipy.optimize._highspy import _core as hc

            self.hc = hc
            self.h = hc._Highs()
            self.h.setOptionValue("output_flag", False)
            self.h.setOptionValue("presolve", "off")
        except Exception:  # noqa: BLE001 - private API: any failure means linprog
            self.hc = None

    def __call__(self, A, b, scale):
        m, d = A.shape
        if self.hc is None:
            return _chebyshev_linprog(A, b, scale)
        hc = self.hc
        lp = hc.HighsLp()
        lp.num_col_, lp.num_row_ = d + 1, m
        lp.col_cost_ = np.r_[np.zeros(d), -1.0]
        lp.col_lower_ = np.full(d + 1, -hc.kHighsInf)
        lp.col_upper_ = np.r_[np.full(d, hc.kHighsInf), scale]
        lp.row_lower_ = np.full(m, -hc.kHighsInf)
        lp.row_upper_ = np.ascontiguousarray(b)
        mat = lp.a_matrix_
        mat.format_ = hc.MatrixFormat.kRowwise
        mat.start_ = np.arange(0, m * (d + 1) + 1, d + 1)
        mat.index_ = np.tile(np.arange(d + 1), m)
        mat.value_ = np.column_stack([A, np.ones(m)]).ravel()
        mat.num_col_, mat.num_row_ = d + 1, m
        lp.a_matrix_ = mat
        self.h.passModel(lp)
        self.h.run()
        status = self.h.getModelStatus()
        if status == hc.HighsModelStatus.kInfeasible:
            return None, -np.inf
        if status != hc.HighsModelStatus.kOptimal:
            return _chebyshev_linprog(A, b, scale)
        x = np.array(self.h.getSolution().col_value)
        return x[:d], float(x[d])


def _chebyshev_linprog(A, b, scale):
    from scipy.optimize import linprog

    d = A.shape[1]
    res = linprog(np.r_[np.zeros(d), -1.0], A_ub=np.column_stack([A, np.ones(len(b))]),
                  b_ub=b, bounds=[(None, None)] * d + [(None, scale)], method="highs")
    if res.status != 0:
        return None, -np.inf
    return res.x[:d], -res.fun


def _hs_vertices(A, b, center):
    from scipy.spatial import HalfspaceIntersection

    hs = HalfspaceIntersection(np.column_stack([A, -b]), center)
    return _unique_rows(hs.intersections)


def _unique_rows(V, tol=1e-12):
    if len(V) <= 1:
        return V
    scale = 1.0 + np.abs(V).max()
    key = np.round(V / (tol * 1e3 * scale)).astype(np.int64)
    _, first = np.unique(key, axis=0, return_index=True)
    return V[np.sort(first)]


def _facets(A, b, center, radius, scale):
    """Facet rows of ``{A x <= b}`` with a point in each facet's relative interior.

    Returns ``(rows, points, vertices)``. In ``d >= 2`` qhull intersects the
    half-spaces from the (Chebyshev) centre: the facet rows are the vertices
    of the dual hull (redundant rows and rows touching only a lower face are
    not), the point of a facet is the mean of the vertices on it. ``vertices``
    (with repeats at degenerate vertices) is None where LPs had to be used.
    """
    d = A.shape[1]
    if d == 1:
        a = A[:, 0]
        up = np.flatnonzero(a > 0)
        dn = np.flatnonzero(a < 0)
        hi = (b[up] / a[up]).min()
        lo = (b[dn] / a[dn]).max()
        rows = [int(up[np.argmin(b[up] / a[up])]), int(dn[np.argmax(b[dn] / a[dn])])]
        return rows, np.array([[hi], [lo]]), np.array([[lo], [hi]])
    from scipy.spatial import HalfspaceIntersection

    try:
        hs = HalfspaceIntersection(np.column_stack([A, -b]), center)
        rows = np.sort(np.asarray(hs.dual_vertices, dtype=np.int64))
        V = hs.intersections
        F = np.asarray(hs.dual_facets, dtype=np.int64)
        if F.ndim != 2:     # non-simplicial output: ragged lists
            raise ValueError
    except Exception:  # noqa: BLE001 - qhull rejects some slivers: fall back to LPs
        return _facets_lp(A, b, scale)
    inc = np.zeros((len(A), len(V)))
    inc[F, np.arange(len(V))[:, None]] = 1.0
    cnt = inc[rows].sum(axis=1)
    good = cnt >= d
    rows = rows[good]
    pts = (inc[rows] @ V) / cnt[good][:, None]
    return rows.tolist(), pts, V


def _facets_lp(A, b, scale):
    from scipy.optimize import linprog

    m, d = A.shape
    rows, pts = [], []
    for k in range(m):
        others = np.delete(np.arange(m), k)
        res = linprog(np.r_[np.zeros(d), -1.0],
                      A_ub=np.column_stack([A[others], np.ones(m - 1)]), b_ub=b[others],
                      A_eq=np.r_[A[k], 0.0][None], b_eq=[b[k]],
                      bounds=[(None, None)] * d + [(None, scale)], method="highs")
        if res.status == 0 and -res.fun > _RADIUS_TOL * scale:
            rows.append(k)
            pts.append(res.x[:d])
    return rows, np.array(pts).reshape(len(rows), d), None


def _irredundant_rows(A, b, center):
    d = A.shape[1]
    scale = float(np.abs(b).max() + 1.0)
    radius = float((b - A @ center).min())
    return _facets(A, b, center, radius, scale)[0] if d > 1 else \
        sorted(set(_facets(A, b, center, radius, scale)[0]))


# ---------------------------------------------------------------------------
# the enumerators
# ---------------------------------------------------------------------------
def _kernel_split():
    from . import _config

    try:
        from . import _kernels

        return _kernels.get("split_faces_2d")
    except (KeyError, AttributeError):       # not registered (or no numpy twin) yet
        pass
    from .kernels import regions as kr

    return kr.split_faces_2d if _config.jit_enabled() else kr.split_faces_2d.py_func


def _activate(L, Z):
    if L.kind == "relu":
        return np.maximum(Z, 0.0)
    if L.kind == "leaky_relu":
        return np.where(Z > 0, Z, L.alpha * Z)
    return Z


def _enumerate_2d(spec, lo, hi):
    split = _kernel_split()
    XY = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]])
    ptr = np.array([0, 4], dtype=np.int64)
    idx = np.arange(4, dtype=np.int64)
    codes = np.zeros((1, 0), dtype=np.int16)
    H = XY
    for L in spec:
        Z = H @ L.W.T + L.b
        if L.kind == "identity":
            H = Z
            continue
        tol = _REL_TOL * np.abs(Z).max(axis=0) + 1e-300
        V = np.ascontiguousarray(np.column_stack([XY, Z]))
        V, ptr, idx, parent, bits = split(V, ptr, idx, tol)
        codes = np.concatenate([codes[parent], bits.astype(np.int16)], axis=1)
        XY = np.ascontiguousarray(V[:, :2])
        H = _activate(L, V[:, 2:])
    return codes, (XY, ptr, idx)


def _polygon_adjacency(XY, ptr, idx):
    """Pairs of faces sharing an edge (an unordered pair of consecutive vertex ids)."""
    counts = np.diff(ptr)
    nxt = np.arange(len(idx)) + 1
    nxt[ptr[1:] - 1] = ptr[:-1]
    a, b = idx, idx[nxt]
    face = np.repeat(np.arange(len(ptr) - 1), counts)
    key = np.minimum(a, b) * (len(XY) + 1) + np.maximum(a, b)
    order = np.argsort(key, kind="stable")
    ks, fs = key[order], face[order]
    same = ks[1:] == ks[:-1]
    E = np.column_stack([fs[:-1][same], fs[1:][same]])
    return np.unique(np.sort(E, axis=1), axis=0) if len(E) else np.zeros((0, 2), np.int64)


def _split_1d(spec, lo, hi):
    """Breakpoints layer by layer; returns codes (N, P) and interval ends (N, 2)."""
    X = np.array([lo[0], hi[0]])                       # breakpoints, sorted
    codes = np.zeros((1, 0), dtype=np.int16)           # one row per interval
    H = X[:, None]
    gap = 1e-14 * (hi[0] - lo[0])
    for L in spec:
        Z = H @ L.W.T + L.b                            # (points, width)
        if L.kind == "identity":
            H = Z
            continue
        tol = _REL_TOL * np.abs(Z).max(axis=0) + 1e-300
        S = np.where(Z > tol, 1, np.where(Z < -tol, -1, 0))
        i, u = np.nonzero(S[:-1] * S[1:] < 0)          # strict sign changes inside intervals
        t = Z[i, u] / (Z[i, u] - Z[i + 1, u])
        Xn = X[i] + t * (X[i + 1] - X[i])
        Zn = Z[i] + t[:, None] * (Z[i + 1] - Z[i])
        Zn[np.arange(len(u)), u] = 0.0
        allX = np.r_[X, Xn]
        allZ = np.vstack([Z, Zn])
        order = np.lexsort((np.r_[np.zeros(len(X)), np.ones(len(Xn))], allX))
        allX, allZ = allX[order], allZ[order]
        kept = np.flatnonzero(np.r_[True, np.diff(allX) > gap])
        kept[-1] = len(allX) - 1                        # the box end stays
        oldX = X
        X, Z = allX[kept], allZ[kept]
        S = np.where(Z > tol, 1, np.where(Z < -tol, -1, 0))
        mids = 0.5 * (X[:-1] + X[1:])
        parent = np.clip(np.searchsorted(oldX, mids) - 1, 0, len(oldX) - 2)
        if L.kind == "maxout":  # pragma: no cover - routed to the walk
            raise AssertionError
        bits = ((S[:-1] > 0) | (S[1:] > 0)).astype(np.int16)
        codes = np.concatenate([codes[parent], bits], axis=1)
        H = _activate(L, Z)
    return codes, np.column_stack([X[:-1], X[1:]])


def _walk(spec, d, lo, hi, progress, max_regions, start):
    scale = float(np.max(hi - lo))
    rtol = _RADIUS_TOL * scale
    if start is None:
        start = 0.5 * (lo + hi)
    rng = np.random.default_rng(0)
    cheb = _Chebyshev()
    codes, interior, hreps, verts = [], [], {}, {}
    edges = array('q')
    seen = {}                       # code bytes -> region index, or -1 (not full-dimensional)
    queue = deque()                 # code bytes waiting to be solved
    pending = {}                    # code bytes -> (code, [regions that found it])

    def push(code, src):
        key = code.tobytes()
        j = seen.get(key)
        if j is not None:
            if j >= 0 and src >= 0 and j != src:
                edges.extend((src, j))
            return
        item = pending.get(key)
        if item is None:
            pending[key] = (code, [src])
            queue.append(key)
        else:
            item[1].append(src)

    # the first region: the pattern at the start point (nudged below if on a boundary)
    push(_forward_codes(spec, np.clip(start, lo, hi)[None])[0][0], -1)
    complete = True
    t0 = time.monotonic()
    last = t0
    show = want_progress(progress)
    try:
        while queue:
            key = queue.popleft()
            code, srcs = pending.pop(key)
            cons = _constraints(spec, code, d, lo, hi)
            if cons is None:
                seen[key] = -1
                continue
            A, b, tags = cons
            x, r = cheb(A, b, scale)
            if x is None or r <= rtol:
                seen[key] = -1
                if not codes and not queue:   # the start point sat on a boundary: nudge it
                    p = np.clip(start + (hi - lo) * 1e-3 * rng.standard_normal(d), lo, hi)
                    push(_forward_codes(spec, p[None])[0][0], -1)
                continue
            i = len(codes)
            seen[key] = i
            codes.append(code)
            interior.append(x)
            for src in srcs:
                if src >= 0:
                    edges.extend((src, i))
            rows, pts, V = _facets(A, b, x, r, scale)
            hreps[i] = np.asarray(rows, dtype=np.int16)
            if V is not None and d <= 2:
                verts[i] = _unique_rows(V)
            cross = [j for j, k in enumerate(rows) if tags[k][0] >= 0]
            if cross:
                Y = pts[cross]
                Nrm = A[[rows[j] for j in cross]]
                # a unit facet lying on a box face leads out of the box
                out = np.any(((Y >= hi - 1e-12 * scale) & (Nrm > 1e-12))
                             | ((Y <= lo + 1e-12 * scale) & (Nrm < -1e-12)), axis=1)
                Y, Nrm = Y[~out], Nrm[~out]
                nbs, ok = _limit_codes(spec, Y, Nrm)
                for q in range(len(Y)):
                    nb = nbs[q] if ok[q] else None
                    tries = 0
                    while nb is None and tries < 10 and V is not None:
                        tries += 1             # undecided to first order: move inside the facet
                        inc = np.abs(Nrm[q] @ Y[q] - V @ Nrm[q]) <= 1e-9 * scale
                        w = rng.dirichlet(np.ones(int(inc.sum())))
                        c1, ok1 = _limit_codes(spec, (w @ V[inc])[None], Nrm[q][None])
                        nb = c1[0] if ok1[0] else None
                    if nb is not None:
                        push(nb, i)
            if max_regions is not None and len(codes) >= max_regions:
                complete = not queue
                break
            if show and time.monotonic() - last > 0.5:
                last = time.monotonic()
                sys.stderr.write(f"\rregions: {len(codes)} found, {len(queue)} queued, "
                                 f"{last - t0:.1f} s")
                sys.stderr.flush()
    except KeyboardInterrupt:
        complete = False
    if show:
        sys.stderr.write(f"\rregions: {len(codes)} found{'' if complete else ' (interrupted)'}"
                         f", {time.monotonic() - t0:.1f} s\n")
    P = sum(L.ncode for L in spec)
    C = np.array(codes, dtype=np.int16).reshape(len(codes), P)
    E = np.frombuffer(edges, dtype=np.int64).reshape(-1, 2) if len(edges) else \
        np.zeros((0, 2), np.int64)
    if len(E):
        E = np.unique(np.sort(E, axis=1), axis=0)
    return C, np.array(interior).reshape(len(codes), d), E, hreps, verts, complete


def regions(net, box, *, method="auto", progress=None, max_regions=None) -> Regions:
    """Every activation region of ``net`` that meets the box, exactly.

    Parameters
    ----------
    net : tropical.nets.Network
        Layers ``relu``, ``leaky_relu``, ``maxout`` and ``identity`` (and
        ``softplus`` / ``lse`` at ``eps = 0``), any input dimension. A list
        of ``(W, b)`` pairs is read as a ReLU network with an identity last
        layer.
    box : float or (lo, hi)
        A half-width ``h`` (the box ``[-h, h]^d``) or the corners ``lo``,
        ``hi`` (arrays of length ``d``, or scalars) with ``lo < hi``.
    method : {"auto", "walk", "split"}
        ``"split"``: the 1-D / 2-D fast path (relu / leaky_relu / identity
        layers only); ``"walk"``: the LP walk of the adjacency graph (any
        dimension, maxout too); ``"auto"``: ``"split"`` where it applies.
    progress : bool, optional
        Progress on stderr during the walk (default: when stderr is a tty).
    max_regions : int, optional
        Stop the walk after this many regions (``complete=False`` if more remain).

    Returns
    -------
    Regions
        Ctrl-C during the walk returns the regions found so far, with
        ``complete=False``.

    Examples
    --------
    >>> import numpy as np
    >>> from tropical.nets import Network
    >>> net = Network.from_weights([(np.eye(2), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))])
    >>> R = regions(net, box=1.0)
    >>> len(R), sorted(r.volume for r in R)
    (4, [1.0, 1.0, 1.0, 1.0])
    >>> R[R.locate([0.5, 0.5])].J
    array([[1., 1.]])
    """
    t0 = time.perf_counter()
    net, spec = _spec(net)
    d = net.in_dim
    lo, hi = _box(box, d)
    if method not in ("auto", "walk", "split"):
        raise ValueError(f"method must be 'auto', 'walk' or 'split', got {method!r}")
    if max_regions is not None and (isinstance(max_regions, bool) or int(max_regions) < 1):
        raise ValueError(f"max_regions must be a positive integer, got {max_regions!r}")
    splittable = d <= 2 and all(L.kind != "maxout" for L in spec)
    if method == "split" and not splittable:
        raise ValueError("method='split' needs 1 or 2 inputs and no maxout layer; use 'walk'")
    layout = [(L.kind, L.ncode) for L in spec]
    common = dict(dim=d, lo=lo, hi=hi, spec=spec, net=net, layout=layout)
    if splittable and method != "walk":
        if d == 2:
            codes, poly = _enumerate_2d(spec, lo, hi)
            return Regions(codes=codes, interior=None, edges=None, method="split-2d",
                           complete=True, poly=poly,
                           elapsed=time.perf_counter() - t0, **common)
        codes, ends = _split_1d(spec, lo, hi)
        n = len(codes)
        verts = {i: ends[i][:, None] for i in range(n)}
        E = np.column_stack([np.arange(n - 1), np.arange(1, n)]) if n > 1 else np.zeros((0, 2))
        return Regions(codes=codes, interior=ends.mean(axis=1)[:, None], edges=E,
                       method="split-1d", complete=True, volumes=ends[:, 1] - ends[:, 0],
                       verts=verts, elapsed=time.perf_counter() - t0, **common)
    C, X, E, hreps, verts, complete = _walk(spec, d, lo, hi, progress, max_regions, None)
    return Regions(codes=C, interior=X, edges=E, method="walk", complete=complete,
                   hrep=hreps, verts={k: _ccw(v) for k, v in verts.items()} if d == 2 else verts,
                   elapsed=time.perf_counter() - t0, **common)


# ---------------------------------------------------------------------------
# sampling (an estimate, named so)
# ---------------------------------------------------------------------------
def estimate_count(net, box, n_samples=100_000, seed=0) -> int:
    """Number of distinct activation patterns at ``n_samples`` uniform points of the box.

    A **lower bound** on the number of activation regions, not a count: thin
    regions are easily missed (a 2000 x 2000 grid misses hundreds of the
    6668 regions of a 2 -> 64 -> 64 -> 64 network). Use :func:`regions` for
    the exact number.
    """
    from ._validate import check_int

    net, spec = _spec(net)
    lo, hi = _box(box, net.in_dim)
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    rng = np.random.default_rng(seed)
    seen = set()
    for start in range(0, n_samples, 65536):
        m = min(65536, n_samples - start)
        X = lo + (hi - lo) * rng.random((m, net.in_dim))
        codes, _ = _forward_codes(spec, X)
        seen.update(row.tobytes() for row in np.unique(codes, axis=0))
    return len(seen)


# ---------------------------------------------------------------------------
# eps > 0: concentration of the Gibbs weights on the tropical limit's regions
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class GibbsConcentration:
    """How the Gibbs weights of each smooth layer concentrate as eps -> 0.

    Attributes
    ----------
    eps : ndarray (E,)
    layers : list of int
        Indices of the layers with Gibbs weights (softplus / lse, or relu /
        maxout read as their deformations).
    spread : ndarray (E, len(layers))
        Mean over sample points and units of ``1 - max_j pi_j``: the mass
        not on the most likely piece.
    off_limit : ndarray (E, len(layers))
        Mean of ``1 - pi_{j*}`` where ``j*`` is the piece the tropical limit
        (eps = 0, same weights) uses at that point: the mass outside the
        limit's activation region. Tends to 0 with eps (linearly in eps
        away from the limit's region boundaries).
    agreement : ndarray (E,)
        Fraction of sample points whose argmax pattern at eps equals the
        limit's activation pattern (the point lies in the same region).
    """

    eps: np.ndarray
    layers: list
    spread: np.ndarray
    off_limit: np.ndarray
    agreement: np.ndarray


def gibbs_concentration(net, box, eps=(1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001),
                        n_samples=2000, seed=0) -> GibbsConcentration:
    """Gibbs weights of every softplus_eps / LSE_eps layer against the tropical limit's regions.

    A softplus_eps unit is ``eps * log(exp(z/eps) + exp(0/eps))``: Gibbs
    weights ``pi = (sigmoid(z/eps), 1 - sigmoid(z/eps))`` on its two pieces
    (on, off); an LSE_eps group has ``pi = softmax(z/eps)`` on its units. At
    ``eps -> 0`` they become the indicator of the piece the tropical limit
    (relu / maxout with the same weights) uses, i.e. of its activation
    region. For each ``eps`` of the grid the network is evaluated at its own
    temperature (``net.deform(eps)``) at uniform sample points of the box,
    and the weights are compared with the limit's pattern at the same points.
    relu / maxout layers are read as the ``eps = 0`` end of the same family.
    """
    from ._validate import check_eps, check_int
    from .nets import Network

    if not isinstance(net, Network):
        raise TypeError(f"net must be a tropical.nets.Network, got {type(net).__name__}")
    grid = np.array([check_eps(e, "eps") for e in np.atleast_1d(eps)], dtype=np.float64)
    if (grid <= 0).any():
        raise ValueError("eps values must be > 0 (eps = 0 is the limit itself)")
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    lo, hi = _box(box, net.in_dim)
    X = lo + (hi - lo) * np.random.default_rng(seed).random((n_samples, net.in_dim))
    limit = net.tropicalize()
    lim_pat = limit.activation_pattern(X)
    which = [k for k, L in enumerate(net.layers)
             if L.activation in ("softplus", "lse", "relu", "maxout")]
    spread = np.zeros((len(grid), len(which)))
    off = np.zeros((len(grid), len(which)))
    agree = np.zeros(len(grid))
    for e, ep in enumerate(grid):
        Z = net.deform(ep).preactivations(X)
        same = np.ones(n_samples, dtype=bool)
        for q, k in enumerate(which):
            L = net.layers[k]
            z = Z[k]
            if L.activation in ("softplus", "relu"):
                p_on = 0.5 * (1.0 + np.tanh(z / (2 * ep)))            # sigmoid(z/eps)
                pmax = np.maximum(p_on, 1 - p_on)
                p_lim = np.where(lim_pat[k], p_on, 1 - p_on)
                same &= np.all((z > 0) == lim_pat[k], axis=1)
            else:
                g = z.reshape(n_samples, -1, L.group) / ep
                g = g - g.max(axis=-1, keepdims=True)
                w = np.exp(g)
                w /= w.sum(axis=-1, keepdims=True)
                pmax = w.max(axis=-1)
                p_lim = np.take_along_axis(w, lim_pat[k][..., None], axis=-1)[..., 0]
                same &= np.all(np.argmax(w, axis=-1) == lim_pat[k], axis=1)
            spread[e, q] = float(np.mean(1 - pmax))
            off[e, q] = float(np.mean(1 - p_lim))
        agree[e] = float(same.mean())
    return GibbsConcentration(grid, which, spread, off, agree)


# ---------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------
def regions_cli(argv=None) -> int:
    """``tropical regions MODEL --box H [--json OUT] [--png OUT]``: count and save regions.

    MODEL is an ``.npz`` (``W0, b0, ...``, ReLU after every layer but the
    last; see :meth:`tropical.nets.Network.from_npz`) or a network ``.json``.
    Prints the numbers of activation and linear regions; writes the regions
    as JSON and, in 2-D, a PNG. Ctrl-C during the enumeration keeps what was
    found (marked incomplete). Returns the exit status.
    """
    import argparse

    from .nets import Network

    ap = argparse.ArgumentParser(prog="tropical regions",
                                 description="Enumerate the exact activation regions of a "
                                             "piecewise-linear network in a box.")
    ap.add_argument("model", help="network file: .npz (W0, b0, W1, b1, ...) or .json")
    ap.add_argument("--box", nargs="+", type=float, default=None,
                    help="half-width H (box [-H, H]^d), or 2*d numbers lo_1..lo_d hi_1..hi_d "
                         "(default: the file's box_halfwidth, else 1)")
    ap.add_argument("--method", choices=["auto", "walk", "split"], default="auto")
    ap.add_argument("--json", dest="json_out", default=None, help="write the regions here")
    ap.add_argument("--png", default=None, help="2-D only: write a picture here")
    ap.add_argument("--max-regions", type=int, default=None)
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    path = args.model
    if path.endswith(".json"):
        with open(path, encoding="utf-8") as fh:
            net = Network.from_json(fh.read())
        default_h = 1.0
    else:
        net = Network.from_npz(path)
        with np.load(path, allow_pickle=False) as z:
            default_h = float(z["box_halfwidth"]) if "box_halfwidth" in z.files else 1.0
    d = net.in_dim
    if args.box is None:
        box = default_h
    elif len(args.box) == 1:
        box = args.box[0]
    elif len(args.box) == 2 * d:
        box = (np.array(args.box[:d]), np.array(args.box[d:]))
    else:
        ap.error(f"--box takes 1 or {2 * d} numbers for a {d}-input network")
    R = regions(net, box, method=args.method, progress=False if args.no_progress else None,
                max_regions=args.max_regions)
    lin = R.merge_linear()
    state = "complete" if R.complete else "INCOMPLETE (interrupted or capped: a lower bound)"
    print(f"activation regions: {len(R)}")
    print(f"linear regions:     {lin.count}")
    print(f"method: {R.method}, {R.elapsed:.3f} s, {state}")
    if args.json_out:
        R.to_json(args.json_out)
        print(f"wrote {args.json_out}")
    if args.png:
        if d != 2:
            print("--png: only for 2-input networks; skipped", file=sys.stderr)
        else:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            fig, ax = plt.subplots(figsize=(7, 7))
            R.plot(ax=ax)
            fig.savefig(args.png, dpi=150, bbox_inches="tight")
            plt.close(fig)
            print(f"wrote {args.png}")
    return 0


class _CallableModule(types.ModuleType):
    """``tropical.regions`` is this module and, called, :func:`regions` itself.

    The issue's public name ``tropical.regions(net, box)`` and the module
    ``tropical.regions`` coincide; making the module callable keeps both
    (``import tropical.regions`` cannot then shadow the function).
    """

    def __call__(self, net, box, **kwargs):
        return regions(net, box, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
