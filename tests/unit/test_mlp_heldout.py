"""Out-of-sample extension and regularised MLP training of the VICReg-MLP chapter (R10)."""
import numpy as np
import pytest
import torch

from sslspec_lib import closed_form, graphs, losses, spectral, train

F64 = torch.float64


def _points(n, d=3, seed=0):
    return torch.as_tensor(np.random.default_rng(seed).normal(size=(n, d)), dtype=F64)


# -- graphs.knn_cross_graph -------------------------------------------------------------

def test_knn_cross_graph_matches_brute_force():
    X, X_new = _points(20), _points(7, seed=1)
    W = graphs.knn_cross_graph(X_new, X, 4)
    assert W.shape == (7, 20)
    assert torch.equal(W.sum(dim=1), torch.full((7,), 4.0, dtype=F64))
    d = ((X_new[:, None, :] - X[None, :, :]) ** 2).sum(-1).numpy()
    for m in range(7):
        assert set(np.flatnonzero(W[m].numpy())) == set(np.argsort(d[m])[:4])


def test_knn_cross_graph_of_a_training_row_is_its_knn_row():
    # A training row used as a new row keeps itself (distance 0) and its k-1 nearest.
    X = _points(15)
    W = graphs.knn_cross_graph(X[:3], X, 5)
    G = graphs.knn_graph(X, 4)
    for m in range(3):
        assert W[m, m] == 1
        nn = set(np.flatnonzero(W[m].numpy())) - {m}
        own = set(np.argsort(((X[m] - X) ** 2).sum(1).numpy())[1:5])
        assert nn == own and nn <= set(np.flatnonzero(G[m].numpy()))


@pytest.mark.parametrize("args,match", [
    ((_points(3, d=2), _points(5), 2), r"same number of columns in knn_cross_graph"),
    ((_points(3), _points(5), 6), r"The 'k' parameter of knn_cross_graph must be an int"),
])
def test_knn_cross_graph_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        graphs.knn_cross_graph(*args)


# -- spectral.nystrom_extension ---------------------------------------------------------

def _optimum(n=30, K=3, alpha=0.1, seed=0):
    X = _points(n, seed=seed)
    G = graphs.knn_graph(X, 5)
    Z, det = closed_form.vicreg_optimum(G, K, alpha, return_details=True)
    return X, G, Z, det


def test_nystrom_reproduces_the_optimum_on_training_rows():
    # With the training graph's own rows as weights the row equation is L u = lam u,
    # so the extension returns the eigenvectors exactly.
    X, G, Z, det = _optimum()
    Z_ext = spectral.nystrom_extension(G, Z, det.eigenvalues)
    torch.testing.assert_close(Z_ext, Z, rtol=0, atol=1e-10)


def test_nystrom_with_wrong_eigenvalues_or_vectors_fails_the_same_check():
    X, G, Z, det = _optimum()
    wrong_lam = spectral.nystrom_extension(G, Z, det.eigenvalues * 1.1)
    assert (wrong_lam - Z).abs().max() > 1e-3
    Zp = Z.clone()
    Zp[:, 0] = Zp[:, 0].roll(1)  # not an eigenvector any more
    assert (spectral.nystrom_extension(G, Zp, det.eigenvalues) - Zp).abs().max() > 1e-3


def test_nystrom_formula_on_new_rows_and_zero_lambda_is_knn_mean():
    X, G, Z, det = _optimum()
    X_new = _points(6, seed=3)
    W = graphs.knn_cross_graph(X_new, X, 5)
    Z_ext = spectral.nystrom_extension(W, Z, det.eigenvalues)
    expected = (W @ Z) / (5.0 - det.eigenvalues)
    torch.testing.assert_close(Z_ext, expected, rtol=1e-14, atol=0)
    mean = spectral.nystrom_extension(W, Z, 0.0)
    torch.testing.assert_close(mean, (W @ Z) / 5.0, rtol=1e-14, atol=0)


@pytest.mark.parametrize("W,lam,match", [
    (torch.ones(2, 4, dtype=F64), [0.1, 0.2], r"one column per row of Z"),
    (-torch.ones(2, 30, dtype=F64), [0.1, 0.2, 0.3], r"W_new must be non-negative"),
    (torch.ones(2, 30, dtype=F64), [0.1, 0.2], r"one eigenvalue per column of Z"),
    (torch.ones(2, 30, dtype=F64), [0.1, -0.2, 0.3], r"lam must be finite and >= 0"),
    (torch.eye(2, 30, dtype=F64), [0.1, 0.2, 3.0], r"degree must exceed max\(lam\)"),
])
def test_nystrom_rejects_bad_input(W, lam, match):
    Z = _optimum()[2]
    with pytest.raises(ValueError, match=match):
        spectral.nystrom_extension(W, Z, lam)


# -- train.train_mlp_regularized ------------------------------------------------------------

def _problem():
    X = _points(24, d=4)
    G = graphs.knn_graph(X, 4)
    return X, (lambda Z: losses.vicreg(Z, G, 0.2))


def test_regularized_without_penalty_follows_train_mlp():
    X, loss = _problem()
    # minimize() counts its first step as iteration 0: max_iter=19 takes 20 steps.
    net_a, _ = train.train_mlp(loss, X, 2, hidden=(8,), seed=3, method="lbfgs",
                               max_iter=19, lr=None)
    net_b, best, info = train.train_mlp_regularized(loss, X, 2, hidden=(8,), seed=3,
                                                    max_iter=20)
    with torch.no_grad():
        torch.testing.assert_close(net_b(X), net_a(X), rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(best(X), net_b(X))  # no monitor: the last iterate
    assert len(info["loss"]) == 21 and info["best_iter"] == 20


def test_early_stopping_keeps_the_best_monitored_iterate():
    X, loss = _problem()
    seen = []

    def monitor(net):
        with torch.no_grad():
            v = float(net(X).abs().sum())
        seen.append(v)
        return v

    net, best, info = train.train_mlp_regularized(loss, X, 2, hidden=(8,), seed=1,
                                                  max_iter=15, monitor=monitor)
    assert info["monitor"] == seen and len(seen) == 16
    assert info["best_iter"] == int(np.argmin(seen))
    with torch.no_grad():
        assert float(best(X).abs().sum()) == pytest.approx(min(seen), rel=1e-12)


def test_weight_decay_shrinks_the_weights():
    X, loss = _problem()
    norm = lambda net: sum(float((p.detach() ** 2).sum()) for p in net.parameters())
    free, _, _ = train.train_mlp_regularized(loss, X, 2, hidden=(8,), seed=2, max_iter=40)
    decayed, _, _ = train.train_mlp_regularized(loss, X, 2, hidden=(8,), seed=2,
                                                max_iter=40, weight_decay=1.0)
    assert norm(decayed) < norm(free)


@pytest.mark.parametrize("kw,match", [
    ({"weight_decay": -1.0}, r"The 'weight_decay' parameter of train_mlp_regularized"),
    ({"max_iter": 0}, r"The 'max_iter' parameter of train_mlp_regularized"),
    ({"monitor": 3}, r"The 'monitor' parameter of train_mlp_regularized must be callable"),
])
def test_regularized_rejects_bad_input(kw, match):
    X, loss = _problem()
    with pytest.raises(ValueError, match=match):
        train.train_mlp_regularized(loss, X, 2, **kw)
