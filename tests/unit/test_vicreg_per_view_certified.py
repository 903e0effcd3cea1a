"""Unit tests of the certified per-view hinge optimum on cliques (R11).

The certificate reduces the problem twice (to a K x K covariance of rank <= N' - 1,
then to families of variances with three values, or to the K families of the
Cauchy-Schwarz relaxation); the tests check its answer
against things that use neither reduction: the library's loss at the returned
point and at random representations, and a local search over all K variances of
the water-filling objective (the smallest frame potential of given norms).

Tolerances: the certificate's own ``tol`` (1e-9 of the loss by default) plus the
rounding of float64 sums of at most a few thousand O(1) terms (~1e-13); the local
search is a different method with its own accuracy (Powell, ftol 1e-12), so its
agreement is asked to 1e-7 relative, 30 times wider than what it reaches here.
"""
import warnings

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from sslspec_lib import closed_form, graphs, losses

REF = dict(sim_coeff=25.0, std_coeff=25.0, cov_coeff=1.0, eps=1e-4)
ROUND = 1e-12


def reduced(d, n_s, V, K, lv, lc, eps):
    """v sum h(d) + b (g(d) - sum d^2), g the least frame potential of squared norms d."""
    p = n_s - 1
    d = np.sort(np.clip(d, 0.0, None))[::-1]
    for j in range(p):
        T, q = d[j:].sum(), p - j
        if d[j] <= T / q:
            g = (d[:j] ** 2).sum() + T * T / q
            break
    h = np.maximum(0.0, 1.0 - np.sqrt(d + eps))
    return lv / K * h.sum() + lc * V / K * (g - (d ** 2).sum())


CASES = [(6, 2, 24, 25.0, 1.0, 1e-4),   # the chapter's K = 24: the tight frame is optimal
         (6, 2, 12, 25.0, 3.0, 1e-4),   # below the bracket's explicit point
         (6, 2, 8, 25.0, 10.0, 1e-4),
         (5, 2, 20, 3.4, 10.3, 1e-4),   # three columns orthogonal to all others
         (6, 2, 14, 0.61, 0.48, 0.0),   # eps = 0
         (4, 3, 9, 25.0, 1.0, 1e-4)]    # the weight condition holds: exact bracket


@pytest.mark.parametrize("n_s,V,K,lv,lc,eps", CASES)
def test_certificate_against_the_loss_and_a_local_search(n_s, V, K, lv, lc, eps):
    w = dict(REF, std_coeff=lv, cov_coeff=lc, eps=eps)
    Z, cert = closed_form.vicreg_hinge_per_view_certified(n_s, V, K, **w)
    G = graphs.augmentation_graph(n_s, V)
    loss = lambda Z: float(losses.vicreg_hinge(Z, G, n_views=V, **w))
    assert cert.certified and cert.upper_reduced - cert.lower <= cert.tol
    assert abs(loss(Z) - cert.upper) <= ROUND * max(1.0, cert.upper)
    assert abs(cert.upper - cert.upper_reduced) <= 1e-10 * max(1.0, cert.upper)
    assert torch.equal(Z[0::V], Z[1::V])  # invariant
    C = losses.covariance(Z[0::V]) * n_s / (n_s - 1)
    assert int((torch.linalg.eigvalsh(C) > 1e-9).sum()) == cert.rank <= n_s - 1
    assert np.allclose(np.sort(torch.diagonal(C).numpy())[::-1], cert.d, atol=1e-10)
    # never above the bracket's explicit point, never below its lower bound
    assert cert.upper <= cert.bracket.upper + ROUND * cert.bracket.upper
    assert cert.lower >= cert.bracket.lower - ROUND * max(1.0, cert.bracket.lower)
    # a local search over all K variances, from many starts, lands on the certified value
    rng = np.random.default_rng(0)
    args = (n_s, V, K, lv, lc, eps)
    best = min(minimize(reduced, rng.uniform(0, 1 - eps, K) * rng.uniform(0.05, 1), args=args,
                        method="Powell", bounds=[(0, 1 - eps)] * K,
                        options=dict(xtol=1e-10, ftol=1e-12, maxiter=20000)).fun
               for _ in range(20))
    assert best >= cert.lower - ROUND * max(1.0, cert.lower)
    assert best - cert.upper <= 1e-7 * max(1.0, cert.upper)
    # no representation goes below the lower bound
    g = torch.Generator().manual_seed(1)
    for r in range(50):
        Zr = (0.2 + 0.1 * (r % 10)) * torch.randn(n_s, K, generator=g, dtype=torch.float64)
        Zr = Zr.repeat_interleave(V, dim=0) if r % 2 else \
            torch.randn(n_s * V, K, generator=g, dtype=torch.float64)
        assert loss(Zr) >= cert.lower - ROUND * max(1.0, cert.lower)


