"""Unit tests of :func:`sslspec_lib.losses.spectral_contrastive_distinct` (R2, R13).

The loss over distinct pairs is checked against a double loop over i != j, against
the all-pairs loss minus its diagonal terms, and at its minimisers on an augmentation
graph: every Gram matrix G + c I with c >= 1 (rank N' at c = 1, full rank above)
attains the minimum -||G||_F^2, while a wrong off-diagonal does not.  Tolerances:
float64 sums of a few hundred O(1) terms, so 1e-10 relative is far above rounding.
"""
import pytest
import torch

from sslspec_lib import graphs, losses

REL = 1e-10


def _loop(Z, G):
    n = Z.shape[0]
    total = 0.0
    for i in range(n):
        for j in range(n):
            if i != j:
                s = float(Z[i] @ Z[j])
                total += s * s - 2.0 * float(G[i, j]) * s
    return total


@pytest.mark.parametrize("seed", [0, 1])
def test_matches_double_loop_and_diagonal_correction(seed):
    g = torch.Generator().manual_seed(seed)
    A = torch.rand(7, 7, generator=g, dtype=torch.float64)
    G = (A + A.T) / 2  # non-zero diagonal: it must be ignored
    Z = torch.randn(7, 3, generator=g, dtype=torch.float64)
    val = float(losses.spectral_contrastive_distinct(Z, G))
    assert abs(val - _loop(Z, G)) <= REL * max(1.0, abs(val))
    sq = Z.pow(2).sum(1)
    diag = float((sq.pow(2) - 2.0 * torch.diagonal(G) * sq).sum())
    full = float(losses.spectral_contrastive(Z, G))
    assert abs(val - (full - diag)) <= REL * max(1.0, abs(val))


@pytest.mark.parametrize("c", [1.0, 1.5, 3.0])
def test_minimisers_of_every_rank(c):
    G = graphs.augmentation_graph(3, 2)
    n = G.shape[0]
    eye = torch.eye(n, dtype=G.dtype)
    if c > 1.0:  # G + c I is positive definite: a full-rank Cholesky factor
        Z = torch.linalg.cholesky(G + c * eye)
    else:  # G + I = the group indicators times their transpose: rank N' = 3
        Z = (G + eye)[:, ::2]
    val = float(losses.spectral_contrastive_distinct(Z, G))
    assert abs(val + float(G.pow(2).sum())) <= REL * float(G.pow(2).sum())
    rank = int(torch.linalg.matrix_rank(Z))
    assert rank == (n if c > 1.0 else 3)


def test_wrong_off_diagonal_is_above_the_minimum():
    G = graphs.augmentation_graph(3, 2)
    n = G.shape[0]
    Z = torch.linalg.cholesky(1.1 * G + 2.0 * torch.eye(n, dtype=G.dtype))
    val = float(losses.spectral_contrastive_distinct(Z, G))
    assert val > -float(G.pow(2).sum()) + 1e-3


def test_refuses_bad_input():
    with pytest.raises(ValueError):
        losses.spectral_contrastive_distinct(torch.zeros(3, 2), torch.zeros(4, 4))
