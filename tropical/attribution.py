r"""Attribution: Gibbs weights, their entropy landscape and its bifurcations in eps.

For an LSE layer ``f_eps(x) = LSE_eps(W x + b)`` (``../shared/design/MATH.md``
sections 2 and 5) the Gibbs weights ``pi(x) = softmax((W x + b)/eps)`` are the
closed-form influences ``pi_j = d f_eps / d b_j`` of the terms on the output,
and the *attribution entropy* ``H(x) = -sum_j pi_j log pi_j`` lies in
``[0, log N]``: near 0 where one term decides ("particle" regime, small eps),
near ``log N`` where all share ("wave" regime, large eps). A
:class:`~tropical.views.pde.HopfCole` model is accepted everywhere and converted
by the exact dictionary (``.to_network(t)``; the Gibbs weights of the two views
are the same).

Derivatives (all in closed form). Write ``s = W x + b``, ``E`` the expectation
under ``pi``, ``u_j = w_j - E w`` (the centred rows) and
``c_j = (s_j - E s)/eps``. Since ``d pi_j/dx = pi_j u_j/eps`` and
``-log pi_j = log Z - s_j/eps``,

* ``grad H = E[u (-log pi)]/eps = Cov_pi(w, -log pi)/eps = -E[u c]/eps``;
* ``Hess H = -(E[u u^T] + E[u u^T c])/eps^2 = (E[(-log pi - H) u u^T] - Cov_pi(w))/eps^2``.

The derivation behind the third derivatives reads ``pi`` as an exponential
family with natural parameter ``theta = (x, 1)/eps`` and features
``phi_j = (w_j, b_j)``: ``H = A(theta) - theta.grad A(theta)`` with ``A`` the
log-partition function, so ``d H/d theta = -A'' theta``,
``d^2 H = -A'' - A''' theta``, ``d^3 H = -2 A''' - A'''' theta`` (the
cumulants of ``phi`` under ``pi``), and the chain rule through ``theta(x, eps)``
gives ``d^3 H/dx^3``, ``d grad H/d eps`` and ``d Hess H/d eps`` (formulas in
:mod:`tropical.kernels.attribution`). They serve the fold location of
:func:`bifurcation_diagram`.

``eps = 0``. ``pi`` is then the indicator of the argmax face, uniform on ties
(the limit of ``pi`` as ``eps -> 0`` at fixed ``x``), and ``H = log k`` with
``k`` the number of tied terms. :func:`entropy_grad` and
:func:`entropy_hessian` return ``0`` off the tropical hypersurface (the
limits at fixed ``x``) and raise ``ValueError`` at a point where the maximum
is attained twice: ``H`` jumps there, it has no derivative.
:func:`critical_points` and :func:`bifurcation_diagram` need ``eps > 0``.

Examples
--------
>>> import numpy as np
>>> from tropical.views.network import LSELayer
>>> from tropical.attribution import entropy, entropy_grad
>>> layer = LSELayer([[-1.0], [1.0]], [0.0, 0.0], eps=0.5)
>>> round(float(entropy(layer, [0.0])), 12)        # equal weights: log 2
0.69314718056
>>> abs(entropy_grad(layer, [0.0]))                  # the symmetry point is critical
array([0.])
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import time

import numpy as np

from . import _kernels
from ._progress import want_progress
from ._validate import as_semiring_array, check_eps, check_int

__all__ = [
    "influence",
    "entropy",
    "entropy_grad",
    "entropy_hessian",
    "critical_points",
    "CriticalPoint",
    "CriticalPoints",
    "bifurcation_diagram",
    "BifurcationDiagram",
    "Fold",
    "Branch",
    "two_cluster_example",
    "TWO_CLUSTER_BOX",
]

_KINDS = ("minimum", "saddle", "maximum", "degenerate")
#: Poincare-Hopf index of each nondegenerate kind in d = 2 (and d = 1).
_INDEX = {2: {"minimum": 1, "maximum": 1, "saddle": -1},
          1: {"minimum": 1, "maximum": -1}}
_SAFETY = 1.0 + 1e-9   # relative slack on the certified bounds (their own rounding)
_U = np.finfo(np.float64).eps / 2   # unit roundoff


# ----------------------------------------------------------------------------- inputs
def _as_layer(layer, t=1.0):
    """An LSELayer from an LSELayer or a HopfCole (exact dictionary at time t)."""
    from .views.network import LSELayer
    from .views.pde import HopfCole, _check_time_scalar

    # t is checked for either view: a NaN or negative time passed with an
    # LSELayer is a caller's mistake, not a value to ignore silently.
    t = _check_time_scalar(t)
    if isinstance(layer, LSELayer):
        return layer
    if isinstance(layer, HopfCole):
        return layer.to_network(t)
    raise TypeError(f"layer must be an LSELayer or a HopfCole, got {type(layer).__name__}")


def _points(layer, x):
    """``(X flat (M, d), leading shape)`` of points ``x`` of shape (..., d)."""
    X = layer._points(x)
    lead = X.shape[:-1]
    return np.ascontiguousarray(X.reshape(-1, layer.d)), lead


def _derivs(layer, X, eps, order):
    """Kernel call on flat points ``X`` (M, d): ``(H, G, Hs, T3, Ge, He)``."""
    M, d = X.shape
    H = np.empty(M)
    G = np.empty((M, d)) if order >= 1 else np.empty((0, d))
    Hs = np.empty((M, d, d)) if order >= 2 else np.empty((0, d, d))
    T3 = np.empty((M, d, d, d)) if order >= 3 else np.empty((0, d, d, d))
    Ge = np.empty((M, d)) if order >= 3 else np.empty((0, d))
    He = np.empty((M, d, d)) if order >= 3 else np.empty((0, d, d))
    if M:
        _kernels.get("entropy_derivatives")(layer.W, layer.b, X, float(eps), int(order),
                                            H, G, Hs, T3, Ge, He)
    np.minimum(H, math.log(layer.N), out=H)
    return H, G, Hs, T3, Ge, He


def _ties(layer, X):
    """Number of terms attaining the maximum at each point (eps = 0)."""
    s = X @ layer.W.T + layer.b
    return (s == s.max(axis=1, keepdims=True)).sum(axis=1)


def _check_no_ties(layer, X, what):
    k = _ties(layer, X)
    if (k > 1).any():
        i = int(np.argmax(k > 1))
        raise ValueError(
            f"{what}: at eps = 0 the point x = {X[i].tolist()} lies on the tropical "
            f"hypersurface ({int(k[i])} terms attain the maximum); H(pi) jumps there and "
            "has no derivative (use eps > 0)")


# ----------------------------------------------------------------------------- pointwise
def influence(layer, x, *, t=1.0):
    """Influences ``pi_j(x) = d f_eps / d b_j``: the Gibbs weights, ``O(N)`` per point.

    Parameters
    ----------
    layer : LSELayer or HopfCole
        The layer (a ``HopfCole`` is converted by ``.to_network(t)``; both
        views have the same Gibbs weights).
    x : array_like, shape (M, d) or (d,)
        Points (for ``d = 1`` also a scalar or shape ``(M,)``).
    t : float, default 1.0
        Time of the dictionary for a ``HopfCole``.

    Returns
    -------
    ndarray, shape (M, N) or (N,)
        Non-negative, summing to 1. At ``eps = 0``: uniform on the argmax set.

    Examples
    --------
    >>> from tropical.views.network import LSELayer
    >>> from tropical.attribution import influence
    >>> layer = LSELayer([[1.0], [-1.0]], [0.0, 0.0], eps=0.0)
    >>> influence(layer, [[2.0], [0.0]])
    array([[1. , 0. ],
           [0.5, 0.5]])
    """
    return _as_layer(layer, t).gibbs(x)


def entropy(layer, x, *, t=1.0):
    """Attribution entropy ``H(pi(x)) = -sum_j pi_j log pi_j`` in ``[0, log N]``.

    Terms with ``pi_j = 0`` contribute ``0``. Computed as
    ``log S - E[s - max s]/eps`` (``S`` the max-shifted partition sum): two
    non-negative terms, no cancellation, no ``log 0``.

    Parameters
    ----------
    layer : LSELayer or HopfCole
        The layer (``HopfCole``: converted with ``.to_network(t)``).
    x : array_like, shape (M, d) or (d,)
        Points.
    t : float, default 1.0
        Time of the dictionary for a ``HopfCole``.

    Returns
    -------
    ndarray, shape (M,), or a float for one point
        At ``eps = 0``: ``log k``, ``k`` the number of terms attaining the maximum.

    Examples
    --------
    >>> from tropical.views.network import LSELayer
    >>> from tropical.attribution import entropy
    >>> layer = LSELayer([[1.0], [-1.0], [0.0]], [0.0, 0.0, -5.0], eps=0.0)
    >>> entropy(layer, [[0.0], [1.0]])          # log 2 on the kink, 0 elsewhere
    array([0.69314718, 0.        ])
    """
    layer = _as_layer(layer, t)
    X, lead = _points(layer, x)
    if layer.eps == 0.0:
        H = np.log(_ties(layer, X).astype(np.float64))
    else:
        H = _derivs(layer, X, layer.eps, 0)[0]
    H = H.reshape(lead)
    return float(H) if H.ndim == 0 else H


def entropy_grad(layer, x, *, t=1.0):
    """``grad_x H(pi(x)) = Cov_pi(w, -log pi)/eps``, shape (M, d) or (d,).

    Closed form ``-E[u c]/eps`` with ``u = w - E w``, ``c = (s - E s)/eps``
    (the same quantity, centred so that it keeps its relative accuracy where
    ``pi`` concentrates on one term).

    Parameters
    ----------
    layer : LSELayer or HopfCole
        The layer (``HopfCole``: converted with ``.to_network(t)``).
    x : array_like, shape (M, d) or (d,)
        Points.
    t : float, default 1.0
        Time of the dictionary for a ``HopfCole``.

    Returns
    -------
    ndarray
        At ``eps = 0``: ``0`` off the tropical hypersurface; ``ValueError`` on it.

    Examples
    --------
    >>> from tropical.views.network import LSELayer
    >>> from tropical.attribution import entropy_grad
    >>> layer = LSELayer([[1.0], [-1.0]], [0.0, 0.0], eps=1.0)
    >>> g = entropy_grad(layer, [[0.5], [-0.5]])
    >>> bool(g[0, 0] < 0 < g[1, 0])              # H decreases away from the tie
    True
    """
    layer = _as_layer(layer, t)
    X, lead = _points(layer, x)
    if layer.eps == 0.0:
        _check_no_ties(layer, X, "entropy_grad")
        G = np.zeros_like(X)
    else:
        G = _derivs(layer, X, layer.eps, 1)[1]
    return G.reshape(lead + (layer.d,))


def entropy_hessian(layer, x, *, t=1.0):
    """Hessian of ``x -> H(pi(x))`` in closed form, shape (M, d, d) or (d, d).

    ``Hess H = -(E[u u^T] + E[u u^T c])/eps^2 = (E[(-log pi - H) u u^T] - Cov_pi(w))/eps^2``
    with ``u = w - E w`` and ``c = (s - E s)/eps``.

    Parameters
    ----------
    layer : LSELayer or HopfCole
        The layer (``HopfCole``: converted with ``.to_network(t)``).
    x : array_like, shape (M, d) or (d,)
        Points.
    t : float, default 1.0
        Time of the dictionary for a ``HopfCole``.

    Returns
    -------
    ndarray
        Symmetric. At ``eps = 0``: ``0`` off the tropical hypersurface;
        ``ValueError`` on it.

    Examples
    --------
    >>> from tropical.views.network import LSELayer
    >>> from tropical.attribution import entropy_hessian
    >>> layer = LSELayer([[1.0], [-1.0]], [0.0, 0.0], eps=1.0)
    >>> bool(entropy_hessian(layer, [0.0])[0, 0] < 0)     # a maximum at the tie
    True
    """
    layer = _as_layer(layer, t)
    X, lead = _points(layer, x)
    d = layer.d
    if layer.eps == 0.0:
        _check_no_ties(layer, X, "entropy_hessian")
        Hs = np.zeros((X.shape[0], d, d))
    else:
        Hs = _derivs(layer, X, layer.eps, 2)[2]
    return Hs.reshape(lead + (d, d))


def _directional_scale(layer, X, eps, V):
    """``(E[(u.e)^2] + E[(u.e)^2 |c|])/eps^2`` for each column ``e`` of ``V`` (M, d, d).

    The size of the two terms whose difference is the curvature along ``e``:
    the yardstick of :func:`critical_points`' degeneracy test.
    """
    s = X @ layer.W.T + layer.b
    r = s.argmax(axis=1)
    m = s[np.arange(len(s)), r][:, None]
    with np.errstate(under="ignore"):
        e = np.exp((s - m) / eps)
    pi = e / e.sum(axis=1, keepdims=True)
    dW = layer.W[None] - layer.W[r][:, None, :]
    u = dW - np.einsum("mj,mjk->mk", pi, dW)[:, None, :]
    ds = (pi * (s - m)).sum(axis=1, keepdims=True)
    c = np.where(pi > 0, ((s - m) - ds) / eps, 0.0)
    ue = np.einsum("mjk,mkl->mjl", u, V) ** 2                 # (M, N, d)
    return np.einsum("mj,mjl->ml", pi * (1.0 + np.abs(c)), ue) / eps**2


def _classify(eigs, scales, tol):
    """Kind from the Hessian eigenvalues; degenerate if some |lambda_i| <= tol*scale_i."""
    if (np.abs(eigs) <= tol * scales).any():
        return "degenerate"
    if (eigs > 0).all():
        return "minimum"
    if (eigs < 0).all():
        return "maximum"
    return "saddle"


# ----------------------------------------------------------------------------- bounds
def _sup_moment_bounds(layer, eps, A, B):
    """Certified upper bounds over the segments ``[A_i, B_i]`` of the moments used below.

    Returns ``(E2, E2c, E3, E3c, E1c)``: bounds of ``sup E[|u|^2]``,
    ``E[|u|^2 |c|]``, ``E[|u|^3]``, ``E[|u|^3 |c|]`` and ``E[|u| |c|]`` over
    each segment. For ``x`` on the segment (``r`` the top term at its
    midpoint):

    * ``pi_j(x) <= P_j = 1/sum_k exp(min_seg (s_k - s_j)/eps)`` (``s_k - s_j``
      is affine, its minimum is at an end; ``P_j <= 1``);
    * ``|u_j| <= min(|w_j - w_r| + min(sum_k P_k |w_k - w_r|, max_k |w_k - w_r|),
      max_k |w_j - w_k|)``;
    * ``|c_j| <= a_j + min(sum_k P_k a_k, max_k a_k)``, ``a_j = max_seg |s_j - s_r|/eps``;
    * ``E[f] <= min(sum_j P_j f_j^up, max_j f_j^up)``.

    Each is exact arithmetic on bounds; the results carry a relative slack of
    ``1e-9`` against their own rounding. Tight where ``pi`` is concentrated
    (the bounds are then exponentially small like the moments themselves).
    """
    W, b = layer.W, layer.b
    sA = A @ W.T + b
    sB = B @ W.T + b
    r = (0.5 * (sA + sB)).argmax(axis=1)
    K = np.arange(len(r))
    dmin = np.minimum(sA[:, None, :] - sA[:, :, None], sB[:, None, :] - sB[:, :, None])  # [i, j, k]
    z = dmin / eps
    zm = z.max(axis=2, keepdims=True)
    with np.errstate(under="ignore"):
        logP = -(zm[..., 0] + np.log(np.exp(z - zm).sum(axis=2)))
        P = np.exp(np.minimum(logP, 0.0))
    wd = np.linalg.norm(W[None, :, :] - W[r][:, None, :], axis=2)              # |w_j - w_r|
    pair = np.linalg.norm(W[:, None, :] - W[None, :, :], axis=2).max(axis=1)   # max_k |w_j - w_k|
    dw = np.minimum((P * wd).sum(axis=1), wd.max(axis=1))[:, None]
    U = np.minimum(wd + dw, pair[None, :])
    a = np.maximum(np.abs(sA - sA[K, r][:, None]), np.abs(sB - sB[K, r][:, None])) / eps
    dc = np.minimum((P * a).sum(axis=1), a.max(axis=1))[:, None]
    Cb = a + dc

    def bound(f):
        return np.minimum((P * f).sum(axis=1), f.max(axis=1)) * _SAFETY

    U2 = U * U
    return bound(U2), bound(U2 * Cb), bound(U2 * U), bound(U2 * U * Cb), bound(U * Cb)


# ----------------------------------------------------------------------------- results
@dataclasses.dataclass(frozen=True)
class CriticalPoint:
    """One critical point of ``x -> H(pi(x))``.

    Attributes
    ----------
    x : ndarray, shape (d,)
    kind : str
        ``"minimum"``, ``"saddle"``, ``"maximum"`` or ``"degenerate"``.
    H : float
        The entropy there.
    eigenvalues : ndarray, shape (d,)
        Of the exact Hessian.

    Examples
    --------
    >>> from tropical.views.pde import HopfCole
    >>> from tropical.attribution import critical_points
    >>> hc = HopfCole([[-2.0], [0.0], [4.0]], [-1.0, -0.6, -4.0], eps=1.0)
    >>> p = critical_points(hc, (-4.0, 4.0)).points[0]
    >>> p.kind, p.x.shape, bool(p.eigenvalues[0] < 0)
    ('maximum', (1,), True)
    """

    x: np.ndarray
    kind: str
    H: float
    eigenvalues: np.ndarray

    def to_dict(self):
        """JSON-ready dict."""
        return {"x": self.x.tolist(), "kind": self.kind, "H": self.H,
                "eigenvalues": self.eigenvalues.tolist()}

    @classmethod
    def from_dict(cls, data):
        """Inverse of :meth:`to_dict`."""
        return cls(np.asarray(data["x"], float), str(data["kind"]), float(data["H"]),
                   np.asarray(data["eigenvalues"], float))


class CriticalPoints:
    """Every critical point of the entropy in a box, with a completeness check.

    Attributes
    ----------
    points : list of CriticalPoint
        Sorted by ``x`` (lexicographically).
    complete : bool
        ``True`` only when the completeness check passed (see
        :func:`critical_points`); never a silently partial set.
    index_sum, winding : int or None
        ``d = 2``: the Poincare-Hopf index sum of the points found and the
        winding number of ``grad H`` along the box boundary.
    reason : str
        Why ``complete`` is ``False`` (empty when it is ``True``).
    eps : float
    box : tuple of ndarray
    info : dict
        Counters (intervals, boundary samples, starts, Newton iterations).

    Examples
    --------
    >>> from tropical.views.network import LSELayer
    >>> from tropical.attribution import critical_points
    >>> layer = LSELayer([[-1.0], [1.0]], [0.0, 0.0], eps=0.5)
    >>> cps = critical_points(layer, (-3.0, 3.0))
    >>> cps
    CriticalPoints(d=1, eps=0.5, 1 points: 1 maximum; complete=True)
    >>> CriticalPoints.from_json(cps.to_json()).complete
    True
    """

    def __init__(self, points, complete, eps, box, *, index_sum=None, winding=None,
                 reason="", info=None):
        self.points = list(points)
        self.complete = bool(complete)
        self.eps = float(eps)
        self.box = (np.asarray(box[0], float), np.asarray(box[1], float))
        self.index_sum = index_sum
        self.winding = winding
        self.reason = str(reason)
        self.info = dict(info or {})

    @property
    def d(self):
        return int(self.box[0].shape[0])

    def __len__(self):
        return len(self.points)

    def __iter__(self):
        return iter(self.points)

    def __getitem__(self, i):
        return self.points[i]

    @property
    def x(self):
        """The points as an array of shape (n, d)."""
        return np.array([p.x for p in self.points]).reshape(-1, self.d)

    @property
    def kinds(self):
        """The kinds, in order."""
        return [p.kind for p in self.points]

    def counts(self):
        """``{kind: count}`` over the kinds present."""
        out = {}
        for p in self.points:
            out[p.kind] = out.get(p.kind, 0) + 1
        return out

    def __repr__(self):
        c = self.counts()
        parts = ", ".join(f"{c[k]} {k}" for k in _KINDS if k in c) or "none"
        extra = ""
        if self.winding is not None:
            extra = f", index sum {self.index_sum}, winding {self.winding}"
        return (f"CriticalPoints(d={self.d}, eps={self.eps!r}, {len(self)} points: {parts}"
                f"{extra}; complete={self.complete})")

    def to_json(self):
        """JSON text of the whole result."""
        return json.dumps({"type": "CriticalPoints", "eps": self.eps,
                           "box": [self.box[0].tolist(), self.box[1].tolist()],
                           "points": [p.to_dict() for p in self.points],
                           "complete": self.complete, "index_sum": self.index_sum,
                           "winding": self.winding, "reason": self.reason, "info": self.info})

    @classmethod
    def from_json(cls, text):
        """Inverse of :meth:`to_json`."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("type") != "CriticalPoints":
            raise ValueError("not the JSON of a CriticalPoints")
        return cls([CriticalPoint.from_dict(p) for p in data["points"]], data["complete"],
                   data["eps"], data["box"], index_sum=data["index_sum"],
                   winding=data["winding"], reason=data["reason"], info=data["info"])


