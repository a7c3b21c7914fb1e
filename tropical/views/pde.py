r"""The PDE view: the Hopf-Cole solution of viscous Hamilton-Jacobi.

``u_t + |grad u|^2 = eps * Laplacian(u)`` on ``R^d x (0, inf)`` (Hamiltonian
``|p|^2``, viscosity ``eps``), with initial data carried by points ``y_j``
(rows of ``y``, shape ``(N, d)``) with values ``g_j``
(``../shared/design/MATH.md`` sections 2-3):

* ``u_eps(x, t) = -eps * log sum_j exp(-(g_j + |x - y_j|^2/(4t)) / eps)``
  (heat-kernel normalisation dropped), which satisfies
  ``u_t + |grad u|^2 - eps*Laplacian(u) = -eps*d/(2t)`` exactly;
  with ``normalized=True`` the constant ``(eps*d/2)*log(4*pi*eps*t)`` is added
  and the residual is ``0``;
* ``eps = 0``: the Hopf-Lax formula ``u_0(x, t) = min_j (g_j + |x - y_j|^2/(4t))``;
* Cole-Hopf: ``v = exp(-u/eps)`` (normalised ``u``) solves the heat equation
  ``v_t = eps*Laplacian(v)``; :func:`heat_fd_solve` integrates it by finite
  differences, independently of the closed form;
* the exact dictionary with the network view (:class:`tropical.views.network.LSELayer`)
  ``w_j = y_j/(2t)``, ``b_j = -g_j - |y_j|^2/(4t)``, under which
  ``f_eps(x) = |x|^2/(4t) - u_eps(x, t)`` for every ``eps >= 0``.

Closed-form derivatives. With ``a_j = g_j + |x - y_j|^2/(4t)``, Gibbs weights
``pi = softmax(-a/eps)`` (:meth:`HopfCole.gibbs`) and ``z_j = (x - y_j)/(2t)``
(``E`` the expectation under ``pi``, ``Var = E|z|^2 - |E z|^2 = E|z - E z|^2``):

* ``u_t = -E|z|^2`` (``+ eps*d/(2t)`` when normalised),
* ``grad u = E z``,
* ``Laplacian(u) = d/(2t) - Var/eps``,

so that ``u_t + |grad u|^2 - eps*Laplacian(u) = -E|z|^2 + |E z|^2 - eps*d/(2t) + Var
= -eps*d/(2t)``. Every log-sum-exp and softmax goes through :func:`tropical.lse`
and :func:`tropical.softmax` (min sense): no overflow at any ``eps``, ``1e-300``
included, nor at points far from every ``y_j``.

Examples
--------
>>> from tropical.views.pde import HopfCole
>>> hc = HopfCole([[-1.0], [1.0]], [0.0, 0.0], eps=0.0)
>>> hc.u([[0.0], [3.0]], t=0.5)          # min_j |x - y_j|^2 / 2
array([0.5, 2. ])
>>> round(float(hc.with_eps(1.0).u([0.0], t=0.5)), 12)   # 0.5 - log 2
-0.19314718056
"""

from __future__ import annotations

import dataclasses
import math
import numbers

import numpy as np

from .. import _ops
from .._validate import _to_array, as_semiring_array, check_eps, check_int

__all__ = [
    "HopfCole",
    "HopfColeEvaluation",
    "SamplingInfo",
    "from_initial_data",
    "heat_fd_solve",
    "fd_convergence",
    "HeatFDResult",
    "FDConvergence",
]

_U = np.finfo(np.float64).eps / 2  # unit roundoff of float64


# ----------------------------------------------------------------------------- validation
def _finite_array(data, name):
    """A float64 array of finite reals; NaN and both infinities rejected, naming ``name``."""
    raw = _to_array(data, name)
    if raw.dtype.kind == "f" and raw.size and np.isinf(raw).any():
        idx = tuple(int(i) for i in np.argwhere(np.isinf(raw))[0]) if raw.ndim else ()
        where = f" at index {idx}" if raw.ndim else ""
        raise ValueError(f"{name} must be finite, got {raw[idx]}{where}")
    return np.asarray(as_semiring_array(raw, name, float32_ok=False), dtype=np.float64)


