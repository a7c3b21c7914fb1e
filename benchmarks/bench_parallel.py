"""tropical.parallel on one machine: an out-of-core product and a sweep on a LocalCluster.

Not a test. ``python benchmarks/bench_parallel.py`` (about 10 minutes on 2
cores; ``--n 4096 --npoints 256`` for a quick run) writes
``benchmarks/results/parallel.md``.

1. Out-of-core max-plus product: two ``n x n`` float32 matrices (standard
   normal) in raw files under ``/tmp`` (1 GiB each at n = 16384), opened as
   ``np.memmap``; ``tropical.parallel.matmul(A, B, out=C_memmap,
   scheduler="threads")`` with the default memory budget (512 MiB), against
   the in-memory kernel ``tropical.matmul(A, B)`` on the arrays read into
   memory. Each run is a fresh subprocess, so its peak resident memory
   (``VmHWM`` of ``/proc/self/status``, and ``ru_maxrss``) is that run's
   alone; the resident memory after the imports and a warm-up product is
   reported too. The in-memory run checks that both products agree bit for
   bit. Two out-of-core settings: Dask's threads times Numba's threads per
   task = 2 x 1 (``numba_threads="auto"``) and 1 x 2.
2. An eps sweep of 64 diagram checks (``tropical.check`` on
   ``tropical/data/default_model.npz``, one eps each, log-spaced from 1 to
   1e-6) on a 2-worker ``LocalCluster`` (processes, one thread each,
   ``NUMBA_NUM_THREADS=1`` per worker) against a serial loop (Numba's
   default threads), alternately, after a warm-up of each; the cluster's
   start-up time is reported separately.
3. Threads per task: the out-of-core product at ``--thread-n`` (8192) with
   Dask x Numba threads = cores x 1 and 1 x cores, run alternately
   (``--thread-pairs`` runs each; 0 skips it).

Files under /tmp are deleted afterwards. The load average is recorded
before and after each part (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "parallel.md"
MODEL = HERE.parent / "tropical" / "data" / "default_model.npz"


def loadavg():
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


def cpu_name():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def versions():
    import dask
    import distributed
    import numba

    return (f"Python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}"
            f", dask {dask.__version__}, distributed {distributed.__version__}")


# ---------------------------------------------------------------------------
# part 1: the out-of-core product (each run in its own process)
# ---------------------------------------------------------------------------
CHILD = r"""
import json, os, resource, sys, time
import numpy as np

