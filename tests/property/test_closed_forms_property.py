"""Properties of the closed forms on random weighted graphs (hypothesis).

For every drawn graph, K and alpha, the closed form must satisfy its defining
identities (not just on the hand-picked problems of tests/unit):

* vicreg_optimum (R10): C(Z) = diag(c) to 1e-10, the gradient of
  losses.vicreg vanishes (1e-8), Details.loss = loss at Z;
* spectral_contrastive_optimum (R13): loss = -sum max(0, mu)^2 with mu the
  eigenvalues of G (NumPy), and the gradient vanishes;
* vicreg_linear_optimum (R15): C(XW) = diag(c) to 1e-10.

Tolerances: eigen-decompositions are backward stable, so residuals such as
L U - U Lambda are ~1e-15 * ||L|| whatever the eigengap; the quantities tested
are of that kind (||L|| <= 2 * 11 * 10 = 220 here), hence 1e-10 for C and
1e-8 for gradients (a sum of N <= 12 such terms, relative to the gradient's
scale).  Draws with a near-tie at the cut (relative gap < 1e-6) are filtered:
the closed form would warn that it is one of several minimisers.
"""
import warnings

import numpy as np
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from sslspec_lib import closed_form, losses
from strategies import SETTINGS, data_matrices, gap_at, weighted_graphs

GAP = 1e-6


def value_and_grad(loss_fn, Z):
    Z = Z.detach().clone().requires_grad_(True)
    loss = loss_fn(Z)
    (g,) = torch.autograd.grad(loss, Z)
    return float(loss.detach()), g


def laplacian_spectrum_centred(G):
    W = G.numpy()
    lam = np.linalg.eigvalsh(np.diag(W.sum(1)) - W)
    return lam[1:]  # connected graphs: drop the simple 0 (the constant vector)


@SETTINGS
@given(G=weighted_graphs(), data=st.data())
def test_vicreg_optimum_properties(G, data):
    n = G.shape[0]
    K = data.draw(st.integers(1, n - 1), label="K")
    alpha = data.draw(st.floats(1e-3, 10.0), label="alpha")
    lam = laplacian_spectrum_centred(G)
    if 1 - alpha * lam[K - 1] > 0:  # a tie matters only if the K-th direction is kept
        assume(gap_at(lam, K) > GAP)
    Z, det = closed_form.vicreg_optimum(G, K, alpha, return_details=True)
    c = np.maximum(0.0, 1 - alpha * lam[:K])
    np.testing.assert_allclose(det.c.numpy(), c, atol=1e-10)
    torch.testing.assert_close(losses.covariance(Z), torch.diag(det.c), atol=1e-10, rtol=0)
    value, g = value_and_grad(lambda Z: losses.vicreg(Z, G, alpha), Z)
    assert float(g.abs().max()) < 1e-8
    assert abs(det.loss - value) <= 1e-10 * max(1.0, abs(value))


@SETTINGS
@given(G=weighted_graphs(), data=st.data())
def test_spectral_contrastive_optimum_properties(G, data):
    n = G.shape[0]
    K = data.draw(st.integers(1, n), label="K")
    normalized = data.draw(st.booleans(), label="normalized")
    A = G
    if normalized:
        s = G.sum(dim=1).rsqrt()
        A = s[:, None] * G * s[None, :]
        A = (A + A.T) / 2
    mu = np.linalg.eigvalsh(A.numpy())[::-1]  # descending
    if mu[K - 1] > 0:
        assume(gap_at(mu, K) > GAP)
    Z, det = closed_form.spectral_contrastive_optimum(G, K, normalized=normalized,
                                                      return_details=True)
    value, g = value_and_grad(lambda Z: losses.spectral_contrastive(Z, A), Z)
    expected = -float((np.maximum(mu[:K], 0.0) ** 2).sum())
    scale = max(1.0, float(mu.max())) ** 2
    assert abs(value - expected) <= 1e-10 * scale
    assert abs(det.loss - value) <= 1e-10 * scale
    # gradient -4 A Z + 4 Z Z^T Z: each term is ~ mu_max^1.5 in size
    assert float(g.abs().max()) < 1e-8 * max(1.0, float(mu.max())) ** 1.5


@SETTINGS
@given(G=weighted_graphs(), data=st.data())
def test_vicreg_linear_optimum_whitens_to_diag_c(G, data):
    n = G.shape[0]
    X = data.draw(data_matrices(n), label="X")
    K = data.draw(st.integers(1, X.shape[1]), label="K")
    alpha = data.draw(st.floats(1e-3, 10.0), label="alpha")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        W, det = closed_form.vicreg_linear_optimum(X, G, K, alpha, return_details=True)
    assume(not caught)  # a near-tie at the cut: W is one minimiser among several
    C = losses.covariance(X @ W)
    torch.testing.assert_close(C, torch.diag(det.c), atol=1e-10, rtol=0)
    assert bool((det.c >= 0).all()) and bool((det.c <= 1).all())
    value, g = value_and_grad(lambda W: losses.vicreg(X @ W, G, alpha), W)
    assert abs(det.loss - value) <= 1e-10 * max(1.0, abs(value))
