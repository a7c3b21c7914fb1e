"""Benchmark of the network view's evaluation and of input validation (a script, not a test).

Three comparisons, in one run, each against the code it replaced (kept here as a
baseline, run in the same process, alternating):

1. Validation of a semiring array (``tropical._validate.as_semiring_array``, one
   ``max`` reduction) against the previous rule, ``(isfinite(a) | (a == -inf)).all()``.
2. ``LSELayer(x)`` (one BLAS product, biases added in place, then ``tropical.lse``)
   against ``tropical.lse(x @ W.T + b)``.
3. ``LSELayer.evaluate(x)`` at each ``d``: the kernel that forms the pre-activations
   itself (``lse_layer_rows``, an FMA chain per point) against one BLAS product then
   ``lse_scores_rows``; ``evaluate`` takes the first up to ``d = 16``
   (``tropical.views.network._FUSED_MAX_D``) and the second above.

Usage::

    python benchmarks/bench_network.py [--out FILE.md] [--repeats R]

Times are the best of ``--repeats`` (default 5) calls after one warm-up call, two
alternating rounds. Threads: Numba's (``NUMBA_NUM_THREADS``) and the BLAS's.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

import tropical
from tropical import _kernels
from tropical._validate import as_semiring_array
from tropical.views.network import _FUSED_MAX_D, LSELayer


def _best(fns, repeats):
    """{name: best time} of the callables in ``fns``, two alternating rounds."""
    best = {}
    for fn in fns.values():
        fn()
    for _ in range(2):
        for name, fn in fns.items():
            for _ in range(repeats):
                t0 = time.perf_counter()
                fn()
                best[name] = min(best.get(name, np.inf), time.perf_counter() - t0)
    return best


def bench_validation(repeats, lines):
    rng = np.random.default_rng(0)
    lines += ["## Validation of a semiring array", "",
              "| dtype | entries | previous rule (ms) | one reduction (ms) | speed-up |",
              "|---|---|---|---|---|"]
    for dtype in (np.float64, np.float32):
        for size in (10**5, 2 * 10**7):
            a = rng.standard_normal(size).astype(dtype)
            a[::7] = -np.inf
            t = _best({"old": lambda: (np.isfinite(a) | (a == -np.inf)).all(),
                       "new": lambda: as_semiring_array(a, "a")}, repeats)
            lines.append(f"| {np.dtype(dtype).name} | {size:.0e} | {t['old'] * 1e3:.3f} | "
                         f"{t['new'] * 1e3:.3f} | {t['old'] / t['new']:.1f}x |")
    lines.append("")


def bench_call(repeats, lines):
    rng = np.random.default_rng(1)
    lines += ["## LSELayer(x)", "",
              "ns per (point, term); previous: `tropical.lse(x @ W.T + b, eps)`.", "",
              "| d | N | points | previous | LSELayer(x) | speed-up |", "|---|---|---|---|---|---|"]
    for d, n, P in ((1, 64, 200000), (2, 256, 50000), (4, 1024, 20000), (16, 256, 20000),
                    (64, 256, 10000)):
        X = rng.uniform(-2, 2, (P, d))
        layer = LSELayer(rng.normal(size=(n, d)) / np.sqrt(d), rng.normal(size=n), 0.3)
        t = _best({"old": lambda: tropical.lse(X @ layer.W.T + layer.b, 0.3),
                   "new": lambda: layer(X)}, repeats)
        per = 1e9 / (P * n)
        lines.append(f"| {d} | {n} | {P} | {t['old'] * per:.2f} | {t['new'] * per:.2f} | "
                     f"{t['old'] / t['new']:.2f}x |")
    lines.append("")


def bench_evaluate(repeats, lines):
    rng = np.random.default_rng(2)
    fused, scores = _kernels.get("lse_layer_rows"), _kernels.get("lse_scores_rows")
    lines += ["## LSELayer.evaluate(x): pre-activations in the kernel or by BLAS", "",
              "ns per (point, term), Gibbs weights and statistics included.", "",
              "| d | N | points | FMA chain in the kernel | BLAS, then lse_scores_rows | "
              "ratio | evaluate uses |", "|---|---|---|---|---|---|---|"]
    for d, n, P in ((8, 256, 20000), (16, 256, 20000), (32, 256, 10000), (64, 256, 10000),
                    (256, 512, 4000), (784, 1024, 2000)):
        X = rng.uniform(-2, 2, (P, d))
        W, b = rng.normal(size=(n, d)) / np.sqrt(d), rng.normal(size=n)
        WT = np.ascontiguousarray(W.T)
        outs = [np.empty(P) for _ in range(5)]
        G = np.empty((P, n))

        def chain():
            fused(X, WT, b, 0.3, *outs, G)

        def blas():
            Z = np.matmul(X, W.T, out=G)
            Z += b
            scores(Z, 0.3, *outs, Z)

        t = _best({"chain": chain, "blas": blas}, repeats)
        per = 1e9 / (P * n)
        lines.append(f"| {d} | {n} | {P} | {t['chain'] * per:.2f} | {t['blas'] * per:.2f} | "
                     f"{t['chain'] / t['blas']:.2f} | "
                     f"{'FMA chain' if d <= _FUSED_MAX_D else 'BLAS'} |")
    lines.append("")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    import numba

    lines = ["# The network view's evaluation and input validation", "",
             f"- {platform.machine()}, {os.cpu_count()} cores, Numba threads "
             f"{numba.get_num_threads()}; Python {platform.python_version()}, numpy "
             f"{np.__version__}, numba {numba.__version__}",
             f"- threads: NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS', '-')}, "
             f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '-')}",
             "- command: `python benchmarks/bench_network.py`; best of "
             f"{args.repeats} calls, two alternating rounds", ""]
    bench_validation(args.repeats, lines)
    bench_call(args.repeats, lines)
    bench_evaluate(args.repeats, lines)
    lines.append("- load average at the end: "
                 + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    text = "\n".join(lines) + "\n"
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
    print(text)


if __name__ == "__main__":
    main()
