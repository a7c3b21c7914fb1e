r"""The symbolic eps-layer: deformation, dequantization and asymptotics (SymPy).

Conventions are those of MATH.md sections 1, 2 and 4. For ``eps > 0`` the
tropical sum is deformed to log-sum-exp,

.. math::

   \max(a_1, \dots, a_n) \;\rightsquigarrow\; \varepsilon \log \sum_j e^{a_j/\varepsilon},
   \qquad
   \min(a_1, \dots, a_n) \;\rightsquigarrow\; -\varepsilon \log \sum_j e^{-a_j/\varepsilon},

so ``max(z, 0)`` becomes the softplus ``eps*log(1 + exp(z/eps))``. The limit
``eps -> 0+`` (Maslov dequantization) is computed by :func:`dequantize` as an
explicit *valuation rewrite* (``exp(u/eps) -> u``, sums -> ``Max``, products
-> sums, positive constants -> 0), never by :func:`sympy.limit`, which returns
wrong answers for ``eps*log(exp(a/eps) + exp(b/eps))`` with symbolic ``a, b``.

Public names
------------
``eps``
    The positive symbol ``eps`` used by default everywhere.
:func:`deform`, :func:`dequantize`
    The deformation and its exact tropical limit.
:func:`expand`, :class:`Expansion`
    The asymptotic expansion near ``eps = 0+``: leading max, the
    ``eps*log k`` multiplicity term at ties, exponentially small corrections.
:func:`tropicalize`
    Puiseux-style valuation of a polynomial with coefficients in ``t``.
:func:`to_sympy`, :func:`from_sympy`
    Conversion between :class:`~tropical.polynomial.TropicalPolynomial` and
    SymPy ``Max``/``Min`` expressions.
:func:`lambdify_deformed`
    Overflow-free numerics of a deformed expression through the log-sum-exp
    kernels.
:func:`hopf_cole_residual`
    A symbolic proof of the Hopf-Cole identity of MATH.md section 2.

Free symbols other than ``eps`` are treated as *real* variables (the symbols
this module creates carry ``real=True``). This module imports SymPy at its
top; ``import tropical`` does not import it (it loads on first use of
``tropical.symbolic``).

Examples
--------
>>> import sympy as sp
>>> from tropical.symbolic import eps, deform, dequantize
>>> z = sp.Symbol("z", real=True)
>>> deform(sp.Max(z, 0))
eps*log(exp(z/eps) + 1)
>>> dequantize(deform(sp.Max(z, 0)))
Max(0, z)
"""

from __future__ import annotations

import itertools
import math
import numbers
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

__all__ = [
    "eps",
    "deform",
    "dequantize",
    "expand",
    "Expansion",
    "tropicalize",
    "to_sympy",
    "from_sympy",
    "lambdify_deformed",
    "hopf_cole_residual",
]

#: The deformation parameter: a positive SymPy symbol named ``eps``.
eps = sp.Symbol("eps", positive=True)

_EXPAND_TOP = dict(deep=False, mul=True, multinomial=False, power_exp=False,
                   power_base=False, log=False)


class _Uncertified(Exception):
    """Internal: ``expr`` is not of a form whose tropical limit can be certified."""

    def __init__(self, expr, reason):
        super().__init__(reason)
        self.expr = expr
        self.reason = reason
        self.in_sum = False


def _fail(where, exc: _Uncertified):
    raise ValueError(f"{where}: cannot certify {exc.expr} ({exc.reason})") from None


def _polynomial_class():
    from .polynomial import TropicalPolynomial

    return TropicalPolynomial


def _is_polynomial(obj) -> bool:
    return isinstance(obj, _polynomial_class())


def _as_expr(obj, name):
    """Accept SymPy objects and plain numbers; never sympify strings."""
    if isinstance(obj, sp.Basic):
        return obj
    if isinstance(obj, (bool, np.bool_)) or isinstance(obj, str):
        raise TypeError(f"{name} must be a SymPy expression or a number, got {obj!r}")
    if isinstance(obj, (numbers.Number, np.number)):
        return sp.sympify(obj, strict=True)
    raise TypeError(f"{name} must be a SymPy expression or a number, "
                    f"got {type(obj).__name__}")


def _check_eps_symbol(e):
    if not isinstance(e, sp.Symbol):
        raise TypeError(f"eps must be a SymPy Symbol, got {e!r}")
    return e


def _number(v: float):
    """Exact SymPy number of a float: Integer when integral, else a 53-bit Float."""
    v = float(v)
    if math.isinf(v):
        return sp.oo if v > 0 else -sp.oo
    if v.is_integer() and abs(v) < 2 ** 53:
        return sp.Integer(int(v))
    return sp.Float(v, precision=53)


def _scale(c, e):
    """``c*e`` for a real number ``c``, pushed into Max/Min (a negative flips them)."""
    if c == 0:
        return sp.Integer(0)
    if c == 1:
        return e
    if isinstance(e, (sp.Max, sp.Min)):
        op = type(e) if c > 0 else (sp.Min if isinstance(e, sp.Max) else sp.Max)
        return op(*[_scale(c, a) for a in e.args])
    if e.is_Add:
        return sp.Add(*[_scale(c, a) for a in e.args])
    return c * e


# ----------------------------------------------------------------------------------
# conversion
# ----------------------------------------------------------------------------------
def _symbols_of(p):
    return [sp.Symbol(v, real=True) for v in p.variables]


def _monomial_exprs(p, symbols):
    out = []
    for e, c in zip(p.exponents, p.coefficients):
        out.append(sp.Add(_number(c), *[_number(a) * s for a, s in zip(e, symbols)]))
    return out


def to_sympy(p):
    """The SymPy ``Max`` (or ``Min``) expression of a tropical polynomial.

    Parameters
    ----------
    p : TropicalPolynomial

    Returns
    -------
    sympy.Expr
        ``Max(c_j + <a_j, x>)`` (``Min`` for the min sense) in real symbols
        named by ``p.variables``. Integral values become SymPy Integers, other
        floats exact 53-bit Floats. The zero polynomial gives ``-oo``
        (``oo`` for the min sense); one monomial gives an affine expression.

    Examples
    --------
    >>> from tropical.polynomial import TropicalPolynomial
    >>> from tropical.symbolic import to_sympy
    >>> to_sympy(TropicalPolynomial([[0, 0], [1, 2], [3, 0]], [0.0, -1.0, 0.0]))
    Max(0, 3*x, x + 2*y - 1)
    >>> to_sympy(TropicalPolynomial([[1], [0]], [0.0, 0.5], sense="min"))
    Min(0.5, x)
    """
    if not _is_polynomial(p):
        raise TypeError(f"to_sympy expects a TropicalPolynomial, got {type(p).__name__}")
    if p.is_zero():
        return -sp.oo if p.sense == "max" else sp.oo
    op = sp.Max if p.sense == "max" else sp.Min
    return op(*_monomial_exprs(p, _symbols_of(p)))