# ----------------------------------------------------------------------------- search
def _check_box(box, d):
    try:
        lo, hi = box
    except (TypeError, ValueError):
        raise ValueError(f"box must be a pair (lo, hi), got {box!r}") from None
    out = []
    for name, v in (("box[0]", lo), ("box[1]", hi)):
        arr = np.asarray(as_semiring_array(v, name, float32_ok=False), dtype=np.float64)
        if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] not in (1, d)):
            raise ValueError(f"{name} must be a scalar or have shape ({d},), got {arr.shape}")
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} must be finite, got {arr}")
        out.append(np.broadcast_to(arr, (d,)).astype(np.float64))
    lo, hi = out
    if not (hi > lo).all():
        raise ValueError(f"box must have lo < hi in every coordinate, got {lo} and {hi}")
    return lo, hi


def _check_search_eps(layer, what):
    if layer.eps <= 0:
        raise ValueError(f"{what} needs eps > 0 (at eps = 0 the entropy is piecewise "
                         f"constant), got eps = {layer.eps}")
    if layer.d not in (1, 2):
        raise NotImplementedError(f"{what} handles d = 1 and d = 2, got d = {layer.d}")


def _make_point(layer, x, eps, tol):
    X = np.asarray(x, float).reshape(1, -1)
    H, _, Hs = _derivs(layer, X, eps, 2)[:3]
    eigs, V = np.linalg.eigh(Hs[0])
    kind = _classify(eigs, _directional_scale(layer, X, eps, V[None])[0], tol)
    return CriticalPoint(X[0].copy(), kind, float(H[0]), eigs)


