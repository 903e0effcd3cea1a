r"""Misaligned relation matrices: graphs that link samples sharing a nuisance (R17).

A relation matrix is *misaligned* with a downstream task when it links
samples that share something other than the label.  This module builds such
data and graphs, and the linear encoders of Part II fitted on them
(:ref:`ch-misaligned`):

* :func:`balanced_groups`: a label-independent attribute with equal group
  sizes (the nuisance of "random groups", and the group layout of every
  other nuisance here);
* :func:`nuisance_graph`: :math:`G_{ij} = 1[a_i = a_j]` (:math:`i \ne j`)
  for a nuisance attribute :math:`a`, scaled to mean degree 1 so that the
  invariance weight :math:`\alpha` is in the units of the two-view pair
  graph;
* :func:`digits_nuisance`: scikit-learn's digits, each image carrying one of
  ``n_groups`` values of a nuisance -- the same shift, the same added
  pattern, or nothing at all (random groups);
* :func:`gaussian_nuisance`: a Gaussian mixture whose label lives in the
  first coordinates and whose nuisance attribute lives in the others;
* :func:`linear_encoder` (closed forms), :func:`vicreg_linear_draw` (a
  minimiser of linear VICReg drawn at random when the optimum is not
  unique) and :func:`trained_encoder` (the real losses, trained);
* :func:`misaligned_split` and :func:`misaligned_trial`: one draw of the R17 experiment, the accuracy of
  the book's linear probe (:func:`sslspec_lib.experiments.probe_accuracy`)
  on every method's features, for :func:`sslspec_lib.experiments.repeat`.

All functions are deterministic given their seed and return float64 tensors.
"""
from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np
import torch

from . import _validation as _v
from . import closed_form, data, experiments, graphs, losses, spectral, train
from ._linalg import eigh_sorted, inv_sqrt_psd
from .metrics import gram_gap, numerical_rank
from .device import generator

__all__ = ["balanced_groups", "nuisance_graph", "digits_nuisance", "gaussian_nuisance",
           "linear_encoder", "vicreg_linear_draw", "trained_encoder", "misaligned_split",
           "misaligned_trial", "digits_nuisance_views", "misaligned_protocol_trial",
           "method_views",
           "KINDS", "METHODS", "TRAINED", "PROBE_PROTOCOLS"]

#: Nuisances of :func:`digits_nuisance`.
KINDS = ("shift", "pattern", "random")
#: Closed forms of :func:`linear_encoder`.
METHODS = ("vicreg", "spectral_contrastive", "cca")
#: Real losses of :func:`trained_encoder`.
TRAINED = ("vicreg", "vicreg_hinge", "spectral_contrastive", "info_nce", "barlow_twins")

# One-pixel offsets (dx, dy) of the "shift" nuisance, one per group.
_OFFSETS = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, -1), (1, -1), (-1, 1))


def balanced_groups(n: int, n_groups: int, *, seed: int = 0) -> torch.Tensor:
    """A random attribute with ``n_groups`` values of equal frequency (R17).

    Group ``g`` gets ``n // n_groups`` rows (the first ``n % n_groups``
    groups one more), assigned by a random permutation: the attribute is
    independent of everything else about the rows.

    Parameters
    ----------
    n : int >= 2
    n_groups : int, 1 <= n_groups <= n
    seed : int >= 0

    Returns
    -------
    torch.Tensor, shape (n,), int64, values ``0 .. n_groups - 1``.
    """
    f = "balanced_groups"
    n = _v.check_int(n, "n", f, 2)
    n_groups = _v.check_int(n_groups, "n_groups", f, 1, n)
    seed = _v.check_int(seed, "seed", f, 0)
    a = np.arange(n) % n_groups
    return torch.as_tensor(np.random.default_rng(seed).permutation(a), dtype=torch.int64)


def nuisance_graph(attribute: Any, *, normalize: bool = True,
                   dtype: torch.dtype = torch.float64,
                   device: torch.device | str | None = None) -> torch.Tensor:
    r"""Relation matrix of a nuisance attribute: rows that share it are positive pairs (R17).

    .. math:: G_{ij} = \frac{1[a_i = a_j]}{\delta}\quad (i \ne j), \qquad G_{ii} = 0,

    with :math:`\delta` the mean degree of the unscaled graph
    (``normalize=True``) or :math:`\delta = 1` (``normalize=False``, the plain
    :func:`sslspec_lib.graphs.label_graph` of the attribute).  Scaled, the
    graph has mean degree 1 like the pair graph of two views, so an
    invariance weight :math:`\alpha` means the same thing for both.  For
    :math:`P` groups of equal size :math:`m` the scaled Laplacian has
    eigenvalues 0 (:math:`P` times) and :math:`m/(m-1)`, so smooth VICReg
    keeps full rank exactly when :math:`\alpha < (m-1)/m`.

    Parameters
    ----------
    attribute : (N,) array_like of int, N >= 2
        The nuisance value of each row; at least one value must be shared.
    normalize : bool, default True

    Returns
    -------
    torch.Tensor, shape (N, N), symmetric, zero diagonal.

    Raises
    ------
    ValueError
        If the attribute is not a 1-d integer array or no two rows share a value.
    """
    f = "nuisance_graph"
    a = torch.as_tensor(np.asarray(attribute.cpu() if isinstance(attribute, torch.Tensor)
                                   else attribute))
    if a.ndim != 1 or a.numel() < 2:
        raise ValueError(f"The 'attribute' parameter of {f} must be a 1-d array with at "
                         f"least 2 entries. Got shape {tuple(a.shape)} instead.")
    if a.is_floating_point() or a.dtype == torch.bool:
        raise ValueError(f"The 'attribute' parameter of {f} must hold integer values. "
                         f"Got dtype {a.dtype} instead.")
    G = graphs.label_graph(a, dtype=dtype)
    total = float(G.sum())
    if total == 0:
        raise ValueError(f"No two rows share a nuisance value in {f}: the graph has no "
                         "positive pair.")
    if normalize:
        G = G * (G.shape[0] / total)
    return G.to(device) if device is not None else G


