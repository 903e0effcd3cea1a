r"""Classical spectral embeddings (Part I of the book).

Local methods keep the *bottom* of a Laplacian spectrum:

* :func:`laplacian_eigenmaps` (R5) — :math:`\min\operatorname{tr}(Z^\top L Z)`
  under a degree or a covariance constraint;
* :func:`lpp` (R6) — the same with :math:`Z = XW` (Locality Preserving
  Projections).

Global methods keep the *top* of a (double-centred) kernel spectrum:

* :func:`classical_mds`, :func:`kernel_pca`, :func:`isomap` (R7);
* :func:`cca` (R8) — top singular pairs of the whitened cross-covariance;
* :func:`lda` (R16) — top generalised eigenvectors of (between, within)
  scatter.

Conventions (fixed; tests and chapters rely on them):

* every eigen-problem is solved densely (``torch.linalg.eigh``/``svd``) in
  the input's dtype, on the input's device (ISOMAP builds its graph with
  SciPy on the CPU);
* columns are in the order of the kept eigenvalues (ascending for local
  methods, descending for global ones);
* each returned column's largest-magnitude entry is positive (the rule of
  scikit-learn's ``_deterministic_vector_sign_flip`` and ``svd_flip``); for
  CCA the rule is applied to ``Wa`` and the same flip to ``Wb``;
* covariances are biased (divided by :math:`N`), as :math:`C(Z) = Z^\top H Z/N`;
* a tie between the last kept and the first discarded eigenvalue (the
  subspace is then not unique) raises a ``UserWarning``.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch

from . import _validation as _v
from ._linalg import (check_gap, eigh_sorted, generalized_laplacian_bottom,
                      inv_sqrt_psd, laplacian_bottom, sign_flip)
from .graphs import laplacian

__all__ = [
    "laplacian_eigenmaps",
    "lpp",
    "classical_mds",
    "kernel_pca",
    "isomap",
    "cca",
    "whitened_cross_covariance",
    "lda",
    "nystrom_extension",
    "graph_isomap",
]

# Kept eigenvalues below -_NEG_RTOL * max|eigenvalue| count as negative
# (non-Euclidean input); smaller ones are rounding and are clamped silently.
_NEG_RTOL = 1e-10
# Relative tolerance of the symmetry / zero-diagonal checks of distance and
# kernel matrices (rounding of a computed distance matrix is accepted).
_SYM_RTOL = 1e-10


# ---------------------------------------------------------------------------
# private helpers
# ---------------------------------------------------------------------------

def _laplacian_bottom_centered(G: Any, K: int, func: str
                               ) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Bottom-``K`` eigenpairs of :math:`L` on :math:`\mathbf 1^\perp`, scaled by :math:`\sqrt N`.

    The computation of :func:`sslspec_lib.closed_form.vicreg_constrained_optimum`
    (same helpers, same order, same signs), shared by the covariance variant
    of Laplacian Eigenmaps.
    """
    n = G.shape[0]
    # Smallest eigenvalues of the unnormalised L = D - G on 1-perp (ascending).
    lam, U = laplacian_bottom(G, K, func)
    check_gap(lam, K, func, what="Laplacian eigenvalues")
    return lam[:K], n ** 0.5 * U


def _check_square(A: Any, name: str, func: str, *, nonnegative: bool,
                  zero_diagonal: bool, power: int = 1) -> torch.Tensor:
    """Square, finite, symmetric (to rounding), optionally >= 0 / zero diagonal.

    Returns ``A ** power`` (entry-wise), symmetrised.  Asymmetry and diagonal
    entries of ``A ** power`` up to ``_SYM_RTOL * max|A ** power|`` are taken
    as rounding (the diagonal is then set to 0); ``power=2`` checks distances
    on the scale of squared distances, where a computed distance matrix's
    rounding lives (``torch.cdist`` leaves ~1e-8 on the diagonal).
    """
    A = _v.check_matrix(A, name, func)
    n, m = A.shape
    if n != m:
        raise ValueError(f"{name} must be square in {func}: got shape ({n}, {m}).")
    if n < 2:
        raise ValueError(f"{name} must have at least 2 rows in {func}: got {n}.")
    if nonnegative and bool((A < 0).any()):
        i, j = divmod(int(A.argmin()), n)
        raise ValueError(f"{name} must be non-negative in {func}: {name}[{i}, {j}] = "
                         f"{float(A[i, j]):.3g}.")
    P = A if power == 1 else A ** power
    atol = _SYM_RTOL * float(P.abs().max())
    asym = (P - P.T).abs()
    if float(asym.max()) > atol:
        i, j = divmod(int(asym.argmax()), n)
        raise ValueError(
            f"{name} must be symmetric in {func}: max |{name} - {name}.T| = "
            f"{float((A - A.T).abs().max()):.3g}, at ({i}, {j}) "
            f"|{name}[i, j] - {name}[j, i]| = {float((A[i, j] - A[j, i]).abs()):.3g}.")
    P = (P + P.T) / 2
    if zero_diagonal:
        diag = P.diagonal().abs()
        if float(diag.max()) > atol:
            i = int(diag.argmax())
            raise ValueError(f"{name} must have a zero diagonal in {func}: "
                             f"{name}[{i}, {i}] = {float(A[i, i]):.3g}.")
        P = P.clone()
        P.fill_diagonal_(0)
    return P


