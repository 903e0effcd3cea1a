"""Unit tests of the low-data (R18) helpers of :mod:`sslspec_lib.experiments`."""
import numpy as np
import pytest
import torch

from sslspec_lib import closed_form, data, experiments as ex, graphs, metrics, spectral


def blobs(n_per_class=30, n_classes=4, dim=6, sep=3.0, seed=0):
    rng = np.random.default_rng(seed)
    means = sep * rng.standard_normal((n_classes, dim))
    y = np.repeat(np.arange(n_classes), n_per_class)
    X = means[y] + rng.standard_normal((len(y), dim)) @ rng.standard_normal((dim, dim))
    return torch.tensor(X), torch.tensor(y)


@pytest.fixture(scope="module")
def digits():
    return data.digits()


# -- front ends --------------------------------------------------------------------------

def test_front_ends_pca_whitened_is_a_diagonal_rescaling_of_pca():
    X, _ = blobs()
    A, At = ex.low_data_front_end(X[:80], X[80:], kind="pca", n_components=4)
    B, Bt = ex.low_data_front_end(X[:80], X[80:], kind="pca_whitened", n_components=4)
    cov = B.T @ B / B.shape[0]
    assert torch.allclose(cov, torch.eye(4, dtype=cov.dtype), atol=1e-10)
    scale = A.std(dim=0, unbiased=False)
    assert torch.allclose(A / scale, B, atol=1e-12) and torch.allclose(At / scale, Bt,
                                                                        atol=1e-12)


def test_front_end_standardised_drops_constant_and_rare_coordinates():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 5))
    X[:, 1] = 3.0                       # constant
    X[:, 3] = 0.0
    X[0, 3] = 1.0                       # inked in one row out of 200 (< 1%)
    X[:, 4] = 0.0
    X[:4, 4] = 1.0                      # inked in 2% of the rows: kept
    Z, Zt = ex.low_data_front_end(torch.tensor(X), torch.tensor(X[:7]), kind="standardised")
    assert Z.shape == (200, 3) and Zt.shape == (7, 3)
    assert torch.allclose(Z.mean(0), torch.zeros(3, dtype=Z.dtype), atol=1e-12)
    assert torch.allclose(Z.std(0, unbiased=False), torch.ones(3, dtype=Z.dtype))
    assert torch.allclose(Zt, Z[:7])


@pytest.mark.parametrize("kwargs,match", [
    (dict(kind="ica", n_components=2), r"The 'kind' parameter of low_data_front_end must be"),
    (dict(kind="pca"), r"The 'n_components' parameter of low_data_front_end must be an int"),
    (dict(kind="standardised", n_components=2),
     r"The 'n_components' parameter of low_data_front_end must be None"),
])
def test_front_end_bad_input(kwargs, match):
    X, _ = blobs()
    with pytest.raises(ValueError, match=match):
        ex.low_data_front_end(X, **kwargs)


# -- discriminant ratios and the alpha window --------------------------------------------

def test_discriminant_ratios_are_lda_rayleigh_quotients_and_affine_invariant():
    X, y = blobs()
    rho = ex.discriminant_ratios(X, y)
    assert rho.shape == (3,) and bool((rho[:-1] >= rho[1:]).all())
    W = spectral.lda(X, y, 3)
    Xw = X - torch.stack([X[y == k].mean(0) for k in range(4)])[y]
    Sw = Xw.T @ Xw / len(y)
    Sb = (X - X.mean(0)).T @ (X - X.mean(0)) / len(y) - Sw
    rq = (W * (Sb @ W)).sum(0) / (W * (Sw @ W)).sum(0)
    assert torch.allclose(rho, rq, rtol=1e-9)
    A = torch.tensor(np.random.default_rng(2).standard_normal((6, 6)))
    assert torch.allclose(ex.discriminant_ratios(X @ A + 5.0, y), rho, rtol=1e-8)


def test_vicreg_kept_rank_follows_the_alpha_m_window():
    # Label graph, C classes of m: VICReg keeps discriminant direction k iff
    # alpha m < 1 + rho_k and the d - C + 1 others iff alpha m < 1.
    X, y = blobs(n_per_class=25)
    m, C, d = 25, 4, X.shape[1]
    rho = ex.discriminant_ratios(X, y)
    G = graphs.label_graph(y)
    for am in (0.5, 0.99, 1.01, 1.0 + 0.5 * float(rho[-1]), 1.0 + float(rho[1]) + 1e-3,
               2.0 + float(rho[0])):
        _, det = closed_form.vicreg_linear_optimum(X, G, d, am / m, return_details=True)
        predicted = int((rho > am - 1).sum()) + (d - C + 1 if am < 1 else 0)
        assert int((det.c > 0).sum()) == predicted, am
    # A wrong map mu = m / rho (instead of m / (1 + rho)) predicts other ranks.
    wrong = [int((rho > am).sum()) for am in (1.01, 1.0 + 0.5 * float(rho[-1]))]
    right = [int((rho > am - 1).sum()) for am in (1.01, 1.0 + 0.5 * float(rho[-1]))]
    assert wrong != right


@pytest.mark.parametrize("call,match", [
    (lambda: ex.discriminant_ratios(torch.zeros(4, 2), [0, 0, 0, 0]),
     r"discriminant_ratios needs 2 <= number of classes <= d \+ 1"),
    (lambda: ex.discriminant_ratios(torch.zeros(4, 2), [0, 1, 0]),
     r"X and y must have the same number of rows in discriminant_ratios"),
])
def test_discriminant_ratios_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# -- the protocol ------------------------------------------------------------------------

