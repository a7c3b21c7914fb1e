"""Compiled loops of the engine (installed as ``tropical.kernels``).

Every kernel works on plain, C-contiguous ndarrays of one float dtype
(float32 or float64) and plain scalars; callers validate (see
:mod:`tropical._validate`). Kernels never allocate their outputs: the caller
passes ``out``. Conventions shared by all kernels:

``sense``
    ``+1`` for the max sense (zero ``-inf``), ``-1`` for the min sense (zero
    ``+inf``). A min-sense kernel computes ``-K(-a)`` of the max-sense one;
    negation is exact in IEEE arithmetic, so the two senses agree bit for bit.
``eps``
    A Python float ``>= 0``. ``eps == 0`` runs the exact tropical loop,
    ``eps > 0`` the max-shifted log-sum-exp loop, which neither overflows nor
    underflows for any ``eps > 0`` (``1e-300`` included).

The modules: :mod:`~tropical.kernels.maxplus` (tiled max-plus products, and
the top-2 product),
:mod:`~tropical.kernels.lse` (log-sum-exp reductions, the exact second pass
of the ``eps > 0`` product and the kernels of its fast paths), :mod:`~tropical.kernels.closure` (Kleene star), :mod:`~tropical.kernels.linalg` (maximum cycle mean: Howard, Karp)
and :mod:`~tropical.kernels.reference` (plain-numpy twins of all of them, with
identical signatures). Importing this package imports nothing heavy; each
kernel module imports Numba and compiles lazily (``cache=True``).
"""

__all__ = ["KERNEL_NAMES"]

#: Kernel name -> module (inside ``tropical.kernels``) that implements it.
#: ``tropical.kernels.reference`` implements every name with plain numpy.
KERNEL_NAMES = {
    "maxplus_gemm": "maxplus",
    "maxplus_gemm_argmax": "maxplus",
    "maxplus_matvec": "maxplus",
    "maxplus_gemm_top2": "maxplus",
    "lse_rows": "lse",
    "softmax_rows": "lse",
    "lse_gemm_rows": "lse",
    "lse_matvec": "lse",
    "lse_gemm_entries": "lse",
    "lse_from_top2": "lse",
    "lse_shift_exp": "lse",
    "lse_gemm_blas_finish": "lse",
    "maxplus_closure": "closure",
    "howard_mcm": "linalg",
    "karp_mcm": "linalg",
    "dag_max_reach": "linalg",
    "split_faces_2d": "regions",
    "lse_fit_loss_grad": "fit",
    "lse_fit_loss_grad_serial": "fit",
    "lse_fit_adam": "fit",
    "entropy_derivatives": "attribution",
    "lse_layer_rows": "views",
    "lse_scores_rows": "views",
    "hopf_cole_rows": "views",
    "entropic_dual_rows": "views",
    "gibbs_l1_rows": "views",
    "affine_scale_rows": "views",
    "entropic_dual_points": "views",
    "gibbs_l1_pair_rows": "views",
}