def critical_points(layer, box, *, t=1.0, grid=None, starts=None, degenerate_tol=1e-8,
                    max_depth=48, dedup_tol=1e-7):
    """Every critical point of ``x -> H(pi(x))`` in a box, ``d = 1`` or ``2``.

    **d = 1** (certified). ``[lo, hi]`` is cut into ``grid`` intervals (default
    256), and each interval ``[a, b]`` of length ``h`` is settled by one of two
    tests, else bisected (at most ``max_depth`` times):

    * no root of ``H'``: ``|H'(a)| + |H'(b)| > L2 h`` with ``L2`` a bound of
      ``sup |H''|`` on ``[a, b]`` (``H'`` is ``L2``-Lipschitz there);
    * at most one root: ``H''(a)``, ``H''(b)`` have one sign and
      ``|H''(a)| + |H''(b)| > L3 h`` with ``L3`` a bound of ``sup |H'''|``
      (``H''`` is ``L3``-Lipschitz, so it keeps its sign, ``H'`` is strictly
      monotone); the root exists iff ``H'`` changes sign, and is polished by
      bracketed Newton.

    ``L2 = (E|u|^2 + E|u|^2|c|)/eps^2`` and
    ``L3 = (2E|u|^3 + E|u|^3|c| + 3 E|u|^2 E|u||c|)/eps^3`` follow from the
    closed forms, with the moments bounded over the interval by
    :func:`_sup_moment_bounds` (certified up to the rounding of the bounds).
    No interval can hide two roots; an interval that cannot be settled (a
    degenerate critical point, or ``H'`` underflowing to 0) makes the result
    ``complete=False`` and is named in ``reason``.

    **d = 2** (checked). Newton on ``grad H = 0`` (exact Hessian, steps
    limited to a tenth of the box) from a ``grid x grid`` grid,
    the data points ``y_j = 2 t w_j``, the projections of their pairwise
    midpoints on the tie lines ``s_i = s_j`` and the triple points
    ``s_i = s_j = s_k`` (where the ``eps -> 0`` landscape has its minima,
    saddles and maxima), or from ``starts`` only when given. A converged
    point is kept only where ``grad H = -E[u c]/eps`` cancels to rounding
    (not where every weight but one underflows and ``grad H`` is 0 for that
    reason), inside the box, and deduplicated (distance ``dedup_tol`` times
    the box diagonal). Completeness check (Poincare-Hopf): the index sum
    (minimum, maximum ``+1``, saddle ``-1``) must equal the winding number
    of ``grad H`` along the box boundary. The winding number is summed from
    principal angle steps between boundary samples; a step ``[p, q]`` of
    length ``h`` is certified when ``L h/2 < |grad H(m)|`` at its midpoint
    ``m`` (``L`` a bound of ``||Hess H||`` on the segment): then ``grad H``
    stays in the disc of radius ``|grad H(m)|`` around ``grad H(m)``, which
    excludes 0, so its angle varies by less than ``pi`` along the step and
    the principal step is the true one. Segments are bisected until
    certified (at most ``2^16`` samples). Disagreement, a degenerate point
    (index unknown) or an uncertified boundary give ``complete=False`` with
    both numbers; a missing pair (minimum + saddle) keeps the index sum and
    is not detected by this check.

    Parameters
    ----------
    layer : LSELayer or HopfCole
        ``eps > 0``, ``d`` in ``{1, 2}`` (else ``NotImplementedError``).
    box : pair (lo, hi)
        Scalars or arrays of shape ``(d,)``, ``lo < hi``.
    t : float, default 1.0
        Time of the dictionary (``HopfCole`` conversion, data points ``2 t w_j``).
    grid : int, optional
        ``d = 1``: initial intervals (256); ``d = 2``: starts per axis
        (default ``width * diam{w_j} / (6 eps)`` clipped to ``[16, 128]``: the
        features of the landscape have the size ``eps/diam{w_j}``).
    starts : array_like, shape (K, 2), optional
        ``d = 2``: Newton starts replacing the automatic ones.
    degenerate_tol : float, default 1e-8
        A point is ``"degenerate"`` when its smallest ``|eigenvalue|`` is at
        most ``degenerate_tol`` times ``(||E u u^T|| + ||E u u^T |c|||)/eps^2``,
        the size of the two terms whose difference is the Hessian.
    max_depth : int, default 48
        ``d = 1``: bisections per initial interval.
    dedup_tol : float, default 1e-7
        Relative (to the box diagonal) distance under which two roots are one.

    Returns
    -------
    CriticalPoints

    Examples
    --------
    >>> from tropical.views.network import LSELayer
    >>> from tropical.attribution import critical_points
    >>> layer = LSELayer([[-1.0], [0.0], [1.0]], [0.0, 0.6, 0.0], eps=0.2)
    >>> cps = critical_points(layer, (-4.0, 4.0))
    >>> cps.kinds, cps.complete
    (['maximum', 'minimum', 'maximum'], True)
    """
    layer = _as_layer(layer, t)
    _check_search_eps(layer, "critical_points")
    lo, hi = _check_box(box, layer.d)
    degenerate_tol = check_eps(degenerate_tol, "degenerate_tol")
    max_depth = check_int(max_depth, "max_depth", minimum=1)
    dedup_tol = check_eps(dedup_tol, "dedup_tol")
    if layer.d == 1:
        if starts is not None:
            raise ValueError("starts: the 1-D search is certified and takes no starts")
        n0 = 256 if grid is None else check_int(grid, "grid", minimum=1)
        return _critical_points_1d(layer, lo, hi, n0, degenerate_tol, max_depth, dedup_tol)
    if grid is None:
        # Newton's basins have the size of the landscape's features, ~eps/diam{w_j}
        diam = float(np.ptp(layer.W, axis=0).max())
        n0 = int(np.clip(np.ceil(float(np.max(hi - lo)) * diam / (6.0 * layer.eps)), 16, 128))
    else:
        n0 = check_int(grid, "grid", minimum=2)
    if starts is not None:
        S = np.asarray(as_semiring_array(starts, "starts", float32_ok=False), dtype=np.float64)
        if S.ndim != 2 or S.shape[1] != 2 or not np.isfinite(S).all():
            raise ValueError(f"starts must be finite with shape (K, 2), got {S.shape}")
    else:
        S = _auto_starts(layer, lo, hi, n0, t)
    return _critical_points_2d(layer, lo, hi, S, degenerate_tol, dedup_tol)


# -- d = 1
def _polish_1d(layer, eps, a, b, ga):
    """The root of H' in [a, b] (H' strictly monotone, sign change): Newton in a bracket."""
    x = 0.5 * (a + b)
    for _ in range(100):
        _, G, Hs = _derivs(layer, np.array([[x]]), eps, 2)[:3]
        g, h = G[0, 0], Hs[0, 0, 0]
        if g == 0.0:
            return x
        if (g > 0) == (ga > 0):
            a = x
        else:
            b = x
        xn = x - g / h if h != 0 else 0.5 * (a + b)
        if not a < xn < b:
            xn = 0.5 * (a + b)
        if abs(xn - x) <= 4 * np.finfo(float).eps * max(1.0, abs(x)) or b - a <= 4 * np.finfo(float).eps * max(1.0, abs(x)):
            return xn
        x = xn
    return x


