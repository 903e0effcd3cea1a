"""Unit tests of :mod:`sslspec_lib.closed_form`: every closed form is a minimiser of its loss.

For each closed form the same check is run three ways:

1. ``check_optimum``: the gradient of the *real* loss from
   :mod:`sslspec_lib.losses` (torch.autograd, float64) vanishes at the closed
   form, and no competitor reaches a lower loss (random points at several
   scales, small random perturbations of the optimum, and a ``train.*`` run
   of L-BFGS from a random start);
2. against an independent dense eigen-decomposition (NumPy/SciPy), compared
   through rotation- and sign-free quantities (Gram matrices, subspaces);
3. on perturbed closed forms (the next eigenvector swapped in, a wrong
   scale, a rotation out of the kept subspace), where ``check_optimum`` must
   FAIL: a check that cannot fail proves nothing.

``Details.loss`` is compared with the loss evaluated at the returned point.

Tolerances (float64, problems of size N <= 12 with O(1) entries):

* ``GRAD_TOL = 1e-10``: at a closed form the gradient is a difference of
  O(1) terms built from eigenvectors accurate to ~1e-15 / eigengap (the gaps
  at the cut are >= 0.2 here); measured max |grad| <= 2e-14.  Every
  perturbation below produces gradients >= 1e-3, so the margin is 1e4 on
  both sides.
* ``LOSS_RTOL = 1e-12``: the competitor comparison allows rounding of an O(1)
  loss (~1e-15) and the excess ~gtol^2 / curvature <= 1e-13 of a converged
  training run.
* ``TRAIN_GTOL = 1e-7``: L-BFGS stops when max |grad| <= 1e-7; below ~1e-8
  the loss decrease of a step (~|grad|^2 / curvature) falls under float64's
  resolution of an O(1) loss, and the line search stalls.
* ``ATTAIN_RTOL = 1e-9``: a converged run reaches the closed-form value up to
  gtol^2 / (smallest curvature ~ 1e-2) ~ 1e-12; 1e-9 is a 1000x margin.
* ``1e-12`` (absolute on O(1) values, or relative) for identities that hold
  exactly at the returned point (C(Z) = diag(c), Details.loss = loss(Z),
  agreement with a second dense eigen-solver, subspace gaps): both sides are
  float64 computations on matrices of size <= 12, rounding ~1e-15 to 1e-14.
"""
import numpy as np
import pytest
import scipy.linalg as sla
import torch

from sslspec_lib import closed_form, graphs, losses, metrics, train

GRAD_TOL = 1e-10
LOSS_RTOL = 1e-12
TRAIN_GTOL = 1e-7
ATTAIN_RTOL = 1e-9
GRAM_TOL = 1e-10  # Gram matrices from two dense eigen-solvers: ~1e-14 measured

# No closed form tested here may warn: the problems are chosen with a gap at the cut.
pytestmark = pytest.mark.filterwarnings("error:.*(not unique|no closed form|need not):UserWarning")


# -- problems -------------------------------------------------------------------------

def random_graph(n, seed, density=0.6):
    """Connected weighted graph; for (10, 0) the spectra are well separated at K = 3."""
    rng = np.random.default_rng(seed)
    W = rng.uniform(0.2, 1.0, (n, n)) * (rng.uniform(size=(n, n)) < density)
    W = np.triu(W, 1)
    return torch.tensor(W + W.T)


G10 = random_graph(10, 0)  # L on 1-perp: 1.148, 1.785, 2.257 | 2.484 ...; G: 2.98, 1.06, 0.83 | 0.37
N10 = 10
K3 = 3
X10 = torch.tensor(np.random.default_rng(102).standard_normal((10, 4)))  # mu: 1.79, 3.05 | 3.34
GA = graphs.augmentation_graph(4, 3)  # N' = 4 groups of V = 3 views, N = 12
GROUPS = torch.arange(4).repeat_interleave(3)


def laplacian_eig(G):
    """Independent: eigenpairs of L = D - G (NumPy), ascending; column 0 is the constant."""
    W = G.numpy()
    lam, U = np.linalg.eigh(np.diag(W.sum(1)) - W)
    assert abs(lam[0]) < 1e-12 and lam[1] > 1e-3, "the test graphs are connected"
    return lam, U


def normalized_affinity(G):
    s = G.sum(dim=1).rsqrt()
    A = s[:, None] * G * s[None, :]
    return (A + A.T) / 2  # exact symmetry (validate_graph demands it)


# -- the check --------------------------------------------------------------------------

def value_and_grad(loss_fn, Z):
    Z = Z.detach().clone().requires_grad_(True)
    loss = loss_fn(Z)
    (g,) = torch.autograd.grad(loss, Z)
    return float(loss.detach()), g


def check_optimum(loss_fn, Z, competitors, *, gtol=GRAD_TOL):
    """Fails unless the gradient vanishes at Z and no competitor has a lower loss."""
    value, g = value_and_grad(loss_fn, Z)
    gmax = float(g.abs().max())
    assert gmax <= gtol, f"gradient does not vanish: max |grad| = {gmax:.3e} > {gtol:g}"
    for name, W in competitors:
        other = float(loss_fn(W))
        assert value <= other + LOSS_RTOL * max(1.0, abs(other)), (
            f"{name} reaches a lower loss: {other!r} < {value!r}")
    return value


