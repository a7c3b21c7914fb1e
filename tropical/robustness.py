r"""Certified second-order robustness of a log-sum-exp layer (MATH.md sections 2 and 5).

For an :class:`~tropical.views.network.LSELayer` ``f_eps(x) = LSE_eps(W x + b)``
the Hessian is ``Cov_pi(w)/eps`` (``pi = pi(x)`` the Gibbs weights), so the
first-order Taylor remainder

    ``R(x, delta) = f(x + delta) - f(x) - <grad f(x), delta>``

is ``int_0^1 (1 - s) delta^T Cov_{pi(x + s delta)}(w) delta ds / eps`` and

    ``0 <= R(x, delta) <= |delta|^2 sup_segment ||Cov_pi(w)|| / (2 eps)``.

``R >= 0`` because ``f`` is convex, so ``|R| = R``.

Uniform bounds on the Hessian (:func:`hessian_bound`)
    * ``"max_norm"``: ``max_j |w_j|^2 / eps`` (``Cov <= E_pi[w w^T]``);
    * ``"diameter"``: ``diam{w_j}^2 / (4 eps)``. For a unit vector ``u`` the
      numbers ``<u, w_j>`` lie in an interval of length at most ``diam``, and
      a distribution on an interval of length ``l`` has variance at most
      ``l^2/4`` (Popoviciu); ``||Cov|| = max_u Var_pi(<u, w>)``. The constant
      ``1/4`` is attained: two terms at a point of their tie hyperplane
      (``pi = (1/2, 1/2)``) have ``Cov = (w_1 - w_2)(w_1 - w_2)^T/4``.
      It is always at least as sharp as ``"max_norm"`` (``diam <= 2 max |w_j|``)
      and, unlike it, invariant under shifting every ``w_j`` by one vector
      (which adds a linear function to ``f`` and leaves the Hessian unchanged).

Remainder certificates (:func:`remainder_bound`), all rigorous for ``eps > 0``
    With ``a_j = <w_j, delta>``, ``width = max_j a_j - min_j a_j <= |delta| diam``,
    ``v(s) = Var_{pi(x + s delta)}(a) = delta^T Cov delta`` (so
    ``R = int_0^1 (1 - s) v(s) ds / eps``):

    * ``"uniform"``: ``|delta|^2 diam^2 / (8 eps)`` (MATH.md section 5);
    * ``"local"``: ``v(0) phi(L) / eps`` with ``L = width/eps`` and
      ``phi(L) = (e^L - 1 - L)/L^2`` (``phi(0) = 1/2``), capped by
      ``width^2/(8 eps)``. Reason: ``v'(s) = E_pi[(a - abar)^2 (a - abar)]/eps``
      (the third cumulant), so ``|v'| <= L v`` and ``v(s) <= v(0) e^{L s}``
      (Gronwall). It needs only quantities at ``x``.
    * ``"segment"``: ``v`` is evaluated on a grid ``s_i = i/n`` of the
      segment; on ``[s_i, s_{i+1}]`` the same Gronwall inequality from both
      ends gives ``v(s) <= min(v_i e^{L(s - s_i)}, v_{i+1} e^{L(s_{i+1} - s)})
      <= sqrt(v_i v_{i+1}) e^{L/(2n)}``; the bound is the sum of these
      suprema times ``int (1 - s) ds`` over each piece, over ``eps``. ``n`` is
      chosen so that ``L/(2n) <= 0.05`` (at most ``max_grid``); a rigorous
      upper bound on ``sup_segment`` for any ``n``.
    * ``"linear"``: ``max_j a_j - <grad f(x), delta>``: ``f(x + delta) - f(x) =
      eps log E_pi e^{a/eps} <= max_j a_j``. First order in ``|delta|``, valid
      at every ``eps >= 0``; the only finite one at ``eps = 0``.
    * ``"best"``: the minimum of the four.

    For a whole ball ``|delta| <= r`` (:func:`ball_bound`):
    ``min(r^2 diam^2/(8 eps), r^2 ||Cov_x|| phi(r diam/eps)/eps, r max_j |w_j - grad f(x)|)``.

Floating point
    Every certificate is evaluated in float64 and then enlarged by a
    first-order rounding allowance (``u = 2**-53``): the diameter squared by
    ``2(d + 4)u`` relative; covariances computed from Gibbs weights whose
    exponents carry an absolute error ``<= 2(d + 4) u M / eps`` (``M`` bounds
    the pre-activations on the segment) are multiplied by
    ``exp(theta)``, ``theta = u (4(d + 4) M/eps + 2N + 16)``, because the
    variance is smallest about its own mean so relative changes of the weights
    change it by at most that factor. So the certificates bound the *exact*
    remainder at the floating-point inputs ``x`` and ``delta``; the tests
    check that against 60-digit mpmath. An absolute ``2**-1000`` is added to
    every certificate for underflow (squares of tiny widths), except when all
    ``w_j`` are equal, where ``f`` is affine and the remainder is exactly 0.
    The *measured* remainder (:func:`remainder`, computed as
    ``LSE_eps((z - f(x)) + (a - abar))``, the cumulant generating function
    form of ``eps log E_pi exp((a - abar)/eps)``, with no cancellation between
    ``f(x + delta)`` and ``f(x)``) has the absolute error budget
    :func:`remainder_budget`; a finding is dominated when
    ``measured <= bound + budget``. At ``eps = 0`` the remainder uses the
    computed subgradient (the barycentre of the computed argmax terms) and the
    linear certificate holds for that subgradient, whichever it is.

Examples
--------
>>> import numpy as np
>>> from tropical.views.network import LSELayer
>>> from tropical.robustness import hessian_norm, hessian_bound, remainder, remainder_bound
>>> layer = LSELayer([[1.0, 0.0], [-1.0, 0.0]], [0.0, 0.0], eps=0.5)  # 0.5 log(2 cosh(2 x_1))
>>> float(hessian_norm(layer, [0.0, 0.0]))     # Var = 1 at the tie, / eps
2.0
>>> round(hessian_bound(layer).diameter, 12)     # diam = 2: 4/(4 eps), attained
2.0
>>> delta = np.array([0.1, 0.0])
>>> r = float(remainder(layer, [0.0, 0.0], delta))
>>> r <= float(remainder_bound(layer, [0.0, 0.0], delta))   # 0.01 * 4 / 4 = 0.01
True
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from typing import NamedTuple

import numpy as np

from . import _ops
from ._progress import want_progress as _want_progress
from ._validate import check_int

__all__ = [
    "HessianBounds",
    "AdversarialResult",
    "RobustnessReport",
    "hessian_norm",
    "hessian_bound",
    "diameter",
    "remainder",
    "remainder_budget",
    "remainder_bound",
    "ball_bound",
    "adversarial_search",
    "robustness_report",
]

_U = np.finfo(np.float64).eps / 2  # unit roundoff of float64
_EXACT_PAIRS_MAX_N = 8192          # exact O(N^2 d) diameter up to this many rows
_CHUNK = 1 << 21                   # elements per temporary block
_KINDS = ("uniform", "local", "segment", "linear", "best")
_TINY = 2.0 ** -1000               # absolute allowance for underflow in the certificates


def _flat(W):
    """All rows equal: ``f`` is affine and every remainder is exactly 0."""
    return bool(np.all(W == W[0]))


# ---------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------

def _layer(layer):
    from .views.network import LSELayer

    if not isinstance(layer, LSELayer):
        raise TypeError(f"layer must be a tropical.views.network.LSELayer, got "
                        f"{type(layer).__name__}")
    return layer


def _points(layer, x, name="x"):
    """``x`` as an (M, d) float64 array and the leading shape to restore."""
    from ._validate import _to_array

    arr = _to_array(x, name)
    if arr.dtype.kind not in "iufb":
        raise TypeError(f"{name} must be an array of real numbers, got dtype {arr.dtype}"
                        + (" (ragged or mixed-type input?)" if arr.dtype.kind == "O" else ""))
    X = arr.astype(np.float64)
    d = layer.d
    if d == 1 and (X.ndim == 0 or X.shape[-1] != 1):
        X = X[..., None]
    if X.ndim == 0 or X.shape[-1] != d:
        raise ValueError(f"{name} must have shape (..., {d}) for a layer with d = {d}, "
                         f"got {np.shape(x)}")
    bad = ~np.isfinite(X)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} must be finite, got {X[idx]} (NaN or infinity) at index {idx}")
    lead = X.shape[:-1]
    return X.reshape(-1, d), lead


def _pair(layer, x, delta):
    X, lead = _points(layer, x, "x")
    D, lead_d = _points(layer, delta, "delta")
    try:
        shape = np.broadcast_shapes(lead, lead_d)
    except ValueError:
        raise ValueError(f"x (points {lead}) and delta (points {lead_d}) do not "
                         "broadcast") from None
    X = np.broadcast_to(X.reshape(lead + (layer.d,)), shape + (layer.d,)).reshape(-1, layer.d)
    D = np.broadcast_to(D.reshape(lead_d + (layer.d,)), shape + (layer.d,)).reshape(-1, layer.d)
    return X, D, shape


def _radius(radius, n):
    r = np.asarray(radius)
    if r.dtype.kind not in "iuf" or isinstance(radius, (bool, np.bool_)):
        raise TypeError(f"radius must be a real number or an array of them, got {radius!r}")
    r = r.astype(np.float64)
    if not np.isfinite(r).all():
        raise ValueError(f"radius must be finite, got {radius!r}")
    if (r <= 0).any():
        raise ValueError(f"radius must be > 0, got {radius!r}")
    if r.ndim == 0:
        return np.full(n, float(r))
    r = r.reshape(-1)
    if r.shape != (n,):
        raise ValueError(f"radius must be a scalar or one value per point ({n}), got shape "
                         f"{np.shape(radius)}")
    return r


def _restore(values, shape):
    out = np.asarray(values).reshape(shape)
    return out[()] if out.ndim == 0 else out


def _chunks(M, per_row):
    step = max(1, _CHUNK // max(1, per_row))
    for i in range(0, M, step):
        yield slice(i, min(M, i + step))


# ---------------------------------------------------------------------------------
# Hessian norms and uniform bounds
# ---------------------------------------------------------------------------------

def _affine(X, W, b=None):
    """``X W^T (+ b)`` row by row in a fixed order (einsum without BLAS), so that a row
    gives the same bits in any batch: at ``eps = 0`` the computed argmax, hence the
    subgradient, must not depend on how points are batched."""
    Z = np.einsum("...k,jk->...j", X, W)
    return Z if b is None else Z + b


def _cov(layer, X):
    """``Cov_pi(w)`` at points X (M, d): shape (M, d, d) (centred: no cancellation)."""
    W = layer.W
    out = np.empty((X.shape[0], layer.d, layer.d))
    for sl in _chunks(X.shape[0], layer.N * layer.d):
        pi = _ops.softmax(_affine(X[sl], W, layer.b), layer.eps)
        m = pi @ W
        Wc = W[None, :, :] - m[:, None, :]
        out[sl] = np.einsum("mj,mjk,mjl->mkl", pi, Wc, Wc)
    return out


def _scale_M(layer, X, D=None):
    """``M >= max_j |w_j|(|x| + |delta|) + |b_j|``: bounds every pre-activation on the segment."""
    wn = np.sqrt(np.einsum("jk,jk->j", layer.W, layer.W))
    r = np.linalg.norm(X, axis=-1)
    if D is not None:
        r = r + np.linalg.norm(D, axis=-1)
    return np.max(wn[None, :] * r[:, None] + np.abs(layer.b)[None, :], axis=-1) * (1 + 4 * _U)


def _theta(layer, M):
    """Log of the factor covering relative errors of the computed Gibbs weights."""
    eps = layer.eps
    return _U * (4 * (layer.d + 4) * M / eps + 2 * layer.N + 16)


def _cov_norm_upper(layer, X):
    """A certified upper bound on ``||Cov_pi(w)||`` (the float value, enlarged)."""
    cov = _cov(layer, X)
    lam = np.linalg.eigvalsh(cov)[:, -1] if layer.d > 1 else cov[:, 0, 0]
    lam = np.maximum(lam, 0.0)
    d, N = layer.d, layer.N
    w2 = float(np.max(np.einsum("jk,jk->j", layer.W, layer.W)))
    theta = _theta(layer, _scale_M(layer, X)) if layer.eps > 0 else 0.0
    # eigvalsh is backward stable: absolute error <= c d u ||Cov||_F <= c d u max|w|^2.
    with np.errstate(over="ignore", invalid="ignore"):
        grow = np.exp(theta) * (1 + (N + 8) * _U)
        return np.where(np.isfinite(grow), lam * grow, np.inf) + 8 * (d + N + 4) * _U * w2


def hessian_norm(layer, x):
    """Spectral norm ``||Hess f_eps(x)|| = ||Cov_pi(x)(w)|| / eps`` at points.

    Parameters
    ----------
    layer : LSELayer
        The layer ``f_eps(x) = LSE_eps(W x + b)``.
    x : array_like, shape (..., d)
        Points (a scalar or shape (M,) is accepted for ``d = 1``); finite.

    Returns
    -------
    ndarray, shape (...)
        The largest eigenvalue of the (positive semidefinite) covariance over
        ``eps``, computed from the centred covariance as in
        :meth:`LSELayer.hessian`. At ``eps = 0`` it is ``0`` where the Hessian
        vanishes and ``+inf`` on the tropical hypersurface (a tie between
        distinct ``w_j``), the limit at fixed ``x``.

    Examples
    --------
    >>> from tropical.views.network import LSELayer
    >>> from tropical.robustness import hessian_norm
    >>> layer = LSELayer([[0.0], [2.0]], [0.0, 0.0], eps=0.25)
    >>> hessian_norm(layer, [[0.0], [10.0]]).round(6)     # 1/0.25 at the tie, ~0 far away
    array([4., 0.])
    """
    layer = _layer(layer)
    X, lead = _points(layer, x)
    cov = _cov(layer, X)
    lam = np.linalg.eigvalsh(cov)[:, -1] if layer.d > 1 else cov[:, 0, 0]
    lam = np.maximum(lam, 0.0)
    if layer.eps > 0:
        with np.errstate(over="ignore"):
            return _restore(lam / layer.eps, lead)
    w2 = float(np.max(layer.W * layer.W))
    tol = 16 * layer.N * _U * w2
    return _restore(np.where(lam > tol, np.inf, 0.0), lead)


def diameter(W, method="auto"):
    """Diameter ``max_{j,k} |w_j - w_k|`` of the rows of ``W`` and how it was obtained.

    Parameters
    ----------
    W : array_like, shape (N, d)
        Finite rows (a 1-D array means ``d = 1``).
    method : {"auto", "exact", "hull", "pruned", "bound"}
        ``"exact"``: all pairs, in blocks, ``O(N^2 d)``; ``"hull"``: only for
        ``d <= 2``, exact (``d = 1``: max - min; ``d = 2``: the pairs of
        corners of the convex hull, found by a monotone chain in exact
        integer arithmetic); ``"pruned"``: exact in any dimension when few
        rows are far from the centre: a double sweep (farthest point from
        the farthest point) gives a pair of length ``D_lo``; with ``c`` the
        centre of the bounding box and ``R = max_j |w_j - c|``, both ends of
        any longer pair have ``|w_j - c| > D_lo - R`` (triangle inequality),
        so all pairs among those rows settle it (if there are at most 8192
        of them; otherwise it falls back to ``"bound"``); ``"bound"``: the
        upper bound ``min(2R, |box diagonal|)`` (within a factor ``sqrt(d)``
        of the diameter). ``"auto"``: ``"hull"`` for ``d <= 2``, else
        ``"pruned"`` (exact for ``N <= 8192`` and whenever the far rows are
        few, as for most point clouds).

    Returns
    -------
    (float, str)
        The diameter (an upper bound when the method returned is
        ``"bound"``) and the method used.

    Examples
    --------
    >>> from tropical.robustness import diameter
    >>> diameter([[0.0, 0.0], [3.0, 4.0], [1.0, 1.0]])
    (5.0, 'hull')
    >>> diameter([[0.0, 0.0, 0.0], [1.0, 2.0, 2.0]], method="exact")
    (3.0, 'exact')
    """
    from .views._affine import finite_matrix

    W = finite_matrix(W, "W")
    N, d = W.shape
    if method not in ("auto", "exact", "hull", "pruned", "bound"):
        raise ValueError(f"method must be 'auto', 'exact', 'hull', 'pruned' or 'bound', got "
                         f"{method!r}")
    if method == "auto":
        method = "hull" if d <= 2 else "pruned"
    if method == "hull":
        if d > 2:
            raise ValueError(f"method='hull' needs d <= 2 (exact hull), got d = {d}")
        if d == 1:
            return float(W.max() - W.min()), "hull"
        from ._hull import _column_ints, convex_hull_2d

        uniq = np.unique(W, axis=0)
        # exact integer coordinates (each axis scaled by a power of two: the hull's
        # corners are unchanged), monotone chain with exact orientation tests
        cx, cy = _column_ints(uniq)
        corners = convex_hull_2d(list(zip(cx, cy))) if len(uniq) > 2 else list(range(len(uniq)))
        return _pairs_max(uniq[corners]), "hull"
    if method == "exact":
        return _pairs_max(W), "exact"
    lo, hi = W.min(axis=0), W.max(axis=0)
    c = (lo + hi) / 2
    rad = np.linalg.norm(W - c, axis=1)
    R = float(np.max(rad))
    if method == "pruned":
        a = int(np.argmax(rad))
        D_lo = 0.0
        for _ in range(3):                         # double sweeps
            dist = np.linalg.norm(W - W[a], axis=1)
            b = int(np.argmax(dist))
            if dist[b] <= D_lo:
                break
            D_lo, a = float(dist[b]), b
        # rounded norms are within a relative (d + 3)u: lower the threshold by more
        far = np.flatnonzero(rad >= (D_lo - R) - 4 * (d + 4) * _U * (R + D_lo))
        if far.size <= _EXACT_PAIRS_MAX_N:
            return max(D_lo, _pairs_max(W[far])), "pruned"
    return float(min(2 * R, float(np.linalg.norm(hi - lo))) * (1 + 4 * _U)), "bound"


_DIAM_CACHE: dict = {}


def _layer_diameter(layer):
    """``diameter(layer.W)`` with method "auto", remembered for the last few layers
    (layers are immutable; the key is the bytes of ``W``)."""
    key = (layer.W.shape, layer.W.tobytes())
    hit = _DIAM_CACHE.get(key)
    if hit is None:
        hit = diameter(layer.W)
        if len(_DIAM_CACHE) >= 16:
            _DIAM_CACHE.pop(next(iter(_DIAM_CACHE)))
        _DIAM_CACHE[key] = hit
    return hit


def _pairs_max(W):
    N, d = W.shape
    best = 0.0
    for sl in _chunks(N, N * d):
        diff = W[sl, None, :] - W[None, :, :]
        best = max(best, float(np.max(np.einsum("ijk,ijk->ij", diff, diff))))
    return math.sqrt(best)


def _fdiv(a, b):
    """``a / b`` as a float, ``inf`` on overflow."""
    try:
        return float(a) / float(b)
    except OverflowError:  # pragma: no cover - float division overflows to inf silently
        return math.inf


class HessianBounds(NamedTuple):
    """The two uniform bounds on ``||Hess f_eps||`` of :func:`hessian_bound`.

    ``diameter = diam^2/(4 eps)`` is never larger than ``max_norm =
    max_j |w_j|^2/eps``; ``diam`` is the diameter used and ``diam_method``
    how it was obtained (see :func:`diameter`). Both bounds include the
    rounding allowance of their own evaluation.

    Examples
    --------
    >>> from tropical.views.network import LSELayer
    >>> from tropical.robustness import hessian_bound
    >>> hb = hessian_bound(LSELayer([[1.0], [-1.0]], [0.0, 0.0], eps=0.5))
    >>> hb.diam, hb.diam_method, bool(hb.diameter <= hb.max_norm)
    (2.0, 'hull', True)
    """

    max_norm: float
    diameter: float
    diam: float
    diam_method: str


def hessian_bound(layer, kind="both", method="auto"):
    """Uniform upper bounds on ``||Hess f_eps(x)||`` over all ``x``.

    Parameters
    ----------
    layer : LSELayer
    kind : {"both", "diameter", "max_norm"}
        ``"diameter"``: ``diam{w_j}^2/(4 eps)`` (Popoviciu; attained by two
        terms on their tie hyperplane: the sharper one); ``"max_norm"``:
        ``max_j |w_j|^2/eps``; ``"both"``: a :class:`HessianBounds`.
    method : str, default "auto"
        How the diameter is computed (:func:`diameter`).

    Returns
    -------
    float or HessianBounds
        ``+inf`` at ``eps = 0`` unless every ``w_j`` is the same (then ``0``).

    Examples
    --------
    >>> from tropical.views.network import LSELayer
    >>> from tropical.robustness import hessian_bound
    >>> layer = LSELayer([[3.0, 0.0], [3.0, 2.0]], [0.0, 1.0], eps=0.5)
    >>> b = hessian_bound(layer)
    >>> round(b.max_norm, 12), round(b.diameter, 12)     # 13/0.5 and 4/(4*0.5)
    (26.0, 2.0)
    >>> hessian_bound(layer, kind="diameter") == b.diameter
    True
    """
    layer = _layer(layer)
    if kind not in ("both", "diameter", "max_norm"):
        raise ValueError(f"kind must be 'both', 'diameter' or 'max_norm', got {kind!r}")
    diam, how = _layer_diameter(layer) if method == "auto" else diameter(layer.W, method)
    d, eps = layer.d, layer.eps
    w2 = float(np.max(np.einsum("jk,jk->j", layer.W, layer.W))) * (1 + 2 * (d + 4) * _U)
    D2 = diam * diam * (1 + 2 * (d + 4) * _U)
    if eps > 0:
        bounds = HessianBounds(_fdiv(w2, eps), _fdiv(D2, 4 * eps), diam, how)
    else:
        bounds = HessianBounds(math.inf if w2 > 0 else 0.0, math.inf if D2 > 0 else 0.0,
                               diam, how)
    if kind == "both":
        return bounds
    return getattr(bounds, kind)


# ---------------------------------------------------------------------------------
# the remainder and its certificates
# ---------------------------------------------------------------------------------

def _base(layer, X):
    """Pre-activations, value, Gibbs weights and gradient at the points X (M, d)."""
    Z = _affine(X, layer.W, layer.b)
    pi = _ops.softmax(Z, layer.eps)
    return Z, _ops.lse(Z, layer.eps), pi, pi @ layer.W


def _exponents(layer, base, D):
    """``Y = (z - f(x)) + (a - abar)``: ``R = LSE_eps(Y)`` and ``pi(x + delta) = softmax(Y)``."""
    Z, f, pi, _ = base
    A = _affine(D, layer.W)
    abar = np.einsum("mj,mj->m", pi, A)
    return (Z - f[:, None]) + (A - abar[:, None])


def _remainder_rows(layer, X, D):
    """Measured remainder (CGF form) and the gradient at X, for (M, d) rows."""
    base = _base(layer, X)
    return _ops.lse(_exponents(layer, base, D), layer.eps), base[3]


def remainder(layer, x, delta):
    """The Taylor remainder ``f(x + delta) - f(x) - <grad f(x), delta>`` (measured).

    Computed as ``LSE_eps((z - f(x)) + (a - abar))`` with ``z = W x + b``,
    ``a = W delta`` and ``abar = <pi(x), a> = <grad f(x), delta>``: the same
    number as the definition (``f(x + delta) - f(x) = eps log E_pi e^{a/eps}``)
    without subtracting two nearly equal values of ``f``. Its rounding error
    is at most :func:`remainder_budget`.

    Parameters
    ----------
    layer : LSELayer
    x, delta : array_like, shape (..., d)
        Points and perturbations (broadcast against each other); finite.

    Returns
    -------
    ndarray, shape (...)  (a float for one point)

    Examples
    --------
    >>> from tropical.views.network import LSELayer
    >>> from tropical.robustness import remainder
    >>> layer = LSELayer([[1.0], [-1.0]], [0.0, 0.0], eps=0.0)    # |x|
    >>> float(remainder(layer, [1.0], [-3.0]))                     # |-2| - 1 - (-3)
    4.0
    """
    layer = _layer(layer)
    X, D, shape = _pair(layer, x, delta)
    return _restore(_remainder_rows(layer, X, D)[0], shape)


def _budget_rows(layer, X, D, R):
    d, N, eps = layer.d, layer.N, layer.eps
    M = _scale_M(layer, X, D)
    wmax = float(np.max(np.linalg.norm(layer.W, axis=1)))
    dn = np.linalg.norm(D, axis=-1)
    logN = math.log(N)
    out = _U * ((4 * d + 24) * M + eps * (N + 6 + 7 * logN) + 2 * np.abs(R)
                + (2 * d + 8) * dn * wmax)
    if eps > 0:
        with np.errstate(over="ignore"):
            out = out + 2 * dn * wmax * (np.expm1(_theta(layer, M)) + (N + d + 4) * _U)
    return out


def remainder_budget(layer, x, delta):
    """Absolute rounding budget of :func:`remainder` (first order in ``u = 2**-53``).

    With ``M`` a bound on every pre-activation on the segment
    (``max_j |w_j|(|x| + |delta|) + |b_j|``), the pre-activations, ``f(x)``,
    ``a = W delta`` and the final log-sum-exp contribute
    ``u ((4d + 24) M + eps (N + 6 + 7 log N) + 2|R| + (2d + 8)|delta| max|w_j|)``
    (the remainder is 1-Lipschitz in the max-norm of its exponents); the
    weights ``pi(x)`` in ``<grad f(x), delta>`` have relative errors up to
    ``expm1(theta)``, ``theta = u (4(d + 4) M/eps + 2N + 16)`` (exponents off by
    ``O(u M)``, divided by ``eps``), which adds ``2 |delta| max|w_j| expm1(theta)``.
    That last term is the conditioning of the Gibbs weights at small ``eps``,
    not a weakness of the evaluation.

    Parameters
    ----------
    layer : LSELayer
    x : array_like, shape (..., d)
        Base points (finite).
    delta : array_like, shape (..., d)
        Perturbations (finite), broadcast against ``x``.

    Returns
    -------
    ndarray, shape (...)
        The budget, one value per point.

    Examples
    --------
    >>> from tropical.views.network import LSELayer
    >>> from tropical.robustness import remainder_budget
    >>> layer = LSELayer([[1.0], [-1.0]], [0.0, 0.0], eps=0.1)
    >>> bool(remainder_budget(layer, [0.5], [0.2]) < 1e-13)
    True
    """
    layer = _layer(layer)
    X, D, shape = _pair(layer, x, delta)
    R = _remainder_rows(layer, X, D)[0]
    return _restore(_budget_rows(layer, X, D, R), shape)


def _phi(L):
    """``(e^L - 1 - L)/L^2`` (increasing, ``phi(0) = 1/2``), an upper bound in float."""
    L = np.asarray(L, dtype=np.float64)
    out = np.empty_like(L)
    small = L < 1e-2
    Ls = L[small]
    # series 1/2 + L/6 + L^2/24 + L^3/120 e^L (remainder bound), L < 0.01
    out[small] = 0.5 + Ls / 6 + Ls * Ls / 24 + Ls ** 3 / 119
    Lb = L[~small]
    with np.errstate(over="ignore", invalid="ignore"):
        val = (np.expm1(Lb) - Lb) / (Lb * Lb)
    out[~small] = np.where(np.isfinite(val), val, np.inf)
    return out * (1 + 16 * _U)


def _var_rows(layer, Z, A):
    """``Var_pi(a)`` for Gibbs weights of pre-activations Z (..., N), a = A (..., N)."""
    pi = _ops.softmax(Z, layer.eps)
    abar = np.sum(pi * A, axis=-1, keepdims=True)
    return np.sum(pi * (A - abar) ** 2, axis=-1)


def _certificates(layer, X, D, kinds, max_grid=4096):
    """Dict kind -> per-row upper bound (rounding included)."""
    d, N, eps = layer.d, layer.N, layer.eps
    W = layer.W
    M_rows = X.shape[0]
    wmax = float(np.max(np.linalg.norm(W, axis=1)))
    dn = np.linalg.norm(D, axis=-1)
    A = _affine(D, W)
    # width of {a_j}, enlarged for the rounding of a_j = <w_j, delta>
    width = (A.max(axis=1) - A.min(axis=1)) * (1 + 4 * _U) + 2 * (d + 2) * _U * dn * wmax
    absv = 8 * (d + N + 4) * _U * dn * wmax * width       # absolute slack of a computed variance
    out = {}
    need = set(kinds)
    if "best" in need:
        need |= {"uniform", "local", "segment", "linear"}
    zero = width == 0
    if "uniform" in need:
        diam, _ = _layer_diameter(layer)
        D2 = diam * diam * (1 + 2 * (d + 4) * _U)
        q = dn * dn * (1 + 2 * (d + 4) * _U) * D2
        if eps > 0:
            with np.errstate(over="ignore"):
                out["uniform"] = q / (8 * eps)
        else:
            out["uniform"] = np.where(q > 0, np.inf, 0.0)
    if eps > 0 and ({"local", "segment"} & need):
        M = _scale_M(layer, X, D)
        with np.errstate(over="ignore"):
            grow = np.exp(_theta(layer, M)) * (1 + (N + 8) * _U)   # inf: no information
        cap = width * width / 4
        with np.errstate(over="ignore"):
            L = width / eps
    if "local" in need:
        if eps > 0:
            v0 = _var_rows(layer, _affine(X, W, layer.b), A)
            with np.errstate(over="ignore", invalid="ignore"):
                v0 = np.where(np.isfinite(grow), v0 * grow + absv, np.inf)
                loc = v0 * _phi(L)
                loc = np.fmin(np.where(np.isnan(loc), np.inf, loc), cap / 2) / eps
            out["local"] = np.where(zero, 0.0, loc)
        else:
            out["local"] = np.where(zero, 0.0, np.inf)
    if "segment" in need:
        if eps > 0:
            seg = np.empty(M_rows)
            with np.errstate(over="ignore", invalid="ignore"):
                nreq = np.clip(np.ceil(10 * L), 8, max_grid)
            nreq = np.where(np.isfinite(nreq), nreq, max_grid).astype(np.int64)
            for n in np.unique(nreq):
                rows = np.flatnonzero(nreq == n)
                s = np.linspace(0.0, 1.0, int(n) + 1)
                wts = (s[1:] - s[:-1]) * (1 - (s[1:] + s[:-1]) / 2)   # int (1 - s) ds per piece
                wts = wts * (1 + 4 * _U)
                for sl in _chunks(rows.size, (int(n) + 1) * N):
                    r = rows[sl]
                    v = np.empty((r.size, int(n) + 1))
                    sb = max(1, _CHUNK // (r.size * N))        # grid points per block
                    for j in range(0, int(n) + 1, sb):
                        P = X[r, None, :] + s[None, j:j + sb, None] * D[r, None, :]
                        v[:, j:j + sb] = _var_rows(layer, _affine(P, W, layer.b),
                                                   A[r, None, :])
                    with np.errstate(over="ignore", invalid="ignore"):
                        g = grow[r, None]
                        v = np.where(np.isfinite(g), v * g + absv[r, None], np.inf)
                        sv = np.sqrt(v)                 # no underflow of v_i v_{i+1}
                        piece = sv[:, 1:] * sv[:, :-1] * np.exp(L[r, None] / (2 * n))
                        piece = np.where(np.isnan(piece), np.inf, piece)
                        piece = np.minimum(piece, cap[r, None])
                    seg[r] = (piece @ wts) * (1 + (n + 4) * _U) / eps
            out["segment"] = np.where(zero, 0.0, seg)
        else:
            out["segment"] = np.where(zero, 0.0, np.inf)
    if "linear" in need:
        pi = _ops.softmax(_affine(X, W, layer.b), eps)
        abar = np.einsum("mj,mj->m", pi, A)
        lin = A.max(axis=1) - abar
        slack = _U * (2 * d + 8 + N) * dn * wmax
        if eps > 0:
            M0 = _scale_M(layer, X)
            with np.errstate(over="ignore"):
                slack = slack + 2 * dn * wmax * np.expm1(_theta(layer, M0))
        out["linear"] = np.maximum(lin * (1 + 4 * _U) + slack, 0.0)
    if not _flat(W):
        for k in out:
            out[k] = out[k] + _TINY
    if "best" in kinds:
        out["best"] = np.minimum.reduce([out[k] for k in ("uniform", "local", "segment",
                                                          "linear")])
    return {k: out[k] for k in kinds}


def remainder_bound(layer, x, delta, kind="uniform", max_grid=4096):
    """Certified upper bound on ``|f(x + delta) - f(x) - <grad f(x), delta>|``.

    Parameters
    ----------
    layer : LSELayer
    x, delta : array_like, shape (..., d)
        Points and perturbations (broadcast against each other); finite.
    kind : {"uniform", "local", "segment", "linear", "best"}
        ``"uniform"``: ``|delta|^2 diam^2/(8 eps)`` (MATH.md section 5);
        ``"local"``: from the covariance at ``x`` and a Gronwall factor;
        ``"segment"``: a rigorous sup of the covariance along the segment
        (grid plus Gronwall between grid points, the sharpest quadratic one);
        ``"linear"``: ``max_j <w_j, delta> - <grad f(x), delta>`` (first
        order, the only finite one at ``eps = 0``); ``"best"``: the minimum;
        ``"all"``: a dict of the five (one pass).
        See the module docstring for the derivations.
    max_grid : int, default 4096
        Most grid intervals per segment for ``"segment"`` (fewer suffice
        unless ``|delta| diam / eps`` is large; the bound is valid for any).

    Returns
    -------
    ndarray, shape (...)  (a float for one point), or a dict of them for ``"all"``
        Bounds that include the rounding of their own evaluation: they
        dominate the exact remainder at the floating-point ``x`` and
        ``delta``. Compare a *measured* remainder with
        ``bound + remainder_budget(...)``.

    Examples
    --------
    >>> import numpy as np
    >>> from tropical.views.network import LSELayer
    >>> from tropical.robustness import remainder, remainder_bound
    >>> layer = LSELayer([[1.0], [-1.0], [0.5]], [0.0, 0.0, 0.3], eps=0.1)
    >>> x, delta = [2.0], [0.3]
    >>> r = float(remainder(layer, x, delta))
    >>> bounds = {k: float(remainder_bound(layer, x, delta, kind=k))
    ...           for k in ("uniform", "local", "segment", "linear")}
    >>> all(r <= b for b in bounds.values())
    True
    >>> bounds["segment"] < bounds["uniform"]
    True
    """
    layer = _layer(layer)
    if kind not in _KINDS + ("all",):
        raise ValueError(f"kind must be one of {_KINDS + ('all',)}, got {kind!r}")
    max_grid = check_int(max_grid, "max_grid", minimum=8)
    X, D, shape = _pair(layer, x, delta)
    if kind == "all":
        out = _certificates(layer, X, D, _KINDS, max_grid)
        return {k: _restore(v, shape) for k, v in out.items()}
    return _restore(_certificates(layer, X, D, (kind,), max_grid)[kind], shape)


def _ball_rows(layer, X, r):
    W, eps, d, N = layer.W, layer.eps, layer.d, layer.N
    diam, _ = _layer_diameter(layer)
    D2 = diam * diam * (1 + 2 * (d + 4) * _U)
    pi = _ops.softmax(_affine(X, W, layer.b), eps)
    m = pi @ W
    spread = np.sqrt(np.max(np.einsum("mjk,mjk->mj", W[None] - m[:, None], W[None] - m[:, None]),
                            axis=1))
    wmax = float(np.max(np.linalg.norm(W, axis=1)))
    lin = r * (spread * (1 + 4 * _U) + 2 * (N + d + 4) * _U * wmax)
    if eps > 0:
        M0 = _scale_M(layer, X)
        with np.errstate(over="ignore"):
            lin = lin + 2 * r * wmax * np.expm1(_theta(layer, M0))
        with np.errstate(over="ignore", invalid="ignore"):
            uni = r * r * D2 / (8 * eps) * (1 + 4 * _U)
            loc = r * r * _cov_norm_upper(layer, X) * _phi(r * math.sqrt(D2) / eps) / eps
        loc = np.where(np.isnan(loc), np.inf, loc)
    else:
        uni = np.full(X.shape[0], np.inf if D2 > 0 else 0.0)
        loc = uni
    if not _flat(W):
        uni, loc, lin = uni + _TINY, loc + _TINY, lin + _TINY
    return {"uniform": uni, "local": loc, "linear": lin,
            "best": np.minimum(np.minimum(uni, loc), lin)}


def ball_bound(layer, x, radius, kind="best"):
    """Certified bound on the remainder over the whole ball ``|delta| <= radius``.

    Parameters
    ----------
    layer : LSELayer
    x : array_like, shape (..., d)
        Centres.
    radius : float or array_like, shape (...)
        Radii ``> 0``.
    kind : {"uniform", "local", "linear", "best"}
        ``"uniform"``: ``r^2 diam^2/(8 eps)``; ``"local"``:
        ``r^2 ||Cov_x|| phi(r diam/eps)/eps`` (Gronwall from the Hessian at
        ``x``); ``"linear"``: ``r max_j |w_j - grad f(x)|``; ``"best"``: the
        minimum.

    Returns
    -------
    ndarray, shape (...)

    Examples
    --------
    >>> from tropical.views.network import LSELayer
    >>> from tropical.robustness import ball_bound
    >>> layer = LSELayer([[1.0], [-1.0]], [0.0, 0.0], eps=1.0)
    >>> bool(ball_bound(layer, [0.0], 0.1) <= 0.1**2 * 4 / 8 * (1 + 1e-12))
    True
    """
    layer = _layer(layer)
    if kind not in ("uniform", "local", "linear", "best"):
        raise ValueError(f"kind must be 'uniform', 'local', 'linear' or 'best', got {kind!r}")
    X, lead = _points(layer, x)
    r = _radius(radius, X.shape[0])
    return _restore(_ball_rows(layer, X, r)[kind], lead)


# ---------------------------------------------------------------------------------
# adversarial search
# ---------------------------------------------------------------------------------

class AdversarialResult(NamedTuple):
    """Best perturbation per point found by :func:`adversarial_search`.

    ``delta`` (..., d), ``remainder`` (...) (the measured remainder at
    ``delta``), ``interrupted``: True when Ctrl-C stopped the search early
    (the best found so far is returned).

    Examples
    --------
    >>> from tropical.views.network import LSELayer
    >>> from tropical.robustness import adversarial_search, remainder
    >>> layer = LSELayer([[1.0], [-1.0]], [0.0, 0.0], eps=0.5)
    >>> res = adversarial_search(layer, [[0.0]], 0.1, steps=5, restarts=2)
    >>> res.delta.shape, res.interrupted
    ((1, 1), False)
    >>> bool(res.remainder[0] == remainder(layer, [[0.0]], res.delta)[0])
    True
    """

    delta: np.ndarray
    remainder: np.ndarray
    interrupted: bool = False


def _unit(V):
    n = np.linalg.norm(V, axis=-1, keepdims=True)
    return np.where(n > 0, V / np.where(n > 0, n, 1.0), 0.0), n[..., 0]


def adversarial_search(layer, x, radius, steps=30, restarts=16, seed=0, step_size=None,
                       progress=None):
    """Projected gradient ascent of the remainder over the ball ``|delta| <= radius``.

    Maximises ``R(delta) = f(x + delta) - f(x) - <grad f(x), delta>`` (``>= 0``,
    convex in ``delta``), whose gradient is ``grad f(x + delta) - grad f(x)``
    in closed form. Each step moves along the normalised gradient and
    projects back on the ball: ``delta <- P(delta + step_size * radius * g/|g|)``.
    The default ``step_size=None`` is the infinite step,
    ``delta <- radius * g/|g|``, which for a convex ``R`` never decreases it
    (``R(new) >= R(delta) + <g, new - delta> >= R(delta)``), but it may stop
    at a local maximum on the sphere, hence the restarts: the two directions
    of the top eigenvector of ``Cov_pi(x)`` (where the curvature at ``x`` is
    largest), the "spokes" ``w_j - grad f(x)`` from the farthest row inwards
    (where the first-order excess ``max_j <w_j - grad f(x), delta>`` is
    largest, the regime ``radius >> eps``), then random directions
    (``numpy.random.default_rng(seed)``); all scaled to the sphere.

    Parameters
    ----------
    layer : LSELayer
    x : array_like, shape (..., d)
        Points, finite.
    radius : float or array_like, shape (...)
        Radii ``> 0``.
    steps : int, default 30
        Ascent steps per restart.
    restarts : int, default 16
        Starting directions per point (``>= 1``).
    seed : int, default 0
    step_size : float or None
        Step relative to the radius; ``None`` is the infinite (monotone) step.
    progress : bool or None
        Progress on stderr (default: when stderr is a terminal).

    Returns
    -------
    AdversarialResult
        ``delta`` (..., d) and measured ``remainder`` (...), the best per point.

    Examples
    --------
    >>> from tropical.views.network import LSELayer
    >>> from tropical.robustness import adversarial_search, ball_bound
    >>> layer = LSELayer([[1.0], [-1.0]], [0.0, 0.0], eps=0.2)
    >>> res = adversarial_search(layer, [[0.0], [1.0]], radius=0.5)
    >>> res.delta.shape, res.remainder.shape
    ((2, 1), (2,))
    >>> bool((res.remainder <= ball_bound(layer, [[0.0], [1.0]], 0.5)).all())
    True
    """
    layer = _layer(layer)
    X, lead = _points(layer, x)
    M, d = X.shape
    r = _radius(radius, M)
    steps = check_int(steps, "steps", minimum=0)
    restarts = check_int(restarts, "restarts", minimum=1)
    if step_size is not None:
        step_size = float(step_size)
        if not (math.isfinite(step_size) and step_size > 0):
            raise ValueError(f"step_size must be None or a finite number > 0, got {step_size}")
    rng = np.random.default_rng(seed)
    W = layer.W
    # starting directions (M, K, d)
    cov = _cov(layer, X)
    top = np.linalg.eigh(cov)[1][:, :, -1]
    g0 = layer.grad(X)
    spokes, sn = _unit(W[None] - g0[:, None])                     # (M, N, d)
    order = np.argsort(-sn, axis=1, kind="stable")
    spokes = np.take_along_axis(spokes, order[:, :, None], axis=1)
    spokes = np.where(np.take_along_axis(sn, order, axis=1)[:, :, None] > 0, spokes,
                      top[:, None, :])
    k_spokes = min(layer.N, max(0, restarts - 2))
    dirs = np.concatenate([top[:, None], -top[:, None], spokes[:, :k_spokes]], axis=1)
    extra = rng.normal(size=(M, max(0, restarts - dirs.shape[1]), d))
    S = np.concatenate([dirs[:, :restarts], extra], axis=1)
    S, _ = _unit(S)
    K = S.shape[1]
    Xr = np.repeat(X, K, axis=0)
    rr = np.repeat(r, K)
    base = _base(layer, Xr)
    G0 = base[3]
    delta = S.reshape(-1, d) * rr[:, None]
    Y = _exponents(layer, base, delta)
    best_R = _ops.lse(Y, layer.eps)
    best_d = delta.copy()
    show = _want_progress(progress)
    t0 = time.perf_counter()
    interrupted = False
    try:
        for it in range(steps):
            # grad R(delta) = grad f(x + delta) - grad f(x), pi(x + delta) = softmax(Y)
            g, gn = _unit(_ops.softmax(Y, layer.eps) @ W - G0)
            if step_size is None:
                new = np.where(gn[:, None] > 0, rr[:, None] * g, delta)
            else:
                new = delta + step_size * rr[:, None] * g
                nn = np.linalg.norm(new, axis=1)
                new = new * np.where(nn > rr, rr / np.where(nn > 0, nn, 1.0), 1.0)[:, None]
            Y = _exponents(layer, base, new)
            R = _ops.lse(Y, layer.eps)
            better = R > best_R
            best_R = np.where(better, R, best_R)
            best_d[better] = new[better]
            delta = new
            if show:
                sys.stderr.write(f"\radversarial_search: step {it + 1}/{steps} "
                                 f"{time.perf_counter() - t0:6.1f} s")
                sys.stderr.flush()
    except KeyboardInterrupt:
        interrupted = True
    if show:
        sys.stderr.write("\n")
    best_R = best_R.reshape(M, K)
    k = np.argmax(best_R, axis=1)
    dsel = best_d.reshape(M, K, d)[np.arange(M), k]
    Rsel = best_R[np.arange(M), k]
    return AdversarialResult(dsel.reshape(lead + (d,)), _restore(Rsel, lead), interrupted)


# ---------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------

_ARRAYS = ("X", "radius", "hessian_norm", "delta", "found", "budget", "segment_bound",
           "ball_uniform", "ball_local", "ball_linear", "certificate")


@dataclasses.dataclass(eq=False)
class RobustnessReport:
    """Per-point Hessian norms, certificates and adversarial findings (:func:`robustness_report`).

    Attributes
    ----------
    X : ndarray (M, d)
        The points.
    radius : ndarray (M,)
    hessian_norm : ndarray (M,)
        ``||Cov_pi(x)(w)||/eps``.
    hessian_bounds : dict
        ``{"max_norm", "diameter", "diam", "diam_method"}`` (:func:`hessian_bound`).
    delta, found : ndarray (M, d), (M,)
        The adversarial perturbation and its measured remainder.
    budget : ndarray (M,)
        Rounding budget of ``found`` (:func:`remainder_budget`).
    segment_bound : ndarray (M,)
        The segment certificate at ``delta``.
    ball_uniform, ball_local, ball_linear, certificate : ndarray (M,)
        Certificates for the whole ball; ``certificate`` is their minimum.
    eps : float
    info : dict
        Layer summary and search settings.
    interrupted : bool

    ``ratio = found / certificate`` (how much of the certificate the search
    reached); ``ok``: every ``found <= min(certificate, segment_bound) + budget``.

    Examples
    --------
    >>> from tropical.views.network import LSELayer
    >>> from tropical.robustness import robustness_report
    >>> layer = LSELayer([[1.0], [-1.0]], [0.0, 0.0], eps=0.5)
    >>> rep = robustness_report(layer, [[0.0], [1.0]], 0.1, steps=5, restarts=2)
    >>> rep.ok, rep.X.shape
    (True, (2, 1))
    """

    X: np.ndarray
    radius: np.ndarray
    hessian_norm: np.ndarray
    hessian_bounds: dict
    delta: np.ndarray
    found: np.ndarray
    budget: np.ndarray
    segment_bound: np.ndarray
    ball_uniform: np.ndarray
    ball_local: np.ndarray
    ball_linear: np.ndarray
    certificate: np.ndarray
    eps: float
    info: dict = dataclasses.field(default_factory=dict)
    interrupted: bool = False

    @property
    def ratio(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.certificate > 0, self.found / self.certificate, 0.0)

    @property
    def ok(self) -> bool:
        lim = np.minimum(self.certificate, self.segment_bound) + self.budget
        return bool(np.all(self.found <= lim))

    def __repr__(self):
        M = self.X.shape[0]
        worst = float(np.max(self.ratio)) if M else 0.0
        state = ", INTERRUPTED" if self.interrupted else ""
        return (f"RobustnessReport({M} points, d={self.X.shape[1]}, eps={self.eps!r}, "
                f"max ratio found/certificate={worst:.3g}, ok={self.ok}{state})")

    def __str__(self):
        hb = self.hessian_bounds
        lines = [repr(self),
                 f"uniform Hessian bounds: max_j|w_j|^2/eps = {hb['max_norm']:.4g}, "
                 f"diam^2/(4 eps) = {hb['diameter']:.4g} (diam {hb['diam']:.4g}, "
                 f"{hb['diam_method']})",
                 f"{'point':>5s} {'||Hess||':>10s} {'found':>10s} {'segment':>10s} "
                 f"{'ball cert':>10s} {'ratio':>7s}"]
        for i in range(self.X.shape[0]):
            lines.append(f"{i:5d} {self.hessian_norm[i]:10.4g} {self.found[i]:10.4g} "
                         f"{self.segment_bound[i]:10.4g} {self.certificate[i]:10.4g} "
                         f"{self.ratio[i]:7.3g}")
        return "\n".join(lines)

    def to_json(self) -> str:
        """JSON text of the report (infinities as strings; inverse :meth:`from_json`)."""
        def enc(a):
            return [v if math.isfinite(v) else str(v)
                    for v in np.asarray(a, float).ravel().tolist()]

        data = {"type": "RobustnessReport", "eps": self.eps, "info": self.info,
                "interrupted": self.interrupted, "ok": self.ok,
                "hessian_bounds": {k: (v if not isinstance(v, float) or math.isfinite(v)
                                       else str(float(v)))
                                   for k, v in self.hessian_bounds.items()},
                "shape": list(self.X.shape)}
        for name in _ARRAYS:
            data[name] = enc(getattr(self, name))
        return json.dumps(data)

    @classmethod
    def from_json(cls, text):
        """Rebuild a report from :meth:`to_json`."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("type") != "RobustnessReport":
            raise ValueError("not the JSON of a RobustnessReport")
        M, d = data["shape"]

        def dec(v):
            return np.array([float(s) for s in v], dtype=np.float64)

        arrays = {name: dec(data[name]) for name in _ARRAYS}
        arrays["X"] = arrays["X"].reshape(M, d)
        arrays["delta"] = arrays["delta"].reshape(M, d)
        hb = {k: (float(v) if k != "diam_method" else v)
              for k, v in data["hessian_bounds"].items()}
        return cls(hessian_bounds=hb, eps=float(data["eps"]), info=data.get("info", {}),
                   interrupted=bool(data.get("interrupted", False)), **arrays)


