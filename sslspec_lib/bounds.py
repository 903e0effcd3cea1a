"""A-posteriori error bounds: tolerances that come from the problem, not from a lucky run.

A numerical check of the book compares a trained representation with a closed
form.  The tolerance it asserts must follow from quantities measured on the
problem itself — the achieved gradient, the eigengap, the scale of the
matrices and float64's unit roundoff — so that it holds on every machine and
still fails for a wrong closed form.  The functions here compute those bounds;
chapters state them next to the check (see :mod:`sslspec_lib.checks`).

Serves every result with a numerical check (R3–R18); it carries no result of
its own.
"""
from __future__ import annotations

from typing import Any

import torch

from . import _validation as _v

__all__ = ["EPS", "rounding", "eigen_residual", "sin_theta_bound", "gradient_distance_bound",
           "smallest_curvature", "hessian_eigenvalues"]

#: Unit roundoff of float64.
EPS = float(torch.finfo(torch.float64).eps)


def _scalar(x: Any) -> Any:
    return x.item() if isinstance(x, torch.Tensor) and x.numel() == 1 else x


def rounding(scale: float, n: int = 1, factor: float = 1.0) -> float:
    r"""Rounding floor of a float64 computation: ``factor * n * eps * scale``.

    The standard backward-error model of a sum or product of ``n`` terms of
    size ``scale`` (Higham, *Accuracy and Stability of Numerical Algorithms*,
    ch. 3): :math:`|\hat s - s| \le n\,\varepsilon\,\mathrm{scale}` to first
    order.  A check comparing two computed quantities that differ only by
    rounding uses a small multiple of this as its tolerance.

    Parameters
    ----------
    scale : float >= 0
        Size of the terms (e.g. a norm of the matrices involved).
    n : int >= 1
        Number of terms accumulated (a matrix dimension).
    factor : float > 0
        Safety factor.
    """
    f = "rounding"
    _v.check_positive(scale, "scale", f, allow_zero=True)
    n = _v.check_int(n, "n", f, 1)
    _v.check_positive(factor, "factor", f)
    return float(factor) * n * EPS * float(scale)


def eigen_residual(A: Any, Z: Any) -> torch.Tensor:
    r"""Frobenius norm of the invariant-subspace residual of an orthonormal frame.

    .. math:: r(Z) = \lVert A Z - Z (Z^\top A Z) \rVert_F ,\qquad Z^\top Z = I_K .

    :math:`r(Z) = 0` exactly when :math:`\operatorname{span}(Z)` is an
    invariant subspace of the symmetric :math:`A`; with
    :func:`sin_theta_bound` it bounds the angle to the wanted eigenspace.

    Parameters
    ----------
    A : (n, n) symmetric tensor
    Z : (n, K) tensor with orthonormal columns (orthonormalise first otherwise)

    Returns
    -------
    torch.Tensor (scalar)
    """
    f = "eigen_residual"
    A = _v.check_matrix(A, "A", f)
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"{f}: A must be square, got shape {tuple(A.shape)}.")
    scale = float(A.abs().max())
    if float((A - A.T).abs().max()) > 1e3 * EPS * max(scale, 1e-300):
        raise ValueError(f"{f}: A must be symmetric (largest |A - A^T| is "
                         f"{float((A - A.T).abs().max()):.3g}).")
    Z = _v.check_matrix(Z, "Z", f)
    if Z.shape[0] != A.shape[0]:
        raise ValueError(f"{f}: Z has {Z.shape[0]} rows but A is {A.shape[0]} x {A.shape[0]}.")
    Z = Z.to(A.dtype)
    AZ = A @ Z
    return torch.linalg.matrix_norm(AZ - Z @ (Z.T @ AZ))