def _affine_coefficients(expr, names):
    """``(constant, {name: coefficient})`` of an affine expression, else raise."""
    const = 0.0
    coeffs = {}
    for term in sp.Add.make_args(sp.expand(expr)):
        c, rest = term.as_coeff_Mul()
        if not (c.is_number and c.is_extended_real and c.is_finite):
            raise _Uncertified(term, "coefficient is not a finite real number")
        if rest == 1:
            const += float(c)
        elif isinstance(rest, sp.Symbol) and rest.name in names:
            coeffs[rest.name] = coeffs.get(rest.name, 0.0) + float(c)
        elif rest.is_number and rest.is_extended_real and rest.is_finite:
            const += float(c * rest)
        else:
            raise _Uncertified(term, "not affine in the variables with numeric coefficients")
    return const, coeffs


def _tropical_monomials(expr, names):
    """``(sense or None, [affine exprs])`` with ``expr = op(affine exprs)``."""
    if isinstance(expr, (sp.Max, sp.Min)):
        sense = "max" if isinstance(expr, sp.Max) else "min"
        terms = []
        for a in expr.args:
            s, m = _tropical_monomials(a, names)
            if s not in (None, sense):
                raise _Uncertified(a, f"a {s} inside a {sense}: not a tropical polynomial")
            terms.extend(m)
        return sense, terms
    if not expr.has(sp.Max, sp.Min):
        _affine_coefficients(expr, names)  # validates
        return None, [expr]
    if expr.is_Add:
        sense, terms = None, [sp.Integer(0)]
        for a in expr.args:
            s, m = _tropical_monomials(a, names)
            if s is not None:
                if sense not in (None, s):
                    raise _Uncertified(expr, "mixes max and min")
                sense = s
            terms = [u + v for u in terms for v in m]   # tropical product
        return sense, terms
    if expr.is_Mul:
        c, rest = expr.as_coeff_Mul()
        if c != 1 and c.is_extended_real and c.is_finite:
            s, m = _tropical_monomials(rest, names)
            if c < 0 and s is not None:
                s = "min" if s == "max" else "max"
            return s, [c * u for u in m]
    raise _Uncertified(expr, "not a Max/Min of affine expressions with numeric coefficients")


def from_sympy(expr, variables=None, sense=None):
    """A :class:`~tropical.polynomial.TropicalPolynomial` from a SymPy expression.

    Parameters
    ----------
    expr : sympy.Expr
        A ``Max`` (or ``Min``) of affine expressions with real numeric
        coefficients. Nested ``Max`` are flattened, sums of ``Max`` are
        expanded tropically (a sum is (x)), a positive numeric factor scales,
        a negative one turns ``Max`` into ``Min``. An affine expression alone
        is a single monomial.
    variables : sequence of str or Symbol, optional
        Variable order (matched by name); default: the free symbols sorted by
        name.
    sense : {"max", "min"}, optional
        Required sense; default: the sense of ``expr`` ("max" for an affine
        expression).

    Returns
    -------
    TropicalPolynomial

    Raises
    ------
    ValueError
        Naming the offending subexpression (``Max`` mixed with ``Min``, a
        product of variables, a symbolic coefficient, ``eps`` ...).

    Examples
    --------
    >>> import sympy as sp
    >>> from tropical.symbolic import from_sympy
    >>> x, y = sp.symbols("x y", real=True)
    >>> print(from_sympy(sp.Max(0, x + 2*y - 1, sp.Max(3*x, y))))
    max(0, y, x + 2*y - 1, 3*x)
    >>> print(from_sympy(sp.Min(x, 1) + sp.Min(y, 2)))
    min(3, y + 1, x + 2, x + y)
    """
    expr = _as_expr(expr, "expr")
    if sense is not None and sense not in ("max", "min"):
        raise ValueError(f"sense must be 'max' or 'min', got {sense!r}")
    syms = expr.free_symbols
    by_name = {}
    for s in syms:
        if s.name in by_name:
            raise ValueError(f"from_sympy: two different symbols are named {s.name!r}")
        by_name[s.name] = s
    if variables is None:
        names = sorted(by_name)
    else:
        names = [v.name if isinstance(v, sp.Symbol) else v for v in variables]
        if not all(isinstance(v, str) for v in names):
            raise TypeError("variables must be strings or SymPy Symbols")
        extra = sorted(set(by_name) - set(names))
        if extra:
            raise ValueError(f"from_sympy: symbols {extra} of {expr} are not among the "
                             f"variables {names}")
    try:
        found, monos = _tropical_monomials(expr, set(names))
    except _Uncertified as exc:
        raise ValueError(f"from_sympy: cannot convert {exc.expr} ({exc.reason})") from None
    found = found or sense or "max"
    if sense is not None and sense != found:
        raise ValueError(f"from_sympy: {expr} is a {found}, not a {sense}")
    n = len(names)
    E = np.zeros((len(monos), n))
    c = np.zeros(len(monos))
    for i, m in enumerate(monos):
        const, coeffs = _affine_coefficients(m, set(names))
        c[i] = const
        for k, name in enumerate(names):
            E[i, k] = coeffs.get(name, 0.0)
    if n == 0:
        E = np.zeros((len(monos), 1))
        names = ["x"]
    return _polynomial_class()(E, c, found, names)


# ----------------------------------------------------------------------------------
# deformation
# ----------------------------------------------------------------------------------
def _exp_over(d, e, sign):
    """``exp(sign*d/e)`` with ``e*log(S)`` pieces of ``d`` collapsed to ``S``."""
    if d.has(sp.log):
        return sp.exp(sp.expand(sign * d / e, **_EXPAND_TOP))
    return sp.exp(sign * d / e)


def _deform(expr, e):
    if not expr.has(sp.Max, sp.Min):
        return expr
    if isinstance(expr, sp.Max):
        return e * sp.log(sp.Add(*[_exp_over(_deform(a, e), e, 1) for a in expr.args]))
    if isinstance(expr, sp.Min):
        return -e * sp.log(sp.Add(*[_exp_over(_deform(a, e), e, -1) for a in expr.args]))
    if expr.is_Add:
        return sp.Add(*[_deform(a, e) for a in expr.args])
    if expr.is_Mul:
        c, rest = expr.as_coeff_Mul()
        if c != 1 and c.is_extended_real:
            return c * _deform(rest, e)
    raise _Uncertified(expr, "only Max, Min, +, - and numeric multiples can be deformed")


