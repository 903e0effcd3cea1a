"""Unit tests of the R11 additions: ``vicreg_hinge(unbiased=...)`` and the
reference conventions of ``vicreg_hinge_optimum(eps=..., unbiased=...)``.

What is checked, and why the tolerances:

* the loss with ``unbiased=False`` against an independent evaluation of its
  definition (biased variance and covariance), and the paper's simplified form
  it reduces to; float64 sums of a few hundred O(1) terms, so 1e-12 relative;
* every kept ``c_k`` against a brute-force minimisation of the one-direction
  function ``2 alpha lambda c + max(0, 1 - sqrt(rho c + eps))`` on a fine grid
  (spacing 1e-6 around the optimum, so the grid minimiser is within 1e-6 of
  it) -- an evaluation that shares no code with the closed form;
* ``Details.loss`` against the real loss at the returned point (exact identity
  stated in the docstring, 1e-12 relative);
* the returned point against competitors on the constraint set (diagonal
  covariance): perturbed scales and a swapped eigenvector must not do better,
  and a wrong formula (the paper's ``c`` used with the reference conventions)
  must be caught by the same check;
* the collapse threshold ``rho / (4 alpha sqrt(eps))`` and the bad-input cases
  of the new parameter.
"""
import math
import re
import warnings

import numpy as np
import pytest
import torch

from sslspec_lib import closed_form, data, graphs, losses

REL = 1e-12  # exact identities in float64 (sums of a few hundred O(1) terms)


def moons_graph(n=30, k=4):
    X, _ = data.two_moons(n, noise=0.05, seed=0)
    return graphs.knn_graph(X, k)


G30 = moons_graph()
N30 = G30.shape[0]


def eig_centered(G):
    """Independent dense eigen-decomposition of L on 1-perp (numpy, ascending)."""
    L = np.asarray(graphs.laplacian(G))
    lam, U = np.linalg.eigh(L)
    return lam[1:], U[:, 1:]  # G connected: drop the constant vector


def phi(c, lam, alpha, rho, eps):
    return 2 * alpha * lam * c + np.maximum(0.0, 1 - np.sqrt(rho * c + eps))


def brute_force_c(lam, alpha, rho, eps):
    """Grid minimiser of phi over c in [0, 2]: coarse grid, then a fine one around it."""
    coarse = np.linspace(0.0, 2.0, 200001)
    c0 = coarse[np.argmin(phi(coarse, lam, alpha, rho, eps))]
    fine = np.linspace(max(0.0, c0 - 2e-5), c0 + 2e-5, 40001)
    return fine[np.argmin(phi(fine, lam, alpha, rho, eps))]


def test_vicreg_hinge_biased_matches_definition():
    rng = np.random.default_rng(0)
    Z = torch.tensor(rng.standard_normal((N30, 5)))
    n, K = Z.shape
    Zc = Z - Z.mean(0)
    C = (Zc.T @ Zc / n).numpy()
    inv = sum(float(G30[i, j]) * float(((Z[i] - Z[j]) ** 2).sum()) for i in range(n) for j in range(n))
    var = np.mean(np.maximum(0, 1 - np.sqrt(np.diag(C) + 1e-4)))
    cov = (np.sum(C**2) - np.sum(np.diag(C) ** 2)) / K
    expected = 2.0 * inv / (n * K) + 3.0 * var + 0.5 * cov
    got = float(losses.vicreg_hinge(Z, G30, sim_coeff=2.0, std_coeff=3.0, cov_coeff=0.5, unbiased=False))
    assert abs(got - expected) <= REL * abs(expected)
    # The default (unbiased) is a different number on the same input.
    assert abs(float(losses.vicreg_hinge(Z, G30, sim_coeff=2.0, std_coeff=3.0, cov_coeff=0.5)) - expected) > 1e-6


