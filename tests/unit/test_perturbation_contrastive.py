"""The tolerances of the Part II contrastive, Barlow Twins and VICReg-MLP checks reject wrong
closed forms.

Each test rebuilds a check's tolerance the way its chapter derives it (achieved gradient,
curvature at the closed form, rounding) and shows that the true closed form passes while a
perturbed one (wrong eigenvectors, wrong scaling, a wrong formula) fails by orders of
magnitude.
"""
import math

import pytest
import torch

from sslspec_lib import bounds, closed_form, graphs, losses, metrics, train

EPS = bounds.EPS


def _hmin(loss, Z):
    n, K = Z.shape
    w = torch.linalg.eigvalsh(torch.autograd.functional.hessian(
        lambda z: loss(z.view(n, K)), Z.reshape(-1)))
    return float(w[w > EPS ** 0.5 * w.max()].min())


def _gram_tol(Z_cf, g, h, kappa):
    n, K = Z_cf.shape
    d = bounds.gradient_distance_bound(g, h)
    s0 = float(torch.linalg.matrix_norm(Z_cf, 2))
    return (2 * s0 + d) * d / float(torch.linalg.matrix_norm(Z_cf @ Z_cf.T)) \
        + bounds.rounding(K + n * kappa, n)


def _grad_norm(loss, Z):
    Z = Z.clone().requires_grad_(True)
    return float(torch.autograd.grad(loss(Z), Z)[0].norm())


def test_r13_spectral_contrastive_tolerance_rejects_wrong_eigenvectors_and_scaling():
    G = graphs.augmentation_graph(4, 3)
    K = 6
    loss = lambda Z: losses.spectral_contrastive(Z, G)
    Z_cf, det = closed_form.spectral_contrastive_optimum(G, K, return_details=True)
    h = _hmin(loss, Z_cf)
    Z, hist = train.train_free(loss, 12, K, seed=3, gtol=2e-7, polish=True,
                               polish_orbit_tol=10.0)
    tol = _gram_tol(Z_cf, _grad_norm(loss, Z), h, kappa=3 / 2)
    assert metrics.gram_gap(Z, Z_cf) < tol
    # wrong scaling: sqrt(V) instead of sqrt(V - 1) on the group indicators
    assert metrics.gram_gap(Z, Z_cf * math.sqrt(3 / 2)) > 1e6 * tol
    # wrong eigenvectors: one group indicator replaced by a within-group contrast
    wrong = Z_cf.clone()
    wrong[:, 0] = 0.0
    wrong[0, 0], wrong[1, 0] = 1.0, -1.0
    assert metrics.gram_gap(Z, wrong) > 1e6 * tol
    # the loss tolerance too: a 1 % larger predicted minimum fails
    tol_loss = (_grad_norm(loss, Z) ** 2 / (2 * h) + bounds.rounding(abs(det.loss), 144)) \
        / abs(det.loss)
    assert abs(hist.final_loss - det.loss) / abs(det.loss) < tol_loss
    assert abs(hist.final_loss - 1.01 * det.loss) / abs(det.loss) > 1e6 * tol_loss


def test_r12_infonce_tolerance_rejects_a_wrong_simplex():
    G = graphs.augmentation_graph(4, 3)
    K, tau = 3, 0.5
    nce = lambda Z: losses.info_nce(Z, G, tau)
    Z_cf, det = closed_form.simclr_optimum(G, K, tau=tau, return_details=True)
    h = _hmin(nce, Z_cf)
    Z, _ = train.train_free(nce, 12, K, seed=1, gtol=1e-7)
    U = (Z / Z.norm(dim=1, keepdim=True)).requires_grad_(True)
    train.minimize(lambda: nce(U), [U], gtol=1e-9, polish=True, polish_orbit_tol=10.0)
    U = (U / U.norm(dim=1, keepdim=True)).detach()
    tol = _gram_tol(Z_cf, _grad_norm(nce, U), h, kappa=1.0)
    assert metrics.gram_gap(U, Z_cf) < tol
    # wrong cross-group cosine: -1/N' instead of -1/(N'-1) (a simplex not centred at 0)
    S = Z_cf @ Z_cf.T
    S_wrong = torch.where(S < 0, torch.full_like(S, -1 / 4), S)
    L = torch.linalg.cholesky(S_wrong + 1e-12 * torch.eye(12, dtype=S.dtype))
    assert metrics.gram_gap(U, L) > 1e6 * tol


def test_newton_polish_orbit_tol_steps_past_orbit_curvature():
    """At a non-stationary point of a scale-invariant loss the plain polish stops at once;
    with orbit_tol it converges, and the default keeps the old behaviour."""
    G = graphs.augmentation_graph(4, 3)
    nce = lambda Z: losses.info_nce(Z, G, 0.1)
    Z0, _ = train.train_free(nce, 12, 5, seed=1, gtol=1e-7)
    U0 = (Z0 / Z0.norm(dim=1, keepdim=True)).requires_grad_(True)
    train.minimize(lambda: nce(U0), [U0], gtol=1e-9)
    U0 = U0.detach()
    plain = U0.clone().requires_grad_(True)
    h_plain = train.newton_polish(lambda: nce(plain), [plain])
    orbit = U0.clone().requires_grad_(True)
    h_orbit = train.newton_polish(lambda: nce(orbit), [orbit], orbit_tol=10.0)
    assert h_plain.n_polish == 0
    assert h_orbit.n_polish >= 1 and h_orbit.final_grad < 1e-12
    with pytest.raises(ValueError):
        train.newton_polish(lambda: nce(orbit), [orbit], orbit_tol=-1.0)