def deform(p_or_expr, eps=eps):
    """The log-sum-exp deformation of a tropical expression.

    ``Max(a_1..a_n) -> eps*log(sum_j exp(a_j/eps))`` and
    ``Min(a_1..a_n) -> -eps*log(sum_j exp(-a_j/eps))``, recursively (nested
    ``Max``/``Min`` deform inside out); sums and numeric multiples are kept.
    ``Max(z, 0)`` becomes the softplus ``eps*log(exp(z/eps) + 1)``.

    Parameters
    ----------
    p_or_expr : TropicalPolynomial or sympy.Expr
        A polynomial (its variables become real symbols, its sense decides
        max/min) or an expression built from ``Max``, ``Min``, ``+``, ``-`` and
        numeric multiplication.
    eps : sympy.Symbol, default :data:`eps`

    Returns
    -------
    sympy.Expr

    Examples
    --------
    >>> import sympy as sp
    >>> from tropical.polynomial import TropicalPolynomial
    >>> from tropical.symbolic import deform
    >>> deform(TropicalPolynomial([[1], [0]], [0.0, 0.0]))          # max(x, 0)
    eps*log(exp(x/eps) + 1)
    >>> x, y = sp.symbols("x y", real=True)
    >>> deform(sp.Min(x, y))
    -eps*log(exp(-y/eps) + exp(-x/eps))
    """
    e = _check_eps_symbol(eps)
    if _is_polynomial(p_or_expr):
        p = p_or_expr
        if p.is_zero():
            return -sp.oo if p.sense == "max" else sp.oo
        sign = 1 if p.sense == "max" else -1
        monos = _monomial_exprs(p, _symbols_of(p))
        return sign * e * sp.log(sp.Add(*[sp.exp(sign * m / e) for m in monos]))
    expr = _as_expr(p_or_expr, "p_or_expr")
    try:
        return _deform(expr, e)
    except _Uncertified as exc:
        _fail("deform", exc)


# ----------------------------------------------------------------------------------
# dequantization: the valuation rewrite
# ----------------------------------------------------------------------------------
def _split_exponent(arg, e):
    """``arg = u/e + w + sum_k c_k*log(S_k)``: return ``(u, w, [(c_k, S_k)])``.

    ``u`` and ``w`` are free of ``e``; every other dependence on ``e`` raises.
    """
    u, w, logs = [], [], []
    for term in sp.Add.make_args(sp.expand(arg, **_EXPAND_TOP)):
        coef, dep = term.as_independent(e, as_Add=False)
        if dep == 1:
            w.append(coef)
        elif dep == 1 / e:
            u.append(coef)
        elif isinstance(dep, sp.log):
            logs.append((coef, dep.args[0]))
        else:
            raise _Uncertified(sp.exp(arg), f"the exponent term {term} is neither u/{e}, "
                               f"free of {e}, nor a multiple of a log")
    return sp.Add(*u), sp.Add(*w), logs


def _check_real(x, where):
    if x.is_extended_real is False:
        raise _Uncertified(where, f"{x} is not real")


def _valuation(S, e):
    """``lim e*log(S)`` for ``S`` certified positive, as a Max/Min expression."""
    if not S.has(e):
        if S.is_positive:
            return sp.Integer(0)
        raise _Uncertified(S, "not certified positive (a sum with a negative or "
                           "sign-unknown term may cancel)")
    if S == e:
        return sp.Integer(0)
    if S.is_Add:
        vals = []
        for a in S.args:
            try:
                vals.append(_valuation(a, e))
            except _Uncertified as exc:
                if not exc.in_sum:
                    exc.in_sum = True
                    exc.reason += f"; in the sum {S}"
                raise
        return sp.Max(*vals)
    if S.is_Mul:
        for a in S.args:
            if not a.has(e) and not a.is_positive:
                raise _Uncertified(S, f"the factor {a} is not certified positive: a sum "
                                   "with this term may cancel")
        return sp.Add(*[_valuation(a, e) for a in S.args])
    if S.is_Pow:
        base, n = S.args
        if not n.has(e):
            if not (n.is_extended_real and n.is_finite):
                raise _Uncertified(S, "the power is not a finite real number")
            if base == e:
                return sp.Integer(0)
            v = _valuation(base, e)
            return _scale(n, v) if n.is_number else n * v
        if not base.has(e) and base.is_positive:
            return _valuation(sp.exp(n * sp.log(base)), e)
        raise _Uncertified(S, "a power with an eps-dependent base and exponent")
    if isinstance(S, sp.exp):
        u, w, logs = _split_exponent(S.args[0], e)
        _check_real(u, S)
        _check_real(w, S)
        val = u
        for c, inner in logs:
            _check_real(c, S)
            v = _valuation(inner, e)
            val = val + (_scale(c, v) if c.is_number else c * v)
        return val
    raise _Uncertified(S, "not a sum/product/power of exp(u/eps) and positive constants")


def _dequantize(expr, e):
    if not expr.has(e):
        return expr
    if isinstance(expr, (sp.Max, sp.Min)):
        return type(expr)(*[_dequantize(a, e) for a in expr.args])
    out = []
    for term in sp.Add.make_args(sp.expand(expr, **_EXPAND_TOP)):
        coef, dep = term.as_independent(e, as_Add=False)
        if dep == 1:
            out.append(coef)
            continue
        power = sp.Integer(0)
        logs = []
        other = []
        for f in sp.Mul.make_args(dep):
            b, k = f.as_base_exp()
            if b == e and k.is_number:
                power += k
            elif isinstance(f, sp.log):
                logs.append(f.args[0])
            else:
                other.append(f)
        if other and not logs and power == 0 and len(other) == 1 \
                and isinstance(other[0], (sp.Max, sp.Min)):
            out.append(coef * _dequantize(other[0], e))
        elif other or len(logs) > 1:
            raise _Uncertified(term, "not a multiple of eps*log(S)")
        elif not logs:
            if power > 0:
                continue  # eps**k -> 0
            raise _Uncertified(term, f"diverges as {e} -> 0+")
        elif power == 1:
            v = _valuation(logs[0], e)
            out.append(_scale(coef, v) if coef.is_number else coef * v)
        elif power > 1:
            _valuation(logs[0], e)  # certifies a finite limit of eps*log(S)
        else:
            raise _Uncertified(term, f"log without a factor {e}: its limit is not tropical")
    return sp.Add(*out)


