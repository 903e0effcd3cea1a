"""Sparse graphs and the solver seam of :mod:`sslspec_lib._linalg`.

* a ``scipy.sparse`` (or torch sparse) G is accepted wherever a graph goes in,
  and validated as strictly as a dense one (bad inputs: tests/test_validation.py);
* a small sparse G is densified and gives the dense result bit for bit;
* the Krylov path (forced on small problems by lowering ``SPARSE_MIN_N``)
  agrees with the dense path to a tolerance derived from the eigengaps, keeps
  the order, sign and tie-warning conventions, is deterministic, and falls back
  to LOBPCG (then raises clearly) when ARPACK fails.
"""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

from sslspec_lib import _linalg, closed_form, graphs, losses, metrics, spectral

F64 = torch.float64
# Required of every Krylov solve: ||R||_F / gap <= SUBSPACE_RTOL (1e-9).  A
# column is then within about SUBSPACE_RTOL * (cut gap / adjacent gap) of the
# dense one, and the dense one within 1e-13 / gap of the truth; the test
# graphs have adjacent relative gaps > 1e-3 (asserted), so 1e-6 leaves a
# margin of more than 10 over what is measured (printed by -s: ~1e-11).
TOL = 1e-6


def weighted_sparse(n, seed, k=8):
    """A connected weighted kNN graph of random points in 3-D, as CSR."""
    rng = np.random.default_rng(seed)
    X = torch.tensor(rng.standard_normal((n, 3)))
    A = graphs.knn_graph(X, k, sparse=True)
    A = A.multiply(sp.csr_matrix(np.exp(-rng.random((n, n))))).tocsr()
    A = A.maximum(A.T).tocsr()
    assert int(graphs.components(A).max()) == 0
    return A


@pytest.fixture
def krylov(monkeypatch):
    """Send every sparse problem of 20 rows or more to the Krylov path."""
    monkeypatch.setattr(_linalg, "SPARSE_MIN_N", 20)


def dense(A):
    return torch.tensor(A.toarray())


def rel_gaps(lam, K):
    lam = np.sort(np.asarray(lam))[:K + 1]
    return np.diff(lam) / max(1.0, abs(lam).max())


def assert_columns_close(Z, Zd):
    err = float((Z - Zd).abs().max() / Zd.abs().max())
    print(f"max relative column error {err:.2e}")
    assert err < TOL


# -- graphs ---------------------------------------------------------------------------

def test_knn_graph_sparse_equals_dense_random_and_digits():
    from sklearn.datasets import load_digits
    X = torch.tensor(np.random.default_rng(0).standard_normal((300, 4)))
    Xd = torch.tensor(load_digits().data[:400] / 16.0)  # grid values: many exact ties
    for data, k in ((X, 1), (X, 7), (Xd, 5), (Xd, 10)):
        G = graphs.knn_graph(data, k, sparse=True)
        assert sp.issparse(G) and G.dtype == np.float64
        assert torch.equal(dense(G), graphs.knn_graph(data, k))


def test_knn_graph_sparse_breaks_ties_by_index():
    X = torch.tensor([[0.0], [1.0], [2.0], [2.5]], dtype=F64)
    assert torch.equal(dense(graphs.knn_graph(X, 1, sparse=True)), graphs.knn_graph(X, 1))
    # Many exact ties beyond the candidate margin (points on a ring of equal spacing
    # seen from the centre is not needed: duplicates do it): 30 copies of one point.
    Xdup = torch.cat([torch.zeros(30, 2, dtype=F64), torch.ones(5, 2, dtype=F64)])
    assert torch.equal(dense(graphs.knn_graph(Xdup, 3, sparse=True)),
                       graphs.knn_graph(Xdup, 3))


def test_knn_graph_sparse_brute_force_path_is_exact():
    # d > 5 takes scikit-learn's brute-force search (matrix-product distances):
    # far from the origin its rounding is largest, and a lattice has exact ties
    # at every distance, beyond the candidate margin too.
    rng = np.random.default_rng(1)
    lattice = torch.tensor(rng.integers(0, 3, size=(400, 6)), dtype=F64)
    shifted = lattice + 1e4  # |x|^2 ~ 6e8: the product form loses 8 digits
    near = torch.tensor(rng.standard_normal((300, 8)), dtype=F64) * 1e-3 + 50.0
    dup = torch.cat([torch.zeros(30, 7, dtype=F64), torch.ones(5, 7, dtype=F64)])
    # A point whose 60 neighbours lie at distances 1 to 1 + 3e-8, far from the
    # origin: the product form's error (~5e-8 on a distance) reorders them, and
    # without the rounding-aware redo a true nearest neighbour is missed.
    dirs = rng.standard_normal((60, 6))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    shell = np.vstack([np.zeros(6), dirs * (1 + rng.uniform(0, 3e-8, 60))[:, None]])
    shell = torch.tensor(shell + 1e4, dtype=F64)
    for data, k in ((lattice, 5), (shifted, 5), (shifted, 20), (near, 6), (dup, 3),
                    (shell, 5)):
        assert torch.equal(dense(graphs.knn_graph(data, k, sparse=True)),
                           graphs.knn_graph(data, k)), (data.shape, k)


