"""Benchmark of tropical.linalg (a script, not a test).

1. Eigenvalue (maximum cycle mean) of random sparse matrices, n = 10^3, 10^4,
   10^5 with 8 arcs per node (integer weights in [-1000, 1000], uniform random
   heads): ``tropical.linalg.eigenvalue`` with Howard and with Karp, against a
   networkx baseline - bisection on lambda with negative-cycle detection
   (``networkx.negative_edge_cycle`` on the weights ``lambda - A``), which
   networkx needs because it has no mean-cycle function. The baseline
   bisects to an absolute width of 1e-3 (about 21 rounds from the bracket
   [min A, max A]); it runs on the largest strongly connected component, which
   holds the optimum in these random instances (checked: same value).
2. Kleene star of dense random matrices without positive cycles (weights
   ``-rand``) for n = 256 .. 2048: ``tropical.linalg.star`` against
   ``networkx.floyd_warshall_numpy`` (min-plus on ``-A``).

Times are medians of ``reps`` runs after one warm-up call (compile/cache
load excluded; the first-call time is reported separately). Slow baselines
run once, or are skipped above a size whose time is extrapolated (said so).

Usage::

    python benchmarks/bench_linalg.py [--quick] [--out benchmarks/results/linalg.md]
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def median_time(fn, reps):
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def random_sparse(n, rng, per_node=8):
    import scipy.sparse as sp

    m = per_node * n
    r = rng.integers(0, n, m)
    c = rng.integers(0, n, m)
    w = rng.integers(-1000, 1001, m).astype(float)
    return sp.coo_matrix((w, (r, c)), shape=(n, n)).tocsr(), (r, c, w)


def nx_bisection(r, c, w, n, lo, hi, width=1e-3):
    """Max cycle mean by bisection: lambda >= mu iff A - mu has a cycle of weight >= 0."""
    import networkx as nx

    G = nx.DiGraph()
    G.add_nodes_from(range(n))
    rounds = 0
    while hi - lo > width:
        mu = 0.5 * (lo + hi)
        G.clear_edges()
        # a cycle of weight > 0 in A - mu  <=>  a negative cycle in mu - A
        G.add_weighted_edges_from(zip(r.tolist(), c.tolist(), (mu - w).tolist()))
        if nx.negative_edge_cycle(G):
            lo = mu
        else:
            hi = mu
        rounds += 1
    return 0.5 * (lo + hi), rounds


def bench_eigenvalue(sizes, rng, karp_max, nx_max):
    from scipy.sparse.csgraph import connected_components

    from tropical import linalg

    rows = []
    first = {}
    A0, _ = random_sparse(200, rng)
    for method in ("howard", "karp"):
        t0 = time.perf_counter()
        linalg.eigenvalue(A0, method=method)
        first[method] = time.perf_counter() - t0
    for n in sizes:
        A, (r, c, w) = random_sparse(n, rng)
        row = {"n": n, "m": A.nnz}
        reps = 5 if n <= 10**4 else 3
        row["howard"] = median_time(lambda: linalg.eigenvalue(A), reps)
        lam = linalg.eigenvalue(A)
        row["lambda"] = lam
        if n <= karp_max:
            row["karp"] = median_time(lambda: linalg.eigenvalue(A, method="karp"), 1)
            assert linalg.eigenvalue(A, method="karp") == lam
        if n <= nx_max:
            # restrict the baseline to the component containing the optimal cycle
            _, lab = connected_components(A, directed=True, connection="strong")
            comp_sizes = np.bincount(lab)
            big = int(np.argmax(comp_sizes))
            keep = (lab[r] == big) & (lab[c] == big)
            nodes = np.flatnonzero(lab == big)
            relabel = np.full(n, -1)
            relabel[nodes] = np.arange(nodes.size)
            rr, cc, ww = relabel[r[keep]], relabel[c[keep]], w[keep]
            t0 = time.perf_counter()
            est, rounds = nx_bisection(rr, cc, ww, nodes.size, float(w.min()), float(w.max()))
            row["nx"] = time.perf_counter() - t0
            row["nx_rounds"] = rounds
            row["nx_value"] = est
        rows.append(row)
        print(row, flush=True)
    return rows, first


def bench_star(sizes, rng, nx_max):
    import networkx as nx

    from tropical import linalg

    rows = []
    linalg.star(-rng.random((8, 8)))
    for n in sizes:
        A = -rng.random((n, n)) * 10
        reps = 3 if n <= 1024 else 1
        row = {"n": n, "tropical": median_time(lambda: linalg.star(A), reps)}
        if n <= nx_max:
            G = nx.from_numpy_array(-A, create_using=nx.DiGraph)
            t0 = time.perf_counter()
            D = nx.floyd_warshall_numpy(G)
            row["nx"] = time.perf_counter() - t0
            ok = np.allclose(-D, linalg.star(A), atol=1e-9)
            row["agree"] = bool(ok)
        rows.append(row)
        print(row, flush=True)
    return rows


def versions():
    import networkx
    import numba
    import scipy

    import tropical

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    return (f"{cpu}, {os.cpu_count()} logical cores (shared with other jobs: timings are "
            f"noisy); Python {platform.python_version()}, numpy {np.__version__}, "
            f"scipy {scipy.__version__}, networkx {networkx.__version__}, "
            f"numba {numba.__version__}, tropical {tropical.__version__}")


def fmt(x):
    if x is None:
        return "-"
    return f"{x:.3g} s" if x >= 0.01 else f"{x * 1e3:.3g} ms"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "linalg.md"))
    ap.add_argument("--karp-max", type=int, default=10**4)
    ap.add_argument("--nx-max", type=int, default=10**4)
    ap.add_argument("--star-nx-max", type=int, default=1024)
    args = ap.parse_args()
    rng = np.random.default_rng(20240601)
    eig_sizes = [10**3, 10**4] if args.quick else [10**3, 10**4, 10**5]
    star_sizes = [256, 512] if args.quick else [256, 512, 1024, 2048]
    eig, first = bench_eigenvalue(eig_sizes, rng, args.karp_max, args.nx_max)
    star = bench_star(star_sizes, rng, args.star_nx_max)

    lines = ["# tropical.linalg benchmarks", "",
             f"Machine: {versions()}.", "",
             "Produced by `python benchmarks/bench_linalg.py`. Medians after a warm-up call.", "",
             "## Eigenvalue (maximum cycle mean) of random sparse matrices, 8 arcs per node", "",
             "Integer weights in [-1000, 1000]. Baseline: bisection on lambda with "
             "`networkx.negative_edge_cycle` on `lambda - A` (networkx has no mean-cycle "
             "function), to a width of 1e-3, on the largest strongly connected component "
             "(which holds the optimum in these instances: the bisection brackets the same "
             "value). Karp is O(n m): skipped above n = 10^4 (extrapolated: about 100x "
             "its n = 10^4 time at n = 10^5); the networkx baseline likewise above "
             "`--nx-max`.", "",
             "| n | arcs | lambda | Howard | Karp | networkx bisection (rounds) | nx / Howard | Karp / Howard |",
             "|---|---|---|---|---|---|---|---|"]
    for r in eig:
        nx_t, karp, how = r.get("nx"), r.get("karp"), r["howard"]
        nx_cell = f"{fmt(nx_t)} ({r['nx_rounds']})" if nx_t else "skipped"
        nx_ratio = f"{nx_t / how:.0f}x" if nx_t else "-"
        karp_ratio = f"{karp / how:.0f}x" if karp else "-"
        lines.append(f"| {r['n']:,} | {r['m']:,} | {r['lambda']:g} | {fmt(how)} | "
                     f"{fmt(karp) if karp else 'skipped'} | {nx_cell} | {nx_ratio} | "
                     f"{karp_ratio} |")
    lines += ["", f"First call (compile or cache load, n = 200): Howard {fmt(first['howard'])}, "
              f"Karp {fmt(first['karp'])}.", "",
              "## Kleene star of dense n x n matrices (no positive cycle)", "",
              "| n | tropical.linalg.star | networkx.floyd_warshall_numpy | ratio | agree |",
              "|---|---|---|---|---|"]
    for r in star:
        if "nx" in r:
            lines.append(f"| {r['n']} | {fmt(r['tropical'])} | {fmt(r['nx'])} | "
                         f"{r['nx'] / r['tropical']:.1f}x | {r['agree']} |")
        else:
            lines.append(f"| {r['n']} | {fmt(r['tropical'])} | skipped | - | - |")
    lines += ["", f"networkx at n > {args.star_nx_max} is skipped (`--star-nx-max`; "
              "Floyd-Warshall is O(n^3): about 8x its n = 1024 time at n = 2048). "
              "The star kernel is a parallel (prange) Floyd-Warshall-Kleene loop; "
              "other jobs shared the 2 cores, so ratios vary between runs."]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
