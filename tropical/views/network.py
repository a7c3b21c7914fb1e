r"""The network view: one log-sum-exp layer ``f_eps(x) = LSE_eps(W x + b)``.

Conventions of ``../shared/design/MATH.md`` section 2: ``W`` has shape
``(N, d)`` (rows ``w_j``), ``b`` shape ``(N,)``, the temperature ``eps >= 0``.

* ``f_eps(x) = eps * log sum_j exp((w_j.x + b_j)/eps)``; ``f_0(x) = max_j (w_j.x + b_j)``;
* Gibbs weights ``pi(x) = softmax((W x + b)/eps)`` (``eps = 0``: uniform on the
  argmax set), ``pi_j = d f_eps / d b_j``;
* ``grad f_eps = sum_j pi_j w_j`` and ``Hess f_eps = Cov_pi(w)/eps`` (PSD).

Every log-sum-exp and softmax goes through :func:`tropical.lse` and
:func:`tropical.softmax` (max-shifted: no overflow at any ``eps``), so
``eps = 0`` is a value of the parameter, not a separate code path.

Examples
--------
>>> import numpy as np
>>> from tropical.views.network import LSELayer
>>> layer = LSELayer([[1.0], [-1.0]], [0.0, 0.0], eps=0.0)   # |x|
>>> layer([[-2.0], [3.0]])
array([2., 3.])
>>> round(float(layer.with_eps(1.0)([0.0])), 12)   # log 2
0.69314718056
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np

from .. import _ops
from ._affine import AffineFamily, finite_matrix, row_kernel
from .._validate import as_semiring_array, check_eps

__all__ = ["LSELayer", "LayerEvaluation", "attention"]

_U = np.finfo(np.float64).eps / 2  # unit roundoff of float64
# evaluate(): up to this many inputs the kernel forms the pre-activations itself
# (an FMA chain, W read once per point); above it one BLAS product does, the kernel
# lse_scores_rows then reading it. benchmarks/results/network.md: at d = 8-16 the chain
# is 1.6-1.9x faster on 2 threads (even on one), at d = 32 either may win, at d = 64
# BLAS is 1.3x faster, at d = 784 6-9x.
_FUSED_MAX_D = 16
_BLOCK_ENTRIES = 1 << 24   # evaluate(), d > 16: pre-activations of at most 128 MiB at once


def _check_time(t):
    t = check_eps(t, "t")
    if t <= 0:
        raise ValueError(f"t must be > 0, got {t}")
    return t


@dataclasses.dataclass(frozen=True)
class LayerEvaluation:
    """Everything one pass of :meth:`LSELayer.evaluate` computes at a batch of points.

    Attributes
    ----------
    value : ndarray, shape (...)
        ``f_eps(x) = LSE_eps(W x + b)``.
    gibbs : ndarray, shape (..., N), or None
        ``softmax((W x + b)/eps)`` (``None`` when not requested).
    entropy : ndarray, shape (...)
        ``H(pi) = log s + sum_j pi_j (m - z_j)/eps`` with ``m = max z``,
        ``s = sum_j exp((z_j - m)/eps)`` (the identity ``log pi_j = (z_j -
        m)/eps - log s``: no logarithm per term); ``log k`` at ``eps = 0``.
    top : ndarray, shape (...)
        ``max_j (w_j.x + b_j) = f_0(x)``.
    multiplicity : ndarray of float, shape (...), or None
        How many terms attain ``top`` (``None`` with ``stats=False``).
    second : ndarray, shape (...), or None
        The largest pre-activation below ``top`` (``-inf`` if none).
    """

    value: np.ndarray
    gibbs: np.ndarray | None
    entropy: np.ndarray
    top: np.ndarray
    multiplicity: np.ndarray
    second: np.ndarray


class LSELayer(AffineFamily):
    """A log-sum-exp layer ``f_eps(x) = LSE_eps(W x + b)`` (immutable).

    Parameters
    ----------
    W : array_like, shape (N, d)
        The rows ``w_j`` (a 1-D array means ``d = 1``); finite.
    b : array_like, shape (N,)
        Biases, finite.
    eps : float, default 0.0
        Temperature ``>= 0``; ``0`` is the tropical layer ``max_j (w_j.x + b_j)``.

    Attributes
    ----------
    W, b : ndarray, read-only
    eps : float
    N, d : int
        Number of terms and of input dimensions.

    Examples
    --------
    >>> from tropical.views.network import LSELayer
    >>> layer = LSELayer([[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0], eps=0.5)
    >>> layer
    LSELayer(N=2, d=2, eps=0.5)
    >>> layer.gibbs([0.0, 0.0]), layer.grad([0.0, 0.0])
    (array([0.5, 0.5]), array([0.5, 0.5]))
    >>> print(layer.tropical())
    max(y, x)
    """

    __slots__ = ()

    def with_eps(self, eps):
        """The same layer at temperature ``eps``."""
        return LSELayer(self._W, self._b, eps)

    def __repr__(self):
        return f"LSELayer(N={self.N}, d={self.d}, eps={self._eps!r})"

    def __eq__(self, other):
        if not isinstance(other, LSELayer):
            return NotImplemented
        return (self._eps == other._eps and np.array_equal(self._W, other._W)
                and np.array_equal(self._b, other._b))

    def __hash__(self):
        return hash((self._eps, self._W.tobytes(), self._b.tobytes()))

    # -- evaluation ---------------------------------------------------------------
    def _points(self, x):
        X = np.asarray(as_semiring_array(x, "x", float32_ok=False), dtype=np.float64)
        if self.d == 1 and (X.ndim == 0 or X.shape[-1] != 1):
            X = X[..., None]
        if X.ndim == 0 or X.shape[-1] != self.d:
            raise ValueError(f"x must have shape (..., {self.d}), got {np.shape(x)}")
        if not np.isfinite(X).all():
            raise ValueError("x must be finite")
        return X

    def preactivations(self, x) -> np.ndarray:
        """``z = W x + b`` at points ``x`` of shape (..., d): shape (..., N)."""
        return self._affine(self._points(x))

    def _affine(self, X, out=None):
        """``X @ W.T + b`` by one BLAS product on ``X`` flattened to 2-D (numpy's batched
        matmul of N-D ``X`` rounds differently), the biases added in place (into
        ``out``, shape ``(P, N)``, if given)."""
        Z = np.matmul(X.reshape(-1, self.d), self._W.T, out=out)
        Z += self._b
        return Z.reshape(X.shape[:-1] + (self.N,))

    def __call__(self, x):
        """``f_eps(x)`` at points ``x`` of shape (..., d); returns shape (...).

        ``tropical.lse(self.preactivations(x), eps)``.
        """
        return _ops.lse(self._affine(self._points(x)), self._eps)

    def evaluate(self, x, gibbs=True, stats=True):
        """Value, Gibbs weights, their entropy and the top pre-activations in one pass.

        One compiled pass per point (kernel ``lse_layer_rows``): for ``d <=
        16`` the pre-activations ``z_j = b_j + sum_k x_k w_jk`` are formed on
        the fly (an FMA chain; no ``(P, N)`` matrix besides the Gibbs
        weights), for larger ``d`` by one BLAS product per block of rows, the
        Gibbs weights then written over it (kernel ``lse_scores_rows``; the
        chain reads all of ``W`` once per point: 1.3x slower at ``d = 64``,
        6-9x at ``d = 784``); then the max-shifted log-sum-exp and
        softmax of :func:`tropical.lse` / :func:`tropical.softmax`, whose
        rounding they share.

        Parameters
        ----------
        x : array_like, shape (..., d)
            Finite points.
        gibbs : bool, default True
            Also return the Gibbs weights (``(..., N)`` floats).
        stats : bool, default True
            Also return ``multiplicity`` and ``second`` (one pass more;
            ``None`` otherwise).

        Returns
        -------
        LayerEvaluation

        Examples
        --------
        >>> from tropical.views.network import LSELayer
        >>> ev = LSELayer([[1.0], [-1.0], [1.0]], [0.0, 0.0, 0.0], eps=0.0).evaluate([[2.0]])
        >>> ev.value, ev.multiplicity, ev.second, ev.gibbs
        (array([2.]), array([2.]), array([-2.]), array([[0.5, 0. , 0.5]]))
        """
        X = self._points(x)
        lead = X.shape[:-1]
        X2 = np.ascontiguousarray(X.reshape(-1, self.d))
        P, N = X2.shape[0], self.N
        Ps = P if stats else 0
        outs = [np.empty(P), np.empty(P), np.empty(Ps), np.empty(Ps), np.empty(P)]
        G = np.empty((P if gibbs else 0, N))
        if P and self.d <= _FUSED_MAX_D:
            row_kernel("lse_layer_rows", P * N)(X2, np.ascontiguousarray(self._W.T), self._b,
                                                self._eps, *outs, G)
        elif P:
            # per block of rows one BLAS product, then one pass; the Gibbs weights are
            # written over the pre-activations (each row is read before it is written).
            # The blocks are large: on 2 cores, small blocks alternating BLAS and Numba
            # ran 5x slower (OpenBLAS's idle threads spin on the cores the kernel needs)
            kernel, step = row_kernel("lse_scores_rows", P * N), max(1, _BLOCK_ENTRIES // N)
            for lo in range(0, P, step):
                hi = min(P, lo + step)
                Z = self._affine(X2[lo:hi], out=G[lo:hi] if gibbs else None)
                kernel(Z, self._eps, *(o[lo:hi] for o in outs), Z if gibbs else G)
        f, top, cnt, sec, ent = (o.reshape(lead)[()] if o.size == P else None for o in outs)
        if not stats:
            cnt = sec = None
        return LayerEvaluation(f, G.reshape(lead + (N,)) if gibbs else None, ent, top, cnt, sec)

    def gibbs(self, x) -> np.ndarray:
        """Gibbs weights ``pi(x) = softmax((W x + b)/eps)``, shape (..., N).

        At ``eps = 0``: uniform on the set of terms attaining the maximum
        (the limit of ``pi`` as ``eps -> 0`` at fixed ``x``).
        """
        return _ops.softmax(self.preactivations(x), self._eps)

    def grad(self, x) -> np.ndarray:
        """``grad f_eps(x) = sum_j pi_j(x) w_j = gibbs(x) @ W``, shape (..., d).

        At ``eps = 0`` and a tie this is the barycentre of the tied ``w_j``,
        an element of the subdifferential of ``f_0``.
        """
        return self.gibbs(x) @ self._W

    def hessian(self, x) -> np.ndarray:
        """``Hess f_eps(x) = Cov_pi(w)/eps``, shape (..., d, d); positive semidefinite.

        ``Cov_pi(w) = sum_j pi_j (w_j - m)(w_j - m)^T`` with ``m = grad f_eps(x)``
        (centred, so no cancellation). At ``eps = 0`` the layer is piecewise
        affine: the Hessian is ``0`` where the argmax is unique (or where all
        tied terms share the same ``w_j``). At a tie between distinct ``w_j``
        ``f_0`` has a kink; the value returned there is the limit of
        ``Cov_pi(w)/eps`` as ``eps -> 0`` at that fixed ``x``: ``+inf``
        (``-inf``) where the covariance of the tied ``w_j`` under the uniform
        weights is positive (negative), ``0`` where it vanishes. (The
        distributional Hessian of ``f_0`` is a measure carried by the tropical
        hypersurface.)
        """
        pi = self.gibbs(x)
        m = pi @ self._W
        Wc = self._W - m[..., None, :]
        cov = np.einsum("...j,...jk,...jl->...kl", pi, Wc, Wc)
        if self._eps > 0:
            with np.errstate(over="ignore"):
                return cov / self._eps
        scale = float(np.max(self._W * self._W)) if self._W.size else 0.0
        tol = 16 * self.N * _U * scale
        out = np.zeros_like(cov)
        big = np.abs(cov) > tol
        out[big] = np.copysign(np.inf, cov[big])
        return out

    # -- other views --------------------------------------------------------------
    def tropical(self):
        """The ``eps = 0`` layer as a :class:`~tropical.TropicalPolynomial` (max sense).

        Monomials ``(w_j, b_j)``; equal rows are merged with max.
        """
        from ..polynomial import TropicalPolynomial

        return TropicalPolynomial(self._W, self._b, "max")

    def to_pde(self, t=1.0):
        """The PDE view at time ``t``: ``HopfCole(y, g, eps)`` with the exact dictionary.

        ``y_j = 2 t w_j`` and ``g_j = -b_j - t |w_j|^2``, so that
        ``f_eps(x) + u_eps(x, t) = |x|^2/(4t)`` for every ``eps >= 0``
        (MATH.md section 2).
        """
        from .pde import HopfCole

        y, g = self.pde_data(t)
        return HopfCole(y, g, self._eps)

    def pde_data(self, t=1.0):
        """``(y, g)`` of the dictionary: ``y = 2 t W``, ``g = -b - t |w_j|^2``."""
        t = _check_time(t)
        return (2.0 * t) * self._W, -self._b - t * np.einsum("jk,jk->j", self._W, self._W)

    def to_convex(self):
        """The convex view: ``EntropicLP(W, b, eps)``, whose value is ``f_eps``."""
        from .convex import EntropicLP

        return EntropicLP(self._W, self._b, self._eps)

    # -- persistence --------------------------------------------------------------
    def to_json(self) -> str:
        """JSON text holding ``W``, ``b`` and ``eps`` exactly (floats round-trip)."""
        return json.dumps({"type": "LSELayer", "W": self._W.tolist(), "b": self._b.tolist(),
                           "eps": self._eps})

    @classmethod
    def from_json(cls, text):
        """Inverse of :meth:`to_json`.

        Examples
        --------
        >>> from tropical.views.network import LSELayer
        >>> layer = LSELayer([[0.1, 0.2], [0.3, -0.7]], [1.0, 0.0], eps=0.01)
        >>> LSELayer.from_json(layer.to_json()) == layer
        True
        """
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("type") != "LSELayer":
            raise ValueError("not the JSON of an LSELayer")
        missing = {"W", "b", "eps"} - set(data)
        if missing:
            raise ValueError(f"LSELayer JSON lacks {sorted(missing)}")
        return cls(data["W"], data["b"], data["eps"])

    def save(self, path):
        """Write ``W``, ``b``, ``eps`` to an ``.npz`` file (no pickle)."""
        np.savez(path, W=self._W, b=self._b, eps=np.float64(self._eps))

    @classmethod
    def load(cls, path, eps=None):
        """Read a layer saved by :meth:`save` (``allow_pickle=False``).

        ``eps`` overrides the stored temperature (default: stored, else 0).
        A scalar stored ``eps`` is used; an array of several is not a layer
        temperature and needs ``eps``.
        """
        with np.load(path, allow_pickle=False) as z:
            missing = {"W", "b"} - set(z.files)
            if missing:
                raise ValueError(f"{path} lacks arrays {sorted(missing)} (has {z.files})")
            W, b = z["W"], z["b"]
            if eps is None:
                eps = float(z["eps"]) if "eps" in z.files and z["eps"].size == 1 else 0.0
        return cls(W, b, eps)


def attention(Q, K, V, eps=1.0):
    """Attention ``softmax(Q K^T / eps) V`` as a Gibbs average (MATH.md section 4).

    Row ``i`` of the result is ``sum_j pi_j(q_i) v_j`` where ``pi`` are the
    Gibbs weights of the :class:`LSELayer` with rows ``k_j`` and biases ``0``
    at temperature ``eps`` (``eps = 0``: the average of the ``v_j`` whose key
    scores highest, hard attention).

    Parameters
    ----------
    Q : array_like, shape (..., m, d) or (d,)
        Queries.
    K : array_like, shape (n, d)
        Keys (the rows of the layer).
    V : array_like, shape (n, dv) or (n,)
        Values.
    eps : float, default 1.0
        Temperature ``>= 0`` (``sqrt(d)`` gives the usual scaled dot product).

    Returns
    -------
    ndarray, shape (..., m, dv) (leading shape of ``Q`` with ``V``'s trailing)

    Examples
    --------
    >>> import numpy as np
    >>> from tropical.views.network import attention
    >>> K = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> V = np.array([[10.0], [20.0]])
    >>> attention([[1.0, 1.0], [5.0, 0.0]], K, V, eps=0.0)
    array([[15.],
           [10.]])
    """
    K = finite_matrix(K, "K")
    Vv = np.asarray(as_semiring_array(V, "V", float32_ok=False), dtype=np.float64)
    if Vv.ndim == 0 or Vv.shape[0] != K.shape[0] or not np.isfinite(Vv).all():
        raise ValueError(f"V must be finite with {K.shape[0]} rows (one per key), got {Vv.shape}")
    layer = LSELayer(K, np.zeros(K.shape[0]), eps)
    pi = layer.gibbs(Q)
    return pi @ Vv

