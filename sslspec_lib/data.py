"""Data sets with a known answer, all shipped with a package (no downloads).

* :func:`digits_views`: scikit-learn's digits (1,797 8x8 images, 10 classes)
  with augmentations (small shifts and pixel noise) as views, rows in
  sample-major order.
* :func:`gaussian_mixture`: class clusters in a few dimensions plus nuisance
  dimensions carrying an independent attribute.
* :func:`two_moons`, :func:`swiss_roll`: manifolds on which local and global
  spectral methods differ.

Every function is deterministic given ``seed`` and returns float64 tensors.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from . import _validation as _v

__all__ = ["digits", "digits_views", "gaussian_mixture", "two_moons", "swiss_roll",
           "swiss_roll_grid", "swiss_roll_arc_length", "random_orthogonal"]


def digits(n_samples: int | None = None, *, seed: int = 0
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's digits, pixel values scaled to [0, 1].

    Parameters
    ----------
    n_samples : int or None
        Take a random subset of this size (stratification not enforced); all
        1,797 images if None.

    Returns
    -------
    X : (n, 64) float64 tensor
    y : (n,) int64 tensor of labels 0-9
    """
    from sklearn.datasets import load_digits

    d = load_digits()
    X, y = d.data / 16.0, d.target
    if n_samples is not None:
        n_samples = _v.check_int(n_samples, "n_samples", "digits", 1, len(y))
        idx = np.sort(np.random.default_rng(seed).permutation(len(y))[:n_samples])
        X, y = X[idx], y[idx]
    return torch.as_tensor(X, dtype=torch.float64), torch.as_tensor(y)


