"""Unit tests of :mod:`sslspec_lib.data`: shapes, sample-major order, determinism."""
import numpy as np
import pytest
import torch

from sslspec_lib import data, graphs


def test_digits_full_and_subset():
    X, y = data.digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert X.dtype == torch.float64 and float(X.min()) >= 0 and float(X.max()) <= 1
    assert set(y.tolist()) == set(range(10))
    Xs, ys = data.digits(50, seed=3)
    assert Xs.shape == (50, 64)
    # the subset is a set of rows of the full data, in their original order
    idx = [int(torch.nonzero((X == row).all(dim=1))[0]) for row in Xs[:5]]
    assert idx == sorted(idx)


def test_digits_views_shapes_and_sample_major_order():
    n, V = 6, 3
    X, y, sample = data.digits_views(n, V, seed=1)
    assert X.shape == (n * V, 64) and y.shape == (n * V,) and sample.shape == (n * V,)
    # row i*V + v is view v of sample i
    assert sample.tolist() == [i for i in range(n) for _ in range(V)]
    assert torch.equal(graphs.label_graph(sample), graphs.augmentation_graph(n, V))
    assert all(len(set(y[i * V:(i + 1) * V].tolist())) == 1 for i in range(n))
    # views of one sample are close to each other, but not identical (noise, shifts)
    X0, _ = data.digits(n, seed=1)
    assert float((X[0] - X[1]).abs().max()) > 0
    assert float((X[0::V] - X0).abs().mean()) < 0.5


def test_digits_views_without_noise_or_shift_repeats_the_image():
    X, _, _ = data.digits_views(4, 2, max_shift=0, noise=0.0, seed=2)
    X0, _ = data.digits(4, seed=2)
    assert torch.equal(X[0::2], X0) and torch.equal(X[1::2], X0)


@pytest.mark.parametrize("make", [
    lambda s: data.digits(30, seed=s),
    lambda s: data.digits_views(5, 2, seed=s),
    lambda s: data.gaussian_mixture(10, 3, seed=s),
    lambda s: data.two_moons(40, seed=s),
    lambda s: data.swiss_roll(40, seed=s),
])
def test_deterministic_given_seed(make):
    a, b, c = make(0), make(0), make(1)
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    assert not torch.equal(a[0], c[0])


def test_gaussian_mixture_layout():
    X, y, nu = data.gaussian_mixture(15, 4, dim_signal=3, dim_nuisance=2, n_nuisance=3, seed=0)
    assert X.shape == (60, 5) and X.dtype == torch.float64
    assert y.tolist() == np.repeat(np.arange(4), 15).tolist()  # rows ordered by class
    assert set(nu.tolist()) <= {0, 1, 2}
    # the label lives in the signal coordinates: class means are far apart
    means = torch.stack([X[y == k, :3].mean(dim=0) for k in range(4)])
    assert float(torch.cdist(means, means).add(torch.eye(4) * 1e9).min()) > 2.0
    X0, _, _ = data.gaussian_mixture(5, 2, dim_nuisance=0)
    assert X0.shape == (10, 2)


def test_two_moons_and_swiss_roll_shapes():
    X, y = data.two_moons(30)
    assert X.shape == (30, 2) and set(y.tolist()) == {0, 1}
    X, t = data.swiss_roll(25)
    assert X.shape == (25, 3) and t.shape == (25,) and t.dtype == torch.float64


def test_swiss_roll_grid_one_point_per_cell():
    X, t, h = data.swiss_roll_grid(30, 20, seed=3)
    assert X.shape == (600, 3) and X.dtype == torch.float64
    # t in [1.5 pi, 4.5 pi], one point in each of the 30 x 20 cells of (t, h)
    u_t = (t / (1.5 * torch.pi) - 1) / 2
    u_h = h / 21.0
    cells = set(zip((u_t * 30).floor().long().tolist(), (u_h * 20).floor().long().tolist()))
    assert len(cells) == 600
    torch.testing.assert_close(X[:, 0], t * torch.cos(t), rtol=0, atol=1e-12)
    torch.testing.assert_close(X[:, 2], t * torch.sin(t), rtol=0, atol=1e-12)
    X2, _, _ = data.swiss_roll_grid(30, 20, seed=3)
    assert torch.equal(X, X2)
    assert float((X - data.swiss_roll_grid(30, 20, seed=4)[0]).abs().max()) > 0.1
    with pytest.raises(ValueError, match="'n_t' parameter of swiss_roll_grid"):
        data.swiss_roll_grid(0, 2)
    with pytest.raises(ValueError, match="'height' parameter of swiss_roll_grid"):
        data.swiss_roll_grid(2, 2, height=-1.0)


def test_swiss_roll_arc_length_is_the_integral():
    t = torch.linspace(0, 5, 20001, dtype=torch.float64)
    s = data.swiss_roll_arc_length(t)
    numeric = torch.cumulative_trapezoid(torch.sqrt(1 + t ** 2), t)
    # trapezoid error <= (b - a) h^2 max|f''| / 12 with f'' <= 1: about 2.6e-8
    assert float((s[1:] - numeric).abs().max()) < 3e-8
    with pytest.raises(ValueError, match="finite"):
        data.swiss_roll_arc_length([float("nan")])
