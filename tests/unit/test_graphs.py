"""Unit tests of :mod:`sslspec_lib.graphs`: relation matrices and Laplacians.

Every structural claim of the docstrings is checked on a small instance built
independently (by loops or NumPy), so a wrong convention (view-major rows, a
non-zero diagonal, a normalised Laplacian by default) fails here first.
"""
import numpy as np
import pytest
import torch

from sslspec_lib import graphs

# Entries are sums of <= 12 terms of size <= 1, exact to ~1e-16 each: identities
# on them (L 1 = 0, H^2 = H, the normalised Laplacian) are checked at 1e-15 or
# 1e-14 absolute, and the R1 sum of 100 pair terms at 1e-12 relative.
# Eigenvalues of small dense symmetric matrices are accurate to ~1e-15 times
# their norm (entries <= 12 here); 1e-12 leaves a margin of 10x-100x.
EIG_TOL = 1e-12


def random_graph(n, seed, density=0.6):
    rng = np.random.default_rng(seed)
    W = rng.uniform(0.2, 1.0, (n, n)) * (rng.uniform(size=(n, n)) < density)
    W = np.triu(W, 1)
    return torch.tensor(W + W.T)


# -- augmentation_graph --------------------------------------------------------

@pytest.mark.parametrize("n_samples,n_views", [(1, 2), (3, 2), (4, 3), (2, 5)])
def test_augmentation_graph_is_sample_major_cliques(n_samples, n_views):
    G = graphs.augmentation_graph(n_samples, n_views)
    N = n_samples * n_views
    assert G.shape == (N, N) and G.dtype == torch.float64
    # Reference built by the definition: row i*V + v is view v of sample i.
    ref = torch.zeros(N, N, dtype=torch.float64)
    for i in range(n_samples):
        for v in range(n_views):
            for w in range(n_views):
                if v != w:
                    ref[i * n_views + v, i * n_views + w] = 1.0
    assert torch.equal(G, ref)
    assert torch.equal(G.diagonal(), torch.zeros(N, dtype=torch.float64))
    assert torch.equal(G.sum(dim=1), torch.full((N,), n_views - 1.0, dtype=torch.float64))


def test_augmentation_graph_rows_are_not_view_major():
    # Rows 0 and 1 are the two views of sample 0 (sample-major), not rows 0 and N'.
    G = graphs.augmentation_graph(3, 2)
    assert G[0, 1] == 1 and G[0, 3] == 0


def test_augmentation_graph_laplacian_spectrum():
    # R10: for cliques of size V, spec(L) = {0 (x N'), V (x N - N')}.
    n_samples, n_views = 4, 3
    lam = torch.linalg.eigvalsh(graphs.laplacian(graphs.augmentation_graph(n_samples, n_views)))
    expected = torch.tensor([0.0] * n_samples + [float(n_views)] * (n_samples * (n_views - 1)),
                            dtype=torch.float64)
    torch.testing.assert_close(lam, expected, atol=EIG_TOL, rtol=0)


def test_augmentation_graph_dtype_device():
    G = graphs.augmentation_graph(2, 2, dtype=torch.float32, device="cpu")
    assert G.dtype == torch.float32 and G.device.type == "cpu"


# -- label_graph ----------------------------------------------------------------

def test_label_graph_matches_definition():
    y = [2, 0, 2, 1, 0, 2]
    G = graphs.label_graph(y)
    for i in range(6):
        for j in range(6):
            assert G[i, j] == (1.0 if (i != j and y[i] == y[j]) else 0.0)


def test_label_graph_of_sample_index_is_augmentation_graph():
    # The augmentation graph is the label graph of the source-sample index.
    sample = torch.arange(4).repeat_interleave(3)
    assert torch.equal(graphs.label_graph(sample), graphs.augmentation_graph(4, 3))


def test_label_graph_accepts_integer_valued_floats():
    assert torch.equal(graphs.label_graph(torch.tensor([1.0, 1.0, 0.0])),
                       graphs.label_graph([1, 1, 0]))


# -- knn_graph ---------------------------------------------------------------------

