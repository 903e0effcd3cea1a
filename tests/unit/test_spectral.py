"""Unit tests of :mod:`sslspec_lib.spectral` against independent dense computations.

Every closed form is compared with the same problem solved another way
(``scipy.linalg.eigh(A, B)`` for the generalised problems, a Floyd-Warshall
loop for geodesics, a block eigenproblem for CCA).  The comparison helpers are
shown to catch a perturbed answer (a wrong eigenvector, a wrong scale).
"""
import numpy as np
import pytest
import scipy.linalg as sla
import torch

from sslspec_lib import closed_form, graphs, metrics, spectral

TOL = 1e-10  # dense eigen-solvers on well-conditioned problems of size <= 60


# -- helpers ----------------------------------------------------------------

def _sign_flip(U):
    """NumPy version of the sign rule: each column's largest-|entry| positive."""
    U = np.asarray(U, dtype=float)
    idx = np.abs(U).argmax(axis=0)
    s = np.sign(U[idx, np.arange(U.shape[1])])
    s[s == 0] = 1
    return U * s


def assert_same_columns(A, B, tol=TOL):
    """Entry-wise equality (signs included: the sign rule is deterministic)."""
    A, B = np.asarray(A), np.asarray(B)
    assert A.shape == B.shape, f"shapes differ: {A.shape} vs {B.shape}"
    err = np.abs(A - B).max() / max(1.0, np.abs(B).max())
    assert err < tol, f"relative max entry error {err:.3e} >= {tol:g}"


def assert_same_subspace(A, B, tol=TOL):
    gap = metrics.subspace_gap(torch.as_tensor(np.asarray(A)), torch.as_tensor(np.asarray(B)))
    assert gap < tol, f"subspace gap {gap:.3e} >= {tol:g}"


def random_graph(n, seed, density=1.0):
    rng = np.random.default_rng(seed)
    W = rng.random((n, n)) * (rng.random((n, n)) < density)
    W = np.triu(W, 1)
    W = W + W.T
    return W


def _H(n):
    return np.eye(n) - np.ones((n, n)) / n


@pytest.fixture
def G():
    return random_graph(12, 0)


@pytest.fixture
def X():
    return np.random.default_rng(1).standard_normal((12, 4))


# -- Laplacian Eigenmaps (R5) -----------------------------------------------

def _le_degree_reference(W, K):
    d = W.sum(1)
    lam, V = sla.eigh(np.diag(d) - W, np.diag(d))  # ascending, V^T D V = I
    return lam, _sign_flip(V[:, 1:K + 1])            # drop the constant (lam = 0)


@pytest.mark.parametrize("K", [1, 3, 11])
def test_le_degree_matches_generalised_eigh(G, K):
    Z = spectral.laplacian_eigenmaps(torch.tensor(G), K).numpy()
    lam, Zref = _le_degree_reference(G, K)
    assert_same_columns(Z, Zref)
    D = np.diag(G.sum(1))
    np.testing.assert_allclose(Z.T @ D @ Z, np.eye(K), atol=1e-12)
    np.testing.assert_allclose(Z.T @ D @ np.ones(12), 0, atol=1e-12)
    # trace at the optimum = sum of the kept generalised eigenvalues; order ascending
    L = D - G
    q = np.diag(Z.T @ L @ Z)
    np.testing.assert_allclose(q, lam[1:K + 1], atol=1e-12)
    assert np.all(np.diff(q) > 0)
    # sign rule
    idx = np.abs(Z).argmax(0)
    assert np.all(Z[idx, np.arange(K)] > 0)


def test_le_comparison_catches_perturbations(G):
    K = 3
    Z = spectral.laplacian_eigenmaps(torch.tensor(G), K).numpy()
    lam, V = sla.eigh(np.diag(G.sum(1)) - G, np.diag(G.sum(1)))
    wrong_vec = Z.copy()
    wrong_vec[:, -1] = _sign_flip(V[:, [K + 1]])[:, 0]  # eigenvector K+1 instead of K
    with pytest.raises(AssertionError):
        assert_same_columns(wrong_vec, _le_degree_reference(G, K)[1])
    with pytest.raises(AssertionError):
        assert_same_subspace(wrong_vec, Z)
    with pytest.raises(AssertionError):  # wrong scaling (e.g. D^{-1/2} forgotten)
        assert_same_columns(1.01 * Z, Z)
    with pytest.raises(AssertionError):  # the unnormalised-Laplacian answer
        assert_same_subspace(spectral.laplacian_eigenmaps(torch.tensor(G), K,
                                                          constraint="covariance"), Z)


