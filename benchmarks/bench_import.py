"""Import time and first-call latency of a fresh process (the cache works).

Measures, each in fresh subprocesses, median of ``--repeat`` runs:

* ``import numpy`` and ``import tropical`` (which imports numpy itself), and
  their ratio (target: ``import tropical`` within 1.5x of ``import numpy``);
* the first ``tropical.matmul`` call of a process whose Numba cache is warm
  (target: under 1 s), and of one whose cache is empty (the compile cost).

Usage: ``python benchmarks/bench_import.py [--repeat 7] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

IMPORT = "import time; t=time.perf_counter(); import {mod}; print(time.perf_counter()-t)"
FIRST_CALL = (
    "import time, numpy as np; A = 10 * np.random.default_rng(0).random((64, 64)); "
    "t=time.perf_counter(); import tropical; tropical.matmul(A, A){extra}; "
    "print(time.perf_counter()-t)"
)


def _run(code, env=None):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--out", help="write the markdown table here")
    args = ap.parse_args(argv)
    rows = []
    t_np = statistics.median(_run(IMPORT.format(mod="numpy")) for _ in range(args.repeat))
    t_tr = statistics.median(_run(IMPORT.format(mod="tropical")) for _ in range(args.repeat))
    t_fn = statistics.median(_run(IMPORT.format(mod="tropical; tropical.matmul"))
                             for _ in range(args.repeat))
    rows.append(("import numpy", t_np, ""))
    rows.append(("import tropical", t_tr, f"{t_tr / t_np:.2f}x import numpy (target <= 1.5x)"))
    rows.append(("import tropical; tropical.matmul (loads numpy and the API)", t_fn,
                 f"{t_fn / t_np:.2f}x import numpy"))
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=os.path.join(cache, "mp"))
        cold = _run(FIRST_CALL.format(extra=""), env)
        warm = statistics.median(_run(FIRST_CALL.format(extra=""), env) for _ in range(args.repeat))
        cold_lse = _run(FIRST_CALL.format(extra="; tropical.matmul(A, A, eps=1e-3)"),
                        dict(env, NUMBA_CACHE_DIR=os.path.join(cache, "lse")))
        warm_lse = statistics.median(
            _run(FIRST_CALL.format(extra="; tropical.matmul(A, A, eps=1e-3)"),
                 dict(env, NUMBA_CACHE_DIR=os.path.join(cache, "lse"))) for _ in range(args.repeat))
    rows.append(("first matmul, empty cache (compile)", cold, "once per machine"))
    rows.append(("first matmul, warm cache", warm, "target < 1 s"))
    rows.append(("first matmul eps=0 and eps=1e-3 (exact path), empty cache", cold_lse, ""))
    rows.append(("first matmul eps=0 and eps=1e-3 (exact path), warm cache", warm_lse, "target < 1 s"))
    lines = ["| what | seconds (median) | note |", "|---|---|---|"]
    lines += [f"| {name} | {t:.3f} | {note} |" for name, t, note in rows]
    table = "\n".join(lines)
    print(table)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(table + "\n")


if __name__ == "__main__":
    main()
