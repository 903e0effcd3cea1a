"""The two-view losses against pytorch-metric-learning (PML), the peer implementation.

Versions are pinned in constraints.txt (pytorch-metric-learning 2.9.0), not
here.  Expected scalings, stated and tested:

* ``VICRegLoss()(za, ref_emb=zb)`` = ``vicreg_two_view(za, zb)`` (factor 1:
  weights 25/25/1, eps 1e-4, unbiased variance, variance averaged over the two
  branches, covariance summed over them);
* ``NTXentLoss(temperature=tau)(cat(za, zb), cat(arange, arange))`` =
  ``nt_xent(za, zb, tau)`` = ``info_nce(Z, pair graph, tau)`` (factor 1: mean
  over the 2N' anchors).

Tolerance 1e-10 relative: the same float64 arithmetic in a different order
(rounding ~1e-15); PML adds ``finfo(float64).tiny`` inside its log, which is
invisible at this scale.  No formula is retyped here.
"""
import numpy as np
import pytest
import torch
from pytorch_metric_learning.losses import NTXentLoss, VICRegLoss

from sslspec_lib import graphs, losses

REL = 1e-10


def rel_err(a, b):
    a, b = float(a), float(b)
    return abs(a - b) / max(1.0, abs(b))


def views(n, K, seed, sigma=1.0):
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n, K))
    za = torch.tensor(base + sigma * rng.standard_normal((n, K)))
    zb = torch.tensor(base + sigma * rng.standard_normal((n, K)))
    return za, zb


def interleave(za, zb):
    Z = torch.empty(2 * za.shape[0], za.shape[1], dtype=za.dtype)
    Z[0::2], Z[1::2] = za, zb
    return Z


@pytest.mark.parametrize("n,K,sigma,seed", [(16, 4, 1.0, 0), (32, 8, 0.1, 1), (8, 3, 0.01, 2),
                                            (64, 2, 3.0, 3)])
def test_vicreg_two_view_equals_pml_vicreg(n, K, sigma, seed):
    za, zb = views(n, K, seed, sigma)
    ours = losses.vicreg_two_view(za, zb)
    theirs = VICRegLoss()(za, ref_emb=zb)
    assert theirs.dtype == torch.float64
    assert rel_err(ours, theirs) < REL
    # and the relation-matrix form with the pair graph, per-view statistics
    G = graphs.augmentation_graph(n, 2)
    assert rel_err(losses.vicreg_hinge(interleave(za, zb), G, n_views=2), theirs) < REL


def test_vicreg_two_view_equals_pml_with_other_weights():
    za, zb = views(20, 5, 4)
    theirs = VICRegLoss(invariance_lambda=2.0, variance_mu=7.0, covariance_v=0.3, eps=1e-3)(
        za, ref_emb=zb)
    ours = losses.vicreg_two_view(za, zb, 2.0, 7.0, 0.3, eps=1e-3)
    assert rel_err(ours, theirs) < REL


def test_vicreg_variance_hinge_is_active_in_the_comparison():
    # Small embeddings (std < 1): the hinge term is non-zero, so it is compared too.
    za, zb = views(16, 4, 5, sigma=0.1)
    za, zb = 0.2 * za, 0.2 * zb
    only_var = losses.vicreg_two_view(za, zb, 0.0, 1.0, 0.0)
    assert float(only_var) > 0.5
    assert rel_err(only_var, VICRegLoss(invariance_lambda=0.0, variance_mu=1.0,
                                        covariance_v=0.0)(za, ref_emb=zb)) < REL


@pytest.mark.parametrize("tau", [0.07, 0.5, 1.0])
@pytest.mark.parametrize("n,K,seed", [(8, 3, 0), (24, 6, 1)])
def test_nt_xent_and_info_nce_equal_pml_ntxent(tau, n, K, seed):
    za, zb = views(n, K, seed)
    labels = torch.arange(n)
    theirs = NTXentLoss(temperature=tau)(torch.cat([za, zb]), torch.cat([labels, labels]))
    assert theirs.dtype == torch.float64
    assert rel_err(losses.nt_xent(za, zb, tau), theirs) < REL
    G = graphs.augmentation_graph(n, 2)
    assert rel_err(losses.info_nce(interleave(za, zb), G, tau), theirs) < REL


def test_info_nce_differs_from_pml_with_three_views():
    """With V > 2 views PML removes the other positives from each denominator;
    the relation-matrix form keeps them (module docstring of losses).  Measured:
    the two differ, and ours is the larger (more terms in each denominator)."""
    n, K, V, tau = 6, 3, 3, 0.5
    Z = torch.tensor(np.random.default_rng(6).standard_normal((n * V, K)))
    labels = torch.arange(n).repeat_interleave(V)
    theirs = NTXentLoss(temperature=tau)(Z, labels)
    ours = losses.info_nce(Z, graphs.augmentation_graph(n, V), tau)
    # info_nce sums over the V - 1 positives of each row and averages over rows;
    # PML averages over the N (V - 1) positive pairs: divide by V - 1 to compare.
    assert float(ours) / (V - 1) > float(theirs) + 1e-3
