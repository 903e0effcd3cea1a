"""Unit tests of :mod:`sslspec_lib.metrics`.

Principal angles are checked on subspaces built with known angles, hidden by a
random rotation of the ambient space and a random (non-orthogonal) change of
basis of each subspace, so the test does not hand the function orthonormal
input.
"""
import numpy as np
import pytest
import torch

from sslspec_lib import losses, metrics

# Other tolerances: products of orthonormal float64 matrices of size <= 30 are
# exact to ~n * eps ~ 1e-15, so identities on them are checked at 1e-14 or 1e-13
# (absolute, O(1) entries); 1e-12 where a value goes through a log or an SVD.
#
# Absolute accuracy of angles from sines: orthonormal bases from SVD carry
# ~1e-16 rounding, amplified by the condition number (< 10) of the change of
# basis; measured errors are <= 5e-16.  1e-14 leaves a 20x margin and is still
# 100x below the smallest angle tested (1e-12).
ANGLE_ATOL = 1e-14


def constructed_pair(theta, n=14, seed=0):
    """Bases A, B (n x p) of two subspaces whose principal angles are ``theta``."""
    rng = np.random.default_rng(seed)
    p = len(theta)
    A, B = np.zeros((n, p)), np.zeros((n, p))
    for k, t in enumerate(theta):
        A[k, k] = 1.0
        B[k, k], B[p + k, k] = np.cos(t), np.sin(t)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    M1 = rng.standard_normal((p, p)) + 3 * np.eye(p)  # well-conditioned mixing
    M2 = rng.standard_normal((p, p)) + 3 * np.eye(p)
    return torch.tensor(Q @ A @ M1), torch.tensor(Q @ B @ M2)


THETA = [1e-12, 1e-10, 1e-6, 0.3, 1.2, np.pi / 2]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_principal_angles_known_values(seed):
    A, B = constructed_pair(THETA, seed=seed)
    got = metrics.principal_angles(A, B)
    assert got.shape == (len(THETA),)
    err = (got - torch.tensor(THETA, dtype=torch.float64)).abs()
    assert float(err.max()) < ANGLE_ATOL, err
    # symmetric in its arguments
    torch.testing.assert_close(metrics.principal_angles(B, A), got, atol=ANGLE_ATOL, rtol=0)


def test_sine_route_resolves_tiny_angle_that_cosine_route_cannot():
    theta = 1e-10
    A, B = constructed_pair([theta, 0.5], seed=3)
    got = float(metrics.principal_angles(A, B)[0])
    assert abs(got - theta) < 1e-3 * theta  # sines: relative accuracy ~1e-6 here
    # The cosine route: cos(1e-10) = 1 - 5e-21 is 1.0 in float64, so arccos
    # returns 0 or rounding noise of order sqrt(eps) ~ 1e-8, never 1e-10.
    Qa, Qb = metrics.orthonormal_basis(A), metrics.orthonormal_basis(B)
    cos_route = torch.arccos(torch.linalg.svdvals(Qa.T @ Qb).clamp(max=1.0)).min()
    assert abs(float(cos_route) - theta) > 0.5 * theta


def test_principal_angles_different_dimensions_and_centering():
    rng = np.random.default_rng(4)
    A = torch.tensor(rng.standard_normal((10, 3)))
    B = A[:, :2] @ torch.tensor([[1.0, 2.0], [0.5, -1.0]], dtype=torch.float64)
    # span(B) is inside span(A): min(rank) = 2 angles, both zero.
    got = metrics.principal_angles(A, B)
    assert got.shape == (2,) and float(got.max()) < ANGLE_ATOL
    # A constant shift of the columns is invisible with center=True only.
    shifted = A + 5.0
    assert float(metrics.principal_angles(A, shifted, center=True).max()) < 1e-12
    assert float(metrics.principal_angles(A, shifted).max()) > 1e-3


def test_subspace_gap():
    A, B = constructed_pair([1e-9, 0.2], seed=5)
    assert abs(metrics.subspace_gap(A, B) - np.sin(0.2)) < ANGLE_ATOL
    assert metrics.subspace_gap(A, A @ torch.tensor([[2.0, 1.0], [0.0, 1.0]],
                                                    dtype=torch.float64)) < ANGLE_ATOL
    # a direction orthogonal to the other span gives 1; different ranks give 1
    e = torch.eye(6, dtype=torch.float64)
    assert abs(metrics.subspace_gap(e[:, :2], e[:, [0, 2]]) - 1.0) < 1e-15
    assert metrics.subspace_gap(e[:, :2], e[:, :3]) == 1.0
    # a wrong eigenvector is caught: the gap is far above any tolerance
    assert metrics.subspace_gap(e[:, :3], e[:, [0, 1, 3]]) > 0.99


