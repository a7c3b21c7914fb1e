r"""Residual networks as discretised control systems: backprop is the discrete co-state.

MATH.md section 4: a residual network ``x_{k+1} = x_k + h f(x_k, theta_k)``
(``k = 0 .. K-1``) is the explicit Euler scheme of ``x' = f(x, theta(t))``.
With the Hamiltonian ``H(x, p, theta) = <p, f(x, theta)>`` and a terminal loss
``L(x_K)``, the discrete co-state (Pontryagin) equations are

* state:     ``x_{k+1} = x_k + h dH/dp(x_k, p_{k+1}, theta_k)``;
* co-state:  ``p_K = grad L(x_K)``, ``p_k = p_{k+1} + h dH/dx(x_k, p_{k+1}, theta_k)``;
* gradient:  ``dL/dtheta_k = h dH/dtheta(x_k, p_{k+1}, theta_k)``,

and ``dH/dx = (df/dx)^T p``: the co-state recursion *is* the reverse-mode
(backprop) adjoint ``p_k = dL/dx_k``. (A stationary ``theta`` has
``dH/dtheta = 0``: the first-order condition of the discrete maximum
principle, here with ``p`` the gradient of the loss to be minimised.)

Blocks ``f(x, theta)``, each a map ``R^d -> R^d``:

``"tanh"``
    ``f = tanh(A x + c)``; parameters ``A`` (d, d), ``c`` (d,).
``"softplus"``
    ``f = softplus_eps(A x + c)``, ``softplus_eps(z) = eps log(1 + exp(z/eps))
    = z (+)_eps 0`` computed as ``max(z, 0) + eps log1p(exp(-|z|/eps))``
    (no overflow); parameters ``A``, ``c`` and a fixed temperature ``eps >= 0``
    (``eps = 0`` is ReLU, whose derivative at ``0`` is taken as ``1/2``, the
    limit of ``sigmoid(0/eps)``).
``"lse"``
    ``f = V softmax((W x + b)/eps)`` (shape (d,)): the Gibbs average of the
    columns ``v_j`` of ``V`` under the weights of the LSE layer ``(W, b, eps)``,
    i.e. attention with query ``x``; with ``V = W^T`` it is the gradient field
    ``grad LSE_eps(W x + b)``. Parameters ``W`` (n, d), ``b`` (n,), ``V``
    (d, n) and a fixed ``eps > 0``. Jacobian
    ``V (diag(pi) - pi pi^T) W / eps``.

Temperatures are fixed hyper-parameters (not differentiated).

Two independent code paths compute the gradients:

* :meth:`ResidualNetwork.backprop` records the forward pass on a small
  reverse-mode tape of primitives (``x A^T``, ``+ c``, ``tanh``,
  ``softplus``, ``softmax``, ``P V^T``, ``x + h F``), each with its own
  vector-Jacobian product, and sweeps it backwards (an autograd in miniature);
* :func:`costate` integrates the recursion above with the explicit partial
  derivatives of ``H`` (:class:`Hamiltonian`), block by block.

:func:`costate_check` runs both and reports the largest discrepancies, which
are rounding (a few ulps of the scale); the tests add ``torch.autograd`` as a
third oracle.

Examples
--------
>>> import numpy as np
>>> from tropical.control import ResidualNetwork, costate_check
>>> net = ResidualNetwork.random(d=3, depth=6, kind="tanh", h=0.2, seed=0)
>>> report = costate_check(net, np.ones(3), ("squared", np.zeros(3)))
>>> report.ok, report.costate_rel < 1e-13, report.theta_rel < 1e-13
(True, True, True)
"""

from __future__ import annotations

import json
import math
import numbers
from typing import NamedTuple

import numpy as np

from . import _ops
from ._validate import _to_array, check_eps, check_int

__all__ = [
    "KINDS",
    "Block",
    "ResidualNetwork",
    "Loss",
    "Hamiltonian",
    "BackpropResult",
    "CostateReport",
    "costate",
    "costate_check",
]

#: block kind -> names of its trainable parameters
KINDS = {"tanh": ("A", "c"), "softplus": ("A", "c"), "lse": ("W", "b", "V")}


# ---------------------------------------------------------------------------------
# numerics shared by the blocks (forward values only)
# ---------------------------------------------------------------------------------

def _softplus(z, eps):
    """``eps log(1 + exp(z/eps))`` without overflow; ``eps = 0``: ``max(z, 0)``."""
    if eps == 0:
        return np.maximum(z, 0.0)
    return np.maximum(z, 0.0) + eps * np.log1p(np.exp(-np.abs(z) / eps))


def _sigmoid(z, eps):
    """``d softplus_eps / dz = sigmoid(z/eps)`` (``eps = 0``: Heaviside, 1/2 at 0)."""
    if eps == 0:
        return np.where(z > 0, 1.0, np.where(z < 0, 0.0, 0.5))
    return 0.5 * (1.0 + np.tanh(z / (2.0 * eps)))


