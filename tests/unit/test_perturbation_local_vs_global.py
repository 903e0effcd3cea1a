"""The checks of the local-vs-global chapter reject perturbed closed forms.

Each test builds the quantity that ``chapters/part1_spectral/local_vs_global.ipynb``
checks, with the tolerance derived the same way as in the chapter, and shows that
the correct closed form passes while a wrong one fails:

* R5: the Hessian of tr(Z^T L Z) is 2 L (x) I to rounding; a missing factor 2, the
  wrong variable order, the adjacency in place of the Laplacian or a graph with one
  edge dropped are rejected.
* R7: dB/dDelta_kl of B = -1/2 H Delta H matches the formula to rounding, with no
  zero entry; a missing 1/2, a missing or one-sided centring are rejected.
* R7: classical MDS of 2-d points in K = 2 has stress at rounding and keeps every
  neighbourhood; a wrong eigenvector, eigenvalues not square-rooted or one axis
  rescaled by 1e-6 are rejected.
* R7: the stress threshold of the ISOMAP sweep accepts an unrolled roll and rejects
  a folded one (a short-circuited graph, Euclidean MDS, Laplacian Eigenmaps) and
  the wrong intrinsic coordinates (t in place of the arc length s(t)).
"""
import pytest
import torch
from sklearn.manifold import trustworthiness

from sslspec_lib import bounds, data, graphs, metrics, spectral
from sslspec_lib.device import generator

F64 = torch.float64
THR = 0.15  # the chapter's stress threshold between "unrolled" and "folded"


def _cdist(A):
    return torch.cdist(A, A, compute_mode="donot_use_mm_for_euclid_dist")


# -- R5: the Hessian of the Laplacian objective ---------------------------------------

def _laplacian_hessian():
    X, _ = data.digits(80, seed=0)
    G = graphs.knn_graph(X, 10)
    L = graphs.laplacian(G)
    n = X.shape[0]
    Z0 = torch.randn(n, 2, generator=generator(1), dtype=F64)
    hess = torch.autograd.functional.hessian(lambda Z: torch.trace(Z.T @ L @ Z), Z0,
                                             vectorize=True).reshape(2 * n, 2 * n)
    tol = bounds.rounding(float(L.abs().max()), n, factor=10)
    return G, L, hess, tol


@pytest.mark.parametrize("wrong", ["factor 1", "variable order", "adjacency",
                                   "one edge dropped"])
def test_r5_hessian_rule_rejects_a_wrong_coupling(wrong):
    G, L, hess, tol = _laplacian_hessian()
    eye2 = torch.eye(2, dtype=F64)
    assert float((hess - 2 * torch.kron(L, eye2)).abs().max()) < tol
    if wrong == "factor 1":
        ref = torch.kron(L, eye2)
    elif wrong == "variable order":
        ref = 2 * torch.kron(eye2, L)
    elif wrong == "adjacency":
        ref = -2 * torch.kron(G, eye2)
    else:
        i, j = (int(v) for v in torch.nonzero(G.triu(1))[0])
        G2 = G.clone()
        G2[i, j] = G2[j, i] = 0.0
        ref = 2 * torch.kron(graphs.laplacian(G2), eye2)
    assert float((hess - ref).abs().max()) > tol


# -- R7: every entry of B depends on every squared distance --------------------------

def _dB_setup():
    n, kk, ll = 30, 3, 17
    X = torch.randn(n, 4, generator=generator(2), dtype=F64)
    Delta = _cdist(X) ** 2
    E = torch.zeros_like(Delta)
    E[kk, ll] = E[ll, kk] = 1.0
    center = lambda M: -0.5 * (M - M.mean(dim=0, keepdim=True)
                               - M.mean(dim=1, keepdim=True) + M.mean())
    _, dB = torch.func.jvp(center, (Delta,), (E,))
    return n, kk, ll, dB


@pytest.mark.parametrize("wrong", ["no 1/2", "uncentred", "centred on one side",
                                   "1/(N-1) centring"])