def test_le_covariance_matches_eigh_and_vicreg(G):
    K, n = 4, 12
    Z = spectral.laplacian_eigenmaps(torch.tensor(G), K, constraint="covariance")
    torch.testing.assert_close(Z, closed_form.vicreg_constrained_optimum(torch.tensor(G), K),
                               rtol=0, atol=0)
    Z = Z.numpy()
    L = np.diag(G.sum(1)) - G
    lam, U = np.linalg.eigh(L)  # ascending; connected: U[:, 0] is constant
    assert_same_columns(Z, np.sqrt(n) * _sign_flip(U[:, 1:K + 1]))
    np.testing.assert_allclose(Z.T @ _H(n) @ Z, n * np.eye(K), atol=1e-10)
    np.testing.assert_allclose(Z.sum(0), 0, atol=1e-10)
    np.testing.assert_allclose(np.trace(Z.T @ L @ Z), n * lam[1:K + 1].sum(), rtol=1e-12)


def test_le_degree_with_self_loops_uses_full_degree():
    W = random_graph(10, 3) + np.diag(np.linspace(0.1, 1.0, 10))
    Z = spectral.laplacian_eigenmaps(torch.tensor(W), 2).numpy()
    D = np.diag(W.sum(1))
    np.testing.assert_allclose(Z.T @ D @ Z, np.eye(2), atol=1e-12)
    assert_same_columns(Z, _le_degree_reference(W, 2)[1])


def test_le_tie_and_disconnected_warn():
    complete = np.ones((6, 6)) - np.eye(6)  # all non-trivial eigenvalues equal
    with pytest.warns(UserWarning, match="not unique"):
        spectral.laplacian_eigenmaps(torch.tensor(complete), 2)
    aug = graphs.augmentation_graph(5, 2)  # 5 components: 0 has multiplicity 5
    for constraint in ("degree", "covariance"):
        with pytest.warns(UserWarning, match="connected components"):
            spectral.laplacian_eigenmaps(aug, 2, constraint=constraint)


def test_le_disconnected_without_tie_spans_indicators():
    aug = graphs.augmentation_graph(3, 2)  # 3 components, K = 2 keeps all of 0
    Z = spectral.laplacian_eigenmaps(aug, 2)
    labels = graphs.components(aug)
    ind = torch.nn.functional.one_hot(labels).to(torch.float64)
    D = graphs.degree(aug)
    # span(Z) = the D-orthogonal complement of 1 inside span(indicators)
    assert metrics.subspace_gap(torch.cat([Z, torch.ones(6, 1, dtype=Z.dtype)], 1), ind) < TOL
    torch.testing.assert_close(Z.T @ D @ Z, torch.eye(2, dtype=Z.dtype))


@pytest.mark.parametrize("bad, match", [
    (np.ones((3, 4)), "square"),
    (np.array([[0, 1, 0], [2, 0, 1], [0, 1, 0.]]), "symmetric"),
    (np.array([[0, -1, 1], [-1, 0, 1], [1, 1, 0.]]), "non-negative"),
    (np.array([[0, np.nan, 1], [np.nan, 0, 1], [1, 1, 0.]]), "finite"),
])
def test_le_bad_graph(bad, match):
    with pytest.raises(ValueError, match=match):
        spectral.laplacian_eigenmaps(bad, 1)


def test_le_bad_arguments(G):
    with pytest.raises(ValueError, match=r"'K' parameter of laplacian_eigenmaps must be an int in the range \[1, 11\]"):
        spectral.laplacian_eigenmaps(G, 12)
    with pytest.raises(ValueError, match="'constraint' parameter"):
        spectral.laplacian_eigenmaps(G, 2, constraint="pca")
    W = G.copy()
    W[0, :] = W[:, 0] = 0
    with pytest.raises(ValueError, match="isolated vertex"):
        spectral.laplacian_eigenmaps(W, 2)
    spectral.laplacian_eigenmaps(W, 2, constraint="covariance")  # L is defined


