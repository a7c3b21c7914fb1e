r"""Tropical polynomials and tropical rational functions.

A tropical polynomial in ``n`` variables with real exponents is a finite
(+)-sum of monomials ``c_j (x) x^{a_j}``; in the max sense it is the convex,
piecewise-affine function

.. math:: p(x) = \max_j \; (c_j + \langle a_j, x \rangle),

stored as an exponent matrix ``E`` (rows ``a_j``) and a coefficient vector
``c``, with the convention of :mod:`numpy.polynomial`: functions first,
immutable objects, LaTeX rendering. Integer exponents are the classical case;
networks produce real ones. The min sense is the image under ``x -> -x`` of
the values: ``-p`` is a min-sense polynomial with exponents ``-E`` and
coefficients ``-c``. Polynomials of different senses never mix.

Notation follows the semiring: ``p + q`` is (+) (max), ``p * q`` is (x)
(the Minkowski sum of the monomials), ``p ** k`` the ``k``-fold (x)-power,
``p / q`` the tropical quotient, a :class:`TropicalRational` (the function
``p - q``). Evaluation at many points is one BLAS product followed by the
(+)-reduction kernel, optionally at a temperature ``eps`` (the log-sum-exp
deformation ``eps * log sum_j exp((c_j + <a_j, x>)/eps)``).

Examples
--------
>>> from tropical.polynomial import TropicalPolynomial
>>> p = TropicalPolynomial([[0, 0], [1, 2], [3, 0]], [0.0, -1.0, 0.0])
>>> print(p)
max(0, x + 2*y - 1, 3*x)
>>> p([1.0, 1.0])
np.float64(3.0)
"""

from __future__ import annotations

import json
import math
import numbers

import numpy as np

from . import _ops
from ._validate import as_semiring_array, check_eps, check_int, check_sense

__all__ = ["TropicalPolynomial", "TropicalRational", "default_variables"]


def default_variables(n: int) -> tuple[str, ...]:
    """Default variable names: ``x``, ``(x, y)``, ``(x, y, z)``, else ``x1 .. xn``."""
    if n <= 3:
        return ("x", "y", "z")[:n]
    return tuple(f"x{i}" for i in range(1, n + 1))


def _fmt(v: float) -> str:
    """Shortest text that parses back to exactly ``v`` (integers without ``.0``)."""
    v = float(v)
    if v == 0:
        return "0"
    if v.is_integer() and abs(v) < 1e16:
        return str(int(v))
    return repr(v)