def test_r7_dB_rule_rejects_a_wrong_formula(wrong):
    n, kk, ll, dB = _dB_setup()
    tol = bounds.rounding(1.0, n, factor=10)
    floor = 0.05 / n ** 2
    Hn = torch.eye(n, dtype=F64) - 1.0 / n
    formula = lambda H: -0.5 * (torch.outer(H[:, kk], H[:, ll])
                                + torch.outer(H[:, ll], H[:, kk]))
    assert float((dB - formula(Hn)).abs().max()) < tol
    assert float(dB.abs().min()) > floor
    if wrong == "no 1/2":
        ref = 2 * formula(Hn)
    elif wrong == "uncentred":
        ref = formula(torch.eye(n, dtype=F64))
        # the uncentred change is zero off the pair: also caught by the floor
        assert float(ref.abs().min()) < floor
    elif wrong == "centred on one side":
        I = torch.eye(n, dtype=F64)
        ref = -0.5 * (torch.outer(Hn[:, kk], I[:, ll]) + torch.outer(Hn[:, ll], I[:, kk]))
    else:
        ref = formula(torch.eye(n, dtype=F64) - 1.0 / (n - 1))
    assert float((dB - ref).abs().max()) > tol


# -- R7: MDS of K-dimensional points keeps every distance and neighbourhood ----------

@pytest.mark.parametrize("wrong", ["next eigenvector", "eigenvalue not square-rooted",
                                   "one axis scaled by 1 + 1e-6"])
def test_r7_exact_mds_rules_reject_a_wrong_embedding(wrong):
    X, _ = data.two_moons(300, noise=0.05, seed=3)
    n, k_t = X.shape[0], 10
    D = _cdist(X)
    tol_stress = bounds.rounding(1.0, n, factor=100)
    one_intruder = 2.0 / (n * k_t * (2 * n - 3 * k_t - 1))
    Y = spectral.classical_mds(D, 2)
    assert metrics.normalized_stress(D, Y) < tol_stress
    assert 1 - trustworthiness(X.numpy(), Y.numpy(), n_neighbors=k_t) < one_intruder / 2
    H = graphs.centering(n)
    beta, U = torch.linalg.eigh(-0.5 * H @ D ** 2 @ H)
    beta, U = beta.flip(0), U.flip(1)
    if wrong == "next eigenvector":
        Z = U[:, 1:3] * beta[1:3].clamp(min=0).sqrt()
        assert 1 - trustworthiness(X.numpy(), Z.numpy(), n_neighbors=k_t) > one_intruder / 2
    elif wrong == "eigenvalue not square-rooted":
        Z = U[:, :2] * beta[:2]
    else:
        Z = Y * torch.tensor([1.0, 1 + 1e-6], dtype=F64)
    assert metrics.normalized_stress(D, Z) > tol_stress


# -- R7: the stress threshold of the ISOMAP sweep ------------------------------------

def test_r7_unrolled_threshold_separates_unrolled_from_folded():
    X, t, h = data.swiss_roll_grid(30, 20, seed=4)
    psi = torch.stack([data.swiss_roll_arc_length(t), h], 1)
    D_intr = _cdist(psi)
    unrolled = metrics.normalized_stress(D_intr, spectral.isomap(X, 2, 6))
    assert unrolled < THR
    # Folded embeddings: a short-circuited graph, Euclidean MDS, Laplacian Eigenmaps.
    assert metrics.normalized_stress(D_intr, spectral.isomap(X, 2, 15)) > THR
    assert metrics.normalized_stress(D_intr, spectral.classical_mds(_cdist(X), 2)) > THR
    le = spectral.laplacian_eigenmaps(graphs.knn_graph(X, 6), 2)
    assert metrics.normalized_stress(D_intr, le) > THR
    # The angle t in place of the arc length s(t) is not an intrinsic coordinate.
    wrong = _cdist(torch.stack([t, h], 1))
    assert metrics.normalized_stress(wrong, spectral.isomap(X, 2, 6)) > THR
