"""Unit tests of :mod:`sslspec_lib.experiments` (the protocol of R16-R18)."""
import math

import numpy as np
import pytest
import torch

from sslspec_lib import checks, experiments as ex


def blobs(n_per_class=20, n_classes=3, sep=6.0, seed=0):
    rng = np.random.default_rng(seed)
    means = sep * rng.standard_normal((n_classes, 4))
    y = np.repeat(np.arange(n_classes), n_per_class)
    return torch.tensor(means[y] + rng.standard_normal((len(y), 4))), torch.tensor(y)


# -- probe -------------------------------------------------------------------------------

def test_probe_separates_separated_classes_and_is_deterministic():
    X, y = blobs()
    tr, te = ex.split_fraction(y, 0.5, 0)
    a1 = ex.probe_accuracy(X[tr], y[tr], X[te], y[te])
    a2 = ex.probe_accuracy(X[tr].numpy(), y[tr].tolist(), X[te].numpy(), y[te].numpy())
    assert a1 == 1.0 and a2 == a1


def test_probe_is_blind_to_feature_scale_and_chance_on_noise():
    X, y = blobs(sep=1.0)
    tr, te = ex.split_fraction(y, 0.5, 1)
    scale = torch.tensor([1e-3, 1.0, 10.0, 1e3], dtype=torch.float64)
    a = ex.probe_accuracy(X[tr], y[tr], X[te], y[te])
    b = ex.probe_accuracy(X[tr] * scale, y[tr], X[te] * scale, y[te])
    assert abs(a - b) <= 1 / len(te)  # standardisation: only lbfgs rounding may differ
    rng = np.random.default_rng(3)
    noise = torch.tensor(rng.standard_normal((600, 2)))
    yn = torch.tensor(rng.integers(0, 2, 600))
    assert abs(ex.probe_accuracy(noise[:300], yn[:300], noise[300:], yn[300:]) - 0.5) < 0.1


def test_probe_accepts_collapsed_columns():
    X, y = blobs()
    Z = torch.cat([X[:, :2], torch.zeros(len(X), 3, dtype=torch.float64)], dim=1)
    tr, te = ex.split_fraction(y, 0.5, 2)
    assert ex.probe_accuracy(Z[tr], y[tr], Z[te], y[te]) > 0.5


@pytest.mark.parametrize("args,match", [
    ((torch.zeros(4, 2), [0, 1, 0], torch.zeros(4, 2), [0, 1, 0, 1]),
     r"Z_train and y_train must have the same number of rows in probe_accuracy: "
     r"Z_train has 4, y_train has 3"),
    ((torch.zeros(4, 2), [0, 1, 0, 1], torch.zeros(4, 3), [0, 1, 0, 1]),
     r"Z_train and Z_test must have the same number of columns in probe_accuracy: 2 != 3"),
    ((torch.zeros(4, 2), [0, 0, 0, 0], torch.zeros(4, 2), [0, 1, 0, 1]),
     r"probe_accuracy needs at least 2 classes in y_train: got 1"),
    ((torch.tensor([[float("nan"), 0.0], [0, 0]]), [0, 1], torch.zeros(2, 2), [0, 1]),
     r"Z_train must be finite \(no NaN or inf\) in probe_accuracy"),
    ((torch.zeros(2, 2), [0.5, 1.0], torch.zeros(2, 2), [0, 1]),
     r"The 'y_train' parameter of probe_accuracy must hold integer labels"),
    ((torch.zeros(2), [0, 1], torch.zeros(2, 2), [0, 1]),
     r"The 'Z_train' parameter of probe_accuracy must be a 2-d array"),
])
def test_probe_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        ex.probe_accuracy(*args)


# -- splits ------------------------------------------------------------------------------

def test_split_per_class_counts_and_partition():
    y = np.repeat([0, 1, 2], [5, 7, 9])
    tr, te = ex.split_per_class(y, 3, seed=4)
    assert np.bincount(y[tr]).tolist() == [3, 3, 3]
    assert np.array_equal(np.sort(np.concatenate([tr, te])), np.arange(len(y)))
    assert tr.dtype == np.int64 and np.all(np.diff(tr) > 0)
    tr2, _ = ex.split_per_class(y, 3, seed=4)
    tr3, _ = ex.split_per_class(y, 3, seed=5)
    assert np.array_equal(tr, tr2) and not np.array_equal(tr, tr3)


def test_split_fraction_is_stratified():
    y = np.repeat([0, 1], [10, 30])
    tr, te = ex.split_fraction(y, 0.3, 0)
    assert np.bincount(y[tr]).tolist() == [3, 9]
    assert len(np.intersect1d(tr, te)) == 0 and len(tr) + len(te) == 40


