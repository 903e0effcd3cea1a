"""scikit-learn 1.9 as a peer of :mod:`sslspec_lib.spectral` (versions pinned in constraints.txt).

Each test states the expected relation between the two outputs (equal
coordinates, equal up to sign, same subspace, same correlations) and uses a
problem whose eigengap at the cut is wide enough for a 1e-8 comparison to be
meaningful (a subspace error is about rounding / eigengap).
"""
import numpy as np
import pytest
import torch
from sklearn.cross_decomposition import CCA
from sklearn.decomposition import KernelPCA
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.manifold import ClassicalMDS, Isomap, SpectralEmbedding, spectral_embedding

from sslspec_lib import data, graphs, metrics, spectral

TOL = 1e-8


def _gap_at_cut(lam, K, descending=False):
    lam = np.sort(lam)[::-1] if descending else np.sort(lam)
    return abs(lam[K] - lam[K - 1]) / max(1.0, abs(lam).max())


def _max_err(A, B):
    return float(np.abs(np.asarray(A) - np.asarray(B)).max() / max(1.0, np.abs(B).max()))


@pytest.fixture
def weighted_graph():
    # Dense random weights: a connected graph whose normalised-Laplacian
    # eigenvalues 1..4 are separated by > 1e-2 (asserted below).
    rng = np.random.default_rng(0)
    W = np.triu(rng.random((40, 40)) ** 4, 1)
    return W + W.T


def test_spectral_embedding_same_coordinates_scale_and_sign(weighted_graph):
    """sklearn returns D^{-1/2} y (y orthonormal eigenvectors of the normalised
    Laplacian, the first dropped), then flips each column's largest-|entry|
    positive: exactly our degree-constrained Z (Z^T D Z = I)."""
    W, K = weighted_graph, 3
    d = W.sum(1)
    lam = np.linalg.eigvalsh(np.eye(40) - W / np.sqrt(np.outer(d, d)))
    assert _gap_at_cut(lam, K + 1) > 1e-2 and lam[1] - lam[0] > 1e-2
    Z = spectral.laplacian_eigenmaps(torch.tensor(W), K).numpy()
    E1 = spectral_embedding(W, n_components=K, norm_laplacian=True, drop_first=True,
                            random_state=0)
    E2 = SpectralEmbedding(n_components=K, affinity="precomputed",
                           random_state=0).fit_transform(W)
    for E in (E1, E2):
        assert _max_err(Z, E) < TOL  # same scale, same signs (ARPACK, tol=0)
    np.testing.assert_allclose(E1.T @ np.diag(d) @ E1, np.eye(K), atol=1e-8)


def test_spectral_embedding_knn_graph_two_moons():
    X, _ = data.two_moons(120, noise=0.05, seed=0)
    G = graphs.knn_graph(X, 8)  # connected for this seed (asserted)
    assert int(graphs.components(G).max()) == 0
    Z = spectral.laplacian_eigenmaps(G, 2).numpy()
    E = SpectralEmbedding(n_components=2, affinity="precomputed",
                          random_state=0).fit_transform(G.numpy())
    d = G.sum(1).numpy()
    lam = np.linalg.eigvalsh(np.eye(120) - G.numpy() / np.sqrt(np.outer(d, d)))
    assert _gap_at_cut(lam, 3) > 1e-3  # eigenvalues 2 and 3 (after the trivial one)
    assert metrics.subspace_gap(torch.tensor(E), torch.tensor(Z)) < TOL
    assert _max_err(Z, E) < 1e-6  # coordinates: rounding / eigengap (~1e-3)


def test_classical_mds_equal_coordinates():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((50, 6)) * np.array([5, 4, 3, 2, 1, 0.5])  # distinct variances
    D = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    Y = spectral.classical_mds(torch.tensor(D), 3).numpy()
    Ys = ClassicalMDS(n_components=3, metric="precomputed").fit_transform(D)
    assert _max_err(Y, Ys) < TOL  # same sqrt(lambda) scale, same svd_flip signs