def status(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return -1

mode, adir, n, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
import tropical
from tropical import parallel
import dask
w = np.random.default_rng(1).standard_normal((256, 256)).astype(np.float32)
tropical.matmul(w, w)                                   # warm-up: kernel loaded from cache
a_path, b_path, c_path = (os.path.join(adir, f) for f in ("a.bin", "b.bin", "c.bin"))
res = {"mode": mode}
if mode == "ooc":
    dask_threads, numba_threads = (int(v) for v in threads.split("x"))
    parallel.matmul(w, w, chunks=128, scheduler="threads").compute(scheduler="threads")
    A = np.memmap(a_path, dtype=np.float32, mode="r", shape=(n, n))
    B = np.memmap(b_path, dtype=np.float32, mode="r", shape=(n, n))
    C = np.memmap(c_path, dtype=np.float32, mode="w+", shape=(n, n))
    res["rss_before"] = status("VmRSS")
    with dask.config.set(num_workers=dask_threads):
        res["chunks"] = parallel.plan_chunks(n, n, n, np.float32, workers=dask_threads)
        t = time.perf_counter()
        parallel.matmul(A, B, out=C, scheduler="threads",
                        numba_threads="auto" if numba_threads * dask_threads <= os.cpu_count()
                        else numba_threads)
        res["seconds"] = time.perf_counter() - t
    del C
else:
    res["rss_before"] = status("VmRSS")
    t = time.perf_counter()
    A = np.fromfile(a_path, dtype=np.float32).reshape(n, n)
    B = np.fromfile(b_path, dtype=np.float32).reshape(n, n)
    res["load_seconds"] = time.perf_counter() - t
    t = time.perf_counter()
    C = tropical.matmul(A, B)
    res["seconds"] = time.perf_counter() - t
    del A, B
    if os.path.exists(c_path):
        same = True
        with open(c_path, "rb") as fh:
            for r0 in range(0, n, 1024):
                rows = min(1024, n - r0)
                blk = np.frombuffer(fh.read(rows * n * 4), dtype=np.float32).reshape(rows, n)
                same &= bool(np.array_equal(blk, C[r0:r0 + rows]))
        res["equal_to_ooc"] = same
res["vmhwm"] = status("VmHWM")
res["ru_maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print("RESULT " + json.dumps(res))
"""


def write_inputs(adir, n, seed=0):
    rng = np.random.default_rng(seed)
    for name in ("a.bin", "b.bin"):
        with open(os.path.join(adir, name), "wb") as fh:
            for r0 in range(0, n, 512):
                rows = min(512, n - r0)
                fh.write(rng.standard_normal((rows, n), dtype=np.float32).tobytes())


def run_child(mode, adir, n, threads, env_threads):
    env = dict(os.environ, NUMBA_NUM_THREADS=str(env_threads))
    out = subprocess.run([sys.executable, "-c", CHILD, mode, adir, str(n), threads],
                         capture_output=True, text=True, env=env, check=False)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{mode} run failed:\n{out.stdout}\n{out.stderr}")


def bench_threads(n, pairs, tmp_root):
    """Out-of-core runs alternating Dask x Numba threads = cores x 1 and 1 x cores."""
    adir = tempfile.mkdtemp(prefix="tropical-bench-parallel-", dir=tmp_root)
    cores = os.cpu_count() or 1
    times = {f"{cores}x1": [], f"1x{cores}": []}
    try:
        write_inputs(adir, n, seed=1)
        la0 = loadavg()
        for _ in range(pairs):
            for threads in times:
                r = run_child("ooc", adir, n, threads, cores)
                times[threads].append(r["seconds"])
                print(threads, r, flush=True)
    finally:
        shutil.rmtree(adir, ignore_errors=True)
    return times, f"{la0} -> {loadavg()}"


def bench_product(n, tmp_root):
    adir = tempfile.mkdtemp(prefix="tropical-bench-parallel-", dir=tmp_root)
    rows = []
    try:
        t = time.perf_counter()
        write_inputs(adir, n)
        print(f"inputs written ({time.perf_counter() - t:.1f} s)", flush=True)
        cores = os.cpu_count() or 1
        plan = [("ooc", f"{cores}x1"), ("inmem", "-"), ("ooc", f"1x{cores}")]
        for mode, threads in plan:
            la0 = loadavg()
            r = run_child(mode, adir, n, threads, cores)
            r["threads"] = threads
            r["load"] = f"{la0} -> {loadavg()}"
            print(r, flush=True)
            rows.append(r)
    finally:
        shutil.rmtree(adir, ignore_errors=True)
    return rows


# ---------------------------------------------------------------------------
# part 2: the sweep
# ---------------------------------------------------------------------------
def check_one(eps, npoints):
    import tropical

    r = tropical.check(str(MODEL), eps=[eps], npoints=npoints)
    return bool(r.ok)


def bench_sweep(npoints, repeats=2):
    import logging

    from distributed import Client, LocalCluster

    import tropical
    from tropical import parallel

    eps = np.logspace(0, -6, 64).tolist()
    grid = {"eps": eps, "npoints": [npoints]}
    check_one(1.0, npoints)                                  # warm-up here
    t = time.perf_counter()
    cluster = LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                           dashboard_address=None, host="127.0.0.1",
                           silence_logs=logging.ERROR, env={"NUMBA_NUM_THREADS": "1"})
    client = Client(cluster, set_as_default=False)
    startup = time.perf_counter() - t
    try:
        parallel.sweep(check_one, {"eps": eps[:4], "npoints": [npoints]}, client=client)  # warm-up
        import numba

        serial, serial1, local, dist = [], [], [], []
        oks = {}
        la0 = loadavg()
        for _ in range(repeats):
            t = time.perf_counter()
            oks["serial"] = [check_one(e, npoints) for e in eps]
            serial.append(time.perf_counter() - t)
            old = numba.get_num_threads()
            numba.set_num_threads(1)
            t = time.perf_counter()
            oks["serial, 1 thread"] = [check_one(e, npoints) for e in eps]
            serial1.append(time.perf_counter() - t)
            numba.set_num_threads(old)
            t = time.perf_counter()
            r = parallel.sweep(check_one, grid, progress=False)
            local.append(time.perf_counter() - t)
            oks["sweep, serial"] = [r.results[q] for q in range(64)]
            t = time.perf_counter()
            r = parallel.sweep(check_one, grid, client=client, progress=False)
            dist.append(time.perf_counter() - t)
            oks["sweep, cluster"] = [r.results[q] for q in range(64)]
        la1 = loadavg()
    finally:
        client.close()
        cluster.close()
    agree = oks["serial"] == oks["serial, 1 thread"] == oks["sweep, serial"] == \
        oks["sweep, cluster"]
    return dict(startup=startup, serial=serial, serial1=serial1, local=local, dist=dist,
                load=f"{la0} -> {la1}", agree=agree, all_ok=all(oks["serial"]), npoints=npoints,
                version=tropical.__version__)


# ---------------------------------------------------------------------------
def parallel_plan(n, workers):
    from tropical.parallel import plan_chunks

    return plan_chunks(n, n, n, np.float32, workers=workers)[0]


def gib(x):
    return f"{x / 2**30:.2f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=16384)
    ap.add_argument("--npoints", type=int, default=1024)
    ap.add_argument("--tmp", default="/tmp")
    ap.add_argument("--skip-product", action="store_true")
    ap.add_argument("--skip-sweep", action="store_true")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--thread-pairs", type=int, default=3,
                    help="alternating out-of-core runs per threads setting (0: skip)")
    ap.add_argument("--thread-n", type=int, default=8192)
    args = ap.parse_args()
    lines = ["# tropical.parallel benchmark", "",
             f"Machine: {cpu_name()}, {os.cpu_count()} cores; {versions()}. "
             f"Load average at start: {loadavg()} (the machine is shared with other jobs: "
             "compare ratios within one run).", ""]
    if not args.skip_product:
        n = args.n
        rows = bench_product(n, args.tmp)
        size = n * n * 4
        inmem = next(r for r in rows if r["mode"] == "inmem")
        lines += [f"## Out-of-core max-plus product, {n} x {n} float32 (each input "
                  f"{gib(size)} GiB)", "",
                  "Inputs and output are raw files in /tmp opened as `np.memmap`; "
                  "`tropical.parallel.matmul(A, B, out=C, scheduler=\"threads\")` with the "
                  "default memory budget (512 MiB), against `tropical.matmul(A, B)` on the "
                  "arrays read into memory (reading time reported separately, not in the "
                  "ratio). Each run is a fresh process: peak RSS is its `VmHWM` "
                  "(`ru_maxrss` agrees); RSS before is after imports and a warm-up product. "
                  "Threads: Dask threads x Numba threads per task.", "",
                  "| run | threads | blocks | seconds | x in-memory | G pairs/s | RSS before GiB "
                  "| peak RSS GiB | ru_maxrss GiB | load avg (before -> after) |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            label = "out-of-core (memmap -> memmap)" if r["mode"] == "ooc" else \
                f"in-memory kernel (+{r['load_seconds']:.1f} s reading)"
            blocks = "x".join(str(b) for b in r["chunks"][:1]) if "chunks" in r else "-"
            ratio = r["seconds"] / inmem["seconds"]
            lines.append(f"| {label} | {r['threads']} | {blocks} | {r['seconds']:.1f} | "
                         f"{ratio:.2f} | {n**3 / r['seconds'] / 1e9:.1f} | "
                         f"{gib(r['rss_before'])} | {gib(r['vmhwm'])} | {gib(r['ru_maxrss'])} | "
                         f"{r['load']} |")
        ooc_peak = max(r["vmhwm"] for r in rows if r["mode"] == "ooc")
        lines += ["",
                  f"Out-of-core results equal the in-memory product bit for bit: "
                  f"{'yes' if inmem.get('equal_to_ooc') else 'NO'} (checked against the "
                  f"last out-of-core output). Peak resident memory of the out-of-core runs: "
                  f"{gib(ooc_peak)} GiB, {'below' if ooc_peak < size else 'NOT below'} the "
                  f"size of one input ({gib(size)} GiB); the in-memory run holds both inputs "
                  f"and the output.", ""]
    if args.thread_pairs > 0:
        times, load = bench_threads(args.thread_n, args.thread_pairs, args.tmp)
        n = args.thread_n
        lines += [f"## Threads per task: Dask threads x Numba threads, out-of-core {n} x {n} "
                  f"float32", "",
                  f"The same out-of-core product, the two settings run alternately "
                  f"({args.thread_pairs} runs each, fresh processes; load average {load}).", "",
                  "| Dask x Numba threads | blocks | seconds (in run order) | best | "
                  "best / best of the other |", "|---|---|---|---|---|"]
        (k1, t1), (k2, t2) = times.items()
        for k, ts, other in ((k1, t1, t2), (k2, t2, t1)):
            d = int(k.split("x")[0])
            b = parallel_plan(n, d)
            lines.append(f"| {k} | {b} | {', '.join(f'{v:.1f}' for v in ts)} | {min(ts):.1f} | "
                         f"{min(ts) / min(other):.2f} |")
        lines.append("")
    if not args.skip_sweep:
        s = bench_sweep(args.npoints)
        best = {k: min(s[k]) for k in ("serial", "serial1", "local", "dist")}
        lines += ["## Sweep: 64 diagram checks on a 2-worker LocalCluster", "",
                  f"`tropical.check(default_model.npz, eps=[e], npoints={s['npoints']})` for 64 "
                  f"values of eps log-spaced from 1 to 1e-6; best of {len(s['serial'])} "
                  "alternating runs each; the cluster (2 processes x 1 thread, "
                  "NUMBA_NUM_THREADS=1 each) is started once and warmed up before timing.", "",
                  "| run | seconds (all runs) | best | x serial loop |", "|---|---|---|---|"]
        for key, label in (("serial", "serial loop (Numba default threads)"),
                           ("serial1", "serial loop, 1 Numba thread"),
                           ("local", "`parallel.sweep`, no client (serial)"),
                           ("dist", "`parallel.sweep(client=...)`, 2 workers")):
            lines.append(f"| {label} | {', '.join(f'{v:.2f}' for v in s[key])} | "
                         f"{best[key]:.2f} | {best[key] / best['serial']:.2f} |")
        lines += ["", f"Cluster start-up: {s['startup']:.1f} s (not in the table). Load average "
                      f"during the sweeps: {s['load']}. Every check passed: "
                      f"{'yes' if s['all_ok'] else 'NO'}; the three runs agree: "
                      f"{'yes' if s['agree'] else 'NO'}.", ""]
    lines.append(f"Load average at the end: {loadavg()}.")
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
