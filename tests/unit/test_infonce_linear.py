"""Linear InfoNCE helpers (R15): the relative row floor and the scale-free linear trainer."""
import math

import pytest
import torch

from sslspec_lib import graphs, losses, train

F64 = torch.float64


def test_row_floor_value_and_scale_invariance():
    X = torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]], dtype=F64)
    W = torch.tensor([[1.0], [0.0]], dtype=F64)
    # rows of XW: 1, 0, 1 -> relative norms 1, 0, 1/sqrt(2)
    assert train.row_floor(X, W) == 0.0
    W = torch.tensor([[1.0], [1.0]], dtype=F64)
    expected = min(1 / 1, 2 / 2, 2 / math.sqrt(2)) / math.sqrt(2)
    assert train.row_floor(X, W) == pytest.approx(expected, rel=1e-12)
    assert train.row_floor(X, 7.5 * W) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("X, W, match", [
    (torch.ones(3, 2, dtype=F64), torch.ones(3, 1, dtype=F64), "columns"),
    (torch.ones(3, 2, dtype=F64), torch.zeros(2, 1, dtype=F64), "zero"),
    (torch.tensor([[1.0, 1.0], [0.0, 0.0]], dtype=F64), torch.ones(2, 1, dtype=F64), "zero"),
])
def test_row_floor_validation(X, W, match):
    with pytest.raises(ValueError, match=match):
        train.row_floor(X, W)


def test_free_row_gives_any_direction():
    """Near W0 with W0^T x_i = 0, W0 + eps x_i v^T / |x_i|^2 puts u_i exactly on v."""
    gen = torch.Generator().manual_seed(3)
    X = torch.randn(6, 4, generator=gen, dtype=F64)
    W0 = torch.randn(4, 2, generator=gen, dtype=F64)
    x = X[2]
    W0 = W0 - torch.outer(x, x @ W0) / (x @ x)      # now W0^T x_2 = 0
    assert train.row_floor(X, W0) < 1e-14
    for angle in (0.3, 2.0, -2.5):
        v = torch.tensor([math.cos(angle), math.sin(angle)], dtype=F64)
        W = W0 + 1e-3 * torch.outer(x, v) / (x @ x)
        z = X @ W
        # rounding of W0^T x_2 (about 1e-16) over eps: far below 1e-9
        torch.testing.assert_close(z[2] / z[2].norm(), v, rtol=0, atol=1e-9)


def test_trainer_finds_a_rayleigh_maximiser_on_the_sphere():
    # loss(Z) = -z^T A z / z^T z with X = I: scale invariant, minimiser the top eigenvector
    gen = torch.Generator().manual_seed(0)
    B = torch.randn(5, 5, generator=gen, dtype=F64)
    A = B @ B.T
    X = torch.eye(5, dtype=F64)
    loss = lambda Z: -(Z[:, 0] @ A @ Z[:, 0]) / (Z[:, 0] @ Z[:, 0])
    W, hist = train.train_linear_scale_free(loss, X, 1, seed=1, barrier=())
    top = torch.linalg.eigh(A)[1][:, -1]
    assert float(W.norm()) == pytest.approx(1.0, abs=1e-12)
    assert abs(float(W[:, 0] @ top)) == pytest.approx(1.0, abs=1e-8)
    assert hist.final_grad < 1e-8
    # a wrong answer (the second eigenvector) is not what it returns
    assert abs(float(W[:, 0] @ torch.linalg.eigh(A)[1][:, -2])) < 1e-4


def test_trainer_with_start_and_barrier_on_info_nce():
    gen = torch.Generator().manual_seed(5)
    X = torch.randn(12, 4, generator=gen, dtype=F64)
    G = graphs.augmentation_graph(6, 2)
    nce = lambda Z: losses.info_nce(Z, G, 10.0)
    W0 = torch.randn(4, 2, generator=gen, dtype=F64)
    W, hist = train.train_linear_scale_free(nce, X, 2, W0=3.0 * W0, max_iter=300)
    assert W.shape == (4, 2)
    assert float(W.norm()) == pytest.approx(1.0, abs=1e-12)
    assert hist.final_loss <= float(nce(X @ W0)) + 1e-9   # never worse than the start
    # deterministic from its inputs
    W2, _ = train.train_linear_scale_free(nce, X, 2, W0=W0, max_iter=300)
    torch.testing.assert_close(W, W2)


@pytest.mark.parametrize("kw, match", [
    (dict(W0=torch.ones(3, 2, dtype=F64)), "shape"),
    (dict(W0=torch.zeros(4, 2, dtype=F64)), "zero"),
    (dict(barrier=(-1.0,)), "barrier"),
    (dict(max_iter=0), "max_iter"),
])
def test_trainer_validation(kw, match):
    X = torch.randn(5, 4, dtype=F64)
    with pytest.raises(ValueError, match=match):
        train.train_linear_scale_free(lambda Z: Z.sum(), X, 2, **kw)


def test_trainer_rejects_zero_row_and_non_callable():
    X = torch.ones(3, 2, dtype=F64)
    X[1] = 0.0
    with pytest.raises(ValueError, match="zero row"):
        train.train_linear_scale_free(lambda Z: Z.sum(), X, 1)
    with pytest.raises(ValueError, match="callable"):
        train.train_linear_scale_free(3.0, torch.ones(3, 2, dtype=F64), 1)


def test_info_nce_large_tau_matrix_is_the_first_order_term():
    # l_tau(U) = dbar log(N-1) - <B, U U^T>/(N tau) + R, 0 <= R <= dbar/(2 tau^2): at a
    # large tau the remainder is below the bound, and a wrong B (G itself: the degree
    # shift dropped) leaves the remainder's interval.
    from sslspec_lib import closed_form, graphs, losses
    g = torch.Generator().manual_seed(3)
    X = torch.randn(15, 3, generator=g, dtype=torch.float64)
    G = graphs.knn_graph(X, 3)
    n, tau = G.shape[0], 50.0
    U = torch.randn(n, 3, generator=g, dtype=torch.float64)
    U = U / U.norm(dim=1, keepdim=True)
    dbar = float(G.sum()) / n
    B = closed_form.info_nce_large_tau_matrix(G)
    assert torch.allclose(B, B.T) and float(B.diagonal().abs().max()) == 0.0
    base = float(losses.info_nce(U, G, tau)) - dbar * math.log(n - 1)
    R = base + float((B * (U @ U.T)).sum()) / (n * tau)
    assert -1e-12 <= R <= dbar / (2 * tau**2)
    R_wrong = base + float((G * (U @ U.T)).sum()) / (n * tau)
    assert not -1e-12 <= R_wrong <= dbar / (2 * tau**2)