def dequantize(expr, eps=eps):
    """The exact limit ``eps -> 0+`` of a deformed expression, as Max/Min.

    An explicit valuation rewrite, not :func:`sympy.limit`: ``eps*log(S)`` with
    ``S`` a sum of terms ``c*exp(u/eps)`` (``c > 0`` constants, products and
    powers of such exponentials, ``u`` free of ``eps``) goes to ``Max(u's)``;
    ``exp(u/eps) -> u``, sums -> ``Max``, products -> sums, positive constant
    factors and powers of ``eps`` -> 0 (they contribute ``eps*log c -> 0``);
    ``-eps*log(sum exp(-u/eps)) -> Min(u's)``. Nested deformations (``1/S``
    inside a sum) are handled recursively; terms free of ``eps`` are kept and
    terms ``eps**k`` (``k > 0``) vanish.

    Parameters
    ----------
    expr : sympy.Expr
    eps : sympy.Symbol, default :data:`eps`

    Returns
    -------
    sympy.Expr
        Free of ``eps``.

    Raises
    ------
    ValueError
        Naming the subexpression when the limit cannot be certified: a term of
        a sum with a negative or sign-unknown coefficient (cancellation), an
        exponent not of the form ``u/eps + w``, ``log`` without the factor
        ``eps`` ...

    Examples
    --------
    >>> import sympy as sp
    >>> from tropical.symbolic import eps, dequantize
    >>> a, b = sp.symbols("a b", real=True)
    >>> dequantize(eps*sp.log(sp.exp(a/eps) + sp.exp(b/eps)))
    Max(a, b)
    >>> dequantize(-eps*sp.log(2*sp.exp(-a/eps) + sp.exp(-(a + b)/eps)*eps))
    Min(a, a + b)
    >>> dequantize(eps*sp.log(sp.exp(a/eps) - sp.exp(b/eps)))
    Traceback (most recent call last):
    ...
    ValueError: dequantize: cannot certify -exp(b/eps) (the factor -1 is not certified positive...)
    """
    e = _check_eps_symbol(eps)
    expr = _as_expr(expr, "expr")
    try:
        return _dequantize(expr, e)
    except _Uncertified as exc:
        _fail("dequantize", exc)


# ----------------------------------------------------------------------------------
# asymptotic expansion
# ----------------------------------------------------------------------------------
@dataclass
class Expansion:
    r"""Asymptotic expansion of a deformed expression near ``eps = 0+``.

    The expansion is

    .. math::

       F(\varepsilon) = \text{leading} + \text{log\_multiplicity} + \text{regular}
       + \varepsilon \sum_i c_i \, e^{-r_i/\varepsilon} + R(\varepsilon),

    with ``corrections = [(c_i, r_i), ...]`` sorted by increasing rate
    ``r_i > 0``. For a log-sum-exp ``eps*log(sum_j c_j exp(u_j/eps))`` at a
    point with maximum ``M`` attained by the terms ``T`` (``k = |T|``,
    ``C = sum_{T} c_j``, ``C = k`` for unit coefficients) and gaps
    ``g_j = M - u_j`` of the others, ``leading = M``,
    ``log_multiplicity = eps*log(C)`` and the corrections are
    ``(c_j/C, g_j)``.

    Remainder bound (derivation): with ``y = sum_{j not in T} b_j exp(-g_j/eps)``,
    ``b_j = c_j/C``, the exact identity is
    ``eps*log(S) = M + eps*log C + eps*log(1 + y)``, and for ``y >= 0``,
    ``-y**2/2 <= log(1 + y) - y <= 0``. Keeping the terms with rates
    ``<= r_K`` leaves ``eps*(log(1+y) - y) + eps*tail``, with
    ``0 <= tail <= B_tail*exp(-g_next/eps)`` (``g_next`` the smallest dropped
    gap, ``B_tail`` the sum of the dropped ``b_j``), hence

    .. math::

       |R(\varepsilon)| \le \varepsilon\,|coef| \left(B_{tail}\, e^{-g_{next}/\varepsilon}
       + \tfrac{B^2}{2}\, e^{-2 g_{min}/\varepsilon}\right)

    summed over the log-sum-exp terms of the expression (``coef`` their
    multiple, ``B = sum b_j``). :meth:`remainder_bound` evaluates it;
    ``next_rate`` is the slowest of its rates.

    Attributes
    ----------
    leading : sympy.Expr
        The tropical limit (``eps``-free).
    log_multiplicity : sympy.Expr
        ``coef*eps*log(C)`` summed over the log-sum-exp terms (``eps*log k``
        at a ``k``-fold tie with unit coefficients).
    multiplicity : tuple of int
        ``k`` for each log-sum-exp term of the expression.
    corrections : list of (sympy.Expr, sympy.Expr)
        ``(coefficient, rate)``: the term ``coefficient*eps*exp(-rate/eps)``.
    regular : sympy.Expr
        Terms polynomial in ``eps`` other than the above (usually 0).
    conditions : tuple of sympy relationals
        Empty at a point; in symbolic mode, the strict inequalities defining
        the region where the chosen terms dominate.
    next_rate : sympy.Expr or None
        The slowest rate of the remainder bound (``None`` in symbolic mode or
        when the expansion is exact).

    Examples
    --------
    >>> import sympy as sp
    >>> from tropical.symbolic import eps, expand
    >>> x = sp.Symbol("x", real=True)
    >>> X = expand(eps*sp.log(sp.exp(x/eps) + sp.exp(0/eps)), at={x: -2})
    >>> X.leading, X.log_multiplicity, X.corrections, X.next_rate
    (0, 0, [(1, 2)], 4)
    >>> X.as_expr()
    eps*exp(-2/eps)
    """

    leading: sp.Expr
    log_multiplicity: sp.Expr
    multiplicity: tuple
    corrections: list
    regular: sp.Expr = sp.Integer(0)
    conditions: tuple = ()
    next_rate: object = None
    eps: sp.Symbol = eps
    _bound: list = field(default_factory=list, repr=False)

    def as_expr(self):
        """The truncated expansion as one SymPy expression in ``eps``.

        Examples
        --------
        >>> import sympy as sp
        >>> from tropical.symbolic import eps, expand
        >>> x = sp.Symbol("x", real=True)
        >>> F = eps*sp.log(sp.exp(x/eps) + sp.exp((1 - x)/eps) + sp.exp(0/eps))
        >>> expand(F, at={x: sp.Rational(1, 2)}).as_expr()
        eps*log(2) + eps*exp(-1/(2*eps))/2 + 1/2
        """
        e = self.eps
        return (self.leading + self.log_multiplicity + self.regular
                + sp.Add(*[c * e * sp.exp(-r / e) for c, r in self.corrections]))

    def remainder_bound(self, eps_value):
        """Upper bound of ``|F(eps) - as_expr()|`` at ``eps = eps_value`` (an mpmath number).

        Evaluated at the working precision of :mod:`mpmath`; only available
        for expansions at a point.

        Examples
        --------
        >>> import sympy as sp
        >>> from tropical.symbolic import eps, expand
        >>> x = sp.Symbol("x", real=True)
        >>> F = eps*sp.log(sp.exp(x/eps) + 1)
        >>> X = expand(F, at={x: -1})
        >>> float(X.remainder_bound(0.1)) == 0.1 * 0.5 * float(sp.exp(-20))
        True
        """
        import mpmath

        if self.conditions:
            raise ValueError("remainder_bound is only available for an expansion at a point")
        h = mpmath.mpf(eps_value)
        total = mpmath.mpf(0)
        for coef, b_tail, g_next, b_all, g_min in self._bound:
            part = mpmath.mpf(0)
            if b_tail != 0:
                part += _mp(b_tail) * mpmath.exp(-_mp(g_next) / h)
            if b_all != 0:
                part += _mp(b_all) ** 2 / 2 * mpmath.exp(-2 * _mp(g_min) / h)
            total += abs(_mp(coef)) * h * part
        return total


