"""The exact K x K reduction of hinge VICReg and its certified optimum (R11)."""
import math
import warnings

import numpy as np
import pytest
import torch

from sslspec_lib import bounds, closed_form, data, graphs, losses

N, K = 16, 4


def _path(n: int = N) -> torch.Tensor:
    off = torch.ones(n - 1, dtype=torch.float64)
    return torch.diag(off, 1) + torch.diag(off, -1)


def _reduced_at(Z: torch.Tensor, G: torch.Tensor, lam: np.ndarray, **w) -> float:
    n = Z.shape[0]
    C = (Z.T @ graphs.centering(n) @ Z / n).numpy()
    c = np.linalg.eigvalsh(C)[::-1]
    return closed_form.vicreg_hinge_reduced_objective(c, np.diag(C), lam, **w)


@pytest.mark.parametrize("lc", [1.0, 100.0])
def test_reduced_objective_lower_bounds_the_loss_and_is_attained(lc: float) -> None:
    """ell(Z) >= Phi(spec C, diag C) for random Z; equality on Z = sqrt(N) U diag(sqrt c) W^T."""
    G = _path()
    rho = N / (N - 1)
    w = dict(lambda_s=25.0, lambda_v=25.0, lambda_c=lc, eps=1e-4, rho=rho)
    _, det = closed_form.vicreg_hinge_optimum(G, K, 1.0, eps=1e-4, return_details=True)
    lam = det.eigenvalues.numpy()
    gen = torch.Generator().manual_seed(3)
    for _ in range(20):
        Z = torch.randn(N, K, generator=gen, dtype=torch.float64)
        loss = float(losses.vicreg_hinge(Z, G, cov_coeff=lc))
        assert loss >= _reduced_at(Z, G, lam, **w) - 1e-12 * loss
    Zc, cert = closed_form.vicreg_hinge_certified_optimum(G, K, lambda_c=lc, gap_rtol=1e-2)
    assert abs(cert.upper - cert.upper_reduced) < 1e-10 * cert.upper
    assert abs(_reduced_at(Zc, G, lam, **w) - cert.upper) < 1e-10 * cert.upper


def test_a_wrong_reduction_fails() -> None:
    """Pairing the spectrum with lambda ascending (c increasing) or dropping -sum d^2 is not a
    lower bound: some Z has a loss below it."""
    G = _path()
    rho = N / (N - 1)
    _, det = closed_form.vicreg_hinge_optimum(G, K, 1.0, eps=1e-4, return_details=True)
    lam = det.eigenvalues.numpy()
    Z, cert = closed_form.vicreg_hinge_certified_optimum(G, K, lambda_c=1.0, gap_rtol=1e-2)
    C = (Z.T @ graphs.centering(N) @ Z / N).numpy()
    c, d = np.linalg.eigvalsh(C), np.diag(C)  # c ascending: the wrong pairing
    wrong = (2 * 25 / K * (lam * c).sum() + rho ** 2 / K * (c ** 2).sum()
             + 25 / K * np.maximum(0, 1 - np.sqrt(rho * d + 1e-4)).sum())
    assert wrong > cert.upper + 0.1


def test_certificate_brackets_and_beats_the_diagonal_prediction() -> None:
    G = _path()
    for lc in (1.0, 1e2, 1e4):
        Z, cert = closed_form.vicreg_hinge_certified_optimum(G, K, lambda_c=lc, gap_rtol=1e-2)
        assert cert.certified and cert.lower <= cert.upper + 1e-12
        assert cert.upper - cert.lower <= cert.tol
        assert cert.upper < cert.diagonal  # two kept directions at the kink
        assert abs(float(losses.vicreg_hinge(Z, G, cov_coeff=lc)) - cert.upper) < 1e-12 * 10


def test_large_covariance_weight_approaches_the_diagonal_prediction() -> None:
    G = _path()
    gaps = []
    for lc in (1e2, 1e3, 1e4):
        _, cert = closed_form.vicreg_hinge_certified_optimum(G, K, lambda_c=lc, gap_rtol=1e-2)
        gaps.append((cert.diagonal - cert.lower) * lc)
    # the gap times lambda_c is constant to a few per cent: O(1/lambda_c)
    assert max(gaps) / min(gaps) < 1.05