def _check_time_scalar(t, name="t"):
    if isinstance(t, (bool, np.bool_)) or not isinstance(t, numbers.Real):
        raise TypeError(f"{name} must be a real number > 0, got {type(t).__name__} {t!r}")
    value = float(t)
    if math.isnan(value):
        raise ValueError(f"{name} must be a real number > 0, got NaN")
    if math.isinf(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return value


def _check_time_array(t, name="t"):
    if isinstance(t, (bool, np.bool_)):
        raise TypeError(f"{name} must be a real number > 0, got bool {t!r}")
    arr = _finite_array(t, name)
    if arr.size and not (arr > 0).all():
        idx = tuple(int(i) for i in np.argwhere(~(arr > 0))[0]) if arr.ndim else ()
        raise ValueError(f"{name} must be > 0, got {arr[idx]}" + (f" at index {idx}" if idx else ""))
    return arr


@dataclasses.dataclass(frozen=True)
class SamplingInfo:
    """How a :class:`HopfCole` was sampled from continuous initial data.

    Attributes
    ----------
    lipschitz : float
        The Lipschitz constant ``L`` of the initial datum ``g``.
    covering_radius : float or None
        ``r``: every point of ``box`` lies within ``r`` of a sample point
        (``h*sqrt(d)/2`` for a grid of spacing ``h``); ``None`` if unknown.
    box : tuple of ndarray or None
        ``(lo, hi)`` of the sampled region.
    quadrature : bool
        Whether the samples carry the cell volume ``h^d`` as a quadrature
        weight (then the model is normalised and approximates the viscous
        solution of the continuous data).
    cell_volume : float or None
    """

    lipschitz: float
    covering_radius: float | None
    box: tuple | None
    quadrature: bool = False
    cell_volume: float | None = None


@dataclasses.dataclass(frozen=True)
class HopfColeEvaluation:
    """Everything one pass of :meth:`HopfCole.evaluate` computes at a batch of points.

    Attributes
    ----------
    u : ndarray, shape (...)
        ``u_eps(x, t)`` (with the normalisation constant when the model is
        normalised).
    hopf_lax : ndarray, shape (...)
        ``min_j a_j = u_0(x, t)``, ``a_j = g_j + |x - y_j|^2/(4t)``.
    gibbs : ndarray, shape (..., N), or None
        ``softmax(-a/eps)`` (``None`` when not requested).
    entropy : ndarray, shape (...)
        ``H(pi) = log s + sum_j pi_j (a_j - min a)/eps`` (no logarithm per
        term), ``log k`` at ``eps = 0``.
    multiplicity : ndarray of float, shape (...), or None
        How many ``j`` attain ``min_j a_j`` (``None`` with ``stats=False``).
    second : ndarray, shape (...)
        The smallest ``a_j`` above the minimum (``+inf`` if none).
    grad_u, laplacian_u, u_t : ndarray or None
        The closed-form derivatives (as :meth:`HopfCole.grad_u`,
        :meth:`HopfCole.laplacian_u`, :meth:`HopfCole.u_t`) when
        ``derivatives=True``.
    """

    u: np.ndarray
    hopf_lax: np.ndarray
    gibbs: np.ndarray | None
    entropy: np.ndarray
    multiplicity: np.ndarray
    second: np.ndarray
    grad_u: np.ndarray | None = None
    laplacian_u: np.ndarray | None = None
    u_t: np.ndarray | None = None


# ----------------------------------------------------------------------------- the model
class HopfCole:
    r"""The Hopf-Cole solution of ``u_t + |grad u|^2 = eps*Laplacian(u)`` for point data.

    Initial data: the value ``g_j`` at the point ``y_j`` (and ``+inf``
    elsewhere). For ``t > 0``

    ``u(x, t) = -eps * log sum_j exp(-(g_j + |x - y_j|^2/(4t)) / eps)``,
    plus ``(eps*d/2)*log(4*pi*eps*t)`` when ``normalized``; at ``eps = 0``
    the Hopf-Lax formula ``min_j (g_j + |x - y_j|^2/(4t))``.

    Parameters
    ----------
    y : array_like, shape (N, d)
        The points ``y_j``; finite. A 1-D array means ``d = 1``.
    g : array_like, shape (N,)
        The values ``g_j``; finite.
    eps : float, default 0.0
        Viscosity ``>= 0``.
    normalized : bool, default False
        Keep the heat-kernel normalisation: ``u`` is then an exact solution
        (residual ``0``); without it the residual is ``-eps*d/(2t)`` and ``u``
        matches the network view through the exact dictionary.

    Attributes
    ----------
    y, g : ndarray, read-only
    eps : float
    normalized : bool
    N, d : int
    sampling : SamplingInfo or None
        Set by :meth:`from_initial_data`.

    Notes
    -----
    Points ``x`` have shape ``(..., d)`` (for ``d = 1`` also ``(...)``); the
    time ``t`` is a scalar or an array broadcasting with ``x.shape[:-1]``,
    every entry ``> 0``. Every method validates its arguments (NaN, infinite
    or non-positive ``t``, mismatched shapes raise ``ValueError``).

    Examples
    --------
    >>> import numpy as np
    >>> from tropical.views.pde import HopfCole
    >>> hc = HopfCole([[0.0, 0.0], [2.0, 0.0]], [0.0, 1.0], eps=0.1)
    >>> hc
    HopfCole(N=2, d=2, eps=0.1, normalized=False)
    >>> x = np.array([[0.5, 0.5], [1e6, 0.0]])    # far away: no overflow
    >>> bool(np.isfinite(hc.u(x, t=2.0)).all())
    True
    >>> r = hc.residual(x[:1], t=2.0)             # -eps*d/(2t) = -0.05
    >>> bool(abs(r[0] + 0.05) < 1e-15)
    True
    """

    __slots__ = ("_y", "_g", "_eps", "_normalized", "_sampling")

    def __init__(self, y, g, eps=0.0, normalized=False, *, _sampling=None):
        y = _finite_array(y, "y")
        if y.ndim == 1:
            y = y[:, None]
        if y.ndim != 2 or y.shape[0] == 0 or y.shape[1] == 0:
            raise ValueError(f"y must have shape (N, d) with N, d >= 1, got {y.shape}")
        g = _finite_array(g, "g")
        if g.ndim == 0:
            g = g[None]
        if g.shape != (y.shape[0],):
            raise ValueError(f"g must have shape ({y.shape[0]},) to match y {y.shape}, got {g.shape}")
        if not isinstance(normalized, (bool, np.bool_)):
            raise TypeError(f"normalized must be a bool, got {type(normalized).__name__}")
        y = y.copy()
        g = g.copy()
        y.flags.writeable = False
        g.flags.writeable = False
        self._y, self._g = y, g
        self._eps = check_eps(eps)
        self._normalized = bool(normalized)
        self._sampling = _sampling

    # -- data -------------------------------------------------------------------------
    @property
    def y(self) -> np.ndarray:
        return self._y

    @property
    def g(self) -> np.ndarray:
        return self._g

    @property
    def eps(self) -> float:
        return self._eps

    @property
    def normalized(self) -> bool:
        return self._normalized

    @property
    def N(self) -> int:
        return self._y.shape[0]

    @property
    def d(self) -> int:
        return self._y.shape[1]

    @property
    def sampling(self):
        return self._sampling

    def with_eps(self, eps):
        """The same initial data at viscosity ``eps``.

        Quadrature-weighted samples (:meth:`from_initial_data` with
        ``quadrature=True``) carry ``-eps*log(h^d)`` in ``g`` and are tied to
        their ``eps``: they raise here.
        """
        if self._sampling is not None and self._sampling.quadrature:
            raise ValueError("with_eps: quadrature weights depend on eps; sample the data again "
                             "with from_initial_data(..., eps=...)")
        return HopfCole(self._y, self._g, eps, self._normalized, _sampling=self._sampling)

    def __repr__(self):
        return (f"HopfCole(N={self.N}, d={self.d}, eps={self._eps!r}, "
                f"normalized={self._normalized})")

    def __eq__(self, other):
        if not isinstance(other, HopfCole):
            return NotImplemented
        return (self._eps == other._eps and self._normalized == other._normalized
                and np.array_equal(self._y, other._y) and np.array_equal(self._g, other._g))

    def __hash__(self):
        return hash((self._eps, self._normalized, self._y.tobytes(), self._g.tobytes()))

    # -- internals --------------------------------------------------------------------
    def _points(self, x):
        X = _finite_array(x, "x")
        if self.d == 1 and (X.ndim == 0 or X.shape[-1] != 1):
            X = X[..., None]
        if X.ndim == 0 or X.shape[-1] != self.d:
            raise ValueError(f"x must have shape (..., {self.d}), got {np.shape(x)}")
        return X

    def _setup(self, x, t):
        """``(X, T, D, a)``: points, times (batch shape), ``x - y_j`` and ``a_j``."""
        X = self._points(x)
        T = _check_time_array(t)
        try:
            batch = np.broadcast_shapes(X.shape[:-1], T.shape)
        except ValueError:
            raise ValueError(f"t of shape {T.shape} does not broadcast with the points "
                             f"x of shape {X.shape} (batch {X.shape[:-1]})") from None
        X = np.broadcast_to(X, batch + (self.d,))
        T = np.broadcast_to(T, batch)
        D = X[..., None, :] - self._y                    # (..., N, d)
        sq = np.einsum("...jk,...jk->...j", D, D)        # |x - y_j|^2
        a = self._g + sq / (4.0 * T[..., None])
        return X, T, D, a

    def _norm_term(self, T):
        """``(eps*d/2)*log(4*pi*eps*t)`` (0 when not normalised or eps = 0)."""
        if not self._normalized or self._eps == 0.0:
            return np.zeros_like(T)
        return (0.5 * self._eps * self.d) * np.log((4.0 * math.pi * self._eps) * T)

    def _moments(self, x, t):
        """``(T, pi, z, m, Ez2, var)`` of the Gibbs measure at ``(x, t)``."""
        _, T, D, a = self._setup(x, t)
        pi = _ops.softmax(a, self._eps, sense="min")
        z = D / (2.0 * T)[..., None, None]
        m = np.einsum("...j,...jk->...k", pi, z)
        Ez2 = np.einsum("...j,...jk,...jk->...", pi, z, z)
        zc = z - m[..., None, :]
        var = np.einsum("...j,...jk,...jk->...", pi, zc, zc)
        return T, pi, z, m, Ez2, var

    @staticmethod
    def _scalar(out):
        return out[()] if isinstance(out, np.ndarray) and out.ndim == 0 else out

    # -- values -----------------------------------------------------------------------
    def u(self, x, t):
        """``u_eps(x, t)``, shape ``x.shape[:-1]`` broadcast with ``t``.

        Examples
        --------
        >>> from tropical.views.pde import HopfCole
        >>> HopfCole([[0.0]], [1.0], eps=0.5).u([[2.0]], t=1.0)   # one point: g + |x-y|^2/(4t)
        array([2.])
        """
        _, T, _, a = self._setup(x, t)
        out = _ops.lse(a, self._eps, sense="min") + self._norm_term(T)
        return self._scalar(out)

    __call__ = u

    def evaluate(self, x, t, gibbs=True, derivatives=False, stats=True):
        """``u``, the Hopf-Lax value, the Gibbs weights (and derivatives) in one pass.

        One compiled pass per point (kernel ``hopf_cole_rows``) from the
        model's own data ``(y, g)``: ``a_j = g_j + |x - y_j|^2/(4t)`` with the
        squared distance summed directly over the coordinates (no
        ``|x|^2 - 2 x.y + |y|^2`` expansion: no cancellation far from the
        data, the rounding of :meth:`u`), then the max-shifted log-sum-exp
        and softmax in the min sense. The methods :meth:`u`, :meth:`gibbs`,
        :meth:`hopf_lax`, :meth:`grad_u`, :meth:`laplacian_u` and
        :meth:`u_t` each repeat that work; this computes it once.

        Parameters
        ----------
        x : array_like, shape (..., d)
            Finite points (for ``d = 1`` the trailing axis may be omitted).
        t : float
            One time ``> 0``.
        gibbs : bool, default True
            Also return the Gibbs weights (``(..., N)`` floats).
        derivatives : bool, default False
            Also return ``grad_u``, ``laplacian_u`` and ``u_t``.
        stats : bool, default True
            Also return ``multiplicity`` and ``second`` (one pass more;
            ``None`` otherwise).

        Returns
        -------
        HopfColeEvaluation

        Examples
        --------
        >>> from tropical.views.pde import HopfCole
        >>> hc = HopfCole([[-1.0], [1.0]], [0.0, 0.0], eps=0.0)
        >>> ev = hc.evaluate([[0.0], [3.0]], t=0.5)
        >>> ev.u, ev.multiplicity, ev.second
        (array([0.5, 2. ]), array([2., 1.]), array([inf,  8.]))
        >>> ev1 = hc.with_eps(1.0).evaluate([0.5], t=0.5, derivatives=True)
        >>> bool(abs(ev1.grad_u[0] - hc.with_eps(1.0).grad_u([0.5], t=0.5)[0]) < 1e-15)
        True
        """
        from ._affine import row_kernel

        X = self._points(x)
        t = _check_time_scalar(t)
        lead = X.shape[:-1]
        d, N = self.d, self.N
        X2 = np.ascontiguousarray(X.reshape(-1, d))
        P = X2.shape[0]
        Ps = P if stats else 0
        outs = [np.empty(P), np.empty(P), np.empty(Ps), np.empty(Ps), np.empty(P)]
        G = np.empty((P if gibbs else 0, N))
        Pd = P if derivatives else 0
        grad, ez2, var = np.empty((Pd, d)), np.empty(Pd), np.empty(Pd)
        if P:
            row_kernel("hopf_cole_rows", P * N)(X2, np.ascontiguousarray(self._y.T), self._g, t,
                                                self._eps, *outs, G, grad, ez2, var)
        u, amin, cnt, sec, ent = outs
        T = np.full(P, t)
        u = u + self._norm_term(T)
        rs = lambda a: a.reshape(lead)[()]  # noqa: E731
        extra = {}
        if derivatives:
            base = (0.5 * d) / t
            if self._eps > 0:
                with np.errstate(over="ignore"):
                    lap = base - var / self._eps
            else:
                lap = np.where(var > 16 * N * _U * ez2, -np.inf, base)
            ut = -ez2 + ((0.5 * self._eps * d) / t if self._normalized else 0.0)
            extra = {"grad_u": grad.reshape(lead + (d,)), "laplacian_u": rs(lap),
                     "u_t": rs(ut)}
        return HopfColeEvaluation(rs(u), rs(amin), G.reshape(lead + (N,)) if gibbs else None,
                                  rs(ent), rs(cnt) if stats else None,
                                  rs(sec) if stats else None, **extra)

    def hopf_lax(self, x, t):
        """The ``eps = 0`` value ``min_j (g_j + |x - y_j|^2/(4t))`` (Hopf-Lax).

        For every ``eps > 0``, ``0 <= hopf_lax(x, t) - u_eps(x, t) <= eps*log N``
        (unnormalised ``u``; the bounds hold bitwise, as in :func:`tropical.lse`).

        Examples
        --------
        >>> from tropical.views.pde import HopfCole
        >>> HopfCole([[-1.0], [1.0]], [0.0, 0.5], eps=1.0).hopf_lax([[1.0]], t=1.0)
        array([0.5])
        """
        _, _, _, a = self._setup(x, t)
        return self._scalar(_ops.lse(a, 0.0, sense="min"))

    def gibbs(self, x, t):
        """Gibbs weights ``pi_j = softmax(-a/eps)_j``, ``a_j = g_j + |x - y_j|^2/(4t)``.

        Shape ``(..., N)``; ``pi_j = d u / d g_j``. At ``eps = 0``: uniform on
        the set of minimising ``j``.
        """
        _, _, _, a = self._setup(x, t)
        return _ops.softmax(a, self._eps, sense="min")

    # -- derivatives ------------------------------------------------------------------
    def u_t(self, x, t):
        """``du/dt = -sum_j pi_j |x - y_j|^2/(4t^2)`` (``+ eps*d/(2t)`` when normalised).

        At ``eps = 0`` the derivative of the Hopf-Lax value where the
        minimiser is unique (at a tie: the average over the tied terms).
        """
        T, _, _, _, Ez2, _ = self._moments(x, t)
        out = -Ez2
        if self._normalized:
            out = out + (0.5 * self._eps * self.d) / T
        return self._scalar(out)

    def grad_u(self, x, t):
        """``grad_x u = sum_j pi_j (x - y_j)/(2t)``, shape ``(..., d)``."""
        _, _, _, m, _, _ = self._moments(x, t)
        return m

    def laplacian_u(self, x, t):
        """``Laplacian(u) = d/(2t) - Var_pi(z)/eps``, ``z_j = (x - y_j)/(2t)``.

        ``Var_pi(z) = sum_j pi_j |z_j - E_pi z|^2`` (centred: no cancellation).
        At ``eps = 0``: ``d/(2t)`` where the minimiser is unique (or all tied
        ``y_j`` coincide) and ``-inf`` at a kink of the Hopf-Lax value between
        distinct tied points (the limit as ``eps -> 0`` at that ``x``; the
        distributional Laplacian of ``u_0`` has a negative singular part on
        the shock set). For tiny ``eps > 0`` it may overflow to ``-inf``: the
        curvature is genuinely of order ``1/eps`` there.
        """
        T, _, _, _, Ez2, var = self._moments(x, t)
        base = (0.5 * self.d) / T
        if self._eps > 0:
            with np.errstate(over="ignore"):
                return self._scalar(base - var / self._eps)
        tol = 16 * self.N * _U * Ez2
        return self._scalar(np.where(var > tol, -np.inf, base))

    def residual(self, x, t):
        """``u_t + |grad u|^2 - eps*Laplacian(u)`` from the closed forms.

        Equal to ``-eps*d/(2t)`` (``0`` when normalised) up to rounding.
        ``eps*Laplacian(u)`` is evaluated as ``eps*d/(2t) - Var`` (no overflow
        at tiny ``eps``; at ``eps = 0`` this is the limit ``-Var`` of the
        vanishing-viscosity term at a kink, so the identity holds there too).

        Notes
        -----
        Error budget: with ``S = E|z|^2 + |E z|^2 + Var + eps*d/(2t)`` (the
        magnitudes of the terms that cancel), the computed residual is within
        ``2*(N + d + 6) * u * S`` of ``-eps*d/(2t)``, ``u = 2**-53``: each of
        the three sums of ``N`` terms of ``d`` squares is accurate to
        ``gamma_{N+d+2}`` relative, the weights sum to ``1`` within
        ``gamma_{N+3}`` (which enters as ``(sum pi - 1)|E z|^2``), and the
        final three additions cost one rounding each. :meth:`residual_budget`
        returns this bound.
        """
        T, _, _, m, Ez2, var = self._moments(x, t)
        half = (0.5 * self._eps * self.d) / T             # eps*d/(2t)
        ut = -Ez2 + half if self._normalized else -Ez2
        grad2 = np.einsum("...k,...k->...", m, m)
        eps_lap = half - var
        return self._scalar(ut + grad2 - eps_lap)

    def residual_budget(self, x, t):
        """The rounding bound of :meth:`residual` (see its Notes), same shape."""
        T, _, _, m, Ez2, var = self._moments(x, t)
        half = (0.5 * self._eps * self.d) / T
        S = Ez2 + np.einsum("...k,...k->...", m, m) + var + (2.0 if self._normalized else 1.0) * half
        return self._scalar(2.0 * (self.N + self.d + 6) * _U * S)

    # -- other views ------------------------------------------------------------------
    def to_network(self, t=1.0):
        """The network view at time ``t``: ``LSELayer(W, b, eps)``, the exact dictionary.

        ``w_j = y_j/(2t)`` and ``b_j = -g_j - |y_j|^2/(4t)``, so that
        ``f_eps(x) = |x|^2/(4t) - u_eps(x, t)`` for every ``eps >= 0``
        (unnormalised ``u``; a normalised model drops its constant
        ``(eps*d/2)*log(4*pi*eps*t)`` here). Roundings: ``2t`` is exact,
        ``w_j`` one rounding (a division); ``b_j`` rounds ``|y_j|^2``
        (``d`` roundings), the division by ``4t`` and the final sum.

        Examples
        --------
        >>> from tropical.views.pde import HopfCole
        >>> layer = HopfCole([[2.0], [-4.0]], [0.0, 1.0], eps=0.5).to_network(t=0.5)
        >>> layer.W.ravel(), layer.b
        (array([ 2., -4.]), array([-2., -9.]))
        """
        from .network import LSELayer

        t = _check_time_scalar(t)
        two_t = 2.0 * t
        W = self._y / two_t
        b = -self._g - np.einsum("jk,jk->j", self._y, self._y) / (2.0 * two_t)
        return LSELayer(W, b, self._eps)

    @classmethod
    def from_network(cls, layer, t=1.0, normalized=False):
        """The inverse dictionary: ``y_j = 2t*w_j``, ``g_j = -b_j - t*|w_j|^2``.

        Same arithmetic as :meth:`LSELayer.to_pde`.

        Examples
        --------
        >>> from tropical.views.network import LSELayer
        >>> from tropical.views.pde import HopfCole
        >>> hc = HopfCole.from_network(LSELayer([[1.0], [-1.0]], [0.0, 0.0], eps=0.1), t=0.5)
        >>> hc.y.ravel(), hc.g
        (array([ 1., -1.]), array([-0.5, -0.5]))
        """
        t = _check_time_scalar(t)
        try:
            W, b, eps = layer.W, layer.b, layer.eps
        except AttributeError:
            raise TypeError(f"layer must be an LSELayer, got {type(layer).__name__}") from None
        W = _finite_array(W, "layer.W")
        b = _finite_array(b, "layer.b")
        y = (2.0 * t) * W
        g = -b - t * np.einsum("jk,jk->j", W, W)
        return cls(y, g, eps, normalized)

    # -- continuous initial data ----------------------------------------------------
    @classmethod
    def from_initial_data(cls, g, lipschitz, eps=0.0, *, box=None, h=None, points=None,
                          covering_radius=None, quadrature=False):
        r"""Sample a continuous initial datum ``g`` (Lipschitz constant ``L``).

        Either on the grid of spacing ``h`` covering ``box = (lo, hi)``
        (nodes ``lo + h*k``, the last one ``>= hi``; covering radius
        ``r = h*sqrt(d)/2``), or at given ``points`` (then ``r`` is
        ``covering_radius`` if given, else unknown).

        Parameters
        ----------
        g : callable
            ``g(Y)`` for ``Y`` of shape ``(M, d)`` returns ``M`` finite values.
        lipschitz : float
            ``L >= 0`` with ``|g(x) - g(y)| <= L |x - y|`` (not checked).
        eps : float, default 0.0
        box : pair of float or of array_like (d,), optional
        h : float, optional
            Grid spacing (with ``box``).
        points : array_like (M, d), optional
            Sample points instead of a grid.
        covering_radius : float, optional
            For ``points``: every point of ``box`` within this distance of a
            sample (it is the caller's claim; needed by :meth:`sampling_bound`).
        quadrature : bool, default False
            Weight each grid sample by the cell volume ``h^d`` (absorbed into
            ``g_j - eps*d*log h``) and normalise: a Riemann sum of the
            heat-kernel integral, approximating the *viscous* solution of the
            continuous data (midpoint rule; no bound is claimed here).

        Returns
        -------
        HopfCole
            With ``sampling`` set; ``to_network(t)`` gives the ``LSELayer``.

        Notes
        -----
        Proven bound (``eps = 0``, unweighted samples). Let ``U(x, t) =
        inf_y (g(y) + |x - y|^2/(4t))`` be the Hopf-Lax solution of the
        continuous data and ``u_N`` the sampled one. Always ``u_N >= U``
        (a minimum over a subset). If the ball ``B(x, 2tL)`` lies in the
        box, a minimiser ``y*`` of ``U`` lies there (``|x - y*|/(2t)`` is a
        subgradient of ``g``, hence ``<= L``), some sample ``y'`` has
        ``|y' - y*| <= r``, and expanding the quadratic at ``y*``

        ``u_N - U <= g(y') - g(y*) + (y* - x).(y' - y*)/(2t) + |y' - y*|^2/(4t)
        <= 2 L r + r^2/(4t)``,

        i.e. ``L*h*sqrt(d) + d*h^2/(16t)`` on a grid. With ``eps > 0``,
        ``u_N - eps*log N <= u_{N,eps} <= u_N``, so
        ``-eps*log N <= u_{N,eps} - U <= 2 L r + r^2/(4t)``.
        :meth:`sampling_bound` returns these two numbers.

        Examples
        --------
        >>> import numpy as np
        >>> from tropical.views.pde import HopfCole
        >>> hc = HopfCole.from_initial_data(lambda Y: np.abs(Y[:, 0]), 1.0,
        ...                                 box=(-3.0, 3.0), h=0.25)
        >>> hc.N, hc.sampling.covering_radius
        (25, 0.125)
        >>> U = lambda x, t: np.where(np.abs(x) <= 2*t, x**2/(4*t), np.abs(x) - t)
        >>> x = np.array([0.3, 0.55])
        >>> gap = hc.u(x, t=0.5) - U(x, 0.5)
        >>> lower, upper = hc.sampling_bound(x, t=0.5)
        >>> bool(np.all((lower <= gap) & (gap <= upper)))
        True
        """
        return from_initial_data(g, lipschitz, eps, box=box, h=h, points=points,
                                 covering_radius=covering_radius, quadrature=quadrature)

    def sampling_bound(self, x, t):
        """``(lower, upper)`` bounds of ``u(x, t) - U(x, t)`` (see :meth:`from_initial_data`).

        ``U`` is the Hopf-Lax (``eps = 0``) solution of the continuous data.
        ``lower = -eps*log N``; ``upper = 2 L r + r^2/(4t)`` where ``B(x, 2tL)``
        lies in the sampled box, ``+inf`` elsewhere or if ``r`` is unknown.
        """
        info = self._sampling
        if info is None:
            raise ValueError("sampling_bound: this model was not built by from_initial_data")
        if info.quadrature:
            raise ValueError("sampling_bound: no bound is claimed for quadrature-weighted samples")
        X = self._points(x)
        T = _check_time_array(t)
        batch = np.broadcast_shapes(X.shape[:-1], T.shape)
        X = np.broadcast_to(X, batch + (self.d,))
        T = np.broadcast_to(T, batch)
        lower = np.full(batch, -self._eps * math.log(self.N))
        r = info.covering_radius
        if r is None or info.box is None:
            return lower, np.full(batch, np.inf)
        L = info.lipschitz
        lo, hi = info.box
        reach = (2.0 * L * T)[..., None]
        inside = np.all((X - reach >= lo) & (X + reach <= hi), axis=-1)
        upper = np.where(inside, 2.0 * L * r + r * r / (4.0 * T), np.inf)
        return lower, upper


def _box(box, d, name="box"):
    try:
        lo, hi = box
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (lo, hi), got {box!r}") from None
    lo = np.broadcast_to(_finite_array(lo, f"{name}[0]"), (d,)).astype(np.float64)
    hi = np.broadcast_to(_finite_array(hi, f"{name}[1]"), (d,)).astype(np.float64)
    if not (hi > lo).all():
        raise ValueError(f"{name} must have lo < hi in every coordinate, got {lo} and {hi}")
    return lo, hi


def from_initial_data(g, lipschitz, eps=0.0, *, box=None, h=None, points=None,
                      covering_radius=None, quadrature=False, d=None):
    """Sample continuous initial data into a :class:`HopfCole` (see :meth:`HopfCole.from_initial_data`).

    ``d`` (the dimension) is inferred from ``points`` or from ``box``
    (scalar bounds mean ``d = 1`` unless ``d`` is given).
    """
    if not callable(g):
        raise TypeError(f"g must be a callable g(Y) -> values, got {type(g).__name__}")
    L = check_eps(lipschitz, "lipschitz")
    eps = check_eps(eps)
    if points is not None:
        if h is not None or quadrature:
            raise ValueError("points: give either points or a grid (box, h), and no quadrature "
                             "(the weights of scattered points are not known)")
        Y = _finite_array(points, "points")
        if Y.ndim == 1:
            Y = Y[:, None]
        if Y.ndim != 2 or Y.shape[0] == 0:
            raise ValueError(f"points must have shape (M, d), got {Y.shape}")
        dim = Y.shape[1]
        bx = _box(box, dim) if box is not None else None
        r = None
        if covering_radius is not None:
            r = check_eps(covering_radius, "covering_radius")
        spacing = None
    else:
        if box is None or h is None:
            raise ValueError("from_initial_data needs points, or a box (lo, hi) and a spacing h")
        h = check_eps(h, "h")
        if h <= 0:
            raise ValueError(f"h must be > 0, got {h}")
        if d is None:
            lo0 = np.asarray(box[0]) if isinstance(box, (tuple, list)) and len(box) == 2 else None
            dim = 1 if lo0 is None or lo0.ndim == 0 else int(lo0.shape[0])
        else:
            dim = check_int(d, "d", minimum=1)
        bx = _box(box, dim)
        lo, hi = bx
        counts = np.ceil((hi - lo) / h - 1e-9).astype(int) + 1
        if np.prod(counts.astype(float)) > 5e6:
            raise ValueError(f"the grid would have {int(np.prod(counts.astype(float)))} points; "
                             "use a larger h or a smaller box")
        axes = [lo[k] + h * np.arange(counts[k]) for k in range(dim)]
        Y = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, dim)
        bx = (lo, np.array([ax[-1] for ax in axes]))
        r = h * math.sqrt(dim) / 2.0
        spacing = h
    values = np.asarray(g(Y), dtype=np.float64)
    if values.shape != (Y.shape[0],):
        values = values.reshape(-1) if values.size == Y.shape[0] else values
    if values.shape != (Y.shape[0],):
        raise ValueError(f"g(Y) must return {Y.shape[0]} values, got shape {values.shape}")
    if not np.isfinite(values).all():
        raise ValueError("g(Y) returned non-finite values")
    vol = None
    if quadrature:
        vol = spacing ** Y.shape[1]
        values = values - eps * Y.shape[1] * math.log(spacing)
    info = SamplingInfo(L, r, bx, bool(quadrature), vol)
    return HopfCole(Y, values, eps, normalized=bool(quadrature), _sampling=info)


