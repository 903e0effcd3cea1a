"""Helpers that several chapters share: random orthogonal matrices, sign alignment,
the Cayley parametrisation, planted-component graphs and the trained trace minimiser."""
import numpy as np
import pytest
import scipy.linalg as sla
import sympy as sp
import torch

from sslspec_lib import data, graphs, metrics, symbolic, train

F64 = torch.float64


def test_random_orthogonal_is_orthogonal_seeded_and_haar_signed():
    Q = data.random_orthogonal(6, 3)
    torch.testing.assert_close(Q.T @ Q, torch.eye(6, dtype=F64), rtol=0, atol=1e-14)
    assert torch.equal(Q, data.random_orthogonal(6, 3))
    assert not torch.allclose(Q, data.random_orthogonal(6, 4))
    # the QR factor of Q itself has a positive diagonal (the sign convention fixed)
    assert bool((torch.diagonal(torch.linalg.qr(Q)[1]).abs() > 0.99).all())
    with pytest.raises(ValueError, match=r"'n' parameter of random_orthogonal"):
        data.random_orthogonal(0, 1)


def test_align_signs():
    Q = data.random_orthogonal(5, 1)[:, :3]
    flipped = Q * torch.tensor([-1.0, 1.0, -1.0], dtype=F64)
    assert torch.equal(metrics.align_signs(flipped, Q), Q)
    with pytest.raises(ValueError, match=r"same shape in align_signs"):
        metrics.align_signs(Q, Q[:, :2])


def test_cayley_orthogonal_is_orthogonal_for_every_parameter():
    V, params = symbolic.cayley_orthogonal(3)
    assert len(params) == 3
    assert symbolic.assert_identity(V.T * V, sp.eye(3), label="V^T V = I")
    V4, p4 = symbolic.cayley_orthogonal(4, name="t")
    assert len(p4) == 6 and str(p4[0]) == "t1"
    with pytest.raises(ValueError, match=r"'n' parameter of cayley_orthogonal"):
        symbolic.cayley_orthogonal(1)


def test_planted_components():
    G = graphs.planted_components([3, 5, 4], 7)
    assert torch.equal(G, G.T) and float(G.diagonal().abs().max()) == 0.0
    assert graphs.components(G).tolist() == [0] * 3 + [1] * 5 + [2] * 4
    assert float(G[:3, 3:].abs().max()) == 0.0
    lam = torch.linalg.eigvalsh(graphs.laplacian(G))
    assert float(lam[:3].abs().max()) < 1e-12 < float(lam[3])
    with pytest.raises(ValueError, match=r"sizes\[i\]"):
        graphs.planted_components([3, 1], 0)


def _problem(n=8, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n))
    C = torch.tensor(A + A.T)
    B = rng.standard_normal((n, n))
    M = torch.tensor(B @ B.T + n * np.eye(n))
    return C, M


def test_trace_ratio_loss_value_at_the_generalised_eigenvectors():
    C, M = _problem()
    nu, V = sla.eigh(C.numpy(), M.numpy())
    Vk = torch.tensor(V[:, :2])  # M-orthonormal: S = I, penalty 0
    f = train.trace_ratio_loss(C, M)
    assert abs(float(f(Vk)) - nu[:2].sum()) < 1e-12
    assert abs(float(f(3.0 * Vk)) - nu[:2].sum() - 2 * 64.0) < 1e-9  # S = 9 I: penalty 2 * 8^2


def test_train_trace_constrained_finds_the_bottom_span():
    C, M = _problem()
    nu, V = sla.eigh(C.numpy(), M.numpy())
    Z, hist = train.train_trace_constrained(C, M, 2, seed=1, gtol=1e-9, max_iter=3000,
                                            polish=True, polish_orbit_tol=10.0)
    torch.testing.assert_close(Z.T @ M @ Z, torch.eye(2, dtype=F64), rtol=0, atol=1e-12)
    assert abs(float(torch.trace(Z.T @ C @ Z)) - nu[:2].sum()) < 1e-8
    Ch = torch.linalg.cholesky(M)  # compare spans in the metric's coordinates
    assert metrics.subspace_gap(Ch.T @ Z, Ch.T @ torch.tensor(V[:, :2])) < 1e-6
    # the top span (a wrong answer) is far away
    assert metrics.subspace_gap(Ch.T @ Z, Ch.T @ torch.tensor(V[:, -2:])) > 0.9
    with pytest.raises(ValueError, match=r"square of the same size"):
        train.train_trace_constrained(C, M[:4, :4], 2)
    with pytest.raises(ValueError, match=r"'K' parameter of train_trace_constrained"):
        train.train_trace_constrained(C, M, 9)