def _merge(E: np.ndarray, c: np.ndarray, sign: int):
    """Drop zero-coefficient monomials, merge equal exponents with (+), sort rows."""
    keep = np.isfinite(c)
    E, c = E[keep], c[keep]
    if E.shape[0] == 0:
        return E, c
    uniq, inv = np.unique(E, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    merged = np.full(uniq.shape[0], -np.inf)
    np.maximum.at(merged, inv, sign * c)
    return uniq, sign * merged


class TropicalPolynomial:
    """A tropical polynomial ``(+)_j c_j (x) x^{a_j}`` with real exponents.

    Parameters
    ----------
    exponents : array_like, shape (N, n) or (N,)
        Exponent vectors ``a_j`` (finite reals; a 1-D array means ``n = 1``).
    coefficients : array_like, shape (N,)
        Coefficients ``c_j``; the semiring zero (``-inf`` for max) marks an
        absent monomial and is dropped. Monomials with equal exponents are
        merged with (+).
    sense : {"max", "min"}, default "max"
    variables : sequence of str, optional
        Names used for printing and parsing (default ``x, y, z`` or ``x1..xn``).

    Attributes
    ----------
    exponents : ndarray, shape (N, n), read-only, rows sorted lexicographically
    coefficients : ndarray, shape (N,), read-only
    sense : str
    variables : tuple of str

    Examples
    --------
    >>> from tropical.polynomial import TropicalPolynomial
    >>> p = TropicalPolynomial([0, 1, 2], [0.0, 1.0, -1.0])   # max(0, x+1, 2x-1)
    >>> p([-5.0, 0.0, 5.0])
    array([0., 1., 9.])
    >>> (p * p).nterms, (p + 3).coefficients.tolist()
    (5, [3.0, 1.0, -1.0])
    """

    __slots__ = ("_E", "_c", "_sense", "_vars")

    def __init__(self, exponents, coefficients, sense="max", variables=None):
        sign = check_sense(sense)
        E = np.asarray(exponents, dtype=np.float64) if not isinstance(exponents, np.ndarray) \
            else exponents
        E = as_semiring_array(E, "exponents", sign, float32_ok=False)
        if E.ndim == 1:
            E = E[:, None]
        if E.ndim != 2:
            raise ValueError(f"exponents must have shape (N, n), got {E.shape}")
        if not np.isfinite(E).all():
            raise ValueError("exponents must be finite")
        c = as_semiring_array(coefficients, "coefficients", sign, float32_ok=False)
        if c.ndim == 0:
            c = c[None]
        if c.shape != (E.shape[0],):
            raise ValueError(
                f"coefficients must have shape ({E.shape[0]},) to match exponents {E.shape}, "
                f"got {c.shape}"
            )
        n = E.shape[1]
        if variables is None:
            variables = default_variables(n)
        variables = tuple(variables)
        if len(variables) != n or len(set(variables)) != n or not all(
                isinstance(v, str) and v.isidentifier() for v in variables):
            raise ValueError(f"variables must be {n} distinct identifiers, got {variables!r}")
        E, c = _merge(E, c, sign)
        E = E + 0.0  # no negative zeros
        c = c + 0.0
        E.flags.writeable = False
        c.flags.writeable = False
        self._E, self._c, self._sense, self._vars = E, c, sense, variables

    @classmethod
    def constant(cls, value, nvars=1, sense="max", variables=None):
        """The constant polynomial ``value`` in ``nvars`` variables.

        Examples
        --------
        >>> from tropical.polynomial import TropicalPolynomial
        >>> print(TropicalPolynomial.constant(2.5, nvars=2))
        max(2.5)
        """
        nvars = check_int(nvars, "nvars")
        return cls(np.zeros((1, nvars)), [value], sense, variables)

    @classmethod
    def variable(cls, i, nvars, sense="max", variables=None):
        """The monomial ``x_i`` (coefficient 0) in ``nvars`` variables."""
        nvars = check_int(nvars, "nvars", minimum=1)
        i = check_int(i, "i")
        if i >= nvars:
            raise ValueError(f"variable index {i} out of range for {nvars} variables")
        E = np.zeros((1, nvars))
        E[0, i] = 1.0
        return cls(E, [0.0], sense, variables)

    # -- data -------------------------------------------------------------------
    @property
    def exponents(self) -> np.ndarray:
        return self._E

    @property
    def coefficients(self) -> np.ndarray:
        return self._c

    @property
    def sense(self) -> str:
        return self._sense

    @property
    def variables(self) -> tuple[str, ...]:
        return self._vars

    @property
    def nvars(self) -> int:
        return self._E.shape[1]

    @property
    def nterms(self) -> int:
        return self._E.shape[0]

    @property
    def _sign(self) -> int:
        return 1 if self._sense == "max" else -1

    def is_zero(self) -> bool:
        """True for the empty sum (the constant semiring zero)."""
        return self.nterms == 0

    def monomials(self):
        """List of ``(exponent tuple, coefficient)`` pairs in canonical order."""
        return [(tuple(float(a) for a in e), float(c)) for e, c in zip(self._E, self._c)]

    def degree(self) -> float:
        """Largest total degree ``sum(a_j)`` over the monomials."""
        if self.is_zero():
            return -math.inf
        return float(self._E.sum(axis=1).max())

    # -- evaluation ---------------------------------------------------------------
    def affine_values(self, x) -> np.ndarray:
        """Values ``c_j + <a_j, x>`` of every monomial at points ``x``: shape (..., N)."""
        X = self._points(x)
        return X @ self._E.T + self._c

    def _points(self, x):
        X = as_semiring_array(x, "x", self._sign, float32_ok=False)
        if not np.isfinite(X).all():
            raise ValueError("x must be finite")
        if self.nvars == 1 and (X.ndim == 0 or X.shape[-1] != 1):
            X = X[..., None]
        if X.ndim == 0 or X.shape[-1] != self.nvars:
            raise ValueError(
                f"x must have shape (..., {self.nvars}) for a polynomial in "
                f"{self.nvars} variables, got {np.shape(x)}"
            )
        return X

    def __call__(self, x, eps=0.0):
        """Evaluate at points ``x`` (shape ``(..., n)``; any shape when ``n = 1``).

        ``eps > 0`` evaluates the log-sum-exp deformation instead of the max.

        Examples
        --------
        >>> from tropical.polynomial import TropicalPolynomial
        >>> p = TropicalPolynomial([[1, 0], [0, 1]], [0.0, 0.0])   # max(x, y)
        >>> p([[1.0, 2.0], [3.0, -1.0]])
        array([2., 3.])
        >>> round(float(p([0.0, 0.0], eps=1.0)), 6)   # log 2
        0.693147
        """
        eps = check_eps(eps)
        X = self._points(x)
        lead = X.shape[:-1]
        if self.nvars == 1 and (np.ndim(x) == 0 or np.shape(x)[-1:] != (1,)):
            lead = np.shape(x)
        if self.is_zero():
            out = np.full(lead, -self._sign * np.inf)
            return out if out.ndim else out[()]
        Z = X @ self._E.T + self._c
        out = _ops.lse(Z, eps, axis=-1, sense=self._sense)
        out = np.reshape(out, lead)
        return out if out.ndim else out[()]

    # -- algebra ------------------------------------------------------------------
    def _coerce(self, other, op):
        if isinstance(other, TropicalPolynomial):
            if other._sense != self._sense:
                raise ValueError(
                    f"cannot {op} a {self._sense}-sense and a {other._sense}-sense polynomial "
                    "(negate one of them first: -p flips the sense)"
                )
            if other.nvars != self.nvars:
                raise ValueError(
                    f"cannot {op} polynomials in {self.nvars} and {other.nvars} variables"
                )
            return other
        if isinstance(other, numbers.Real) and not isinstance(other, bool):
            return TropicalPolynomial.constant(other, self.nvars, self._sense, self._vars)
        return NotImplemented

    def __add__(self, other):
        """(+): the max (min) of the two functions; monomials are united."""
        other = self._coerce(other, "add")
        if other is NotImplemented:
            return other
        return TropicalPolynomial(np.vstack([self._E, other._E]),
                                  np.concatenate([self._c, other._c]), self._sense, self._vars)

    __radd__ = __add__

    def __mul__(self, other):
        """(x): the sum of the two functions; monomials form the Minkowski sum."""
        other = self._coerce(other, "multiply")
        if other is NotImplemented:
            return other
        E = (self._E[:, None, :] + other._E[None, :, :]).reshape(-1, self.nvars)
        c = (self._c[:, None] + other._c[None, :]).reshape(-1)
        return TropicalPolynomial(E, c, self._sense, self._vars)

    __rmul__ = __mul__

    def __pow__(self, k):
        """The ``k``-fold (x)-power (integer ``k >= 0``; ``p**0`` is the one)."""
        k = check_int(k, "k")
        result = TropicalPolynomial.constant(0.0, self.nvars, self._sense, self._vars)
        base = self
        while k:
            if k & 1:
                result = result * base
            k >>= 1
            if k:
                base = base * base
        return result

    def __truediv__(self, other):
        """Tropical quotient ``p / q``: the :class:`TropicalRational` ``p - q``."""
        other = self._coerce(other, "divide")
        if other is NotImplemented:
            return other
        return TropicalRational(self, other)

    def __rtruediv__(self, other):
        other = self._coerce(other, "divide")
        if other is NotImplemented:
            return other
        return TropicalRational(other, self)

    def __neg__(self):
        """The isomorphism onto the opposite sense: ``(-p)(x) = -p(x)``."""
        return TropicalPolynomial(0.0 - self._E, 0.0 - self._c,
                                  "min" if self._sense == "max" else "max", self._vars)

    def scale(self, lam):
        """``lam * p`` for a real ``lam >= 0`` (exponents and coefficients scaled)."""
        lam = check_eps(lam, "lam")
        return TropicalPolynomial(self._E * lam, self._c * lam, self._sense, self._vars)

    def compose(self, A, b=None, variables=None):
        """``p(A y + b)``: composition with an affine map ``R^m -> R^n``.

        Parameters
        ----------
        A : array_like, shape (n, m)
        b : array_like, shape (n,), optional

        Examples
        --------
        >>> from tropical.polynomial import TropicalPolynomial
        >>> p = TropicalPolynomial([[1, 0], [0, 1]], [0.0, 0.0])   # max(x, y)
        >>> print(p.compose([[1.0], [-1.0]], [0.0, 2.0]))          # max(x, 2 - x)
        max(-x + 2, x)
        """
        A = np.asarray(as_semiring_array(A, "A", 1, float32_ok=False), dtype=np.float64)
        if A.ndim != 2 or A.shape[0] != self.nvars or not np.isfinite(A).all():
            raise ValueError(f"A must be a finite ({self.nvars}, m) matrix, got shape {A.shape}")
        b = np.zeros(self.nvars) if b is None else as_semiring_array(b, "b", 1, float32_ok=False)
        if b.shape != (self.nvars,) or not np.isfinite(b).all():
            raise ValueError(f"b must be a finite vector of shape ({self.nvars},), got {b.shape}")
        return TropicalPolynomial(self._E @ A, self._c + self._E @ b, self._sense,
                                  variables or default_variables(A.shape[1]))

    # -- simplification and equality ---------------------------------------------
    def maximal_terms(self) -> np.ndarray:
        """Boolean mask of the monomials that are strictly maximal somewhere.

        Exactly the vertices of the upper hull of the lifted points
        ``(a_j, c_j)`` (lower hull for the min sense); the others can be
        removed without changing the function.
        """
        from ._hull import strictly_maximal_terms

        return strictly_maximal_terms(self._E, self._sign * self._c)

    def simplify(self):
        """The same function with every monomial that is nowhere strictly maximal removed.

        Examples
        --------
        >>> from tropical.polynomial import TropicalPolynomial
        >>> p = TropicalPolynomial([0, 1, 2], [0.0, -1.0, 0.0])   # max(0, x-1, 2x)
        >>> print(p.simplify())
        max(0, 2*x)
        """
        if self.nterms <= 1:
            return self
        keep = self.maximal_terms()
        return TropicalPolynomial(self._E[keep], self._c[keep], self._sense, self._vars)

    def equals(self, other) -> bool:
        """Equality as functions on ``R^n`` (compares the simplified forms)."""
        other = self._coerce(other, "compare")
        if other is NotImplemented:
            return False
        a, b = self.simplify(), other.simplify()
        return bool(np.array_equal(a._E, b._E) and np.array_equal(a._c, b._c))

    def __eq__(self, other):
        if not isinstance(other, (TropicalPolynomial, numbers.Real)):
            return NotImplemented
        try:
            return self.equals(other)
        except ValueError:
            return False

    def __hash__(self):
        s = self.simplify()
        return hash((self._sense, s._E.tobytes(), s._c.tobytes()))

    # -- text, LaTeX, JSON ----------------------------------------------------------
    def _term_text(self, e, c, latex=False):
        parts = []
        for a, v in zip(e, self._vars):
            if a == 0:
                continue
            name = _latex_var(v) if latex else v
            if a == 1:
                parts.append(("+", name))
            elif a == -1:
                parts.append(("-", name))
            else:
                sep = " " if latex else "*"
                parts.append(("-" if a < 0 else "+", f"{_fmt(abs(a))}{sep}{name}"))
        if c != 0 or not parts:
            parts.append(("-" if c < 0 else "+", _fmt(abs(c))))
        sign0, first = parts[0]
        text = ("-" if sign0 == "-" else "") + first
        for sgn, t in parts[1:]:
            text += f" {sgn} {t}"
        return text

    def __str__(self):
        terms = ", ".join(self._term_text(e, c) for e, c in zip(self._E, self._c))
        return f"{self._sense}({terms})"

    def __repr__(self):
        return f"TropicalPolynomial('{self}', variables={self._vars!r})"

    def _repr_latex_(self):
        terms = r",\ ".join(self._term_text(e, c, latex=True) for e, c in zip(self._E, self._c))
        return rf"$\{self._sense}\left({terms}\right)$"

    def to_json(self) -> str:
        """JSON text holding sense, variables, exponents and coefficients exactly."""
        return json.dumps({
            "type": "TropicalPolynomial",
            "sense": self._sense,
            "variables": list(self._vars),
            "exponents": self._E.tolist(),
            "coefficients": self._c.tolist(),
        })

    @classmethod
    def from_json(cls, text):
        """Inverse of :meth:`to_json` (validates every field).

        Examples
        --------
        >>> from tropical.polynomial import TropicalPolynomial
        >>> p = TropicalPolynomial([[0, 1], [2, 0]], [0.5, -1.0])
        >>> TropicalPolynomial.from_json(p.to_json()).equals(p)
        True
        """
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("type") != "TropicalPolynomial":
            raise ValueError("not the JSON of a TropicalPolynomial")
        missing = {"sense", "variables", "exponents", "coefficients"} - set(data)
        if missing:
            raise ValueError(f"TropicalPolynomial JSON lacks {sorted(missing)}")
        E = data["exponents"]
        n = len(data["variables"])
        E = np.asarray(E, dtype=np.float64).reshape(-1, n) if len(E) == 0 else E
        return cls(E, data["coefficients"], data["sense"], data["variables"])


def _latex_var(v: str) -> str:
    head = v.rstrip("0123456789")
    tail = v[len(head):]
    return f"{head}_{{{tail}}}" if tail and head else v


class TropicalRational:
    """A tropical rational function ``G / H``: the function ``G(x) - H(x)``.

    Every ReLU network with real weights is one (MATH.md section 4).
    Arithmetic in the semiring's notation: ``R + S`` is (+) (the max of the
    functions), ``R * S`` is (x) (their sum), ``R / S`` the quotient (their
    difference), ``R ** k`` the power.

    Parameters
    ----------
    numerator, denominator : TropicalPolynomial
        Same sense and number of variables.

    Examples
    --------
    >>> from tropical.polynomial import TropicalPolynomial, TropicalRational
    >>> G = TropicalPolynomial([[1], [0]], [0.0, 0.0])   # max(x, 0)
    >>> H = TropicalPolynomial([[1]], [-1.0])            # x - 1
    >>> R = TropicalRational(G, H)
    >>> R([-2.0, 3.0])
    array([3., 1.])
    """

    __slots__ = ("_G", "_H")

    def __init__(self, numerator, denominator):
        if not isinstance(numerator, TropicalPolynomial) or not isinstance(
                denominator, TropicalPolynomial):
            raise TypeError("numerator and denominator must be TropicalPolynomial")
        denominator = numerator._coerce(denominator, "divide")
        if denominator.is_zero():
            raise ZeroDivisionError("the denominator is the zero polynomial")
        self._G, self._H = numerator, denominator

    @property
    def numerator(self) -> TropicalPolynomial:
        return self._G

    @property
    def denominator(self) -> TropicalPolynomial:
        return self._H

    @property
    def sense(self) -> str:
        return self._G.sense

    @property
    def nvars(self) -> int:
        return self._G.nvars

    def __call__(self, x, eps=0.0):
        """``G(x) - H(x)`` (each deformed at ``eps`` when ``eps > 0``)."""
        return self._G(x, eps=eps) - self._H(x, eps=eps)

    def _lift(self, other):
        if isinstance(other, TropicalRational):
            return other
        if isinstance(other, (TropicalPolynomial, numbers.Real)) and not isinstance(other, bool):
            p = self._G._coerce(other, "combine")
            one = TropicalPolynomial.constant(0.0, self.nvars, self.sense, self._G.variables)
            return TropicalRational(p, one)
        return NotImplemented

    def __add__(self, other):
        o = self._lift(other)
        if o is NotImplemented:
            return o
        return TropicalRational(self._G * o._H + o._G * self._H, self._H * o._H)

    __radd__ = __add__

    def __mul__(self, other):
        o = self._lift(other)
        if o is NotImplemented:
            return o
        return TropicalRational(self._G * o._G, self._H * o._H)

    __rmul__ = __mul__

    def __truediv__(self, other):
        o = self._lift(other)
        if o is NotImplemented:
            return o
        return TropicalRational(self._G * o._H, self._H * o._G)

    def __rtruediv__(self, other):
        o = self._lift(other)
        if o is NotImplemented:
            return o
        return o / self

    def __pow__(self, k):
        k = check_int(k, "k")
        return TropicalRational(self._G ** k, self._H ** k)

    def __neg__(self):
        """``-(G - H) = H - G``, as a rational function of the same sense."""
        return TropicalRational(self._H, self._G)

    def simplify(self):
        """Numerator and denominator simplified (the function is unchanged)."""
        return TropicalRational(self._G.simplify(), self._H.simplify())

    def __str__(self):
        return f"({self._G}) - ({self._H})"

    def __repr__(self):
        return f"TropicalRational('{self}')"

    def _repr_latex_(self):
        return "$" + self._G._repr_latex_().strip("$") + " - " + \
            self._H._repr_latex_().strip("$") + "$"

    def to_json(self) -> str:
        """JSON with the numerator and denominator polynomials."""
        return json.dumps({"type": "TropicalRational",
                           "numerator": json.loads(self._G.to_json()),
                           "denominator": json.loads(self._H.to_json())})

    @classmethod
    def from_json(cls, text):
        """Inverse of :meth:`to_json`."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("type") != "TropicalRational":
            raise ValueError("not the JSON of a TropicalRational")
        return cls(TropicalPolynomial.from_json(json.dumps(data["numerator"])),
                   TropicalPolynomial.from_json(json.dumps(data["denominator"])))
