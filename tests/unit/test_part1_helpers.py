"""Unit tests of the helpers added for Part I (Ky Fan, Eckart-Young, local vs global).

* :func:`sslspec_lib.train.orthonormalize` and :func:`sslspec_lib.train.train_stiefel`
  (the constrained minimiser of the Ky Fan chapter), checked against a dense
  ``eigh``; the same checks are shown to reject a wrong answer.
* :func:`sslspec_lib.metrics.normalized_stress` (the distance measure of the
  local-vs-global chapter), checked against a direct evaluation of its
  definition at the optimal scale.
"""
import numpy as np
import pytest
import torch

from sslspec_lib import metrics, train


def _sym_with_spectrum(lam, seed):
    """``U diag(lam) U^T`` with a random orthogonal ``U`` (float64) and that ``U``."""
    lam = torch.as_tensor(lam, dtype=torch.float64)
    g = torch.Generator().manual_seed(seed)
    U, _ = torch.linalg.qr(torch.randn(len(lam), len(lam), generator=g, dtype=torch.float64))
    return U @ torch.diag(lam) @ U.T, U


# -- orthonormalize ------------------------------------------------------------

def test_orthonormalize_is_the_positive_diagonal_qr_factor():
    Y = torch.randn(7, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    Q = train.orthonormalize(Y)
    torch.testing.assert_close(Q.T @ Q, torch.eye(3, dtype=torch.float64), rtol=0, atol=1e-14)
    R = Q.T @ Y  # Y = QR with R upper triangular, positive diagonal
    torch.testing.assert_close(Q @ R, Y, rtol=0, atol=1e-13)
    assert float(R.tril(-1).abs().max()) < 1e-13
    assert bool((torch.diagonal(R) > 0).all())


def test_orthonormalize_is_continuous_where_householder_flips_sign():
    # LAPACK's Householder sign rule depends on sign(Y[0, 0]); the factor must not jump.
    Y = torch.randn(5, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    Qs = []
    for y00 in (-1e-9, 1e-9):
        Y1 = Y.clone()
        Y1[0, 0] = y00
        Qs.append(train.orthonormalize(Y1))
    assert float((Qs[0] - Qs[1]).abs().max()) < 1e-8


def test_orthonormalize_gradient_matches_finite_differences():
    Y = torch.randn(4, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64,
                    requires_grad=True)
    A = torch.randn(4, 4, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda Y: (train.orthonormalize(Y) * A[:, :2]).sum(), (Y,))


# -- train_stiefel -------------------------------------------------------------

def test_train_stiefel_reaches_ky_fan_minimum():
    lam = np.arange(1.0, 11.0)
    A, U = _sym_with_spectrum(lam, seed=4)
    K = 3
    Z, hist = train.train_stiefel(lambda Z: torch.trace(Z.T @ A @ Z), 10, K, seed=0, polish=True)
    assert hist.converged and hist.n_polish >= 1
    # Polished: the gradient is at rounding (scale of A: 10), whatever L-BFGS's floor was here.
    assert hist.final_grad < 1e-11
    torch.testing.assert_close(Z.T @ Z, torch.eye(K, dtype=torch.float64), rtol=0, atol=1e-13)
    assert abs(hist.final_loss - lam[:K].sum()) < 1e-10
    # Against a dense eigh (independent of how A was built).
    _, V = torch.linalg.eigh(A)
    assert metrics.subspace_gap(Z, V[:, :K]) < 1e-6


def test_train_stiefel_check_rejects_a_wrong_answer():
    # The subspace check used above must fail for the top (wrong-end) eigenvectors,
    # and the value check for a rotation of the optimum into a discarded direction.
    lam = np.arange(1.0, 11.0)
    A, U = _sym_with_spectrum(lam, seed=4)
    _, V = torch.linalg.eigh(A)
    assert metrics.subspace_gap(V[:, -3:], V[:, :3]) > 0.99
    c, s = np.cos(0.01), np.sin(0.01)
    Z_bad = V[:, :3].clone()
    Z_bad[:, 2] = c * V[:, 2] + s * V[:, 3]
    assert float(torch.trace(Z_bad.T @ A @ Z_bad)) - lam[:3].sum() > 1e-5


def test_train_stiefel_handles_a_loss_that_is_not_a_trace():
    # Brockett's cost tr(Z^T A Z N), N = diag(2, 1): the minimiser pairs the smallest
    # eigenvalue with the largest weight, column by column (up to signs).
    lam = np.array([1.0, 2.0, 4.0, 7.0, 11.0])
    A, _ = _sym_with_spectrum(lam, seed=5)
    N = torch.diag(torch.tensor([2.0, 1.0], dtype=torch.float64))
    Z, hist = train.train_stiefel(lambda Z: torch.trace(Z.T @ A @ Z @ N), 5, 2, seed=1,
                                  polish=True)
    assert abs(hist.final_loss - (2 * 1.0 + 1 * 2.0)) < 1e-10
    _, V = torch.linalg.eigh(A)
    for k in range(2):
        assert metrics.subspace_gap(Z[:, k:k + 1], V[:, k:k + 1]) < 1e-6


def test_train_stiefel_is_deterministic_from_the_seed():
    A, _ = _sym_with_spectrum(np.arange(1.0, 7.0), seed=6)
    runs = [train.train_stiefel(lambda Z: torch.trace(Z.T @ A @ Z), 6, 2, seed=3, gtol=1e-8)[0]
            for _ in range(2)]
    assert torch.equal(runs[0], runs[1])


def test_train_stiefel_raises_when_not_converged():
    A, _ = _sym_with_spectrum(np.arange(1.0, 7.0), seed=6)
    with pytest.raises(RuntimeError, match="did not converge"):
        train.train_stiefel(lambda Z: torch.trace(Z.T @ A @ Z), 6, 2, seed=0, max_iter=2)


@pytest.mark.parametrize("kwargs, match", [
    ({"n": 3, "K": 4}, r"The 'K' parameter of train_stiefel must be an int in the range \[1, 3\]"),
    ({"n": 3, "K": 0}, r"The 'K' parameter of train_stiefel"),
    ({"n": 0, "K": 1}, r"The 'n' parameter of train_stiefel"),
    ({"n": 3.0, "K": 1}, r"The 'n' parameter of train_stiefel"),
])
def test_train_stiefel_rejects_bad_sizes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        train.train_stiefel(lambda Z: Z.sum(), **kwargs)


# -- normalized_stress ---------------------------------------------------------

def _points(n=12, d=3, seed=7):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _dist(X):
    return torch.cdist(X, X, compute_mode="donot_use_mm_for_euclid_dist")


def test_normalized_stress_is_zero_for_a_similar_copy():
    X = _points()
    Q, _ = torch.linalg.qr(_points(3, 3, seed=8))
    Z = 0.1 * X @ Q + 5.0  # rotated, rescaled, translated
    assert metrics.normalized_stress(_dist(X), Z) < 1e-12
    assert metrics.normalized_stress(3.0 * _dist(X), Z) < 1e-12  # scale of D is irrelevant too


def test_normalized_stress_matches_its_definition():
    X, Z = _points(), _points(12, 2, seed=9)
    D, d = _dist(X), _dist(Z)
    iu = torch.triu_indices(12, 12, offset=1)
    ref, emb = D[iu[0], iu[1]], d[iu[0], iu[1]]
    s_best = float((ref * emb).sum() / (emb ** 2).sum())  # least-squares scale
    direct = float(((ref - s_best * emb) ** 2).sum() / (ref ** 2).sum()) ** 0.5
    assert abs(metrics.normalized_stress(D, Z) - direct) < 1e-14
    # ... and s_best is the minimiser: other scales give a larger value.
    for s in (0.9 * s_best, 1.1 * s_best):
        other = float(((ref - s * emb) ** 2).sum() / (ref ** 2).sum()) ** 0.5
        assert other > direct


def test_normalized_stress_detects_a_moved_point_and_a_collapse():
    X = _points()
    Z = X.clone()
    Z[0] += 1.0
    assert metrics.normalized_stress(_dist(X), Z) > 1e-3
    assert metrics.normalized_stress(_dist(X), torch.zeros(12, 2, dtype=torch.float64)) == 1.0


@pytest.mark.parametrize("D, Z, match", [
    (torch.ones(3, 4, dtype=torch.float64), torch.zeros(3, 2, dtype=torch.float64),
     "D must be square in normalized_stress"),
    (torch.tensor([[0.0, 1.0], [2.0, 0.0]], dtype=torch.float64), torch.zeros(2, 1, dtype=torch.float64),
     r"D must be symmetric in normalized_stress: max \|D - D.T\| = 1 at \(0, 1\)"),
    (torch.tensor([[0.0, -1.0], [-1.0, 0.0]], dtype=torch.float64), torch.zeros(2, 1, dtype=torch.float64),
     r"D must be non-negative in normalized_stress: D\[0, 1\] = -1"),
    (torch.zeros(3, 3, dtype=torch.float64), torch.ones(3, 1, dtype=torch.float64),
     "D must not be identically zero"),
    (torch.ones(3, 3, dtype=torch.float64) - torch.eye(3, dtype=torch.float64),
     torch.zeros(4, 1, dtype=torch.float64), "Z and D must have the same number of rows"),
    (torch.ones(3, 3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64),
     "The 'Z' parameter of normalized_stress must be a 2-d array"),
])
def test_normalized_stress_rejects_bad_input(D, Z, match):
    with pytest.raises(ValueError, match=match):
        metrics.normalized_stress(D, Z)
