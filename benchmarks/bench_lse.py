"""Benchmark of the log-sum-exp kernels (a script, not a test).

Two comparisons, in one run:

1. ``lse_rows`` on a 10^6 x 64 float64 array against
   ``scipy.special.logsumexp(axis=1)`` (eps = 1).
2. The exact ``eps > 0`` product ``C = A (x)_eps B`` computed in two passes --
   the ``eps = 0`` product ``M`` (``tropical.kernels.maxplus.maxplus_gemm``, or
   the numpy twin where that module does not exist), then ``lse_gemm_rows`` on
   all rows -- against the exp-shift-then-BLAS trick
   ``C ~ r_i + c_j + eps*log(exp((A - r)/eps) @ exp((B - c)/eps))`` with ``r``
   the row maxima of A and ``c`` the column maxima of B. For both: the median
   time, the maximum error in ulps of the dtype against an exact reference
   (the numpy twin in float64 on a sample of rows) and the number of
   non-finite entries over the whole result. Data: standard normal entries.

Usage::

    python benchmarks/bench_lse.py [--quick] [--out FILE.md] [--repeats R] [--threads T]

Timings are medians of ``--repeats`` (default 5) runs after one warm-up call
(which also compiles). Threads: Numba's (``NUMBA_NUM_THREADS``) and the BLAS's.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import statistics
import sys
import time

import numpy as np

# tropical.kernels first: it sets NUMBA_CPU_FEATURES before Numba is imported.
from tropical.kernels import lse, reference  # noqa: E402


def _median_time(fn, repeats):
    fn()  # warm-up (and compile)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _machine():
    import llvmlite
    import numba
    import scipy

    model = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    from tropical import _config

    wide = _config.wide_vectors_active()
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # pragma: no cover - informative only
        blas = "?"
    return [
        f"CPU: {model}, {os.cpu_count()} logical cores; Numba threads: "
        f"{numba.get_num_threads()}; 512-bit vectors preferred: "
        f"{'yes' if wide else 'no (LLVM default)'}",
        f"Python {platform.python_version()}, numpy {np.__version__} (BLAS: {blas}), "
        f"scipy {scipy.__version__}, numba {numba.__version__}, llvmlite {llvmlite.__version__}",
        f"platform: {platform.platform()}",
        "load average at start (1, 5, 15 min; other processes share the cores): "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg()),
    ]


def _maxplus_gemm():
    try:
        mod = importlib.import_module("tropical.kernels.maxplus")
        return mod.maxplus_gemm, "tropical.kernels.maxplus.maxplus_gemm"
    except (ImportError, AttributeError):
        return reference.maxplus_gemm, "tropical.kernels.reference.maxplus_gemm (numpy twin)"


def bench_rows(nrows, repeats, lines):
    from scipy.special import logsumexp

    rng = np.random.default_rng(0)
    a = rng.standard_normal((nrows, 64))
    out = np.empty(nrows)
    t_ours = _median_time(lambda: lse.lse_rows(a, 1.0, 1, out), repeats)
    t_scipy = _median_time(lambda: logsumexp(a, axis=1), max(3, repeats // 2 + 1))
    ref = logsumexp(a, axis=1)
    diff = np.max(np.abs(out - ref) / np.spacing(np.abs(ref)))
    lines += [
        f"## lse_rows, {nrows} x 64 float64, eps = 1",
        "",
        "| implementation | median time (s) | rows/s |",
        "|---|---|---|",
        f"| tropical lse_rows | {t_ours:.4f} | {nrows / t_ours:.3g} |",
        f"| scipy.special.logsumexp(axis=1) | {t_scipy:.4f} | {nrows / t_scipy:.3g} |",
        "",
        f"Speed-up: {t_scipy / t_ours:.1f}x. Largest difference between the two: "
        f"{diff:.2f} ulp.",
        "",
    ]


def _shift_blas(A, B, eps):
    """The exp-shift-then-BLAS trick, in the dtype of A and B."""
    r = A.max(axis=1, keepdims=True)
    c = B.max(axis=0, keepdims=True)
    with np.errstate(all="ignore"):
        P = np.exp((A - r) / eps) @ np.exp((B - c) / eps)
        return (r + c) + eps * np.log(P)


def _ulp_errors(C, ref, rows):
    """max |C - ref| in ulps of C's dtype, over the sampled rows (finite ref)."""
    got = C[rows].astype(np.float64)
    want = ref[rows]
    bad = ~np.isfinite(got)
    ulp = np.spacing(np.abs(want).astype(C.dtype)).astype(np.float64)
    err = np.where(bad, np.inf, np.abs(got - want) / ulp)
    return float(err.max())


