"""Unit tests of the NNCLR / MeanShift relation matrix and the alternation (R12)."""
import pytest
import torch

from sslspec_lib import closed_form, graphs


def brute_force(Z, k, exclude_sample, V=2):
    """A[r, s] = 1/k for the k candidates nearest to the other view of r, by loops."""
    n = Z.shape[0]
    A = torch.zeros(n, n, dtype=torch.float64)
    for r in range(n):
        i, v = divmod(r, V)
        t = i * V + (v + 1) % V
        cand = [s for s in range(n) if s != r and not (exclude_sample and s // V == i)]
        d = sorted(cand, key=lambda s: (float(((Z[t] - Z[s]) ** 2).sum()), s))
        for s in d[:k]:
            A[r, s] = 1.0 / k
    return A


@pytest.mark.parametrize("k,exclude", [(1, True), (3, True), (2, False), (4, False)])
def test_nnclr_graph_matches_definition(k, exclude):
    Z = torch.randn(14, 3, generator=torch.Generator().manual_seed(k),
                     dtype=torch.float64)
    det = graphs.nnclr_graph(Z, 2, k=k, exclude_sample=exclude, return_details=True)
    A = brute_force(Z, k, exclude)
    assert torch.equal(det.A, A)
    assert torch.equal(det.G, (A + A.T) / 2)
    assert bool((det.margin > 0).all())
    graphs.validate_graph(det.G, zero_diagonal=True)


def test_meanshift_k1_with_target_is_augmentation_graph():
    Z = torch.randn(10, 2, generator=torch.Generator().manual_seed(0),
                     dtype=torch.float64)
    assert torch.equal(graphs.nnclr_graph(Z, 2, k=1, exclude_sample=False),
                       graphs.augmentation_graph(5, 2))


def test_nnclr_graph_ties_by_index_and_zero_margin():
    # rows 2, 3 (sample 1) and 4, 5 (sample 2) coincide: the tie goes to the lower index
    Z = torch.tensor([[0.0], [0.0], [1.0], [1.0], [1.0], [1.0]], dtype=torch.float64)
    det = graphs.nnclr_graph(Z, 2, return_details=True)
    assert int(det.neighbours[0, 0]) == 2 and float(det.margin[0]) == 0.0


def test_nnclr_graph_rotation_invariant_and_cosine():
    Z = torch.randn(12, 3, generator=torch.Generator().manual_seed(1),
                     dtype=torch.float64)
    Q, _ = torch.linalg.qr(torch.randn(3, 3, generator=torch.Generator().manual_seed(2),
                                       dtype=torch.float64))
    assert torch.equal(graphs.nnclr_graph(Z, 2, k=2), graphs.nnclr_graph(Z @ Q, 2, k=2))
    assert torch.equal(graphs.nnclr_graph(Z, 2, metric="cosine"),
                       graphs.nnclr_graph(3.0 * Z, 2, metric="cosine"))


def test_nnclr_graph_support_restricts_candidates():
    Z = torch.randn(12, 2, generator=torch.Generator().manual_seed(3),
                     dtype=torch.float64)
    det = graphs.nnclr_graph(Z, 2, support=[4, 5, 6, 7], return_details=True)
    assert set(det.neighbours.flatten().tolist()) <= {4, 5, 6, 7}


@pytest.mark.parametrize("kwargs,match", [
    (dict(n_views=5), r"multiple of n_views = 5"),
    (dict(k=11), r"fewer than k = 11"),
    (dict(metric="l1"), r"'metric' parameter of nnclr_graph"),
    (dict(support=[0, 0]), r"distinct row indices"),
    (dict(support=[0.5]), r"non-empty 1-d array of row indices"),
])
def test_nnclr_graph_bad_inputs(kwargs, match):
    Z = torch.randn(12, 2, generator=torch.Generator().manual_seed(4),
                     dtype=torch.float64)
    with pytest.raises(ValueError, match=match):
        graphs.nnclr_graph(Z, **kwargs)


def test_nnclr_graph_cosine_zero_row():
    Z = torch.ones(4, 2, dtype=torch.float64)
    Z[1] = 0
    with pytest.raises(ValueError, match="no zero row"):
        graphs.nnclr_graph(Z, metric="cosine")


def test_alternation_detects_fixed_point_and_cycle():
    Z = torch.randn(12, 2, generator=torch.Generator().manual_seed(5),
                     dtype=torch.float64)
    # a constant solver: the graph of its output is a fixed point after one step
    alt = graphs.nnclr_alternation(Z, lambda G: Z, 2)
    assert alt.status == "fixed point" and alt.period == 1 and alt.steps == 1
    # a solver alternating between two representations with different graphs: period 2
    W = torch.flip(Z, dims=[1]) * torch.tensor([1.0, -3.0], dtype=torch.float64)
    assert not torch.equal(graphs.nnclr_graph(Z), graphs.nnclr_graph(W))
    state = {"n": 0}

    def flip(G):
        state["n"] += 1
        return W if state["n"] % 2 else Z
    alt = graphs.nnclr_alternation(Z, flip, 2)
    assert alt.status == "cycle" and alt.period == 2


def test_alternation_with_spectral_contrastive_steps_are_minimisers():
    Z = torch.randn(16, 2, generator=torch.Generator().manual_seed(6),
                     dtype=torch.float64)
    alt = graphs.nnclr_alternation(
        Z, lambda G: closed_form.spectral_contrastive_optimum(G, 16), 2, k=2,
        exclude_sample=False)
    assert alt.status in ("fixed point", "cycle") and len(alt.Zs) == alt.steps + 1
    for t in range(alt.steps):
        P = closed_form.spectral_contrastive_optimum(alt.graphs[t].G, 16)
        torch.testing.assert_close(alt.Zs[t + 1] @ alt.Zs[t + 1].T, P @ P.T)


def test_alternation_bad_inputs():
    Z = torch.randn(4, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="'solve' parameter of nnclr_alternation"):
        graphs.nnclr_alternation(Z, "closed form")
    with pytest.raises(ValueError, match="'max_steps' parameter of nnclr_alternation"):
        graphs.nnclr_alternation(Z, lambda G: Z, max_steps=0)


def test_trained_gram_check_catches_a_wrong_closed_form():
    # The chapter's check: trained Z Z^T within m_2 / 8 of the closed form. A wrong
    # closed form (a rank-3 truncation instead of K = N) must fail it; the right one
    # must pass.
    from sslspec_lib import losses, train
    for seed in range(7, 60):  # the first instance whose decisions are far from ties
        Z0 = torch.randn(16, 2, generator=torch.Generator().manual_seed(seed),
                         dtype=torch.float64)
        G = graphs.nnclr_graph(Z0, 2, k=2, exclude_sample=False)
        n = G.shape[0]
        Z_cf = closed_form.spectral_contrastive_optimum(G, n)
        nxt = graphs.nnclr_graph(Z_cf, 2, k=2, exclude_sample=False,
                                 return_details=True)
        rows = torch.arange(n)
        tgt = (rows // 2) * 2 + (rows % 2 + 1) % 2
        d_k = (Z_cf[tgt] - Z_cf[nxt.neighbours[:, -1]]).norm(dim=1)
        fin = torch.isfinite(nxt.margin)
        m2 = float(((d_k[fin] + nxt.margin[fin]) ** 2 - d_k[fin] ** 2).min())
        if m2 > 1e-3:
            break
    assert m2 > 1e-3
    Z_tr, _ = train.train_free(lambda Z: losses.spectral_contrastive(Z, G), n, n,
                               seed=1, gtol=1e-9, max_iter=3000,
                               require_convergence=False)
    err = lambda Zc: float((Z_tr @ Z_tr.T - Zc @ Zc.T).abs().max())
    assert err(Z_cf) < m2 / 8
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Z_wrong = closed_form.spectral_contrastive_optimum(G, 3)
    assert err(Z_wrong) > m2 / 8


def test_alternation_compares_neighbour_sets_not_their_order(monkeypatch):
    # two graphs with the same neighbour sets listed in a different order are one graph:
    # the alternation must call it a fixed point at once, not one step later
    first, reordered = [[1, 2], [0, 2], [0, 1]], [[2, 1], [2, 0], [1, 0]]
    orders = iter([first, reordered] + [[[1, 2]] * 3] * 5)

    def fake_graph(Z, n_views, return_details=False, **kw):
        nb = torch.tensor(next(orders))
        return graphs.NNGraph(torch.zeros(3, 3), torch.zeros(3, 3), nb, torch.ones(3))
    monkeypatch.setattr(graphs, "nnclr_graph", fake_graph)
    Z = torch.zeros(3, 1, dtype=torch.float64)
    alt = graphs.nnclr_alternation(Z, lambda G: Z, 1 + 2)
    assert alt.status == "fixed point" and alt.steps == 1 and alt.period == 1
