r"""Fitting LSE layers to data, the quadrature construction, and scaling experiments.

Three ways of getting a log-sum-exp layer ``f(x) = LSE_eps(W x + b)``
(:class:`tropical.LSELayer`, ``../shared/design/MATH.md`` sections 2 and 5)
that approximates a function, and a way of measuring how fast they get there:

* :func:`fit` -- least squares, ``0.5*mean((f(X) - y)^2)`` over the
  parameters ``(W, b)`` at a fixed temperature ``eps``, by full-batch Adam
  (implemented here) or L-BFGS (``scipy.optimize.minimize``,
  ``method="L-BFGS-B"``). Loss and gradient come from one fused Numba kernel
  (:mod:`tropical.kernels.fit`): one pass over the samples, threads over
  blocks of samples, no ``M x N`` array; the Adam loop itself runs in Numba,
  a chunk of iterations per call. Returns a :class:`FitResult`.
* :func:`quadrature_layer` -- no training: sample continuous initial data
  ``g`` of the viscous Hamilton-Jacobi equation on a grid (or at given
  points) with :meth:`tropical.HopfCole.from_initial_data` and read off the
  network view at time ``t`` (the exact dictionary ``w_j = y_j/(2t)``,
  ``b_j = -g_j - |y_j|^2/(4t)``). Returns a :class:`QuadratureLayer`, which
  carries the sampling error bound.
* :func:`scaling_experiment` -- error against the number of terms ``N`` for
  data of intrinsic dimension ``d``, with ``eps = N^(-1/d)`` by default, and the
  fitted exponent ``s`` of ``error ~ N^s`` with a confidence interval
  (:class:`ScalingResult`).

The gradient. With Gibbs weights ``pi_ij = softmax((W x_i + b)/eps)_j`` and
residuals ``r_i = f(x_i) - y_i``, ``d loss / d b_j = mean_i r_i pi_ij`` and
``d loss / d w_j = mean_i r_i pi_ij x_i``. At ``eps = 0`` the layer is
``max_j (w_j.x + b_j)``, not differentiable where two terms tie; the kernel
then uses the indicator of the argmax term (at an exact tie: the uniform
weights on the tied terms, the ``eps -> 0`` limit of the softmax), an element
of the subdifferential of the convex map ``(W, b) -> max_j (w_j.x + b_j)``.
Adam works with that subgradient; L-BFGS assumes a smooth objective and may
stop early (line search failure) at ``eps = 0``: prefer ``eps > 0`` there.

Examples
--------
>>> import numpy as np
>>> import tropical
>>> from tropical.fit import fit
>>> rng = np.random.default_rng(0)
>>> X = rng.uniform(-1, 1, size=(200, 1))
>>> planted = tropical.LSELayer([[1.0], [-1.0], [0.0]], [0.0, 0.0, -0.2], eps=0.1)
>>> res = fit(X, planted(X), 3, eps=0.1, method="lbfgs", iterations=300, seed=1)
>>> bool(res.loss < 1e-10)
True
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import threading
import time

import numpy as np

from ._progress import want_progress as _want_progress
from ._validate import check_eps, check_int

__all__ = [
    "fit",
    "FitResult",
    "quadrature_layer",
    "QuadratureLayer",
    "scaling_experiment",
    "ScalingResult",
]

_METHODS = ("adam", "lbfgs")
_INITS = ("supporting", "random")
#: below this many terms M*N the serial kernel runs (waking threads costs more)
_PARALLEL_MIN_WORK = 1 << 20
_EPS_RULES = ("N^(-1/d)",)
_TARGETS = {"norm": "||x||_2"}


# ----------------------------------------------------------------------------- helpers
def _finite(data, name):
    from .views.pde import _finite_array

    return _finite_array(data, name)


def _check_positive(value, name):
    v = check_eps(value, name)
    if v <= 0:
        raise ValueError(f"{name} must be > 0, got {v}")
    return v


def _data(X, y):
    X = _finite(X, "X")
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must have shape (M, d) with M, d >= 1, got {X.shape}")
    y = _finite(y, "y")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},) to match X {X.shape}, got {y.shape}")
    return np.ascontiguousarray(X), np.ascontiguousarray(y)


def _loss_grad_kernel(work, parallel):
    """``(kernel, parallel)`` for a problem of ``work = M*N`` terms."""
    from . import _config, _kernels

    if parallel is None:
        parallel = False
        if work >= _PARALLEL_MIN_WORK and _config.jit_enabled():
            numba = _config.load_numba()
            parallel = numba.get_num_threads() > 1
    elif not isinstance(parallel, (bool, np.bool_)):
        raise TypeError(f"parallel must be a bool or None, got {type(parallel).__name__}")
    name = "lse_fit_loss_grad" if parallel else "lse_fit_loss_grad_serial"
    return _kernels.get(name), bool(parallel)


class _Objective:
    """``theta -> (loss, gradient)`` with ``theta = (W.ravel(), b)``; tracks the best point."""

    def __init__(self, X, y, N, eps, parallel):
        self.X, self.y, self.N, self.d, self.eps = X, y, N, X.shape[1], eps
        self.kernel, self.parallel = _loss_grad_kernel(X.shape[0] * N, parallel)
        self.f = np.empty(X.shape[0])
        self.g = np.empty(N * (self.d + 1))
        self.best_loss = math.inf
        self.best_theta = None
        self.best_gnorm = math.nan
        self.evaluations = 0

    def split(self, theta):
        nd = self.N * self.d
        return theta[:nd].reshape(self.N, self.d), theta[nd:]

    def __call__(self, theta):
        theta = np.ascontiguousarray(theta, dtype=np.float64)
        W, b = self.split(theta)
        gW, gb = self.split(self.g)
        loss = float(self.kernel(self.X, self.y, W, b, self.eps, self.f, gW, gb))
        self.evaluations += 1
        if not math.isfinite(loss):
            raise FloatingPointError(f"the loss is not finite ({loss}): the parameters "
                                     "diverged (lower lr?)")
        if loss < self.best_loss:
            self.best_loss = loss
            self.best_theta = theta.copy()
            self.best_gnorm = float(np.linalg.norm(self.g))
        return loss, self.g


# A fit running in a worker thread of ``scaling_experiment`` stops at its next
# progress update once this thread's ``stop`` event is set (Ctrl-C in the main thread).
_worker = threading.local()


class _Progress:
    def __init__(self, label, total, enabled):
        self.label, self.total, self.enabled = label, total, enabled
        self.t0 = self.last = time.perf_counter()
        self.stop = getattr(_worker, "stop", None)

    def update(self, i, loss, force=False):
        # a fit on a worker thread of scaling_experiment: Ctrl-C reaches it here (the
        # fits call update after every chunk of iterations, and nowhere in cleanup)
        if self.stop is not None and self.stop.is_set():
            raise KeyboardInterrupt
        if not self.enabled:
            return
        now = time.perf_counter()
        if force or now - self.last > 0.5:
            self.last = now
            sys.stderr.write(f"\r{self.label}: {i}/{self.total} loss {loss:.4g} "
                             f"{now - self.t0:6.1f} s")
            sys.stderr.flush()

    def close(self, note=""):
        if self.enabled:
            self.enabled = False
            sys.stderr.write(f"{note}\n")
            sys.stderr.flush()


def _initial_layer(X, y, N, eps, init, rng):
    """``(W, b)`` of the initial layer (see :func:`fit`, parameter ``init``)."""
    M, d = X.shape
    # typical slope: the median difference quotient over random pairs of samples
    P = min(4096, M * (M - 1) // 2)
    s = 1.0
    if P > 0:
        i = rng.integers(0, M, size=P)
        k = rng.integers(0, M, size=P)
        dist = np.linalg.norm(X[i] - X[k], axis=1)
        ok = dist > 0
        if ok.any():
            q = float(np.median(np.abs(y[i] - y[k])[ok] / dist[ok]))
            if q > 0 and math.isfinite(q):
                s = q
    W = rng.normal(size=(N, d)) * s
    if init == "random":
        b = np.full(N, float(y.mean())) - W @ X.mean(axis=0)
        return W, b
    # supporting: each plane touches the data from below, b_j = min_i (y_i - w_j.x_i)
    b = np.empty(N)
    step = max(1, (1 << 22) // M)
    for j0 in range(0, N, step):
        b[j0:j0 + step] = (y[:, None] - X @ W[j0:j0 + step].T).min(axis=0)
    return W, b


# ----------------------------------------------------------------------------- fit
@dataclasses.dataclass
class FitResult:
    """The result of :func:`fit`.

    Attributes
    ----------
    layer : LSELayer
        The parameters with the smallest loss evaluated (for Adam, whose loss
        is not monotone, not necessarily the last iterate).
    loss : float
        ``0.5*mean((layer(X) - y)^2)`` of ``layer``.
    loss_history : ndarray
        Adam: the loss at every iterate ``theta_0 .. theta_T`` (``T + 1``
        values). L-BFGS: the loss at ``theta_0`` and after every iteration.
    grad_norm : float
        Euclidean norm of the gradient (with respect to ``W`` and ``b``) at
        ``layer``.
    iterations : int
        Optimiser iterations done (Adam: parameter updates).
    evaluations : int
        Loss-and-gradient evaluations (kernel calls).
    method : str
        ``"adam"`` or ``"lbfgs"``.
    interrupted : bool
        True when stopped by Ctrl-C (``layer`` is the best point so far).
    message : str
        Why the optimiser stopped.
    seconds : float
        Wall time of the optimisation.
    settings : dict
        ``lr``, ``init``, ``seed``, ``tol``, ``n_samples``, ``parallel``.
    """

    layer: object
    loss: float
    loss_history: np.ndarray
    grad_norm: float
    iterations: int
    evaluations: int
    method: str
    interrupted: bool = False
    message: str = ""
    seconds: float = 0.0
    settings: dict = dataclasses.field(default_factory=dict)

    def __repr__(self):
        L = self.layer
        flag = ", interrupted=True" if self.interrupted else ""
        return (f"FitResult(method={self.method!r}, N={L.N}, d={L.d}, eps={L.eps!r}, "
                f"loss={self.loss:.4g}, grad_norm={self.grad_norm:.3g}, "
                f"iterations={self.iterations}{flag})")

    def to_json(self) -> str:
        """JSON text of the result (the layer exactly; inverse :meth:`from_json`)."""
        return json.dumps({"type": "FitResult", "layer": json.loads(self.layer.to_json()),
                           "loss": self.loss, "loss_history": self.loss_history.tolist(),
                           "grad_norm": self.grad_norm, "iterations": self.iterations,
                           "evaluations": self.evaluations, "method": self.method,
                           "interrupted": self.interrupted, "message": self.message,
                           "seconds": self.seconds, "settings": self.settings})

    @classmethod
    def from_json(cls, text):
        """Inverse of :meth:`to_json`.

        Examples
        --------
        >>> import numpy as np
        >>> from tropical.fit import fit, FitResult
        >>> X = np.linspace(-1, 1, 20)[:, None]
        >>> res = fit(X, np.abs(X[:, 0]), 2, eps=0.1, iterations=5, seed=0)
        >>> again = FitResult.from_json(res.to_json())
        >>> again.layer == res.layer and again.loss == res.loss
        True
        """
        from .views.network import LSELayer

        data = json.loads(text)
        if not isinstance(data, dict) or data.get("type") != "FitResult":
            raise ValueError("not the JSON of a FitResult")
        layer = LSELayer.from_json(json.dumps(data["layer"]))
        return cls(layer, data["loss"], np.asarray(data["loss_history"], dtype=float),
                   data["grad_norm"], data["iterations"], data["evaluations"], data["method"],
                   data["interrupted"], data["message"], data["seconds"], data["settings"])


def fit(X, y, n_terms=None, eps=None, *, method="adam", iterations=1000, lr=0.01,
        init="supporting", seed=None, tol=0.0, parallel=None, progress=None):
    r"""Fit an LSE layer ``f(x) = LSE_eps(W x + b)`` to data by least squares.

    Minimises ``0.5*mean_i (f(x_i) - y_i)^2`` over ``W`` (``n_terms x d``)
    and ``b`` at the fixed temperature ``eps``. Loss and gradient come from
    one fused kernel (:func:`tropical.kernels.fit.lse_fit_loss_grad`).

    Parameters
    ----------
    X : array_like, shape (M, d)
        Samples (a 1-D array means ``d = 1``); finite.
    y : array_like, shape (M,)
        Targets; finite.
    n_terms : int, optional
        ``N >= 1``, the number of terms. Needed unless ``init`` is a layer
        (then it must equal ``init.N`` when given).
    eps : float, optional
        Temperature ``>= 0`` (fixed, not trained). Needed unless ``init`` is
        a layer (default: ``init.eps``). At ``eps = 0`` the gradient is the
        subgradient of the argmax term (module docstring).
    method : {"adam", "lbfgs"}, default "adam"
        Full-batch Adam (``beta1 = 0.9``, ``beta2 = 0.999``, ``1e-8`` in the
        denominator, bias-corrected moments), or L-BFGS-B from scipy
        (``jac=True``, ``maxiter = iterations``, ``ftol = 0``, ``gtol = tol``).
    iterations : int, default 1000
        Adam: parameter updates; L-BFGS: maximum iterations.
    lr : float, default 0.01
        Adam's step size (ignored by L-BFGS).
    init : {"supporting", "random"} or LSELayer, default "supporting"
        Rows ``w_j`` drawn from ``N(0, s^2 I)``, ``s`` the median difference
        quotient ``|y_i - y_k|/|x_i - x_k|`` over random pairs of samples
        (the data's typical slope). ``"supporting"``:
        ``b_j = min_i (y_i - w_j.x_i)``, each plane touching the data from
        below (for convex data, ``max_j`` is then a lower approximation);
        ``"random"``: planes through the centroid of the data. A layer:
        start from its ``W`` and ``b``.
    seed : int, Generator or None
        Randomness of the initialisation.
    tol : float, default 0.0
        Stop when the gradient norm is ``<= tol`` (L-BFGS: its ``gtol``, a
        max-norm of the projected gradient).
    parallel : bool, optional
        Run the kernel on Numba's threads (``NUMBA_NUM_THREADS``). Default:
        when ``M*N >= 2**20`` and more than one thread is available; smaller
        problems run on the calling thread (same result, bit for bit).
    progress : bool, optional
        Progress on stderr; default when stderr is a terminal.

    Returns
    -------
    FitResult
        Ctrl-C stops the optimisation and returns the best parameters so far
        with ``interrupted=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from tropical.fit import fit
    >>> X = np.linspace(-2, 2, 101)[:, None]
    >>> res = fit(X, np.abs(X[:, 0]), n_terms=4, eps=0.05, method="adam",
    ...           iterations=500, lr=0.05, seed=0)
    >>> res.loss_history.shape
    (501,)
    >>> bool(res.loss < 1e-3 * res.loss_history[0])
    True
    """
    from .views.network import LSELayer

    X, y = _data(X, y)
    M, d = X.shape
    if isinstance(method, str) and method in _METHODS:
        pass
    else:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    iterations = check_int(iterations, "iterations", minimum=0)
    lr = _check_positive(lr, "lr")
    tol = check_eps(tol, "tol")
    if isinstance(init, LSELayer):
        if init.d != d:
            raise ValueError(f"init has d = {init.d} inputs but X has d = {d} columns")
        if n_terms is not None and check_int(n_terms, "n_terms", minimum=1) != init.N:
            raise ValueError(f"n_terms = {n_terms} does not match init.N = {init.N}")
        N = init.N
        eps = init.eps if eps is None else check_eps(eps)
        W0, b0 = np.array(init.W), np.array(init.b)
        init_name = "layer"
    else:
        if not (isinstance(init, str) and init in _INITS):
            raise ValueError(f"init must be one of {_INITS} or an LSELayer, got {init!r}")
        if n_terms is None:
            raise ValueError("n_terms is required unless init is an LSELayer")
        N = check_int(n_terms, "n_terms", minimum=1)
        if eps is None:
            raise ValueError("eps is required unless init is an LSELayer")
        eps = check_eps(eps)
        W0, b0 = _initial_layer(X, y, N, eps, init, np.random.default_rng(seed))
        init_name = init
    show = _want_progress(progress)
    prog = _Progress(f"fit {method}", iterations, show)
    t0 = time.perf_counter()
    try:
        if method == "adam":
            out = _adam(X, y, W0, b0, eps, iterations, lr, tol, parallel, prog)
        else:
            out = _lbfgs(X, y, W0, b0, eps, iterations, tol, parallel, prog)
    finally:
        prog.close()
    seconds = time.perf_counter() - t0
    W, b, best_loss, gnorm, history, done, evaluations, message, interrupted, par = out
    layer = LSELayer(W, b, eps)
    settings = {"lr": lr, "init": init_name, "seed": seed if isinstance(seed, (int, type(None)))
                else repr(seed), "tol": tol, "n_samples": M, "parallel": par}
    return FitResult(layer, best_loss, np.asarray(history, dtype=float), gnorm, int(done),
                     evaluations, method, interrupted, message, seconds, settings)


_CHUNK_SECONDS = 0.2   # Adam iterations per kernel call: about this much work
_INTERRUPTED = "interrupted (Ctrl-C): best parameters so far"


def _adam_chunk(kernel, *args):
    """One call of the Adam kernel (a seam for tests that simulate Ctrl-C)."""
    return kernel(*args)


def _adam(X, y, W0, b0, eps, iterations, lr, tol, parallel, prog):
    """Full-batch Adam in chunks of iterations, each one call of ``lse_fit_adam``.

    The first chunk has 8 iterations; later ones are sized to take about
    ``_CHUNK_SECONDS``, so Ctrl-C (seen when a chunk returns) and progress
    stay responsive while the per-iteration cost is one kernel iteration.
    """
    from . import _kernels

    M, d = X.shape
    N = W0.shape[0]
    loss_kernel, par = _loss_grad_kernel(M * N, parallel)
    kernel = _kernels.get("lse_fit_adam")
    W, b = np.array(W0, dtype=np.float64), np.array(b0, dtype=np.float64)
    mW, vW, mb, vb = np.zeros_like(W), np.zeros_like(W), np.zeros_like(b), np.zeros_like(b)
    bestW, bestb = W.copy(), b.copy()
    best = np.array([math.inf, math.nan])
    f, gW, gb = np.empty(M), np.empty((N, d)), np.empty(N)
    history = []
    step, chunk, status = 0, 8, 0
    interrupted = False
    message = f"{iterations} iterations done"
    try:
        while step < iterations:
            n = min(chunk, iterations - step)
            buf = np.empty(n)
            t0 = time.perf_counter()
            done, status = _adam_chunk(kernel, X, y, W, b, eps, lr, step, n, tol, par, mW, vW,
                                       mb, vb, bestW, bestb, best, buf, f, gW, gb)
            elapsed = time.perf_counter() - t0
            history.extend(buf[:done + (status != 0)].tolist())
            step += int(done)
            if status == 2:
                raise FloatingPointError(f"the loss is not finite ({history[-1]}) after "
                                         f"{step} iterations: the parameters diverged "
                                         "(lower lr?)")
            if status == 1:
                message = f"gradient norm <= tol after {step} iterations"
                break
            prog.update(step, history[-1])
            chunk = int(min(max(n * _CHUNK_SECONDS / max(elapsed, 1e-9), 1), 1 << 20))
        if status == 0:
            loss = float(loss_kernel(X, y, W, b, eps, f, gW, gb))
            history.append(loss)
            if not math.isfinite(loss):
                raise FloatingPointError(f"the loss is not finite ({loss}) after {step} "
                                         "iterations: the parameters diverged (lower lr?)")
            if loss < best[0]:
                best[:] = loss, math.sqrt(float((gW * gW).sum() + (gb * gb).sum()))
                bestW[...], bestb[...] = W, b
            prog.update(step, loss, force=True)
    except KeyboardInterrupt:
        interrupted, message = True, _INTERRUPTED
        prog.close(" (interrupted)")
    if not math.isfinite(best[0]):            # interrupted before the first evaluation
        loss = float(loss_kernel(X, y, bestW, bestb, eps, f, gW, gb))
        best[:] = loss, math.sqrt(float((gW * gW).sum() + (gb * gb).sum()))
    return (bestW, bestb, float(best[0]), float(best[1]), history, step, len(history), message,
            interrupted, par)


def _lbfgs(X, y, W0, b0, eps, iterations, tol, parallel, prog):
    """scipy's L-BFGS-B on the fused objective; the loss after every iteration is recorded."""
    from scipy.optimize import minimize

    objective = _Objective(X, y, W0.shape[0], eps, parallel)
    theta0 = np.concatenate([np.ravel(W0), b0])
    history = []
    interrupted, done = False, 0

    def fun(th):
        loss, g = objective(th)
        if not history:
            history.append(loss)
        return loss, g.copy()

    def callback(intermediate_result):
        history.append(float(intermediate_result.fun))
        prog.update(len(history) - 1, history[-1])

    try:
        if iterations == 0:
            fun(theta0)
            message = "0 iterations requested"
        else:
            res = minimize(fun, theta0, jac=True, method="L-BFGS-B", callback=callback,
                           options={"maxiter": iterations, "maxfun": 20 * iterations + 20,
                                    "ftol": 0.0, "gtol": tol})
            done, message = int(res.nit), str(res.message)
            prog.update(len(history) - 1, history[-1], force=True)
    except KeyboardInterrupt:
        interrupted, message = True, _INTERRUPTED
        done = max(len(history) - 1, 0)
        prog.close(" (interrupted)")
    if objective.best_theta is None:          # interrupted before the first evaluation
        objective(theta0)
    W, b = objective.split(objective.best_theta)
    return (W, b, objective.best_loss, objective.best_gnorm, history, done,
            objective.evaluations, message, interrupted, objective.parallel)


# ----------------------------------------------------------------------------- quadrature
@dataclasses.dataclass(frozen=True)
class QuadratureLayer:
    r"""An LSE layer built from samples of continuous initial data (:func:`quadrature_layer`).

    With ``U(x, t) = inf_y (g(y) + |x - y|^2/(4t))`` the Hopf-Lax solution of
    the continuous data ``g``, the layer approximates

    ``F(x) = |x|^2/(4t) - U(x, t)``

    (the network view of the continuous problem under the exact dictionary;
    for ``weighted=True``, ``|x|^2/(4t) - u_eps(x, t)`` with ``u_eps`` the
    viscous solution of the continuous data).

    Attributes
    ----------
    layer : LSELayer
        ``model.to_network(t)`` (weighted: with the normalisation constant
        ``(eps*d/2)*log(4*pi*eps*t)`` subtracted from ``b``).
    model : HopfCole
        The sampled PDE view (``model.sampling`` describes the sampling).
    t : float
    weighted : bool
        Samples weighted by the cell volume ``h^d`` (a Riemann sum of the
        heat-kernel integral).
    """

    layer: object
    model: object
    t: float
    weighted: bool = False

    def __repr__(self):
        L, info = self.layer, self.model.sampling
        return (f"QuadratureLayer(N={L.N}, d={L.d}, eps={L.eps!r}, t={self.t!r}, "
                f"weighted={self.weighted}, covering_radius={info.covering_radius!r})")

    def bound(self, x):
        """``(lower, upper)`` with ``lower <= layer(x) - F(x) <= upper``.

        From :meth:`HopfCole.sampling_bound` (unweighted samples; ``F`` as in
        the class docstring): ``lower = -(2 L r + r^2/(4t))`` where the ball
        ``B(x, 2tL)`` lies in the sampled box (``-inf`` elsewhere, or where
        ``r`` or ``L`` is unknown), ``upper = eps*log N``.

        Examples
        --------
        >>> import numpy as np
        >>> from tropical.fit import quadrature_layer
        >>> q = quadrature_layer(lambda Y: np.abs(Y[:, 0]), 0.0, 0.5, box=(-3.0, 3.0),
        ...                      h=0.25, lipschitz=1.0)
        >>> lo, hi = q.bound([[0.3]])
        >>> float(lo[0]), float(hi[0])          # -(2*1*0.125 + 0.125**2/2), 0*log N
        (-0.2578125, 0.0)
        """
        lo_u, hi_u = self.model.sampling_bound(x, self.t)
        return -hi_u, -lo_u

    def to_json(self) -> str:
        """JSON text (samples, values, eps, t, sampling info); inverse :meth:`from_json`."""
        hc, info = self.model, self.model.sampling
        box = None if info.box is None else [np.asarray(v).tolist() for v in info.box]
        lip = info.lipschitz if math.isfinite(info.lipschitz) else None
        return json.dumps({"type": "QuadratureLayer", "y": hc.y.tolist(), "g": hc.g.tolist(),
                           "eps": hc.eps, "t": self.t, "weighted": self.weighted,
                           "lipschitz": lip, "covering_radius": info.covering_radius,
                           "box": box, "cell_volume": info.cell_volume})

    @classmethod
    def from_json(cls, text):
        """Inverse of :meth:`to_json`.

        Examples
        --------
        >>> import numpy as np
        >>> from tropical.fit import quadrature_layer, QuadratureLayer
        >>> q = quadrature_layer(lambda Y: Y[:, 0] ** 2, 0.1, 1.0, box=(-1.0, 1.0), h=0.5)
        >>> QuadratureLayer.from_json(q.to_json()).layer == q.layer
        True
        """
        from .views.pde import HopfCole, SamplingInfo

        data = json.loads(text)
        if not isinstance(data, dict) or data.get("type") != "QuadratureLayer":
            raise ValueError("not the JSON of a QuadratureLayer")
        box = None if data["box"] is None else tuple(np.asarray(v, float) for v in data["box"])
        lip = math.inf if data["lipschitz"] is None else float(data["lipschitz"])
        info = SamplingInfo(lip, data["covering_radius"], box, bool(data["weighted"]),
                            data["cell_volume"])
        hc = HopfCole(data["y"], data["g"], data["eps"], normalized=bool(data["weighted"]),
                      _sampling=info)
        return cls(_network_of(hc, data["t"], bool(data["weighted"])), hc, float(data["t"]),
                   bool(data["weighted"]))


def _network_of(hc, t, weighted):
    layer = hc.to_network(t)
    if weighted and hc.eps > 0:
        from .views.network import LSELayer

        shift = 0.5 * hc.eps * hc.d * math.log(4.0 * math.pi * hc.eps * t)
        layer = LSELayer(layer.W, layer.b - shift, hc.eps)
    return layer


def quadrature_layer(g, eps, t=1.0, *, points=None, box=None, h=None, lipschitz=None,
                     covering_radius=None, weighted=False, d=None):
    r"""An LSE layer from samples of continuous initial data ``g`` (no training).

    Samples ``g`` with :func:`tropical.views.pde.from_initial_data` (the
    code behind :meth:`tropical.HopfCole.from_initial_data`) and reads off
    the network view at time ``t``, ``w_j = y_j/(2t)``,
    ``b_j = -g_j - |y_j|^2/(4t)``. The layer approximates
    ``F(x) = |x|^2/(4t) - U(x, t)`` with ``U`` the Hopf-Lax solution of the
    continuous data, and for unweighted samples carries the proven bound
    (:meth:`QuadratureLayer.bound`)

    ``-(2 L r + r^2/(4t)) <= layer(x) - F(x) <= eps*log N``

    where ``B(x, 2tL)`` lies in the sampled box (``r`` the covering radius,
    ``h*sqrt(d)/2`` on a grid of spacing ``h``; ``L`` the Lipschitz constant).

    Parameters
    ----------
    g : callable
        ``g(Y)`` for ``Y`` of shape ``(M, d)`` returns ``M`` finite values.
    eps : float
        Temperature ``>= 0`` of the layer (the viscosity of the PDE view).
    t : float, default 1.0
        Time ``> 0``.
    points : array_like (M, d), optional
        Sample points (instead of a grid).
    box : pair (lo, hi), optional
        The grid's box (floats or arrays of length ``d``), with ``h``.
    h : float, optional
        Grid spacing.
    lipschitz : float, optional
        ``L >= 0`` with ``|g(x) - g(y)| <= L|x - y|`` (the caller's claim).
        ``None``: unknown (the bound is then ``-inf`` below).
    covering_radius : float, optional
        With ``points``: every point of ``box`` lies within it of a sample.
    weighted : bool, default False
        Weight the grid samples by the cell volume ``h^d`` and keep the
        heat-kernel normalisation: a Riemann sum of the viscous solution of
        the continuous data, so the layer approximates
        ``|x|^2/(4t) - u_eps(x, t)``; no bound is claimed.
    d : int, optional
        Dimension of the grid when ``box`` has scalar bounds (default 1).

    Returns
    -------
    QuadratureLayer
        ``.layer`` is the :class:`LSELayer`, ``.bound(x)`` the error bound.

    Examples
    --------
    >>> import numpy as np
    >>> from tropical.fit import quadrature_layer
    >>> g = lambda Y: np.linalg.norm(Y, axis=1)            # Lipschitz 1
    >>> q = quadrature_layer(g, 0.01, t=0.5, box=(-3.0, 3.0), h=0.1, lipschitz=1.0, d=2)
    >>> q.layer
    LSELayer(N=3721, d=2, eps=0.01)
    >>> x = np.array([[0.2, 0.1], [1.5, -0.5]])
    >>> r = np.linalg.norm(x, axis=1)                       # U = r^2/(4t) or r - t
    >>> F = r**2 / 2 - np.where(r <= 1, r**2 / 2, r - 0.5)
    >>> lo, hi = q.bound(x)
    >>> gap = q.layer(x) - F
    >>> bool(np.all((lo <= gap) & (gap <= hi)))
    True
    """
    from .views.pde import HopfCole, from_initial_data

    t = _check_positive(t, "t")
    if not isinstance(weighted, (bool, np.bool_)):
        raise TypeError(f"weighted must be a bool, got {type(weighted).__name__}")
    L = None if lipschitz is None else check_eps(lipschitz, "lipschitz")
    hc = from_initial_data(g, 0.0 if L is None else L, eps, box=box, h=h, points=points,
                           covering_radius=covering_radius, quadrature=bool(weighted), d=d)
    if L is None:   # unknown Lipschitz constant: no ball B(x, 2tL) fits, no upper bound on u
        info = dataclasses.replace(hc.sampling, lipschitz=math.inf)
        hc = HopfCole(hc.y, hc.g, hc.eps, normalized=hc.normalized, _sampling=info)
    return QuadratureLayer(_network_of(hc, t, bool(weighted)), hc, t, bool(weighted))


# ----------------------------------------------------------------------------- scaling
def _norm_target(X):
    return np.linalg.norm(X, axis=1)


def _resolve_target(target, name="target"):
    if isinstance(target, str):
        if target == "norm":
            return _norm_target, "norm"
        raise ValueError(f"{name} must be a callable or one of {sorted(_TARGETS)}, got {target!r}")
    if not callable(target):
        raise TypeError(f"{name} must be a callable f(X) -> values, got {type(target).__name__}")
    return target, getattr(target, "__name__", "callable")


def _eval_target(fn, X, name):
    vals = np.asarray(fn(X), dtype=np.float64).reshape(-1)
    if vals.shape != (X.shape[0],):
        raise ValueError(f"{name}(X) must return {X.shape[0]} values, got {vals.size}")
    if not np.isfinite(vals).all():
        raise ValueError(f"{name}(X) returned non-finite values")
    return vals


def _eps_of(rule, N, d):
    if isinstance(rule, str):
        if rule == "N^(-1/d)":
            return float(N) ** (-1.0 / d)
        raise ValueError(f"eps_rule must be one of {_EPS_RULES}, a number >= 0 or a callable "
                         f"(N, d) -> eps, got {rule!r}")
    if callable(rule):
        return check_eps(rule(N, d), "eps_rule(N, d)")
    return check_eps(rule, "eps_rule")


def _box_of(box, d, name):
    try:
        lo, hi = box
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (lo, hi), got {box!r}") from None
    lo = np.broadcast_to(_finite(lo, f"{name}[0]"), (d,)).astype(float)
    hi = np.broadcast_to(_finite(hi, f"{name}[1]"), (d,)).astype(float)
    if not (hi > lo).all():
        raise ValueError(f"{name} must have lo < hi in every coordinate, got {lo} and {hi}")
    return lo, hi


def _slope_fit(logN, logE):
    """OLS of logE on logN: ``(slope, intercept, standard error, dof)``."""
    x, yv = np.asarray(logN, float), np.asarray(logE, float)
    n = x.size
    xm = x.mean()
    sxx = float(((x - xm) ** 2).sum())
    if n < 2 or sxx == 0:
        return math.nan, math.nan, math.nan, 0
    s = float(((x - xm) * (yv - yv.mean())).sum() / sxx)
    a = float(yv.mean() - s * xm)
    dof = n - 2
    if dof < 1:
        return s, a, math.nan, dof
    ssr = float(((yv - a - s * x) ** 2).sum())
    return s, a, math.sqrt(ssr / dof / sxx), dof


def _exponent(Ns, E, ci, level, rng):
    """``(slope, intercept, (lo, hi))`` of log E (shape (len(Ns), repeats)) against log N."""
    Ns = np.asarray(Ns, float)
    ok = np.isfinite(E) & (E > 0)
    rows = ok.all(axis=1)
    if rows.sum() < 2:
        return math.nan, math.nan, (math.nan, math.nan)
    logN = np.log(Ns[rows])
    logE = np.log(E[rows])
    R = logE.shape[1]
    s, a, se, dof = _slope_fit(np.repeat(logN, R), logE.ravel())
    if ci == "t":
        if not math.isfinite(se) or dof < 1:
            return s, a, (math.nan, math.nan)
        from scipy.stats import t as student

        q = float(student.ppf(0.5 + level / 2, dof))
        return s, a, (s - q * se, s + q * se)
    # bootstrap over repeats: resample whole repeats (each a curve over all N)
    B = 2000
    slopes = np.empty(B)
    for k in range(B):
        pick = rng.integers(0, R, size=R)
        slopes[k] = _slope_fit(logN, logE[:, pick].mean(axis=1))[0]
    lo, hi = np.quantile(slopes, [0.5 - level / 2, 0.5 + level / 2])
    return s, a, (float(lo), float(hi))


@dataclasses.dataclass
class ScalingResult:
    r"""Errors against the number of terms ``N``, per intrinsic dimension ``d``.

    Every per-dimension field is a dict keyed by ``d`` (an int; JSON keeps
    them as strings and :meth:`from_json` converts back). Arrays of errors
    have shape ``(len(Ns[d]), repeats)``; entries not computed (an
    interrupted run) are NaN.

    Attributes
    ----------
    dims : tuple of int
        The intrinsic dimensions.
    Ns : dict int -> ndarray of int
        The numbers of terms actually used (quadrature grids round
        ``N^(1/d)`` to an integer number of nodes per axis).
    errors : dict int -> ndarray
        RMS error ``sqrt(mean (layer(x) - f(x))^2)`` on the held-out test points.
    max_errors : dict int -> ndarray
        ``max |layer(x) - f(x)|`` on the test points.
    exponent : dict int -> float
        ``s`` of the least-squares fit ``log(error) = a + s*log(N)`` (RMS
        errors, all repeats), per ``d``. NaN with fewer than two ``N``.
    interval : dict int -> (float, float)
        Confidence interval of ``s`` at ``level`` (method ``ci``).
    intercept : dict int -> float
        ``a`` of the same fit.
    exponent_max, interval_max : dict
        The same for the max errors.
    eps : dict int -> ndarray
        The temperature used for each ``N``.
    train_loss : dict int -> ndarray
        Final training loss (fit mode; NaN for quadrature).
    seconds : dict int -> ndarray
        Wall time per layer (fitting or sampling).
    mode : str
        ``"fit"`` or ``"quadrature"``.
    ci : str
        ``"t"``: Student-t interval of the OLS slope over all
        ``len(Ns)*repeats`` points (``dof = n - 2``; it treats the points
        as independent with equal variance around the line, so it reflects
        the scatter of the errors, not a model error such as a log factor).
        ``"bootstrap"``: percentile interval of the slope of the mean log
        error over 2000 resamplings of whole repeats.
    level : float
    interrupted : bool
    settings : dict
        The other parameters (target name, eps rule, box, sizes, method...).
    """

    dims: tuple
    Ns: dict
    errors: dict
    max_errors: dict
    exponent: dict
    interval: dict
    intercept: dict
    exponent_max: dict
    interval_max: dict
    eps: dict
    train_loss: dict
    seconds: dict
    mode: str
    ci: str = "t"
    level: float = 0.95
    interrupted: bool = False
    settings: dict = dataclasses.field(default_factory=dict)

    def __repr__(self):
        parts = []
        for d in self.dims:
            lo, hi = self.interval[d]
            parts.append(f"{d}: {self.exponent[d]:.3f} [{lo:.3f}, {hi:.3f}]")
        flag = ", interrupted=True" if self.interrupted else ""
        return (f"ScalingResult(mode={self.mode!r}, dims={tuple(self.dims)}, "
                f"exponent={{{', '.join(parts)}}}, ci={self.ci!r}, level={self.level}{flag})")

    def __str__(self):
        lines = [f"scaling experiment ({self.mode}): error ~ N^s, {self.ci} interval at "
                 f"level {self.level}"]
        for d in self.dims:
            lo, hi = self.interval[d]
            mlo, mhi = self.interval_max[d]
            lines.append(f"d = {d}: s(RMS) = {self.exponent[d]:.3f} [{lo:.3f}, {hi:.3f}], "
                         f"s(max) = {self.exponent_max[d]:.3f} [{mlo:.3f}, {mhi:.3f}]")
            lines.append("       N        eps     RMS error     max error")
            for k, N in enumerate(self.Ns[d]):
                lines.append(f"{int(N):8d} {self.eps[d][k]:10.4g} "
                             f"{_mean(self.errors[d][k]):13.4e} "
                             f"{_mean(self.max_errors[d][k]):13.4e}")
        if self.interrupted:
            lines.append("INCOMPLETE: interrupted")
        return "\n".join(lines)

    def to_json(self) -> str:
        """JSON text of the result (inverse :meth:`from_json`)."""
        def per_d(field):
            return {str(d): np.asarray(field[d]).tolist() for d in self.dims}

        return json.dumps({"type": "ScalingResult", "dims": list(self.dims),
                           "Ns": per_d(self.Ns), "errors": per_d(self.errors),
                           "max_errors": per_d(self.max_errors),
                           "exponent": per_d(self.exponent), "interval": per_d(self.interval),
                           "intercept": per_d(self.intercept),
                           "exponent_max": per_d(self.exponent_max),
                           "interval_max": per_d(self.interval_max), "eps": per_d(self.eps),
                           "train_loss": per_d(self.train_loss),
                           "seconds": per_d(self.seconds), "mode": self.mode, "ci": self.ci,
                           "level": self.level, "interrupted": self.interrupted,
                           "settings": self.settings}, default=_json_default)

    @classmethod
    def from_json(cls, text):
        """Inverse of :meth:`to_json` (NaN survives as JSON ``NaN``)."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("type") != "ScalingResult":
            raise ValueError("not the JSON of a ScalingResult")
        dims = tuple(int(d) for d in data["dims"])

        def arr(key, dtype=float):
            return {d: np.asarray(data[key][str(d)], dtype=dtype) for d in dims}

        def num(key):
            return {d: float(data[key][str(d)]) for d in dims}

        def pair(key):
            return {d: tuple(float(v) for v in data[key][str(d)]) for d in dims}

        return cls(dims, arr("Ns", int), arr("errors"), arr("max_errors"), num("exponent"),
                   pair("interval"), num("intercept"), num("exponent_max"),
                   pair("interval_max"), arr("eps"), arr("train_loss"), arr("seconds"),
                   data["mode"], data["ci"], data["level"], data["interrupted"],
                   data["settings"])

    def plot(self, path=None, ax=None):
        """Log-log plot of the RMS (solid) and max (dashed) errors against ``N``, per ``d``.

        Needs matplotlib (``pip install 'tropical-engine[plot]'``). Saves to
        ``path`` when given; returns the figure.
        """
        try:
            import matplotlib
            if path is not None and ax is None:
                matplotlib.use("Agg", force=False)
            import matplotlib.pyplot as plt
        except ImportError:
            raise ImportError("ScalingResult.plot needs matplotlib: install the 'plot' extra "
                              "(pip install 'tropical-engine[plot]')") from None
        if ax is None:
            fig, ax = plt.subplots(figsize=(6, 4))
        else:
            fig = ax.figure
        for d in self.dims:
            N = np.asarray(self.Ns[d], float)
            e = np.array([_mean(row) for row in self.errors[d]])
            lo, hi = self.interval[d]
            line, = ax.loglog(N, e, "o-", label=f"d={d}: s={self.exponent[d]:.2f} "
                                                 f"[{lo:.2f}, {hi:.2f}]")
            ax.loglog(N, [_mean(row) for row in self.max_errors[d]], "s--",
                      color=line.get_color(), alpha=0.6)
            if math.isfinite(self.exponent[d]):
                ax.loglog(N, np.exp(self.intercept[d]) * N ** self.exponent[d], ":",
                          color=line.get_color())
        ax.set_xlabel("N (terms)")
        ax.set_ylabel("test error: RMS (solid), max (dashed)")
        ax.set_title(f"scaling ({self.mode}), {self.settings.get('target', '')}")
        ax.legend(fontsize=8)
        if path is not None:
            fig.savefig(path, dpi=120, bbox_inches="tight")
        return fig


def _mean(values):
    """Mean of the finite entries (NaN, silently, when there is none)."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else math.nan


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return repr(obj)


def _cpus():
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:                     # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def _run_threads(run, record, tasks, workers, order):
    """``record(task, run(task))`` for every task, ``workers`` threads at once; returns
    whether Ctrl-C stopped it (finished results are kept, running fits stop at their
    next chunk of iterations and are dropped)."""
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    stop = threading.Event()

    def job(task):
        _worker.stop = stop
        try:
            return run(task)
        finally:
            _worker.stop = None

    workers = min(workers, len(tasks))
    pool = ThreadPoolExecutor(max_workers=workers)
    queue = iter(order)
    running = {}                           # at most ``workers`` submitted at a time, so
                                           # nothing new starts after Ctrl-C

    def submit_next():
        i = next(queue, None)
        if i is not None:
            running[pool.submit(job, tasks[i])] = i

    def harvest(done):
        """Record the finished fits among ``done`` in task order; return the first error."""
        error = None
        for fut in sorted(done, key=running.get):
            i = running[fut]
            if fut.exception() is None:
                record(tasks[i], fut.result())
            elif error is None:
                error = fut.exception()
            del running[fut]               # after record: a Ctrl-C inside it loses nothing
        return error

    try:
        for _ in range(workers):
            submit_next()
        while running:
            done, _ = wait(running, timeout=0.25, return_when=FIRST_COMPLETED)
            error = harvest(done)
            if error is not None:
                raise error
            for _ in done:
                submit_next()
        return False
    except KeyboardInterrupt:
        stop.set()
        while True:                        # running fits stop at their next chunk; a
            try:                           # second Ctrl-C meanwhile changes nothing
                wait(running)
                harvest(list(running))     # keep every fit that finished
                return True
            except KeyboardInterrupt:
                continue
    finally:
        stop.set()
        pool.shutdown(wait=True)


def scaling_experiment(target, dims=(1, 2), Ns=(4, 8, 16, 32), *, mode="fit",
                       eps_rule="N^(-1/d)", box=(-2.0, 2.0), n_test=1000, n_train=None,
                       method="lbfgs", iterations=500, lr=0.01, init="supporting", seed=0,
                       repeats=1, ci="t", level=0.95, t=1.0, initial_data=None,
                       lipschitz=None, quadrature_box=None, weighted=True, ambient_dim=None,
                       parallel=None, workers=None, progress=None):
    r"""Test error of LSE layers against the number of terms ``N``, and its exponent.

    For each intrinsic dimension ``d`` in ``dims`` and each ``N`` in ``Ns``:
    build a layer with ``N`` terms at ``eps = eps_rule(N, d)``, measure the
    RMS and max error ``|layer(x) - f(x)|`` at ``n_test`` held-out points
    uniform in ``box^d``, and fit ``log(error) = a + s*log(N)`` by least
    squares over the ``Ns`` (and repeats). ``s`` is reported with a
    confidence interval (``ci``).

    What ``s`` measures (see also ``docs/fit.md``): the total error of the
    whole procedure, never a pure approximation rate.

    * ``mode="fit"``: approximation error of the best layer with ``N`` terms
      *at this eps* plus the optimisation error of the finite run (a local
      minimum, an unfinished descent) plus the generalisation gap of
      ``n_train`` samples. Flattening at large ``N`` usually means the
      optimiser, not the model class, is the bottleneck (check
      ``train_loss``).
    * ``mode="quadrature"``: no optimisation. Sampling/resolution error
      (``O(h)`` or ``O(h^2)`` in the grid spacing ``h ~ N^(-1/d)``) plus the
      smoothing bias of the temperature. With ``eps = N^(-1/d)`` the two are
      coupled: ``eps`` shrinks with the resolution, so the rate seen is the
      slower of the two (for smooth data and weighted samples the smoothing
      bias ``(eps*d/2)*log(1 + 2*t*a)`` of a quadratic ``g = a|y|^2/2`` is
      exactly ``O(eps) = O(N^(-1/d))``).
    * Any LSE layer at ``eps > 0`` lies above its max-plus part by up to
      ``eps*log N``, and a kink of the target (``f(x) = ||x||`` at ``0``)
      cannot be matched by a smooth layer: near the kink the error is of
      order ``eps``, so with ``eps = N^(-1/d)`` the max error decays at best
      like ``N^(-1/d)`` (up to ``log N``) whatever the optimiser does, and it
      dominates the max-error exponent.

    Parameters
    ----------
    target : callable or "norm"
        ``f(X)`` for ``X`` of shape ``(M, d)`` returns ``M`` values, for
        every ``d`` in ``dims``; ``"norm"`` is ``||x||_2``. In quadrature
        mode, the function the layer approximates,
        ``|x|^2/(4t) - U(x, t)`` for ``initial_data`` ``g``
        (:func:`quadrature_layer`).
    dims : sequence of int, default (1, 2)
        Intrinsic dimensions ``d >= 1``.
    Ns : sequence of int, default (4, 8, 16, 32)
        Numbers of terms (at least two distinct values for an exponent,
        three for a ``t`` interval).
    mode : {"fit", "quadrature"}, default "fit"
    eps_rule : "N^(-1/d)", float or callable, default "N^(-1/d)"
        The temperature for ``N`` terms in dimension ``d``: the balanced
        choice ``N^(-1/d)``, a constant ``>= 0``, or ``eps_rule(N, d)``.
    box : pair (lo, hi), default (-2.0, 2.0)
        Floats (a cube) or arrays of length ``d`` (only if ``dims`` has one
        entry). Training and test points are uniform in it.
    n_test : int, default 1000
        Held-out test points (the same for every ``N`` within a repeat).
    n_train : int, optional
        Fit mode: training samples (default ``max(256, 20*(d+1)*max(Ns))``),
        the same for every ``N`` within a repeat.
    method : {"adam", "lbfgs"}, default "lbfgs"
        Fit mode: the optimiser of :func:`fit`.
    iterations, lr, init :
        Fit mode: passed to :func:`fit`.
    seed : int, default 0
        Randomness (data, test points, initialisations, bootstrap).
    repeats : int, default 1
        Independent repetitions (fresh data, test points and initialisation).
    ci : {"t", "bootstrap"}, default "t"
        ``"t"``: Student-t interval of the OLS slope (needs three points);
        ``"bootstrap"``: resampling whole repeats (needs ``repeats >= 2``).
    level : float, default 0.95
        Confidence level in ``(0, 1)``.
    t : float, default 1.0
        Quadrature mode: the time of the PDE view.
    initial_data : callable, optional
        Quadrature mode (required): ``g(Y)``, sampled on the grid.
    lipschitz : float, optional
        Quadrature mode: the Lipschitz constant of ``g`` (metadata of the
        layers; ``None``: unknown).
    quadrature_box : pair (lo, hi), optional
        Quadrature mode: the box sampled by the grid (default ``box``); the
        grid has ``round(N^(1/d))`` nodes per axis, spacing
        ``h = max(hi - lo)/(nodes - 1)``.
    weighted : bool, default True
        Quadrature mode: weighted (Riemann sum of the viscous solution) or
        plain samples (see :func:`quadrature_layer`).
    ambient_dim : int, optional
        Fit mode: embed the ``d``-dimensional data in ``R^D`` (``D >=
        max(dims)``) by a random isometry ``x = Q u``; the target is
        evaluated at ``u`` and the layer fitted on ``x`` (the rate should
        follow the intrinsic ``d``, not ``D``).
    parallel : bool, optional
        Passed to :func:`fit` (threads inside each fit). Only with
        ``workers=1``.
    workers : int, optional
        Fit mode: fits run at once, each on its own thread (the kernels release
        the GIL) and single-threaded inside, the largest first. Default: the
        CPUs this process may use, unless ``parallel=True`` asks for threads
        inside each fit instead. Every fit draws its own seed from ``seed``
        before any runs, so the result is the same for every ``workers``
        (except ``seconds``, the time each fit took).
    progress : bool, optional
        One stderr line per layer; default when stderr is a terminal.

    Returns
    -------
    ScalingResult
        Ctrl-C returns what was computed so far (``interrupted=True``); fits
        running on other threads stop at their next chunk of iterations and
        are dropped.

    Examples
    --------
    Quadrature of ``g(y) = |y|^2/2`` at ``t = 1/2`` (``a = 1``): the layer
    approximates ``F = |x|^2/(4t) - |x|^2/(2(1 + 2t)) = |x|^2/4`` and the
    weighted construction is off by exactly ``(eps*d/2)*log 2`` (see
    ``docs/fit.md``), so with ``eps = N^(-1/d)`` the exponent is ``-1/d``:

    >>> import numpy as np
    >>> from tropical.fit import scaling_experiment
    >>> res = scaling_experiment(lambda X: (X ** 2).sum(axis=1) / 4, dims=(1,),
    ...                          Ns=(33, 65, 129, 257), mode="quadrature", t=0.5,
    ...                          initial_data=lambda Y: (Y ** 2).sum(axis=1) / 2,
    ...                          box=(-1.0, 1.0), quadrature_box=(-1.5, 1.5), n_test=200)
    >>> round(res.exponent[1], 3)
    -1.0
    >>> res.errors[1].shape
    (4, 1)
    """
    fn, tname = _resolve_target(target)
    if mode not in ("fit", "quadrature"):
        raise ValueError(f"mode must be 'fit' or 'quadrature', got {mode!r}")
    try:
        dims = tuple(check_int(d, "dims", minimum=1) for d in dims)
        Ns = tuple(check_int(N, "Ns", minimum=1) for N in Ns)
    except TypeError as exc:
        raise TypeError(f"dims and Ns must be sequences of integers ({exc})") from None
    if not dims:
        raise ValueError("dims is empty")
    if not Ns:
        raise ValueError("Ns is empty")
    if len(set(dims)) != len(dims) or len(set(Ns)) != len(Ns):
        raise ValueError(f"dims and Ns must not repeat values, got {dims} and {Ns}")
    n_test = check_int(n_test, "n_test", minimum=1)
    repeats = check_int(repeats, "repeats", minimum=1)
    if ci not in ("t", "bootstrap"):
        raise ValueError(f"ci must be 't' or 'bootstrap', got {ci!r}")
    if ci == "bootstrap" and repeats < 2:
        raise ValueError("ci='bootstrap' resamples repeats: it needs repeats >= 2")
    level = check_eps(level, "level")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    for d in dims:                                   # validate the rule early
        _eps_of(eps_rule, Ns[0], d)
    boxes = {d: _box_of(box, d, "box") for d in dims}
    if mode == "quadrature":
        if initial_data is None or not callable(initial_data):
            raise ValueError("mode='quadrature' needs initial_data, a callable g(Y)")
        if ambient_dim is not None:
            raise ValueError("ambient_dim applies to mode='fit' only")
        t = _check_positive(t, "t")
        qboxes = {d: _box_of(box if quadrature_box is None else quadrature_box, d,
                             "quadrature_box") for d in dims}
        if method not in _METHODS:
            raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    else:
        if method not in _METHODS:
            raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
        iterations = check_int(iterations, "iterations", minimum=0)
        if n_train is not None:
            n_train = check_int(n_train, "n_train", minimum=1)
        if ambient_dim is not None:
            ambient_dim = check_int(ambient_dim, "ambient_dim", minimum=1)
            if ambient_dim < max(dims):
                raise ValueError(f"ambient_dim = {ambient_dim} is below max(dims) = {max(dims)}")
    if parallel is not None and not isinstance(parallel, (bool, np.bool_)):
        raise TypeError(f"parallel must be a bool or None, got {type(parallel).__name__}")
    if workers is None:
        workers = 1 if (mode != "fit" or parallel) else _cpus()
    else:
        workers = check_int(workers, "workers", minimum=1)
        if workers > 1 and parallel:
            raise ValueError("parallel=True (threads inside each fit) and workers > 1 (fits "
                             "on several threads) exclude each other: choose one")
        if workers > 1 and mode != "fit":
            raise ValueError(f"workers = {workers}: only mode='fit' runs on several threads "
                             "(a quadrature layer is cheap to build)")
    rng = np.random.default_rng(seed)
    show = _want_progress(progress)
    shape = (len(Ns), repeats)
    nan = lambda: np.full(shape, np.nan)          # noqa: E731
    res_N = {d: np.array(Ns, dtype=int) for d in dims}
    errors = {d: nan() for d in dims}
    maxerr = {d: nan() for d in dims}
    loss = {d: nan() for d in dims}
    secs = {d: nan() for d in dims}
    epss = {d: np.full(len(Ns), np.nan) for d in dims}
    # every random draw happens here, in a fixed order, before any fit runs: the
    # result does not depend on the number of workers
    tasks = []
    for d in dims:
        lo, hi = boxes[d]
        for rep in range(repeats):
            U_test = lo + (hi - lo) * rng.random((n_test, d))
            f_test = _eval_target(fn, U_test, "target")
            if mode == "fit":
                D = d if ambient_dim is None else ambient_dim
                Q = np.linalg.qr(rng.normal(size=(D, d)))[0] if ambient_dim else None
                M = n_train if n_train is not None else max(256, 20 * (d + 1) * max(Ns))
                U_train = lo + (hi - lo) * rng.random((M, d))
                y_train = _eval_target(fn, U_train, "target")
                X_train = U_train if Q is None else U_train @ Q.T
                X_test = U_test if Q is None else U_test @ Q.T
                for k, N in enumerate(Ns):
                    tasks.append((d, rep, k, N, int(rng.integers(0, 2**63)), X_train, y_train,
                                  X_test, f_test))
            else:
                for k, N in enumerate(Ns):
                    tasks.append((d, rep, k, N, None, None, None, U_test, f_test))

    workers = min(workers, len(tasks))
    if workers > 1:
        # each fit single-threaded: Numba's workqueue layer must never see two
        # parallel regions at once (the test errors are evaluated on this thread)
        parallel = False

    def run(task):
        d, rep, k, N, fit_seed, X_train, y_train = task[:7]
        t0 = time.perf_counter()
        if mode == "fit":
            eps = _eps_of(eps_rule, N, d)
            r = fit(X_train, y_train, N, eps, method=method, iterations=iterations, lr=lr,
                    init=init, seed=fit_seed, parallel=parallel, progress=False)
            if r.interrupted:
                raise KeyboardInterrupt
            layer, train_loss, n_layer = r.layer, r.loss, N
        else:
            qlo, qhi = qboxes[d]
            nodes = max(2, int(round(N ** (1.0 / d))))
            h = float((qhi - qlo).max()) / (nodes - 1)
            n_actual = int(np.prod(np.ceil((qhi - qlo) / h - 1e-9).astype(int) + 1))
            eps = _eps_of(eps_rule, n_actual, d)
            layer = quadrature_layer(initial_data, eps, t, box=(qlo, qhi), h=h,
                                     lipschitz=lipschitz, weighted=bool(weighted), d=d).layer
            train_loss, n_layer = np.nan, layer.N
        return layer, train_loss, n_layer, eps, time.perf_counter() - t0

    interrupted = False
    total, count, t_start = len(tasks), 0, time.perf_counter()

    def record(task, out):
        """The test errors of a finished layer (on this thread), into the result."""
        nonlocal count
        d, rep, k = task[:3]
        X_test, f_test = task[7:]
        layer, train_loss, n_layer, eps, seconds = out
        err = layer(X_test) - f_test
        errors[d][k, rep] = math.sqrt(float(np.mean(err * err)))
        maxerr[d][k, rep] = float(np.abs(err).max())
        loss[d][k, rep], secs[d][k, rep] = train_loss, seconds
        res_N[d][k], epss[d][k] = n_layer, eps
        count += 1
        if show:
            sys.stderr.write(f"\rscaling: {count}/{total} (d={d}, N={n_layer}) "
                             f"{time.perf_counter() - t_start:6.1f} s")
            sys.stderr.flush()

    if workers == 1:
        try:
            for task in tasks:
                record(task, run(task))
        except KeyboardInterrupt:
            interrupted = True
    else:
        # the largest fits first: the last one to finish sets the wall time
        cost = [t[5].shape[0] * t[3] for t in tasks]
        order = sorted(range(len(tasks)), key=lambda i: (-cost[i], i))
        interrupted = _run_threads(run, record, tasks, workers, order)
    if show:
        sys.stderr.write(" (interrupted)\n" if interrupted else "\n")
    expo, inter, icpt, expo_m, inter_m = {}, {}, {}, {}, {}
    for d in dims:
        expo[d], icpt[d], inter[d] = _exponent(res_N[d], errors[d], ci, level, rng)
        expo_m[d], _, inter_m[d] = _exponent(res_N[d], maxerr[d], ci, level, rng)
    rule = eps_rule if isinstance(eps_rule, (str, int, float)) else repr(eps_rule)
    settings = {"target": tname, "eps_rule": rule, "box": [np.asarray(v).tolist() for v in box]
                if not isinstance(box, str) else box, "n_test": n_test, "n_train": n_train,
                "method": method if mode == "fit" else None,
                "iterations": iterations if mode == "fit" else None, "lr": lr,
                "init": init if isinstance(init, str) else "layer", "seed": seed
                if isinstance(seed, (int, type(None))) else repr(seed), "repeats": repeats,
                "t": t if mode == "quadrature" else None,
                "weighted": bool(weighted) if mode == "quadrature" else None,
                "ambient_dim": ambient_dim, "Ns_requested": list(Ns)}
    return ScalingResult(dims, res_N, errors, maxerr, expo, inter, icpt, expo_m, inter_m, epss,
                         loss, secs, mode, ci, level, interrupted, settings)