def _top_eigen_embedding(B: torch.Tensor, K: int, func: str, *, what: str
                         ) -> torch.Tensor:
    r"""``U_K diag(sqrt(max(lam, 0)))`` for the top-``K`` eigenpairs of symmetric ``B``.

    Warns if a kept eigenvalue is significantly negative (then clamped at 0)
    and on a tie at the cut among positive eigenvalues.
    """
    # Largest eigenvalues of the symmetric B: ascending eigh, then reversed.
    lam, U = torch.linalg.eigh((B + B.T) / 2)
    lam, U = lam.flip(0), U.flip(1)
    scale = max(float(lam.abs().max()), torch.finfo(lam.dtype).tiny)
    kept = lam[:K]
    if float(kept.min()) < -_NEG_RTOL * scale:
        neg = int((kept < -_NEG_RTOL * scale).sum())
        warnings.warn(
            f"{func}: {neg} of the {K} kept eigenvalues of {what} are negative "
            f"(smallest {float(kept.min()):.3g}, largest {float(lam[0]):.3g}): the "
            "input is not Euclidean (not a Gram matrix of points). Their "
            "coordinates are set to 0 (eigenvalues clamped at 0).",
            UserWarning, stacklevel=3)
    check_gap(lam, K, func, what=f"eigenvalues of {what}",
              relevant=bool(kept[-1] > _NEG_RTOL * scale))
    # Signs first (largest-magnitude entry positive, as svd_flip), then the scale.
    return sign_flip(U[:, :K]) * kept.clamp(min=0).sqrt()


def _mds_from_squared(Delta: torch.Tensor, K: int, func: str) -> torch.Tensor:
    r"""Classical MDS of a matrix of squared distances: top of :math:`-\tfrac12 H\Delta H`."""
    # -1/2 H Delta H by subtracting row and column means (no H product).
    B = Delta - Delta.mean(dim=0, keepdim=True)
    B = B - B.mean(dim=1, keepdim=True)
    return _top_eigen_embedding(-0.5 * B, K, func, what="-1/2 H Delta H")


def _check_constraint(constraint: Any, func: str) -> str:
    if constraint not in ("degree", "covariance"):
        raise ValueError(f"The 'constraint' parameter of {func} must be 'degree' or "
                         f"'covariance'. Got {constraint!r} instead.")
    return constraint


# ---------------------------------------------------------------------------
# local methods
# ---------------------------------------------------------------------------

def laplacian_eigenmaps(G: Any, K: int, *, constraint: str = "degree") -> torch.Tensor:
    r"""Laplacian Eigenmaps (R5; :ref:`ch-laplacian-eigenmaps`).

    .. math:: \min_{Z \in \mathbb R^{N\times K}} \operatorname{tr}(Z^\top L Z)
              \quad\text{s.t.}\quad
              \begin{cases}
              Z^\top D Z = I_K,\ Z^\top D\mathbf 1 = 0 & \text{constraint="degree"}\\
              Z^\top H Z = N I_K & \text{constraint="covariance"}
              \end{cases}

    with :math:`L = D - G`.  The minimisers are

    * ``"degree"`` (Belkin & Niyogi): the bottom non-trivial generalised
      eigenvectors of :math:`L z = \lambda D z`, computed as
      :math:`Z = D^{-1/2} Y`, :math:`Y` the eigenvectors of the normalised
      Laplacian :math:`I - D^{-1/2} G D^{-1/2}` for its :math:`K` smallest
      eigenvalues on the complement of :math:`D^{1/2}\mathbf 1` (so the
      trivial, constant solution is excluded exactly);
    * ``"covariance"`` (the constraint :math:`C(Z) = I` that VICReg meets,
      R9): :math:`Z = \sqrt N\,U_K`, :math:`U_K` the eigenvectors of
      :math:`L` for its :math:`K` smallest eigenvalues on
      :math:`\mathbf 1^\perp`; identical to
      :func:`sslspec_lib.closed_form.vicreg_constrained_optimum`.

    The minimum is the sum of the :math:`K` kept eigenvalues (times
    :math:`N` for ``"covariance"``).

    Parameters
    ----------
    G : (N, N) array_like or sparse matrix
        Relation matrix: symmetric, non-negative, finite.  The degree
        :math:`D = \operatorname{diag}(G\mathbf 1)` includes the diagonal of
        ``G`` (as :func:`sslspec_lib.graphs.degree`).  A ``scipy.sparse``
        matrix (or sparse torch tensor) is accepted and validated as strictly;
        large ones are solved by a Krylov method (see
        ``sslspec_lib._linalg``), with the same order and signs; the result
        is then a float64 CPU tensor.
    K : int, 1 <= K <= N - 1
    constraint : {"degree", "covariance"}, default "degree"

    Returns
    -------
    Z : torch.Tensor, shape (N, K)
        Columns by ascending eigenvalue, each column's largest-magnitude entry
        positive.  ``"degree"``: :math:`Z^\top D Z = I`,
        :math:`Z^\top D\mathbf 1 = 0` — the scaling and signs of
        scikit-learn's ``spectral_embedding(G, norm_laplacian=True,
        drop_first=True)`` for a connected ``G`` with zero diagonal (sklearn
        ignores the diagonal).  ``"covariance"``: :math:`Z^\top H Z = N I`,
        centred columns.

    Raises
    ------
    ValueError
        If ``G`` is invalid, ``K`` is out of range, ``constraint`` is
        unknown, or (``"degree"``) a vertex is isolated (degree 0: the
        constraint :math:`Z^\top D Z = I` cannot hold on it).

    Warns
    -----
    UserWarning
        If the :math:`K`-th and :math:`(K+1)`-th kept eigenvalues tie: the
        subspace is not unique.  For a disconnected ``G`` with more than
        :math:`K + 1` components this is a tie at 0 (any basis of the
        component indicators is optimal), and the warning says so.

    Notes
    -----
    For a connected ``G`` the first discarded direction is the constant
    vector (eigenvalue 0).  With :math:`c` components, the eigenvalue 0 has
    multiplicity :math:`c`; the constant is still the vector excluded, so
    the first :math:`c - 1` columns are piecewise constant on the
    components.

    Examples
    --------
    >>> import torch
    >>> from sslspec_lib.graphs import degree
    >>> G = torch.tensor([[0., 1, 0, 0], [1, 0, 2, 0], [0, 2, 0, 1], [0, 0, 1, 0]],
    ...                  dtype=torch.float64)  # a weighted path
    >>> Z = laplacian_eigenmaps(G, 2)
    >>> torch.allclose(Z.T @ degree(G) @ Z, torch.eye(2, dtype=torch.float64))
    True
    """
    f = "laplacian_eigenmaps"
    G = _v.check_graph(G, f, allow_sparse=True)
    n = G.shape[0]
    K = _v.check_int(K, "K", f, 1, n - 1)
    constraint = _check_constraint(constraint, f)
    if constraint == "covariance":
        return _laplacian_bottom_centered(G, K, f)[1]
    d = G.sum(dim=1) if isinstance(G, torch.Tensor) else np.asarray(G.sum(axis=1)).ravel()
    if bool((d <= 0).any()):
        i = int((d <= 0).nonzero()[0][0] if not isinstance(d, torch.Tensor)
                else (d <= 0).nonzero()[0])
        raise ValueError(
            f"{f}(constraint='degree') needs every degree > 0: row {i} of G sums "
            "to 0 (an isolated vertex). Remove it or use constraint='covariance'.")
    # Smallest eigenvalues of the normalised Laplacian restricted to the
    # complement of D^{1/2} 1 (ascending): the bottom non-trivial pairs.
    lam, Z = generalized_laplacian_bottom(G, K, f)
    check_gap(lam, K, f, what="normalised Laplacian eigenvalues")
    return Z


