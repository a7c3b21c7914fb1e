"""Public ``tropical.matmul`` at eps > 0 against the max-plus kernel (eps = 0).

The eps > 0 product takes one of two plans (``tropical._ops._lse_gemm``):
``top2`` (the two largest terms of every entry settle it unless they are
within 40*eps, 24*eps in float32) or ``blas`` (the max-plus product and the
shifted BLAS product where its sum is safe); the remaining entries (near ties,
BLAS underflow) go to the exact per-entry kernel. This script reports, per
dtype, n and eps: the time of ``tropical.matmul(A, B, eps=eps)``, the time of
``tropical.matmul(A, B)`` (eps = 0), their ratio (target <= 3), the plan
chosen, the share of entries left to the per-entry kernel, and the largest
error against the exact two-pass kernel run on every row (in units of the
error budget documented in ``tropical.matmul``).

Usage: ``python benchmarks/bench_matmul_eps.py [--sizes 1024 2048] [--out FILE]``.
Set ``NUMBA_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` to fix the thread count.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np


def _median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _redo_share(A, B, M, eps, plan, _kernels, _ops):
    """Share of entries the chosen plan leaves to the per-entry kernel."""
    n = A.shape[0]
    if plan == "top2":
        M1, M2 = np.empty_like(M), np.empty_like(M)
        _kernels.get("maxplus_gemm_top2")(A, B, 1, M1, M2)
        tie = np.empty(M.shape, np.bool_)
        _kernels.get("lse_from_top2")(M1, M2, eps, _ops._TOP2_GAP[A.dtype.itemsize], 1,
                                      np.empty_like(M), tie)
        return float(tie.mean())
    ea, ra = np.empty((n, n)), np.empty(n)
    eb, cb = np.empty((n, n)), np.empty(n)
    lift = _ops._gemm_lift(n)
    _kernels.get("lse_shift_exp")(A, eps, 1, 1, lift, ra, ea)
    _kernels.get("lse_shift_exp")(B, eps, 1, 0, lift, cb, eb)
    S = (ea @ eb) * 2.0 ** (-2 * lift)
    return float(np.mean(~(S >= _ops._BLAS_SAFE_SUM)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048])
    ap.add_argument("--eps", type=float, nargs="+",
                    default=[1e-4, 1e-3, 3e-3, 5e-3, 7e-3, 1e-2, 3e-2, 1e-1, 1.0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out")
    args = ap.parse_args(argv)

    import numba

    import tropical
    from tropical import _kernels, _ops

    tropical.warmup()
    rng = np.random.default_rng(0)
    lines = [
        "| dtype | n | eps | matmul eps (s) | matmul eps=0 (s) | ratio | plan | "
        "entries on exact path | max error / budget |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for dtype in (np.float64, np.float32):
        for n in args.sizes:
            A = rng.standard_normal((n, n)).astype(dtype)
            B = rng.standard_normal((n, n)).astype(dtype)
            t0 = _median_time(lambda: tropical.matmul(A, B), args.repeat)
            M = tropical.matmul(A, B)
            for eps in args.eps:
                te = _median_time(lambda: tropical.matmul(A, B, eps=eps), args.repeat)
                C = tropical.matmul(A, B, eps=eps)
                plan = _ops._lse_gemm_plan(A, B, eps, 1)
                redo = _redo_share(A, B, M, eps, plan, _kernels, _ops)
                exact = np.empty_like(C)
                _kernels.get("lse_gemm_rows")(A, B, M, eps, 1, np.arange(n, dtype=np.int64), exact)
                u = np.finfo(dtype).eps / 2
                scale = np.abs(A).max(1)[:, None] + np.abs(B).max(0)[None, :]
                budget = 2 * u * (7 * scale + 3 * np.abs(C) + eps * (2 * (n - 1) + 2 * np.log(n)))
                ratio_err = float((np.abs(C.astype(np.float64) - exact) / budget).max())
                lines.append(f"| {np.dtype(dtype).name} | {n} | {eps:g} | {te:.4f} | {t0:.4f} | "
                             f"{te / t0:.2f} | {plan} | {redo:.1%} | {ratio_err:.3f} |")
                print(lines[-1], flush=True)
    head = [
        "# eps > 0 matmul against the max-plus product",
        "",
        f"- {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Numba threads {numba.get_num_threads()}; Python {platform.python_version()}, "
        f"numpy {np.__version__}, numba {numba.__version__}",
        f"- load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"- threads: NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS', '-')}, "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '-')}",
        "- data: standard normal; medians of "
        f"{args.repeat} runs",
        "",
    ]
    text = "\n".join(head + lines) + "\n"
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
    print(text)


if __name__ == "__main__":
    main()
