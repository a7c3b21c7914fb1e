"""Attribution-entropy kernels: ``H(pi(x))`` and its derivatives in closed form.

Installed as ``tropical.kernels.attribution``. The contract is that of the
numpy twin of the same name in :mod:`tropical.kernels.reference`:

``entropy_derivatives(W, b, X, eps, order, H, G, Hs, T3, Ge, He)``
    for every row ``x`` of ``X`` (shape ``(M, d)``) of the layer with rows
    ``W`` (``(N, d)``), biases ``b`` (``(N,)``) at temperature ``eps > 0``:
    ``H[i]`` the entropy of the Gibbs weights ``pi(x)``; with ``order >= 1``
    ``G[i]`` its gradient in ``x``; ``order >= 2`` ``Hs[i]`` its Hessian;
    ``order >= 3`` ``T3[i, k, l, m] = d^3 H / dx_k dx_l dx_m``,
    ``Ge[i] = dG/d eps`` and ``He[i] = dHs/d eps``. Outputs of orders above
    ``order`` are not touched (they may be empty arrays).

The formulas (``tropical/attribution.py`` derives them). With ``s = W x + b``,
``r`` the index of the largest ``s_j`` and ``m = s_r``, the weights
``pi_j = exp((s_j - m)/eps)/S``; every moment is centred *through the
reference term* ``r``: ``dw = E[w - w_r]``, ``ds = E[s - m]``,
``u_j = (w_j - w_r) - dw`` (the centred ``w``), ``c_j = ((s_j - m) - ds)/eps``
(the centred ``s/eps``). Then ``H = log S - ds/eps`` and, with
``v = E[u c]``, ``C = E[u u^T]``, ``Q = E[u u^T c]``::

    G  = -v/eps
    Hs = -(C + Q)/eps^2
    T3 = (-2 E[u u u] - E[u u u c] + C (x) v (three placements))/eps^3
    Ge = (2 v + E[u c^2])/eps^2
    He = (2 C + 4 Q + E[u u^T c^2] - C E[c^2] - 2 v v^T)/eps^3

Terms with ``pi_j = 0`` (underflow) are skipped, so nothing is ``0 * inf``;
a term with ``pi_j > 0`` has ``|s_j - m|/eps < 746``, so every product is
finite. Centring through ``r`` keeps the relative accuracy of the moments
when ``pi`` concentrates on one term (where the plain ``E[w]`` would round
to ``w_r`` and lose the small differences that make up the gradient).

Numba, ``cache=True, nogil=True``, compiled on first call; every helper is in
this file.
"""

from __future__ import annotations

import math

import numpy as np

from tropical._config import load_numba

numba = load_numba()
from numba import njit  # noqa: E402

__all__ = ["entropy_derivatives"]


@njit(cache=True, nogil=True)
def _one_point(W, b, x, eps, order, i, H, G, Hs, T3, Ge, He, s, pi, u, c):
    N, d = W.shape
    r = 0
    for j in range(N):
        acc = b[j]
        for k in range(d):
            acc += W[j, k] * x[k]
        s[j] = acc
        if acc > s[r]:
            r = j
    m = s[r]
    S = 0.0
    for j in range(N):
        e = math.exp((s[j] - m) / eps)
        pi[j] = e
        S += e
    ds = 0.0
    for j in range(N):
        pi[j] = pi[j] / S
        ds += pi[j] * (s[j] - m)
    H[i] = max(math.log(S) - ds / eps, 0.0)
    if order < 1:
        return
    for k in range(d):
        dw = 0.0
        for j in range(N):
            dw += pi[j] * (W[j, k] - W[r, k])
        for j in range(N):
            u[j, k] = (W[j, k] - W[r, k]) - dw
    for j in range(N):
        c[j] = ((s[j] - m) - ds) / eps
    for k in range(d):
        v = 0.0
        for j in range(N):
            if pi[j] > 0.0:
                v += pi[j] * u[j, k] * c[j]
        G[i, k] = -v / eps
    if order < 2:
        return
    e2 = eps * eps
    for k in range(d):
        for l in range(k, d):
            acc = 0.0
            for j in range(N):
                if pi[j] > 0.0:
                    acc += pi[j] * u[j, k] * u[j, l] * (1.0 + c[j])
            Hs[i, k, l] = -acc / e2
            Hs[i, l, k] = -acc / e2
    if order < 3:
        return
    e3 = e2 * eps
    Ec2 = 0.0
    for j in range(N):
        if pi[j] > 0.0:
            Ec2 += pi[j] * c[j] * c[j]
    for k in range(d):
        uc2 = 0.0
        for j in range(N):
            if pi[j] > 0.0:
                uc2 += pi[j] * u[j, k] * c[j] * c[j]
        # v_k = -eps * G[i, k]
        Ge[i, k] = (-2.0 * eps * G[i, k] + uc2) / e2
    for k in range(d):
        for l in range(d):
            Ckl = 0.0
            Qkl = 0.0
            Q2 = 0.0
            for j in range(N):
                if pi[j] > 0.0:
                    p = pi[j] * u[j, k] * u[j, l]
                    Ckl += p
                    Qkl += p * c[j]
                    Q2 += p * c[j] * c[j]
            vk = -eps * G[i, k]
            vl = -eps * G[i, l]
            He[i, k, l] = (2.0 * Ckl + 4.0 * Qkl + Q2 - Ckl * Ec2 - 2.0 * vk * vl) / e3
            for mm in range(d):
                R3 = 0.0
                R4 = 0.0
                Ckm = 0.0
                Clm = 0.0
                for j in range(N):
                    if pi[j] > 0.0:
                        p = pi[j] * u[j, k] * u[j, l] * u[j, mm]
                        R3 += p
                        R4 += p * c[j]
                        Ckm += pi[j] * u[j, k] * u[j, mm]
                        Clm += pi[j] * u[j, l] * u[j, mm]
                vm = -eps * G[i, mm]
                T3[i, k, l, mm] = (-2.0 * R3 - R4 + Ckl * vm + Ckm * vl + Clm * vk) / e3


@njit(cache=True, nogil=True)
def entropy_derivatives(W, b, X, eps, order, H, G, Hs, T3, Ge, He):
    """Entropy of the Gibbs weights and its derivatives at every row of ``X``."""
    N, d = W.shape
    s = np.empty(N)
    pi = np.empty(N)
    u = np.empty((N, d))
    c = np.empty(N)
    for i in range(X.shape[0]):
        _one_point(W, b, X[i], eps, order, i, H, G, Hs, T3, Ge, He, s, pi, u, c)
