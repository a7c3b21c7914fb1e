r"""The commutative diagram of the four views, checked arrow by arrow.

``../shared/design/MATH.md`` section 3::

   network N_eps  ==Hopf-Cole==  PDE u_eps  ==entropic duality==  convex C_eps
        | eps->0                    | eps->0 (vanishing viscosity)     | eps->0
   tropical f_0   ==Hopf-Lax===  PDE u_0    ==LP duality=========  convex C_0

:func:`diagram` returns it as a :class:`networkx.DiGraph` (six nodes, seven
arrows with attributes ``kind`` = ``"exact"`` or ``"limit"``, ``name`` and
``formula``). :func:`check` evaluates every node at sample points ``x`` and
temperatures ``eps`` and compares, for each arrow and square, the measured
discrepancy with the bound it must respect:

Exact arrows (rounding budgets, first order in the unit roundoff ``u``)
    With ``q = |x|^2/(4t)`` and the per-point scale
    ``M(x) = max_j (|b_j| + t|w_j|^2 + (|x| + 2t|w_j|)^2/(4t)) + q`` (every
    intermediate quantity of either side is at most ``M`` in magnitude: the
    pre-activations ``|w_j.x + b_j| <= |x||w_j| + |b_j|``, the PDE exponents
    ``g_j + |x - y_j|^2/(4t)``, however the square is expanded), the
    pre-activations and exponents are each off by at most ``(2d + 8) u M``,
    a max-shifted LSE by ``u (7 M + eps (N + 6 + 3 log N))`` (the kernel
    budget of ``tests/reference.py``), and the final ``f + u - q`` by
    ``3 u M``. In all::

        budget(x, eps) = u * ((3d + 32) M(x) + 2 eps (N + 8 + 4 log N))

    * Hopf-Cole (network -> pde): ``|f_eps(x) + u_eps(x, t) - q| <= budget``;
    * Hopf-Lax (tropical -> hopf_lax): the same at ``eps = 0``;
    * entropic duality (pde -> convex) and LP duality (hopf_lax -> lp):
      ``|u_eps + C_eps - q| <= budget + gap``, ``gap`` the optimiser's
      certified duality gap.
    * The Gibbs weights along the exact arrows: exponents off by at most
      ``delta = (3d + 16) u M`` move every weight by a factor in
      ``exp(+-2 delta/eps)``, so ``||pi - pi'||_1 <= expm1(2 delta/eps) + 2 N u``;
      the optimiser's ``pi`` adds ``sqrt(2 gap/eps)`` (the entropy is
      1-strongly concave in the l1 norm: Pinsker).

Vertical arrows (limits)
    ``0 <= f_eps - f_0 <= eps log(k + (N - k) exp(-gap/eps)) <= eps log N``
    with ``k`` the multiplicity of the maximal pre-activation and ``gap`` the
    distance to the next one (MATH.md section 1); likewise ``u_0 - u_eps``
    (the PDE's own exponents) and ``C_eps - C_0`` (plus the certified gaps).
    Each is checked pointwise against the refined bound (plus the rounding
    budget) and reported next to ``eps log N``.

Squares
    A square commutes when its four arrows hold and the two vertical gaps
    agree: ``(f_eps - f_0) - (u_0 - u_eps)`` (Hopf-Cole square) and
    ``(u_0 - u_eps) - (C_eps - C_0)`` (duality square) vanish to within the
    two horizontal budgets. A failing square names its two paths and the
    ``(x, eps)`` of the worst disagreement.

Rates
    ``d/d eps (LSE_eps(z) - max z) = H(pi_eps)`` (the Gibbs entropy) and the
    gap is convex in ``eps`` (a perspective function), so the least-squares
    slope of a vertical gap against ``eps`` over the small-``eps`` part of
    the grid lies between ``H(pi)`` at its two ends; it tends to ``log k`` at
    a ``k``-fold tie and decays like ``exp(-gap/eps)`` elsewhere. The report
    gives the fitted slopes at tie points with the expected ``log k``.

At scale
    The sweep runs over blocks of points (``chunk``); each view computes
    from its own data in one compiled pass per point (``LSELayer.evaluate``,
    ``HopfCole.evaluate`` with directly summed squared distances, so the
    budget above holds unchanged far from the data, ``EntropicLP.solve`` by
    its certified Newton iteration). The statistics of the refined bounds
    (top value, multiplicity, next value) are taken once, at ``eps = 0``. The
    ``eps = 0`` LP is solved by HiGHS at ``highs_points`` points and by the
    one-pivot simplex method at the others, every vertex certified exactly
    by LP duality. ``report.info`` records the split (``lp_eps0``) and the
    seconds per view (``seconds_by_view``).

Deep models (softplus/ReLU)
    For a network of layers ``(W_k, b_k)`` (PyTorch orientation: ``W_k`` of
    shape ``(out, in)``), activation after every layer but the last, the
    softplus_eps network (``z (+)_eps 0``) tends to the ReLU network
    (``z (+)_0 0``) with the same weights. Since ``0 <= softplus_eps - relu
    <= eps log 2`` and softplus_eps is 1-Lipschitz, the hidden errors obey
    ``e_k <= |W_k| e_{k-1} + eps log 2`` (componentwise, ``|W|`` the absolute
    entries), so the output error is at most
    ``eps log 2 * sum_{k < L} |W_L| |W_{L-1}| ... |W_{k+1}| 1``: attained
    (``= eps log 2``) by one unit at ``z = 0`` followed by a weight 1.

Examples
--------
>>> import tropical
>>> from tropical.diagram import diagram
>>> sorted(diagram().nodes)
['convex', 'hopf_lax', 'lp', 'network', 'pde', 'tropical']
>>> diagram().edges["network", "pde"]["kind"]
'exact'
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import time

import numpy as np

from . import _ops
from ._progress import want_progress as _want_progress
from ._validate import as_semiring_array, check_eps, check_int

__all__ = ["diagram", "check", "check_deep", "DiagramReport", "Row", "default_points",
           "default_eps", "load_model", "rounding_budget"]

_U = np.finfo(np.float64).eps / 2

NODES = {
    "network": {"eps": "eps > 0", "view": "network",
                "formula": "f_eps(x) = LSE_eps(W x + b)"},
    "pde": {"eps": "eps > 0", "view": "pde",
            "formula": "u_eps(x,t) = -eps log sum_j exp(-(g_j + |x-y_j|^2/(4t))/eps)"},
    "convex": {"eps": "eps > 0", "view": "convex",
               "formula": "C_eps(x) = max_{pi in simplex} <pi, Wx+b> + eps H(pi)"},
    "tropical": {"eps": "eps = 0", "view": "network",
                 "formula": "f_0(x) = max_j (w_j.x + b_j)"},
    "hopf_lax": {"eps": "eps = 0", "view": "pde",
                 "formula": "u_0(x,t) = min_j (g_j + |x-y_j|^2/(4t))"},
    "lp": {"eps": "eps = 0", "view": "convex",
           "formula": "C_0(x) = max_{pi in simplex} <pi, Wx+b>"},
}

EDGES = [
    ("network", "pde", "exact", "Hopf-Cole",
     "f_eps(x) + u_eps(x,t) = |x|^2/(4t), y = 2t w, g = -b - t|w|^2"),
    ("pde", "convex", "exact", "entropic duality", "u_eps(x,t) + C_eps(x) = |x|^2/(4t)"),
    ("tropical", "hopf_lax", "exact", "Hopf-Lax", "f_0(x) + u_0(x,t) = |x|^2/(4t)"),
    ("hopf_lax", "lp", "exact", "LP duality", "u_0(x,t) + C_0(x) = |x|^2/(4t)"),
    ("network", "tropical", "limit", "eps->0", "0 <= f_eps - f_0 <= eps log N"),
    ("pde", "hopf_lax", "limit", "vanishing viscosity", "0 <= u_0 - u_eps <= eps log N"),
    ("convex", "lp", "limit", "eps->0", "0 <= C_eps - C_0 <= eps log N"),
]

#: square name -> (corners, path 1, path 2)
SQUARES = {
    "hopf_cole": (("network", "pde", "hopf_lax", "tropical"),
                  "network->pde->hopf_lax", "network->tropical->hopf_lax"),
    "duality": (("pde", "convex", "lp", "hopf_lax"),
                "pde->convex->lp", "pde->hopf_lax->lp"),
}


def diagram():
    """The diagram as a :class:`networkx.DiGraph`: six nodes, seven arrows.

    Node attributes: ``eps`` (``"eps > 0"`` or ``"eps = 0"``), ``view``,
    ``formula``. Edge attributes: ``kind`` (``"exact"`` for the identities
    at every eps, ``"limit"`` for eps -> 0), ``name``, ``formula``. The graph
    attribute ``squares`` maps each square to its corners.

    Examples
    --------
    >>> from tropical.diagram import diagram
    >>> G = diagram()
    >>> G.number_of_nodes(), G.number_of_edges()
    (6, 7)
    >>> sorted(v for u, v, k in G.edges(data="kind") if k == "limit")
    ['hopf_lax', 'lp', 'tropical']
    """
    import networkx as nx

    G = nx.DiGraph(squares={k: v[0] for k, v in SQUARES.items()})
    for name, attrs in NODES.items():
        G.add_node(name, **attrs)
    for u, v, kind, name, formula in EDGES:
        G.add_edge(u, v, kind=kind, name=name, formula=formula)
    return G


# ---------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------

@dataclasses.dataclass
class Row:
    """One line of a :class:`DiagramReport`: a measured discrepancy next to its bound.

    ``kind`` is ``"arrow"`` (exact or limit, ``edge`` names it), ``"gibbs"``
    (the Gibbs weights along an exact arrow), ``"square"``, ``"rate"`` or
    ``"deep"``. ``measured`` and ``bound`` are taken at the worst sample
    (largest ``measured - bound``, ``worst_x``, ``worst_eps``); ``max_measured``
    and ``max_bound`` are the largest over all samples; ``by_eps`` lists
    ``[eps, max measured, max bound]``.

    Examples
    --------
    >>> import tropical
    >>> layer = tropical.LSELayer([[1.0], [-1.0]], [0.0, 0.0])
    >>> row = tropical.check(layer, eps=[1.0, 0.1, 0.01], npoints=16).rows[0]
    >>> row.name, row.kind, row.ok, bool(row.measured <= row.bound)
    ('network->pde', 'arrow', True, True)
    """

    name: str
    kind: str
    measured: float
    bound: float
    ok: bool
    edge: tuple | None = None
    arrow_kind: str = ""
    formula: str = ""
    max_measured: float = 0.0
    max_bound: float = 0.0
    worst_x: list | None = None
    worst_eps: float | None = None
    paths: tuple | None = None
    detail: str = ""
    by_eps: list = dataclasses.field(default_factory=list)
    informational: bool = False

    def to_dict(self):
        d = dataclasses.asdict(self)
        d["edge"] = list(self.edge) if self.edge else None
        d["paths"] = list(self.paths) if self.paths else None
        return d

    @classmethod
    def from_dict(cls, d):
        d = dict(d)
        d["edge"] = tuple(d["edge"]) if d.get("edge") else None
        d["paths"] = tuple(d["paths"]) if d.get("paths") else None
        return cls(**d)

    def failure_message(self):
        where = ""
        if self.worst_x is not None:
            xs = ", ".join(f"{v:.6g}" for v in self.worst_x)
            where = f" at x=[{xs}], eps={self.worst_eps:g}"
        who = f"paths {self.paths[0]} and {self.paths[1]} disagree" if self.paths else \
            f"{self.name} fails"
        return (f"{who}: {self.name} measured {self.measured:.3g} > bound "
                f"{self.bound:.3g}{where}" + (f" ({self.detail})" if self.detail else ""))


class DiagramReport:
    """Result of :func:`check`: one :class:`Row` per arrow, Gibbs comparison, square, rate.

    Attributes
    ----------
    rows : list of Row
    eps : ndarray
        The temperatures swept (only those finished when ``complete`` is False).
    npoints : int
    info : dict
        Model summary (``N``, ``d``, ``t``, source) and timing.
    complete : bool
        False when the sweep was interrupted (Ctrl-C): the rows then cover the
        temperatures finished so far.

    Examples
    --------
    >>> import numpy as np
    >>> from tropical.diagram import check
    >>> rng = np.random.default_rng(0)
    >>> W, b = rng.normal(size=(6, 2)), rng.normal(size=6)
    >>> report = check((W, b), eps=[1.0, 0.1, 0.01, 0.001], npoints=32)
    >>> report.ok, report.complete, len(report.eps)
    (True, True, 4)
    >>> report["network->pde"].measured <= report["network->pde"].bound
    True
    """

    def __init__(self, rows, eps, npoints, info=None, complete=True):
        self.rows = list(rows)
        self.eps = np.asarray(eps, dtype=np.float64)
        self.npoints = int(npoints)
        self.info = dict(info or {})
        self.complete = bool(complete)

    @property
    def ok(self) -> bool:
        """True when the sweep completed and every row holds."""
        return self.complete and all(r.ok for r in self.rows)

    def failures(self):
        """The rows that do not hold."""
        return [r for r in self.rows if not r.ok]

    def __getitem__(self, name):
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(name)

    def names(self):
        return [r.name for r in self.rows]

    def graph(self):
        """The diagram with each arrow annotated by its row (``measured``, ``bound``, ``ok``)."""
        G = diagram()
        for r in self.rows:
            if r.kind == "arrow" and r.edge and G.has_edge(*r.edge):
                G.edges[r.edge].update(measured=r.measured, bound=r.bound, ok=r.ok)
        return G

    def __repr__(self):
        state = "complete" if self.complete else "INCOMPLETE"
        return (f"DiagramReport({len(self.rows)} rows, {len(self.eps)} eps, "
                f"{self.npoints} points, ok={self.ok}, {state})")

    def __str__(self):
        lines = []
        head = self.info.get("title")
        if head:
            lines.append(head)
        lines.append(f"{len(self.eps)} eps values in [{self.eps.min() if self.eps.size else 0:g}, "
                     f"{self.eps.max() if self.eps.size else 0:g}], {self.npoints} points")
        w = max([len(r.name) for r in self.rows] + [20])
        lines.append(f"{'row':<{w}s} {'measured':>10s} {'bound':>10s} {'ratio':>7s}  ok")
        for r in self.rows:
            ratio = r.measured / r.bound if r.bound > 0 else (0.0 if r.measured <= 0 else math.inf)
            flag = "yes" if r.ok else "NO"
            if r.informational:
                flag = "info"
            line = f"{r.name:<{w}s} {r.measured:10.3g} {r.bound:10.3g} {ratio:7.2g}  {flag}"
            if r.detail and r.kind in ("rate", "deep"):
                line += f"  ({r.detail})"
            lines.append(line)
        for r in self.failures():
            lines.append("FAIL " + r.failure_message())
        if not self.complete:
            lines.append("INCOMPLETE: interrupted; rows cover the eps values finished so far")
        held = sum(r.ok for r in self.rows)
        lines.append(f"{held}/{len(self.rows)} checks hold")
        return "\n".join(lines)

    def to_json(self) -> str:
        """JSON text of the whole report (inverse: :meth:`from_json`)."""
        return json.dumps({"type": "DiagramReport", "ok": self.ok, "complete": self.complete,
                           "eps": self.eps.tolist(), "npoints": self.npoints,
                           "info": self.info, "rows": [r.to_dict() for r in self.rows]},
                          default=float)

    @classmethod
    def from_json(cls, text):
        """Rebuild a report from :meth:`to_json`."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("type") != "DiagramReport":
            raise ValueError("not the JSON of a DiagramReport")
        return cls([Row.from_dict(r) for r in data["rows"]], data["eps"], data["npoints"],
                   data.get("info"), data.get("complete", True))

    def plot(self, path=None, ax=None):
        """Log-log plot of the vertical gaps against eps with their bounds.

        Needs matplotlib (the ``plot`` extra: ``pip install tropical-engine[plot]``).
        Saves to ``path`` when given; returns the figure. With a ``path`` and no
        ``ax`` the figure is made outside pyplot (``matplotlib.figure.Figure``),
        so the caller's backend is left as it is.
        """
        detached = path is not None and ax is None
        try:
            import matplotlib  # noqa: F401
            if detached:
                from matplotlib.figure import Figure
            elif ax is None:
                import matplotlib.pyplot as plt
        except ImportError:
            raise ImportError("DiagramReport.plot needs matplotlib: install the 'plot' extra "
                              "(pip install 'tropical-engine[plot]')") from None
        if detached:
            fig = Figure(figsize=(6, 4))
            ax = fig.subplots()
        elif ax is None:
            fig, ax = plt.subplots(figsize=(6, 4))
        else:
            fig = ax.figure
        for r in self.rows:
            if r.kind not in ("arrow", "deep") or r.arrow_kind != "limit" or not r.by_eps:
                continue
            e, m, bd = np.asarray(r.by_eps, dtype=float).T
            keep = e > 0
            line, = ax.loglog(e[keep], np.maximum(m[keep], 1e-300), "o-", label=f"{r.name}")
            ax.loglog(e[keep], bd[keep], "--", color=line.get_color(), alpha=0.6)
        ax.set_xlabel("eps")
        ax.set_ylabel("max gap (solid), bound (dashed)")
        ax.set_title("vertical gaps of the diagram")
        ax.legend(fontsize=7)
        if path is not None:
            fig.savefig(path, dpi=120, bbox_inches="tight")
        return fig


