r"""Comparing representations: subspaces, spectra, ranks, Gram matrices, probes.

Small principal angles are computed from **sines**,
:math:`\sin\theta = \sigma\bigl((I - Q_AQ_A^\top)Q_B\bigr)`, which resolve
angles down to about :math:`10^{-15}`; the cosine route
:math:`\arccos\sigma(Q_A^\top Q_B)` cannot resolve angles below about
:math:`10^{-8}` (Knyazev & Argentati, 2002).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from . import _validation as _v
from .losses import covariance

__all__ = [
    "orthonormal_basis",
    "principal_angles",
    "subspace_gap",
    "spectrum",
    "numerical_rank",
    "effective_rank",
    "gram_gap",
    "linear_probe_accuracy",
    "normalized_stress",
    "align_signs",
]


def orthonormal_basis(A: Any, *, rtol: float = 1e-10, center: bool = False) -> torch.Tensor:
    """Orthonormal basis of the column span of ``A`` (SVD; rank cut at ``rtol``).

    With ``center=True`` the columns are centred first (the span of ``HA``).
    """
    A = _v.check_matrix(A, "A", "orthonormal_basis")
    if center:
        A = A - A.mean(dim=0, keepdim=True)
    U, s, _ = torch.linalg.svd(A, full_matrices=False)
    if s.numel() == 0 or float(s[0]) == 0:
        return U[:, :0]
    return U[:, : int((s > rtol * s[0]).sum())]


def principal_angles(A: Any, B: Any, *, center: bool = False,
                     rtol: float = 1e-10) -> torch.Tensor:
    r"""Principal angles (radians, ascending) between ``span(A)`` and ``span(B)``.

    Sines come from :math:`(I - Q_AQ_A^\top)Q_B` (accurate for small angles),
    cosines from :math:`Q_A^\top Q_B` (accurate for large ones); each angle is
    taken from whichever is more accurate (below/above :math:`\pi/4`).
    Returns :math:`\min(\operatorname{rank}A, \operatorname{rank}B)` angles.

    Parameters
    ----------
    A : (N, p) array_like
    B : (N, q) array_like
    center : bool
        Compare the spans of the centred columns (``HA``, ``HB``), which is
        what matters for representations defined up to a constant row.
    """
    f = "principal_angles"
    A = _v.check_matrix(A, "A", f)
    B = _v.check_matrix(B, "B", f).to(A)
    if A.shape[0] != B.shape[0]:
        raise ValueError(f"A and B must have the same number of rows in {f}: "
                         f"{A.shape[0]} != {B.shape[0]}.")
    Qa = orthonormal_basis(A, rtol=rtol, center=center)
    Qb = orthonormal_basis(B, rtol=rtol, center=center)
    if Qa.shape[1] < Qb.shape[1]:
        Qa, Qb = Qb, Qa
    r = Qb.shape[1]
    if r == 0:
        return A.new_zeros(0)
    cos = torch.linalg.svdvals(Qa.T @ Qb).clamp(max=1.0)  # descending
    sin = torch.linalg.svdvals(Qb - Qa @ (Qa.T @ Qb)).clamp(max=1.0)  # descending
    sin = sin.flip(0)  # ascending, pairs with descending cos
    theta_cos = torch.arccos(cos)
    theta_sin = torch.arcsin(sin)
    return torch.where(theta_cos < torch.pi / 4, theta_sin, theta_cos)


def subspace_gap(A: Any, B: Any, *, center: bool = False) -> float:
    r"""Sine of the largest principal angle, :math:`\|(I - Q_AQ_A^\top)Q_B\|_2`.

    Zero iff the spans agree (when they have equal rank); 1 if some direction
    of the smaller span is orthogonal to the other.  If the ranks differ the
    gap is computed for the smaller span inside the larger, and is 1 by
    convention (different dimensions are different subspaces).
    """
    A = _v.check_matrix(A, "A", "subspace_gap")
    B = _v.check_matrix(B, "B", "subspace_gap").to(A)
    Qa = orthonormal_basis(A, center=center)
    Qb = orthonormal_basis(B, center=center)
    if Qa.shape[1] != Qb.shape[1]:
        return 1.0
    return float(torch.sin(principal_angles(A, B, center=center).max()))


def spectrum(Z: Any) -> torch.Tensor:
    r"""Eigenvalues of :math:`C(Z) = Z^\top H Z/N`, descending (the kept spectrum :math:`c`)."""
    return torch.linalg.eigvalsh(covariance(Z)).flip(0)


def numerical_rank(Z: Any, *, rtol: float = 1e-6, atol: float = 0.0) -> int:
    r"""Number of eigenvalues of :math:`C(Z)` above ``max(atol, rtol * max(1, c_max))``.

    The threshold is relative to ``max(1, c_max)`` so that an all-collapsed
    representation has rank 0 rather than a rank set by rounding noise.
    """
    c = spectrum(Z)
    thr = max(atol, rtol * max(1.0, float(c[0])))
    return int((c > thr).sum())


def effective_rank(Z: Any) -> float:
    r"""Entropy effective rank :math:`\exp(-\sum_k p_k\log p_k)`, :math:`p = c/\sum c` (Roy & Vetterli, 2007)."""
    c = spectrum(Z).clamp(min=0)
    p = c / c.sum()
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


def gram_gap(A: Any, B: Any) -> float:
    r"""Relative Gram-matrix gap :math:`\|AA^\top - BB^\top\|_F / \|BB^\top\|_F`.

    Invariant to any orthogonal :math:`Q` acting on the right of either
    argument, so it compares optima that are defined up to rotation.
    """
    A = _v.check_matrix(A, "A", "gram_gap")
    B = _v.check_matrix(B, "B", "gram_gap").to(A)
    if A.shape[0] != B.shape[0]:
        raise ValueError("A and B must have the same number of rows in gram_gap: "
                         f"{A.shape[0]} != {B.shape[0]}.")
    GB = B @ B.T
    return float((A @ A.T - GB).norm() / GB.norm())


def linear_probe_accuracy(Z_train: Any, y_train: Any, Z_test: Any, y_test: Any,
                          *, C: float = 1.0, max_iter: int = 5000) -> float:
    """Test accuracy of a logistic-regression probe on frozen features.

    Features are standardised on the training set; scikit-learn's
    ``LogisticRegression`` (lbfgs, deterministic) is fitted on
    ``(Z_train, y_train)``.  Constant (collapsed) feature columns are allowed.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    f = "linear_probe_accuracy"
    Ztr = _v.check_matrix(Z_train, "Z_train", f).detach().cpu().numpy()
    Zte = _v.check_matrix(Z_test, "Z_test", f).detach().cpu().numpy()
    ytr, yte = np.asarray(torch.as_tensor(y_train).cpu()), np.asarray(torch.as_tensor(y_test).cpu())
    if len(ytr) != len(Ztr) or len(yte) != len(Zte):
        raise ValueError(f"labels and features must have the same number of rows in {f}.")
    if Ztr.shape[1] != Zte.shape[1]:
        raise ValueError(f"Z_train and Z_test must have the same number of columns in {f}.")
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter))
    clf.fit(Ztr, ytr)
    return float((clf.predict(Zte) == yte).mean())