def random_competitors(Z, seed, n=20):
    """Random points at three scales, and small random perturbations of Z."""
    rng = np.random.default_rng(seed)
    scale = max(1.0, float(Z.abs().max()))
    out = []
    for i in range(n):
        s = (0.1, 1.0, 3.0)[i % 3] * scale
        out.append((f"random point {i}", s * torch.tensor(rng.standard_normal(Z.shape))))
    for i in range(n):
        out.append((f"perturbation {i}", Z + 1e-3 * torch.tensor(rng.standard_normal(Z.shape))))
    return out


_TRAINED = {}


def trained(key, fn):
    """Cache of training runs (each is used by several tests)."""
    if key not in _TRAINED:
        _TRAINED[key] = fn()
    return _TRAINED[key]


def assert_attained(trained_loss, closed_loss):
    assert abs(trained_loss - closed_loss) <= ATTAIN_RTOL * max(1.0, abs(closed_loss)), (
        f"training from a random start reached {trained_loss!r}, closed form {closed_loss!r}")


def swap_column(Z, k, new_col):
    Z = Z.clone()
    Z[:, k] = new_col
    return Z


# =====================================================================================
# R10: smooth VICReg
# =====================================================================================

@pytest.fixture(params=[0.2, 0.5], ids=["alpha0.2-full-rank", "alpha0.5-one-collapsed"])
def vicreg_problem(request):
    alpha = request.param
    Z, det = closed_form.vicreg_optimum(G10, K3, alpha, return_details=True)

    def loss(Z):
        return losses.vicreg(Z, G10, alpha)

    Zt, hist = trained(("vicreg", alpha), lambda: train.train_free(
        loss, N10, K3, seed=1, gtol=TRAIN_GTOL))
    return alpha, Z, det, loss, Zt


def test_vicreg_optimum_matches_dense_eigh(vicreg_problem):
    alpha, Z, det, _, _ = vicreg_problem
    lam, U = laplacian_eig(G10)
    c = np.maximum(0.0, 1 - alpha * lam[1:K3 + 1])
    # Z Z^T = N U diag(c) U^T (sign- and rotation-free comparison)
    assert metrics.gram_gap(Z, torch.tensor(np.sqrt(N10) * U[:, 1:K3 + 1] * np.sqrt(c))) < GRAM_TOL
    np.testing.assert_allclose(det.eigenvalues.numpy(), lam[1:K3 + 1], atol=1e-12)
    np.testing.assert_allclose(det.c.numpy(), c, atol=1e-12)
    # C(Z) = diag(c), centred columns
    torch.testing.assert_close(losses.covariance(Z), torch.diag(det.c), atol=1e-12, rtol=0)
    assert float(Z.mean(dim=0).abs().max()) < 1e-12
    if alpha == 0.5:
        assert det.c[-1] == 0 and metrics.numerical_rank(Z) == 2  # alpha * lam_3 > 1


def test_vicreg_optimum_is_a_minimum(vicreg_problem):
    alpha, Z, det, loss, Zt = vicreg_problem
    value = check_optimum(loss, Z, random_competitors(Z, 0) + [("trained", Zt)])
    assert abs(det.loss - value) <= 1e-12 * max(1.0, abs(value))  # Details.loss = loss(Z)
    assert_attained(float(loss(Zt)), value)
    # the trained point is the closed form up to rotation (and a constant row)
    assert metrics.gram_gap(Zt - Zt.mean(dim=0), Z) < 1e-6  # ~ gtol / eigengap


def test_vicreg_optimum_perturbations_are_caught(vicreg_problem):
    alpha, Z, det, loss, Zt = vicreg_problem
    lam, U = laplacian_eig(G10)
    competitors = random_competitors(Z, 0) + [("trained", Zt)]
    k = 0  # a kept column (c_0 > 0 for both alphas)
    c0 = float(det.c[k])
    nxt = torch.tensor(U[:, K3 + 1])  # first discarded eigenvector
    perturbed = {
        "next eigenvector, same scale": swap_column(Z, k, N10 ** 0.5 * c0 ** 0.5 * nxt),
        "scale x1.1": 1.1 * Z,
        "scale x0.9": 0.9 * Z,
        "c_k = 1 - alpha lam_k dropped (c = 1)": swap_column(Z, k, N10 ** 0.5 * torch.tensor(U[:, 1])),
    }
    for name, Zp in perturbed.items():
        with pytest.raises(AssertionError, match="gradient does not vanish"):
            check_optimum(loss, Zp, competitors)
    # The next eigenvector with ITS OWN c is a stationary point (a saddle): the
    # gradient test passes, and the loss comparison catches it (the trained
    # point and the perturbations of the true optimum are lower).
    c_next = max(0.0, 1 - alpha * lam[K3 + 1])
    saddle = swap_column(Z, k, N10 ** 0.5 * c_next ** 0.5 * nxt)
    assert float(value_and_grad(loss, saddle)[1].abs().max()) < GRAD_TOL
    with pytest.raises(AssertionError, match="reaches a lower loss"):
        check_optimum(loss, saddle, competitors)
    with pytest.raises(AssertionError, match="trained reaches a lower loss"):
        check_optimum(loss, saddle, [("trained", Zt)])