# -- LPP (R6) -----------------------------------------------------------------

@pytest.mark.parametrize("K", [1, 2, 4])
def test_lpp_degree_matches_generalised_eigh(X, G, K):
    W = spectral.lpp(torch.tensor(X), torch.tensor(G), K).numpy()
    L, D = np.diag(G.sum(1)) - G, np.diag(G.sum(1))
    A, B = X.T @ L @ X, X.T @ D @ X
    mu, V = sla.eigh(A, B)  # ascending, V^T B V = I
    assert_same_columns(W, _sign_flip(V[:, :K]))
    np.testing.assert_allclose(W.T @ B @ W, np.eye(K), atol=1e-12)
    np.testing.assert_allclose(np.diag(W.T @ A @ W), mu[:K], atol=1e-12)
    with pytest.raises(AssertionError):
        assert_same_columns(0.99 * W, _sign_flip(V[:, :K]))


@pytest.mark.parametrize("K", [1, 3])
def test_lpp_covariance_matches_generalised_eigh(X, G, K):
    n = X.shape[0]
    W = spectral.lpp(torch.tensor(X), torch.tensor(G), K, constraint="covariance").numpy()
    L = np.diag(G.sum(1)) - G
    Sigma = X.T @ _H(n) @ X / n
    mu, V = sla.eigh(X.T @ L @ X, Sigma)
    assert_same_columns(W, _sign_flip(V[:, :K]))
    np.testing.assert_allclose(W.T @ Sigma @ W, np.eye(K), atol=1e-12)
    # alpha -> 0 limit of linear VICReg (R15): same columns up to the scales sqrt(c_k)
    Wv = closed_form.vicreg_linear_optimum(torch.tensor(X), torch.tensor(G), K, 1e-6).numpy()
    assert_same_subspace(W, Wv)
    wrong = W.copy()
    wrong[:, -1] = _sign_flip(V[:, [K]])[:, 0]
    with pytest.raises(AssertionError):
        assert_same_subspace(wrong, W)


def test_lpp_rank_deficient(X, G):
    Xd = np.hstack([X, X[:, :1]])  # a repeated feature
    with pytest.raises(ValueError, match="X\\^T D X is rank-deficient"):
        spectral.lpp(Xd, G, 2)
    Xc = np.hstack([X, np.ones((12, 1))])  # constant feature: singular covariance
    with pytest.raises(ValueError, match="covariance X\\^T H X / N is rank-deficient"):
        spectral.lpp(Xc, G, 2, constraint="covariance")


def test_lpp_bad_arguments(X, G):
    with pytest.raises(ValueError, match="same number of rows"):
        spectral.lpp(X[:10], G, 2)
    with pytest.raises(ValueError, match=r"'K' parameter of lpp must be an int in the range \[1, 4\]"):
        spectral.lpp(X, G, 5)
    with pytest.raises(ValueError, match="finite"):
        spectral.lpp(np.where(X > 1, np.inf, X), G, 2)


# -- classical MDS, kernel PCA, ISOMAP (R7) ------------------------------------

def _pca_scores(X, K):
    Xc = X - X.mean(0)
    U, s, _ = np.linalg.svd(Xc, full_matrices=False)
    return _sign_flip(U[:, :K]) * s[:K]


def _dist(X):
    return np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))


@pytest.mark.parametrize("K", [1, 2, 4])
def test_mds_of_euclidean_distances_is_pca(X, K):
    Y = spectral.classical_mds(torch.tensor(_dist(X)), K).numpy()
    assert_same_columns(Y, _pca_scores(X, K))
    Ysq = spectral.classical_mds(torch.tensor(_dist(X) ** 2), K, squared=True).numpy()
    assert_same_columns(Ysq, Y)
    with pytest.raises(AssertionError):
        assert_same_columns(1.01 * Y, _pca_scores(X, K))


