r"""The convex view: an entropy-regularised linear programme over the simplex.

Conventions of ``../shared/design/MATH.md`` sections 2-3. For ``W`` of shape
``(N, d)`` (rows ``w_j``), ``b`` of shape ``(N,)`` and ``eps >= 0``,

* ``f_eps(x) = max { <pi, W x + b> + eps*H(pi) : pi in simplex_N }`` with
  ``H(pi) = -sum pi_j log pi_j``; the maximiser is the Gibbs vector, and
  ``f_eps`` is the log-sum-exp layer of the network view. At ``eps = 0`` it is
  the linear programme ``max_j (w_j.x + b_j)``, maximised on the face of the
  simplex spanned by the argmax terms.
* The conjugate ``f_eps*(y) = min { eps*sum pi_j log pi_j - <pi, b> : pi in
  simplex_N, W^T pi = y }`` for ``y`` in ``conv{w_j}``, ``+inf`` outside; at
  ``eps = 0`` it is the piecewise-linear function whose graph is the lower
  hull of the lifted points ``(w_j, -b_j)``.
* Fenchel-Young: ``f(x) + f*(y) - <x, y> >= 0``, with equality iff
  ``y = grad f(x) = W^T pi(x)``.

Nothing here evaluates the closed form ``eps*log sum exp(./eps)`` to obtain
``f_eps``: :meth:`EntropicLP.solve` is an optimiser that returns a feasible
``pi`` together with a certified bracket ``lower <= optimum <= upper``.

Algorithms and certificates
---------------------------
``eps > 0``, value
    Lagrangian duality on the constraint ``sum pi = 1``: for every real
    ``lam``, ``D(lam) = lam + eps * sum_j exp((a_j - lam)/eps - 1)`` bounds the
    optimum from above (``a = W x + b``), and the minimiser of the Lagrangian,
    normalised, is a feasible ``pi`` whose objective ``P(pi) = <pi, a> +
    eps*H(pi)`` (evaluated directly, one logarithm of the computed ``pi_j``
    per term) bounds it from below. ``D`` is minimised by Newton's method in
    ``lam``, one point at a time in the compiled kernel
    ``entropic_dual_points`` (:mod:`tropical.kernels.views`, which also forms
    ``a = W x + b`` and its rounding scale per point; numpy twin in
    :mod:`tropical.kernels.reference`), started at ``max(a) - eps`` or at a
    larger counted lower bound of the minimiser: ``D'`` is
    concave and increasing, so the iterates increase monotonically to the
    minimiser without line search, and ``log sum exp`` of the dual iterate
    converges quadratically (about ``log N + 5`` iterations, each ``O(N)``:
    the ``N`` exponentials are evaluated afresh; terms that are exactly 0 at
    every iterate are dropped once). The certificate (with its logarithms)
    is evaluated once the first-order gap ``eps*(s - 1 - log s)`` of the
    iterate is within the tolerance. Stops when ``upper - lower <= rtol *
    scale``. ``entropy`` is ``H(pi)`` of the returned ``pi``, from the same
    logarithms.
``eps = 0``, value
    ``method="highs"`` (default): one linear programme per point through
    :func:`scipy.optimize.linprog` (HiGHS), points stacked into
    block-diagonal LPs. The vertex ``e_j`` that HiGHS returns is certified
    exactly by its dual ``lam = a_j``: dual feasibility ``a_k <= lam`` for
    every ``k`` is checked in floating point, which is exact for
    comparisons. When HiGHS stopped at a vertex that is optimal only within
    its tolerance, one simplex pivot (Dantzig's rule) moves to an exactly
    certified vertex. ``method="pivot"``: no HiGHS; the simplex method
    itself from the vertex ``e_1``, Dantzig's rule (enter the term of largest
    reduced cost ``a_k - a_1``), which on the simplex reaches an optimal
    vertex after one pivot (a second where rounded reduced costs tie),
    certified by the same exact dual check (``O(N)`` per point). ``face`` is
    the optimal face: the terms of zero reduced cost.
``eps = 0``, conjugate
    ``min { -<pi, b> : pi in simplex, W^T pi = y }`` (the lower-hull value) is
    solved by HiGHS, then re-solved exactly in rational arithmetic on the
    support HiGHS found (:func:`tropical._hull.exact_simplex`, the exact
    simplex method of the hull code), with constraint generation until the
    exact dual ``(x, lam)`` is feasible for every term: the value is exact,
    rounded once to float. ``y`` outside ``conv{w_j}`` is certified by a
    separating direction checked exactly (the hull code's strict-maximality
    test), or, failing that, by the exact simplex method on all terms.
``eps > 0``, conjugate
    Membership as at ``eps = 0``. On the boundary of ``conv{w_j}`` every
    feasible ``pi`` is supported on the minimal face containing ``y`` (found
    by a maximal-support LP, HiGHS), so the problem is restricted to that
    face, where ``y`` is relatively interior and the dual supremum is
    attained. Newton's method with backtracking on the concave dual
    ``x -> <x, y> - f_eps(x)`` (here the closed form of ``f_eps`` is used: it
    is the dual objective) in coordinates of the face's affine hull, warm
    started at the exact ``eps = 0`` dual point. Lower bound: the dual value
    at the iterate (weak duality, any ``x``). Upper bound: the primal
    objective at the Gibbs vector of the iterate corrected by the
    minimum-norm ``delta`` that restores ``W^T pi = y`` and ``sum pi = 1``.

Tolerances
----------
The default ``rtol = 1e-12`` is relative to the scale of the problem,
``scale = max_j (|w_j|.|x| + |b_j|) + eps*max(1, log N)`` for the value (one
compiled pass per point, kernel ``affine_scale_rows``) and
``|<x, y>| + max_j (|w_j.x| + |b_j|) + eps*max(1, log N)`` (``x`` the dual
point) for the conjugate; ``gap = upper - lower <= rtol * scale`` on return.
``lower`` and ``upper`` include an a-priori allowance for the rounding of
every floating-point step (a few dozen units of roundoff of the scale), so
the exact optimum for the exact (float) data lies in ``[lower, upper]``.
At ``eps = 0`` the conjugate is exact (``lower``/``upper`` are the two floats
around the exact rational value). The only uncertified step is the
feasibility of the corrected ``pi`` of the ``eps > 0`` conjugate, which holds
to rounding (its residual is reported).

Examples
--------
>>> from tropical.views.convex import EntropicLP
>>> lp = EntropicLP([[1.0], [-1.0]], [0.0, 0.0], eps=1.0)   # log(e^x + e^-x)
>>> round(float(lp.value([0.0])), 12)   # log 2
0.69314718056
>>> lp.argmax([0.0])
array([0.5, 0.5])
>>> round(float(lp.conjugate([0.0])), 12)   # -log 2: uniform weights
-0.69314718056
>>> lp.conjugate([2.0])   # outside conv{-1, 1}
np.float64(inf)
"""

