"""The tolerance rules of the R7 and R8 chapters reject perturbed closed forms.

Each test builds the quantity a chapter checks, with the tolerance derived the same way
as in the chapters (``chapters/part1_spectral/mds_isomap.ipynb`` and ``isomap.ipynb`` for R7,
``chapters/part1_spectral/cca.ipynb`` for R8), and shows that the correct closed form
passes while a wrong one (wrong eigenvectors, wrong scaling, a missing clamp or
centring, a slightly rotated subspace) fails.
"""
import math

import numpy as np
import pytest
import scipy.linalg
import torch

from sslspec_lib import bounds, graphs, metrics, spectral, train
from sslspec_lib.device import generator

F64 = torch.float64


# -- R7: classical MDS, kernel PCA, ISOMAP ---------------------------------------------

def _gaussian_points(seed=0, n=50):
    sd = torch.tensor([5.0, 4, 3, 2, 1], dtype=F64)
    return torch.randn(n, 5, generator=generator(seed), dtype=F64) * sd


def _mds_setup(K=2):
    X = _gaussian_points()
    N = X.shape[0]
    H = graphs.centering(N)
    B = -0.5 * H @ torch.cdist(X, X) ** 2 @ H
    beta, U = torch.linalg.eigh(B)
    beta, U = beta.flip(0), U.flip(1)
    gaps = beta[:K] - beta[1:K + 1]
    tol = bounds.rounding(float(beta[0] / gaps.min()), n=N, factor=10)
    return X, B, beta, U, tol


def _coord_err(Y, Y_ref):
    Ys = Y_ref * torch.sign((Y * Y_ref).sum(0))
    return float((Y - Ys).abs().max() / Y_ref.abs().max())


def test_r7_mds_equals_pca_within_the_rounding_rule():
    K = 2
    X, B, beta, U, tol = _mds_setup(K)
    Y = spectral.classical_mds(torch.cdist(X, X), K)
    Uc, S, _ = torch.linalg.svd(X - X.mean(0), full_matrices=False)
    assert _coord_err(Y, Uc[:, :K] * S[:K]) < tol


@pytest.mark.parametrize("wrong", ["swapped eigenvectors", "eigenvalue not square-rooted",
                                   "next eigenvector", "scale 1 + 1e-9"])
def test_r7_rounding_rule_rejects_a_wrong_mds_closed_form(wrong):
    K = 2
    X, B, beta, U, tol = _mds_setup(K)
    Y = spectral.classical_mds(torch.cdist(X, X), K)
    if wrong == "swapped eigenvectors":
        Z = (U[:, :K] * beta[:K].sqrt()).flip(1)
    elif wrong == "eigenvalue not square-rooted":
        Z = U[:, :K] * beta[:K]
    elif wrong == "next eigenvector":
        Z = U[:, 1:K + 1] * beta[1:K + 1].sqrt()
    else:
        Z = Y * (1 + 1e-9)
    assert _coord_err(Y, Z) > tol


def test_r7_strain_gram_rule_rejects_a_perturbed_minimiser():
    K = 2
    X, B, beta, U, tol = _mds_setup(K)
    N = X.shape[0]
    Y_mds = spectral.classical_mds(torch.cdist(X, X), K)
    normB2 = float((B ** 2).sum())
    Y_t, hist = train.train_free(lambda Y: ((B - Y @ Y.T) ** 2).sum() / normB2, N, K,
                                 seed=1, polish=True)
    gaps = beta[:K] - beta[1:K + 1]
    mu = 4 * float(gaps[-1]) / normB2
    delta = bounds.gradient_distance_bound((N * K) ** 0.5 * hist.final_grad, mu)
    tol_gram = ((2 * float(beta[0]) ** 0.5 + delta) * delta / float((Y_mds @ Y_mds.T).norm())
                + tol)
    assert metrics.gram_gap(Y_t, Y_mds) < tol_gram
    # A Gram matrix off by a relative 1e-9, or with the third eigenvector mixed in.
    assert metrics.gram_gap(Y_t * (1 + 1e-9), Y_mds) > tol_gram
    mixed = Y_mds + 1e-6 * U[:, K:K + 1] * beta[K].sqrt()
    assert metrics.gram_gap(mixed, Y_mds) > tol_gram