def test_trained_losses_never_below_the_lower_bound() -> None:
    G = _path()
    _, cert = closed_form.vicreg_hinge_certified_optimum(G, K, lambda_c=1.0, gap_rtol=1e-2)
    gen = torch.Generator().manual_seed(0)
    Z = torch.randn(N, K, generator=gen, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([Z], lr=1e-2)
    for _ in range(1500):
        opt.zero_grad()
        loss = losses.vicreg_hinge(Z, G, cov_coeff=1.0)
        assert float(loss.detach()) >= cert.lower - 1e-9
        loss.backward()
        opt.step()


def test_cliques_minimum_is_zero_at_the_diagonal_prediction() -> None:
    G = graphs.augmentation_graph(6, 4)  # 6 cliques: 5 zero eigenvalues on 1-perp, K = 3
    with pytest.warns(UserWarning):
        Z, cert = closed_form.vicreg_hinge_certified_optimum(G, 3, lambda_c=1.0)
    assert cert.lower == 0.0 and cert.upper <= 1e-12 and cert.certified


def test_one_direction_at_the_kink_diagonal_is_optimal_above_threshold() -> None:
    """lambda_s = 50: only lambda_1 at the kink; the KKT threshold of the reduced problem."""
    G = _path()
    rho = N / (N - 1)
    _, det = closed_form.vicreg_hinge_optimum(G, K, 2.0, eps=1e-4, unbiased=True,
                                              return_details=True)
    thr = closed_form.vicreg_hinge_diagonal_threshold(det.eigenvalues, det.c, lambda_s=50.0,
                                                      rho=rho)
    _, above = closed_form.vicreg_hinge_certified_optimum(G, K, lambda_s=50.0,
                                                          lambda_c=2 * thr)
    assert above.certified and above.diagonal - above.lower <= above.tol
    _, below = closed_form.vicreg_hinge_certified_optimum(G, K, lambda_s=50.0,
                                                          lambda_c=0.5 * thr, gap_rtol=1e-2)
    assert below.upper < below.diagonal - 0.1


def test_schur_horn_rotation_realises_the_diagonal() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        k = int(rng.integers(1, 6))
        Q, _ = np.linalg.qr(rng.normal(size=(k, k)))
        c = rng.exponential(size=k) * (rng.random(k) > 0.3)
        d = -np.sort(-np.diag(Q @ np.diag(c) @ Q.T))
        W = closed_form._schur_horn_rotation(c, d)
        assert np.abs(np.diag(W @ np.diag(c) @ W.T) - d).max() < 1e-12
        assert np.abs(W.T @ W - np.eye(k)).max() < 1e-12


def test_input_validation() -> None:
    G = _path()
    with pytest.raises(ValueError):
        closed_form.vicreg_hinge_certified_optimum(G, 6)
    with pytest.raises(ValueError):
        closed_form.vicreg_hinge_certified_optimum(G, K, lambda_c=0.0)
    with pytest.raises(ValueError):
        closed_form.vicreg_hinge_certified_optimum(G, K, eps=1.0)
    with pytest.raises(ValueError, match="majorised"):
        closed_form.vicreg_hinge_reduced_objective([1.0, 0.0], [1.5, -0.5], [0.1, 0.2],
                                                   lambda_s=1, lambda_v=1, lambda_c=1,
                                                   eps=0, rho=1)


def _moved(c: np.ndarray, j: int, s: float) -> np.ndarray:
    out = c.copy()
    out[j] += s
    out[j + 1] -= s
    return out


def test_threshold_is_where_moving_variance_across_a_cut_starts_to_pay() -> None:
    """Just below lambda_c^dagger one transfer S_j lowers Phi at (c*, c*); just above none does."""
    G = _path()
    rho = N / (N - 1)
    _, det = closed_form.vicreg_hinge_optimum(G, K, 2.0, eps=1e-4, return_details=True)
    lam, cs = det.eigenvalues.numpy(), det.c.numpy()
    thr = closed_form.vicreg_hinge_diagonal_threshold(lam, cs, lambda_s=50.0, rho=rho)
    assert math.isfinite(thr) and thr > 0
    for f, lowers in ((0.99, True), (1.01, False)):
        w = dict(lambda_s=50.0, lambda_v=25.0, lambda_c=f * thr, eps=1e-4, rho=rho)
        base = closed_form.vicreg_hinge_reduced_objective(cs, cs, lam, **w)
        drops = [base - closed_form.vicreg_hinge_reduced_objective(_moved(cs, j, 1e-6), cs,
                                                                   lam, **w)
                 for j in range(K - 1)]
        assert (max(drops) > 0) == lowers


def test_threshold_counts_a_collapsed_direction() -> None:
    """K = 5, alpha = 30: c*_5 = 0. The cut into it moves S_4 = s with d_5 = s (the
    hinge's slope at 0 is finite for eps > 0): its threshold joins the maximum, and the
    reduced objective of that move is below the prediction's just under it and above
    just over it (a wrong formula is caught)."""
    G = _path()
    rho, ls, lv, eps = N / (N - 1), 750.0, 25.0, 1e-4
    _, det = closed_form.vicreg_hinge_optimum(G, 5, ls / lv, eps=eps, return_details=True)
    lam, cs = det.eigenvalues.numpy(), det.c.numpy()
    assert cs[-1] == 0 and cs[-2] > 0
    thr = closed_form.vicreg_hinge_diagonal_threshold(lam, cs, lambda_s=ls, rho=rho,
                                                      lambda_v=lv, eps=eps)
    cut = (lv * rho / (2 * math.sqrt(eps)) - 2 * ls * lam[3]) / (2 * rho ** 2 * cs[3])
    local = max(ls * (lam[j + 1] - lam[j]) / (rho ** 2 * (cs[j] - cs[j + 1]))
                for j in range(3))
    assert thr == pytest.approx(max(local, cut), rel=1e-12) and cut > local
    s = 1e-7 * cs[3]  # a small move: second-order terms are O(s^2)
    c_mv, d_mv = cs.copy(), cs.copy()
    c_mv[3] += s
    d_mv[4] = s
    for lc, sign in [(0.999 * cut, -1), (1.001 * cut, 1)]:
        w = dict(lambda_s=ls, lambda_v=lv, lambda_c=lc, eps=eps, rho=rho)
        diff = (closed_form.vicreg_hinge_reduced_objective(c_mv, d_mv, lam, **w)
                - closed_form.vicreg_hinge_reduced_objective(cs, cs, lam, **w))
        assert sign * diff > 0


def test_threshold_with_eps_zero_and_a_collapsed_direction_is_infinite() -> None:
    """With eps = 0 the hinge's slope at 0 is infinite: lifting a collapsed direction
    always pays, so the prediction is optimal at no weight."""
    thr = closed_form.vicreg_hinge_diagonal_threshold([0.1, 0.5], [0.8, 0.0],
                                                      lambda_s=1.0, rho=1.0, eps=0.0)
    assert thr == math.inf


@pytest.mark.parametrize("lc", [1.0, 30.0])
def test_variance_cap_never_raises_the_loss_and_a_lower_cap_can(lc: float) -> None:
    """Part 4: scaling columns of variance > t = (1 - eps)/rho down to t lowers the loss;
    capping at t/2 instead raises it near the prediction (a wrong cap is caught)."""
    G = _path()
    t = (1 - 1e-4) * (N - 1) / N
    Zp = closed_form.vicreg_hinge_optimum(G, K, 1.0, eps=1e-4, unbiased=True)
    gen = torch.Generator().manual_seed(11)
    raised = False
    for _ in range(30):
        Z = Zp * (1 + torch.rand(K, generator=gen, dtype=torch.float64)) \
            + 0.05 * torch.randn(N, K, generator=gen, dtype=torch.float64)
        base = float(losses.vicreg_hinge(Z, G, cov_coeff=lc))
        # a sum of about N^2 K terms of the loss's size: its rounding
        unit = bounds.rounding(base, N * N * K, factor=10)
        cap = closed_form.vicreg_hinge_variance_cap
        assert float(losses.vicreg_hinge(cap(Z, t), G, cov_coeff=lc)) <= base + unit
        raised |= float(losses.vicreg_hinge(cap(Z, t / 2), G, cov_coeff=lc)) > base + unit
    assert raised


@pytest.mark.parametrize("n_samples,n_views,k", [(3, 4, 3), (3, 4, 4), (2, 4, 3)])
def test_cliques_with_more_directions_than_components(n_samples: int, n_views: int,
                                                      k: int) -> None:
    """K > N' - 1: zero and positive kept eigenvalues.  The variance cap gives the search a
    box; the prediction is exact from the local threshold on, and beaten below it."""
    G = graphs.augmentation_graph(n_samples, n_views)
    n = n_samples * n_views
    rho = n / (n - 1)
    with pytest.warns(UserWarning):
        _, det = closed_form.vicreg_hinge_optimum(G, k, 1.0, eps=1e-4, unbiased=True,
                                                  return_details=True)
    thr = closed_form.vicreg_hinge_diagonal_threshold(det.eigenvalues, det.c,
                                                      lambda_s=25.0, rho=rho)
    t, c_v = (1 - 1e-4) / rho, rho / (16 * n_views ** 2) - 1e-4 / rho
    assert thr == pytest.approx(25.0 * n_views / (rho ** 2 * (t - c_v)), rel=1e-10)
    with pytest.warns(UserWarning):
        Z1, one = closed_form.vicreg_hinge_certified_optimum(G, k, lambda_c=1.0,
                                                             gap_rtol=5e-2)
    assert one.certified and one.rank == n_samples - 1 and one.upper < 0.2 * one.diagonal
    assert abs(float(losses.vicreg_hinge(Z1, G)) - one.upper) < 1e-10 * one.upper
    with pytest.warns(UserWarning):
        _, at = closed_form.vicreg_hinge_certified_optimum(G, k, lambda_c=thr)
        _, below = closed_form.vicreg_hinge_certified_optimum(G, k, lambda_c=0.98 * thr,
                                                              max_boxes=500)
    assert at.diagonal - at.lower <= at.tol
    assert below.diagonal - below.upper > 10 * below.tol


def test_exact_threshold_on_cliques_is_the_local_one() -> None:
    ex = closed_form.vicreg_hinge_exact_threshold(graphs.augmentation_graph(3, 4), 3)
    assert ex.decided and ex.lower == ex.upper == pytest.approx(ex.local, rel=1e-12)


def test_exact_threshold_on_the_path_is_above_the_local_one() -> None:
    """alpha = 2, K = 2: the prediction is locally optimal above lambda_c^dagger but beaten
    by a non-local move until about 2.8 x; at upper it is certified, at lower beaten."""
    G = _path()
    ex = closed_form.vicreg_hinge_exact_threshold(G, 2, lambda_s=50.0, rtol=0.02)
    assert ex.decided and ex.upper <= 1.02 * ex.lower and ex.lower > 2 * ex.local
    _, up = closed_form.vicreg_hinge_certified_optimum(G, 2, lambda_s=50.0,
                                                       lambda_c=ex.upper)
    _, lo = closed_form.vicreg_hinge_certified_optimum(G, 2, lambda_s=50.0,
                                                       lambda_c=ex.lower)
    assert up.diagonal - up.lower <= up.tol
    assert lo.diagonal - lo.upper > lo.tol and ex.lower_beaten
    # monotone: beaten further below, exact further above
    _, below = closed_form.vicreg_hinge_certified_optimum(G, 2, lambda_s=50.0,
                                                          lambda_c=ex.lower / 2)
    assert below.diagonal - below.upper > below.tol
    _, far = closed_form.vicreg_hinge_certified_optimum(G, 2, lambda_s=50.0,
                                                        lambda_c=4 * ex.upper)
    assert far.diagonal - far.lower <= far.tol


def test_exact_threshold_is_infinite_with_two_directions_at_the_kink() -> None:
    ex = closed_form.vicreg_hinge_exact_threshold(_path(), K)  # 25/25: two at the kink
    assert math.isinf(ex.local) and math.isinf(ex.lower) and ex.n_solves == 0


def test_exact_threshold_validation() -> None:
    with pytest.raises(ValueError, match="rtol"):
        closed_form.vicreg_hinge_exact_threshold(_path(), 2, rtol=1.5)
    with pytest.raises(ValueError, match="K <= 5"):
        closed_form.vicreg_hinge_exact_threshold(_path(), 6)


@pytest.mark.parametrize("case", ["path-K1", "cliques-K3"])
def test_exact_threshold_when_no_cut_counts(case: str) -> None:
    """lambda_c^dagger = 0 (K = 1, or all kept eigenvalues tied at 0): the prediction is
    optimal at every weight tried, and the search stops at a floor instead of reaching 0."""
    if case == "path-K1":
        ex = closed_form.vicreg_hinge_exact_threshold(_path(), 1)
    else:
        ex = closed_form.vicreg_hinge_exact_threshold(graphs.augmentation_graph(6, 4), 3)
    assert ex.local == 0 and ex.lower == 0 and not ex.lower_beaten
    assert ex.decided and 0 < ex.upper < 0.05


def test_variance_cap_sets_exactly_the_large_variances_to_the_level() -> None:
    gen = torch.Generator().manual_seed(5)
    Z = torch.randn(20, 4, generator=gen, dtype=torch.float64) * torch.tensor(
        [0.5, 1.0, 2.0, 3.0], dtype=torch.float64)
    var = losses.covariance(Z).diagonal()
    out = losses.covariance(closed_form.vicreg_hinge_variance_cap(Z, 1.0)).diagonal()
    big = var > 1.0
    assert big.any() and (~big).any()
    assert torch.allclose(out[big], torch.ones_like(out[big]), rtol=1e-12)
    assert torch.allclose(out[~big], var[~big], rtol=1e-14, atol=0)


def _random_box_problem(rng: np.random.Generator, k: int):
    lam = np.sort(rng.uniform(0.0, 4.0, k))
    lam[: rng.integers(0, k)] = 0.0  # ties at 0, as on cliques
    lam.sort()
    ls, lv, lc = rng.uniform(1.0, 50.0), 25.0, 10 ** rng.uniform(-1, 3)
    eps, rho = 1e-4, 1.0 + rng.uniform(0.0, 0.2)
    w = {"lambda_s": ls, "lambda_v": lv, "lambda_c": lc, "eps": eps, "rho": rho}
    a, b, v = 2 * ls * lam / k, lc * rho ** 2 / k, lv / k
    t = (1 - eps) / rho
    # a box of sorted diagonals: lo and hi non-increasing, lo <= hi
    hi = np.sort(rng.uniform(0.0, t, k))[::-1]
    lo = np.minimum(hi, np.sort(rng.uniform(0.0, t, k))[::-1] * rng.uniform(0.5, 1.0))
    lo = np.maximum.accumulate(lo[::-1])[::-1]
    return lam, w, a, b, v, lo, hi


@pytest.mark.parametrize("k", [2, 3, 5])
def test_dual_box_bound_never_exceeds_the_reduced_objective(k: int) -> None:
    """The Lagrange bound of a box is below the reduced objective at every (c, d) with d
    sorted in the box and c majorising d (c = d + transfers across the cuts)."""
    rng = np.random.default_rng(k)
    for _ in range(40):
        lam, w, a, b, v, lo, hi = _random_box_problem(rng, k)
        bound = closed_form._majorization_dual_bound(lo[None], hi[None], a, b, v,
                                                     w["eps"], w["rho"])[0]
        for _ in range(50):
            d = np.sort(rng.uniform(lo, hi))[::-1]
            d = np.clip(d, lo, hi)
            S = rng.exponential(0.05, k - 1) * rng.integers(0, 2, k - 1)
            c = d + np.diff(np.concatenate([[0.0], S, [0.0]]))
            if (c < 0).any():
                continue
            phi = closed_form.vicreg_hinge_reduced_objective(c, d, lam, **w)
            assert bound <= phi + 1e-12 * max(1.0, abs(phi))


def test_dual_box_bound_is_tight_on_a_small_box() -> None:
    """On a box of half-width h the relaxation differs from the problem only by the chords
    of -b d_k^2 (at most b h^2 each): the bound is within K b h^2 of the box's minimum (found
    by SLSQP from every corner).  A valid but loose bound, such as the transfer bound with
    the box's smallest gaps (error of order b h S), would fail."""
    from itertools import product

    from scipy.optimize import minimize
    rng = np.random.default_rng(7)
    k, h = 3, 1e-3
    n_transfer = 0
    for _ in range(20):
        lam, w, a, b, v, _, _ = _random_box_problem(rng, k)
        d0 = np.array([0.8, 0.5, 0.2]) / w["rho"] + rng.uniform(-0.05, 0.05, k)
        lo, hi = d0 - h, d0 + h
        bound = closed_form._majorization_dual_bound(lo[None], hi[None], a, b, v,
                                                     w["eps"], w["rho"])[0]

        def obj(x):
            c, d = x[:k], x[k:]
            return a @ c + b * (c @ c - d @ d) + v * closed_form._hinge_values(
                d, w["eps"], w["rho"]).sum()

        cons = [{"type": "ineq", "fun": (lambda x, j=j: x[:j + 1].sum() - x[k:k + j + 1].sum())}
                for j in range(k - 1)]
        cons += [{"type": "eq", "fun": lambda x: x[:k].sum() - x[k:].sum()}]
        cons += [{"type": "ineq", "fun": (lambda x, j=j: x[j] - x[j + 1])}
                 for j in range(k - 1)]
        box = [(0.0, None)] * k + list(zip(lo, hi))
        best, x_best = np.inf, None
        for corner in [tuple(d0)] + list(product(*zip(lo, hi))):
            x0 = np.concatenate([np.sort(corner)[::-1], corner])
            res = minimize(obj, x0, method="SLSQP", bounds=box, constraints=cons,
                           options={"ftol": 1e-14, "maxiter": 500})
            feasible = all(cn["fun"](res.x) >= -1e-10 if cn["type"] == "ineq"
                           else abs(cn["fun"](res.x)) <= 1e-10 for cn in cons)
            if feasible and res.fun < best:  # SLSQP's success flag is often False
                best, x_best = res.fun, res.x
        phi = closed_form.vicreg_hinge_reduced_objective(
            np.maximum(x_best[:k], 0), x_best[k:], lam, **w)
        n_transfer += bool(np.abs(x_best[:k] - x_best[k:]).max() > 10 * h)
        assert bound <= phi + 1e-9 * max(1.0, abs(phi))
        assert phi - bound <= k * b * h ** 2 + 1e-7 * max(1.0, abs(phi))
    assert n_transfer >= 5  # the cases include optima that move variance across cuts


def test_search_on_cliques_with_more_directions_needs_few_boxes() -> None:
    """3 cliques of 4 views, K = 4 (eigenvalues 0, 0, 4, 4): the duality bound certifies
    the minimum to 1% of the gap at every covariance weight within a few thousand boxes
    (with the box-wise bound alone the search needed millions at lambda_c = 10)."""
    G = graphs.augmentation_graph(3, 4)
    for lc in (1.0, 10.0, 30.0, 60.0):
        with pytest.warns(UserWarning):
            Z, cert = closed_form.vicreg_hinge_certified_optimum(G, 4, lambda_c=lc,
                                                                 gap_rtol=1e-2,
                                                                 max_boxes=5000)
        assert cert.certified and cert.lower <= cert.upper
        assert abs(float(losses.vicreg_hinge(Z, G, cov_coeff=lc)) - cert.upper) \
            < 1e-10 * cert.upper


def test_linear_certificate_on_a_full_basis_is_the_nonparametric_one() -> None:
    """X = sqrt(N) times an orthonormal basis of 1-perp: every centred Z is some XW, so the
    linear minimum must be the nonparametric one (both certified, brackets overlap)."""
    G = _path()
    lam, U = torch.linalg.eigh(graphs.laplacian(G))
    X = N ** 0.5 * U[:, 1:]  # Sigma = I, M = diag(lambda_2..lambda_N)
    for lc in (1.0, 1e2):
        W, lin = closed_form.vicreg_hinge_linear_certified_optimum(X, G, K, lambda_c=lc,
                                                                   gap_rtol=1e-3)
        _, npar = closed_form.vicreg_hinge_certified_optimum(G, K, lambda_c=lc,
                                                             gap_rtol=1e-3)
        assert lin.certified and npar.certified
        assert lin.lower <= npar.upper + 1e-12 and npar.lower <= lin.upper + 1e-12
        assert abs(float(losses.vicreg_hinge(X @ W, G, cov_coeff=lc)) - lin.upper) \
            <= 1e-12 * 10 * lin.upper


def test_linear_certificate_bounds_training_and_beats_the_prediction() -> None:
    """Digits in 8 principal axes, a 10-NN graph: Adam on W never goes below the certified
    lower bound, and at the reference weights the certified minimum is below the
    diagonal prediction; with a large covariance weight the prediction is certified."""
    X, _ = data.digits(120, seed=3)
    X = X - X.mean(dim=0)
    X = X @ torch.linalg.svd(X, full_matrices=False).Vh[:8].T
    G = graphs.knn_graph(X, 10)
    W_c, cert = closed_form.vicreg_hinge_linear_certified_optimum(X, G, 3)
    assert cert.certified and cert.upper < cert.diagonal - 10 * cert.tol
    assert abs(float(losses.vicreg_hinge(X @ W_c, G)) - cert.upper) < 1e-10 * cert.upper
    gen = torch.Generator().manual_seed(1)
    W = (0.1 * torch.randn(8, 3, generator=gen, dtype=torch.float64)).requires_grad_(True)
    opt = torch.optim.Adam([W], lr=1e-2)
    for _ in range(800):
        opt.zero_grad()
        loss = losses.vicreg_hinge(X @ W, G)
        assert float(loss.detach()) >= cert.lower - 1e-9 * cert.diagonal
        loss.backward()
        opt.step()
    _, big = closed_form.vicreg_hinge_linear_certified_optimum(X, G, 3, lambda_c=1e6)
    assert big.diagonal - big.lower <= big.tol


def test_linear_certificate_refuses_a_sparse_graph_before_searching() -> None:
    """The certificate evaluates the dense N x N loss: a CSR G is refused at once, with the
    fix in the message, instead of failing inside the loss after the search."""
    import scipy.sparse as sp
    X, _ = data.digits(60, seed=0)
    X = X @ torch.linalg.svd(X - X.mean(dim=0), full_matrices=False).Vh[:4].T
    G = sp.csr_matrix(graphs.knn_graph(X, 5).numpy())
    with pytest.raises(ValueError, match="toarray"):
        closed_form.vicreg_hinge_linear_certified_optimum(X, G, 2)


def test_clique_certificate_lower_bound_never_exceeds_the_upper() -> None:
    """On cliques the kept eigenvalues are exact zeros that eigh returns as rounding noise
    (|lambda| ~ 1e-15); the search sets them to exactly 0 (an assigned value, so == is
    the test), and noise cannot lift the lower bound above the loss attained."""
    for n_samples, n_views, K in ((3, 2, 3), (4, 3, 4), (2, 3, 3)):
        G = graphs.augmentation_graph(n_samples, n_views)
        for lc in (1.0, 30.0):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _, cert = closed_form.vicreg_hinge_certified_optimum(
                    G, K, lambda_c=lc, gap_rtol=1e-2, max_boxes=20000)
            assert cert.lower <= cert.upper
            # the cleaning itself: the kept zeros are stored (and searched) as exact 0
            assert np.all(cert.eigenvalues[: n_samples - 1] == 0.0)