def _shift(img: np.ndarray, dx: int, dy: int) -> np.ndarray:
    out = np.zeros_like(img)
    src = img[max(0, -dy):8 - max(0, dy), max(0, -dx):8 - max(0, dx)]
    out[max(0, dy):max(0, dy) + src.shape[0], max(0, dx):max(0, dx) + src.shape[1]] = src
    return out


def _check_digits_nuisance(kind: Any, n_samples: Any, n_groups: Any, strength: Any,
                           noise: Any, seed: Any, f: str) -> tuple[int, int, float, float, int]:
    """Validate the arguments shared by :func:`digits_nuisance` and its views."""
    if kind not in KINDS:
        raise ValueError(f"The 'kind' parameter of {f} must be one of {KINDS}. "
                         f"Got {kind!r} instead.")
    n_samples = _v.check_int(n_samples, "n_samples", f, 2, 1797)
    hi = len(_OFFSETS) if kind == "shift" else n_samples
    n_groups = _v.check_int(n_groups, "n_groups", f, 1, hi)
    strength = _v.check_positive(strength, "strength", f, allow_zero=True)
    noise = _v.check_positive(noise, "noise", f, allow_zero=True)
    seed = _v.check_int(seed, "seed", f, 0)
    return n_samples, n_groups, strength, noise, seed