def test_spectrum_is_descending_eigenvalues_of_biased_covariance():
    rng = np.random.default_rng(6)
    Z = torch.tensor(rng.standard_normal((20, 4)) * [3.0, 1.0, 0.5, 2.0])
    c = metrics.spectrum(Z)
    ref = torch.linalg.eigvalsh(losses.covariance(Z)).flip(0)
    torch.testing.assert_close(c, ref, atol=1e-14, rtol=0)
    assert bool((c[:-1] >= c[1:]).all())
    # a diagonal covariance is read back exactly: Z = sqrt(N) U diag(sqrt c)
    X = torch.tensor(rng.standard_normal((20, 3)))
    U, _ = torch.linalg.qr(X - X.mean(dim=0))  # orthonormal, centred columns
    target = torch.tensor([0.9, 0.4, 0.1], dtype=torch.float64)
    torch.testing.assert_close(metrics.spectrum(20 ** 0.5 * U * target.sqrt()), target,
                               atol=1e-13, rtol=0)


def test_numerical_rank_and_effective_rank():
    rng = np.random.default_rng(7)
    base = torch.tensor(rng.standard_normal((30, 2)))
    Z = torch.cat([base, base @ torch.tensor([[1.0], [2.0]], dtype=torch.float64),
                   torch.zeros(30, 1, dtype=torch.float64)], dim=1)  # rank 2 of 4
    assert metrics.numerical_rank(Z) == 2
    assert metrics.numerical_rank(1e-9 * base) == 0  # all collapsed: below rtol*max(1, c)
    assert metrics.numerical_rank(1e-9 * base, rtol=1e-20) == 2
    # effective rank: K for an isotropic spectrum, 1 for a single direction
    X = torch.tensor(rng.standard_normal((30, 3)))
    Qc, _ = torch.linalg.qr(X - X.mean(dim=0))  # C(Qc) = I / 30: isotropic
    assert abs(metrics.effective_rank(Qc) - 3.0) < 1e-10
    assert abs(metrics.effective_rank(torch.cat([Qc[:, :1], 0 * Qc[:, 1:]], 1)) - 1.0) < 1e-12


def test_gram_gap_rotation_invariant_and_sensitive():
    rng = np.random.default_rng(8)
    A = torch.tensor(rng.standard_normal((12, 3)))
    Q, _ = torch.linalg.qr(torch.tensor(rng.standard_normal((3, 3))))
    assert metrics.gram_gap(A @ Q, A) < 1e-14  # rounding of a 3x3 product
    assert metrics.gram_gap(A, A @ Q) < 1e-14
    # wrong scale and wrong column are caught
    assert abs(metrics.gram_gap(1.1 * A, A) - 0.21) < 1e-12  # |1.21 - 1| = 0.21
    B = A.clone()
    B[:, 2] = torch.tensor(rng.standard_normal(12))
    assert metrics.gram_gap(B, A) > 0.1


def test_orthonormal_basis_rank_cut():
    rng = np.random.default_rng(9)
    A = torch.tensor(rng.standard_normal((8, 2)))
    A3 = torch.cat([A, A.sum(dim=1, keepdim=True)], dim=1)
    Q = metrics.orthonormal_basis(A3)
    assert Q.shape == (8, 2)
    torch.testing.assert_close(Q.T @ Q, torch.eye(2, dtype=torch.float64), atol=1e-14, rtol=0)
    assert metrics.orthonormal_basis(torch.zeros(4, 2, dtype=torch.float64)).shape == (4, 0)


def test_linear_probe_accuracy_separable_and_collapsed():
    rng = np.random.default_rng(10)
    y = np.repeat([0, 1, 2], 20)
    Z = torch.tensor(np.eye(3)[y] * 5 + 0.1 * rng.standard_normal((60, 3)))
    assert metrics.linear_probe_accuracy(Z[::2], y[::2], Z[1::2], y[1::2]) == 1.0
    # a collapsed representation (constant columns) is allowed and is at chance
    Zc = torch.ones(60, 2, dtype=torch.float64)
    acc = metrics.linear_probe_accuracy(Zc[::2], y[::2], Zc[1::2], y[1::2])
    assert abs(acc - 1 / 3) < 1e-12