from __future__ import annotations

import math
import numbers
from fractions import Fraction

import numpy as np

from ._affine import AffineFamily, row_kernel
from .._validate import as_semiring_array, check_eps, check_int

__all__ = ["EntropicLP", "LPSolution", "ConjugateSolution"]

_U = 2.0 ** -53  # unit roundoff of float64
_DEFAULT_RTOL = 1e-12
_LP_BLOCK = 200_000  # variables per block-diagonal HiGHS problem


# ---------------------------------------------------------------------------
# result objects
# ---------------------------------------------------------------------------
class LPSolution:
    """Certified solution of ``max { <pi, W x + b> + eps*H(pi) : pi in simplex }``.

    For a single point the attributes are scalars / 1-D; for points of shape
    ``(..., d)`` they carry the leading shape ``(...)``.

    Attributes
    ----------
    value : ndarray
        The primal objective ``P(pi)`` of the returned ``pi`` (at ``eps = 0``:
        ``a_j`` of the certified optimal vertex, exactly).
    pi : ndarray, shape (..., N)
        A feasible maximiser (``eps = 0``: a vertex ``e_j`` of the optimal face).
    lower, upper : ndarray
        Certified bounds: the exact optimum lies in ``[lower, upper]``.
    gap : ndarray
        ``upper - lower``, at most ``tol``.
    tol : ndarray
        ``rtol * scale``.
    iterations : ndarray of int
        Newton iterations (``eps > 0``) or ``1 +`` simplex pivots after
        HiGHS (``eps = 0``).
    face : ndarray of bool, shape (..., N), or None
        ``eps = 0``: the terms of zero reduced cost, i.e. the optimal face
        of the simplex. ``None`` for ``eps > 0`` (the maximiser is unique).
    entropy : ndarray or None
        ``H(pi) = -sum_j pi_j log pi_j`` of the returned ``pi`` (``eps > 0``:
        from the logarithms of the certificate; ``0`` at a vertex).
    converged : bool
        Every point met ``gap <= tol``.
    """

    def __init__(self, value, pi, lower, upper, tol, iterations, face=None, entropy=None):
        self.value = value
        self.pi = pi
        self.lower = lower
        self.upper = upper
        self.gap = upper - lower
        self.tol = tol
        self.iterations = iterations
        self.face = face
        self.entropy = entropy
        self.converged = bool(np.all(self.gap <= tol))

    def __repr__(self):
        return (f"LPSolution(value={self.value!r}, gap={self.gap!r}, "
                f"iterations={self.iterations!r})")


class ConjugateSolution:
    """Certified value of ``f_eps*(y)`` at one point ``y``.

    Attributes
    ----------
    value : float
        ``f_eps*(y)``; ``+inf`` outside ``conv{w_j}``.
    inside : bool
        ``y`` lies in ``conv{w_j}`` (decided exactly for the float data).
    pi : ndarray, shape (N,), or None
        A minimiser (``W^T pi = y`` to rounding; ``None`` outside).
    x : ndarray, shape (d,), or None
        The dual point: ``value = <x, y> - f_face(x)`` up to the gap, with
        ``f_face`` the layer restricted to ``face`` (``None`` outside).
    lower, upper : float
        Certified bounds (``+inf`` outside).
    gap : float
        ``upper - lower``.
    tol : float
        ``rtol * scale``; at ``eps = 0`` the value is exact and ``tol`` is the
        width of the float bracket around it (0 or one ulp).
    face : ndarray of bool, shape (N,), or None
        The terms on the minimal face of ``conv{w_j}`` containing ``y``
        (``eps > 0``); at ``eps = 0``, the support of the exact optimal vertex.
    separator : ndarray, shape (d,), or None
        Outside: a direction ``n`` with ``<n, y> > max_j <n, w_j>`` (checked
        exactly), when one was found.
    residual : float
        ``max |W^T pi - y|`` of the returned ``pi`` (0 at ``eps = 0``).
    iterations : int
        Newton iterations (``eps > 0``), constraint-generation rounds
        (``eps = 0``).
    """

    def __init__(self, value, inside, pi=None, x=None, lower=np.inf, upper=np.inf, tol=0.0,
                 face=None, separator=None, residual=0.0, iterations=0):
        self.value = value
        self.inside = inside
        self.pi = pi
        self.x = x
        self.lower = lower
        self.upper = upper
        self.gap = 0.0 if not inside else upper - lower
        self.tol = tol
        self.face = face
        self.separator = separator
        self.residual = residual
        self.iterations = iterations

    @property
    def converged(self) -> bool:
        return (not self.inside) or bool(self.gap <= self.tol)

    def __repr__(self):
        return (f"ConjugateSolution(value={self.value!r}, inside={self.inside}, "
                f"gap={self.gap!r})")