def sin_theta_bound(residual: float, gap: float) -> float:
    r"""Davis–Kahan :math:`\sin\Theta` bound: ``residual / gap``.

    If :math:`Z` is orthonormal, :math:`\Lambda = Z^\top A Z` has its
    eigenvalues in an interval and the eigenvalues of :math:`A` belonging to
    the complementary eigenspace lie at distance at least ``gap`` from that
    interval, then (Davis & Kahan 1970, the :math:`\sin\Theta` theorem)

    .. math:: \lVert \sin\Theta(Z, U) \rVert_F \le \frac{\lVert A Z - Z\Lambda\rVert_F}{\text{gap}} ,

    with :math:`U` the eigenvectors of :math:`A` for the eigenvalues inside.
    The largest principal angle's sine (``metrics.subspace_gap``) is at most
    this.

    Parameters
    ----------
    residual : float >= 0
        :func:`eigen_residual` of the frame.
    gap : float > 0
        Separation of the two parts of the spectrum.
    """
    f = "sin_theta_bound"
    residual, gap = _scalar(residual), _scalar(gap)
    _v.check_positive(residual, "residual", f, allow_zero=True)
    _v.check_positive(gap, "gap", f)
    return float(residual) / float(gap)


def gradient_distance_bound(grad_norm: float, curvature: float) -> float:
    r"""Distance to the minimiser set implied by a gradient: ``grad_norm / curvature``.

    For a loss that is :math:`\mu`-strongly convex along the directions
    transverse to its set of minimisers (a Polyak–Łojasiewicz inequality with
    constant :math:`\mu`), a point with gradient norm :math:`\lVert g\rVert`
    lies within :math:`\lVert g\rVert/\mu` of a minimiser, and its loss
    exceeds the minimum by at most :math:`\lVert g\rVert^2/(2\mu)`.  Use the
    smallest non-zero Hessian eigenvalue at the closed form as ``curvature``
    and a Euclidean norm of the gradient (``sqrt(numel)`` times the largest
    entry bounds it).

    Parameters
    ----------
    grad_norm : float >= 0
    curvature : float > 0
    """
    f = "gradient_distance_bound"
    grad_norm, curvature = _scalar(grad_norm), _scalar(curvature)
    _v.check_positive(grad_norm, "grad_norm", f, allow_zero=True)
    _v.check_positive(curvature, "curvature", f)
    return float(grad_norm) / float(curvature)


def hessian_eigenvalues(loss: Any, Z: Any) -> torch.Tensor:
    r"""All eigenvalues (ascending) of the dense Hessian of ``loss`` at ``Z``.

    The Hessian of ``loss(Z)`` with respect to the entries of ``Z``,
    symmetrised, as :func:`smallest_curvature` forms it; for a check that no
    direction is flat (a loss with no continuous symmetry: its smallest
    eigenvalue must itself be the curvature).  Small problems only.
    """
    Z = torch.as_tensor(Z).detach()
    H = torch.autograd.functional.hessian(lambda x: loss(x.view_as(Z)), Z.reshape(-1))
    return torch.linalg.eigvalsh((H + H.T) / 2)


def smallest_curvature(loss: Any, Z: Any, *, rtol: float = 1e-8) -> float:
    r"""Smallest non-negligible Hessian eigenvalue of ``loss`` at ``Z``.

    The curvature to pass to :func:`gradient_distance_bound` for a loss
    whose minimisers form a set (an orbit under rotations, a subspace of free
    entries): the dense Hessian of ``loss(Z)`` with respect to the entries of
    ``Z`` is formed, and the smallest eigenvalue above ``rtol`` times the
    largest absolute one is returned; eigenvalues below that are the flat
    directions along the set of minimisers.  Small problems only (the
    Hessian has ``Z.numel()**2`` entries).  Serves the training checks of
    R10-R14 (:ref:`ch-losses`).

    Parameters
    ----------
    loss : callable
        ``loss(Z)`` returns a scalar tensor, twice differentiable.
    Z : tensor
        The point (a near-minimiser).
    rtol : float > 0
        Relative threshold separating flat directions.

    Returns
    -------
    float
        The smallest eigenvalue above ``rtol * max|eig|``.

    Raises
    ------
    ValueError
        If the Hessian has a negative eigenvalue below ``-rtol * max|eig|``
        (``Z`` is not near a minimiser) or is zero.
    """
    f = "smallest_curvature"
    _v.check_positive(rtol, "rtol", f)
    w = hessian_eigenvalues(loss, Z)
    top = float(w.abs().max())
    if top == 0.0:
        raise ValueError(f"{f}: the Hessian is zero.")
    if float(w.min()) < -rtol * top:
        raise ValueError(f"{f}: the Hessian has the negative eigenvalue {float(w.min()):.3g}; "
                         "Z is not near a minimiser.")
    return float(w[w > rtol * top].min())
