"""Eigen-solvers with fixed order, sign and subspace conventions.

Every closed form goes through these helpers, so the conventions are stated
once: eigenvalues in **ascending** order unless a function says otherwise;
each eigenvector's largest-magnitude entry is made positive (the rule of
scikit-learn's ``_deterministic_vector_sign_flip``).

The solver seam
---------------
:func:`laplacian_bottom`, :func:`generalized_laplacian_bottom` and
:func:`top_eigenpairs` return the wanted end of a graph operator's spectrum
and choose how to compute it:

* a dense torch input is solved densely (``torch.linalg.eigh``), exactly as
  before the seam existed, so the bits of every small dense result are kept;
* a sparse input (``scipy.sparse`` or torch sparse, validated by
  :func:`sslspec_lib._validation.check_sparse_graph`) with fewer than
  :data:`SPARSE_MIN_N` rows, or asking for more than a tenth of the spectrum,
  is densified and solved by the same dense code (same result, bit for bit);
* a sparse union of :math:`N'` equal cliques of uniform weight (an
  augmentation graph, in any row order; detected in :math:`O(N + \text{nnz})`)
  has a known spectrum: its eigenpairs are written down in :math:`O(NK)`,
  without a solver (eigenvalues :math:`0` / :math:`wV` of :math:`L`,
  eigenvectors the centred group indicators, then within-group contrasts);
* otherwise a Krylov solver (SciPy's ARPACK ``eigsh``, implicitly restarted
  Lanczos) runs on a matrix-free operator: shifted so that the wanted end is
  the *largest algebraic* one, projected off the trivial vector (exact
  deflation), started from a seeded vector.  The residuals are measured after
  the solve; the kept subspace must satisfy the Davis–Kahan bound
  ``||R||_F / gap <= SUBSPACE_RTOL`` (``gap`` = the eigengap at the cut), and
  the solve is repeated with a tolerance scaled to that gap until it does.
  If ARPACK does not converge, it is retried with a larger Krylov space, then
  with LOBPCG; if that fails too a ``RuntimeError`` says so.

Callers never know which path ran: they get eigenvalues in the same order,
eigenvectors with the same sign rule, and make the same tie checks.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from . import _validation as _v

# Sparse inputs with fewer rows are densified and solved by torch.linalg.eigh.
SPARSE_MIN_N = 500
# Davis-Kahan bound required of a Krylov solve: ||R||_F / eigengap at the cut.
SUBSPACE_RTOL = 1e-9
# Relative tolerance of the ARPACK solve for the kept pairs: tight enough for
# the Davis-Kahan bound at relative eigengaps down to about 1e-3 without a
# second solve (a second solve costs as much as the first).
MAIN_TOL = 1e-12
# Seed of the Krylov start vector (deterministic: same input, same output).
V0_SEED = 0
# Which solver ran last ("dense", "arpack", "arpack-retry", "lobpcg"): for
# tests and benchmarks only; results do not depend on it.
LAST_SOLVER = "dense"


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


# ---------------------------------------------------------------------------
# the solver seam
# ---------------------------------------------------------------------------

def _use_dense(G: Any, m: int) -> bool:
    n = G.shape[0]
    return (not _v.is_sparse(G)) or n < SPARSE_MIN_N or m > max(1, n // 10)


def _densify(G: Any) -> torch.Tensor:
    return torch.as_tensor(G.toarray(), dtype=torch.float64)


def _set_solver(name: str) -> None:
    global LAST_SOLVER
    LAST_SOLVER = name


def _krylov_top(matvec: Any, n: int, m: int, *, n_keep: int, func: str,
                scale: float, deflate: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    r"""Top eigenpairs (descending) of a symmetric operator given by ``matvec``.

    ``matvec`` maps an (n, b) array to an (n, b) array and must already be
    shifted so that the wanted eigenvalues are the largest algebraic ones,
    and projected off ``deflate`` (a unit vector) if one is given.  ``scale``
    bounds the operator's spectral radius (residuals are relative to it).

    Returns ``(w, V)``: ``w`` the ``m`` (``n_keep`` or ``n_keep + 1``) largest
    eigenvalues, ``V`` the eigenvectors of the first ``n_keep``.  Only those
    ``n_keep`` pairs are solved for to a tight tolerance: the next eigenvalue
    usually lies in the bulk of the spectrum, where Krylov methods converge
    slowly, and it is needed only to decide whether it ties with the last
    kept one (the callers' ``check_gap``) and to bound the eigengap at the
    cut.  So it comes from :func:`_next_eigenvalue`, a solve on the operator
    deflated by the kept pairs, to a loose tolerance when that decides the
    question and to a tight one when it does not.  The kept subspace must
    satisfy :math:`\|R\|_F / \delta \le` ``SUBSPACE_RTOL``, :math:`\delta` a
    lower estimate of the gap between the ``n_keep``-th and the next
    eigenvalue.
    """
    from scipy.sparse.linalg import (ArpackError, ArpackNoConvergence,
                                     LinearOperator, eigsh, lobpcg)

    op = LinearOperator((n, n), matvec=lambda x: matvec(x.reshape(n, -1)).ravel(),
                        matmat=matvec, dtype=np.float64)
    v0 = np.random.default_rng(V0_SEED).standard_normal(n)
    if deflate is not None:
        v0 -= deflate * (deflate @ v0)

    def residual_ok(w: np.ndarray, V: np.ndarray, nxt: float | None,
                    r_nxt: float) -> tuple[bool, float]:
        R = matvec(V) - V * w[:n_keep]
        res = np.linalg.norm(R, axis=0)
        kept = float(np.linalg.norm(res))
        if nxt is None:
            gap, tie = scale, False
        else:
            tie = float(w[n_keep - 1]) - nxt <= 1e-9 * scale
            # A lower estimate of the eigengap at the cut: the next eigenvalue
            # is within about its residual of its Ritz value.
            gap = float(w[n_keep - 1]) - nxt - 2.0 * r_nxt
        # A tie is reported by the caller (check_gap); then only the
        # eigenvalues need to be accurate, not a subspace that is not unique.
        if tie:
            bound = kept / scale
        else:
            bound = kept / gap if gap > 0 else float("inf")
        return bound <= SUBSPACE_RTOL and float(res.max()) <= 1e-8 * scale, bound

    def arpack(ncv: int, tol: float, maxiter: int) -> tuple[np.ndarray, np.ndarray]:
        w, V = eigsh(op, k=n_keep, which="LA", v0=v0, ncv=ncv, tol=tol, maxiter=maxiter)
        order = np.argsort(w)[::-1]
        return w[order], V[:, order]

    ncv = min(n - 1, max(2 * n_keep + 1, 20))
    tol = MAIN_TOL
    solver = "arpack"
    bound = float("inf")
    for _ in range(4):
        try:
            w, V = arpack(ncv, tol, maxiter=max(1000, 10 * n))
            w, V, nxt, r_nxt = _next_eigenvalue(
                matvec, n, w, V, n_keep=n_keep, want_next=m > n_keep, scale=scale,
                deflate=deflate, eigsh=eigsh, LinearOperator=LinearOperator)
        except (ArpackNoConvergence, ArpackError):
            ncv = min(n - 1, 2 * ncv + 20)
            solver = "arpack-retry"
            continue
        ok, bound = residual_ok(w, V, nxt, r_nxt)
        if ok:
            _set_solver(solver)
            return (w if nxt is None else np.append(w, nxt)), V
        # Tie the tolerance to the eigengap: shrink it by the missing factor.
        tol = max(tol * SUBSPACE_RTOL / bound / 10.0, 1e-15)
        solver = "arpack-retry"
    # Fallback: LOBPCG from the same seeded block, tight tolerance, all m pairs.
    rng = np.random.default_rng(V0_SEED)
    X = rng.standard_normal((n, m))
    Y = deflate[:, None] if deflate is not None else None
    try:
        w, V = lobpcg(op, X, Y=Y, largest=True, tol=1e-12 * scale, maxiter=2000)
        order = np.argsort(w)[::-1]
        w, V = w[order], V[:, order]
        R = matvec(V) - V * w
        r_all = np.linalg.norm(R, axis=0)
        ok, bound = residual_ok(w, V[:, :n_keep],
                                float(w[n_keep]) if m > n_keep else None,
                                float(r_all[n_keep]) if m > n_keep else 0.0)
        ok = ok and float(r_all.max()) <= 1e-8 * scale
    except Exception as exc:  # noqa: BLE001 - reported below
        ok, bound = False, float("inf")
        why = f" ({type(exc).__name__}: {exc})"
    else:
        why = ""
    if ok:
        _set_solver("lobpcg")
        return w, V[:, :n_keep]
    raise RuntimeError(
        f"{func}: the sparse eigen-solver did not converge for the {m} extreme "
        f"eigenpairs of an operator of size {n} (subspace error bound "
        f"{bound:.3g} > {SUBSPACE_RTOL:g}){why}. Pass a dense G to solve it "
        "exactly, or check that G is connected and well scaled.")


def _next_eigenvalue(matvec: Any, n: int, w: np.ndarray, V: np.ndarray, *,
                     n_keep: int, want_next: bool, scale: float,
                     deflate: np.ndarray | None, eigsh: Any, LinearOperator: Any
                     ) -> tuple[np.ndarray, np.ndarray, float | None, float]:
    r"""Complete the kept pairs (multiplicities) and find the next eigenvalue.

    Returns ``(w, V, nxt, r)``: the ``n_keep`` largest eigenpairs, the next
    eigenvalue ``nxt`` (``None`` unless ``want_next``) and the residual norm
    ``r`` of its Ritz vector (``nxt`` is within about ``r`` of the truth).

    Lanczos from one start vector sees one direction of each eigenspace: a
    double eigenvalue (two identical components, a symmetric graph) shows up
    once, and the next distinct one takes the free slot -- a wrong subspace
    and a missed tie.  So the operator is deflated by the pairs found (they
    are mapped to the bottom) and its top pair computed from another seeded
    start.  That pair is the next eigenvalue unless it is not below the
    last one kept; then it is inserted and the search repeated.

    The next eigenvalue decides the tie warning of ``check_gap``: a tie when
    it is within ``1e-9 * max(1, |eigenvalue|)`` of the last kept one.  A
    short Lanczos run (:func:`_lanczos_top`: Ritz value ``t``, residual
    ``r``) settles it when ``t + 20 r`` is below the last kept value by more
    than ten times that threshold (no tie, nothing missed); only otherwise
    is the solve
    tightened (relative tolerance ``1e-10``, as the kept pairs) and the
    decision taken on the tight value.  So a clearly separated next
    eigenvalue costs a few dozen products, and the warning is the one the
    dense path gives.
    """
    shift = 2.0 * scale  # lifts every eigenvalue above 0, the deflated ones' value
    tau = 1e-9 * max(1.0, scale)  # widest tie threshold of check_gap, in these units
    nxt, r_nxt = None, 0.0
    for attempt in range(n_keep + 2):
        Q = V if deflate is None else np.column_stack([V, deflate])
        if Q.shape[1] >= n:
            return w[:n_keep], V[:, :n_keep], nxt, r_nxt

        def deflated(X: np.ndarray, Q: np.ndarray = Q) -> np.ndarray:
            X = X - Q @ (Q.T @ X)
            Y = matvec(X) + shift * X
            return Y - Q @ (Q.T @ Y)

        op = LinearOperator((n, n), matvec=lambda x: deflated(x.reshape(n, -1)).ravel(),
                            matmat=deflated, dtype=np.float64)
        v0 = np.random.default_rng(V0_SEED + 1 + attempt).standard_normal(n)
        found = w.size > n_keep  # a candidate for the next eigenvalue is known
        # The bar the deflated top must stay under: the last kept eigenvalue
        # (with the tie margin), or the candidate found already.
        bar = float(w[n_keep]) if found else float(w[n_keep - 1]) - 10.0 * tau
        # Loose first: a short Lanczos run stops as soon as its top Ritz value t
        # (a lower bound of the top eigenvalue, within about ||r|| of it)
        # decides the question; only an undecided one is refined by ARPACK.
        t, r, u = _lanczos_top(deflated, v0, bar + shift, steps=min(n - 1, 80))
        t -= shift
        decided = t + 20 * r < bar
        if not decided:  # converge it with ARPACK (the pair is then trusted to t + 2r)
            v0 = u[:, 0]
            for tol in (1e-6, 1e-10):
                t, u = eigsh(op, k=1, which="LA", v0=v0, ncv=min(n - 1, 20), tol=tol,
                             maxiter=max(1000, 10 * n))
                r = float(np.linalg.norm(deflated(u) - t * u))
                t = float(t[0]) - shift
                decided = t + 2 * r < bar
                if decided:
                    break
                v0 = u[:, 0]
        if found:
            if t <= float(w[n_keep]):  # the candidate is the next eigenvalue
                res = np.linalg.norm(matvec(V[:, n_keep:n_keep + 1])
                                     - V[:, n_keep:n_keep + 1] * w[n_keep])
                return (w[:n_keep], V[:, :n_keep], float(w[n_keep]) if want_next
                        else None, float(res))
        elif decided or t < float(w[n_keep - 1]) - tau:
            return w, V, (t if want_next else None), r
        # A missed eigenvalue at or above the bar: insert it.
        w = np.append(w, t)
        V = np.column_stack([V, u[:, 0]])
        order = np.argsort(w, kind="stable")[::-1]
        w, V = w[order], V[:, order]
    k = min(w.size, n_keep + 1)
    return (w[:n_keep], V[:, :n_keep], float(w[n_keep]) if want_next and k > n_keep
            else None, 0.0)


def _lanczos_top(matvec: Any, v0: np.ndarray, bar: float, *, steps: int
                 ) -> tuple[float, float, np.ndarray]:
    """Top Ritz pair of a short Lanczos run, stopped once it is clearly below ``bar``.

    Full reorthogonalisation (the run is short).  Returns ``(t, r, u)``: the
    top Ritz value and the residual norm of its Ritz vector ``u`` (an (n, 1)
    array), after the first step at which ``t + 20 r < bar``, or after
    ``steps`` steps.
    """
    n = v0.size
    Q = np.empty((steps + 1, n))  # Lanczos vectors as rows (contiguous)
    Q[0] = v0 / np.linalg.norm(v0)
    alpha, beta = [], []
    t = r = float("inf")
    s = np.ones(1)
    for j in range(steps):
        x = matvec(Q[j][:, None])[:, 0]
        alpha.append(float(Q[j] @ x))
        for _ in range(2):  # full reorthogonalisation, twice is enough
            x -= (Q[:j + 1] @ x) @ Q[:j + 1]
        b = float(np.linalg.norm(x))
        T = np.diag(alpha) + np.diag(beta, 1) + np.diag(beta, -1)
        theta, S = np.linalg.eigh(T)
        t, s = float(theta[-1]), S[:, -1]
        r = b * abs(float(s[-1]))  # ||A y - t y|| of the Ritz vector y
        # Stop once the Ritz pair lies below the bar by twenty times its residual:
        # its residual is then far below the gap it decides, so it is not a
        # mixture spanning that gap (the top eigenvalue, which Lanczos
        # amplifies most, would have shown).
        if t + 20 * r < bar or b <= 1e-14 * max(1.0, abs(t)) or j == steps - 1:
            break
        beta.append(b)
        Q[j + 1] = x / b
    u = s @ Q[:s.size]
    u /= np.linalg.norm(u)
    return t, r, u[:, None]


def _clique_union(G: Any) -> tuple[np.ndarray, int, float] | None:
    """(group label per row, V, w) if CSR ``G`` is N' disjoint V-cliques of weight w.

    :math:`O(N + \text{nnz})`: every stored weight equals ``w``, no diagonal, every
    row has ``V - 1`` entries and every connected component ``V`` rows (then
    each component is a clique).  Labels are numbered by first row.
    """
    from scipy.sparse.csgraph import connected_components

    if G.nnz == 0:
        return None
    w = float(G.data[0])
    per_row = np.diff(G.indptr)
    if not (G.data == w).all() or per_row.min() != per_row.max():
        return None
    V = int(per_row[0]) + 1
    if G.diagonal().any():
        return None
    n_groups, lab = connected_components(G, directed=False)
    if n_groups * V != G.shape[0] or np.bincount(lab).min() != V:
        return None
    _, first = np.unique(lab, return_index=True)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first)] = np.arange(first.size)
    return rank[lab], V, w


def _householder_columns(p: int, cols: np.ndarray) -> np.ndarray:
    """Columns ``cols`` (1..p-1) of the reflector of :func:`centered_basis` (p x len(cols))."""
    v = np.full(p, -p ** -0.5)
    v[0] += 1.0
    v /= np.linalg.norm(v)
    out = -2.0 * np.outer(v, v[cols])
    out[cols, np.arange(cols.size)] += 1.0
    return out


def _clique_vectors(lab: np.ndarray, V: int, k: int, *, centered: bool) -> np.ndarray:
    r"""``k`` orthonormal eigenvectors of a union of equal cliques, by construction.

    First the group indicators (``centered``: a basis of their centred span,
    the columns of a Householder reflector, as :func:`centered_basis`), each
    scaled to unit norm; then within-group contrasts (a Householder basis of
    :math:`\mathbf 1^\perp` in :math:`\mathbb R^V`, group by group).
    :math:`O(Nk)` memory and time.
    """
    n = lab.size
    n_groups = n // V
    n_ind = n_groups - 1 if centered else n_groups
    k1 = min(k, n_ind)
    U = np.zeros((n, k))
    if k1:
        if centered:
            B = _householder_columns(n_groups, np.arange(1, k1 + 1))
        else:
            B = np.eye(n_groups, k1)
        U[:, :k1] = B[lab] / np.sqrt(V)
    if k > k1:
        order = np.argsort(lab, kind="stable")
        pos = np.empty(n, dtype=np.int64)
        pos[order] = np.arange(n) % V  # position of each row inside its group
        C = _householder_columns(V, np.arange(1, V))
        for c in range(k - k1):
            g, j = divmod(c, V - 1)
            rows = order[g * V:(g + 1) * V]
            U[rows, k1 + c] = C[pos[rows], j]
    return U


def _clique_values(n_groups: int, V: int, m: int, first: float, second: float,
                   centered: bool) -> torch.Tensor:
    n_first = n_groups - 1 if centered else n_groups
    lam = np.full(m, second)
    lam[:min(m, n_first)] = first
    return torch.as_tensor(lam, dtype=torch.float64)


def laplacian_bottom(G: Any, K: int, func: str) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Bottom eigenpairs of :math:`L = D - G` on :math:`\mathbf 1^\perp` (ascending).

    Returns ``(lam, U)``: ``lam`` holds at least the ``K + 1`` smallest
    eigenvalues (all :math:`N - 1` on the dense path; ``K + 1`` capped at
    :math:`N - 1` on the Krylov path), ``U`` the ``K`` eigenvectors of the
    smallest ones, orthonormal, orthogonal to :math:`\mathbf 1`,
    sign-flipped.  ``G``: a validated dense tensor or CSR matrix.
    """
    n = G.shape[0]
    m = min(K + 1, n - 1)
    cl = _clique_union(G) if _v.is_sparse(G) else None
    if cl is not None:  # L = 0 on centred group indicators, w V on contrasts
        lab, V, w = cl
        _set_solver("structured")
        lam = _clique_values(n // V, V, m, 0.0, w * V, centered=True)
        U = _clique_vectors(lab, V, K, centered=True)
        return lam, sign_flip(torch.as_tensor(U, dtype=torch.float64))
    if _use_dense(G, m):
        _set_solver("dense")
        if _v.is_sparse(G):
            G = _densify(G)
        from .graphs import laplacian
        lam, U = eigh_centered(laplacian(G))
        return lam, U[:, :K]
    d = np.asarray(G.sum(axis=1)).ravel()
    sigma = max(2.0 * float(d.max()), 1.0)  # >= lambda_max(L) (Gershgorin)
    one = np.full(n, n ** -0.5)

    def matvec(X: np.ndarray) -> np.ndarray:
        X = X - one[:, None] * (one @ X)
        Y = sigma * X - (d[:, None] * X - G @ X)
        return Y - one[:, None] * (one @ Y)

    w, V = _krylov_top(matvec, n, m, n_keep=K, func=func, scale=sigma, deflate=one)
    lam = torch.as_tensor(sigma - w, dtype=torch.float64)
    U = sign_flip(torch.as_tensor(V[:, :K].copy(), dtype=torch.float64))
    return lam, U


def complement_basis(s: torch.Tensor) -> torch.Tensor:
    r"""Orthonormal basis of :math:`s^\perp` for a unit vector ``s`` with ``s[0] > 0``.

    Columns 2..n of the Householder reflector :math:`I - 2vv^\top`,
    :math:`v \propto s + e_1`, which maps :math:`e_1` to :math:`-s`: exact,
    deterministic, no eigen-solver (``s[0] > 0`` avoids cancellation).
    """
    v = s.clone()
    v[0] = v[0] + 1.0
    v = v / v.norm()
    Q = torch.eye(s.shape[0], dtype=s.dtype, device=s.device) - 2.0 * torch.outer(v, v)
    return Q[:, 1:]


def generalized_laplacian_bottom(G: Any, K: int, func: str
                                 ) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Bottom non-trivial pairs of :math:`Lz = \lambda Dz`, :math:`Z^\top DZ = I`.

    Computed as :math:`Z = D^{-1/2}Y`, :math:`Y` the eigenvectors of
    :math:`I - D^{-1/2}GD^{-1/2}` on the complement of :math:`D^{1/2}\mathbf 1`.
    Returns ``(lam, Z)`` (ascending; ``lam`` as in :func:`laplacian_bottom`,
    ``Z`` with ``K`` sign-flipped columns).  Every degree must be positive
    (the caller checks).
    """
    n = G.shape[0]
    m = min(K + 1, n - 1)
    cl = _clique_union(G) if _v.is_sparse(G) else None
    if cl is not None:  # regular: D^{1/2} 1 is constant; L_sym = 0, then V/(V-1)
        lab, V, w = cl
        _set_solver("structured")
        lam = _clique_values(n // V, V, m, 0.0, V / (V - 1), centered=True)
        Z = _clique_vectors(lab, V, K, centered=True) / np.sqrt(w * (V - 1))
        return lam, sign_flip(torch.as_tensor(Z, dtype=torch.float64))
    if _use_dense(G, m):
        _set_solver("dense")
        if _v.is_sparse(G):
            G = _densify(G)
        d = G.sum(dim=1)
        s = d.sqrt()
        L_sym = torch.eye(n, dtype=G.dtype, device=G.device) - G / s[:, None] / s[None, :]
        B = complement_basis(s / s.norm())
        # Smallest eigenvalues of the normalised Laplacian restricted to the
        # complement of D^{1/2} 1 (ascending): the bottom non-trivial pairs.
        lam, V = torch.linalg.eigh(B.T @ L_sym @ B)
        Z = (B @ V[:, :K]) / s[:, None]  # Z = D^{-1/2} Y
        return lam, sign_flip(Z)
    d = np.asarray(G.sum(axis=1)).ravel()
    s = np.sqrt(d)
    u = s / np.linalg.norm(s)

    def matvec(X: np.ndarray) -> np.ndarray:
        # (I + D^{-1/2} G D^{-1/2}) on the complement of u: eigenvalues 2 - lambda.
        X = X - u[:, None] * (u @ X)
        Y = X + (G @ (X / s[:, None])) / s[:, None]
        return Y - u[:, None] * (u @ Y)

    w, V = _krylov_top(matvec, n, m, n_keep=K, func=func, scale=2.0, deflate=u)
    lam = torch.as_tensor(2.0 - w, dtype=torch.float64)
    Z = torch.as_tensor(V[:, :K] / s[:, None], dtype=torch.float64)
    return lam, sign_flip(Z)


def top_eigenpairs(A: Any, K: int, func: str, *, centered: bool = False
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Top eigenpairs of a symmetric matrix (descending), sign-flipped.

    Returns ``(lam, U)``: ``lam`` at least the ``K + 1`` largest eigenvalues
    (all of them on the dense path), ``U`` the ``K`` eigenvectors of the
    largest ones.  With ``centered=True`` the problem is restricted to
    :math:`\mathbf 1^\perp` (as :func:`eigh_centered`).  ``A``: a dense
    tensor or a symmetric CSR matrix.
    """
    n = A.shape[0]
    m = min(K + 1, n - 1)
    cl = _clique_union(A) if _v.is_sparse(A) else None
    if cl is not None:  # w (V - 1) on (centred) group indicators, -w on contrasts
        lab, V, w = cl
        _set_solver("structured")
        lam = _clique_values(n // V, V, m, w * (V - 1), -w, centered=centered)
        U = _clique_vectors(lab, V, K, centered=centered)
        return lam, sign_flip(torch.as_tensor(U, dtype=torch.float64))
    if _use_dense(A, m):
        _set_solver("dense")
        if _v.is_sparse(A):
            A = _densify(A)
        lam, U = eigh_centered(A) if centered else eigh_sorted(A)
        lam, U = lam.flip(0), U.flip(1)  # descending
        return lam, U[:, :K]
    scale = float(abs(A).sum(axis=1).max()) or 1.0  # >= spectral radius
    one = np.full(n, n ** -0.5) if centered else None

    def matvec(X: np.ndarray) -> np.ndarray:
        if one is None:
            return A @ X
        # A + scale I on 1-perp: the constant direction (eigenvalue 0) is last.
        X = X - one[:, None] * (one @ X)
        Y = A @ X + scale * X
        return Y - one[:, None] * (one @ Y)

    w, V = _krylov_top(matvec, n, m, n_keep=K, func=func,
                       scale=2 * scale if centered else scale, deflate=one)
    if centered:
        w = w - scale
    U = sign_flip(torch.as_tensor(V[:, :K].copy(), dtype=torch.float64))
    return torch.as_tensor(w, dtype=torch.float64), U