# ---------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------
def _finite(data, name):
    arr = np.asarray(as_semiring_array(data, name, float32_ok=False), dtype=np.float64)
    if arr.size and not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite")
    return arr


def _check_rtol(rtol):
    if isinstance(rtol, (bool, np.bool_)) or not isinstance(rtol, numbers.Real):
        raise TypeError(f"rtol must be a real number, got {type(rtol).__name__} {rtol!r}")
    r = float(rtol)
    if not (math.isfinite(r) and 1e-15 <= r < 1):
        raise ValueError(f"rtol must lie in [1e-15, 1), got {rtol!r}")
    return r


# ---------------------------------------------------------------------------
# the model
# ---------------------------------------------------------------------------
class EntropicLP(AffineFamily):
    r"""The entropy-regularised LP ``f_eps(x) = max_pi <pi, W x + b> + eps*H(pi)`` (immutable).

    Parameters
    ----------
    W : array_like, shape (N, d)
        Rows ``w_j`` (a 1-D array means ``d = 1``); finite.
    b : array_like, shape (N,)
        Finite biases.
    eps : float, default 0.0
        Temperature ``>= 0``; ``0`` is the linear programme over the simplex.

    Attributes
    ----------
    W, b : ndarray, read-only
    eps : float
    N, d : int

    Notes
    -----
    See the module docstring for the algorithms, certificates and tolerances.
    The value equals the log-sum-exp layer ``LSE_eps(W x + b)`` of the network
    view (:meth:`to_network`); it is computed here by an optimiser, not by
    that formula.

    Examples
    --------
    >>> import numpy as np
    >>> from tropical.views.convex import EntropicLP
    >>> lp = EntropicLP([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], [0.0, 0.0, 0.0], eps=0.0)
    >>> lp
    EntropicLP(N=3, d=2, eps=0.0)
    >>> lp.value([[1.0, 2.0], [-1.0, -1.0]])   # max(0, x, y)
    array([2., 0.])
    >>> lp.argmax([1.0, 2.0])
    array([0., 0., 1.])
    >>> lp.conjugate([0.25, 0.25])   # lower hull of (w_j, -b_j): the plane 0
    np.float64(0.0)
    >>> lp.with_eps(1.0).fenchel_young_gap([0.0, 0.0], [1/3, 1/3]) < 1e-12
    np.True_
    """

    __slots__ = ()

    def __repr__(self):
        return f"EntropicLP(N={self.N}, d={self.d}, eps={self._eps!r})"

    def __eq__(self, other):
        if not isinstance(other, EntropicLP):
            return NotImplemented
        return (self._eps == other._eps and np.array_equal(self._W, other._W)
                and np.array_equal(self._b, other._b))

    def __hash__(self):
        return hash((self._eps, self._W.tobytes(), self._b.tobytes()))

    def with_eps(self, eps):
        """The same programme at temperature ``eps``.

        Examples
        --------
        >>> from tropical.views.convex import EntropicLP
        >>> EntropicLP([[1.0]], [0.0]).with_eps(0.5)
        EntropicLP(N=1, d=1, eps=0.5)
        """
        return EntropicLP(self._W, self._b, eps)

    def to_network(self):
        """The network view: ``LSELayer(W, b, eps)``, whose value is the same ``f_eps``.

        Examples
        --------
        >>> from tropical.views.convex import EntropicLP
        >>> EntropicLP([[1.0], [-1.0]], [0.0, 0.0], eps=0.25).to_network()
        LSELayer(N=2, d=1, eps=0.25)
        """
        from .network import LSELayer

        return LSELayer(self._W, self._b, self._eps)

    # -- points -----------------------------------------------------------------
    def _points(self, x, name="x"):
        X = _finite(x, name)
        if self.d == 1 and (X.ndim == 0 or X.shape[-1] != 1):
            X = X[..., None]
        if X.ndim == 0 or X.shape[-1] != self.d:
            raise ValueError(f"{name} must have shape (..., {self.d}), got {np.shape(x)}")
        return X

    # -- the primal problem -------------------------------------------------------
    def solve(self, x, rtol=_DEFAULT_RTOL, max_iter=100, method="highs"):
        """Solve ``max { <pi, W x + b> + eps*H(pi) : pi in simplex }`` with a certified gap.

        Parameters
        ----------
        x : array_like, shape (..., d)
            Finite points (for ``d = 1`` the trailing axis may be omitted).
        rtol : float, default 1e-12
            Target ``gap <= rtol * scale``, ``scale = max_j (|w_j|.|x| + |b_j|)
            + eps*max(1, log N)``.
        max_iter : int, default 100
            Newton iterations (``eps > 0``).
        method : {"highs", "pivot"}, default "highs"
            The ``eps = 0`` solver: HiGHS, or the one-pivot simplex method
            (module docstring); both certify the vertex exactly. Ignored for
            ``eps > 0``.

        Returns
        -------
        LPSolution

        Examples
        --------
        >>> from tropical.views.convex import EntropicLP
        >>> sol = EntropicLP([[1.0], [-1.0]], [0.0, 0.0], eps=1.0).solve([[0.0], [3.0]])
        >>> bool((sol.gap <= sol.tol).all()), sol.pi.shape
        (True, (2, 2))
        >>> bool((sol.lower <= sol.value).all() and (sol.value <= sol.upper).all())
        True
        """
        rtol = _check_rtol(rtol)
        max_iter = check_int(max_iter, "max_iter", minimum=1)
        if method not in ("highs", "pivot"):
            raise ValueError(f"method must be 'highs' or 'pivot', got {method!r}")
        X = self._points(x)
        lead = X.shape[:-1]
        X2 = np.ascontiguousarray(X.reshape(-1, self.d))
        if self._eps > 0:
            out = _newton_dual_points(X2, self._W, self._b, self._eps, rtol, max_iter)
            tol = out[-1]
            out = out[:-1]
        else:
            A = X2 @ self._W.T + self._b
            # rounding of a = W x + b: the optimum is 1-Lipschitz in max-norm of a;
            # the scale max_j (|w_j|.|x| + |b_j|) in one compiled pass
            mag_max = np.zeros(X2.shape[0])
            if A.shape[0]:
                row_kernel("affine_scale_rows", A.size)(X2, np.ascontiguousarray(self._W.T),
                                                        self._b, mag_max)
            err_a = (self.d + 2) * _U * mag_max * (1 + 1e-6)
            tol = rtol * mag_max
            out = _lp_highs(A, err_a) if method == "highs" else _lp_pivot(A, err_a)
        value, pi, lower, upper, its, face, ent = out
        sol = LPSolution(value.reshape(lead)[()], pi.reshape(lead + (self.N,)),
                         lower.reshape(lead)[()], upper.reshape(lead)[()], tol.reshape(lead)[()],
                         its.reshape(lead)[()],
                         None if face is None else face.reshape(lead + (self.N,)),
                         ent.reshape(lead)[()])
        return sol

    def _solved(self, x):
        sol = self.solve(x)
        if not sol.converged:  # pragma: no cover - Newton converges in ~log N + 5 steps
            raise RuntimeError("EntropicLP: the optimiser did not certify its gap "
                               f"(largest gap {np.max(sol.gap)!r}, tolerance {np.min(sol.tol)!r})")
        return sol

    def value(self, x):
        """``f_eps(x)``, the optimal value, by the certified optimiser of :meth:`solve`.

        Parameters
        ----------
        x : array_like, shape (..., d)

        Returns
        -------
        ndarray, shape (...)

        Examples
        --------
        >>> from tropical.views.convex import EntropicLP
        >>> lp = EntropicLP([[1.0], [-1.0]], [0.0, 0.0], eps=0.0)
        >>> lp.value([[-2.0], [3.0]])   # |x|
        array([2., 3.])
        """
        return self._solved(x).value

    def argmax(self, x):
        """The maximising ``pi``: the Gibbs vector (``eps > 0``), an optimal vertex (``eps = 0``).

        Parameters
        ----------
        x : array_like, shape (..., d)

        Returns
        -------
        ndarray, shape (..., N)

        Examples
        --------
        >>> from tropical.views.convex import EntropicLP
        >>> EntropicLP([[1.0], [-1.0]], [0.0, 0.0], eps=0.0).argmax([[-2.0], [3.0]])
        array([[0., 1.],
               [1., 0.]])
        """
        return self._solved(x).pi

    # -- the conjugate ------------------------------------------------------------
    def solve_conjugate(self, y, rtol=_DEFAULT_RTOL, max_iter=200):
        """``f_eps*(y)`` at one point ``y`` with its certificate.

        Parameters
        ----------
        y : array_like, shape (d,)
        rtol : float, default 1e-12
            Target ``gap <= rtol * scale`` (``eps > 0``), ``scale = |<x, y>| +
            max_j (|w_j.x| + |b_j|) + eps*max(1, log N)`` at the dual point ``x``.
        max_iter : int, default 200
            Newton iterations (``eps > 0``).

        Returns
        -------
        ConjugateSolution

        Examples
        --------
        >>> from tropical.views.convex import EntropicLP
        >>> lp = EntropicLP([[0.0], [1.0]], [0.0, 0.0], eps=1.0)
        >>> s = lp.solve_conjugate([0.5])
        >>> round(float(s.value), 12), s.inside, bool(s.gap <= s.tol)
        (-0.69314718056, True, True)
        >>> lp.solve_conjugate([1.5]).separator
        array([1.])
        """
        rtol = _check_rtol(rtol)
        max_iter = check_int(max_iter, "max_iter", minimum=1)
        Y = self._points(y, "y")
        if Y.shape != (self.d,):
            raise ValueError(f"y must be one point of shape ({self.d},), got {np.shape(y)}; "
                             "use conjugate() for several points")
        return self._conjugate_one(Y, rtol, max_iter)

    def conjugate(self, y):
        """``f_eps*(y) = min { eps*sum pi log pi - <pi, b> : pi in simplex, W^T pi = y }``.

        ``+inf`` outside ``conv{w_j}`` (decided exactly). At ``eps = 0`` the
        lower-hull function of the lifted points ``(w_j, -b_j)``, exactly
        rounded.

        Parameters
        ----------
        y : array_like, shape (..., d)

        Returns
        -------
        ndarray, shape (...)

        Examples
        --------
        >>> from tropical.views.convex import EntropicLP
        >>> lp = EntropicLP([[0.0], [1.0], [2.0]], [0.0, 1.0, 0.0], eps=0.0)
        >>> lp.conjugate([[0.5], [1.0], [2.0], [2.5]])   # lower hull of (0,0), (1,-1), (2,0)
        array([-0.5, -1. ,  0. ,  inf])
        """
        Y = self._points(y, "y")
        lead = Y.shape[:-1]
        Y2 = Y.reshape(-1, self.d)
        out = np.empty(len(Y2))
        for i, yi in enumerate(Y2):
            s = self._conjugate_one(yi, _DEFAULT_RTOL, 200)
            if not s.converged:  # pragma: no cover - guarded by the Newton iteration
                raise RuntimeError(f"EntropicLP.conjugate: no certified value at y = {yi} "
                                   f"(gap {s.gap!r} > tolerance {s.tol!r})")
            out[i] = s.value
        return out.reshape(lead)[()]

    def fenchel_young_gap(self, x, y):
        """``f_eps(x) + f_eps*(y) - <x, y>``: ``>= 0``, and ``0`` iff ``y = grad f_eps(x)``.

        Parameters
        ----------
        x, y : array_like, shape (..., d)
            Broadcast against each other.

        Returns
        -------
        ndarray, shape (...)
            ``+inf`` where ``y`` is outside ``conv{w_j}``.

        Examples
        --------
        >>> from tropical.views.convex import EntropicLP
        >>> lp = EntropicLP([[1.0], [-1.0]], [0.0, 0.0], eps=1.0)
        >>> y = lp.argmax([0.3]) @ lp.W        # grad f(0.3) = tanh(0.3)
        >>> float(abs(lp.fenchel_young_gap([0.3], y))) < 1e-12
        True
        >>> float(lp.fenchel_young_gap([0.3], [0.9])) > 0.1
        True
        """
        X = self._points(x)
        Y = self._points(y, "y")
        try:
            X, Y = np.broadcast_arrays(X, Y)
        except ValueError:
            raise ValueError(f"x {X.shape} and y {Y.shape} do not broadcast") from None
        fx = self.value(X)
        fy = self.conjugate(Y)
        with np.errstate(invalid="ignore"):
            return (fx + fy - np.einsum("...k,...k->...", X, Y))[()]

    # -- conjugate internals --------------------------------------------------------
    def _conjugate_one(self, y, rtol, max_iter):
        lp0 = _conjugate_lp0(self._W, self._b, y)
        if not lp0["inside"]:
            return ConjugateSolution(np.float64(np.inf), False, separator=lp0["separator"],
                                     iterations=lp0["rounds"])
        if self._eps == 0:
            F = lp0["value"]
            v = np.float64(float(F))
            lo, hi = _bracket(F, v)
            pi = np.zeros(self.N)
            for j, p in lp0["pi"].items():
                pi[j] = float(p)
            face = np.zeros(self.N, dtype=bool)
            face[list(lp0["pi"])] = True
            return ConjugateSolution(v, True, pi=pi, x=lp0["x"], lower=lo, upper=hi, tol=hi - lo,
                                     face=face, iterations=lp0["rounds"])
        face = _minimal_face(self._W, y, lp0["support"])
        return _newton_conjugate(self._W, self._b, self._eps, y, face, lp0["x"], rtol, max_iter)