@pytest.mark.parametrize("call,match", [
    (lambda: ex.split_per_class([0, 0, 1, 1, 1], 2, 0),
     r"Too few samples per class in split_per_class: class 0 has 2 rows, n_per_class=2 "
     r"needs at least 3"),
    (lambda: ex.split_per_class([0, 1, 1], 0, 0),
     r"The 'n_per_class' parameter of split_per_class must be an int in the range \[1, inf\)"),
    (lambda: ex.split_per_class([1, 1, 1], 1, 0),
     r"split_per_class needs at least 2 classes in y: got 1"),
    (lambda: ex.split_per_class([[0, 1]], 1, 0),
     r"The 'y' parameter of split_per_class must be a non-empty 1-d array of labels"),
    (lambda: ex.split_per_class([0, 0, 1, 1], 1, -1),
     r"The 'seed' parameter of split_per_class must be an int in the range \[0, inf\)"),
    (lambda: ex.split_fraction([0, 0, 1, 1], 1.0, 0),
     r"The 'train_fraction' parameter of split_fraction must be a real number in \(0, 1\)"),
    (lambda: ex.split_fraction([0, 0, 1, 1, 1, 1], 0.2, 0),
     r"Too few samples per class in split_fraction: class 0 has 2 rows, 0 would train"),
])
def test_split_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# -- repeat ------------------------------------------------------------------------------

def test_repeat_uses_derived_seeds_and_pairs_names(monkeypatch):
    monkeypatch.delenv("SSLSPEC_SEED", raising=False)
    seen = []
    out = ex.repeat(lambda s: (seen.append(s), {"a": s, "b": s + 1.0})[1], 3, offset=7)
    assert seen == [checks.seed(7), checks.seed(8), checks.seed(9)]
    assert set(out) == {"a", "b"} and out["a"].dtype == np.float64
    assert np.array_equal(out["b"] - out["a"], np.ones(3))
    monkeypatch.setenv("SSLSPEC_SEED", "5")
    seen2 = []
    ex.repeat(lambda s: (seen2.append(s), {"a": 0.0})[1], 3, offset=7)
    assert seen2 != seen  # another base seed re-draws every repeat


def test_repeat_accepts_scalar_tensors():
    out = ex.repeat(lambda s: {"x": torch.tensor(0.5)}, 2)
    assert out["x"].tolist() == [0.5, 0.5]


@pytest.mark.parametrize("fn,n,match", [
    (lambda s: {"a": 1.0}, 0, r"The 'n_repeats' parameter of repeat must be an int in the "
                              r"range \[1, inf\)"),
    (lambda s: [1.0], 2, r"must return a non-empty dict of named numbers. Got list"),
    (lambda s: {"a": float("nan")}, 2, r"returned nan for 'a' at repeat 0: values must be "
                                       r"finite"),
    (lambda s: {"a": "x"}, 2, r"returned 'x' for 'a' at repeat 0: not a number"),
    (lambda s: {"a": 1.0} if s == checks.seed(100) else {"b": 1.0}, 2,
     r"returned names \['b'\] at repeat 1, but \['a'\] at repeat 0"),
    (3, 2, r"The 'fn' parameter of repeat must be callable. Got int"),
])
def test_repeat_bad_input(fn, n, match):
    with pytest.raises(ValueError, match=match):
        ex.repeat(fn, n)


# -- summarize and compare ---------------------------------------------------------------

def test_summarize():
    s = ex.summarize([1.0, 2.0, 3.0, 6.0])
    assert (s.mean, s.min, s.max, s.n) == (3.0, 1.0, 6.0, 4)
    assert math.isclose(s.std, np.std([1, 2, 3, 6], ddof=1), rel_tol=1e-15)


def test_compare_tie_rule():
    a = np.array([0.90, 0.91, 0.92, 0.93, 0.94])
    clear = ex.compare(a, a - 0.1 + np.array([0, 0.01, -0.01, 0.005, 0]))
    assert clear.verdict == "a" and clear.ratio > 1 and clear.n == 5
    assert ex.compare(a - 0.1, a).verdict == "b"
    # mean difference 0.002, paired spread ~0.0045: a tie
    noisy = ex.compare(a, a + np.array([0.01, -0.01, 0.0, -0.005, -0.005]))
    assert noisy.verdict == "tie" and noisy.ratio <= 1
    assert math.isclose(noisy.mean_diff, 0.002, abs_tol=1e-15)
    same = ex.compare(a, a)
    assert same.verdict == "tie" and same.ratio == 0.0 and same.std_diff == 0.0
    shift = ex.compare(a + 0.01, a)  # constant difference: no spread, decided
    assert shift.verdict == "a" and shift.ratio > 1e10


