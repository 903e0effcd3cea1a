"""Gradient-based minimisation of the losses, deterministic from a seed.

The numerical checks of the book minimise the *actual* loss from a random
start and compare the result with a closed form.  Three parametrisations:
a free representation ``Z`` (nonparametric regime), a linear map
``Z = X W`` (linear regime), and a small MLP ``Z = f_theta(X)``.

Free and linear problems use L-BFGS with a strong-Wolfe line search in
float64 and stop when the largest gradient entry falls below ``gtol``; a
run that does not get there within ``max_iter`` iterations raises
``RuntimeError`` (unless ``require_convergence=False``), so a check never
silently compares an unconverged point.  Random starts are drawn on the CPU
from a seeded generator and then moved to the device, so a seed gives the
same start on every device.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch

from . import _validation as _v
from .device import generator

__all__ = ["History", "minimize", "train_free", "train_whitened", "train_linear",
           "train_mlp", "MLP", "orthonormalize", "train_stiefel"]


@dataclass
class History:
    """Trace of a minimisation.

    Attributes
    ----------
    loss : list of float
        Loss at each iterate (L-BFGS: before each iteration and at the last
        point; Adam: before each step).
    grad_norm : list of float
        Largest absolute gradient entry at the same points.
    n_iter : int
        Iterations used.
    converged : bool
        Whether the gradient criterion was met.
    """

    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    n_iter: int = 0
    converged: bool = False

    @property
    def final_loss(self) -> float:
        return self.loss[-1]


def _grad_inf(params: Sequence[torch.Tensor]) -> float:
    return max(float(p.grad.abs().max()) if p.grad is not None else 0.0 for p in params)


def minimize(loss_fn: Callable[[], torch.Tensor], params: Sequence[torch.Tensor], *,
             method: str = "lbfgs", max_iter: int = 5000, gtol: float = 1e-9,
             lr: float | None = None, history_size: int = 50,
             require_convergence: bool = True, progress: bool = False) -> History:
    """Minimise ``loss_fn()`` over ``params`` in place.

    Parameters
    ----------
    loss_fn : callable
        No arguments; returns a scalar tensor that depends on ``params``.
    params : sequence of tensors with ``requires_grad=True``
    method : {"lbfgs", "adam"}
        L-BFGS (strong Wolfe, ``lr`` 1 by default) or Adam (``lr`` 1e-2).
    max_iter : int
        Iteration budget (L-BFGS iterations or Adam steps).
    gtol : float
        Converged when the largest absolute gradient entry is ``<= gtol``.
        For Adam this criterion is rarely met: pass
        ``require_convergence=False`` and judge the result by its loss.
    require_convergence : bool
        Raise ``RuntimeError`` if the budget is spent before convergence.
    progress : bool
        Print the loss to stderr every tenth of the budget (off by default:
        notebooks compare their outputs).

    Returns
    -------
    History
    """
    f = "minimize"
    params = list(params)
    max_iter = _v.check_int(max_iter, "max_iter", f, 1)
    _v.check_positive(gtol, "gtol", f, allow_zero=True)
    hist = History()

    evals: list[tuple[float, float]] = []  # (loss, max |grad|) of every evaluation

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        evals.append((float(loss.detach()), _grad_inf(params)))
        return loss

    if method == "lbfgs":
        # One L-BFGS iteration per step() call (its state carries over), so the
        # history has one entry per iterate: the first evaluation of each call
        # is at the current iterate.
        # max_eval must leave room for the line search (max_ls = max_eval - 1).
        opt = torch.optim.LBFGS(params, lr=1.0 if lr is None else lr, max_iter=1, max_eval=30,
                                tolerance_grad=gtol, tolerance_change=0.0,
                                history_size=history_size, line_search_fn="strong_wolfe")
        best, since_best = float("inf"), 0
        while True:
            first = len(evals)
            opt.step(closure)
            loss, g = evals[first]
            hist.loss.append(loss)
            hist.grad_norm.append(g)
            if progress and hist.n_iter % max(1, max_iter // 10) == 0:
                print(f"iter {hist.n_iter}: loss {loss:.6g}, |grad| {g:.2e}", file=sys.stderr)
            if g <= gtol:
                hist.converged = True
                break
            if hist.n_iter >= max_iter:
                break
            hist.n_iter += 1
            if loss < best:
                best, since_best = loss, 0
            else:
                since_best += 1
                if since_best >= 25:  # the line search can make no more progress
                    break
    elif method == "adam":
        opt = torch.optim.Adam(params, lr=1e-2 if lr is None else lr)
        every = max(1, max_iter // 10)
        for it in range(max_iter):
            closure()
            opt.step()
            loss, g = evals[-1]
            hist.loss.append(loss)
            hist.grad_norm.append(g)
            hist.n_iter = it + 1
            if progress and (it + 1) % every == 0:
                print(f"step {it + 1}: loss {loss:.6g}", file=sys.stderr)
            if hist.grad_norm[-1] <= gtol:
                hist.converged = True
                break
    else:
        raise ValueError(f"The 'method' parameter of {f} must be 'lbfgs' or 'adam'. "
                         f"Got {method!r} instead.")
    if require_convergence and not hist.converged:
        raise RuntimeError(
            f"{f} did not converge: largest gradient entry "
            f"{hist.grad_norm[-1]:.3e} > gtol={gtol:g} after {hist.n_iter} "
            f"iterations (loss {hist.loss[-1]:.10g}). Raise max_iter or gtol.")
    return hist


def _start(shape: tuple[int, ...], seed: int, scale: float, dtype: torch.dtype,
           device: Any) -> torch.Tensor:
    x = torch.randn(*shape, generator=generator(seed), dtype=dtype) * scale
    return x.to(device).requires_grad_(True)


def train_free(loss: Callable[[torch.Tensor], torch.Tensor], n: int, K: int, *,
               seed: int = 0, init_scale: float = 1.0, dtype: torch.dtype = torch.float64,
               device: Any = None, **kw: Any) -> tuple[torch.Tensor, History]:
    """Minimise ``loss(Z)`` over a free representation ``Z`` (N x K).

    The start is ``init_scale * randn(N, K)`` from ``seed``.  Keyword
    arguments go to :func:`minimize`.  Returns the detached ``Z`` and the
    :class:`History`.
    """
    n = _v.check_int(n, "n", "train_free", 1)
    K = _v.check_int(K, "K", "train_free", 1)
    Z = _start((n, K), seed, init_scale, dtype, device)
    hist = minimize(lambda: loss(Z), [Z], **kw)
    return Z.detach(), hist


def train_whitened(loss: Callable[[torch.Tensor], torch.Tensor], n: int, K: int, *,
                   seed: int = 0, dtype: torch.dtype = torch.float64,
                   device: Any = None, **kw: Any) -> tuple[torch.Tensor, History]:
    r"""Minimise ``loss(Z)`` under the hard constraint :math:`C(Z) = I_K` (R9).

    The constraint is built into the parametrisation: a free
    :math:`Y \in \mathbb{R}^{N\times K}` is mapped to

    .. math:: Z(Y) = \sqrt N\,\operatorname{qf}(HY) = \sqrt N\, H Y R^{-1},
              \qquad R^\top R = Y^\top H Y,

    with :math:`\operatorname{qf}` the orthonormal QR factor of
    :func:`orthonormalize` (:math:`R` upper triangular with positive
    diagonal, i.e. the Cholesky factor of :math:`Y^\top H Y`).  The columns
    of :math:`Z(Y)` lie in :math:`\mathbf 1^\perp`, so
    :math:`C(Z) = Z^\top H Z / N = I_K` exactly for every :math:`Y` with
    :math:`\operatorname{rank}(HY) = K`, and ``loss(Z(Y))`` is minimised
    over :math:`Y` with :func:`minimize` (L-BFGS by default).  Every
    centred :math:`Z` with :math:`C(Z) = I` is reached (take :math:`Y = Z`),
    so the minimum over :math:`Y` is the constrained minimum over centred
    :math:`Z`; for a loss that does not change when a constant row is added
    (such as the invariance term, since :math:`L\mathbf 1 = 0`) it is the
    constrained minimum over all :math:`Z`.  Used for VICReg with hard
    variance/covariance constraints (:ref:`ch-vicreg`).

    Parameters
    ----------
    loss : callable
        ``loss(Z)`` returns a scalar tensor for ``Z`` of shape ``(n, K)``.
    n : int >= 2
        Number of rows :math:`N`.
    K : int, 1 <= K <= n - 1
        Number of columns (a centred ``n x K`` matrix has rank at most
        ``n - 1``).
    seed : int
        The start is ``Y = randn(n, K)`` from this seed (drawn on the CPU).
    dtype, device
        Of ``Y`` (float64 and the CPU by default).
    **kw
        Passed to :func:`minimize` (``max_iter``, ``gtol``, ...); ``gtol``
        bounds the largest entry of :math:`\partial\,\mathrm{loss}/\partial Y`.

    Returns
    -------
    Z : (n, K) tensor, detached, centred, with :math:`C(Z) = I_K` to rounding.
    history : History

    Raises
    ------
    ValueError
        If ``n`` is not an int >= 2 or ``K`` not an int in ``[1, n - 1]``.
    RuntimeError
        If the gradient criterion is not met (see :func:`minimize`).

    Notes
    -----
    :math:`Z(Y)` does not change when :math:`Y` is replaced by :math:`YA`
    (:math:`A` upper triangular with positive diagonal) or by
    :math:`Y + \mathbf 1 b^\top`, so the minimiser over :math:`Y` is not
    isolated; L-BFGS does not need it to be.

    Examples
    --------
    >>> import torch
    >>> from sslspec_lib.losses import covariance
    >>> Z, h = train_whitened(lambda Z: Z[0].pow(2).sum(), 5, 2)
    >>> torch.allclose(covariance(Z), torch.eye(2, dtype=torch.float64))
    True
    """
    f = "train_whitened"
    n = _v.check_int(n, "n", f, 2)
    K = _v.check_int(K, "K", f, 1, n - 1)
    Y = _start((n, K), seed, 1.0, dtype, device)
    hist = minimize(lambda: loss(n ** 0.5 * orthonormalize(Y - Y.mean(dim=0, keepdim=True))),
                    [Y], **kw)
    with torch.no_grad():
        Z = n ** 0.5 * orthonormalize(Y - Y.mean(dim=0, keepdim=True))
    return Z, hist


def train_linear(loss: Callable[[torch.Tensor], torch.Tensor], X: Any, K: int, *,
                 seed: int = 0, init_scale: float = 1.0, **kw: Any
                 ) -> tuple[torch.Tensor, History]:
    """Minimise ``loss(X @ W)`` over a linear map ``W`` (D x K).

    ``X`` fixes dtype and device.  Returns the detached ``W`` and the history.
    """
    X = _v.check_matrix(X, "X", "train_linear")
    K = _v.check_int(K, "K", "train_linear", 1)
    W = _start((X.shape[1], K), seed, init_scale / X.shape[1] ** 0.5, X.dtype, X.device)
    hist = minimize(lambda: loss(X @ W), [W], **kw)
    return W.detach(), hist


class MLP(torch.nn.Module):
    """A small fully connected encoder ``f_theta``: Linear-ReLU blocks, linear head."""

    def __init__(self, d_in: int, K: int, hidden: Sequence[int] = (64,)) -> None:
        super().__init__()
        layers: list[torch.nn.Module] = []
        d = d_in
        for h in hidden:
            layers += [torch.nn.Linear(d, h), torch.nn.ReLU()]
            d = h
        layers.append(torch.nn.Linear(d, K))
        self.net = torch.nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def train_mlp(loss: Callable[[torch.Tensor], torch.Tensor], X: Any, K: int, *,
              hidden: Sequence[int] = (64,), seed: int = 0, method: str = "adam",
              max_iter: int = 2000, lr: float | None = 1e-3,
              require_convergence: bool = False, **kw: Any) -> tuple[MLP, History]:
    """Minimise ``loss(f_theta(X))`` over the weights of an :class:`MLP`.

    Weights are initialised on the CPU from ``seed`` (PyTorch's default
    initialisation), in ``X``'s dtype, then moved to ``X``'s device.  Adam
    by default; convergence is judged by the caller from the loss.
    """
    X = _v.check_matrix(X, "X", "train_mlp")
    K = _v.check_int(K, "K", "train_mlp", 1)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = MLP(X.shape[1], K, hidden).to(X.dtype)
    net = net.to(X.device)
    hist = minimize(lambda: loss(net(X)), list(net.parameters()), method=method,
                    max_iter=max_iter, lr=lr, require_convergence=require_convergence, **kw)
    return net, hist


def orthonormalize(Y: torch.Tensor) -> torch.Tensor:
    r"""Orthonormal factor of the QR decomposition with a positive diagonal.

    .. math::

        Y = QR,\qquad Q^\top Q = I_K,\qquad R \text{ upper triangular},
        \ R_{kk} > 0 .

    LAPACK's Householder QR fixes the signs of :math:`R_{kk}` by a rule that
    jumps when an entry of ``Y`` changes sign; flipping the columns of ``Q``
    so that :math:`R_{kk} > 0` gives the Gram--Schmidt factor, which is
    unique and a smooth function of ``Y`` wherever ``Y`` has full column
    rank.  Differentiable with autograd.

    Parameters
    ----------
    Y : (N, K) tensor, N >= K, full column rank

    Returns
    -------
    Q : (N, K) tensor with orthonormal columns spanning ``span(Y)``.
    """
    Q, R = torch.linalg.qr(Y, mode="reduced")
    s = torch.sign(torch.diagonal(R))
    s = torch.where(s == 0, torch.ones_like(s), s)
    return Q * s


def train_stiefel(loss: Callable[[torch.Tensor], torch.Tensor], n: int, K: int, *,
                  seed: int = 0, dtype: torch.dtype = torch.float64,
                  device: Any = None, **kw: Any) -> tuple[torch.Tensor, History]:
    r"""Minimise ``loss(Q)`` over matrices with orthonormal columns (R3).

    Solves

    .. math::

        \min_{Q \in \mathbb R^{N\times K}} f(Q)
        \quad\text{s.t.}\quad Q^\top Q = I_K

    (the Stiefel manifold :math:`\mathrm{St}(N, K)`) by the
    parametrisation :math:`Q = \operatorname{qf}(Y)`, the orthonormal QR
    factor of a free :math:`Y \in \mathbb R^{N\times K}` (see
    :func:`orthonormalize`), and unconstrained L-BFGS on :math:`Y`
    (:func:`minimize`).  The map :math:`Y \mapsto \operatorname{qf}(Y)` is
    a submersion onto :math:`\mathrm{St}(N, K)`, so :math:`\nabla_Y
    f(\operatorname{qf}(Y)) = 0` exactly when the Riemannian gradient of
    :math:`f` vanishes at :math:`Q`: a converged run is a stationary point
    of the constrained problem, and the constraint holds to rounding at
    every iterate (no penalty, no retraction step).  Used in
    :ref:`ch-ky-fan` for Ky Fan's trace minimisation.

    Parameters
    ----------
    loss : callable
        ``loss(Q)`` returns a scalar tensor for ``Q`` of shape ``(n, K)``.
    n : int
        Number of rows, ``n >= K``.
    K : int
        Number of orthonormal columns, ``K >= 1``.
    seed : int
        The start is ``Y = randn(n, K)`` from this seed (drawn on the CPU).
    dtype, device
        Of ``Y`` (float64 and the CPU by default).
    **kw
        Passed to :func:`minimize` (``max_iter``, ``gtol``, ...).  ``gtol``
        bounds the largest entry of :math:`\nabla_Y`; since
        :math:`\|Y\|` stays of order :math:`\sqrt{n}`, the Riemannian
        gradient is of the same order.

    Returns
    -------
    Q : (n, K) tensor, detached, with :math:`Q^\top Q = I_K` to rounding.
    history : History
        ``history.loss`` holds :math:`f(Q)` after each L-BFGS iteration.

    Raises
    ------
    ValueError
        If ``n`` or ``K`` is not a positive int, or ``K > n``.
    RuntimeError
        If the gradient criterion is not met (see :func:`minimize`).

    Examples
    --------
    >>> import torch
    >>> A = torch.diag(torch.tensor([3.0, 1.0, 2.0], dtype=torch.float64))
    >>> Q, h = train_stiefel(lambda Q: torch.trace(Q.T @ A @ Q), 3, 1)
    >>> round(h.final_loss, 6)
    1.0
    """
    f = "train_stiefel"
    n = _v.check_int(n, "n", f, 1)
    K = _v.check_int(K, "K", f, 1, n)
    Y = _start((n, K), seed, 1.0, dtype, device)
    hist = minimize(lambda: loss(orthonormalize(Y)), [Y], **kw)
    with torch.no_grad():
        Q = orthonormalize(Y)
    return Q.detach(), hist