def bench_product(sizes, epsilons, dtypes, repeats, lines, sample_rows=48):
    gemm, gemm_name = _maxplus_gemm()
    lines += [
        "## eps > 0 product: two-pass exact kernel vs exp-shift-then-BLAS",
        "",
        f"eps = 0 product M: `{gemm_name}`; exact pass: "
        "`tropical.kernels.lse.lse_gemm_rows` on all rows. Times are medians; "
        "`total` = M + exact pass. Errors: max over "
        f"{sample_rows} sampled rows, in ulps of the dtype, against the numpy twin "
        "in float64; `non-finite`: entries of the whole n x n result that are "
        "inf or NaN (the exact product is finite everywhere here). "
        "G terms/s = n^3 / time.",
        "",
        "| dtype | n | eps | M (s) | exact pass (s) | total (s) | G terms/s | "
        "max err (ulp) | non-finite | BLAS trick (s) | trick max err (ulp) | "
        "trick non-finite |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for dtype in dtypes:
        for n in sizes:
            rng = np.random.default_rng(n)
            A = rng.standard_normal((n, n)).astype(dtype)
            B = rng.standard_normal((n, n)).astype(dtype)
            M = np.empty((n, n), dtype=dtype)
            C = np.empty((n, n), dtype=dtype)
            rows = np.arange(n, dtype=np.int64)
            sample = np.sort(np.random.default_rng(1).choice(n, min(sample_rows, n), replace=False))
            A64, B64 = A.astype(np.float64), B.astype(np.float64)
            t_m = _median_time(lambda: gemm(A, B, 1, M), repeats)
            for eps in epsilons:
                t_l = _median_time(lambda: lse.lse_gemm_rows(A, B, M, eps, 1, rows, C), repeats)
                t_b = _median_time(lambda: _shift_blas(A, B, eps), repeats)
                T = _shift_blas(A, B, eps)
                ref = np.zeros((n, n))
                M64 = np.zeros((n, n))
                reference.lse_gemm_rows(A64, B64, M64, eps, 1, sample.astype(np.int64), ref)
                e_ours = _ulp_errors(C, ref, sample)
                e_trick = _ulp_errors(T, ref, sample)
                nf_ours = int(np.count_nonzero(~np.isfinite(C)))
                nf_trick = int(np.count_nonzero(~np.isfinite(T)))
                total = t_m + t_l
                lines.append(
                    f"| {np.dtype(dtype).name} | {n} | {eps:g} | {t_m:.4f} | {t_l:.4f} | "
                    f"{total:.4f} | {n**3 / total / 1e9:.2f} | {e_ours:.2f} | {nf_ours} | "
                    f"{t_b:.4f} | {e_trick:.3g} | {nf_trick} |"
                )
                print(lines[-1], flush=True)
    lines.append("")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    p.add_argument("--out", help="write the results as markdown to this file")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, help="Numba threads (default: NUMBA_NUM_THREADS)")
    args = p.parse_args(argv)
    if args.threads:
        import numba

        numba.set_num_threads(args.threads)
    if args.quick:
        nrows, sizes, epsilons = 10**5, [256], [1e-3, 1.0]
    else:
        nrows, sizes, epsilons = 10**6, [256, 512, 1024], [1e-4, 1e-3, 1e-2, 1.0]
    lines = ["# Log-sum-exp kernels: benchmark", ""]
    lines += [f"- {s}" for s in _machine()]
    lines += [f"- command: `python {' '.join(sys.argv)}`", ""]
    print("\n".join(lines), flush=True)
    bench_rows(nrows, args.repeats, lines)
    print("\n".join(lines[-9:]), flush=True)
    bench_product(sizes, epsilons, [np.float32, np.float64], args.repeats, lines)
    lines.append(
        "Load average at the end: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    text = "\n".join(lines) + "\n"
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            f.write(text)
    print(text)


if __name__ == "__main__":
    main()