def test_protocol_with_pca_and_K_d_reproduces_low_data_probe(digits):
    Xd, yd = digits
    kw = dict(n_labels=(2,), alpha_ms=(0.25, 1.2), pool_per_class=40)
    a = ex.low_data_probe(Xd, yd, 3, n_components=20, **kw)
    b = ex.low_data_protocol(Xd, yd, 3, front_end="pca", K="d", n_components=20, **kw)
    for key, value in a.items():
        if key.startswith("vicreg_am0.25@"):
            # Below alpha m = 1 with K = d the optimum is not unique (mu = m has
            # multiplicity d - C + 1): the basis of that block, hence the probe's
            # accuracy, depends on rounding (dense vs sparse G).
            continue
        assert b[key] == value, key
    assert b["rank_vicreg_am0.25"] == 20
    assert b["d"] == 20 and b["K"] == 20 and b["rho_max"] >= b["rho_min"] > 0


def test_protocol_K_C_minus_1_makes_small_and_large_alpha_identical(digits):
    Xd, yd = digits
    out = ex.low_data_protocol(Xd, yd, 4, K="C-1", n_labels=(2,), alpha_ms=(0.25, 1.2),
                               pool_per_class=40, n_components=20)
    assert out["K"] == 9 and out["rank_vicreg_am0.25"] == 9
    assert out["fisher_gap_vicreg_am0.25"] < 1e-8 and out["fisher_gap_vicreg_am1.2"] < 1e-8
    assert out["vicreg_am0.25@n2"] == out["vicreg_am1.2@n2"] == out["lda@n2"]
    assert out["spectral_contrastive@n2"] == out["lda@n2"]


def test_protocol_K_d_small_alpha_keeps_everything(digits):
    Xd, yd = digits
    out = ex.low_data_protocol(Xd, yd, 4, front_end="standardised", n_labels=(2,),
                               alpha_ms=(0.25, 1.2), pool_per_class=40)
    assert out["rank_vicreg_am0.25"] == out["d"] and out["fisher_gap_vicreg_am0.25"] == 1.0
    assert out["rank_vicreg_am1.2"] == 9


@pytest.mark.parametrize("kwargs,match", [
    (dict(K="C"), r"The 'K' parameter of low_data_protocol must be 'd' \(the input dimension\), 'C-1' or an int"),
    (dict(K=0), r"The 'K' parameter of low_data_protocol must be 'd' \(the input dimension\), 'C-1' or an int"),
    (dict(front_end="ica"), r"The 'front_end' parameter of low_data_protocol must be one"),
    (dict(alpha_ms=(-1.0,)), r"The 'alpha_ms' parameter of low_data_protocol must be"),
])
def test_protocol_bad_input(kwargs, match):
    X, y = blobs()
    with pytest.raises(ValueError, match=match):
        ex.low_data_protocol(X, y, 0, n_labels=(2,), pool_per_class=10, n_components=4,
                             **kwargs)


# -- the mixture with a known answer -----------------------------------------------------

def test_mixture_known_answer():
    out = ex.low_data_mixture(5, n_labels=(2,), alpha_ms=(0.25, 1.2, 8.0))
    assert out["rho_population"] == pytest.approx(2.5 ** 2 / 3)
    assert out["d"] == 15 and out["rank_vicreg_am1.2"] == 3 and out["rank_vicreg_am8"] == 0
    # The kept span in the window is the pool's Fisher span, close to the true one;
    # the full-rank representation is not.
    assert out["fisher_gap_vicreg_am1.2"] < 1e-8
    assert out["truth_gap_vicreg_am1.2"] == pytest.approx(out["truth_gap_lda"], abs=1e-8)
    assert out["truth_gap_lda"] < 0.5 and out["truth_gap_vicreg_am0.25"] == 1.0


def test_mixture_is_seeded_and_validates():
    a = ex.low_data_mixture(1, n_labels=(2,), alpha_ms=(1.2,), test_per_class=20)
    b = ex.low_data_mixture(1, n_labels=(2,), alpha_ms=(1.2,), test_per_class=20)
    assert a == b
    with pytest.raises(ValueError, match=r"The 'separation' parameter of low_data_mixture"):
        ex.low_data_mixture(0, separation=0.0)


def test_symbolic_eigenvalue_map_is_checked_and_a_wrong_map_fails():
    # The chapter's derivation: det(m S_w - mu (S_w + S_b)) at mu = m / (1 + rho) is
    # m^d (1 + rho)^-d det(rho S_w - S_b) on a generic instance; mu = m / rho is not.
    import sympy as sp

    from sslspec_lib import symbolic

    m, mu, rho = sp.symbols("m mu rho", positive=True)
    Sw = symbolic.symmetric_matrix("s", 2, zero_diagonal=False, nonnegative=False)
    B = symbolic.matrix("b", 2, 1)
    Sb = B * B.T
    char_M = (m * Sw - mu * (Sw + Sb)).det()
    char_F = (rho * Sw - Sb).det()
    assert symbolic.assert_identity(sp.cancel(char_M.subs(mu, m / (1 + rho)) * (1 + rho) ** 2),
                                    m ** 2 * char_F)
    with pytest.raises(AssertionError, match="does not hold"):
        symbolic.assert_identity(sp.cancel(char_M.subs(mu, m / rho) * rho ** 2),
                                 m ** 2 * char_F)
