"""Run-time switches of the engine, read once from the environment.

``TROPICAL_JIT``
    ``1`` (default) runs the Numba kernels; ``0`` runs their plain-numpy twins
    in :mod:`tropical.kernels.reference` instead (a debugging path and an
    oracle). Read when the first kernel is requested.
``TROPICAL_WIDE_VECTORS``
    ``1`` (default) lets LLVM use 512-bit vector registers on CPUs that have
    them. LLVM's tuning for recent Intel CPUs prefers 256-bit vectors
    (``+prefer-256-bit``), which halves the throughput of the max-plus kernels.
    When this switch is on and the user has not set ``NUMBA_CPU_FEATURES``
    themselves, :func:`load_numba` sets ``NUMBA_CPU_FEATURES`` to the host's
    features with ``-prefer-256-bit`` appended, before Numba compiles anything
    (whether or not ``numba`` was already imported). This applies to every
    Numba function compiled in the process, and the setting is part of Numba's
    cache key. Where Numba compiled code before the first tropical kernel
    loaded, it is too late: a ``RuntimeWarning`` says so. ``0`` leaves Numba's
    defaults alone.
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


def _codegen_started(numba) -> bool:
    """Whether Numba's CPU code generator exists (its CPU features are then fixed).

    Numba creates its CPU target context, and with it the LLVM target machine,
    on the first compilation or cache load, not on import. Where Numba's layout
    is not the expected one, assume it is too late.
    """
    try:
        from numba.core.registry import cpu_target
    except ImportError:  # pragma: no cover - a Numba without this module
        return True
    return "_toplevel_target_context" in vars(cpu_target)


_wide_checked = False


def _apply_wide_vectors() -> None:
    """Set ``NUMBA_CPU_FEATURES`` for 512-bit vectors while it still takes effect.

    Runs once per process. Before Numba is imported, setting the environment
    variable is enough. After ``import numba`` (a notebook often imports it
    first) but before Numba compiled or loaded anything, Numba's configuration
    is re-read from the environment. After that the target machine exists and
    its features cannot change: the kernels then use LLVM's default vector
    preference, and a ``RuntimeWarning`` says so (their results may differ in
    the last bits, and some run up to 1.5x slower).
    """
    global _wide_checked
    if _wide_checked:
        return
    _wide_checked = True
    if "NUMBA_CPU_FEATURES" in os.environ or not wide_vectors_requested():
        return
    features = _wide_vector_features()
    if features is None:
        return
    numba = sys.modules.get("numba")
    if numba is not None and _codegen_started(numba):
        import warnings

        warnings.warn(
            "TROPICAL_WIDE_VECTORS: Numba compiled code before tropical loaded its "
            "kernels, so they keep LLVM's 256-bit vector preference (some run up to "
            "1.5x slower, and results may differ in the last bits from a process "
            "where tropical came first). Call a tropical kernel before compiling "
            "your own Numba functions, or set NUMBA_CPU_FEATURES (or "
            "TROPICAL_WIDE_VECTORS=0) to choose explicitly.",
            RuntimeWarning, stacklevel=3)
        return
    os.environ["NUMBA_CPU_FEATURES"] = features
    if numba is not None:
        from numba.core import config

        config.reload_config()


def load_numba():
    """Import Numba, first applying ``TROPICAL_WIDE_VECTORS`` if it still can.

    Returns the ``numba`` module. See :func:`_apply_wide_vectors` for when the
    switch can still take effect.
    """
    _apply_wide_vectors()
    import numba

    return numba