def test_mds_matches_dense_eigh_and_accepts_cdist(X):
    D = _dist(X)
    B = -0.5 * _H(12) @ (D ** 2) @ _H(12)
    lam, U = np.linalg.eigh(B)
    lam, U = lam[::-1], U[:, ::-1]  # descending
    Y = spectral.classical_mds(torch.tensor(D), 3).numpy()
    assert_same_columns(Y, _sign_flip(U[:, :3]) * np.sqrt(lam[:3]))
    Xt = torch.tensor(np.random.default_rng(2).standard_normal((40, 3)))
    Yc = spectral.classical_mds(torch.cdist(Xt, Xt), 2)  # diagonal ~1e-8, asymmetric rounding
    assert_same_columns(Yc.numpy(), _pca_scores(Xt.numpy(), 2), tol=1e-8)


def test_mds_non_euclidean_warns_and_clamps():
    rng = np.random.default_rng(4)
    D = rng.random((8, 8))
    D = D + D.T
    np.fill_diagonal(D, 0)
    B = -0.5 * _H(8) @ (D ** 2) @ _H(8)
    n_neg = int((np.linalg.eigvalsh(B) < -1e-9).sum())
    assert n_neg > 0
    with pytest.warns(UserWarning, match="not Euclidean"):
        Y = spectral.classical_mds(torch.tensor(D), 7).numpy()
    # The clamped columns are 0. Not compared with == : the eigenvalue of the constant
    # vector is 0 only to rounding (+-1e-15 * scale), so its column may be sqrt(1e-15 * scale)
    # ~ 1e-7 * sqrt(scale) on one CPU and exactly 0 on another.
    eig = np.linalg.eigvalsh(B)
    scale = np.sqrt(np.abs(eig).max())
    assert np.abs(Y[:, 7 - n_neg:]).max() < 1e-6 * scale
    # Not clamping (sqrt of |lambda|) would give columns of size sqrt(|lambda_min|): caught.
    assert np.sqrt(-eig.min()) > 1e-3 * scale


@pytest.mark.parametrize("bad, match", [
    (np.ones((3, 4)), "square"),
    (np.array([[0, 1, 2], [1, 0, 1], [2.5, 1, 0]]), "symmetric"),
    (np.array([[0, -1, 2], [-1, 0, 1], [2, 1, 0.]]), "non-negative"),
    (np.array([[1, 1, 2], [1, 0, 1], [2, 1, 0.]]), "zero diagonal"),
    (np.array([[0, np.nan, 2], [np.nan, 0, 1], [2, 1, 0.]]), "finite"),
])
def test_mds_bad_input(bad, match):
    with pytest.raises(ValueError, match=match):
        spectral.classical_mds(bad, 1)


def test_mds_bad_K(X):
    with pytest.raises(ValueError, match=r"'K' parameter of classical_mds must be an int in the range \[1, 11\]"):
        spectral.classical_mds(_dist(X), 12)


@pytest.mark.parametrize("center", [True, False])
def test_kernel_pca_matches_dense_eigh(X, center):
    Kmat = np.exp(-_dist(X) ** 2 / 4)  # RBF kernel, positive definite
    A = _H(12) @ Kmat @ _H(12) if center else Kmat
    lam, U = np.linalg.eigh(A)
    lam, U = lam[::-1], U[:, ::-1]
    Y = spectral.kernel_pca(torch.tensor(Kmat), 3, center=center).numpy()
    assert_same_columns(Y, _sign_flip(U[:, :3]) * np.sqrt(lam[:3]))
    # linear kernel: kernel PCA = PCA = MDS
    Yl = spectral.kernel_pca(torch.tensor(X @ X.T), 2).numpy()
    assert_same_columns(Yl, _pca_scores(X, 2))


def test_kernel_pca_bad_input_and_non_psd():
    with pytest.raises(ValueError, match="symmetric"):
        spectral.kernel_pca(np.array([[1, 0.5], [0.2, 1]]), 1)
    with pytest.raises(ValueError, match=r"range \[1, 2\]"):
        spectral.kernel_pca(np.eye(2), 3)
    with pytest.warns(UserWarning, match="not Euclidean"):
        Y = spectral.kernel_pca(np.diag([3.0, 1.0, -2.0]), 3, center=False)
    np.testing.assert_array_equal(Y[:, 2].numpy(), 0)


