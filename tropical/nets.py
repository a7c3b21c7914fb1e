r"""Piecewise-linear networks and their deformations, as tropical rational functions.

A :class:`Network` is a chain of :class:`Layer` objects; layer ``k`` maps
``u`` to ``act(W_k u + b_k)`` with ``W_k`` in PyTorch orientation
``(out, in)``. The activations form one family indexed by the temperature
``eps`` (MATH.md section 4):

==============  ==========================================  ============================
activation      unit                                        tropical limit / deformation
==============  ==========================================  ============================
``relu``        ``max(z, 0) = z (+)_0 0``                   ``softplus`` at ``eps > 0``
``softplus``    ``eps*log(1 + exp(z/eps)) = z (+)_eps 0``   ``relu`` at ``eps = 0``
``maxout``      ``max`` over ``group`` consecutive units    ``lse`` at ``eps > 0``
``lse``         ``LSE_eps`` over ``group`` units            ``maxout`` at ``eps = 0``
``leaky_relu``  ``z`` if ``z > 0`` else ``alpha*z``         itself
``identity``    ``z``                                       itself
==============  ==========================================  ============================

:meth:`Network.deform` and :meth:`Network.tropicalize` move between the two
columns with the same weights. A network of ``relu``, ``leaky_relu``,
``identity`` and ``maxout`` layers is a tropical rational function
``F = G - H`` (:meth:`Network.to_tropical`): the input coordinates are the
monomials ``x_i``; a layer with ``W = W+ - W-`` maps the unit functions
``u_j = G_j - H_j`` to ``z_i = (sum_j W+_ij G_j + W-_ij H_j + b_i) -
(sum_j W+_ij H_j + W-_ij G_j)``, both parts tropical polynomials (products of
``scale``-d polynomials); then

* ``relu(G - H) = max(G, H) - H``,
* ``leaky(G - H) = max(G + aH, aG + H) - (1 + a) H`` for ``0 <= a <= 1``
  (``H + aH = (1 + a) H`` because ``H`` is convex: a scaling, not a Minkowski
  sum), ``(1 - a) max(G, H) - (H + |a| G)`` for ``a < 0`` (still
  ``max(z, a z)``), and ``a G - (H + (a - 1) max(G, H))`` for ``a > 1``
  (``z - (a - 1) relu(-z)``),
* ``max_i (G_i - H_i) = max_i (G_i + sum_{l != i} H_l) - sum_l H_l``.

Monomials that are nowhere strictly maximal are removed after every product
(exactly: an exactly certified pre-filter, then
:meth:`TropicalPolynomial.simplify`, i.e. :mod:`tropical._hull`), so the
number of monomials stays that of the Newton polytope's vertices. Equal
polynomials in a weighted sum are merged first (``w1 P + w2 P = (w1 + w2) P``).

Examples
--------
>>> import numpy as np
>>> from tropical.nets import Network
>>> net = Network.from_weights([(np.array([[1.0, -1.0], [1.0, 1.0]]), np.zeros(2)),
...                             (np.array([[1.0, 1.0]]), np.array([0.5]))])
>>> net
Network(Linear(2, 2), relu, Linear(2, 1))
>>> net(np.array([[1.0, 0.0], [-1.0, -1.0]]))
array([[2.5],
       [0.5]])
>>> F = net.to_tropical()
>>> print(F)
(max(0.5, x - y + 0.5, x + y + 0.5, 2*x + 0.5)) - (max(0))
>>> F(np.array([[1.0, 0.0], [-1.0, -1.0]]))
array([2.5, 0.5])
"""

from __future__ import annotations

import json
import math
import numbers
import os
import re
from dataclasses import dataclass

import numpy as np

from ._validate import check_eps, check_int

__all__ = ["Layer", "Network", "ACTIVATIONS"]

#: the activation names a :class:`Layer` accepts
ACTIVATIONS = ("relu", "leaky_relu", "identity", "maxout", "softplus", "lse")
_GROUPED = ("maxout", "lse")
_SMOOTH = ("softplus", "lse")
_TROPICAL = {"softplus": "relu", "lse": "maxout"}
_DEFORMED = {"relu": "softplus", "maxout": "lse"}


