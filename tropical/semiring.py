r"""The eps-indexed family of semirings, and a numpy array type over them.

One parameter ``eps >= 0`` indexes the family (MATH.md section 1)::

    name              carrier        a (+) b                             a (x) b  zero  one
    maxplus           R U {-inf}     max(a, b)                           a + b    -inf  0
    minplus           R U {+inf}     min(a, b)                           a + b    +inf  0
    log(eps), max     R U {-inf}     eps*log(exp(a/eps) + exp(b/eps))    a + b    -inf  0
    log(eps), min     R U {+inf}     -eps*log(exp(-a/eps) + exp(-b/eps)) a + b    +inf  0

For ``eps > 0``, ``a -> exp(a/eps)`` is an isomorphism onto ``(R>=0, +, x)``;
``eps -> 0`` is Maslov dequantization, and ``logsemiring(0)`` *is*
``maxplus``. The N-ary sum is ``LSE_eps``, with
``max(a) <= LSE_eps(a) <= max(a) + eps*log N``. Infinities that are the
semiring's zero are valid everywhere; NaN and the other infinity are rejected.

:class:`Tropical` wraps an ndarray so that numpy's operators mean the
semiring's: ``A @ B`` product, ``A + B`` (+), ``A * B`` (x), ``A ** k``
elementwise (x)-power ``k*a``, ``A / B`` (x)-division ``a - b``, ``-A`` the
isomorphism onto the opposite sense. Ufuncs without a semiring meaning raise.

Examples
--------
>>> import numpy as np
>>> from tropical.semiring import maxplus, logsemiring, Tropical
>>> maxplus.add(1.0, 3.0), maxplus.mul(1.0, 3.0)
(np.float64(3.0), np.float64(4.0))
>>> logsemiring(1.0).add(0.0, 0.0)
np.float64(0.6931471805599453)
>>> A = Tropical([[0.0, 1.0], [2.0, -np.inf]])
>>> A @ A
Tropical([[3., 1.],
          [2., 3.]], semiring=maxplus)
"""

from __future__ import annotations

import numbers

import numpy as np

from . import _ops
from ._validate import as_semiring_array, check_eps, check_int, check_sense

__all__ = ["Semiring", "maxplus", "minplus", "logsemiring", "Tropical"]


class Semiring:
    """One member of the family: a sense (max/min) and a temperature ``eps >= 0``.

    Instances are immutable and compare equal when sense and eps agree. Use
    the module constants :data:`maxplus`, :data:`minplus` and
    :func:`logsemiring` rather than the constructor.

    Parameters
    ----------
    sense : {"max", "min"}
    eps : float, default 0.0

    Examples
    --------
    >>> from tropical.semiring import Semiring
    >>> Semiring("min").add(2.0, 5.0)
    np.float64(2.0)
    """

    __slots__ = ("_sense", "_eps", "_sign")

    def __init__(self, sense: str = "max", eps: float = 0.0):
        self._sign = check_sense(sense)
        self._sense = sense
        self._eps = check_eps(eps)

    # -- identity -------------------------------------------------------------
    @property
    def sense(self) -> str:
        """``"max"`` or ``"min"``."""
        return self._sense

    @property
    def eps(self) -> float:
        """The temperature; ``0.0`` for the tropical semirings."""
        return self._eps

    @property
    def is_tropical(self) -> bool:
        """True for ``eps = 0`` (max-plus or min-plus)."""
        return self._eps == 0.0

    @property
    def zero(self) -> float:
        """The additive identity: ``-inf`` (max sense) or ``+inf`` (min sense)."""
        return -self._sign * float("inf")

    @property
    def one(self) -> float:
        """The multiplicative identity, ``0.0``."""
        return 0.0

    def __eq__(self, other):
        if not isinstance(other, Semiring):
            return NotImplemented
        return (self._sense, self._eps) == (other._sense, other._eps)

    def __hash__(self):
        return hash((Semiring, self._sense, self._eps))

    def __repr__(self):
        if self._eps == 0.0:
            return "maxplus" if self._sign == 1 else "minplus"
        if self._sign == 1:
            return f"logsemiring({self._eps!r})"
        return f"logsemiring({self._eps!r}, sense='min')"

    def __reduce__(self):
        return (Semiring, (self._sense, self._eps))

    # -- operations -----------------------------------------------------------
    def _arr(self, x, name):
        return as_semiring_array(x, name, self._sign)

    def add(self, a, b):
        """Semiring addition ``a (+) b``, elementwise with broadcasting.

        Examples
        --------
        >>> from tropical.semiring import minplus
        >>> minplus.add([1.0, 5.0], 3.0)
        array([1., 3.])
        """
        a = self._arr(a, "a")
        b = self._arr(b, "b")
        if self._eps == 0.0:
            return np.maximum(a, b) if self._sign == 1 else np.minimum(a, b)
        return self._sign * _logaddexp_eps(self._sign * a, self._sign * b, self._eps)

    def mul(self, a, b):
        """Semiring multiplication ``a (x) b = a + b`` (the zero absorbs).

        Examples
        --------
        >>> from tropical.semiring import maxplus
        >>> maxplus.mul([1.0, -float("inf")], 2.0)
        array([  3., -inf])
        """
        return self._arr(a, "a") + self._arr(b, "b")

    def sum(self, a, axis=-1):
        """N-ary (+) along ``axis``: ``max``/``min`` or ``LSE_eps``.

        Examples
        --------
        >>> from tropical.semiring import logsemiring
        >>> logsemiring(2.0).sum([0.0, 0.0])
        np.float64(1.3862943611198906)
        """
        return _ops.lse(a, self._eps, axis=axis, sense=self._sense)

    def power(self, a, k):
        """(x)-power ``a^(x)k = k*a`` elementwise, for an integer ``k >= 0``.

        ``a^(x)0`` is the one (0), the zero included, as in every monoid.

        Examples
        --------
        >>> from tropical.semiring import maxplus
        >>> maxplus.power(1.5, 3)
        np.float64(4.5)
        """
        k = check_int(k, "k")
        a = self._arr(a, "a")
        if k == 0:
            out = np.zeros_like(a)
        else:
            out = a * k
        return out if out.ndim else out[()]

    def matmul(self, A, B):
        """Matrix product over this semiring (see :func:`tropical.matmul`)."""
        return _ops.matmul(A, B, eps=self._eps, sense=self._sense)