def _isomap_reference(X, K, k):
    """Dense kNN graph + Floyd-Warshall + dense eigh of -1/2 H Delta H."""
    n = len(X)
    D = _dist(X)
    np.fill_diagonal(D, np.inf)
    nbr = np.argsort(D, axis=1, kind="stable")[:, :k]
    geo = np.full((n, n), np.inf)
    np.fill_diagonal(geo, 0)
    for i in range(n):
        geo[i, nbr[i]] = D[i, nbr[i]]
    geo = np.minimum(geo, geo.T)  # undirected
    for m in range(n):  # Floyd-Warshall
        geo = np.minimum(geo, geo[:, [m]] + geo[[m], :])
    B = -0.5 * _H(n) @ geo ** 2 @ _H(n)
    lam, U = np.linalg.eigh(B)
    lam, U = lam[::-1], U[:, ::-1]
    return _sign_flip(U[:, :K]) * np.sqrt(lam[:K])


def test_isomap_matches_floyd_warshall_reference():
    t = np.sort(np.random.default_rng(5).uniform(np.pi, 3 * np.pi, 60))
    X = np.c_[t * np.cos(t), t * np.sin(t)]  # a 2-D spiral, arms 2*pi apart
    Y = spectral.isomap(torch.tensor(X), 2, 6).numpy()
    assert_same_columns(Y, _isomap_reference(X, 2, 6))
    # the first ISOMAP coordinate follows the arc length (monotone in t)
    assert np.all(np.diff(Y[:, 0]) > 0) or np.all(np.diff(Y[:, 0]) < 0)


def test_isomap_complete_graph_is_mds(X):
    Y = spectral.isomap(torch.tensor(X), 3, 11).numpy()  # geodesic = Euclidean
    assert_same_columns(Y, _pca_scores(X, 3))


def test_isomap_disconnected_and_bad_arguments():
    rng = np.random.default_rng(6)
    X = np.vstack([rng.standard_normal((10, 2)), 100 + rng.standard_normal((10, 2))])
    with pytest.raises(ValueError, match="has 2 connected components.*Increase n_neighbors"):
        spectral.isomap(X, 2, 3)
    with pytest.raises(ValueError, match=r"'n_neighbors' parameter of isomap must be an int in the range \[1, 19\]"):
        spectral.isomap(X, 2, 20)
    with pytest.raises(ValueError, match=r"'K' parameter of isomap"):
        spectral.isomap(X, 0, 3)
    with pytest.raises(ValueError, match="2-d array"):
        spectral.isomap(X[:, 0], 1, 3)


# -- CCA (R8) -------------------------------------------------------------------

def _views(n=50, seed=7):
    rng = np.random.default_rng(seed)
    S = rng.standard_normal((n, 3))
    Xa = S @ rng.standard_normal((3, 4)) + 0.5 * rng.standard_normal((n, 4))
    Xb = S[:, :2] @ rng.standard_normal((2, 3)) + rng.standard_normal((n, 3))
    return Xa, Xb


def test_cca_matches_block_generalised_eigh():
    Xa, Xb = _views()
    n, da, db = len(Xa), Xa.shape[1], Xb.shape[1]
    Xa0, Xb0 = Xa - Xa.mean(0), Xb - Xb.mean(0)
    Saa, Sbb, Sab = Xa0.T @ Xa0 / n, Xb0.T @ Xb0 / n, Xa0.T @ Xb0 / n
    A = np.block([[np.zeros((da, da)), Sab], [Sab.T, np.zeros((db, db))]])
    B = sla.block_diag(Saa, Sbb)
    ev, V = sla.eigh(A, B)  # eigenvalues +-rho; the top 3 are the correlations
    K = 3
    Wa, Wb, rho = (t.numpy() for t in spectral.cca(torch.tensor(Xa), torch.tensor(Xb), K))
    np.testing.assert_allclose(rho, ev[::-1][:K], atol=1e-12)
    assert np.all(np.diff(rho) < 0)
    Vt = V[:, ::-1][:, :K] * np.sqrt(2)  # block-eigh normalises v^T B v = 1 over both halves
    s = np.sign(_sign_flip(Vt[:da])[0] / Vt[:da][0])
    assert_same_columns(Wa, Vt[:da] * s)
    assert_same_columns(Wb, Vt[da:] * s)
    np.testing.assert_allclose(Wa.T @ Saa @ Wa, np.eye(K), atol=1e-12)
    np.testing.assert_allclose(Wb.T @ Sbb @ Wb, np.eye(K), atol=1e-12)
    np.testing.assert_allclose(Wa.T @ Sab @ Wb, np.diag(rho), atol=1e-12)
    corr = [np.corrcoef(Xa @ Wa[:, k], Xb @ Wb[:, k])[0, 1] for k in range(K)]
    np.testing.assert_allclose(corr, rho, atol=1e-12)  # positive pairs
    idx = np.abs(Wa).argmax(0)
    assert np.all(Wa[idx, np.arange(K)] > 0)
    with pytest.raises(AssertionError):  # a pair with the wrong partner
        assert_same_columns(np.c_[Wb[:, 1], Wb[:, 0], Wb[:, 2]], Vt[da:] * s)


