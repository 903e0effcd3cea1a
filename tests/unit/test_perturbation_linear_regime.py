"""The checks of the linear-regime, VICReg and hinge-VICReg chapters reject a wrong closed form.

Each chapter check compares a trained representation with a closed form under a
tolerance derived from the final gradient and float64 rounding, which after a
Newton polish is at most about 1e-9 (relative or absolute, O(1) quantities).
Here the closed form is perturbed (a wrong kept spectrum, the wrong end of the
spectrum, a wrong factor) and the same measured quantity must exceed such a
tolerance by orders of magnitude.  Also: ``train.newton_polish(null_rtol=...)``
polishes a near-minimiser whose Hessian is only approximately singular along
the symmetry orbit.
"""
import warnings

import numpy as np
import pytest
import torch

from sslspec_lib import closed_form, data, graphs, losses, metrics, train

TOL = 1e-9  # larger than every tolerance of these checks after the polish


@pytest.fixture(scope="module")
def views():
    X, _, _ = data.digits_views(100, 2, max_shift=1, noise=0.05, seed=0)
    return X, graphs.augmentation_graph(100, 2)


def test_linear_vicreg_wrong_spectrum_or_directions_fail(views):
    X, G = views
    K, alpha = 6, 8.0
    W, det = closed_form.vicreg_linear_optimum(X, G, K, alpha, return_details=True)
    loss = lambda W_: float(losses.vicreg(X @ W_, G, alpha))
    assert abs(loss(W) - det.loss) < TOL
    # Wrong scaling: sqrt(c) replaced by c (a kept c_k < 1 is off).
    col = det.c.clamp(min=0).sqrt()
    W_scale = W / col.where(col > 0, torch.ones_like(col)) * det.c
    assert abs(loss(W_scale) - det.loss) > 1e3 * TOL
    assert float((metrics.spectrum(X @ W_scale) - det.c).abs().max()) > 1e3 * TOL
    # Wrong directions: the top instead of the bottom eigenvectors of M, same c.
    W_all = closed_form.vicreg_linear_optimum(X, G, X.shape[1], 1e-9)  # c = 1 - 1e-9 mu
    W_top = W_all[:, -K:].flip(1) * det.c.sqrt()
    Zc = lambda Z: Z - Z.mean(dim=0)
    assert metrics.gram_gap(Zc(X @ W_top), Zc(X @ W)) > 1e3 * TOL


def test_linear_spectral_contrastive_wrong_scaling_fails(views):
    X, G = views
    K = 4
    W, det = closed_form.spectral_contrastive_linear_optimum(X, G, K, return_details=True)
    loss = lambda W_: float(losses.spectral_contrastive(X @ W_, G))
    assert abs(loss(W) - det.loss) < TOL
    nu = det.eigenvalues.clamp(min=0)
    W_bad = W * nu.sqrt()  # sqrt(nu) -> nu
    assert abs(loss(W_bad) - det.loss) > 1e3 * TOL
    assert metrics.gram_gap(X @ W_bad, X @ W) > 1e3 * TOL


def test_barlow_twins_rotation_drop_with_a_wrong_factor_fails(views):
    X, G = views
    lam = 0.0051
    bt = lambda W_: float(losses.barlow_twins(X @ W_, G, lam, eps=0.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        W, det = closed_form.barlow_twins_linear_optimum(X, G, 4, return_details=True)
    mu = det.eigenvalues
    W_rot = W.clone()
    W_rot[:, 0] = (W[:, 0] - W[:, 1]) / 2**0.5
    W_rot[:, 1] = (W[:, 0] + W[:, 1]) / 2**0.5
    drop = bt(W) - bt(W_rot)
    right = (1 - lam) * float(mu[0] - mu[1]) ** 2 / 2
    wrong = float(mu[0] - mu[1]) ** 2 / 2  # lambda forgotten
    assert abs(drop - right) < TOL
    assert abs(drop - wrong) > 10 * TOL


def test_vicreg_smooth_wrong_spectrum_fails():
    G = graphs.augmentation_graph(6, 3)
    K, a = 8, 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Z, det = closed_form.vicreg_optimum(G, K, a, return_details=True)
    ell = lambda Z_: float(losses.vicreg(Z_, G, a))
    assert abs(ell(Z) - det.loss) < TOL
    # c_k = 1 - alpha lambda_k replaced by 1 - alpha lambda_k / 2.
    Zc = Z - Z.mean(dim=0)
    c_bad = (1 - a * det.eigenvalues / 2).clamp(min=0)
    Z_bad = Zc / det.c.sqrt().clamp(min=1e-300) * c_bad.sqrt()
    assert abs(ell(Z_bad) - det.loss) > 1e3 * TOL
    assert float((metrics.spectrum(Z_bad) - det.c).abs().max()) > 1e3 * TOL


def test_vicreg_constrained_wrong_eigenvectors_fail():
    X, _ = data.two_moons(30, noise=0.05, seed=0)
    G = graphs.knn_graph(X, 4)
    Z, det = closed_form.vicreg_constrained_optimum(G, 3, return_details=True)
    Z_all = closed_form.vicreg_constrained_optimum(G, 4)
    Z_bad = torch.cat([Z[:, :2], Z_all[:, 3:4]], dim=1)  # u_4 in place of u_3
    assert metrics.subspace_gap(Z_bad, Z, center=True) > 1e3 * TOL
    inv = lambda Z_: float(losses.invariance(Z_, G)) / G.shape[0]
    assert inv(Z_bad) - inv(Z) > 1e3 * TOL


def test_newton_polish_with_null_rtol_polishes_an_approximate_orbit():
    rng = np.random.default_rng(3)
    B = torch.tensor(rng.standard_normal((8, 3)))
    M = B @ B.T
    Z = torch.tensor(rng.standard_normal((8, 3)), requires_grad=True)
    f = lambda: (Z @ Z.T - M).pow(2).sum()
    hist = train.minimize(f, [Z], gtol=1e-4)
    assert hist.final_grad > 1e-8
    train.newton_polish(f, [Z], history=hist, null_rtol=1e-6)
    assert hist.n_polish >= 1 and hist.final_grad < 1e-10
    with pytest.raises(ValueError, match="null_rtol"):
        train.newton_polish(f, [Z], null_rtol=1.5)
