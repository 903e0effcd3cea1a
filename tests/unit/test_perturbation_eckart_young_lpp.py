"""A wrong closed form fails the tolerance rule its chapter uses (R4 Eckart–Young, R6 LPP).

Each test computes a tolerance exactly as the chapter's check does (from the
achieved gradient and the curvature for R4, from a Davis–Kahan bound of the
trained frame's residual for R6), shows that the correct closed form passes,
and that perturbed closed forms (wrong eigenvectors, wrong scaling) fail.
"""
import pytest
import torch

from sslspec_lib import bounds, graphs, metrics, spectral, train

F64 = torch.float64


def _orthogonal(n, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.linalg.qr(torch.randn(n, n, generator=g, dtype=F64))[0]


# -- R4: Eckart–Young, positive semi-definite A (chapter eckart_young, first check) -----

@pytest.fixture(scope="module")
def eckart_young_psd():
    n, K = 30, 4
    U = _orthogonal(n, 11)
    lam = torch.cat([torch.tensor([10.0, 8.0, 6.0, 4.0], dtype=F64),
                     torch.linspace(2.0, 0.0, n - 4, dtype=F64)])
    A = U @ torch.diag(lam) @ U.T
    Z, hist = train.train_free(lambda Z: ((A - Z @ Z.T) ** 2).sum(), n, K, seed=12,
                               gtol=1e-7, polish=True)
    mu = 4 * min(float(lam[K - 1] - lam[K]), 2 * float(lam[K - 1]))
    d = bounds.gradient_distance_bound((n * K) ** 0.5 * hist.final_grad, mu)
    tol = (2 * float(lam[0].sqrt()) * d + d**2) / float(lam[:K].norm())
    tol += bounds.rounding(1.0, n)
    return U, lam, Z, K, tol


def test_r4_truncation_passes_the_chapter_tolerance(eckart_young_psd):
    U, lam, Z, K, tol = eckart_young_psd
    assert metrics.gram_gap(Z, U[:, :K] * lam[:K].sqrt()) < tol


@pytest.mark.parametrize("wrong", ["shifted eigenvectors", "Lambda instead of sqrt",
                                   "bottom eigenvectors", "one scale off by 1e-6"])
def test_r4_perturbed_closed_form_is_rejected(eckart_young_psd, wrong):
    U, lam, Z, K, tol = eckart_young_psd
    if wrong == "shifted eigenvectors":
        Zw = U[:, 1:K + 1] * lam[1:K + 1].sqrt()
    elif wrong == "Lambda instead of sqrt":
        Zw = U[:, :K] * lam[:K]
    elif wrong == "bottom eigenvectors":
        Zw = U[:, -K:] * lam[:K].sqrt()
    else:  # a small error in one eigenvalue is still far above the derived tolerance
        Zw = U[:, :K] * (lam[:K] * torch.tensor([1 + 1e-6, 1, 1, 1], dtype=F64)).sqrt()
    assert metrics.gram_gap(Z, Zw) > tol


def test_r4_indefinite_keeping_a_negative_eigenvalue_is_rejected():
    n, K = 30, 4
    U = _orthogonal(n, 13)
    lam = torch.cat([torch.tensor([5.0, 3.0, 1.0, -10.0, -8.0], dtype=F64),
                     torch.linspace(-0.5, -2.0, n - 5, dtype=F64)])
    order = lam.argsort(descending=True)
    lam, U = lam[order], U[:, order]
    A = U @ torch.diag(lam) @ U.T
    Z, hist = train.train_free(lambda Z: ((A - Z @ Z.T) ** 2).sum(), n, K, seed=14,
                               gtol=1e-6)
    p = int((lam > 0).sum())
    kept = lam[:K].clamp(min=0)
    grad_F = (n * K) ** 0.5 * hist.final_grad
    mu = 4 * min(float(lam[p - 1]), float(-lam[p:].max()))
    excess_tol = grad_F**2 / (2 * mu) + (grad_F / 4) ** (4 / 3)
    excess_tol += bounds.rounding(float((A**2).sum()), n * n)
    tol = excess_tol**0.5 / float(kept.norm()) + bounds.rounding(1.0, n)
    assert metrics.gram_gap(Z, U[:, :K] * kept.sqrt()) < tol
    # keeping |lambda| of the largest-magnitude (negative) eigenvalue
    mags = lam.abs().argsort(descending=True)[:K]
    assert metrics.gram_gap(Z, U[:, mags] * lam[mags].abs().sqrt()) > tol
    # a rank-4 Z where the chapter asserts rank 3
    assert float(torch.linalg.svdvals(U[:, :K] * lam[:K].abs().sqrt())[-1]) > excess_tol**0.25


# -- R6: Locality Preserving Projections (chapter lpp, numerical check) -----------

@pytest.fixture(scope="module", params=["degree", "covariance"])
def lpp_case(request):
    name = request.param
    g = torch.Generator().manual_seed(21)
    N, d, K = 60, 5, 2
    X = torch.randn(N, d, generator=g, dtype=F64) @ torch.diag(
        torch.tensor([3.0, 2.0, 1.0, 0.7, 0.4], dtype=F64))
    W0 = torch.rand(N, N, generator=g, dtype=F64) ** 4
    G = torch.triu(W0, 1) + torch.triu(W0, 1).T
    A = X.T @ graphs.laplacian(G) @ X
    B = X.T @ graphs.degree(G) @ X if name == "degree" else X.T @ graphs.centering(N) @ X / N
    W = spectral.lpp(X, G, K, constraint=name)
    C = torch.linalg.cholesky(B)
    Ci = torch.linalg.solve_triangular(C, torch.eye(d, dtype=F64), upper=False)
    Op = Ci @ A @ Ci.T
    Op = (Op + Op.T) / 2
    spec = torch.linalg.eigvalsh(Op)
    a_norm = float(torch.linalg.matrix_norm(A, 2))
    ci_norm = float(torch.linalg.matrix_norm(Ci, 2))
    closed_tol = bounds.sin_theta_bound(bounds.rounding(a_norm * ci_norm**2, d * d),
                                        float(spec[K] - spec[K - 1]))
    An = A / a_norm
    Bn = B / float(torch.linalg.matrix_norm(B, 2))
    ratio = lambda V: torch.trace(torch.linalg.solve(V.T @ Bn @ V, V.T @ An @ V))
    penalty = lambda V: ((V.T @ Bn @ V - torch.eye(K, dtype=F64)) ** 2).sum()
    Wt, _ = train.train_free(lambda V: ratio(V) + penalty(V), d, K, seed=22, gtol=1e-7,
                             max_iter=2000, polish=True)
    Wt = torch.linalg.solve_triangular(torch.linalg.cholesky(Wt.T @ B @ Wt), Wt.T,
                                       upper=False).T
    Yt = C.T @ Wt
    th = torch.linalg.eigvalsh(Yt.T @ Op @ Yt)
    r = float(bounds.eigen_residual(Op, Yt)) + bounds.rounding(float(spec[-1]) * K**0.5, d)
    sin_tol = bounds.sin_theta_bound(r, float(spec[K] - th[-1])) + bounds.rounding(1.0, d)
    eigvec = Ci.T @ torch.linalg.eigh(Op)[1]  # B-orthonormal generalised eigenvectors
    b_tol = bounds.rounding(float(torch.linalg.matrix_norm(B, 2))
                            * float(torch.linalg.matrix_norm(W, 2)) ** 2, d * d)
    return dict(C=C, B=B, W=W, Yt=Yt, tol=sin_tol + closed_tol, eigvec=eigvec, K=K,
                b_tol=b_tol)


def test_r6_lpp_passes_the_chapter_tolerance(lpp_case):
    c = lpp_case
    assert metrics.subspace_gap(c["Yt"], c["C"].T @ c["W"]) < c["tol"]
    eye = torch.eye(c["K"], dtype=F64)
    assert float((c["W"].T @ c["B"] @ c["W"] - eye).abs().max()) < c["b_tol"]


@pytest.mark.parametrize("wrong", ["eigenvectors 2 and 3", "top eigenvectors"])
def test_r6_wrong_eigenvectors_are_rejected(lpp_case, wrong):
    c = lpp_case
    V = c["eigvec"]
    Ww = V[:, 1:3] if wrong == "eigenvectors 2 and 3" else V[:, -2:]
    assert metrics.subspace_gap(c["Yt"], c["C"].T @ Ww) > c["tol"]


def test_r6_wrong_scaling_is_rejected(lpp_case):
    c = lpp_case
    eye = torch.eye(c["K"], dtype=F64)
    Ww = c["W"] * (1 + 1e-6)
    assert float((Ww.T @ c["B"] @ Ww - eye).abs().max()) > c["b_tol"]