def test_cca_bad_input():
    Xa, Xb = _views()
    with pytest.raises(ValueError, match="same number of rows"):
        spectral.cca(Xa, Xb[:40], 2)
    with pytest.raises(ValueError, match=r"'K' parameter of cca must be an int in the range \[1, 3\]"):
        spectral.cca(Xa, Xb, 4)
    with pytest.raises(ValueError, match="Xa\\^T H Xa / N is rank-deficient"):
        spectral.cca(np.c_[Xa, Xa[:, 0] + Xa[:, 1]], Xb, 2)
    with pytest.raises(ValueError, match="Xb\\^T H Xb / N is rank-deficient"):
        spectral.cca(Xa, np.c_[Xb, np.full(len(Xb), 3.0)], 2)


# -- LDA (R16) ------------------------------------------------------------------

def _classes(seed=8):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(4), [15, 20, 25, 30])
    means = 3 * rng.standard_normal((4, 5))
    X = means[y] + rng.standard_normal((len(y), 5)) @ rng.standard_normal((5, 5))
    return X, y


def test_lda_matches_generalised_eigh():
    X, y = _classes()
    n = len(y)
    m = X.mean(0)
    Sw = sum((X[y == c] - X[y == c].mean(0)).T @ (X[y == c] - X[y == c].mean(0)) for c in range(4)) / n
    Sb = sum((y == c).sum() * np.outer(X[y == c].mean(0) - m, X[y == c].mean(0) - m) for c in range(4)) / n
    ev, V = sla.eigh(Sb, Sw)
    V = V[:, ::-1]
    for K in (1, 3):
        W = spectral.lda(torch.tensor(X), torch.tensor(y), K).numpy()
        assert_same_columns(W, _sign_flip(V[:, :K]))
        np.testing.assert_allclose(W.T @ Sw @ W, np.eye(K), atol=1e-12)
        np.testing.assert_allclose(np.diag(W.T @ Sb @ W), ev[::-1][:K], atol=1e-12)
    # string labels work too
    W = spectral.lda(X, np.array(list("abcd"))[y], 2).numpy()
    assert_same_columns(W, _sign_flip(V[:, :2]))


def test_lda_bad_input():
    X, y = _classes()
    with pytest.raises(ValueError, match=r"'K' parameter of lda must be an int in the range \[1, 3\]"):
        spectral.lda(X, y, 4)
    with pytest.raises(ValueError, match="S_w is rank-deficient"):
        spectral.lda(np.c_[X, X[:, 0]], y, 2)
    with pytest.raises(ValueError, match="at least 2 classes"):
        spectral.lda(X, np.zeros(len(y)), 1)
    with pytest.raises(ValueError, match="one label per row"):
        spectral.lda(X, y[:-1], 1)


# -- landmark ISOMAP ------------------------------------------------------------------

def _gram_rel(A, B):
    A = A - A.mean(axis=0)
    B = B - B.mean(axis=0)
    return np.linalg.norm(A @ A.T - B @ B.T) / np.linalg.norm(B @ B.T)


def test_landmark_isomap_exact_when_geodesics_are_euclidean():
    # complete graph: geodesic = Euclidean distance of 3-D points; K + 1 = 4 landmarks
    # in general position span them affinely, so triangulation is exact
    X3 = np.random.default_rng(2).standard_normal((15, 3))
    Y = spectral.isomap(torch.tensor(X3), 3, 14, n_landmarks=4).numpy()
    assert _gram_rel(Y, _pca_scores(X3, 3)) < 1e-10
    # 4-D points embedded in K = 3: no longer exact (the fourth direction is dropped
    # from the landmarks' frame differently than from the full one)
    X4 = np.random.default_rng(2).standard_normal((15, 4))
    Y4 = spectral.isomap(torch.tensor(X4), 3, 14, n_landmarks=4).numpy()
    assert _gram_rel(Y4, _pca_scores(X4, 3)) > 1e-3


