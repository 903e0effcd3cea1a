"""Unit tests of the library helpers added for Part II (:ref:`ch-vicreg`).

``train.train_whitened`` minimises a loss on the constraint set
``C(Z) = I_K`` (R9).  Checks: the constraint holds at the output; on a graph
with a well-separated spectrum the minimiser of the invariance term is the
bottom eigenspace of ``L`` on ``1^perp`` (the closed form of R9), and a
wrong subspace fails the same check; bad input raises ``ValueError``; an
exhausted budget raises ``RuntimeError``.

Tolerances: L-BFGS stops at a largest gradient entry of 1e-8 in ``Y``; the
subspace error is first order in it, divided by the eigengap at the cut
(>= 0.5 below), so sines below 1e-5 are required; the loss excess is second
order (1e-10).  The constraint is exact up to rounding (1e-12).
"""
import numpy as np
import pytest
import torch

from sslspec_lib import closed_form, graphs, losses, metrics, train


def weighted_path_plus(n=12, seed=0):
    """A connected weighted graph: a path with random weights plus a few chords."""
    rng = np.random.default_rng(seed)
    W = np.zeros((n, n))
    for i in range(n - 1):
        W[i, i + 1] = rng.uniform(0.5, 2.0)
    for _ in range(n // 2):
        i, j = rng.choice(n, 2, replace=False)
        W[min(i, j), max(i, j)] = rng.uniform(0.1, 0.5)
    return torch.tensor(W + W.T)


def bottom_gap(G, K):
    lam = closed_form.vicreg_optimum(G, K + 1, 1e-6, return_details=True)[1].eigenvalues
    return float(lam[K] - lam[K - 1])


@pytest.mark.parametrize("K", [1, 2, 3])
def test_constraint_holds(K):
    # Any loss: only the constraint is checked, so the run need not converge.
    Z, _ = train.train_whitened(lambda Z: Z[0].pow(2).sum() + Z[:, 0].pow(3).sum(), 9, K, seed=1,
                                max_iter=20, require_convergence=False)
    assert torch.allclose(losses.covariance(Z), torch.eye(K, dtype=torch.float64), atol=1e-12)
    assert float(Z.mean(dim=0).abs().max()) < 1e-12


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recovers_laplacian_eigenmaps(seed):
    G = weighted_path_plus(seed=seed)
    n, K = G.shape[0], 2
    assert bottom_gap(G, K) > 0.05
    Z, hist = train.train_whitened(lambda Z: losses.invariance(Z, G) / n, n, K, seed=seed, gtol=1e-8)
    Z_star, details = closed_form.vicreg_constrained_optimum(G, K, return_details=True)
    assert metrics.subspace_gap(Z, Z_star, center=True) < 1e-5
    assert abs(hist.final_loss - details.loss / n) < 1e-10


def test_wrong_subspace_is_caught():
    """The check of the test above can fail: eigenvectors 2..K+1 are not the minimiser."""
    G = weighted_path_plus(seed=0)
    n, K = G.shape[0], 2
    Z, _ = train.train_whitened(lambda Z: losses.invariance(Z, G) / n, n, K, seed=0, gtol=1e-8)
    Z_wide = closed_form.vicreg_constrained_optimum(G, K + 1)
    assert metrics.subspace_gap(Z, Z_wide[:, 1:], center=True) > 0.5


def test_same_minimum_from_different_starts():
    G = weighted_path_plus(seed=3)
    n, K = G.shape[0], 3
    runs = [train.train_whitened(lambda Z: losses.invariance(Z, G) / n, n, K, seed=s, polish=True)
            for s in range(3)]
    values = [h.final_loss for _, h in runs]
    assert max(values) - min(values) < 1e-10


@pytest.mark.parametrize("n, K, match", [
    (1, 1, "'n' parameter of train_whitened"),
    (5, 0, "'K' parameter of train_whitened"),
    (5, 5, "'K' parameter of train_whitened"),
    (5.5, 2, "'n' parameter of train_whitened"),
])
def test_bad_input(n, K, match):
    with pytest.raises(ValueError, match=match):
        train.train_whitened(lambda Z: Z.sum(), n, K)


def test_unconverged_raises():
    G = weighted_path_plus(seed=0)
    with pytest.raises(RuntimeError, match="did not converge"):
        train.train_whitened(lambda Z: losses.invariance(Z, G), 12, 2, max_iter=2, gtol=1e-14)