def test_graph_helpers_sparse_equal_dense():
    A = weighted_sparse(60, 1)
    Ad = dense(A)
    # Row sums are added in another order: equal up to rounding of the degrees.
    close = dict(rtol=0, atol=1e-13)
    torch.testing.assert_close(dense(graphs.laplacian(A)), graphs.laplacian(Ad), **close)
    torch.testing.assert_close(dense(graphs.laplacian(A, normalized=True)),
                               graphs.laplacian(Ad, normalized=True), **close)
    torch.testing.assert_close(dense(graphs.degree(A)), graphs.degree(Ad), **close)
    assert torch.equal(graphs.components(A), graphs.components(Ad))
    assert sp.issparse(graphs.validate_graph(A))
    aug = graphs.augmentation_graph(5, 3, sparse=True)
    assert torch.equal(dense(aug), graphs.augmentation_graph(5, 3))
    # torch sparse input is accepted too
    torch.testing.assert_close(dense(graphs.laplacian(Ad.to_sparse())),
                               graphs.laplacian(Ad), **close)


def test_components_numbered_by_first_row():
    G = sp.csr_matrix(np.array([[0, 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0.]]))
    assert graphs.components(G).tolist() == [0, 1, 1, 0]


def test_losses_accept_sparse_graph():
    A = weighted_sparse(50, 2)
    Z = torch.tensor(np.random.default_rng(3).standard_normal((50, 3)), requires_grad=True)
    for f in (losses.invariance, losses.spectral_contrastive):
        a, b = f(Z, A), f(Z, dense(A))
        torch.testing.assert_close(a, b, rtol=1e-12, atol=0)
    torch.testing.assert_close(losses.vicreg(Z, A, 0.3), losses.vicreg(Z, dense(A), 0.3),
                               rtol=1e-12, atol=0)
    torch.testing.assert_close(losses.invariance(Z, A, method="pairwise"),
                               losses.invariance(Z, dense(A)), rtol=1e-12, atol=0)
    losses.vicreg(Z, A, 0.3).backward()  # differentiable through the sparse product
    assert Z.grad is not None and bool(torch.isfinite(Z.grad).all())


# -- small sparse inputs take the dense path, bit for bit --------------------------------

def test_small_sparse_is_dense_bit_for_bit():
    A = weighted_sparse(80, 4)
    Ad = dense(A)
    pairs = [
        (spectral.laplacian_eigenmaps, (3,), {}),
        (spectral.laplacian_eigenmaps, (3,), {"constraint": "covariance"}),
        (closed_form.vicreg_optimum, (4, 0.05), {}),
        (closed_form.vicreg_constrained_optimum, (4,), {}),
        (closed_form.vicreg_hinge_optimum, (4, 0.3), {}),
        (closed_form.spectral_contrastive_optimum, (3,), {}),
    ]
    for f, args, kw in pairs:
        assert torch.equal(f(A, *args, **kw), f(Ad, *args, **kw)), f.__name__
        assert _linalg.LAST_SOLVER == "dense"


# -- the Krylov path agrees with the dense one --------------------------------------------

@pytest.mark.parametrize("constraint", ["degree", "covariance"])
def test_laplacian_eigenmaps_krylov_matches_dense(krylov, constraint):
    A = weighted_sparse(400, 5)
    K = 4
    Z = spectral.laplacian_eigenmaps(A, K, constraint=constraint)
    assert _linalg.LAST_SOLVER in ("arpack", "arpack-retry")
    Zd = spectral.laplacian_eigenmaps(dense(A), K, constraint=constraint)
    L = graphs.laplacian(dense(A), normalized=constraint == "degree")
    assert rel_gaps(torch.linalg.eigvalsh(L), K + 1).min() > 1e-3
    assert_columns_close(Z, Zd)


