"""Barlow Twins beyond K = N' - 1 (R14): the closed form of the over-complete minimiser, and
the tolerances of the Barlow Twins chapter reject wrong closed forms.

Each tolerance test rebuilds a check's tolerance the way the chapter derives it (loss gap
from the achieved gradient and curvature, or from the quartic gradient identity at
lambda = 0) and shows that the true closed form passes while a perturbed one (a wrong
formula, a wrong scaling, a wrong subspace) fails by orders of magnitude.
"""
import math

import pytest
import torch

from sslspec_lib import bounds, closed_form, graphs, losses, train

F64 = torch.float64
NP, V = 6, 2
N, P = NP * V, NP - 1
G = graphs.augmentation_graph(NP, V).to(F64)
M = V / (V - 1)


def std(Z):
    Zc = Z - Z.mean(dim=0)
    return Zc / Zc.pow(2).mean(dim=0).sqrt()


def corr(Z, G=G):
    return std(Z).T @ G @ std(Z) / G.sum()


def l_star(K, lam):
    return lam * K * (K - P) / (P + lam * (K - P))


def c_star(K, lam):
    return K / (P + lam * (K - P))


# -- the closed form -----------------------------------------------------------------------

@pytest.mark.parametrize("K", [6, 7, 8, 11])
@pytest.mark.parametrize("lam", [0.0, 0.0051, 0.2, 1.0])
def test_overcomplete_optimum_reaches_the_minimum_with_the_stated_structure(K, lam):
    Z, det = closed_form.barlow_twins_overcomplete_optimum(G, K, lam, return_details=True)
    assert Z.shape == (N, K)
    assert abs(det.loss - l_star(K, lam)) <= 1e-15 * max(1.0, l_star(K, lam))
    assert abs(float(losses.barlow_twins(Z, G, lam, eps=0.0)) - det.loss) < 1e-12
    # standardised: centred columns of biased variance 1
    assert float(Z.mean(dim=0).abs().max()) < 1e-12
    assert float((Z.pow(2).mean(dim=0) - 1).abs().max()) < 1e-12
    C = corr(Z)
    ev = torch.linalg.eigvalsh(C).flip(0)
    assert float((ev - det.eigenvalues).abs().max()) < 1e-12
    assert float((ev[:P] - c_star(K, lam)).abs().max()) < 1e-12
    # constant diagonal p c*/K, rank(HZ) = p
    assert float((torch.diagonal(C) - P * c_star(K, lam) / K).abs().max()) < 1e-12
    assert int(torch.linalg.matrix_rank(Z - Z.mean(dim=0), rtol=1e-10)) == P


def test_overcomplete_optimum_does_not_depend_on_row_order():
    perm = torch.randperm(N, generator=torch.Generator().manual_seed(0))
    Gp = G[perm][:, perm]
    Z = closed_form.barlow_twins_overcomplete_optimum(Gp, 8, 0.2)
    assert abs(float(losses.barlow_twins(Z, Gp, 0.2, eps=0.0)) - l_star(8, 0.2)) < 1e-12


def test_overcomplete_optimum_is_not_beaten_by_training():
    lam, K = 0.2, 7
    Z, _ = train.train_free(lambda Z: losses.barlow_twins(Z, G, lam, eps=0.0), N, K,
                            seed=4, gtol=1e-9, max_iter=3000, require_convergence=False)
    assert float(losses.barlow_twins(Z, G, lam, eps=0.0)) > l_star(K, lam) - 1e-12


# -- tolerances ----------------------------------------------------------------------------

def _hmin(loss, Z):
    n, K = Z.shape
    w = torch.linalg.eigvalsh(torch.autograd.functional.hessian(
        lambda z: loss(z.view(n, K)), Z.reshape(-1)))
    return float(w[w > bounds.EPS ** 0.5 * w.max()].min())


def _grad(loss, Z):
    Z = Z.clone().requires_grad_(True)
    return torch.autograd.grad(loss(Z), Z)[0]


