"""Unit tests of the ramp threshold of hinge VICReg on augmentation cliques (R11).

``vicreg_hinge_clique_ramp_threshold`` is a closed form for the weight below which
one explicit family of points (every diagonal entry of the first p + m directions at
the hinge's zero t, variance moved across the cut p in two linear ramps) beats the
diagonal prediction.  The tests rebuild those points and evaluate them with the
library's reduced objective (which equals the loss, tested elsewhere), over a grid
of ramp heights s and every m, just below and just above the threshold; and compare
the threshold with the bisection of ``vicreg_hinge_exact_threshold``, which uses a
certified branch and bound and knows nothing of ramps.

Tolerances: 1e-3 relative steps around the threshold, against a grid of 4001 ramp
heights (the excess is quadratic in s, so the grid's best is within (t/4000)^2 b of
the minimum, far below the change 1e-3 makes); values are sums of a few O(1) terms,
compared to 1e-12.
"""
import math
import warnings

import numpy as np
import pytest

from sslspec_lib import closed_form, graphs

CASES = [(4, 2, 4, 5.0), (3, 2, 4, 5.0), (4, 2, 5, 5.0), (4, 2, 4, 4.0), (3, 4, 4, 3.5),
         (3, 4, 4, 25.0), (6, 2, 9, 8.0)]


def ramp_excess(ns, V, K, ls, lc, lv=25.0, eps=1e-4):
    """Smallest reduced objective minus the prediction's over ramp points (all m, grid of s)."""
    n = ns * V
    rho, p = n / (n - 1), ns - 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ties at 0 and at V
        _, det = closed_form.vicreg_hinge_optimum(graphs.augmentation_graph(ns, V), K,
                                                  ls / lv, eps=eps, unbiased=True,
                                                  return_details=True)
    lam, cs = det.eigenvalues.double().numpy(), det.c.double().numpy()
    kw = dict(lambda_s=ls, lambda_v=lv, lambda_c=lc, eps=eps, rho=rho)
    pred = closed_form.vicreg_hinge_reduced_objective(cs, cs, lam, **kw)
    t = (1 - eps) / rho
    best = math.inf
    for m in range(1, K - p + 1):
        d = np.concatenate([np.full(p + m, t), cs[p + m:]])
        for s in np.linspace(0.0, m * t, 4001)[1:]:
            c = d.copy()
            c[:p] += s / p
            c[p:p + m] -= s / m
            best = min(best, closed_form.vicreg_hinge_reduced_objective(c, d, lam, **kw))
    return best - pred, pred


@pytest.mark.parametrize("ns,V,K,ls", CASES)
def test_ramps_beat_the_prediction_exactly_below_the_threshold(ns, V, K, ls):
    thr = closed_form.vicreg_hinge_clique_ramp_threshold(ns, V, K, lambda_s=ls)
    assert 0 < thr < math.inf
    below, pred = ramp_excess(ns, V, K, ls, thr * (1 - 1e-3))
    above, _ = ramp_excess(ns, V, K, ls, thr * (1 + 1e-3))
    assert below < -1e-12 * pred
    assert above > 1e-12 * pred


@pytest.mark.parametrize("ns,V,K,ls", [(4, 2, 4, 5.0), (3, 4, 4, 3.5)])
def test_the_exact_threshold_is_the_larger_of_the_two(ns, V, K, ls):
    # the bisection on the certified search brackets the exact threshold to 1 %;
    # on these cliques it contains max(local, ramp): the ramp where it is larger
    # (4 cliques of 2 views), the local threshold elsewhere (3 cliques of 4 views)
    G = graphs.augmentation_graph(ns, V)
    ex = closed_form.vicreg_hinge_exact_threshold(G, K, lambda_s=ls, rtol=0.01)
    ramp = closed_form.vicreg_hinge_clique_ramp_threshold(ns, V, K, lambda_s=ls)
    both = max(ex.local, ramp)
    assert ex.decided and ex.lower <= both * (1 + 1e-12) and both <= ex.upper * (1 + 1e-12)


