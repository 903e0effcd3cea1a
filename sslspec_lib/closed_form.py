r"""Closed-form minimisers of the self-supervised losses (Part II of the book).

Conventions (fixed; tests and chapters rely on them):

* rows are sample-major; :math:`C(Z) = Z^\top H Z / N` (biased);
* the free rotation :math:`Q` of every optimum is fixed to :math:`I`, columns
  are in the order of the kept eigenvalues, and each column's largest-magnitude entry
  is positive;
* returned tensors are float64 for float64 input, on the input's device;
* where the minimiser is not unique (a tie at the cut), a ``UserWarning``
  says why; the returned point is then one minimiser among several.

Each function can return details (eigenvalues, kept spectrum, minimum loss)
with ``return_details=True``.
"""
from __future__ import annotations

import heapq
import math
import warnings
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from . import _validation as _v
from ._linalg import (_clique_union, _clique_vectors, _set_solver, check_gap, eigh_sorted,
                      inv_sqrt_psd, laplacian_bottom, top_eigenpairs)
from .graphs import components, laplacian

__all__ = [
    "Details",
    "vicreg_optimum",
    "vicreg_constrained_optimum",
    "vicreg_hinge_optimum",
    "simclr_optimum",
    "spectral_contrastive_optimum",
    "barlow_twins_optimum",
    "barlow_twins_overcomplete_optimum",
    "vicreg_linear_optimum",
    "vicreg_hinge_linear_optimum",
    "spectral_contrastive_linear_optimum",
    "barlow_twins_linear_optimum",
    "vicreg_hinge_per_view_optimum",
    "vicreg_hinge_per_view_certified",
    "vicreg_hinge_reduced_objective",
    "vicreg_hinge_certified_optimum",
    "vicreg_hinge_linear_certified_optimum",
    "vicreg_hinge_diagonal_threshold",
    "vicreg_hinge_exact_threshold",
    "vicreg_hinge_clique_ramp_threshold",
    "vicreg_hinge_variance_cap",
    "info_nce_large_tau_matrix",
]


@dataclass(frozen=True)
class Details:
    r"""What a closed form is made of.

    Attributes
    ----------
    eigenvalues : torch.Tensor, shape (K,)
        The eigenvalues behind the kept directions, in the order of the columns.
    c : torch.Tensor, shape (K,)
        The kept spectrum: the eigenvalues of the optimum's covariance
        :math:`C(Z)` (nonparametric) or of :math:`W^\top\Sigma W` (linear),
        column by column.
    loss : float
        The predicted minimum value of the loss.
    """

    eigenvalues: torch.Tensor
    c: torch.Tensor
    loss: float


def _graph_and_K(G: Any, K: Any, func: str, kmax_offset: int = 1,
                 allow_sparse: bool = True) -> tuple[Any, int]:
    G = _v.check_graph(G, func, allow_sparse=allow_sparse)
    n = G.shape[0]
    K = _v.check_int(K, "K", func, 1, n - kmax_offset)
    return G, K


def _vicreg_c(lam: torch.Tensor, alpha: float) -> torch.Tensor:
    return torch.clamp(1.0 - alpha * lam, min=0.0)


def vicreg_optimum(G: Any, K: int, alpha: float, *,
                   return_details: bool = False) -> Any:
    r"""Closed-form minimiser of the smooth VICReg loss (R10; :ref:`ch-vicreg`).

    .. math:: \ell(Z) = \frac{\alpha}{N}\sum_{ij}G_{ij}\|z_i - z_j\|^2
              + \|C(Z) - I_K\|_F^2 .

    Every minimiser is :math:`Z = \sqrt N\,U\operatorname{diag}(\sqrt c)\,Q^\top`
    (plus a constant row), :math:`Q` orthogonal, :math:`U` the eigenvectors of
    :math:`L` for its :math:`K` smallest eigenvalues :math:`\lambda_k` on
    :math:`\mathbf 1^\perp` (the constant vector excluded), and

    .. math:: c_k = \max(0,\ 1 - \alpha\lambda_k).

    Hence :math:`\operatorname{rank} Z = \#\{k : \lambda_k < 1/\alpha\}`.
    The minimum is :math:`\sum_k (2\alpha\lambda_k - \alpha^2\lambda_k^2)` over
    the kept :math:`\alpha\lambda_k \le 1`, plus 1 for each collapsed column.

    Parameters
    ----------
    G : (N, N) array_like
        Relation matrix: symmetric, non-negative, finite.
    K : int, 1 <= K <= N - 1
        Output dimension.
    alpha : float > 0
        Invariance weight.
    return_details : bool, default False
        Also return a :class:`Details` (``eigenvalues`` = the :math:`\lambda_k`).

    Returns
    -------
    Z : torch.Tensor, shape (N, K)
        Centred; :math:`C(Z) = \operatorname{diag}(c)`; :math:`Q = I`.

    Warns
    -----
    UserWarning
        If :math:`\lambda_K = \lambda_{K+1}` and :math:`c_K > 0`: the kept
        subspace is not unique (for instance, ``G`` has more than ``K + 1``
        connected components).

    Examples
    --------
    >>> from sslspec_lib.graphs import augmentation_graph
    >>> Z = vicreg_optimum(augmentation_graph(4, 2), K=3, alpha=0.1)
    >>> tuple(Z.shape)
    (8, 3)
    """
    f = "vicreg_optimum"
    G, K = _graph_and_K(G, K, f)
    alpha = _v.check_positive(alpha, "alpha", f)
    n = G.shape[0]
    # Smallest eigenvalues of L on 1-perp (ascending): the directions VICReg keeps.
    lam, U = laplacian_bottom(G, K, f)
    c = _vicreg_c(lam, alpha)
    check_gap(lam, K, f, what="Laplacian eigenvalues",
              relevant=bool(c[K - 1] > 0))
    lam, c = lam[:K], c[:K]
    Z = n ** 0.5 * U * c.sqrt()
    if not return_details:
        return Z
    al = alpha * lam
    loss = torch.where(al <= 1, 2 * al - al ** 2, torch.ones_like(al)).sum()
    return Z, Details(lam, c, float(loss))


def vicreg_constrained_optimum(G: Any, K: int, *,
                               return_details: bool = False) -> Any:
    r"""Minimiser of VICReg with hard variance/covariance constraints (R9).

    .. math:: \min_Z \sum_{ij}G_{ij}\|z_i - z_j\|^2 \quad\text{s.t.}\quad C(Z) = I_K

    is Laplacian Eigenmaps with the covariance constraint:
    :math:`Z = \sqrt N\,U_K Q^\top`, :math:`U_K` the eigenvectors of :math:`L`
    for its :math:`K` smallest eigenvalues on :math:`\mathbf 1^\perp`; the
    minimum of the invariance term is :math:`2N\sum_{k\le K}\lambda_k`.

    Returns
    -------
    Z : torch.Tensor, shape (N, K), with :math:`C(Z) = I`, :math:`Q = I`.

    Warns
    -----
    UserWarning
        If :math:`\lambda_K = \lambda_{K+1}` (the subspace is not unique).
    """
    f = "vicreg_constrained_optimum"
    G, K = _graph_and_K(G, K, f)
    n = G.shape[0]
    # Smallest eigenvalues of L on 1-perp (ascending).
    lam, U = laplacian_bottom(G, K, f)
    check_gap(lam, K, f, what="Laplacian eigenvalues")
    Z = n ** 0.5 * U
    if not return_details:
        return Z
    lam = lam[:K]
    return Z, Details(lam, torch.ones_like(lam), float(2 * n * lam.sum()))


def vicreg_hinge_optimum(G: Any, K: int, alpha: float, *, eps: float = 0.0,
                         unbiased: bool = False, return_details: bool = False) -> Any:
    r"""Diagonal approximation of the optimum of hinge-variance VICReg (R11).

    **Approximate** for the reference loss (see below).  For the loss

    .. math:: \ell(Z) = \frac{\alpha}{N}\sum_{ij}G_{ij}\|z_i - z_j\|^2
              + \sum_k \max\bigl(0, 1 - \sqrt{\rho\, C_{kk} + \epsilon}\bigr),
              \qquad C = C(Z) = Z^\top H Z/N,

    with :math:`\rho = N/(N-1)` if ``unbiased`` (the reference's variance)
    else :math:`\rho = 1`, minimised over representations whose covariance
    :math:`C(Z)` is **diagonal**, the minimiser is
    :math:`Z = \sqrt N U\operatorname{diag}(\sqrt c)`, :math:`U` the
    eigenvectors of :math:`L` for its :math:`K` smallest eigenvalues
    :math:`\lambda_k` on :math:`\mathbf 1^\perp`, and each direction
    minimises :math:`2\alpha\lambda c + \max(0, 1 - \sqrt{\rho c + \epsilon})`:

    .. math:: c_k = \frac{1-\epsilon}{\rho} \text{ if } \lambda_k \le \frac{\rho}{4\alpha},
              \qquad c_k = \max\Bigl(0,\ \frac{\rho}{16\alpha^2\lambda_k^2}
              - \frac{\epsilon}{\rho}\Bigr) \text{ otherwise}.

    With the defaults (:math:`\epsilon = 0`, :math:`\rho = 1`, the paper's
    simplified form) this is :math:`c_k = 1` or :math:`1/(16\alpha^2\lambda_k^2)`
    and no direction collapses fully; with :math:`\epsilon > 0` the
    directions with :math:`\lambda_k \ge \rho/(4\alpha\sqrt\epsilon)`
    collapse (:math:`c_k = 0`).

    The reference loss :func:`sslspec_lib.losses.vicreg_hinge` with weights
    :math:`(\lambda_s, \lambda_v, \lambda_c)` equals
    :math:`\frac{\lambda_v}{K}\ell(Z)` plus its covariance term, for
    :math:`\alpha = \lambda_s/\lambda_v`.  Its covariance weight is finite,
    so its minimiser need not have a diagonal :math:`C`; how far it is from
    this prediction is measured in :ref:`ch-vicreg-hinge-exact`.

    Parameters
    ----------
    G : (N, N) array_like, a valid relation matrix.
    K : int, 1 <= K <= N - 1
    alpha : float > 0
        Invariance weight (``sim_coeff / std_coeff`` for the reference loss).
    eps : float, 0 <= eps < 1
        Added to the variance inside the square root (reference: 1e-4).
    unbiased : bool, default False
        Whether the hinge reads the unbiased variance :math:`\rho C_{kk}`.
    return_details : bool
        Also return a :class:`Details`; its ``loss`` is :math:`\ell` at the
        returned point.

    Returns
    -------
    Z : torch.Tensor, shape (N, K), :math:`Z = \sqrt N U\operatorname{diag}(\sqrt c)`.

    Warns
    -----
    UserWarning
        If some kept :math:`\lambda_k = 0` (``G`` disconnected): on such a
        direction every :math:`c \ge (1-\epsilon)/\rho` is optimal, and that
        smallest one is returned; and on a tie at the cut.
    """
    f = "vicreg_hinge_optimum"
    G, K = _graph_and_K(G, K, f)
    alpha = _v.check_positive(alpha, "alpha", f)
    eps = _v.check_positive(eps, "eps", f, allow_zero=True)
    if eps >= 1:
        raise ValueError(f"The 'eps' parameter of {f} must be a finite real number "
                         f"in [0, 1). Got {eps!r} instead.")
    n = G.shape[0]
    rho = n / (n - 1) if unbiased else 1.0
    # Smallest eigenvalues of L on 1-perp (ascending).
    lam, U = laplacian_bottom(G, K, f)
    check_gap(lam, K, f, what="Laplacian eigenvalues")
    lam = lam[:K]
    tol = 1e-12 * max(1.0, float(lam.abs().max()))
    if bool((lam.abs() <= tol).any()):
        _v.warn_non_unique(
            f, "some kept Laplacian eigenvalues are 0 (G is disconnected); on "
            "those directions the loss is flat for every c >= (1 - eps) / rho, "
            "and that smallest c is returned.")
    c, loss = _hinge_c(lam, alpha, eps, rho, tol)
    Z = n ** 0.5 * U * c.sqrt()
    if not return_details:
        return Z
    return Z, Details(lam, c, loss)


def _hinge_c(lam: torch.Tensor, alpha: float, eps: float, rho: float, tol: float
             ) -> tuple[torch.Tensor, float]:
    """Per-direction minimisers of 2 alpha lam c + max(0, 1 - sqrt(rho c + eps)), and the sum."""
    lam_pos = lam.clamp(min=0.0)
    kink = torch.full_like(lam, (1.0 - eps) / rho)
    hinge = (rho / (16 * alpha ** 2 * lam_pos.clamp(min=tol) ** 2) - eps / rho).clamp(min=0.0)
    c = torch.where(lam_pos <= rho / (4 * alpha), kink, hinge)
    loss = (2 * alpha * lam_pos * c + torch.clamp(1 - (rho * c + eps).sqrt(), min=0)).sum()
    return c, float(loss)


def _clique_structure(G: torch.Tensor, func: str) -> tuple[int, int]:
    """(N', V) if G is a disjoint union of equal cliques of ones, else raise."""
    lab = components(G)
    n_groups = int(lab.max()) + 1
    sizes = torch.bincount(lab)
    same = (lab[:, None] == lab[None, :]).to(G)
    same.fill_diagonal_(0)
    expected = same.to(G.device)
    if not torch.equal(G, expected) or int(sizes.min()) != int(sizes.max()):
        raise ValueError(
            f"{func} has a closed form only for augmentation graphs: G must be "
            "a disjoint union of equal-size cliques with unit weights and zero "
            "diagonal (such as augmentation_graph(n_samples, n_views), in any "
            "row order).")
    if n_groups < 2 or int(sizes[0]) < 2:
        raise ValueError(f"{func} needs at least 2 groups of at least 2 views; "
                         f"got {n_groups} groups of size {int(sizes[0])}.")
    return n_groups, int(sizes[0])