# ---------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------

def default_eps(n=13, high=1.0, low=1e-6):
    """A log grid of ``n`` temperatures from ``high`` down to ``low``.

    Parameters
    ----------
    n : int, default 13
        Number of temperatures (``>= 1``).
    high, low : float
        The largest and smallest temperature, ``0 < low <= high``, finite.

    Returns
    -------
    ndarray, shape (n,)
        Decreasing from ``high`` to ``low``.

    Examples
    --------
    >>> from tropical.diagram import default_eps
    >>> default_eps(3)
    array([1.e+00, 1.e-03, 1.e-06])
    """
    n = check_int(n, "n", minimum=1)
    high, low = check_eps(high, "high"), check_eps(low, "low")
    if not 0 < low <= high:
        raise ValueError(f"default_eps needs 0 < low <= high, got low={low}, high={high}")
    return np.logspace(math.log10(high), math.log10(low), n)


def default_points(W, b, n=256, seed=0):
    """Points covering the interesting part of the layer's domain.

    Half uniform in a box ``[-R, R]^d`` holding the tie hyperplanes
    ``(w_i - w_j).x = b_j - b_i`` (``R``: 1.5 times the 90% quantile of their
    distances to the origin, at least 1), a quarter on the tropical
    hypersurface (a box point projected onto the tie of its two largest
    terms), the rest uniform in ``[-4R, 4R]^d``, plus two far points at
    ``|x| = 1000 R`` (no overflow). Deterministic for a given ``seed``.

    Parameters
    ----------
    W : array_like, shape (N, d)
        Finite weights of the layer.
    b : array_like, shape (N,)
        Finite biases.
    n : int, default 256
        Number of points (``>= 1``; exactly ``n`` when ``N > 1`` and ``n >= 5``,
        the tie quarter is left out when ``N = 1``, and at least 3 points).
    seed : int, default 0
        Seed of the ``numpy.random.Generator``.

    Returns
    -------
    ndarray, shape (P, d)

    Examples
    --------
    >>> from tropical.diagram import default_points
    >>> default_points([[1.0, 0.0], [0.0, 1.0]], [0.0, 0.5], n=16).shape
    (16, 2)
    """
    W = _finite(W, "W", 2)
    N, d = W.shape
    if N == 0 or d == 0:
        raise ValueError(f"W must have shape (N, d) with N, d >= 1, got {W.shape}")
    b = _finite(b, "b", 1, (N,))
    n = check_int(n, "n", minimum=1)
    rng = np.random.default_rng(seed)
    if N > 1:
        m = min(N * (N - 1) // 2, 20000)
        i = rng.integers(0, N, m)
        j = (i + rng.integers(1, N, m)) % N
        dw = np.linalg.norm(W[i] - W[j], axis=1)
        keep = dw > 0
        dist = np.abs(b[i] - b[j])[keep] / dw[keep]
        R = 1.5 * float(np.quantile(dist, 0.9)) if dist.size else 1.0
    else:
        R = 1.0
    R = min(max(R, 1.0), 1e6)
    n_box = max(n // 2, 1)
    n_tie = max(n // 4, 0)
    n_wide = max(n - n_box - n_tie - 2, 0)
    box = rng.uniform(-R, R, (n_box, d))
    pts = [box, rng.uniform(-4 * R, 4 * R, (n_wide, d))]
    if N > 1 and n_tie:
        src = rng.uniform(-R, R, (n_tie, d))
        Z = src @ W.T + b
        top = np.argsort(Z, axis=1)[:, -2:]
        a, c = top[:, 1], top[:, 0]
        dw = W[a] - W[c]
        nn = np.einsum("ij,ij->i", dw, dw)
        ok = nn > 0
        s = np.where(ok, (Z[np.arange(n_tie), a] - Z[np.arange(n_tie), c]) / np.where(ok, nn, 1.0),
                     0.0)
        pts.append(src - s[:, None] * dw)
    far = rng.normal(size=(2, d))
    far *= 1000 * R / np.linalg.norm(far, axis=1, keepdims=True)
    pts.append(far)
    return np.vstack(pts)


def _finite(arr, name, ndim, shape=None):
    a = np.asarray(as_semiring_array(arr, name, float32_ok=False, min_ndim=ndim),
                   dtype=np.float64)
    if a.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {a.shape}")
    if shape is not None and a.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} must be finite")
    return a


def load_model(path=None):
    """Read a model ``.npz`` (``allow_pickle=False``): a dict of validated arrays.

    Arrays ``W`` (N, d) and ``b`` (N,), optional ``y`` (N, d) and ``g`` (N,)
    (the PDE view's data, checked against the dictionary instead of derived
    from it), ``t`` (> 0, default 1) and ``eps`` (the layer's temperature, or
    several temperatures to sweep). ``path=None`` reads the bundled default
    model. Raises ``OSError``/``ValueError`` with a one-line message.

    Parameters
    ----------
    path : str or path-like, optional
        The ``.npz`` file; default: the bundled model.

    Returns
    -------
    dict
        ``W``, ``b`` and whichever of ``y``, ``g``, ``t``, ``eps`` the file
        has, plus ``source`` (where it came from).

    Examples
    --------
    >>> from tropical.diagram import load_model
    >>> model = load_model()
    >>> sorted(model), model["W"].shape
    (['W', 'b', 'eps', 'g', 'source', 't', 'y'], (16, 2))
    """
    if path is None:
        from importlib import resources

        ref = resources.files("tropical") / "data" / "default_model.npz"
        with resources.as_file(ref) as p:
            return load_model(str(p)) | {"source": "bundled default model"}
    try:
        z = np.load(path, allow_pickle=False)
    except (ValueError, EOFError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise OSError(f"model file {path} not found") from None
        raise ValueError(f"model file {path} is not a readable .npz: {exc}") from None
    with z:
        if not hasattr(z, "files"):
            raise ValueError(f"model file {path} is a single array, not an .npz with W and b")
        missing = {"W", "b"} - set(z.files)
        if missing:
            raise ValueError(f"model file {path} lacks arrays {sorted(missing)} (has {z.files})")
        arrays = {k: z[k] for k in z.files}
    out = {"source": str(path)}
    W = as_semiring_array(arrays["W"], "W", float32_ok=False, min_ndim=2)
    b = as_semiring_array(arrays["b"], "b", float32_ok=False, min_ndim=1)
    if W.ndim != 2 or b.shape != (W.shape[0],) or W.shape[0] == 0 or W.shape[1] == 0:
        raise ValueError(f"model file {path}: W must be (N, d) and b (N,), "
                         f"got {W.shape} and {b.shape}")
    if not (np.isfinite(W).all() and np.isfinite(b).all()):
        raise ValueError(f"model file {path}: W and b must be finite")
    out["W"], out["b"] = np.asarray(W, np.float64), np.asarray(b, np.float64)
    N, d = W.shape
    if ("y" in arrays) != ("g" in arrays):
        raise ValueError(f"model file {path}: y and g come together (has only one of them)")
    if "y" in arrays:
        out["y"] = _finite(arrays["y"], "y", 2, (N, d))
        out["g"] = _finite(arrays["g"], "g", 1, (N,))
    if "t" in arrays:
        t = _finite(np.reshape(arrays["t"], -1), "t", 1)
        if t.size != 1 or not t[0] > 0:
            raise ValueError(f"model file {path}: t must be one number > 0, got {arrays['t']!r}")
        out["t"] = float(t[0])
    if "eps" in arrays:
        e = np.reshape(as_semiring_array(arrays["eps"], "eps", float32_ok=False), -1)
        out["eps"] = np.array([check_eps(float(v), "eps") for v in e])
    return out


def rounding_budget(M, eps, N, d):
    """First-order rounding budget of an exact arrow (module docstring).

    ``u ((3d + 32) M + 2 eps (N + 8 + 4 log N))`` with ``u = 2**-53``.

    Parameters
    ----------
    M : float or array_like
        Scale of the exponents at each point (finite, ``>= 0``).
    eps : float
        Temperature, ``>= 0``.
    N, d : int
        Number of terms (``>= 1``) and dimension (``>= 1``).

    Returns
    -------
    float or ndarray
        The budget, with the shape of ``M``.

    Examples
    --------
    >>> from tropical.diagram import rounding_budget
    >>> float(rounding_budget(1.0, 0.0, 4, 2)) == 38 * 2.0 ** -53
    True
    """
    Ma = np.asarray(M, dtype=np.float64)
    if not (np.isfinite(Ma).all() and (Ma >= 0).all()):
        raise ValueError("M must be finite and >= 0")
    return _rounding_budget(M, check_eps(eps), check_int(N, "N", minimum=1),
                            check_int(d, "d", minimum=1))


def _rounding_budget(M, eps, N, d):
    return _U * ((3 * d + 32) * M + 2 * eps * (N + 8 + 4 * math.log(N)))


# ---------------------------------------------------------------------------------
# the check
# ---------------------------------------------------------------------------------

class _Acc:
    """Accumulates per-sample measured/bound arrays into a Row."""

    def __init__(self, name, kind, edge=None, arrow_kind="", formula="", paths=None):
        self.row = Row(name, kind, 0.0, 0.0, True, edge, arrow_kind, formula, paths=paths)
        self.excess = -math.inf
        self.ratio_best = -math.inf
        self.cur_eps = None
        self.eps_m = -math.inf
        self.eps_b = 0.0

    def add(self, measured, bound, X, eps, lower=None):
        measured = np.asarray(measured, dtype=np.float64)
        bound = np.broadcast_to(np.asarray(bound, dtype=np.float64), measured.shape)
        bad = ~np.isfinite(measured)
        viol = np.where(bad, np.inf, measured - bound)
        if lower is not None:  # two-sided: measured >= -lower
            viol = np.maximum(viol, np.where(bad, np.inf, -lower - measured))
        r = self.row
        if measured.size:
            i = int(np.argmax(viol))
            if viol[i] > 0 or (r.ok and viol[i] > self.excess):
                if r.ok or viol[i] > self.excess:
                    self.excess = float(viol[i])
                    r.measured, r.bound = float(measured[i]), float(bound[i])
                    r.worst_x = [float(v) for v in np.atleast_1d(X[i])]
                    r.worst_eps = float(eps)
            if viol[i] > 0:
                r.ok = False
            r.max_measured = max(r.max_measured, float(np.nanmax(np.where(bad, np.inf, measured))))
            r.max_bound = max(r.max_bound, float(bound.max()))
            if self.cur_eps != eps:
                self._flush()
                self.cur_eps = eps
            self.eps_m = max(self.eps_m, float(np.max(np.where(bad, np.inf, measured))))
            self.eps_b = max(self.eps_b, float(bound.max()))

    def _flush(self):
        if self.cur_eps is not None:
            self.row.by_eps.append([self.cur_eps, self.eps_m, self.eps_b])
        self.eps_m, self.eps_b = -math.inf, 0.0

    def finish(self):
        self._flush()
        self.cur_eps = None
        return self.row


def _as_layer(model):
    from .views.network import LSELayer

    if isinstance(model, LSELayer):
        return model, {"source": repr(model)}
    if isinstance(model, (str, os.PathLike)):
        data = load_model(model)
        return LSELayer(data["W"], data["b"], 0.0), data
    if isinstance(model, dict):
        return LSELayer(model["W"], model["b"], 0.0), dict(model)
    if isinstance(model, (tuple, list)) and len(model) == 2:
        return LSELayer(model[0], model[1], 0.0), {"source": "(W, b)"}
    raise TypeError("model must be an LSELayer, a pair (W, b), a dict with W and b, or a "
                    f"path to an .npz; got {type(model).__name__}")


def _is_deep(model):
    if not isinstance(model, (list, tuple)) or not model:
        return False
    first = model[0]
    return isinstance(first, (list, tuple)) and len(first) == 2 and np.ndim(first[0]) == 2


def _pde_factory(spec, layer, t):
    """``eps -> HopfCole`` from an override (instance, callable, (y, g)) or the dictionary."""
    from .views.pde import HopfCole

    if spec is None:
        y, g = layer.pde_data(t)
    elif callable(spec) and not isinstance(spec, HopfCole):
        return spec
    elif isinstance(spec, (tuple, list)):
        y, g = spec
    else:
        y, g = np.asarray(spec.y), np.asarray(spec.g)
    return lambda eps: HopfCole(y, g, eps)


def _convex_factory(spec, layer):
    if spec is None:
        base = layer.to_convex()
        return base.with_eps
    if callable(spec) and not hasattr(spec, "with_eps"):
        return spec
    return spec.with_eps


def _network_factory(spec, layer):
    if spec is None:
        return layer.with_eps
    if callable(spec) and not hasattr(spec, "with_eps"):
        return spec
    return spec.with_eps


def _solve(obj, X, highs=None):
    """``(value, pi, gap, entropy)`` of a convex view at points ``X`` (gap >= 0, shape (P,)).

    ``highs`` (bool per point, eps = 0 only): the points HiGHS solves; the
    others use the one-pivot simplex method (same exact certificate).
    """
    if hasattr(obj, "solve"):
        if highs is not None and getattr(obj, "eps", None) == 0 and not highs.all():
            out = _solve_split(obj, X, highs)
        else:
            out = obj.solve(X)
        if hasattr(out, "value"):   # an LPSolution: certified [lower, upper] around value
            value, pi, gap = out.value, out.pi, out.gap
            ent = getattr(out, "entropy", None)
        else:
            value, pi, gap = out[0], out[1], out[2]
            ent = None
    else:
        value, pi, gap, ent = obj.value(X), obj.argmax(X), 0.0, None
    value = np.asarray(value, dtype=np.float64).reshape(X.shape[0])
    pi = np.asarray(pi, dtype=np.float64).reshape(X.shape[0], -1)
    gap = np.abs(np.broadcast_to(np.asarray(gap, dtype=np.float64), value.shape))
    ent = _entropy(pi) if ent is None else np.asarray(ent, dtype=np.float64).reshape(X.shape[0])
    return value, pi, gap, ent


class _Split:
    """An LPSolution-like merge of HiGHS (some points) and pivot (the others)."""

    def __init__(self, value, pi, gap, entropy):
        self.value, self.pi, self.gap, self.entropy = value, pi, gap, entropy


def _solve_split(obj, X, highs):
    try:
        piv = obj.solve(X, method="pivot")
    except TypeError:        # a view without the method argument: its own solver everywhere
        return obj.solve(X)
    value, pi, gap = np.array(piv.value, ndmin=1), np.array(piv.pi, ndmin=2), \
        np.array(piv.gap, ndmin=1)
    if highs.any():
        hs = obj.solve(X[highs])
        value[highs], pi[highs], gap[highs] = hs.value, hs.pi, hs.gap
    return _Split(value, pi, gap, np.zeros(len(value)))


def _highs_sample(P, N, highs_points):
    """Indices of the points whose eps = 0 LP HiGHS solves (evenly spaced)."""
    n = highs_points
    if n is None:
        n = P if P * N <= 1e6 else max(16, int(1e6 // N))
    n = min(n, P)
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.linspace(0, P - 1, n).round().astype(np.int64))


def _top_stats(Z):
    """(max, multiplicity, next value below the max) of each row (max sense)."""
    m = Z.max(axis=-1)
    k = (Z == m[:, None]).sum(axis=-1).astype(np.float64)
    below = np.where(Z < m[:, None], Z, -np.inf).max(axis=-1)
    return np.stack([m, k, below])


def _net_stats(net0, Xs):
    if hasattr(net0, "evaluate"):
        ev = net0.evaluate(Xs, gibbs=False)
        return np.stack([ev.top, ev.multiplicity, ev.second])
    return _top_stats(net0.preactivations(Xs))


def _pde_eps0(pde0, Xs, t):
    """Hopf-Lax values and the stats of ``-a`` (max sense) of the PDE view."""
    if hasattr(pde0, "evaluate"):
        ev = pde0.evaluate(Xs, t, gibbs=False)
        return ev.hopf_lax, np.stack([-ev.hopf_lax, ev.multiplicity, -ev.second])
    H = pde0.hopf_lax(Xs, t)
    if _has_yg(pde0):
        return H, _top_stats(-_pde_exponents(pde0, Xs, t))
    return H, np.stack([np.zeros(len(Xs)), np.ones(len(Xs)), np.full(len(Xs), np.nan)])


def _cvx_stats(lp0, Xs):
    if _has_wb(lp0):
        return _top_stats(_cvx_preacts(lp0, Xs))
    return np.stack([np.zeros(len(Xs)), np.ones(len(Xs)), np.full(len(Xs), np.nan)])


def _refined_from(st, eps, N):
    """``eps log(k + (N-k) exp(-gap/eps))`` from stats ``(max, k, next)``.

    Stats ``NaN`` (a view without accessible data) give ``eps log N``.
    """
    m, k, below = st
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        rest = np.where(np.isfinite(below), (N - k) * np.exp(-(m - below) / eps), 0.0)
        out = eps * np.log(k + rest)
    return np.where(np.isnan(below), eps * math.log(N), out)


def _net_eval(net, Xs, e):
    """``(f, pi, H(pi))`` of a network view at eps ``e``."""
    if hasattr(net, "evaluate"):
        ev = net.evaluate(Xs, stats=False)
        return ev.value, ev.gibbs, ev.entropy
    Z = net.preactivations(Xs)
    pi = _ops.softmax(Z, e)
    return _ops.lse(Z, e), pi, _entropy(pi)


def _pde_eval(pde, Xs, t):
    """``(u, pi, H(pi))`` of a PDE view."""
    if hasattr(pde, "evaluate"):
        ev = pde.evaluate(Xs, t, stats=False)
        return np.asarray(ev.u, dtype=np.float64), ev.gibbs, ev.entropy
    pi = np.asarray(pde.gibbs(Xs, t), dtype=np.float64)
    return np.asarray(pde.u(Xs, t), dtype=np.float64), pi, _entropy(pi)


def _l1_pair(A, B, C):
    """Row-wise ``sum |A - B|`` and ``sum |B - C|`` (one compiled pass when shapes agree)."""
    from .views._affine import row_kernel

    A, B, C = (np.asarray(M, dtype=np.float64) for M in (A, B, C))
    if not (A.shape == B.shape == C.shape and A.ndim == 2):
        return _l1(A, B), _l1(B, C)
    ab, bc = np.empty(A.shape[0]), np.empty(A.shape[0])
    row_kernel("gibbs_l1_pair_rows", A.size)(np.ascontiguousarray(A), np.ascontiguousarray(B),
                                             np.ascontiguousarray(C), ab, bc)
    return ab, bc


def _l1(A, B):
    """Row-wise ``sum |A - B|`` (compiled for C-contiguous float64 of one shape)."""
    from .views._affine import row_kernel

    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    if A.shape != B.shape or A.ndim != 2:
        return np.abs(A - B).sum(-1)
    out = np.empty(A.shape[0])
    row_kernel("gibbs_l1_rows", A.size)(np.ascontiguousarray(A), np.ascontiguousarray(B), out)
    return out


def _entropy(pi):
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(pi > 0, pi * np.log(np.where(pi > 0, pi, 1.0)), 0.0)
    return np.maximum(-t.sum(axis=-1), 0.0)


class _Clock:
    """Seconds spent per view (context manager per call); the rest is the checker's."""

    def __init__(self):
        self.t = {}

    def __call__(self, name):
        import contextlib

        @contextlib.contextmanager
        def cm():
            t0 = time.perf_counter()
            try:
                yield
            finally:
                self.t[name] = self.t.get(name, 0.0) + time.perf_counter() - t0
        return cm()

    def totals(self, total):
        out = dict(self.t)
        out["checker (bounds, comparisons, rates)"] = max(total - sum(self.t.values()), 0.0)
        return out


class _Progress:
    def __init__(self, total, enabled, npoints=None):
        self.total, self.enabled, self.t0 = total, enabled, time.perf_counter()
        self.npoints = npoints

    def update(self, i, eps, points=None):
        if self.enabled:
            el = time.perf_counter() - self.t0
            pts = f", points {points}/{self.npoints}" if points is not None and self.npoints else ""
            sys.stderr.write(f"\rtropical check: eps {i}/{self.total} ({eps:.3g}){pts} "
                             f"{el:6.1f} s   ")
            sys.stderr.flush()

    def close(self):
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


def check(model, eps=None, x=None, t=1.0, *, views=None, npoints=256, seed=0, chunk=None,
          fit_below=1e-2, highs_points=None, progress=None):
    """Evaluate every path of the diagram and compare each arrow and square with its bound.

    Parameters
    ----------
    model : LSELayer, (W, b), dict, path to an .npz, or list of (W, b) layers
        An LSE layer (its ``eps`` is ignored: the sweep sets it), or a deep
        softplus/ReLU network given as a list of ``(W, b)`` layers (see
        :func:`check_deep`). A model file with arrays ``y`` and ``g`` uses
        them for the PDE view (checked against the dictionary).
    eps : sequence of float, optional
        Temperatures ``> 0`` (a ``0`` is dropped: the ``eps = 0`` nodes are
        always evaluated). Default: 13 values log-spaced from 1 to 1e-6.
    x : array_like, shape (P, d), optional
        Points. Default: :func:`default_points` (``npoints`` of them).
    t : float, default 1.0
        Time of the PDE view (``> 0``); a model file's ``t`` takes precedence.
    views : dict, optional
        Replace a view: ``{"network": LSELayer, "pde": HopfCole or (y, g),
        "convex": EntropicLP}`` or callables ``eps -> view``. Used to show
        that a wrong view makes exactly the squares containing it fail.
    npoints, seed : int
        Size and seed of the default points.
    chunk : int, optional
        Points per block: the three views' Gibbs weights of one block
        (``3 * chunk * N`` floats) are the largest arrays. Default:
        ``2**22 // N`` clipped to ``[16, 1024]`` (32 MiB per array). The
        views compute row by row (the compiled kernels exactly so), so the
        report depends on it only through the rounding of BLAS products
        ``X @ W.T`` of different block shapes.
    highs_points : int, optional
        At ``eps = 0`` the LP node is solved by HiGHS at this many points
        (evenly spaced through ``x``) and by the one-pivot simplex method
        with the same exact dual certificate at the others (see
        :meth:`tropical.views.convex.EntropicLP.solve`). Default: every
        point while ``P * N <= 1e6``, else ``max(16, 1e6 // N)`` points.
        ``info["lp_eps0"]`` says how many each.
    fit_below : float
        The rates are fitted on the eps values ``<= fit_below`` (at least 3).
    progress : bool, optional
        Progress on stderr; default: when stderr is a terminal.

    Returns
    -------
    DiagramReport
        Interrupting the sweep (Ctrl-C) returns the rows so far, with
        ``complete = False``.

    Examples
    --------
    >>> import numpy as np
    >>> import tropical
    >>> rng = np.random.default_rng(0)
    >>> layer = tropical.LSELayer(rng.normal(size=(5, 2)), rng.normal(size=5))
    >>> report = tropical.check(layer, eps=[1.0, 0.01, 1e-4], npoints=32)
    >>> report.ok
    True
    >>> [r.name for r in report.rows if r.kind == "square" and " " not in r.name[7:]]
    ['square hopf_cole', 'square duality']
    """
    if _is_deep(model):
        return check_deep(model, eps=eps, x=x, npoints=npoints, seed=seed, progress=progress)
    layer, data = _as_layer(model)
    if views is not None and not isinstance(views, dict):
        raise TypeError(f"views must be a dict such as {{'pde': HopfCole}}, got "
                        f"{type(views).__name__}")
    views = dict(views or {})
    npoints = check_int(npoints, "npoints", minimum=1)
    fit_below = check_eps(fit_below, "fit_below")   # NaN, inf, < 0: a clear error
    if not fit_below > 0:
        raise ValueError(f"fit_below must be > 0, got {fit_below}")
    if "t" in data:
        t = data["t"]
    t = check_eps(t, "t")
    if not t > 0:
        raise ValueError(f"t must be > 0, got {t}")
    if "y" in data and "pde" not in views:
        views["pde"] = (data["y"], data["g"])
    unknown = set(views) - {"network", "pde", "convex"}
    if unknown:
        raise ValueError(f"views: unknown view(s) {sorted(unknown)} (network, pde, convex)")
    if eps is None:
        grid = default_eps()
        if "eps" in data and data["eps"].size > 1:
            grid = data["eps"]
        elif "eps" in data and data["eps"].size == 1 and data["eps"][0] > 0:
            grid = np.unique(np.concatenate([grid, data["eps"]]))[::-1]
    else:
        grid = np.array([check_eps(float(e)) for e in np.atleast_1d(eps)])
    grid = np.array(sorted({float(e) for e in grid if e > 0}, reverse=True))
    if grid.size == 0:
        raise ValueError("eps: give at least one temperature > 0 (eps = 0 is always checked)")
    N, d = layer.N, layer.d
    if chunk is None:
        chunk = int(min(1024, max(16, 2 ** 22 // N)))
    chunk = check_int(chunk, "chunk", minimum=1)
    if highs_points is not None:
        highs_points = check_int(highs_points, "highs_points", minimum=0)
    if x is None:
        X = default_points(layer.W, layer.b, npoints, seed)
    else:
        X = layer._points(x).reshape(-1, d)
    P = X.shape[0]
    if P == 0:
        raise ValueError("x: no points")

    net_of = _network_factory(views.get("network"), layer)
    pde_of = _pde_factory(views.get("pde"), layer, t)
    cvx_of = _convex_factory(views.get("convex"), layer)
    t0 = time.perf_counter()

    # per-point scale M(x) and eps-independent nodes (eps = 0), computed in blocks
    Wn2 = np.einsum("jk,jk->j", layer.W, layer.W)
    Wn = np.sqrt(Wn2)
    q = np.einsum("ij,ij->i", X, X) / (4 * t)
    xn = np.sqrt(np.einsum("ij,ij->i", X, X))
    base_j = np.abs(layer.b) + t * Wn2
    M = np.empty(P)
    for s in range(0, P, chunk):
        sl = slice(s, s + chunk)
        M[sl] = np.max(base_j + (xn[sl, None] + 2 * t * Wn) ** 2 / (4 * t), axis=1) + q[sl]

    clock = _Clock()
    net0 = net_of(0.0)
    pde0 = pde_of(0.0)
    lp0 = cvx_of(0.0)
    tropical_poly = net0.tropical() if hasattr(net0, "tropical") else None
    T = np.empty(P)
    H = np.empty(P)
    L = np.empty(P)
    Lgap = np.empty(P)
    # eps-independent statistics of each view's own exponents (max, multiplicity,
    # next value; max sense) for the refined vertical bounds
    st_n = np.empty((3, P))
    st_p = np.empty((3, P))
    st_c = np.empty((3, P))
    sample = _highs_sample(P, N, highs_points)
    # the convex view's exponents are the network's when it holds the same (W, b):
    # then the statistics of the refined bound are the same numbers
    same_wb = (_has_wb(lp0) and hasattr(net0, "W") and hasattr(net0, "b")
               and np.array_equal(lp0.W, net0.W) and np.array_equal(lp0.b, net0.b))
    in_sample = np.zeros(P, dtype=bool)
    in_sample[sample] = True
    for s in range(0, P, chunk):
        sl = slice(s, s + chunk)
        Xs = X[sl]
        with clock("tropical (eps = 0)"):
            T[sl] = tropical_poly(Xs) if tropical_poly is not None else net0(Xs)
            st_n[:, sl] = _net_stats(net0, Xs)
        with clock("hopf_lax (eps = 0)"):
            H[sl], st_p[:, sl] = _pde_eps0(pde0, Xs, t)
        with clock("lp (eps = 0)"):
            L[sl], _, Lgap[sl], _ = _solve(lp0, Xs, in_sample[sl])
            st_c[:, sl] = st_n[:, sl] if same_wb else _cvx_stats(lp0, Xs)
    budget0 = _rounding_budget(M, 0.0, N, d)

    acc = {}

    def A(name, *a, **k):
        if name not in acc:
            acc[name] = _Acc(name, *a, **k)
        return acc[name]

    e_by_key = {e[:2]: e for e in EDGES}

    def arrow(u, v):
        e = e_by_key[(u, v)]
        return A(f"{u}->{v}", "arrow", (u, v), e[2], e[4])

    # eps = 0 exact arrows
    arrow("tropical", "hopf_lax").add(np.abs(T + H - q), budget0, X, 0.0)
    arrow("hopf_lax", "lp").add(np.abs(H + L - q), budget0 + Lgap, X, 0.0)

    nfit_gaps = {k: [] for k in ("network->tropical", "pde->hopf_lax", "convex->lp")}
    nfit_H = {k: [] for k in nfit_gaps}
    done = []
    prog = _Progress(len(grid), _want_progress(progress), P)
    complete = True
    delta_c = 3 * d + 16
    try:
        for ie, e in enumerate(grid):
            prog.update(ie, e)
            net = net_of(e)
            pde = pde_of(e)
            cvx = cvx_of(e)
            budget = _rounding_budget(M, e, N, d)
            gaps = {k: np.empty(P) for k in nfit_gaps}
            ents = {k: np.empty(P) for k in nfit_gaps}
            for s in range(0, P, chunk):
                sl = slice(s, s + chunk)
                Xs = X[sl]
                with clock("network"):
                    f, pi_n, h_n = _net_eval(net, Xs, e)
                with clock("pde"):
                    u, pi_p, h_p = _pde_eval(pde, Xs, t)
                with clock("convex"):
                    c, pi_c, cgap, h_c = _solve(cvx, Xs)
                bd, bd0, qs, Ms = budget[sl], budget0[sl], q[sl], M[sl]
                delta = delta_c * _U * Ms
                with np.errstate(over="ignore"):
                    gb = np.minimum(np.expm1(np.minimum(2 * delta / e, 700.0)), 2.0) + 2 * N * _U
                    gbc = np.minimum(gb + np.sqrt(2 * cgap / e), 2.0 + 2 * N * _U)
                # exact arrows at eps
                arrow("network", "pde").add(np.abs(f + u - qs), bd, Xs, e)
                arrow("pde", "convex").add(np.abs(u + c - qs), bd + cgap, Xs, e)
                l1_np, l1_pc = _l1_pair(pi_n, pi_p, pi_c)
                A("network->pde gibbs", "gibbs", ("network", "pde"), "exact",
                  "pi_network(x) = pi_pde(x, t)").add(l1_np, gb, Xs, e)
                A("pde->convex gibbs", "gibbs", ("pde", "convex"), "exact",
                  "pi_pde(x, t) = argmax of the entropic LP").add(l1_pc, gbc, Xs, e)
                del pi_n, pi_p, pi_c
                # vertical arrows
                Ts, Hs, Ls = T[sl], H[sl], L[sl]
                g_n = f - Ts
                g_p = Hs - u
                g_c = c - Ls
                r_n = _refined_from(st_n[:, sl], e, N)
                r_p = _refined_from(st_p[:, sl], e, N)
                r_c = _refined_from(st_c[:, sl], e, N)
                rb = _rounding_budget(Ms, e, N, d)
                arrow("network", "tropical").add(g_n, r_n + rb, Xs, e, lower=rb)
                arrow("pde", "hopf_lax").add(g_p, r_p + rb, Xs, e, lower=rb)
                arrow("convex", "lp").add(g_c, r_c + rb + cgap + Lgap[sl], Xs, e,
                                          lower=rb + cgap + Lgap[sl])
                # squares: the two vertical gaps agree to the horizontal budgets
                A("square hopf_cole defect", "square", None, "",
                  "(f_eps - f_0) - (u_0 - u_eps) = 0",
                  paths=SQUARES["hopf_cole"][1:]).add(np.abs(g_n - g_p), bd + bd0, Xs, e)
                A("square duality defect", "square", None, "",
                  "(u_0 - u_eps) - (C_eps - C_0) = 0",
                  paths=SQUARES["duality"][1:]).add(np.abs(g_p - g_c),
                                                    bd + bd0 + cgap + Lgap[sl], Xs, e)
                gaps["network->tropical"][sl] = g_n
                gaps["pde->hopf_lax"][sl] = g_p
                gaps["convex->lp"][sl] = g_c
                ents["network->tropical"][sl] = h_n
                ents["pde->hopf_lax"][sl] = h_p
                ents["convex->lp"][sl] = h_c
                prog.update(ie, e, min(s + chunk, P))
            for k in nfit_gaps:
                nfit_gaps[k].append(gaps[k])
                nfit_H[k].append(ents[k])
            done.append(e)
            prog.update(ie + 1, e)
    except KeyboardInterrupt:
        complete = False
    finally:
        prog.close()

    rows = [a.finish() for a in acc.values()]
    emax = float(done[0]) if done else 0.0
    for r in rows:
        if r.arrow_kind == "limit" and r.ok:
            r.detail = ("pointwise <= eps log(k + (N-k) exp(-gap/eps)) + rounding; "
                        "shown: max gap, eps_max log N")
            r.measured, r.bound = r.max_measured, max(emax * math.log(N), r.max_bound)
    order = {f"{u}->{v}": i for i, (u, v, *_r) in enumerate(EDGES)}
    rows.sort(key=lambda r: (("arrow", "gibbs", "square").index(r.kind),
                             order.get(r.name.split(" ")[0], 99), r.name))
    # rates
    done_arr = np.array(done)
    for k in nfit_gaps:
        rows.append(_rate_row(k, done_arr, nfit_gaps[k], nfit_H[k], X, M, N, d, fit_below))
    # squares: overall verdict from their arrows and defect
    by_name = {r.name: r for r in rows}
    for sq, (corners, p1, p2) in SQUARES.items():
        members = [by_name.get(f"{u}->{v}") for (u, v, *_r) in EDGES
                   if u in corners and v in corners]
        members += [by_name.get(f"{u}->{v} gibbs") for (u, v, *_r) in EDGES
                    if u in corners and v in corners]
        members.append(by_name.get(f"square {sq} defect"))
        members = [m for m in members if m is not None]
        bad = [m for m in members if not m.ok]
        worst = max(bad, key=lambda m: m.measured - m.bound) if bad else \
            max(members, key=lambda m: (m.measured / m.bound) if m.bound > 0 else 0)
        rows.append(Row(f"square {sq}", "square", worst.measured, worst.bound, not bad,
                        formula=f"{p1} == {p2}", worst_x=worst.worst_x, worst_eps=worst.worst_eps,
                        paths=(p1, p2),
                        detail=("via " + ", ".join(m.name for m in bad)) if bad else
                        f"tightest: {worst.name}"))
    n_h = int(in_sample.sum())
    info = {"N": N, "d": d, "t": t, "source": data.get("source", ""),
            "seconds": time.perf_counter() - t0, "chunk": chunk,
            "seconds_by_view": clock.totals(time.perf_counter() - t0),
            "lp_eps0": {"highs_points": n_h, "pivot_points": P - n_h},
            "title": f"tropical check: LSE layer f(x) = LSE_eps(W x + b) from "
                     f"{data.get('source', 'a model')}, N={N} terms, d={d}, t={t:g}"}
    return DiagramReport(rows, done_arr, P, info, complete)


def _has_yg(pde):
    return hasattr(pde, "y") and hasattr(pde, "g")


def _has_wb(cvx):
    return hasattr(cvx, "W") and hasattr(cvx, "b")


def _pde_exponents(pde, X, t):
    y = np.asarray(pde.y, dtype=np.float64)
    g = np.asarray(pde.g, dtype=np.float64)
    D = X[:, None, :] - y[None, :, :] if X.shape[0] * y.shape[0] * y.shape[1] < 4e7 else None
    if D is not None:
        return g + np.einsum("pjk,pjk->pj", D, D) / (4 * t)
    sq = (np.einsum("pk,pk->p", X, X)[:, None] - 2 * X @ y.T
          + np.einsum("jk,jk->j", y, y)[None, :])
    return g + np.maximum(sq, 0.0) / (4 * t)


def _cvx_preacts(cvx, X):
    return X @ np.asarray(cvx.W, dtype=np.float64).T + np.asarray(cvx.b, dtype=np.float64)


def _rate_row(name, eps_done, gaps, ents, X, M, N, d, fit_below):
    """Least-squares slope of a vertical gap against eps on the small-eps part."""
    row = Row(f"rate {name}", "rate", 0.0, 0.0, True, arrow_kind="rate",
              formula="d gap/d eps = H(pi_eps) -> log k as eps -> 0")
    if eps_done.size < 3:
        row.detail = "fewer than 3 eps values: no fit"
        row.informational = True
        return row
    sel = np.flatnonzero(eps_done <= fit_below)
    if sel.size < 3:
        sel = np.argsort(eps_done)[:3]
    e = eps_done[sel]
    G = np.stack([gaps[i] for i in sel])      # (k, P)
    Hs = np.stack([ents[i] for i in sel])
    ec = e - e.mean()
    w = ec / np.sum(ec ** 2)
    slope = w @ G                               # (P,)
    lo = Hs[np.argmin(e)]
    hi = Hs[np.argmax(e)]
    # rounding of each gap: two budgets (value at eps and at 0) per point
    err = np.abs(w) @ np.stack([2 * _rounding_budget(M, float(v), N, d) for v in e])
    tol = err + 1e-9 * (1 + hi)
    meas = np.maximum(lo - slope, slope - hi)
    i = int(np.argmax(meas - tol))
    row.measured, row.bound = float(max(meas[i], 0.0)), float(tol[i])
    row.ok = bool(np.all(meas <= tol))
    row.worst_x = [float(v) for v in X[i]]
    row.worst_eps = float(e.min())
    keff = np.exp(lo)
    ties = keff >= 1.5
    parts = [f"fit on {e.size} eps in [{e.min():.2g}, {e.max():.2g}]"]
    if ties.any():
        k = np.rint(keff[ties])
        parts.append(f"{int(ties.sum())} tie points: mean slope {slope[ties].mean():.4f} "
                     f"vs log k = {np.log(k).mean():.4f}")
    gen = ~ties
    if gen.any():
        parts.append(f"{int(gen.sum())} other points: max slope {slope[gen].max():.2g} "
                     f"(-> 0 like exp(-gap/eps))")
    row.detail = "; ".join(parts)
    row.max_measured = float(meas.max())
    row.max_bound = float(tol.max())
    return row


# ---------------------------------------------------------------------------------
# deep softplus / ReLU networks
# ---------------------------------------------------------------------------------

def _layers(layers):
    out = []
    prev = None
    for k, layer in enumerate(layers):
        if not (isinstance(layer, (tuple, list)) and len(layer) == 2):
            raise ValueError(f"layer {k} must be a pair (W, b)")
        W = _finite(layer[0], f"W[{k}]", 2)
        b = _finite(np.reshape(layer[1], -1), f"b[{k}]", 1, (W.shape[0],))
        if prev is not None and W.shape[1] != prev:
            raise ValueError(f"layer {k}: W has {W.shape[1]} inputs, the previous layer "
                             f"{prev} outputs")
        prev = W.shape[0]
        out.append((W, b))
    if not out:
        raise ValueError("a deep model needs at least one layer")
    return out


def _forward(layers, X, eps, via_kernel, activate_last):
    """Evaluate the network; activation ``z (+)_eps 0`` (kernel) or numpy's formula."""
    h = X
    for k, (W, b) in enumerate(layers):
        z = h @ W.T + b
        if k < len(layers) - 1 or activate_last:
            if via_kernel:
                h = _ops.lse(np.stack([z, np.zeros_like(z)], axis=-1), eps)
            elif eps == 0:
                h = np.maximum(z, 0.0)
            else:
                h = eps * np.logaddexp(z / eps, 0.0)
        else:
            h = z
    return h


def deep_bound(layers, activate_last=False):
    """Per-output constant ``C`` with ``|softplus_eps net - ReLU net| <= eps * C``.

    ``C = log 2 * sum_{k activated} |W_L| ... |W_{k+1}| 1`` (module docstring).
    """
    layers = _layers(layers)
    L = len(layers)
    acts = [k for k in range(L) if k < L - 1 or activate_last]
    C = np.zeros(layers[0][0].shape[0])
    for k in range(L):
        W = np.abs(layers[k][0])
        C = (W @ C) if k else np.zeros(W.shape[0])
        if k in acts:
            C = C + math.log(2)
    return C


def check_deep(layers, eps=None, x=None, *, activate_last=False, npoints=256, seed=0,
               progress=None):
    """The vertical arrow softplus_eps network -> ReLU network, with its depth bound.

    Parameters
    ----------
    layers : list of (W, b)
        PyTorch orientation: ``W`` of shape ``(out, in)``; the activation follows
        every layer but the last (and the last too with ``activate_last``).
    eps : sequence of float, optional
        Temperatures ``> 0``; default 13 values from 1 to 1e-6.
    x : array_like, shape (P, in), optional
        Default: uniform in a box, half of it projected onto the first layer's
        hyperplanes ``z_i = 0`` (where the bound is approached).
    activate_last, npoints, seed, progress
        As named; see :func:`check`.

    Returns
    -------
    DiagramReport
        Rows: the semiring form of each network (``z (+)_eps 0`` through the
        kernel against numpy's ``logaddexp``/``maximum``: exact arrows with
        rounding budgets, bitwise at ``eps = 0``), the vertical arrow
        ``|softplus_eps net - ReLU net| <= eps * C(x)`` (``C`` from
        :func:`deep_bound`), and the fitted slope of the gap.

    Examples
    --------
    >>> from tropical.diagram import check_deep
    >>> r = check_deep([([[1.0, -1.0]], [0.0]), ([[1.0]], [0.0])], eps=[0.1, 0.01, 0.001])
    >>> r.ok, round(r["softplus->relu"].max_measured / r["softplus->relu"].max_bound, 6)
    (True, 1.0)
    """
    layers = _layers(layers)
    d = layers[0][0].shape[1]
    grid = default_eps() if eps is None else np.array([check_eps(float(e)) for e in
                                                       np.atleast_1d(eps)])
    grid = np.array(sorted({float(e) for e in grid if e > 0}, reverse=True))
    if grid.size == 0:
        raise ValueError("eps: give at least one temperature > 0")
    rng = np.random.default_rng(seed)
    if x is None:
        npoints = check_int(npoints, "npoints", minimum=1)
        W1, b1 = layers[0]
        R = max(1.0, 2.0 * float(np.max(np.abs(b1) / np.maximum(np.linalg.norm(W1, axis=1),
                                                                1e-300))))
        R = min(R, 1e6)
        X = rng.uniform(-R, R, (npoints, d))
        half = npoints // 2
        i = rng.integers(0, W1.shape[0], half)
        wn = np.einsum("ij,ij->i", W1[i], W1[i])
        ok = wn > 0
        s = np.where(ok, (np.einsum("ij,ij->i", X[:half], W1[i]) + b1[i]) / np.where(ok, wn, 1), 0)
        X[:half] -= s[:, None] * W1[i]
    else:
        X = _finite(np.reshape(np.asarray(x, dtype=np.float64), (-1, d)), "x", 2)
    C = deep_bound(layers, activate_last)
    # rounding scale propagated through |W|
    scale = np.abs(X)
    err_c = []
    for k, (W, b) in enumerate(layers):
        scale = scale @ np.abs(W).T + np.abs(b)
        err_c.append(W.shape[1] + 8)
    relu_k = _forward(layers, X, 0.0, True, activate_last)
    relu_np = _forward(layers, X, 0.0, False, activate_last)
    rows = [Row("relu: (+)_0 kernel == numpy maximum", "deep", 0.0, 0.0, True,
                arrow_kind="exact", formula="relu(z) = z (+)_0 0")]
    diff = np.abs(relu_k - relu_np)
    if diff.size and diff.max() > 0:
        i = np.unravel_index(np.argmax(diff), diff.shape)
        rows[0].measured = float(diff.max())
        rows[0].ok = False
        rows[0].worst_x = [float(v) for v in X[i[0]]]
        rows[0].worst_eps = 0.0
    exact = _Acc("softplus: (+)_eps kernel == numpy logaddexp", "deep",
                 arrow_kind="exact", formula="softplus_eps(z) = z (+)_eps 0")
    vert = _Acc("softplus->relu", "deep", arrow_kind="limit",
                formula="|softplus_eps net - relu net| <= eps log 2 sum |W_L|...|W_k+1| 1")
    gaps = []
    done = []
    prog = _Progress(len(grid), _want_progress(progress))
    complete = True
    Lsum = sum(err_c)
    try:
        for ie, e in enumerate(grid):
            prog.update(ie, e)
            sp_k = _forward(layers, X, e, True, activate_last)
            sp_np = _forward(layers, X, e, False, activate_last)
            budget = 2 * _U * Lsum * (np.max(scale, axis=-1, keepdims=True) + e * (1 + C.max()))
            exact.add(np.abs(sp_k - sp_np).max(-1), budget[:, 0], X, e)
            g = sp_k - relu_k
            rb = budget[:, 0]
            vert.add(np.abs(g).max(-1), (e * C)[None, :].max() + rb, X, e)
            gaps.append(g)
            done.append(e)
            prog.update(ie + 1, e)
    except KeyboardInterrupt:
        complete = False
    finally:
        prog.close()
    rows += [exact.finish(), vert.finish()]
    done_arr = np.array(done)
    rate = Row("rate softplus->relu", "rate", 0.0, 0.0, True, arrow_kind="rate",
               formula="|d gap/d eps| <= C as eps -> 0", informational=True)
    if done_arr.size >= 3:
        sel = np.argsort(done_arr)[:max(3, int(np.sum(done_arr <= 1e-2)))]
        e = done_arr[sel]
        ec = e - e.mean()
        G = np.stack([np.abs(gaps[i]).max(-1) for i in sel])
        slope = (ec / np.sum(ec ** 2)) @ G
        rate.measured, rate.bound = float(np.max(np.abs(slope))), float(C.max())
        rate.detail = (f"max |slope| {rate.measured:.4g} over {len(X)} points "
                       f"vs the bound's constant {C.max():.4g} (= log 2 * {C.max() / math.log(2):.4g})")
    else:
        rate.detail = "fewer than 3 eps values: no fit"
    rows.append(rate)
    info = {"depth": len(layers), "d": d, "bound_constant": C.tolist(),
            "title": f"tropical check: softplus/ReLU network, depth {len(layers)}, d={d}"}
    return DiagramReport(rows, done_arr, len(X), info, complete)