def lpp(X: Any, G: Any, K: int, *, constraint: str = "degree") -> torch.Tensor:
    r"""Locality Preserving Projections, the linear Laplacian Eigenmaps (R6; :ref:`ch-lpp`).

    .. math:: \min_{W \in \mathbb R^{d\times K}} \operatorname{tr}(W^\top X^\top L X W)
              \quad\text{s.t.}\quad
              \begin{cases}
              W^\top X^\top D X W = I_K & \text{constraint="degree"}\\
              W^\top \Sigma W = I_K,\ \Sigma = X^\top H X / N & \text{constraint="covariance"}
              \end{cases}

    The minimiser is :math:`W = B^{-1/2} V_K`, :math:`V_K` the eigenvectors of
    :math:`B^{-1/2} (X^\top L X) B^{-1/2}` for its :math:`K` smallest
    eigenvalues, :math:`B = X^\top D X` or :math:`\Sigma`: the bottom
    generalised eigenvectors of :math:`(X^\top L X, B)`.  The covariance
    variant is the :math:`\alpha \to 0` limit of
    :func:`sslspec_lib.closed_form.vicreg_linear_optimum` (R15).

    Parameters
    ----------
    X : (N, d) array_like
    G : (N, N) array_like or sparse matrix
        Relation matrix (symmetric, non-negative, finite).
    K : int, 1 <= K <= d
    constraint : {"degree", "covariance"}, default "degree"

    Returns
    -------
    W : torch.Tensor, shape (d, K)
        Columns by ascending eigenvalue, each column's largest-magnitude entry
        positive, :math:`W^\top B W = I`.

    Raises
    ------
    ValueError
        If an input is invalid, or :math:`X^\top D X` (resp. :math:`\Sigma`) is
        rank-deficient (collinear or, for the covariance, constant features).

    Warns
    -----
    UserWarning
        On a tie at the cut (the subspace is not unique).

    Notes
    -----
    Unlike :func:`laplacian_eigenmaps`, no trivial direction is removed: if
    the column span of ``X`` contains :math:`\mathbf 1` (a constant
    feature), the degree variant's first column gives a constant
    :math:`XW` (eigenvalue 0).  Centre ``X`` or use the covariance variant.
    """
    f = "lpp"
    X = _v.check_matrix(X, "X", f)
    G = _v.check_graph(G, f, allow_sparse=True)
    _v.check_rows(G.shape[0], X, "X", f)
    K = _v.check_int(K, "K", f, 1, X.shape[1])
    constraint = _check_constraint(constraint, f)
    n = X.shape[0]
    if isinstance(G, torch.Tensor):
        G = G.to(dtype=X.dtype, device=X.device)
        A = X.T @ laplacian(G) @ X
        deg = G.sum(dim=1)
    else:  # sparse: X^T L X = X^T (deg * X - G X), O(nnz * d), d = X.shape[1]
        Xn = X.detach().cpu().to(torch.float64).numpy()
        d_np = np.asarray(G.sum(axis=1)).ravel()
        deg = torch.as_tensor(d_np, dtype=X.dtype, device=X.device)
        A = X.T @ torch.as_tensor(d_np[:, None] * Xn - G @ Xn, dtype=X.dtype,
                                  device=X.device)
    if constraint == "degree":
        B = X.T @ (deg[:, None] * X)
        B_isqrt = inv_sqrt_psd((B + B.T) / 2, "X^T D X", f)
    else:
        Xc = X - X.mean(dim=0, keepdim=True)
        B_isqrt = inv_sqrt_psd(Xc.T @ Xc / n, "The covariance X^T H X / N", f)
    M = B_isqrt @ A @ B_isqrt
    # Smallest eigenvalues of B^{-1/2} X^T L X B^{-1/2} (ascending).
    mu, V = torch.linalg.eigh((M + M.T) / 2)
    check_gap(mu, K, f, what="generalised eigenvalues")
    return sign_flip(B_isqrt @ V[:, :K])


# ---------------------------------------------------------------------------
# global methods
# ---------------------------------------------------------------------------

