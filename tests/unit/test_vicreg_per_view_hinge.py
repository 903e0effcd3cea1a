"""Unit tests of the per-view hinge optimum on cliques and the fixed-graph smooth VICReg loss.

Tolerances: every comparison is of float64 sums of at most a few thousand O(1)
terms (rounding ~1e-14 relative); 1e-10 relative leaves four orders of magnitude.
"""
import pytest
import torch

from sslspec_lib import closed_form, graphs, losses

REL = 1e-10
REF = dict(sim_coeff=25.0, std_coeff=25.0, cov_coeff=1.0, eps=1e-4)


def per_view_loss(n_s, V, K, **w):
    G = graphs.augmentation_graph(n_s, V)
    return lambda Z: float(losses.vicreg_hinge(Z, G, n_views=V, **{**REF, **w}))


@pytest.mark.parametrize("n_s,V,K,lc", [(6, 2, 4, 1.0), (6, 2, 8, 1.0), (6, 2, 8, 5.0),
                                        (6, 2, 24, 1.0), (5, 3, 9, 1.0), (7, 2, 10, 1.0),
                                        (6, 2, 8, 0.0), (6, 2, 8, 30.0)])
def test_explicit_point_has_the_upper_value(n_s, V, K, lc):
    Z, det = closed_form.vicreg_hinge_per_view_optimum(n_s, V, K, return_details=True,
                                                       **{**REF, "cov_coeff": lc})
    loss = per_view_loss(n_s, V, K, cov_coeff=lc)
    assert Z.shape == (n_s * V, K)
    assert abs(loss(Z) - det.upper) <= REL * max(1.0, det.upper)
    assert det.lower <= det.upper + REL
    # invariant: every view of a sample is one row
    assert torch.equal(Z[0::V], Z[1::V])
    if K <= n_s - 1:
        assert det.exact and det.upper == 0.0 and det.rank == K
    else:
        assert det.rank == n_s - 1
        assert det.n_collapsed == (K - n_s + 1 if lc == 30.0 else 0)
        C = losses.covariance(Z)
        assert int((torch.linalg.eigvalsh(C) > 1e-9).sum()) == n_s - 1


@pytest.mark.parametrize("K,lc", [(8, 1.0), (8, 5.0), (24, 1.0), (12, 2.0)])
def test_lower_bound_holds_on_random_representations(K, lc):
    n_s, V = 6, 2
    _, det = closed_form.vicreg_hinge_per_view_optimum(n_s, V, K, return_details=True,
                                                       **{**REF, "cov_coeff": lc})
    loss = per_view_loss(n_s, V, K, cov_coeff=lc)
    g = torch.Generator().manual_seed(0)
    for r in range(60):
        scale = 0.2 * (1 + r % 10)
        Z = scale * torch.randn(n_s * V, K, generator=g, dtype=torch.float64)
        if r % 2:
            Z = Z[::V].repeat_interleave(V, dim=0)
        assert loss(Z) >= det.lower - REL


def test_exact_condition_and_value():
    n_s, V, K = 6, 2, 8
    p, beta = n_s - 1, 1 - REF["eps"]
    _, det = closed_form.vicreg_hinge_per_view_optimum(n_s, V, K, return_details=True,
                                                       **REF)
    assert det.exact
    assert det.threshold == pytest.approx(2 * V * beta * (2 * K / p - 1), rel=REL)
    assert det.upper == pytest.approx(V * beta ** 2 * (K - p) / p, rel=REL)
    # just above the threshold of the covariance weight: no longer exact
    lc = 25.0 / det.threshold * 1.01
    _, d2 = closed_form.vicreg_hinge_per_view_optimum(n_s, V, K, return_details=True,
                                                      **{**REF, "cov_coeff": lc})
    assert not d2.exact and d2.lower < d2.upper


def test_a_wrong_minimum_is_caught():
    """A closed form 1 % below the true minimum is refuted by the explicit point."""
    n_s, V, K = 6, 2, 8
    Z, det = closed_form.vicreg_hinge_per_view_optimum(n_s, V, K, return_details=True,
                                                       **REF)
    wrong = 0.99 * det.upper
    assert per_view_loss(n_s, V, K)(Z) - wrong > 1e3 * REL
    # and a wrong explicit point (variance 1 - 2 eps, off the kink) is not optimal
    Zw = Z * ((1 - 2 * REF["eps"]) / (1 - REF["eps"])) ** 0.5
    assert per_view_loss(n_s, V, K)(Zw) > det.upper + 1e3 * REL


def test_per_view_optimum_validates():
    with pytest.raises(ValueError):
        closed_form.vicreg_hinge_per_view_optimum(2, 2, 3)
    with pytest.raises(ValueError):
        closed_form.vicreg_hinge_per_view_optimum(6, 1, 3)
    with pytest.raises(ValueError):
        closed_form.vicreg_hinge_per_view_optimum(6, 2, 3, eps=1.0)
    with pytest.raises(ValueError):
        closed_form.vicreg_hinge_per_view_optimum(6, 2, 3, sim_coeff=0.0)


def test_vicreg_fixed_graph_equals_vicreg():
    g = torch.Generator().manual_seed(1)
    X = torch.randn(40, 5, generator=g, dtype=torch.float64)
    G = graphs.knn_graph(X, 4)
    loss = losses.vicreg_fixed_graph(G, 0.3)
    for K in (1, 3, 6):
        Z = torch.randn(40, K, generator=g, dtype=torch.float64, requires_grad=True)
        a, b = loss(Z), losses.vicreg(Z, G, 0.3)
        assert abs(float(a.detach()) - float(b.detach())) <= REL * max(1.0, abs(float(b.detach())))
        ga, = torch.autograd.grad(a, Z)
        gb, = torch.autograd.grad(b, Z)
        torch.testing.assert_close(ga, gb, rtol=REL, atol=REL)
    # a wrong weight is caught
    Z = Z.detach()
    assert abs(float(losses.vicreg_fixed_graph(G, 0.31)(Z)) - float(
        losses.vicreg(Z, G, 0.3))) > 1e3 * REL


def test_vicreg_fixed_graph_validates():
    G = graphs.augmentation_graph(3, 2)
    with pytest.raises(ValueError):
        losses.vicreg_fixed_graph(G, 0.0)
    with pytest.raises(ValueError):
        losses.vicreg_fixed_graph(-G, 1.0)
    with pytest.raises(ValueError):
        losses.vicreg_fixed_graph(G, 1.0)(torch.zeros(5, 2, dtype=torch.float64))
