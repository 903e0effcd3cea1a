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
from typing import Any, Callable

import numpy as np
import torch

from . import _validation as _v
from . import checks, metrics

__all__ = ["probe_accuracy", "split_per_class", "split_fraction", "repeat", "summarize",
           "compare", "Summary", "Comparison", "PROBE_C"]

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