def _mp(x):
    import mpmath

    return mpmath.mpf(sp.Float(x, mpmath.mp.dps + 5)) if not isinstance(x, mpmath.mpf) else x


def _lse_terms(S, e):
    """``S = sum_j c_j*exp(u_j/e)``: list of ``(c_j, u_j)``, ``c_j`` free of ``e``."""
    out = []
    for term in sp.Add.make_args(S):
        c, u = [], []
        for f in sp.Mul.make_args(term):
            if not f.has(e):
                c.append(f)
            elif isinstance(f, sp.exp):
                uu, w, logs = _split_exponent(f.args[0], e)
                if logs:
                    raise _Uncertified(f, "a nested deformation: expand needs a flat "
                                       "sum of c*exp(u/eps)")
                u.append(uu)
                c.append(sp.exp(w))
            else:
                raise _Uncertified(f, "a nested deformation or eps-dependent factor: expand "
                                   "needs a flat sum of c*exp(u/eps)")
        out.append((sp.Mul(*c), sp.Add(*u)))
    return out


def _decompose(expr, e):
    """``expr = free + regular + sum coef*e*log(S)``: ``(free, regular, [(coef, terms)])``."""
    free, regular, logs = [], [], []
    for term in sp.Add.make_args(sp.expand(expr, **_EXPAND_TOP)):
        coef, dep = term.as_independent(e, as_Add=False)
        if dep == 1:
            free.append(coef)
            continue
        factors = sp.Mul.make_args(dep)
        if len(factors) == 2 and e in factors:
            (lg,) = [f for f in factors if f != e]
            if isinstance(lg, sp.log) and coef.is_number and coef.is_extended_real:
                logs.append((coef, _lse_terms(lg.args[0], e)))
                continue
        b, k = dep.as_base_exp()
        if b == e and k.is_number and k > 0:
            regular.append(term)
            continue
        raise _Uncertified(term, "expand needs coef*eps*log(sum c*exp(u/eps)) terms "
                           "with a numeric coef")
    return sp.Add(*free), sp.Add(*regular), logs


def _is_zero_number(v):
    z = sp.simplify(v) if not v.is_number else v
    return bool(z.is_zero)


def _expand_at(free, regular, logs, at, order, e):
    leading = free.subs(at)
    log_mult = sp.Integer(0)
    mult = []
    raw = []      # (coef*b, gap, log-term index)
    per_log = []
    for idx, (coef, terms) in enumerate(logs):
        vals = []
        for c, u in terms:
            cv, uv = sp.sympify(c.subs(at)), sp.sympify(u.subs(at))
            if not (uv.is_number and cv.is_number):
                missing = (uv.free_symbols | cv.free_symbols)
                raise ValueError(f"expand: `at` gives no value to {sorted(map(str, missing))}")
            if not cv.is_positive:
                raise ValueError(f"expand: the coefficient {c} of exp({u}/{e}) is not positive "
                                 "at the point (cancellation)")
            vals.append((cv, uv))
        M = sp.Max(*[uv for _, uv in vals])
        tie = [cv for cv, uv in vals if _is_zero_number(uv - M)]
        rest = [(cv, M - uv) for cv, uv in vals if not _is_zero_number(uv - M)]
        C = sp.Add(*tie)
        leading += coef * M
        log_mult += coef * e * sp.log(C)
        mult.append(len(tie))
        bs = [(cv / C, g) for cv, g in rest]
        per_log.append((coef, bs))
        raw.extend((coef * b, g, idx) for b, g in bs)
    # distinct rates, ascending (exact comparison of numbers)
    rates = []
    for _, g, _ in raw:
        if not any(_is_zero_number(g - r) for r in rates):
            rates.append(g)
    rates.sort(key=lambda r: sp.Float(r, 30))
    kept = rates[:order]
    corrections = []
    for r in kept:
        coeff = sp.Add(*[cb for cb, g, _ in raw if _is_zero_number(g - r)])
        if not _is_zero_number(coeff):
            corrections.append((coeff, r))
    bound = []
    next_rates = []
    for coef, bs in per_log:
        if not bs:
            continue
        dropped = [(b, g) for b, g in bs if not any(_is_zero_number(g - r) for r in kept)]
        b_tail = sp.Add(*[b for b, _ in dropped])
        g_next = min((g for _, g in dropped), key=lambda r: sp.Float(r, 30), default=0)
        b_all = sp.Add(*[b for b, _ in bs])
        g_min = min((g for _, g in bs), key=lambda r: sp.Float(r, 30))
        bound.append((coef, b_tail, g_next, b_all, g_min))
        next_rates.append(2 * g_min)
        if dropped:
            next_rates.append(g_next)
    next_rate = min(next_rates, key=lambda r: sp.Float(r, 30)) if next_rates else None
    return Expansion(leading=sp.sympify(leading), log_multiplicity=log_mult,
                     multiplicity=tuple(mult), corrections=corrections,
                     regular=regular.subs(at), next_rate=next_rate, eps=e, _bound=bound)