def test_r7_clamped_truncation_rule_rejects_the_unclamped_one():
    n = 10
    Ur = torch.rand(n, n, generator=generator(2), dtype=F64)
    D = (Ur + Ur.T).fill_diagonal_(0)
    H = graphs.centering(n)
    B = -0.5 * H @ D ** 2 @ H
    beta, U = torch.linalg.eigh(B)
    beta, U = beta.flip(0), U.flip(1)
    K = n - 1
    assert float(beta[K - 1]) < 0
    normB2 = float((B ** 2).sum())
    pred = 1 - float((beta[:K].clamp(min=0) ** 2).sum()) / normB2
    tol_value = bounds.rounding(1.0, n=n ** 2)
    with pytest.warns(UserWarning, match="not Euclidean"):
        Y = spectral.classical_mds(D, K)
    tol_gram = (normB2 * tol_value) ** 0.5 / float((Y @ Y.T).norm())
    strain = lambda P: float(((B - H @ P @ H) ** 2).sum()) / normB2
    assert abs(strain(Y @ Y.T) - pred) < tol_value
    # Keeping the negative eigenvalue (|beta| instead of max(beta, 0)) is caught twice.
    P_abs = (U[:, :K] * beta[:K].abs()) @ U[:, :K].T
    assert abs(strain(P_abs) - pred) > tol_value
    assert float((P_abs - Y @ Y.T).norm() / (Y @ Y.T).norm()) > tol_gram


def test_r7_kernel_pca_rule_rejects_an_uncentred_kernel():
    Xk = torch.randn(30, 2, generator=generator(4), dtype=F64)
    Kphi = (1 + Xk @ Xk.T) ** 2
    Phi = torch.stack([torch.ones_like(Xk[:, 0]), 2 ** 0.5 * Xk[:, 0], 2 ** 0.5 * Xk[:, 1],
                       Xk[:, 0] ** 2, 2 ** 0.5 * Xk[:, 0] * Xk[:, 1], Xk[:, 1] ** 2], 1)
    K = 3
    Uk, Sk, _ = torch.linalg.svd(Phi - Phi.mean(0), full_matrices=False)
    Y_feat = Uk[:, :K] * Sk[:K]
    bk = Sk ** 2
    tol = bounds.rounding(float(bk[0] / (bk[:K] - bk[1:K + 1]).min()), n=30, factor=10)
    assert _coord_err(spectral.kernel_pca(Kphi, K), Y_feat) < tol
    assert _coord_err(spectral.kernel_pca(Kphi, K, center=False), Y_feat) > tol


def test_r7_isomap_rules_reject_euclidean_mds():
    # A small stratified roll, as in the chapter (one point per grid cell).
    n_t, n_h, k = 60, 20, 7
    g = generator(6)
    u_t = torch.arange(n_t, dtype=F64)[:, None] / n_t + torch.rand(n_t, n_h, generator=g,
                                                                  dtype=F64) / n_t
    u_h = torch.arange(n_h, dtype=F64)[None, :] / n_h + torch.rand(n_t, n_h, generator=g,
                                                                  dtype=F64) / n_h
    t = (1.5 * math.pi * (1 + 2 * u_t)).reshape(-1)
    h = (21 * u_h).reshape(-1)
    X = torch.stack([t * torch.cos(t), h, t * torch.sin(t)], 1)
    psi = torch.stack([0.5 * (t * torch.sqrt(1 + t ** 2) + torch.asinh(t)), h], 1)
    Y_iso = spectral.isomap(X, 2, k)
    Y_euc = spectral.classical_mds(torch.cdist(X, X), 2)
    # The separating threshold of the chapter's subspace check.
    assert metrics.subspace_gap(Y_iso, psi, center=True) < 0.5
    assert metrics.subspace_gap(Y_euc, psi, center=True) > 0.5
    # The rounding rule of the comparison with scikit-learn rejects PCA in place of ISOMAP.
    from sklearn.manifold import Isomap
    sk = Isomap(n_neighbors=k, n_components=2, eigen_solver="dense",
                path_method="D").fit(X.numpy())
    n = X.shape[0]
    Hn = graphs.centering(n)
    beta = torch.linalg.eigvalsh(-0.5 * Hn @ torch.tensor(sk.dist_matrix_) ** 2 @ Hn).flip(0)
    tol = bounds.rounding(float(beta[0] / (beta[:2] - beta[1:3]).min()), n=n, factor=10)
    Y_sk = torch.tensor(sk.embedding_)
    assert float((Y_sk - Y_iso).abs().max() / Y_iso.abs().max()) < tol
    assert _coord_err(Y_euc, Y_sk) > tol