def simclr_optimum(G: Any, K: int, *, tau: float | None = None,
                   return_details: bool = False) -> Any:
    r"""Minimiser of the relation-matrix InfoNCE on augmentation graphs (R12).

    For :math:`N'` groups (cliques of :math:`V` views) and
    :math:`K \ge N' - 1`, every minimiser of :func:`sslspec_lib.losses.info_nce`
    (any :math:`\tau > 0`) sends each group to one unit vector and places the
    :math:`N'` group vectors on a regular simplex; the Gram matrix of the
    normalised rows is

    .. math:: S = \frac{N'}{N'-1}(G + I) - \frac{1}{N'-1}\mathbf 1\mathbf 1^\top,

    whose non-zero eigenvalues are :math:`N/(N'-1)` (multiplicity
    :math:`N'-1`).  Returned: :math:`Z = \sqrt{N/(N'-1)}\,U` with :math:`U`
    the top :math:`N'-1` eigenvectors of :math:`S`, padded with zero columns
    to :math:`K`: ``rank(Z) = N' - 1`` whatever ``K`` (dimensional collapse).
    Row norms are free (the loss normalises rows); unit rows are returned.
    A ``scipy.sparse`` ``G`` is solved by structure in :math:`O(NK)` without
    forming :math:`S` (its top eigenspace is the span of the centred group
    indicators); the basis of that degenerate eigenspace then differs from
    the dense path's, the Gram matrix :math:`ZZ^\top` does not.

    The minimum depends on the temperature: with ``tau`` given (and
    :math:`K \ge N'-1`), ``Details.loss`` is

    .. math:: (V-1)\Bigl[\log\bigl((V-1)e^{1/\tau}
              + (N-V)e^{-1/(\tau(N'-1))}\bigr) - \frac1\tau\Bigr],

    each row having :math:`V-1` positives at cosine 1 and :math:`N-V`
    negatives at cosine :math:`-1/(N'-1)`; otherwise it is NaN.

    Warns
    -----
    UserWarning
        If ``K < N' - 1``: no closed form is known (the optimum is a
        spherical code); the returned rows are the rank-``K`` truncation of
        :math:`S` renormalised to unit length, which is **not** in general a
        minimiser.

    Raises
    ------
    ValueError
        If ``G`` is not a disjoint union of equal-size unit-weight cliques.
    """
    f = "simclr_optimum"
    G, K = _graph_and_K(G, K, f)
    if tau is not None:
        tau = _v.check_positive(tau, "tau", f)
    n = G.shape[0]
    if _v.is_sparse(G):
        # By structure, O(N K): S's top eigenspace is the span of the centred group
        # indicators (eigenvalue N/(N'-1)); S vanishes on 1 and on within-group contrasts.
        cl = _clique_union(G)
        if cl is None or cl[2] != 1.0 or cl[1] * (n // cl[1]) != n:
            raise ValueError(
                f"{f} has a closed form only for augmentation graphs: G must be "
                "a disjoint union of equal-size cliques with unit weights and zero "
                "diagonal (such as augmentation_graph(n_samples, n_views), in any "
                "row order).")
        lab, V, _ = cl
        _set_solver("structured")
        n_groups = n // V
        if n_groups < 2:
            raise ValueError(f"{f} needs at least 2 groups of at least 2 views; "
                             f"got {n_groups} groups of size {V}.")
        r = n_groups - 1
        m = min(K, r)
        U = torch.as_tensor(_clique_vectors(lab, V, m, centered=True), dtype=torch.float64)
        lam = torch.zeros(K, dtype=torch.float64)
        lam[:m] = n / r
    else:
        n_groups, _ = _clique_structure(G, f)
        ones = torch.ones(n, n, dtype=G.dtype, device=G.device)
        eye = torch.eye(n, dtype=G.dtype, device=G.device)
        S = n_groups / (n_groups - 1) * (G + eye) - ones / (n_groups - 1)
        lam, U = eigh_sorted(S)
        lam, U = lam.flip(0), U.flip(1)  # descending: the top of the spectrum
        r = n_groups - 1
    dev = U.device
    if K < r:
        warnings.warn(
            f"{f}: K={K} < N'-1={r}: the groups cannot sit on a regular simplex "
            "in K dimensions; no closed form is known (spherical codes). The "
            "returned rank-K truncation, renormalised, is not a minimiser in "
            "general.", UserWarning, stacklevel=2)
        Z = U[:, :K] * lam[:K].clamp(min=0).sqrt()
        Z = Z / Z.norm(dim=1, keepdim=True).clamp(min=1e-300)
    else:
        Z = torch.zeros(n, K, dtype=torch.float64, device=dev)
        Z[:, :r] = U[:, :r] * lam[:r].clamp(min=0).sqrt()
    if not return_details:
        return Z
    c = torch.linalg.eigvalsh(Z.T @ Z).flip(0)
    loss = float("nan")
    if tau is not None and K >= r:
        V = n // n_groups
        log_denom = torch.logaddexp(
            torch.tensor(math.log(V - 1) + 1 / tau, dtype=torch.float64),
            torch.tensor(math.log(n - V) - 1 / (tau * r), dtype=torch.float64))
        loss = (V - 1) * (float(log_denom) - 1 / tau)
    return Z, Details(lam[:K], c, loss)


def spectral_contrastive_optimum(G: Any, K: int, *, normalized: bool = False,
                                 return_details: bool = False) -> Any:
    r"""Minimiser of the spectral contrastive loss (R13, from R2 and R4).

    Since :math:`\ell(Z) = \|A - ZZ^\top\|_F^2 - \|A\|_F^2` with :math:`A = G`,
    the minimiser is the best positive semi-definite rank-:math:`K`
    approximation of :math:`A` (Eckart–Young–Mirsky):

    .. math:: ZZ^\top = \sum_{k \le K} \max(0, \mu_k)\, u_k u_k^\top,
              \qquad Z = U_K \operatorname{diag}(\sqrt{\max(0, \mu)}),

    :math:`\mu_1 \ge \mu_2 \ge \dots` the eigenvalues of :math:`A`.  With
    ``normalized=True``, :math:`A = D^{-1/2} G D^{-1/2}` (HaoChen et al.'s
    degree-normalised form; needs every degree > 0).  ``rank(Z)`` is at most
    the number of positive eigenvalues of :math:`A`.  The minimum is
    :math:`-\sum_{k\le K}\max(0,\mu_k)^2`.

    Warns
    -----
    UserWarning
        If :math:`\mu_K = \mu_{K+1} > 0` (the kept subspace is not unique).
    """
    f = "spectral_contrastive_optimum"
    G, K = _graph_and_K(G, K, f, kmax_offset=0)
    A = G
    if normalized:
        d = G.sum(dim=1) if isinstance(G, torch.Tensor) else torch.as_tensor(
            np.asarray(G.sum(axis=1)).ravel())
        if bool((d <= 0).any()):
            raise ValueError(f"{f}(normalized=True) needs every degree > 0: row "
                             f"{int((d <= 0).nonzero()[0])} of G sums to 0.")
        s = d.rsqrt()
        if isinstance(G, torch.Tensor):
            A = s[:, None] * G * s[None, :]
        else:
            S = sp.diags(s.numpy())
            A = (S @ G @ S).tocsr()
    # Largest eigenvalues (descending): best rank-K approximation.
    lam, U = top_eigenpairs(A, K, f)
    check_gap(lam, K, f, what="eigenvalues of G", relevant=bool(lam[K - 1] > 0))
    c = lam[:K].clamp(min=0)
    Z = U * c.sqrt()
    if not return_details:
        return Z
    return Z, Details(lam[:K], c, float(-(c ** 2).sum()))


def barlow_twins_optimum(G: Any, K: int, *, tol: float = 1e-9,
                         return_details: bool = False) -> Any:
    r"""Minimiser of the relation-matrix BarlowTwins loss when :math:`C = I` is reachable (R14).

    With :math:`\bar G = N G / \mathbf 1^\top G\mathbf 1` and a standardised
    :math:`\tilde Z` (centred columns of variance 1), the cross-correlation
    of :func:`sslspec_lib.losses.barlow_twins` is
    :math:`C = \tilde Z^\top \bar G \tilde Z / N`, so :math:`C_{kk}` is a
    Rayleigh quotient of :math:`\bar G` on :math:`\mathbf 1^\perp`.  If the
    top eigenvalue of :math:`\bar G` on :math:`\mathbf 1^\perp` is 1 with
    multiplicity :math:`m \ge K` (augmentation graphs: :math:`m = N'-1`, the
    centred group indicators, whose directions are invariant across views),
    :math:`C = I` and the loss is 0 exactly when the columns of
    :math:`\tilde Z` are orthogonal and lie in that eigenspace:
    :math:`Z = \sqrt N\,U_K` is returned (any column scaling is equivalent,
    since the loss standardises).

    Raises
    ------
    ValueError
        If the top eigenvalue of :math:`\bar G` on :math:`\mathbf 1^\perp`
        differs from 1, or ``K > m``: then :math:`C = I` is unreachable, the
        minimiser depends on ``lambd`` and no closed form is implemented.
    """
    f = "barlow_twins_optimum"
    G, K = _graph_and_K(G, K, f)
    n = G.shape[0]
    total = G.sum()
    if float(total) == 0:
        raise ValueError(f"G has no positive pair in {f} (G is all zeros).")
    Gbar = n * G / float(total) if not isinstance(G, torch.Tensor) else n * G / total
    # Largest Rayleigh quotients on 1-perp (descending).
    mu, U = top_eigenpairs(Gbar, K, f, centered=True)
    m = int(((mu - 1).abs() <= tol).sum())
    if float(mu[0]) > 1 + tol or m < K:
        raise ValueError(
            f"{f}: C = I is reachable only if the top eigenvalue of N G / sum(G) "
            f"on the centred subspace is 1 with multiplicity >= K; here it is "
            f"{float(mu[0]):.6g} with multiplicity {m} and K={K}. For such G the "
            "minimiser depends on lambd and no closed form is implemented "
            "(augmentation graphs need K <= n_samples - 1).")
    if m > K:
        # Only K + 1 eigenvalues are known when the spectrum was not fully computed.
        mult = f"{m}" if mu.numel() >= n - 1 else f">= {m}"
        _v.warn_non_unique(f, f"the eigenvalue 1 has multiplicity {mult} > K={K}: any "
                           "K orthonormal directions of that eigenspace reach C = I.")
    Z = n ** 0.5 * U
    if not return_details:
        return Z
    return Z, Details(mu[:K], torch.ones(K, dtype=Z.dtype, device=Z.device), 0.0)


def barlow_twins_overcomplete_optimum(G: Any, K: int, lambd: float, *,
                                      return_details: bool = False) -> Any:
    r"""A minimiser of the relation-matrix BarlowTwins loss for :math:`K > N' - 1` (R14).

    For an augmentation graph (:math:`N'` cliques of :math:`V` views,
    :math:`p = N' - 1 < K`) and :math:`0 \le \lambda \le 1`, the loss
    :func:`sslspec_lib.losses.barlow_twins` (``eps=0``) has the minimum

    .. math:: \ell^\star = \frac{\lambda K(K-p)}{p + \lambda(K-p)},\qquad
              c^\star = \frac{K}{p + \lambda(K-p)},

    attained at

    .. math:: \tilde Z = \sqrt N\,(\omega_E U_E + \omega_- U_-)\,T,\qquad
              \omega_-^2 = \frac{V-1}{V}\Bigl(\frac Kp - c^\star\Bigr),\quad
              \omega_E^2 = \frac Kp - \omega_-^2,

    with :math:`U_E` an orthonormal basis of the invariant subspace (the
    centred group indicators), :math:`U_-` the :math:`p` orthonormal
    within-group contrasts :math:`(e_{g,1} - e_{g,2})/\sqrt 2` of groups
    :math:`1, \dots, p`, and :math:`T \in \mathbb R^{p\times K}` the
    harmonic frame (rows of the real Fourier basis of :math:`\mathbb R^K`:
    the constant row if :math:`p` is odd, then cosine/sine pairs), whose rows
    are orthonormal and whose columns all have norm :math:`\sqrt{p/K}`.  Its
    cross-correlation is :math:`\mathcal C = c^\star T^\top T`: eigenvalues
    :math:`c^\star` (:math:`p` times) and :math:`0`, constant diagonal, and
    :math:`\operatorname{rank}(HZ) = p` (chapter :ref:`ch-barlow-twins`).
    For :math:`0 < \lambda \le 1` every minimiser has
    :math:`\mathcal C = c^\star\Pi` with :math:`\Pi` a rank-:math:`p`
    projector; the minimiser is not unique (any :math:`Z Q` with :math:`Q`
    orthogonal preserving the constant diagonal, among others), so no
    warning is given: the returned one is a representative.

    Parameters
    ----------
    G : (N, N) array_like
        An augmentation graph: disjoint equal-size cliques with unit weights.
    K : int, K >= N'
        Output dimension (more than :math:`p = N' - 1`).
    lambd : float in [0, 1]
        Off-diagonal weight of the loss.
    return_details : bool
        Also return a :class:`Details` with ``eigenvalues`` = ``c`` = the
        eigenvalues of :math:`\mathcal C` (descending) and ``loss`` =
        :math:`\ell^\star`.

    Returns
    -------
    Z : torch.Tensor, shape (N, K)
        Standardised (centred columns of biased variance 1).
    details : Details, optional

    Raises
    ------
    ValueError
        If ``G`` is not an augmentation graph, ``K <= N' - 1`` (then
        :math:`\mathcal C = I` is reachable: use
        :func:`barlow_twins_optimum`) or ``lambd`` is outside :math:`[0, 1]`.
    """
    f = "barlow_twins_overcomplete_optimum"
    G = _v.check_graph(G, f)
    n_groups, V = _clique_structure(G, f)
    p = n_groups - 1
    if isinstance(K, bool) or not isinstance(K, int) or K <= p:
        raise ValueError(f"The 'K' parameter of {f} must be an int > N'-1={p} (for "
                         f"K <= N'-1, C = I is reachable: use barlow_twins_optimum). "
                         f"Got {K!r} instead.")
    if (isinstance(lambd, bool) or not isinstance(lambd, (int, float))
            or not math.isfinite(lambd) or not 0 <= lambd <= 1):
        raise ValueError(f"The 'lambd' parameter of {f} must be a real number in [0, 1] "
                         f"(the closed form is proved there). Got {lambd!r} instead.")
    lambd = float(lambd)
    n = G.shape[0]
    opts = dict(dtype=G.dtype, device=G.device)
    lab = components(G)
    ind = (lab[:, None] == torch.arange(n_groups, device=G.device)[None, :]).to(**opts)
    U_E, _ = torch.linalg.qr(ind[:, :p] - ind[:, :p].mean(dim=0, keepdim=True))
    U_m = torch.zeros(n, p, **opts)
    for g in range(p):
        rows = torch.nonzero(lab == g).flatten()
        U_m[rows[0], g], U_m[rows[1], g] = 2 ** -0.5, -(2 ** -0.5)
    k = torch.arange(K, **opts)
    frame = [torch.full_like(k, K ** -0.5)] if p % 2 else []
    for m in range(1, p // 2 + 1):
        frame += [(2 / K) ** 0.5 * torch.cos(2 * math.pi * m * k / K),
                  (2 / K) ** 0.5 * torch.sin(2 * math.pi * m * k / K)]
    T = torch.stack(frame)
    c_star = K / (p + lambd * (K - p))
    w_minus2 = (V - 1) / V * (K / p - c_star)  # omega_-^2
    w_E2 = K / p - w_minus2  # omega_E^2
    Z = n ** 0.5 * (w_E2 ** 0.5 * U_E + w_minus2 ** 0.5 * U_m) @ T
    if not return_details:
        return Z
    ev = torch.cat([torch.full((p,), c_star, **opts), torch.zeros(K - p, **opts)])
    return Z, Details(ev, ev.clone(), lambd * K * (K - p) / (p + lambd * (K - p)))


def _linear_inputs(X: Any, G: Any, K: Any, func: str
                   ) -> tuple[torch.Tensor, Any, int]:
    X = _v.check_matrix(X, "X", func)
    G = _v.check_graph(G, func, allow_sparse=True)
    if isinstance(G, torch.Tensor):
        G = G.to(dtype=X.dtype, device=X.device)
    _v.check_rows(G.shape[0], X, "X", func)
    K = _v.check_int(K, "K", func, 1, X.shape[1])
    return X, G, K


def _sparse_times(G: Any, X: torch.Tensor, *, laplacian: bool = False) -> torch.Tensor:
    """``G @ X`` (or ``L @ X``, L = D - G) for a CSR ``G``, in X's dtype and device."""
    Xn = X.detach().cpu().to(torch.float64).numpy()
    Y = G @ Xn
    if laplacian:
        Y = np.asarray(G.sum(axis=1)).ravel()[:, None] * Xn - Y
    return torch.as_tensor(Y, dtype=X.dtype, device=X.device)


def _whitened_laplacian(X: torch.Tensor, G: Any, f: str) -> tuple[torch.Tensor, torch.Tensor]:
    r""":math:`\Sigma^{-1/2}` and :math:`M = \Sigma^{-1/2}(X^\top LX/N)\Sigma^{-1/2}` (symmetrised)."""
    n = X.shape[0]
    Xc = X - X.mean(dim=0, keepdim=True)
    S_isqrt = inv_sqrt_psd(Xc.T @ Xc / n, "The covariance X^T H X / N", f)
    if isinstance(G, torch.Tensor):
        XtLX = X.T @ laplacian(G) @ X
    else:
        XtLX = X.T @ _sparse_times(G, X, laplacian=True)
    M = S_isqrt @ (XtLX / n) @ S_isqrt
    return S_isqrt, (M + M.T) / 2


def vicreg_linear_optimum(X: Any, G: Any, K: int, alpha: float, *,
                          return_details: bool = False) -> Any:
    r"""Linear-regime minimiser of the smooth VICReg loss (R15): LPP with the covariance constraint.

    For :math:`Z = XW` and :math:`\Sigma = X^\top H X / N` invertible,
    :math:`\ell(XW)` is minimised by

    .. math:: W = \Sigma^{-1/2} V \operatorname{diag}(\sqrt c), \qquad
              c_k = \max(0, 1 - \alpha\mu_k),

    :math:`V, \mu` the eigenvectors/eigenvalues (ascending) of
    :math:`M = \Sigma^{-1/2}(X^\top L X / N)\Sigma^{-1/2}`.  Then
    :math:`C(XW) = W^\top\Sigma W = \operatorname{diag}(c)`.

    Parameters
    ----------
    X : (N, d) array_like, with :math:`\Sigma` of full rank d.
    G : (N, N) array_like
    K : int, 1 <= K <= d
    alpha : float > 0

    Returns
    -------
    W : torch.Tensor, shape (d, K)

    Raises
    ------
    ValueError
        If :math:`\Sigma` is rank-deficient.
    """
    f = "vicreg_linear_optimum"
    X, G, K = _linear_inputs(X, G, K, f)
    alpha = _v.check_positive(alpha, "alpha", f)
    n = X.shape[0]
    S_isqrt, M = _whitened_laplacian(X, G, f)
    mu, V = eigh_sorted(M)  # ascending: the smallest mu are kept
    c = _vicreg_c(mu, alpha)
    check_gap(mu, K, f, what="eigenvalues of M", relevant=bool(c[K - 1] > 0))
    W = S_isqrt @ (V[:, :K] * c[:K].sqrt())
    if not return_details:
        return W
    am = alpha * mu[:K]
    loss = torch.where(am <= 1, 2 * am - am ** 2, torch.ones_like(am)).sum()
    return W, Details(mu[:K], c[:K], float(loss))


def vicreg_hinge_linear_optimum(X: Any, G: Any, K: int, alpha: float, *, eps: float = 0.0,
                                unbiased: bool = False, return_details: bool = False) -> Any:
    r"""Diagonal approximation of hinge-variance VICReg in the linear regime (R11, R15).

    For :math:`Z = XW` with :math:`\Sigma = X^\top HX/N` invertible, put
    :math:`V' = \Sigma^{1/2}W` and :math:`M = \Sigma^{-1/2}(X^\top LX/N)\Sigma^{-1/2}`.
    Then, exactly, :math:`C(XW) = V'^\top V'` and
    :math:`\operatorname{tr}(W^\top X^\top LXW) = N\operatorname{tr}(V'^\top MV')`,
    and every term of the hinge loss of :func:`vicreg_hinge_optimum` (and of
    the reference loss :func:`sslspec_lib.losses.vicreg_hinge`) depends on
    :math:`Z` only through these two quantities.  The linear problem is
    therefore the nonparametric one with the Laplacian's eigenvalues on
    :math:`\mathbf 1^\perp` replaced by the eigenvalues :math:`\mu_k` of
    :math:`M` (the invariant directions of :math:`\mathbf 1^\perp` by
    :math:`\mathbb R^d`), and the diagonal prediction carries over:

    .. math:: W = \Sigma^{-1/2}V_K\operatorname{diag}(\sqrt c),

    with :math:`c_k` as in :func:`vicreg_hinge_optimum` for :math:`\mu_k` and
    :math:`V_K` the eigenvectors of :math:`M` for its :math:`K` smallest
    eigenvalues.  It is exact over encoders with a diagonal :math:`C(XW)`, and,
    as in the nonparametric case, only an upper bound for the reference loss
    (finite covariance weight): :ref:`ch-linear-regime` measures the gap.

    Parameters
    ----------
    X : (N, d) array_like, :math:`\Sigma` invertible
    G : (N, N) relation matrix (dense or sparse)
    K : int, 1 <= K <= d
    alpha, eps, unbiased, return_details : as :func:`vicreg_hinge_optimum`
        (``rho = N/(N-1)`` with ``unbiased``).

    Returns
    -------
    W : torch.Tensor, shape (d, K); with ``return_details`` also a
    :class:`Details` (``eigenvalues`` the kept :math:`\mu_k`, ``c``, ``loss``
    the per-direction sum).

    Raises
    ------
    ValueError
        If :math:`\Sigma` is rank-deficient, or a parameter is out of range.
    """
    f = "vicreg_hinge_linear_optimum"
    X, G, K = _linear_inputs(X, G, K, f)
    alpha = _v.check_positive(alpha, "alpha", f)
    eps = _v.check_positive(eps, "eps", f, allow_zero=True)
    if eps >= 1:
        raise ValueError(f"The 'eps' parameter of {f} must be a finite real number "
                         f"in [0, 1). Got {eps!r} instead.")
    n = X.shape[0]
    rho = n / (n - 1) if unbiased else 1.0
    S_isqrt, M = _whitened_laplacian(X, G, f)
    mu, V = eigh_sorted(M)  # ascending: the smallest mu are kept
    check_gap(mu, K, f, what="eigenvalues of M")
    mu = mu[:K]
    c, loss = _hinge_c(mu, alpha, eps, rho, 1e-12 * max(1.0, float(mu.abs().max())))
    W = S_isqrt @ (V[:, :K] * c.sqrt())
    if not return_details:
        return W
    return W, Details(mu, c, loss)


def spectral_contrastive_linear_optimum(X: Any, G: Any, K: int, *,
                                        return_details: bool = False) -> Any:
    r"""Linear-regime minimiser of the spectral contrastive loss (R15, global form).

    For :math:`Z = XW` with :math:`X^\top X` invertible, :math:`XWW^\top X^\top`
    ranges over all PSD matrices of rank :math:`\le K` on the column space
    of :math:`X`, so by Eckart–Young–Mirsky

    .. math:: W = (X^\top X)^{-1/2}\, V_K \operatorname{diag}(\sqrt{\max(0,\mu)}),

    :math:`V_K, \mu` the top eigenpairs of
    :math:`(X^\top X)^{-1/2} X^\top G X (X^\top X)^{-1/2}`.  The minimum is
    :math:`-\sum_{k\le K}\max(0,\mu_k)^2`.  (No centring: the loss has none.)
    """
    f = "spectral_contrastive_linear_optimum"
    X, G, K = _linear_inputs(X, G, K, f)
    S_isqrt = inv_sqrt_psd(X.T @ X, "The Gram matrix X^T X", f)
    XtGX = X.T @ G @ X if isinstance(G, torch.Tensor) else X.T @ _sparse_times(G, X)
    M = S_isqrt @ XtGX @ S_isqrt
    mu, V = eigh_sorted((M + M.T) / 2)
    mu, V = mu.flip(0), V.flip(1)  # descending
    check_gap(mu, K, f, what="eigenvalues", relevant=bool(mu[K - 1] > 0))
    c = mu[:K].clamp(min=0)
    W = S_isqrt @ (V[:, :K] * c.sqrt())
    if not return_details:
        return W
    return W, Details(mu[:K], c, float(-(c ** 2).sum()))


def barlow_twins_linear_optimum(X: Any, G: Any, K: int, *,
                                return_details: bool = False) -> Any:
    r"""Linear-regime BarlowTwins directions: the shared-encoder CCA of the views (R15).

    For :math:`Z = XW` the standardised cross-correlation is
    :math:`C = W^\top (X^\top H \bar G H X/N) W` for :math:`W^\top\Sigma W`
    with unit diagonal.  Returned: :math:`W = \Sigma^{-1/2}V_K`, :math:`V_K`
    the top eigenvectors of :math:`\Sigma^{-1/2}(X^\top H\bar G HX/N)\Sigma^{-1/2}`
    (decorrelated columns, each maximising its correlation :math:`C_{kk} = \mu_k`).
    With the pair graph this is CCA with one weight matrix shared by both
    views (symmetric CCA).  It is the exact minimiser when
    :math:`\mu_1 = \dots = \mu_K = 1`; otherwise it is the CCA solution and
    the BarlowTwins minimiser may trade off-diagonal terms against diagonal
    ones (a ``UserWarning`` says so).
    """
    f = "barlow_twins_linear_optimum"
    X, G, K = _linear_inputs(X, G, K, f)
    n = X.shape[0]
    total = G.sum()
    if float(total) == 0:
        raise ValueError(f"G has no positive pair in {f} (G is all zeros).")
    Xc = X - X.mean(dim=0, keepdim=True)
    S_isqrt = inv_sqrt_psd(Xc.T @ Xc / n, "The covariance X^T H X / N", f)
    if isinstance(G, torch.Tensor):
        XGX = Xc.T @ (n * G / total) @ Xc
    else:
        XGX = Xc.T @ (_sparse_times(G, Xc) * (n / float(total)))
    M = S_isqrt @ (XGX / n) @ S_isqrt
    mu, V = eigh_sorted((M + M.T) / 2)
    mu, V = mu.flip(0), V.flip(1)  # descending: most view-invariant first
    if float(mu[K - 1]) < 1 - 1e-9:
        warnings.warn(
            f"{f}: only {int((mu > 1 - 1e-9).sum())} directions reach correlation "
            f"1 and K={K}; the returned CCA directions need not minimise "
            "BarlowTwins exactly.", UserWarning, stacklevel=2)
    W = S_isqrt @ V[:, :K]
    if not return_details:
        return W
    c = mu[:K]
    return W, Details(mu[:K], c, float(((1 - c) ** 2).sum()))



# -- Barlow Twins, reference two-view form (each view normalised separately) ----------------

def _harmonic_frame(p: int, K: int, **opts: Any) -> torch.Tensor:
    """Rows of the real Fourier basis of R^K: orthonormal, columns of norm sqrt(p/K)."""
    k = torch.arange(K, **opts)
    frame = [torch.full_like(k, K ** -0.5)] if p % 2 else []
    for m in range(1, p // 2 + 1):
        frame += [(2 / K) ** 0.5 * torch.cos(2 * math.pi * m * k / K),
                  (2 / K) ** 0.5 * torch.sin(2 * math.pi * m * k / K)]
    return torch.stack(frame)


def barlow_twins_two_view_optimum(n_samples: int, K: int, lambd: float, *,
                                  dtype: torch.dtype = torch.float64, device: Any = None,
                                  return_details: bool = False) -> Any:
    r"""A minimiser of the reference two-view BarlowTwins loss (R14; :ref:`ch-barlow-twins-reference`).

    The loss is :func:`sslspec_lib.losses.barlow_twins_two_view` with
    ``eps=0``: :math:`C_{ab} = \tilde z^{a\top}\tilde z^b/N'`, each view
    standardised on its own, :math:`\ell = \sum_k(1 - C_{kk})^2 +
    \lambda\sum_{k\ne l}C_{kl}^2`.  Let :math:`p = N' - 1` and :math:`W` an
    :math:`N'\times p` orthonormal basis of the centred vectors.

    * :math:`K \le p`: :math:`\ell = 0` exactly when :math:`\tilde z^a =
      \tilde z^b` with orthogonal columns; :math:`z^a = z^b = \sqrt{N'}\,W_{:, :K}`
      is returned (warns if :math:`K < p`: any :math:`K` orthonormal centred
      directions do).
    * :math:`K > p`, :math:`0 \le \lambda \le 1`: the minimum is

      .. math:: \ell^\star = \frac{\lambda K(K-p)}{p + \lambda(K-p)},\qquad
                c^\star = \frac{K}{p + \lambda(K-p)},

      and every minimiser has :math:`C_{ab} = c^\star\Pi` (:math:`\Pi` an
      orthogonal projector of rank :math:`p`).  The returned one is
      :math:`\tilde z^a = \sqrt{N'}\,W c^\star M^{-1}T`, :math:`\tilde z^b =
      \sqrt{N'}\,W M T` with :math:`T` the harmonic frame (rows of the real
      Fourier basis of :math:`\mathbb R^K`, columns of norm :math:`\sqrt{p/K}`)
      and :math:`M = \operatorname{diag}(\sqrt{x})`, :math:`x` constant on
      the groups of rows of :math:`T` of equal column weight and solving
      :math:`\sum_i x_iT_{ik}^2 = 1`, :math:`c^{\star2}\sum_i T_{ik}^2/x_i = 1`
      for every :math:`k` (unit columns in both views).  Then
      :math:`C_{ab} = c^\star T^\top T`.  For :math:`\lambda > 0` the two views
      differ (:math:`\tilde z^a \ne \tilde z^b`).

    Parameters
    ----------
    n_samples : int >= 2
        :math:`N'`, rows of each view.
    K : int >= 1
        Output dimension.
    lambd : float >= 0
        Off-diagonal weight; for :math:`K > p` it must lie in :math:`[0, 1]`.
    dtype, device : torch dtype and device of the result.
    return_details : bool
        Also return a :class:`Details` with ``eigenvalues`` = ``c`` = the
        eigenvalues of :math:`C_{ab}` (descending) and ``loss`` = the minimum.

    Returns
    -------
    za, zb : torch.Tensor, shape (n_samples, K), standardised (centred
        columns of biased variance 1).
    details : Details, optional

    Raises
    ------
    ValueError
        If ``n_samples < 2``, ``K < 1``, ``lambd < 0``; for :math:`K > p` if
        ``lambd > 1`` (the minimum is not known there) or if :math:`\lambda > 0`
        and :math:`p \le 2` (the harmonic frame has a single group of rows;
        whether :math:`\ell^\star` is attained is not settled).
    """
    f = "barlow_twins_two_view_optimum"
    n_s = _v.check_int(n_samples, "n_samples", f, 2)
    K = _v.check_int(K, "K", f, 1)
    lambd = float(_v.check_positive(lambd, "lambd", f, allow_zero=True))
    p = n_s - 1
    opts = dict(dtype=dtype, device=device)
    # W: orthonormal basis of the centred vectors of R^{N'}
    W, _ = torch.linalg.qr(torch.eye(n_s, p, **opts) - 1.0 / n_s)
    if K <= p:
        if K < p:
            _v.warn_non_unique(f, f"K={K} < N'-1={p}: any K orthonormal centred directions, "
                               "equal in both views, reach C_ab = I.")
        za = n_s ** 0.5 * W[:, :K]
        if not return_details:
            return za, za.clone()
        one = torch.ones(K, **opts)
        return za, za.clone(), Details(one, one.clone(), 0.0)
    if lambd > 1:
        raise ValueError(f"The 'lambd' parameter of {f} must be a real number in [0, 1] "
                         f"for K > N'-1={p} (the minimum is proved there). Got {lambd!r} "
                         "instead.")
    if lambd > 0 and p <= 2:
        raise ValueError(f"{f}: for K > N'-1 and lambd > 0 the construction needs "
                         f"N'-1 >= 3 (two groups of frame rows); got N'-1={p}.")
    T = _harmonic_frame(p, K, **opts)
    c_star = K / (p + lambd * (K - p))
    if lambd == 0:
        x = torch.full((p,), K / p, **opts)
    else:
        # rows of T in group A (the constant row, or the first cos/sin pair) get x = t,
        # the others x = u; both column constraints reduce to
        # P_A/t + P_B^2/(K - P_A t) = R, a quadratic in t (smaller root, <= K/p).
        P_A = 1 if p % 2 else 2
        P_B = p - P_A
        R = K / c_star ** 2
        b = P_B ** 2 - P_A ** 2 - R * K
        disc = max(b * b - 4 * R * P_A ** 2 * K, 0.0)
        t = 2 * P_A * K / (-b + math.sqrt(disc))
        u = (K - P_A * t) / P_B
        x = torch.cat([torch.full((P_A,), t, **opts), torch.full((P_B,), u, **opts)])
    za = n_s ** 0.5 * W @ (c_star * T / x.sqrt()[:, None])
    zb = n_s ** 0.5 * W @ (x.sqrt()[:, None] * T)
    if not return_details:
        return za, zb
    ev = torch.cat([torch.full((p,), c_star, **opts), torch.zeros(K - p, **opts)])
    return za, zb, Details(ev, ev.clone(), lambd * K * (K - p) / (p + lambd * (K - p)))


# -- VICReg hinge with per-view statistics on augmentation cliques (reference regime) --------

@dataclass(frozen=True)
class PerViewHingeBracket:
    r"""The minimum of per-view hinge VICReg on cliques, bracketed (R11; :ref:`ch-vicreg-per-view`).

    Attributes
    ----------
    lower : float
        A lower bound on the minimum (a theorem, not a computation's output).
    upper : float
        The loss at the returned explicit point (an upper bound).
    exact : bool
        Whether ``lower == upper`` by the theorem (the weight condition holds).
    scale : float
        The per-view variance :math:`x` of every column at the explicit point.
    rank : int
        :math:`\operatorname{rank}(HZ)` at the explicit point.
    threshold : float
        The smallest ``std_coeff`` for which the bracket is exact.
    n_collapsed : int
        The number :math:`m` of zero columns of the explicit point.
    """

    lower: float
    upper: float
    exact: bool
    scale: float
    rank: int
    threshold: float
    n_collapsed: int = 0


def vicreg_hinge_per_view_optimum(n_samples: int, n_views: int, K: int, *,
                                  sim_coeff: float = 25.0, std_coeff: float = 25.0,
                                  cov_coeff: float = 1.0, eps: float = 1e-4,
                                  dtype: torch.dtype = torch.float64, device: Any = None,
                                  return_details: bool = False) -> Any:
    r"""Minimum of the reference hinge VICReg with per-view statistics on cliques (R11).

    The loss is :func:`sslspec_lib.losses.vicreg_hinge` with
    ``n_views=V`` (unbiased statistics) and
    ``G = augmentation_graph(N', V)``, :math:`N = N'V`.  Put
    :math:`p = N' - 1`, :math:`\beta = 1 - \epsilon`,
    :math:`h(x) = \max(0, 1 - \sqrt{x + \epsilon})` and, for a PSD
    :math:`K\times K` matrix :math:`C`,

    .. math:: F(C) = \frac{\lambda_v}{K}\sum_k h(C_{kk})
              + \frac{\lambda_c V}{K}\sum_{k\ne l} C_{kl}^2 .

    Then (proved in :ref:`ch-vicreg-per-view`) :math:`\min\ell` is the minimum
    of :math:`F` over PSD :math:`C` of rank at most :math:`p`, every minimiser
    is invariant, and

    * :math:`K \le p`: the minimum is 0, at the invariant :math:`Z` whose
      per-view covariance is :math:`I_K` (returned);
    * :math:`K > p`: with :math:`\varphi(S) = \frac{\lambda_v}{2K}(K\beta - S)
      + \frac{\lambda_c V}{K}\max(0, S^2/p - \beta S)`, the minimum lies in
      :math:`[\min_{S}\varphi(S),\ \min_{m, x} u_m(x)]`, where
      :math:`u_m(x) = \frac{\lambda_v}{K}\bigl(m\,h(0) + (K - m)h(x)\bigr)
      + \frac{\lambda_c V}{K}\frac{(K - m)(K - m - p)}{p}x^2` is the loss
      at the invariant :math:`Z` with :math:`m` zero columns whose other
      :math:`K - m` columns have per-view covariance :math:`x` times the Gram
      matrix of a unit-norm tight frame of :math:`K - m` vectors in
      :math:`\mathbb R^p` (harmonic frame), minimised over
      :math:`0 \le m \le K - p` and :math:`x \in [0, \beta]` (returned).  If
      :math:`\lambda_v \ge 2\lambda_c V\beta(2K/p - 1)` the two are equal:
      the minimum is :math:`\lambda_c V\beta^2(K - p)/p`, at :math:`x = \beta`,
      and every minimiser has :math:`\operatorname{rank}(HZ) = p = N' - 1`.

    The invariance weight ``sim_coeff`` (> 0) does not enter: every
    minimiser is invariant.

    Parameters
    ----------
    n_samples : int >= 3
        :math:`N'`, the number of groups (samples).
    n_views : int >= 2
        :math:`V`, rows per group; rows are sample-major (row ``i*V + v``).
    K : int >= 1
    sim_coeff : float > 0
    std_coeff, cov_coeff : float >= 0
    eps : float, 0 <= eps < 1
    dtype, device : of the returned ``Z``.
    return_details : bool
        Also return a :class:`PerViewHingeBracket`.

    Returns
    -------
    Z : torch.Tensor, shape (N' V, K), the explicit invariant point.
    """
    f = "vicreg_hinge_per_view_optimum"
    n_s = _v.check_int(n_samples, "n_samples", f, 3)
    V = _v.check_int(n_views, "n_views", f, 2)
    K = _v.check_int(K, "K", f, 1)
    lam_s = _v.check_positive(sim_coeff, "sim_coeff", f)
    lam_v = _v.check_positive(std_coeff, "std_coeff", f, allow_zero=True)
    lam_c = _v.check_positive(cov_coeff, "cov_coeff", f, allow_zero=True)
    eps = _v.check_positive(eps, "eps", f, allow_zero=True)
    if eps >= 1:
        raise ValueError(f"The 'eps' parameter of {f} must be a finite real number "
                         f"in [0, 1). Got {eps!r} instead.")
    del lam_s  # validated; the minimum does not depend on it
    det, m, x = _per_view_bracket(n_s, V, K, lam_v, lam_c, eps)
    Z = _per_view_bracket_point(n_s, V, K, m, x, dtype=dtype, device=device)
    if not return_details:
        return Z
    return Z, det


def _per_view_bracket(n_s: int, V: int, K: int, lam_v: float, lam_c: float, eps: float
                      ) -> tuple[PerViewHingeBracket, int, float]:
    """The bracket of :func:`vicreg_hinge_per_view_optimum` and its point's (m, x)."""
    p, beta = n_s - 1, 1.0 - eps
    h = lambda x: max(0.0, 1.0 - math.sqrt(x + eps))
    if K <= p:
        return PerViewHingeBracket(0.0, 0.0, True, 1.0, K, 0.0), 0, 1.0
    threshold = 2 * lam_c * V * beta * (2 * K / p - 1)
    best = None
    for m in range(K - p + 1):  # m zero columns, a tight frame on the other K - m
        k = K - m
        b = lam_c * V / K * k * (k - p) / p
        u = lambda x, m=m, k=k, b=b: lam_v / K * (m * h(0.0) + k * h(x)) + b * x * x
        if m == 0 and lam_v >= threshold:
            x = beta
        else:  # u is convex on [0, beta]: bisection on its derivative
            lo, hi = 0.0, beta
            for _ in range(200):
                mid = (lo + hi) / 2
                if -lam_v * k / (2 * K * math.sqrt(mid + eps)) + 2 * b * mid < 0:
                    lo = mid
                else:
                    hi = mid
            x = min((lo, hi, beta), key=u)
        if best is None or u(x) < best[0]:
            best = (u(x), m, x)
    upper, m, x = best
    S = min(max(p * (lam_v / (2 * lam_c * V) + beta) / 2 if lam_c > 0 else K * beta,
                beta * p), K * beta)
    phi = lam_v / (2 * K) * (K * beta - S) \
        + lam_c * V / K * max(0.0, S * S / p - beta * S)
    exact = lam_v >= threshold
    det = PerViewHingeBracket(upper if exact else float(phi), float(upper), exact,
                              float(x), p if x > 0 else 0,
                              threshold if lam_c > 0 else 0.0, m)
    return det, m, float(x)


def _per_view_bracket_point(n_s: int, V: int, K: int, m: int, x: float,
                            **opts: Any) -> torch.Tensor:
    """The bracket's invariant point: m zero columns, a tight frame of the others at x."""
    p = n_s - 1
    U = _centred_basis(n_s, **opts)
    if K <= p:
        Y = p ** 0.5 * U[:, :K]
    else:
        # unit columns, A A^T = ((K - m) / p) I (an orthonormal basis if K - m = p)
        A = torch.eye(p, **opts) if K - m == p else \
            ((K - m) / p) ** 0.5 * _harmonic_frame(p, K - m, **opts)
        A = torch.cat([A, torch.zeros(p, m, **opts)], dim=1)
        Y = (p * x) ** 0.5 * U[:, :p] @ A
    return Y.repeat_interleave(V, dim=0)


def _hinge_grad(x: np.ndarray, eps: float, beta: float) -> np.ndarray:
    """A subgradient of the convex h(x) = max(0, 1 - sqrt(x + eps)) (0 from beta on)."""
    with np.errstate(divide="ignore"):
        return np.where(x < beta, -0.5 / np.sqrt(np.maximum(x, 0.0) + eps), 0.0)


def _polygon_qp_min(H: np.ndarray, g: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                    Gc: np.ndarray, hc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Exact min of :math:`\frac12x^\top Hx + g^\top x` over a box cut by half-planes, batched.

    ``H`` (B, 2, 2), ``g`` (B, 2), the box ``lo <= x <= hi`` (B, 2) and the
    half-planes ``Gc x <= hc`` (B, r, 2), (B, r).  The minimum of a quadratic
    over a convex polygon is at its stationary point (if that is inside and the
    quadratic is convex) or on an edge, and each edge lies on one of the lines;
    so the stationary point and the minimum of the quadratic on every line
    clipped by all the other half-planes are compared.  Returns ``(value, x)``;
    ``value`` is ``inf`` where the polygon is empty.  Feasibility is tested with
    a slack of ``1e-13`` times the size of each half-plane's terms on the box
    (so the value may be below the exact minimum by that slack times the
    gradient: still a lower bound).
    """
    B = g.shape[0]
    eye = np.eye(2)
    Gb = np.concatenate([np.broadcast_to(-eye, (B, 2, 2)), np.broadcast_to(eye, (B, 2, 2)),
                         Gc], axis=1)
    hb = np.concatenate([-lo, hi, hc], axis=1)
    # rounding slack of each half-plane, relative to the size of its terms on the box
    xmax = np.maximum(np.abs(lo), np.abs(hi))
    slack = 1e-13 * (np.abs(hb) + np.einsum("brj,bj->br", np.abs(Gb), xmax))
    nrm = np.sqrt((Gb ** 2).sum(2))
    quad = lambda x: 0.5 * np.einsum("bi,bij,bj->b", x, H, x) + (g * x).sum(1)
    det = H[:, 0, 0] * H[:, 1, 1] - H[:, 0, 1] * H[:, 1, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        xs = np.stack([(-H[:, 1, 1] * g[:, 0] + H[:, 0, 1] * g[:, 1]) / det,
                       (H[:, 1, 0] * g[:, 0] - H[:, 0, 0] * g[:, 1]) / det], 1)
    ok = (H[:, 0, 0] > 0) & (det > 0) & np.isfinite(xs).all(1)
    xs = np.where(ok[:, None], xs, 0.0)
    ok &= ((np.einsum("brj,bj->br", Gb, xs) - hb) <= slack).all(1)
    best = np.where(ok, quad(xs), np.inf)
    bx = xs.copy()
    R = Gb.shape[1]
    for i in range(R):
        valid = nrm[:, i] > 0
        nn = np.where(valid, nrm[:, i], 1.0)
        x0 = Gb[:, i] * (hb[:, i] / nn ** 2)[:, None]  # a point of the line
        dv = np.stack([-Gb[:, i, 1], Gb[:, i, 0]], 1) / nn[:, None]  # its direction
        s_lo, s_hi = np.full(B, -np.inf), np.full(B, np.inf)
        for k in range(R):
            if k == i:
                continue
            a = (Gb[:, k] * dv).sum(1)
            r = hb[:, k] + slack[:, k] - (Gb[:, k] * x0).sum(1)
            with np.errstate(divide="ignore", invalid="ignore"):
                t = r / a
            s_hi = np.where(a > 0, np.minimum(s_hi, t), s_hi)
            s_lo = np.where(a < 0, np.maximum(s_lo, t), s_lo)
            s_lo = np.where((a == 0) & (r < 0), np.inf, s_lo)  # parallel and outside
        seg = valid & (s_lo <= s_hi) & np.isfinite(s_lo) & np.isfinite(s_hi)
        A2 = 0.5 * np.einsum("bi,bij,bj->b", dv, H, dv)
        A1 = (dv * (np.einsum("bij,bj->bi", H, x0) + g)).sum(1)
        sl, sh = np.where(seg, s_lo, 0.0), np.where(seg, s_hi, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            sv = np.clip(np.where(A2 > 0, -A1 / (2 * A2), sl), sl, sh)
        for s in (sl, sh, sv):
            x = x0 + s[:, None] * dv
            val = np.where(seg, quad(x), np.inf)
            upd = val < best
            best, bx = np.where(upd, val, best), np.where(upd[:, None], x, bx)
    return best, bx


@dataclass(frozen=True)
class PerViewHingeCertificate:
    r"""A certified minimum of per-view hinge VICReg on cliques (:func:`vicreg_hinge_per_view_certified`).

    Attributes
    ----------
    lower : float
        A proved lower bound on the minimum (branch and bound over the
        families of :ref:`ch-vicreg-per-view`, up to float64 rounding and the
        slack of ``1e-13`` of the feasibility tests).
    upper : float
        ``losses.vicreg_hinge`` (``n_views=V``) at the returned ``Z``.
    upper_reduced : float
        The reduced objective at the best point found.
    bracket : PerViewHingeBracket
        The closed-form bracket of :func:`vicreg_hinge_per_view_optimum`.
    d : numpy.ndarray, shape (K,)
        The per-view variances of the returned point, sorted decreasingly.
    n_orthogonal : int
        :math:`j`: columns at variance :math:`\beta` orthogonal to all others.
    level : float
        The frame bound :math:`T/q` of the other columns, a tight frame in
        :math:`q = N' - 1 - j` dimensions (``0`` if they are all zero).
    rank : int
        :math:`\operatorname{rank}(HZ)` of the returned point.
    n_families, n_boxes : int
        Families enumerated and boxes examined.
    certified : bool
        ``upper_reduced - lower <= tol``.
    tol : float
        The tolerance required.
    relaxed : bool
        True if ``lower`` is the bound of the Cauchy--Schwarz relaxation
        (:math:`K` families) and the point is the bracket's: the relaxation
        certified it, or (``certified`` False) reached its rounding floor
        above a ``tol`` set below that floor.
    """

    lower: float
    upper: float
    upper_reduced: float
    bracket: PerViewHingeBracket
    d: np.ndarray
    n_orthogonal: int
    level: float
    rank: int
    n_families: int
    n_boxes: int
    certified: bool
    tol: float
    relaxed: bool = False


# Relative rounding floor of the K-family relaxation of
# vicreg_hinge_per_view_certified: where it is tight, its gap (upper - lower) stops
# at about 1.5e-14 of max(upper, std_coeff / K) (measured for N' from 4 to 2048,
# K up to 8192); 1e-12 leaves a factor 60 and stays 1000 times below the default tol.
_PER_VIEW_ROUNDING_FLOOR = 1e-12


def vicreg_hinge_per_view_certified(n_samples: int, n_views: int, K: int, *,
                                    sim_coeff: float = 25.0, std_coeff: float = 25.0,
                                    cov_coeff: float = 1.0, eps: float = 1e-4,
                                    tol: float | None = None, max_orthogonal: int | None = None,
                                    max_families: int = 200000, max_boxes: int = 2000000,
                                    relaxation: bool = True, point: bool = True,
                                    dtype: torch.dtype = torch.float64, device: Any = None
                                    ) -> tuple[torch.Tensor | None, PerViewHingeCertificate]:
    r"""A certified minimum of the reference hinge VICReg with per-view statistics on cliques (R11).

    With the notation of :func:`vicreg_hinge_per_view_optimum`
    (:math:`p = N' - 1 < K`, :math:`\beta = 1 - \epsilon`, :math:`\nu =
    \lambda_v/K`, :math:`\gamma = \lambda_cV/K`), :math:`\min\ell = \min_C F(C)`
    over PSD :math:`C` of rank at most :math:`p`, and (part 5 of the theorem of
    :ref:`ch-vicreg-per-view`)

    .. math::

        \min_C F(C) = \min_{0 \le j < p} P_j,\qquad P_j = \min\Bigl\{ \nu\sum_{k} h(t_k)
        + \gamma\Bigl(\frac{T^2}{q} - \sum_k t_k^2\Bigr) : t \in [0, \beta]^{K - j},\
        \max_k t_k \le \frac Tq \Bigr\},

    :math:`q = p - j`, :math:`T = \sum_k t_k`: :math:`j` columns at variance
    :math:`\beta` orthogonal to everything, the other :math:`K - j` a tight
    frame of frame bound :math:`T/q` in :math:`q` dimensions.  Every inner
    minimum is attained at a :math:`t` with at most three distinct values:
    :math:`n_\tau` entries :math:`\tau = \min(\beta, T/q)`, at most one entry
    :math:`\eta` and the others one :math:`\xi`; so each :math:`(j, n_\tau)`,
    with :math:`\tau = \beta` (then :math:`T \ge q\beta`) or :math:`\tau =
    T/q \le \beta` (then :math:`\xi, \eta \le \tau`), is a family with two
    parameters :math:`(\xi, \eta) \in [0, \beta]^2`, :math:`p(K + 1)`
    families in all.  A branch and bound over all families bounds each box
    below by the larger of two tangent planes of the convex hinge part, at
    the box's centre and at its upper corner (a tangent of a convex function
    lies below it everywhere; the corner's is exact where all families meet
    at the tight frame), plus the exact minimum of the (indefinite) quadratic
    part over the box cut by the family's constraints; the point of that
    minimum gives the upper bound.

    First a relaxation with :math:`K` families is tried: a PSD :math:`C` of
    rank at most :math:`p` has :math:`\|C\|_F^2 \ge (\operatorname{tr}C)^2/p`
    (Cauchy--Schwarz on its eigenvalues), so :math:`\min\ell \ge R_0 =
    \min_{t \in [0, \beta]^K} \nu\sum_k h(t_k) + \gamma(T^2/p - \sum_k
    t_k^2)`, whose minimum has the same three-value structure with
    :math:`\tau = \beta` (family A with :math:`j = 0` and without
    :math:`T \ge p\beta`).  If the bracket's point of
    :func:`vicreg_hinge_per_view_optimum` is within ``tol`` of that lower
    bound it is the certified minimum and the :math:`p(K + 1)` families are
    not enumerated; this is what makes the reference's sizes tractable.

    Where the relaxation is tight, the gap it reaches is limited by float64
    rounding, at about :math:`1.5\cdot 10^{-14}` of the loss scale (the
    larger of the bracket's upper value and :math:`\lambda_v/K`); a ``tol``
    below that cannot be met.  If the relaxation's gap exceeds ``tol`` but
    is at most ``1e-12`` of the loss scale (the bound taken for that floor)
    and the full search would exceed ``max_families``, the result is returned with
    ``certified=False``, ``relaxed=True``, ``lower`` the relaxation's bound
    and ``upper`` the loss at the bracket's point (both still valid
    bounds), and a :class:`RuntimeWarning` is issued.

    Parameters
    ----------
    n_samples : int >= 3
        :math:`N'`.
    n_views : int >= 2
        :math:`V`.
    K : int >= 1
        If :math:`K \le N' - 1` (or a weight is ``0``) the minimum is ``0``
        (:func:`vicreg_hinge_per_view_optimum`'s point is returned).
    sim_coeff : float > 0
    std_coeff, cov_coeff : float >= 0
    eps : float, 0 <= eps < 1
    tol : float > 0, optional
        Required ``upper_reduced - lower``; default ``1e-9`` times the larger of
        the bracket's upper value and :math:`\lambda_v/K`.  (``upper``, the
        loss at ``Z``, equals ``upper_reduced`` up to the rounding of the loss.)
        Values below the rounding floor (about ``1e-14`` of that scale) may
        end uncertified: check ``certified``.
    max_orthogonal : int >= 0, optional
        Search only :math:`j \le` ``max_orthogonal``: then ``lower`` bounds
        :math:`\min_{j \le j_{\max}} P_j`, not :math:`\min\ell` (used to show
        that a minimiser needs :math:`j > 0`).
    max_families : int
        The full search enumerates :math:`p(K + 1)` families (fewer with
        ``max_orthogonal``); larger problems are refused unless the relaxation
        certifies them or reaches its rounding floor (then ``certified`` is
        False, with a warning; the reference's :math:`N' = 2048`,
        :math:`K = 8192` would need about :math:`1.7\cdot 10^7`).
    max_boxes : int
        Budget of each branch and bound; if exhausted, ``certified`` is False.
    relaxation : bool
        Try the relaxation first (``False``: always run the full search).
    point : bool
        Build ``Z`` and evaluate ``losses.vicreg_hinge`` there.  ``False``
        returns ``Z = None`` and ``upper = upper_reduced``: at the reference's
        sizes ``Z`` has :math:`4096 \times 8192` entries and the loss alone
        takes about 40 s on one core.
    dtype, device : of the returned ``Z``.

    Returns
    -------
    Z : torch.Tensor, shape (N' V, K), an invariant point whose loss is ``upper``
        (``None`` if ``point`` is False).
    PerViewHingeCertificate
        ``certified`` says whether ``upper_reduced - lower <= tol``.

    Raises
    ------
    ValueError
        For invalid arguments; and if the full search needs more than
        ``max_families`` families and either ``relaxation`` is False or the
        relaxation's gap exceeds both ``tol`` and its rounding floor (the
        relaxation is not tight there; the message gives the gap reached).

    Warns
    -----
    RuntimeWarning
        If ``tol`` is below the rounding floor of the relaxation and the full
        search needs more than ``max_families`` families: the message gives
        ``tol``, the floor, the gap reached and the ``max_families`` needed,
        and the result has ``certified=False``.
    """
    from .graphs import augmentation_graph
    from .losses import vicreg_hinge as _loss
    f = "vicreg_hinge_per_view_certified"
    n_s = _v.check_int(n_samples, "n_samples", f, 3)
    V = _v.check_int(n_views, "n_views", f, 2)
    K = _v.check_int(K, "K", f, 1)
    max_families = _v.check_int(max_families, "max_families", f, 1)
    max_boxes = _v.check_int(max_boxes, "max_boxes", f, 1)
    j_max = n_s - 2 if max_orthogonal is None else \
        _v.check_int(max_orthogonal, "max_orthogonal", f, 0)
    _v.check_positive(sim_coeff, "sim_coeff", f)
    _v.check_positive(std_coeff, "std_coeff", f, allow_zero=True)
    _v.check_positive(cov_coeff, "cov_coeff", f, allow_zero=True)
    _v.check_positive(eps, "eps", f, allow_zero=True)
    if eps >= 1:
        raise ValueError(f"The 'eps' parameter of {f} must be a finite real number "
                         f"in [0, 1). Got {eps!r} instead.")
    lam_v, lam_c, eps = float(std_coeff), float(cov_coeff), float(eps)
    bracket, m_b, x_b = _per_view_bracket(n_s, V, K, lam_v, lam_c, eps)
    p, beta = n_s - 1, 1.0 - eps
    tol = (1e-9 * max(bracket.upper, lam_v / K) if tol is None
           else _v.check_positive(tol, "tol", f))
    opts = dict(dtype=dtype, device=device)

    def finish(Z: Any, d: np.ndarray, reduced: float, lower: float, j: int, level: float,
               rank: int, n_fam: int, n_boxes: int, certified: bool, relaxed: bool
               ) -> tuple[torch.Tensor | None, PerViewHingeCertificate]:
        """The loss at Z (built lazily), or the reduced value if point=False."""
        if point:
            Z = Z()
            G = augmentation_graph(n_s, V, **opts)
            up = float(_loss(Z, G, n_views=V, sim_coeff=sim_coeff, std_coeff=lam_v,
                             cov_coeff=lam_c, eps=eps))
        else:
            Z, up = None, reduced
        return Z, PerViewHingeCertificate(lower, up, reduced, bracket, d, j, level, rank,
                                          n_fam, n_boxes, certified, tol, relaxed)

    bracket_Z = lambda: _per_view_bracket_point(n_s, V, K, m_b, x_b, **opts)
    d_b = np.concatenate([np.full(min(K, p) if K <= p else K - m_b, 1.0 if K <= p else x_b),
                          np.zeros(0 if K <= p else m_b)])
    if K <= p or lam_v == 0 or lam_c == 0:  # the minimum is 0 (part 2; a weight is 0)
        Z, cert = finish(bracket_Z, d_b, bracket.upper, 0.0, 0, 0.0, bracket.rank, 0, 0,
                         True, False)
        return Z, replace(cert, certified=cert.upper <= tol)
    level_b = (K - bracket.n_collapsed) * bracket.scale / p
    v, bq = lam_v / K, lam_c * V / K
    hv = lambda x: _hinge_values(x, eps, 1.0)

    def search(fams: np.ndarray, relaxed: bool, gap: float) -> dict[str, Any]:
        """Branch and bound over the families (j, n_tau, branch); see the docstring."""
        jj, nu, br = fams[:, 0], fams[:, 1], fams[:, 2]
        n, q = K - jj, p - jj
        m = n - nu - 1
        isB = br == 1
        # x = (a, b) are (xi, eta) of the chapter, u is tau; family A: u = beta,
        # T = nu beta + b + m a >= q beta; family B: u = T/q = w.x <= beta
        w = np.stack([m, np.ones_like(m)], 1).astype(float)
        w = np.where(isB[:, None], w / np.where(isB, q - nu, 1)[:, None], w)
        Dg = np.zeros((fams.shape[0], 2, 2))
        Dg[:, 0, 0], Dg[:, 1, 1] = m, 1.0
        ww = np.einsum("fi,fj->fij", w, w)
        Hf = 2 * bq * (np.where(isB, q - nu, 1.0 / q)[:, None, None] * ww - Dg)
        glin = np.where(isB[:, None], 0.0, 2 * bq * (nu * beta / q)[:, None] * w)
        cst = np.where(isB, 0.0, bq * (nu ** 2 * beta ** 2 / q - nu * beta ** 2))
        # A: T >= q beta (relaxed: T >= 0, always true).  B: a <= u, b <= u, and
        # u <= beta (the entries at u lie in [0, beta]; T/q > beta is family A)
        Gc = np.zeros((fams.shape[0], 3, 2))
        hc = np.zeros((fams.shape[0], 3))
        Gc[:, 0] = np.where(isB[:, None], np.stack([1 - w[:, 0], -w[:, 1]], 1), -w)
        hc[:, 0] = np.where(isB, 0.0, (nu - (0 if relaxed else q)) * beta)
        Gc[:, 1] = np.where(isB[:, None], np.stack([-w[:, 0], 1 - w[:, 1]], 1), 0.0)
        Gc[:, 2] = np.where(isB[:, None], w, 0.0)
        hc[:, 2] = np.where(isB, beta, 0.0)

        def parts(fi: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """u and the exact family objective at x."""
            a, b = x[:, 0], x[:, 1]
            u = np.where(isB[fi], (w[fi] * x).sum(1), beta)
            T = np.where(isB[fi], q[fi] * u, nu[fi] * beta + b + m[fi] * a)
            conv = v * (nu[fi] * hv(u) + hv(b) + m[fi] * hv(a))
            return u, conv + bq * (T ** 2 / q[fi] - nu[fi] * u ** 2 - b ** 2 - m[fi] * a ** 2)

        def bound(fi: np.ndarray, lo: np.ndarray, hi: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            # the larger of two valid bounds: the tangent plane of the convex hinge part
            # at the box's centre, and at its upper corner of the smooth branch
            # 1 - sqrt(x + eps) <= h(x) (exact at a minimum on that corner, where all
            # families meet at the tight frame; the centre's alone would need every
            # family's corner box shrunk to the tolerance).  The corner is moved off 0
            # (a tangent point need not lie in the box) so that eps = 0 keeps it finite.
            lb, qv, x = None, None, None
            for c, hval, hgrad in ((0.5 * (lo + hi), hv, lambda y: _hinge_grad(y, eps, beta)),
                                   (np.maximum(hi, 1e-12), lambda y: 1.0 - np.sqrt(y + eps),
                                    lambda y: -0.5 / np.sqrt(y + eps))):
                uc = (w[fi] * c).sum(1)
                conv_c = v * (np.where(isB[fi], nu[fi] * hval(uc), 0.0) + hval(c[:, 1])
                              + m[fi] * hval(c[:, 0]))
                ga = m[fi] * np.where(m[fi] > 0, hgrad(c[:, 0]), 0.0)
                grad = v * np.stack([ga, hgrad(c[:, 1])], 1)
                gu = nu[fi] * np.where(isB[fi] & (nu[fi] > 0), hgrad(uc), 0.0)
                grad = grad + v * gu[:, None] * w[fi]
                qv_c, x_c = _polygon_qp_min(Hf[fi], glin[fi] + grad, lo, hi, Gc[fi], hc[fi])
                lb_c = conv_c - (grad * c).sum(1) + qv_c + cst[fi]
                lb_c = np.where(np.isnan(lb_c), -np.inf, lb_c)  # never prune on a NaN
                if lb is None:
                    lb, qv, x = lb_c, qv_c, x_c
                else:
                    lb = np.maximum(lb, lb_c)
            x = np.clip(x, lo, hi)
            ub = np.where(np.isfinite(qv), parts(fi, x)[1], np.inf)
            return lb, ub, x

        fi = np.arange(fams.shape[0])
        lo = np.zeros((fi.size, 2))
        hi = np.full((fi.size, 2), beta)
        hi[:, 0] = np.where(m > 0, beta, 0.0)  # a is absent when m = 0
        lb, ub, x = bound(fi, lo, hi)
        k = int(np.argmin(ub))
        best_val, best = float(ub[k]), (int(fi[k]), x[k].copy())
        n_boxes, pruned, rows = fi.size, np.inf, np.arange(20000)
        while True:
            keep = lb < best_val - gap
            pruned = min(pruned, float(lb[~keep].min(initial=np.inf)))
            fi, lo, hi, lb = fi[keep], lo[keep], hi[keep], lb[keep]
            # boxes narrower than 1e-12 are not split further: their bound is
            # rounding-limited
            open_ = (hi - lo).max(1) > 1e-12
            if not open_.any() or n_boxes >= max_boxes:
                break
            order = np.argsort(np.where(open_, lb, np.inf), kind="stable")
            n_open = int(open_.sum())
            sel = order[:min(rows.size, n_open)]  # the open boxes of smallest bound
            rest = order[sel.size:]
            r = rows[:sel.size]
            ax = np.argmax(hi[sel] - lo[sel], 1)
            mid = 0.5 * (lo[sel][r, ax] + hi[sel][r, ax])
            lo1, hi1, lo2, hi2 = lo[sel], hi[sel].copy(), lo[sel].copy(), hi[sel]
            hi1[r, ax], lo2[r, ax] = mid, mid
            nf = np.concatenate([fi[sel], fi[sel]])
            nlo, nhi = np.concatenate([lo1, lo2]), np.concatenate([hi1, hi2])
            nlb, nub, nx = bound(nf, nlo, nhi)
            nlb = np.maximum(nlb, np.concatenate([lb[sel], lb[sel]]))  # a child's min is >=
            n_boxes += nf.size
            k = int(np.argmin(nub))
            if nub[k] < best_val:
                best_val, best = float(nub[k]), (int(nf[k]), nx[k].copy())
            fi, lo = np.concatenate([fi[rest], nf]), np.concatenate([lo[rest], nlo])
            hi, lb = np.concatenate([hi[rest], nhi]), np.concatenate([lb[rest], nlb])
        lower = max(0.0, min(pruned, float(lb.min(initial=np.inf)), best_val))
        return dict(lower=lower, best_val=best_val, best=best, n_boxes=n_boxes,
                    parts=parts, jj=jj, q=q, m=m, nu=nu)

    if relaxation:
        # ||C||_F^2 >= (tr C)^2 / p for rank <= p: j = 0, family A without T >= p beta
        fams = np.array([(0, k, 0) for k in range(K)])
        R = search(fams, True, tol / 2)
        if bracket.upper - R["lower"] <= tol:
            return finish(bracket_Z, d_b, bracket.upper, R["lower"], 0, level_b,
                          bracket.rank, K, R["n_boxes"], True, True)
    j_max = min(j_max, p - 1)
    n_fam = sum(K - j + min(p - j, K - j) for j in range(j_max + 1))  # p (K + 1) if all j
    if n_fam > max_families:
        too_many = (f"{f}: N' = {n_s}, K = {K} needs {n_fam} families, more than "
                    f"max_families={max_families}")
        if not relaxation:
            raise ValueError(f"{too_many}, and relaxation=False; the bracket of "
                             f"vicreg_hinge_per_view_optimum still applies.")
        reached = bracket.upper - R["lower"]
        floor = _PER_VIEW_ROUNDING_FLOOR * max(bracket.upper, lam_v / K)
        if reached <= floor:  # tight to rounding: tol is below what float64 resolves
            rel = _PER_VIEW_ROUNDING_FLOOR
            warnings.warn(f"{f}: tol={tol:.3g} is below the rounding floor of the "
                          f"relaxation ({floor:.3g}, {rel:g} of the loss scale); "
                          f"it reached upper - lower = {reached:.3g} (lower "
                          f"{R['lower']!r}, upper {bracket.upper!r}); the full "
                          f"search would need max_families >= {n_fam}. Returning "
                          f"certified=False.", RuntimeWarning, stacklevel=2)
            return finish(bracket_Z, d_b, bracket.upper, R["lower"], 0, level_b,
                          bracket.rank, K, R["n_boxes"], False, True)
        raise ValueError(f"{too_many}, and the relaxation did not certify the "
                         f"bracket's point: it reached upper - lower = "
                         f"{reached:.3g}, above tol={tol:.3g} and above its "
                         f"rounding floor {floor:.3g} (it is not tight here); the "
                         f"bracket of vicreg_hinge_per_view_optimum still applies.")
    fams = np.array([(j, k, br) for j in range(j_max + 1) for k in range(K - j)
                     for br in (0, 1) if br == 0 or k < p - j])
    S = search(fams, False, tol)
    lower, best_val, n_boxes = S["lower"], S["best_val"], S["n_boxes"]
    if bracket.upper <= best_val:  # the explicit point of part 3 is as good
        return finish(bracket_Z, d_b, bracket.upper, lower, 0, level_b, bracket.rank,
                      len(fams), n_boxes, bracket.upper - lower <= tol, False)
    # build the point: j orthogonal columns at beta, the rest a tight frame (Schur-Horn)
    k, (a, b) = S["best"]
    j, q_, m_ = int(S["jj"][k]), int(S["q"][k]), int(S["m"][k])
    u = float(S["parts"](np.array([k]), np.array([[a, b]]))[0][0])
    t = np.sort(np.concatenate([np.full(int(S["nu"][k]), u), [b], np.full(m_, a)]))[::-1]
    T = float(t.sum())
    level = T / q_
    d = np.sort(np.concatenate([np.full(j, beta), t]))[::-1]

    def point_Z() -> torch.Tensor:
        c = np.concatenate([np.full(q_, level), np.zeros(t.size - q_)])
        Wr = _schur_horn_rotation(c, t)
        A = np.sqrt(level) * Wr[:, :q_].T  # q x (K - j), A^T A has diagonal t
        Rm = np.zeros((p, K))
        Rm[:j, :j] = math.sqrt(beta) * np.eye(j)
        Rm[j:, j:] = A
        Y = p ** 0.5 * _centred_basis(n_s, **opts) @ torch.as_tensor(Rm, **opts)
        return Y.repeat_interleave(V, dim=0)

    return finish(point_Z, d, best_val, lower, j, level, j + (q_ if level > 0 else 0),
                  len(fams), n_boxes, best_val - lower <= tol, False)


def _centred_basis(n: int, **opts: Any) -> torch.Tensor:
    """An orthonormal basis (n x (n - 1)) of the centred vectors of R^n (QR of the centring)."""
    H = torch.eye(n, **opts) - 1.0 / n
    return torch.linalg.qr(H[:, :n - 1])[0]


def _per_view_variances(Z: torch.Tensor, V: int) -> np.ndarray:
    """Unbiased variances of the first view block of Z, sorted decreasingly."""
    from .losses import covariance
    n = Z.shape[0] // V
    var = torch.diagonal(covariance(Z[0::V])) * n / (n - 1)
    return np.sort(var.cpu().numpy())[::-1].copy()


# --------------------------------------------------------------------------------------
# Hinge VICReg with a finite covariance weight: the exact K x K reduction and a
# certified optimum (R11, :ref:`ch-vicreg-hinge-exact`).
# --------------------------------------------------------------------------------------


def _hinge_values(x: np.ndarray, eps: float, rho: float) -> np.ndarray:
    return np.maximum(0.0, 1.0 - np.sqrt(rho * np.maximum(x, 0.0) + eps))


def vicreg_hinge_reduced_objective(c: Any, d: Any, eigenvalues: Any, *, lambda_s: float,
                                   lambda_v: float, lambda_c: float, eps: float,
                                   rho: float) -> float:
    r"""The hinge VICReg loss as a function of the covariance's spectrum and diagonal (R11).

    .. math::

        \Phi(c, d) = \frac{2\lambda_s}{K}\sum_k \lambda_k c_k^{\downarrow}
        + \frac{\lambda_c\rho^2}{K}\Bigl(\sum_k c_k^2 - \sum_k d_k^2\Bigr)
        + \frac{\lambda_v}{K}\sum_k \max\bigl(0, 1 - \sqrt{\rho d_k + \epsilon}\bigr),

    with :math:`\lambda_1 \le \dots \le \lambda_K` the smallest Laplacian
    eigenvalues on :math:`\mathbf 1^\perp` and :math:`c^\downarrow` the
    spectrum :math:`c` sorted in decreasing order.  By von Neumann's trace
    inequality and Schur--Horn, :math:`\min_Z \ell_{\mathrm{ref}}(Z) =
    \min\{\Phi(c, d) : c \ge 0,\ d \prec c\}` (:ref:`ch-vicreg-hinge-exact`);
    :math:`\Phi(c, d)` is the smallest reference loss of a :math:`Z` whose
    covariance has spectrum :math:`c` and diagonal :math:`d`.

    Parameters
    ----------
    c, d : array_like, shape (K,)
        Spectrum (``>= 0``) and diagonal of :math:`C(Z)`; ``d`` must be
        majorised by ``c`` (checked to a relative ``1e-9``).
    eigenvalues : array_like, shape (K,)
        :math:`\lambda_1 \le \dots \le \lambda_K`.
    lambda_s, lambda_v, lambda_c : float >= 0
        The weights of ``losses.vicreg_hinge``.
    eps : float in [0, 1)
    rho : float > 0
        ``N/(N-1)`` for the unbiased statistics, ``1`` otherwise.

    Returns
    -------
    float
    """
    f = "vicreg_hinge_reduced_objective"
    c = np.asarray(c, dtype=float).ravel()
    d = np.asarray(d, dtype=float).ravel()
    lam = np.asarray(eigenvalues, dtype=float).ravel()
    if not (c.shape == d.shape == lam.shape) or c.size == 0:
        raise ValueError(f"{f}: c, d and eigenvalues must be non-empty vectors of one length; "
                         f"got shapes {c.shape}, {d.shape}, {lam.shape}.")
    if not (np.isfinite(c).all() and np.isfinite(d).all() and np.isfinite(lam).all()):
        raise ValueError(f"{f}: c, d and eigenvalues must be finite.")
    if (np.diff(lam) < 0).any():
        raise ValueError(f"{f}: the eigenvalues must be sorted in increasing order.")
    for name, val in (("lambda_s", lambda_s), ("lambda_v", lambda_v),
                      ("lambda_c", lambda_c)):
        _v.check_positive(val, name, f, allow_zero=True)
    _v.check_positive(rho, "rho", f)
    _v.check_positive(eps, "eps", f, allow_zero=True)
    scale = max(1.0, float(np.abs(c).sum()))
    if (c < -1e-12 * scale).any():
        raise ValueError(f"{f}: the spectrum c must be >= 0; got {c.tolist()}.")
    cs, ds = np.sort(c)[::-1], np.sort(d)[::-1]
    gap = np.cumsum(cs) - np.cumsum(ds)
    if (gap < -1e-9 * scale).any() or abs(gap[-1]) > 1e-9 * scale:
        raise ValueError(f"{f}: d must be majorised by c (the diagonal of a symmetric "
                         f"matrix with spectrum c, Schur-Horn); got c={c.tolist()}, "
                         f"d={d.tolist()}.")
    K = c.size
    return float(2 * lambda_s / K * (lam * cs).sum()
                 + lambda_c * rho ** 2 / K * ((cs ** 2).sum() - (ds ** 2).sum())
                 + lambda_v / K * _hinge_values(ds, eps, rho).sum())


@dataclass
class HingeCertificate:
    r"""A certified minimum of hinge VICReg (:func:`vicreg_hinge_certified_optimum`).

    Attributes
    ----------
    lower : float
        A proved lower bound on :math:`\min_Z\ell_{\mathrm{ref}}(Z)` (branch and
        bound on the reduced problem; up to float64 rounding of its terms).
    upper : float
        ``losses.vicreg_hinge`` evaluated at the returned ``Z``: an upper bound.
    upper_reduced : float
        The reduced objective at the best ``(c, d)`` found (``upper`` equals it
        up to the accuracy of the construction of ``Z``).
    diagonal : float
        The loss of the diagonal prediction (:func:`vicreg_hinge_optimum`).
    eigenvalues, c, d : numpy.ndarray, shape (K,)
        :math:`\lambda_1 \le \dots \le \lambda_K`, the spectrum of
        :math:`C(Z)` paired with them (``c[k]`` is the variance along
        :math:`u_k`) and its diagonal, sorted in decreasing order.
    rank : int
        Number of ``c[k]`` above ``1e-9 * max(c)``.
    n_boxes : int
        Boxes examined by the branch and bound.
    certified : bool
        ``upper - lower <= tol``.
    tol : float
        The tolerance that was met (or required, if ``certified`` is False).
    """

    lower: float
    upper: float
    upper_reduced: float
    diagonal: float
    eigenvalues: np.ndarray
    c: np.ndarray
    d: np.ndarray
    rank: int
    n_boxes: int
    certified: bool
    tol: float


class _TransferQP:
    r"""min_S q.S + b |D S|^2  s.t.  S >= 0,  S_{k-1} - S_k <= h_k  (k = 2..K), batched.

    ``(D S)_k = S_k - S_{k-1}`` with ``S_0 = S_K = 0``.  The Lagrange dual,
    maximised by projected coordinate ascent, gives a valid lower bound at every
    iterate; the primal point is recovered from the multipliers.
    """

    def __init__(self, K: int, b: float) -> None:
        m = K - 1
        D = np.zeros((K, m))
        for j in range(m):
            D[j, j], D[j + 1, j] = 1.0, -1.0
        self.M_inv = np.linalg.inv(D.T @ D)
        rows = [-np.eye(m)[j] for j in range(m)]  # -S_j <= 0
        for k in range(1, K):  # S_{k-1} - S_k <= h_k, i.e. c_k >= 0 (k = 2..K, 0-based 1..K-1)
            row = np.zeros(m)
            row[k - 1] = 1.0
            if k < m:
                row[k] = -1.0
            rows.append(row)
        self.G = np.array(rows)
        self.b, self.m, self.D = b, m, D
        self.P = self.G @ self.M_inv @ self.G.T / (2 * b)

    def solve(self, q: np.ndarray, h: np.ndarray, sweeps: int = 200
              ) -> tuple[np.ndarray, np.ndarray]:
        """Return (dual lower bound, primal S) for each row of q (B, m) and h (B, K - 1)."""
        B = q.shape[0]
        r = np.concatenate([np.zeros((B, self.m)), h], axis=1)
        p = q @ self.M_inv @ self.G.T / (2 * self.b) + r
        mu = np.zeros_like(r)
        diag = np.diag(self.P)
        for _ in range(sweeps):
            for i in range(self.P.shape[0]):
                if diag[i] <= 0:
                    continue
                grad = mu @ self.P[i] + p[:, i]
                mu[:, i] = np.maximum(0.0, mu[:, i] - grad / diag[i])
        y = q + mu @ self.G
        dual = -np.einsum("bi,ij,bj->b", y, self.M_inv, y) / (4 * self.b) - (mu * r).sum(1)
        S = -y @ self.M_inv / (2 * self.b)
        return dual, S


def _schur_horn_sorted(lam: np.ndarray, d: np.ndarray) -> np.ndarray:
    """V orthogonal with diag(V diag(lam) V^T) = d, for lam, d decreasing and d majorised by lam.

    Chan and Li's recursion: a rotation in the plane (k, k+1) with
    lam_k >= d_1 >= lam_{k+1} puts d_1 on the diagonal and leaves a diagonal
    block whose entries majorise d_2, ..., d_n.
    """
    n = lam.size
    if n == 1:
        return np.eye(1)
    d0 = d[0]
    k = next((i for i in range(n - 1) if lam[i] >= d0 >= lam[i + 1]), 0 if d0 > lam[0] else n - 2)
    x, y = lam[k], lam[k + 1]
    cos2 = 1.0 if x == y else min(1.0, max(0.0, (d0 - y) / (x - y)))
    cs, sn = math.sqrt(cos2), math.sqrt(1.0 - cos2)
    Gr = np.eye(n)
    Gr[k, k], Gr[k, k + 1], Gr[k + 1, k], Gr[k + 1, k + 1] = cs, -sn, sn, cs
    order = [k] + [i for i in range(n) if i != k]
    P = np.eye(n)[order]
    rest = lam.copy()
    rest[k + 1] = x + y - d0
    rest = np.delete(rest, k)
    B = np.eye(n)
    B[1:, 1:] = _schur_horn_sorted(rest, d[1:])
    return B @ P @ Gr


def _schur_horn_rotation(c: np.ndarray, d: np.ndarray) -> np.ndarray:
    """W orthogonal with diag(W diag(c) W^T) = d (d decreasing, majorised by c in any order)."""
    order = np.argsort(-c, kind="stable")
    V = _schur_horn_sorted(c[order], d)
    return V[:, np.argsort(order)]


def _hinge_search_args(G: Any, K: int, lambda_s: float, lambda_v: float, eps: float,
                       f: str) -> tuple[torch.Tensor, int, float, float, float]:
    """Validate what the certified hinge searches share: G, K <= 5, weights, eps."""
    G, K = _graph_and_K(G, K, f, allow_sparse=False)
    if K > 5:
        raise ValueError(f"{f}: the branch and bound is meant for K <= 5; got K={K}.")
    lambda_s = _v.check_positive(lambda_s, "lambda_s", f)
    lambda_v = _v.check_positive(lambda_v, "lambda_v", f)
    eps = _v.check_positive(eps, "eps", f, allow_zero=True)
    if eps >= 1:
        raise ValueError(f"The 'eps' parameter of {f} must be in [0, 1). Got {eps!r}.")
    return G, K, lambda_s, lambda_v, eps


def _majorization_dual_bound(lo: np.ndarray, hi: np.ndarray, a: np.ndarray, b: float,
                             v: float, eps: float, rho: float, iters: int = 48
                             ) -> np.ndarray:
    r"""Lower bounds of the reduced hinge problem on boxes of d (B, K), by Lagrange duality.

    On a box :math:`\ell \le d \le h` (d sorted decreasingly) the reduced problem
    :math:`\min\, a\cdot c^\downarrow + b(\lVert c\rVert^2 - \lVert d\rVert^2) +
    v\sum_k H(d_k)` over :math:`c \ge 0`, :math:`d \prec c` is relaxed to a convex
    problem: :math:`-b d_k^2` is replaced by its chord on :math:`[\ell_k, h_k]`
    (below it: the function is concave; the error is at most
    :math:`b(h_k - \ell_k)^2/4`), and with :math:`c` sorted the majorisation is
    linear, :math:`\sum_{i\le j}(d_i - c_i) \le 0`, :math:`\sum_i (d_i - c_i) = 0`.
    Its Lagrangian with multipliers :math:`\mu_j \ge 0` and :math:`\nu` depends on
    them only through :math:`w_i = \sum_{j\ge i}\mu_j + \nu`, i.e. any
    non-increasing :math:`w`, and separates:
    :math:`g(w) = \sum_i \min_{c_i\ge 0}\bigl((a_i - w_i)c_i + bc_i^2\bigr) +
    \min_{d_i\in[\ell_i, h_i]}\bigl(vH(d_i) + \text{chord}_i(d_i) + w_id_i\bigr)`,
    each a closed form.  Every non-increasing :math:`w` gives a valid lower bound
    (weak duality; dropping the order of :math:`d` only relaxes further); the best
    one is block-constant on consecutive blocks, so every block's optimal common
    value is found by bisection on the concave :math:`g`, and every partition of
    ``0..K-1`` into consecutive blocks is evaluated, its block values made
    non-increasing by a running minimum (still dual feasible, so still a bound).
    The bound is the largest of these :math:`2^{K-1}` values.  Here ``H`` is the
    hinge :math:`h(x) = \max(0, 1 - \sqrt{\rho x + \epsilon})` and ``v`` is
    :math:`\lambda_v/K`.

    Assumes every upper end :math:`h_k \le t = (1 - \epsilon)/\rho`, where the hinge
    vanishes: every box lies inside the a-priori box, which is capped at :math:`t`
    (the variance cap).  The :math:`d`-problem minimises :math:`vH(x) + s x` with
    :math:`s = w - b(\ell + h)`; when :math:`s \le 0` it is non-increasing, and
    the point :math:`t` returned then is clipped to :math:`h_k`, its minimiser on
    the interval, only because :math:`h_k \le t`.
    """
    B, K = lo.shape
    t_top = (1.0 - eps) / rho
    shift = b * (lo + hi)  # chord of -b x^2: -b (lo + hi) x + b lo hi
    const = b * lo * hi

    def parts(w: np.ndarray, idx: slice) -> tuple[np.ndarray, np.ndarray]:
        """Minimisers c_i(w), d_i(w) for the coordinates idx (w: (B, 1) or (B, n))."""
        c = np.maximum(0.0, w - a[idx]) / (2 * b)
        s = w - shift[:, idx]
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.where(s > 0, ((v * rho / (2 * s)) ** 2 - eps) / rho, np.inf)
        d = np.clip(np.minimum(x, t_top), lo[:, idx], hi[:, idx])
        return c, d

    def value(w: np.ndarray) -> np.ndarray:
        c, d = parts(w, slice(None))
        return ((a - w) * c + b * c ** 2).sum(1) + (
            v * _hinge_values(d, eps, rho) + (w - shift) * d + const).sum(1)

    blocks = {}
    for i in range(K):
        for j in range(i + 1, K + 1):
            sl = slice(i, j)
            wl = np.full((B, 1), float(a.min()) - 1.0 - 2 * b)
            wh = np.full((B, 1), float(a.max()) + 2 * b * (hi[:, sl].sum(1, keepdims=True)
                                                           + 1.0))
            for _ in range(iters):  # g' = sum (d_i - c_i) is non-increasing in w
                wm = 0.5 * (wl + wh)
                c, d = parts(wm, sl)
                up = (d - c).sum(1, keepdims=True) > 0
                wl, wh = np.where(up, wm, wl), np.where(up, wh, wm)
            blocks[(i, j)] = 0.5 * (wl + wh)[:, 0]
    best = np.full(B, -np.inf)
    for mask in range(2 ** (K - 1)):
        cuts = [0] + [k + 1 for k in range(K - 1) if mask >> k & 1] + [K]
        w = np.empty((B, K))
        for i, j in zip(cuts[:-1], cuts[1:]):
            w[:, i:j] = blocks[(i, j)][:, None]
        w = np.minimum.accumulate(w, axis=1)  # any non-increasing w is dual feasible
        best = np.maximum(best, value(w))
    return best


def _hinge_search(lam: np.ndarray, c_pred: np.ndarray, diag_loss: float, *,
                  lambda_s: float, lambda_v: float, lambda_c: float, eps: float,
                  rho: float, tol_of: Any, max_boxes: int
                  ) -> tuple[float, float, np.ndarray, np.ndarray, int]:
    """The branch and bound of :func:`vicreg_hinge_certified_optimum` on the reduced problem.

    ``lam`` the kept eigenvalues (increasing, not all zero), ``c_pred`` the diagonal
    prediction (each convex phi_k's minimiser) and ``diag_loss`` its loss (the first
    upper bound); ``tol_of(best)`` the required bracket.  Returns the lower bound, the
    best reduced value, its sorted diagonal ``d`` and spectrum ``c``, and the number of
    boxes examined.
    """
    K = lam.size
    v = lambda_v / K
    a = 2 * lambda_s * lam / K
    b = lambda_c * rho ** 2 / K
    da = np.diff(a)
    phi = lambda k, x: a[k] * x + v * _hinge_values(x, eps, rho)
    m_k = c_pred  # minimiser of each convex phi_k (the diagonal prediction)
    phi_star = np.array([phi(k, m_k[k]) for k in range(K)])
    qp = _TransferQP(K, b) if K > 1 else None

    def transfer(gaps: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if qp is None:
            return np.zeros(gaps.shape[0]), np.zeros((gaps.shape[0], 0))
        return qp.solve(2 * b * gaps - da, hi[:, 1:])

    def evaluate(d: np.ndarray, S: np.ndarray) -> np.ndarray:
        """Exact reduced objective at sorted d (B, K) and transfers S (B, K-1)."""
        Sp = np.concatenate([np.zeros((d.shape[0], 1)), S, np.zeros((d.shape[0], 1))], 1)
        c = d + np.diff(Sp, axis=1)
        val = (a * c).sum(1) + b * ((c ** 2).sum(1) - (d ** 2).sum(1))
        return val + v * _hinge_values(d, eps, rho).sum(1)

    def feasible_S(d: np.ndarray, S: np.ndarray) -> np.ndarray:
        if S.shape[1] == 0:
            return S
        S = np.maximum(S, 0.0)
        Sp = np.concatenate([np.zeros((d.shape[0], 1)), S, np.zeros((d.shape[0], 1))], 1)
        dc = np.diff(Sp, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(dc < 0, d / -dc, np.inf).min(1)
        return S * np.minimum(1.0, t)[:, None]

    # A priori box: phi_k(d_k) <= U - T_low - sum_{i != k} phi_i*, and phi_k(x) >= a_k x.
    U0 = diag_loss
    T_low = float(transfer(np.zeros((1, K - 1)), np.full((1, K), 1e300))[0][0]) if K > 1 \
        else 0.0
    # ... and the variance cap: scaling a column whose variance exceeds the hinge's zero
    # (1 - eps)/rho down to it never raises the loss, so d <= (1 - eps)/rho loses nothing.
    with np.errstate(divide="ignore"):
        hi0 = np.where(a > 0, (U0 - T_low - (phi_star.sum() - phi_star)) / np.where(
            a > 0, a, 1.0), np.inf)
    hi0 = np.minimum.accumulate(np.clip(hi0, 0.0, (1.0 - eps) / rho))
    best_val, best_d, best_S = U0, np.sort(m_k)[::-1].copy(), np.zeros(max(K - 1, 0))
    n_boxes, pruned = 0, np.inf  # pruned: smallest lower bound of a discarded box
    heap = [(-np.inf, 0, np.zeros(K), hi0)]
    counter = 1
    while heap:
        if best_val - min(heap[0][0], pruned) <= tol_of(best_val) or n_boxes >= max_boxes:
            break
        batch = []
        while heap and len(batch) < 256 and heap[0][0] < best_val - tol_of(best_val):
            batch.append(heapq.heappop(heap))
        if not batch:
            break
        los, his = [], []
        for _, _, lo, hi in batch:
            k = int(np.argmax(hi - lo))
            mid = 0.5 * (lo[k] + hi[k])
            for part in (0, 1):
                nlo, nhi = lo.copy(), hi.copy()
                if part == 0:
                    nhi[k] = mid
                else:
                    nlo[k] = mid
                nlo = np.maximum.accumulate(nlo[::-1])[::-1]  # d sorted: d_k >= d_{k+1} >= lo
                nhi = np.minimum.accumulate(nhi)  # d_k <= d_{k-1} <= hi
                if (nlo <= nhi).all():
                    los.append(nlo)
                    his.append(nhi)
        if not los:
            continue
        lo, hi = np.array(los), np.array(his)
        n_boxes += lo.shape[0]
        x = np.clip(m_k, lo, hi)
        phi_lb = (a * x + v * _hinge_values(x, eps, rho)).sum(1)
        gaps = np.maximum(0.0, lo[:, :-1] - hi[:, 1:])
        t_lb, _ = transfer(gaps, hi)
        lb = np.maximum(phi_lb + t_lb,
                        _majorization_dual_bound(lo, hi, a, b, v, eps, rho))
        # upper bound at the box's point
        dp = -np.sort(-x, axis=1)
        t_ub, S_ub = transfer(dp[:, :-1] - dp[:, 1:], dp)
        S_ub = feasible_S(dp, S_ub)
        vals = evaluate(dp, S_ub)
        i = int(np.argmin(vals))
        if vals[i] < best_val:
            best_val, best_d, best_S = float(vals[i]), dp[i].copy(), S_ub[i].copy()
        for j in range(lo.shape[0]):
            if lb[j] < best_val - tol_of(best_val):
                heapq.heappush(heap, (float(lb[j]), counter, lo[j], hi[j]))
                counter += 1
            else:
                pruned = min(pruned, float(lb[j]))
    # every term of the loss is >= 0
    lower = max(0.0, min(heap[0][0] if heap else np.inf, pruned, best_val))
    Sp = np.concatenate([[0.0], best_S, [0.0]])
    c_best = best_d + np.diff(Sp)
    c_best = np.maximum(c_best, 0.0)
    return lower, best_val, best_d, c_best, n_boxes


def vicreg_hinge_certified_optimum(G: Any, K: int, *, lambda_s: float = 25.0,
                                   lambda_v: float = 25.0, lambda_c: float = 1.0,
                                   eps: float = 1e-4, unbiased: bool = True,
                                   tol: float | None = None, gap_rtol: float = 0.0,
                                   max_boxes: int = 200000
                                   ) -> tuple[torch.Tensor, HingeCertificate]:
    r"""A certified minimum of hinge VICReg with a finite covariance weight (R11).

    The reference loss ``losses.vicreg_hinge`` (all :math:`N` rows) reduces
    exactly to :math:`2K` numbers (:ref:`ch-vicreg-hinge-exact`): with
    :math:`d` the diagonal of :math:`C(Z)` sorted decreasingly and
    :math:`S_j \ge 0` the variance moved across the cut :math:`j`
    (:math:`c_k = d_k + S_k - S_{k-1}`, :math:`S_0 = S_K = 0`, which
    parametrises every spectrum :math:`c \succ d` paired with
    :math:`\lambda` in the best order),

    .. math::

        \min_Z\ell_{\mathrm{ref}} = \min_{d, S}\ \sum_k \varphi_k(d_k)
        + \sum_{j<K}\bigl(2b(d_j - d_{j+1}) - (a_{j+1} - a_j)\bigr)S_j
        + b\sum_k (S_k - S_{k-1})^2 ,

    :math:`a_k = 2\lambda_s\lambda_k/K`, :math:`b = \lambda_c\rho^2/K`,
    :math:`\varphi_k(x) = a_kx + \frac{\lambda_v}{K}\max(0, 1 - \sqrt{\rho x +
    \epsilon})` (convex), subject to :math:`c_k \ge 0`.  A branch and bound
    over boxes of :math:`d` bounds each box below by the exact minimum of
    every :math:`\varphi_k` on its interval plus a Lagrange-dual lower bound of
    the transfer problem with the smallest gaps and largest diagonal of the
    box, or by the Lagrange dual of a convex relaxation of the box (the
    concave :math:`-bd_k^2` replaced by its chord on the box's interval, error
    at most :math:`b w_k^2/4` for a width :math:`w_k`), whichever is larger;
    each box's point gives an upper bound.  The best point is turned
    into :math:`Z = \sqrt N U_K\operatorname{diag}(\sqrt c)W^\top` with
    :math:`W` an orthogonal matrix whose :math:`W\operatorname{diag}(c)W^\top`
    has diagonal :math:`d` (Schur--Horn, by Chan and Li's recursion of Givens rotations), and
    ``upper`` is the actual loss there.

    Parameters
    ----------
    G : (N, N) array_like
        A relation matrix, connected or not.  If all kept eigenvalues are ``0``
        the minimum is ``0``, attained by the diagonal prediction; otherwise
        the search runs on :math:`0 \le d_k \le (1-\epsilon)/\rho`: scaling a
        column whose variance exceeds the hinge's zero down to it never
        raises the loss (the variance cap of :ref:`ch-vicreg-hinge-exact`), and
        where :math:`\lambda_k > 0` the box is tightened by the prediction's loss.
    K : int, 1 <= K <= min(5, N - 1)
    lambda_s, lambda_v : float > 0
    lambda_c : float > 0
    eps : float in [0, 1)
    unbiased : bool
        The statistics of ``losses.vicreg_hinge`` (``rho = N/(N-1)``) or biased.
    tol : float > 0, optional
        Required ``upper - lower`` (default ``1e-6`` times the larger of the diagonal
        prediction's loss and :math:`\lambda_v/K`, the scale of one hinge term).
    gap_rtol : float >= 0
        Also stop once ``upper - lower <= gap_rtol * (diagonal - upper)``: the
        gap between the diagonal prediction and the optimum is then known to
        the relative accuracy ``gap_rtol``.  ``certified`` refers to the
        larger of the two tolerances, returned as ``tol``.
    max_boxes : int
        Budget of the branch and bound; if exhausted, ``certified`` is False.

    Returns
    -------
    Z : torch.Tensor, shape (N, K), float64
    HingeCertificate
    """
    from .losses import vicreg_hinge as _loss
    f = "vicreg_hinge_certified_optimum"
    G, K, lambda_s, lambda_v, eps = _hinge_search_args(G, K, lambda_s, lambda_v, eps, f)
    lambda_c = _v.check_positive(lambda_c, "lambda_c", f)
    max_boxes = _v.check_int(max_boxes, "max_boxes", f, 1, 10 ** 8)
    n = G.shape[0]
    rho = n / (n - 1) if unbiased else 1.0
    Z_diag, det = vicreg_hinge_optimum(G, K, lambda_s / lambda_v, eps=eps,
                                       unbiased=unbiased, return_details=True)
    loss_of = lambda Z: float(_loss(Z, G, sim_coeff=lambda_s, std_coeff=lambda_v,
                                    cov_coeff=lambda_c, eps=eps, unbiased=unbiased))
    diag_loss = loss_of(Z_diag)
    tol = (1e-6 * max(diag_loss, lambda_v / K) if tol is None
           else _v.check_positive(tol, "tol", f))
    gap_rtol = _v.check_positive(gap_rtol, "gap_rtol", f, allow_zero=True)
    tol_of = lambda best: max(tol, gap_rtol * (diag_loss - best))
    lam = det.eigenvalues.cpu().numpy().astype(float)
    _, U = laplacian_bottom(G, K, f)
    zero = np.abs(lam) <= 1e-12 * max(1.0, float(np.abs(lam).max()))
    lam[zero] = 0.0  # rounding noise of exact zeros (cliques) would bias the bound
    c_pred = det.c.cpu().numpy().astype(float)
    if zero.all():
        cert = HingeCertificate(0.0, diag_loss, diag_loss, diag_loss, lam, c_pred,
                                np.sort(c_pred)[::-1], int((c_pred > 0).sum()), 0,
                                diag_loss <= tol, tol)
        return Z_diag, cert
    lower, best_val, best_d, c_best, n_boxes = _hinge_search(
        lam, c_pred, diag_loss, lambda_s=lambda_s, lambda_v=lambda_v, lambda_c=lambda_c,
        eps=eps, rho=rho, tol_of=tol_of, max_boxes=max_boxes)
    W = _schur_horn_rotation(c_best, best_d)
    # C = W diag(c) W^T with diag(C) = d, c paired with u_k: HZ = sqrt(N) U diag(sqrt c) W^T
    Wt = torch.as_tensor(W, dtype=torch.float64, device=U.device)
    ct = torch.as_tensor(c_best, dtype=torch.float64, device=U.device)
    Z = n ** 0.5 * U * ct.sqrt() @ Wt.T
    upper = loss_of(Z)
    rank = int((c_best > 1e-9 * max(c_best.max(), 1e-300)).sum())
    tol = tol_of(min(upper, best_val))
    cert = HingeCertificate(lower, upper, best_val, diag_loss, lam, c_best, best_d, rank,
                            n_boxes, upper - lower <= tol, tol)
    return Z, cert


def vicreg_hinge_linear_certified_optimum(X: Any, G: Any, K: int, *, lambda_s: float = 25.0,
                                          lambda_v: float = 25.0, lambda_c: float = 1.0,
                                          eps: float = 1e-4, unbiased: bool = True,
                                          tol: float | None = None, gap_rtol: float = 0.0,
                                          max_boxes: int = 200000
                                          ) -> tuple[torch.Tensor, HingeCertificate]:
    r"""A certified minimum of hinge VICReg over linear encoders :math:`Z = XW` (R11, R15).

    With :math:`\Sigma = X^\top HX/N` invertible, :math:`V' = \Sigma^{1/2}W` and
    :math:`M = \Sigma^{-1/2}(X^\top LX/N)\Sigma^{-1/2}`, exactly
    :math:`C(XW) = V'^\top V'` and :math:`\operatorname{tr}(W^\top X^\top LXW) =
    N\operatorname{tr}(V'^\top MV')` (:func:`vicreg_hinge_linear_optimum`), and
    :math:`W \mapsto V'` is a bijection.  So the reduction of
    :func:`vicreg_hinge_certified_optimum` holds with the :math:`K` smallest
    eigenvalues :math:`\mu_k` of :math:`M` in place of the Laplacian's (von
    Neumann's inequality for :math:`\operatorname{tr}(Q^\top MQC)` over
    :math:`Q^\top Q = I_K` in :math:`\mathbb R^d`), and its branch and bound
    certifies the minimum over all :math:`W`.  The best point is
    :math:`W = \Sigma^{-1/2}V_K\operatorname{diag}(\sqrt c)R^\top` with
    :math:`R` the Schur--Horn rotation (:math:`R\operatorname{diag}(c)R^\top` has
    diagonal :math:`d`), and ``upper`` is ``losses.vicreg_hinge(X @ W, G, ...)``.

    Parameters
    ----------
    X : (N, d) array_like, :math:`\Sigma` invertible
    G : (N, N) array_like, a relation matrix
    K : int, 1 <= K <= min(5, d)
    lambda_s, lambda_v, lambda_c, eps, unbiased, tol, gap_rtol, max_boxes :
        As :func:`vicreg_hinge_certified_optimum`.

    Returns
    -------
    W : torch.Tensor, shape (d, K), float64
    HingeCertificate
        ``eigenvalues`` are the kept :math:`\mu_k`; ``diagonal`` the loss of
        :func:`vicreg_hinge_linear_optimum`'s prediction.

    Raises
    ------
    ValueError
        If :math:`\Sigma` is rank-deficient, ``K > 5`` or a parameter is out of range.
    """
    from .losses import vicreg_hinge as _loss
    f = "vicreg_hinge_linear_certified_optimum"
    X, G, K = _linear_inputs(X, G, K, f)
    if _v.is_sparse(G):
        raise ValueError(f"{f}: G must be dense (the certificate evaluates the N x N loss); "
                         "pass G.toarray().")
    if K > 5:
        raise ValueError(f"{f}: the branch and bound is meant for K <= 5; got K={K}.")
    lambda_s = _v.check_positive(lambda_s, "lambda_s", f)
    lambda_v = _v.check_positive(lambda_v, "lambda_v", f)
    lambda_c = _v.check_positive(lambda_c, "lambda_c", f)
    eps = _v.check_positive(eps, "eps", f, allow_zero=True)
    if eps >= 1:
        raise ValueError(f"The 'eps' parameter of {f} must be in [0, 1). Got {eps!r}.")
    max_boxes = _v.check_int(max_boxes, "max_boxes", f, 1, 10 ** 8)
    gap_rtol = _v.check_positive(gap_rtol, "gap_rtol", f, allow_zero=True)
    X = X.to(torch.float64)
    if isinstance(G, torch.Tensor):
        G = G.to(torch.float64)
    n = X.shape[0]
    rho = n / (n - 1) if unbiased else 1.0
    S_isqrt, M = _whitened_laplacian(X, G, f)  # refuses a rank-deficient covariance
    W_diag, det = vicreg_hinge_linear_optimum(X, G, K, lambda_s / lambda_v, eps=eps,
                                              unbiased=unbiased, return_details=True)
    loss_of = lambda W: float(_loss(X @ W, G, sim_coeff=lambda_s, std_coeff=lambda_v,
                                    cov_coeff=lambda_c, eps=eps, unbiased=unbiased))
    diag_loss = loss_of(W_diag)
    tol = (1e-6 * max(diag_loss, lambda_v / K) if tol is None
           else _v.check_positive(tol, "tol", f))
    tol_of = lambda best: max(tol, gap_rtol * (diag_loss - best))
    lam = det.eigenvalues.cpu().numpy().astype(float)
    c_pred = det.c.cpu().numpy().astype(float)
    zero = np.abs(lam) <= 1e-12 * max(1.0, float(np.abs(lam).max()))
    lam[zero] = 0.0  # rounding noise of exact zeros would bias the bound
    if zero.all():
        cert = HingeCertificate(0.0, diag_loss, diag_loss, diag_loss, lam, c_pred,
                                np.sort(c_pred)[::-1], int((c_pred > 0).sum()), 0,
                                diag_loss <= tol, tol)
        return W_diag, cert
    lower, best_val, best_d, c_best, n_boxes = _hinge_search(
        lam, c_pred, diag_loss, lambda_s=lambda_s, lambda_v=lambda_v, lambda_c=lambda_c,
        eps=eps, rho=rho, tol_of=tol_of, max_boxes=max_boxes)
    _, V = eigh_sorted(M)
    R = torch.as_tensor(_schur_horn_rotation(c_best, best_d), dtype=torch.float64,
                        device=X.device)
    ct = torch.as_tensor(c_best, dtype=torch.float64, device=X.device)
    W = S_isqrt @ (V[:, :K] * ct.sqrt()) @ R.T
    upper = loss_of(W)
    rank = int((c_best > 1e-9 * max(c_best.max(), 1e-300)).sum())
    tol = tol_of(min(upper, best_val))
    return W, HingeCertificate(lower, upper, best_val, diag_loss, lam, c_best, best_d,
                               rank, n_boxes, upper - lower <= tol, tol)


def vicreg_hinge_diagonal_threshold(eigenvalues: Any, c: Any, *, lambda_s: float,
                                    rho: float, lambda_v: float = 25.0,
                                    eps: float = 1e-4) -> float:
    r"""Covariance weight below which the diagonal prediction is not optimal (R11).

    In the reduced problem of :func:`vicreg_hinge_certified_optimum`, moving
    variance :math:`S_j > 0` across the cut :math:`j` from the diagonal
    prediction :math:`d = c^\star` changes the loss at the rate
    :math:`2b(c^\star_j - c^\star_{j+1}) - (a_{j+1} - a_j)`; it lowers the
    loss for some :math:`j` exactly when :math:`\lambda_c` is below

    .. math:: \lambda_c^{\dagger} = \max_{j<K}\
        \frac{\lambda_s(\lambda_{j+1} - \lambda_j)}{\rho^2\,(c^\star_j - c^\star_{j+1})}

    over the cuts with :math:`\lambda_j < \lambda_{j+1}` and
    :math:`c^\star_{j+1} > 0` (``0`` if there is none; ``inf`` if two kept
    directions with distinct eigenvalues share the same positive
    :math:`c^\star`, e.g. both at the kink).  Eigenvalues closer than
    :math:`10^{-12}\max(1, |\lambda|_{\max})` count as tied: a backward-stable
    eigensolver computes them to about :math:`N\varepsilon\|L\|`, i.e.
    :math:`10^{-14}\|L\|` for :math:`N \le 100` (the zero eigenvalues of
    augmentation cliques come out within a few units of that), so a
    computed pair closer than this is not known to be distinct.

    **A cut into a collapsed direction** (:math:`c^\star_j > 0 =
    c^\star_{j+1}`): there :math:`S_j > 0` alone would make :math:`c_{j+1}`
    negative, so the move also raises :math:`d_{j+1}` to :math:`s = S_j`
    (:math:`c_j = c^\star_j + s`, :math:`c_{j+1} = 0`, :math:`d_j` unchanged).
    Its first-order rate is :math:`a_j + 2bc^\star_j - \frac{\lambda_v}{K}
    \frac{\rho}{2\sqrt\epsilon}` (the hinge's slope at 0 is finite for
    :math:`\epsilon > 0`), negative below

    .. math:: \lambda_c^{(j)} = \frac{\lambda_v\rho/(2\sqrt\epsilon)
        - 2\lambda_s\lambda_j}{2\rho^2 c^\star_j},

    which is included in the maximum (on cliques whose eigenvalue-:math:`V`
    directions collapse it is :math:`\lambda_v/(4\sqrt\epsilon(1-\epsilon))`).
    The threshold is a necessary condition for optimality (below it the
    prediction is not a local minimiser); when no kept direction has
    collapsed, above it the prediction is a local minimiser of the reduced
    problem.  Neither is a proof of global optimality: the chapter certifies
    that numerically.

    Parameters
    ----------
    eigenvalues, c : array_like, shape (K,)
        :math:`\lambda_1 \le \dots \le \lambda_K` and the diagonal prediction's
        :math:`c^\star` (``vicreg_hinge_optimum(..., return_details=True)``).
    lambda_s : float > 0
    rho : float > 0
    lambda_v : float > 0
        The variance weight (the reference's 25 by default); only the cut
        into a collapsed direction uses it.
    eps : float in [0, 1)
        As in ``vicreg_hinge_optimum`` (default ``1e-4``, the reference's).

    Returns
    -------
    float
    """
    f = "vicreg_hinge_diagonal_threshold"
    lam = np.asarray(torch.as_tensor(eigenvalues).cpu(), dtype=float).ravel()
    cs = np.asarray(torch.as_tensor(c).cpu(), dtype=float).ravel()
    if lam.shape != cs.shape or lam.size < 1:
        raise ValueError(f"{f}: eigenvalues and c must be vectors of one length.")
    lambda_s = _v.check_positive(lambda_s, "lambda_s", f)
    rho = _v.check_positive(rho, "rho", f)
    lambda_v = _v.check_positive(lambda_v, "lambda_v", f)
    eps = _v.check_positive(eps, "eps", f, allow_zero=True)
    if eps >= 1:
        raise ValueError(f"The 'eps' parameter of {f} must be in [0, 1). Got {eps!r}.")
    thr = 0.0
    tie = 1e-12 * max(1.0, float(np.abs(lam).max()))
    for j in range(lam.size - 1):
        dl, dc = lam[j + 1] - lam[j], cs[j] - cs[j + 1]
        if cs[j + 1] <= 0 < cs[j]:  # a cut into a collapsed direction
            if eps == 0:  # the hinge's slope at 0 is infinite: lifting always pays
                return math.inf
            thr = max(thr, (lambda_v * rho / (2 * math.sqrt(eps)) - 2 * lambda_s * lam[j])
                      / (2 * rho ** 2 * cs[j]))
            continue
        if dl <= tie or cs[j + 1] <= 0:  # tied eigenvalues, or no variance to move
            continue
        if dc <= 0:
            return math.inf
        thr = max(thr, lambda_s * dl / (rho ** 2 * dc))
    return thr


def vicreg_hinge_variance_cap(Z: Any, level: float) -> torch.Tensor:
    r"""Scale each column of ``Z`` whose variance exceeds ``level`` down to it (R11).

    .. math:: z_{:k} \mapsto \sqrt{t / C_{kk}}\, z_{:k} \quad\text{if } C_{kk} > t,
              \qquad C = C(Z) = Z^\top HZ/N .

    At :math:`t = (1 - \epsilon)/\rho`, where the hinge of ``losses.vicreg_hinge``
    vanishes, this never raises that loss (the variance cap of
    :ref:`ch-vicreg-hinge-exact`): the column's invariance term shrinks by
    :math:`t/C_{kk}`, its covariances by :math:`\sqrt{t/C_{kk}}`, and its hinge
    stays :math:`0`.

    Parameters
    ----------
    Z : (N, K) array_like
    level : float > 0

    Returns
    -------
    torch.Tensor, shape (N, K)
    """
    from .losses import covariance
    f = "vicreg_hinge_variance_cap"
    Z = _v.check_matrix(Z, "Z", f)
    level = _v.check_positive(level, "level", f)
    var = covariance(Z).diagonal()
    return Z * torch.where(var > level, (level / var).sqrt(), torch.ones_like(var))


@dataclass
class ExactThreshold:
    r"""Where the diagonal prediction is the optimum (:func:`vicreg_hinge_exact_threshold`).

    Attributes
    ----------
    lower, upper : float
        The exactness threshold :math:`\lambda_c^{\mathrm{ex}}` lies in
        ``[lower, upper]``: ``lower`` is either a weight at which an explicit
        ``Z`` has a loss below the diagonal prediction's by more than the
        tolerance, or :math:`\lambda_c^{\dagger}` (a bound proved by the
        necessary condition); at ``upper`` the prediction is within the
        tolerance of the certified lower bound.
        ``lower == upper == inf`` when the prediction is optimal at no finite
        weight; ``lower == 0`` when it is optimal down to the smallest weight tried.
        "Optimal" is to the certificate's tolerance, so the bracket is that of the
        smallest weight at which the prediction is within the tolerance of the
        minimum (at most :math:`\lambda_c^{\mathrm{ex}}`).
    lower_beaten : bool
        Whether ``lower`` was tested and found beaten (the bracket is then open
        at ``lower``); if False, ``lower`` is :math:`\lambda_c^{\dagger}` or 0,
        a bound from the theory.
    local : float
        :math:`\lambda_c^{\dagger}` (:func:`vicreg_hinge_diagonal_threshold`),
        the necessary condition; ``lower >= local`` up to the bisection.
    decided : bool
        False if a solve in the bisection met neither criterion within its
        budget; the bracket is then the last decided one (still valid, wider).
    n_solves : int
        Certified solves used.
    """

    lower: float
    upper: float
    lower_beaten: bool
    local: float
    decided: bool
    n_solves: int


def vicreg_hinge_exact_threshold(G: Any, K: int, *, lambda_s: float = 25.0,
                                 lambda_v: float = 25.0, eps: float = 1e-4,
                                 unbiased: bool = True, rtol: float = 0.02,
                                 max_boxes: int = 200000) -> ExactThreshold:
    r"""Covariance weight above which the diagonal prediction is the optimum (R11).

    Write :math:`\ell_{\lambda_c} = f + \lambda_c\,p` with :math:`p \ge 0` the
    off-diagonal penalty of ``losses.vicreg_hinge``; the diagonal prediction
    :math:`Z^\star` (:func:`vicreg_hinge_optimum`) has :math:`p(Z^\star) = 0`.
    If :math:`Z^\star` minimises :math:`\ell_{\lambda_c}`, it minimises every
    :math:`\ell_{\lambda_c'}` with :math:`\lambda_c' > \lambda_c`, since
    :math:`\ell_{\lambda_c'} \ge \ell_{\lambda_c} \ge \ell_{\lambda_c}(Z^\star)
    = \ell_{\lambda_c'}(Z^\star)`.  So the weights at which the prediction is
    optimal form a half-line :math:`(0, \infty) \cap [\lambda_c^{\mathrm{ex}}, \infty)`,
    with :math:`\lambda_c^{\mathrm{ex}} \ge \lambda_c^{\dagger}`, and a bisection
    on :func:`vicreg_hinge_certified_optimum` brackets it: a weight is
    *exact* when the prediction is within the certificate's tolerance of the
    proved lower bound, *beaten* when an explicit ``Z`` is below the
    prediction by more than that tolerance.  The gap between the prediction
    and the minimum is non-increasing in :math:`\lambda_c` (same argument), so
    the bisection is valid for "within the tolerance" as well.

    Parameters
    ----------
    G : (N, N) array_like
        A relation matrix (connected or not).
    K : int, 1 <= K <= min(5, N - 1)
    lambda_s, lambda_v : float > 0
    eps : float in [0, 1)
    unbiased : bool
    rtol : float in (0, 1)
        Stop when ``upper / lower <= 1 + rtol``.
    max_boxes : int
        Budget of each certified solve.

    Returns
    -------
    ExactThreshold
    """
    f = "vicreg_hinge_exact_threshold"
    G, K, lambda_s, lambda_v, eps = _hinge_search_args(G, K, lambda_s, lambda_v, eps, f)
    rtol = _v.check_positive(rtol, "rtol", f)
    if rtol >= 1:
        raise ValueError(f"The 'rtol' parameter of {f} must be in (0, 1). Got {rtol!r}.")
    n = G.shape[0]
    rho = n / (n - 1) if unbiased else 1.0
    with warnings.catch_warnings():  # ties and zero eigenvalues: only values are used
        warnings.simplefilter("ignore")
        _, det = vicreg_hinge_optimum(G, K, lambda_s / lambda_v, eps=eps,
                                      unbiased=unbiased, return_details=True)
    local = float(vicreg_hinge_diagonal_threshold(det.eigenvalues, det.c,
                                                  lambda_s=lambda_s, rho=rho,
                                                  lambda_v=lambda_v, eps=eps))
    if math.isinf(local):
        return ExactThreshold(math.inf, math.inf, False, local, True, 0)
    n_solves = 0

    def decide(lc: float) -> str:
        nonlocal n_solves
        n_solves += 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, cert = vicreg_hinge_certified_optimum(
                G, K, lambda_s=lambda_s, lambda_v=lambda_v, lambda_c=lc, eps=eps,
                unbiased=unbiased, max_boxes=max_boxes)
        if cert.diagonal - cert.lower <= cert.tol:
            return "exact"
        if cert.diagonal - cert.upper > cert.tol:
            return "beaten"
        return "undecided"

    def result(lo: float, hi: float, beaten: bool, decided: bool) -> ExactThreshold:
        return ExactThreshold(lo, hi, beaten, local, decided, n_solves)

    # 1. an upper end: double from 2 lambda^dagger (or from 1) until the prediction is optimal
    lo, beaten, hi = local, False, math.inf
    x = 2 * local if local > 0 else 1.0
    for _ in range(60):
        verdict = decide(x)
        if verdict == "exact":
            hi = x
            break
        if verdict == "undecided":
            return result(lo, math.inf, beaten, False)
        lo, beaten, x = x, True, 2 * x
    if math.isinf(hi):
        return result(lo, math.inf, beaten, False)
    # 2. lambda^dagger = 0 (no cut counts): halve until beaten or below rtol (the start
    #    weight is 1); then the prediction is optimal down to rtol: returns (0, hi]
    if lo == 0:
        while True:
            x = hi / 2
            if x < rtol:
                return result(0.0, hi, False, True)
            verdict = decide(x)
            if verdict == "exact":
                hi = x
            elif verdict == "beaten":
                lo, beaten = x, True
                break
            else:
                return result(0.0, hi, False, False)
    # 3. is the necessary condition already sufficient?
    if not beaten:
        verdict = decide(lo)
        if verdict == "exact":
            return result(lo, lo, False, True)
        if verdict == "undecided":
            return result(lo, hi, False, False)
        beaten = True
    # 4. geometric bisection
    while hi / lo > 1 + rtol:
        mid = math.sqrt(lo * hi)
        verdict = decide(mid)
        if verdict == "exact":
            hi = mid
        elif verdict == "beaten":
            lo = mid
        else:
            return result(lo, hi, beaten, False)
    return result(lo, hi, beaten, True)


def vicreg_hinge_clique_ramp_threshold(n_samples: int, n_views: int, K: int, *,
                                       lambda_s: float = 25.0, lambda_v: float = 25.0,
                                       eps: float = 1e-4, unbiased: bool = True) -> float:
    r"""Covariance weight below which a ramp beats the diagonal prediction on cliques (R11).

    On ``augmentation_graph(N', V)`` (:math:`N = N'V`, :math:`p = N' - 1 <
    K \le N - 1`) the kept Laplacian eigenvalues are :math:`0` (:math:`p`
    times) and :math:`V`.  With the notation of
    :func:`vicreg_hinge_certified_optimum` (:math:`a = 2\lambda_sV/K`,
    :math:`b = \lambda_c\rho^2/K`, :math:`t = (1 - \epsilon)/\rho`),
    :math:`\varphi(x) = ax + \frac{\lambda_v}{K}h(x)`, :math:`c_0` the
    diagonal prediction of the directions with eigenvalue :math:`V` and
    :math:`\Delta = \varphi(t) - \varphi(c_0) \ge 0`, the point of the
    reduced problem with :math:`d_k = t` for :math:`k \le p + m`,
    :math:`d_k = c_0` beyond, and variance :math:`s` moved across the cut
    :math:`p` in two linear ramps (:math:`S_j = s\min(j/p, (p + m - j)/m)`
    for :math:`j \le p + m`, :math:`0` beyond) exceeds the prediction by

    .. math:: E_m(s) = m\Delta - as + b\,\frac{p + m}{pm}\,s^2 ,
              \qquad 0 \le s \le mt .

    Its minimum over :math:`s` is negative exactly below a weight that
    decreases with :math:`m`, so :math:`m = 1` gives the largest,

    .. math:: \lambda_c^{\mathrm{ramp}} = \frac{K}{\rho^2}\,
              \frac{a^2p}{4\Delta N'} \ \text{ if } 2\Delta \le at,
              \qquad \frac{K}{\rho^2}\,\frac{p\,(at - \Delta)}{N't^2}
              \ \text{ otherwise},

    and the exact threshold of :func:`vicreg_hinge_exact_threshold` is at
    least :math:`\max(\lambda_c^\dagger, \lambda_c^{\mathrm{ramp}})`
    (:ref:`ch-vicreg-hinge-exact`).

    Parameters
    ----------
    n_samples : int >= 2
        :math:`N'`.
    n_views : int >= 2
        :math:`V`.
    K : int, 1 <= K <= N' V - 1
    lambda_s, lambda_v : float > 0
    eps : float in [0, 1)
    unbiased : bool
        :math:`\rho = N/(N - 1)` (the reference's variance) or :math:`1`.

    Returns
    -------
    float
        :math:`\lambda_c^{\mathrm{ramp}}`; ``0.0`` if :math:`K \le p` (no cut),
        ``inf`` if :math:`\Delta = 0` (the directions with eigenvalue
        :math:`V` sit at the kink too: every weight is beaten).
    """
    f = "vicreg_hinge_clique_ramp_threshold"
    n_s = _v.check_int(n_samples, "n_samples", f, 2)
    V = _v.check_int(n_views, "n_views", f, 2)
    K = _v.check_int(K, "K", f, 1)
    if K > n_s * V - 1:
        raise ValueError(f"{f}: K = {K} exceeds N - 1 = {n_s * V - 1}.")
    lambda_s = _v.check_positive(lambda_s, "lambda_s", f)
    lambda_v = _v.check_positive(lambda_v, "lambda_v", f)
    eps = _v.check_positive(eps, "eps", f, allow_zero=True)
    if eps >= 1:
        raise ValueError(f"The 'eps' parameter of {f} must be in [0, 1). Got {eps!r}.")
    p, n = n_s - 1, n_s * V
    if K <= p:
        return 0.0
    rho = n / (n - 1) if unbiased else 1.0
    alpha = lambda_s / lambda_v
    lam = torch.tensor([0.0, float(V)], dtype=torch.float64)
    c, _ = _hinge_c(lam, alpha, eps, rho, 1e-12)
    t, c0 = float(c[0]), float(c[1])
    a = 2 * lambda_s * V / K
    phi = lambda x: a * x + lambda_v / K * max(0.0, 1.0 - math.sqrt(rho * x + eps))
    delta = phi(t) - phi(c0)
    if delta <= 0:
        return math.inf
    b = a * a * p / (4 * delta * n_s) if 2 * delta <= a * t \
        else p * (a * t - delta) / (n_s * t * t)
    return K * b / rho ** 2


# --------------------------------------------------------------------------------------
# InfoNCE at a large temperature on a general G
# --------------------------------------------------------------------------------------

def info_nce_large_tau_matrix(G: Any) -> torch.Tensor:
    r"""The matrix :math:`B` of InfoNCE's first-order expansion in :math:`1/\tau` (R12).

    .. math:: B_{ik} = G_{ik} - \frac{D_{ii} + D_{kk}}{2(N - 1)}\quad(i \ne k),
              \qquad B_{ii} = 0,

    with :math:`D_{ii} = (G\mathbf 1)_i`.  For every :math:`Z` without a zero
    row, with unit rows :math:`U`,
    :math:`\ell_\tau(Z) = \bar d\log(N - 1) - \langle B, UU^\top\rangle/(N\tau)
    + R_\tau(U)` with :math:`0 \le R_\tau \le \bar d/(2\tau^2)`, so the
    large-temperature minimisers of ``losses.info_nce`` maximise
    :math:`\langle B, UU^\top\rangle` over unit rows (proved in
    :ref:`ch-infonce-general`).

    Parameters
    ----------
    G : (N, N) array_like, a valid relation matrix (symmetric, non-negative,
        finite, zero diagonal), N >= 3.

    Returns
    -------
    B : torch.Tensor, shape (N, N), symmetric with a zero diagonal.
    """
    f = "info_nce_large_tau_matrix"
    G = _v.check_graph(G, f, zero_diagonal=True)
    n = G.shape[0]
    if n < 3:
        raise ValueError(f"{f} needs N >= 3 rows (N - 1 >= 2 negatives); got N = {n}.")
    deg = G.sum(dim=1)
    B = G - (deg[:, None] + deg[None, :]) / (2 * (n - 1))
    return B.fill_diagonal_(0.0)
