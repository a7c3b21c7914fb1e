"""The ``tropical`` command line: ``check``, ``selfcheck``, ``warmup``, ``info``, ``regions``
and ``reproduce``."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _points_arg(value):
    """``--points``: a count (int >= 1) or a ``.npy`` file of shape (P, d)."""
    try:
        n = int(value)
    except ValueError:
        import numpy as np

        try:
            pts = np.load(value, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ValueError(f"--points {value!r}: neither a count nor a readable .npy ({exc})") \
                from None
        return None, pts
    if n < 1:
        raise ValueError(f"--points must be >= 1, got {n}")
    return n, None


def _cmd_check(args) -> int:
    from . import diagram

    model = diagram.load_model(args.model)
    npoints, pts = _points_arg(args.points) if args.points is not None else (256, None)
    if pts is not None and (pts.ndim != 2 or pts.shape[1] != model["W"].shape[1]):
        raise ValueError(f"--points: the array must have shape (P, {model['W'].shape[1]}), "
                         f"got {pts.shape}")
    kwargs = {"eps": args.eps, "x": pts, "npoints": npoints or 256}
    if args.t is not None:
        model["t"] = args.t
    report = diagram.check(model, **kwargs)
    if args.json:
        print(report.to_json())
    else:
        print(report)
    if args.plot:
        report.plot(args.plot)
        if not args.json:
            print(f"plot written to {args.plot}")
    if not report.complete:
        return 130
    return 0 if report.ok else 1


def _cmd_selfcheck(args) -> int:
    from . import _selfcheck

    W, b, eps_grid = _selfcheck.load_model(args.model)
    if args.eps:
        eps_grid = args.eps
    source = args.model or "bundled default model"
    if not args.json:
        print(f"tropical selfcheck: LSE layer f(x) = LSE_eps(W x + b) from {source}, "
              f"N={W.shape[0]} terms, d={W.shape[1]}")
    results = _selfcheck.run_checks(W, b, eps_grid)
    print(_selfcheck.report(results, as_json=args.json))
    return 0 if all(r.ok for r in results) else 1


def _cmd_warmup(args) -> int:
    from . import _warmup

    print("compiling or loading every kernel (float32 and float64):")
    times = _warmup.warmup(verbose=True)
    print(f"done in {sum(times.values()):.2f} s")
    return 0


def _cmd_info(args) -> int:
    import os
    import platform

    import numpy as np

    from . import __version__, _config

    print(f"tropical-engine {__version__}, Python {platform.python_version()}, numpy {np.__version__}")
    print(f"TROPICAL_JIT={'1' if _config.jit_enabled() else '0'}")
    if _config.jit_enabled():
        numba = _config.load_numba()
        print(f"numba {numba.__version__}, threads {numba.get_num_threads()}, "
              f"NUMBA_CACHE_DIR={os.environ.get('NUMBA_CACHE_DIR', '(default)')}")
        print(f"512-bit vectors preferred: {'yes' if _config.wide_vectors_active() else 'no'}")
    timeout = os.environ.get("OPENBLAS_THREAD_TIMEOUT")
    print("OPENBLAS_THREAD_TIMEOUT=" + (timeout if timeout else
          "(unset: OpenBLAS's idle threads spin ~65 ms after each call; on few cores "
          "4 lets the kernels that follow have them, see docs/kernels.md, Switches)"))
    return 0


def _cmd_reproduce(args) -> int:
    from . import experiments

    if args.list:
        for name in experiments.names():
            _, description, needs = experiments.EXPERIMENTS[name]
            missing = [m for m in needs if not _importable(m)]
            state = f"  (needs {', '.join(missing)}: not available)" if missing else ""
            print(f"{name:<12s} {description}{state}")
        return 0
    if args.name is None:
        raise ValueError("give an experiment NAME or --list; choose from "
                         + ", ".join(experiments.names()))
    if args.name not in experiments.EXPERIMENTS:
        raise ValueError(f"unknown experiment {args.name!r}; choose from "
                         + ", ".join(experiments.names()))
    for path, flag in ((args.out, "--out"), (args.plot, "--plot")):
        if path is not None:
            experiments._check_out_path(path, flag)
    result = experiments.run(args.name, quick=args.quick, out=args.out, plot=args.plot)
    print(result)
    for path, what in ((args.out, "JSON"), (args.plot, "plot")):
        if path:
            print(f"{what} written to {path}")
    if result.interrupted:
        return 130
    return 0 if result.ok else 1


def _importable(module) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tropical", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("check", help="check the commutative diagram of the four views")
    p.add_argument("--model", help=".npz with arrays W (N, d) and b (N,), optional y, g, t, eps; "
                                   "default: bundled model")
    p.add_argument("--eps", type=float, nargs="+", help="temperatures > 0 to sweep")
    p.add_argument("--points", help="number of sample points (default 256) or a .npy (P, d)")
    p.add_argument("--t", type=float, help="time of the PDE view (default: the model's, else 1)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--plot", metavar="FILE.png", help="plot the vertical gaps against eps")
    p.set_defaults(func=_cmd_check)
    p = sub.add_parser("selfcheck", help="check the kernel identities of the semiring on a model")
    p.add_argument("--model", help=".npz with arrays W (N, d) and b (N,); default: bundled model")
    p.add_argument("--eps", type=float, nargs="+", help="temperatures to check")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_cmd_selfcheck)
    p = sub.add_parser("warmup", help="compile or load every kernel")
    p.set_defaults(func=_cmd_warmup)
    p = sub.add_parser("info", help="versions and run-time settings")
    p.set_defaults(func=_cmd_info)
    p = sub.add_parser("regions", add_help=False,
                       help="enumerate the activation regions of a network in a box "
                            "(tropical regions MODEL --box H; --help for options)")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=_cmd_regions)
    p = sub.add_parser("reproduce", help="recompute the paper's checks with the engine "
                                         "(tropical reproduce --list)")
    p.add_argument("name", nargs="?", metavar="NAME", help="the experiment (see --list)")
    p.add_argument("--list", action="store_true", help="list the experiments and exit")
    p.add_argument("--quick", action="store_true", help="a small version (seconds)")
    p.add_argument("--out", metavar="FILE.json", help="write the numbers and claims as JSON")
    p.add_argument("--plot", metavar="FILE.png", help="write a figure (needs matplotlib)")
    p.set_defaults(func=_cmd_reproduce)
    return parser


def _cmd_regions(args) -> int:
    from .regions import regions_cli

    return regions_cli(args.rest)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["regions"]:  # its own parser, options and --help
        from .regions import regions_cli

        return regions_cli(argv[1:])
    args = build_parser().parse_args(argv)
    from ._validate import check_eps

    try:
        if getattr(args, "eps", None):
            args.eps = [check_eps(e, "--eps") for e in args.eps]
            if args.command == "check" and not any(e > 0 for e in args.eps):
                raise ValueError("--eps: give at least one temperature > 0 "
                                 "(eps = 0 is always checked)")
        if getattr(args, "t", None) is not None:
            if not check_eps(args.t, "--t") > 0:
                raise ValueError(f"--t must be > 0, got {args.t}")
    except (TypeError, ValueError) as exc:
        print(f"tropical: error: {exc}", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except BrokenPipeError:  # e.g. `tropical check --json | head`
        sys.stderr.close()
        return 0
    except (OSError, ValueError, TypeError, ImportError) as exc:
        msg = " ".join(str(exc).split()) or type(exc).__name__
        print(f"tropical: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