def test_landmark_isomap_every_point_a_landmark_is_full_isomap():
    # m = N: the triangulation of a landmark returns its own MDS coordinates
    from sklearn.datasets import make_swiss_roll
    Xs, _ = make_swiss_roll(200, noise=0.05, random_state=1)
    full = spectral.isomap(torch.tensor(Xs), 2, 8).numpy()
    land = spectral.isomap(torch.tensor(Xs), 2, 8, n_landmarks=200).numpy()
    assert _gram_rel(land, full) < 1e-9
    # fewer landmarks: close to full ISOMAP on the roll, not equal (an approximation)
    few = spectral.isomap(torch.tensor(Xs), 2, 8, n_landmarks=30).numpy()
    assert 1e-6 < _gram_rel(few, full) < 0.2


def test_landmark_isomap_bad_arguments():
    rng = np.random.default_rng(6)
    X = np.vstack([rng.standard_normal((10, 2)), 100 + rng.standard_normal((10, 2))])
    with pytest.raises(ValueError, match="has 2 connected components.*Increase n_neighbors"):
        spectral.isomap(X, 2, 3, n_landmarks=5)
    Xc = rng.standard_normal((20, 3))
    with pytest.raises(ValueError, match=r"'n_landmarks' parameter of isomap must be an int "
                                         r"in the range \[3, 20\]"):
        spectral.isomap(Xc, 2, 5, n_landmarks=2)
    with pytest.raises(ValueError, match=r"'n_landmarks' parameter of isomap"):
        spectral.isomap(Xc, 2, 5, n_landmarks=21)
    # three collinear points cannot span two dimensions
    line = np.c_[np.arange(20.0), np.zeros(20), np.zeros(20)]
    with pytest.raises(ValueError, match=r"landmarks span fewer than K=2 dimensions"):
        spectral.isomap(line, 2, 2, n_landmarks=3)


def test_whitened_cross_covariance_gives_the_canonical_correlations():
    # Its singular values are cca's correlations (sample covariances), and it is
    # Saa^-1/2 Sab Sbb^-1/2 with SciPy's matrix square root.
    Xa, Xb = _views()
    n = len(Xa)
    Xa0, Xb0 = Xa - Xa.mean(0), Xb - Xb.mean(0)
    Saa, Sbb, Sab = Xa0.T @ Xa0 / n, Xb0.T @ Xb0 / n, Xa0.T @ Xb0 / n
    T = spectral.whitened_cross_covariance(Saa, Sab, Sbb).numpy()
    ref = np.linalg.inv(sla.sqrtm(Saa)) @ Sab @ np.linalg.inv(sla.sqrtm(Sbb))
    np.testing.assert_allclose(T, ref.real, atol=1e-12)
    rho = spectral.cca(torch.tensor(Xa), torch.tensor(Xb), 3)[2].numpy()
    np.testing.assert_allclose(np.linalg.svd(T, compute_uv=False), rho, atol=1e-12)


def test_whitened_cross_covariance_bad_input():
    S, C = np.eye(3), np.ones((3, 2))
    with pytest.raises(ValueError, match=r"S_ab has shape \(3, 2\).*need \(3, 3\)"):
        spectral.whitened_cross_covariance(S, C, S)
    with pytest.raises(ValueError, match="S_bb must be square"):
        spectral.whitened_cross_covariance(S, C, np.ones((2, 3)))
    with pytest.raises(ValueError, match="S_aa must be symmetric"):
        spectral.whitened_cross_covariance(np.triu(np.ones((3, 3))) + np.eye(3), C,
                                           np.eye(2))
    with pytest.raises(ValueError, match="S_aa is rank-deficient"):
        spectral.whitened_cross_covariance(np.ones((3, 3)), C, np.eye(2))
    with pytest.raises(ValueError, match="finite|NaN"):
        spectral.whitened_cross_covariance(S, np.full((3, 2), np.nan), np.eye(2))