def test_kernel_pca_equal_coordinates():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((60, 4)) * np.array([3, 2, 1, 0.5])
    Kmat = np.exp(-((X[:, None] - X[None]) ** 2).sum(-1) / 10)
    lam = np.linalg.eigvalsh(Kmat - Kmat.mean(0) - Kmat.mean(1)[:, None] + Kmat.mean())
    assert _gap_at_cut(lam, 3, descending=True) > 1e-2
    Y = spectral.kernel_pca(torch.tensor(Kmat), 3).numpy()
    Ys = KernelPCA(n_components=3, kernel="precomputed", eigen_solver="dense").fit_transform(Kmat)
    assert _max_err(Y, Ys) < TOL


def test_isomap_equal_coordinates_swiss_roll():
    """sklearn: kNN graph (self excluded), Dijkstra, KernelPCA of -1/2 geo^2.
    eigen_solver="dense" (the default "auto" picks ARPACK for N > 200)."""
    X, _ = data.swiss_roll(300, noise=0.0, seed=0)
    Y = spectral.isomap(X, 2, 10).numpy()
    Ys = Isomap(n_neighbors=10, n_components=2, eigen_solver="dense",
                path_method="D").fit_transform(X.numpy())
    assert _max_err(Y, Ys) < TOL


def test_cca_canonical_correlations():
    """sklearn's CCA runs NIPALS power iterations with deflation; with tol=1e-15
    (squared change of the weights) and enough iterations it reaches the SVD
    solution to ~1e-12 on correlations separated by > 0.1."""
    rng = np.random.default_rng(3)
    S = rng.standard_normal((300, 3)) * np.array([3.0, 1.5, 0.7])
    Xa = S @ rng.standard_normal((3, 4)) + 0.5 * rng.standard_normal((300, 4))
    Xb = S @ rng.standard_normal((3, 3)) + 0.5 * rng.standard_normal((300, 3))
    Wa, Wb, rho = spectral.cca(torch.tensor(Xa), torch.tensor(Xb), 3)
    assert np.all(-np.diff(rho.numpy()) > 0.05)
    cca = CCA(n_components=3, scale=False, max_iter=100_000, tol=1e-15).fit(Xa, Xb)
    xs, ys = cca.transform(Xa, Xb)
    r = np.array([np.corrcoef(xs[:, k], ys[:, k])[0, 1] for k in range(3)])
    np.testing.assert_allclose(r, rho.numpy(), rtol=0, atol=TOL)
    # and the canonical variates span the same subspaces
    Xa0 = Xa - Xa.mean(0)
    Xb0 = Xb - Xb.mean(0)
    assert metrics.subspace_gap(torch.tensor(xs), torch.tensor(Xa0) @ Wa) < 1e-6
    assert metrics.subspace_gap(torch.tensor(ys), torch.tensor(Xb0) @ Wb) < 1e-6


def test_lda_same_subspace():
    """sklearn's eigen solver: eigh(S_b, S_w) with S_w the prior-weighted class
    covariance and S_b = S_t - S_w: our (S_b, S_w) up to the same factor."""
    rng = np.random.default_rng(4)
    y = np.repeat(np.arange(5), [30, 40, 50, 60, 70])
    means = 4 * rng.standard_normal((5, 6))
    X = means[y] + rng.standard_normal((len(y), 6)) @ rng.standard_normal((6, 6))
    lda = LinearDiscriminantAnalysis(solver="eigen").fit(X, y)
    ev = np.sort(lda.explained_variance_ratio_)[::-1]
    for K in (1, 2, 4):
        if K < 4:
            assert ev[K - 1] - ev[K] > 1e-2
        W = spectral.lda(torch.tensor(X), torch.tensor(y), K)
        assert metrics.subspace_gap(W, torch.tensor(lda.scalings_[:, :K])) < TOL
