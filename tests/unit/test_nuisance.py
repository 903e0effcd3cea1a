"""Nuisance graphs, data and encoders of R17 (sslspec_lib.nuisance)."""
import warnings

import numpy as np
import pytest
import torch

from sslspec_lib import closed_form, graphs, losses, metrics, nuisance


def _inputs(n=60, n_groups=3, seed=0):
    X, y, a = nuisance.gaussian_nuisance(n, n_groups=n_groups, dim_signal=3, dim_nuisance=2,
                                         seed=seed)
    return X, y, a, nuisance.nuisance_graph(a)


def test_balanced_groups_are_equal_and_seeded():
    a = nuisance.balanced_groups(12, 4, seed=3)
    assert torch.bincount(a).tolist() == [3, 3, 3, 3]
    assert torch.equal(a, nuisance.balanced_groups(12, 4, seed=3))
    assert not torch.equal(a, nuisance.balanced_groups(12, 4, seed=4))


def test_nuisance_graph_has_mean_degree_one_and_clique_spectrum():
    a = nuisance.balanced_groups(12, 3, seed=0)  # 3 groups of m = 4
    G = nuisance.nuisance_graph(a)
    assert torch.allclose(G.sum(), torch.tensor(12.0, dtype=G.dtype))
    lam = torch.linalg.eigvalsh(graphs.laplacian(G))
    m = 4
    assert torch.allclose(lam[:3], torch.zeros(3, dtype=G.dtype), atol=1e-12)
    assert torch.allclose(lam[3:], torch.full((9,), m / (m - 1), dtype=G.dtype))
    plain = nuisance.nuisance_graph(a, normalize=False)
    assert torch.equal(plain, graphs.label_graph(a))


def test_nuisance_graph_refuses_no_shared_value():
    with pytest.raises(ValueError, match="No two rows share a nuisance value"):
        nuisance.nuisance_graph([0, 1, 2])
    with pytest.raises(ValueError, match="must hold integer values"):
        nuisance.nuisance_graph([0.5, 0.5])


@pytest.mark.parametrize("kind", nuisance.KINDS)
def test_digits_nuisance_is_seeded_and_the_nuisance_is_shared(kind):
    X, y, a = nuisance.digits_nuisance(40, kind, n_groups=4, seed=1)
    assert X.shape == (40, 64) and X.dtype == torch.float64
    assert torch.bincount(a).tolist() == [10] * 4
    X2, _, _ = nuisance.digits_nuisance(40, kind, n_groups=4, seed=1)
    assert torch.equal(X, X2)
    clean, _, _ = nuisance.digits_nuisance(40, "random", n_groups=4, noise=0.0, seed=1)
    mine, _, _ = nuisance.digits_nuisance(40, kind, n_groups=4, noise=0.0, seed=1)
    diff = (mine - clean)
    if kind == "pattern":  # the same added image within each group
        for g in range(4):
            d = diff[a == g]
            assert torch.allclose(d, d[:1].expand_as(d))
    elif kind == "random":
        assert torch.equal(diff, torch.zeros_like(diff))
    else:  # shift: group 0 moves every image one pixel to the right
        img, sh = clean[a == 0][0].reshape(8, 8), mine[a == 0][0].reshape(8, 8)
        assert torch.equal(sh[:, 1:], img[:, :-1]) and bool((sh[:, 0] == 0).all())


def test_gaussian_nuisance_blocks():
    X, y, a = nuisance.gaussian_nuisance(90, n_classes=3, n_groups=3, dim_signal=2,
                                         dim_nuisance=2, separation=50.0,
                                         nuisance_separation=0.0, seed=0)
    assert X.shape == (90, 4)
    # with a huge separation the label is read off the signal block, not the nuisance block
    from sklearn.cluster import KMeans
    km = KMeans(3, n_init=3, random_state=0).fit(X[:, :2].numpy())
    assert len({(int(l), int(c)) for l, c in zip(y, km.labels_)}) == 3