# =====================================================================================
# R9: VICReg with hard constraints C(Z) = I (Laplacian Eigenmaps)
# =====================================================================================

def whiten(Y):
    """A centred Z with C(Z) = I: sqrt(N) H Y R^{-1}, R^T R = Y^T H Y (Cholesky)."""
    n = Y.shape[0]
    Yc = Y - Y.mean(dim=0, keepdim=True)
    Lc = torch.linalg.cholesky(Yc.T @ Yc)
    return n ** 0.5 * torch.linalg.solve_triangular(Lc, Yc.T, upper=False).T


def check_constrained_optimum(Z, competitors, *, tol=GRAD_TOL):
    """Feasibility, Lagrangian stationarity, and the lowest loss among feasible points.

    Lagrangian of min invariance(Z) s.t. C(Z) = I: the gradient 4 L Z of the
    real loss must equal Z Gamma with Gamma symmetric (the multiplier of the
    symmetric constraint; Gamma = 4 Lambda in L Z = Z Lambda).
    """
    K = Z.shape[1]
    cerr = float((losses.covariance(Z) - torch.eye(K, dtype=Z.dtype)).abs().max())
    assert cerr <= tol, f"constraint C(Z) = I violated by {cerr:.3e}"
    value, g = value_and_grad(lambda Z: losses.invariance(Z, G10), Z)
    Gamma = torch.linalg.lstsq(Z, g).solution
    scale = max(1.0, float(g.abs().max()))
    res = float((g - Z @ Gamma).abs().max()) / scale
    asym = float((Gamma - Gamma.T).abs().max()) / scale
    assert res <= tol and asym <= tol, (
        f"gradient does not vanish on the constraint set: |g - Z Gamma| = {res:.3e}, "
        f"|Gamma - Gamma^T| = {asym:.3e}")
    for name, W in competitors:
        other = float(losses.invariance(W, G10))
        assert value <= other * (1 + LOSS_RTOL), f"{name} reaches a lower loss: {other!r} < {value!r}"
    return value


@pytest.fixture
def constrained_problem():
    Z, det = closed_form.vicreg_constrained_optimum(G10, K3, return_details=True)
    Yt, _ = trained("constrained", lambda: train.train_free(
        lambda Y: losses.invariance(whiten(Y), G10), N10, K3, seed=1,
        gtol=1e-6))  # loss ~ 100: the resolvable gradient is ~100x larger (see module)
    rng = np.random.default_rng(3)
    comp = [(f"feasible random point {i}", whiten(torch.tensor(rng.standard_normal((N10, K3)))))
            for i in range(20)]
    comp += [(f"feasible perturbation {i}",
              whiten(Z + 1e-3 * torch.tensor(rng.standard_normal((N10, K3))))) for i in range(20)]
    return Z, det, comp + [("trained", whiten(Yt))]


def test_vicreg_constrained_optimum_matches_dense_eigh(constrained_problem):
    Z, det, _ = constrained_problem
    lam, U = laplacian_eig(G10)
    assert metrics.subspace_gap(Z, torch.tensor(U[:, 1:K3 + 1])) < 1e-12
    np.testing.assert_allclose(det.eigenvalues.numpy(), lam[1:K3 + 1], atol=1e-12)
    # Details.loss = invariance(Z) = 2 N sum(lam)
    value = float(losses.invariance(Z, G10))
    assert abs(det.loss - value) <= 1e-12 * value
    assert abs(value - 2 * N10 * lam[1:K3 + 1].sum()) <= 1e-12 * value


def test_vicreg_constrained_optimum_is_a_constrained_minimum(constrained_problem):
    Z, det, comp = constrained_problem
    value = check_constrained_optimum(Z, comp)
    assert_attained(float(losses.invariance(comp[-1][1], G10)), value)


def test_vicreg_constrained_optimum_perturbations_are_caught(constrained_problem):
    Z, det, comp = constrained_problem
    lam, U = laplacian_eig(G10)
    u_last, u_next = torch.tensor(U[:, K3]), torch.tensor(U[:, K3 + 1])
    t = 0.5  # radians
    rotated = swap_column(Z, K3 - 1, N10 ** 0.5 * (np.cos(t) * u_last + np.sin(t) * u_next))
    with pytest.raises(AssertionError, match="constraint"):
        check_constrained_optimum(1.1 * Z, comp)
    with pytest.raises(AssertionError, match="gradient does not vanish on the constraint set"):
        check_constrained_optimum(rotated, comp)
    # The next eigenvector swapped in is feasible AND a Lagrangian point (a
    # saddle): only the loss comparison catches it.
    swapped = swap_column(Z, K3 - 1, N10 ** 0.5 * u_next)
    with pytest.raises(AssertionError, match="reaches a lower loss"):
        check_constrained_optimum(swapped, comp)
    with pytest.raises(AssertionError, match="trained reaches a lower loss"):
        check_constrained_optimum(swapped, comp[-1:])