def _finite_matrix(data, name, ndim):
    """``data`` as a fresh, read-only, finite float64 array with ``ndim`` dimensions."""
    if hasattr(data, "detach") and callable(data.detach):  # a torch tensor
        data = data.detach().cpu().numpy()
    try:
        arr = np.array(data, dtype=None, copy=True)
    except ValueError as exc:
        raise ValueError(f"{name} is ragged or not numeric ({exc})") from None
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{name} must be an array of real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} contains {arr[idx]} at index {idx}; weights must be finite")
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True, eq=False)
class Layer:
    """One affine map followed by an activation: ``u -> act(W u + b)``.

    Parameters
    ----------
    W : array_like, shape (out, in)
        Weights in PyTorch orientation (stored as a read-only float64 copy).
    b : array_like, shape (out,)
        Biases.
    activation : {"relu", "leaky_relu", "identity", "maxout", "softplus", "lse"}
    alpha : float, default 0.0
        Negative slope of ``leaky_relu`` (any finite real; the tropical form is
        simplest for ``0 <= alpha <= 1``). Must be 0 for the other activations.
    group : int, default 1
        ``maxout`` / ``lse``: consecutive groups of ``group`` pre-activations
        are reduced to one unit (``out % group == 0``). 1 for the others.
    eps : float, default 0.0
        Temperature of ``softplus`` / ``lse`` (``eps = 0`` evaluates as
        ``relu`` / ``maxout``). 0 for the others.

    Attributes
    ----------
    in_dim, out_dim : int
        Input size and number of units after the activation (``out // group``).
    """

    W: np.ndarray
    b: np.ndarray
    activation: str
    alpha: float = 0.0
    group: int = 1
    eps: float = 0.0

    def __post_init__(self):
        W = _finite_matrix(self.W, "W", 2)
        b = _finite_matrix(self.b, "b", 1)
        if b.shape != (W.shape[0],):
            raise ValueError(f"b must have shape ({W.shape[0]},) to match W of shape {W.shape}, "
                             f"got {b.shape}")
        if W.shape[0] == 0 or W.shape[1] == 0:
            raise ValueError(f"W must have at least one row and one column, got shape {W.shape}")
        act = self.activation
        if not isinstance(act, str) or act not in ACTIVATIONS:
            raise ValueError(f"unsupported activation {act!r}; expected one of {ACTIVATIONS}")
        if isinstance(self.alpha, (bool, np.bool_)) or not isinstance(self.alpha, numbers.Real) \
                or not math.isfinite(self.alpha):
            raise ValueError(f"alpha must be a finite real number, got {self.alpha!r}")
        alpha = float(self.alpha)
        if act != "leaky_relu" and alpha != 0:
            raise ValueError(f"alpha applies only to leaky_relu, got alpha={alpha} for {act}")
        group = check_int(self.group, "group", minimum=1)
        if act in _GROUPED:
            if W.shape[0] % group:
                raise ValueError(f"{act}: the {W.shape[0]} pre-activations do not split into "
                                 f"groups of {group}")
        elif group != 1:
            raise ValueError(f"group applies only to maxout and lse, got group={group} for {act}")
        eps = check_eps(self.eps)
        if act not in _SMOOTH and eps != 0:
            raise ValueError(f"eps applies only to softplus and lse, got eps={eps} for {act}")
        for name, value in (("W", W), ("b", b), ("alpha", alpha), ("group", group),
                            ("eps", eps)):
            object.__setattr__(self, name, value)

    @property
    def in_dim(self) -> int:
        return self.W.shape[1]

    @property
    def out_dim(self) -> int:
        return self.W.shape[0] // self.group

    def preactivation(self, u):
        """``W u + b`` for a batch ``u`` of shape (..., in_dim)."""
        return u @ self.W.T + self.b

    def activate(self, z):
        """The activation applied to pre-activations ``z`` (shape (..., out))."""
        act = self.activation
        if act == "identity":
            return z
        if act == "relu" or (act == "softplus" and self.eps == 0):
            return np.maximum(z, 0.0)
        if act == "leaky_relu":
            return np.where(z > 0, z, self.alpha * z)
        if act == "softplus":
            # eps*log(1 + exp(z/eps)) = max(z, 0) + eps*log1p(exp(-|z|/eps)): no overflow
            return np.maximum(z, 0.0) + self.eps * np.log1p(np.exp(-np.abs(z) / self.eps))
        grouped = z.reshape(z.shape[:-1] + (self.out_dim, self.group))
        if act == "maxout" or self.eps == 0:
            return grouped.max(axis=-1)
        from ._ops import lse

        return lse(grouped, self.eps, axis=-1)

    def pattern(self, z):
        """Activation pattern at pre-activations ``z`` (see :meth:`Network.activation_pattern`)."""
        act = self.activation
        if act in ("relu", "leaky_relu", "softplus"):
            return z > 0
        if act in _GROUPED:
            return np.argmax(z.reshape(z.shape[:-1] + (self.out_dim, self.group)), axis=-1)
        return np.zeros(z.shape[:-1] + (0,), dtype=bool)

    def replace(self, **changes) -> "Layer":
        """A copy with some fields changed (validated again)."""
        fields = dict(W=self.W, b=self.b, activation=self.activation, alpha=self.alpha,
                      group=self.group, eps=self.eps)
        fields.update(changes)
        return Layer(**fields)

    def describe(self) -> str:
        """``activation`` with its parameters, e.g. ``maxout(group=2)``."""
        act = self.activation
        if act == "leaky_relu":
            return f"leaky_relu(alpha={self.alpha:g})"
        if act == "maxout":
            return f"maxout(group={self.group})"
        if act == "softplus":
            return f"softplus(eps={self.eps:g})"
        if act == "lse":
            return f"lse(group={self.group}, eps={self.eps:g})"
        return act

    def __repr__(self):
        return f"Layer(Linear({self.in_dim}, {self.W.shape[0]}), {self.describe()})"

    def __eq__(self, other):
        if not isinstance(other, Layer):
            return NotImplemented
        return (self.activation == other.activation and self.alpha == other.alpha
                and self.group == other.group and self.eps == other.eps
                and np.array_equal(self.W, other.W) and np.array_equal(self.b, other.b))

    def __hash__(self):
        return hash((self.activation, self.alpha, self.group, self.eps,
                     self.W.shape, self.W.tobytes(), self.b.tobytes()))