def test_vicreg_family_krylov_matches_dense(krylov):
    A = weighted_sparse(400, 6)
    Ad = dense(A)
    assert rel_gaps(torch.linalg.eigvalsh(graphs.laplacian(Ad)), 6).min() > 1e-2
    Z, det = closed_form.vicreg_optimum(A, 5, 0.02, return_details=True)
    Zd, detd = closed_form.vicreg_optimum(Ad, 5, 0.02, return_details=True)
    assert_columns_close(Z, Zd)
    torch.testing.assert_close(det.eigenvalues, detd.eigenvalues, rtol=1e-10, atol=1e-12)
    assert abs(det.loss - detd.loss) < 1e-10 * max(1.0, abs(detd.loss))
    assert_columns_close(closed_form.vicreg_constrained_optimum(A, 5),
                         closed_form.vicreg_constrained_optimum(Ad, 5))
    assert_columns_close(closed_form.vicreg_hinge_optimum(A, 5, 0.3),
                         closed_form.vicreg_hinge_optimum(Ad, 5, 0.3))


@pytest.mark.parametrize("normalized", [False, True])
def test_spectral_contrastive_krylov_matches_dense(krylov, normalized):
    A = weighted_sparse(400, 7)
    Z = closed_form.spectral_contrastive_optimum(A, 3, normalized=normalized)
    assert _linalg.LAST_SOLVER in ("arpack", "arpack-retry")
    Zd = closed_form.spectral_contrastive_optimum(dense(A), 3, normalized=normalized)
    assert_columns_close(Z, Zd)


def test_barlow_twins_krylov_same_subspace(krylov):
    A = graphs.augmentation_graph(60, 2, sparse=True)  # eigenvalue 1 has multiplicity 59
    with pytest.warns(UserWarning, match=r"multiplicity >= 5 > K=4"):
        Z = closed_form.barlow_twins_optimum(A, 4)
    # Any K orthonormal directions of the (degenerate) top eigenspace are optimal:
    # check that Z lies in it (the centred group indicators) rather than equality.
    Gbar = dense(A) * A.shape[0] / A.sum()
    Zc = Z - Z.mean(dim=0)
    torch.testing.assert_close(Gbar @ Zc, Zc, rtol=0, atol=1e-8 * float(Zc.abs().max()))
    torch.testing.assert_close(Z.T @ Z / Z.shape[0], torch.eye(4, dtype=F64),
                               rtol=0, atol=1e-10)


def test_linear_closed_forms_accept_sparse():
    A = weighted_sparse(90, 8)
    X = torch.tensor(np.random.default_rng(9).standard_normal((90, 4)))
    for f, args in ((closed_form.vicreg_linear_optimum, (2, 0.2)),
                    (closed_form.spectral_contrastive_linear_optimum, (2,)),
                    (closed_form.barlow_twins_linear_optimum, (2,)),
                    (spectral.lpp, (2,))):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            W, Wd = f(X, A, *args), f(X, dense(A), *args)
        torch.testing.assert_close(W, Wd, rtol=1e-10, atol=1e-12)


def test_krylov_is_deterministic_and_ties_warn(krylov):
    A = weighted_sparse(300, 10)
    Z1 = spectral.laplacian_eigenmaps(A, 3)
    assert torch.equal(Z1, spectral.laplacian_eigenmaps(A, 3))
    # Two identical disconnected copies: every eigenvalue is double, so the cut ties.
    B = sp.block_diag([A, A], format="csr")
    with pytest.warns(UserWarning, match="laplacian_eigenmaps: the optimum is not unique"):
        spectral.laplacian_eigenmaps(B, 2)
    with pytest.warns(UserWarning, match="vicreg_optimum: the optimum is not unique"):
        closed_form.vicreg_optimum(B, 2, 0.01)


# -- fallback and failure ----------------------------------------------------------------

def test_arpack_failure_falls_back_to_lobpcg(krylov, monkeypatch):
    A = weighted_sparse(400, 11)
    Zd = spectral.laplacian_eigenmaps(dense(A), 3)

    def broken(*a, **k):
        raise spla.ArpackNoConvergence("no convergence (test)", np.zeros(0), np.zeros((0, 0)))

    monkeypatch.setattr(spla, "eigsh", broken)
    Z = spectral.laplacian_eigenmaps(A, 3)
    assert _linalg.LAST_SOLVER == "lobpcg"
    assert_columns_close(Z, Zd)