# =====================================================================================
# R11: hinge VICReg, in its own (approximate) model
# =====================================================================================
#
# The model of vicreg_hinge_optimum: loss (alpha/N) sum G ||z_i - z_j||^2
# + sum_k max(0, 1 - sqrt(C_kk)), no covariance term, eps = 0, on
# Z(s) = sqrt(N) U_K diag(s) (s = sqrt(c)), U_K the bottom eigenvectors of L.
# It is evaluated with the real losses.vicreg_hinge: after Z' = sqrt((N-1)/N) Z
# its unbiased variance is C_kk(Z), and sim_coeff = alpha K N/(N-1),
# std_coeff = K, cov_coeff = 0, eps = 0 give exactly the model.

def hinge_model_loss(Z, alpha):
    n, K = Z.shape
    return losses.vicreg_hinge(((n - 1) / n) ** 0.5 * Z, G10, sim_coeff=alpha * K * n / (n - 1),
                               std_coeff=float(K), cov_coeff=0.0, eps=0.0)


def check_hinge_optimum(s, U, alpha, competitors, *, tol=GRAD_TOL):
    """Per-direction optimality of s: zero gradient off the kink, a subgradient at s_k = 1."""
    def loss_s(S):
        return hinge_model_loss(N10 ** 0.5 * U * S.reshape(-1), alpha)

    value, g = value_and_grad(loss_s, s)
    kink = (s - 1).abs() < 1e-12
    if bool((~kink).any()):
        gmax = float(g[~kink].abs().max())
        assert gmax <= tol, f"gradient does not vanish: max |grad| = {gmax:.3e} > {tol:g}"
    for k in kink.nonzero().flatten().tolist():
        # one-sided derivatives at s_k = 1 (each branch is smooth): left <= 0 <= right
        d = []
        for side in (-1e-9, 1e-9):
            sk = s.clone()
            sk[k] += side
            d.append(float(value_and_grad(loss_s, sk)[1][k]))
        assert d[0] <= tol and d[1] >= -tol, f"0 is not a subgradient at the kink: {d}"
    for name, W in competitors:
        other = float(loss_s(W))
        assert value <= other + LOSS_RTOL * max(1.0, abs(other)), (
            f"{name} reaches a lower loss: {other!r} < {value!r}")
    return value


@pytest.fixture(params=[0.5, 0.15], ids=["alpha0.5-all-interior", "alpha0.15-one-at-kink"])
def hinge_problem(request):
    alpha = request.param
    Z, det = closed_form.vicreg_hinge_optimum(G10, K3, alpha, return_details=True)
    lam, Ufull = laplacian_eig(G10)
    U = torch.tensor(Ufull[:, 1:K3 + 1])
    s = det.c.sqrt()
    rng = np.random.default_rng(4)
    comp = [(f"random s {i}", torch.tensor(rng.uniform(0, 1.5, K3))) for i in range(30)]
    comp += [(f"perturbed s {i}", s + 1e-3 * torch.tensor(rng.standard_normal(K3)))
             for i in range(30)]
    if alpha == 0.5:  # smooth near the optimum: L-BFGS converges (not at a kink)
        St, _ = trained(("hinge", alpha), lambda: train.train_free(
            lambda S: hinge_model_loss(N10 ** 0.5 * U * S.reshape(-1), alpha), 1, K3,
            seed=2, init_scale=0.3, gtol=TRAIN_GTOL))
        comp.append(("trained", St.reshape(-1)))
    return alpha, Z, det, U, s, comp, lam


def test_vicreg_hinge_optimum_formula(hinge_problem):
    alpha, Z, det, U, s, _, lam = hinge_problem
    lam_k = lam[1:K3 + 1]
    c = np.where(lam_k <= 1 / (4 * alpha), 1.0, 1 / (16 * alpha ** 2 * lam_k ** 2))
    np.testing.assert_allclose(det.c.numpy(), c, rtol=1e-12)
    assert metrics.gram_gap(Z, N10 ** 0.5 * U * s) < GRAM_TOL
    if alpha == 0.15:
        assert float(det.c[0]) == 1.0 and float(det.c[1]) < 1.0


def test_vicreg_hinge_optimum_is_optimal_per_direction(hinge_problem):
    alpha, Z, det, U, s, comp, _ = hinge_problem
    value = check_hinge_optimum(s, U, alpha, comp)
    # Details.loss is the model loss at the returned Z (evaluated with losses.vicreg_hinge)
    assert abs(det.loss - float(hinge_model_loss(Z, alpha))) <= 1e-12 * max(1.0, abs(det.loss))
    assert abs(det.loss - value) <= 1e-12 * max(1.0, abs(value))
    if alpha == 0.5:
        assert_attained(value, float(hinge_model_loss(N10 ** 0.5 * U * comp[-1][1], alpha)))


