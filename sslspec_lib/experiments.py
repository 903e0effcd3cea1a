"""The experimental protocol of Part III (R16, R17, R18): probe, repeats, spread, verdicts.

R16 is an identity; R17 and R18 are claims about downstream accuracy.  The
chapters that test them share one protocol, which lives here so that every
accuracy in Part III is measured the same way:

* :func:`probe_accuracy`: the linear probe (standardise on the training
  rows, multinomial logistic regression with L2 penalty ``C = 1``, lbfgs);
* :func:`split_per_class` and :func:`split_fraction`: which rows train the
  probe (a few labels per class, or a stratified fraction);
* :func:`repeat`: run an experiment under ``n`` seeds derived from
  ``$SSLSPEC_SEED`` (:func:`sslspec_lib.checks.seed`), the same seeds for
  every method, so that differences between methods are *paired*;
* :func:`summarize` (mean, spread) and :func:`compare` (paired difference
  and the tie rule) turn the repeats into a verdict.

The tie rule (:func:`compare`): a difference between two methods is called
only when the mean paired difference exceeds the standard deviation of the
paired differences across seeds; otherwise it is a tie.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral
from typing import Any, Callable

import numpy as np
import torch

from . import _validation as _v
from . import checks, closed_form, graphs, metrics, spectral

__all__ = ["probe_accuracy", "split_per_class", "split_fraction", "subset_with_sizes",
           "pca_front_end", "balanced_label_graph", "aligned_probe", "low_data_probe", "repeat", "summarize",
           "compare", "Summary", "Comparison", "PROBE_C", "LOW_DATA_FRONT_ENDS",
           "low_data_front_end", "discriminant_ratios", "low_data_protocol", "low_data_mixture"]

#: Inverse L2 penalty of the linear probe's logistic regression (scikit-learn's default).
PROBE_C = 1.0


# -- input helpers -----------------------------------------------------------------------

def _labels(y: Any, name: str, func: str) -> np.ndarray:
    """A 1-d integer label array (tensor, array or list) as NumPy int64."""
    arr = np.asarray(y.detach().cpu() if isinstance(y, torch.Tensor) else y)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"The '{name}' parameter of {func} must be a non-empty 1-d array "
                         f"of labels. Got shape {arr.shape} instead.")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all() or not (arr == np.round(arr)).all():
            raise ValueError(f"The '{name}' parameter of {func} must hold integer labels.")
        arr = arr.astype(np.int64)
    elif arr.dtype.kind not in "iub":
        raise ValueError(f"The '{name}' parameter of {func} must hold integer labels. "
                         f"Got dtype {arr.dtype} instead.")
    return arr.astype(np.int64)


def _values(values: Any, name: str, func: str) -> np.ndarray:
    """A 1-d finite float array with at least 2 entries."""
    arr = np.asarray(values.detach().cpu() if isinstance(values, torch.Tensor) else values,
                     dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"The '{name}' parameter of {func} must be a 1-d array of values "
                         f"(one per repeat). Got shape {arr.shape} instead.")
    if arr.size < 2:
        raise ValueError(f"{func} needs at least 2 repeats to measure a spread: "
                         f"'{name}' has {arr.size}.")
    if not np.isfinite(arr).all():
        i = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(f"{name} must be finite (no NaN or inf) in {func}: "
                         f"{arr[i]} at ({i},).")
    return arr


# -- the linear probe --------------------------------------------------------------------

def probe_accuracy(Z_train: Any, y_train: Any, Z_test: Any, y_test: Any) -> float:
    r"""Test accuracy of the book's linear probe on frozen features (R16, R17, R18).

    The protocol, the same for every method, baseline and seed of Part III:

    1. each feature is standardised with the mean and standard deviation of
       the *training* rows (constant columns, e.g. collapsed directions, stay
       0);
    2. a multinomial logistic regression with L2 penalty, inverse strength
       :data:`PROBE_C` ``= 1`` on the standardised features, is fitted by
       lbfgs (scikit-learn's ``LogisticRegression``, at most 5,000
       iterations) on ``(Z_train, y_train)``;
    3. the accuracy is the fraction of test rows whose predicted label is
       right.

    Deterministic: no random state is involved, and the features are
    converted to float64 NumPy arrays first.  Built on
    :func:`sslspec_lib.metrics.linear_probe_accuracy`.  Standardising makes
    the probe blind to a per-feature scale (VICReg's shrunk spectrum
    :math:`c_k` does not matter to it, only the kept directions do); the
    penalty is what makes the probe's accuracy depend on the number of
    labelled rows (R18).

    Parameters
    ----------
    Z_train : (n_train, K) array_like
        Features of the labelled rows.
    y_train : (n_train,) array_like of int
        Their labels: at least 2 classes.
    Z_test : (n_test, K) array_like
        Features of the rows to classify.
    y_test : (n_test,) array_like of int

    Returns
    -------
    float in [0, 1]

    Raises
    ------
    ValueError
        On NaN or infinite features, non-integer labels, a mismatch between
        features and labels or between the two feature widths, or fewer than
        2 classes in ``y_train``.

    Examples
    --------
    >>> import torch
    >>> Z = torch.tensor([[0.0], [0.1], [1.0], [1.1]])
    >>> probe_accuracy(Z, [0, 0, 1, 1], Z, [0, 0, 1, 1])
    1.0
    """
    f = "probe_accuracy"
    Ztr = _v.check_matrix(Z_train, "Z_train", f, dtype=torch.float64)
    Zte = _v.check_matrix(Z_test, "Z_test", f, dtype=torch.float64)
    ytr = _labels(y_train, "y_train", f)
    yte = _labels(y_test, "y_test", f)
    if len(ytr) != Ztr.shape[0]:
        raise ValueError(f"Z_train and y_train must have the same number of rows in {f}: "
                         f"Z_train has {Ztr.shape[0]}, y_train has {len(ytr)}.")
    if len(yte) != Zte.shape[0]:
        raise ValueError(f"Z_test and y_test must have the same number of rows in {f}: "
                         f"Z_test has {Zte.shape[0]}, y_test has {len(yte)}.")
    if Ztr.shape[1] != Zte.shape[1]:
        raise ValueError(f"Z_train and Z_test must have the same number of columns in {f}: "
                         f"{Ztr.shape[1]} != {Zte.shape[1]}.")
    if len(np.unique(ytr)) < 2:
        raise ValueError(f"{f} needs at least 2 classes in y_train: got "
                         f"{len(np.unique(ytr))}.")
    return metrics.linear_probe_accuracy(Ztr.cpu(), ytr, Zte.cpu(), yte, C=PROBE_C,
                                         max_iter=5000)


# -- splits ------------------------------------------------------------------------------

def split_per_class(y: Any, n_per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Few labels per class: ``n_per_class`` random training rows of each class (R18).

    Parameters
    ----------
    y : (N,) array_like of int
        Labels of all rows; every class must have more than ``n_per_class``
        rows, so that each class also has test rows.
    n_per_class : int >= 1
    seed : int >= 0
        Seed of the draw (derive it with :func:`sslspec_lib.checks.seed`).

    Returns
    -------
    train, test : int64 arrays of row indices, sorted, disjoint, covering ``0..N-1``.
        ``train`` has exactly ``n_per_class`` rows of each class.

    Raises
    ------
    ValueError
        If a class has ``n_per_class`` rows or fewer, or the arguments are
        invalid.
    """
    f = "split_per_class"
    yy = _labels(y, "y", f)
    n_per_class = _v.check_int(n_per_class, "n_per_class", f, 1)
    seed = _v.check_int(seed, "seed", f, 0)
    classes, counts = np.unique(yy, return_counts=True)
    if len(classes) < 2:
        raise ValueError(f"{f} needs at least 2 classes in y: got {len(classes)}.")
    small = counts <= n_per_class
    if small.any():
        c = classes[small][0]
        raise ValueError(f"Too few samples per class in {f}: class {c} has "
                         f"{counts[small][0]} rows, n_per_class={n_per_class} needs at least "
                         f"{n_per_class + 1} (the rest are the test rows).")
    rng = np.random.default_rng(seed)
    train = np.concatenate([rng.permutation(np.flatnonzero(yy == c))[:n_per_class]
                            for c in classes])
    train = np.sort(train)
    test = np.setdiff1d(np.arange(len(yy)), train)
    return train.astype(np.int64), test.astype(np.int64)