def test_every_solver_failing_raises_clearly(krylov, monkeypatch):
    A = weighted_sparse(400, 12)

    def broken(*a, **k):
        raise spla.ArpackNoConvergence("no convergence (test)", np.zeros(0), np.zeros((0, 0)))

    def bad_lobpcg(op, X, **k):
        return np.ones(X.shape[1]), X  # a wrong answer: the residual check must catch it

    monkeypatch.setattr(spla, "eigsh", broken)
    monkeypatch.setattr(spla, "lobpcg", bad_lobpcg)
    with pytest.raises(RuntimeError, match=r"vicreg_optimum: the sparse eigen-solver did "
                                           r"not converge for the 4 extreme eigenpairs"):
        closed_form.vicreg_optimum(A, 3, 0.1)


def test_subspace_gap_against_tight_reference(krylov):
    # The Krylov subspace is within the required bound of a dense reference.
    A = weighted_sparse(500, 13)
    Z = spectral.laplacian_eigenmaps(A, 6)
    Zd = spectral.laplacian_eigenmaps(dense(A), 6)
    gap = metrics.subspace_gap(Z, Zd)
    print(f"subspace gap {gap:.2e}")
    assert gap < TOL


# -- augmentation graphs by structure ----------------------------------------------------

@pytest.mark.parametrize("permute", [False, True])
def test_clique_graphs_solved_by_structure(krylov, permute):
    n_groups, V = 12, 3
    A = graphs.augmentation_graph(n_groups, V, sparse=True)
    if permute:  # any row order: a random relabelling of the rows
        p = np.random.default_rng(0).permutation(A.shape[0])
        A = A[p][:, p].tocsr()
    Ad = dense(A)
    K = n_groups - 1  # the whole null space of L on 1-perp: a unique subspace
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = [
            (lambda G: closed_form.vicreg_optimum(G, K, 0.1, return_details=True), True),
            (lambda G: closed_form.vicreg_constrained_optimum(G, K, return_details=True),
             True),
            (lambda G: closed_form.spectral_contrastive_optimum(G, n_groups,
                                                                return_details=True),
             False),
            (lambda G: closed_form.barlow_twins_optimum(G, K, return_details=True), True),
        ]
        for f, centre in cases:
            Z, det = f(A)
            assert _linalg.LAST_SOLVER == "structured"
            Zd, detd = f(Ad)
            torch.testing.assert_close(det.eigenvalues, detd.eigenvalues,
                                       rtol=0, atol=1e-12)
            assert metrics.subspace_gap(Z, Zd) < TOL
            torch.testing.assert_close(Z.T @ Z, Zd.T @ Zd, rtol=1e-12, atol=1e-10)
        # Laplacian Eigenmaps with K beyond the null space: contrasts (eigenvalue
        # V / (V - 1)) come next; compare the eigenvalues and the D-orthonormality.
        Z = spectral.laplacian_eigenmaps(A, n_groups + 2)
        Zd = spectral.laplacian_eigenmaps(Ad, n_groups + 2)
        assert metrics.subspace_gap(Z[:, :K], Zd[:, :K]) < TOL
        deg = graphs.degree(Ad)
        torch.testing.assert_close(Z.T @ deg @ Z, torch.eye(n_groups + 2, dtype=F64),
                                   rtol=0, atol=1e-12)
        L = graphs.laplacian(Ad)
        torch.testing.assert_close(torch.diag(Z.T @ L @ Z), torch.diag(Zd.T @ L @ Zd),
                                   rtol=0, atol=1e-12)


def test_clique_graph_at_a_million_rows():
    A = graphs.augmentation_graph(500_000, 2, sparse=True)
    with pytest.warns(UserWarning, match="the tie is at 0"):  # K < N' - 1
        Z, det = closed_form.vicreg_optimum(A, 8, 0.1, return_details=True)
    assert _linalg.LAST_SOLVER == "structured"
    assert Z.shape == (10 ** 6, 8) and not bool(det.eigenvalues.any())  # exact zeros
    # C(Z) = I: centred, orthonormal columns scaled by sqrt(N)
    torch.testing.assert_close(Z.T @ Z / Z.shape[0], torch.eye(8, dtype=F64),
                               rtol=0, atol=1e-10)


# -- the next eigenvalue (tie check) comes from a cheap deflated solve -------------------

