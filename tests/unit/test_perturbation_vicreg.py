"""The tolerances of the VICReg chapter (R9, R10) reject a wrong closed form.

Each test trains as the chapter does (L-BFGS and a Newton polish), derives the
chapter's tolerance from the achieved gradient, and checks that the correct
closed form passes while one with wrong eigenvectors or a wrong scaling fails.
"""
import torch

from sslspec_lib import bounds, closed_form, graphs, losses, metrics, train


def _graph(n: int = 12, seed: int = 3) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    A = (torch.rand(n, n, generator=g, dtype=torch.float64) < 0.4).to(torch.float64)
    A = (A + torch.diag(torch.ones(n - 1, dtype=torch.float64), 1)).clamp(max=1)
    W = 0.5 + 1.5 * torch.rand(n, n, generator=g, dtype=torch.float64)
    G = torch.triu(A * W, diagonal=1)
    return G + G.T


def test_r9_davis_kahan_tolerance_rejects_wrong_eigenvectors_and_scale():
    G, K = _graph(), 2
    n, L = G.shape[0], graphs.laplacian(G)
    lam = torch.linalg.eigvalsh(L)[1:]
    Z_c, hist = train.train_whitened(lambda Z: losses.invariance(Z, G) / n, n, K, seed=1,
                                     gtol=1e-8, polish=True, polish_null_rtol=1e-6)
    Y = metrics.orthonormal_basis(Z_c, center=True)
    res = float(bounds.eigen_residual(L, Y))
    gap_ritz = float(lam[K] - torch.linalg.eigvalsh(Y.T @ L @ Y).max())
    gap_K = float(lam[K] - lam[K - 1])
    tol = bounds.sin_theta_bound(res, gap_ritz) + bounds.rounding(float(lam[-1]) / gap_K, n, 10)
    Z_star = closed_form.vicreg_constrained_optimum(G, K)
    assert metrics.subspace_gap(Z_c, Z_star, center=True) < tol
    # wrong eigenvectors: u_1 and u_3 instead of u_1 and u_2
    _, U = torch.linalg.eigh(L)
    Z_wrong = n**0.5 * U[:, [1, 3]]
    assert metrics.subspace_gap(Z_c, Z_wrong, center=True) > 1e6 * tol
    # a frame on a wrong invariant subspace has no positive Davis-Kahan gap
    Yw = U[:, [1, 3]]
    assert float(lam[K] - torch.linalg.eigvalsh(Yw.T @ L @ Yw).max()) <= 0
    # wrong scaling: the constraint C(Z) = I fails by far more than rounding
    eye = torch.eye(K, dtype=torch.float64)
    assert float((losses.covariance(1.01 * Z_star) - eye).abs().max()) > 1e6 * bounds.rounding(1.0, n, 10)
    # wrong minimum (a factor 2 off) misses the loss tolerance
    minimum = 2 * float(lam[:K].sum())
    tol_loss = 2 * res**2 / gap_ritz + bounds.rounding(minimum, n * n, 10)
    assert abs(hist.final_loss - minimum) < tol_loss
    assert abs(hist.final_loss - minimum / 2) > 1e6 * tol_loss


def test_r10_gradient_curvature_tolerance_rejects_wrong_c_and_eigenvectors():
    G, K = _graph(), 4
    n = G.shape[0]
    lam = torch.linalg.eigvalsh(graphs.laplacian(G))[1:]
    a = float(2 / (lam[2] + lam[3]))  # three kept, one collapsed
    loss = lambda Z: losses.vicreg(Z, G, a)
    Z_star, d = closed_form.vicreg_optimum(G, K, a, return_details=True)
    Z_t, hist = train.train_free(loss, n, K, seed=2, gtol=1e-8, polish=True,
                                 polish_null_rtol=1e-6)
    h = bounds.smallest_curvature(loss, Z_star)
    Zg = Z_t.clone().requires_grad_(True)
    g = float(torch.autograd.grad(loss(Zg), Zg)[0].norm())
    dist = bounds.gradient_distance_bound(g, h)
    sv = torch.linalg.svdvals(Z_star)
    tol_spec = (2 * float(sv[0]) + dist) * dist / n + bounds.rounding(1.0, n * K, 10)
    spec = metrics.spectrum(Z_t)
    assert float((spec - d.c).abs().max()) < tol_spec
    # wrong scaling of the spectrum: c = 1 - alpha lambda / 2
    c_wrong = torch.clamp(1 - a * d.eigenvalues / 2, min=0)
    assert float((spec - c_wrong).abs().max()) > 1e6 * tol_spec
    # wrong eigenvectors for the kept span
    r = int((d.c > 0).sum())
    tol_sin = dist / (float(sv[r - 1]) - float(sv[r]) - dist) + bounds.rounding(
        float(lam[-1]) / float(lam[r] - lam[r - 1]) + float(sv[0] / sv[r - 1]), n * K, 10)
    top = torch.linalg.svd(Z_t - Z_t.mean(dim=0), full_matrices=False).U[:, :r]
    assert metrics.subspace_gap(top, Z_star[:, :r], center=True) < tol_sin
    _, U = torch.linalg.eigh(graphs.laplacian(G))
    assert metrics.subspace_gap(top, U[:, [1, 2, 5]], center=True) > 1e6 * tol_sin
    # wrong minimum value
    tol_loss = g**2 / (2 * h) + bounds.rounding(abs(d.loss), n * n, 10)
    assert abs(hist.final_loss - d.loss) < tol_loss
    assert abs(hist.final_loss - 1.01 * d.loss) > 1e6 * tol_loss


def test_minimize_forwards_polish_null_rtol():
    # a rotation-invariant loss: the orbit directions are treated as null
    G = _graph(8)
    Z0 = torch.randn(8, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    Z = Z0.clone().requires_grad_(True)
    hist = train.minimize(lambda: losses.vicreg(Z, G, 0.05), [Z], gtol=1e-6, polish=True,
                          polish_null_rtol=1e-6)
    assert hist.final_grad < 1e-12