def test_closed_form_spectra_under_a_nuisance_graph():
    """The theorem of ch-misaligned: M = m/(m-1) (I - B), CCA = (m B - I)/(m-1)."""
    X, y, a, G = _inputs()
    n, m = X.shape[0], 20
    Xc = X - X.mean(0)
    Sig = Xc.T @ Xc / n
    means = torch.stack([Xc[a == g].mean(0) for g in range(3)])
    SB = m * means.T @ means / n
    e, V = torch.linalg.eigh(Sig)
    Si = V @ torch.diag(e.rsqrt()) @ V.T
    B = Si @ SB @ Si
    beta = torch.linalg.eigvalsh(B)
    _, det = closed_form.vicreg_linear_optimum(X, G, 5, 0.1, return_details=True)
    pred = torch.sort(m / (m - 1) * (1 - beta)).values
    assert torch.allclose(det.eigenvalues, pred, atol=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, det_cca = closed_form.barlow_twins_linear_optimum(X, G, 5, return_details=True)
    assert torch.allclose(det_cca.eigenvalues, torch.sort((m * beta - 1) / (m - 1),
                                                          descending=True).values, atol=1e-10)
    # a wrong scaling of G (no 1/(m-1)) is caught by the same comparison
    _, det_bad = closed_form.vicreg_linear_optimum(X, G * (m - 1), 5, 0.01, return_details=True)
    assert not torch.allclose(det_bad.eigenvalues, pred, atol=1e-6)


def test_spectral_contrastive_rank_is_capped_by_the_groups():
    X, y, a, G = _inputs(n_groups=2)
    W = nuisance.linear_encoder("spectral_contrastive", X, G, 5)
    assert metrics.numerical_rank(X @ W) <= 2


def test_vicreg_draw_is_a_minimiser_and_varies_in_the_tie():
    X, y, a, G = _inputs()
    # K = 3 cuts through the tied eigenvalues: the closed form says so.
    with pytest.warns(UserWarning, match="optimum is not unique"):
        W0 = closed_form.vicreg_linear_optimum(X, G, 3, 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        W1 = nuisance.vicreg_linear_draw(X, G, 3, 0.5, seed=1)
        W2 = nuisance.vicreg_linear_draw(X, G, 3, 0.5, seed=2)
    l0, l1, l2 = (float(losses.vicreg(X @ W, G, 0.5)) for W in (W0, W1, W2))
    assert abs(l1 - l0) < 1e-10 and abs(l2 - l0) < 1e-10
    assert metrics.subspace_gap(X @ W1, X @ W2, center=True) > 1e-3
    # no tie at the cut (K = number of nuisance directions): the draw is the closed form
    W3 = nuisance.vicreg_linear_draw(X, G, 2, 0.5, seed=1)
    W4 = closed_form.vicreg_linear_optimum(X, G, 2, 0.5)
    assert metrics.subspace_gap(X @ W3, X @ W4, center=True) < 1e-8


def test_trained_vicreg_reaches_the_closed_form_loss():
    X, y, a, G = _inputs()
    _, det = closed_form.vicreg_linear_optimum(X, G, 5, 0.5, return_details=True)
    W, hist = nuisance.trained_encoder("vicreg", X, G, 5, seed=0, alpha=0.5)
    assert abs(hist.final_loss - det.loss) < 1e-8


def test_misaligned_trial_names_and_ranks():
    r = nuisance.misaligned_trial(0, source="gaussian", n_train=60, n_test=60, n_groups=3,
                                  alphas=(0.1, 5.0), dim_signal=2, dim_nuisance=2)
    assert {"raw", "whitened", "lda", "vicreg@0.1", "vicreg@5", "spectral_contrastive",
            "cca"} <= set(r)
    assert r["rank:vicreg@0.1"] == 4 and r["rank:spectral_contrastive"] <= 3
    assert r["rank:vicreg@5"] <= 2
    assert abs(r["vicreg@0.1"] - r["whitened"]) <= 1 / 60


@pytest.mark.parametrize("call,match", [
    (lambda: nuisance.digits_nuisance(10, "blur"), "The 'kind' parameter of digits_nuisance"),
    (lambda: nuisance.digits_nuisance(40, "shift", n_groups=9), "The 'n_groups' parameter"),
    (lambda: nuisance.balanced_groups(4, 5), "The 'n_groups' parameter of balanced_groups"),
    (lambda: nuisance.linear_encoder("simclr", torch.eye(3), torch.ones(3, 3), 1),
     "The 'method' parameter of linear_encoder"),
    (lambda: nuisance.linear_encoder("vicreg", torch.eye(3), torch.ones(3, 3), 1),
     "needs the invariance weight 'alpha'"),
    (lambda: nuisance.trained_encoder("mse", torch.eye(3), torch.ones(3, 3), 1, seed=0),
     "The 'loss' parameter of trained_encoder"),
    (lambda: nuisance.misaligned_split(0, source="mnist"), "The 'source' parameter"),
])
def test_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_misaligned_trial_input_gap_catches_a_wrong_encoder():
    r = nuisance.misaligned_trial(0, source="gaussian", n_train=60, n_test=60, n_groups=3,
                                  alphas=(0.1, 5.0), dim_signal=2, dim_nuisance=2)
    # K = d and alpha < alpha*: the probe gets the whitened inputs up to rotation
    assert r["input_gap:vicreg@0.1"] < 1e3 * r["cond"] * 2.2e-16 * 120
    assert r["input_gap:cca"] < 1e3 * r["cond"] * 2.2e-16 * 120
    # alpha > alpha* keeps only nuisance directions: not the same inputs
    assert r["input_gap:vicreg@5"] > 0.1
    assert r["input_gap:spectral_contrastive"] > 0.1


# -- misaligned probes (R17) --

@pytest.mark.parametrize("kind", nuisance.KINDS)
def test_digits_nuisance_views_reproduce_the_draw(kind):
    X, y, a = nuisance.digits_nuisance(60, kind, seed=3)
    X2, y2, a2, Xc, Xv = nuisance.digits_nuisance_views(60, kind, seed=3)
    assert torch.equal(X, X2) and torch.equal(y, y2) and torch.equal(a, a2)
    assert Xv.shape == (60, 4, 64) and Xc.shape == (60, 64)
    assert torch.equal(Xv[torch.arange(60), a], X)  # each image's own view is X
    if kind == "random":
        assert torch.equal(Xv, Xc[:, None].expand_as(Xv))
    else:
        assert not torch.allclose(Xc, X)
    if kind == "pattern":  # the same pattern difference for every image
        d = Xv[:, 1] - Xv[:, 0]
        assert torch.allclose(d, d[:1].expand_as(d), atol=1e-12)


def test_protocol_trial_reproduces_misaligned_trial():
    kw = dict(kind="pattern", n_train=160, n_test=80, alphas=(0.5, 2.0))
    r = nuisance.misaligned_protocol_trial(2, **kw)
    r0 = nuisance.misaligned_trial(2, **kw)
    for k in ("raw", "whitened", "lda", "vicreg@0.5", "vicreg@2", "spectral_contrastive",
              "cca"):
        assert r[f"nuisance:{k}"] == r0[k], k
    assert {f"{p}:raw" for p in nuisance.PROBE_PROTOCOLS} <= set(r)


def test_protocol_trial_what_changes_with_the_protocol():
    r = nuisance.misaligned_protocol_trial(1, kind="shift", n_train=160, n_test=80,
                                           alphas=(0.5, 2.0))
    # the encoder's own rows: an orthogonal image of the standardised whitened
    # inputs, so the probe's accuracy up to its solver
    assert abs(r["nuisance:vicreg@0.5"] - r["nuisance:whitened"]) <= 2 / 80
    for p in nuisance.PROBE_PROTOCOLS:
        # full rank against the nuisance-only encoders, whatever the probe's rows
        assert r[f"{p}:vicreg@0.5"] > r[f"{p}:spectral_contrastive"] + 0.2, p
        assert r[f"{p}:vicreg@0.5"] > r[f"{p}:vicreg@2"] + 0.2, p
    # the clean protocol really changes the probe's data (shift nuisance)
    assert r["clean:raw"] != r["nuisance:raw"]


def test_protocol_trial_bad_protocol():
    with pytest.raises(ValueError, match="The 'protocols' parameter of "
                                         "misaligned_protocol_trial must be"):
        nuisance.misaligned_protocol_trial(0, protocols=("test",))


def test_method_views_ranks_and_invariance():
    X, y, a = nuisance.gaussian_nuisance(120, n_groups=3, dim_signal=3, dim_nuisance=2,
                                         seed=4)
    v = nuisance.method_views(X[:60], y[:60], a[:60], X[60:], alphas=(0.1, 5.0), seed=0,
                              y_show=y[60:], a_show=a[60:])
    assert set(v) == {"vicreg@0.1", "vicreg@5", "spectral_contrastive", "cca", "lda", "pca"}
    assert v["vicreg@0.1"]["rank"] == 5 and v["cca"]["rank"] == 5
    assert v["vicreg@5"]["rank"] <= 2 and v["spectral_contrastive"]["rank"] <= 3
    assert v["pca"]["rank"] == 3 and v["lda"]["rank"] == 2
    assert v["vicreg@0.1"]["label"].shape == (60, 2)

    def same_up_to_sign(A, B):
        return all(min(float((A[:, j] - B[:, j]).abs().max()),
                       float((A[:, j] + B[:, j]).abs().max())) < 1e-8 for j in range(2))

    # Fisher's view is invariant under an invertible map: full-rank encoders agree
    assert same_up_to_sign(v["vicreg@0.1"]["label"], v["cca"]["label"])
    # with the sign rule, exactly the same picture (to rounding)
    assert torch.allclose(v["vicreg@0.1"]["label"], v["cca"]["label"], atol=1e-8)
    # and a collapsed encoder does not give the same view
    assert not same_up_to_sign(v["vicreg@0.1"]["label"], v["vicreg@5"]["label"])
    # the probe reads the label from the full-rank features, not from the collapsed ones
    assert v["vicreg@0.1"]["acc_label"] > v["vicreg@5"]["acc_label"] + 0.2
    assert v["vicreg@5"]["acc_nuisance"] > v["vicreg@5"]["acc_label"] + 0.2


def test_method_views_bad_inputs():
    X = torch.randn(12, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="X_train and X_show must have the same number"):
        nuisance.method_views(X, [0, 1] * 6, [0, 1] * 6, X[:, :2], seed=0)
    with pytest.raises(ValueError, match="The 'y_train' parameter of method_views"):
        nuisance.method_views(X, [0, 1] * 5, [0, 1] * 6, X, seed=0)
    with pytest.raises(ValueError, match="needs both 'y_show' and 'a_show'"):
        nuisance.method_views(X, [0, 1] * 6, [0, 1] * 6, X, seed=0, y_show=[0] * 12)