@pytest.mark.parametrize("solve", ["laplacian_bottom", "generalized_laplacian_bottom"])
def test_next_eigenvalue_decides_the_tie_as_the_dense_path(krylov, solve):
    # Only the K kept pairs are solved for tightly; lambda_{K+1} comes from a
    # short Lanczos run on the deflated operator when it is clearly apart from
    # lambda_K (its residual r at most 1/20 of its distance to lambda_K, so the
    # estimate is within r, a twentieth of the gap, of the truth), else from a
    # tight solve.  Asserted: within a
    # hundredth of the gap (the bound / 5; measured ~4e-5 of it, printed by -s).
    A = weighted_sparse(400, 14)
    f = getattr(_linalg, solve)
    K = 5
    lam, _ = f(A, K, "test")
    lamd, _ = f(dense(A), K, "test")
    assert lam.numel() == K + 1
    scale = 2.0 if solve.startswith("gen") else 2.0 * float(A.sum(axis=1).max())
    torch.testing.assert_close(lam[:K], lamd[:K], rtol=0, atol=1e-10 * scale)
    err = abs(float(lam[K] - lamd[K]))
    gap = float(lamd[K] - lamd[K - 1])
    print(f"next eigenvalue error {err:.2e}, gap {gap:.2e}")
    assert err <= 1e-2 * gap
    # Two identical components: every eigenvalue of L on 1-perp past the first is
    # double.  The cut ties for even K and not for odd K, as on the dense path.
    B = sp.block_diag([A, A], format="csr")
    for K in (1, 2, 3, 4):
        lam, _ = f(B, K, "test")
        lamd, _ = f(dense(B), K, "test")
        tol = 1e-9 * max(1.0, float(lamd[K].abs()))
        tie_d = abs(float(lamd[K] - lamd[K - 1])) <= tol
        tie = abs(float(lam[K] - lam[K - 1])) <= tol
        assert tie == tie_d == (K % 2 == 0)
        if tie_d:  # then the next eigenvalue was computed tightly
            assert abs(float(lam[K] - lamd[K])) <= 1e-8 * scale


def test_simclr_optimum_sparse_by_structure_equals_dense():
    # The top eigenspace of S is degenerate, so the bases differ; the Gram matrix,
    # the spectrum of Z^T Z, the eigenvalues and the minimum do not.
    for n_s, V, K in ((4, 3, 3), (4, 3, 6), (6, 2, 8), (3, 5, 2)):
        Zd, dd = closed_form.simclr_optimum(graphs.augmentation_graph(n_s, V), K, tau=0.5,
                                            return_details=True)
        Zs, ds = closed_form.simclr_optimum(graphs.augmentation_graph(n_s, V, sparse=True),
                                            K, tau=0.5, return_details=True)
        assert _linalg.LAST_SOLVER == "structured"
        torch.testing.assert_close(Zs @ Zs.T, Zd @ Zd.T, rtol=0, atol=1e-12)
        torch.testing.assert_close(ds.c, dd.c, rtol=0, atol=1e-12)
        torch.testing.assert_close(ds.eigenvalues, dd.eigenvalues, rtol=0, atol=1e-12)
        assert ds.loss == pytest.approx(dd.loss, rel=1e-13)
    # Rows in another order: the same Gram matrix, permuted.
    perm = torch.randperm(12, generator=torch.Generator().manual_seed(0))
    G = graphs.augmentation_graph(4, 3)[perm][:, perm]
    Zd = closed_form.simclr_optimum(G, 3)
    Zs = closed_form.simclr_optimum(sp.csr_matrix(G.numpy()), 3)
    torch.testing.assert_close(Zs @ Zs.T, Zd @ Zd.T, rtol=0, atol=1e-12)


def test_simclr_optimum_sparse_below_simplex_warns():
    with pytest.warns(UserWarning, match=r"K=2 < N'-1=4: the groups cannot sit on a regular"):
        Z = closed_form.simclr_optimum(graphs.augmentation_graph(5, 2, sparse=True), 2)
    torch.testing.assert_close(Z.norm(dim=1), torch.ones(10, dtype=F64))


def test_simclr_optimum_sparse_never_forms_S():
    # 200,000 rows: S would take 320 GB; by structure it is O(N K).
    G = graphs.augmentation_graph(100_000, 2, sparse=True)
    with pytest.warns(UserWarning, match=r"no closed form is known"):
        Z = closed_form.simclr_optimum(G, 3)
    assert Z.shape == (200_000, 3) and _linalg.LAST_SOLVER == "structured"
    torch.testing.assert_close(Z[0::2], Z[1::2], rtol=0, atol=0)  # views of a group agree
