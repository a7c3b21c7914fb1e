"""Benchmark of the max-plus matrix product (a script, not a test).

Times ``tropical.kernels.maxplus.maxplus_gemm`` (called directly), the public
``tropical.matmul`` where it exists, ``tropical_gemm`` 0.4.0 (Rust, PyPI), the
blocked numpy reference ``kernels.reference.maxplus_gemm`` and numpy's float
``A @ B`` (BLAS: a different operation, the ceiling for scale), for float32
and float64, square n x n x n products, 1 and 2 threads.

Each thread count runs in its own worker process with every pool sized by
environment variables before import (``NUMBA_NUM_THREADS`` plus
``numba.set_num_threads``, ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` /
``MKL_NUM_THREADS`` for BLAS, ``RAYON_NUM_THREADS`` for tropical_gemm). The
default run also times the kernel with ``TROPICAL_WIDE_VECTORS=0`` (Numba's
default target, LLVM preferring 256-bit vectors), and measures compile time:
the first call in a fresh process with an empty ``NUMBA_CACHE_DIR``, then the
first call of a second process that finds the cache warm.

Usage::

    python benchmarks/bench_matmul.py [--quick] [--out FILE]

"G pairs/s" = n^3 / time / 1e9 (one max and one add per pair). Peak =
threads x lanes x 4.16 GHz (one vector max and one vector add per lane and
cycle; 16 float32 / 8 float64 lanes of a 512-bit register). Times are
medians; the numpy reference is slow and runs fewer times at large n (see the
``reps`` column), single-threaded (numpy's elementwise ops do not thread).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CLOCK_GHZ = 4.16
LANES = {"float32": 16, "float64": 8}
THREAD_ENV = ("NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
              "MKL_NUM_THREADS", "RAYON_NUM_THREADS")


# --------------------------------------------------------------------------
# worker side
# --------------------------------------------------------------------------

def _median_time(fn, reps):
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _worker(cfg):
    """Run one configuration (one thread count, one vector setting)."""
    threads = cfg["threads"]
    from tropical.kernels import maxplus, reference  # applies wide vectors

    import numba

    numba.set_num_threads(threads)
    try:
        import tropical_gemm as tg
    except ImportError:
        tg = None
    try:
        import tropical

        tmatmul = getattr(tropical, "matmul", None)
    except Exception:  # noqa: BLE001 - the public API is being written
        tmatmul = None

    rng = np.random.default_rng(0)
    rows = []
    for dtype in cfg["dtypes"]:
        for n in cfg["sizes"]:
            A = rng.standard_normal((n, n)).astype(dtype)
            B = rng.standard_normal((n, n)).astype(dtype)
            out = np.empty((n, n), dtype=dtype)
            reps = cfg["reps"]
            row = {"dtype": dtype, "n": n, "threads": threads,
                   "wide": os.environ.get("TROPICAL_WIDE_VECTORS", "1")}
            maxplus.maxplus_gemm(A, B, 1, out)  # compile / load
            # Each method is timed in a batch of its own after a pause and a
            # warm-up call: thread pools spin for a while after a call
            # (OpenBLAS, OpenMP, Rayon), and a pool still spinning steals a
            # core from the next method (measured: -25..45% for the kernel
            # right after a 2-thread BLAS call).
            methods = {"kernel": lambda: maxplus.maxplus_gemm(A, B, 1, out)}
            if not cfg.get("only_kernel"):
                if tmatmul is not None:
                    try:
                        C = tmatmul(A, B)
                        row["tropical.matmul_ok"] = bool(
                            np.array_equal(np.asarray(C), out))
                        methods["tropical.matmul"] = lambda: tmatmul(A, B)
                    except Exception as exc:  # noqa: BLE001
                        row["tropical.matmul_error"] = repr(exc)[:80]
                if tg is not None:
                    f = (tg.maxplus_matmul_2d if dtype == "float32"
                         else tg.maxplus_matmul_2d_f64)
                    row["tropical_gemm_ok"] = bool(np.array_equal(f(A, B), out))
                    methods["tropical_gemm"] = lambda: f(A, B)
                A @ B
                methods["blas"] = lambda: A @ B
            for name, fn in methods.items():
                time.sleep(0.3)
                fn()
                row[name] = _median_time(fn, reps)
            if (not cfg.get("only_kernel") and cfg["reference"]
                    and n <= cfg["reference_max_n"]):
                rreps = reps if n <= 512 else 1
                ref = np.empty_like(out)
                time.sleep(0.3)
                row["reference"] = _median_time(
                    lambda: reference.maxplus_gemm(A, B, 1, ref), rreps)
                row["reference_reps"] = rreps
                row["reference_ok"] = bool(np.array_equal(ref, out))
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    return rows


def _compile_probe():
    """Import + first call of maxplus_gemm (float32 and float64)."""
    t0 = time.perf_counter()
    from tropical.kernels import maxplus

    t_import = time.perf_counter() - t0
    res = {"import": t_import}
    for dtype in ("float32", "float64"):
        A = np.ones((64, 64), dtype=dtype)
        out = np.empty((64, 64), dtype=dtype)
        t0 = time.perf_counter()
        maxplus.maxplus_gemm(A, A, 1, out)
        res[dtype] = time.perf_counter() - t0
    return res


# --------------------------------------------------------------------------
# driver side
# --------------------------------------------------------------------------

def _run_worker(cfg, extra_env=None, timeout=3600):
    env = dict(os.environ)
    for name in THREAD_ENV:
        env[name] = str(cfg["threads"])
    env.update(extra_env or {})
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", json.dumps(cfg)],
        capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"worker failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _compile_times():
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache,
                   PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        out = []
        for _ in range(2):
            proc = subprocess.run(
                [sys.executable, __file__, "--compile-probe"],
                capture_output=True, text=True, env=env, cwd=ROOT, check=True)
            out.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return out


def _machine():
    import llvmlite
    import numba

    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import tropical_gemm

        tg_version = tropical_gemm.__version__
    except ImportError:
        tg_version = "not installed"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "llvmlite": llvmlite.__version__,
        "tropical_gemm": tg_version,
        "blas": _blas_name(),
    }


def _blas_name():
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version', '')}".strip()
    except Exception:  # noqa: BLE001
        return "?"


def _gps(n, t):
    return n ** 3 / t / 1e9


def _fmt(x, spec=".1f"):
    return "—" if x is None else format(x, spec)


def _table(rows):
    head = ("| dtype | n | threads | maxplus_gemm G pairs/s | % of peak "
            "| tropical_gemm G pairs/s | x tropical_gemm "
            "| tropical.matmul G pairs/s | numpy reference G pairs/s (reps) "
            "| BLAS A@B G mult-adds/s |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        n, th = r["n"], r["threads"]
        k = _gps(n, r["kernel"])
        peak = th * LANES[r["dtype"]] * CLOCK_GHZ
        tg = _gps(n, r["tropical_gemm"]) if "tropical_gemm" in r else None
        ratio = r["tropical_gemm"] / r["kernel"] if "tropical_gemm" in r else None
        tm = _gps(n, r["tropical.matmul"]) if "tropical.matmul" in r else None
        ref = (f"{_gps(n, r['reference']):.2f} ({r['reference_reps']})"
               if "reference" in r else "—")
        blas = _gps(n, r["blas"]) if "blas" in r else None
        lines.append(
            f"| {r['dtype']} | {n} | {th} | {k:.1f} | {100 * k / peak:.0f}% "
            f"| {_fmt(tg)} | {_fmt(ratio, '.2f')} | {_fmt(tm)} | {ref} "
            f"| {_fmt(blas)} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, few reps")
    ap.add_argument("--out", help="write the markdown report here")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--compile-probe", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        print(json.dumps(_worker(json.loads(args.worker))))
        return
    if args.compile_probe:
        print(json.dumps(_compile_probe()))
        return

    sizes = [128, 256] if args.quick else [256, 512, 1024, 2048]
    reps = 3 if args.quick else 5
    dtypes = ["float32", "float64"]
    threads = [1, 2]
    t_start = time.time()
    load_before = os.getloadavg()

    rows = []
    for th in threads:
        cfg = {"threads": th, "sizes": sizes, "reps": reps, "dtypes": dtypes,
               "reference": th == 1, "reference_max_n": 2048}
        print(f"# {th} thread(s) ...", file=sys.stderr, flush=True)
        rows += _run_worker(cfg)

    # wide (512-bit) against Numba's default 256-bit-preferring target
    wide_sizes = sizes[-2:]
    wide_rows = []
    for th in threads:
        # two alternating rounds per setting (separate processes: the setting
        # must be in place before Numba is imported); medians over both
        for _round in range(2):
            for wide in ("1", "0"):
                cfg = {"threads": th, "sizes": wide_sizes, "reps": reps,
                       "dtypes": dtypes, "reference": False, "only_kernel": True}
                print(f"# TROPICAL_WIDE_VECTORS={wide}, {th} thread(s) ...",
                      file=sys.stderr, flush=True)
                wide_rows += _run_worker(cfg, {"TROPICAL_WIDE_VECTORS": wide})

    print("# compile times ...", file=sys.stderr, flush=True)
    compile_runs = _compile_times()
    machine = _machine()

    md = ["# Max-plus matrix product benchmark", ""]
    md.append(f"Machine: {machine['cpu']}, {machine['cores']} cores; "
              f"Python {machine['python']}, numpy {machine['numpy']} "
              f"(BLAS: {machine['blas']}), numba {machine['numba']}, "
              f"llvmlite {machine['llvmlite']}, tropical_gemm "
              f"{machine['tropical_gemm']}.")
    md.append("")
    md.append(f"Square n x n x n products of standard-normal data, max sense; "
              f"medians of {reps} runs, each method timed in its own batch after "
              f"a 0.3 s pause and a warm-up call (idle thread pools stop "
              f"spinning) (the numpy reference: {reps} runs up to "
              f"n = 512, 1 above, 1 thread only). G pairs/s = n^3 / time / 1e9; "
              f"peak = threads x lanes x {CLOCK_GHZ} GHz (16 float32 / 8 "
              f"float64 lanes, one vector max + one vector add per cycle). "
              f"BLAS `A @ B` is ordinary float GEMM, a ceiling for scale, not "
              f"the same operation. Thread pools sized per worker process by "
              f"environment ({', '.join(THREAD_ENV)}). Other processes may "
              f"share the machine: compare ratios within one run.")
    md.append("")
    md.append(_table(rows))
    md.append("")
    bad = [r for r in rows if r.get("tropical_gemm_ok") is False
           or r.get("reference_ok") is False or r.get("tropical.matmul_ok") is False]
    md.append("Results agree exactly with tropical_gemm and the reference: "
              + ("yes" if not bad else f"NO ({len(bad)} rows differ)") + ".")
    md.append("")
    md.append("## 512-bit vectors (TROPICAL_WIDE_VECTORS=1, default) vs Numba's "
              "default target (=0, LLVM prefers 256-bit vectors)")
    md.append("")
    md.append("maxplus_gemm only; two alternating worker processes per "
              "setting, median of the two medians.")
    md.append("")
    md.append("| dtype | n | threads | wide=1 G pairs/s | wide=0 G pairs/s "
              "| wide=1 / wide=0 |")
    md.append("|---|---|---|---|---|---|")
    by = {}
    for r in wide_rows:
        by.setdefault((r["dtype"], r["n"], r["threads"], r["wide"]), []).append(
            r["kernel"])
    for th in threads:
        for dtype in dtypes:
            for n in wide_sizes:
                t1 = float(np.median(by[(dtype, n, th, "1")]))
                t0 = float(np.median(by[(dtype, n, th, "0")]))
                md.append(f"| {dtype} | {n} | {th} | {_gps(n, t1):.1f} "
                          f"| {_gps(n, t0):.1f} | {t0 / t1:.2f} |")
    md.append("")
    md.append("The micro-kernel is written with explicit 512-bit vector types "
              "in LLVM IR, which Numba's target compiles to zmm code either "
              "way; the setting changes only the auto-vectorised loops "
              "(packing, merges into the output).")
    md.append("")
    md.append("## Compile time (maxplus_gemm, first call, float32 then float64)")
    md.append("")
    md.append("| process | import tropical.kernels.maxplus s | first call float32 s "
              "| first call float64 s |")
    md.append("|---|---|---|---|")
    for label, r in zip(("fresh, empty NUMBA_CACHE_DIR", "second, warm cache"),
                        compile_runs):
        md.append(f"| {label} | {r['import']:.2f} | {r['float32']:.2f} "
                  f"| {r['float64']:.2f} |")
    md.append("")
    load_after = os.getloadavg()
    md.append(f"Total benchmark wall time: {time.time() - t_start:.0f} s. "
              f"Load average (1, 5, 15 min) before: "
              f"{', '.join(f'{x:.2f}' for x in load_before)}; after: "
              f"{', '.join(f'{x:.2f}' for x in load_after)} "
              f"(this benchmark itself adds up to 2).")
    text = "\n".join(md) + "\n"
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