# ---------------------------------------------------------------------------
# eps > 0: Newton on the one-dimensional Lagrangian dual
# ---------------------------------------------------------------------------
def _newton_dual_points(X, W, b, eps, rtol, max_iter):
    """The certified Newton iteration at points ``X`` (kernel ``entropic_dual_points``).

    ``a = W x + b`` and its rounding scale are formed per point inside the
    kernel. Returns value, pi, lower, upper, iterations, None, entropy, tol.
    """
    P, N = X.shape[0], W.shape[0]
    value, lower, upper, ent, tol, err_a = (np.empty(P) for _ in range(6))
    pi = np.empty((P, N))
    its = np.zeros(P, dtype=np.int64)
    if P:
        row_kernel("entropic_dual_points", P * N)(
            X, np.ascontiguousarray(W.T), b, float(eps), float(rtol), int(max_iter), value, pi,
            lower, upper, its, ent, tol, err_a)
    return value, pi, lower, upper, its, None, ent, tol


# ---------------------------------------------------------------------------
# eps = 0: the LP over the simplex through HiGHS, certified exactly
# ---------------------------------------------------------------------------
def _lp_highs(A, err_a):
    """One LP ``max <pi, a>`` over the simplex per row of ``A``, block-diagonal HiGHS batches."""
    from scipy import sparse
    from scipy.optimize import linprog

    P, N = A.shape
    pi_h = np.zeros((P, N))
    per = max(1, _LP_BLOCK // max(N, 1))
    ok = np.zeros(P, dtype=bool)
    for start in range(0, P, per):
        rows = np.arange(start, min(P, start + per))
        k = len(rows)
        Aeq = sparse.kron(sparse.eye(k, format="csr"), np.ones((1, N)), format="csr")
        res = linprog(-A[rows].ravel(), A_eq=Aeq, b_eq=np.ones(k), bounds=(0, None),
                      method="highs")
        if res.status == 0 and res.x is not None:
            pi_h[rows] = res.x.reshape(k, N)
            ok[rows] = True
    # the basic variable HiGHS chose (a vertex e_j), then exact certification
    j = np.where(ok, np.argmax(pi_h, axis=1), 0) if P else np.zeros(0, dtype=np.int64)
    lam = A[np.arange(P), j]
    its = np.ones(P, dtype=np.int64)
    bad = (A > lam[:, None]).any(axis=1)  # a positive reduced cost: not optimal exactly
    if bad.any():
        # one simplex pivot, Dantzig's rule: enter the term of largest reduced cost;
        # for this LP the new vertex is optimal (all reduced costs become <= 0)
        rc = A[bad] - lam[bad, None]
        j[bad] = np.argmax(rc, axis=1)
        lam = A[np.arange(P), j]
        its[bad] += 1
    if (A > lam[:, None]).any():  # pragma: no cover - impossible after the pivot
        raise RuntimeError("EntropicLP: could not certify the LP optimum")
    pi = np.zeros((P, N))
    pi[np.arange(P), j] = 1.0
    face = A == lam[:, None]
    value = lam.copy()
    return value, pi, lam - err_a, lam + err_a, its, face, np.zeros(P)


def _lp_pivot(A, err_a):
    """The simplex method on ``max <pi, a>`` over the simplex, from the vertex ``e_1``.

    Dantzig's rule enters the term of largest reduced cost ``a_k - a_1``; the
    new vertex has every reduced cost ``<= 0``, which is checked exactly (the
    dual ``lam = a_j`` is feasible: ``a_k <= lam`` for every ``k``). The
    reduced costs are rounded, so two terms may tie in them though not in
    ``a``: the check then finds a positive reduced cost and one more pivot
    follows (each strictly increases ``a_j``).
    """
    P, N = A.shape
    rows = np.arange(P)
    j = np.zeros(P, dtype=np.int64)
    its = np.ones(P, dtype=np.int64)
    todo = rows
    # reduced costs a_k - a_j are rounded: a term strictly better than the
    # entered one can round to the same reduced cost, so pivot again while the
    # exact check finds a positive one (each pivot strictly increases a_j)
    for _ in range(N + 1):
        lam = A[todo, j[todo]]
        bad = (A[todo] > lam[:, None]).any(axis=1)
        todo = todo[bad]
        if not len(todo):
            break
        rc = A[todo] - lam[bad, None]
        j[todo] = np.argmax(rc, axis=1)
        its[todo] += 1
    lam = A[rows, j]
    if (A > lam[:, None]).any():  # pragma: no cover - each pivot strictly improves
        raise RuntimeError("EntropicLP: could not certify the LP optimum")
    pi = np.zeros((P, N))
    pi[rows, j] = 1.0
    face = A == lam[:, None]
    return lam.copy(), pi, lam - err_a, lam + err_a, its, face, np.zeros(P)


# ---------------------------------------------------------------------------
# exact rational helpers
# ---------------------------------------------------------------------------
def _bracket(F: Fraction, v: float):
    """The floats just below / above the exact ``F`` (``v = float(F)``)."""
    Fv = Fraction(float(v))
    if Fv == F:
        return np.float64(v), np.float64(v)
    if Fv > F:
        return np.float64(np.nextafter(v, -np.inf)), np.float64(v)
    return np.float64(v), np.float64(np.nextafter(v, np.inf))


def _fr_rows(W, b, cols):
    return ([tuple(Fraction(float(t)) for t in W[j]) for j in cols],
            [Fraction(float(b[j])) for j in cols])


def _exact_restricted(W, b, y, cols):
    """Exact ``min -<pi, b>`` s.t. ``W^T pi = y``, ``sum pi = 1``, ``pi >= 0``, on ``cols`` only."""
    from .. import _hull

    d = W.shape[1]
    Wc, bc = _fr_rows(W, b, cols)
    Amat = [[Wc[k][r] for k in range(len(cols))] for r in range(d)]
    Amat.append([Fraction(1)] * len(cols))
    rhs = [Fraction(float(t)) for t in y] + [Fraction(1)]
    cost = [-v for v in bc]
    return _hull.exact_simplex(Amat, rhs, cost)


def _dual_violations(W, b, x, lam, limit):
    """Exact indices ``j`` with ``w_j.x + lam > -b_j`` (the exact dual ``(x, lam)`` infeasible).

    A rigorous floating-point filter decides most terms; the rest use Fractions.
    At most ``limit`` of the most violated terms are returned (none: feasible).
    """
    d = W.shape[1]
    xf = np.array([float(t) for t in x])
    lf = float(lam)
    with np.errstate(all="ignore"):
        v = W @ xf + lf + b
        mag = np.abs(W) @ np.abs(xf) + abs(lf) + np.abs(b)
    err = 4 * (d + 4) * _U * mag * (1 + 1e-6)
    sure_ok = v < -err
    sure_bad = v > err
    bad = np.flatnonzero(sure_bad)
    if len(bad):
        return [int(j) for j in bad[np.argsort(-v[bad])][:limit]]
    out = []
    for j in np.flatnonzero(~sure_ok & ~sure_bad):
        j = int(j)
        lhs = sum(Fraction(float(W[j, k])) * x[k] for k in range(d)) + lam + Fraction(float(b[j]))
        if lhs > 0:
            out.append(j)
    return out[:limit]


def _separator(W, y):
    """A direction ``n`` with ``<n, y> > max_j <n, w_j>``, checked exactly, or ``None``.

    Proposed by the dual of the distance LP ``min t : |W^T pi - y|_inf <= t``.
    """
    from scipy.optimize import linprog

    from .. import _hull

    N, d = W.shape
    Aub = np.block([[W.T, -np.ones((d, 1))], [-W.T, -np.ones((d, 1))]])
    bub = np.r_[y, -y]
    Aeq = np.r_[np.ones(N), 0.0][None, :]
    res = linprog(np.r_[np.zeros(N), 1.0], A_ub=Aub, b_ub=bub, A_eq=Aeq, b_eq=[1.0],
                  bounds=(0, None), method="highs")
    cands = []
    if res.status == 0:
        mu = np.asarray(res.ineqlin.marginals)
        n = mu[d:] - mu[:d]
        if np.any(n != 0):
            cands += [n, -n]
    # fallback proposals: the direction from the closest point of the LP, and the
    # normals of the affine hull of its support (a facet just inside of y)
    if res.status == 0:
        near = W.T @ res.x[:N]
        cands.append(y - near)
        S = np.flatnonzero(res.x[:N] > 1e-12)
        if 2 <= len(S) <= d:
            Vt = np.linalg.svd(W[S[1:]] - W[S[0]])[2]
            for n in Vt[len(S) - 1:]:
                cands += [n, -n]
    E = np.vstack([W, y[None, :]])
    ex = _hull._Exact(E, np.zeros(N + 1))
    for n in cands:
        if not np.all(np.isfinite(n)) or not np.any(n != 0):
            continue
        ok, _ = _hull._strict_max_at(E, np.zeros(N + 1), ex, N, np.asarray(n, dtype=np.float64))
        if ok:
            return np.asarray(n, dtype=np.float64)
    return None


def _conjugate_lp0(W, b, y):
    """Exact ``f_0*(y) = min { -<pi, b> : pi in simplex, W^T pi = y }`` and membership.

    Returns a dict: inside, value (Fraction), pi ({j: Fraction}), x (dual point,
    float array), support (HiGHS support), separator, rounds.
    """
    from scipy.optimize import linprog

    N, d = W.shape
    Aeq = np.vstack([W.T, np.ones((1, N))])
    res = linprog(-b, A_eq=Aeq, b_eq=np.r_[y, 1.0], bounds=(0, None), method="highs")
    cols = None
    support = np.zeros(N, dtype=bool)
    if res.status == 0:
        xh = res.x
        support = xh > 0
        cols = set(np.flatnonzero(xh > 1e-13 * xh.max()).tolist())
        # the terms HiGHS's dual holds (nearly) tight: they carry the exact dual vertex
        rc = np.asarray(res.lower.marginals)
        tight = np.argsort(rc)[: 2 * (d + 1)]
        rc_scale = 1e-9 * (1.0 + float(np.abs(b).max()))
        cols |= {int(j) for j in tight if rc[j] <= rc_scale}
        cols = sorted(cols)
    else:
        sep = _separator(W, y)
        if sep is not None:
            return {"inside": False, "separator": sep, "rounds": 1}
    rounds = 0
    if cols is not None:
        for rounds in range(1, 61):
            sol = _exact_restricted(W, b, y, cols)
            if sol is None:
                break
            value, xs, duals = sol
            xdual, lam = duals[:d], duals[d]
            viol = _dual_violations(W, b, xdual, lam, limit=2 * (d + 1))
            if not viol:
                pi = {cols[k]: v for k, v in enumerate(xs) if v != 0}
                return {"inside": True, "value": value, "pi": pi,
                        "x": np.array([float(t) for t in xdual]), "support": support,
                        "separator": None, "rounds": rounds}
            cols = sorted(set(cols) | set(viol))
        else:  # pragma: no cover - constraint generation converges in a few rounds
            cols = None
    sep = _separator(W, y)
    if sep is not None:
        return {"inside": False, "separator": sep, "rounds": rounds + 1}
    # last resort: the exact simplex method on every term
    allc = list(range(N))
    sol = _exact_restricted(W, b, y, allc)
    if sol is None:
        return {"inside": False, "separator": None, "rounds": rounds + 1}
    value, xs, duals = sol
    pi = {j: v for j, v in enumerate(xs) if v != 0}
    return {"inside": True, "value": value, "pi": pi,
            "x": np.array([float(t) for t in duals[:d]]),
            "support": np.array([v > 0 for v in xs]), "separator": None, "rounds": rounds + 1}


def _minimal_face(W, y, support):
    """Terms on the minimal face of ``conv{w_j}`` containing ``y`` (maximal-support LP).

    ``max sum z`` s.t. ``W^T pi = tau*y``, ``sum pi = tau``, ``0 <= z <= min(pi, 1)``:
    the optimum has ``z_j = 1`` exactly on the terms that some feasible ``pi``
    charges, i.e. on the minimal face.
    """
    from scipy import sparse
    from scipy.optimize import linprog

    N, d = W.shape
    # variables: pi (N), tau (1), z (N)
    top = sparse.hstack([sparse.csr_matrix(W.T), sparse.csr_matrix(-y[:, None]),
                         sparse.csr_matrix((d, N))])
    mid = sparse.hstack([sparse.csr_matrix(np.ones((1, N))), sparse.csr_matrix([[-1.0]]),
                         sparse.csr_matrix((1, N))])
    Aeq = sparse.vstack([top, mid]).tocsr()
    Aub = sparse.hstack([-sparse.eye(N), sparse.csr_matrix((N, 1)), sparse.eye(N)]).tocsr()
    c = np.r_[np.zeros(N + 1), -np.ones(N)]
    bounds = [(0, None)] * (N + 1) + [(0, 1)] * N
    res = linprog(c, A_ub=Aub, b_ub=np.zeros(N), A_eq=Aeq, b_eq=np.zeros(d + 1),
                  bounds=bounds, method="highs")
    face = np.asarray(support, dtype=bool).copy()
    if res.status == 0:
        face |= res.x[N + 1:] > 0.5
    else:  # pragma: no cover - the LP is feasible (pi = 0) and bounded (z <= 1)
        face[:] = True
    return face


# ---------------------------------------------------------------------------
# eps > 0 conjugate: Newton on the dual, restricted to the minimal face
# ---------------------------------------------------------------------------
def _lse(v, eps):
    m = v.max()
    return m + eps * math.log(np.exp((v - m) / eps).sum())


def _newton_conjugate(W, b, eps, y, face, x0, rtol, max_iter):
    N, d = W.shape
    J = np.flatnonzero(face)
    WJ, bJ = W[J], b[J]
    C = WJ - y  # centred rows: w_j - y
    # orthonormal basis of the linear span of the face's affine hull
    if len(J) > 1 or np.any(C != 0):
        _, sv, Vt = np.linalg.svd(C, full_matrices=False)
        thr = sv.max() * max(C.shape) * 16 * _U if sv.size else 0.0
        r = int(np.count_nonzero(sv > thr))
        V = Vt[:r].T
    else:
        V = np.zeros((d, 0))
    U = C @ V  # coordinates of w_j - y in the face's span
    logN = eps * max(1.0, math.log(N))
    # feasibility of the corrected pi holds to rounding: |(W_J - y)^T q| of a few ulps
    resid_ok = 64 * (math.log2(max(N, 2)) + 4) * _U * (float(np.abs(C).max()) if C.size else 0.0)

    def phi(z):  # LSE_eps(U z + b_J) = f_J(x) - <x, y> at x = V z
        return _lse(U @ z + bJ, eps)

    def _lse_small(w):  # LSE_eps(w) for max(w) near 0, accurate to ulps of eps*sum
        k = int(np.argmax(w))
        e = np.exp((w - w[k]) / eps)
        e[k] = 0.0
        return w[k] + eps * math.log1p(e.sum())

    def dphi(z, dz):  # phi(z + dz) - phi(z) without cancellation against phi's size
        v0 = U @ z + bJ
        w0 = v0 - v0.max()
        return _lse_small(U @ dz + w0) - _lse_small(w0)

    def gibbs(z):
        v = U @ z + bJ
        e = np.exp((v - v.max()) / eps)
        return e / e.sum()

    def certificate(z):
        x = V @ z
        v = WJ @ x + bJ
        fJ = _lse(v, eps)
        xy = float(x @ y)
        lower = xy - fJ  # weak duality: <x, y> - f_J(x) <= f*(y)
        p = gibbs(z)
        # correction of least relative size (the metric of the entropy, diag(1/p)):
        # (W_J - y)^T (p + delta) = 0, sum(p + delta) = 1, delta = 0 where p = 0
        M = np.vstack([C.T, np.ones((1, len(J)))])
        rhs = np.r_[-(C.T @ p), 1.0 - p.sum()]
        sq = np.sqrt(p)
        delta = sq * np.linalg.lstsq(M * sq, rhs, rcond=None)[0]
        q = np.maximum(p + delta, 0.0)
        q /= q.sum()
        logq = np.log(np.where(q > 0, q, 1.0))
        upper = eps * float(q @ logq) - float(q @ bJ)
        resid = float(np.abs(C.T @ q).max()) if d else 0.0
        if resid > resid_ok:  # the corrected pi is not feasible (to rounding): no bound
            upper = np.inf
        scale = abs(xy) + float(np.max(np.abs(WJ @ x) + np.abs(bJ))) + logN
        pad = 64 * (math.log2(max(N, 2)) + d + 4) * _U * scale
        return lower - pad, upper + pad, q, x, rtol * scale, resid

    # warm start: the exact eps = 0 dual point (projected on the face's span);
    # f_eps* - f_0* is at most eps*log N, and the Gibbs weights there sit on the
    # exact optimal vertex's support
    z = V.T @ x0 if x0 is not None else np.zeros(V.shape[1])
    best = None
    it = 0
    for it in range(max_iter):
        lo, hi, q, x, tol, resid = certificate(z)
        improved = best is None or hi - lo < 0.5 * (best[1] - best[0])
        if best is None or hi - lo < best[1] - best[0]:
            best = (lo, hi, q, x, tol, resid)
        # converged: within tolerance, and at rounding level or no longer improving
        if V.shape[1] == 0 or (hi - lo <= tol and (hi - lo <= tol / 64 or not improved)):
            break
        p = gibbs(z)
        g = U.T @ p
        Uc = U - g
        H = (Uc.T * p) @ Uc / eps
        moved = False
        # damped Newton; where the Hessian is (nearly) singular (the Gibbs
        # weights sit on one term) the step is regularised towards the gradient
        for mu in (0.0, 1e-8, 1e-4, 1.0, None):
            if mu is None:
                step = -g * (eps / max(float(np.abs(U).max()), 1e-300) ** 2)
            else:
                Hm = H + mu * np.trace(H) / max(len(g), 1) * np.eye(len(g))
                try:
                    step = -np.linalg.solve(Hm, g)
                except np.linalg.LinAlgError:
                    continue
            slope = float(g @ step)
            if not (np.all(np.isfinite(step)) and slope < 0):
                continue
            # trust region: no step longer than the span of the data in the dual
            limit = 10.0 * (1.0 + float(np.abs(z).max(initial=0.0))) + 50.0 * eps
            norm = float(np.abs(step).max())
            if norm > limit:
                step, slope = step * (limit / norm), slope * (limit / norm)
            t = 1.0
            while t > 1e-20:
                if dphi(z, t * step) <= 0.25 * t * slope:
                    moved = True
                    break
                t *= 0.5
            if moved:
                z = z + t * step
                break
        if not moved:
            break  # no decrease is measurable: the iterate is optimal to rounding
    lo, hi, q, x, tol, resid = best
    pi = np.zeros(N)
    pi[J] = q
    value = np.float64(0.5 * (lo + hi))
    return ConjugateSolution(value, True, pi=pi, x=x, lower=np.float64(lo), upper=np.float64(hi),
                             tol=tol, face=face, residual=resid, iterations=it + 1)
