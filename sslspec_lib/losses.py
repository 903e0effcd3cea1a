r"""Self-supervised losses, in relation-matrix form and in two-view reference form.

Relation-matrix forms take a representation :math:`Z \in \mathbb{R}^{N\times K}`
(rows :math:`z_i`) and a relation matrix :math:`G` (see :mod:`sslspec_lib.graphs`);
they are the objects the closed forms of :mod:`sslspec_lib.closed_form`
minimise.  Two-view reference forms take the two views ``za, zb`` (each
:math:`N' \times K`, row ``i`` of both is sample ``i``) and reproduce the
published implementations, so that the scaling between the two families can
be stated and tested (:ref:`ch-losses`).

Scalings with ``G = augmentation_graph(N', 2)`` and ``Z`` the sample-major
interleaving of ``za, zb`` (``Z[0::2] = za``, ``Z[1::2] = zb``), :math:`N = 2N'`:

* ``invariance(Z, G) = 2 * sum_i ||za_i - zb_i||^2 = N * K * mse(za, zb)``;
* ``info_nce(Z, G, tau) = nt_xent(za, zb, tau)`` exactly (factor 1);
* ``vicreg_hinge(Z, G, n_views=2) = vicreg_two_view(za, zb)`` exactly;
* ``barlow_twins(Z, G, n_views=2)`` uses the symmetrised cross-correlation
  :math:`(C_{ab} + C_{ab}^\top)/2`: equal diagonal terms, and an off-diagonal
  term that is at most the two-view one.

Statistics (means, variances, covariances) of a relation-matrix form are
taken over **all rows** by default (``n_views=None``); with ``n_views=V`` they
are taken per view block read from the sample-major order (rows ``v::V``) and
combined as the reference code does.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from . import _validation as _v
from .graphs import laplacian

__all__ = [
    "invariance",
    "vicreg",
    "vicreg_hinge",
    "info_nce",
    "spectral_contrastive",
    "spectral_contrastive_distinct",
    "barlow_twins",
    "vicreg_two_view",
    "nt_xent",
    "barlow_twins_two_view",
    "covariance",
    "info_nce_negatives_only",
    "vicreg_fixed_graph",
]

_CHUNK = 2_000_000  # entries of the (chunk, N, K) difference tensor


def _prep(Z: Any, G: Any, func: str, *, zero_diagonal: bool = False,
          allow_sparse: bool = False) -> tuple[torch.Tensor, Any]:
    Z = _v.check_matrix(Z, "Z", func)
    G = _v.check_graph(G, func, zero_diagonal=zero_diagonal, allow_sparse=allow_sparse)
    _v.check_rows(G.shape[0], Z, "Z", func)
    if not isinstance(G, torch.Tensor):
        return Z, _torch_csr(G, Z)
    return Z, G.to(dtype=Z.dtype, device=Z.device)


def _torch_csr(G: Any, Z: torch.Tensor) -> torch.Tensor:
    """A validated CSR matrix as a (coalesced) torch sparse COO tensor in Z's dtype/device."""
    C = G.tocoo()
    idx = torch.as_tensor(np.vstack([C.row, C.col]), dtype=torch.int64)
    return torch.sparse_coo_tensor(idx, torch.as_tensor(C.data), size=G.shape,
                                   check_invariants=True, is_coalesced=True
                                   ).to(dtype=Z.dtype, device=Z.device)


def _trace_form(Z: torch.Tensor, G: torch.Tensor, *, laplacian_form: bool) -> torch.Tensor:
    r""":math:`\operatorname{tr}(Z^\top L Z)` or :math:`\operatorname{tr}(Z^\top G Z)` for a sparse G.

    :math:`O(\text{nnz}\cdot K)`, differentiable in ``Z``.
    """
    GZ = G @ Z
    if not laplacian_form:
        return (Z * GZ).sum()
    d = G @ torch.ones(G.shape[0], 1, dtype=Z.dtype, device=Z.device)
    return (Z * (d * Z - GZ)).sum()