def test_vicreg_hinge_paper_form():
    """sim = alpha K, std = K, eps = 0, unbiased=False is (alpha/N) sum G ||.||^2 + sum relu(1 - sqrt(C_kk))."""
    rng = np.random.default_rng(1)
    Z = torch.tensor(rng.standard_normal((N30, 4))) * 0.7
    n, K = Z.shape
    alpha = 0.8
    C = losses.covariance(Z)
    paper = alpha / n * losses.invariance(Z, G30) + torch.relu(1 - torch.diagonal(C).sqrt()).sum()
    got = losses.vicreg_hinge(Z, G30, sim_coeff=alpha * K, std_coeff=float(K), cov_coeff=0.0,
                              eps=0.0, unbiased=False)
    assert abs(float(got - paper)) <= REL * abs(float(paper))


CONVENTIONS = [
    pytest.param(1.0, 0.0, False, id="paper-alpha1"),
    pytest.param(0.3, 0.0, False, id="paper-alpha0.3"),
    pytest.param(1.0, 1e-4, True, id="reference-alpha1"),
    pytest.param(12.0, 1e-4, True, id="reference-alpha12-collapse"),
    pytest.param(3.0, 0.05, False, id="large-eps"),
]


@pytest.mark.parametrize("alpha,eps,unbiased", CONVENTIONS)
def test_hinge_c_is_the_one_direction_minimiser(alpha, eps, unbiased):
    K = 11  # lambda_12 = lambda_13 = 5 on this graph: stop before the tie
    _, det = closed_form.vicreg_hinge_optimum(G30, K, alpha, eps=eps, unbiased=unbiased, return_details=True)
    lam, _ = eig_centered(G30)
    rho = N30 / (N30 - 1) if unbiased else 1.0
    np.testing.assert_allclose(det.eigenvalues.numpy(), lam[:K], rtol=0, atol=1e-10)
    for k in range(K):
        c_bf = brute_force_c(lam[k], alpha, rho, eps)
        assert abs(float(det.c[k]) - c_bf) < 2e-6, (k, float(det.c[k]), c_bf)


@pytest.mark.parametrize("alpha,eps,unbiased", CONVENTIONS)
def test_hinge_details_loss_is_the_real_loss(alpha, eps, unbiased):
    """Details.loss = (K / std_coeff) * vicreg_hinge at the returned point (its C is diagonal)."""
    K, std = 8, 25.0
    Z, det = closed_form.vicreg_hinge_optimum(G30, K, alpha, eps=eps, unbiased=unbiased, return_details=True)
    C = losses.covariance(Z)
    assert float((C - torch.diag(torch.diagonal(C))).abs().max()) < 1e-12
    real = losses.vicreg_hinge(Z, G30, sim_coeff=alpha * std, std_coeff=std, cov_coeff=1.0,
                               eps=eps, unbiased=unbiased)
    assert abs(K / std * float(real) - det.loss) <= 1e-10 * max(1.0, abs(det.loss))


def diagonal_loss(s, U, alpha, eps, unbiased):
    """The constrained loss on Z = sqrt(N) U diag(s) (C diagonal), per-direction units."""
    Z = N30**0.5 * U * s
    K = Z.shape[1]
    return K * float(losses.vicreg_hinge(Z, G30, sim_coeff=alpha, std_coeff=1.0, cov_coeff=0.0,
                                         eps=eps, unbiased=unbiased))


@pytest.mark.parametrize("alpha,eps,unbiased", CONVENTIONS)
def test_hinge_beats_competitors_on_the_constraint_set(alpha, eps, unbiased):
    K = 6
    Z, det = closed_form.vicreg_hinge_optimum(G30, K, alpha, eps=eps, unbiased=unbiased, return_details=True)
    lam, Ufull = eig_centered(G30)
    U = torch.tensor(Ufull[:, :K])
    s = det.c.sqrt()
    best = diagonal_loss(s, U, alpha, eps, unbiased)
    assert abs(best - det.loss) <= 1e-10 * max(1.0, det.loss)
    rng = np.random.default_rng(3)
    for _ in range(50):
        other = (s + 1e-3 * torch.tensor(rng.standard_normal(K))).abs()
        assert diagonal_loss(other, U, alpha, eps, unbiased) >= best - 1e-12
    # A higher-frequency eigenvector in place of the last direction with c > 0 is worse.
    last = int((det.c > 0).nonzero().max())
    U_swap = U.clone()
    U_swap[:, last] = torch.tensor(Ufull[:, K])
    assert diagonal_loss(s, U_swap, alpha, eps, unbiased) > best