def test_limit_ratio_to_the_local_threshold():
    # rho = 1, eps = 0: with mu = 2 lambda_s V / lambda_v > 1/2 and 2 Delta <= a t,
    # ramp / local = (p / (2 N')) (2 mu + 1) / (2 mu - 1)
    for ns, V, K, ls in [(4, 2, 4, 5.0), (6, 2, 9, 8.0), (3, 4, 4, 3.5), (2, 3, 3, 3.0)]:
        ramp = closed_form.vicreg_hinge_clique_ramp_threshold(ns, V, K, lambda_s=ls,
                                                               eps=0.0, unbiased=False)
        mu = 2 * ls * V / 25.0
        c0 = 1 / (4 * mu ** 2)  # the prediction of the eigenvalue-V directions, t = 1
        a = 2 * ls * V / K
        delta = a * (1 - c0) - 25.0 / K * (1 - math.sqrt(c0))
        assert 2 * delta <= a  # the ramp's height stays below m t: the first case
        local = ls * V / (1 - c0)
        assert abs(ramp / local - (ns - 1) / (2 * ns) * (2 * mu + 1) / (2 * mu - 1)) <= 1e-12


def test_edge_cases():
    assert closed_form.vicreg_hinge_clique_ramp_threshold(5, 2, 4) == 0.0  # K <= N' - 1
    # lambda_s so small that the eigenvalue-V directions sit at the kink as well
    assert closed_form.vicreg_hinge_clique_ramp_threshold(4, 2, 5, lambda_s=0.1) == math.inf


def test_collapsed_clique_exact_threshold_is_the_collapsed_cut() -> None:
    """3 cliques of 3 views, K = 3, lambda_s = 300: the eigenvalue-V direction collapses
    (alpha = 12 >= rho / (4 V sqrt(eps))), the cut into it gives
    lambda_v / (4 sqrt(eps) (1 - eps)), far above the ramp's threshold, and the certified
    bisection puts the exact threshold there (within its 2 %): counting that cut is what
    keeps max(local, ramp) exact on this clique."""
    G = graphs.augmentation_graph(3, 3)
    ex = closed_form.vicreg_hinge_exact_threshold(G, 3, lambda_s=300.0, rtol=0.02)
    ramp = closed_form.vicreg_hinge_clique_ramp_threshold(3, 3, 3, lambda_s=300.0)
    cut = 25.0 / (4 * math.sqrt(1e-4) * (1 - 1e-4))
    assert ex.local == pytest.approx(cut, rel=1e-9) and ex.local > 10 * ramp
    assert ex.decided and ex.lower <= ex.local * (1 + 1e-12)
    assert ex.local <= ex.upper * (1 + 1e-12) and ex.upper <= 1.02 * ex.lower


SCAN = [(ns, V, K, ls) for ns, V in [(2, 2), (3, 2), (2, 3), (4, 2), (3, 3)]
        for K in range(ns, min(6, ns * V)) for ls in (2.0, 5.0, 25.0)]


def test_exact_threshold_is_the_larger_of_the_two_on_a_grid_of_cliques():
    """The statement "exact threshold = max(local, ramp)" is a conjecture; this scan tries to
    refute it on every clique configuration of SCAN (N' = 2..4, V = 2..3, N' <= K <= 5, three
    invariance weights): the certified bisection (1 %) must contain max(local, ramp)."""
    for ns, V, K, ls in SCAN:
        G = graphs.augmentation_graph(ns, V)
        ex = closed_form.vicreg_hinge_exact_threshold(G, K, lambda_s=ls, rtol=0.01)
        ramp = closed_form.vicreg_hinge_clique_ramp_threshold(ns, V, K, lambda_s=ls)
        both = max(ex.local, ramp)
        assert ex.decided, (ns, V, K, ls)
        assert ex.lower <= both * (1 + 1e-9) and both <= ex.upper * (1 + 1e-9), \
            (ns, V, K, ls, ex, ramp)