def _critical_points_1d(layer, lo, hi, n0, tol, max_depth, dedup_tol):
    eps = layer.eps
    edges = np.linspace(lo[0], hi[0], n0 + 1)
    a, b = edges[:-1], edges[1:]
    depth = np.zeros(n0, dtype=int)
    roots, unresolved = [], []
    n_intervals = 0
    while a.size:
        n_intervals += a.size
        ends = np.concatenate([a, b])[:, None]
        _, G, Hs = _derivs(layer, np.ascontiguousarray(ends), eps, 2)[:3]
        ga, gb = G[:a.size, 0], G[a.size:, 0]
        ha, hb = Hs[:a.size, 0, 0], Hs[a.size:, 0, 0]
        E2, E2c, E3, E3c, E1c = _sup_moment_bounds(layer, eps, a[:, None], b[:, None])
        L2 = (E2 + E2c) / eps**2
        L3 = (2 * E3 + E3c + 3 * E2 * E1c) / eps**3
        h = b - a
        no_root = np.abs(ga) + np.abs(gb) > L2 * h
        mono = (~no_root) & (ha * hb > 0) & (np.abs(ha) + np.abs(hb) > L3 * h)
        for i in np.flatnonzero(mono):
            if ga[i] == 0.0:
                roots.append(a[i])
            elif gb[i] == 0.0:
                roots.append(b[i])
            elif (ga[i] > 0) != (gb[i] > 0):
                roots.append(_polish_1d(layer, eps, a[i], b[i], ga[i]))
        rest = ~(no_root | mono)
        # H' and its bound both 0: every weight but one underflows, the landscape is
        # flat to double precision; nothing can be settled there by refining
        flat = rest & (L2 == 0) & (ga == 0) & (gb == 0)
        stop = rest & ((depth >= max_depth) | flat)
        if rest.sum() > 2**15:          # refinement budget: give up on the rest, say so
            stop = rest
        for i in np.flatnonzero(stop):
            unresolved.append((float(a[i]), float(b[i])))
            if not flat[i] and (ga[i] == 0.0 or (ga[i] > 0) != (gb[i] > 0)):
                roots.append(0.5 * (a[i] + b[i]))      # a root is there; others may be
        rest &= ~stop
        m = 0.5 * (a[rest] + b[rest])
        a, b = np.concatenate([a[rest], m]), np.concatenate([m, b[rest]])
        depth = np.concatenate([depth[rest] + 1, depth[rest] + 1])
    roots = np.sort(np.array(roots, float))
    keep = []
    for r in roots:
        if not keep or r - keep[-1] > dedup_tol * (hi[0] - lo[0]):
            keep.append(r)
    points = [_make_point(layer, [r], eps, tol) for r in keep]
    reason = ""
    if unresolved:
        reason = (f"{len(unresolved)} interval(s) could not be settled to at most one root "
                  f"(a degenerate critical point, or H' underflowing to 0 where one term "
                  f"takes all the weight: shrink the box or raise eps): {unresolved[:4]}")
    if any(p.kind == "degenerate" for p in points):
        reason = (reason + "; " if reason else "") + "a degenerate critical point"
    return CriticalPoints(points, not reason, eps, (lo, hi), reason=reason,
                          info={"intervals": int(n_intervals), "unresolved": unresolved})


# -- d = 2
def _auto_starts(layer, lo, hi, n, t):
    """Newton starts: a grid, and the ``eps -> 0`` skeleton of the layer.

    The data points ``y_j = 2 t w_j``; for every pair the projection of the
    midpoint of ``y_i, y_j`` on the tie line ``s_i = s_j``; for every triple
    the point where ``s_i = s_j = s_k`` (a vertex candidate of the tropical
    curve). At small ``eps`` the minima lie in the cells, the saddles on the
    edges and the maxima near the vertices of the tropical curve.
    """
    from itertools import combinations

    axes = [np.linspace(lo[k], hi[k], n + 2)[1:-1] for k in range(2)]
    S = [np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 2)]
    W, b = layer.W, layer.b
    Y = 2.0 * t * W
    S.append(Y)
    iu = np.triu_indices(len(Y), 1)
    a = W[iu[0]] - W[iu[1]]
    beta = b[iu[0]] - b[iu[1]]
    m = 0.5 * (Y[iu[0]] + Y[iu[1]])
    aa = (a * a).sum(axis=1)
    ok = aa > 0
    S.append(m[ok] - (((a * m).sum(axis=1) + beta) / np.where(ok, aa, 1.0))[ok, None] * a[ok])
    if 3 <= len(Y) <= 64:
        tri = np.array(list(combinations(range(len(Y)), 3)))
        A = np.stack([W[tri[:, 0]] - W[tri[:, 1]], W[tri[:, 0]] - W[tri[:, 2]]], axis=1)
        rhs = -np.stack([b[tri[:, 0]] - b[tri[:, 1]], b[tri[:, 0]] - b[tri[:, 2]]], axis=1)
        det = A[:, 0, 0] * A[:, 1, 1] - A[:, 0, 1] * A[:, 1, 0]
        ok = np.abs(det) > 1e-12 * np.abs(A).max(axis=(1, 2)) ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            vx = (rhs[:, 0] * A[:, 1, 1] - A[:, 0, 1] * rhs[:, 1]) / det
            vy = (A[:, 0, 0] * rhs[:, 1] - rhs[:, 0] * A[:, 1, 0]) / det
        S.append(np.stack([vx, vy], axis=1)[ok])
    S = np.concatenate(S)
    inside = np.all((S >= lo) & (S <= hi), axis=1)
    return S[inside]


def _newton_roots(layer, eps, X, lo, hi, iters=80):
    """Batched Newton on grad H = 0 (steps capped); converged points, iteration count."""
    X = np.array(X, float)
    cap = 0.1 * float(np.min(hi - lo))
    alive = np.ones(len(X), bool)
    done = np.zeros(len(X), bool)
    total = 0
    for _ in range(iters):
        idx = np.flatnonzero(alive & ~done)
        if not idx.size:
            break
        total += idx.size
        _, G, Hs = _derivs(layer, np.ascontiguousarray(X[idx]), eps, 2)[:3]
        lam, V = np.linalg.eigh(Hs)
        amax = np.abs(lam).max(axis=1, keepdims=True)
        lam = np.where(np.abs(lam) <= 1e-14 * amax, np.copysign(1e-14 * amax, lam) + (amax == 0), lam)
        coef = np.einsum("mkl,mk->ml", V, G) / lam
        step = -np.einsum("mkl,ml->mk", V, coef)
        nrm = np.linalg.norm(step, axis=1)
        scale = np.minimum(1.0, cap / np.maximum(nrm, 1e-300))
        X[idx] += step * scale[:, None]
        conv = nrm <= 1e-12 * (1.0 + np.linalg.norm(X[idx], axis=1))
        done[idx[conv]] = True
        out = np.any((X[idx] < lo - 0.05 * (hi - lo)) | (X[idx] > hi + 0.05 * (hi - lo)), axis=1)
        alive[idx[out | ~np.isfinite(X[idx]).all(axis=1)]] = False
    ok = done & alive & np.all((X >= lo) & (X <= hi), axis=1)
    X = X[ok]
    if len(X):
        # accept a root only where grad H = -E[u c]/eps cancels to rounding (a
        # Newton stall in a flat region or at the box does not):
        # |grad H| <= 1e-8 * E[|u| |c|]/eps + 64 u max|s| E|u|/eps^2, the second
        # term the rounding of c = (s - E s)/eps carried into grad H
        _, G = _derivs(layer, np.ascontiguousarray(X), eps, 1)[:2]
        scale, floor, spread = _gradient_scale(layer, X, eps)
        # (where every other weight underflows, E|u| = 0 and grad H is 0 for that
        # reason alone: numerically flat, not a critical point)
        X = X[(np.linalg.norm(G, axis=1) <= 1e-8 * scale + floor) & (spread > 0)]
    return X, total


def _gradient_scale(layer, X, eps):
    """``E[|u| |c|]/eps`` (the size of the terms whose sum is ``grad H``),
    ``64 u max|s| E|u|/eps^2`` (the rounding of ``grad H``) and ``E|u|``."""
    s = X @ layer.W.T + layer.b
    r = s.argmax(axis=1)
    m = s[np.arange(len(s)), r][:, None]
    with np.errstate(under="ignore"):
        e = np.exp((s - m) / eps)
    pi = e / e.sum(axis=1, keepdims=True)
    dW = layer.W[None] - layer.W[r][:, None, :]
    u = dW - np.einsum("mj,mjk->mk", pi, dW)[:, None, :]
    ds = (pi * (s - m)).sum(axis=1, keepdims=True)
    c = np.where(pi > 0, ((s - m) - ds) / eps, 0.0)
    un = np.linalg.norm(u, axis=2)
    spread = (pi * un).sum(axis=1)
    floor = 64 * _U * np.abs(s).max(axis=1) * spread / eps**2
    return (pi * un * np.abs(c)).sum(axis=1) / eps, floor, spread


def _dedup(X, tol):
    """Points of ``X`` at mutual distance > ``tol`` (greedy, in lexicographic order).

    Quantise to cells of size ``tol`` first (many starts converge to the same
    point), then compare the few distinct cells pairwise.
    """
    X = np.asarray(X, float).reshape(-1, X.shape[-1] if np.ndim(X) == 2 else 2)
    if not len(X):
        return X
    q = np.round(X / max(tol, 1e-300))
    _, first = np.unique(q, axis=0, return_index=True)
    U = X[np.sort(first)]
    U = U[np.lexsort(U.T[::-1])]
    keep = np.ones(len(U), bool)
    for i in range(len(U)):
        if keep[i]:
            close = np.linalg.norm(U[i + 1:] - U[i], axis=1) <= tol
            keep[i + 1:][close] = False
    return U[keep]


def _boundary_winding(layer, eps, lo, hi, n0=64, max_samples=2**16):
    """Winding number of grad H along the counter-clockwise box boundary.

    Returns ``(winding, certified, samples, min |grad H|/scale on the boundary)``.
    """
    corners = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]])
    total_angle = 0.0
    certified = True
    samples = 0
    for e in range(4):
        P, Q = corners[e], corners[(e + 1) % 4]
        s = np.linspace(0.0, 1.0, n0 + 1)
        todo = np.ones(n0, bool)           # segments [s_i, s_i+1] not yet certified
        while todo.any():
            idx = np.flatnonzero(todo)
            A = P + s[idx, None] * (Q - P)
            B = P + s[idx + 1, None] * (Q - P)
            M = 0.5 * (A + B)
            _, Gm = _derivs(layer, np.ascontiguousarray(M), eps, 1)[:2]
            E2, E2c = _sup_moment_bounds(layer, eps, A, B)[:2]
            L = (E2 + E2c) / eps**2
            h = np.linalg.norm(B - A, axis=1)
            bad = ~(L * h / 2 < np.linalg.norm(Gm, axis=1))
            if not bad.any():
                break
            if len(s) + bad.sum() > max_samples // 4:
                certified = False
                break
            # split the bad segments; their halves are the new to-do list
            mids = 0.5 * (s[idx[bad]] + s[idx[bad] + 1])
            new_s = np.concatenate([s, mids])
            order = np.argsort(new_s, kind="stable")
            is_new = np.zeros(len(new_s), bool)
            is_new[len(s):] = True
            was_bad = np.zeros(len(s), bool)
            was_bad[idx[bad]] = True
            left_bad = np.concatenate([was_bad, np.zeros(len(mids), bool)])
            s = new_s[order]
            flag = (left_bad | is_new)[order]       # segment starting here needs checking
            todo = flag[:-1]
        pts = P + s[:, None] * (Q - P)
        samples += len(s)
        _, G = _derivs(layer, np.ascontiguousarray(pts), eps, 1)[:2]
        ang = np.arctan2(G[:, 1], G[:, 0])
        dang = np.diff(ang)
        dang = (dang + np.pi) % (2 * np.pi) - np.pi
        total_angle += dang.sum()
    return int(round(total_angle / (2 * np.pi))), certified, samples