def digits_nuisance(n_samples: int, kind: str, *, n_groups: int = 4, strength: float = 1.0,
                    noise: float = 0.05, seed: int = 0
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Digits whose rows share a nuisance in equal-size groups (R17).

    ``n_samples`` images of :func:`sslspec_lib.data.digits` (random subset
    from ``seed``, pixels in [0, 1]) get a nuisance value from
    :func:`balanced_groups` (independent of the label), then:

    * ``"shift"``: every image of group ``g`` is shifted by the same offset,
      ``strength`` pixels (rounded, 1 to 3) in the ``g``-th of the directions
      right, left, down, up and the four diagonals (zero fill; ``n_groups <= 8``);
    * ``"pattern"``: every image of group ``g`` gets the same added pattern,
      ``strength`` times a fixed image of independent standard normal pixels
      scaled by 0.3 (about the pixel standard deviation of digits);
    * ``"random"``: the images are left as they are (the groups are pure
      label-independent noise).

    Finally ``noise`` times independent standard normal pixel noise is added
    to every image, so that the pixel covariance is invertible (the linear
    closed forms need it).

    Returns
    -------
    X : (n_samples, 64) float64 tensor
    y : (n_samples,) int64 labels 0-9
    nuisance : (n_samples,) int64 group of each row

    Raises
    ------
    ValueError
        On an unknown ``kind``, ``n_groups`` out of range, or a negative
        ``strength`` or ``noise``.
    """
    f = "digits_nuisance"
    n_samples, n_groups, strength, noise, seed = _check_digits_nuisance(
        kind, n_samples, n_groups, strength, noise, seed, f)
    X0, y = data.digits(n_samples, seed=seed)
    nu = balanced_groups(n_samples, n_groups, seed=seed + 1)
    imgs = X0.numpy().reshape(-1, 8, 8).copy()
    rng = np.random.default_rng(seed + 2)
    if kind == "shift":
        step = int(min(3, max(1, round(strength))))
        for i, g in enumerate(nu.tolist()):
            dx, dy = _OFFSETS[g]
            imgs[i] = _shift(imgs[i], step * dx, step * dy)
    elif kind == "pattern":
        patterns = 0.3 * rng.standard_normal((n_groups, 8, 8))
        imgs = imgs + strength * patterns[nu.numpy()]
    imgs = imgs + noise * rng.standard_normal(imgs.shape)
    return torch.as_tensor(imgs.reshape(-1, 64), dtype=torch.float64), y, nu


def gaussian_nuisance(n_samples: int, *, n_classes: int = 3, n_groups: int = 3,
                      dim_signal: int = 2, dim_nuisance: int = 2, separation: float = 3.0,
                      nuisance_separation: float = 3.0, seed: int = 0
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""A Gaussian mixture whose relation matrix can link a nuisance coordinate (R17).

    Label and nuisance are independent and balanced (:func:`balanced_groups`).
    Row :math:`i` is :math:`x_i = (\mu_{y_i} + \varepsilon_i,\ \nu_{a_i} + \eta_i)`:
    the first ``dim_signal`` coordinates hold the class mean (means of norm
    ``separation``, random directions) plus unit noise, the last
    ``dim_nuisance`` coordinates the nuisance mean (norm
    ``nuisance_separation``) plus unit noise.  The known answer: the label
    is a function of the first block only, and :func:`nuisance_graph` of the
    nuisance links rows through the second block only.

    Returns
    -------
    X : (n_samples, dim_signal + dim_nuisance) float64 tensor
    y : labels, nuisance : nuisance values (int64)
    """
    f = "gaussian_nuisance"
    n_samples = _v.check_int(n_samples, "n_samples", f, 4)
    n_classes = _v.check_int(n_classes, "n_classes", f, 2, n_samples)
    n_groups = _v.check_int(n_groups, "n_groups", f, 2, n_samples)
    dim_signal = _v.check_int(dim_signal, "dim_signal", f, 1)
    dim_nuisance = _v.check_int(dim_nuisance, "dim_nuisance", f, 1)
    separation = _v.check_positive(separation, "separation", f, allow_zero=True)
    nuisance_separation = _v.check_positive(nuisance_separation, "nuisance_separation", f,
                                            allow_zero=True)
    seed = _v.check_int(seed, "seed", f, 0)
    rng = np.random.default_rng(seed)
    y = balanced_groups(n_samples, n_classes, seed=seed + 1).numpy()
    a = balanced_groups(n_samples, n_groups, seed=seed + 2).numpy()

    def means(k: int, dim: int, norm: float) -> np.ndarray:
        m = rng.standard_normal((k, dim))
        return norm * m / np.linalg.norm(m, axis=1, keepdims=True)

    mu, nu = means(n_classes, dim_signal, separation), means(n_groups, dim_nuisance,
                                                           nuisance_separation)
    X = np.hstack([mu[y] + rng.standard_normal((n_samples, dim_signal)),
                   nu[a] + rng.standard_normal((n_samples, dim_nuisance))])
    return (torch.as_tensor(X, dtype=torch.float64), torch.as_tensor(y, dtype=torch.int64),
            torch.as_tensor(a, dtype=torch.int64))


def linear_encoder(method: str, X: Any, G: Any, K: int, *,
                   alpha: float | None = None) -> torch.Tensor:
    r"""Closed-form linear encoder :math:`W` of a method, fitted on ``(X, G)`` (R17).

    * ``"vicreg"``: :func:`sslspec_lib.closed_form.vicreg_linear_optimum`
      (needs ``alpha``): :math:`W = \Sigma^{-1/2}V_K\operatorname{diag}(\sqrt c)`;
    * ``"spectral_contrastive"``: the global, SimCLR-like closed form
      :func:`sslspec_lib.closed_form.spectral_contrastive_linear_optimum`
      (columns with a non-positive eigenvalue are 0);
    * ``"cca"``: the linear-CCA idealisation of Barlow Twins,
      :func:`sslspec_lib.closed_form.barlow_twins_linear_optimum` (its warning
      that the directions need not minimise Barlow Twins is silenced here:
      on a misaligned graph they never do, see :ref:`ch-misaligned`).

    The non-uniqueness warnings of the closed forms are passed on.

    Returns
    -------
    W : (d, K) float64 tensor
    """
    f = "linear_encoder"
    if method not in METHODS:
        raise ValueError(f"The 'method' parameter of {f} must be one of {METHODS}. "
                         f"Got {method!r} instead.")
    if method == "vicreg":
        if alpha is None:
            raise ValueError(f"{f}('vicreg') needs the invariance weight 'alpha'.")
        return closed_form.vicreg_linear_optimum(X, G, K, alpha)
    if method == "spectral_contrastive":
        return closed_form.spectral_contrastive_linear_optimum(X, G, K)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*need not minimise BarlowTwins.*")
        return closed_form.barlow_twins_linear_optimum(X, G, K)


def vicreg_linear_draw(X: Any, G: Any, K: int, alpha: float, *, seed: int,
                       rtol: float = 1e-8) -> torch.Tensor:
    r"""A minimiser of linear smooth VICReg drawn uniformly when the optimum is not unique (R17).

    The minimisers of :func:`sslspec_lib.closed_form.vicreg_linear_optimum`
    are :math:`W = \Sigma^{-1/2}V\operatorname{diag}(\sqrt c)Q^\top` with
    :math:`V` *any* orthonormal basis of eigenvectors of :math:`M` for its
    :math:`K` smallest eigenvalues.  When eigenvalues tie at the cut
    (:math:`\mu_K = \mu_{K+1}`, within ``rtol`` times the largest), the kept
    subspace can be any :math:`r`-dimensional subspace of the tied
    eigenspace (:math:`r` the number of tied eigenvalues kept); this
    function draws it from the uniform (Haar) distribution with ``seed``
    instead of taking the one the eigen-solver returns, which depends on
    rounding.  On a nuisance graph with equal groups all the eigenvalues
    outside the nuisance directions tie (:ref:`ch-misaligned`).

    Parameters
    ----------
    X : (N, d) array_like, covariance of full rank
    G : (N, N) relation matrix
    K : int, 1 <= K <= d
    alpha : float > 0
    seed : int >= 0
    rtol : float > 0
        Relative tolerance defining a tie.

    Returns
    -------
    W : (d, K) float64 tensor, :math:`C(XW) = \operatorname{diag}(c)`.
    """
    f = "vicreg_linear_draw"
    X = _v.check_matrix(X, "X", f)
    G = _v.check_graph(G, f).to(dtype=X.dtype, device=X.device)
    _v.check_rows(G.shape[0], X, "X", f)
    K = _v.check_int(K, "K", f, 1, X.shape[1])
    alpha = _v.check_positive(alpha, "alpha", f)
    seed = _v.check_int(seed, "seed", f, 0)
    rtol = _v.check_positive(rtol, "rtol", f)
    n = X.shape[0]
    Xc = X - X.mean(dim=0, keepdim=True)
    S_isqrt = inv_sqrt_psd(Xc.T @ Xc / n, "The covariance X^T H X / N", f)
    M = S_isqrt @ (X.T @ graphs.laplacian(G) @ X / n) @ S_isqrt
    mu, V = eigh_sorted((M + M.T) / 2)  # ascending: VICReg keeps the smallest
    tol = rtol * max(1.0, float(mu.abs().max()))
    tied = ((mu - mu[K - 1]).abs() <= tol).nonzero().flatten()
    lo, hi = int(tied.min()), int(tied.max()) + 1
    if hi > K:  # a tie across the cut: draw the kept part of the tied eigenspace
        A = torch.randn(hi - lo, hi - lo, generator=generator(seed), dtype=torch.float64)
        Q, R = torch.linalg.qr(A)
        Q = Q * torch.sign(torch.diagonal(R))  # Haar-distributed orthogonal matrix
        V = V.clone()
        V[:, lo:hi] = V[:, lo:hi] @ Q.to(V)
    c = torch.clamp(1.0 - alpha * mu[:K], min=0.0)
    return S_isqrt @ (V[:, :K] * c.sqrt())


def trained_encoder(loss: str, X: Any, G: Any, K: int, *, seed: int, max_iter: int = 2000,
                    **params: Any) -> tuple[torch.Tensor, train.History]:
    r"""Train a linear encoder :math:`Z = XW` on a real loss with relation matrix ``G`` (R17).

    L-BFGS (:func:`sslspec_lib.train.train_linear`) from a random start
    drawn with ``seed``, run until it stalls or ``max_iter`` iterations (no
    convergence is required: the losses with a hinge or a normalisation are
    not smooth everywhere, and the result is judged by what the probe reads
    from it).  ``loss`` and its parameters:

    * ``"vicreg"``: :func:`sslspec_lib.losses.vicreg`, ``alpha``;
    * ``"vicreg_hinge"``: :func:`sslspec_lib.losses.vicreg_hinge`,
      ``sim_coeff, std_coeff, cov_coeff`` (reference 25, 25, 1);
    * ``"spectral_contrastive"``: :func:`sslspec_lib.losses.spectral_contrastive`;
    * ``"info_nce"``: :func:`sslspec_lib.losses.info_nce` (NT-Xent), ``tau``;
    * ``"barlow_twins"``: :func:`sslspec_lib.losses.barlow_twins`, ``lambd``
      (reference 0.0051).

    Returns
    -------
    W : (d, K) float64 tensor, history : :class:`sslspec_lib.train.History`
    """
    f = "trained_encoder"
    if loss not in TRAINED:
        raise ValueError(f"The 'loss' parameter of {f} must be one of {TRAINED}. "
                         f"Got {loss!r} instead.")
    X = _v.check_matrix(X, "X", f)
    G = _v.check_graph(G, f).to(dtype=X.dtype, device=X.device)
    _v.check_rows(G.shape[0], X, "X", f)
    K = _v.check_int(K, "K", f, 1)
    seed = _v.check_int(seed, "seed", f, 0)
    max_iter = _v.check_int(max_iter, "max_iter", f, 1)
    fns = {
        "vicreg": lambda Z: losses.vicreg(Z, G, **params),
        "vicreg_hinge": lambda Z: losses.vicreg_hinge(Z, G, **params),
        "spectral_contrastive": lambda Z: losses.spectral_contrastive(Z, G),
        "info_nce": lambda Z: losses.info_nce(Z, G, **params),
        "barlow_twins": lambda Z: losses.barlow_twins(Z, G, **params),
    }
    if loss in ("spectral_contrastive",) and params:
        raise ValueError(f"{f}('{loss}') takes no loss parameter. Got {sorted(params)}.")
    return train.train_linear(fns[loss], X, K, seed=seed, max_iter=max_iter,
                              require_convergence=False)


def misaligned_split(seed: int, *, source: str = "digits", kind: str = "shift",
                     n_train: int = 400, n_test: int = 400, n_groups: int = 4,
                     n_components: int | None = None, **source_kw: Any
                     ) -> tuple[torch.Tensor, ...]:
    r"""Training and test rows of the misaligned-graph experiment (R17).

    Draws ``n_train + n_test`` rows with ``seed`` (:func:`digits_nuisance`
    with ``kind``, or :func:`gaussian_nuisance` for ``source="gaussian"``;
    ``source_kw`` goes to them), splits them at random, and keeps in each
    part the same number of rows of every nuisance group (so the graph of the
    training rows has equal groups, as the theorem of :ref:`ch-misaligned`
    assumes).  With ``n_components``, both parts are projected on the top
    principal directions of the training rows (a PCA front end).

    Returns
    -------
    X_train, y_train, a_train, X_test, y_test, a_test
        Features (float64), labels and nuisance values (int64).
    """
    f = "misaligned_split"
    seed = _v.check_int(seed, "seed", f, 0)
    if source not in ("digits", "gaussian"):
        raise ValueError(f"The 'source' parameter of {f} must be 'digits' or 'gaussian'. "
                         f"Got {source!r} instead.")
    n_groups = _v.check_int(n_groups, "n_groups", f, 2)
    n_train = _v.check_int(n_train, "n_train", f, 2 * n_groups)
    n_test = _v.check_int(n_test, "n_test", f, 2 * n_groups)
    n = n_train + n_test
    if source == "digits":
        X, y, a = digits_nuisance(n, kind, n_groups=n_groups, seed=seed, **source_kw)
    else:
        X, y, a = gaussian_nuisance(n, n_groups=n_groups, seed=seed, **source_kw)
    perm = np.random.default_rng(seed + 3).permutation(n)
    parts = []
    for part in (perm[:n_train], perm[n_train:]):
        by_group = [part[a[part].numpy() == g] for g in range(n_groups)]
        m = min(len(b) for b in by_group)
        parts.append(torch.as_tensor(np.sort(np.concatenate([b[:m] for b in by_group]))))
    tr, te = parts
    Xtr, Xte = X[tr], X[te]
    if n_components is not None:
        n_components = _v.check_int(n_components, "n_components", f, 1, X.shape[1])
        mean = Xtr.mean(dim=0, keepdim=True)
        _, _, Vt = torch.linalg.svd(Xtr - mean, full_matrices=False)
        P = Vt[:n_components].T
        Xtr, Xte = (Xtr - mean) @ P, (Xte - mean) @ P
    return Xtr, y[tr], a[tr], Xte, y[te], a[te]


def misaligned_trial(seed: int, *, source: str = "digits", kind: str = "shift",
                     n_train: int = 400, n_test: int = 400, n_groups: int = 4,
                     alphas: Sequence[float] = (0.1, 0.5, 2.0), K: int | None = None,
                     n_components: int | None = None, draw_ties: bool = True,
                     **source_kw: Any) -> dict[str, float]:
    r"""One draw of the misaligned-graph experiment: probe accuracies of every method (R17).

    1. Draw the rows with :func:`misaligned_split` (same arguments);
    2. fit every encoder on the training rows with the scaled
       :func:`nuisance_graph` of their nuisance: linear VICReg at each
       ``alpha`` (:func:`vicreg_linear_draw` when ``draw_ties``, a uniform
       draw among the minimisers; the eigen-solver's pick otherwise), the
       spectral contrastive and the CCA closed forms, all with ``K``
       outputs (``K = d``, the input dimension, by default);
    3. measure the book's linear probe
       (:func:`sslspec_lib.experiments.probe_accuracy`) trained on the
       training rows' features and labels, tested on the test rows.

    Returns
    -------
    dict[str, float]
        ``"raw"`` (the inputs), ``"whitened"`` (the inputs times
        :math:`\Sigma^{-1/2}`), ``"lda"`` (supervised: Fisher LDA fitted
        on the training labels, ``n_classes - 1`` directions),
        ``"vicreg@<alpha>"``, ``"spectral_contrastive"``, ``"cca"``: label
        accuracies; the encoders' names prefixed ``"nuisance:"``: accuracy
        of the same probe at predicting the nuisance;
        ``"rank:<method>"``: the numerical rank of each encoder's features
        (singular values above ``1e-6`` times the largest);
        ``"input_gap:<method>"``: what the probe is given, compared with
        the whitened inputs -- the relative Gram-matrix gap
        (:func:`sslspec_lib.metrics.gram_gap`) between the encoder's features
        and :math:`X\Sigma^{-1/2}`, both standardised with the training
        rows' mean and standard deviation as the probe does, over the
        training and test rows together (0 up to rounding exactly when the
        probe's inputs agree up to an orthogonal map, which leaves its
        penalty and predictions unchanged); and ``"cond"``, the condition
        number of :math:`\Sigma`, which sets the rounding of that gap.
    """
    f = "misaligned_trial"
    alphas = [_v.check_positive(a, "alphas", f) for a in alphas]
    Xtr, ytr, atr, Xte, yte, ate = misaligned_split(
        seed, source=source, kind=kind, n_train=n_train, n_test=n_test, n_groups=n_groups,
        n_components=n_components, **source_kw)
    d = Xtr.shape[1]
    K = d if K is None else _v.check_int(K, "K", f, 1, d)
    G = nuisance_graph(atr)
    Xc = Xtr - Xtr.mean(dim=0, keepdim=True)
    S_isqrt = inv_sqrt_psd(Xc.T @ Xc / Xtr.shape[0], "The covariance X^T H X / N", f)
    n_classes = len(torch.unique(ytr))
    encoders: dict[str, torch.Tensor] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # ties are drawn or stated
        for al in alphas:
            encoders[f"vicreg@{al:g}"] = (vicreg_linear_draw(Xtr, G, K, al, seed=seed + 4)
                                          if draw_ties else
                                          linear_encoder("vicreg", Xtr, G, K, alpha=al))
        for m in ("spectral_contrastive", "cca"):
            encoders[m] = linear_encoder(m, Xtr, G, K)
        W_lda = spectral.lda(Xtr, ytr, min(n_classes - 1, d))
    F_white = _standardised(Xtr @ S_isqrt, Xte @ S_isqrt)
    out: dict[str, float] = {
        "cond": float(torch.linalg.cond(Xc.T @ Xc)),
        "raw": experiments.probe_accuracy(Xtr, ytr, Xte, yte),
        "whitened": experiments.probe_accuracy(Xtr @ S_isqrt, ytr, Xte @ S_isqrt, yte),
        "lda": experiments.probe_accuracy(Xtr @ W_lda, ytr, Xte @ W_lda, yte),
    }
    for name, W in encoders.items():
        Ztr, Zte = Xtr @ W, Xte @ W
        out[name] = experiments.probe_accuracy(Ztr, ytr, Zte, yte)
        out[f"nuisance:{name}"] = experiments.probe_accuracy(Ztr, atr, Zte, ate)
        out[f"rank:{name}"] = float(numerical_rank(Ztr - Ztr.mean(dim=0), rtol=1e-6))
        out[f"input_gap:{name}"] = gram_gap(_standardised(Ztr, Zte), F_white)
    return out


def _standardised(Ztr: torch.Tensor, Zte: torch.Tensor) -> torch.Tensor:
    """Training and test rows stacked, standardised with the training rows' statistics.

    As the probe's ``StandardScaler`` does: biased standard deviation, and a
    constant column left at 0.
    """
    mean = Ztr.mean(dim=0, keepdim=True)
    std = Ztr.std(dim=0, correction=0, keepdim=True)
    std = torch.where(std > 0, std, torch.ones_like(std))
    return (torch.cat([Ztr, Zte]) - mean) / std


# -- misaligned probes (R17) --

#: How the linear probe of :func:`misaligned_protocol_trial` is trained and tested.
PROBE_PROTOCOLS = ("nuisance", "all_views", "clean")


def digits_nuisance_views(n_samples: int, kind: str, *, n_groups: int = 4,
                          strength: float = 1.0, noise: float = 0.05, seed: int = 0
                          ) -> tuple[torch.Tensor, ...]:
    r"""The rows of :func:`digits_nuisance`, with every image also clean and under every nuisance value (R17).

    Same draw as :func:`digits_nuisance` with the same arguments (same images,
    labels, groups, patterns and pixel noise): ``X`` is exactly its output.
    The same image :math:`x_i` (with its own pixel noise :math:`\varepsilon_i`)
    is also returned

    * without nuisance: ``X_clean[i]`` :math:`= x_i + \varepsilon_i`;
    * under each nuisance value :math:`g`: ``X_views[i, g]`` is the image
      shifted by the ``g``-th offset, or plus the ``g``-th pattern, then plus
      :math:`\varepsilon_i` (``X_views[i, a_i] = X[i]``).  For
      ``kind="random"`` every view is the clean image.

    Parameters
    ----------
    As :func:`digits_nuisance`.

    Returns
    -------
    X : (n, 64), y : (n,), nuisance : (n,), X_clean : (n, 64),
    X_views : (n, n_groups, 64)
        float64 features, int64 labels and groups.

    Raises
    ------
    ValueError
        As :func:`digits_nuisance`.
    """
    f = "digits_nuisance_views"
    n_samples, n_groups, strength, noise, seed = _check_digits_nuisance(
        kind, n_samples, n_groups, strength, noise, seed, f)
    X0, y = data.digits(n_samples, seed=seed)
    nu = balanced_groups(n_samples, n_groups, seed=seed + 1)
    imgs = X0.numpy().reshape(-1, 8, 8).copy()
    rng = np.random.default_rng(seed + 2)  # the draws of digits_nuisance, in its order
    views = np.repeat(imgs[:, None], n_groups, axis=1)
    if kind == "shift":
        step = int(min(3, max(1, round(strength))))
        for g in range(n_groups):
            dx, dy = _OFFSETS[g]
            views[:, g] = [_shift(img, step * dx, step * dy) for img in imgs]
    elif kind == "pattern":
        patterns = 0.3 * rng.standard_normal((n_groups, 8, 8))
        views = views + strength * patterns[None]
    eps = noise * rng.standard_normal(imgs.shape)
    views = views + eps[:, None]
    X = views[np.arange(n_samples), nu.numpy()]
    as_t = lambda v: torch.as_tensor(v, dtype=torch.float64)  # noqa: E731
    return (as_t(X.reshape(-1, 64)), y, nu, as_t((imgs + eps).reshape(-1, 64)),
            as_t(views.reshape(n_samples, n_groups, 64)))


def _split_parts(a: torch.Tensor, n_train: int, n_groups: int, seed: int
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """The training and test indices of :func:`misaligned_split` (same rule, same seed)."""
    n = a.shape[0]
    perm = np.random.default_rng(seed + 3).permutation(n)
    parts = []
    for part in (perm[:n_train], perm[n_train:]):
        by_group = [part[a[part].numpy() == g] for g in range(n_groups)]
        m = min(len(b) for b in by_group)
        parts.append(torch.as_tensor(np.sort(np.concatenate([b[:m] for b in by_group]))))
    return parts[0], parts[1]


def misaligned_protocol_trial(seed: int, *, kind: str = "shift", n_train: int = 400,
                              n_test: int = 400, n_groups: int = 4,
                              alphas: Sequence[float] = (0.5, 2.0),
                              protocols: Sequence[str] = PROBE_PROTOCOLS,
                              **source_kw: Any) -> dict[str, float]:
    r"""One draw of the misaligned experiment on digits, with the probe trained in several ways (R17).

    The encoders are those of :func:`misaligned_trial` with the same
    ``seed`` (same rows, same split, same draw in VICReg's tie, ``K = d``):
    fitted on the nuisance-carrying training images with their
    :func:`nuisance_graph`.  Only the linear probe
    (:func:`sslspec_lib.experiments.probe_accuracy`) changes, by
    ``protocol``:

    * ``"nuisance"`` (the protocol of :func:`misaligned_trial`): trained on
      the training images as the encoder saw them (one nuisance-carrying view
      per image), tested on the test images with their own nuisance;
    * ``"all_views"``: trained on every training image under *every* nuisance
      value (``n_groups`` views per image, :func:`digits_nuisance_views`),
      tested on the same nuisance-carrying test images as ``"nuisance"``;
    * ``"clean"``: trained and tested on the images without the nuisance
      (the downstream data do not carry it; same pixel noise).

    Baselines per protocol on the same probe: ``raw`` (the pixels),
    ``whitened`` (times :math:`\Sigma^{-1/2}` of the encoder's training
    rows) and ``lda`` (supervised: Fisher LDA fitted on the probe's own
    training rows and labels).

    Parameters
    ----------
    seed : int >= 0
    kind : one of :data:`KINDS`
    n_train, n_test, n_groups : as :func:`misaligned_split` (``source="digits"``)
    alphas : VICReg invariance weights
    protocols : subset of :data:`PROBE_PROTOCOLS`
    **source_kw : ``strength``, ``noise`` of :func:`digits_nuisance`

    Returns
    -------
    dict[str, float]
        ``"<protocol>:<method>"`` label accuracies, for ``method`` in
        ``raw, whitened, lda, vicreg@<alpha>, spectral_contrastive, cca``.

    Raises
    ------
    ValueError
        On an unknown protocol, a non-positive alpha, or the errors of
        :func:`misaligned_split`.
    """
    f = "misaligned_protocol_trial"
    seed = _v.check_int(seed, "seed", f, 0)
    alphas = [_v.check_positive(a, "alphas", f) for a in alphas]
    protocols = list(protocols)
    if not protocols or any(p not in PROBE_PROTOCOLS for p in protocols):
        raise ValueError(f"The 'protocols' parameter of {f} must be a non-empty subset of "
                         f"{PROBE_PROTOCOLS}. Got {protocols!r} instead.")
    n_groups = _v.check_int(n_groups, "n_groups", f, 2)
    n_train = _v.check_int(n_train, "n_train", f, 2 * n_groups)
    n_test = _v.check_int(n_test, "n_test", f, 2 * n_groups)
    X, y, a, X_clean, X_views = digits_nuisance_views(
        n_train + n_test, kind, n_groups=n_groups, seed=seed, **source_kw)
    tr, te = _split_parts(a, n_train, n_groups, seed)
    Xtr, ytr, atr = X[tr], y[tr], a[tr]
    G = nuisance_graph(atr)
    Xc = Xtr - Xtr.mean(dim=0, keepdim=True)
    S_isqrt = inv_sqrt_psd(Xc.T @ Xc / Xtr.shape[0], "The covariance X^T H X / N", f)
    d = Xtr.shape[1]
    encoders: dict[str, torch.Tensor] = {"raw": torch.eye(d, dtype=X.dtype),
                                         "whitened": S_isqrt}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # ties are drawn or stated
        for al in alphas:
            encoders[f"vicreg@{al:g}"] = vicreg_linear_draw(Xtr, G, d, al, seed=seed + 4)
        for m in ("spectral_contrastive", "cca"):
            encoders[m] = linear_encoder(m, Xtr, G, d)
    n_classes = len(torch.unique(ytr))
    out: dict[str, float] = {}
    for p in protocols:
        if p == "nuisance":
            Ptr, Pytr, Pte, Pyte = Xtr, ytr, X[te], y[te]
        elif p == "all_views":
            Ptr = X_views[tr].reshape(-1, d)
            Pytr = ytr.repeat_interleave(n_groups)
            Pte, Pyte = X[te], y[te]
        else:
            Ptr, Pytr, Pte, Pyte = X_clean[tr], ytr, X_clean[te], y[te]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            W_lda = spectral.lda(Ptr, Pytr, min(n_classes - 1, d))
        for name, W in {**encoders, "lda": W_lda}.items():
            out[f"{p}:{name}"] = experiments.probe_accuracy(Ptr @ W, Pytr, Pte @ W, Pyte)
    return out


def method_views(X_train: Any, y_train: Any, a_train: Any, X_show: Any, *,
                 alphas: Sequence[float] = (0.5, 2.0), seed: int, n_pca: int | None = None,
                 y_show: Any = None, a_show: Any = None) -> dict[str, dict[str, Any]]:
    r"""Two-dimensional views of what each method keeps under a nuisance graph (R17).

    Every encoder is fitted on ``X_train`` with the :func:`nuisance_graph`
    of ``a_train`` (``K = d``): linear VICReg at each ``alpha``
    (:func:`vicreg_linear_draw` with ``seed``), the spectral contrastive
    closed form (the global, SimCLR-like form), the CCA idealisation of
    Barlow Twins (:func:`linear_encoder` ``"cca"``, *not* the trained Barlow
    Twins loss), Fisher LDA fitted on ``y_train`` (supervised, ``C - 1``
    directions) and PCA of the inputs keeping ``n_pca`` principal axes (the
    number of groups by default: the rank the spectral contrastive form is
    allowed).  Each method's features :math:`F = XW` are reduced to their
    numerical rank :math:`r` (principal axes of the training features with
    singular value above ``1e-6`` times the largest), then shown through two
    Fisher discriminants fitted on the training features: the ``"label"``
    view (LDA of the labels, at most 2 directions) and the ``"nuisance"``
    view (LDA of the nuisance values).  A method that kept the label (or
    nuisance) information separates the classes (groups) in that view.  Each
    view's columns are signed so that their largest-magnitude shown entry is
    positive: two encoders that are invertible images of each other give the
    same views.
    With ``y_show`` and ``a_show``, the book's probe
    (:func:`sslspec_lib.experiments.probe_accuracy`) is also trained on each
    method's full training features and tested on the shown rows.

    Parameters
    ----------
    X_train : (n, d) array_like, covariance of full rank
    y_train, a_train : (n,) int labels and nuisance values (equal group sizes)
    X_show : (n_show, d) array_like, the rows to embed (e.g. test rows)
    alphas : VICReg invariance weights, each > 0
    seed : int >= 0
    n_pca : int in [1, d], default the number of nuisance groups
    y_show, a_show : (n_show,) int, optional
        Labels and nuisance values of the shown rows (both or neither).

    Returns
    -------
    dict
        ``method -> {"label": (n_show, 2) tensor, "nuisance": (n_show, 2)
        tensor, "rank": int}`` (a view with one direction has a zero second
        column), plus ``"acc_label"`` and ``"acc_nuisance"`` (floats) with
        ``y_show`` and ``a_show``, for methods ``vicreg@<alpha>``, ``spectral_contrastive``,
        ``cca``, ``lda``, ``pca``.

    Raises
    ------
    ValueError
        On mismatched shapes, bad labels, a non-positive ``alpha`` or
        ``n_pca`` out of range.
    """
    f = "method_views"
    Xtr = _v.check_matrix(X_train, "X_train", f, dtype=torch.float64)
    Xsh = _v.check_matrix(X_show, "X_show", f, dtype=torch.float64)
    if Xsh.shape[1] != Xtr.shape[1]:
        raise ValueError(f"X_train and X_show must have the same number of columns in {f}: "
                         f"{Xtr.shape[1]} and {Xsh.shape[1]}.")
    ytr = torch.as_tensor(np.asarray(y_train), dtype=torch.int64)
    atr = torch.as_tensor(np.asarray(a_train), dtype=torch.int64)
    for name, v in (("y_train", ytr), ("a_train", atr)):
        if v.ndim != 1 or v.shape[0] != Xtr.shape[0]:
            raise ValueError(f"The '{name}' parameter of {f} must be a 1-d array with one "
                             f"entry per row of X_train ({Xtr.shape[0]}). Got shape "
                             f"{tuple(v.shape)} instead.")
    if (y_show is None) != (a_show is None):
        raise ValueError(f"{f} needs both 'y_show' and 'a_show', or neither.")
    alphas = [_v.check_positive(a, "alphas", f) for a in alphas]
    seed = _v.check_int(seed, "seed", f, 0)
    d = Xtr.shape[1]
    n_groups = len(torch.unique(atr))
    n_pca = _v.check_int(n_groups if n_pca is None else n_pca, "n_pca", f, 1, d)
    G = nuisance_graph(atr)
    mean = Xtr.mean(dim=0, keepdim=True)
    encoders: dict[str, torch.Tensor] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for al in alphas:
            encoders[f"vicreg@{al:g}"] = vicreg_linear_draw(Xtr, G, d, al, seed=seed)
        for m in ("spectral_contrastive", "cca"):
            encoders[m] = linear_encoder(m, Xtr, G, d)
        encoders["lda"] = spectral.lda(Xtr, ytr, min(len(torch.unique(ytr)) - 1, d))
    _, _, Vt = torch.linalg.svd(Xtr - mean, full_matrices=False)
    encoders["pca"] = Vt[:n_pca].T
    out: dict[str, dict[str, Any]] = {}
    for name, W in encoders.items():
        Ftr, Fsh = (Xtr - mean) @ W, (Xsh - mean) @ W
        _, s, Vt_f = torch.linalg.svd(Ftr, full_matrices=False)
        r = int((s > 1e-6 * s[0]).sum())
        Ftr, Fsh = Ftr @ Vt_f[:r].T, Fsh @ Vt_f[:r].T
        views: dict[str, Any] = {"rank": r}
        if y_show is not None:
            views["acc_label"] = experiments.probe_accuracy(Ftr, ytr, Fsh, y_show)
            views["acc_nuisance"] = experiments.probe_accuracy(Ftr, atr, Fsh, a_show)
        for key, lab in (("label", ytr), ("nuisance", atr)):
            k = min(2, r, len(torch.unique(lab)) - 1)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                W_v = spectral.lda(Ftr, lab, k)
            V = torch.zeros(Fsh.shape[0], 2, dtype=torch.float64)
            V[:, :k] = Fsh @ W_v
            # sign rule: each column's largest-magnitude shown entry is positive
            top = V.abs().argmax(dim=0)
            V = V * torch.where(V[top, torch.arange(2)] < 0, -1.0, 1.0).to(V)
            views[key] = V
        out[name] = views
    return out