def test_vicreg_hinge_optimum_perturbations_are_caught(hinge_problem):
    alpha, Z, det, U, s, comp, lam = hinge_problem
    _, Ufull = laplacian_eig(G10)
    U_next = swap_column(U, K3 - 1, torch.tensor(Ufull[:, K3 + 1]))
    for name, (sp, Up) in {"scale x1.1": (1.1 * s, U), "scale x0.9": (0.9 * s, U),
                           "next eigenvector": (s, U_next)}.items():
        with pytest.raises(AssertionError, match="gradient does not vanish|not a subgradient"):
            check_hinge_optimum(sp, Up, alpha, comp)


def test_vicreg_hinge_model_is_only_approximate_in_full_Z():
    """In full Z (no covariance term) the closed form is stationary but not minimal.

    Without the covariance term nothing keeps the columns apart: every column
    can sit on the bottom eigenvector.  Measured: training in full Z reaches a
    lower model loss than the closed form (the diagonal assumption of R11
    matters).
    """
    alpha = 0.5
    Z, det = closed_form.vicreg_hinge_optimum(G10, K3, alpha, return_details=True)
    _, g = value_and_grad(lambda Z: hinge_model_loss(Z, alpha), Z)
    assert float(g.abs().max()) < GRAD_TOL  # stationary in full Z as well
    Zt, _ = train.train_free(lambda Z: hinge_model_loss(Z, alpha), N10, K3, seed=3,
                             gtol=TRAIN_GTOL)
    assert float(hinge_model_loss(Zt, alpha)) < det.loss - 0.1


# =====================================================================================
# R12: SimCLR / InfoNCE on augmentation cliques
# =====================================================================================

def simplex_gram():
    """Independent: cosine 1 within a group, -1/(N'-1) across groups."""
    same = (GROUPS[:, None] == GROUPS[None, :]).to(torch.float64)
    return same - (1 - same) / 3


@pytest.fixture(params=[(3, 0.5), (5, 0.5), (3, 0.1), (5, 2.0)],
                ids=["K3-tau0.5", "K5-tau0.5", "K3-tau0.1", "K5-tau2"])
def simclr_problem(request):
    K, tau = request.param
    Z, det = closed_form.simclr_optimum(GA, K, tau=tau, return_details=True)

    def loss(Z):
        return losses.info_nce(Z, GA, tau)

    comp = random_competitors(Z, 5)
    if tau == 0.5:  # small tau is ill-conditioned for L-BFGS; one tau is enough
        Zt, _ = trained(("simclr", K), lambda: train.train_free(
            loss, 12, K, seed=1, gtol=TRAIN_GTOL))
        comp.append(("trained", Zt))
    return K, tau, Z, det, loss, comp


def test_simclr_optimum_is_regular_simplex(simclr_problem):
    K, tau, Z, det, _, _ = simclr_problem
    U = Z / Z.norm(dim=1, keepdim=True)
    torch.testing.assert_close(U @ U.T, simplex_gram(), atol=1e-12, rtol=0)
    assert metrics.numerical_rank(Z) == 3  # N' - 1 whatever K (dimensional collapse)
    if K > 3:
        assert float(Z[:, 3:].abs().max()) == 0.0


def test_simclr_optimum_is_a_minimum(simclr_problem):
    K, tau, Z, det, loss, comp = simclr_problem
    value = check_optimum(loss, Z, comp)
    assert abs(det.loss - value) <= 1e-12 * max(1.0, value)
    if comp[-1][0] == "trained":
        Zt = comp[-1][1]
        assert_attained(float(loss(Zt)), value)
        # training also collapses: the normalised rows have rank N' - 1 = 3
        Ut = Zt / Zt.norm(dim=1, keepdim=True)
        assert int((torch.linalg.eigvalsh(Ut.T @ Ut) > 1e-6).sum()) == 3


def test_simclr_optimum_symmetries_are_not_perturbations(simclr_problem):
    K, tau, Z, det, loss, comp = simclr_problem
    # The loss normalises rows: a uniform or per-row scale is not a wrong answer.
    rows = torch.linspace(0.5, 2.0, 12, dtype=torch.float64)[:, None]
    for Zs in (3.0 * Z, rows * Z):
        assert abs(float(loss(Zs)) - float(loss(Z))) < 1e-12
        check_optimum(loss, Zs, comp)


def test_simclr_optimum_perturbations_are_caught(simclr_problem):
    K, tau, Z, det, loss, comp = simclr_problem
    lam, V = np.linalg.eigh(simplex_gram().numpy())  # independent of the library
    nxt = torch.tensor(V[:, ::-1][:, 3].copy())  # first eigenvector outside the simplex span
    scale = float(Z[:, 2].norm())
    aniso = Z.clone()
    aniso[:, 0] *= 1.5
    perturbed = {"next eigenvector": swap_column(Z, 2, scale * nxt),
                 "anisotropic scale": aniso,
                 "one row moved to another group": torch.cat([Z[3:4], Z[1:]])}
    for name, Zp in perturbed.items():
        with pytest.raises(AssertionError, match="gradient does not vanish"):
            check_optimum(loss, Zp, comp)