def _critical_points_2d(layer, lo, hi, S, tol, dedup_tol):
    eps = layer.eps
    X, iters = _newton_roots(layer, eps, S, lo, hi)
    X = _dedup(X, dedup_tol * float(np.linalg.norm(hi - lo)))
    points = [_make_point(layer, x, eps, tol) for x in X]
    winding, certified, samples = _boundary_winding(layer, eps, lo, hi)
    idx = _INDEX[2]
    degenerate = [p for p in points if p.kind == "degenerate"]
    index_sum = sum(idx.get(p.kind, 0) for p in points)
    reasons = []
    if degenerate:
        reasons.append(f"{len(degenerate)} degenerate point(s): index unknown")
    if not certified:
        reasons.append("the boundary winding number could not be certified "
                       "(grad H nearly vanishes on the boundary?)")
    if index_sum != winding:
        reasons.append(f"Poincare-Hopf check failed: index sum {index_sum} of the points found "
                       f"!= winding number {winding} of grad H along the boundary "
                       "(critical points are missing)")
    return CriticalPoints(points, not reasons, eps, (lo, hi), index_sum=index_sum,
                          winding=winding, reason="; ".join(reasons),
                          info={"starts": int(len(S)), "newton_evaluations": int(iters),
                                "boundary_samples": int(samples),
                                "winding_certified": bool(certified)})


# ----------------------------------------------------------------------------- example
#: The points of :func:`two_cluster_example`, generated once by
#: ``rng = numpy.random.default_rng(20250707)``;
#: ``rng.normal(scale=0.4, size=(8, 2)) + (-1, -1)`` then
#: ``rng.normal(scale=0.4, size=(8, 2)) + (1, 1)``, rounded to 4 decimals and
#: stored here as literals (the result never depends on a generator version).
_TWO_CLUSTER_Y = (
    (-1.1147, -0.5254), (-1.3168, -1.9052), (-1.5093, -0.7695), (-0.7532, -1.1776),
    (-0.6855, -0.641), (-1.6575, -0.8241), (-0.7029, -0.9227), (-0.7507, -1.1433),
    (0.7136, 0.5641), (0.6691, 1.1461), (1.4647, 1.3363), (1.1695, 1.0782),
    (1.1141, 0.9291), (0.8216, 1.4836), (1.516, 1.3186), (0.6046, 1.8647),
)
#: The box in which the two-cluster example is studied: ``[-3, 3]^2``.
TWO_CLUSTER_BOX = ((-3.0, -3.0), (3.0, 3.0))


def two_cluster_example(t=1.0, eps=1.0):
    """The two-cluster layer: 16 points in the plane, two values, one LSE layer.

    Eight points ``y_j`` around ``(-1, -1)`` with ``g_j = 0`` and eight
    around ``(1, 1)`` with ``g_j = 1`` (spread 0.4; a fixed point set, see
    ``_TWO_CLUSTER_Y``), read as the Hopf-Cole data of
    ``u_t + |grad u|^2 = eps Laplacian u`` at time ``t`` and converted to an
    :class:`~tropical.views.network.LSELayer` by the exact dictionary
    ``w_j = y_j/(2t)``, ``b_j = -g_j - |y_j|^2/(4t)``. Vary the temperature
    with ``layer.with_eps(eps)``; study it in :data:`TWO_CLUSTER_BOX`.

    Parameters
    ----------
    t : float, default 1.0
        Time of the dictionary (``> 0``).
    eps : float, default 1.0
        Temperature of the returned layer.

    Returns
    -------
    LSELayer
        ``N = 16``, ``d = 2``.

    Examples
    --------
    >>> from tropical.attribution import two_cluster_example
    >>> layer = two_cluster_example()
    >>> layer
    LSELayer(N=16, d=2, eps=1.0)
    >>> layer.W[0] * 2                  # y_0 = 2 t w_0
    array([-1.1147, -0.5254])
    """
    from .views.pde import HopfCole

    y = np.array(_TWO_CLUSTER_Y)
    g = np.repeat([0.0, 1.0], 8)
    return HopfCole(y, g, eps).to_network(t)


# ----------------------------------------------------------------------------- continuation
class _Eval:
    """Single-point evaluation of the continuation system in ``y = (x, log eps)``.

    ``F(y) = eps * grad H`` (the same zero set as ``grad H``, of size O(1) in
    ``eps``), its Jacobian ``[eps*Hess | eps*(grad H + eps*dgrad/deps)]``, and
    the fold function ``D(y) = det(eps^2 Hess)`` with its gradient
    ``d det A = tr(adj(A) dA)``, ``A = eps^2 Hess``,
    ``dA/dx_m = eps^2 d^3H/dx^2 dx_m``, ``dA/dlog eps = eps(2 eps Hess + eps^2 dHess/deps)``.
    """

    def __init__(self, layer):
        self.layer = layer
        d = layer.d
        self.d = d
        self.fn = _kernels.get("entropy_derivatives")
        self.W, self.b = layer.W, layer.b
        self.X = np.empty((1, d))
        self.bufs = (np.empty(1), np.empty((1, d)), np.empty((1, d, d)),
                     np.empty((1, d, d, d)), np.empty((1, d)), np.empty((1, d, d)))
        self.n_calls = 0

    def __call__(self, y, order=3):
        d = self.d
        self.X[0] = y[:d]
        eps = math.exp(y[d])
        H, G, Hs, T3, Ge, He = self.bufs
        self.fn(self.W, self.b, self.X, eps, order, H, G, Hs, T3, Ge, He)
        self.n_calls += 1
        return eps, H[0], G[0], Hs[0], T3[0], Ge[0], He[0]

    def system(self, y):
        eps, _, G, Hs, _, Ge, _ = self(y)
        J = np.empty((self.d, self.d + 1))
        J[:, :self.d] = eps * Hs
        J[:, self.d] = eps * (G + eps * Ge)
        return eps * G, J, Hs

    def fold_system(self, y):
        d = self.d
        eps, _, G, Hs, T3, Ge, He = self(y)
        F = np.empty(d + 1)
        J = np.empty((d + 1, d + 1))
        F[:d] = eps * G
        J[:d, :d] = eps * Hs
        J[:d, d] = eps * (G + eps * Ge)
        A = eps * eps * Hs
        if d == 1:
            adj = np.ones((1, 1))
            F[d] = A[0, 0]
        else:
            adj = np.array([[A[1, 1], -A[0, 1]], [-A[1, 0], A[0, 0]]])
            F[d] = A[0, 0] * A[1, 1] - A[0, 1] * A[1, 0]
        for m in range(d):
            J[d, m] = np.sum(adj * (eps * eps * T3[:, :, m]))
        dA = eps * (2.0 * eps * Hs + eps * eps * He)
        J[d, d] = np.sum(adj * dA)
        return F, J


def _null_vector(J):
    """The unit null vector of a d x (d+1) matrix (d = 1, 2), by cofactors."""
    if J.shape[0] == 1:
        v = np.array([-J[0, 1], J[0, 0]])
    else:
        v = np.cross(J[0], J[1])
    n = np.linalg.norm(v)
    return v / n if n > 0 else v


def _kind_of(Hs):
    eigs = np.linalg.eigvalsh(Hs)
    if (eigs > 0).all():
        return "minimum"
    if (eigs < 0).all():
        return "maximum"
    if (eigs == 0).any():
        return "degenerate"
    return "saddle"


@dataclasses.dataclass
class Fold:
    """A fold (saddle-node) bifurcation: two critical points collide and vanish.

    Attributes
    ----------
    eps : float
        Located by Newton on ``{grad H = 0, det Hess H = 0}`` in ``(x, log eps)``.
    x : ndarray, shape (d,)
    kinds : tuple of str
        The kinds of the two critical points that collide (sorted).
    branches : tuple of int
        Ids of the two branches that meet here.
    direction : str
        ``"annihilation"`` when the pair exists below ``eps`` (the usual case as
        eps grows), ``"creation"`` when it exists above.
    residual : float
        ``max |eps grad H|`` at the located point (``inf`` when Newton did not
        converge and the fold is only interpolated between two curve points).

    Examples
    --------
    >>> from tropical.views.pde import HopfCole
    >>> from tropical.attribution import bifurcation_diagram
    >>> hc = HopfCole([[-2.0], [0.0], [4.0]], [-1.0, -0.6, -4.0], eps=1.0)
    >>> fold = bifurcation_diagram(hc, (0.05, 1.0), (-4.0, 4.0)).folds[0]
    >>> fold.kinds, fold.direction, bool(0.05 < fold.eps < 1.0)
    (('maximum', 'minimum'), 'annihilation', True)
    """

    eps: float
    x: np.ndarray
    kinds: tuple
    branches: tuple
    direction: str
    residual: float

    def to_dict(self):
        return {"eps": self.eps, "x": np.asarray(self.x).tolist(), "kinds": list(self.kinds),
                "branches": list(self.branches), "direction": self.direction,
                "residual": self.residual}

    @classmethod
    def from_dict(cls, data):
        return cls(float(data["eps"]), np.asarray(data["x"], float), tuple(data["kinds"]),
                   tuple(int(b) for b in data["branches"]), str(data["direction"]),
                   float(data["residual"]))


