"""Benchmark of the diagram checker (not a test).

1. ``tropical check`` on the bundled default model, in a fresh process, with a
   warm Numba cache (one untimed run first): wall time of the whole command,
   5 runs, median.
2. ``tropical.check`` on an LSE layer with N = 10^4 terms, d = 16, 10^4 points,
   20 eps values, against plain numpy evaluation of the same paths: for every
   eps the network value and Gibbs weights (max-shifted LSE and softmax of
   ``W x + b``), the PDE value and Gibbs weights (Hopf-Cole with
   ``|x - y_j|^2`` by the BLAS expansion), the convex value from the closed-form
   Gibbs vector (``<pi, z> + eps H(pi)``), and the eps = 0 nodes (max and min),
   in blocks of 1024 points; no bounds, no certificates, no checks.
   The baseline runs in two halves (the first half of the eps values before
   the checker, the second half after it), so that the two are measured
   alternately under the same load; its time is the sum of the halves.
   ``--baseline-eps K`` times the baseline on K eps values only (half before,
   half after) and extrapolates linearly to all of them (it is linear in the
   number of eps values: the eps-independent part is recomputed per block
   and counted once per half).

Usage: ``python benchmarks/bench_diagram.py [--quick] [--points P]
[--baseline-eps K] [--no-cli]``; writes ``benchmarks/results/diagram.md``.
``--cli-only`` re-measures part 1 alone and replaces its section of the
existing results file.
Progress goes to stderr; Ctrl-C writes what was measured so far.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results" / "diagram.md"


def say(msg):
    print(msg, file=sys.stderr, flush=True)


def cli_wall(repeats=5):
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


def numpy_paths(W, b, X, grid, t, chunk=1024, label="numpy"):
    """Plain numpy: every node value and Gibbs vector, same blocks, no checks."""
    y = 2 * t * W
    g = -b - t * (W ** 2).sum(1)
    yy = (y ** 2).sum(1)
    nblk = (len(X) + chunk - 1) // chunk
    for ib, s in enumerate(range(0, len(X), chunk)):
        Xs = X[s:s + chunk]
        Z = Xs @ W.T + b
        m = Z.max(1, keepdims=True)                  # f_0 (tropical, LP)
        A = g + ((Xs ** 2).sum(1)[:, None] - 2 * Xs @ y.T + yy) / (4 * t)
        a0 = A.min(1, keepdims=True)                 # u_0 (Hopf-Lax)
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
        say(f"  {label}: block {ib + 1}/{nblk}")


def main(quick=False, points=None, baseline_eps=None, cli=True):
    import numba
    import scipy

    import tropical
    from tropical.diagram import check

    lines = []
    load0 = os.getloadavg()
    lines.append(f"machine: {platform.machine()}, {os.cpu_count()} cores "
                 f"(`{platform.processor() or 'unknown cpu'}`), shared with other agents; "
                 f"NUMBA_NUM_THREADS={numba.get_num_threads()}")
    lines.append(f"Python {platform.python_version()}, numpy {np.__version__}, "
                 f"scipy {scipy.__version__}, numba {numba.__version__}, "
                 f"tropical {tropical.__version__}, "
                 f"TROPICAL_JIT={os.environ.get('TROPICAL_JIT', '1')}")
    lines.append(f"load average at start: {load0[0]:.2f} / {load0[1]:.2f} / {load0[2]:.2f}")
    results = {}
    try:
        if cli:
            say("tropical check (CLI), warm cache ...")
            times, rc = cli_wall(5)
            results["cli"] = (times, rc, os.getloadavg()[0])
            say(f"  CLI wall times {['%.2f' % v for v in times]}")

        N, d, P, ne = (2000, 16, 2000, 20) if quick else (10_000, 16, 10_000, 20)
        if points:
            P = points
        rng = np.random.default_rng(0)
        W = rng.normal(size=(N, d))
        b = rng.normal(size=N)
        X = rng.normal(size=(P, d)) * 2
        grid = np.logspace(0, -6, ne)
        results["size"] = (N, d, P, ne)
        check((W, b), eps=grid[:2], x=X[:64], progress=False)  # compile/load the kernels
        if baseline_eps:
            sub = grid[np.unique(np.linspace(0, ne - 1, baseline_eps).round().astype(int))]
        else:
            sub = grid
        first, second = sub[: len(sub) // 2], sub[len(sub) // 2:]
        say(f"numpy baseline, first half ({len(first)} eps) ...")
        t0 = time.perf_counter()
        numpy_paths(W, b, X, first, 1.0, label="numpy 1/2")
        t_np1 = time.perf_counter() - t0
        results["np1"] = (t_np1, len(first), os.getloadavg()[0])
        say(f"  {t_np1:.1f} s")
        say("tropical.check ...")
        t0 = time.perf_counter()
        report = check((W, b), eps=grid, x=X, progress=True)
        t_chk = time.perf_counter() - t0
        results["check"] = (t_chk, report, os.getloadavg()[0])
        say(f"  {t_chk:.1f} s, ok={report.ok}, complete={report.complete}")
        say(f"numpy baseline, second half ({len(second)} eps) ...")
        t0 = time.perf_counter()
        numpy_paths(W, b, X, second, 1.0, label="numpy 2/2")
        t_np2 = time.perf_counter() - t0
        results["np2"] = (t_np2, len(second), os.getloadavg()[0])
        say(f"  {t_np2:.1f} s")
    except KeyboardInterrupt:
        say("interrupted: writing what was measured")
        lines.append("")
        lines.append("**INTERRUPTED**: only the parts below were measured.")
    write(lines, results)


def write(lines, results):
    if "cli" in results:
        times, rc, load = results["cli"]
        lines.append("")
        lines.append("## `tropical check` on the default model (warm cache, fresh process)")
        lines.append("")
        lines.append(f"exit status {rc}; wall times: " + ", ".join(f"{v:.2f} s" for v in times)
                     + f"; **median {statistics.median(times):.2f} s** "
                     f"(load average {load:.2f} after)")
    if "size" in results:
        N, d, P, ne = results["size"]
        lines.append("")
        lines.append(f"## Checker on N = {N}, d = {d}, {P} points, {ne} eps values")
        lines.append("")
        lines.append("| what | time | load average after |")
        lines.append("|---|---|---|")
        t_np = None
        if "np1" in results and "np2" in results:
            (a, na, la), (c, nc, lc) = results["np1"], results["np2"]
            t_np = (a + c) * ne / (na + nc)
            extra = "" if na + nc == ne else f", extrapolated from {na + nc} eps values"
            lines.append(f"| numpy baseline, first half ({na} eps, before the checker) | "
                         f"{a:.1f} s | {la:.2f} |")
            lines.append(f"| numpy baseline, second half ({nc} eps, after the checker) | "
                         f"{c:.1f} s | {lc:.2f} |")
            lines.append(f"| **numpy baseline, all {ne} eps{extra}** | **{t_np:.1f} s** | |")
        if "check" in results:
            t_chk, report, lchk = results["check"]
            lines.append(f"| **`tropical.check`** (all arrows, Gibbs weights, squares, rates) | "
                         f"**{t_chk:.1f} s** | {lchk:.2f} |")
            if t_np:
                lines.append(f"| **ratio checker / numpy** | **{t_chk / t_np:.2f}x** | |")
            lines.append("")
            lines.append(f"report: ok = {report.ok}, complete = {report.complete}, "
                         f"{len(report.rows)} rows, chunk = {report.info.get('chunk')} points; "
                         f"eps = 0 LP: {report.info.get('lp_eps0')}")
            lines.append("")
            lines.append("Where the checker's time goes (`report.info['seconds_by_view']`):")
            lines.append("")
            lines.append("| part | time | share |")
            lines.append("|---|---|---|")
            tot = sum(report.info["seconds_by_view"].values())
            for k, v in report.info["seconds_by_view"].items():
                lines.append(f"| {k} | {v:.1f} s | {100 * v / tot:.0f}% |")
            lines.append("")
            lines.append("```")
            lines.append(str(report))
            lines.append("```")
    lines.append("")
    lines.append(f"load average at end: {os.getloadavg()[0]:.2f}")
    OUT.write_text("# Diagram checker benchmark\n\n" + "\n".join(lines) + "\n")
    print(OUT.read_text())


def cli_only():
    say("tropical check (CLI), warm cache ...")
    load0 = os.getloadavg()[0]
    times, rc = cli_wall(5)
    head = "## `tropical check` on the default model (warm cache, fresh process)"
    body = (f"{head}\n\nexit status {rc}; wall times: " + ", ".join(f"{v:.2f} s" for v in times)
            + f"; **median {statistics.median(times):.2f} s** (load average {load0:.2f} before, "
            f"{os.getloadavg()[0]:.2f} after; measured separately, "
            f"{time.strftime('%H:%M UTC', time.gmtime())})\n")
    text = OUT.read_text() if OUT.exists() else "# Diagram checker benchmark\n"
    if head in text:
        i = text.index(head)
        j = text.find("\n## ", i + len(head))
        text = text[:i] + body + ("\n" + text[j + 1:] if j >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + body
    OUT.write_text(text)
    print(body)


if __name__ == "__main__":
    argv = sys.argv
    if "--cli-only" in argv:
        cli_only()
        sys.exit(0)
    pts = int(argv[argv.index("--points") + 1]) if "--points" in argv else None
    be = int(argv[argv.index("--baseline-eps") + 1]) if "--baseline-eps" in argv else None
    main(quick="--quick" in argv, points=pts, baseline_eps=be, cli="--no-cli" not in argv)