# =====================================================================================
# R13: spectral contrastive loss
# =====================================================================================

@pytest.fixture(params=[False, True], ids=["plain", "normalized"])
def sc_problem(request):
    normalized = request.param
    A = normalized_affinity(G10) if normalized else G10
    Z, det = closed_form.spectral_contrastive_optimum(G10, K3, normalized=normalized,
                                                      return_details=True)

    def loss(Z):
        return losses.spectral_contrastive(Z, A)

    Zt, _ = trained(("sc", normalized), lambda: train.train_free(
        loss, N10, K3, seed=1, init_scale=0.3, gtol=TRAIN_GTOL))
    return A, Z, det, loss, random_competitors(Z, 6) + [("trained", Zt)]


def test_spectral_contrastive_optimum_matches_eckart_young(sc_problem):
    A, Z, det, _, _ = sc_problem
    mu, U = np.linalg.eigh(A.numpy())
    mu, U = mu[::-1], U[:, ::-1]
    best = (U[:, :K3] * np.maximum(mu[:K3], 0)) @ U[:, :K3].T  # best PSD rank-K approximation
    torch.testing.assert_close(Z @ Z.T, torch.tensor(best), atol=1e-12, rtol=0)
    np.testing.assert_allclose(det.eigenvalues.numpy(), mu[:K3], atol=1e-12)


def test_spectral_contrastive_optimum_is_a_minimum(sc_problem):
    A, Z, det, loss, comp = sc_problem
    value = check_optimum(loss, Z, comp)
    assert abs(det.loss - value) <= 1e-12 * max(1.0, abs(value))
    assert abs(value + float((det.c ** 2).sum())) <= 1e-12 * abs(value)  # -sum max(0, mu)^2
    assert_attained(float(loss(comp[-1][1])), value)


def test_spectral_contrastive_optimum_perturbations_are_caught(sc_problem):
    A, Z, det, loss, comp = sc_problem
    mu, U = np.linalg.eigh(A.numpy())
    nxt = torch.tensor(U[:, ::-1][:, K3].copy())
    for name, Zp in {"next eigenvector": swap_column(Z, K3 - 1, float(Z[:, K3 - 1].norm()) * nxt),
                     "scale x1.1": 1.1 * Z, "scale x0.9": 0.9 * Z}.items():
        with pytest.raises(AssertionError, match="gradient does not vanish"):
            check_optimum(loss, Zp, comp)


def test_spectral_contrastive_optimum_beyond_positive_spectrum():
    # G10 has 5 positive eigenvalues: K = 7 pads with 2 zero columns, still optimal.
    Z, det = closed_form.spectral_contrastive_optimum(G10, 7, return_details=True)
    assert float(Z[:, 5:].abs().max()) == 0.0 and bool((det.c[5:] == 0).all())

    def loss(Z):
        return losses.spectral_contrastive(Z, G10)

    check_optimum(loss, Z, random_competitors(Z, 7))
    assert abs(det.loss - float(loss(Z))) <= 1e-12 * abs(det.loss)


# =====================================================================================
# R14: BarlowTwins on augmentation cliques (C = I reachable, K <= N' - 1)
# =====================================================================================

@pytest.fixture(params=[0.0051, 1.0], ids=["lambd-ref", "lambd1"])
def bt_problem(request):
    lambd = request.param
    Z, det = closed_form.barlow_twins_optimum(GA, 3, return_details=True)

    def loss(Z):  # eps = 0: the exact standardisation the closed form assumes
        return losses.barlow_twins(Z, GA, lambd, eps=0.0)

    Zt, _ = trained(("bt", lambd), lambda: train.train_free(
        loss, 12, 3, seed=1, gtol=TRAIN_GTOL))
    return lambd, Z, det, loss, random_competitors(Z, 8) + [("trained", Zt)]


def group_indicators_centred():
    E = torch.nn.functional.one_hot(GROUPS).to(torch.float64)
    return E - E.mean(dim=0)


def test_barlow_twins_optimum_spans_centred_group_indicators(bt_problem):
    _, Z, det, _, _ = bt_problem
    assert metrics.subspace_gap(Z, group_indicators_centred()) < 1e-12
    torch.testing.assert_close(losses.covariance(Z), torch.eye(3, dtype=torch.float64),
                               atol=1e-12, rtol=0)
    np.testing.assert_allclose(det.eigenvalues.numpy(), 1.0, atol=1e-12)


def test_barlow_twins_optimum_is_a_minimum(bt_problem):
    lambd, Z, det, loss, comp = bt_problem
    value = check_optimum(loss, Z, comp)
    assert abs(det.loss - value) <= 1e-12  # both 0 (a sum of squares at its zero)
    # BatchNorm's eps = 1e-5 (the default) shifts C_kk to 1/(1+eps): loss K (eps/(1+eps))^2
    eps = 1e-5
    shifted = float(losses.barlow_twins(Z, GA, lambd))
    # 1 - C_kk ~ 1e-5 carries ~1e-16 absolute rounding (1e-11 relative): 1e-6 is loose
    assert abs(shifted - 3 * (eps / (1 + eps)) ** 2) <= 1e-6 * shifted