def test_columns_orthogonal_to_all_others_can_be_optimal():
    # weights 25:3.4:10.3: three columns sit at the kink in their own directions and the
    # others share a one-dimensional tight frame; the search restricted to j = 0 proves that
    # every point without such columns is higher by far more than the tolerance
    w = dict(REF, std_coeff=3.4, cov_coeff=10.3)
    _, cert = closed_form.vicreg_hinge_per_view_certified(5, 2, 20, **w)
    _, only0 = closed_form.vicreg_hinge_per_view_certified(5, 2, 20, max_orthogonal=0, **w)
    assert cert.n_orthogonal == 3 and cert.rank == 4
    assert cert.upper < cert.bracket.upper * (1 - 1e-3)
    assert only0.certified and only0.n_orthogonal == 0 and only0.n_families < cert.n_families
    assert only0.lower - cert.upper > 1e3 * cert.tol


def test_a_wrong_family_is_caught():
    # the bracket's explicit point is not the minimum at K = 12, lambda_c = 3: the certified
    # value is below it by far more than the tolerance
    _, cert = closed_form.vicreg_hinge_per_view_certified(6, 2, 12, **dict(REF, cov_coeff=3.0))
    assert cert.bracket.upper - cert.upper > 1e3 * cert.tol
    assert not cert.bracket.exact


@pytest.mark.parametrize("K,w", [(4, {}), (24, {"cov_coeff": 0.0}), (24, {"std_coeff": 0.0})])
def test_zero_minimum_cases(K, w):
    Z, cert = closed_form.vicreg_hinge_per_view_certified(6, 2, K, **dict(REF, **w))
    assert cert.lower == 0.0 and cert.certified and cert.upper <= cert.tol


@pytest.mark.parametrize("n_s,V,K,lv,lc,eps", CASES)
def test_relaxation_agrees_with_the_full_search(n_s, V, K, lv, lc, eps):
    # the Cauchy-Schwarz relaxation certifies only cases whose minimum is the bracket's
    # point (the converse fails: e.g. N' = 3, K = 4, lambda_v = lambda_c = 3,
    # eps = 0.3, where the bracket's point is the minimum but the relaxation is
    # strictly below it); elsewhere the full search runs and the answers coincide
    w = dict(REF, std_coeff=lv, cov_coeff=lc, eps=eps)
    _, a = closed_form.vicreg_hinge_per_view_certified(n_s, V, K, **w, point=False)
    _, b = closed_form.vicreg_hinge_per_view_certified(n_s, V, K, **w, point=False,
                                                       relaxation=False)
    assert a.certified and b.certified and not b.relaxed
    if a.relaxed:
        assert b.upper_reduced >= b.bracket.upper - b.tol
    assert abs(a.upper - b.upper) <= ROUND * max(1.0, b.upper)
    assert abs(a.lower - b.lower) <= a.tol
    if a.relaxed:
        assert a.n_families == K < b.n_families


def test_point_false_skips_only_the_point():
    w = dict(REF, cov_coeff=3.0)  # a full search whose point needs Schur-Horn
    Z, a = closed_form.vicreg_hinge_per_view_certified(6, 2, 12, **w)
    none, b = closed_form.vicreg_hinge_per_view_certified(6, 2, 12, **w, point=False)
    assert none is None and Z.shape == (12, 12)
    assert b.upper == b.upper_reduced == a.upper_reduced and b.lower == a.lower
    assert np.array_equal(a.d, b.d) and (a.n_orthogonal, a.rank) == (b.n_orthogonal, b.rank)