# -- R8: canonical correlation analysis ------------------------------------------------

def _views(seed=0, N=500, D_a=6, D_b=5):
    g = generator(seed)
    S = torch.randn(N, 2, generator=g, dtype=F64)
    M_a = torch.randn(2, D_a, generator=g, dtype=F64)
    M_b = torch.randn(2, D_b, generator=g, dtype=F64)
    Xa = S @ M_a + 0.3 * torch.randn(N, D_a, generator=g, dtype=F64)
    Xb = S @ M_b + 0.6 * torch.randn(N, D_b, generator=g, dtype=F64)
    return Xa, Xb


def _covs(Xa, Xb):
    N = Xa.shape[0]
    Xa_c, Xb_c = Xa - Xa.mean(0), Xb - Xb.mean(0)
    return Xa_c, Xb_c, Xa_c.T @ Xa_c / N, Xb_c.T @ Xb_c / N, Xa_c.T @ Xb_c / N


def test_r8_pencil_rule_rejects_scaled_or_unwhitened_correlations():
    Xa, Xb = _views()
    D_a, D_b = Xa.shape[1], Xb.shape[1]
    _, rho = spectral.cca(Xa, Xb, 5)[1:]
    _, _, S_aa, S_bb, S_ab = _covs(Xa, Xb)
    pencil = np.block([[np.zeros((D_a, D_a)), S_ab.numpy()],
                       [S_ab.T.numpy(), np.zeros((D_b, D_b))]])
    rhs = scipy.linalg.block_diag(S_aa.numpy(), S_bb.numpy())
    tol = bounds.rounding(float(np.linalg.cond(rhs)), n=D_a + D_b, factor=10)
    ev = scipy.linalg.eigh(pencil, rhs, eigvals_only=True)
    expected = lambda r: np.concatenate([-r, [0.0], r[::-1]])
    r = rho.numpy()
    assert np.abs(ev - expected(r)).max() < tol
    assert np.abs(ev - expected(r * (1 + 1e-9))).max() > tol
    # Singular values of the raw (unwhitened) cross-covariance are not the correlations.
    raw = torch.linalg.svdvals(S_ab).numpy()
    assert np.abs(ev - expected(raw)).max() > tol