def test_barlow_twins_optimum_symmetries_are_not_perturbations(bt_problem):
    lambd, Z, det, loss, comp = bt_problem
    Q, _ = torch.linalg.qr(torch.tensor(np.random.default_rng(9).standard_normal((3, 3))))
    for Zs in (Z * torch.tensor([2.0, 0.5, 3.0], dtype=torch.float64), Z @ Q):
        check_optimum(loss, Zs, comp)


def test_barlow_twins_optimum_perturbations_are_caught(bt_problem):
    lambd, Z, det, loss, comp = bt_problem
    # The eigenvectors of G on 1-perp outside the group indicators: within-group
    # contrasts (eigenvalue -1/(V-1) of N G / sum G).
    w = torch.zeros(12, dtype=torch.float64)
    w[0], w[1] = 1.0, -1.0
    w = 12 ** 0.5 * w / w.norm()
    # Swapped in, it is an eigenvector of N G / sum G, hence a stationary point
    # (C_33 = -1/2, loss 2.25): the loss comparison catches it.
    with pytest.raises(AssertionError, match="reaches a lower loss: .* < 2.25"):
        check_optimum(loss, swap_column(Z, 2, w), comp)
    t = 0.3
    with pytest.raises(AssertionError, match="gradient does not vanish"):
        check_optimum(loss, swap_column(Z, 2, np.cos(t) * Z[:, 2] + np.sin(t) * w), comp)


# =====================================================================================
# R15: linear regime
# =====================================================================================

def generalized_eig(A, B):
    """Independent: scipy's generalised eigh, ascending, with V^T B V = I."""
    return sla.eigh(A, B)


@pytest.fixture
def vicreg_linear_problem():
    alpha = 0.3
    W, det = closed_form.vicreg_linear_optimum(X10, G10, 2, alpha, return_details=True)

    def loss(W):
        return losses.vicreg(X10 @ W, G10, alpha)

    Wt, _ = trained("vicreg_linear", lambda: train.train_linear(
        lambda Z: losses.vicreg(Z, G10, alpha), X10, 2, seed=1, gtol=TRAIN_GTOL))
    return alpha, W, det, loss, random_competitors(W, 10) + [("trained", Wt)]


def test_vicreg_linear_optimum_matches_generalized_eigh(vicreg_linear_problem):
    alpha, W, det, _, _ = vicreg_linear_problem
    X = X10.numpy()
    Xc = X - X.mean(0)
    Sigma = Xc.T @ Xc / N10
    Lap = np.diag(G10.numpy().sum(1)) - G10.numpy()
    mu, V = generalized_eig(X.T @ Lap @ X / N10, Sigma)
    c = np.maximum(0, 1 - alpha * mu[:2])
    Wref = V[:, :2] * np.sqrt(c)
    assert metrics.gram_gap(X10 @ W, torch.tensor(X @ Wref)) < GRAM_TOL
    np.testing.assert_allclose(det.eigenvalues.numpy(), mu[:2], rtol=1e-10)
    torch.testing.assert_close(losses.covariance(X10 @ W), torch.diag(det.c), atol=1e-12, rtol=0)


def test_vicreg_linear_optimum_is_a_minimum(vicreg_linear_problem):
    alpha, W, det, loss, comp = vicreg_linear_problem
    value = check_optimum(loss, W, comp)
    assert abs(det.loss - value) <= 1e-12 * max(1.0, value)
    assert_attained(float(loss(comp[-1][1])), value)


def test_vicreg_linear_optimum_perturbations_are_caught(vicreg_linear_problem):
    alpha, W, det, loss, comp = vicreg_linear_problem
    X = X10.numpy()
    Xc = X - X.mean(0)
    Lap = np.diag(G10.numpy().sum(1)) - G10.numpy()
    mu, V = generalized_eig(X.T @ Lap @ X / N10, Xc.T @ Xc / N10)
    nxt = torch.tensor(V[:, 2] * np.sqrt(float(det.c[0])))
    for name, Wp in {"next eigenvector": swap_column(W, 0, nxt), "scale x1.1": 1.1 * W,
                     "scale x0.9": 0.9 * W}.items():
        with pytest.raises(AssertionError, match="gradient does not vanish"):
            check_optimum(loss, Wp, comp)


@pytest.fixture
def sc_linear_problem():
    W, det = closed_form.spectral_contrastive_linear_optimum(X10, G10, 2, return_details=True)

    def loss(W):
        return losses.spectral_contrastive(X10 @ W, G10)

    Wt, _ = trained("sc_linear", lambda: train.train_linear(
        lambda Z: losses.spectral_contrastive(Z, G10), X10, 2, seed=1, gtol=TRAIN_GTOL))
    return W, det, loss, random_competitors(W, 11) + [("trained", Wt)]