def test_hinge_wrong_conventions_are_caught():
    """The paper's c (rho = 1, eps = 0) is not optimal for the reference conventions: the check fails."""
    K, alpha = 6, 1.0
    lam, Ufull = eig_centered(G30)
    U = torch.tensor(Ufull[:, :K])
    _, det_ref = closed_form.vicreg_hinge_optimum(G30, K, alpha, eps=1e-4, unbiased=True, return_details=True)
    _, det_paper = closed_form.vicreg_hinge_optimum(G30, K, alpha, return_details=True)
    right = diagonal_loss(det_ref.c.sqrt(), U, alpha, 1e-4, True)
    wrong = diagonal_loss(det_paper.c.sqrt(), U, alpha, 1e-4, True)
    assert wrong > right + 1e-6


def test_hinge_collapse_threshold():
    alpha, eps = 12.0, 1e-4
    K = N30 - 1
    _, det = closed_form.vicreg_hinge_optimum(G30, K, alpha, eps=eps, unbiased=True, return_details=True)
    rho = N30 / (N30 - 1)
    threshold = rho / (4 * alpha * math.sqrt(eps))
    lam = det.eigenvalues
    assert bool((det.c[lam >= threshold] == 0).all())
    assert bool((det.c[lam < threshold] > 0).all())
    assert bool((lam >= threshold).any()) and bool((lam < threshold).any())
    # Without eps nothing collapses (the paper's form).
    _, det0 = closed_form.vicreg_hinge_optimum(G30, K, alpha, return_details=True)
    assert bool((det0.c > 0).all())


def test_hinge_defaults_unchanged():
    """Defaults are the paper's form: c = 1 below 1/(4 alpha), 1/(16 alpha^2 lambda^2) above."""
    alpha, K = 1.0, 10
    _, det = closed_form.vicreg_hinge_optimum(G30, K, alpha, return_details=True)
    lam = det.eigenvalues
    expected = torch.where(lam <= 1 / (4 * alpha), torch.ones_like(lam), 1 / (16 * alpha**2 * lam**2))
    torch.testing.assert_close(det.c, expected, rtol=0, atol=1e-14)


def test_hinge_disconnected_warning_names_the_flat_range():
    G = graphs.augmentation_graph(4, 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, det = closed_form.vicreg_hinge_optimum(G, 2, 0.5, eps=1e-4, unbiased=True, return_details=True)
    # Two warnings: the flat range (lambda = 0 kept) and the tie at 0 at the cut (4 components, K = 2).
    messages = [str(w.message) for w in caught]
    assert any(re.search(r"flat for every c >= \(1 - eps\) / rho", m) for m in messages), messages
    assert all(issubclass(w.category, UserWarning) for w in caught)
    n = G.shape[0]
    torch.testing.assert_close(det.c, torch.full((2,), (1 - 1e-4) * (n - 1) / n, dtype=torch.float64))


@pytest.mark.parametrize("eps,match", [
    (1.0, r"The 'eps' parameter of vicreg_hinge_optimum must be a finite real number in \[0, 1\)\. Got 1.0"),
    (-0.1, r"The 'eps' parameter of vicreg_hinge_optimum must be a finite real number >= 0\. Got -0.1"),
    (float("nan"), r"The 'eps' parameter of vicreg_hinge_optimum must be a finite real number >= 0"),
])
def test_hinge_bad_eps(eps, match):
    with pytest.raises(ValueError, match=match):
        closed_form.vicreg_hinge_optimum(G30, 3, 1.0, eps=eps)
