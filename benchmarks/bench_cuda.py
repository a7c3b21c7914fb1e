"""Benchmark of the CUDA kernels (a script, not a test; needs a CUDA GPU).

Times ``tropical.kernels.cuda`` on device-resident float32 operands:

* the max-plus product at n = 4096 and 8192 (``maxplus_gemm``),
* the ``eps > 0`` product at n = 4096, eps = 1 (every term counts) and
  eps = 0.01 (most terms are below ``exp(-746)`` and skipped),

against, in the same process and on the same arrays,

* tropical-gemm's CUDA path where the installed build has one
  (``tropical_gemm.pytorch.tropical_maxplus_matmul_gpu`` on torch CUDA
  tensors, device-resident; ``tropical_gemm.maxplus_matmul_gpu`` on numpy
  arrays, which includes the copies and, per its documentation, creates a
  CUDA context per call). The PyPI wheel of tropical-gemm 0.4.0 is built
  without CUDA (``tropical_gemm.cuda_available()`` is False): then the
  column says so;
* cuBLAS float32 GEMM (``torch.matmul`` on CUDA tensors with TF32 off, else
  CuPy): ordinary ``A @ B``, a different operation, the ceiling for scale;
* ``tropical.matmul(A, B, device="cuda")`` on numpy arrays (copies to and
  from the device included) at n = 4096.

Each timing is the median of ``--reps`` calls after one warm-up call (the
first call, which compiles or loads the cached kernel, is reported apart),
each call followed by a device synchronisation. A block of rows is checked
against the CPU (``tropical.matmul``, device="cpu"): bit for bit at
``eps = 0``, the largest difference at ``eps > 0``. The whole run takes well
under 3 minutes on an H100.

Usage::

    python benchmarks/bench_cuda.py [--quick] [--sizes SMALL LARGE] [--reps N] [--out FILE]

``--quick`` uses n = 1024 and 2048 (a smoke test on a small card);
``NUMBA_ENABLE_CUDASIM=1 python benchmarks/bench_cuda.py --sizes 16 24
--reps 1`` runs the script's logic on the simulator (timings meaningless). The table
(markdown) goes to stdout, and to FILE with ``--out`` (e.g.
``benchmarks/results/cuda.md``). "G pairs/s" = n^3 / time / 1e9 (one add and
one max, or one add and one exp, per pair); cuBLAS's column counts
multiply-adds.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CHECK_ROWS = 32


def _versions():
    out = {"python": platform.python_version(), "numpy": np.__version__}
    for mod in ("numba", "torch", "cupy", "tropical_gemm"):
        try:
            out[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001 - optional packages
            out[mod] = "not installed"
    return out


def _median(fn, sync, reps):
    times = []
    for _ in range(reps):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _first(fn, sync):
    sync()
    t0 = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - t0


def _gpairs(n, t):
    return n**3 / t / 1e9 if t and t > 0 else float("nan")


def _fmt(x, digits=1):
    return "—" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


class _Baselines:
    """tropical-gemm's CUDA path and cuBLAS, where importable."""

    def __init__(self):
        self.torch = None
        self.cupy = None
        self.tg = None
        self.tg_torch_gpu = None
        self.note = []
        try:
            import torch

            if torch.cuda.is_available():
                torch.backends.cuda.matmul.allow_tf32 = False  # true float32 GEMM
                self.torch = torch
            else:
                self.note.append("torch has no CUDA device")
        except ImportError:
            self.note.append("torch not installed")
        if self.torch is None:
            try:
                import cupy

                self.cupy = cupy
            except ImportError:
                self.note.append("cupy not installed: no cuBLAS column")
        try:
            import tropical_gemm as tg

            if tg.cuda_available() and hasattr(tg, "maxplus_matmul_gpu"):
                self.tg = tg
            else:
                self.note.append(f"tropical_gemm {tg.__version__} is built without CUDA "
                                 "(cuda_available() is False)")
            if self.tg is not None and self.torch is not None:
                from tropical_gemm import pytorch as tgp

                if getattr(tgp, "_DLPACK_AVAILABLE", False):
                    self.tg_torch_gpu = tgp.tropical_maxplus_matmul_gpu
        except ImportError:
            self.note.append("tropical_gemm not installed")

    def cublas(self, A, B, reps):
        if self.torch is not None:
            torch = self.torch
            a = torch.from_numpy(A).cuda()
            b = torch.from_numpy(B).cuda()
            sync = torch.cuda.synchronize
            fn = lambda: torch.matmul(a, b)  # noqa: E731
        elif self.cupy is not None:
            cp = self.cupy
            a, b = cp.asarray(A), cp.asarray(B)
            sync = cp.cuda.Device().synchronize
            fn = lambda: a @ b  # noqa: E731
        else:
            return None
        fn()
        return _median(fn, sync, reps)

    def tropical_gemm_device(self, A, B, reps):
        if self.tg_torch_gpu is None:
            return None
        torch = self.torch
        a = torch.from_numpy(A).cuda()
        b = torch.from_numpy(B).cuda()
        fn = lambda: self.tg_torch_gpu(a, b)  # noqa: E731
        fn()
        return _median(fn, torch.cuda.synchronize, reps)

    def tropical_gemm_host(self, A, B, reps, C_ref_rows):
        """(time, exact?) of the numpy-in/numpy-out GPU call (copies included)."""
        if self.tg is None:
            return None, None
        fn = lambda: self.tg.maxplus_matmul_gpu(A, B)  # noqa: E731
        C = np.asarray(fn()).reshape(A.shape[0], B.shape[1])
        exact = bool(np.array_equal(C[:CHECK_ROWS], C_ref_rows))
        return _median(fn, lambda: None, reps), exact


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="n = 1024 and 2048")
    ap.add_argument("--sizes", type=int, nargs=2, metavar=("SMALL", "LARGE"), default=None,
                    help="other sizes (e.g. tiny ones for a smoke run on the simulator)")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    from numba import cuda

    if not cuda.is_available():
        print("bench_cuda: no CUDA GPU is available (numba.cuda.is_available() is False); "
              "nothing to measure.", file=sys.stderr)
        return 2
    import tropical
    from tropical.kernels import cuda as kc

    sync = cuda.synchronize
    small, large = (1024, 2048) if args.quick else (4096, 8192)
    if args.sizes:
        small, large = args.sizes
    jobs = [("max-plus", small, 0.0), ("max-plus", large, 0.0),
            ("lse", small, 1.0), ("lse", small, 0.01)]
    base = _Baselines()
    rng = np.random.default_rng(0)
    rows = []
    for op, n, eps in jobs:
        A = rng.standard_normal((n, n), dtype=np.float32)
        B = rng.standard_normal((n, n), dtype=np.float32)
        dA, dB = kc.to_device(A), kc.to_device(B)
        dC = kc.device_array((n, n), np.float32)
        if eps == 0.0:
            run = lambda: kc.maxplus_gemm(dA, dB, 1, dC)  # noqa: E731
        else:
            run = lambda: kc.lse_gemm(dA, dB, eps, 1, dC)  # noqa: E731
        t_first = _first(run, sync)
        t = _median(run, sync, args.reps)
        C = dC.copy_to_host()
        ref = tropical.matmul(A[:CHECK_ROWS], B, eps=eps)
        if eps == 0.0:
            check = "exact" if np.array_equal(C[:CHECK_ROWS], ref) else "MISMATCH"
        else:
            check = f"max diff {float(np.abs(C[:CHECK_ROWS] - ref).max()):.2g}"
        row = {"op": op, "n": n, "eps": eps, "t": t, "first": t_first, "check": check}
        if eps == 0.0:
            row["tg_dev"] = base.tropical_gemm_device(A, B, args.reps)
            row["tg_host"], tg_exact = base.tropical_gemm_host(A, B, args.reps, ref)
            if tg_exact is False:
                row["check"] += " (tropical_gemm differs!)"
        row["cublas"] = base.cublas(A, B, args.reps)
        if n == small:
            host = lambda: tropical.matmul(A, B, eps=eps, device="cuda")  # noqa: E731
            host()
            row["host"] = _median(host, sync, max(1, args.reps // 2))
        rows.append(row)
        del dA, dB, dC

    lines = []
    vers = _versions()
    try:
        load = Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        load = ["?"]
    lines.append("# CUDA kernels benchmark\n")
    host = platform.processor() or platform.machine()
    lines.append(f"GPU: **{kc.device_name()}**; host: {host}, "
                 f"{os.cpu_count()} cores, load average {' '.join(load)}; "
                 + ", ".join(f"{k} {v}" for k, v in vers.items()) + ".\n")
    lines.append(f"float32 n x n x n products of standard-normal data, max sense; medians of "
                 f"{args.reps} calls after a warm-up, device-resident operands unless said "
                 "otherwise. G pairs/s = n^3 / time / 1e9. cuBLAS is float32 `A @ B` "
                 "(TF32 off): a different operation, the ceiling for scale. "
                 + ("; ".join(base.note) + "." if base.note else "") + "\n")
    lines.append("| product | n | eps | tropical G pairs/s | ms | first call s | "
                 "tropical_gemm GPU G pairs/s | x tropical_gemm | "
                 "tropical_gemm numpy-in G pairs/s | "
                 "cuBLAS G FMA/s | tropical / cuBLAS | tropical.matmul numpy-in G pairs/s | "
                 "check vs CPU |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        g = _gpairs(r["n"], r["t"])
        tgd = _gpairs(r["n"], r.get("tg_dev"))
        tgh = _gpairs(r["n"], r.get("tg_host"))
        cb = _gpairs(r["n"], r.get("cublas"))
        hp = _gpairs(r["n"], r.get("host"))
        lines.append(
            f"| {r['op']} | {r['n']} | {r['eps']:g} | {_fmt(g)} | {r['t'] * 1e3:.1f} | "
            f"{r['first']:.2f} | {_fmt(tgd)} | {_fmt(g / tgd if np.isfinite(tgd) else None, 2)} | "
            f"{_fmt(tgh)} | {_fmt(cb)} | {_fmt(g / cb if np.isfinite(cb) else None, 2)} | "
            f"{_fmt(hp)} | {r['check']} |")
    lines.append("")
    lines.append(f"Tiles: {kc.TILES} (TY, TX, TM, TN, BK per compute dtype; "
                 "the eps > 0 product computes in float64).")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
