"""Barlow Twins in the reference form, each view normalised separately (R14).

The pairwise loss against the reference two-view loss, the closed form of the two-view
minimiser (value, unit-variance views, symmetric cross-correlation) and a perturbed closed
form that the chapter's checks must reject.
"""
import warnings

import pytest
import torch

from sslspec_lib import closed_form, graphs, losses

F64 = torch.float64


def l_star(p, K, lam):
    return lam * K * (K - p) / (p + lam * (K - p))


def test_pairwise_two_views_is_the_reference_loss():
    g = torch.Generator().manual_seed(0)
    Z = torch.randn(16, 5, generator=g, dtype=F64)
    for lam in [0.0, 0.0051, 2.0]:
        a = losses.barlow_twins_pairwise(Z, 2, lam)
        b = losses.barlow_twins_two_view(Z[0::2], Z[1::2], lam)
        torch.testing.assert_close(a, b, rtol=1e-13, atol=0.0)


def test_pairwise_is_the_mean_over_pairs_and_differs_from_relation_form():
    g = torch.Generator().manual_seed(1)
    Z = torch.randn(18, 4, generator=g, dtype=F64)
    lam = 0.3
    pairs = [losses.barlow_twins_two_view(Z[v::3], Z[w::3], lam)
             for v, w in [(0, 1), (0, 2), (1, 2)]]
    torch.testing.assert_close(losses.barlow_twins_pairwise(Z, 3, lam),
                               torch.stack(pairs).mean(), rtol=1e-13, atol=0.0)
    G = graphs.augmentation_graph(6, 3).to(F64)
    rel = losses.barlow_twins(Z, G, lam, n_views=3)
    assert abs(float(rel - losses.barlow_twins_pairwise(Z, 3, lam))) > 1e-3


def test_pairwise_ignores_per_view_affine_maps():
    g = torch.Generator().manual_seed(2)
    Z = torch.randn(12, 3, generator=g, dtype=F64)
    Z2 = Z.clone()
    Z2[1::2] = 3.0 * Z2[1::2] + 2.0
    torch.testing.assert_close(losses.barlow_twins_pairwise(Z, 2, 0.1, eps=0.0),
                               losses.barlow_twins_pairwise(Z2, 2, 0.1, eps=0.0),
                               rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("n_s,K,lam", [(6, 6, 0.0051), (6, 8, 0.2), (6, 8, 1.0),
                                       (5, 7, 0.5), (6, 9, 0.0), (4, 5, 0.3)])
def test_two_view_optimum_value_and_structure(n_s, K, lam):
    za, zb, det = closed_form.barlow_twins_two_view_optimum(n_s, K, lam,
                                                            return_details=True)
    p = n_s - 1
    assert det.loss == pytest.approx(l_star(p, K, lam), rel=1e-12, abs=1e-15)
    for z in (za, zb):  # standardised: centred, biased variance 1
        torch.testing.assert_close(z.mean(dim=0), torch.zeros(K, dtype=F64), atol=1e-13,
                                   rtol=0)
        torch.testing.assert_close(z.pow(2).mean(dim=0), torch.ones(K, dtype=F64),
                                   atol=1e-13, rtol=0)
    C = za.T @ zb / n_s
    torch.testing.assert_close(C, C.T, atol=1e-13, rtol=0)
    torch.testing.assert_close(torch.linalg.eigvalsh(C).flip(0), det.eigenvalues,
                               atol=1e-12, rtol=0)
    val = losses.barlow_twins_two_view(za, zb, lam, eps=0.0)
    assert float(val) == pytest.approx(det.loss, rel=1e-12, abs=1e-14)
    if lam > 0:
        assert float((za - zb).norm()) > 1e-2  # the two views differ


def test_two_view_optimum_is_a_critical_point():
    za, zb = closed_form.barlow_twins_two_view_optimum(6, 8, 0.2)
    Z = torch.stack([za, zb], dim=1).reshape(12, 8).requires_grad_(True)
    g = torch.autograd.grad(losses.barlow_twins_pairwise(Z, 2, 0.2, eps=0.0), Z)[0]
    assert float(g.norm()) < 1e-12


def test_perturbed_closed_form_fails_the_value_check():
    # equal views with unit columns (the construction with x = K/p) give
    # lambda K (K - p) / p, not l*: a wrong optimum is caught by orders of magnitude
    n_s, K, lam = 6, 8, 0.2
    za, _ = closed_form.barlow_twins_two_view_optimum(n_s, K, 0.0)
    wrong = float(losses.barlow_twins_two_view(za, za, lam, eps=0.0))
    assert wrong - l_star(n_s - 1, K, lam) > 1e-2


def test_two_view_optimum_small_K_warns_and_is_zero():
    with pytest.warns(UserWarning, match="the optimum is not unique"):
        za, zb = closed_form.barlow_twins_two_view_optimum(6, 3, 0.0051)
    assert float(losses.barlow_twins_two_view(za, zb, 0.0051, eps=0.0)) < 1e-28
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        closed_form.barlow_twins_two_view_optimum(6, 5, 0.0051)


@pytest.mark.parametrize("args,match", [
    ((1, 3, 0.1), r"The 'n_samples' parameter of barlow_twins_two_view_optimum must be "
                  r"an int"),
    ((6, 0, 0.1), r"The 'K' parameter of barlow_twins_two_view_optimum must be an int"),
    ((6, 8, 2.0), r"The 'lambd' parameter of barlow_twins_two_view_optimum must be a real "
                  r"number in \[0, 1\]"),
    ((3, 5, 0.5), r"needs N'-1 >= 3"),
    ((6, 8, -0.1), r"The 'lambd' parameter of barlow_twins_two_view_optimum must be a "
                   r"finite real number >= 0"),
])
def test_two_view_optimum_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        closed_form.barlow_twins_two_view_optimum(*args)


@pytest.mark.parametrize("args,kwargs,match", [
    ((torch.zeros(7, 3), 2), {}, r"Z has 7 rows in barlow_twins_pairwise, not a multiple"),
    ((torch.zeros(8, 3), 1), {}, r"The 'n_views' parameter of barlow_twins_pairwise must be "
                                 r"an int in the range \[2, 8\]"),
    ((torch.zeros(8, 3), 2, -1.0), {}, r"The 'lambd' parameter of barlow_twins_pairwise"),
])
def test_pairwise_rejects_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        losses.barlow_twins_pairwise(*args, **kwargs)
