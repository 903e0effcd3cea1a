"""Unit tests of :mod:`sslspec_lib.symbolic`: generic instances and identity checks.

``assert_identity`` is the gate of every SymPy derivation in the book, so it
is shown to fail (with the residual in its message) on a false identity.
"""
import pytest
import sympy as sp

from sslspec_lib import symbolic


def test_symmetric_matrix_is_symmetric_with_zero_diagonal():
    G = symbolic.symmetric_matrix("g", 4)
    assert G.shape == (4, 4)
    assert G == G.T
    assert all(G[i, i] == 0 for i in range(4))
    # off-diagonal entries are distinct symbols (a generic instance)
    off = {G[i, j] for i in range(4) for j in range(i + 1, 4)}
    assert len(off) == 6 and all(isinstance(s, sp.Symbol) for s in off)
    assert all(s.is_nonnegative for s in off)


def test_symmetric_matrix_with_diagonal_and_large_n():
    G = symbolic.symmetric_matrix("a", 3, zero_diagonal=False, nonnegative=False)
    assert G == G.T and all(isinstance(G[i, i], sp.Symbol) for i in range(3))
    assert G[0, 1].is_nonnegative is None  # no sign assumption
    big = symbolic.symmetric_matrix("b", 11)
    assert big[2, 10] == big[10, 2] and big[2, 10] != big[2, 1]  # names b_2_10, no clash


def test_matrix_entries_are_distinct_real_symbols():
    Z = symbolic.matrix("z", 3, 2)
    assert Z.shape == (3, 2)
    assert len(set(Z)) == 6 and all(s.is_real for s in Z)


def test_laplacian_rows_sum_to_zero_and_quadratic_form():
    G = symbolic.symmetric_matrix("g", 3)
    L = symbolic.laplacian(G)
    assert L == L.T
    assert sp.simplify(L * sp.ones(3, 1)) == sp.zeros(3, 1)
    z = symbolic.matrix("z", 3, 1)
    pairwise = sum(G[i, j] * (z[i] - z[j]) ** 2 for i in range(3) for j in range(3))
    assert symbolic.assert_identity((2 * z.T * L * z)[0, 0], pairwise, label="R1")


def test_centering_is_exact_projector():
    H = symbolic.centering(4)
    assert H * H == H and H == H.T
    assert H * sp.ones(4, 1) == sp.zeros(4, 1)
    assert H[0, 0] == sp.Rational(3, 4)  # exact rationals, no floats


def test_gradient_of_quadratic_form():
    A = symbolic.symmetric_matrix("a", 3, zero_diagonal=False)
    Z = symbolic.matrix("z", 3, 2)
    grad = symbolic.gradient((Z.T * A * Z).trace(), Z)
    assert symbolic.assert_identity(grad, 2 * A * Z, label="d tr(Z^T A Z)/dZ")


def test_assert_identity_passes_on_true_identity():
    x, y = sp.symbols("x y", real=True)
    assert symbolic.assert_identity((x + y) ** 2, x ** 2 + 2 * x * y + y ** 2) is True
    assert symbolic.assert_identity(sp.sin(x) ** 2 + sp.cos(x) ** 2, 1) is True


def test_assert_identity_raises_with_residual_on_false_scalar():
    x, y = sp.symbols("x y", real=True)
    with pytest.raises(AssertionError, match=r"binomial does not hold; simplified residual") as e:
        symbolic.assert_identity((x + y) ** 2, x ** 2 + y ** 2, label="binomial")
    # the residual 2xy is shown (pretty-printed), not just "False"
    assert "2" in str(e.value) and "x" in str(e.value) and "y" in str(e.value)
    assert sp.pretty(2 * x * y) in str(e.value)


def test_assert_identity_raises_on_false_matrix_identity():
    A = symbolic.symmetric_matrix("a", 2, zero_diagonal=False)
    Z = symbolic.matrix("z", 2, 1)
    wrong = A * Z  # missing the factor 2
    with pytest.raises(AssertionError, match=r"gradient does not hold") as e:
        symbolic.assert_identity(symbolic.gradient((Z.T * A * Z)[0, 0], Z), wrong,
                                 label="gradient")
    # the residual 2AZ - AZ = AZ is shown, entry by entry
    assert sp.pretty(A * Z) in str(e.value)
