"""tropical: one family of semirings, from log-sum-exp (eps > 0) to max-plus (eps = 0).

The public functions live here; submodules load on first use so that
``import tropical`` imports neither Numba, SymPy, SciPy, NetworkX nor
Matplotlib. ``tropical.warmup()`` compiles (or loads from Numba's cache)
every kernel up front. ``TROPICAL_JIT=0`` runs the plain-numpy twins of the
kernels instead (see :mod:`tropical._config`).

Examples
--------
>>> import tropical
>>> tropical.matmul([[0.0, 2.0]], [[1.0], [0.0]])
array([[2.]])
>>> tropical.lse([0.0, 0.0], eps=0.0), tropical.lse([0.0, 0.0], eps=1.0)
(np.float64(0.0), np.float64(0.6931471805599453))
"""

from __future__ import annotations

import importlib

from ._version import __version__

# public name -> submodule that defines it
_LAZY = {
    "matmul": "_ops",
    "matvec": "_ops",
    "lse": "_ops",
    "softmax": "_ops",
    "entropy": "_ops",
    "power": "_ops",
    "star": "_ops",
    "identity": "_ops",
    "Tropical": "semiring",
    "Semiring": "semiring",
    "maxplus": "semiring",
    "minplus": "semiring",
    "logsemiring": "semiring",
    "warmup": "_warmup",
    "TropicalPolynomial": "polynomial",
    "TropicalRational": "polynomial",
    "parse": "_parse",
    "Network": "nets",
    "Regions": "regions",
    "ParseError": "_parse",
    "LSELayer": "views.network",
    "attention": "views.network",
    "HopfCole": "views.pde",
    "EntropicLP": "views.convex",
    "check": "diagram",
    "DiagramReport": "diagram",
}
_SUBMODULES = {"semiring", "kernels", "polynomial", "geometry", "symbolic", "linalg", "nets", "regions", "views",
               "diagram", "attribution", "robustness", "control", "fit", "experiments", "parallel"}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'tropical' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)