class Network:
    """A chain of :class:`Layer` objects: ``x -> act_L(W_L ... act_1(W_1 x + b_1) ... + b_L)``.

    Parameters
    ----------
    layers : sequence of Layer
        At least one; layer ``k``'s ``in_dim`` must equal layer ``k - 1``'s
        ``out_dim``.

    Attributes
    ----------
    layers : tuple of Layer
    in_dim, out_dim : int

    Examples
    --------
    >>> import numpy as np
    >>> from tropical.nets import Layer, Network
    >>> net = Network([Layer(np.eye(2), np.zeros(2), "relu"),
    ...                Layer(np.ones((2, 2)), np.zeros(2), "maxout", group=2)])
    >>> net, net.in_dim, net.out_dim
    (Network(Linear(2, 2), relu, Linear(2, 2), maxout(group=2)), 2, 1)
    >>> net([3.0, -1.0])
    array([3.])
    """

    __slots__ = ("_layers",)

    def __init__(self, layers):
        if isinstance(layers, Layer):
            layers = (layers,)
        layers = tuple(layers)
        if not layers:
            raise ValueError("a Network needs at least one layer")
        for k, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layer {k} must be a tropical.nets.Layer, got "
                                f"{type(layer).__name__}")
            if k:
                prev = layers[k - 1]
                if layer.in_dim != prev.out_dim:
                    extra = f", {prev.describe()}" if prev.group > 1 else ""
                    raise ValueError(
                        f"layer {k}: W has shape {layer.W.shape}, so it expects "
                        f"{layer.in_dim} inputs, but layer {k - 1} (W of shape "
                        f"{prev.W.shape}{extra}) outputs {prev.out_dim}")
        self._layers = layers

    # -- data ---------------------------------------------------------------------
    @property
    def layers(self) -> tuple[Layer, ...]:
        return self._layers

    @property
    def in_dim(self) -> int:
        return self._layers[0].in_dim

    @property
    def out_dim(self) -> int:
        return self._layers[-1].out_dim

    @property
    def depth(self) -> int:
        """Number of layers (affine maps)."""
        return len(self._layers)

    @property
    def activations(self) -> tuple[str, ...]:
        return tuple(layer.activation for layer in self._layers)

    def is_piecewise_linear(self) -> bool:
        """True when every layer is relu, leaky_relu, identity or maxout (or eps = 0)."""
        return all(layer.activation not in _SMOOTH or layer.eps == 0 for layer in self._layers)

    def __len__(self):
        return len(self._layers)

    def __iter__(self):
        return iter(self._layers)

    def __getitem__(self, k):
        if isinstance(k, slice):
            return Network(self._layers[k])
        return self._layers[k]

    def __eq__(self, other):
        if not isinstance(other, Network):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    def __hash__(self):
        return hash(self._layers)

    def __repr__(self):
        parts = []
        for layer in self._layers:
            parts.append(f"Linear({layer.in_dim}, {layer.W.shape[0]})")
            if layer.activation != "identity":
                parts.append(layer.describe())
        return f"Network({', '.join(parts)})"

    # -- evaluation -----------------------------------------------------------------
    def _inputs(self, x):
        if hasattr(x, "detach") and callable(x.detach):
            x = x.detach().cpu().numpy()
        try:
            X = np.asarray(x)
        except ValueError as exc:
            raise ValueError(f"x is ragged ({exc})") from None
        if X.dtype.kind not in "fiub":
            raise TypeError(f"x must be an array of real numbers, got dtype {X.dtype}")
        X = X.astype(np.float64, copy=False)
        if X.ndim == 0 or X.shape[-1] != self.in_dim:
            raise ValueError(f"x must have shape (..., {self.in_dim}) for a network with "
                             f"{self.in_dim} inputs, got shape {X.shape}")
        if not np.isfinite(X).all():
            raise ValueError("x must be finite")
        return X

    def __call__(self, x):
        """Evaluate at a batch of points ``x`` of shape (..., in_dim); returns (..., out_dim)."""
        u = self._inputs(x)
        for layer in self._layers:
            u = layer.activate(layer.preactivation(u))
        return u

    def preactivations(self, x):
        """Pre-activations ``W_k u_{k-1} + b_k`` of every layer: a list of (..., out_k) arrays."""
        u = self._inputs(x)
        out = []
        for layer in self._layers:
            z = layer.preactivation(u)
            out.append(z)
            u = layer.activate(z)
        return out

    def activation_pattern(self, x):
        """Which piece of every activation is used at each point of ``x``.

        Returns a list with one array per layer, batched like ``x``:
        ``relu`` / ``leaky_relu`` / ``softplus``: bool (..., units), ``True``
        where the pre-activation is ``> 0``; ``maxout`` / ``lse``: int
        (..., units), the argmax (first maximum) within each group;
        ``identity``: an empty bool array (..., 0). For ``softplus`` / ``lse``
        this is the pattern of their tropical limit at this network's
        pre-activations.

        Examples
        --------
        >>> import numpy as np
        >>> from tropical.nets import Network
        >>> net = Network.from_weights([(np.eye(2), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))])
        >>> net.activation_pattern(np.array([[1.0, -1.0], [-1.0, 2.0]]))
        [array([[ True, False],
               [False,  True]]), array([], shape=(2, 0), dtype=bool)]
        """
        return [layer.pattern(z) for layer, z in zip(self._layers, self.preactivations(x))]

    # -- the eps family -------------------------------------------------------------
    def deform(self, eps):
        """The same weights at temperature ``eps``: relu -> softplus_eps, maxout -> lse_eps.

        Smooth layers get the new ``eps``; leaky_relu and identity layers are
        unchanged. ``deform(0)`` is :meth:`tropicalize`.
        """
        eps = check_eps(eps)
        if eps == 0:
            return self.tropicalize()
        layers = []
        for layer in self._layers:
            act = _DEFORMED.get(layer.activation, layer.activation)
            if act in _SMOOTH:
                layer = layer.replace(activation=act, eps=eps)
            layers.append(layer)
        return Network(layers)

    def tropicalize(self):
        """The tropical limit ``eps -> 0``: softplus -> relu, lse -> maxout, same weights."""
        return Network([layer.replace(activation=_TROPICAL[layer.activation], eps=0.0)
                        if layer.activation in _SMOOTH else layer for layer in self._layers])

    # -- the tropical rational function ---------------------------------------------------
    def to_tropical(self, simplify=True, variables=None):
        """The exact tropical rational function ``G - H`` computed by the network.

        Parameters
        ----------
        simplify : bool, default True
            Remove the monomials that are nowhere strictly maximal after every
            product (exactly; see :meth:`TropicalPolynomial.simplify`). The
            function is the same either way; without it the number of
            monomials can grow exponentially with depth.
        variables : sequence of str, optional
            Names of the inputs (default ``x, y, z`` or ``x1 .. xn``).

        Returns
        -------
        TropicalRational, or a list of them (one per output) when ``out_dim > 1``.

        Raises
        ------
        ValueError
            For softplus / lse layers with ``eps > 0`` (call :meth:`tropicalize`
            first: the result is the tropical limit's function).
        """
        from .polynomial import TropicalPolynomial, TropicalRational, default_variables

        for k, layer in enumerate(self._layers):
            if layer.activation in _SMOOTH and layer.eps > 0:
                raise ValueError(
                    f"layer {k} is {layer.describe()}: a smooth network is not a tropical "
                    "rational function; call tropicalize() first for its eps -> 0 limit")
        n = self.in_dim
        names = tuple(variables) if variables is not None else default_variables(n)
        tidy = _simplify if simplify else (lambda p: p)

        def poly(E, c):
            return TropicalPolynomial(np.atleast_2d(E), np.atleast_1d(c), variables=names)

        one = poly(np.zeros(n), 0.0)
        first = self._layers[0]
        # first layer: z_i = <W_i, x> + b_i is one monomial with real exponent W_i
        G = [poly(first.W[i], first.b[i]) for i in range(first.W.shape[0])]
        H = [one] * first.W.shape[0]
        G, H = _activate(first, G, H, one, tidy)
        for layer in self._layers[1:]:
            Wp, Wm = np.maximum(layer.W, 0.0), np.maximum(-layer.W, 0.0)
            newG, newH = [], []
            for i in range(layer.W.shape[0]):
                newG.append(_nonneg_combination(Wp[i], G, Wm[i], H, one, tidy) * layer.b[i])
                newH.append(_nonneg_combination(Wp[i], H, Wm[i], G, one, tidy))
            G, H = _activate(layer, newG, newH, one, tidy)
        out = [TropicalRational(tidy(g), tidy(h)) for g, h in zip(G, H)]
        return out[0] if len(out) == 1 else out

    # -- constructors -------------------------------------------------------------------
    @classmethod
    def from_weights(cls, weights, activation="relu", final_activation=None, *, alpha=0.0,
                     group=1, eps=0.0):
        """Build from ``[(W1, b1), (W2, b2), ...]`` in PyTorch orientation ``(out, in)``.

        Parameters
        ----------
        weights : sequence of (W, b)
            ``b`` may be ``None`` (zeros).
        activation : str or sequence of str, default "relu"
            The activation after every layer but the last; a sequence gives one
            name per layer, the last included.
        final_activation : str, optional
            The last layer's activation (default ``"identity"``); not allowed
            with a sequence ``activation``.
        alpha, group, eps : optional
            Parameters of the leaky_relu / maxout, lse / softplus, lse layers.

        Examples
        --------
        >>> import numpy as np
        >>> from tropical.nets import Network
        >>> Network.from_weights([(np.ones((4, 3)), None), (np.ones((1, 2)), [0.0])],
        ...                      activation="maxout", group=2)
        Network(Linear(3, 4), maxout(group=2), Linear(2, 1))
        """
        weights = list(weights)
        if not weights:
            raise ValueError("weights must hold at least one (W, b) pair")
        L = len(weights)
        if isinstance(activation, str):
            acts = [activation] * (L - 1) + [final_activation or "identity"]
        else:
            if final_activation is not None:
                raise ValueError("give final_activation only with a single activation name")
            acts = list(activation)
            if len(acts) != L:
                raise ValueError(f"activation lists {len(acts)} names for {L} layers")
        layers = []
        for k, (pair, act) in enumerate(zip(weights, acts)):
            try:
                W, b = pair
            except (TypeError, ValueError):
                raise ValueError(f"weights[{k}] must be a pair (W, b)") from None
            W = _finite_matrix(W, f"W of layer {k}", 2)
            b = np.zeros(W.shape[0]) if b is None else _finite_matrix(b, f"b of layer {k}", 1)
            layers.append(_make_layer(k, W, b, act, alpha, group, eps))
        return cls(layers)

    @classmethod
    def from_npz(cls, path, activation="relu", final_activation=None, *, alpha=0.0, group=1,
                 eps=0.0):
        """Load the ``.npz`` format of ``shared/bench-nets``: arrays ``W0, b0, W1, b1, ...``.

        ``W_k`` has shape ``(out, in)``; ReLU after every layer but the last
        unless the file holds per-layer ``activations`` (as written by
        :meth:`to_npz`) or ``activation`` says otherwise. Other arrays
        (``dims``, ``seed``, ``box_halfwidth``) are ignored, except that
        ``dims`` must agree with the weights. Loaded without pickle.
        """
        path = os.fspath(path)
        try:
            data = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise ValueError(f"{path}: not a plain .npz of numeric arrays ({exc})") from None
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError(f"{path}: expected an .npz archive of W0, b0, W1, b1, ...")
        with data:
            try:
                arrays = {k: data[k] for k in data.files}
            except ValueError as exc:
                raise ValueError(f"{path}: an array needs pickle, which is not allowed "
                                 f"({exc})") from None
        idx = {int(m.group(1)) for k in arrays if (m := re.fullmatch(r"[Wb](\d+)", k))}
        if not idx:
            raise ValueError(f"{path}: no weight arrays W0, b0, W1, b1, ... "
                             f"(found {sorted(arrays)})")
        L = max(idx) + 1
        for k in range(L):
            for name in (f"W{k}", f"b{k}"):
                if name not in arrays:
                    raise ValueError(f"{path}: array {name} is missing (the file has "
                                     f"{sorted(arrays)})")
        weights = [(_finite_matrix(arrays[f"W{k}"], f"{path}: W{k}", 2),
                    _finite_matrix(arrays[f"b{k}"], f"{path}: b{k}", 1)) for k in range(L)]
        for k, (W, b) in enumerate(weights):
            if b.shape != (W.shape[0],):
                raise ValueError(f"{path}: b{k} has shape {b.shape} but W{k} has shape "
                                 f"{W.shape}")
        if "activations" in arrays:
            acts = [str(a) for a in np.asarray(arrays["activations"]).reshape(-1)]
            if len(acts) != L:
                raise ValueError(f"{path}: 'activations' lists {len(acts)} names for {L} layers")
            params = {}
            for name in ("alpha", "group", "eps"):
                vals = np.asarray(arrays.get(name, np.zeros(L) + (name == "group")))
                if vals.shape != (L,):
                    raise ValueError(f"{path}: '{name}' must have shape ({L},)")
                params[name] = vals
            layers = [_make_layer(k, W, b, acts[k], float(params["alpha"][k]),
                                  int(params["group"][k]), float(params["eps"][k]))
                      for k, (W, b) in enumerate(weights)]
            net = cls(layers)
        else:
            net = cls.from_weights(weights, activation, final_activation, alpha=alpha,
                                   group=group, eps=eps)
        if "dims" in arrays:
            dims = np.asarray(arrays["dims"]).reshape(-1).tolist()
            expected = [net.in_dim] + [layer.out_dim for layer in net.layers]
            if [int(d) for d in dims] != expected:
                raise ValueError(f"{path}: dims {dims} disagree with the weights, which give "
                                 f"{expected}")
        return net

    def to_npz(self, path):
        """Write ``W0, b0, ...``, ``dims`` and the per-layer activations to ``path``.

        :meth:`from_npz` reads it back exactly; a ReLU network with an identity
        last layer is also in the plain ``shared/bench-nets`` format.
        """
        arrays = {}
        for k, layer in enumerate(self._layers):
            arrays[f"W{k}"] = np.asarray(layer.W)
            arrays[f"b{k}"] = np.asarray(layer.b)
        arrays["dims"] = np.array([self.in_dim] + [layer.out_dim for layer in self._layers])
        arrays["activations"] = np.array(self.activations, dtype=str)
        arrays["alpha"] = np.array([layer.alpha for layer in self._layers])
        arrays["group"] = np.array([layer.group for layer in self._layers])
        arrays["eps"] = np.array([layer.eps for layer in self._layers])
        np.savez(path, **arrays)

    def to_json(self) -> str:
        """JSON text holding every layer exactly (floats round-trip)."""
        return json.dumps({"type": "Network", "layers": [
            {"W": layer.W.tolist(), "b": layer.b.tolist(), "activation": layer.activation,
             "alpha": layer.alpha, "group": layer.group, "eps": layer.eps}
            for layer in self._layers]})

    @classmethod
    def from_json(cls, text):
        """Inverse of :meth:`to_json`."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("type") != "Network" or \
                not isinstance(data.get("layers"), list):
            raise ValueError("not the JSON of a Network")
        layers = []
        for k, d in enumerate(data["layers"]):
            if not isinstance(d, dict) or not {"W", "b", "activation"} <= set(d):
                raise ValueError(f"layer {k} of the JSON lacks W, b or activation")
            layers.append(_make_layer(k, np.array(d["W"], dtype=float),
                                      np.array(d["b"], dtype=float), d["activation"],
                                      d.get("alpha", 0.0), d.get("group", 1), d.get("eps", 0.0)))
        return cls(layers)

    @classmethod
    def from_state_dict(cls, mapping, activation="relu", final_activation=None, *, alpha=0.0,
                        group=1, eps=0.0):
        """Build from an ``nn.Sequential`` state dict (no torch import needed).

        Parameters
        ----------
        mapping : mapping of str to array
            Keys ``"<prefix>.weight"`` / ``"<prefix>.bias"`` (e.g. ``"0.weight"``,
            ``"2.bias"``, ``"net.4.weight"``); layers are ordered by their prefix,
            numbers compared as numbers. Values: numpy arrays, torch tensors
            (``.detach().cpu().numpy()``) or anything ``np.asarray`` accepts. A
            missing bias means zeros.
        activation, final_activation, alpha, group, eps
            As in :meth:`from_weights` (the state dict holds no activations).
        """
        if not hasattr(mapping, "items"):
            raise TypeError(f"mapping must be a mapping of names to arrays, got "
                            f"{type(mapping).__name__}")
        entries: dict[str, dict[str, object]] = {}
        for key, value in mapping.items():
            if not isinstance(key, str):
                raise TypeError(f"state-dict keys must be strings, got {key!r}")
            prefix, _, kind = key.rpartition(".")
            if kind not in ("weight", "bias"):
                raise ValueError(f"state-dict key {key!r} is neither a weight nor a bias "
                                 "(only Linear layers are supported)")
            entries.setdefault(prefix, {})[kind] = value
        if not entries:
            raise ValueError("the state dict is empty")

        def natural(s):
            return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", s)]

        weights = []
        for prefix in sorted(entries, key=natural):
            e = entries[prefix]
            name = f"{prefix}.weight" if prefix else "weight"
            if "weight" not in e:
                raise ValueError(f"state dict has {prefix}.bias but no {name}")
            W = _finite_matrix(_to_numpy(e["weight"]), name, 2)
            b = None if "bias" not in e else _finite_matrix(_to_numpy(e["bias"]),
                                                            f"{prefix}.bias", 1)
            weights.append((W, b))
        return cls.from_weights(weights, activation, final_activation, alpha=alpha, group=group,
                                eps=eps)

    @classmethod
    def from_torch(cls, module):
        """Build from an ``nn.Sequential`` of Linear / ReLU / LeakyReLU / MaxPool1d / Softplus.

        ``Softplus(beta)`` becomes softplus with ``eps = 1/beta`` (evaluated
        exactly: torch's linear ``threshold`` shortcut is not reproduced);
        ``MaxPool1d(k)`` with stride ``k`` over the units of a 2-D batch
        becomes maxout with ``group = k``. Nested ``Sequential``, ``Identity``,
        ``Flatten`` and ``Dropout`` (as in eval mode) are accepted; an
        activation that follows another one gets an identity layer between.
        Any other module raises ``TypeError`` naming its type. Weights are
        converted to float64.
        """
        try:
            import torch.nn as nn
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("Network.from_torch needs PyTorch (pip install torch)") from exc
        if not isinstance(module, nn.Module):
            raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
        builder = _Builder()

        def walk(mod, where):
            if isinstance(mod, nn.Sequential):
                for name, child in mod.named_children():
                    walk(child, f"{where}.{name}" if where else name)
                return
            kind = type(mod).__name__
            label = f"{kind} at {where!r}" if where else kind
            if isinstance(mod, nn.Linear):
                W = mod.weight.detach().cpu().numpy()
                b = None if mod.bias is None else mod.bias.detach().cpu().numpy()
                builder.affine(_finite_matrix(W, f"{label} weight", 2),
                               None if b is None else _finite_matrix(b, f"{label} bias", 1),
                               label)
            elif isinstance(mod, nn.ReLU):
                builder.activate("relu", label)
            elif isinstance(mod, nn.LeakyReLU):
                builder.activate("leaky_relu", label, alpha=float(mod.negative_slope))
            elif isinstance(mod, nn.Softplus):
                beta = float(mod.beta)
                if not beta > 0:
                    raise ValueError(f"{label}: beta must be > 0, got {beta}")
                builder.activate("softplus", label, eps=1.0 / beta)
            elif isinstance(mod, nn.MaxPool1d):
                k = _single(mod.kernel_size, f"{label} kernel_size")
                s = _single(mod.stride if mod.stride is not None else k, f"{label} stride")
                if s != k or _single(mod.padding, "padding") != 0 or \
                        _single(mod.dilation, "dilation") != 1 or mod.ceil_mode or \
                        mod.return_indices:
                    raise ValueError(f"{label}: only non-overlapping pooling (stride = "
                                     "kernel_size, no padding, dilation 1) is supported")
                builder.maxpool(k, label)
            elif isinstance(mod, (nn.Identity, nn.Dropout)):
                pass
            elif isinstance(mod, nn.Flatten):
                if mod.start_dim != 1 or mod.end_dim != -1:
                    raise ValueError(f"{label}: only Flatten(1, -1) is supported")
            else:
                raise TypeError(f"unsupported module type {kind} (at {where!r}); supported: "
                                "Linear, ReLU, LeakyReLU, Softplus, MaxPool1d, Sequential, "
                                "Identity, Flatten, Dropout")

        walk(module, "")
        return cls(builder.finish())

    @classmethod
    def from_onnx(cls, path):
        """Build from an ONNX model (the ``onnx`` extra): a chain of supported ops.

        Supported: Gemm, MatMul + Add, Relu, LeakyRelu, Softplus (with the
        ``Mul(beta) -> Softplus -> Div(beta)`` pattern torch exports for
        ``Softplus(beta)``), MaxPool (1-D, stride = kernel), scalar Mul / Div,
        Constant, and the shape ops Identity / Flatten / Squeeze / Unsqueeze /
        Reshape around MaxPool. Any other op raises ``ValueError`` naming it.
        """
        try:
            import onnx
            from onnx import numpy_helper
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("Network.from_onnx needs onnx (pip install onnx)") from exc
        model = path if isinstance(path, onnx.ModelProto) else onnx.load(os.fspath(path))
        graph = model.graph
        consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        inputs = [i.name for i in graph.input if i.name not in consts]
        if len(inputs) != 1:
            raise ValueError(f"the ONNX graph must have exactly one data input, got {inputs}")
        if len(graph.output) != 1:
            raise ValueError("the ONNX graph must have exactly one output")
        current = inputs[0]
        builder = _Builder()
        last = None  # length of the last axis of the current tensor, when known

        def attrs(node):
            return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}

        def const(name, node):
            if name not in consts:
                raise ValueError(f"{node.op_type} node {node.name!r}: input {name!r} must be a "
                                 "constant (initializer)")
            return np.asarray(consts[name], dtype=np.float64) if consts[name].dtype.kind in \
                "fiub" else consts[name]

        def data_input(node):
            data = [i for i in node.input if i and i not in consts]
            if data != [current]:
                raise ValueError(f"{node.op_type} node {node.name!r}: the graph must be a chain "
                                 f"on {current!r}, got data inputs {data}")

        for node in graph.node:
            op, a = node.op_type, attrs(node)
            where = f"{op} node {node.name!r}"
            if op == "Constant":
                if "value" not in a:
                    raise ValueError(f"{where}: only tensor constants are supported")
                consts[node.output[0]] = numpy_helper.to_array(a["value"])
                continue
            data_input(node)
            if op == "Gemm":
                if a.get("transA", 0):
                    raise ValueError(f"{where}: transA is not supported")
                B = const(node.input[1], node)
                W = (B if a.get("transB", 0) else B.T) * a.get("alpha", 1.0)
                C = const(node.input[2], node) * a.get("beta", 1.0) if len(node.input) > 2 \
                    and node.input[2] else np.zeros(W.shape[0])
                b = np.broadcast_to(C, (W.shape[0],)) if C.ndim <= 1 else None
                if b is None:
                    raise ValueError(f"{where}: bias of shape {C.shape} is not per unit")
                builder.affine(_finite_matrix(W, f"{where} weight", 2),
                               _finite_matrix(b, f"{where} bias", 1), where)
                last = None
            elif op == "MatMul":
                B = const(node.input[1], node)
                builder.affine(_finite_matrix(B.T, f"{where} weight", 2), None, where)
                last = None
            elif op == "Add":
                c = const([i for i in node.input if i != current][0], node)
                builder.add_bias(_finite_matrix(np.atleast_1d(c).reshape(-1), f"{where} bias",
                                                1), where)
            elif op in ("Mul", "Div"):
                c = const([i for i in node.input if i != current][0], node)
                if c.size != 1:
                    raise ValueError(f"{where}: only multiplication by a scalar is supported")
                c = float(c.reshape(-1)[0])
                if op == "Div":
                    if c == 0:
                        raise ValueError(f"{where}: division by zero")
                    c = 1.0 / c
                builder.scale(c, where)
            elif op == "Relu":
                builder.activate("relu", where)
            elif op == "LeakyRelu":
                builder.activate("leaky_relu", where, alpha=float(a.get("alpha", 0.01)))
            elif op == "Softplus":
                builder.activate("softplus", where, eps=1.0)
            elif op == "MaxPool":
                k = list(a.get("kernel_shape", []))
                s = list(a.get("strides", [1] * len(k)))
                if len(k) != 1 or s != k or any(a.get("pads", [0, 0])) or \
                        any(d != 1 for d in a.get("dilations", [1])) or a.get("ceil_mode", 0) \
                        or len(node.output) > 1 and node.output[1]:
                    raise ValueError(f"{where}: only 1-D pooling with stride = kernel, no "
                                     "padding and no indices is supported")
                if last is not None and last % k[0]:
                    raise ValueError(f"{where}: the pooled axis of length {last} does not "
                                     f"split into windows of {k[0]}")
                builder.maxpool(int(k[0]), where)
                last = None if last is None else last // k[0]
            elif op in ("Identity", "Flatten", "Squeeze"):
                last = None
            elif op == "Unsqueeze":
                axes = a.get("axes")
                if axes is None and len(node.input) > 1:
                    axes = const(node.input[1], node).astype(int).reshape(-1).tolist()
                if axes and any(ax == -1 for ax in axes):
                    last = 1
            elif op == "Reshape":
                shape = const(node.input[1], node).astype(int).reshape(-1)
                last = int(shape[-1]) if shape[-1] > 0 else None
            else:
                raise ValueError(f"unsupported ONNX op {op} (node {node.name!r}); supported: "
                                 "Gemm, MatMul, Add, Relu, LeakyRelu, Softplus, MaxPool, Mul, "
                                 "Div, Constant, Identity, Flatten, Squeeze, Unsqueeze, Reshape")
            current = node.output[0]
        if current != graph.output[0].name:
            raise ValueError(f"the graph output {graph.output[0].name!r} is not the end of the "
                             f"chain {current!r}")
        return cls(builder.finish())


# ---------------------------------------------------------------------------
# helpers: construction
# ---------------------------------------------------------------------------
def _make_layer(k, W, b, act, alpha, group, eps):
    """A Layer with the parameters that apply to ``act``; errors name layer ``k``."""
    if not isinstance(act, str) or act not in ACTIVATIONS:
        raise ValueError(f"layer {k}: unsupported activation {act!r}; expected one of "
                         f"{ACTIVATIONS}")
    try:
        return Layer(W, b, act,
                     alpha=alpha if act == "leaky_relu" else 0.0,
                     group=group if act in _GROUPED else 1,
                     eps=eps if act in _SMOOTH else 0.0)
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"layer {k}: {exc}") from None


def _to_numpy(value):
    if hasattr(value, "detach") and callable(value.detach):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _single(v, name):
    if isinstance(v, (tuple, list)):
        if len(v) != 1:
            raise ValueError(f"{name} must be a single integer, got {v}")
        v = v[0]
    return int(v)


class _Builder:
    """Assembles layers from a stream of affine maps, scalings and activations.

    A pending affine map ``c * (W u + b)`` waits for its activation. A
    positive scalar ``c`` commutes with every activation up to the
    temperature (``softplus_1(c z) = c * softplus_{1/c}(z)``, ``relu(c z) =
    c relu(z)``), so it is carried past the activation as an output scale
    that the next affine map absorbs: torch's ``Mul(beta) -> Softplus ->
    Div(beta)`` becomes softplus with ``eps = 1/beta`` and the original
    weights.
    """

    def __init__(self):
        self.layers = []
        self.pending = None  # dict(W, b, scale, where)
        self.post = 1.0      # output scale of the last activated layer

    def _units(self):
        if self.pending is not None:
            return self.pending["W"].shape[0]
        return self.layers[-1].out_dim if self.layers else None

    def affine(self, W, b, where):
        self._flush()
        units = self._units()
        if units is not None and W.shape[1] != units:
            raise ValueError(f"{where}: weight of shape {W.shape} expects {W.shape[1]} inputs, "
                             f"but the previous layer outputs {units}")
        if self.post != 1.0:
            W = W * self.post
            self.post = 1.0
        b = np.zeros(W.shape[0]) if b is None else b
        if b.shape != (W.shape[0],):
            raise ValueError(f"{where}: bias of shape {b.shape} does not match weight of shape "
                             f"{W.shape}")
        self.pending = dict(W=W, b=b, scale=1.0, where=where)

    def add_bias(self, c, where):
        p = self.pending
        if p is None:
            raise ValueError(f"{where}: Add must follow Gemm or MatMul")
        if c.size not in (1, p["W"].shape[0]):
            raise ValueError(f"{where}: bias of shape {c.shape} for {p['W'].shape[0]} units")
        p["b"] = p["b"] + c / p["scale"] if p["scale"] != 1.0 else p["b"] + c

    def scale(self, c, where):
        if self.pending is not None:
            self.pending["scale"] *= c
        elif self.layers:
            self.post *= c
        else:
            raise ValueError(f"{where}: scaling before the first affine layer is not supported")

    def _activated_layer_needed(self, where):
        """Make sure a pending affine map exists (insert ``post * I`` after an activation)."""
        if self.pending is not None:
            return
        if not self.layers:
            raise ValueError(f"{where}: an activation before the first affine layer")
        n = self.layers[-1].out_dim
        self.pending = dict(W=np.eye(n) * self.post, b=np.zeros(n), scale=1.0, where=where)
        self.post = 1.0

    def activate(self, act, where, alpha=0.0, eps=0.0, group=1):
        self._activated_layer_needed(where)
        p = self.pending
        W, b, c = p["W"], p["b"], p["scale"]
        if c > 0 and c != 1.0:
            if act == "softplus":
                eps = eps / c
            self.post = c
        elif c != 1.0:
            W, b = W * c, b * c
        units = W.shape[0]
        if act in _GROUPED and units % group:
            raise ValueError(f"{where}: {units} units do not split into windows of {group}")
        self.layers.append(_make_layer(len(self.layers), W, b, act, alpha, group, eps))
        self.pending = None

    def maxpool(self, k, where):
        self.activate("maxout", where, group=k)

    def _flush(self):
        p = self.pending
        if p is not None:
            self.layers.append(_make_layer(len(self.layers), p["W"] * p["scale"],
                                           p["b"] * p["scale"], "identity", 0.0, 1, 0.0))
            self.pending = None

    def finish(self):
        self._flush()
        if not self.layers:
            raise ValueError("no affine layer found")
        if self.post != 1.0:
            n = self.layers[-1].out_dim
            self.layers.append(_make_layer(len(self.layers), np.eye(n) * self.post,
                                           np.zeros(n), "identity", 0.0, 1, 0.0))
        return self.layers


# ---------------------------------------------------------------------------
# helpers: the tropical form
# ---------------------------------------------------------------------------
def _simplify(p):
    """``p.simplify()``, after an exactly certified pre-filter for larger polynomials."""
    if p.nterms <= 1:
        return p
    if p.nterms >= _PREFILTER_MIN and p.nvars >= 2:
        keep = _dominated_prefilter(p.exponents, p.coefficients)
        if not keep.all():
            from .polynomial import TropicalPolynomial

            p = TropicalPolynomial(p.exponents[keep], p.coefficients[keep], p.sense,
                                   p.variables)
    return p.simplify()


_PREFILTER_MIN = 12


def _dominated_prefilter(E, c):
    """Mask that drops monomials certified (exactly) to be nowhere strictly maximal.

    A floating-point upper hull (qhull, joggled) of the lifted points
    ``(a_j, c_j)`` proposes, for each point that is not one of its vertices,
    an upper facet whose projection contains ``a_j``. The proposal is then
    checked in exact rational arithmetic: barycentric coordinates
    ``lambda >= 0`` with ``sum lambda_v a_v = a_j`` and ``sum lambda_v c_v >=
    c_j`` mean ``c_j + <a_j, x> <= max_v (c_v + <a_v, x>)`` for every ``x``,
    so monomial ``j`` can be removed without changing the function. The
    certificates use only facet vertices, which this pass never removes.
    Points without a certificate are kept for the exact hull code.

    This cuts the Minkowski sums of the network products (whose many
    nearly coplanar faces push the exact hull code onto its slow exact-LP
    path) down to about the number of vertices before exact simplification.
    """
    from fractions import Fraction

    from scipy.spatial import ConvexHull, QhullError

    N, n = E.shape
    keep = np.ones(N, dtype=bool)
    pts = np.column_stack([E, c])
    centre = pts.mean(axis=0)
    scale = np.abs(pts - centre).max(axis=0)
    scale[scale == 0] = 1.0
    hull = None
    for options in (None, "QJ"):  # qhull's merged facets first: near-coplanar points drop out
        try:
            hull = ConvexHull((pts - centre) / scale, qhull_options=options)
            break
        except (QhullError, ValueError):
            continue
    if hull is None:
        return keep
    facets = hull.simplices[hull.equations[:, n] > 0]  # upward normal (last column: offset)
    if len(facets) == 0:
        return keep
    vertices = np.unique(facets)
    candidates = np.setdiff1d(np.arange(N), vertices)
    if len(candidates) == 0:
        return keep
    # float barycentric coordinates of every candidate in every upper facet's projection
    M = np.concatenate([E[facets], np.ones(facets.shape + (1,))], axis=2)  # (F, n+1, n+1)
    M = np.swapaxes(M, 1, 2)                                               # columns = vertices
    ok = np.abs(np.linalg.det(M)) > 0
    facets, M = facets[ok], M[ok]
    if len(facets) == 0:
        return keep
    rhs = np.concatenate([E[candidates], np.ones((len(candidates), 1))], axis=1).T
    lam = np.linalg.solve(M, np.broadcast_to(rhs, (len(facets),) + rhs.shape))  # (F, n+1, C)
    best = np.argmax(lam.min(axis=1), axis=0)                                      # (C,)
    exact = {}

    def q(v):
        return exact.setdefault(v, Fraction(v))

    for col, j in enumerate(candidates):
        verts = facets[best[col]]
        A = [[q(float(E[v, r])) for v in verts] for r in range(n)] + [[Fraction(1)] * (n + 1)]
        bvec = [q(float(E[j, r])) for r in range(n)] + [Fraction(1)]
        sol = _solve_exact(A, bvec)
        if sol is None or any(t < 0 for t in sol):
            continue
        if sum(t * q(float(c[v])) for t, v in zip(sol, verts)) >= q(float(c[j])):
            keep[j] = False
    return keep


def _solve_exact(A, b):
    """Solve the square system ``A t = b`` in Fractions (Gaussian elimination); None if singular."""
    m = len(A)
    T = [list(row) + [bi] for row, bi in zip(A, b)]
    for col in range(m):
        piv = next((r for r in range(col, m) if T[r][col] != 0), None)
        if piv is None:
            return None
        T[col], T[piv] = T[piv], T[col]
        p = T[col][col]
        T[col] = [v / p for v in T[col]]
        for r in range(m):
            if r != col and T[r][col] != 0:
                f = T[r][col]
                T[r] = [a - f * bb for a, bb in zip(T[r], T[col])]
    return [T[r][m] for r in range(m)]


def _product(factors, one, tidy):
    """(x)-product of polynomials, simplified after every step (Minkowski sums).

    A one-monomial factor only translates the Newton polytope: no simplification needed.
    """
    out = one
    for f in factors:
        prod = out * f
        out = prod if out.nterms == 1 or f.nterms == 1 else tidy(prod)
    return out


def _nonneg_combination(wa, A, wb, B, one, tidy):
    """``sum_j wa_j A_j + wb_j B_j`` (weights >= 0) as a tropical polynomial.

    Equal polynomials are combined first (``w1 P + w2 P = (w1 + w2) P`` for
    the convex function ``P``): a Minkowski sum of a polytope with a scaled
    copy of itself is the scaled polytope, and computing it pointwise would
    create many points on its faces for the hull code to remove.
    """
    weights: dict[tuple[bytes, bytes], list] = {}
    for w, P in zip(np.concatenate([wa, wb]), list(A) + list(B)):
        if w == 0:
            continue
        key = (P.exponents.tobytes(), P.coefficients.tobytes())
        if key in weights:
            weights[key][0] += float(w)
        else:
            weights[key] = [float(w), P]
    factors = [P if w == 1 else P.scale(w) for w, P in weights.values()]
    # Newton polytopes with fewer vertices first keeps intermediate sizes small
    factors.sort(key=lambda p: p.nterms)
    return _product(factors, one, tidy)


def _activate(layer, G, H, one, tidy):
    """Apply ``layer``'s activation to the units ``G_i - H_i`` (tropical polynomials)."""
    act = layer.activation
    if act == "identity":
        return G, H
    if act in ("relu", "softplus"):  # softplus here only with eps = 0
        return [tidy(g + h) for g, h in zip(G, H)], list(H)
    if act == "leaky_relu":
        a = layer.alpha
        newG, newH = [], []
        for g, h in zip(G, H):
            if a < 0:
                # leaky(z) = max(z, a z) = (1 - a) max(G, H) - (H + |a| G)
                newG.append(tidy(g + h).scale(1.0 - a))
                newH.append(_product([h, g.scale(-a)], one, tidy))
            elif a <= 1:
                # max(G + aH, aG + H) - (1 + a) H  (H + aH = (1 + a) H: H is convex)
                newG.append(tidy(_product([g, h.scale(a)], one, tidy)
                                 + _product([g.scale(a), h], one, tidy)))
                newH.append(h.scale(1.0 + a))
            else:
                # leaky(z) = z - (a - 1) relu(-z) = a G - (H + (a - 1) max(G, H))
                newG.append(g.scale(a))
                newH.append(_product([h, tidy(g + h).scale(a - 1.0)], one, tidy))
        return newG, newH
    # maxout / lse (eps = 0): max_i (G_i - H_i) over each group
    k = layer.group
    newG, newH = [], []
    for start in range(0, len(G), k):
        g, h = G[start:start + k], H[start:start + k]
        terms = None
        for i in range(k):
            t = _product([g[i]] + [h[m] for m in range(k) if m != i], one, tidy)
            terms = t if terms is None else tidy(terms + t)
        newG.append(terms)
        newH.append(_product(h, one, tidy))
    return newG, newH
