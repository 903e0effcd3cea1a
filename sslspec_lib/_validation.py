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
    "check_sparse_graph",
    "is_sparse",
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


def is_sparse(G: Any) -> bool:
    """Whether ``G`` is a ``scipy.sparse`` matrix/array or a sparse torch tensor."""
    if isinstance(G, torch.Tensor):
        return G.layout != torch.strided
    import scipy.sparse as sp
    return bool(sp.issparse(G))


def check_sparse_graph(G: Any, func: str, *, name: str = "G",
                       zero_diagonal: bool = False) -> Any:
    """Validate a sparse relation matrix as strictly as :func:`check_graph`.

    Accepts any ``scipy.sparse`` format or a sparse torch tensor (COO/CSR).
    Returns a canonical float64 ``scipy.sparse.csr_matrix`` (duplicates summed,
    explicit zeros dropped, sorted indices).  Same checks and messages as the
    dense check: square, ``N >= 2``, finite, exactly symmetric, non-negative,
    optionally a zero diagonal.  Nothing is repaired.
    """
    import scipy.sparse as sp
    if isinstance(G, torch.Tensor):
        C = G.detach().cpu().to_sparse_coo().coalesce()
        if C.ndim != 2:
            raise ValueError(f"The '{name}' parameter of {func} must be a 2-d array. "
                             f"Got shape {tuple(C.shape)} instead.")
        idx = C.indices().numpy()
        vals = C.values().to(torch.float64).numpy()
        A = sp.csr_matrix((vals, (idx[0], idx[1])), shape=tuple(C.shape))
    else:
        if G.ndim != 2:
            raise ValueError(f"The '{name}' parameter of {func} must be a 2-d array. "
                             f"Got shape {G.shape} instead.")
        if not (np.issubdtype(G.dtype, np.number) or G.dtype == np.bool_):
            raise ValueError(f"The '{name}' parameter of {func} must be an array or "
                             f"tensor of numbers. Got dtype {G.dtype} instead.")
        A = sp.csr_matrix(G, dtype=np.float64)
    A.sum_duplicates()
    n, m = A.shape
    if n != m:
        raise ValueError(f"{name} must be square in {func}: got shape ({n}, {m}).")
    if n < 2:
        raise ValueError(f"{name} must have at least 2 rows in {func}: got {n}.")
    if A.nnz and not bool(np.isfinite(A.data).all()):
        k = int(np.flatnonzero(~np.isfinite(A.data))[0])
        i = int(np.searchsorted(A.indptr, k, side="right") - 1)
        raise ValueError(f"{name} must be finite (no NaN or inf) in {func}: "
                         f"{A.data[k]} at ({i}, {int(A.indices[k])}).")
    A.eliminate_zeros()
    A.sort_indices()
    asym = abs(A - A.T).tocsr()
    asym.eliminate_zeros()
    if asym.nnz:
        asym.sort_indices()
        k = int(asym.data.argmax())
        i = int(np.searchsorted(asym.indptr, k, side="right") - 1)
        raise ValueError(
            f"{name} must be symmetric in {func}: max |{name} - {name}.T| = "
            f"{float(asym.data[k]):.3g} at ({i}, {int(asym.indices[k])}).")
    if A.nnz and float(A.data.min()) < 0:
        k = int(A.data.argmin())
        i = int(np.searchsorted(A.indptr, k, side="right") - 1)
        raise ValueError(
            f"{name} must be non-negative in {func}: {name}[{i}, {int(A.indices[k])}] = "
            f"{float(A.data[k]):.3g}.")
    if zero_diagonal:
        diag = A.diagonal()
        if bool((diag != 0).any()):
            i = int(np.abs(diag).argmax())
            raise ValueError(
                f"{name} must have a zero diagonal in {func}: {name}[{i}, {i}] = "
                f"{float(diag[i]):.3g}.")
    return A


def check_graph(G: Any, func: str, *, name: str = "G",
                zero_diagonal: bool = False, atol: float = 0.0,
                allow_sparse: bool = False, **kw: Any) -> Any:
    """Validate a relation matrix: square, symmetric, finite, non-negative.

    A sparse ``G`` (``scipy.sparse`` or a sparse torch tensor) is validated by
    :func:`check_sparse_graph` and returned as a CSR matrix if the caller
    supports it (``allow_sparse=True``); otherwise it is refused with a message
    that says so (never densified silently).

    Parameters
    ----------
    G : array_like, shape (N, N)
    func : str
        Name of the calling function, used in error messages.
    zero_diagonal : bool
        Also require ``G_ii = 0`` (no self-pairs).
    atol : float
        Absolute tolerance of the symmetry check; 0 demands exact symmetry.
    allow_sparse : bool
        Whether the caller has a sparse path.
    """
    if is_sparse(G):
        if not allow_sparse:
            raise ValueError(
                f"{func} does not accept a sparse {name}; pass a dense array or "
                f"tensor (for example {name}.toarray()).")
        return check_sparse_graph(G, func, name=name, zero_diagonal=zero_diagonal)
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