def normalized_stress(D: Any, Z: Any) -> float:
    r"""Scale-free stress: how far the distances of ``Z`` are from proportional to ``D``.

    .. math::

        \sigma(D, Z) = \min_{s > 0}
        \sqrt{\frac{\sum_{i<j} (D_{ij} - s\,\|z_i - z_j\|)^2}{\sum_{i<j} D_{ij}^2}}
        = \sqrt{1 - \frac{\bigl(\sum_{i<j} D_{ij}\,d_{ij}\bigr)^2}
                          {\sum_{i<j} D_{ij}^2 \,\sum_{i<j} d_{ij}^2}},
        \qquad d_{ij} = \|z_i - z_j\|,

    Kruskal's normalised stress (Kruskal, 1964) after the best rescaling of
    the embedding, :math:`s^* = \sum D_{ij}d_{ij} / \sum d_{ij}^2` (the
    value is computed as the residual at :math:`s^*`, accurate near 0), so
    that methods whose output scale is a convention (Laplacian Eigenmaps'
    :math:`Z^\top DZ = I`) are compared on the shape of their distances
    only.  A *global* measure: every pair counts, with a
    weight that grows with its distance.  Used in
    :ref:`ch-local-vs-global` to compare the local method of R5 with the
    global methods of R7.

    Parameters
    ----------
    D : (N, N) array_like
        Reference distances (not squared): symmetric, non-negative, zero
        diagonal, not all zero; only the strict upper triangle is read.
    Z : (N, K) array_like
        Embedding; Euclidean distances between its rows are compared with ``D``.

    Returns
    -------
    float in [0, 1]
        0 iff the embedded distances are proportional to ``D`` (a positive
        multiple); 1 iff they are all zero (a collapsed embedding).

    Raises
    ------
    ValueError
        If ``D`` is not square, has a different number of rows than ``Z``, is
        not symmetric (beyond ``1e-10`` relative), has a negative entry, or
        is identically zero.

    Examples
    --------
    >>> import torch
    >>> X = torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]], dtype=torch.float64)
    >>> normalized_stress(torch.cdist(X, X), 2 * X) < 1e-12
    True
    """
    f = "normalized_stress"
    D = _v.check_matrix(D, "D", f)
    Z = _v.check_matrix(Z, "Z", f).to(D)
    n = D.shape[0]
    if D.shape[1] != n:
        raise ValueError(f"D must be square in {f}: got shape {tuple(D.shape)}.")
    _v.check_rows(n, Z, "Z", f, other="D")
    if n < 2:
        raise ValueError(f"D must have at least 2 rows in {f}: got {n}.")
    if bool((D < 0).any()):
        i, j = divmod(int(D.argmin()), n)
        raise ValueError(f"D must be non-negative in {f}: D[{i}, {j}] = {float(D[i, j]):.3g}.")
    asym = (D - D.T).abs()
    if float(asym.max()) > 1e-10 * float(D.abs().max()):
        i, j = divmod(int(asym.argmax()), n)
        raise ValueError(f"D must be symmetric in {f}: max |D - D.T| = "
                         f"{float(asym.max()):.3g} at ({i}, {j}).")
    iu = torch.triu_indices(n, n, offset=1, device=D.device)
    ref = D[iu[0], iu[1]]
    if float(ref.abs().max()) == 0.0:
        raise ValueError(f"D must not be identically zero in {f}.")
    # Exact differences, not the |x|^2 + |y|^2 - 2<x, y> shortcut (cancellation).
    emb = torch.cdist(Z, Z, compute_mode="donot_use_mm_for_euclid_dist")[iu[0], iu[1]]
    den = float((emb ** 2).sum())
    if den == 0.0:
        return 1.0
    # The residual at the optimal scale, not sqrt(1 - cos^2): the latter loses
    # half the digits when the distances are nearly proportional.
    scale = (ref * emb).sum() / den
    return float((ref - scale * emb).norm() / ref.norm())


def align_signs(A: Any, B: Any) -> torch.Tensor:
    r"""``A`` with each column's sign flipped to agree with the same column of ``B``.

    .. math:: A_{:,k} \mapsto \operatorname{sign}(A_{:,k}^\top B_{:,k})\,A_{:,k}
              \quad(\text{sign } 0 \mapsto +1),

    for comparing eigenvector bases that are defined up to the sign of each
    column (two solvers, a closed form and a peer).  Orthogonal columns are
    left as they are.

    Raises
    ------
    ValueError
        If the shapes differ.
    """
    A = _v.check_matrix(A, "A", "align_signs")
    B = _v.check_matrix(B, "B", "align_signs").to(A)
    if A.shape != B.shape:
        raise ValueError(f"A and B must have the same shape in align_signs: "
                         f"{tuple(A.shape)} != {tuple(B.shape)}.")
    s = torch.sign((A * B).sum(dim=0))
    return A * torch.where(s == 0, torch.ones_like(s), s)