def _logaddexp_eps(a, b, eps):
    """``eps*log(exp(a/eps) + exp(b/eps))``, max sense, overflow-free."""
    m = np.maximum(a, b)
    finite = np.isfinite(m)
    with np.errstate(invalid="ignore", under="ignore"):
        d = -np.abs(a - b)
        t = np.where(finite, m + eps * np.log1p(np.exp(d / eps)), m)
    return t if t.ndim else t[()]


#: The max-plus semiring ``(R U {-inf}, max, +, -inf, 0)``.
maxplus = Semiring("max", 0.0)
#: The min-plus semiring ``(R U {+inf}, min, +, +inf, 0)``.
minplus = Semiring("min", 0.0)


def logsemiring(eps, sense="max"):
    """The log semiring of temperature ``eps`` (``eps = 0``: the tropical one).

    Parameters
    ----------
    eps : float >= 0
    sense : {"max", "min"}

    Returns
    -------
    Semiring

    Examples
    --------
    >>> from tropical.semiring import logsemiring, maxplus
    >>> logsemiring(0.0) is maxplus
    True
    >>> logsemiring(0.5, sense="min")
    logsemiring(0.5, sense='min')
    """
    eps = check_eps(eps)
    check_sense(sense)
    if eps == 0.0:
        return maxplus if sense == "max" else minplus
    return Semiring(sense, eps)


# -----------------------------------------------------------------------------
# Array wrapper
# -----------------------------------------------------------------------------

_COMPARISONS = {np.equal, np.not_equal, np.less, np.less_equal, np.greater,
                np.greater_equal, np.isfinite, np.isinf, np.isnan}