@pytest.mark.parametrize("k", [1, 2, 4])
def test_knn_graph_symmetric_binary_degree_at_least_k(k):
    X = torch.tensor(np.random.default_rng(0).standard_normal((15, 3)))
    G = graphs.knn_graph(X, k)
    assert torch.equal(G, G.T)
    assert set(G.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(G.diagonal(), torch.zeros(15, dtype=G.dtype))
    assert bool((G.sum(dim=1) >= k).all())
    # Each row contains its own k nearest neighbours (union symmetrisation).
    d2 = torch.cdist(X, X).fill_diagonal_(float("inf"))
    nearest = d2.argsort(dim=1)[:, :k]
    assert bool((G.gather(1, nearest) == 1).all())


def test_knn_graph_breaks_distance_ties_by_index():
    # Points at 0, 1, 2, 2.5 on a line: point 1 has two neighbours at distance 1
    # (rows 0 and 2); with k=1 the lower index wins, so there is no edge 1-2
    # (row 2's own nearest neighbour is row 3).
    X = torch.tensor([[0.0], [1.0], [2.0], [2.5]], dtype=torch.float64)
    G = graphs.knn_graph(X, 1)
    expected = torch.tensor([[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]],
                            dtype=torch.float64)
    assert torch.equal(G, expected)
    # deterministic: the same graph every time
    assert all(torch.equal(graphs.knn_graph(X, 1), G) for _ in range(3))


# -- degree, laplacian, centering ----------------------------------------------------

def test_degree_is_diagonal_of_row_sums():
    G = random_graph(8, 1)
    D = graphs.degree(G)
    assert torch.equal(D, torch.diag(G.sum(dim=1)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_laplacian_psd_with_constant_null_vector(seed):
    G = random_graph(10, seed)
    L = graphs.laplacian(G)
    assert torch.equal(L, L.T)
    ones = torch.ones(10, dtype=torch.float64)
    # L 1 = D 1 - G 1 = 0 up to the rounding of a row sum (10 terms <= 1).
    assert float((L @ ones).abs().max()) < 1e-14
    assert float(torch.linalg.eigvalsh(L)[0]) > -EIG_TOL
    # R1: the quadratic form equals the pairwise sum.
    Z = torch.tensor(np.random.default_rng(seed).standard_normal((10, 3)))
    pairwise = sum(float(G[i, j]) * float((Z[i] - Z[j]).pow(2).sum())
                   for i in range(10) for j in range(10))
    assert abs(2 * float(torch.trace(Z.T @ L @ Z)) - pairwise) < 1e-12 * pairwise


def test_normalized_laplacian_matches_definition():
    G = random_graph(9, 3)
    d = G.sum(dim=1)
    Ls = graphs.laplacian(G, normalized=True)
    ref = torch.eye(9, dtype=torch.float64) - torch.diag(d.rsqrt()) @ G @ torch.diag(d.rsqrt())
    torch.testing.assert_close(Ls, ref, atol=1e-15, rtol=0)
    lam, U = torch.linalg.eigh((Ls + Ls.T) / 2)
    # Spectrum in [0, 2]; D^{1/2} 1 spans the null space of a connected graph.
    assert float(lam[0]) > -EIG_TOL and float(lam[-1]) < 2 + EIG_TOL
    assert float(lam[1]) > 1e-3  # connected: 0 is simple
    s = d.sqrt() / d.sqrt().norm()
    assert float((Ls @ s).abs().max()) < 1e-14


def test_centering_is_projector_onto_ones_complement():
    H = graphs.centering(5)
    ones = torch.ones(5, dtype=torch.float64)
    torch.testing.assert_close(H @ H, H, atol=1e-15, rtol=0)
    assert torch.equal(H, H.T)
    assert float((H @ ones).abs().max()) < 1e-15
    Z = torch.tensor(np.random.default_rng(0).standard_normal((5, 2)))
    torch.testing.assert_close(H @ Z, Z - Z.mean(dim=0), atol=1e-15, rtol=0)


def test_validate_graph_returns_float_tensor():
    G = graphs.validate_graph([[0, 1], [1, 0]])
    assert G.dtype == torch.float64 and torch.equal(G, torch.tensor([[0.0, 1.0], [1.0, 0.0]],
                                                                    dtype=torch.float64))
    # The diagonal is allowed unless zero_diagonal=True.
    graphs.validate_graph([[1, 1], [1, 0]])


# -- components -------------------------------------------------------------------------

def test_components_numbered_by_smallest_row():
    G = torch.zeros(7, 7, dtype=torch.float64)
    for i, j in [(0, 4), (4, 6), (1, 2), (3, 5)]:
        G[i, j] = G[j, i] = 0.5
    assert graphs.components(G).tolist() == [0, 1, 1, 2, 0, 2, 0]


@pytest.mark.parametrize("n_samples,n_views", [(1, 2), (5, 2), (3, 4)])
def test_components_count_is_null_space_dimension(n_samples, n_views):
    G = graphs.augmentation_graph(n_samples, n_views)
    labels = graphs.components(G)
    assert labels.tolist() == torch.arange(n_samples).repeat_interleave(n_views).tolist()
    lam = torch.linalg.eigvalsh(graphs.laplacian(G))
    assert int((lam.abs() < EIG_TOL).sum()) == int(labels.max()) + 1


def test_components_isolated_vertices():
    G = torch.zeros(3, 3, dtype=torch.float64)
    assert graphs.components(G).tolist() == [0, 1, 2]
