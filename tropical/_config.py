"""Run-time switches of the engine, read once from the environment.

``TROPICAL_JIT``
    ``1`` (default) runs the Numba kernels; ``0`` runs their plain-numpy twins
    in :mod:`tropical.kernels.reference` instead (a debugging path and an
    oracle). Read when the first kernel is requested.
``TROPICAL_WIDE_VECTORS``
    ``1`` (default) lets LLVM use 512-bit vector registers on CPUs that have
    them. LLVM's tuning for recent Intel CPUs prefers 256-bit vectors
    (``+prefer-256-bit``), which halves the throughput of the max-plus kernels.
    When this switch is on, Numba has not been imported yet and the user has
    not set ``NUMBA_CPU_FEATURES`` themselves, :func:`load_numba` sets
    ``NUMBA_CPU_FEATURES`` to the host's features with ``-prefer-256-bit``
    appended before importing Numba. This applies to every Numba function
    compiled in the process, and the setting is part of Numba's cache key.
    ``0`` leaves Numba's defaults alone.
"""

from __future__ import annotations

import os
import sys

__all__ = ["jit_enabled", "load_numba", "wide_vectors_requested"]


def _flag(name: str, default: str) -> bool:
    value = os.environ.get(name, default).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"environment variable {name}={value!r}: expected 0 or 1")


def jit_enabled() -> bool:
    """Whether the Numba kernels run (``TROPICAL_JIT`` is not ``0``)."""
    return _flag("TROPICAL_JIT", "1")


def wide_vectors_requested() -> bool:
    """Whether ``TROPICAL_WIDE_VECTORS`` asks for 512-bit vectors."""
    return _flag("TROPICAL_WIDE_VECTORS", "1")


def _wide_vector_features() -> str | None:
    """Host CPU features with ``-prefer-256-bit``, or None where irrelevant."""
    import llvmlite.binding as llvm

    features = llvm.get_host_cpu_features().flatten()
    if "+avx512f" not in features.split(","):
        return None
    return features + ",-prefer-256-bit"


def load_numba():
    """Import Numba, first applying ``TROPICAL_WIDE_VECTORS`` if it still can.

    Returns the ``numba`` module.
    """
    if "numba" not in sys.modules and "NUMBA_CPU_FEATURES" not in os.environ:
        if wide_vectors_requested():
            features = _wide_vector_features()
            if features is not None:
                os.environ["NUMBA_CPU_FEATURES"] = features
    import numba

    return numba
