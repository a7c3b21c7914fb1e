"""``tropical selfcheck``: the kernel identities of the semiring family on an LSE layer.

(``tropical check`` runs the commutative diagram, :mod:`tropical.diagram`.)
This checks, on a model
``f_eps(x) = LSE_eps(W x + b)`` (the bundled default or an ``.npz`` with
arrays ``W`` (N, d) and ``b`` (N,)), every identity the kernels must satisfy,
each measured discrepancy next to its proven bound:

* ``max <= LSE_eps <= max + eps*log N`` at every sample point and eps;
* the sharper bound ``LSE_eps - max <= eps*log(k + (N-k) exp(-gap/eps))``;
* exact distributivity ``LSE_eps(z + c) = c + LSE_eps(z)`` to a few ulps;
* the sense duality ``lse(a, sense="min") == -lse(-a)`` bit for bit;
* the eps > 0 product against its plain-numpy twin and the eps = 0 product
  exactly; the min-plus Kleene star against the reference closure;
* the fitted rate of ``LSE_eps - max`` as ``eps -> 0`` (slope ``log k``).
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np

from . import _ops

__all__ = ["CheckResult", "run_checks", "load_model"]


@dataclasses.dataclass
class CheckResult:
    """One line of the report: a measured discrepancy next to its bound."""

    name: str
    measured: float
    bound: float
    detail: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.measured <= self.bound)

    def to_dict(self):
        return {"name": self.name, "measured": self.measured, "bound": self.bound,
                "ok": self.ok, "detail": self.detail}


#: temperatures of the self-check when the model stores a single eps
DEFAULT_EPS = np.array([1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001])


def load_model(path=None):
    """``(W, b, eps_grid)`` from an ``.npz`` (no pickle) or the bundled default.

    The file's ``eps`` is the grid when it holds several values; a single
    stored eps (the layer's temperature) is added to :data:`DEFAULT_EPS`.
    """
    from .diagram import load_model as _load

    data = _load(path)
    grid = DEFAULT_EPS
    if "eps" in data:
        e = data["eps"]
        grid = e if e.size > 1 else np.unique(np.concatenate([grid, e[e > 0]]))[::-1]
    if grid.size == 0:
        raise ValueError("eps: no temperature to check")
    return data["W"], data["b"], grid


def _ulp(x):
    return np.spacing(np.abs(np.asarray(x, dtype=np.float64)))


def run_checks(W, b, eps_grid, n_points=512, seed=0):
    """Run every check; returns a list of :class:`CheckResult`."""
    rng = np.random.default_rng(seed)
    N, d = W.shape
    radius = 2.0 * max(1.0, float(np.abs(W).max()))
    X = rng.uniform(-radius, radius, size=(n_points, d))
    Z = X @ W.T + b  # (P, N) pre-activations
    zmax = Z.max(axis=1)
    scale = np.abs(Z).max(axis=1)
    results = []

    for eps in eps_grid:
        f = _ops.lse(Z, eps)
        gap = f - zmax
        results.append(CheckResult(
            f"lower bound  LSE - max >= 0        eps={eps:g}",
            float(max(0.0, -(gap / _ulp(zmax).clip(min=1e-300)).min())), 0.0,
            "largest violation in ulps of max"))
        results.append(CheckResult(
            f"upper bound  LSE - max <= eps log N eps={eps:g}",
            float(gap.max()), float(eps * math.log(N) + 2 * _ulp(zmax).max())))
        srt = np.sort(Z, axis=1)[:, ::-1]
        k = (srt == srt[:, :1]).sum(axis=1)
        nxt = np.where(k < N, srt[np.arange(len(srt)), np.minimum(k, N - 1)], -np.inf)
        tight = eps * np.log(k + (N - k) * np.exp(-(zmax - nxt) / eps))
        results.append(CheckResult(
            f"sharp bound  eps log(k+(N-k)e^-gap/eps) eps={eps:g}",
            float((gap - tight).max()), float(2 * _ulp(zmax).max()),
            "excess over the bound"))
        c = rng.uniform(-10, 10, size=(n_points, 1))
        lhs = _ops.lse(Z + c, eps)
        rhs = c[:, 0] + f
        err_ulps = np.abs(lhs - rhs) / _ulp(np.abs(Z).max(axis=1) + np.abs(c[:, 0]))
        results.append(CheckResult(
            f"distributive LSE(z+c) = c + LSE(z) eps={eps:g}",
            float(err_ulps.max()), 8.0, "ulps of the scale |z|+|c|"))
        dual = _ops.lse(-Z, eps, sense="min")
        results.append(CheckResult(
            f"sense duality lse_min(-z) = -lse(z) eps={eps:g}",
            float(np.abs(dual + f).max()), 0.0, "bitwise"))

    # products: the eps > 0 path against the plain-numpy twin, eps = 0 exactly
    from .kernels import reference

    A = Z[:64]
    B = np.ascontiguousarray(Z[64:128].T)
    exact = np.empty((A.shape[0], B.shape[1]))
    reference.maxplus_gemm(np.ascontiguousarray(A), B, 1, exact)
    results.append(CheckResult("max-plus matmul vs reference (exact)",
                               float(np.abs(_ops.matmul(A, B) - exact).max()), 0.0, "bitwise"))
    for eps in (eps_grid[0], eps_grid[-1]):
        ref = np.empty_like(exact)
        reference.lse_gemm_rows(np.ascontiguousarray(A), B, exact, float(eps), 1,
                                np.arange(A.shape[0], dtype=np.int64), ref)
        err = np.abs(_ops.matmul(A, B, eps=eps) - ref) / _ulp(
            np.abs(A).max() + np.abs(B).max() + eps * math.log(A.shape[1]))
        results.append(CheckResult(f"LSE matmul vs reference eps={eps:g}", float(err.max()),
                                   16.0, "ulps of the scale"))
    D = np.abs(W[:, :1] - W[:, :1].T) + np.abs(b[:, None] - b[None, :])
    np.fill_diagonal(D, np.inf)
    closure = np.empty_like(D)
    reference.maxplus_closure(D, -1, closure)
    np.fill_diagonal(closure, 0.0)
    results.append(CheckResult("min-plus Kleene star vs reference (exact)",
                               float(np.abs(_ops.star(D, sense="min") - closure).max()), 0.0))

    # the eps -> 0 rate at a tie: LSE(a, a, x) - a = eps log 2 + O(exp(-gap/eps))
    tie = np.array([0.5, 0.5, -0.5])
    small = np.array([e for e in eps_grid if e <= 0.05])
    if small.size >= 2:
        gaps = np.array([_ops.lse(tie, e) - 0.5 for e in small])
        slope = float(np.polyfit(small, gaps, 1)[0])
        results.append(CheckResult("rate as eps->0 at a 2-fold tie: slope = log 2",
                                   abs(slope - math.log(2)), 1e-9,
                                   f"fitted slope {slope:.12f}"))
    return results


def report(results, as_json=False):
    """Text table (or JSON) of results."""
    if as_json:
        return json.dumps([r.to_dict() for r in results], indent=2)
    lines = [f"{'check':<52s} {'measured':>12s} {'bound':>12s}  ok"]
    for r in results:
        lines.append(f"{r.name:<52s} {r.measured:12.4g} {r.bound:12.4g}  "
                     f"{'yes' if r.ok else 'NO'}" + (f"  ({r.detail})" if r.detail else ""))
    failed = sum(not r.ok for r in results)
    lines.append(f"{len(results) - failed}/{len(results)} checks hold")
    return "\n".join(lines)