def split_fraction(y: Any, train_fraction: float, seed: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """A stratified split: ``round(train_fraction * n_c)`` training rows of each class (R16, R17).

    Parameters
    ----------
    y : (N,) array_like of int
    train_fraction : float in (0, 1)
    seed : int >= 0

    Returns
    -------
    train, test : int64 arrays of row indices, sorted, disjoint, covering ``0..N-1``.

    Raises
    ------
    ValueError
        If a class would get no training row or no test row.
    """
    f = "split_fraction"
    yy = _labels(y, "y", f)
    ok = (isinstance(train_fraction, (float, int)) and not isinstance(train_fraction, bool)
          and math.isfinite(train_fraction) and 0 < train_fraction < 1)
    if not ok:
        raise ValueError(f"The 'train_fraction' parameter of {f} must be a real number in "
                         f"(0, 1). Got {train_fraction!r} instead.")
    seed = _v.check_int(seed, "seed", f, 0)
    rng = np.random.default_rng(seed)
    parts = []
    for c in np.unique(yy):
        idx = np.flatnonzero(yy == c)
        k = int(round(train_fraction * len(idx)))
        if k < 1 or k >= len(idx):
            raise ValueError(f"Too few samples per class in {f}: class {c} has {len(idx)} "
                             f"rows, {k} would train the probe (need 1 <= k < {len(idx)}).")
        parts.append(rng.permutation(idx)[:k])
    train = np.sort(np.concatenate(parts))
    test = np.setdiff1d(np.arange(len(yy)), train)
    return train.astype(np.int64), test.astype(np.int64)


def subset_with_sizes(y: Any, sizes: Any, seed: int) -> np.ndarray:
    """Rows with prescribed class sizes: ``sizes[j]`` random rows of the j-th class (R16).

    Used to measure what unequal class sizes change in R16.

    Parameters
    ----------
    y : (N,) array_like of int
    sizes : sequence of int >= 1, one per class (classes in increasing order)
    seed : int >= 0

    Returns
    -------
    int64 array of row indices, sorted.

    Raises
    ------
    ValueError
        If ``sizes`` does not have one entry per class or asks for more rows
        than a class has.
    """
    f = "subset_with_sizes"
    yy = _labels(y, "y", f)
    seed = _v.check_int(seed, "seed", f, 0)
    classes, counts = np.unique(yy, return_counts=True)
    sz = [int(v) for v in np.asarray(sizes).ravel()] if np.ndim(sizes) <= 1 else None
    if sz is None or len(sz) != len(classes):
        raise ValueError(f"The 'sizes' parameter of {f} must have one entry per class "
                         f"({len(classes)}). Got {sizes!r} instead.")
    for c, k, n in zip(classes, sz, counts):
        if k < 1 or k > n:
            raise ValueError(f"Too few samples per class in {f}: class {c} has {n} rows, "
                             f"{k} requested (need 1 <= size <= {n}).")
    rng = np.random.default_rng(seed)
    idx = np.concatenate([rng.permutation(np.flatnonzero(yy == c))[:k]
                          for c, k in zip(classes, sz)])
    return np.sort(idx).astype(np.int64)


def pca_front_end(X_fit: Any, *others: Any, n_components: int) -> tuple[torch.Tensor, ...]:
    r"""The feature front end of Part III: centre and project on the top principal axes (R16, R17, R18).

    The mean and the axes are computed on ``X_fit`` only (the rows the
    method is fitted on); every array is centred with that mean and projected
    on the ``n_components`` right singular vectors of the centred ``X_fit``
    with the largest singular values.  On digits this removes the always-blank
    pixels, which make :math:`\Sigma = X^\top HX/N` singular and the linear
    closed forms undefined.

    Parameters
    ----------
    X_fit : (N, d) array_like
    *others : (M_i, d) array_like, projected with the same mean and axes
    n_components : int, 1 <= n_components <= min(N, d)

    Returns
    -------
    tuple of tensors ``(X_fit_projected, *others_projected)``, float64,
    ``X_fit_projected`` with zero column means.

    Raises
    ------
    ValueError
        If the widths differ or ``n_components`` is out of range.
    """
    f = "pca_front_end"
    Xf = _v.check_matrix(X_fit, "X_fit", f, dtype=torch.float64)
    n_components = _v.check_int(n_components, "n_components", f, 1, min(Xf.shape))
    rest = [_v.check_matrix(o, "others", f, dtype=torch.float64).to(Xf.device)
            for o in others]
    for o in rest:
        if o.shape[1] != Xf.shape[1]:
            raise ValueError(f"Every array passed to {f} must have the {Xf.shape[1]} columns "
                             f"of X_fit. Got {o.shape[1]}.")
    mean = Xf.mean(dim=0, keepdim=True)
    # Right singular vectors of the centred data, largest singular values first.
    _, _, Vt = torch.linalg.svd(Xf - mean, full_matrices=False)
    P = Vt[:n_components].T
    return tuple((A - mean) @ P for A in [Xf, *rest])


def balanced_label_graph(y: Any, *, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    r"""Class-size-normalised label graph :math:`G_{ij} = 1[y_i = y_j]/n_{y_i}`, :math:`i \ne j` (R16).

    Its Laplacian is :math:`\sum_c H_c` (the centring matrix of each class),
    so :math:`X^\top LX/N` is exactly Fisher's within-class scatter
    :math:`S_w` whatever the class sizes, while the plain label graph
    (:func:`sslspec_lib.graphs.label_graph`) gives
    :math:`\frac1N\sum_c n_c X_c^\top H_c X_c`, which weights class
    :math:`c` by :math:`n_c^2` instead of :math:`n_c`.

    Parameters
    ----------
    y : (N,) array_like of int, N >= 2

    Returns
    -------
    torch.Tensor, shape (N, N), symmetric, zero diagonal.
    """
    f = "balanced_label_graph"
    yy = _labels(y, "y", f)
    if len(yy) < 2:
        raise ValueError(f"The 'y' parameter of {f} must hold at least 2 labels. "
                         f"Got {len(yy)}.")
    _, codes, counts = np.unique(yy, return_inverse=True, return_counts=True)
    G = graphs.label_graph(torch.as_tensor(codes), dtype=dtype)
    return G / torch.as_tensor(counts[codes], dtype=dtype)[:, None]


def aligned_probe(X: Any, y: Any, seed: int, *, n_per_class: int = 60,
                  train_fraction: float = 0.5, n_components: int = 30,
                  alpha_m: float = 0.5) -> dict[str, float]:
    r"""One repeat of the aligned-G experiment of R16: probe accuracy of each method.

    1. Draw ``n_per_class`` rows of each class (equal sizes
       :math:`m`, seed ``seed``) and split them, stratified, into training
       and test rows (``train_fraction``, seed ``seed + 1``).
    2. Front end: :func:`pca_front_end` fitted on the training rows,
       ``n_components`` axes.
    3. On the training rows, with :math:`G` the label graph of their labels
       and :math:`K = C - 1`: Fisher LDA (:func:`sslspec_lib.spectral.lda`),
       linear VICReg at :math:`\alpha = ` ``alpha_m`` :math:`/m`
       (:func:`sslspec_lib.closed_form.vicreg_linear_optimum`) and the linear
       spectral contrastive loss
       (:func:`sslspec_lib.closed_form.spectral_contrastive_linear_optimum`).
    4. Each method's features ``X @ W`` (and the front end's features,
       ``raw``) go through :func:`probe_accuracy`, trained on the training
       rows, tested on the test rows.

    Returns
    -------
    dict
        ``{"raw", "lda", "vicreg", "spectral_contrastive"}`` test accuracies.
    """
    f = "aligned_probe"
    yy = _labels(y, "y", f)
    alpha_m = _v.check_positive(alpha_m, "alpha_m", f)
    sub, _ = split_per_class(yy, n_per_class, seed)
    Xs = _v.check_matrix(X, "X", f, dtype=torch.float64)[torch.as_tensor(sub)]
    ys = yy[sub]
    tr, te = split_fraction(ys, train_fraction, seed + 1)
    Xtr, Xte = pca_front_end(Xs[torch.as_tensor(tr)], Xs[torch.as_tensor(te)],
                             n_components=n_components)
    ytr, yte = ys[tr], ys[te]
    K = len(np.unique(ytr)) - 1
    m = float(np.bincount(ytr).max())
    G = graphs.label_graph(torch.as_tensor(ytr), device=Xtr.device)
    Ws = {"lda": spectral.lda(Xtr, ytr, K),
          "vicreg": closed_form.vicreg_linear_optimum(Xtr, G, K, alpha_m / m),
          "spectral_contrastive": closed_form.spectral_contrastive_linear_optimum(Xtr, G, K)}
    out = {"raw": probe_accuracy(Xtr, ytr, Xte, yte)}
    for name, W in Ws.items():
        out[name] = probe_accuracy(Xtr @ W, ytr, Xte @ W, yte)
    return out


def _probe_each(Ws: dict[str, torch.Tensor], Xp: torch.Tensor, yp: Any, Xt: torch.Tensor,
                yt: Any, n_labels: Any, seed: int, C: int) -> dict[str, float]:
    """Probe accuracy of every encoder ``W`` of ``Ws`` with ``n`` labels per class, each n."""
    out = {}
    for n in n_labels:
        lab, _ = split_per_class(yp, n, seed + 1)
        for name, W in Ws.items():
            Z = Xp @ W
            out[f"{name}@n{n}"] = (probe_accuracy(Z[torch.as_tensor(lab)], yp[lab],
                                                  Xt @ W, yt) if W.shape[1] else 1.0 / C)
    return out


def low_data_probe(X: Any, y: Any, seed: int, *, n_labels: tuple[int, ...] = (2, 5, 10, 50),
                   alpha_ms: tuple[float, ...] = (0.25, 2.0, 8.0), pool_per_class: int = 100,
                   n_components: int = 30) -> dict[str, float]:
    r"""One repeat of the low-data experiment of R18: accuracy against labels per class and :math:`\alpha`.

    1. Draw a pool of ``pool_per_class`` rows of each class (seed ``seed``);
       every other row is a test row.  Front end: :func:`pca_front_end`
       fitted on the pool (``n_components`` axes, :math:`K = d`).
    2. :math:`G` is the label graph of the pool (the aligned relation
       matrix; :math:`m` = ``pool_per_class``).  Fitted on the pool: linear
       VICReg (:func:`sslspec_lib.closed_form.vicreg_linear_optimum`) at
       :math:`\alpha = a/m` for each ``a`` in ``alpha_ms``, the linear
       spectral contrastive loss, and Fisher's LDA of the pool
       (:func:`sslspec_lib.spectral.lda`, the supervised solution).
    3. For each ``n`` in ``n_labels``, the probe (:func:`probe_accuracy`) is
       trained on ``n`` labelled pool rows per class
       (:func:`split_per_class`, seed ``seed + 1``, the same rows for every
       method) and tested on the test rows.  Columns of a representation that
       the closed form sets to zero are dropped before the probe.

    Returns
    -------
    dict
        ``"<method>@n<n>"`` for the methods ``raw``, ``lda``,
        ``spectral_contrastive`` and ``vicreg_am<a>``, plus
        ``"rank_vicreg_am<a>"`` and ``"rank_spectral_contrastive"`` (kept
        columns).
    """
    f = "low_data_probe"
    yy = _labels(y, "y", f)
    Xf = _v.check_matrix(X, "X", f, dtype=torch.float64)
    for a in alpha_ms:
        _v.check_positive(a, "alpha_ms", f)
    pool, test = split_per_class(yy, pool_per_class, seed)
    Xp, Xt = pca_front_end(Xf[torch.as_tensor(pool)], Xf[torch.as_tensor(test)],
                           n_components=n_components)
    yp, yt = yy[pool], yy[test]
    C = len(np.unique(yp))
    G = graphs.label_graph(torch.as_tensor(yp), device=Xp.device)
    Ws: dict[str, torch.Tensor] = {"raw": torch.eye(n_components, dtype=Xp.dtype,
                                                    device=Xp.device),
                                   "lda": spectral.lda(Xp, yp, C - 1)}
    out: dict[str, float] = {}
    W_sc, det = closed_form.spectral_contrastive_linear_optimum(Xp, G, n_components,
                                                                return_details=True)
    Ws["spectral_contrastive"] = W_sc[:, det.c > 0]
    out["rank_spectral_contrastive"] = float((det.c > 0).sum())
    for a in alpha_ms:
        W, det = closed_form.vicreg_linear_optimum(Xp, G, n_components, a / pool_per_class,
                                                   return_details=True)
        Ws[f"vicreg_am{a:g}"] = W[:, det.c > 0]
        out[f"rank_vicreg_am{a:g}"] = float((det.c > 0).sum())
    out.update(_probe_each(Ws, Xp, yp, Xt, yt, n_labels, seed, C))
    return out


# -- repeats -----------------------------------------------------------------------------

def repeat(fn: Callable[[int], dict[str, float]], n_repeats: int, *,
           offset: int = 100) -> dict[str, np.ndarray]:
    """Run an experiment under ``n_repeats`` derived seeds (R16, R17, R18).

    Calls ``fn(seed)`` with ``seed = checks.seed(offset + i)`` for
    ``i = 0, ..., n_repeats - 1``: seeds derived from ``$SSLSPEC_SEED``, so
    that one variable re-draws every repeat.  ``fn`` returns a dict of named
    floats (one per method, e.g. ``{"raw": ..., "lda": ..., "vicreg": ...}``)
    computed on the *same* draw, so that the values of two names at the same
    index are paired (see :func:`compare`).  Use a different ``offset`` for
    each experiment of a notebook whose draws must be independent.

    Returns
    -------
    dict[str, numpy.ndarray]
        Each name's values across repeats, in repeat order (float64, length
        ``n_repeats``).

    Raises
    ------
    ValueError
        If ``fn`` is not callable, ``n_repeats < 1``, ``offset < 0``, or
        ``fn`` returns something other than a non-empty dict of finite
        numbers, or different names in different repeats.
    """
    f = "repeat"
    if not callable(fn):
        raise ValueError(f"The 'fn' parameter of {f} must be callable. "
                         f"Got {type(fn).__name__} instead.")
    n_repeats = _v.check_int(n_repeats, "n_repeats", f, 1)
    offset = _v.check_int(offset, "offset", f, 0)
    out: dict[str, list[float]] = {}
    for i in range(n_repeats):
        s = checks.seed(offset + i)
        res = fn(s)
        if not isinstance(res, dict) or not res:
            raise ValueError(f"The function passed to {f} must return a non-empty dict of "
                             f"named numbers. Got {type(res).__name__} at repeat {i}.")
        if i and set(res) != set(out):
            raise ValueError(f"The function passed to {f} returned names "
                             f"{sorted(res)} at repeat {i}, but {sorted(out)} at repeat 0.")
        for name, value in res.items():
            if isinstance(value, torch.Tensor):
                value = value.item()
            try:
                v = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"The function passed to {f} returned {value!r} for "
                                 f"{name!r} at repeat {i}: not a number.") from None
            if not math.isfinite(v):
                raise ValueError(f"The function passed to {f} returned {v} for {name!r} at "
                                 f"repeat {i}: values must be finite (no NaN or inf).")
            out.setdefault(name, []).append(v)
    return {name: np.asarray(v, dtype=np.float64) for name, v in out.items()}


# -- spread and verdicts -----------------------------------------------------------------

@dataclass(frozen=True)
class Summary:
    """Mean and spread of one quantity across repeats (see :func:`summarize`).

    ``std`` is the sample standard deviation (``ddof=1``).
    """

    mean: float
    std: float
    min: float
    max: float
    n: int


@dataclass(frozen=True)
class Comparison:
    """A paired comparison of two methods across repeats (see :func:`compare`).

    Attributes
    ----------
    mean_diff : float
        Mean of ``a - b`` over the repeats.
    std_diff : float
        Sample standard deviation (``ddof=1``) of the paired differences.
    n : int
        Number of repeats.
    verdict : {"a", "b", "tie"}
        ``"a"`` if ``mean_diff > std_diff``, ``"b"`` if
        ``mean_diff < -std_diff``, ``"tie"`` otherwise.
    ratio : float
        ``|mean_diff| / std_diff`` (``inf`` when the differences do not vary
        and are not 0; ``0`` when they are all 0): how clear the verdict is.
    """

    mean_diff: float
    std_diff: float
    n: int
    verdict: str
    ratio: float


def summarize(values: Any) -> Summary:
    """Mean, sample standard deviation, minimum and maximum across repeats (R16, R17, R18).

    Parameters
    ----------
    values : (n,) array_like of finite floats, ``n >= 2``
        One value per repeat (one entry of :func:`repeat`'s result).

    Returns
    -------
    Summary

    Raises
    ------
    ValueError
        If ``values`` is not 1-d, has fewer than 2 entries, or holds NaN or inf.
    """
    v = _values(values, "values", "summarize")
    return Summary(mean=float(v.mean()), std=float(v.std(ddof=1)), min=float(v.min()),
                   max=float(v.max()), n=int(v.size))


def compare(a: Any, b: Any) -> Comparison:
    r"""Paired comparison of two methods measured under the same seeds, and the tie rule (R16, R17, R18).

    With :math:`d_i = a_i - b_i` the paired differences over the :math:`n`
    repeats, :math:`\bar d` their mean and :math:`s_d` their sample standard
    deviation (``ddof=1``), the verdict is

    * ``"a"`` (``a`` is larger) if :math:`\bar d > s_d`,
    * ``"b"`` (``b`` is larger) if :math:`\bar d < -s_d`,
    * ``"tie"`` if :math:`|\bar d| \le s_d`:

    a difference no larger than its own spread across seeds is not called.
    Pairing removes the variation that both methods share (the draw of the
    data and of the probe's labelled rows).  The rule is deliberately simple;
    a chapter that *prints* a verdict must also make sure that it cannot flip
    under another ``$SSLSPEC_SEED`` (``ratio`` well above 1, or a verdict of
    ``"tie"`` well inside).

    Parameters
    ----------
    a, b : (n,) array_like of finite floats, ``n >= 2``, same length
        The two methods' values at the same seeds (entries of one
        :func:`repeat` result).

    Returns
    -------
    Comparison

    Raises
    ------
    ValueError
        If the lengths differ, there are fewer than 2 repeats, or a value is
        NaN or inf.
    """
    f = "compare"
    av = _values(a, "a", f)
    bv = _values(b, "b", f)
    if av.shape != bv.shape:
        raise ValueError(f"a and b must have the same number of repeats in {f} (paired "
                         f"values): a has {av.size}, b has {bv.size}.")
    d = av - bv
    mean, std = float(d.mean()), float(d.std(ddof=1))
    if mean > std:
        verdict = "a"
    elif mean < -std:
        verdict = "b"
    else:
        verdict = "tie"
    if std > 0:
        ratio = abs(mean) / std
    else:
        ratio = math.inf if mean != 0 else 0.0
    return Comparison(mean_diff=mean, std_diff=std, n=int(d.size), verdict=verdict,
                      ratio=ratio)


# -- low data (R18) --

#: Feature front ends of the R18 protocol variations (see :func:`low_data_front_end`).
LOW_DATA_FRONT_ENDS = ("pca", "pca_whitened", "standardised")


def low_data_front_end(X_fit: Any, *others: Any, kind: str = "pca",
                       n_components: int | None = None) -> tuple[torch.Tensor, ...]:
    r"""The feature front ends compared in the low-data chapter (R18; :ref:`ch-low-data`).

    All statistics come from ``X_fit`` (the unlabelled pool) and are applied
    to every array:

    * ``"pca"``: :func:`pca_front_end` (centre, project on the top
      ``n_components`` principal axes);
    * ``"pca_whitened"``: the same axes, each divided by its standard
      deviation on ``X_fit`` (biased, ``/N``), so that the covariance of the
      pool is the identity;
    * ``"standardised"``: the input coordinates (pixels), centred and divided
      by their standard deviation on ``X_fit``.  Coordinates that differ from
      their median on fewer than 1% of the rows of ``X_fit`` are dropped:
      the always-blank border pixels of digits, and pixels inked in a handful
      of images, whose within-class scatter cannot be estimated (two pixels
      inked in the same single image make :math:`S_w` singular).
      ``n_components`` must be None.

    ``"pca"`` and ``"pca_whitened"`` differ by a diagonal scaling, so every
    method whose representation depends only on the column span of the
    features (LDA, the linear VICReg and spectral contrastive optima) and a
    probe that standardises its features see the same thing on both.

    Parameters
    ----------
    X_fit : (N, d) array_like
    *others : (M_i, d) array_like
    kind : {"pca", "pca_whitened", "standardised"}
    n_components : int, 1 <= n_components <= min(N, d), for the PCA kinds

    Returns
    -------
    tuple of float64 tensors ``(X_fit_transformed, *others_transformed)``.

    Raises
    ------
    ValueError
        On an unknown ``kind``, a missing or superfluous ``n_components``,
        or arrays of different widths.
    """
    f = "low_data_front_end"
    if kind not in LOW_DATA_FRONT_ENDS:
        raise ValueError(f"The 'kind' parameter of {f} must be one of "
                         f"{LOW_DATA_FRONT_ENDS}. Got {kind!r} instead.")
    if kind == "standardised":
        if n_components is not None:
            raise ValueError(f"The 'n_components' parameter of {f} must be None for "
                             f"kind='standardised' (all non-constant coordinates are kept). "
                             f"Got {n_components!r} instead.")
        Xf = _v.check_matrix(X_fit, "X_fit", f, dtype=torch.float64)
        rest = [_v.check_matrix(o, "others", f, dtype=torch.float64).to(Xf.device)
                for o in others]
        for o in rest:
            if o.shape[1] != Xf.shape[1]:
                raise ValueError(f"Every array passed to {f} must have the {Xf.shape[1]} "
                                 f"columns of X_fit. Got {o.shape[1]}.")
        support = (Xf != Xf.median(dim=0, keepdim=True).values).double().mean(dim=0)
        keep = support >= 0.01
        if not bool(keep.any()):
            raise ValueError(f"Every coordinate of X_fit is constant on more than 99% of its "
                             f"rows in {f}: nothing to standardise.")
        mean = Xf[:, keep].mean(dim=0, keepdim=True)
        sd = Xf[:, keep].std(dim=0, unbiased=False, keepdim=True)
        return tuple((A[:, keep] - mean) / sd for A in [Xf, *rest])
    if n_components is None:
        raise ValueError(f"The 'n_components' parameter of {f} must be an int for "
                         f"kind={kind!r}. Got None instead.")
    out = pca_front_end(X_fit, *others, n_components=n_components)
    if kind == "pca":
        return out
    sd = out[0].std(dim=0, unbiased=False, keepdim=True)
    return tuple(A / sd for A in out)


def discriminant_ratios(X: Any, y: Any) -> torch.Tensor:
    r"""Fisher's discriminant ratios :math:`\rho_1 \ge \dots \ge \rho_{C-1}` of labelled data (R16, R18).

    The :math:`C - 1` largest generalised eigenvalues of
    :math:`(S_b, S_w)` (scatters as in :func:`sslspec_lib.spectral.lda`),
    computed as the eigenvalues of :math:`S_w^{-1/2}S_bS_w^{-1/2}`.  With the
    label graph of :math:`C` classes of size :math:`m`, linear VICReg keeps
    the discriminant direction :math:`k` iff :math:`\alpha m < 1 + \rho_k`
    and every other direction iff :math:`\alpha m < 1`
    (:ref:`ch-low-data`), so ``rho[-1]`` sets the upper end of the window
    :math:`1 \le \alpha m < 1 + \rho_{C-1}` in which exactly Fisher's
    subspace is kept.

    Parameters
    ----------
    X : (N, d) array_like, :math:`S_w` of full rank d
    y : (N,) array_like of int, at least 2 classes, C - 1 <= d

    Returns
    -------
    torch.Tensor, shape (C - 1,), float64, descending.

    Raises
    ------
    ValueError
        On invalid input, fewer than 2 classes, more classes than d + 1, or
        a singular :math:`S_w`.
    """
    f = "discriminant_ratios"
    Xf = _v.check_matrix(X, "X", f, dtype=torch.float64)
    yy = _labels(y, "y", f)
    if len(yy) != Xf.shape[0]:
        raise ValueError(f"X and y must have the same number of rows in {f}: "
                         f"X has {Xf.shape[0]}, y has {len(yy)}.")
    classes, codes = np.unique(yy, return_inverse=True)
    C = len(classes)
    if C < 2 or C - 1 > Xf.shape[1]:
        raise ValueError(f"{f} needs 2 <= number of classes <= d + 1 = {Xf.shape[1] + 1}: "
                         f"got {C}.")
    n = Xf.shape[0]
    onehot = torch.zeros(n, C, dtype=Xf.dtype, device=Xf.device)
    onehot[torch.arange(n), torch.as_tensor(codes, device=Xf.device)] = 1.0
    counts = onehot.sum(dim=0)
    means = (onehot.T @ Xf) / counts[:, None]
    Xw = Xf - onehot @ means
    Mc = means - Xf.mean(dim=0, keepdim=True)
    Sw = Xw.T @ Xw / n
    Sb = Mc.T @ (counts[:, None] * Mc) / n
    from ._linalg import inv_sqrt_psd
    Si = inv_sqrt_psd(Sw, "The within-class scatter S_w", f)
    rho = torch.linalg.eigvalsh(Si @ Sb @ Si)  # ascending; the top C - 1 are kept
    return rho.flip(0)[:C - 1]


def _label_graph_csr(y: np.ndarray) -> Any:
    """The label graph of ``y`` (:func:`sslspec_lib.graphs.label_graph`) as a SciPy CSR matrix."""
    import scipy.sparse as sps

    same = (y[:, None] == y[None, :]).astype(np.float64)
    np.fill_diagonal(same, 0.0)
    return sps.csr_matrix(same)


def _low_data_K(K: Any, d: int, C: int, func: str) -> int:
    if K == "d":
        return d
    if K == "C-1":
        return C - 1
    if isinstance(K, Integral) and not isinstance(K, bool) and 1 <= K <= d:
        return int(K)
    raise ValueError(f"The 'K' parameter of {func} must be 'd' (the input dimension), 'C-1' "
                     f"or an int in the range [1, {d}]. Got {K!r} instead.")


def low_data_protocol(X: Any, y: Any, seed: int, *, front_end: str = "pca",
                      K: Any = "d", n_labels: tuple[int, ...] = (2, 5, 10, 50),
                      alpha_ms: tuple[float, ...] = (0.25, 2.0, 8.0),
                      pool_per_class: int = 100, n_components: int | None = 30,
                      test_per_class: int | None = None) -> dict[str, float]:
    r"""One repeat of the R18 experiment under a chosen front end and output dimension.

    The protocol of :func:`low_data_probe` (same draws, same probe) with two
    of its choices opened up (:ref:`ch-low-data`):

    1. pool of ``pool_per_class`` rows per class (seed ``seed``), the other
       rows are test rows (at most ``test_per_class`` per class, the first
       ones in row order, if given); front end
       :func:`low_data_front_end` of kind ``front_end`` fitted on the pool;
    2. :math:`G` the label graph of the pool, :math:`m` =
       ``pool_per_class``; linear VICReg at :math:`\alpha = a/m` for ``a`` in
       ``alpha_ms`` and the linear spectral contrastive loss with ``K``
       output columns (``"d"``: the front end's width :math:`d`, ``"C-1"``, or an
       int), Fisher's LDA of the pool with :math:`C - 1` columns; columns the
       closed form sets to zero are dropped;
    3. the probe (:func:`probe_accuracy`) trained on ``n`` labelled pool rows
       per class (seed ``seed + 1``, the same rows for every method) for each
       ``n`` in ``n_labels``.

    With ``front_end="pca"`` and ``K="d"`` the accuracies equal
    :func:`low_data_probe`'s, except VICReg's for :math:`\alpha m < 1`: there
    the eigenvalue :math:`\mu = m` of :math:`M` has multiplicity
    :math:`d - C + 1`, any rotation of that block is optimal, and the probe
    (not rotation invariant) sees whichever basis the eigensolver returns,
    which depends on rounding (here the label graph is passed as a SciPy CSR
    matrix, :func:`low_data_probe` passes it dense).

    Returns
    -------
    dict
        ``"<method>@n<n>"`` accuracies for ``raw``, ``lda``,
        ``spectral_contrastive`` and ``vicreg_am<a>``; ``"rank_<method>"``
        (kept columns); ``"fisher_gap_<method>"``, the sine of the largest
        principal angle between the method's kept representation of the pool
        and LDA's (:func:`sslspec_lib.metrics.subspace_gap`, 1 when the
        ranks differ); ``"d"`` (the input dimension), ``"K"``; ``"rho_max"``, ``"rho_min"``
        (:func:`discriminant_ratios` of the pool).

    Raises
    ------
    ValueError
        On an invalid front end, ``K``, ``alpha_ms`` or sizes.
    """
    f = "low_data_protocol"
    yy = _labels(y, "y", f)
    Xf = _v.check_matrix(X, "X", f, dtype=torch.float64)
    if len(yy) != Xf.shape[0]:
        raise ValueError(f"X and y must have the same number of rows in {f}: "
                         f"X has {Xf.shape[0]}, y has {len(yy)}.")
    for a in alpha_ms:
        _v.check_positive(a, "alpha_ms", f)
    if front_end not in LOW_DATA_FRONT_ENDS:
        raise ValueError(f"The 'front_end' parameter of {f} must be one of "
                         f"{LOW_DATA_FRONT_ENDS}. Got {front_end!r} instead.")
    _low_data_K(K, Xf.shape[1] if isinstance(K, Integral) else 1, 2, f)  # early form check
    pool, test = split_per_class(yy, pool_per_class, seed)
    if test_per_class is not None:
        test_per_class = _v.check_int(test_per_class, "test_per_class", f, 1)
        test = np.sort(np.concatenate([test[yy[test] == c][:test_per_class]
                                       for c in np.unique(yy)]))
    Xp, Xt = low_data_front_end(Xf[torch.as_tensor(pool)], Xf[torch.as_tensor(test)],
                                kind=front_end,
                                n_components=None if front_end == "standardised"
                                else n_components)
    yp, yt = yy[pool], yy[test]
    C, d = len(np.unique(yp)), Xp.shape[1]
    KK = _low_data_K(K, d, C, f)
    # The label graph as CSR: the closed forms accept it and skip dense N x N work.
    G = _label_graph_csr(yp)
    W_lda = spectral.lda(Xp, yp, C - 1)
    Ws: dict[str, torch.Tensor] = {"raw": torch.eye(d, dtype=Xp.dtype, device=Xp.device),
                                   "lda": W_lda}
    rho = discriminant_ratios(Xp, yp)
    out: dict[str, float] = {"d": float(d), "K": float(KK), "rho_max": float(rho[0]),
                             "rho_min": float(rho[-1])}
    W_sc, det = closed_form.spectral_contrastive_linear_optimum(Xp, G, KK,
                                                                return_details=True)
    Ws["spectral_contrastive"] = W_sc[:, det.c > 0]
    for a in alpha_ms:
        W, det = closed_form.vicreg_linear_optimum(Xp, G, KK, a / pool_per_class,
                                                   return_details=True)
        Ws[f"vicreg_am{a:g}"] = W[:, det.c > 0]
    for name, W in Ws.items():
        if name == "raw":
            continue
        if name != "lda":
            out[f"rank_{name}"] = float(W.shape[1])
        out[f"fisher_gap_{name}"] = (metrics.subspace_gap(Xp @ W_lda, Xp @ W)
                                     if W.shape[1] else 1.0)
    out.update(_probe_each(Ws, Xp, yp, Xt, yt, n_labels, seed, C))
    return out


def low_data_mixture(seed: int, *, n_classes: int = 4, separation: float = 2.5,
                     dim_nuisance: int = 12, n_nuisance: int = 3,
                     nuisance_separation: float = 3.0, pool_per_class: int = 100,
                     test_per_class: int = 200, n_labels: tuple[int, ...] = (2, 5, 10, 20, 50),
                     alpha_ms: tuple[float, ...] = (0.25, 1.2, 2.0, 8.0)) -> dict[str, float]:
    r"""One repeat of R18 on a Gaussian mixture whose discriminant subspace is known.

    Row :math:`i` is :math:`x_i = (\mu_{y_i} + \varepsilon_i,\ \nu_{a_i} + \eta_i)`
    (as in :func:`sslspec_lib.nuisance.gaussian_nuisance`), with
    ``pool_per_class + test_per_class`` rows per class (seed ``seed``):

    * the ``n_classes`` class means :math:`\mu_c` are the vertices of a
      regular simplex of ``n_classes - 1`` dimensions, of norm
      ``separation``, so the population between-class scatter on the first
      ``n_classes - 1`` coordinates is
      :math:`S_b = \frac{s^2}{C - 1} I` (:math:`s` = ``separation``);
    * the last ``dim_nuisance`` coordinates carry a nuisance attribute
      :math:`a_i`, drawn independently of the label, with ``n_nuisance``
      values whose means :math:`\nu_a` have norm ``nuisance_separation``
      (random directions);
    * :math:`\varepsilon_i, \eta_i` are standard normal.

    The known answer: the population within-class scatter is block diagonal
    with the identity on the signal block, so the population Fisher subspace
    is exactly the span of the first ``n_classes - 1`` coordinates and every
    population discriminant ratio is :math:`\rho = s^2/(C - 1)`: linear
    VICReg with the label graph keeps exactly that subspace for
    :math:`1 \le \alpha m < 1 + s^2/(C-1)` in the population limit.

    The protocol is :func:`low_data_protocol` with the standardised
    coordinates as front end (a diagonal scaling, which keeps that span) and
    ``K = d``.

    Returns
    -------
    dict
        :func:`low_data_protocol`'s entries, plus ``"rho_population"`` and
        ``"truth_gap_<method>"``: the sine of the largest principal angle
        between the span of the method's kept weight columns (in the
        standardised coordinates) and the true discriminant subspace (1 when
        the dimensions differ).

    Raises
    ------
    ValueError
        On invalid sizes, separations or ``alpha_ms``.
    """
    f = "low_data_mixture"
    seed = _v.check_int(seed, "seed", f, 0)
    C = _v.check_int(n_classes, "n_classes", f, 2)
    separation = _v.check_positive(separation, "separation", f)
    dim_nuisance = _v.check_int(dim_nuisance, "dim_nuisance", f, 0)
    n_nuisance = _v.check_int(n_nuisance, "n_nuisance", f, 1)
    nuisance_separation = _v.check_positive(nuisance_separation, "nuisance_separation", f,
                                            allow_zero=True)
    pool_per_class = _v.check_int(pool_per_class, "pool_per_class", f, 1)
    test_per_class = _v.check_int(test_per_class, "test_per_class", f, 1)
    rng = np.random.default_rng(seed)
    # Regular simplex: the centred standard basis of R^C, in an orthonormal basis of
    # the hyperplane orthogonal to the all-ones vector (the last C - 1 columns of a
    # QR factor whose first column is 1/sqrt(C)).
    Q, _ = np.linalg.qr(np.hstack([np.ones((C, 1)), np.eye(C)[:, :C - 1]]))
    mu = (np.eye(C) - 1.0 / C) @ Q[:, 1:]
    mu = separation * mu / np.linalg.norm(mu, axis=1, keepdims=True)
    nu = rng.standard_normal((n_nuisance, max(dim_nuisance, 1)))[:, :dim_nuisance]
    if dim_nuisance:
        nu = nuisance_separation * nu / np.linalg.norm(nu, axis=1, keepdims=True)
    n_c = pool_per_class + test_per_class
    y = np.repeat(np.arange(C), n_c)
    a = rng.integers(0, n_nuisance, size=len(y))
    X = np.hstack([mu[y] + rng.standard_normal((len(y), C - 1)),
                   nu[a] + rng.standard_normal((len(y), dim_nuisance))])
    X = torch.as_tensor(X, dtype=torch.float64)
    out = low_data_protocol(X, y, seed, front_end="standardised", K="d",
                            n_labels=n_labels, alpha_ms=alpha_ms,
                            pool_per_class=pool_per_class)
    out["rho_population"] = separation ** 2 / (C - 1)
    # The weight columns again, on the same pool: only their spans are compared.
    pool, _ = split_per_class(y, pool_per_class, seed)
    (Xp,) = low_data_front_end(X[torch.as_tensor(pool)], kind="standardised")
    yp = y[pool]
    G = _label_graph_csr(yp)
    d = Xp.shape[1]
    truth = torch.eye(d, dtype=Xp.dtype, device=Xp.device)[:, :C - 1]
    Ws = {"lda": spectral.lda(Xp, yp, C - 1)}
    W_sc, det = closed_form.spectral_contrastive_linear_optimum(Xp, G, d, return_details=True)
    Ws["spectral_contrastive"] = W_sc[:, det.c > 0]
    for am in alpha_ms:
        W, det = closed_form.vicreg_linear_optimum(Xp, G, d, am / pool_per_class,
                                                   return_details=True)
        Ws[f"vicreg_am{am:g}"] = W[:, det.c > 0]
    for name, W in Ws.items():
        out[f"truth_gap_{name}"] = metrics.subspace_gap(truth, W) if W.shape[1] else 1.0
    return out
