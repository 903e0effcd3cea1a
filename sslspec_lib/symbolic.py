r"""SymPy helpers: generic symbolic instances and identity checks.

A derivation in this book is carried out on a *generic* instance: a
relation matrix whose entries are independent symbols (symmetric, zero
diagonal), a representation whose entries are free symbols.  An identity is
accepted only if ``simplify(lhs - rhs)`` is exactly zero; otherwise
:func:`assert_identity` fails and shows the simplified residual.
"""
from __future__ import annotations

from typing import Any

import sympy as sp

__all__ = [
    "symmetric_matrix",
    "matrix",
    "laplacian",
    "centering",
    "assert_identity",
    "gradient",
    "cayley_orthogonal",
]


def symmetric_matrix(name: str, n: int, *, zero_diagonal: bool = True,
                     nonnegative: bool = True) -> sp.Matrix:
    """Generic symmetric ``n x n`` matrix with entries ``name_i_j`` (``i < j``).

    ``G[i, j]`` and ``G[j, i]`` are the same symbol; the diagonal is 0 if
    ``zero_diagonal`` (a relation matrix), else symbols ``name_i_i``.
    """
    def entry(i: int, j: int) -> Any:
        a, b = min(i, j), max(i, j)
        if a == b and zero_diagonal:
            return sp.Integer(0)
        return sp.Symbol(f"{name}_{a}{b}" if n < 10 else f"{name}_{a}_{b}",
                         real=True, nonnegative=nonnegative or None)
    return sp.Matrix(n, n, entry)


def matrix(name: str, n: int, k: int) -> sp.Matrix:
    """Generic ``n x k`` matrix of real symbols ``name_i_j``."""
    return sp.Matrix(n, k, lambda i, j: sp.Symbol(
        f"{name}_{i}{j}" if max(n, k) < 10 else f"{name}_{i}_{j}", real=True))


def laplacian(G: sp.Matrix) -> sp.Matrix:
    r"""Symbolic :math:`L = \operatorname{diag}(G\mathbf 1) - G`."""
    return sp.diag(*[sum(G.row(i)) for i in range(G.rows)]) - G


def centering(n: int) -> sp.Matrix:
    r"""Symbolic :math:`H = I - \mathbf 1\mathbf 1^\top / n` (exact rationals)."""
    return sp.eye(n) - sp.ones(n, n) / n


def gradient(expr: sp.Expr, M: sp.Matrix) -> sp.Matrix:
    """Matrix of partial derivatives of a scalar ``expr`` w.r.t. the entries of ``M``."""
    return M.applyfunc(lambda m: sp.diff(expr, m))


def assert_identity(lhs: Any, rhs: Any, *, label: str = "identity") -> bool:
    """Assert that ``lhs - rhs`` simplifies to exactly zero.

    Works on scalars and matrices (entry-wise).  On failure raises
    ``AssertionError`` whose message shows the simplified, non-zero
    residual, so a wrong derivation is visible rather than silently passing.

    Returns
    -------
    bool
        ``True`` (so a notebook can print a one-line verdict).
    """
    diff = sp.Matrix(lhs) - sp.Matrix(rhs) if isinstance(lhs, sp.MatrixBase) \
        else sp.sympify(lhs) - sp.sympify(rhs)
    if isinstance(diff, sp.MatrixBase):
        residual = diff.applyfunc(lambda e: sp.simplify(sp.expand(e)))
        ok = residual.is_zero_matrix is True
    else:
        residual = sp.simplify(sp.expand(diff))
        ok = residual == 0
    if not ok:
        raise AssertionError(f"{label} does not hold; simplified residual:\n"
                             f"{sp.pretty(residual)}")
    return True


def cayley_orthogonal(n: int = 3, name: str = "s") -> tuple[sp.Matrix, tuple[sp.Symbol, ...]]:
    r"""A generic symbolic orthogonal matrix by the Cayley transform.

    .. math:: V = (I - S)(I + S)^{-1},\qquad S = -S^\top
              \text{ with } n(n-1)/2 \text{ free real symbols},

    a rational parametrisation of the rotations without the eigenvalue
    :math:`-1` (a dense subset of :math:`SO(n)`): an eigen-instance
    :math:`A = V\Lambda V^\top` built from it has generic eigenvectors while
    every entry stays a rational function, so SymPy can verify identities on
    it exactly (R3, R4).

    Returns
    -------
    (V, symbols) : the n x n matrix (entries factored) and its parameters.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"The 'n' parameter of cayley_orthogonal must be an int >= 2. "
                         f"Got {n!r} instead.")
    syms = sp.symbols(f"{name}1:{n * (n - 1) // 2 + 1}", real=True)
    S = sp.zeros(n, n)
    it = iter(syms)
    for i in range(n):
        for j in range(i + 1, n):
            S[i, j] = next(it)
            S[j, i] = -S[i, j]
    V = ((sp.eye(n) - S) * (sp.eye(n) + S).inv()).applyfunc(sp.factor)
    return V, tuple(syms)