@dataclasses.dataclass
class Branch:
    """A branch of critical points of one kind: a piece of a continuation curve.

    Attributes
    ----------
    id : int
    kind : str
    eps : ndarray, shape (n,)
        Monotone along the branch (a branch ends at a fold, at the edge of the
        eps range or where it leaves the box).
    x : ndarray, shape (n, d)
    ends : tuple of str
        How each end terminates: ``"eps_min"``, ``"eps_max"``, ``"fold"``,
        ``"box"`` (left the box), ``"branch_point"`` (a change of kind that is
        not a fold: pitchforks of symmetric layers), ``"stalled"`` (step size
        underflow) or ``"seed"`` (an interrupted curve).

    Examples
    --------
    >>> from tropical.views.pde import HopfCole
    >>> from tropical.attribution import bifurcation_diagram
    >>> hc = HopfCole([[-2.0], [0.0], [4.0]], [-1.0, -0.6, -4.0], eps=1.0)
    >>> diag = bifurcation_diagram(hc, (0.05, 1.0), (-4.0, 4.0))
    >>> [(b.kind, b.ends) for b in diag.branches[:2]]
    [('maximum', ('eps_min', 'fold')), ('minimum', ('fold', 'eps_min'))]
    """

    id: int
    kind: str
    eps: np.ndarray
    x: np.ndarray
    ends: tuple

    @property
    def eps_span(self):
        """``(min eps, max eps)`` of the branch."""
        return float(self.eps.min()), float(self.eps.max())

    def at(self, eps):
        """``x`` on the branch at ``eps`` (linear in ``log eps`` between samples), or None."""
        lo, hi = self.eps_span
        if not lo <= eps <= hi:
            return None
        lam = np.log(self.eps)
        order = np.argsort(lam)
        le = math.log(eps)
        return np.array([np.interp(le, lam[order], self.x[order, k]) for k in range(self.x.shape[1])])

    def to_dict(self):
        return {"id": self.id, "kind": self.kind, "eps": self.eps.tolist(), "x": self.x.tolist(),
                "ends": list(self.ends)}

    @classmethod
    def from_dict(cls, data):
        return cls(int(data["id"]), str(data["kind"]), np.asarray(data["eps"], float),
                   np.asarray(data["x"], float).reshape(len(data["eps"]), -1), tuple(data["ends"]))