def test_compare_is_paired_not_pooled():
    # Large spread across seeds shared by both methods, constant small gap: paired -> "a".
    base = np.array([0.5, 0.7, 0.9, 0.6, 0.8])
    assert ex.compare(base + 0.01 + 1e-3 * np.arange(5), base).verdict == "a"


@pytest.mark.parametrize("call,match", [
    (lambda: ex.summarize([1.0]), r"summarize needs at least 2 repeats to measure a spread"),
    (lambda: ex.summarize([[1.0, 2.0]]), r"The 'values' parameter of summarize must be a "
                                         r"1-d array"),
    (lambda: ex.summarize([1.0, float("nan")]), r"values must be finite \(no NaN or inf\) "
                                                r"in summarize: nan at \(1,\)"),
    (lambda: ex.compare([1.0, 2.0], [1.0, 2.0, 3.0]),
     r"a and b must have the same number of repeats in compare \(paired values\): a has 2, "
     r"b has 3"),
    (lambda: ex.compare([1.0, float("inf")], [1.0, 2.0]), r"a must be finite"),
])
def test_summary_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# -- R16 helpers -------------------------------------------------------------------------

def test_subset_with_sizes():
    y = np.repeat([0, 1, 2], [5, 7, 9])
    idx = ex.subset_with_sizes(y, [1, 3, 9], 0)
    assert np.bincount(y[idx]).tolist() == [1, 3, 9] and np.all(np.diff(idx) > 0)
    with pytest.raises(ValueError, match=r"class 0 has 5 rows, 6 requested"):
        ex.subset_with_sizes(y, [6, 1, 1], 0)
    with pytest.raises(ValueError, match=r"The 'sizes' parameter of subset_with_sizes must "
                                         r"have one entry per class \(3\)"):
        ex.subset_with_sizes(y, [1, 1], 0)


def test_pca_front_end_centres_and_projects_with_the_fit_rows():
    X, _ = blobs()
    A, B = ex.pca_front_end(X[:30], X[30:], n_components=2)
    assert A.shape == (30, 2) and B.shape == (30, 2)
    assert float(A.mean(0).abs().max()) < 1e-12
    C_ = A.T @ A
    assert float((C_ - torch.diag(torch.diagonal(C_))).abs().max()) < 1e-9  # principal axes
    with pytest.raises(ValueError, match=r"must have the 4 columns of X_fit. Got 3"):
        ex.pca_front_end(X, X[:, :3], n_components=2)
    with pytest.raises(ValueError, match=r"The 'n_components' parameter of pca_front_end"):
        ex.pca_front_end(X, n_components=5)


def test_balanced_label_graph_laplacian_is_sum_of_class_centrings():
    from sslspec_lib import graphs
    y = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2])
    G = ex.balanced_label_graph(y)
    assert torch.equal(G, G.T) and float(G.diagonal().abs().max()) == 0
    L = graphs.laplacian(G)
    expect = torch.zeros(9, 9, dtype=torch.float64)
    for c in range(3):
        idx = (y == c).nonzero().ravel()
        n = len(idx)
        expect[idx[:, None], idx[None, :]] = torch.eye(n, dtype=torch.float64) - 1.0 / n
    assert float((L - expect).abs().max()) < 1e-15
    # a wrong normalisation (the plain label graph) is caught by the same comparison
    assert float((graphs.laplacian(graphs.label_graph(y)) - expect).abs().max()) > 0.5
    with pytest.raises(ValueError, match=r"balanced_label_graph must hold at least 2 labels"):
        ex.balanced_label_graph([1])


def test_aligned_probe_methods_tie_with_lda():
    from sslspec_lib import data
    X, y = data.digits()
    out = ex.aligned_probe(X, y, 0, n_per_class=30, n_components=20)
    assert set(out) == {"raw", "lda", "vicreg", "spectral_contrastive"}
    assert abs(out["vicreg"] - out["lda"]) <= 2 / 150 and out["lda"] > 0.8
    with pytest.raises(ValueError, match=r"The 'alpha_m' parameter of aligned_probe"):
        ex.aligned_probe(X, y, 0, alpha_m=0.0)


def test_low_data_probe_keys_and_ranks():
    from sslspec_lib import data
    X, y = data.digits()
    out = ex.low_data_probe(X, y, 0, n_labels=(2,), alpha_ms=(0.25, 1.2), pool_per_class=40,
                            n_components=20)
    assert out["rank_vicreg_am0.25"] == 20.0 and out["rank_spectral_contrastive"] <= 9
    assert {"raw@n2", "lda@n2", "spectral_contrastive@n2", "vicreg_am1.2@n2"} <= set(out)
    with pytest.raises(ValueError, match=r"The 'alpha_ms' parameter of low_data_probe"):
        ex.low_data_probe(X, y, 0, alpha_ms=(-1.0,))
