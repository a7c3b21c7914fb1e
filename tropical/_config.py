"""Run-time switches of the engine, read once from the environment.

``TROPICAL_JIT``
    ``1`` (default) runs the Numba kernels; ``0`` runs their plain-numpy twins
    in :mod:`tropical.kernels.reference` instead (a debugging path and an
    oracle). Read when the first kernel is requested.
``TROPICAL_WIDE_VECTORS``
    ``1`` (default) lets LLVM use 512-bit vector registers on CPUs that have
    them. LLVM's tuning for recent Intel CPUs prefers 256-bit vectors
    (``+prefer-256-bit``), which halves the throughput of the max-plus kernels.
    When this switch is on and the user has not chosen ``NUMBA_CPU_FEATURES``
    or ``NUMBA_CPU_NAME`` themselves, :func:`load_numba` asks Numba for the
    host's features with ``-prefer-256-bit`` appended, before Numba creates its
    code generator (whether or not ``numba`` was already imported; see
    :func:`_apply_wide_vectors`). This applies to every Numba function compiled
    in the process, and the setting is part of Numba's cache key. Where Numba's
    code generator already existed, it is too late: a ``RuntimeWarning`` says
    so. ``0`` leaves Numba's defaults alone.
"""

from __future__ import annotations

import os
import sys
import threading

__all__ = ["jit_enabled", "load_numba", "wide_vectors_active", "wide_vectors_requested"]


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


def _codegen_features():
    """The CPU features of Numba's code generator, or None where it does not exist yet.

    Numba creates its CPU target context, and with it the LLVM target machine
    whose features can no longer change, when a first function is defined,
    compiled or loaded from the cache, not on import. Where Numba's layout is
    not the expected one, the answer is ``""`` (assume it exists, features
    unknown).
    """
    try:
        from numba.core.registry import cpu_target
    except ImportError:  # pragma: no cover - a Numba without this module
        return ""
    if "_toplevel_target_context" not in vars(cpu_target):
        return None
    try:
        return str(cpu_target.target_context.codegen()._tm_features)
    except AttributeError:  # pragma: no cover - another Numba layout
        return ""


_wide_lock = threading.Lock()
_wide_done = False


def _apply_wide_vectors() -> None:
    """Ask Numba for 512-bit vectors while that still takes effect (once per process).

    Nothing happens where the user chose: ``NUMBA_CPU_FEATURES`` or
    ``NUMBA_CPU_NAME`` set (in the environment or, after ``import numba``, in
    ``numba.config``), or ``TROPICAL_WIDE_VECTORS=0``. Before Numba is
    imported, setting ``NUMBA_CPU_FEATURES`` in the environment is enough (and
    child processes inherit it). After ``import numba`` (a notebook often
    imports it first) but before its code generator exists, Numba's
    ``CPU_FEATURES`` setting is set directly: the environment is left alone,
    because a changed environment makes Numba re-read every setting from it
    and drop those the user set in code (``numba.config.THREADING_LAYER``, ...).
    Once the code generator exists its features cannot change: the kernels
    then keep LLVM's default vector preference, and a ``RuntimeWarning`` says
    so (their results may differ in the last bits, and some run up to 1.5x
    slower). An invalid ``TROPICAL_WIDE_VECTORS`` raises ``ValueError`` every
    time.
    """
    global _wide_done
    if _wide_done:
        return
    with _wide_lock:
        if not _wide_done:
            _apply_wide_vectors_now()
            _wide_done = True


def _apply_wide_vectors_now() -> None:
    if not wide_vectors_requested():
        return
    if "NUMBA_CPU_FEATURES" in os.environ or "NUMBA_CPU_NAME" in os.environ:
        return
    features = _wide_vector_features()
    if features is None:
        return
    numba = sys.modules.get("numba")
    if numba is None:
        os.environ["NUMBA_CPU_FEATURES"] = features
        return
    from numba.core import config

    if config.CPU_FEATURES is not None or config.CPU_NAME is not None:
        return
    current = _codegen_features()
    if current is None:
        config.CPU_FEATURES = features
    elif "-prefer-256-bit" not in current:
        import warnings

        warnings.warn(
            "TROPICAL_WIDE_VECTORS: Numba's CPU code generator already existed when "
            "tropical loaded its kernels (Numba creates it when a first function is "
            "defined or compiled), so they keep LLVM's 256-bit vector preference: "
            "some run up to 1.5x slower, and results may differ in the last bits from "
            "a process where tropical came first. Run a tropical computation before "
            "defining your own Numba functions, or choose explicitly with "
            "NUMBA_CPU_FEATURES (or TROPICAL_WIDE_VECTORS=0).",
            RuntimeWarning, stacklevel=4)


def wide_vectors_active() -> bool:
    """Whether Numba's CPU features ask for 512-bit vectors (``-prefer-256-bit``).

    Reads the code generator's features where it exists, else the setting
    Numba will use; imports Numba.
    """
    numba = load_numba()
    current = _codegen_features()
    if current is None:
        current = numba.core.config.CPU_FEATURES or ""
    return "-prefer-256-bit" in current


def load_numba():
    """Import Numba, first applying ``TROPICAL_WIDE_VECTORS`` if it still can.

    Returns the ``numba`` module. See :func:`_apply_wide_vectors` for when the
    switch can still take effect.
    """
    _apply_wide_vectors()
    import numba

    return numba