def digits_views(n_samples: int, n_views: int = 2, *, max_shift: int = 1,
                 noise: float = 0.05, seed: int = 0
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Augmented views of digits: random integer shifts plus Gaussian pixel noise.

    Each view shifts the 8x8 image by an offset drawn uniformly from
    ``{-max_shift, ..., max_shift}`` in each direction (zero fill) and adds
    ``noise * N(0, 1)`` to every pixel.

    Returns
    -------
    X : (n_samples * n_views, 64) float64 tensor, sample-major rows.
    y : (n_samples * n_views,) labels of the rows.
    sample : (n_samples * n_views,) index of the source image of each row
        (the groups of ``augmentation_graph(n_samples, n_views)``).
    """
    f = "digits_views"
    n_views = _v.check_int(n_views, "n_views", f, 1)
    max_shift = _v.check_int(max_shift, "max_shift", f, 0, 3)
    _v.check_positive(noise, "noise", f, allow_zero=True)
    X0, y0 = digits(n_samples, seed=seed)
    rng = np.random.default_rng(seed + 1)
    imgs = X0.numpy().reshape(-1, 8, 8)
    out = np.empty((len(imgs), n_views, 8, 8))
    for i, img in enumerate(imgs):
        for v in range(n_views):
            dx, dy = rng.integers(-max_shift, max_shift + 1, size=2)
            shifted = np.zeros_like(img)
            src = img[max(0, -dy):8 - max(0, dy), max(0, -dx):8 - max(0, dx)]
            shifted[max(0, dy):max(0, dy) + src.shape[0],
                    max(0, dx):max(0, dx) + src.shape[1]] = src
            out[i, v] = shifted + noise * rng.standard_normal((8, 8))
    X = torch.as_tensor(out.reshape(-1, 64), dtype=torch.float64)
    y = y0.repeat_interleave(n_views)
    sample = torch.arange(len(imgs)).repeat_interleave(n_views)
    return X, y, sample


def gaussian_mixture(n_per_class: int, n_classes: int = 3, *, dim_signal: int = 2,
                     dim_nuisance: int = 2, n_nuisance: int = 2, separation: float = 4.0,
                     seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gaussian clusters (the label) plus nuisance dimensions (another attribute).

    The first ``dim_signal`` coordinates hold the class means (on a scaled
    simplex-like layout, spacing ``separation``) plus unit noise; the next
    ``dim_nuisance`` coordinates hold an independent nuisance attribute with
    ``n_nuisance`` values, equally separated.  Rows are ordered by class.

    Returns
    -------
    X : (n_per_class * n_classes, dim_signal + dim_nuisance) float64 tensor
    y : labels, nuisance : nuisance attribute of each row
    """
    f = "gaussian_mixture"
    n_per_class = _v.check_int(n_per_class, "n_per_class", f, 1)
    n_classes = _v.check_int(n_classes, "n_classes", f, 2)
    dim_signal = _v.check_int(dim_signal, "dim_signal", f, 1)
    dim_nuisance = _v.check_int(dim_nuisance, "dim_nuisance", f, 0)
    n_nuisance = _v.check_int(n_nuisance, "n_nuisance", f, 1)
    rng = np.random.default_rng(seed)
    means = rng.standard_normal((n_classes, dim_signal))
    means = separation * means / np.linalg.norm(means, axis=1, keepdims=True)
    nmeans = separation * rng.standard_normal((n_nuisance, max(dim_nuisance, 1)))[:, :dim_nuisance]
    y = np.repeat(np.arange(n_classes), n_per_class)
    nu = rng.integers(0, n_nuisance, size=len(y))
    X = np.hstack([means[y] + rng.standard_normal((len(y), dim_signal)),
                   nmeans[nu] + rng.standard_normal((len(y), dim_nuisance))])
    return (torch.as_tensor(X, dtype=torch.float64), torch.as_tensor(y),
            torch.as_tensor(nu))


def two_moons(n_samples: int, *, noise: float = 0.05, seed: int = 0
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's ``make_moons`` as float64 tensors ``(X, y)``."""
    from sklearn.datasets import make_moons

    n_samples = _v.check_int(n_samples, "n_samples", "two_moons", 2)
    X, y = make_moons(n_samples=n_samples, noise=noise, random_state=seed)
    return torch.as_tensor(X, dtype=torch.float64), torch.as_tensor(y)


def swiss_roll(n_samples: int, *, noise: float = 0.0, seed: int = 0
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's ``make_swiss_roll``: ``(X (n, 3), t)``, ``t`` the position along the roll."""
    from sklearn.datasets import make_swiss_roll

    n_samples = _v.check_int(n_samples, "n_samples", "swiss_roll", 2)
    X, t = make_swiss_roll(n_samples=n_samples, noise=noise, random_state=seed)
    return torch.as_tensor(X, dtype=torch.float64), torch.as_tensor(t, dtype=torch.float64)


def swiss_roll_grid(n_t: int, n_h: int, *, seed: int = 0, height: float = 21.0
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""A swiss roll drawn one point per cell of an ``n_t x n_h`` grid in (t, h) (R7).

    .. math:: x = (t\cos t,\ h,\ t\sin t),\qquad
              t \in [\tfrac32\pi, \tfrac92\pi],\ h \in [0, \text{height}],

    with one point drawn uniformly inside each cell of the regular grid over
    :math:`(t, h)`.  scikit-learn's ``make_swiss_roll`` draws :math:`t`
    uniformly, which leaves the outer turns (where the arc length per unit
    :math:`t` is largest) sparse, so a :math:`k`-NN graph of it often
    short-circuits between turns and ISOMAP fails on some draws; a
    stratified draw keeps the density even along :math:`t` and makes the
    result hold for every seed at the sizes the book uses.

    Parameters
    ----------
    n_t, n_h : int >= 1
        Grid cells along :math:`t` and :math:`h`; ``n_t * n_h`` points.
    seed : int
        Of the CPU generator that draws the point inside each cell.
    height : float > 0

    Returns
    -------
    X : (n_t * n_h, 3) float64 tensor
    t, h : (n_t * n_h,) float64 tensors, the intrinsic parameters.
    """
    f = "swiss_roll_grid"
    n_t = _v.check_int(n_t, "n_t", f, 1)
    n_h = _v.check_int(n_h, "n_h", f, 1)
    height = _v.check_positive(height, "height", f)
    g = torch.Generator().manual_seed(int(seed))
    u_t = (torch.arange(n_t, dtype=torch.float64)[:, None] / n_t
           + torch.rand(n_t, n_h, generator=g, dtype=torch.float64) / n_t)
    u_h = (torch.arange(n_h, dtype=torch.float64)[None, :] / n_h
           + torch.rand(n_t, n_h, generator=g, dtype=torch.float64) / n_h)
    t = (1.5 * torch.pi * (1 + 2 * u_t)).reshape(-1)
    h = (height * u_h).reshape(-1)
    X = torch.stack([t * torch.cos(t), h, t * torch.sin(t)], 1)
    return X, t, h


def swiss_roll_arc_length(t: Any) -> torch.Tensor:
    r"""Arc length along the spiral of the swiss roll (R7).

    .. math:: s(t) = \int_0^t \sqrt{1 + u^2}\,du
              = \tfrac12\bigl(t\sqrt{1 + t^2} + \operatorname{arsinh} t\bigr),

    so that :math:`(s(t), h)` are intrinsic (isometric) coordinates of the roll
    :math:`(t\cos t, h, t\sin t)` (derived in :ref:`ch-isomap`).
    """
    t = _v.as_tensor(t, "t", "swiss_roll_arc_length", dtype=torch.float64)
    return 0.5 * (t * torch.sqrt(1 + t ** 2) + torch.asinh(t))


def random_orthogonal(n: int, seed: int, *, dtype: torch.dtype = torch.float64,
                      device: torch.device | str | None = None) -> torch.Tensor:
    r"""A random orthogonal matrix, uniformly distributed (Haar) on :math:`O(n)`.

    :math:`Q` from the QR decomposition :math:`Y = QR` of a standard Gaussian
    :math:`Y`, with the columns flipped so that :math:`R_{kk} > 0` (without the
    flip, LAPACK's sign convention biases the distribution; Mezzadri, 2007).
    Drawn on the CPU from ``seed`` (:func:`sslspec_lib.device.generator`), so
    that the same seed gives the same matrix on every device.

    Parameters
    ----------
    n : int >= 1
    seed : int >= 0
    dtype, device : the returned tensor's

    Returns
    -------
    torch.Tensor, shape (n, n), with :math:`Q^\top Q = I`.
    """
    from .device import generator

    f = "random_orthogonal"
    n = _v.check_int(n, "n", f, 1)
    seed = _v.check_int(seed, "seed", f, 0)
    Y = torch.randn(n, n, generator=generator(seed), dtype=torch.float64)
    Q, R = torch.linalg.qr(Y)
    sgn = torch.sign(torch.diagonal(R))
    Q = Q * torch.where(sgn == 0, torch.ones_like(sgn), sgn)
    return Q.to(dtype=dtype, device=device)
