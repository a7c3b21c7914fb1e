"""Exact tropical form of small ReLU networks: the 2-D hull with flip repair vs LP only.

``Network.to_tropical()`` simplifies after every product: it keeps exactly the
monomials that are vertices of the upper hull. In two variables the hull comes
from qhull's proposal, verified exactly; products are Minkowski sums whose
lifted points are coplanar up to rounding, where qhull's proposal fails the
exact check. Before the flip repair every such polynomial fell back to the
exact LP path (Fractions). This script times both in one run, on the same
fixed networks, and checks that they return the same monomials.

Run: ``python benchmarks/bench_to_tropical.py [--out benchmarks/results/to_tropical.md]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np


def network(depth, width, d, seed):
    from tropical.nets import Network

    rng = np.random.default_rng(seed)
    ws = [(rng.standard_normal((width, d)), rng.standard_normal(width))]
    for _ in range(depth - 1):
        ws.append((rng.standard_normal((width, width)), rng.standard_normal(width)))
    ws.append((rng.standard_normal((1, width)), rng.standard_normal(1)))
    return Network.from_weights(ws)


def timed(net, repair):
    import tropical._hull as hull

    saved = hull._flip_to_upper
    if not repair:
        hull._flip_to_upper = lambda *args, **kwargs: None
    try:
        t = time.perf_counter()
        F = net.to_tropical()
        return time.perf_counter() - t, F
    finally:
        hull._flip_to_upper = saved


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="write the markdown table here")
    ap.add_argument("--cases", default="2x4,2x5,2x6", help="depth x width list (2 inputs)")
    args = ap.parse_args(argv)
    lines = ["# Exact tropical form of ReLU networks (2 inputs): flip repair vs LP only", "",
             f"machine: {platform.machine()}, {os.cpu_count()} cores, shared; Python "
             f"{platform.python_version()}, numpy {np.__version__}; load average at start: "
             f"{' / '.join(open('/proc/loadavg').read().split()[:3])}", "",
             "| network | monomials (G, H) | flip repair (s) | LP only (s) | ratio | same result |",
             "|---|---|---|---|---|---|"]
    for case in args.cases.split(","):
        depth, width = map(int, case.split("x"))
        net = network(depth, width, 2, seed=1)
        t_new, F = timed(net, True)
        t_old, F_old = timed(net, False)
        same = all(np.array_equal(getattr(getattr(F, part), attr), getattr(getattr(F_old, part), attr))
                   for part in ("numerator", "denominator") for attr in ("exponents", "coefficients"))
        row = (f"| depth {depth}, width {width} | ({len(F.numerator.coefficients)}, {len(F.denominator.coefficients)}) | "
               f"{t_new:.2f} | {t_old:.2f} | {t_old / t_new:.1f}x | {same} |")
        print(row, file=sys.stderr, flush=True)
        lines.append(row)
    lines += ["", f"load average after: {' / '.join(open('/proc/loadavg').read().split()[:3])}"]
    text = "\n".join(lines) + "\n"
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)
    print(text)


if __name__ == "__main__":
    main()
