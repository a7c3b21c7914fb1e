"""The ``tropical`` command line: ``check``, ``warmup`` and ``info``."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _cmd_check(args) -> int:
    from . import _selfcheck

    W, b, eps_grid = _selfcheck.load_model(args.model)
    if args.eps:
        eps_grid = args.eps
    source = args.model or "bundled default model"
    if not args.json:
        print(f"tropical check: LSE layer f(x) = LSE_eps(W x + b) from {source}, "
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
        wide = "-prefer-256-bit" in os.environ.get("NUMBA_CPU_FEATURES", "")
        print(f"512-bit vectors preferred: {'yes' if wide else 'no'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tropical", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("check", help="check the semiring identities on a model")
    p.add_argument("--model", help=".npz with arrays W (N, d) and b (N,); default: bundled model")
    p.add_argument("--eps", type=float, nargs="+", help="temperatures to check")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_cmd_check)
    p = sub.add_parser("warmup", help="compile or load every kernel")
    p.set_defaults(func=_cmd_warmup)
    p = sub.add_parser("info", help="versions and run-time settings")
    p.set_defaults(func=_cmd_info)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "eps", None):
        from ._validate import check_eps

        try:
            args.eps = [check_eps(e, "--eps") for e in args.eps]
        except (TypeError, ValueError) as exc:
            print(f"tropical: error: {exc}", file=sys.stderr)
            return 2
    try:
        return args.func(args)
    except BrokenPipeError:  # e.g. `tropical check --json | head`
        sys.stderr.close()
        return 0
    except (OSError, ValueError) as exc:
        print(f"tropical: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
