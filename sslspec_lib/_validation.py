"""Input validation shared by every public function of :mod:`sslspec_lib`.

Every check raises :class:`ValueError` with a message in one template::

    "The '<name>' parameter of <func> must be <expected>. Got <value> instead."

or, for matrices, a message that says what is wrong and where.  Nothing is
repaired silently: an asymmetric ``G`` is an error, not something to
symmetrise.
"""
from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch

__all__ = [
    "as_tensor",
    "check_matrix",
    "check_graph",
    "check_int",
    "check_positive",
    "check_rows",
    "warn_non_unique",
]


def as_tensor(x: Any, name: str, func: str, *, dtype: torch.dtype | None = None,
              device: torch.device | str | None = None) -> torch.Tensor:
    """Convert ``x`` (tensor, array or nested list) to a floating tensor.

    Integer and boolean input becomes float64; floating input keeps its dtype
    unless ``dtype`` is given.  NaN and infinite entries are rejected.
    """
    if isinstance(x, torch.Tensor):
        t = x
    else:
        try:
            t = torch.as_tensor(np.asarray(x))
        except (TypeError, ValueError) as exc:  # ragged lists, objects
            raise ValueError(
                f"The '{name}' parameter of {func} must be an array or tensor of "
                f"numbers. Got {type(x).__name__} instead.") from exc
    if dtype is not None:
        t = t.to(dtype)
    elif not t.is_floating_point():
        t = t.to(torch.float64)
    if device is not None:
        t = t.to(device)
    if t.numel() and not bool(torch.isfinite(t).all()):
        bad = (~torch.isfinite(t)).nonzero()[0].tolist()
        raise ValueError(
            f"{name} must be finite (no NaN or inf) in {func}: "
            f"{t[tuple(bad)].item()} at {tuple(bad)}.")
    return t


def check_matrix(x: Any, name: str, func: str, *, ndim: int = 2,
                 **kw: Any) -> torch.Tensor:
    """Tensor of exactly ``ndim`` dimensions with at least one entry."""
    t = as_tensor(x, name, func, **kw)
    if t.ndim != ndim:
        raise ValueError(
            f"The '{name}' parameter of {func} must be a {ndim}-d array. "
            f"Got shape {tuple(t.shape)} instead.")
    if t.numel() == 0:
        raise ValueError(f"The '{name}' parameter of {func} must not be empty. "
                         f"Got shape {tuple(t.shape)} instead.")
    return t


def check_graph(G: Any, func: str, *, name: str = "G",
                zero_diagonal: bool = False, atol: float = 0.0,
                **kw: Any) -> torch.Tensor:
    """Validate a relation matrix: square, symmetric, finite, non-negative.

    Parameters
    ----------
    G : array_like, shape (N, N)
    func : str
        Name of the calling function, used in error messages.
    zero_diagonal : bool
        Also require ``G_ii = 0`` (no self-pairs).
    atol : float
        Absolute tolerance of the symmetry check; 0 demands exact symmetry.
    """
    G = check_matrix(G, name, func, **kw)
    n, m = G.shape
    if n != m:
        raise ValueError(f"{name} must be square in {func}: got shape ({n}, {m}).")
    if n < 2:
        raise ValueError(f"{name} must have at least 2 rows in {func}: got {n}.")
    asym = (G - G.T).abs()
    worst = float(asym.max())
    if worst > atol:
        i, j = divmod(int(asym.argmax()), n)
        raise ValueError(
            f"{name} must be symmetric in {func}: max |{name} - {name}.T| = "
            f"{worst:.3g} at ({i}, {j}).")
    if bool((G < 0).any()):
        i, j = divmod(int(G.argmin()), n)
        raise ValueError(
            f"{name} must be non-negative in {func}: {name}[{i}, {j}] = "
            f"{float(G[i, j]):.3g}.")
    if zero_diagonal and bool((G.diagonal() != 0).any()):
        i = int(G.diagonal().abs().argmax())
        raise ValueError(
            f"{name} must have a zero diagonal in {func}: {name}[{i}, {i}] = "
            f"{float(G[i, i]):.3g}.")
    return G


def check_int(value: Any, name: str, func: str, lo: int,
              hi: int | None = None) -> int:
    """An integer in ``[lo, hi]`` (``hi=None``: unbounded)."""
    ok = isinstance(value, Integral) and not isinstance(value, bool)
    if ok and value >= lo and (hi is None or value <= hi):
        return int(value)
    rng = f"[{lo}, inf)" if hi is None else f"[{lo}, {hi}]"
    raise ValueError(
        f"The '{name}' parameter of {func} must be an int in the range {rng}. "
        f"Got {value!r} instead.")


def check_positive(value: Any, name: str, func: str, *,
                   allow_zero: bool = False) -> float:
    """A finite real number ``> 0`` (or ``>= 0`` with ``allow_zero``)."""
    ok = isinstance(value, Real) and not isinstance(value, bool) and np.isfinite(value)
    if ok and (value > 0 or (allow_zero and value == 0)):
        return float(value)
    rel = ">= 0" if allow_zero else "> 0"
    raise ValueError(
        f"The '{name}' parameter of {func} must be a finite real number {rel}. "
        f"Got {value!r} instead.")


def check_rows(n_expected: int, t: torch.Tensor, name: str, func: str,
               other: str = "G") -> None:
    """``t`` must have ``n_expected`` rows (one per row of ``other``)."""
    if t.shape[0] != n_expected:
        raise ValueError(
            f"{name} and {other} must have the same number of rows in {func}: "
            f"{name} has {t.shape[0]}, {other} has {n_expected}.")


def warn_non_unique(func: str, why: str) -> None:
    """Warn that the closed form returned is one of several minimisers."""
    warnings.warn(f"{func}: the optimum is not unique: {why}", UserWarning,
                  stacklevel=3)