def classical_mds(D: Any, K: int, *, squared: bool = False) -> torch.Tensor:
    r"""Classical (Torgerson) multidimensional scaling (R7; :ref:`ch-mds-isomap`).

    .. math:: B = -\tfrac12 H \Delta H, \qquad
              Y = U_K \Lambda_K^{1/2} = \arg\min_{\operatorname{rank} YY^\top \le K}
              \|B - YY^\top\|_F \ (\text{if } \lambda_K \ge 0),

    :math:`\Delta` the matrix of **squared** distances, :math:`U_K,
    \Lambda_K` the top-:math:`K` eigenpairs of :math:`B`.  If :math:`\Delta`
    holds squared Euclidean distances between points :math:`x_i`, :math:`B`
    is the Gram matrix of the centred points and :math:`Y` their PCA scores.

    Parameters
    ----------
    D : (N, N) array_like
        Distances (``squared=False``) or squared distances (``squared=True``):
        symmetric, non-negative, zero diagonal.  Asymmetry and diagonal
        entries below ``1e-10`` times the largest squared distance, on the
        scale of squared distances, are treated as rounding (symmetrised,
        zeroed): ``torch.cdist(X, X)`` is accepted.
    K : int, 1 <= K <= N - 1
    squared : bool, default False
        Whether ``D`` already holds squared distances.

    Returns
    -------
    Y : torch.Tensor, shape (N, K)
        Columns by descending eigenvalue, each column's largest-magnitude entry
        positive (scikit-learn's ``svd_flip`` rule); centred.  As
        ``sklearn.manifold.ClassicalMDS(metric="precomputed")``.

    Raises
    ------
    ValueError
        If ``D`` is not square, symmetric, non-negative, finite, with a zero
        diagonal, or ``K`` is out of range.

    Warns
    -----
    UserWarning
        If a kept eigenvalue of :math:`B` is negative (``D`` is not
        Euclidean); its coordinates are set to 0.  On a tie at the cut.

    Examples
    --------
    >>> import torch
    >>> x = torch.tensor([[0.], [1.], [3.]], dtype=torch.float64)  # points on a line
    >>> [round(v, 6) for v in classical_mds(torch.cdist(x, x), 1).flatten().tolist()]
    [-1.333333, -0.333333, 1.666667]
    """
    f = "classical_mds"
    Delta = _check_square(D, "D", f, nonnegative=True, zero_diagonal=True,
                          power=1 if squared else 2)
    K = _v.check_int(K, "K", f, 1, Delta.shape[0] - 1)
    return _mds_from_squared(Delta, K, f)


def kernel_pca(Kmat: Any, K: int, *, center: bool = True) -> torch.Tensor:
    r"""Kernel PCA of a precomputed kernel matrix (R7; :ref:`ch-mds-isomap`).

    .. math:: \tilde K = H K H\ (\text{or } K \text{ if } \texttt{center=False}),
              \qquad Y = U_K \Lambda_K^{1/2},

    :math:`U_K, \Lambda_K` the top-:math:`K` eigenpairs of :math:`\tilde K`:
    the projections of the (centred) feature vectors on the top principal
    axes in feature space.  Classical MDS is kernel PCA of
    :math:`-\tfrac12\Delta`.

    Parameters
    ----------
    Kmat : (N, N) array_like
        Symmetric kernel (Gram) matrix; asymmetry up to ``1e-10 * max|Kmat|``
        is treated as rounding.
    K : int, 1 <= K <= N
    center : bool, default True
        Double-centre the kernel (centre the feature vectors).

    Returns
    -------
    Y : torch.Tensor, shape (N, K)
        Columns by descending eigenvalue, each column's largest-magnitude entry
        positive; as ``KernelPCA(n_components=K, kernel="precomputed")
        .fit_transform(Kmat)`` for kept eigenvalues above rounding
        (scikit-learn zeroes eigenvalues below ``1e-12`` times the largest).

    Raises
    ------
    ValueError
        If ``Kmat`` is not square, symmetric, finite, or ``K`` is out of range.

    Warns
    -----
    UserWarning
        If a kept eigenvalue is negative (``Kmat`` is not positive
        semi-definite); its coordinates are set to 0.  On a tie at the cut.
    """
    f = "kernel_pca"
    Kmat = _check_square(Kmat, "Kmat", f, nonnegative=False, zero_diagonal=False)
    K = _v.check_int(K, "K", f, 1, Kmat.shape[0])
    if center:
        Kmat = Kmat - Kmat.mean(dim=0, keepdim=True)
        Kmat = Kmat - Kmat.mean(dim=1, keepdim=True)
    return _top_eigen_embedding(Kmat, K, f, what="the centred kernel" if center
                                else "the kernel")