def test_spectral_contrastive_linear_optimum_matches_generalized_eigh(sc_linear_problem):
    W, det, _, _ = sc_linear_problem
    X = X10.numpy()
    mu, V = generalized_eig(X.T @ G10.numpy() @ X, X.T @ X)
    mu, V = mu[::-1], V[:, ::-1]
    Wref = V[:, :2] * np.sqrt(np.maximum(mu[:2], 0))
    assert metrics.gram_gap(X10 @ W, torch.tensor(X @ Wref)) < GRAM_TOL
    np.testing.assert_allclose(det.eigenvalues.numpy(), mu[:2], rtol=1e-10)


def test_spectral_contrastive_linear_optimum_is_a_minimum(sc_linear_problem):
    W, det, loss, comp = sc_linear_problem
    value = check_optimum(loss, W, comp)
    assert abs(det.loss - value) <= 1e-12 * max(1.0, abs(value))
    assert_attained(float(loss(comp[-1][1])), value)


def test_spectral_contrastive_linear_optimum_perturbations_are_caught(sc_linear_problem):
    W, det, loss, comp = sc_linear_problem
    X = X10.numpy()
    mu, V = generalized_eig(X.T @ G10.numpy() @ X, X.T @ X)
    nxt = torch.tensor(V[:, ::-1][:, 2] * np.sqrt(float(det.c[1])))
    for name, Wp in {"next eigenvector": swap_column(W, 1, nxt), "scale x1.1": 1.1 * W,
                     "scale x0.9": 0.9 * W}.items():
        with pytest.raises(AssertionError, match="gradient does not vanish"):
            check_optimum(loss, Wp, comp)


def invariant_features(seed=7):
    """Pair graph of N' = 6 samples; 2 features shared by both views, 2 per-view noise."""
    rng = np.random.default_rng(seed)
    shared = np.repeat(rng.standard_normal((6, 2)), 2, axis=0)
    return torch.tensor(np.hstack([shared, rng.standard_normal((12, 2))])), \
        graphs.augmentation_graph(6, 2)


@pytest.fixture
def bt_linear_problem():
    X, G = invariant_features()
    W, det = closed_form.barlow_twins_linear_optimum(X, G, 2, return_details=True)

    def loss(W):
        return losses.barlow_twins(X @ W, G, eps=0.0)

    Wt, _ = trained("bt_linear", lambda: train.train_linear(
        lambda Z: losses.barlow_twins(Z, G, eps=0.0), X, 2, seed=1, gtol=TRAIN_GTOL))
    return X, G, W, det, loss, random_competitors(W, 12) + [("trained", Wt)]


def test_barlow_twins_linear_optimum_is_shared_cca(bt_linear_problem):
    X, G, W, det, _, _ = bt_linear_problem
    # correlation 1 exactly on the shared features: XW spans the shared columns (centred)
    np.testing.assert_allclose(det.eigenvalues.numpy(), 1.0, atol=1e-12)
    assert metrics.subspace_gap(X @ W, X[:, :2], center=True) < 1e-12
    torch.testing.assert_close(losses.covariance(X @ W), torch.eye(2, dtype=torch.float64),
                               atol=1e-12, rtol=0)


def test_barlow_twins_linear_optimum_is_a_minimum(bt_linear_problem):
    X, G, W, det, loss, comp = bt_linear_problem
    value = check_optimum(loss, W, comp)
    assert abs(det.loss - value) <= 1e-12


def test_barlow_twins_linear_optimum_perturbations_are_caught(bt_linear_problem):
    X, G, W, det, loss, comp = bt_linear_problem
    # a direction of the per-view noise features (correlation < 1)
    noise_dir = torch.zeros(4, dtype=torch.float64)
    noise_dir[2] = 1.0 / float((X[:, 2] - X[:, 2].mean()).pow(2).mean().sqrt())
    for name, Wp in {"next direction": swap_column(W, 1, noise_dir),
                     "rotated toward noise": swap_column(W, 1, 0.9 * W[:, 1] + 0.4 * noise_dir)
                     }.items():
        with pytest.raises(AssertionError, match="gradient does not vanish"):
            check_optimum(loss, Wp, comp)


def test_barlow_twins_linear_cca_is_not_the_minimiser_when_c_eq_i_unreachable():
    """K = 3 > the 2 invariant directions: the CCA answer warns, and training beats it.

    Details.loss is still the loss at the returned W (the decorrelated CCA
    columns make the off-diagonal term vanish), but it is not the minimum:
    the BarlowTwins loss prefers a third column near the invariant subspace
    (cost lambd * off-diagonal) to one with a low correlation.
    """
    X, G = invariant_features()
    with pytest.warns(UserWarning, match="only 2 directions reach correlation 1 and K=3"):
        W, det = closed_form.barlow_twins_linear_optimum(X, G, 3, return_details=True)
    value = float(losses.barlow_twins(X @ W, G, eps=0.0))
    assert abs(det.loss - value) <= 1e-12 * value
    Wt, _ = train.train_linear(lambda Z: losses.barlow_twins(Z, G, eps=0.0), X, 3, seed=1,
                               gtol=TRAIN_GTOL)
    assert float(losses.barlow_twins(X @ Wt, G, eps=0.0)) < 0.5 * value