class BifurcationDiagram:
    """Branches of critical points of ``x -> H(pi_eps(x))`` over a range of eps.

    Built by :func:`bifurcation_diagram`. ``folds`` are the located fold
    bifurcations, ``branches`` the pieces of critical-point curves between
    them (each of one kind), ``basin_tree`` a :class:`networkx.DiGraph`
    whose nodes are the minimum branches (attribution basins) and whose
    edges ``A -> B`` (attribute ``eps``) say that basin ``A`` merged into
    basin ``B`` at a fold. ``complete`` is ``False`` (with ``reason``) when a
    seed search failed its check, a curve stalled or the run was interrupted.

    Examples
    --------
    >>> from tropical.views.network import LSELayer
    >>> from tropical.attribution import bifurcation_diagram
    >>> layer = LSELayer([[-1.0], [0.0], [2.0]], [0.0, 0.6, 0.0], eps=1.0)
    >>> diag = bifurcation_diagram(layer, (0.05, 1.0), (-4.0, 4.0))
    >>> diag.counts(0.1), diag.counts(0.9)
    ({'minimum': 1, 'maximum': 2}, {'maximum': 1})
    >>> [f.kinds for f in diag.folds]
    [('maximum', 'minimum')]
    """

    def __init__(self, layer, eps_range, box, branches, folds, *, basin_edges=(),
                 branch_points=(), complete=True, reason="", interrupted=False, info=None):
        self.layer = layer
        self.eps_range = (float(eps_range[0]), float(eps_range[1]))
        self.box = (np.asarray(box[0], float), np.asarray(box[1], float))
        self.branches = list(branches)
        self.folds = sorted(folds, key=lambda f: f.eps)
        self.basin_edges = [tuple(e) for e in basin_edges]
        self.branch_points = [dict(p) for p in branch_points]
        self.complete = bool(complete)
        self.reason = str(reason)
        self.interrupted = bool(interrupted)
        self.info = dict(info or {})

    @property
    def d(self):
        return self.layer.d

    def counts(self, eps):
        """``{kind: number of critical points}`` at ``eps`` (from the branches).

        Examples
        --------
        >>> from tropical.views.network import LSELayer
        >>> from tropical.attribution import bifurcation_diagram
        >>> layer = LSELayer([[-1.0], [1.0]], [0.0, 0.0], eps=1.0)
        >>> bifurcation_diagram(layer, (0.1, 1.0), (-2.0, 2.0)).counts(0.5)
        {'maximum': 1}
        """
        eps = check_eps(eps)
        if not self.eps_range[0] <= eps <= self.eps_range[1]:
            raise ValueError(f"eps = {eps} is outside the diagram's range {self.eps_range}")
        out = {}
        for br in self.branches:
            lo, hi = br.eps_span
            if lo <= eps <= hi and not (eps == lo and "fold" == self._end_at(br, lo)) \
                    and not (eps == hi and "fold" == self._end_at(br, hi)):
                out[br.kind] = out.get(br.kind, 0) + 1
        return {k: out[k] for k in _KINDS if k in out}

    @staticmethod
    def _end_at(br, e):
        i = 0 if br.eps[0] == e else (1 if br.eps[-1] == e else None)
        return None if i is None else br.ends[i]

    @property
    def basin_tree(self):
        """Merging of attribution basins: a :class:`networkx.DiGraph`.

        Nodes: the ids of the minimum branches (attributes ``eps_span``,
        ``x`` at the low-eps end), and ``"box"`` when a basin opens onto the
        box boundary; edge ``A -> B`` with attribute ``eps``: at that fold
        the minimum ``A`` met a saddle (``d = 1``: a maximum) whose other
        descent path (saddle-free Newton descent of ``H`` at an eps just
        before the fold) ends in minimum ``B`` (or leaves through the box
        boundary: ``B = "box"``), so basin ``A`` joins basin ``B``. Every
        node has at most one outgoing edge: a forest, a tree when all merge
        into one. A descent that ends nowhere identifiable adds no edge.
        """
        import networkx as nx

        g = nx.DiGraph()
        for br in self.branches:
            if br.kind == "minimum":
                i = int(np.argmin(br.eps))
                g.add_node(br.id, eps_span=br.eps_span, x=br.x[i].tolist())
        for a, b_, e in self.basin_edges:
            if b_ == "box" and "box" not in g:
                g.add_node("box")
            g.add_edge(a, b_, eps=e)
        return g

    def __repr__(self):
        kinds = {}
        for f in self.folds:
            kinds[f.kinds] = kinds.get(f.kinds, 0) + 1
        fk = ", ".join(f"{n} {'+'.join(k)}" for k, n in sorted(kinds.items())) or "none"
        flags = "" if self.complete else f", complete=False ({self.reason[:60]})"
        if self.interrupted:
            flags += ", interrupted=True"
        return (f"BifurcationDiagram(d={self.d}, eps in [{self.eps_range[0]:.4g}, "
                f"{self.eps_range[1]:.4g}], {len(self.branches)} branches, "
                f"{len(self.folds)} folds: {fk}{flags})")

    def to_json(self):
        """JSON text (layer, box, branches, folds, basin edges, flags)."""
        return json.dumps({
            "type": "BifurcationDiagram", "layer": json.loads(self.layer.to_json()),
            "eps_range": list(self.eps_range),
            "box": [self.box[0].tolist(), self.box[1].tolist()],
            "branches": [b.to_dict() for b in self.branches],
            "folds": [f.to_dict() for f in self.folds],
            "basin_edges": [list(e) for e in self.basin_edges],
            "branch_points": self.branch_points, "complete": self.complete,
            "reason": self.reason, "interrupted": self.interrupted, "info": self.info})

    @classmethod
    def from_json(cls, text):
        """Inverse of :meth:`to_json`."""
        from .views.network import LSELayer

        data = json.loads(text)
        if not isinstance(data, dict) or data.get("type") != "BifurcationDiagram":
            raise ValueError("not the JSON of a BifurcationDiagram")
        layer = LSELayer.from_json(json.dumps(data["layer"]))
        return cls(layer, data["eps_range"], data["box"],
                   [Branch.from_dict(b) for b in data["branches"]],
                   [Fold.from_dict(f) for f in data["folds"]],
                   basin_edges=[(int(a), b if b == "box" else int(b), float(e))
                                for a, b, e in data["basin_edges"]],
                   branch_points=data["branch_points"], complete=data["complete"],
                   reason=data["reason"], interrupted=data["interrupted"], info=data["info"])

    def plot(self, ax=None, coordinate=0):
        """Plot ``x[coordinate]`` of every branch against eps (log scale), folds marked.

        Parameters
        ----------
        ax : matplotlib Axes, optional
        coordinate : int, default 0
            Which coordinate of ``x`` to show.

        Returns
        -------
        matplotlib Axes
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError:  # pragma: no cover - depends on the environment
            raise ImportError("BifurcationDiagram.plot needs matplotlib "
                              "(pip install 'tropical-engine[plot]')") from None
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        colors = {"minimum": "tab:blue", "saddle": "tab:green", "maximum": "tab:red",
                  "degenerate": "k"}
        seen = set()
        for br in self.branches:
            label = br.kind if br.kind not in seen else None
            seen.add(br.kind)
            ax.plot(br.eps, br.x[:, coordinate], color=colors.get(br.kind, "k"), lw=1,
                    label=label)
        if self.folds:
            ax.plot([f.eps for f in self.folds], [f.x[coordinate] for f in self.folds], "k.",
                    ms=6, label="fold")
        ax.set_xscale("log")
        ax.set_xlabel("eps")
        ax.set_ylabel(f"x[{coordinate}] of the critical points")
        ax.legend(fontsize="small")
        return ax


class _Progress:
    def __init__(self, enabled):
        self.enabled = enabled
        self.last = 0.0

    def __call__(self, msg, force=False):
        if not self.enabled:
            return
        now = time.monotonic()
        if force or now - self.last > 0.2:
            self.last = now
            sys.stderr.write("\r" + msg[:100].ljust(100))
            sys.stderr.flush()

    def close(self):
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _newton_fixed_lambda(ev, x, lam, iters=30):
    """Solve grad H = 0 in x at fixed log eps (Newton); x or None."""
    d = ev.d
    y = np.append(np.asarray(x, float), lam)
    for _ in range(iters):
        F, J, _ = ev.system(y)
        try:
            dx = np.linalg.solve(J[:, :d], -F)
        except np.linalg.LinAlgError:
            return None
        y[:d] += dx
        if np.linalg.norm(dx) <= 1e-13 * (1.0 + np.linalg.norm(y[:d])):
            return y[:d]
    return None


def _locate_fold(ev, y0, iters=40):
    """Newton on {eps grad H = 0, det(eps^2 Hess) = 0} in (x, log eps) from y0."""
    y = np.array(y0, float)
    for _ in range(iters):
        F, J = ev.fold_system(y)
        try:
            dy = np.linalg.solve(J, -F)
        except np.linalg.LinAlgError:
            return None, math.inf
        y += dy
        if np.abs(dy).max() <= 1e-15 * (1.0 + np.abs(y).max()):
            break
    F, _ = ev.fold_system(y)
    return y, float(np.abs(F[:-1]).max())


def _trace(ev, y0, direction, lam_lo, lam_hi, lo, hi, checkpoints, h0, hmax, max_steps):
    """Pseudo-arclength continuation of F(x, log eps) = 0 from y0.

    ``direction`` is the initial sign of d(log eps)/ds. Returns a dict with the
    accepted points ``Y``, their kinds, the fold brackets (index i: a fold
    between points i and i+1), checkpoint crossings, and the end reason.
    """
    d = ev.d
    y = np.array(y0, float)
    F, J, Hs = ev.system(y)
    T = _null_vector(J)
    if T[d] * direction < 0:
        T = -T
    Y, kinds, Ts = [y.copy()], [_kind_of(Hs)], [T]
    folds, crossings = [], []
    h = h0
    end = "stalled"
    steps = 0
    while steps < max_steps:
        steps += 1
        yp = y + h * T
        z = yp.copy()
        ok = False
        for it in range(6):
            F, J, _ = ev.system(z)
            A = np.vstack([J, T])
            r = np.append(F, T @ (z - yp))
            try:
                dz = np.linalg.solve(A, -r)
            except np.linalg.LinAlgError:
                break
            z += dz
            if not np.isfinite(z).all():
                break
            if np.abs(dz).max() <= 1e-11 * (1.0 + np.abs(z).max()):
                ok = True
                break
        if ok:
            F, J, Hs = ev.system(z)
            Tn = _null_vector(J)
            if Tn @ T < 0:
                Tn = -Tn
            cosang = float(np.clip(Tn @ T, -1.0, 1.0))
            ok = cosang > math.cos(0.15) and np.linalg.norm(z - yp) < 0.5 * h
        if not ok:
            h *= 0.5
            if h < 1e-12:
                end = "stalled"
                break
            continue
        kind = _kind_of(Hs)
        if Tn[d] * T[d] < 0:
            folds.append(len(Y) - 1)
        for c_lam in checkpoints:
            if (y[d] - c_lam) * (z[d] - c_lam) < 0:
                crossings.append((c_lam, len(Y) - 1))
        Y.append(z.copy())
        kinds.append(kind)
        Ts.append(Tn)
        y, T = z, Tn
        if y[d] >= lam_hi or y[d] <= lam_lo:
            lam_b = lam_hi if y[d] >= lam_hi else lam_lo
            yb = Y[-2]
            frac = (lam_b - yb[d]) / (y[d] - yb[d])
            xb = _newton_fixed_lambda(ev, yb[:d] + frac * (y[:d] - yb[:d]), lam_b)
            if xb is not None:
                Y[-1] = np.append(xb, lam_b)
            else:
                Y[-1] = np.append(yb[:d] + frac * (y[:d] - yb[:d]), lam_b)
            end = "eps_max" if lam_b == lam_hi else "eps_min"
            break
        if np.any(y[:d] < lo) or np.any(y[:d] > hi):
            # end exactly on the boundary: the curve point with x_k = lo_k (hi_k)
            Y[-1] = _box_crossing(ev, Y[-2], y, lo, hi)
            end = "box"
            break
        if it <= 2:
            h = min(1.5 * h, hmax)
    else:
        end = "stalled"
    return {"Y": np.array(Y), "kinds": kinds, "T": np.array(Ts), "folds": folds,
            "crossings": crossings, "end": end}


def _box_crossing(ev, ya, yb, lo, hi, iters=30):
    """The point of the curve F = 0 between ya (inside) and yb (outside) on the box boundary.

    Newton on ``[F(y) = 0, y_k = bound]`` for the coordinate ``k`` that is
    crossed first along the chord; the chord's crossing if Newton fails.
    """
    d = ev.d
    fr = np.ones(d)
    for k in range(d):
        for bound in (lo[k], hi[k]):
            if (yb[k] - bound) * (ya[k] - bound) < 0:
                fr[k] = min(fr[k], (bound - ya[k]) / (yb[k] - ya[k]))
    k = int(np.argmin(fr))
    bound = lo[k] if yb[k] < lo[k] else hi[k]
    y = ya + fr[k] * (yb - ya)
    chord = y.copy()
    for _ in range(iters):
        F, J, _ = ev.system(y)
        A = np.vstack([J, np.eye(d + 1)[k]])
        r = np.append(F, y[k] - bound)
        try:
            dy = np.linalg.solve(A, -r)
        except np.linalg.LinAlgError:
            return chord
        y += dy
        if np.abs(dy).max() <= 1e-13 * (1.0 + np.abs(y).max()):
            y[k] = bound
            return y if np.linalg.norm(y - chord) <= 2 * np.linalg.norm(yb - ya) else chord
    return chord


def _descend(ev, x0, lam, lo, hi, iters=1000):
    """Saddle-free Newton descent of H at fixed eps from x0 (stays in the box).

    Steps are capped at ``2 eps/diam{w_j}`` (the size of the landscape's
    features) so that the descent does not jump over a shallow minimum.
    """
    d = ev.d
    W = ev.layer.W
    cap = 2.0 * math.exp(lam) / max(float(np.ptp(W, axis=0).max()), 1e-300)
    y = np.append(np.asarray(x0, float), lam)
    _, Hc, G, Hs, *_ = ev(y, 2)
    for _ in range(iters):
        lamb, V = np.linalg.eigh(Hs)
        a = np.maximum(np.abs(lamb), 1e-8 * max(np.abs(lamb).max(), 1e-300))
        step = -V @ ((V.T @ G) / a)
        nrm = float(np.linalg.norm(step))
        if nrm > cap:
            step *= cap / nrm
        t_ = 1.0
        moved = False
        for _ in range(40):
            yn = y.copy()
            yn[:d] = np.clip(y[:d] + t_ * step, lo, hi)
            _, Hn, Gn, Hsn, *_ = ev(yn, 2)
            if Hn < Hc:
                moved = True
                break
            t_ *= 0.5
        if not moved:
            break
        small = np.linalg.norm(yn[:d] - y[:d]) <= 1e-12 * (1 + np.linalg.norm(y[:d]))
        y, Hc, G, Hs = yn, Hn, Gn.copy(), Hsn.copy()
        if small:
            break
    return y[:d]


def bifurcation_diagram(layer, eps_range, box, *, t=1.0, checkpoints=2, progress=None,
                        max_steps=20000, grid=None):
    """Follow every branch of critical points of ``H(pi_eps(x))`` in eps; locate the folds.

    Seeds: the critical points at both ends of ``eps_range`` and at
    ``checkpoints`` log-spaced eps inside it (:func:`critical_points`, each
    with its completeness check). From every seed not yet reached, the curve
    ``grad_x H(x; eps) = 0`` is followed in ``(x, log eps)`` by
    pseudo-arclength continuation (tangent = null vector of the Jacobian
    ``[eps Hess | d(eps grad H)/d log eps]``, Newton corrector on the
    arclength-constrained system, steps adapted to the corrector and to the
    turn of the tangent, < 0.15 rad per step) until it reaches an end of the
    eps range or leaves the box; the seeds it passes through are marked
    reached, so every curve is traced once. A fold is where the curve turns
    back in eps (``d log eps/ds`` changes sign; there ``det Hess H = 0``
    and two critical points collide): it is located by Newton on
    ``{eps grad H = 0, det(eps^2 Hess H) = 0}`` in ``(x, log eps)`` with the
    closed-form Jacobian (third derivatives and eps-derivatives of ``H``,
    :mod:`tropical.kernels.attribution`), quadratically convergent, so ``eps``
    is found to near machine precision. Curves are cut at the folds into
    :class:`Branch` es of one kind.

    Not found: closed curves (isolas) and curves that enter and leave the
    box between seeds without meeting a seed eps; the checkpoints shrink
    that window. A checkpoint crossing that matches no seed there, or an
    unmatched seed, makes ``complete=False``.

    Parameters
    ----------
    layer : LSELayer or HopfCole
        ``d`` in ``{1, 2}`` (the layer's own ``eps`` is ignored).
    eps_range : pair of floats
        ``0 < eps_min < eps_max``.
    box : pair (lo, hi)
        The region of ``x`` (scalars or arrays of shape ``(d,)``).
    t : float, default 1.0
        Time of the dictionary for a ``HopfCole``.
    checkpoints : int, default 2
        Number of interior eps where seeds are searched too.
    progress : bool, optional
        Show progress on stderr (default: when stderr is a terminal).
    max_steps : int, default 20000
        Continuation steps per curve.
    grid : int, optional
        Passed to :func:`critical_points` for the seeds.

    Returns
    -------
    BifurcationDiagram
        On ``KeyboardInterrupt`` the branches traced so far, ``interrupted=True``.

    Examples
    --------
    >>> from tropical.views.network import LSELayer
    >>> from tropical.attribution import bifurcation_diagram
    >>> layer = LSELayer([[-1.0], [0.0], [2.0]], [0.0, 0.6, 0.0], eps=1.0)
    >>> diag = bifurcation_diagram(layer, (0.05, 1.0), (-4.0, 4.0))
    >>> len(diag.folds), diag.complete
    (1, True)
    """
    layer = _as_layer(layer, t)
    if layer.d not in (1, 2):
        raise NotImplementedError(f"bifurcation_diagram handles d = 1 and d = 2, got d = {layer.d}")
    try:
        e_lo, e_hi = eps_range
    except (TypeError, ValueError):
        raise ValueError(f"eps_range must be a pair (eps_min, eps_max), got {eps_range!r}") from None
    e_lo, e_hi = check_eps(e_lo, "eps_range[0]"), check_eps(e_hi, "eps_range[1]")
    if not 0 < e_lo < e_hi:
        raise ValueError(f"eps_range must satisfy 0 < eps_min < eps_max, got ({e_lo}, {e_hi})")
    lo, hi = _check_box(box, layer.d)
    checkpoints = check_int(checkpoints, "checkpoints", minimum=0)
    max_steps = check_int(max_steps, "max_steps", minimum=1)
    show = _Progress(want_progress(progress))
    d = layer.d
    lam_lo, lam_hi = math.log(e_lo), math.log(e_hi)
    lam_seeds = list(np.linspace(lam_lo, lam_hi, checkpoints + 2))
    lam_seeds[0], lam_seeds[-1] = lam_lo, lam_hi
    ev = _Eval(layer)
    width = float(np.max(hi - lo))
    h0, hmax = 0.01 * width, 0.05 * max(width, lam_hi - lam_lo)
    reasons = []
    seeds = []          # (lam, x, reached)
    curves = []
    interrupted = False
    t_start = time.perf_counter()
    try:
        for k, lam in enumerate(lam_seeds):
            show(f"bifurcation: seeds at eps = {math.exp(lam):.4g} ({k + 1}/{len(lam_seeds)})",
                 force=True)
            cps = critical_points(layer.with_eps(math.exp(lam)), (lo, hi), grid=grid)
            if not cps.complete:
                reasons.append(f"seeds at eps = {math.exp(lam):.6g}: {cps.reason}")
            for p in cps:
                seeds.append([lam, p.x.copy(), False])
        tol_match = 1e-5 * width

        def mark(lam, x):
            best, bd = None, math.inf
            for s in seeds:
                if s[0] == lam:
                    dist = float(np.linalg.norm(s[1] - x))
                    if dist < bd:
                        best, bd = s, dist
            if best is not None and bd <= tol_match:
                best[2] = True
                return True
            return False

        for si, s in enumerate(seeds):
            show(f"bifurcation: curve {len(curves) + 1}, seed {si + 1}/{len(seeds)}, "
                 f"{sum(len(c['folds']) for c in curves)} folds")
            if s[2]:
                continue
            s[2] = True
            lam0, x0 = s[0], s[1]
            y0 = np.append(x0, lam0)
            dirs = [1] if lam0 == lam_lo else ([-1] if lam0 == lam_hi else [-1, 1])
            halves = []
            for direc in dirs:
                inner = [c for c in lam_seeds[1:-1] if c != lam0]
                tr = _trace(ev, y0, direc, lam_lo, lam_hi, lo, hi, inner, h0, hmax, max_steps)
                halves.append(tr)
                Yt = tr["Y"]
                if tr["end"] in ("eps_min", "eps_max"):
                    if not mark(Yt[-1][d], Yt[-1][:d]):
                        reasons.append(f"a curve reaches eps = {math.exp(Yt[-1][d]):.6g} at "
                                       f"x = {Yt[-1][:d].tolist()}, which the seed search "
                                       "there did not find")
                elif tr["end"] == "stalled":
                    reasons.append(f"a curve stalled at eps = {math.exp(Yt[-1][d]):.6g}, "
                                   f"x = {Yt[-1][:d].tolist()}")
                for c_lam, i in tr["crossings"]:
                    ya, yb = Yt[i], Yt[i + 1]
                    frac = (c_lam - ya[d]) / (yb[d] - ya[d])
                    xc = _newton_fixed_lambda(ev, ya[:d] + frac * (yb[:d] - ya[:d]), c_lam)
                    if xc is None or not mark(c_lam, xc):
                        reasons.append(f"a curve crosses eps = {math.exp(c_lam):.6g} at a point "
                                       "the seed search there did not find")
            curves.append(_join_halves(halves, s[0]))
    except KeyboardInterrupt:
        interrupted = True
        reasons.append("interrupted")
    show("", force=True)
    show.close()
    branches, folds, bpoints = _cut_curves(ev, curves, lam_lo, lam_hi, e_lo, e_hi)
    edges = [] if interrupted else _basin_edges(ev, branches, folds, lo, hi)
    info = {"curves": len(curves), "seeds": len(seeds), "evaluations": ev.n_calls,
            "seconds": time.perf_counter() - t_start}
    return BifurcationDiagram(layer, (e_lo, e_hi), (lo, hi), branches, folds,
                              basin_edges=edges, branch_points=bpoints,
                              complete=not reasons, reason="; ".join(dict.fromkeys(reasons)),
                              interrupted=interrupted, info=info)


def _join_halves(halves, lam0):
    """One curve (points, kinds, fold brackets, end reasons) from one or two traces."""
    if len(halves) == 1:
        h = halves[0]
        return {"Y": h["Y"], "kinds": h["kinds"], "folds": list(h["folds"]),
                "T": h["T"], "ends": ("seed", h["end"])}
    a, b = halves
    n = len(a["Y"])
    Y = np.concatenate([a["Y"][::-1], b["Y"][1:]])
    T = np.concatenate([-a["T"][::-1], b["T"][1:]])
    kinds = a["kinds"][::-1] + b["kinds"][1:]
    folds = [n - 2 - i for i in a["folds"]] + [n - 1 + i for i in b["folds"]]
    return {"Y": Y, "kinds": kinds, "folds": sorted(folds), "T": T,
            "ends": (a["end"], b["end"])}


def _cut_curves(ev, curves, lam_lo, lam_hi, e_lo, e_hi):
    """Cut every curve at its events into branches of one kind.

    Events: a turning point in eps (located by :func:`_locate_fold`) is a
    fold when the kinds on its two sides differ (two critical points
    collide), and a pitchfork-type point when they agree (a symmetric
    parabola of critical points turning on another branch); a change of kind
    without a turn is a branch point (the other branch of a pitchfork or a
    transcritical point), placed by Newton on the same system when it
    converges nearby, else by interpolation.
    """
    d = ev.d
    branches, folds, bpoints = [], [], []
    for cv in curves:
        Y, T, kinds = cv["Y"], cv["T"], cv["kinds"]
        turns = set(cv["folds"])
        events = []
        for i in range(len(Y) - 1):
            if i in turns or kinds[i] != kinds[i + 1]:
                ya, yb = Y[i], Y[i + 1]
                if i in turns:
                    ta, tb = T[i][d], T[i + 1][d]
                    frac = ta / (ta - tb) if ta != tb else 0.5
                else:
                    frac = 0.5
                guess = ya + frac * (yb - ya)
                yf, res = _locate_fold(ev, guess)
                span = np.linalg.norm(yb - ya)
                if yf is None or not np.isfinite(yf).all() or \
                        np.linalg.norm(yf - guess) > 2 * span + 1e-9:
                    yf, res = guess, math.inf
                events.append((i, yf, res, i in turns))
        pieces = []
        start = 0
        prev = None
        for i, yf, res, turn in events + [(len(Y) - 1, None, None, False)]:
            pts = Y[start:i + 1]
            if prev is not None:
                pts = np.vstack([prev, pts])
            if yf is not None:
                pts = np.vstack([pts, yf])
            ks = kinds[start:i + 1]
            kind = max(set(ks), key=ks.count) if ks else "degenerate"
            e0 = "event" if prev is not None else _end_name(cv["ends"][0], pts[0], d, lam_lo, lam_hi)
            e1 = "event" if yf is not None else _end_name(cv["ends"][1], pts[-1], d, lam_lo, lam_hi)
            pieces.append([pts, kind, [e0, e1]])
            start, prev = i + 1, yf
        ids = []
        for j, (pts, kind, ends) in enumerate(pieces):
            if j > 0:
                ev_prev = events[j - 1]
                ends[0] = "fold" if ev_prev[3] and pieces[j - 1][1] != kind else "branch_point"
            if j < len(events):
                ev_next = events[j]
                ends[1] = "fold" if ev_next[3] and pieces[j + 1][1] != kind else "branch_point"
            eps = np.exp(pts[:, d])
            eps[pts[:, d] == lam_lo] = e_lo
            eps[pts[:, d] == lam_hi] = e_hi
            bid = len(branches)
            ids.append(bid)
            branches.append(Branch(bid, kind, eps, pts[:, :d].copy(), tuple(ends)))
        for j, (i, yf, res, turn) in enumerate(events):
            b1, b2 = branches[ids[j]], branches[ids[j + 1]]
            eps_f = float(math.exp(yf[d]))
            if turn and b1.kind != b2.kind:
                before = b1.eps[:-1].mean() if len(b1.eps) > 1 else b1.eps[0]
                direction = "annihilation" if before < eps_f else "creation"
                folds.append(Fold(eps_f, yf[:d].copy(), tuple(sorted((b1.kind, b2.kind))),
                                  (b1.id, b2.id), direction, res))
            else:
                bpoints.append({"type": "pitchfork_turn" if turn else "kind_change",
                                "eps": eps_f, "x": yf[:d].tolist(),
                                "kinds": [b1.kind, b2.kind], "branches": [b1.id, b2.id]})
    return branches, folds, bpoints


def _end_name(end, y, d, lam_lo, lam_hi):
    if end == "seed":
        return "eps_min" if y[d] == lam_lo else ("eps_max" if y[d] == lam_hi else "seed")
    return end


def _basin_edges(ev, branches, folds, lo, hi):
    """(A, B, eps) for each annihilation of a minimum with an index-1 point."""
    d = ev.d
    index1 = "saddle" if d == 2 else "maximum"
    edges = []
    for f in folds:
        if f.direction != "annihilation" or set(f.kinds) != {"minimum", index1}:
            continue
        b1, b2 = (branches[i] for i in f.branches)
        mins, sad = (b1, b2) if b1.kind == "minimum" else (b2, b1)
        # the index-1 point a little before the fold (its 3rd sample from the fold end)
        order = np.argsort(sad.eps)
        if len(order) < 2:
            continue
        k = order[max(0, len(order) - 4)]
        xs, es = sad.x[k], float(sad.eps[k])
        lam = math.log(es)
        _, _, _, Hs, *_ = ev(np.append(xs, lam), 2)
        lamb, V = np.linalg.eigh(Hs)
        v = V[:, 0]
        scale = 1e-3 * float(np.max(hi - lo))
        ends = [_descend(ev, xs + sgn * scale * v, lam, lo, hi) for sgn in (1.0, -1.0)]
        cands = [br for br in branches if br.kind == "minimum" and br.id != mins.id
                 and br.eps_span[0] <= es <= br.eps_span[1]]
        target = None
        xm = mins.at(es)
        if xm is None:
            continue
        # one descent falls into the dying minimum; the other shows where its basin goes
        ends.sort(key=lambda xe: float(np.linalg.norm(xe - xm)))
        for xe in ends[1:]:
            best = min(cands, key=lambda br: np.linalg.norm(br.at(es) - xe), default=None)
            if best is not None and np.linalg.norm(best.at(es) - xe) < 0.05 * float(np.max(hi - lo)):
                target = best.id
            elif np.any(np.isclose(xe, lo, rtol=0, atol=1e-9)) or \
                    np.any(np.isclose(xe, hi, rtol=0, atol=1e-9)):
                target = "box"     # H keeps decreasing to the box boundary
        if target is not None:
            edges.append((mins.id, target, f.eps))
    return edges