def _expand_symbolic(free, regular, logs, e):
    pieces = []
    for choice in itertools.product(*[range(len(terms)) for _, terms in logs]):
        leading, log_mult, corr, conds = free, sp.Integer(0), [], []
        for (coef, terms), j in zip(logs, choice):
            cj, uj = terms[j]
            leading += coef * uj
            log_mult += coef * e * sp.log(cj)
            for i, (ci, ui) in enumerate(terms):
                if i != j:
                    corr.append((coef * ci / cj, sp.expand(uj - ui)))
                    conds.append(sp.StrictGreaterThan(uj, ui))
        pieces.append(Expansion(leading=leading, log_multiplicity=log_mult,
                                multiplicity=tuple(1 for _ in logs), corrections=corr,
                                regular=regular, conditions=tuple(conds), eps=e))
    return pieces


def expand(expr, eps=eps, order=1, at=None):
    """Asymptotic expansion of a deformed expression near ``eps = 0+``.

    The expression must be a sum of ``eps``-free terms, powers of ``eps`` and
    terms ``coef*eps*log(sum_j c_j*exp(u_j/eps))`` with numeric ``coef``
    (``-1`` for a min) and positive ``eps``-free ``c_j`` -- the output of
    :func:`deform` for a tropical polynomial, a softplus, a tropical rational
    function. See :class:`Expansion` for the form and the remainder bound.

    Parameters
    ----------
    expr : sympy.Expr
    eps : sympy.Symbol, default :data:`eps`
    order : int, default 1
        Number of distinct correction rates kept (slowest decay first). At a
        point, ``order=0`` keeps only the leading and multiplicity terms.
    at : dict, optional
        ``{symbol: number}``: expand at this point. Ties are detected exactly,
        so give exact (Integer/Rational) coordinates when ties matter.

    Returns
    -------
    Expansion or list of Expansion
        At a point, one :class:`Expansion`. Without ``at``, a list with one
        :class:`Expansion` per choice of dominant term ``j`` (for each
        log-sum-exp term of the expression): on the open region
        ``conditions`` (``u_j > u_i`` for all ``i != j``; possibly empty) the
        expansion is ``u_j + eps*log(c_j) + eps*sum_i (c_i/c_j)*exp(-(u_j - u_i)/eps)
        + O(eps*exp(-2*min gap/eps))``. In this mode every correction is kept
        (``order`` is ignored: which rate is slowest depends on the point).

    Examples
    --------
    >>> import sympy as sp
    >>> from tropical.symbolic import eps, deform, expand
    >>> x, y = sp.symbols("x y", real=True)
    >>> F = deform(sp.Max(x, y, 0))
    >>> X = expand(F, at={x: 1, y: 1}, order=1)       # a tie of two terms
    >>> X.leading, X.log_multiplicity, X.multiplicity, X.corrections
    (1, eps*log(2), (2,), [(1/2, 1)])
    >>> pieces = expand(deform(sp.Max(x, 0)))       # symbolic: one piece per region
    >>> [(p.leading, p.conditions) for p in pieces]
    [(0, (0 > x,)), (x, (x > 0,))]
    >>> pieces[1].as_expr()
    eps*exp(-x/eps) + x
    """
    e = _check_eps_symbol(eps)
    expr = _as_expr(expr, "expr")
    if isinstance(order, bool) or not isinstance(order, numbers.Integral) or order < 0:
        raise ValueError(f"order must be an integer >= 0, got {order!r}")
    try:
        free, regular, logs = _decompose(expr, e)
    except _Uncertified as exc:
        _fail("expand", exc)
    if at is None:
        return _expand_symbolic(free, regular, logs, e)
    if not isinstance(at, dict):
        raise TypeError("at must be a dict {symbol: number}")
    point = {}
    for k, v in at.items():
        if not isinstance(k, sp.Symbol):
            raise TypeError(f"the keys of `at` must be SymPy symbols, got {k!r}")
        if k == e:
            raise ValueError("`at` must not fix eps")
        point[k] = _as_expr(v, f"at[{k}]")
    return _expand_at(free, regular, logs, point, int(order), e)


# ----------------------------------------------------------------------------------
# tropicalization
# ----------------------------------------------------------------------------------
def _t_valuation(coeff, t):
    """Lowest exponent of ``t`` in a finite sum ``sum_q k_q*t**q`` (``k_q`` numbers)."""
    groups = {}
    for term in sp.Add.make_args(sp.expand(coeff)):
        k, dep = term.as_independent(t, as_Add=False)
        if dep == 1:
            q = sp.Integer(0)
        else:
            b, q = dep.as_base_exp()
            if b != t or not (q.is_number and q.is_extended_real):
                raise _Uncertified(term, f"not a numeric multiple of a real power of {t}")
        if not k.is_number:
            raise _Uncertified(term, "the coefficient is not a number")
        groups[q] = groups.get(q, 0) + k
    nonzero = [q for q, k in groups.items() if not _is_zero_number(sp.sympify(k))]
    if not nonzero:
        return None
    return min(nonzero, key=lambda q: sp.Float(q, 30))


