"""InfoNCE beyond augmentation cliques (R12): the negatives-only multi-positive
convention and the graph-ISOMAP prediction (:ref:`ch-infonce-general`)."""
import math

import numpy as np
import pytest
import torch

from sslspec_lib import graphs, losses, spectral

F64 = torch.float64


def _simplex_U(n_groups, n_views, K, seed=0):
    """Unit rows: the views of group g on vertex g of a regular simplex, rotated."""
    E = torch.eye(n_groups, dtype=F64) - 1.0 / n_groups
    E = E / E.norm(dim=1, keepdim=True)  # N' unit vectors, cosines -1/(N'-1)
    Q, _ = torch.linalg.qr(torch.randn(K, K,
                                       generator=torch.Generator().manual_seed(seed),
                                       dtype=F64))
    # the simplex spans N' - 1 dimensions: map it into R^K through an isometry
    basis = torch.linalg.svd(E, full_matrices=False)[2][: n_groups - 1]  # (N'-1, N')
    coords = E @ basis.T  # (N', N'-1)
    Y = torch.zeros(n_groups, K, dtype=F64)
    Y[:, : n_groups - 1] = coords
    Y = Y @ Q
    return Y.repeat_interleave(n_views, dim=0)


def _loop_negatives_only(Z, G, tau):
    U = (Z / Z.norm(dim=1, keepdim=True)).numpy()
    G = G.numpy()
    n = len(U)
    total = 0.0
    for i in range(n):
        neg = [k for k in range(n) if k != i and G[i, k] == 0]
        for j in range(n):
            if G[i, j] > 0:
                num = math.exp(U[i] @ U[j] / tau)
                den = num + sum(math.exp(U[i] @ U[k] / tau) for k in neg)
                total -= G[i, j] * math.log(num / den)
    return total / n


def test_equals_info_nce_for_two_views():
    G = graphs.augmentation_graph(5, 2)
    Z = torch.randn(10, 3, generator=torch.Generator().manual_seed(1), dtype=F64)
    torch.testing.assert_close(losses.info_nce_negatives_only(Z, G, 0.3),
                               losses.info_nce(Z, G, 0.3), rtol=1e-13, atol=0)


@pytest.mark.parametrize("V", [3, 4])
def test_matches_an_independent_loop_and_differs_from_info_nce(V):
    G = graphs.augmentation_graph(3, V)
    G = G * (1 + torch.rand(G.shape, generator=torch.Generator().manual_seed(V),
                            dtype=F64))
    G = (G + G.T) / 2  # weighted, symmetric
    Z = torch.randn(3 * V, 2, generator=torch.Generator().manual_seed(2), dtype=F64)
    got = float(losses.info_nce_negatives_only(Z, G, 0.7))
    assert got == pytest.approx(_loop_negatives_only(Z, G, 0.7), rel=1e-12)
    # the other positives in the denominator make the loss strictly larger
    assert float(losses.info_nce(Z, G, 0.7)) > got + 1e-3


@pytest.mark.parametrize("Np,V,K,tau", [(4, 3, 3, 0.5), (3, 4, 5, 1.3), (5, 2, 4, 0.2)])
def test_minimum_values_at_the_simplex(Np, V, K, tau):
    G = graphs.augmentation_graph(Np, V)
    U = _simplex_U(Np, V, K)
    N, c = Np * V, Np / (Np - 1)
    neg = (V - 1) * math.log(1 + (N - V) * math.exp(-c / tau))
    inc = (V - 1) * math.log((V - 1) + (N - V) * math.exp(-c / tau))
    assert float(losses.info_nce_negatives_only(U, G, tau)) == pytest.approx(neg, rel=1e-12)
    assert float(losses.info_nce(U, G, tau)) == pytest.approx(inc, rel=1e-12)
    if V > 2:  # a wrong minimum (the other convention's) is caught
        assert abs(float(losses.info_nce_negatives_only(U, G, tau)) - inc) > 1e-3


def test_simplex_is_stationary_and_perturbation_raises_the_loss():
    G = graphs.augmentation_graph(4, 3)
    U = _simplex_U(4, 3, 3).requires_grad_(True)
    loss = losses.info_nce_negatives_only(U, G, 0.5)
    (g,) = torch.autograd.grad(loss, U)
    assert float(g.norm()) < 1e-12
    P = U.detach() + 0.05 * torch.randn(U.shape, generator=torch.Generator().manual_seed(3),
                                        dtype=F64)
    assert float(losses.info_nce_negatives_only(P, G, 0.5)) > float(loss.detach()) + 1e-5


def test_rows_without_negatives_give_finite_gradients():
    G = torch.ones(4, 4, dtype=F64) - torch.eye(4, dtype=F64)  # every pair positive
    Z = torch.randn(4, 2, generator=torch.Generator().manual_seed(4),
                    dtype=F64).requires_grad_(True)
    loss = losses.info_nce_negatives_only(Z, G, 0.5)
    (g,) = torch.autograd.grad(loss, Z)
    assert float(loss.detach()) == 0.0
    assert bool(torch.isfinite(g).all())


def test_graph_isomap_of_a_path_recovers_the_line():
    # weighted path: edge (i, i+1) of weight w_i has length 1/w_i, so the nodes sit
    # at the cumulative lengths on a line and classical MDS recovers them exactly
    w = torch.tensor([1.0, 0.5, 2.0, 0.25, 1.0], dtype=F64)
    n = len(w) + 1
    G = torch.zeros(n, n, dtype=F64)
    G[torch.arange(n - 1), torch.arange(1, n)] = w
    G = G + G.T
    x = torch.cat([torch.zeros(1, dtype=F64), torch.cumsum(1 / w, 0)])
    Y = spectral.graph_isomap(G, 1)
    xc = x - x.mean()
    assert float(torch.minimum((Y[:, 0] - xc).abs().max(),
                               (Y[:, 0] + xc).abs().max())) < 1e-12
    Yh = spectral.graph_isomap(G, 1, length="hop")
    h = torch.arange(n, dtype=F64) - (n - 1) / 2
    assert float(torch.minimum((Yh[:, 0] - h).abs().max(),
                               (Yh[:, 0] + h).abs().max())) < 1e-12
    # a wrong edge length (the weight itself instead of its inverse) is caught
    wrong = torch.cat([torch.zeros(1, dtype=F64), torch.cumsum(w, 0)])
    wrong = wrong - wrong.mean()
    assert float(torch.minimum((Y[:, 0] - wrong).abs().max(),
                               (Y[:, 0] + wrong).abs().max())) > 0.1


def test_graph_isomap_matches_classical_mds_of_scipy_distances():
    from scipy.sparse.csgraph import shortest_path

    X = torch.randn(15, 2, generator=torch.Generator().manual_seed(5), dtype=F64)
    G = graphs.knn_graph(X, 4)
    Gn = G.numpy()
    L = np.where(Gn > 0, 1 / np.where(Gn > 0, Gn, 1), 0)
    D = torch.as_tensor(shortest_path(L, method="D", directed=False))
    Y = spectral.graph_isomap(G, 3)
    Y_ref = spectral.classical_mds((D + D.T) / 2, 3)
    torch.testing.assert_close(Y @ Y.T, Y_ref @ Y_ref.T, rtol=0, atol=1e-10)
