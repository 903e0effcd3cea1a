r"""Relation matrices and the matrices built from them.

The relation matrix :math:`G \in \mathbb{R}^{N\times N}` is symmetric and
non-negative; :math:`G_{ij} > 0` iff rows :math:`i` and :math:`j` form a
positive pair.  From it come the degree matrix :math:`D = \operatorname{diag}(G\mathbf 1)`,
the (unnormalised) Laplacian :math:`L = D - G` and, independently of
:math:`G`, the centering matrix :math:`H = I - \mathbf 1\mathbf 1^\top/N`
(:ref:`ch-notation`).

Row order for augmentations is **sample-major**: row ``i * V + v`` is view
``v`` of sample ``i``.

Sparse graphs: every function that takes a ``G`` also accepts a
``scipy.sparse`` matrix (or a sparse torch tensor), validated as strictly as a
dense one; functions that return a matrix built from ``G`` then return a
``scipy.sparse.csr_matrix``.  :func:`knn_graph` and :func:`augmentation_graph`
build one with ``sparse=True``.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp
import torch

from . import _validation as _v

__all__ = [
    "augmentation_graph",
    "label_graph",
    "knn_graph",
    "degree",
    "laplacian",
    "centering",
    "validate_graph",
    "components",
    "knn_cross_graph",
    "planted_components",
    "nnclr_graph",
    "nnclr_alternation",
]


def validate_graph(G: Any, *, zero_diagonal: bool = False) -> torch.Tensor:
    """Check that ``G`` is a valid relation matrix and return it as a tensor.

    Parameters
    ----------
    G : array_like or sparse matrix, shape (N, N)
        Square, symmetric (exactly), finite, non-negative, ``N >= 2``.
    zero_diagonal : bool, default False
        Also require ``G_ii = 0``.

    Returns
    -------
    torch.Tensor or scipy.sparse.csr_matrix
        ``G`` as a floating tensor (integer input becomes float64); a sparse
        ``G`` as a canonical float64 CSR matrix.

    Raises
    ------
    ValueError
        Naming the defect and where it is, e.g.
        ``"G must be symmetric in validate_graph: max |G - G.T| = 0.5 at (0, 3)."``
    """
    return _v.check_graph(G, "validate_graph", zero_diagonal=zero_diagonal,
                          allow_sparse=True)


def augmentation_graph(n_samples: int, n_views: int, *,
                       dtype: torch.dtype = torch.float64,
                       device: torch.device | str | None = None,
                       sparse: bool = False) -> Any:
    r"""Relation matrix of ``n_samples`` samples seen in ``n_views`` views each.

    .. math:: G = I_{N'} \otimes (\mathbf 1_V \mathbf 1_V^\top - I_V),

    block-diagonal with one clique of size :math:`V` per original sample and
    a zero diagonal, in sample-major row order (row ``i*V + v`` is view ``v``
    of sample ``i``).  Serves R1, R9–R14.

    Parameters
    ----------
    n_samples : int, >= 1
        :math:`N'`, the number of original samples.
    n_views : int, >= 2
        :math:`V`, the number of views of each sample.
    sparse : bool, default False
        Return a ``scipy.sparse.csr_matrix`` (float64, :math:`N'V(V-1)`
        stored entries) instead of a dense tensor.

    Returns
    -------
    torch.Tensor or scipy.sparse.csr_matrix, shape (n_samples * n_views, n_samples * n_views)
    """
    f = "augmentation_graph"
    n_samples = _v.check_int(n_samples, "n_samples", f, 1)
    n_views = _v.check_int(n_views, "n_views", f, 2)
    if sparse:
        block = sp.csr_matrix(np.ones((n_views, n_views)) - np.eye(n_views))
        G = sp.kron(sp.identity(n_samples, format="csr"), block, format="csr")
        G.eliminate_zeros()
        return G
    block = torch.ones(n_views, n_views, dtype=dtype) - torch.eye(n_views, dtype=dtype)
    G = torch.kron(torch.eye(n_samples, dtype=dtype), block)
    return G.to(device) if device is not None else G


def label_graph(y: Any, *, dtype: torch.dtype = torch.float64,
                device: torch.device | str | None = None) -> torch.Tensor:
    r"""Relation matrix of a labelling: :math:`G_{ij} = 1[y_i = y_j]` for :math:`i \ne j`.

    The graph of R16 (a relation matrix aligned with the downstream task).

    Parameters
    ----------
    y : array_like of int, shape (N,)
        Labels; ``N >= 2``.

    Returns
    -------
    torch.Tensor, shape (N, N), zero diagonal.
    """
    f = "label_graph"
    t = torch.as_tensor(y) if not isinstance(y, torch.Tensor) else y
    if t.ndim != 1 or t.numel() < 2:
        raise ValueError(f"The 'y' parameter of {f} must be a 1-d array with at "
                         f"least 2 labels. Got shape {tuple(t.shape)} instead.")
    if t.is_floating_point():
        if not bool(torch.isfinite(t).all()) or not bool((t == t.round()).all()):
            raise ValueError(f"The 'y' parameter of {f} must hold integer labels.")
    G = (t[:, None] == t[None, :]).to(dtype)
    G.fill_diagonal_(0)
    return G.to(device) if device is not None else G


def knn_graph(X: Any, k: int, *, sparse: bool = False) -> Any:
    r"""Symmetrised k-nearest-neighbour graph of the rows of ``X``.

    :math:`G_{ij} = 1` if :math:`j` is among the ``k`` nearest neighbours of
    :math:`i` (Euclidean, the point itself excluded) **or** :math:`i` among
    those of :math:`j`; zero diagonal.  The union symmetrisation is the one
    used by Laplacian Eigenmaps (R5) and scikit-learn's
    ``SpectralEmbedding(affinity="nearest_neighbors")``.  Distances are
    computed on the CPU without the matrix-product shortcut and ties are
    broken by the row index (stable sort), so the graph is the same on every
    device.

    Parameters
    ----------
    X : array_like, shape (N, d)
    k : int, 1 <= k <= N - 1
    sparse : bool, default False
        Return a ``scipy.sparse.csr_matrix`` (float64) built without any
        :math:`N\times N` array: candidates come from scikit-learn's
        ``NearestNeighbors`` (:math:`k + 8` per row; a k-d tree for
        :math:`d \le 5`, where it prunes well, and its chunked brute-force
        search otherwise, which beats a tree in 10 dimensions by 4x at
        :math:`N = 2\cdot 10^4` and more beyond), their distances are
        recomputed as in the dense path and sorted by (distance, index); a row
        whose :math:`k`-th distance is within the candidate search's rounding
        of the last candidate's (a possible tie beyond the candidates) is
        recomputed against every point.  Hence the same graph as
        ``sparse=False``, entry for entry.

    Returns
    -------
    torch.Tensor, shape (N, N), binary, symmetric, zero diagonal (on the
    device of ``X``); or its CSR matrix with ``sparse=True``.
    """
    f = "knn_graph"
    X = _v.check_matrix(X, "X", f)
    n = X.shape[0]
    k = _v.check_int(k, "k", f, 1, n - 1)
    # Distances on the CPU without the matrix-product shortcut: exact ties (say,
    # pixels on a grid of 1/16) stay exact, so the graph is the same on every
    # device and thread count.
    Xc = X.detach().cpu()
    if sparse:
        idx = _knn_indices(Xc, k)
        rows = np.repeat(np.arange(n), k)
        A = sp.csr_matrix((np.ones(n * k), (rows, idx.ravel())), shape=(n, n))
        return A.maximum(A.T).tocsr()
    d = torch.cdist(Xc, Xc, compute_mode="donot_use_mm_for_euclid_dist")
    d.fill_diagonal_(float("inf"))
    idx = torch.sort(d, dim=1, stable=True).indices[:, :k]
    G = torch.zeros(n, n, dtype=X.dtype)
    G.scatter_(1, idx, 1.0)
    return torch.maximum(G, G.T).to(X.device)


def _knn_indices(Xc: torch.Tensor, k: int, *, margin: int = 8,
                 chunk: int = 4096) -> np.ndarray:
    """(N, k) indices of the k nearest other rows, ties by index, as the dense path."""
    from sklearn.neighbors import NearestNeighbors

    n, dim = Xc.shape
    kc = min(n, k + 1 + margin)
    Xn = Xc.to(torch.float64).numpy()
    # A k-d tree computes exact distances; the brute-force search uses the
    # matrix-product form |x|^2 - 2 x.y + |y|^2, whose rounding error on a
    # squared distance is at most ~ dim * eps * (|x|^2 + |y|^2) (Higham, ch. 3;
    # a factor 4 to spare).  A true neighbour can be missing from the
    # candidates only if the last candidate's exact distance exceeds the k-th
    # by at most twice the search's error on a distance; such rows are redone.
    algorithm = "kd_tree" if dim <= 5 else "brute"
    cand = NearestNeighbors(n_neighbors=kc, algorithm=algorithm).fit(Xn).kneighbors(
        Xn, return_distance=False)
    sq = (Xc.to(torch.float64) ** 2).sum(dim=1)
    sq_err = (4 * (dim + 2) * float(np.finfo(np.float64).eps)
              * (sq + sq.max()) if algorithm == "brute" else torch.zeros(n))
    cand = np.sort(cand, axis=1)  # index order: a stable sort then breaks ties by index
    out = np.empty((n, k), dtype=np.int64)
    redo = []
    for s in range(0, n, chunk):
        c = torch.as_tensor(cand[s:s + chunk])
        rows = torch.arange(s, s + c.shape[0])
        # The same per-pair kernel as the dense path, batched over rows.
        dist = torch.cdist(Xc[rows][:, None, :], Xc[c],
                           compute_mode="donot_use_mm_for_euclid_dist")[:, 0, :]
        dist[c == rows[:, None]] = float("inf")  # the point itself
        order = torch.sort(dist, dim=1, stable=True).indices
        dk = dist.gather(1, order[:, k - 1:k])[:, 0]
        finite = torch.where(torch.isinf(dist), -torch.inf, dist)
        last = finite.max(dim=1).values
        out[s:s + c.shape[0]] = c.gather(1, order[:, :k]).numpy()
        # A tie with a point beyond the candidates is possible: redo the row.
        # The search's error on a distance d is at most sq_err / (2 d) (from
        # the squared distance), and twice that separates a missed neighbour.
        e = sq_err[rows]
        search_err = torch.where(dk > 0, e / (2 * dk.clamp_min(1e-300)), torch.inf)
        search_err = torch.where(e > 0, search_err, torch.zeros_like(e))
        unsafe = (kc < n) & (last - dk <= 2 * search_err + 1e-9 * last)
        redo.extend((rows[unsafe]).tolist())
    for i in redo:
        d = torch.cdist(Xc[i:i + 1], Xc, compute_mode="donot_use_mm_for_euclid_dist")[0]
        d[i] = float("inf")
        out[i] = torch.sort(d, stable=True).indices[:k].numpy()
    return out


def degree(G: Any) -> torch.Tensor:
    r"""Degree matrix :math:`D = \operatorname{diag}(G\mathbf 1)`.

    Returns
    -------
    torch.Tensor, shape (N, N), diagonal; a ``scipy.sparse`` diagonal CSR
    matrix for a sparse ``G``.
    """
    G = _v.check_graph(G, "degree", allow_sparse=True)
    if not isinstance(G, torch.Tensor):
        return sp.diags(np.asarray(G.sum(axis=1)).ravel(), format="csr")
    return torch.diag(G.sum(dim=1))


def laplacian(G: Any, normalized: bool = False) -> torch.Tensor:
    r"""Graph Laplacian of a relation matrix.

    Unnormalised (default): :math:`L = D - G`, symmetric positive
    semi-definite with :math:`L\mathbf 1 = 0`, and
    :math:`\sum_{ij} G_{ij}\|z_i - z_j\|^2 = 2\operatorname{tr}(Z^\top L Z)` (R1).

    Normalised: :math:`L_{\mathrm{sym}} = I - D^{-1/2} G D^{-1/2}`, which needs
    every degree to be positive (R5, Laplacian Eigenmaps with the degree
    constraint).

    Parameters
    ----------
    G : array_like or sparse matrix, shape (N, N)
        A valid relation matrix (see :func:`validate_graph`).  For a sparse
        ``G`` the Laplacian is a ``scipy.sparse.csr_matrix``.
    normalized : bool, default False

    Raises
    ------
    ValueError
        If ``G`` is invalid, or ``normalized=True`` and a row of ``G`` sums to 0
        (an isolated vertex has no normalised Laplacian).
    """
    G = _v.check_graph(G, "laplacian", allow_sparse=True)
    if not isinstance(G, torch.Tensor):
        d = np.asarray(G.sum(axis=1)).ravel()
        if not normalized:
            return (sp.diags(d) - G).tocsr()
        if bool((d <= 0).any()):
            raise ValueError(
                "laplacian(normalized=True) needs every degree > 0: row "
                f"{int(np.flatnonzero(d <= 0)[0])} of G sums to 0 (an isolated vertex).")
        S = sp.diags(1.0 / np.sqrt(d))
        return (sp.identity(G.shape[0], format="csr") - S @ G @ S).tocsr()
    d = G.sum(dim=1)
    if not normalized:
        return torch.diag(d) - G
    if bool((d <= 0).any()):
        i = int((d <= 0).nonzero()[0])
        raise ValueError(
            "laplacian(normalized=True) needs every degree > 0: row "
            f"{i} of G sums to 0 (an isolated vertex).")
    s = d.rsqrt()
    return torch.eye(G.shape[0], dtype=G.dtype, device=G.device) - s[:, None] * G * s[None, :]


def centering(n: int, *, dtype: torch.dtype = torch.float64,
              device: torch.device | str | None = None) -> torch.Tensor:
    r"""Centering matrix :math:`H = I_n - \mathbf 1\mathbf 1^\top / n`.

    :math:`HZ` subtracts the column means of :math:`Z`; :math:`H` is the
    orthogonal projector onto :math:`\mathbf 1^\perp`.
    """
    n = _v.check_int(n, "n", "centering", 1)
    H = torch.eye(n, dtype=dtype) - torch.full((n, n), 1.0 / n, dtype=dtype)
    return H.to(device) if device is not None else H


def components(G: Any) -> torch.Tensor:
    """Connected-component label of every row of ``G`` (labels 0, 1, ...).

    Components are numbered in order of their smallest row index.  The number
    of components is the multiplicity of the eigenvalue 0 of :math:`L`.
    Dense or sparse ``G``; :math:`O(N + \text{nnz})` (SciPy's
    ``connected_components``, relabelled by first row).  The labels are on
    ``G``'s device for a torch ``G`` (on the CPU for a SciPy matrix).
    """
    from scipy.sparse.csgraph import connected_components

    G = _v.check_graph(G, "components", allow_sparse=True)
    dev = G.device if isinstance(G, torch.Tensor) else torch.device("cpu")
    if isinstance(G, torch.Tensor):
        A = sp.csr_matrix((G > 0).cpu().numpy())
    else:
        A = G
    _, lab = connected_components(A, directed=False)
    # Renumber in order of first appearance (smallest row index first).
    _, first = np.unique(lab, return_index=True)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first)] = np.arange(first.size)
    return torch.as_tensor(rank[lab], dtype=torch.long, device=dev)


def planted_components(sizes: Any, seed: int, *, dtype: torch.dtype = torch.float64,
                       device: torch.device | str | None = None) -> torch.Tensor:
    r"""A random weighted relation matrix with planted connected components.

    :math:`G_{ij} = (W_{ij} + W_{ji})/2` for :math:`i \ne j` in the same block,
    :math:`W_{ij}` uniform in :math:`[0, 1)`, and :math:`0` across blocks and
    on the diagonal: block :math:`b` has ``sizes[b]`` rows (consecutive), so
    :math:`L` has the eigenvalue :math:`0` exactly ``len(sizes)`` times
    (almost surely; :func:`components` finds the blocks).  Drawn on the CPU
    from ``seed``.

    Raises
    ------
    ValueError
        If ``sizes`` is empty or has a block of fewer than 2 rows.
    """
    from .device import generator

    f = "planted_components"
    sizes = [_v.check_int(s, "sizes[i]", f, 2) for s in list(sizes)]
    if not sizes:
        raise ValueError(f"The 'sizes' parameter of {f} must list at least one block size.")
    seed = _v.check_int(seed, "seed", f, 0)
    n = sum(sizes)
    W = torch.rand(n, n, generator=generator(seed), dtype=torch.float64)
    mask = torch.block_diag(*[torch.ones(s, s, dtype=torch.float64) for s in sizes])
    G = ((W + W.T) / 2 * mask).fill_diagonal_(0)
    return G.to(dtype=dtype, device=device)


# -- NNCLR / MeanShift: a relation matrix built from the representation ---------------

class NNGraph(NamedTuple):
    """What :func:`nnclr_graph` returns with ``return_details=True``."""

    G: torch.Tensor
    """The symmetrised relation matrix :math:`(A + A^\\top)/2`, (N, N)."""
    A: torch.Tensor
    """The directed matrix: :math:`A_{rs} = 1/k` for :math:`s \\in \\mathcal N_k(r)`."""
    neighbours: torch.Tensor
    """(N, k) long tensor: row ``r``'s positives, nearest first."""
    margin: torch.Tensor
    """(N,) distance from each target to its first candidate left out minus the
    distance to its ``k``-th neighbour (``inf`` when no candidate is left out):
    the decision is strict where it is positive."""


def nnclr_graph(Z: Any, n_views: int = 2, *, k: int = 1, support: Any = None,
                exclude_sample: bool = True, metric: str = "euclidean",
                return_details: bool = False) -> Any:
    r"""NNCLR (``k = 1``) / MeanShift (``k > 1``) relation matrix on a batch (R12).

    Rows are sample-major (row ``i*V + v`` is view ``v`` of sample ``i``).
    For row :math:`r = (i, v)` let :math:`t(r) = (i, v + 1 \bmod V)` be its
    *target*, the other view (for :math:`V = 2`), and
    :math:`\mathcal N_k(r)` the ``k`` candidates nearest to :math:`z_{t(r)}`.
    The candidates are the rows of the support set (``support``, default every
    row) other than :math:`r` itself and, with ``exclude_sample=True``, other
    than every view of sample :math:`i` (a queue that does not hold the
    current sample).  NNCLR pairs :math:`z_r` with the nearest neighbour of
    its other view; MeanShift with the mean of its ``k`` nearest neighbours.
    In relation-matrix form:

    .. math:: A_{rs} = \tfrac1k\,\mathbf 1[s \in \mathcal N_k(r)], \qquad
              G(Z) = \tfrac12 (A + A^\top).

    The average is the symmetrisation: every loss that sees :math:`G` through a
    symmetric pair term, :math:`\sum_{rs} A_{rs} f(z_r, z_s)` with
    :math:`f(a, b) = f(b, a)` (the spectral contrastive loss, the invariance
    term), takes the same value with :math:`A` and with :math:`(A + A^\top)/2`.
    Row sums of :math:`A` are 1, so :math:`\mathbf 1^\top G \mathbf 1 = N`.

    With ``exclude_sample=False`` and ``k = 1`` the target itself is the
    nearest candidate (distance 0), so :math:`G` is the augmentation graph
    with weight 1: NNCLR is then SimCLR (tested).

    Distances are computed on the CPU without the matrix-product shortcut and
    ties are broken by the row index (stable sort), so the graph is
    deterministic; ``margin`` says how far each decision is from a tie.

    Parameters
    ----------
    Z : array_like, shape (N, K)
        The representation, ``N = N' * n_views``.
    n_views : int, >= 2
        :math:`V`; ``N`` must be a multiple of it.
    k : int, >= 1
        Number of neighbours (1: NNCLR; > 1: MeanShift).
    support : array_like of int, optional
        Row indices of the support set (distinct, in ``[0, N)``); default all rows.
    exclude_sample : bool, default True
        Leave the views of the current sample out of its candidates.
    metric : {"euclidean", "cosine"}
        ``"cosine"`` ranks by the distance between the normalised rows
        :math:`z/\|z\|` (NNCLR's, as its embeddings are normalised; no zero row).
    return_details : bool, default False
        Return an :class:`NNGraph` (``G``, ``A``, ``neighbours``, ``margin``).

    Returns
    -------
    torch.Tensor, shape (N, N), symmetric, non-negative, zero diagonal, float64
    on ``Z``'s device; or an :class:`NNGraph`.

    Raises
    ------
    ValueError
        If ``N`` is not a multiple of ``n_views``, a row has fewer than ``k``
        candidates, ``support`` is invalid, ``metric`` is unknown, or a row is
        zero with ``metric="cosine"``.
    """
    f = "nnclr_graph"
    Z = _v.check_matrix(Z, "Z", f)
    n = Z.shape[0]
    n_views = _v.check_int(n_views, "n_views", f, 2)
    if n % n_views:
        raise ValueError(f"Z must have a multiple of n_views = {n_views} rows in {f} "
                         f"(sample-major views). Got {n} rows.")
    k = _v.check_int(k, "k", f, 1)
    if metric not in ("euclidean", "cosine"):
        raise ValueError(f"The 'metric' parameter of {f} must be one of 'euclidean', "
                         f"'cosine'. Got {metric!r} instead.")
    if support is None:
        in_support = torch.ones(n, dtype=torch.bool)
    else:
        s = torch.as_tensor(np.asarray(support))
        if (s.ndim != 1 or s.numel() == 0 or s.is_floating_point()
                or s.dtype == torch.bool):
            raise ValueError(f"The 'support' parameter of {f} must be a non-empty 1-d "
                             f"array of row indices. Got {support!r} instead.")
        s = s.to(torch.long)
        if (bool((s < 0).any()) or bool((s >= n).any())
                or s.unique().numel() != s.numel()):
            raise ValueError(f"The 'support' parameter of {f} must hold distinct row "
                             f"indices in [0, {n}). Got {s.tolist()} instead.")
        in_support = torch.zeros(n, dtype=torch.bool)
        in_support[s] = True
    Xc = Z.detach().cpu().to(torch.float64)
    if metric == "cosine":
        norms = Xc.norm(dim=1)
        if bool((norms == 0).any()):
            raise ValueError(f"Z must have no zero row in {f} with metric='cosine': "
                             f"row {int((norms == 0).nonzero()[0])} is zero.")
        Xc = Xc / norms[:, None]
    rows = torch.arange(n)
    sample = rows // n_views
    target = sample * n_views + (rows % n_views + 1) % n_views
    allowed = in_support[None, :].expand(n, n).clone()
    allowed[rows, rows] = False
    if exclude_sample:
        allowed &= sample[:, None] != sample[None, :]
    counts = allowed.sum(dim=1)
    if bool((counts < k).any()):
        r = int((counts < k).nonzero()[0])
        raise ValueError(f"Row {r} has {int(counts[r])} candidates in {f}, fewer than "
                         f"k = {k}: enlarge the support set or lower k.")
    d = torch.cdist(Xc, Xc, compute_mode="donot_use_mm_for_euclid_dist")[target]
    d = d.masked_fill(~allowed, float("inf"))
    dist, order = torch.sort(d, dim=1, stable=True)
    nb = order[:, :k]
    A = torch.zeros(n, n, dtype=torch.float64)
    A.scatter_(1, nb, 1.0 / k)
    G = ((A + A.T) / 2).to(Z.device)
    if not return_details:
        return G
    nxt = torch.where(counts > k, dist[:, min(k, n - 1)], torch.full((n,), float("inf"),
                                                                  dtype=torch.float64))
    margin = nxt - dist[:, k - 1]
    return NNGraph(G, A.to(Z.device), nb, margin)


class Alternation(NamedTuple):
    """What :func:`nnclr_alternation` returns."""

    Zs: list
    """The representations :math:`Z_0, Z_1, \\dots` (``Zs[t+1] = solve(Gs[t])``)."""
    graphs: list
    """The :class:`NNGraph` of each :math:`Z_t` (``graphs[t]`` built from ``Zs[t]``)."""
    status: str
    """``"fixed point"``, ``"cycle"`` or ``"max_steps"``."""
    steps: int
    """Number of solves until the neighbours repeated (or ``max_steps``)."""
    period: int
    """Length of the cycle reached (1 for a fixed point, 0 if none)."""


def nnclr_alternation(Z0: Any, solve: Any, n_views: int = 2, *, max_steps: int = 50,
                      **graph_kw: Any) -> Alternation:
    r"""Alternate "build G from Z" and "minimise the loss for that G" (R12).

    :math:`G_t = G(Z_t)` (:func:`nnclr_graph`), :math:`Z_{t+1} = \text{solve}(G_t)`,
    until the neighbour sets of some :math:`Z_t` repeat those of an earlier
    :math:`Z_s`: then :math:`G_t = G_s` and, ``solve`` being deterministic,
    the sequence of graphs is periodic from :math:`s` on with period
    :math:`t - s` (a fixed point :math:`G^\star = G(Z^\star(G^\star))` when the
    period is 1).
    There are finitely many graphs, so the sequence always ends in a cycle;
    ``max_steps`` only bounds the cost.  Neighbour sets are compared as
    integers, never as floats.

    Parameters
    ----------
    Z0 : array_like, shape (N, K)
        The start (e.g. the input data, or an encoder's output).
    solve : callable
        ``solve(G) -> Z``, a minimiser of the loss for the relation matrix ``G``
        (for instance ``lambda G: closed_form.spectral_contrastive_optimum(G, K)``).
    n_views : int
    max_steps : int, >= 1
        Largest number of calls to ``solve``.
    **graph_kw
        Passed to :func:`nnclr_graph` (``k``, ``support``, ``exclude_sample``,
        ``metric``).

    Returns
    -------
    Alternation
    """
    f = "nnclr_alternation"
    Z0 = _v.check_matrix(Z0, "Z0", f)
    if not callable(solve):
        raise ValueError(f"The 'solve' parameter of {f} must be a callable G -> Z. "
                         f"Got {type(solve).__name__} instead.")
    max_steps = _v.check_int(max_steps, "max_steps", f, 1)
    Zs = [Z0]
    gs = [nnclr_graph(Z0, n_views, return_details=True, **graph_kw)]
    # neighbour *sets* (sorted indices): two lists in a different order are one graph
    key_of = lambda g: tuple(g.neighbours.sort(dim=1).values.flatten().tolist())
    seen = {key_of(gs[0]): 0}
    for t in range(1, max_steps + 1):
        Z = _v.check_matrix(solve(gs[-1].G), "solve(G)", f)
        Zs.append(Z)
        gs.append(nnclr_graph(Z, n_views, return_details=True, **graph_kw))
        key = key_of(gs[-1])
        if key in seen:
            period = t - seen[key]
            status = "fixed point" if period == 1 else "cycle"
            return Alternation(Zs, gs, status, t, period)
        seen[key] = t
    return Alternation(Zs, gs, "max_steps", max_steps, 0)


# -- out-of-sample rows (MLP chapter) -----------------------------------------------------

def knn_cross_graph(X_new: Any, X: Any, k: int) -> torch.Tensor:
    r"""Weights from new rows to their ``k`` nearest training rows (R10, :ref:`ch-vicreg-mlp`).

    :math:`W_{mj} = 1` if training row :math:`x_j` is among the ``k`` nearest
    (Euclidean) to the new row :math:`x^{\mathrm{new}}_m`, else 0.  This is the
    row a new point would get in :func:`knn_graph` of the training rows if it
    were added with its own neighbours only (the union symmetrisation adds the
    edges of training rows that would pick it, which are left out: the
    training graph is kept as it is).  Distances are computed on the CPU
    without the matrix-product shortcut and ties are broken by the training
    row index (stable sort), as in :func:`knn_graph`; a new row equal to a
    training row is not excluded (it is a different sample).

    Parameters
    ----------
    X_new : array_like, shape (M, d)
        The new (held-out) rows.
    X : array_like, shape (N, d)
        The training rows.
    k : int, 1 <= k <= N

    Returns
    -------
    torch.Tensor, shape (M, N), binary, ``k`` ones per row, on the device of
    ``X`` and in its dtype.

    Raises
    ------
    ValueError
        If an input is not a finite matrix, the widths differ, or ``k`` is out
        of range.
    """
    f = "knn_cross_graph"
    X = _v.check_matrix(X, "X", f)
    X_new = _v.check_matrix(X_new, "X_new", f).to(dtype=X.dtype)
    if X_new.shape[1] != X.shape[1]:
        raise ValueError(f"X_new and X must have the same number of columns in {f}: "
                         f"{X_new.shape[1]} != {X.shape[1]}.")
    n = X.shape[0]
    k = _v.check_int(k, "k", f, 1, n)
    Xc, Xn = X.detach().cpu(), X_new.detach().cpu()
    d = torch.cdist(Xn, Xc, compute_mode="donot_use_mm_for_euclid_dist")
    idx = torch.sort(d, dim=1, stable=True).indices[:, :k]
    W = torch.zeros(Xn.shape[0], n, dtype=X.dtype)
    W.scatter_(1, idx, 1.0)
    return W.to(X.device)
