"""Benchmark of the diagram checker (not a test).

1. ``tropical check`` on the bundled default model, in a fresh process, with a
   warm Numba cache (one untimed run first): wall time of the whole command.
2. ``tropical.check`` on an LSE layer with N = 10^4 terms, d = 16, 10^4 points,
   20 eps values, against plain numpy evaluation of the same paths (network
   LSE and softmax, PDE Hopf-Cole value and Gibbs weights, the closed-form
   convex value, the eps = 0 nodes), in blocks of 1024 points.

Usage: ``python benchmarks/bench_diagram.py [--quick] [--points P]``; writes
``benchmarks/results/diagram.md``.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results" / "diagram.md"


def cli_wall(repeats=3):
    cmd = [sys.executable, "-m", "tropical.cli", "check"]
    subprocess.run(cmd, capture_output=True, check=False)      # warm the cache
    times = []
    rc = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        rc = proc.returncode
    return times, rc


def numpy_paths(W, b, X, grid, t, chunk=1024):
    """Plain numpy: every node value and Gibbs vector, same blocks, no checks."""
    y = 2 * t * W
    g = -b - t * (W ** 2).sum(1)
    yy = (y ** 2).sum(1)
    for s in range(0, len(X), chunk):
        Xs = X[s:s + chunk]
        Z = Xs @ W.T + b
        m = Z.max(1, keepdims=True)
        A = g + ((Xs ** 2).sum(1)[:, None] - 2 * Xs @ y.T + yy) / (4 * t)
        a0 = A.min(1, keepdims=True)
        for e in grid:
            E = np.exp((Z - m) / e)
            S = E.sum(1, keepdims=True)
            f = m + e * np.log(S)
            pi = E / S
            F = np.exp(-(A - a0) / e)
            SF = F.sum(1, keepdims=True)
            u = a0 - e * np.log(SF)
            piu = F / SF
            c = (pi * Z).sum(1) - e * (pi * np.log(np.maximum(pi, 1e-300))).sum(1)
            del f, u, piu, c


def breakdown(W, b, X, grid, t, chunk=1024):
    """Seconds spent in each view's own evaluation (the calls the checker makes)."""
    from tropical.views.network import LSELayer

    layer = LSELayer(W, b)
    pde_of = lambda e: layer.with_eps(e).to_pde(t)  # noqa: E731
    out = {"network (lse + softmax)": 0.0, "pde (u + gibbs + hopf_lax)": 0.0,
           "convex (certified Newton, eps > 0)": 0.0, "lp (HiGHS, eps = 0)": 0.0}
    for s in range(0, len(X), chunk):
        Xs = X[s:s + chunk]
        t0 = time.perf_counter()
        pde_of(0.0).hopf_lax(Xs, t)
        out["pde (u + gibbs + hopf_lax)"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        layer.to_convex().with_eps(0.0).solve(Xs)
        out["lp (HiGHS, eps = 0)"] += time.perf_counter() - t0
        for e in grid:
            t0 = time.perf_counter()
            lay = layer.with_eps(e)
            lay(Xs)
            lay.gibbs(Xs)
            out["network (lse + softmax)"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            pde = pde_of(e)
            pde.u(Xs, t)
            pde.gibbs(Xs, t)
            out["pde (u + gibbs + hopf_lax)"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            lay.to_convex().solve(Xs)
            out["convex (certified Newton, eps > 0)"] += time.perf_counter() - t0
    return out


def main(quick=False, points=None):
    import tropical
    from tropical.diagram import check

    lines = []
    load = os.getloadavg()
    lines.append(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
                 f"load average at start {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} "
                 "(cores shared with other agents)")
    import numba
    import scipy
    lines.append(f"Python {platform.python_version()}, numpy {np.__version__}, "
                 f"scipy {scipy.__version__}, numba {numba.__version__}, "
                 f"tropical {tropical.__version__}, TROPICAL_JIT={os.environ.get('TROPICAL_JIT', '1')}")
    times, rc = cli_wall(2 if quick else 3)
    lines.append("")
    lines.append("## `tropical check` on the default model (warm cache, fresh process)")
    lines.append("")
    lines.append(f"exit status {rc}; wall times: " + ", ".join(f"{t:.2f} s" for t in times)
                 + f" (best {min(times):.2f} s; target < 3 s)")
    print(lines[-1], flush=True)

    N, d, P, ne = (2000, 16, 2000, 20) if quick else (10_000, 16, 10_000, 20)
    if points:
        P = points
    rng = np.random.default_rng(0)
    W = rng.normal(size=(N, d))
    b = rng.normal(size=N)
    X = rng.normal(size=(P, d)) * 2
    grid = np.logspace(0, -6, ne)
    t0 = time.perf_counter()
    numpy_paths(W, b, X, grid, 1.0)
    t_np = time.perf_counter() - t0
    print(f"numpy paths {t_np:.1f} s", flush=True)
    t0 = time.perf_counter()
    report = check((W, b), eps=grid, x=X, progress=False)
    t_chk = time.perf_counter() - t0
    print(f"checker {t_chk:.1f} s, ok={report.ok}", flush=True)
    lines.append("")
    lines.append(f"## Checker on N = {N}, d = {d}, {P} points, {ne} eps values")
    lines.append("")
    lines.append("| what | time |")
    lines.append("|---|---|")
    lines.append(f"| plain numpy evaluation of the same paths (no bounds, no checks) | {t_np:.1f} s |")
    lines.append(f"| `tropical.check` (all arrows, Gibbs weights, squares, rates) | {t_chk:.1f} s |")
    lines.append(f"| ratio | {t_chk / t_np:.1f}x |")
    t0 = time.perf_counter()
    parts = breakdown(W, b, X, grid, 1.0)
    print(f"breakdown {time.perf_counter() - t0:.1f} s", flush=True)
    lines.append("")
    lines.append("Where the checker's time goes (each view's own calls, timed separately):")
    lines.append("")
    lines.append("| view | time |")
    lines.append("|---|---|")
    for k, v in parts.items():
        lines.append(f"| {k} | {v:.1f} s |")
    lines.append("")
    lines.append(f"report ok = {report.ok}; load average at end {os.getloadavg()[0]:.2f}")
    OUT.write_text("# Diagram checker benchmark\n\n" + "\n".join(lines) + "\n")
    print(OUT.read_text())


if __name__ == "__main__":
    pts = int(sys.argv[sys.argv.index("--points") + 1]) if "--points" in sys.argv else None
    main(quick="--quick" in sys.argv, points=pts)
