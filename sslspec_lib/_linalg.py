"""Dense eigen-solvers with fixed order, sign and subspace conventions.

Every closed form goes through these helpers, so the conventions are stated
once: eigenvalues in **ascending** order unless a function says otherwise;
each eigenvector's largest-magnitude entry is made positive (the rule of
scikit-learn's ``_deterministic_vector_sign_flip``).
"""
from __future__ import annotations

import torch

from . import _validation as _v


def sign_flip(U: torch.Tensor) -> torch.Tensor:
    """Flip column signs so that each column's largest-magnitude entry is positive."""
    if U.numel() == 0:
        return U
    idx = U.abs().argmax(dim=0)
    signs = torch.sign(U[idx, torch.arange(U.shape[1], device=U.device)])
    signs[signs == 0] = 1
    return U * signs


def centered_basis(n: int, *, dtype: torch.dtype = torch.float64,
                   device: torch.device | str | None = None) -> torch.Tensor:
    r"""Orthonormal basis :math:`B \in \mathbb{R}^{n\times(n-1)}` of :math:`\mathbf 1^\perp`.

    Columns 2..n of the Householder reflector that maps :math:`e_1` to
    :math:`\mathbf 1/\sqrt n`: exact, deterministic, no eigen-solver.
    """
    e1 = torch.zeros(n, dtype=dtype)
    e1[0] = 1.0
    v = e1 - torch.full((n,), n ** -0.5, dtype=dtype)
    v = v / v.norm()
    Q = torch.eye(n, dtype=dtype) - 2.0 * torch.outer(v, v)
    B = Q[:, 1:]
    return B.to(device) if device is not None else B


def eigh_centered(A: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Eigen-decomposition of symmetric ``A`` restricted to :math:`\mathbf 1^\perp`.

    Returns the :math:`n-1` eigenvalues of :math:`B^\top A B` in ascending
    order and the eigenvectors :math:`U = B V` (orthonormal, orthogonal to
    :math:`\mathbf 1`, sign-flipped).  For a Laplacian (:math:`L\mathbf 1 = 0`)
    these are the eigenpairs of :math:`L` with the constant vector removed.
    """
    B = centered_basis(A.shape[0], dtype=A.dtype, device=A.device)
    lam, V = torch.linalg.eigh(B.T @ A @ B)  # ascending
    return lam, sign_flip(B @ V)


def eigh_sorted(A: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``torch.linalg.eigh`` (ascending) with the sign rule applied."""
    lam, U = torch.linalg.eigh(A)
    return lam, sign_flip(U)


def inv_sqrt_psd(S: torch.Tensor, name: str, func: str, *,
                 rtol: float = 1e-10) -> torch.Tensor:
    r""":math:`S^{-1/2}` of a symmetric positive-definite matrix.

    Raises ``ValueError`` if ``S`` is rank-deficient: its smallest eigenvalue
    is at most ``rtol`` times its largest.
    """
    lam, U = torch.linalg.eigh(S)
    top = float(lam[-1])
    if top <= 0 or float(lam[0]) <= rtol * top:
        rank = int((lam > rtol * max(top, 0.0)).sum())
        raise ValueError(
            f"{name} is rank-deficient in {func}: rank {rank} < {S.shape[0]} "
            f"(eigenvalues from {float(lam[0]):.3g} to {top:.3g}). Remove "
            "collinear or constant features, or reduce the dimension first.")
    return (U * lam.rsqrt()) @ U.T


def check_gap(lam: torch.Tensor, K: int, func: str, *, what: str,
              rtol: float = 1e-9, relevant: bool = True) -> None:
    """Warn if the eigenvalues at positions K-1 and K (0-based) tie.

    ``lam`` must be sorted in the order in which eigenpairs are kept.  A tie
    at the cut makes the kept subspace, hence the minimiser, non-unique.
    """
    if not relevant or K >= lam.numel():
        return
    a, b = float(lam[K - 1]), float(lam[K])
    scale = max(1.0, abs(a), abs(b))
    if abs(a - b) <= rtol * scale:
        extra = ""
        if abs(a) <= rtol * scale:
            extra = (" (the tie is at 0: G has more connected components than "
                     "the K kept directions can hold, so any basis of the "
                     "component indicators is optimal)")
        _v.warn_non_unique(
            func, f"{what} {K} and {K + 1} are equal ({a:.6g} and {b:.6g}), so "
            f"any rotation mixing the tied eigenvectors is also a minimiser{extra}.")