def test_r8_davis_kahan_rule_rejects_a_rotated_subspace():
    Xa, Xb = _views()
    D_a, D_b = Xa.shape[1], Xb.shape[1]
    Wa, Wb, rho = spectral.cca(Xa, Xb, 5)
    Xa_c, Xb_c, S_aa, S_bb, S_ab = _covs(Xa, Xb)
    L_a, L_b = torch.linalg.cholesky(S_aa), torch.linalg.cholesky(S_bb)
    T_L = torch.linalg.solve_triangular(L_a, S_ab, upper=False)
    T_L = torch.linalg.solve_triangular(L_b, T_L.T, upper=False).T
    K2 = 2
    Ya = torch.randn(D_a, K2, generator=generator(1), dtype=F64).requires_grad_()
    Yb = torch.randn(D_b, K2, generator=generator(2), dtype=F64).requires_grad_()
    train.minimize(lambda: -torch.trace(train.orthonormalize(Ya).T @ T_L
                                        @ train.orthonormalize(Yb)), [Ya, Yb])
    Qa, Qb = train.orthonormalize(Ya).detach(), train.orthonormalize(Yb).detach()
    M = torch.zeros(D_a + D_b, D_a + D_b, dtype=F64)
    M[:D_a, D_a:], M[D_a:, :D_a] = T_L, T_L.T
    Z = torch.cat([Qa, Qb]) / 2 ** 0.5
    resid = float(bounds.eigen_residual(M, Z))
    dk_gap = float(torch.linalg.eigvalsh(Z.T @ M @ Z).min() - rho[K2])
    kappa = float(max(torch.linalg.cond(S_aa), torch.linalg.cond(S_bb)))
    tol = 2 ** 0.5 * bounds.sin_theta_bound(resid, dk_gap) + bounds.rounding(
        kappa, n=Xa.shape[0], factor=10)
    Wa_gd = torch.linalg.solve_triangular(L_a.T, Qa, upper=True)
    assert metrics.subspace_gap(Xa_c @ Wa_gd, Xa_c @ Wa[:, :K2]) < tol
    # The second canonical direction rotated by 1e-5 rad towards the third: caught.
    c, s = math.cos(1e-5), math.sin(1e-5)
    W_rot = torch.stack([Wa[:, 0], c * Wa[:, 1] + s * Wa[:, 2]], 1)
    assert metrics.subspace_gap(Xa_c @ W_rot, Xa_c @ Wa[:, :K2]) > tol
    # The wrong pair (first and third direction) is caught by far.
    assert metrics.subspace_gap(Xa_c @ Wa[:, [0, 2]], Xa_c @ Wa[:, :K2]) > tol


# -- the curvature helper used by the training checks -------------------------------

def test_smallest_curvature_skips_flat_directions():
    A = torch.diag(torch.tensor([3.0, 2.0, 0.5], dtype=F64))
    # ||A - zz^T||^2 at z = sqrt(3) e_1: curvatures 4(3 - 2), 4(3 - 0.5) and 8 * 3.
    z = torch.tensor([[3.0 ** 0.5], [0.0], [0.0]], dtype=F64)
    mu = bounds.smallest_curvature(lambda Z: ((A - Z @ Z.T) ** 2).sum(), z)
    assert abs(mu - 4.0) < 1e-12
    # A rotation-invariant loss in two columns: the flat direction is skipped.
    Z2 = torch.tensor([[3.0 ** 0.5, 0.0], [0.0, 2.0 ** 0.5], [0.0, 0.0]], dtype=F64)
    mu2 = bounds.smallest_curvature(lambda Z: ((A - Z @ Z.T) ** 2).sum(), Z2)
    assert abs(mu2 - 4 * (2.0 - 0.5)) < 1e-12
    with pytest.raises(ValueError, match="negative"):
        bounds.smallest_curvature(lambda Z: ((A - Z @ Z.T) ** 2).sum(),
                                  torch.tensor([[0.0], [2.0 ** 0.5], [0.0]], dtype=F64))


def test_hessian_eigenvalues_include_the_flat_direction():
    # The same two-column point: every eigenvalue, the rotation's zero included.
    A = torch.diag(torch.tensor([3.0, 2.0, 0.5], dtype=F64))
    Z2 = torch.tensor([[3.0 ** 0.5, 0.0], [0.0, 2.0 ** 0.5], [0.0, 0.0]], dtype=F64)
    w = bounds.hessian_eigenvalues(lambda Z: ((A - Z @ Z.T) ** 2).sum(), Z2)
    assert w.shape == (6,) and bool((w[1:] >= w[:-1]).all())
    assert abs(float(w[0])) < 1e-12 and abs(float(w[1]) - 4 * (2.0 - 0.5)) < 1e-12
    assert abs(float(w[-1]) - 8 * 3.0) < 1e-12