def isomap(X: Any, K: int, n_neighbors: int, *,
           n_landmarks: int | None = None) -> torch.Tensor:
    r"""ISOMAP: classical MDS of geodesic distances on a kNN graph (R7; :ref:`ch-isomap`).

    .. math:: \Delta^{\mathrm{geo}}_{ij} = d_{\mathcal G}(x_i, x_j)^2,
              \qquad Y = \text{top-}K\text{ eigenvectors of }
              -\tfrac12 H\Delta^{\mathrm{geo}}H \text{ scaled by } \sqrt\lambda,

    :math:`d_{\mathcal G}` the shortest-path length in the undirected graph
    that joins each point to its ``n_neighbors`` nearest neighbours (the
    point itself excluded; distance ties broken by row index) with
    Euclidean edge lengths (Dijkstra, ``scipy.sparse.csgraph.shortest_path``).

    **Landmark ISOMAP** (``n_landmarks = m``; de Silva & Tenenbaum, 2004).
    The :math:`N\times N` geodesic matrix (:math:`O(N^2)` memory, an
    :math:`O(N^3)` eigen-solve) is replaced by the :math:`m\times N`
    distances from :math:`m` landmarks, chosen by farthest-point (MaxMin)
    sampling from row 0 on the geodesic distance (deterministic; each
    landmark's Dijkstra run is needed anyway).  Classical MDS of the
    :math:`m\times m` landmark block :math:`\Delta_m` gives
    :math:`B_m = V\Lambda V^\top` (top :math:`K`), and every point is placed
    by distance-based triangulation

    .. math:: y_x = -\tfrac12\,\Lambda^{-1/2}V^\top(\delta_x - \bar\delta),

    :math:`\delta_x` its squared geodesic distances to the landmarks and
    :math:`\bar\delta` the row means of :math:`\Delta_m`; the result is then
    centred.  Exact (equal to full ISOMAP up to a rotation of the columns)
    when the geodesic distances are Euclidean in :math:`K` dimensions and the
    landmarks span them affinely; otherwise an approximation whose gap to
    full ISOMAP the benchmark (``make bench``) measures.
    :math:`O(m(N\log N + \mathrm{nnz}) + m^3 + NmK)` time, :math:`O(Nm)`
    memory, and the kNN graph is sparse (:func:`sslspec_lib.graphs.knn_graph`'s
    exact search, the same neighbour sets and tie rule).

    Parameters
    ----------
    X : (N, d) array_like
    K : int, 1 <= K <= N - 1
    n_neighbors : int, 1 <= n_neighbors <= N - 1
    n_landmarks : int, optional
        ``None`` (default): full ISOMAP.  Otherwise the number :math:`m` of
        landmarks, :math:`K + 1 \le m \le N`.

    Returns
    -------
    Y : torch.Tensor, shape (N, K)
        As :func:`classical_mds`; equal to ``sklearn.manifold.Isomap(
        n_neighbors=n_neighbors, n_components=K, eigen_solver="dense")
        .fit_transform(X)`` when no distance ties change the neighbour sets.
        With landmarks: the triangulated coordinates, centred, columns
        sign-flipped as everywhere in the library.

    Raises
    ------
    ValueError
        If the kNN graph is disconnected (geodesic distances would be
        infinite): the message gives the number of components.

    Warns
    -----
    UserWarning
        If a kept eigenvalue of :math:`-\tfrac12 H\Delta^{\mathrm{geo}}H` is
        negative (geodesic distances need not be Euclidean); on a tie.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components, shortest_path

    f = "isomap"
    X = _v.check_matrix(X, "X", f)
    n = X.shape[0]
    if n < 2:
        raise ValueError(f"X must have at least 2 rows in {f}: got {n}.")
    K = _v.check_int(K, "K", f, 1, n - 1)
    n_neighbors = _v.check_int(n_neighbors, "n_neighbors", f, 1, n - 1)
    if n_landmarks is not None:
        m = _v.check_int(n_landmarks, "n_landmarks", f, K + 1, n)
        return _landmark_isomap(X, K, n_neighbors, m, f)
    Xn = X.detach().cpu().to(torch.float64).numpy()
    dist = np.sqrt(((Xn[:, None, :] - Xn[None, :, :]) ** 2).sum(axis=-1))
    np.fill_diagonal(dist, np.inf)
    nbr = np.argsort(dist, axis=1, kind="stable")[:, :n_neighbors]
    rows = np.repeat(np.arange(n), n_neighbors)
    graph = csr_matrix((dist[rows, nbr.ravel()], (rows, nbr.ravel())), shape=(n, n))
    n_comp, _ = connected_components(graph, directed=False)
    if n_comp > 1:
        raise ValueError(
            f"The {n_neighbors}-nearest-neighbour graph of X has {n_comp} connected "
            f"components in {f}, so some geodesic distances are infinite. "
            "Increase n_neighbors.")
    geo = shortest_path(graph, method="D", directed=False)
    geo = (geo + geo.T) / 2  # d(i, j) and d(j, i) are summed in different orders
    Delta = torch.as_tensor(geo ** 2, dtype=X.dtype, device=X.device)
    return _mds_from_squared(Delta, K, f)


def _landmark_isomap(X: torch.Tensor, K: int, k: int, m: int, f: str) -> torch.Tensor:
    """Landmark ISOMAP (see :func:`isomap`): sparse kNN graph, m Dijkstra runs, LMDS."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components, dijkstra

    from .graphs import _knn_indices

    Xc = X.detach().cpu().to(torch.float64)
    n = Xc.shape[0]
    nbr = _knn_indices(Xc, k)
    rows = np.repeat(np.arange(n), k)
    Xn = Xc.numpy()
    # Edge lengths as in the dense path: the root of a sum of squared differences.
    length = np.sqrt(((Xn[rows] - Xn[nbr.ravel()]) ** 2).sum(axis=1))
    graph = csr_matrix((length, (rows, nbr.ravel())), shape=(n, n))
    n_comp, _ = connected_components(graph, directed=False)
    if n_comp > 1:
        raise ValueError(
            f"The {k}-nearest-neighbour graph of X has {n_comp} connected "
            f"components in {f}, so some geodesic distances are infinite. "
            "Increase n_neighbors.")
    land = np.empty(m, dtype=np.int64)
    dist = np.empty((m, n))
    nearest = np.full(n, np.inf)
    nxt = 0
    for t in range(m):  # MaxMin: the point farthest from the landmarks so far
        land[t] = nxt
        dist[t] = dijkstra(graph, directed=False, indices=nxt)
        nearest = np.minimum(nearest, dist[t])
        nxt = int(np.argmax(nearest))  # first index among ties
    sq = dist ** 2
    Dm = sq[:, land]
    Dm = (Dm + Dm.T) / 2  # d(i, j) and d(j, i) are summed in different orders
    B = Dm - Dm.mean(axis=0, keepdims=True)
    B = -0.5 * (B - B.mean(axis=1, keepdims=True))
    lam, V = eigh_sorted(torch.as_tensor(B))
    lam, V = lam.flip(0), V.flip(1)
    if not float(lam[K - 1]) > _NEG_RTOL * float(lam[0].abs()):
        raise ValueError(
            f"The landmarks span fewer than K={K} dimensions in {f}: eigenvalue {K} of "
            f"their -1/2 H Delta H is {float(lam[K - 1]):.3g}. Use more landmarks.")
    check_gap(lam, K, f, what="eigenvalues of the landmarks' -1/2 H Delta H")
    pinv = (V[:, :K] / lam[:K].sqrt()).numpy()
    Y = -0.5 * (sq - Dm.mean(axis=1, keepdims=True)).T @ pinv
    Y -= Y.mean(axis=0, keepdims=True)
    return sign_flip(torch.as_tensor(Y, dtype=X.dtype, device=X.device))