# ----------------------------------------------------------------------------- finite differences
@dataclasses.dataclass(frozen=True)
class HeatFDResult:
    """The result of :func:`heat_fd_solve`.

    Attributes
    ----------
    grid : tuple of ndarray
        The node coordinates along each axis (boundary included).
    u_fd : ndarray
        ``-eps*log v`` of the finite-difference solution at ``t1`` on every
        node, in the model's convention (normalised or not); ``+inf`` where
        ``v <= 0`` (the boundary, where ``v = 0``).
    u_exact : ndarray
        The closed form ``model.u(x, t1)`` on the same nodes.
    window : ndarray of bool
        The nodes where the error is measured.
    max_error : float
        ``max |u_fd - u_exact|`` over ``window``.
    h, dt : float
        Space step (the largest over the axes) and time step.
    """

    grid: tuple
    u_fd: np.ndarray
    u_exact: np.ndarray
    window: np.ndarray
    max_error: float
    h: float
    dt: float


def _laplacian_1d(n_int, h):
    import scipy.sparse as sp

    main = np.full(n_int, -2.0)
    off = np.ones(n_int - 1)
    return sp.diags([off, main, off], [-1, 0, 1], format="csc") / (h * h)


def heat_fd_solve(model, t0, t1, *, box, n, steps=None, window=None):
    """Solve ``v_t = eps*Laplacian(v)`` by Crank-Nicolson and compare with the closed form.

    The initial condition is the model itself at ``t0 > 0`` (smooth; point
    data at ``t = 0`` are not resolvable on a grid):
    ``v(., t0) = exp(-(U(., t0) - c)/eps)`` with ``U`` the normalised
    ``u`` (an exact heat solution by Cole-Hopf) and ``c`` its minimum on the
    grid. Second-order central differences on the ``(n+1)^d`` nodes of
    ``box``, homogeneous Dirichlet data (``v = 0`` on the boundary: take the
    box large enough that ``v`` is negligible there), Crank-Nicolson in time
    with ``steps`` equal steps, one sparse LU factorisation. Nothing of the
    closed form enters after ``t0``. Error ``O(h^2 + dt^2)``; the default
    ``steps = n`` keeps ``dt`` proportional to ``h``.

    Parameters
    ----------
    model : HopfCole
        ``d`` in ``{1, 2}`` and ``eps > 0``.
    t0, t1 : float
        ``0 < t0 < t1``.
    box : pair (lo, hi) of floats or of arrays (d,)
    n : int >= 4
        Intervals per axis (space step ``(hi - lo)/n``).
    steps : int, optional
        Number of time steps (default ``n``).
    window : pair (lo, hi), optional
        Where the error is measured (default: the middle half of the box).
        ``u = -eps*log v`` is only as accurate as ``eps*|dv|/v``: keep the
        window where ``v`` is not tiny.

    Returns
    -------
    HeatFDResult

    Examples
    --------
    >>> from tropical.views.pde import HopfCole, heat_fd_solve
    >>> hc = HopfCole([[-0.5], [0.5]], [0.0, 0.2], eps=0.5)
    >>> res = heat_fd_solve(hc, 0.25, 1.0, box=(-8.0, 8.0), n=160, window=(-2.0, 2.0))
    >>> bool(res.max_error < 1e-3)
    True
    """
    import scipy.sparse as sp
    import scipy.sparse.linalg as spla

    if not isinstance(model, HopfCole):
        raise TypeError(f"model must be a HopfCole, got {type(model).__name__}")
    d, eps = model.d, model.eps
    if d not in (1, 2):
        raise ValueError(f"heat_fd_solve handles d = 1 and 2, got d = {d}")
    if eps <= 0:
        raise ValueError("heat_fd_solve needs eps > 0 (the heat equation v_t = eps*Laplacian(v))")
    t0 = _check_time_scalar(t0, "t0")
    t1 = _check_time_scalar(t1, "t1")
    if not t1 > t0:
        raise ValueError(f"t1 must be > t0, got t0 = {t0}, t1 = {t1}")
    n = check_int(n, "n", minimum=4)
    steps = n if steps is None else check_int(steps, "steps", minimum=1)
    lo, hi = _box(box, d)
    if window is None:
        mid, half = (lo + hi) / 2, (hi - lo) / 4
        wlo, whi = mid - half, mid + half
    else:
        wlo, whi = _box(window, d, "window")
    axes = tuple(np.linspace(lo[k], hi[k], n + 1) for k in range(d))
    hs = (hi - lo) / n
    nodes = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)   # (n+1,)*d + (d,)
    normalized = HopfCole(model.y, model.g, eps, normalized=True)
    U0 = normalized.u(nodes, t0)
    c = float(U0.min())
    v = np.exp(-(U0 - c) / eps)
    interior = (slice(1, n),) * d
    vi = v[interior].ravel()
    dt = (t1 - t0) / steps
    if d == 1:
        L = _laplacian_1d(n - 1, hs[0])
    else:
        I0, I1 = sp.identity(n - 1, format="csc"), sp.identity(n - 1, format="csc")
        L = (sp.kron(_laplacian_1d(n - 1, hs[0]), I1) + sp.kron(I0, _laplacian_1d(n - 1, hs[1])))
    Id = sp.identity(L.shape[0], format="csc")
    A = (Id - (0.5 * dt * eps) * L).tocsc()
    B = (Id + (0.5 * dt * eps) * L).tocsr()
    lu = spla.splu(A)
    for _ in range(steps):
        vi = lu.solve(B @ vi)
    v1 = np.zeros_like(v)
    v1[interior] = vi.reshape((n - 1,) * d)
    with np.errstate(divide="ignore", invalid="ignore"):
        u_fd = np.where(v1 > 0, c - eps * np.log(np.where(v1 > 0, v1, 1.0)), np.inf)
    if not model.normalized:
        u_fd = u_fd - (0.5 * eps * d) * math.log(4.0 * math.pi * eps * t1)
    u_exact = model.u(nodes, t1)
    win = np.all((nodes >= wlo) & (nodes <= whi), axis=-1)
    if not win.any():
        raise ValueError("window contains no grid node")
    err = np.abs(u_fd[win] - u_exact[win])
    max_error = float(err.max()) if np.isfinite(err).all() else math.inf
    return HeatFDResult(axes, u_fd, u_exact, win, max_error, float(hs.max()), dt)