def tropicalize(poly, t, sense="min", variables=None):
    """The tropical polynomial of a polynomial with Puiseux-style coefficients in ``t``.

    Each coefficient ``c_j(t)`` is a finite sum ``sum_q k_q * t**q`` (numbers
    ``k_q``, real -- typically rational -- exponents ``q``, negative allowed);
    its valuation ``val(c_j)`` is the lowest ``q`` with a nonzero ``k_q``.

    * ``sense="min"``: ``min_j (val(c_j) + <a_j, x>)``;
    * ``sense="max"``: ``max_j (-val(c_j) + <a_j, x>)`` (the image under
      negation of the coordinates and the values).

    Parameters
    ----------
    poly : sympy.Expr
        A polynomial in ``variables`` (real exponents allowed: a tropical
        polynomial may have them) whose coefficients are such sums.
    t : sympy.Symbol
    sense : {"min", "max"}, default "min"
    variables : sequence of Symbol, optional
        Default: the free symbols other than ``t``, sorted by name.

    Returns
    -------
    TropicalPolynomial
        Monomials whose coefficient cancels to 0 (valuation ``+inf``, the
        tropical zero) are absent. Rational valuations become floats.

    Raises
    ------
    ValueError
        For the zero polynomial and for a coefficient that is not a finite sum
        of numeric multiples of powers of ``t`` (``1/(1 + t)``, ``log(t)``, a
        symbol that is not a variable ...), naming it.

    Examples
    --------
    >>> import sympy as sp
    >>> from tropical.symbolic import tropicalize
    >>> t, x, y = sp.symbols("t x y")
    >>> f = t*x**2 + x*y + t**3 + (1 + t)*y**2 + 5*t**sp.Rational(1, 2)*x
    >>> print(tropicalize(f, t))
    min(3, 2*y, x + 0.5, x + y, 2*x + 1)
    >>> print(tropicalize(f, t, sense="max"))
    max(-3, 2*y, x - 0.5, x + y, 2*x - 1)
    """
    if sense not in ("min", "max"):
        raise ValueError(f"sense must be 'min' or 'max', got {sense!r}")
    poly = _as_expr(poly, "poly")
    if not isinstance(t, sp.Symbol):
        raise TypeError(f"t must be a SymPy Symbol, got {t!r}")
    if variables is None:
        variables = sorted(poly.free_symbols - {t}, key=lambda s: s.name)
    variables = list(variables)
    if not all(isinstance(v, sp.Symbol) for v in variables) or t in variables:
        raise TypeError("variables must be SymPy Symbols other than t")
    poly = sp.expand(poly)
    if poly == 0:
        raise ValueError("tropicalize: the zero polynomial has no tropical polynomial "
                         "(every valuation is +inf)")
    groups = {}
    for term in sp.Add.make_args(poly):
        coef, mono = term.as_independent(*variables, as_Add=False)
        powers = dict.fromkeys(variables, sp.Integer(0))
        for f in sp.Mul.make_args(mono):
            if f == 1:
                continue
            b, k = f.as_base_exp()
            if b not in powers or not (k.is_number and k.is_extended_real):
                raise ValueError(f"tropicalize: {term} is not a monomial in {variables} with "
                                 "real numeric exponents")
            powers[b] += k
        key = tuple(powers[v] for v in variables)
        groups[key] = groups.get(key, 0) + coef
    E, c = [], []
    for key, coef in groups.items():
        try:
            v = _t_valuation(coef, t)
        except _Uncertified as exc:
            raise ValueError(f"tropicalize: the coefficient {coef} of "
                             f"{sp.Mul(*[s**k for s, k in zip(variables, key)])} is not a "
                             f"finite sum of powers of {t}: {exc.expr} ({exc.reason})") from None
        if v is None:
            continue
        E.append([float(k) for k in key])
        c.append(float(v) if sense == "min" else -float(v))
    if not E:
        raise ValueError("tropicalize: the zero polynomial has no tropical polynomial "
                         "(every valuation is +inf)")
    names = [v.name for v in variables] or ["x"]
    E = np.asarray(E, dtype=np.float64).reshape(len(c), max(len(variables), 1))
    return _polynomial_class()(E, c, sense, names)


# ----------------------------------------------------------------------------------
# numerics
# ----------------------------------------------------------------------------------
def _flat_polynomials(logs, names):
    """Each log-sum-exp term as a max-sense TropicalPolynomial plus ``log c_j`` offsets."""
    out = []
    for coef, terms in logs:
        E = np.zeros((len(terms), len(names)))
        c0 = np.zeros(len(terms))
        logc = np.zeros(len(terms))
        for j, (c, u) in enumerate(terms):
            if not (c.is_number and c.is_positive):
                return None
            const, coeffs = _affine_coefficients(u, set(names))
            c0[j] = const
            logc[j] = float(sp.log(c))
            for k, name in enumerate(names):
                E[j, k] = coeffs.get(name, 0.0)
        out.append((float(coef), E, c0, logc))
    return out


def _compile(expr, e, names, eps_value):
    """A closure ``env -> ndarray`` computing ``expr``; logs of sums via the lse kernel."""
    from . import _ops

    def num(x):
        if x.is_Number or (x.is_number and not x.has(e)):
            v = float(x)
            return lambda env: v
        if x == e:
            return lambda env: eps_value
        if isinstance(x, sp.Symbol):
            if x.name not in names:
                raise ValueError(f"lambdify_deformed: {x} is not among the variables {names}")
            return lambda env: env[x.name]
        if x.is_Add:
            fs = [num(a) for a in x.args]
            return lambda env: sum(f(env) for f in fs)
        if x.is_Mul:
            fs = [num(a) for a in x.args]

            def prod(env):
                out = fs[0](env)
                for f in fs[1:]:
                    out = out * f(env)
                return out
            return prod
        if isinstance(x, sp.log):
            return logn(x.args[0])
        if isinstance(x, sp.exp):
            f = num(x.args[0])
            return lambda env: np.exp(f(env))
        if x.is_Pow:
            fb, fk = num(x.args[0]), num(x.args[1])
            return lambda env: np.power(fb(env), fk(env))
        if isinstance(x, (sp.Max, sp.Min)):
            fs = [num(a) for a in x.args]
            red = np.maximum if isinstance(x, sp.Max) else np.minimum

            def extremum(env):
                out = fs[0](env)
                for f in fs[1:]:
                    out = red(out, f(env))
                return out
            return extremum
        raise ValueError(f"lambdify_deformed: cannot evaluate {x}")

    def logn(S):
        """``log(S)`` for ``S`` certified positive, never forming ``S`` itself."""
        if not S.has(e) and not S.free_symbols:
            if not S.is_positive:
                raise ValueError(f"lambdify_deformed: log of {S}, which is not positive")
            v = float(sp.log(S))
            return lambda env: v
        if S == e:
            v = math.log(eps_value)
            return lambda env: v
        if S.is_Add:
            fs = [logn(a) for a in S.args]

            def lse(env):
                cols = np.broadcast_arrays(*[np.asarray(f(env), dtype=np.float64) for f in fs])
                return _ops.lse(np.stack(cols, axis=-1), 1.0, axis=-1)
            return lse
        if S.is_Mul:
            fs = [logn(a) for a in S.args]
            return lambda env: sum(f(env) for f in fs)
        if isinstance(S, sp.exp):
            return num(S.args[0])
        if S.is_Pow:
            fb, fk = logn(S.args[0]), num(S.args[1])
            return lambda env: fk(env) * fb(env)
        if S.is_positive:
            f = num(S)
            return lambda env: np.log(f(env))
        raise ValueError(f"lambdify_deformed: cannot certify that {S} is positive")

    return num(expr)