def whitened_cross_covariance(S_aa: Any, S_ab: Any, S_bb: Any) -> torch.Tensor:
    r"""The whitened cross-covariance whose singular values are the canonical correlations (R8).

    .. math:: T = \Sigma_{aa}^{-1/2}\,\Sigma_{ab}\,\Sigma_{bb}^{-1/2}

    (symmetric inverse square roots).  :func:`cca` takes the SVD of :math:`T`
    built from sample covariances; the same map applied to population
    covariances gives the population :math:`T` (:ref:`ch-cca`).

    Parameters
    ----------
    S_aa : (Da, Da) array_like, symmetric positive definite
    S_ab : (Da, Db) array_like
    S_bb : (Db, Db) array_like, symmetric positive definite

    Returns
    -------
    torch.Tensor, shape (Da, Db)

    Raises
    ------
    ValueError
        If a shape does not match, an entry is not finite, ``S_aa`` or
        ``S_bb`` is not symmetric, or one of them is rank-deficient.
    """
    f = "whitened_cross_covariance"
    S_aa = _v.check_matrix(S_aa, "S_aa", f)
    S_ab = _v.check_matrix(S_ab, "S_ab", f).to(dtype=S_aa.dtype, device=S_aa.device)
    S_bb = _v.check_matrix(S_bb, "S_bb", f).to(dtype=S_aa.dtype, device=S_aa.device)
    for S, name in ((S_aa, "S_aa"), (S_bb, "S_bb")):
        if S.shape[0] != S.shape[1]:
            raise ValueError(f"{name} must be square in {f}, got shape {tuple(S.shape)}.")
        if not torch.allclose(S, S.T, rtol=_SYM_RTOL, atol=_SYM_RTOL * float(S.abs().max())):
            raise ValueError(f"{name} must be symmetric in {f}.")
    if S_ab.shape != (S_aa.shape[0], S_bb.shape[0]):
        raise ValueError(f"S_ab has shape {tuple(S_ab.shape)} in {f}; S_aa and S_bb "
                         f"need ({S_aa.shape[0]}, {S_bb.shape[0]}).")
    return (inv_sqrt_psd(S_aa, "S_aa", f) @ S_ab) @ inv_sqrt_psd(S_bb, "S_bb", f)