def test_the_reference_sizes_are_certified_by_the_relaxation():
    # N' = 2048 (batch), K = 8192, weights 25:25:1: the weight condition of the bracket fails
    # (lambda_v = 25 below its threshold), yet the relaxation's lower bound meets the tight
    # frame's value: the tight frame at variance 1 - eps is the minimum
    Z, cert = closed_form.vicreg_hinge_per_view_certified(2048, 2, 8192, point=False)
    assert Z is None and cert.certified and cert.relaxed and cert.n_families == 8192
    assert not cert.bracket.exact and cert.bracket.threshold > 25.0
    assert cert.upper == cert.bracket.upper and abs(cert.bracket.scale - (1 - 1e-4)) <= 1e-15
    assert cert.rank == 2047 and cert.n_orthogonal == 0
    assert cert.bracket.lower < cert.lower <= cert.upper
    # the value of a tight frame of 8192 columns at variance beta in 2047 dimensions
    beta, p, K = 1 - 1e-4, 2047, 8192
    assert abs(cert.upper - 2 / K * beta ** 2 * (K * K / p - K)) <= ROUND * cert.upper


def test_refusals():
    with pytest.raises(ValueError, match="families"):
        closed_form.vicreg_hinge_per_view_certified(2048, 2, 8192, relaxation=False)
    with pytest.raises(ValueError, match="max_families"):
        closed_form.vicreg_hinge_per_view_certified(6, 2, 24, max_families=10,
                                                    relaxation=False)
    with pytest.raises(ValueError, match="n_samples"):
        closed_form.vicreg_hinge_per_view_certified(2, 2, 3)
    with pytest.raises(ValueError, match="tol"):
        closed_form.vicreg_hinge_per_view_certified(6, 2, 24, tol=-1.0)
    with pytest.raises(ValueError, match="cov_coeff"):
        closed_form.vicreg_hinge_per_view_certified(6, 2, 24, cov_coeff=float("nan"))


def test_budget_exhausted_is_not_certified():
    _, cert = closed_form.vicreg_hinge_per_view_certified(6, 2, 12, cov_coeff=3.0, tol=1e-14,
                                                          max_boxes=200)
    assert not cert.certified and cert.lower <= cert.upper


certify = closed_form.vicreg_hinge_per_view_certified


def test_tol_below_the_rounding_floor_is_reported_uncertified():
    # N' = 250, K = 1000: the full search needs p (K + 1) = 249249 > max_families
    # families, so only the K-family relaxation runs.  It is tight here, and its gap
    # stops at its float64 rounding floor (about 1.5e-14 of the loss), so tol = 1e-16
    # cannot be met: the result is returned uncertified, with both bounds still valid,
    # and a warning that gives tol, the gap reached and the max_families needed
    kw = dict(point=False, max_boxes=20000)
    _, ok = certify(250, 2, 1000, **kw)
    assert ok.certified and ok.relaxed and ok.n_families == 1000
    with pytest.warns(RuntimeWarning,
                      match=r"tol=1e-16 is below the rounding floor of the relaxation "
                            r".* max_families >= 249249\. Returning certified=False"
                      ) as rec:
        _, low = certify(250, 2, 1000, tol=1e-16, **kw)
    assert not low.certified and low.relaxed and low.tol == 1e-16
    assert low.n_families == 1000
    gap = low.upper_reduced - low.lower
    assert 1e-16 < gap <= 1e-12 * low.upper
    assert f"upper - lower = {gap:.3g}" in str(rec[0].message)
    # the same point, and a lower bound that agrees with the certified one to rounding
    assert low.upper == low.upper_reduced == ok.upper == low.bracket.upper
    assert abs(low.lower - ok.lower) <= 1e-12 * ok.upper
    assert low.rank == ok.rank == 249 and np.array_equal(low.d, ok.d)


def test_tol_below_the_rounding_floor_with_the_full_search_allowed():
    # where the full search fits in max_families, a tol below the floor goes on to it
    # (no warning from the relaxation), which stops at its own rounding floor
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        _, c = certify(4, 3, 9, tol=1e-16, max_boxes=20000)
    assert not c.relaxed and c.n_families == 3 * 10 and not c.certified
    assert -ROUND <= c.upper_reduced - c.lower <= 1e-12 * c.upper


def test_a_loose_relaxation_is_still_refused():
    # N' = 3, K = 4, lambda_v = lambda_c = 3, eps = 0.3: the relaxation is strictly
    # below the minimum, far above its rounding floor, so with too few families
    # allowed the function refuses and says how far the relaxation got
    with pytest.raises(ValueError,
                       match=r"needs 10 families, more than max_families=1, and the "
                             r"relaxation did not certify the bracket's point: it "
                             r"reached upper - lower = 0\.0\d+, above tol=.* not tight"):
        certify(3, 2, 4, std_coeff=3.0, cov_coeff=3.0, eps=0.3, max_families=1)