def _blocks(Z: torch.Tensor, n_views: int | None, func: str) -> list[torch.Tensor]:
    if n_views is None:
        return [Z]
    V = _v.check_int(n_views, "n_views", func, 1, Z.shape[0])
    if Z.shape[0] % V:
        raise ValueError(f"Z has {Z.shape[0]} rows in {func}, not a multiple of "
                         f"n_views={V} (rows are sample-major: row i*V+v is view v "
                         "of sample i).")
    return [Z[v::V] for v in range(V)]


def covariance(Z: Any) -> torch.Tensor:
    r"""Covariance of a representation, :math:`C(Z) = Z^\top H Z / N` (biased).

    The convention of every closed form in this library (:ref:`ch-notation`).
    """
    Z = _v.check_matrix(Z, "Z", "covariance")
    Zc = Z - Z.mean(dim=0, keepdim=True)
    return Zc.T @ Zc / Z.shape[0]


def invariance(Z: Any, G: Any, *, method: str = "laplacian") -> torch.Tensor:
    r"""Invariance term :math:`\sum_{ij} G_{ij}\|z_i - z_j\|^2` (R1).

    .. math:: \sum_{i,j} G_{ij}\|z_i - z_j\|^2 = 2\operatorname{tr}(Z^\top L Z),
              \qquad L = D - G.

    Parameters
    ----------
    Z : (N, K) array_like
    G : (N, N) array_like or sparse matrix, a valid relation matrix.  A sparse
        ``G`` (``scipy.sparse`` or torch sparse) costs :math:`O(\text{nnz}\cdot K)`.
    method : {"laplacian", "pairwise"}
        ``"pairwise"`` sums the definition term by term (memory-chunked, for
        checking); ``"laplacian"`` evaluates the right-hand side, which is
        what the losses use.  The two agree to rounding: that is R1
        (:ref:`ch-invariance`).

    Returns
    -------
    torch.Tensor, scalar, differentiable in ``Z``.
    """
    f = "invariance"
    Z, G = _prep(Z, G, f, allow_sparse=True)
    if method not in ("laplacian", "pairwise"):
        raise ValueError(f"The 'method' parameter of {f} must be 'laplacian' or "
                         f"'pairwise'. Got {method!r} instead.")
    if G.layout != torch.strided:
        if method == "laplacian":
            return 2.0 * _trace_form(Z, G, laplacian_form=True)
        coo = G.to_sparse_coo().coalesce()
        i, j = coo.indices()
        return (coo.values() * (Z[i] - Z[j]).pow(2).sum(-1)).sum()
    if method == "laplacian":
        return 2.0 * torch.trace(Z.T @ laplacian(G) @ Z)
    n, k = Z.shape
    step = max(1, _CHUNK // max(1, n * k))
    total = Z.new_zeros(())
    for s in range(0, n, step):
        diff = Z[s:s + step, None, :] - Z[None, :, :]
        total = total + (G[s:s + step] * diff.pow(2).sum(-1)).sum()
    return total


def vicreg(Z: Any, G: Any, alpha: float) -> torch.Tensor:
    r"""Smooth VICReg loss in relation-matrix form (R10).

    .. math:: \ell(Z) = \frac{\alpha}{N}\sum_{ij}G_{ij}\|z_i - z_j\|^2
              + \|C(Z) - I_K\|_F^2, \qquad C(Z) = Z^\top H Z / N.

    The variance and covariance terms of VICReg are replaced by the single
    smooth penalty :math:`\|C - I\|_F^2` (variance: diagonal, covariance:
    off-diagonal), whose minimiser has a closed form
    (:func:`sslspec_lib.closed_form.vicreg_optimum`).

    Parameters
    ----------
    Z : (N, K) array_like
    G : (N, N) array_like or sparse matrix, a valid relation matrix.
    alpha : float > 0
        Invariance weight :math:`\alpha`.
    """
    f = "vicreg"
    Z, G = _prep(Z, G, f, allow_sparse=True)
    alpha = _v.check_positive(alpha, "alpha", f)
    n, k = Z.shape
    C = covariance(Z)
    eye = torch.eye(k, dtype=Z.dtype, device=Z.device)
    return alpha / n * invariance(Z, G) + (C - eye).pow(2).sum()


def _vicreg_var_cov(blocks: list[torch.Tensor], eps: float, unbiased: bool = True
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Reference variance (mean over blocks) and covariance (sum over blocks).

    ``unbiased=True`` divides by ``m - 1`` (the reference); ``False`` by ``m``.
    """
    var_terms, cov_terms = [], []
    for b in blocks:
        m, k = b.shape
        if m < 2:
            raise ValueError("each view block needs at least 2 rows for an "
                             f"unbiased variance; got {m}.")
        bc = b - b.mean(dim=0, keepdim=True)
        div = m - 1 if unbiased else m
        std = torch.sqrt(bc.var(dim=0, correction=m - div) + eps)  # unbiased: the reference
        var_terms.append(torch.relu(1 - std).mean())
        cov = bc.T @ bc / div
        off = cov - torch.diag(torch.diagonal(cov))
        cov_terms.append(off.pow(2).sum() / k)
    return torch.stack(var_terms).mean(), torch.stack(cov_terms).sum()


def vicreg_hinge(Z: Any, G: Any, *, sim_coeff: float = 25.0,
                 std_coeff: float = 25.0, cov_coeff: float = 1.0,
                 eps: float = 1e-4, n_views: int | None = None,
                 unbiased: bool = True) -> torch.Tensor:
    r"""VICReg with the original hinge variance term, relation-matrix form (R11).

    .. math:: \ell(Z) = \frac{\lambda_s}{NK}\sum_{ij}G_{ij}\|z_i - z_j\|^2
        + \lambda_v\,\frac1K\sum_k \max\bigl(0, 1 - \sqrt{\hat\sigma_k^2 + \epsilon}\bigr)
        + \lambda_c\,\frac1K\sum_{k\neq l}\hat C_{kl}^2,

    with :math:`\hat\sigma^2_k, \hat C` the **unbiased** variance and
    covariance (by default; see ``unbiased``), :math:`(\lambda_s, \lambda_v, \lambda_c) =`
    ``(sim_coeff, std_coeff, cov_coeff)``.  With ``n_views=None`` the
    statistics are those of all :math:`N` rows; with ``n_views=V`` they are
    taken per view block (rows ``v::V``), the variance term averaged over the
    views and the covariance term summed over them, exactly as the reference
    implementation does for two views.  The invariance normalisation
    :math:`1/(NK)` makes the first term the reference's ``mse_loss`` for the
    pair graph.

    Parameters
    ----------
    Z : (N, K) array_like
    G : (N, N) array_like, a valid relation matrix.
    sim_coeff, std_coeff, cov_coeff : float >= 0
        Reference defaults 25, 25, 1.
    eps : float >= 0
        Added to the variance inside the square root (reference: 1e-4).
    n_views : int or None
        Read view blocks from the sample-major row order.
    unbiased : bool, default True
        Divide the variance and covariance by :math:`m - 1` (the reference,
        :math:`m` rows per block) or, with ``False``, by :math:`m`, the
        biased :math:`C(Z) = Z^\top H Z/N` of the closed forms.  With
        ``sim_coeff = alpha * K``, ``std_coeff = K``, ``eps = 0`` and
        ``unbiased=False`` the first two terms are the paper's simplified
        form :math:`\frac{\alpha}{N}\sum_{ij}G_{ij}\|z_i - z_j\|^2 +
        \sum_k \max(0, 1 - \sqrt{C_{kk}})` (:ref:`ch-vicreg-hinge`).
    """
    f = "vicreg_hinge"
    Z, G = _prep(Z, G, f)
    for name, val in (("sim_coeff", sim_coeff), ("std_coeff", std_coeff),
                      ("cov_coeff", cov_coeff), ("eps", eps)):
        _v.check_positive(val, name, f, allow_zero=True)
    n, k = Z.shape
    var, cov = _vicreg_var_cov(_blocks(Z, n_views, f), eps, bool(unbiased))
    return sim_coeff * invariance(Z, G) / (n * k) + std_coeff * var + cov_coeff * cov


def vicreg_two_view(za: Any, zb: Any, sim_coeff: float = 25.0,
                    std_coeff: float = 25.0, cov_coeff: float = 1.0, *,
                    eps: float = 1e-4) -> torch.Tensor:
    r"""VICReg as in the reference implementation (Bardes et al., 2022).

    The two-view reference form of R11 (relation-matrix form: :func:`vicreg_hinge`).

    .. math:: \lambda_s\,\mathrm{mse}(z^a, z^b)
        + \frac{\lambda_v}{2}\bigl(v(z^a) + v(z^b)\bigr)
        + \lambda_c\bigl(c(z^a) + c(z^b)\bigr),

    :math:`v(z) = \frac1K\sum_k \max(0, 1 - \sqrt{\mathrm{Var}(z_{\cdot k}) + \epsilon})`
    (unbiased variance), :math:`c(z) = \frac1K\sum_{k\ne l} \mathrm{Cov}(z)_{kl}^2`
    (divisor :math:`N'-1`).  Equal to pytorch-metric-learning's
    ``VICRegLoss`` (tested) and to ``vicreg_hinge(Z, G, n_views=2)`` with the
    pair graph (see the module notes).

    Parameters
    ----------
    za, zb : (N', K) array_like, row i of both is sample i.
    """
    f = "vicreg_two_view"
    za = _v.check_matrix(za, "za", f)
    zb = _v.check_matrix(zb, "zb", f)
    if za.shape != zb.shape:
        raise ValueError(f"za and zb must have the same shape in {f}: "
                         f"{tuple(za.shape)} != {tuple(zb.shape)}.")
    zb = zb.to(za)
    repr_loss = (za - zb).pow(2).mean()
    var, cov = _vicreg_var_cov([za, zb], eps)
    return sim_coeff * repr_loss + std_coeff * var + cov_coeff * cov


def _cosine_logits(Z: torch.Tensor, tau: Any, f: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosine similarities over ``tau`` of the rows of ``Z`` (no zero row), and the diagonal mask."""
    tau = _v.check_positive(tau, "tau", f)
    norms = Z.norm(dim=1)
    if bool((norms == 0).any()):
        raise ValueError(f"Z must have no zero row in {f} (rows are normalised): "
                         f"row {int((norms == 0).nonzero()[0])} is zero.")
    U = Z / norms[:, None]
    eye = torch.eye(Z.shape[0], dtype=torch.bool, device=Z.device)
    return U @ U.T / tau, eye


def info_nce(Z: Any, G: Any, tau: float) -> torch.Tensor:
    r"""InfoNCE / NT-Xent in relation-matrix form (R12).

    .. math:: \ell(Z) = -\frac1N \sum_{i,j} G_{ij}
        \log \frac{\exp(\langle u_i, u_j\rangle/\tau)}
                  {\sum_{k\neq i}\exp(\langle u_i, u_k\rangle/\tau)},
        \qquad u_i = z_i / \|z_i\|.

    With the pair graph it equals :func:`nt_xent` exactly.  With ``V > 2``
    views the other positives of row ``i`` stay in its denominator (as in
    the relation-matrix form of the paper), unlike pytorch-metric-learning's
    ``NTXentLoss``, which removes them.

    Parameters
    ----------
    Z : (N, K) array_like, no zero row.
    G : (N, N) array_like, a valid relation matrix with zero diagonal.
    tau : float > 0, temperature.
    """
    f = "info_nce"
    Z, G = _prep(Z, G, f, zero_diagonal=True)
    S, eye = _cosine_logits(Z, tau, f)
    S = S.masked_fill(eye, float("-inf"))
    logp = torch.log_softmax(S, dim=1).masked_fill(eye, 0.0)
    return -(G * logp).sum() / Z.shape[0]


def nt_xent(za: Any, zb: Any, tau: float) -> torch.Tensor:
    r"""NT-Xent of SimCLR (Chen et al., 2020), mean over the :math:`2N'` rows.

    The two-view reference form of R12 (relation-matrix form: :func:`info_nce`).

    Each of the :math:`2N'` rows of ``cat(za, zb)`` is an anchor; its positive
    is the other view of the same sample, its negatives all other rows.
    Equal to pytorch-metric-learning's ``NTXentLoss`` (tested).
    """
    f = "nt_xent"
    za = _v.check_matrix(za, "za", f)
    zb = _v.check_matrix(zb, "zb", f)
    if za.shape != zb.shape:
        raise ValueError(f"za and zb must have the same shape in {f}: "
                         f"{tuple(za.shape)} != {tuple(zb.shape)}.")
    tau = _v.check_positive(tau, "tau", f)
    z = torch.cat([za, zb.to(za)])
    n = za.shape[0]
    z = z / z.norm(dim=1, keepdim=True)
    S = z @ z.T / tau
    S = S.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return torch.nn.functional.cross_entropy(S, target)


def spectral_contrastive(Z: Any, G: Any) -> torch.Tensor:
    r"""Spectral contrastive loss (HaoChen et al., 2021), all pairs (R2).

    .. math:: \ell(Z) = -2\sum_{i,j} G_{ij} z_i^\top z_j + \sum_{i,j}(z_i^\top z_j)^2
                      = \|G - ZZ^\top\|_F^2 - \|G\|_F^2 .

    The sums run over all :math:`i, j` **including** :math:`i = j`, so the
    identity is exact; the minibatch loss that drops :math:`i = j` is a
    different function.  Minimiser: :func:`sslspec_lib.closed_form.spectral_contrastive_optimum`.
    ``G`` may be sparse (:math:`O(\text{nnz}\cdot K + NK^2)`).
    """
    Z, G = _prep(Z, G, "spectral_contrastive", allow_sparse=True)
    if G.layout != torch.strided:
        return -2.0 * _trace_form(Z, G, laplacian_form=False) + (Z.T @ Z).pow(2).sum()
    return -2.0 * torch.trace(Z.T @ G @ Z) + (Z.T @ Z).pow(2).sum()


def spectral_contrastive_distinct(Z: Any, G: Any) -> torch.Tensor:
    r"""Spectral contrastive loss over distinct pairs only (R2, R13).

    .. math:: \ell_{\ne}(Z) = \sum_{i\ne j}\bigl[(z_i^\top z_j)^2
                                 - 2G_{ij}\,z_i^\top z_j\bigr]
              = \sum_{i\ne j}(G_{ij} - z_i^\top z_j)^2 - \sum_{i\ne j}G_{ij}^2 .

    The terms :math:`i = j` of :func:`spectral_contrastive` are dropped, as
    a loss that only compares different rows does.  Its minimum over
    :math:`Z \in \mathbb{R}^{N\times K}` is :math:`-\sum_{i\ne j}G_{ij}^2`
    whenever some Gram matrix of rank at most :math:`K` has the off-diagonal
    of :math:`G`; the diagonal of :math:`ZZ^\top` is then free, so the rank
    of a minimiser is not fixed by :math:`G` (:ref:`ch-contrastive`,
    ``prop-contrastive-distinct-pairs``).  Dense ``G`` only; ``G`` must be
    symmetric (its diagonal is ignored).
    """
    Z, G = _prep(Z, G, "spectral_contrastive_distinct")
    S = Z @ Z.T
    off = 1.0 - torch.eye(S.shape[0], dtype=S.dtype, device=S.device)
    return ((S.pow(2) - 2.0 * G * S) * off).sum()


def _standardize(b: torch.Tensor, eps: float) -> torch.Tensor:
    """Batch normalisation without affine part (biased variance), as BatchNorm1d."""
    bc = b - b.mean(dim=0, keepdim=True)
    return bc / torch.sqrt(bc.pow(2).mean(dim=0, keepdim=True) + eps)


def _bt_from_corr(C: torch.Tensor, lambd: float) -> torch.Tensor:
    on = (torch.diagonal(C) - 1).pow(2).sum()
    off = (C - torch.diag(torch.diagonal(C))).pow(2).sum()
    return on + lambd * off


def barlow_twins(Z: Any, G: Any, lambd: float = 0.0051, *,
                 n_views: int | None = None, eps: float = 1e-5) -> torch.Tensor:
    r"""BarlowTwins in relation-matrix form (R14).

    .. math:: C = \frac{\tilde Z^\top G \tilde Z}{\mathbf 1^\top G \mathbf 1},\qquad
              \ell(Z) = \sum_k (1 - C_{kk})^2 + \lambda\sum_{k\neq l} C_{kl}^2,

    with :math:`\tilde Z` the batch-normalised :math:`Z` (each column centred
    and divided by its biased standard deviation, :math:`\epsilon` added to
    the variance as ``BatchNorm1d`` does).  Normalisation is over all rows
    (``n_views=None``) or per view block (``n_views=V``).  With the pair
    graph and ``n_views=2``, :math:`C = (C_{ab} + C_{ab}^\top)/2` where
    :math:`C_{ab}` is the cross-correlation of :func:`barlow_twins_two_view`.

    Parameters
    ----------
    lambd : float >= 0, off-diagonal weight (reference: 0.0051).
    """
    f = "barlow_twins"
    Z, G = _prep(Z, G, f)
    _v.check_positive(lambd, "lambd", f, allow_zero=True)
    _v.check_positive(eps, "eps", f, allow_zero=True)
    total = G.sum()
    if float(total) == 0:
        raise ValueError(f"G has no positive pair in {f} (G is all zeros).")
    V = None if n_views is None else _v.check_int(n_views, "n_views", f, 1, Z.shape[0])
    blocks = _blocks(Z, V, f)
    Zt = torch.empty_like(Z)
    step = 1 if V is None else V
    for v, b in enumerate(blocks):
        Zt[v::step] = _standardize(b, eps)
    C = Zt.T @ G @ Zt / total
    return _bt_from_corr(C, lambd)


def barlow_twins_two_view(za: Any, zb: Any, lambd: float = 0.0051, *,
                          eps: float = 1e-5) -> torch.Tensor:
    r"""BarlowTwins as in the reference implementation (Zbontar et al., 2021).

    The two-view reference form of R14 (relation-matrix form: :func:`barlow_twins`).

    :math:`C_{ab} = \tilde z^{a\top}\tilde z^b / N'` with both views
    batch-normalised, loss :math:`\sum_k(1 - C_{kk})^2 + \lambda\sum_{k\ne l}C_{kl}^2`.
    """
    f = "barlow_twins_two_view"
    za = _v.check_matrix(za, "za", f)
    zb = _v.check_matrix(zb, "zb", f)
    if za.shape != zb.shape:
        raise ValueError(f"za and zb must have the same shape in {f}: "
                         f"{tuple(za.shape)} != {tuple(zb.shape)}.")
    _v.check_positive(lambd, "lambd", f, allow_zero=True)
    C = _standardize(za, eps).T @ _standardize(zb.to(za), eps) / za.shape[0]
    return _bt_from_corr(C, lambd)


# -- Barlow Twins with V >= 2 views, each view normalised separately -------------------------

def barlow_twins_pairwise(Z: Any, n_views: int, lambd: float = 0.0051, *,
                          eps: float = 1e-5) -> torch.Tensor:
    r"""BarlowTwins of the reference implementation, averaged over pairs of views (R14).

    With :math:`V` views of :math:`N'` samples (rows sample-major: row
    :math:`iV + v` is view :math:`v` of sample :math:`i`), every view block
    :math:`z^v \in \mathbb R^{N'\times K}` is batch-normalised on its own
    (:math:`\tilde z^v`: columns centred, divided by
    :math:`\sqrt{\text{biased variance} + \epsilon}`), and

    .. math:: C_{vw} = \frac{\tilde z^{v\top}\tilde z^w}{N'},\qquad
              \ell(Z) = \binom V2^{-1}\sum_{v<w}\Bigl[\sum_k (1 - (C_{vw})_{kk})^2
              + \lambda\sum_{k\ne l}(C_{vw})_{kl}^2\Bigr].

    For ``n_views=2`` this is :func:`barlow_twins_two_view` of the two view
    blocks (the reference loss of Zbontar et al., 2021); each pair's term is
    symmetric in :math:`(v, w)` (transposing :math:`C_{vw}` leaves it
    unchanged), so the average over ordered pairs is the same.  It differs
    from :func:`barlow_twins` with ``n_views=V``, which applies the loss to
    the average cross-correlation (chapter :ref:`ch-barlow-twins-reference`).

    Parameters
    ----------
    Z : (N' V, K) array_like, sample-major.
    n_views : int, 2 <= V <= N, dividing the number of rows.
    lambd : float >= 0, off-diagonal weight (reference: 0.0051).
    eps : float >= 0, added to the variance as ``BatchNorm1d`` does.

    Returns
    -------
    torch.Tensor, scalar.

    Raises
    ------
    ValueError
        If ``Z`` is not a finite matrix, ``n_views`` is not an int in
        :math:`[2, N]` or does not divide :math:`N`, or ``lambd``/``eps`` is negative.
    """
    f = "barlow_twins_pairwise"
    Z = _v.check_matrix(Z, "Z", f)
    V = _v.check_int(n_views, "n_views", f, 2, Z.shape[0])
    _v.check_positive(lambd, "lambd", f, allow_zero=True)
    _v.check_positive(eps, "eps", f, allow_zero=True)
    blocks = [_standardize(b, eps) for b in _blocks(Z, V, f)]
    n_s = blocks[0].shape[0]
    terms = [_bt_from_corr(blocks[v].T @ blocks[w] / n_s, lambd)
             for v in range(V) for w in range(v + 1, V)]
    return torch.stack(terms).mean()


# -- multi-positive InfoNCE: the other positives removed from the denominator ------------

def info_nce_negatives_only(Z: Any, G: Any, tau: float) -> torch.Tensor:
    r"""InfoNCE with each positive pair scored against the negatives only (R12).

    .. math:: \ell^{\mathrm{neg}}_\tau(Z) = -\frac1N \sum_{i,j} G_{ij}
        \log \frac{\exp(s_{ij}/\tau)}
                  {\exp(s_{ij}/\tau) + \sum_{k \in \mathcal N(i)}\exp(s_{ik}/\tau)},
        \qquad s_{ij} = u_i^\top u_j,\ u_i = z_i/\|z_i\|,

    with :math:`\mathcal N(i) = \{k \ne i : G_{ik} = 0\}` the negatives of
    row ``i``.  This is the multi-positive convention of
    pytorch-metric-learning's ``NTXentLoss`` (every positive pair is its own
    softmax over itself and the negatives); :func:`info_nce` instead keeps
    the other positives of row ``i`` in the denominator (as does SupCon's
    :math:`\mathcal L_{\mathrm{out}}`, up to its per-anchor weights
    :math:`1/|P(i)|`).  For the pair graph (two views) the two conventions
    coincide: ``info_nce_negatives_only(Z, G, tau) == info_nce(Z, G, tau)``.
    Minimisers on augmentation cliques (:ref:`ch-infonce-general`): the same
    regular simplex as :func:`info_nce`, with minimum
    :math:`(V-1)\log\bigl(1 + (N-V)e^{-N'/((N'-1)\tau)}\bigr)`.

    Parameters
    ----------
    Z : (N, K) array_like, no zero row.
    G : (N, N) array_like, a valid relation matrix with zero diagonal.
    tau : float > 0, temperature.

    Returns
    -------
    torch.Tensor
        A scalar, differentiable in ``Z``.  A row without negatives
        contributes 0.
    """
    f = "info_nce_negatives_only"
    Z, G = _prep(Z, G, f, zero_diagonal=True)
    S, eye = _cosine_logits(Z, tau, f)
    negative = (G == 0) & ~eye
    has_neg = negative.any(dim=1)
    # rows without negatives: a finite dummy row, so that no NaN reaches the gradient
    S_neg = S.masked_fill(~negative, float("-inf")).masked_fill(~has_neg[:, None], 0.0)
    lse_neg = torch.logsumexp(S_neg, dim=1)
    lse_neg = torch.where(has_neg, lse_neg, torch.full_like(lse_neg, float("-inf")))
    # log(e^{s_ij} + sum_neg e^{s_ik}) - s_ij = softplus(lse_neg_i - s_ij)
    terms = torch.nn.functional.softplus(lse_neg[:, None] - S)
    terms = terms.masked_fill(G == 0, 0.0)
    return (G * terms).sum() / Z.shape[0]


# -- Smooth VICReg inside training loops: the relation matrix validated once -----------------

def vicreg_fixed_graph(G: Any, alpha: float) -> Any:
    r"""The smooth VICReg loss of :func:`vicreg` for one fixed ``G``, as a closure (R10).

    .. math:: \ell(Z) = \frac{2\alpha}{N}\operatorname{tr}(Z^\top L Z)
              + \|C(Z) - I_K\|_F^2, \qquad L = D - G,

    which is :func:`vicreg` by R1 (:func:`invariance`'s ``"laplacian"``
    form).  ``G`` and ``alpha`` are validated and :math:`L` is built once,
    here; :func:`vicreg` does both at every call, which is most of the cost
    of a small training loop (:ref:`ch-vicreg-mlp`).  ``Z`` is checked for
    its shape only.

    Parameters
    ----------
    G : (N, N) array_like, a valid dense relation matrix.
    alpha : float > 0

    Returns
    -------
    callable
        ``loss(Z)`` for ``Z`` of shape (N, K): a scalar tensor, differentiable
        in ``Z``, equal to ``vicreg(Z, G, alpha)`` up to rounding.
    """
    f = "vicreg_fixed_graph"
    G = _v.check_graph(G, f)
    if G.layout != torch.strided:
        raise ValueError(f"{f} needs a dense G (a torch tensor with strided layout).")
    alpha = _v.check_positive(alpha, "alpha", f)
    L = laplacian(G)
    n = G.shape[0]
    cache: dict[tuple[Any, Any], torch.Tensor] = {}

    def loss(Z: torch.Tensor) -> torch.Tensor:
        if Z.ndim != 2 or Z.shape[0] != n:
            raise ValueError(f"Z must have shape (N, K) with N = {n} in {f}; "
                             f"got {tuple(Z.shape)}.")
        key = (Z.dtype, Z.device)
        if key not in cache:
            cache[key] = L.to(dtype=Z.dtype, device=Z.device)
        Zc = Z - Z.mean(dim=0, keepdim=True)
        C = Zc.T @ Zc / n
        eye = torch.eye(Z.shape[1], dtype=Z.dtype, device=Z.device)
        return 2 * alpha / n * torch.trace(Z.T @ cache[key] @ Z) + (C - eye).pow(2).sum()

    return loss