def lambdify_deformed(expr, variables, eps_value, eps=eps):
    """A NumPy function evaluating a deformed expression at ``eps = eps_value`` without overflow.

    A sum of ``eps``-free terms and ``coef*eps*log(sum_j c_j*exp(u_j/eps))``
    with affine ``u_j`` is routed through
    :class:`~tropical.polynomial.TropicalPolynomial` evaluation (one matrix
    product and the log-sum-exp kernel; ``log c_j`` folds into the
    coefficients). Anything else (nested deformations, non-affine exponents)
    is evaluated by a recursive compiler that computes every ``log`` of a sum
    through :func:`tropical.lse` and never forms ``exp(u/eps)`` inside a log.

    Parameters
    ----------
    expr : sympy.Expr
    variables : sequence of Symbol or str
        Order of the coordinates of the input.
    eps_value : float
        ``> 0``.
    eps : sympy.Symbol, default :data:`eps`

    Returns
    -------
    callable
        ``f(X)`` with ``X`` of shape ``(..., n)`` (any shape when ``n = 1``),
        returning an ndarray of shape ``X.shape[:-1]``.

    Examples
    --------
    >>> import numpy as np, sympy as sp
    >>> from tropical.symbolic import deform, lambdify_deformed
    >>> x, y = sp.symbols("x y", real=True)
    >>> f = lambdify_deformed(deform(sp.Max(1000*x, 1000*y)), [x, y], 1e-3)
    >>> float(f(np.array([1.0, 1.0])))              # 1000 + 1e-3*log 2, no overflow
    1000.00069314718...
    >>> g = lambdify_deformed(deform(sp.Max(sp.Min(x, y), 0)), [x, y], 1e-3)
    >>> g(np.array([[1.0, 2.0], [-1.0, 3.0]])).round(6)
    array([1., 0.])
    """
    from ._validate import check_eps

    e = _check_eps_symbol(eps)
    eps_value = check_eps(eps_value, "eps_value")
    if eps_value == 0:
        raise ValueError("eps_value must be > 0 (use dequantize for eps = 0)")
    expr = _as_expr(expr, "expr")
    names = [v.name if isinstance(v, sp.Symbol) else v for v in variables]
    if not all(isinstance(v, str) for v in names) or len(set(names)) != len(names):
        raise ValueError(f"variables must be distinct symbols or names, got {variables!r}")
    n = len(names)
    stray = sorted(s.name for s in expr.free_symbols if s != e and s.name not in names)
    if stray:
        raise ValueError(f"lambdify_deformed: symbols {stray} are not among the variables")

    flat = None
    try:
        free, regular, logs = _decompose(expr, e)
        flat = _flat_polynomials(logs, names) if n else None
        free_fn = _compile(free + regular, e, names, eps_value) if flat is not None else None
    except (_Uncertified, ValueError):
        flat = None
    if flat is not None:
        TropicalPolynomial = _polynomial_class()
        polys = [(coef, TropicalPolynomial(E, c0 + eps_value * logc, "max", names))
                 for coef, E, c0, logc in flat]
    else:
        general = _compile(expr, e, names, eps_value)

    def evaluate(X):
        X = np.asarray(X, dtype=np.float64)
        if n == 1 and (X.ndim == 0 or X.shape[-1] != 1):
            X = X[..., None]
        if n and X.shape[-1] != n:
            raise ValueError(f"X must have shape (..., {n}), got {X.shape}")
        env = {name: X[..., k] for k, name in enumerate(names)}
        shape = X.shape[:-1]
        if flat is not None:
            out = np.broadcast_to(np.asarray(free_fn(env), dtype=np.float64), shape).copy()
            for coef, p in polys:
                out = out + coef * p(X, eps=eps_value)
        else:
            out = np.broadcast_to(np.asarray(general(env), dtype=np.float64), shape).copy()
        return out if out.ndim else out[()]

    return evaluate


# ----------------------------------------------------------------------------------
# Hopf-Cole
# ----------------------------------------------------------------------------------
def hopf_cole_residual(N, d, time_factor=4, eps=eps):
    """Symbolic proof of the Hopf-Cole identity of MATH.md section 2.

    Builds, with symbols ``g_j``, ``y_j = (y_j_1..y_j_d)``, ``x = (x_1..x_d)``,
    ``t > 0`` and ``eps``,

    ``u = -eps*log sum_{j=1..N} exp(-(g_j + |x - y_j|**2/(time_factor*t))/eps)``,

    differentiates it honestly (``sympy.diff``) and returns the simplified
    ``u_t + |grad u|**2 - eps*Laplacian(u) + eps*d/(2*t)``, which is exactly
    ``0`` for ``time_factor = 4``. Simplification is fast: every exponential
    ``exp(-phi_j/eps)`` is replaced by a positive symbol ``V_j`` (the
    Cole-Hopf variable ``v = sum V_j = exp(-u/eps)``), which makes the
    residual a rational function of polynomials, reduced by
    :func:`sympy.cancel`. Any other ``time_factor`` (e.g. 2) gives a nonzero
    residual: the proof is sensitive to the formula.

    Parameters
    ----------
    N : int
        Number of points ``y_j`` (``>= 1``).
    d : int
        Space dimension (``>= 1``).
    time_factor : number, default 4
    eps : sympy.Symbol, default :data:`eps`

    Returns
    -------
    sympy.Expr

    Examples
    --------
    >>> from tropical.symbolic import hopf_cole_residual
    >>> hopf_cole_residual(2, 1)
    0
    >>> hopf_cole_residual(2, 1, time_factor=2) == 0
    False
    """
    for name, v in (("N", N), ("d", d)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    e = _check_eps_symbol(eps)
    tf = _as_expr(time_factor, "time_factor")
    t = sp.Symbol("t", positive=True)
    x = sp.symbols(f"x1:{d + 1}", real=True)
    g = sp.symbols(f"g1:{N + 1}", real=True)
    y = [sp.symbols(f"y{j}_1:{d + 1}", real=True) for j in range(1, N + 1)]
    exps = [sp.exp(-(g[j] + sum((x[k] - y[j][k]) ** 2 for k in range(d)) / (tf * t)) / e)
            for j in range(N)]
    u = -e * sp.log(sp.Add(*exps))
    residual = (sp.diff(u, t) + sum(sp.diff(u, xk) ** 2 for xk in x)
                - e * sum(sp.diff(u, xk, 2) for xk in x) + e * d / (2 * t))
    V = sp.symbols(f"V1:{N + 1}", positive=True)
    residual = residual.xreplace(dict(zip(exps, V)))
    if residual.has(sp.exp):
        # an exponential that diff rewrote: fall back to matching arguments
        residual = residual.replace(
            lambda z: isinstance(z, sp.exp),
            lambda z: next((Vj for ej, Vj in zip(exps, V)
                            if sp.expand(z.args[0] - ej.args[0]) == 0), z))
    return sp.cancel(sp.together(residual))
