"""Generate ``tropical/data/default_model.npz``: the model of ``tropical check``.

An LSE layer ``f(x) = LSE_eps(W x + b)`` with ``N = 16`` terms at
``eps = 0.1``, fitted by least squares (``scipy.optimize.least_squares``,
deterministic start from ``numpy.random.default_rng(SEED)``) to the smoothed
l1 norm ``sqrt(x1^2 + 0.05) + sqrt(x2^2 + 0.05)`` sampled on a 21 x 21 grid of
``[-2, 2]^2``. Saved with ``np.savez`` (no object arrays, so it loads with
``allow_pickle=False``): ``W`` (16, 2), ``b`` (16,), ``eps`` (the temperature
of the fit), ``t`` (the PDE time) and the PDE view's data ``y = 2 t W``,
``g = -b - t |w_j|^2`` (the dictionary of MATH.md section 2).

Run from the repository root: ``python tools/make_default_model.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

SEED = 20240527
N, EPS, T = 16, 0.1, 0.5
OUT = Path(__file__).resolve().parent.parent / "tropical" / "data" / "default_model.npz"


def target(X):
    return np.sqrt(X[:, 0] ** 2 + 0.05) + np.sqrt(X[:, 1] ** 2 + 0.05)


def lse(Z, eps):
    m = Z.max(axis=1, keepdims=True)
    return (m + eps * np.log(np.exp((Z - m) / eps).sum(axis=1, keepdims=True)))[:, 0]


def fit():
    g = np.linspace(-2.0, 2.0, 21)
    X = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    y = target(X)
    rng = np.random.default_rng(SEED)
    ang = np.sort(rng.uniform(0, 2 * np.pi, N))
    W0 = np.stack([np.cos(ang), np.sin(ang)], 1) * rng.uniform(0.5, 1.0, (N, 1))
    b0 = np.zeros(N)

    def resid(p):
        W, b = p[:2 * N].reshape(N, 2), p[2 * N:]
        return lse(X @ W.T + b, EPS) - y

    sol = least_squares(resid, np.concatenate([W0.ravel(), b0]), method="trf",
                        xtol=1e-12, ftol=1e-12, gtol=1e-12, max_nfev=5000)
    W, b = sol.x[:2 * N].reshape(N, 2), sol.x[2 * N:]
    rms = float(np.sqrt(np.mean(sol.fun ** 2)))
    return W, b, rms


def main(out=OUT):
    W, b, rms = fit()
    y = 2.0 * T * W
    g = -b - T * np.einsum("jk,jk->j", W, W)
    np.savez(out, W=W, b=b, eps=np.float64(EPS), t=np.float64(T), y=y, g=g)
    print(f"wrote {out}: N={N}, d=2, eps={EPS}, t={T}, rms residual {rms:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
