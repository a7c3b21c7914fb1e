"""Bad input at the public boundary: the right exception, naming the argument.

The rules (``tropical._validate``): wrong *values* (NaN, the wrong infinity,
ragged lists, negative/non-finite eps, mismatched or empty shapes, k < 0,
unknown sense) raise ``ValueError``; wrong *types* (complex, object, string
dtypes; a non-real eps; bool or non-integer k) raise ``TypeError``.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import tropical
from tropical.semiring import Semiring, Tropical, logsemiring, maxplus, minplus

INF = np.inf
GOOD = np.array([[0.0, 1.0], [2.0, -INF]])
GOOD_MIN = np.array([[0.0, 1.0], [2.0, INF]])


# Each entry: (label, callable taking one array argument, argument name, sense sign)
def _array_callers():
    return [
        ("matmul A", lambda X: tropical.matmul(X, GOOD), "A", 1),
        ("matmul B", lambda X: tropical.matmul(GOOD, X), "B", 1),
        ("matmul A eps", lambda X: tropical.matmul(X, GOOD, eps=0.5), "A", 1),
        ("matmul B min", lambda X: tropical.matmul(GOOD_MIN, X, sense="min"), "B", -1),
        ("matvec A", lambda X: tropical.matvec(X, [0.0, 1.0]), "A", 1),
        ("matvec x", lambda X: tropical.matvec(GOOD, X), "x", 1),  # a batch of 2 vectors
        ("lse", lambda X: tropical.lse(X, 1.0), "a", 1),
        ("lse min", lambda X: tropical.lse(X, 0.0, sense="min"), "a", -1),
        ("softmax", lambda X: tropical.softmax(X, 1.0), "a", 1),
        ("power", lambda X: tropical.power(X, 2), "A", 1),
        ("power min eps", lambda X: tropical.power(X, 2, eps=0.1, sense="min"), "A", -1),
        ("star", lambda X: tropical.star(X), "A", 1),
        ("star min", lambda X: tropical.star(X, sense="min"), "A", -1),
        ("Tropical", lambda X: Tropical(X), "data", 1),
        ("Tropical min", lambda X: Tropical(X, sense="min", eps=0.5), "data", -1),
        ("maxplus.add", lambda X: maxplus.add(X, 0.0), "a", 1),
        ("minplus.mul", lambda X: minplus.mul(0.0, X), "b", -1),
        ("logsemiring.sum", lambda X: logsemiring(0.5).sum(X), "a", 1),
    ]


CALLERS = _array_callers()
IDS = [c[0] for c in CALLERS]


@pytest.mark.parametrize("label,call,name,sign", CALLERS, ids=IDS)
def test_nan_anywhere(label, call, name, sign):
    for idx in [(0, 0), (0, 1), (1, 0)]:
        X = np.array([[0.0, 1.0], [2.0, 3.0]])
        X[idx] = np.nan
        with pytest.raises(ValueError, match=rf"{name} contains NaN at index \({idx[0]}, {idx[1]}\)"):
            call(X)


@pytest.mark.parametrize("label,call,name,sign", CALLERS, ids=IDS)
def test_wrong_infinity(label, call, name, sign):
    X = np.array([[0.0, 1.0], [2.0, 3.0]])
    X[0, 1] = sign * INF  # +inf in the max sense, -inf in the min sense
    semiring = "max-plus" if sign == 1 else "min-plus"
    with pytest.raises(ValueError, match=rf"{name} contains .*inf at index \(0, 1\).*{semiring}"):
        call(X)


@pytest.mark.parametrize("label,call,name,sign", CALLERS, ids=IDS)
def test_ragged(label, call, name, sign):
    with pytest.raises(ValueError, match=rf"{name} is ragged"):
        call([[0.0, 1.0], [2.0]])


@pytest.mark.parametrize("label,call,name,sign", CALLERS, ids=IDS)
@pytest.mark.parametrize("bad,what", [
    (np.array([[1 + 1j, 0], [0, 0]]), "complex"),
    (np.array([[1.0, None], [0.0, 0.0]], dtype=object), "object"),
    (np.array([["a", "b"], ["c", "d"]]), "<U1"),
    (np.array([[1, 2], [3, 4]], dtype="datetime64[s]"), "datetime64"),
])
def test_wrong_dtype(label, call, name, sign, bad, what):
    with pytest.raises(TypeError, match=rf"{name} must be .*real.*{what}"):
        call(bad)


@pytest.mark.parametrize("call", [
    lambda: tropical.matmul("abc", GOOD),
    lambda: tropical.lse(["x", "y"], 1.0),
    lambda: Tropical("abc"),
    lambda: tropical.entropy(["0.5", "0.5"]),
])
def test_strings(call):
    with pytest.raises(TypeError, match="real"):
        call()


def test_mixed_type_list_is_object():
    with pytest.raises(TypeError, match=r"A must be an array of real numbers.*object"):
        tropical.matmul([[1.0, "2"], [3.0, None]], GOOD)


# ---- eps ------------------------------------------------------------------------
EPS_CALLERS = [
    ("matmul", lambda e: tropical.matmul(GOOD, GOOD, eps=e)),
    ("matvec", lambda e: tropical.matvec(GOOD, [0.0, 1.0], eps=e)),
    ("lse", lambda e: tropical.lse([0.0, 1.0], e)),
    ("softmax", lambda e: tropical.softmax([0.0, 1.0], e)),
    ("power", lambda e: tropical.power(GOOD, 2, eps=e)),
    ("logsemiring", lambda e: logsemiring(e)),
    ("Semiring", lambda e: Semiring("max", e)),
    ("Tropical", lambda e: Tropical(GOOD, eps=e)),
]


@pytest.mark.parametrize("label,call", EPS_CALLERS, ids=[c[0] for c in EPS_CALLERS])
@pytest.mark.parametrize("eps,exc,msg", [
    (-1.0, ValueError, r"eps must be >= 0"),
    (-1e-300, ValueError, r"eps must be >= 0"),
    (-1, ValueError, r"eps must be >= 0"),
    (float("nan"), ValueError, r"eps .*NaN"),
    (np.float64("nan"), ValueError, r"eps .*NaN"),
    (float("inf"), ValueError, r"eps must be finite"),
    (-float("inf"), ValueError, r"eps must be finite"),
    (1j, TypeError, r"eps must be a real number"),
    (np.complex128(1.0), TypeError, r"eps must be a real number"),
    ("0.1", TypeError, r"eps must be a real number"),
    (None, TypeError, r"eps must be a real number"),
    (True, TypeError, r"eps must be a real number"),
    (np.bool_(False), TypeError, r"eps must be a real number"),
    ([0.1], TypeError, r"eps must be a real number"),
])
def test_bad_eps(label, call, eps, exc, msg):
    with pytest.raises(exc, match=msg):
        call(eps)


@pytest.mark.parametrize("eps", [0, 0.0, 1, np.float32(0.5), np.int64(2), np.float64(1e-300)])
def test_good_eps_types(eps):
    out = tropical.lse([0.0, 0.0], eps)
    assert np.isfinite(out)
    assert logsemiring(eps).eps == float(eps)


# ---- sense ----------------------------------------------------------------------
SENSE_CALLERS = [
    ("matmul", lambda s: tropical.matmul(GOOD, GOOD, sense=s)),
    ("matvec", lambda s: tropical.matvec(GOOD, [0.0, 1.0], sense=s)),
    ("lse", lambda s: tropical.lse([0.0, 1.0], 1.0, sense=s)),
    ("softmax", lambda s: tropical.softmax([0.0, 1.0], 1.0, sense=s)),
    ("power", lambda s: tropical.power(GOOD, 2, sense=s)),
    ("star", lambda s: tropical.star([[-1.0]], sense=s)),
    ("identity", lambda s: tropical.identity(2, sense=s)),
    ("logsemiring", lambda s: logsemiring(1.0, sense=s)),
    ("Semiring", lambda s: Semiring(s)),
    ("Tropical", lambda s: Tropical(GOOD, sense=s)),
]


@pytest.mark.parametrize("label,call", SENSE_CALLERS, ids=[c[0] for c in SENSE_CALLERS])
@pytest.mark.parametrize("sense", ["maximum", "MAX", "Min", "", None, 1, -1, b"max"])
def test_bad_sense(label, call, sense):
    with pytest.raises(ValueError, match=r"sense must be 'max' or 'min'"):
        call(sense)


# ---- shapes ---------------------------------------------------------------------
def test_matmul_mismatched_shapes_names_both():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 2\)"):
        tropical.matmul(np.zeros((2, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"\(3,\).*\(4, 2\)"):
        tropical.matmul(np.zeros(3), np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"\(2, 3, 4\).*\(3, 4, 5\)"):
        tropical.matmul(np.zeros((2, 3, 4)), np.zeros((3, 4, 5)))  # batch (2,) vs (3,)


def test_matvec_mismatched_shapes_names_both():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4,\)"):
        tropical.matvec(np.zeros((2, 3)), np.zeros(4))
    with pytest.raises(ValueError, match=r"\(2, 3, 4\).*\(5, 4\)"):
        tropical.matvec(np.zeros((2, 3, 4)), np.zeros((5, 4)))


def test_too_few_dimensions():
    with pytest.raises(ValueError, match=r"A must have at least 1 dimension"):
        tropical.matmul(1.0, [1.0])
    with pytest.raises(ValueError, match=r"B must have at least 1 dimension"):
        tropical.matmul([1.0], 1.0)
    with pytest.raises(ValueError, match=r"A must have at least 2 dimension"):
        tropical.matvec([1.0], [1.0])
    with pytest.raises(ValueError, match=r"a must have at least 1 dimension"):
        tropical.lse(1.0, 1.0)
    with pytest.raises(ValueError, match=r"A must have at least 2 dimension"):
        tropical.power([1.0], 2)


def test_empty_inner_dimension():
    with pytest.raises(ValueError, match=r"inner dimension is empty.*\(2, 0\).*\(0, 3\)"):
        tropical.matmul(np.zeros((2, 0)), np.zeros((0, 3)))
    with pytest.raises(ValueError, match=r"inner dimension is empty"):
        tropical.matmul(np.zeros(0), np.zeros(0), eps=1.0)
    with pytest.raises(ValueError, match=r"inner dimension is empty.*\(2, 0\)"):
        tropical.matvec(np.zeros((2, 0)), np.zeros(0))


@pytest.mark.parametrize("fn", [
    lambda a, ax: tropical.lse(a, 1.0, axis=ax),
    lambda a, ax: tropical.lse(a, 0.0, axis=ax),
    lambda a, ax: tropical.softmax(a, 1.0, axis=ax),
    lambda a, ax: tropical.entropy(a, axis=ax),
])
def test_empty_reduction_axis(fn):
    a = np.zeros((3, 0))
    with pytest.raises(ValueError, match=r"empty.*\(3, 0\)|\(3, 0\).*empty"):
        fn(a, -1)
    with pytest.raises(ValueError, match=r"empty"):
        fn(np.zeros(0), 0)


@pytest.mark.parametrize("fn,args", [
    (tropical.lse, (1.0,)), (tropical.softmax, (1.0,)), (tropical.entropy, ()),
])
def test_bad_axis(fn, args):
    a = np.full((2, 3), 0.5)
    with pytest.raises(ValueError, match=r"axis=2 is out of bounds"):
        fn(a, *args, axis=2)
    with pytest.raises(ValueError, match=r"axis=-3 is out of bounds"):
        fn(a, *args, axis=-3)
    with pytest.raises(TypeError, match=r"axis must be an integer"):
        fn(a, *args, axis=1.0)
    with pytest.raises(TypeError, match=r"axis must be an integer"):
        fn(a, *args, axis=None)


@pytest.mark.parametrize("fn", [tropical.power, tropical.star])
def test_non_square(fn):
    args = (2,) if fn is tropical.power else ()
    with pytest.raises(ValueError, match=r"A must be square.*\(2, 3\)"):
        fn(np.zeros((2, 3)), *args)
    with pytest.raises(ValueError, match=r"A must be square.*\(4, 2, 3\)"):
        fn(np.zeros((4, 2, 3)), *args)


def test_star_and_power_other_shapes():
    with pytest.raises(ValueError, match=r"star: A must be a single square matrix.*\(2, 3, 3\)"):
        tropical.star(np.zeros((2, 3, 3)) - 1)
    with pytest.raises(ValueError, match=r"empty"):
        tropical.star(np.zeros((0, 0)))
    with pytest.raises(ValueError, match=r"empty"):
        tropical.power(np.zeros((0, 0)), 2)


# ---- k, n -------------------------------------------------------------------------
@pytest.mark.parametrize("k,exc,msg", [
    (-1, ValueError, r"k must be >= 0, got -1"),
    (np.int64(-3), ValueError, r"k must be >= 0"),
    (1.5, TypeError, r"k must be an integer"),
    (2.0, TypeError, r"k must be an integer"),
    (True, TypeError, r"k must be an integer, got bool"),
    ("2", TypeError, r"k must be an integer"),
    (None, TypeError, r"k must be an integer"),
])
def test_bad_k(k, exc, msg):
    with pytest.raises(exc, match=msg):
        tropical.power(GOOD, k)
    with pytest.raises(exc, match=msg):
        maxplus.power(1.0, k)
    with pytest.raises(exc, match=msg):
        Tropical(GOOD) ** k


def test_good_k_types():
    expect = tropical.power(GOOD, 3)
    assert np.array_equal(tropical.power(GOOD, np.int64(3)), expect)
    assert np.array_equal(tropical.power(GOOD, np.uint8(3)), expect)


@pytest.mark.parametrize("n,exc", [(-1, ValueError), (2.5, TypeError), (True, TypeError)])
def test_bad_identity_size(n, exc):
    with pytest.raises(exc, match=r"n must be"):
        tropical.identity(n)


def test_argmax_with_eps():
    with pytest.raises(ValueError, match=r"return_argmax.*eps = 0"):
        tropical.matmul(GOOD, GOOD, eps=1.0, return_argmax=True)


# ---- entropy ----------------------------------------------------------------------
@pytest.mark.parametrize("p,msg", [
    ([0.5, np.nan], r"p contains NaN"),
    ([0.5, -np.inf], r"p must be finite"),
    ([1.5, -0.5], r"p must be non-negative, got -0.5 at index \(1,\)"),
    ([0.5, 0.4], r"p must sum to 1 along axis 0"),
    ([[0.5, 0.5], [0.3, 0.3]], r"p must sum to 1 along axis 1"),
    ([0.5, np.inf], r"p contains inf"),
])
def test_bad_probabilities(p, msg):
    with pytest.raises(ValueError, match=msg):
        tropical.entropy(p)


def test_entropy_sum_tolerance_is_roundoff_only():
    n = 10
    tropical.entropy(np.full(n, 0.1))  # 0.1 * 10 != 1 exactly: accepted
    with pytest.raises(ValueError, match="sum to 1"):
        tropical.entropy(np.full(n, 0.1) * (1 + 1e-9))


def test_validation_leaves_good_input_alone():
    A = np.array([[0.0, -INF]], dtype=np.float32)
    out = tropical.matmul(A, A.T)
    assert out.dtype == np.float32
    assert np.array_equal(out, np.array([[0.0]], dtype=np.float32))
    assert np.array_equal(tropical.star([[INF]], sense="min"), [[0.0]])


# ---- the element check itself: one reduction, the same verdict as the elementwise rule
def _fill_values(dtype):
    from hypothesis import strategies as st

    info = np.finfo(dtype)
    big, tiny = float(info.max), float(info.smallest_subnormal)
    return st.sampled_from([0.0, -0.0, 1.5, -2.0, big, -big, tiny, np.inf, -np.inf, np.nan])


def test_element_check_agrees_with_the_elementwise_rule():
    from hypothesis import given, settings
    from hypothesis import strategies as st
    from hypothesis.extra.numpy import arrays

    from tropical._validate import as_semiring_array

    shapes = st.sampled_from([(), (1,), (7,), (3, 4), (2, 3, 5), (67,), (9, 20)])

    @settings(max_examples=400, deadline=None)
    @given(st.data(), st.sampled_from([1, -1]), st.sampled_from([np.float64, np.float32]))
    def check(data, sense, dtype):
        a = data.draw(arrays(dtype, data.draw(shapes), elements=_fill_values(dtype)))
        if a.ndim and data.draw(st.booleans()):     # a strided or reversed view
            a = a[..., ::data.draw(st.sampled_from([2, -1, -3]))]
            if a.size == 0:
                return
        forbidden = np.inf if sense == 1 else -np.inf
        valid = not (np.isnan(a).any() or (a == forbidden).any())
        if valid:
            assert as_semiring_array(a, "a", sense) is a
        else:
            first = tuple(int(i) for i in np.argwhere(np.isnan(a) | (a == forbidden))[0])
            where = re.escape(str(first if a.ndim else "()"))
            with pytest.raises(ValueError, match=rf"a contains .* at index {where}"):
                as_semiring_array(a, "a", sense)

    check()


def test_masked_arrays_are_refused():
    # a masked NaN would otherwise pass (reductions skip masked cells) and reach a kernel
    A = np.ma.array([[1.0, np.nan]], mask=[[0, 1]])
    with pytest.raises(TypeError, match="A is a masked array"):
        tropical.matmul(A, np.zeros((2, 1)))
    with pytest.raises(TypeError, match="a is a masked array"):
        tropical.lse(np.ma.array([1.0, 2.0]), 1.0)