class Tropical(np.lib.mixins.NDArrayOperatorsMixin):
    """An array whose arithmetic is that of a semiring of the family.

    Operators: ``A @ B`` semiring product (:func:`tropical.matmul`),
    ``A + B`` elementwise (+), ``A * B`` elementwise (x) (ordinary ``+``),
    ``A ** k`` elementwise (x)-power (``k*a``; use :func:`tropical.power` for
    the matrix power), ``A / B`` (x)-division (``a - b``, the residual),
    ``-A`` the isomorphism ``a -> -a`` onto the opposite sense. Comparisons
    and ``isfinite``/``isinf`` give plain boolean arrays. Every other ufunc
    raises ``TypeError``. Plain arrays and scalars combine with a
    ``Tropical`` as elements of its semiring; two ``Tropical`` operands must
    share the semiring.

    Parameters
    ----------
    data : array_like
        Real entries; the semiring zero is allowed (NaN is not).
    sense : {"max", "min"}, default "max"
    eps : float, default 0.0

    Attributes
    ----------
    data : ndarray
        The plain array (read it, do not write it).
    semiring : Semiring

    Examples
    --------
    >>> import numpy as np
    >>> from tropical import Tropical
    >>> a = Tropical([1.0, 2.0])
    >>> a + 3.0, a * 3.0
    (Tropical([3., 3.], semiring=maxplus), Tropical([4., 5.], semiring=maxplus))
    >>> Tropical([0.0, 0.0], eps=1.0).sum()
    np.float64(0.6931471805599453)
    """

    __array_priority__ = 20

    def __init__(self, data, sense="max", eps=0.0):
        if isinstance(data, Tropical):
            data = data.data
        self.semiring = logsemiring(eps, sense)
        self.data = as_semiring_array(data, "data", check_sense(sense))

    # -- construction helpers -------------------------------------------------
    def _wrap(self, data, semiring=None):
        semiring = semiring or self.semiring
        out = object.__new__(Tropical)
        out.semiring = semiring
        out.data = np.asarray(data)
        return out

    # -- numpy protocol -------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        if copy:
            return np.array(self.data, dtype=dtype, copy=True)
        return self.data if dtype is None else self.data.astype(dtype)

    def _operand(self, x, name):
        """Plain data of an operand, checking that semirings match."""
        if isinstance(x, Tropical):
            if x.semiring != self.semiring:
                raise ValueError(
                    f"cannot combine a Tropical over {self.semiring!r} with one over "
                    f"{x.semiring!r}; convert one of them first (e.g. -A flips the sense)"
                )
            return x.data
        if isinstance(x, (np.ndarray, numbers.Real, list, tuple)) or np.isscalar(x):
            return as_semiring_array(x, name, check_sense(self.semiring.sense))
        raise TypeError(f"cannot combine Tropical with {type(x).__name__}")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if kwargs.get("out") is not None:
            raise TypeError("Tropical does not support out= arguments")
        sr = self.semiring
        if method == "__call__":
            if ufunc in _COMPARISONS:
                plain = [x.data if isinstance(x, Tropical) else x for x in inputs]
                return ufunc(*plain, **kwargs)
            if ufunc is np.negative:
                opposite = logsemiring(sr.eps, "min" if sr.sense == "max" else "max")
                return self._wrap(0.0 - inputs[0].data, opposite)
            if ufunc is np.positive:
                return self._wrap(inputs[0].data.copy())
            if ufunc in (np.add, np.multiply, np.matmul, np.divide):
                a, b = (self._operand(x, name) for x, name in zip(inputs, ("x1", "x2")))
                if ufunc is np.add:
                    res = sr.add(a, b)
                elif ufunc is np.multiply:
                    res = sr.mul(a, b)
                elif ufunc is np.matmul:
                    res = sr.matmul(a, b)
                else:
                    res = _divide(a, b, sr)
                return self._wrap(res)
            if ufunc is np.power:
                base, k = inputs
                if not isinstance(base, Tropical):
                    raise TypeError("only a Tropical can be raised to a power (A ** k)")
                if isinstance(k, Tropical):
                    raise TypeError("the exponent of A ** k must be a plain integer")
                return self._wrap(sr.power(base.data, k))
        if method == "reduce" and ufunc is np.add:
            axis = kwargs.get("axis", 0)
            if kwargs.get("keepdims") or kwargs.get("initial") is not None or kwargs.get("where") is not None:
                raise TypeError("Tropical sum supports only the axis argument")
            return self._wrap(sr.sum(inputs[0].data, axis=0 if axis is None else axis))
        raise TypeError(
            f"numpy.{ufunc.__name__} ({method}) has no meaning over {sr!r}; operate on .data "
            f"for ordinary arithmetic. Meaningful: + (semiring add), * (semiring mul, i.e. "
            f"ordinary +), @, / (residual, i.e. ordinary -), ** k, unary -."
        )

    def __array_function__(self, func, types, args, kwargs):
        if func is np.linalg.matrix_power:
            A, k = args[0], args[1] if len(args) > 1 else kwargs["n"]
            return self._wrap(_ops.power(A.data, k, eps=self.semiring.eps, sense=self.semiring.sense))
        if func is np.sum:
            a = args[0]
            axis = args[1] if len(args) > 1 else kwargs.get("axis", None)
            return a.sum(axis=axis)
        if func in (np.shape, np.ndim, np.size):
            return func(args[0].data)
        return NotImplemented

    # -- array-like surface ---------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def size(self):
        return self.data.size

    @property
    def T(self):
        """Transpose (a view)."""
        return self._wrap(self.data.T)

    def __len__(self):
        return len(self.data)

    def __getitem__(self, key):
        item = self.data[key]
        return self._wrap(item) if np.ndim(item) else item

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def sum(self, axis=None):
        """Semiring sum: over all entries (``axis=None``) or along an axis.

        Examples
        --------
        >>> from tropical import Tropical
        >>> Tropical([[1.0, 5.0], [2.0, 0.0]]).sum(axis=0)
        Tropical([2., 5.], semiring=maxplus)
        """
        data = self.data.reshape(-1) if axis is None else self.data
        res = self.semiring.sum(data, axis=-1 if axis is None else axis)
        return self._wrap(res) if np.ndim(res) else res

    def copy(self):
        return self._wrap(self.data.copy())

    def __bool__(self):
        raise TypeError("the truth value of a Tropical array is ambiguous")

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="Tropical(")
        return f"Tropical({body}, semiring={self.semiring!r})"

    __str__ = __repr__


def _divide(a, b, sr):
    """(x)-division ``a - b``: the greatest x with x (x) b <= a, for finite b."""
    if not np.isfinite(b).all():
        raise ZeroDivisionError(f"division by the semiring zero of {sr!r}")
    return a - b