def robustness_report(layer, X, radius, steps=30, restarts=16, seed=0, progress=None):
    """Hessian norms, certificates and an adversarial search at the points ``X``.

    Parameters
    ----------
    layer : LSELayer
    X : array_like, shape (M, d)
        Points (a single point of shape (d,) is one row).
    radius : float or array_like, shape (M,)
        Perturbation radii ``> 0``.
    steps, restarts, seed, progress
        Passed to :func:`adversarial_search`.

    Returns
    -------
    RobustnessReport

    Examples
    --------
    >>> import numpy as np
    >>> from tropical.views.network import LSELayer
    >>> from tropical.robustness import robustness_report
    >>> rng = np.random.default_rng(0)
    >>> layer = LSELayer(rng.normal(size=(5, 2)), rng.normal(size=5), eps=0.3)
    >>> rep = robustness_report(layer, rng.normal(size=(4, 2)), radius=0.2)
    >>> rep.ok, rep.found.shape
    (True, (4,))
    >>> bool((rep.ratio <= 1 + 1e-9).all())
    True
    """
    layer = _layer(layer)
    Xp, _ = _points(layer, X, "X")
    M = Xp.shape[0]
    if M == 0:
        raise ValueError("X is empty: no points to report on")
    r = _radius(radius, M)
    hn = np.asarray(hessian_norm(layer, Xp), dtype=np.float64).reshape(M)
    hb = hessian_bound(layer)
    res = adversarial_search(layer, Xp, r, steps=steps, restarts=restarts, seed=seed,
                             progress=progress)
    delta = np.asarray(res.delta).reshape(M, layer.d)
    found = np.asarray(res.remainder, dtype=np.float64).reshape(M)
    budget = _budget_rows(layer, Xp, delta, found)
    seg = _certificates(layer, Xp, delta, ("segment",))["segment"]
    ball = _ball_rows(layer, Xp, r)
    info = {"N": layer.N, "d": layer.d, "steps": steps, "restarts": restarts, "seed": seed}
    return RobustnessReport(Xp.copy(), r, hn, hb._asdict(), delta, found, budget, seg,
                            ball["uniform"], ball["local"], ball["linear"], ball["best"],
                            layer.eps, info, res.interrupted)