def test_r14_overcomplete_tolerances_reject_wrong_formulas():
    K, lam = 8, 0.0051
    loss = lambda Z: losses.barlow_twins(Z, G, lam, eps=0.0)
    Z_cf, det = closed_form.barlow_twins_overcomplete_optimum(G, K, lam, return_details=True)
    h = _hmin(loss, Z_cf)
    Z, hist = train.train_free(loss, N, K, seed=3, gtol=1e-9, max_iter=3000,
                               require_convergence=False, polish=True, polish_orbit_tol=10.0)
    g = float(_grad(loss, Z).norm())
    delta = g ** 2 / (2 * h) + bounds.rounding(K * K, N * N)
    assert abs(hist.final_loss - det.loss) < delta
    # a wrong minimum (p instead of p + lambda (K - p) in the denominator) fails
    assert abs(hist.final_loss - lam * K * (K - P) / P) > 1e6 * delta
    # energy fraction outside E: dropping the (V-1)/V factor fails
    a = (1 - lam) / K + lam / P
    tol_frac = (V - 1) / (V * K) * math.sqrt(delta / a) + bounds.rounding(1.0, N * N)
    s = float(torch.diagonal(corr(Z)).sum())
    frac = (V - 1) / (V * K) * (K - s)
    frac_pred = (V - 1) / V * lam * (K - P) / (P + lam * (K - P))
    assert abs(frac - frac_pred) < tol_frac
    assert abs(frac - frac_pred * V / (V - 1)) > 1e3 * tol_frac
    # C = c* Pi: a wrong scale c* (K/p) fails
    eps_c = (2 * math.sqrt(delta / lam)
             + (math.sqrt(K - P) * math.sqrt(delta / lam) + math.sqrt(delta / a)) / math.sqrt(P))
    C = corr(Z)
    w, U = torch.linalg.eigh(C)
    Pi = U[:, -P:] @ U[:, -P:].T
    assert float(torch.linalg.matrix_norm(C - c_star(K, lam) * Pi)) < eps_c
    assert float(torch.linalg.matrix_norm(C - K / P * Pi)) > 10 * eps_c
    # constant diagonal: a wrong value (p/K, the lambda = 1 value) fails
    tol_d = math.sqrt(delta / (1 - lam)) + math.sqrt(delta / a) / K
    d = torch.diagonal(C)
    assert float((d - P * c_star(K, lam) / K).abs().max()) < tol_d
    assert float((d - P / K).abs().max()) > 1e3 * tol_d


def _quartic_bound(Z, grad):
    """The chapter's bound on the lambda = 0 loss from the gradient (cos theta >= 1/sqrt 2)."""
    r = (Z - Z.mean(dim=0)).norm(dim=0)
    gk = grad.norm(dim=0) + bounds.rounding(4 * M, N * N) / r
    return float((M ** 2 * (2 ** 0.5 * gk * r / (4 * M ** 2)) ** (4 / 3)).sum())


def test_r14_quartic_identity_and_tolerance_at_lambda_zero():
    K = 6
    loss = lambda Z: losses.barlow_twins(Z, G, 0.0, eps=0.0)
    # the identity |grad_k| = 4 m^2 sin^3 cos / r holds at any point near E
    E = closed_form.barlow_twins_optimum(G, P)
    gen = torch.Generator().manual_seed(5)
    Z0 = E[:, :1] @ torch.randn(1, K, generator=gen, dtype=F64) + E @ torch.randn(
        P, K, generator=gen, dtype=F64) + 0.05 * torch.randn(N, K, generator=gen, dtype=F64)
    d = torch.diagonal(corr(Z0))
    sin2 = (1 - d) / M
    r = (Z0 - Z0.mean(dim=0)).norm(dim=0)
    pred = 4 * M ** 2 * sin2 ** 1.5 * (1 - sin2).sqrt() / r
    torch.testing.assert_close(_grad(loss, Z0).norm(dim=0), pred, rtol=1e-10, atol=0)
    # trained and polished: the loss is below the bound; a wrong minimum (1e-3) is not
    Z, hist = train.train_free(loss, N, K, seed=2, gtol=1e-9, max_iter=3000,
                               require_convergence=False, polish=True, polish_orbit_tol=10.0)
    tol = _quartic_bound(Z, _grad(loss, Z)) + bounds.rounding(K * K, N * N)
    assert hist.final_loss < tol
    assert abs(hist.final_loss - 1e-3) > 1e6 * tol
    # a representation off E by a fixed angle has a loss far above the bound of its gradient
    # only if it is not stationary: the bound is not vacuous there either
    assert loss(Z0).item() > 1e3 * tol
