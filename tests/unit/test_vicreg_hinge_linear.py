"""``closed_form.vicreg_hinge_linear_optimum``: the linear hinge problem is the
nonparametric one with the whitened spectrum (R11, R15).

Tolerances: the identities are float64 sums of a few hundred O(1) terms (1e-12
relative); the competitor checks compare values that differ at first order."""
import numpy as np
import pytest
import torch

from sslspec_lib import closed_form, graphs, losses, metrics

F64 = torch.float64


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    X = torch.tensor(rng.standard_normal((40, 6)))
    G = graphs.knn_graph(X, 5)
    return X, G


def simplified(Z, G, alpha, lc=0.0):
    K = Z.shape[1]  # the paper's simplified form: (std/K) = 1, biased, eps = 0
    return losses.vicreg_hinge(Z, G, sim_coeff=alpha * K, std_coeff=K, cov_coeff=lc,
                               eps=0.0, unbiased=False)


@pytest.mark.parametrize("alpha", [0.05, 0.5, 2.0])
def test_value_and_diagonal_covariance(problem, alpha):
    X, G = problem
    W, det = closed_form.vicreg_hinge_linear_optimum(X, G, 3, alpha, return_details=True)
    Z = X @ W
    C = losses.covariance(Z)
    assert float((C - torch.diag(torch.diagonal(C))).abs().max()) < 1e-12
    torch.testing.assert_close(torch.diagonal(C), det.c, rtol=1e-12, atol=1e-14)
    assert float(simplified(Z, G, alpha)) == pytest.approx(det.loss, rel=1e-12)


def test_reduction_matches_the_nonparametric_formula(problem):
    # same per-direction minimisers as the nonparametric closed form for a graph
    # whose Laplacian spectrum is mu: compare with the formula directly
    X, G = problem
    alpha = 0.5
    _, det = closed_form.vicreg_hinge_linear_optimum(X, G, 3, alpha, return_details=True)
    mu = det.eigenvalues
    c = torch.where(mu <= 1 / (4 * alpha), torch.ones_like(mu), 1 / (16 * alpha**2 * mu**2))
    torch.testing.assert_close(det.c, c, rtol=1e-12, atol=0)


def test_no_diagonal_competitor_does_better(problem):
    X, G = problem
    alpha = 0.5
    W, det = closed_form.vicreg_hinge_linear_optimum(X, G, 3, alpha, return_details=True)
    base = float(simplified(X @ W, G, alpha, lc=1e6))
    for scale in (0.9, 1.1):
        Wp = W.clone()
        Wp[:, 0] *= scale
        assert float(simplified(X @ Wp, G, alpha, lc=1e6)) > base
    # a wrong direction (the largest eigenvalue of M instead of the smallest) loses
    Wall = closed_form.vicreg_hinge_linear_optimum(X, G, 6, alpha)
    Wswap = torch.cat([Wall[:, :2], Wall[:, 5:6]], dim=1)
    assert float(simplified(X @ Wswap, G, alpha, lc=1e6)) > base + 1e-3


def test_bad_inputs(problem):
    X, G = problem
    with pytest.raises(ValueError, match=r"'eps' parameter of vicreg_hinge_linear_optimum"):
        closed_form.vicreg_hinge_linear_optimum(X, G, 2, 0.5, eps=1.0)
    with pytest.raises(ValueError, match=r"'K' parameter of vicreg_hinge_linear_optimum"):
        closed_form.vicreg_hinge_linear_optimum(X, G, 7, 0.5)
    Xs = torch.cat([X[:, :3], X[:, :1]], dim=1)  # a repeated column: Sigma singular
    with pytest.raises(ValueError, match=r"vicreg_hinge_linear_optimum"):
        closed_form.vicreg_hinge_linear_optimum(Xs, G, 2, 0.5)