def cca(Xa: Any, Xb: Any, K: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Canonical correlation analysis by whitening and SVD (R8).

    .. math:: \max_{W_a, W_b} \operatorname{tr}(W_a^\top\Sigma_{ab}W_b)
              \quad\text{s.t.}\quad W_a^\top\Sigma_{aa}W_a = W_b^\top\Sigma_{bb}W_b = I_K,

    :math:`\Sigma_{ab} = X_a^\top H X_b / N` (biased).  With the SVD
    :math:`\Sigma_{aa}^{-1/2}\Sigma_{ab}\Sigma_{bb}^{-1/2} = U\operatorname{diag}(\rho)V^\top`,
    :math:`W_a = \Sigma_{aa}^{-1/2}U_K`, :math:`W_b = \Sigma_{bb}^{-1/2}V_K`,
    and :math:`\rho_k` is the correlation of the :math:`k`-th pair of
    canonical variates :math:`HX_aw_{a,k}`, :math:`HX_bw_{b,k}`.

    Parameters
    ----------
    Xa : (N, Da) array_like
    Xb : (N, Db) array_like
    K : int, 1 <= K <= min(Da, Db)

    Returns
    -------
    Wa : torch.Tensor, shape (Da, K)
    Wb : torch.Tensor, shape (Db, K)
    rho : torch.Tensor, shape (K,)
        Canonical correlations, descending, in [0, 1].  Each pair is
        positively correlated; its sign is fixed by making the
        largest-magnitude entry of the column of ``Wa`` positive.
        :math:`W_a^\top\Sigma_{aa}W_a = W_b^\top\Sigma_{bb}W_b = I`,
        :math:`W_a^\top\Sigma_{ab}W_b = \operatorname{diag}(\rho)`.

    Raises
    ------
    ValueError
        If the row counts differ, ``K`` is out of range, or
        :math:`\Sigma_{aa}` or :math:`\Sigma_{bb}` is rank-deficient.

    Warns
    -----
    UserWarning
        If :math:`\rho_K = \rho_{K+1}` (the canonical subspaces are not unique).
    """
    f = "cca"
    Xa = _v.check_matrix(Xa, "Xa", f)
    Xb = _v.check_matrix(Xb, "Xb", f).to(dtype=Xa.dtype, device=Xa.device)
    _v.check_rows(Xa.shape[0], Xb, "Xb", f, other="Xa")
    K = _v.check_int(K, "K", f, 1, min(Xa.shape[1], Xb.shape[1]))
    n = Xa.shape[0]
    Xa = Xa - Xa.mean(dim=0, keepdim=True)
    Xb = Xb - Xb.mean(dim=0, keepdim=True)
    Sa = inv_sqrt_psd(Xa.T @ Xa / n, "The covariance Xa^T H Xa / N", f)
    Sb = inv_sqrt_psd(Xb.T @ Xb / n, "The covariance Xb^T H Xb / N", f)
    # Largest singular values of the whitened cross-covariance (descending).
    U, rho, Vh = torch.linalg.svd(Sa @ (Xa.T @ Xb / n) @ Sb, full_matrices=False)
    check_gap(rho, K, f, what="canonical correlations")
    Wa, Wb = Sa @ U[:, :K], Sb @ Vh[:K].T
    # One flip per pair: the largest-magnitude entry of Wa's column positive; the same
    # flip of Wb's column keeps the pair's correlation rho_k >= 0.
    idx = Wa.abs().argmax(dim=0)
    flip = torch.sign(Wa[idx, torch.arange(K, device=Wa.device)])
    flip[flip == 0] = 1
    return Wa * flip, Wb * flip, rho[:K].clamp(0.0, 1.0)


def lda(X: Any, y: Any, K: int) -> torch.Tensor:
    r"""Fisher linear discriminant analysis (R16).

    .. math:: \max_W \operatorname{tr}(W^\top S_b W) \quad\text{s.t.}\quad W^\top S_w W = I_K,

    :math:`S_w = \frac1N\sum_i (x_i - m_{y_i})(x_i - m_{y_i})^\top`,
    :math:`S_b = \frac1N\sum_c n_c (m_c - m)(m_c - m)^\top` (class means
    :math:`m_c`, overall mean :math:`m`).  The maximiser is
    :math:`W = S_w^{-1/2}V_K`, :math:`V_K` the eigenvectors of
    :math:`S_w^{-1/2}S_bS_w^{-1/2}` for its :math:`K` largest eigenvalues:
    the top generalised eigenvectors of :math:`(S_b, S_w)`.  R16 shows that
    linear VICReg/LPP with the label graph spans the same subspace.

    Parameters
    ----------
    X : (N, d) array_like
    y : (N,) array_like of class labels (at least 2 classes)
    K : int, 1 <= K <= min(n_classes - 1, d)

    Returns
    -------
    W : torch.Tensor, shape (d, K)
        Columns by descending eigenvalue, each column's largest-magnitude entry
        positive, :math:`W^\top S_w W = I`.  Spans the same subspace as
        ``LinearDiscriminantAnalysis(solver="eigen").scalings_[:, :K]``
        (whose :math:`S_w` is the prior-weighted class covariance, the same
        matrix).

    Raises
    ------
    ValueError
        If the inputs are invalid, there are fewer than 2 classes, ``K`` is
        out of range, or :math:`S_w` is singular.

    Warns
    -----
    UserWarning
        On a tie at the cut.
    """
    f = "lda"
    X = _v.check_matrix(X, "X", f)
    y_arr = np.asarray(y.detach().cpu() if isinstance(y, torch.Tensor) else y)
    if y_arr.ndim != 1 or len(y_arr) != X.shape[0]:
        raise ValueError(f"The 'y' parameter of {f} must be a 1-d array with one label "
                         f"per row of X ({X.shape[0]}). Got shape {y_arr.shape} instead.")
    classes, codes = np.unique(y_arr, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(f"{f} needs at least 2 classes in y: got {len(classes)}.")
    K = _v.check_int(K, "K", f, 1, min(len(classes) - 1, X.shape[1]))
    n = X.shape[0]
    onehot = torch.zeros(n, len(classes), dtype=X.dtype, device=X.device)
    onehot[torch.arange(n), torch.as_tensor(codes, device=X.device)] = 1.0
    counts = onehot.sum(dim=0)
    means = (onehot.T @ X) / counts[:, None]
    Xw = X - onehot @ means
    Sw = Xw.T @ Xw / n
    Mc = means - X.mean(dim=0, keepdim=True)
    Sb = Mc.T @ (counts[:, None] * Mc) / n
    Sw_isqrt = inv_sqrt_psd(Sw, "The within-class scatter S_w", f)
    M = Sw_isqrt @ Sb @ Sw_isqrt
    # Largest eigenvalues of S_w^{-1/2} S_b S_w^{-1/2}: ascending eigh, reversed.
    mu, V = eigh_sorted((M + M.T) / 2)
    mu, V = mu.flip(0), V.flip(1)
    check_gap(mu, K, f, what="discriminant eigenvalues")
    return sign_flip(Sw_isqrt @ V[:, :K])


# ---------------------------------------------------------------------------
# out-of-sample extension (MLP chapter)
# ---------------------------------------------------------------------------

def nystrom_extension(W_new: Any, Z: Any, lam: Any) -> torch.Tensor:
    r"""Nyström extension of Laplacian eigenvectors to new rows (R10, :ref:`ch-vicreg-mlp`).

    A column :math:`u` of ``Z`` with :math:`Lu = \lambda u`,
    :math:`L = D - G`, satisfies at every training row
    :math:`(d_i - \lambda)\,u_i = \sum_j G_{ij}u_j`.  A new row :math:`m` with
    weights :math:`w_{mj}` to the training rows (and degree
    :math:`d_m = \sum_j w_{mj}`) is given the value that makes the same
    equation hold at it, the training rows unchanged:

    .. math:: u^{\mathrm{new}}_m = \frac{\sum_j w_{mj}\,u_j}{d_m - \lambda}.

    This is the Nyström formula for the unnormalised Laplacian (Bengio et al.,
    2004, "Out-of-sample extensions for LLE, Isomap, MDS, Eigenmaps, and
    Spectral Clustering").  Applied column by column to the VICReg optimum
    :math:`Z^\star = \sqrt N\,U\operatorname{diag}(\sqrt c)` (R10, ``Q = I``,
    ``lam`` its ``Details.eigenvalues``) it extends each scaled eigenvector by
    linearity.  With ``lam = 0`` it is the weighted mean of the neighbours'
    rows (kNN regression), the minimiser of the new row's invariance term
    :math:`\sum_j w_{mj}\|z_m - z_j\|^2` with the training rows held fixed.

    Parameters
    ----------
    W_new : (M, N) array_like
        Non-negative weights from each new row to the training rows (e.g.
        :func:`sslspec_lib.graphs.knn_cross_graph`); every row must have a
        degree above ``max(lam)``.
    Z : (N, K) array_like
        Training embedding, column ``k`` an eigenvector (any scale) of
        :math:`L` with eigenvalue ``lam[k]``.
    lam : float or (K,) array_like of floats >= 0
        The eigenvalues, one per column (a float: the same for all).

    Returns
    -------
    torch.Tensor, shape (M, K), in ``Z``'s dtype and on its device.

    Raises
    ------
    ValueError
        If the shapes do not match, a weight or eigenvalue is negative, or a
        new row's degree is not above the largest eigenvalue (the formula
        would divide by zero or flip signs).
    """
    f = "nystrom_extension"
    Z = _v.check_matrix(Z, "Z", f)
    W = _v.check_matrix(W_new, "W_new", f).to(Z)
    if W.shape[1] != Z.shape[0]:
        raise ValueError(f"W_new must have one column per row of Z in {f}: W_new has "
                         f"{W.shape[1]} columns, Z has {Z.shape[0]} rows.")
    if bool((W < 0).any()):
        raise ValueError(f"W_new must be non-negative in {f}: min entry {float(W.min()):.3g}.")
    lam_t = torch.as_tensor(lam, dtype=Z.dtype).to(Z.device).reshape(-1)
    if lam_t.numel() == 1:
        lam_t = lam_t.expand(Z.shape[1])
    if lam_t.numel() != Z.shape[1]:
        raise ValueError(f"lam must have one eigenvalue per column of Z in {f}: got "
                         f"{lam_t.numel()} for {Z.shape[1]} columns.")
    if not bool(torch.isfinite(lam_t).all()) or bool((lam_t < 0).any()):
        raise ValueError(f"lam must be finite and >= 0 in {f} (Laplacian eigenvalues).")
    d = W.sum(dim=1, keepdim=True)
    low = float((d[:, 0] - lam_t.max()).min())
    if low <= 0:
        raise ValueError(f"Every new row's degree must exceed max(lam) = "
                         f"{float(lam_t.max()):.3g} in {f}: the smallest degree is "
                         f"{float(d.min()):.3g}. Give the new rows more neighbours.")
    # Row equation of L u = lam u at the new row, the training rows held fixed.
    return (W @ Z) / (d - lam_t)


# -- InfoNCE on a general G: the ISOMAP prediction made from G alone ------------------------

def graph_isomap(G: Any, K: int, *, length: str = "inverse") -> torch.Tensor:
    r"""Classical MDS of the shortest-path distances of :math:`G`'s graph (R12, R7).

    The "kernel ISOMAP / MDS" prediction for InfoNCE on a weighted relation
    matrix (:ref:`ch-infonce-general`): edges are the pairs with
    :math:`G_{ij} > 0`, with length :math:`1/G_{ij}` (``length="inverse"``:
    a strong relation is a short edge) or :math:`1` (``length="hop"``: hop
    count); :math:`d_G` is the shortest-path distance (Dijkstra) and

    .. math:: Y = \text{top-}K\text{ eigenvectors of }
              -\tfrac12 H \Delta H \text{ scaled by } \sqrt\lambda,
              \qquad \Delta_{ij} = d_G(i, j)^2,

    as :func:`classical_mds` (same column order and sign rule).  Unlike
    :func:`isomap`, which builds a kNN graph from points with Euclidean edge
    lengths, only :math:`G` is used.

    Parameters
    ----------
    G : (N, N) array_like
        A valid relation matrix (symmetric, non-negative, finite) with a zero
        diagonal, whose graph is connected.
    K : int, 1 <= K <= N - 1
    length : {"inverse", "hop"}, default "inverse"

    Returns
    -------
    Y : torch.Tensor, shape (N, K)
        In ``G``'s dtype and device; centred.

    Raises
    ------
    ValueError
        If ``G`` is not a valid relation matrix with zero diagonal, its graph
        is disconnected (some distances are infinite), ``K`` is out of range
        or ``length`` is unknown.

    Warns
    -----
    UserWarning
        If a kept eigenvalue of :math:`-\tfrac12 H\Delta H` is negative (graph
        distances need not be Euclidean); on a tie at the cut.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components, shortest_path

    f = "graph_isomap"
    G = _v.check_graph(G, f, zero_diagonal=True)
    n = G.shape[0]
    if n < 2:
        raise ValueError(f"G must have at least 2 rows in {f}: got {n}.")
    K = _v.check_int(K, "K", f, 1, n - 1)
    if length not in ("inverse", "hop"):
        raise ValueError(f"The 'length' parameter of {f} must be 'inverse' or 'hop'. "
                         f"Got {length!r} instead.")
    Gn = G.detach().cpu().to(torch.float64).numpy()
    edge = Gn > 0
    w = np.zeros_like(Gn)
    w[edge] = 1.0 / Gn[edge] if length == "inverse" else 1.0
    graph = csr_matrix(w)
    n_comp, _ = connected_components(graph, directed=False)
    if n_comp > 1:
        raise ValueError(f"The graph of G has {n_comp} connected components in {f}, so "
                         "some shortest-path distances are infinite; an augmentation "
                         "graph (disjoint cliques) has no graph distance across groups.")
    geo = shortest_path(graph, method="D", directed=False)
    geo = (geo + geo.T) / 2
    Delta = torch.as_tensor(geo ** 2, dtype=G.dtype, device=G.device)
    return _mds_from_squared(Delta, K, f)