@dataclasses.dataclass(frozen=True)
class FDConvergence:
    """A refinement study by :func:`fd_convergence`.

    Attributes
    ----------
    n : tuple of int
    h : ndarray
        Space steps.
    errors : ndarray
        ``max |u_fd - u|`` on the window, per refinement.
    orders : ndarray
        ``log(e_i/e_{i+1}) / log(h_i/h_{i+1})`` between successive refinements.
    order : float
        Least-squares slope of ``log e`` against ``log h``.
    """

    n: tuple
    h: np.ndarray
    errors: np.ndarray
    orders: np.ndarray
    order: float

    def __str__(self):
        rows = ["       n          h      max error   order"]
        for i, (n, h, e) in enumerate(zip(self.n, self.h, self.errors)):
            o = f"{self.orders[i - 1]:7.3f}" if i else "      -"
            rows.append(f"{n:8d} {h:10.4g} {e:14.4e} {o}")
        rows.append(f"fitted order {self.order:.3f}")
        return "\n".join(rows)


def fd_convergence(model, t0, t1, *, box, ns=(50, 100, 200), window=None):
    """Observed order of :func:`heat_fd_solve` over refinements ``n`` in ``ns``.

    Each run uses ``steps = n`` (``dt`` proportional to ``h``), so the
    expected order of Crank-Nicolson is 2 in ``h``. When every ``n`` is a
    multiple of the first, the grids are nested and every error is measured
    on the same nodes: those of the coarsest grid inside ``window``.

    Examples
    --------
    >>> from tropical.views.pde import HopfCole, fd_convergence
    >>> hc = HopfCole([[-0.5], [0.5]], [0.0, 0.2], eps=0.5)
    >>> study = fd_convergence(hc, 0.25, 1.0, box=(-8.0, 8.0), ns=(40, 80, 160),
    ...                        window=(-2.0, 2.0))
    >>> bool(1.8 < study.order < 2.2)
    True
    """
    ns = tuple(check_int(k, "ns", minimum=4) for k in ns)
    if len(ns) < 2:
        raise ValueError("ns needs at least two refinements")
    res = [heat_fd_solve(model, t0, t1, box=box, n=k, window=window) for k in ns]
    h = np.array([r.h for r in res])
    n0 = ns[0]
    if all(k % n0 == 0 for k in ns):
        # nested grids: measure every run on the same nodes (the coarsest
        # grid's window), so that the maximum is not taken over different sets
        win0 = res[0].window
        e = []
        for k, r in zip(ns, res):
            sub = (slice(None, None, k // n0),) * model.d
            err = np.abs(r.u_fd[sub] - r.u_exact[sub])[win0]
            e.append(float(err.max()) if np.isfinite(err).all() else math.inf)
        e = np.array(e)
    else:
        e = np.array([r.max_error for r in res])
    orders = np.log(e[:-1] / e[1:]) / np.log(h[:-1] / h[1:])
    order = float(np.polyfit(np.log(h), np.log(e), 1)[0])
    return FDConvergence(ns, h, e, orders, order)