def _real_array(value, name, shape):
    arr = _to_array(value, name)   # ragged input: an error naming the argument
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be an array of real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite (contains NaN or infinity)")
    arr = arr.copy()
    arr.flags.writeable = False
    return arr


# ---------------------------------------------------------------------------------
# blocks
# ---------------------------------------------------------------------------------

class Block:
    """One residual block ``f(x, theta)`` (immutable): kind, parameters, temperature.

    Parameters
    ----------
    kind : {"tanh", "softplus", "lse"}
    params : dict
        ``{"A", "c"}`` for tanh/softplus, ``{"W", "b", "V"}`` for lse (finite).
    eps : float, optional
        Temperature: required ``>= 0`` for softplus, ``> 0`` for lse; not
        allowed for tanh.

    Examples
    --------
    >>> from tropical.control import Block
    >>> blk = Block("softplus", {"A": [[1.0, 0.0], [0.0, -1.0]], "c": [0.0, 0.0]}, eps=0.0)
    >>> blk([2.0, 3.0])        # ReLU(A x + c)
    array([2., 0.])
    """

    __slots__ = ("kind", "params", "eps", "d")

    def __init__(self, kind, params, eps=None):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {sorted(KINDS)}, got {kind!r}")
        if not isinstance(params, dict):
            raise TypeError(f"params must be a dict of arrays, got {type(params).__name__}")
        names = KINDS[kind]
        missing = set(names) - set(params)
        extra = set(params) - set(names)
        if missing or extra:
            raise ValueError(f"a {kind!r} block needs parameters {list(names)}; "
                             f"missing {sorted(missing)}, unexpected {sorted(extra)}")
        if kind in ("tanh", "softplus"):
            A = _to_array(params["A"], "A")
            if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
                raise ValueError(f"A must be a square (d, d) matrix with d >= 1, got shape "
                                 f"{A.shape}")
            d = A.shape[0]
            p = {"A": _real_array(A, "A", (d, d)), "c": _real_array(params["c"], "c", (d,))}
        else:
            W = _to_array(params["W"], "W")
            if W.ndim != 2 or 0 in W.shape:
                raise ValueError(f"W must be an (n, d) matrix with n, d >= 1, got shape {W.shape}")
            n, d = W.shape
            p = {"W": _real_array(W, "W", (n, d)), "b": _real_array(params["b"], "b", (n,)),
                 "V": _real_array(params["V"], "V", (d, n))}
        if kind == "tanh":
            if eps is not None:
                raise ValueError("a 'tanh' block has no temperature: eps must be None")
        elif eps is None:
            raise ValueError(f"a {kind!r} block needs a temperature eps")
        else:
            eps = check_eps(eps)
            if kind == "lse" and eps == 0:
                raise ValueError("an 'lse' block needs eps > 0 (at eps = 0 softmax is not "
                                 "differentiable)")
        self.kind, self.params, self.eps, self.d = kind, p, eps, d

    def __call__(self, x):
        """``f(x, theta)`` for states ``x`` of shape (..., d)."""
        arr = _to_array(x, "x")
        if arr.dtype.kind not in "iuf":
            raise TypeError(f"x must be an array of real numbers, got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
        if arr.ndim == 0 or arr.shape[-1] != self.d:
            raise ValueError(f"x must have shape (..., {self.d}), got {arr.shape}")
        if not np.isfinite(arr).all():
            raise ValueError("x must be finite (contains NaN or infinity)")
        return self._apply(arr)

    def _apply(self, x):
        """``f(x, theta)`` on validated float64 states (no checks: the network's loop)."""
        P = self.params
        if self.kind == "tanh":
            return np.tanh(x @ P["A"].T + P["c"])
        if self.kind == "softplus":
            return _softplus(x @ P["A"].T + P["c"], self.eps)
        pi = _ops.softmax(x @ P["W"].T + P["b"], self.eps)
        return pi @ P["V"].T

    def __repr__(self):
        extra = f", eps={self.eps!r}" if self.eps is not None else ""
        return f"Block({self.kind!r}, d={self.d}{extra})"

    def __eq__(self, other):
        if not isinstance(other, Block):
            return NotImplemented
        return (self.kind == other.kind and self.eps == other.eps
                and all(np.array_equal(self.params[k], other.params[k]) for k in self.params))

    __hash__ = None

    def to_dict(self):
        out = {"kind": self.kind, **{k: v.tolist() for k, v in self.params.items()}}
        if self.eps is not None:
            out["eps"] = self.eps
        return out

    @classmethod
    def from_dict(cls, data):
        if isinstance(data, Block):
            return data
        if not isinstance(data, dict) or "kind" not in data:
            raise TypeError("a block must be a Block or a dict with a 'kind' key and its "
                            f"parameters, got {type(data).__name__}")
        data = dict(data)
        kind = data.pop("kind")
        eps = data.pop("eps", None)
        return cls(kind, data, eps)


# ---------------------------------------------------------------------------------
# losses
# ---------------------------------------------------------------------------------

class Loss(NamedTuple):
    """A terminal loss ``L(x_K)``: a name, its value and its gradient (callables).

    For a batch of states (M, d) the named losses are summed over the batch.
    Build one with :meth:`Loss.squared`, :meth:`Loss.linear`, or pass a
    ``(value, grad)`` pair of callables to the functions that take a loss.

    Examples
    --------
    >>> import numpy as np
    >>> from tropical.control import Loss
    >>> L = Loss.squared([1.0, 0.0])
    >>> L.name, L.value(np.array([3.0, 0.0])), L.grad(np.array([3.0, 0.0]))
    ('squared', 2.0, array([2., 0.]))
    """

    name: str
    value: object
    grad: object

    @classmethod
    def squared(cls, target):
        """``L(x) = |x - target|^2 / 2`` (summed over a batch), gradient ``x - target``."""
        t = np.asarray(target, dtype=np.float64)
        if not np.isfinite(t).all():
            raise ValueError("target must be finite")
        return cls("squared", lambda x: 0.5 * float(np.sum((x - t) ** 2)), lambda x: x - t)

    @classmethod
    def linear(cls, c):
        """``L(x) = <c, x>`` (summed over a batch), gradient ``c``."""
        c = np.asarray(c, dtype=np.float64)
        if not np.isfinite(c).all():
            raise ValueError("c must be finite")
        return cls("linear", lambda x: float(np.sum(x * c)),
                   lambda x: np.broadcast_to(c, np.shape(x)).copy())


def _loss(loss, d):
    """Normalise the accepted loss specifications to a :class:`Loss`."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str):
        if loss == "squared":
            return Loss.squared(np.zeros(d))
        if loss == "linear":
            return Loss.linear(np.ones(d))
        raise ValueError(f"loss must be 'squared', 'linear', (name, parameter), a Loss or a "
                         f"(value, grad) pair of callables; got {loss!r}")
    if isinstance(loss, tuple) and len(loss) == 2:
        a, b = loss
        if isinstance(a, str):
            arr = np.asarray(b)
            if arr.dtype.kind not in "iuf" or arr.shape[-1:] != (d,):
                raise ValueError(f"the parameter of loss {a!r} must be a real array with last "
                                 f"dimension {d}, got {arr.dtype} {arr.shape}")
            if a == "squared":
                return Loss.squared(arr)
            if a == "linear":
                return Loss.linear(arr)
            raise ValueError(f"unknown loss name {a!r} (use 'squared' or 'linear')")
        if callable(a) and callable(b):
            return Loss("custom", a, b)
    raise TypeError(f"loss must be 'squared', 'linear', (name, parameter), a Loss or a "
                    f"(value, grad) pair of callables; got {type(loss).__name__}")


def _loss_grad(loss, xK):
    g = np.asarray(loss.grad(xK), dtype=np.float64)
    if g.shape != xK.shape:
        raise ValueError(f"the loss gradient must have the shape of x_K {xK.shape}, got "
                         f"{g.shape}")
    if not np.isfinite(g).all():
        raise ValueError("the loss gradient at x_K is not finite")
    return g


# ---------------------------------------------------------------------------------
# the reverse-mode tape (path 1)
# ---------------------------------------------------------------------------------

class _Var:
    __slots__ = ("value", "id")

    def __init__(self, value, id_):
        self.value, self.id = value, id_


class _Tape:
    """A minimal reverse-mode tape: each primitive records its vector-Jacobian product."""

    def __init__(self):
        self.records = []   # (output id, [(parent id, vjp: gout -> gparent)])
        self.n = 0

    def var(self, value):
        v = _Var(np.asarray(value, dtype=np.float64), self.n)
        self.n += 1
        return v

    def _op(self, value, parents):
        out = self.var(value)
        self.records.append((out.id, parents))
        return out

    @staticmethod
    def _sum_to(g, shape):
        """Sum a broadcast gradient back to a parameter's shape (batch axes)."""
        while g.ndim > len(shape):
            g = g.sum(axis=0)
        return g

    @staticmethod
    def _outer_sum(g, X):
        """``sum over the batch of g x^T``."""
        return g.reshape(-1, g.shape[-1]).T @ X.reshape(-1, X.shape[-1])

    def linear(self, x, A):                       # x A^T
        X, M = x.value, A.value
        return self._op(X @ M.T, [(x.id, lambda g: g @ M),
                                  (A.id, lambda g: self._outer_sum(g, X))])

    def add_bias(self, y, c):
        return self._op(y.value + c.value, [(y.id, lambda g: g),
                                            (c.id, lambda g: self._sum_to(g, c.value.shape))])

    def tanh(self, y):
        T = np.tanh(y.value)
        return self._op(T, [(y.id, lambda g: g * (1.0 - T * T))])

    def softplus(self, y, eps):
        Y = y.value
        return self._op(_softplus(Y, eps), [(y.id, lambda g: g * _sigmoid(Y, eps))])

    def softmax(self, y, eps):
        P = _ops.softmax(y.value, eps)
        return self._op(P, [(y.id, lambda g: P * (g - np.sum(g * P, axis=-1,
                                                              keepdims=True)) / eps)])

    def combine(self, P, V):                      # P V^T
        Pv, Vv = P.value, V.value
        return self._op(Pv @ Vv.T, [(P.id, lambda g: g @ Vv),
                                    (V.id, lambda g: self._outer_sum(g, Pv))])

    def euler(self, x, F, h):                     # x + h F
        return self._op(x.value + h * F.value, [(x.id, lambda g: g), (F.id, lambda g: h * g)])

    def backward(self, out, seed):
        grads = {out.id: np.asarray(seed, dtype=np.float64)}
        for oid, parents in reversed(self.records):
            g = grads.get(oid)
            if g is None:
                continue
            for pid, vjp in parents:
                gp = vjp(g)
                grads[pid] = grads[pid] + gp if pid in grads else gp
        return grads


def _tape_block(tape, blk, x, theta):
    """Record ``f(x, theta)`` of one block on the tape."""
    if blk.kind in ("tanh", "softplus"):
        z = tape.add_bias(tape.linear(x, theta["A"]), theta["c"])
        return tape.tanh(z) if blk.kind == "tanh" else tape.softplus(z, blk.eps)
    z = tape.add_bias(tape.linear(x, theta["W"]), theta["b"])
    return tape.combine(tape.softmax(z, blk.eps), theta["V"])


# ---------------------------------------------------------------------------------
# the network
# ---------------------------------------------------------------------------------

class BackpropResult(NamedTuple):
    """Result of :meth:`ResidualNetwork.backprop`.

    ``loss`` (float), ``states`` (K+1, ..., d), ``adjoints`` (K+1, ..., d) with
    ``adjoints[k] = dL/dx_k``, ``grads``: a list of K dicts (parameter name ->
    ``dL/dtheta_k``, summed over a batch).

    Examples
    --------
    >>> import numpy as np
    >>> from tropical.control import ResidualNetwork
    >>> net = ResidualNetwork.random(2, 3, seed=0)
    >>> bp = net.backprop([1.0, 0.0], ("squared", np.zeros(2)))
    >>> bp.states.shape, bp.adjoints.shape, len(bp.grads), sorted(bp.grads[0])
    ((4, 2), (4, 2), 3, ['A', 'c'])
    >>> bool(np.array_equal(bp.adjoints[-1], bp.states[-1]))   # p_K = x_K - 0
    True
    """

    loss: float
    states: np.ndarray
    adjoints: np.ndarray
    grads: list


def _check_h(h):
    if isinstance(h, (bool, np.bool_)) or not isinstance(h, numbers.Real):
        raise TypeError(f"h must be a real number > 0, got {type(h).__name__} {h!r}")
    h = float(h)
    if not math.isfinite(h) or h <= 0:
        raise ValueError(f"h must be finite and > 0, got {h}")
    return h


class ResidualNetwork:
    """A residual network ``x_{k+1} = x_k + h f(x_k, theta_k)``, ``k = 0 .. K-1`` (immutable).

    Parameters
    ----------
    blocks : sequence of Block or dict
        One block per layer (``dict(kind=..., <parameters>, eps=...)`` is
        accepted); all with the same state dimension ``d``.
    h : float
        Step size ``> 0``.

    Attributes
    ----------
    blocks : tuple of Block
    h : float
    d, depth : int

    Examples
    --------
    >>> import numpy as np
    >>> from tropical.control import ResidualNetwork
    >>> net = ResidualNetwork([{"kind": "tanh", "A": np.eye(2), "c": np.zeros(2)}], h=0.5)
    >>> net.forward([1.0, -1.0]).round(6)          # x + 0.5 tanh(x)
    array([[ 1.      , -1.      ],
           [ 1.380797, -1.380797]])
    """

    __slots__ = ("blocks", "h", "d")

    def __init__(self, blocks, h):
        if isinstance(blocks, (Block, dict)) or not hasattr(blocks, "__len__"):
            raise TypeError("blocks must be a sequence of Block (or dict) objects, one per layer")
        if len(blocks) == 0:
            raise ValueError("blocks is empty: a residual network needs at least one block")
        bl = tuple(Block.from_dict(b) for b in blocks)
        ds = {b.d for b in bl}
        if len(ds) != 1:
            raise ValueError(f"all blocks must act on the same dimension d, got "
                             f"{[b.d for b in bl]}")
        self.blocks, self.h, self.d = bl, _check_h(h), ds.pop()

    @property
    def depth(self) -> int:
        return len(self.blocks)

    @classmethod
    def random(cls, d, depth, kind="tanh", h=0.1, seed=0, eps=0.5, width=None):
        """A random network (``numpy.random.default_rng(seed)``).

        Parameters
        ----------
        d, depth : int
            State dimension and number of blocks (``>= 1``).
        kind : str or sequence of str
            ``"tanh"``, ``"softplus"``, ``"lse"``, ``"mixed"`` (cycling through
            the three) or one kind per layer.
        h : float
            Step size.
        seed : int
        eps : float
            Temperature of softplus and lse blocks.
        width : int, optional
            Number ``n`` of terms of an lse block (default ``2 d``).

        Examples
        --------
        >>> from tropical.control import ResidualNetwork
        >>> ResidualNetwork.random(4, 3, kind="mixed", seed=1)
        ResidualNetwork(depth=3, d=4, h=0.1, kinds=['tanh', 'softplus', 'lse'])
        """
        d = check_int(d, "d", minimum=1)
        depth = check_int(depth, "depth", minimum=1)
        n = 2 * d if width is None else check_int(width, "width", minimum=1)
        if isinstance(kind, str):
            if kind == "mixed":
                kinds = [("tanh", "softplus", "lse")[k % 3] for k in range(depth)]
            else:
                kinds = [kind] * depth
        else:
            kinds = list(kind)
            if len(kinds) != depth:
                raise ValueError(f"kind lists {len(kinds)} kinds for depth {depth}")
        rng = np.random.default_rng(seed)
        blocks = []
        for k in kinds:
            if k in ("tanh", "softplus"):
                params = {"A": rng.normal(size=(d, d)) / math.sqrt(d),
                          "c": 0.5 * rng.normal(size=d)}
                blocks.append(Block(k, params, None if k == "tanh" else eps))
            elif k == "lse":
                params = {"W": rng.normal(size=(n, d)), "b": rng.normal(size=n),
                          "V": rng.normal(size=(d, n)) / math.sqrt(n)}
                blocks.append(Block(k, params, eps))
            else:
                raise ValueError(f"kind must be one of {sorted(KINDS)} or 'mixed', got {k!r}")
        return cls(blocks, h)

    def __repr__(self):
        return (f"ResidualNetwork(depth={self.depth}, d={self.d}, h={self.h!r}, "
                f"kinds={[b.kind for b in self.blocks]})")

    def __eq__(self, other):
        if not isinstance(other, ResidualNetwork):
            return NotImplemented
        return self.h == other.h and self.blocks == other.blocks

    __hash__ = None

    # -- evaluation ---------------------------------------------------------------
    def _states_in(self, x):
        arr = _to_array(x, "x")   # ragged input: an error naming the argument
        if arr.dtype.kind not in "iuf":
            raise TypeError(f"x must be an array of real numbers, got dtype {arr.dtype}")
        X = arr.astype(np.float64)
        if X.ndim not in (1, 2) or X.shape[-1] != self.d:
            raise ValueError(f"x must have shape ({self.d},) or (M, {self.d}), got {X.shape}")
        if not np.isfinite(X).all():
            raise ValueError("x must be finite (contains NaN or infinity)")
        return X

    def forward(self, x):
        """All states ``x_0 .. x_K``: shape (K+1, d), or (K+1, M, d) for a batch (M, d).

        Examples
        --------
        >>> from tropical.control import ResidualNetwork
        >>> net = ResidualNetwork.random(2, 4, seed=0)
        >>> net.forward([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]]).shape
        (5, 3, 2)
        """
        X = self._states_in(x)
        out = np.empty((self.depth + 1,) + X.shape)
        out[0] = X
        for k, blk in enumerate(self.blocks):
            out[k + 1] = out[k] + self.h * blk._apply(out[k])
        return out

    def __call__(self, x):
        """The final state ``x_K``."""
        return self.forward(x)[-1]

    def backprop(self, x, loss):
        """Reverse-mode gradient of ``L(x_K)`` by a tape of primitives.

        Parameters
        ----------
        x : array_like, shape (d,) or (M, d)
            Initial state(s) (a batch sums the losses).
        loss : str, tuple or Loss
            ``"squared"`` (to 0), ``"linear"`` (``c = 1``), ``("squared", target)``,
            ``("linear", c)``, a :class:`Loss`, or a pair of callables
            ``(value, grad)`` of ``x_K``.

        Returns
        -------
        BackpropResult
            ``adjoints[k] = dL/dx_k`` (``p_K = grad L(x_K)``,
            ``p_k = p_{k+1} + h (df/dx)^T p_{k+1}``) and ``grads[k] = dL/dtheta_k``.

        Examples
        --------
        >>> import numpy as np
        >>> from tropical.control import ResidualNetwork
        >>> net = ResidualNetwork([{"kind": "tanh", "A": [[2.0]], "c": [0.0]}], h=1.0)
        >>> res = net.backprop([0.0], ("linear", [1.0]))   # L = x + tanh(2x) at x = 0
        >>> res.adjoints[0], res.grads[0]["A"]             # 1 + 2, x sech^2 = 0
        (array([3.]), array([[0.]]))
        """
        X = self._states_in(x)
        L = _loss(loss, self.d)
        tape = _Tape()
        xv = tape.var(X)
        states, thetas = [xv], []
        for blk in self.blocks:
            theta = {name: tape.var(v) for name, v in blk.params.items()}
            thetas.append(theta)
            F = _tape_block(tape, blk, states[-1], theta)
            states.append(tape.euler(states[-1], F, self.h))
        xK = states[-1].value
        value = float(L.value(xK))
        grads = tape.backward(states[-1], _loss_grad(L, xK))
        adj = np.stack([grads.get(s.id, np.zeros_like(s.value)) for s in states])
        pgrads = [{name: grads.get(v.id, np.zeros_like(v.value)) for name, v in th.items()}
                  for th in thetas]
        return BackpropResult(value, np.stack([s.value for s in states]), adj, pgrads)

    # -- persistence --------------------------------------------------------------
    def to_json(self) -> str:
        """JSON text of the network (floats round-trip exactly)."""
        return json.dumps({"type": "ResidualNetwork", "h": self.h,
                           "blocks": [b.to_dict() for b in self.blocks]})

    @classmethod
    def from_json(cls, text):
        """Inverse of :meth:`to_json`.

        Examples
        --------
        >>> from tropical.control import ResidualNetwork
        >>> net = ResidualNetwork.random(3, 2, kind="lse", seed=4)
        >>> ResidualNetwork.from_json(net.to_json()) == net
        True
        """
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("type") != "ResidualNetwork":
            raise ValueError("not the JSON of a ResidualNetwork")
        return cls(data["blocks"], data["h"])


# ---------------------------------------------------------------------------------
# the Hamiltonian (path 2)
# ---------------------------------------------------------------------------------

class Hamiltonian:
    """``H(x, p, theta_k) = <p, f_k(x)>`` of a :class:`ResidualNetwork` with explicit partials.

    For a batch of states (M, d) (and co-states (M, d)) ``value``, ``dp`` and
    ``dx`` are per sample and ``dtheta`` is summed over the batch (the
    gradient of the summed loss). Subclass it to change a partial derivative
    (the tests flip a sign to see :func:`costate_check` fail).

    Examples
    --------
    >>> import numpy as np
    >>> from tropical.control import ResidualNetwork, Hamiltonian
    >>> net = ResidualNetwork([{"kind": "tanh", "A": [[2.0]], "c": [0.0]}], h=1.0)
    >>> H = Hamiltonian(net)
    >>> H.dx(0, np.array([0.0]), np.array([1.0]))      # A^T (sech^2(A x) p)
    array([2.])
    """

    def __init__(self, net):
        if not isinstance(net, ResidualNetwork):
            raise TypeError(f"net must be a ResidualNetwork, got {type(net).__name__}")
        self.net = net

    def _pre(self, k, x):
        blk = self.net.blocks[k]
        P = blk.params
        if blk.kind in ("tanh", "softplus"):
            return blk, P, x @ P["A"].T + P["c"]
        return blk, P, x @ P["W"].T + P["b"]

    def value(self, k, x, p):
        """``<p, f_k(x)>``."""
        return np.sum(p * self.dp(k, x, p), axis=-1)

    def dp(self, k, x, p):
        """``dH/dp = f_k(x)`` (the state equation's right-hand side)."""
        blk, P, z = self._pre(k, x)
        if blk.kind == "tanh":
            return np.tanh(z)
        if blk.kind == "softplus":
            return _softplus(z, blk.eps)
        return _ops.softmax(z, blk.eps) @ P["V"].T

    def _gates(self, k, x, p):
        """``dH/dz`` with ``z`` the block's pre-activation: (blk, params, dH/dz)."""
        blk, P, z = self._pre(k, x)
        if blk.kind == "tanh":
            t = np.tanh(z)
            return blk, P, (1.0 - t * t) * p
        if blk.kind == "softplus":
            return blk, P, _sigmoid(z, blk.eps) * p
        # H = <V^T p, pi(z)>; d pi/dz = (diag pi - pi pi^T)/eps
        pi = _ops.softmax(z, blk.eps)
        q = p @ P["V"]
        return blk, P, pi * (q - np.sum(pi * q, axis=-1, keepdims=True)) / blk.eps

    def dx(self, k, x, p):
        """``dH/dx = (df_k/dx)^T p``."""
        blk, P, r = self._gates(k, x, p)
        return r @ (P["A"] if blk.kind != "lse" else P["W"])

    def dtheta(self, k, x, p):
        """``dH/dtheta_k``: dict parameter name -> array (summed over a batch)."""
        blk, P, r = self._gates(k, x, p)
        xs, rs = np.atleast_2d(x), np.atleast_2d(r)
        if blk.kind != "lse":
            return {"A": rs.T @ xs, "c": rs.sum(axis=0)}
        pi = np.atleast_2d(_ops.softmax(self._pre(k, x)[2], blk.eps))
        ps = np.atleast_2d(p)
        return {"W": rs.T @ xs, "b": rs.sum(axis=0), "V": ps.T @ pi}


def costate(net, x, loss, hamiltonian=None):
    """Integrate the discrete co-state equations of ``H = <p, f>`` backwards.

    Parameters
    ----------
    net : ResidualNetwork
    x : array_like, shape (d,) or (M, d)
    loss : str, tuple, Loss or (value, grad)
        As in :meth:`ResidualNetwork.backprop`.
    hamiltonian : Hamiltonian, optional
        The partial derivatives to use (default ``Hamiltonian(net)``).

    Returns
    -------
    (states, costates, dtheta)
        ``states`` (K+1, ..., d) from ``x_{k+1} = x_k + h dH/dp``,
        ``costates`` (K+1, ..., d) from ``p_K = grad L(x_K)``,
        ``p_k = p_{k+1} + h dH/dx(x_k, p_{k+1}, theta_k)``, and ``dtheta``: a list
        of dicts ``h dH/dtheta(x_k, p_{k+1}, theta_k)``.

    Examples
    --------
    >>> import numpy as np
    >>> from tropical.control import ResidualNetwork, costate
    >>> net = ResidualNetwork.random(2, 3, kind="softplus", seed=2)
    >>> states, p, dtheta = costate(net, [0.5, -0.5], "linear")
    >>> p.shape, sorted(dtheta[0])
    ((4, 2), ['A', 'c'])
    """
    if not isinstance(net, ResidualNetwork):
        raise TypeError(f"net must be a ResidualNetwork, got {type(net).__name__}")
    H = Hamiltonian(net) if hamiltonian is None else hamiltonian
    if not isinstance(H, Hamiltonian):
        raise TypeError(f"hamiltonian must be a Hamiltonian, got {type(H).__name__}")
    X = net._states_in(x)
    L = _loss(loss, net.d)
    h, K = net.h, net.depth
    xs = np.empty((K + 1,) + X.shape)
    xs[0] = X
    for k in range(K):
        xs[k + 1] = xs[k] + h * H.dp(k, xs[k], None)
    ps = np.empty_like(xs)
    ps[K] = _loss_grad(L, xs[K])
    dtheta = [None] * K
    for k in range(K - 1, -1, -1):
        ps[k] = ps[k + 1] + h * H.dx(k, xs[k], ps[k + 1])
        dtheta[k] = {name: h * v for name, v in H.dtheta(k, xs[k], ps[k + 1]).items()}
    return xs, ps, dtheta


# ---------------------------------------------------------------------------------
# the check
# ---------------------------------------------------------------------------------

class CostateReport:
    """Discrepancies between backprop (tape) and the Hamiltonian co-state (:func:`costate_check`).

    Attributes
    ----------
    costate_abs, costate_rel : float
        ``max_k max |p_k(co-state) - p_k(backprop)|`` and that over
        ``max_k max |p_k(backprop)|``.
    theta_abs, theta_rel : float
        ``max_k max |h dH/dtheta_k - dL/dtheta_k(backprop)|`` and that over the
        largest backprop parameter gradient.
    state_abs, state_rel : float
        ``max_k max |x_{k+1} - x_k - h dH/dp(x_k, p_{k+1}, theta_k)|`` (forward
        states) and that over ``max |x_k|``.
    per_layer_costate, per_layer_theta : list of float
        The absolute discrepancies layer by layer (K+1 and K entries).
    loss : float
    rtol : float
        Tolerance of :attr:`ok` on the relative discrepancies.
    info : dict
        ``depth``, ``d``, ``h``, ``kinds``, batch size.

    Examples
    --------
    >>> import numpy as np
    >>> from tropical.control import ResidualNetwork, costate_check
    >>> net = ResidualNetwork.random(2, 3, seed=0)
    >>> report = costate_check(net, [1.0, 0.0], ("squared", np.zeros(2)))
    >>> report.ok, len(report.per_layer_costate), len(report.per_layer_theta)
    (True, 4, 3)
    """

    _FIELDS = ("costate_abs", "costate_rel", "theta_abs", "theta_rel", "state_abs",
               "state_rel", "per_layer_costate", "per_layer_theta", "loss", "rtol", "info")

    def __init__(self, costate_abs, costate_rel, theta_abs, theta_rel, state_abs, state_rel,
                 per_layer_costate, per_layer_theta, loss, rtol, info=None):
        self.costate_abs, self.costate_rel = float(costate_abs), float(costate_rel)
        self.theta_abs, self.theta_rel = float(theta_abs), float(theta_rel)
        self.state_abs, self.state_rel = float(state_abs), float(state_rel)
        self.per_layer_costate = [float(v) for v in per_layer_costate]
        self.per_layer_theta = [float(v) for v in per_layer_theta]
        self.loss, self.rtol = float(loss), float(rtol)
        self.info = dict(info or {})

    @property
    def ok(self) -> bool:
        """Every relative discrepancy is at most ``rtol``."""
        return (self.costate_rel <= self.rtol and self.theta_rel <= self.rtol
                and self.state_rel <= self.rtol)

    def __repr__(self):
        return (f"CostateReport(depth={self.info.get('depth')}, costate_rel="
                f"{self.costate_rel:.2e}, theta_rel={self.theta_rel:.2e}, state_rel="
                f"{self.state_rel:.2e}, ok={self.ok})")

    def __str__(self):
        return "\n".join([
            repr(self),
            f"co-state  p_k = p_(k+1) + h dH/dx        vs backprop adjoint: "
            f"max abs {self.costate_abs:.3g}, relative {self.costate_rel:.3g}",
            f"gradient  h dH/dtheta_k                  vs backprop dL/dtheta_k: "
            f"max abs {self.theta_abs:.3g}, relative {self.theta_rel:.3g}",
            f"state     x_(k+1) = x_k + h dH/dp        vs forward: "
            f"max abs {self.state_abs:.3g}, relative {self.state_rel:.3g}",
            f"loss {self.loss:.6g}; ok = {self.ok} (rtol {self.rtol:g})"])

    def to_json(self) -> str:
        """JSON text (inverse :meth:`from_json`)."""
        data = {"type": "CostateReport", "ok": self.ok}
        data.update({k: getattr(self, k) for k in self._FIELDS})
        return json.dumps(data)

    @classmethod
    def from_json(cls, text):
        """Rebuild a report from :meth:`to_json`."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("type") != "CostateReport":
            raise ValueError("not the JSON of a CostateReport")
        return cls(**{k: data[k] for k in cls._FIELDS})


def _rel(num, den):
    return num / den if den > 0 else (0.0 if num == 0 else math.inf)


def costate_check(net, x, loss, hamiltonian=None, rtol=1e-12):
    """Show that the discrete co-state of ``H = <p, f>`` is backprop, to rounding.

    Runs :meth:`ResidualNetwork.backprop` (a tape of primitives) and
    :func:`costate` (explicit Hamiltonian partials) and compares the
    adjoints ``p_k``, the parameter gradients ``dL/dtheta_k = h dH/dtheta_k``
    and the state equation ``x_{k+1} = x_k + h dH/dp``.

    Parameters
    ----------
    net : ResidualNetwork
    x : array_like, shape (d,) or (M, d)
    loss : str, tuple, Loss or (value, grad)
        As in :meth:`ResidualNetwork.backprop`.
    hamiltonian : Hamiltonian, optional
        Partial derivatives to test (default: the correct ones).
    rtol : float, default 1e-12
        Tolerance of :attr:`CostateReport.ok` on the relative discrepancies.

    Returns
    -------
    CostateReport

    Examples
    --------
    >>> import numpy as np
    >>> from tropical.control import ResidualNetwork, costate_check
    >>> net = ResidualNetwork.random(4, 8, kind="lse", h=0.1, seed=3)
    >>> rep = costate_check(net, np.zeros((5, 4)), ("squared", np.ones(4)))
    >>> rep.ok
    True
    """
    rtol = check_eps(rtol, "rtol")
    if not isinstance(net, ResidualNetwork):
        raise TypeError(f"net must be a ResidualNetwork, got {type(net).__name__}")
    bp = net.backprop(x, loss)
    xs, ps, dth = costate(net, x, loss, hamiltonian)
    dp = np.abs(ps - bp.adjoints)
    per_p = dp.reshape(dp.shape[0], -1).max(axis=1)
    scale_p = float(np.abs(bp.adjoints).max())
    per_t, scale_t = [], 0.0
    for g_bp, g_h in zip(bp.grads, dth):
        per_t.append(max(float(np.abs(g_h[n] - g_bp[n]).max()) for n in g_bp))
        scale_t = max(scale_t, max(float(np.abs(g_bp[n]).max()) for n in g_bp))
    ds = float(np.abs(xs - bp.states).max())
    scale_x = float(np.abs(bp.states).max())
    X = np.asarray(bp.states[0])
    info = {"depth": net.depth, "d": net.d, "h": net.h, "kinds": [b.kind for b in net.blocks],
            "batch": int(X.shape[0]) if X.ndim == 2 else None}
    return CostateReport(per_p.max(), _rel(per_p.max(), scale_p), max(per_t),
                         _rel(max(per_t), scale_t), ds, _rel(ds, scale_x), per_p, per_t,
                         bp.loss, rtol, info)
