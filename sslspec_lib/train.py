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
           "train_mlp", "MLP", "orthonormalize", "train_stiefel", "newton_polish",
           "STALL_PATIENCE", "POLISH_MAX_PARAMS", "m_orthonormalize", "trace_ratio_loss",
           "train_trace_constrained", "train_mlp_regularized", "row_floor",
           "train_linear_scale_free", "train_diagonal_covariance", "NonsmoothRun"]


@dataclass
class History:
    """Trace of a minimisation.

    Attributes
    ----------
    loss : list of float
        Loss at each iterate (L-BFGS: before each iteration and at the last
        point; Adam: before each step; Newton polish steps are appended).
    grad_norm : list of float
        Largest absolute gradient entry at the same points.
    n_iter : int
        Iterations used (L-BFGS iterations or Adam steps).
    converged : bool
        Whether the run stopped because it could go no further: the gradient
        criterion was met (``status == "gtol"``) or L-BFGS stalled at the
        precision floor (``status == "stalled"``).  False when the budget ran
        out while the loss was still decreasing (``status == "max_iter"``).
    status : str
        ``"gtol"``, ``"stalled"`` or ``"max_iter"``.
    n_polish : int
        Newton steps accepted by the polish (see :func:`newton_polish`).
    """

    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    n_iter: int = 0
    converged: bool = False
    status: str = "max_iter"
    n_polish: int = 0

    @property
    def final_loss(self) -> float:
        return self.loss[-1]

    @property
    def final_grad(self) -> float:
        """Largest absolute gradient entry at the returned point."""
        return self.grad_norm[-1]


def _grad_inf(params: Sequence[torch.Tensor]) -> float:
    return max(float(p.grad.abs().max()) if p.grad is not None else 0.0 for p in params)


#: Iterations without a significant decrease after which L-BFGS is at its floor.
STALL_PATIENCE = 20


def minimize(loss_fn: Callable[[], torch.Tensor], params: Sequence[torch.Tensor], *,
             method: str = "lbfgs", max_iter: int = 5000, gtol: float = 0.0,
             lr: float | None = None, history_size: int = 50,
             require_convergence: bool = True, polish: bool = False,
             polish_orbit_tol: float = 0.0, polish_null_rtol: float = 1e-10,
             progress: bool = False) -> History:
    r"""Minimise ``loss_fn()`` over ``params`` in place.

    **Stopping rule (L-BFGS).**  The run stops at the first of

    - ``gtol``: the largest absolute gradient entry is ``<= gtol``
      (``status "gtol"``; ``gtol = 0`` switches this off);
    - a stall: the loss has not decreased by more than rounding,
      :math:`8\varepsilon\max(1, |f|)`, for :data:`STALL_PATIENCE`
      iterations (``status "stalled"``).  With a strong-Wolfe line search in
      floating point this is where L-BFGS ends: the gradient of an
      :math:`O(1)` loss cannot be driven much below
      :math:`\sqrt{\varepsilon}` times its scale, and the exact floor
      differs between instruction sets, thread counts and devices;
    - the budget ``max_iter`` (``status "max_iter"``).

    Only the last one is a failure: the run is stopped while it is still
    making progress.  The achieved gradient is reported
    (``History.final_grad``), and a check derives its tolerance from it
    (with the problem's curvature or eigengap) instead of requiring an
    arbitrary absolute ``gtol``.  Where a check needs more precision than
    L-BFGS gives, ``polish=True`` adds Newton steps (:func:`newton_polish`).

    Parameters
    ----------
    loss_fn : callable
        No arguments; returns a scalar tensor that depends on ``params``.
    params : sequence of tensors with ``requires_grad=True``
    method : {"lbfgs", "adam"}
        L-BFGS (strong Wolfe, ``lr`` 1 by default) or Adam (``lr`` 1e-2).
    max_iter : int
        Iteration budget (L-BFGS iterations or Adam steps).
    gtol : float >= 0
        Stop as soon as the largest absolute gradient entry is ``<= gtol``
        (0: run to the floor).  For Adam this criterion is rarely met: pass
        ``require_convergence=False`` and judge the result by its loss.
    require_convergence : bool
        Raise ``RuntimeError`` if the budget is spent while the loss is still
        decreasing (``status "max_iter"``).
    polish : bool
        After L-BFGS, take Newton steps with the exact Hessian
        (:func:`newton_polish`; small problems only).
    polish_orbit_tol : float >= 0
        ``orbit_tol`` of :func:`newton_polish` (0: the polish as before).
    polish_null_rtol : float in (0, 1)
        ``null_rtol`` of :func:`newton_polish` (default ``1e-10``, its own
        default); after an L-BFGS run pass e.g. ``1e-6`` (see there).
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
        # tolerance_grad=-1: torch's own test (|g| <= tol) is ours, below.
        opt = torch.optim.LBFGS(params, lr=1.0 if lr is None else lr, max_iter=1, max_eval=30,
                                tolerance_grad=-1.0, tolerance_change=0.0,
                                history_size=history_size, line_search_fn="strong_wolfe")
        eps = torch.finfo(params[0].dtype).eps
        best, since_best = float("inf"), 0
        while True:
            first = len(evals)
            opt.step(closure)
            loss, g = evals[first]
            hist.loss.append(loss)
            hist.grad_norm.append(g)
            if progress and hist.n_iter % max(1, max_iter // 10) == 0:
                print(f"iter {hist.n_iter}: loss {loss:.6g}, |grad| {g:.2e}", file=sys.stderr)
            if g <= gtol or g == 0.0:
                hist.status = "gtol"
                break
            if not (loss == loss):  # NaN: nothing more to do
                break
            if best - loss > 8 * eps * max(1.0, abs(best) if best < float("inf") else 1.0):
                best, since_best = loss, 0
            else:
                since_best += 1
                if since_best >= STALL_PATIENCE:
                    hist.status = "stalled"
                    break
            if hist.n_iter >= max_iter:
                break
            hist.n_iter += 1
        # The returned point is the last iterate; report its own loss and gradient.
        if len(evals) > 0 and hist.loss[-1] != evals[-1][0]:
            with torch.enable_grad():
                closure()
            hist.loss.append(evals[-1][0])
            hist.grad_norm.append(evals[-1][1])
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
                hist.status = "gtol"
                break
    else:
        raise ValueError(f"The 'method' parameter of {f} must be 'lbfgs' or 'adam'. "
                         f"Got {method!r} instead.")
    hist.converged = hist.status in ("gtol", "stalled")
    if loss_is_nan(hist):
        raise RuntimeError(f"{f}: the loss became NaN after {hist.n_iter} iterations.")
    if require_convergence and not hist.converged:
        raise RuntimeError(
            f"{f} did not converge: the loss was still decreasing when the budget of "
            f"{max_iter} iterations ran out (largest gradient entry "
            f"{hist.grad_norm[-1]:.3e}, loss {hist.loss[-1]:.10g}). Raise max_iter.")
    if polish:
        newton_polish(loss_fn, params, history=hist, orbit_tol=polish_orbit_tol,
                      null_rtol=polish_null_rtol)
    return hist


def loss_is_nan(hist: History) -> bool:
    """Whether the last recorded loss is NaN."""
    return bool(hist.loss) and hist.loss[-1] != hist.loss[-1]


#: Largest number of scalar parameters :func:`newton_polish` accepts (dense Hessian).
POLISH_MAX_PARAMS = 4000


def newton_polish(loss_fn: Callable[[], torch.Tensor], params: Sequence[torch.Tensor], *,
                  max_steps: int = 8, history: History | None = None,
                  null_rtol: float = 1e-10, orbit_tol: float = 0.0,
                  escape_saddles: int = 0) -> History:
    r"""Refine a near-minimiser with Newton steps on the exact Hessian.

    At the current point :math:`x` with gradient :math:`g` and Hessian
    :math:`H = \sum_i w_i v_i v_i^\top`, the step is
    :math:`\delta = -\sum_{w_i > \tau} v_i v_i^\top g / w_i` with
    :math:`\tau = \texttt{null\_rtol}\cdot\max_i |w_i|`: directions of (near-)zero
    curvature, the symmetries of the loss (a rotation of :math:`Z`, a change
    of basis of :math:`Y` in a QR parametrisation), are left alone.  A step
    is taken only if it lowers the gradient without raising the loss beyond
    rounding; the polish stops at the first step that does not, or when the
    Hessian has a negative eigenvalue below :math:`-\tau` (not in a
    minimiser's basin).  Near a non-degenerate minimiser (up to symmetries)
    Newton converges quadratically, so two or three steps take the gradient
    from the L-BFGS floor (about :math:`\sqrt\varepsilon`) to rounding.

    **Orbits of an invariance at a non-stationary point.**  Where the loss is
    invariant under a group (rotations of :math:`Z`, the scale of each row for
    a loss of normalised rows), the Hessian along the orbit is :math:`0` only
    at a stationary point; at a point with gradient :math:`g` its
    eigenvalues there are :math:`O(\lVert g\rVert)` and of either sign, and
    the polish above stops at once.  ``orbit_tol > 0`` widens the threshold
    to :math:`\tau = \max(\texttt{null\_rtol}\max_i|w_i|,\ \texttt{orbit\_tol}\,
    \lVert g\rVert_2)`: eigenvalues with :math:`|w_i| \le \tau` are treated
    as orbit directions (not stepped along, not a sign of a saddle).  Use it
    only when the true curvature transverse to the orbits is well above
    ``orbit_tol`` times the gradient norm (R12).

    Parameters
    ----------
    loss_fn : callable
        No arguments; a twice-differentiable scalar of ``params``.
    params : sequence of tensors
        Updated in place; at most :data:`POLISH_MAX_PARAMS` entries in all.
    max_steps : int
    history : History, optional
        Appended to (loss and gradient after each accepted step).
    null_rtol : float in (0, 1)
        :math:`\tau / \max_i |w_i|` (default ``1e-10``).  Away from the
        minimiser set the Hessian along a symmetry orbit is not exactly zero
        but of the order of the gradient, and may be slightly negative; after
        an L-BFGS run whose gradient is far above rounding, pass a larger
        value (e.g. ``1e-6``, still below the smallest true curvature over
        the largest) so that those directions count as null rather than as
        negative curvature.
    orbit_tol : float >= 0
        The same purpose in the gradient's units (see above): the threshold
        is :math:`\tau = \max(\texttt{null\_rtol}\max_i|w_i|,\
        \texttt{orbit\_tol}\,\lVert g\rVert_2)`; 0 (the default) keeps
        the relative threshold alone.
    escape_saddles : int >= 0
        How many times the polish may leave a point where the Hessian has a
        negative eigenvalue below :math:`-\tau` instead of stopping there
        (default 0: stop).  A first-order method stops near a saddle point
        whenever the gradient is small there, e.g. near a column that is zero
        at a saddle and small but non-zero at the minimiser.  Each escape moves
        along the eigenvector :math:`v` of the most negative eigenvalue to the
        point of lowest loss among :math:`x \pm 2^{-j}\max(1, \lVert x\rVert)v`,
        :math:`j = 0, \dots, 59`, and the Newton steps resume from there (an
        escape counts as one of the ``max_steps``).  The polish still never
        raises the loss.

    Returns
    -------
    History
        ``history`` (or a new one) with ``n_polish`` accepted steps.
    """
    f = "newton_polish"
    params = list(params)
    max_steps = _v.check_int(max_steps, "max_steps", f, 1)
    _v.check_positive(orbit_tol, "orbit_tol", f, allow_zero=True)
    _v.check_positive(null_rtol, "null_rtol", f)
    escapes_left = _v.check_int(escape_saddles, "escape_saddles", f, 0)
    if not null_rtol < 1:
        raise ValueError(f"The 'null_rtol' parameter of {f} must be below 1. Got {null_rtol!r}.")
    sizes = [p.numel() for p in params]
    total = sum(sizes)
    if total > POLISH_MAX_PARAMS:
        raise ValueError(f"{f} forms the dense Hessian: {total} parameters is more than "
                         f"{POLISH_MAX_PARAMS}. Polish a smaller problem or skip the polish.")
    hist = history if history is not None else History()
    eps = torch.finfo(params[0].dtype).eps

    def current() -> torch.Tensor:
        return torch.cat([p.detach().reshape(-1) for p in params])

    def assign(x: torch.Tensor) -> None:
        with torch.no_grad():
            for p, c in zip(params, torch.split(x, sizes)):
                p.copy_(c.view_as(p))

    def value_grad_hessian(need_h: bool) -> tuple[float, torch.Tensor, torch.Tensor | None]:
        with torch.enable_grad():
            loss = loss_fn()
            grads = torch.autograd.grad(loss, params, create_graph=need_h, allow_unused=True)
            g = torch.cat([(gr if gr is not None else torch.zeros_like(p)).reshape(-1)
                           for gr, p in zip(grads, params)])
            H = None
            if need_h:
                rows = []
                for i in range(total):
                    if g[i].requires_grad:
                        hi = torch.autograd.grad(g[i], params, retain_graph=True,
                                                 allow_unused=True)
                        rows.append(torch.cat([(h if h is not None else torch.zeros_like(p))
                                               .reshape(-1) for h, p in zip(hi, params)]))
                    else:
                        rows.append(torch.zeros(total, dtype=g.dtype, device=g.device))
                H = torch.stack(rows).detach()
        return float(loss.detach()), g.detach(), H

    x = current()
    fx, g, H = value_grad_hessian(True)
    for _ in range(max_steps):
        gmax = float(g.abs().max())
        if gmax == 0.0:
            break
        H = (H + H.T) / 2
        w, V = torch.linalg.eigh(H)
        scale = float(w.abs().max())
        tau = max(null_rtol * scale, float(orbit_tol) * float(g.norm()))
        if scale == 0.0:
            break
        if float(w.min()) < -max(tau, 1e3 * eps * scale):
            if escapes_left == 0:
                break
            escapes_left -= 1
            v, base = V[:, 0], max(1.0, float(x.norm()))
            best_f, best_x = fx, None
            for j in range(60):
                for sign in (1.0, -1.0):
                    cand = x + sign * base * 2.0 ** -j * v
                    assign(cand)
                    with torch.no_grad():
                        f_c = float(loss_fn())
                    if f_c < best_f:
                        best_f, best_x = f_c, cand
            if best_x is None:
                assign(x)
                break
            x = best_x
            assign(x)
            fx, g, H = value_grad_hessian(True)
            hist.loss.append(fx)
            hist.grad_norm.append(float(g.abs().max()))
            continue
        keep = w > tau
        step = -(V[:, keep] @ ((V[:, keep].T @ g) / w[keep]))
        assign(x + step)
        f_new, g_new, H_new = value_grad_hessian(True)
        if not (f_new <= fx + 8 * eps * max(1.0, abs(fx))
                and float(g_new.abs().max()) < gmax):
            assign(x)
            break
        x, fx, g, H = x + step, f_new, g_new, H_new
        hist.n_polish += 1
        hist.loss.append(fx)
        hist.grad_norm.append(float(g.abs().max()))
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


@dataclass
class NonsmoothRun:
    r"""Result of :func:`train_diagonal_covariance`.

    Attributes
    ----------
    Z : torch.Tensor, shape (N, K)
        The final representation, detached; :math:`C(Z) = \operatorname{diag}(s^2)`.
    histories : list of History
        One per phase: L-BFGS, then each Adam phase.
    step_bound : float
        A proved bound on how far one step of the last phase moves any single
        parameter: :meth:`adam_step_bound` of the last phase's learning rate
        and number of steps (about :math:`6.41\,\eta` for 1500 steps).
    largest_step : float
        The largest change of a single parameter in one step of the last
        phase, measured (parameters compared before and after each step);
        never above ``step_bound``.
    last_lr : float
        The learning rate of the last Adam phase (:math:`\eta` of ``step_bound``).
    last_loss : float
        The loss at ``Z``, evaluated once after the last phase (Adam's histories
        record the loss before each step, so they leave out the returned point).
    """

    Z: torch.Tensor
    histories: list
    step_bound: float
    largest_step: float
    last_lr: float
    last_loss: float

    @property
    def lowest(self) -> float:
        """The lowest loss of any iterate of any phase, the returned ``Z`` included."""
        return min(self.last_loss, min(min(h.loss) for h in self.histories))

    @property
    def final_loss(self) -> float:
        """The loss at the returned ``Z`` (the last iterate), ``last_loss``."""
        return self.last_loss

    @staticmethod
    def adam_step_bound(lr: float, steps: int, betas: tuple[float, float] = (0.9, 0.999)
                        ) -> float:
        r"""Largest possible change of a parameter in steps ``1..steps`` of a fresh Adam.

        ``torch.optim.Adam`` (no weight decay, no AMSGrad) moves a parameter at its
        :math:`n`-th step by :math:`\eta\,\hat m_n/(\sqrt{\hat v_n} + \epsilon_A)` with
        :math:`\hat m_n = m_n/(1-\beta_1^n)`, :math:`\hat v_n = v_n/(1-\beta_2^n)`,
        :math:`m_n = (1-\beta_1)\sum_{i\le n}\beta_1^{n-i}g_i` and
        :math:`v_n = (1-\beta_2)\sum_{i\le n}\beta_2^{n-i}g_i^2` for the gradients
        :math:`g_1, \dots, g_n` of this optimiser (each phase of
        :func:`train_diagonal_covariance` creates a new one, so :math:`n` restarts
        at 1).  Writing :math:`\beta_1^{n-i}g_i = (\beta_1/\sqrt{\beta_2})^{n-i}
        \cdot\sqrt{\beta_2}^{\,n-i}g_i`, Cauchy-Schwarz gives, with
        :math:`\kappa = \beta_1^2/\beta_2 < 1`,

        .. math:: |m_n| \le (1-\beta_1)\sqrt{\tfrac{1-\kappa^n}{1-\kappa}}
                  \sqrt{\tfrac{v_n}{1-\beta_2}},

        and :math:`\epsilon_A \ge 0` only shrinks the step, so

        .. math:: |\Delta\theta_n| \le B(n) = \eta\,\frac{1-\beta_1}{1-\beta_1^n}
                  \sqrt{\frac{1-\beta_2^n}{1-\beta_2}}
                  \sqrt{\frac{1-\kappa^n}{1-\kappa}}.

        Equality holds (up to :math:`\epsilon_A`) for gradients
        :math:`g_i \propto (\beta_1/\beta_2)^{n-i}` of one sign, so the bound is
        attained at any chosen step.  :math:`B(1) = \eta`; for the defaults
        :math:`B(n)` increases with :math:`n` (checked for :math:`n \le 1500` in the
        unit tests) and tends to
        :math:`\eta(1-\beta_1)/\sqrt{(1-\beta_2)(1-\kappa)}
        \approx 7.27\,\eta`, more than twice the often quoted
        :math:`\eta(1-\beta_1)/\sqrt{1-\beta_2} \approx 3.16\,\eta`, which is not a
        bound.  Returns :math:`\max_{1\le n\le \text{steps}} B(n)`.
        """
        b1, b2 = betas
        kappa = b1 ** 2 / b2
        return max(lr * (1 - b1) / (1 - b1 ** n) * ((1 - b2 ** n) / (1 - b2)) ** 0.5
                   * ((1 - kappa ** n) / (1 - kappa)) ** 0.5
                   for n in range(1, steps + 1))


def train_diagonal_covariance(loss: Callable[[torch.Tensor], torch.Tensor], n: int, K: int,
                              *, seed: int = 0, lbfgs_iter: int = 200,
                              adam_phases: Sequence[tuple[float, int]] = (
                                  (1e-2, 2000), (1e-3, 500), (1e-4, 1500)),
                              device: Any = None) -> NonsmoothRun:
    r"""Minimise a non-smooth ``loss(Z)`` under the constraint "C(Z) diagonal" (R11).

    The constraint is built into the parametrisation

    .. math:: Z = \sqrt N\,\operatorname{qf}(HY)\operatorname{diag}(s),
              \qquad C(Z) = \operatorname{diag}(s^2)

    exactly at every iterate (:func:`orthonormalize`; :math:`Y \in
    \mathbb R^{N\times K}` from ``seed``, :math:`s = 1` at the start).  The
    hinge VICReg loss has a kink where a variance reaches the hinge's zero,
    at which L-BFGS's line search fails and no gradient tolerance applies, so
    ``lbfgs_iter`` L-BFGS iterations are followed by Adam phases with
    decreasing learning rates ``adam_phases`` (``(lr, steps)`` each), the usual
    treatment of a non-smooth objective; judge the result by loss values
    (:ref:`ch-vicreg-hinge` derives its tolerances from ``step_bound``, a
    proved bound on one step of the last phase, see
    :meth:`NonsmoothRun.adam_step_bound`; ``largest_step`` is the step
    measured).

    Parameters
    ----------
    loss : callable
        ``loss(Z)`` for ``Z`` of shape (n, K).
    n, K : int, 1 <= K <= n - 1
    seed : int
    lbfgs_iter : int >= 0
    adam_phases : sequence of (float > 0, int >= 1), non-empty
    device : optional

    Returns
    -------
    NonsmoothRun
    """
    f = "train_diagonal_covariance"
    n = _v.check_int(n, "n", f, 2)
    K = _v.check_int(K, "K", f, 1, n - 1)
    lbfgs_iter = _v.check_int(lbfgs_iter, "lbfgs_iter", f, 0)
    phases = list(adam_phases)
    if not phases:
        raise ValueError(f"{f}: adam_phases must hold at least one (lr, steps) pair.")
    for lr, steps in phases:
        _v.check_positive(lr, "lr", f)
        _v.check_int(steps, "steps", f, 1)
    from .graphs import centering
    H = centering(n, device=device)
    Y = _start((n, K), seed, 1.0, torch.float64, device)
    s = torch.ones(K, dtype=torch.float64, device=device, requires_grad=True)
    Z_of = lambda: n ** 0.5 * orthonormalize(H @ Y) * s
    hists = []
    if lbfgs_iter:
        hists.append(minimize(lambda: loss(Z_of()), [Y, s], max_iter=lbfgs_iter,
                              gtol=1e-10, require_convergence=False))
    seen: list[torch.Tensor] = []  # parameters at the previous evaluation
    largest = [0.0]

    def measure() -> None:
        # Adam evaluates the loss once per step, before it: the parameters now
        # minus those of the previous evaluation are the previous step.
        flat = torch.cat([Y.detach().ravel(), s.detach().ravel()])
        if seen:
            largest[0] = max(largest[0], float((flat - seen[0]).abs().max()))
            seen[0] = flat
        else:
            seen.append(flat)

    def watched() -> torch.Tensor:
        measure()
        return loss(Z_of())

    for i, (lr, steps) in enumerate(phases):
        last = i == len(phases) - 1  # a new Adam per phase: its step count restarts
        hists.append(minimize(watched if last else lambda: loss(Z_of()), [Y, s],
                              method="adam", lr=lr, max_iter=steps, gtol=0.0,
                              require_convergence=False))
    measure()  # the last step
    lr, steps = phases[-1]
    with torch.no_grad():  # the histories hold the loss before each step, not after
        Z = Z_of().detach()
        last_loss = float(loss(Z))
    return NonsmoothRun(Z, hists, NonsmoothRun.adam_step_bound(lr, steps),
                        largest[0], float(lr), last_loss)


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
    """Minimise ``loss(X @ W)`` over a linear map ``W`` (d x K).

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
        Passed to :func:`minimize` (``max_iter``, ``gtol``, ``polish``, ...).
        ``gtol`` bounds the largest entry of :math:`\nabla_Y f =
        (\text{Riemannian gradient at } Q)\,R^{-\top}`.  :math:`\|Y\| = \|R\|`
        is not controlled (L-BFGS may grow it well beyond :math:`\sqrt n`),
        so a bound on the Riemannian gradient is
        :math:`\|\nabla_Q f\| \le \|\nabla_Y f\|\,\|R\|_2`: use the
        returned ``Q`` and the history's ``final_grad`` together with
        ``torch.linalg.matrix_norm(R, 2)`` or, simpler, polish.

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


def m_orthonormalize(B: torch.Tensor, M: torch.Tensor) -> torch.Tensor:
    r""":math:`B R^{-\top}` with :math:`RR^\top = B^\top MB` (Cholesky): same span, :math:`M`-orthonormal.

    ``M`` symmetric positive definite on the span of ``B``; ``B`` of full
    column rank.  The result :math:`Z` satisfies :math:`Z^\top MZ = I_K`.
    """
    R = torch.linalg.cholesky(B.T @ M @ B)
    return torch.linalg.solve_triangular(R, B.T, upper=False).T


def trace_ratio_loss(C: torch.Tensor, M: torch.Tensor, P: torch.Tensor | None = None
                     ) -> Callable[[torch.Tensor], torch.Tensor]:
    r"""Unconstrained loss whose minimisers span the bottom generalised eigenvectors of (C, M).

    .. math:: f(A) = \operatorname{tr}\bigl(S^{-1}B^\top CB\bigr) + \|S - I_K\|_F^2,
              \qquad B = PA,\ S = B^\top MB,

    (``P`` = identity if None).  The first term is
    :math:`\operatorname{tr}(Z^\top CZ)` at the :math:`M`-orthonormalised
    :math:`Z = BR^{-\top}` (:func:`m_orthonormalize`), which depends only on
    the span of :math:`B`; the second fixes the scale the first leaves free.
    So a minimiser spans the :math:`K` bottom generalised eigenvectors of
    :math:`Cz = \nu Mz` inside the range of :math:`P` (Ky Fan, R3, in the
    metric :math:`M`; used for Laplacian Eigenmaps and LPP, R5, R6), and the
    minimum of the first term is the sum of those :math:`K` eigenvalues.
    """
    def f(A: torch.Tensor) -> torch.Tensor:
        B = A if P is None else P @ A
        S = B.T @ M @ B
        eye = torch.eye(B.shape[1], dtype=B.dtype, device=B.device)
        return torch.trace(torch.linalg.solve(S, B.T @ C @ B)) + ((S - eye) ** 2).sum()
    return f


def train_trace_constrained(C: torch.Tensor, M: torch.Tensor, K: int, *,
                            P: torch.Tensor | None = None, seed: int = 0,
                            device: Any = None, **kw: Any) -> tuple[torch.Tensor, History]:
    r"""Minimise :math:`\operatorname{tr}(Z^\top CZ)` over :math:`Z^\top MZ = I_K`, :math:`Z = PA`, by training.

    :func:`trace_ratio_loss` with :math:`C` and :math:`M` divided by their
    spectral norms (the minimising span does not change; both terms are then
    of order one and L-BFGS sees a well-conditioned problem) is minimised over
    a free :math:`A` by :func:`train_free` (keywords go to :func:`minimize`:
    ``gtol``, ``max_iter``, ``polish``...); the result :math:`P A` is
    :math:`M`-orthonormalised with the given ``M``.  This is the trained
    counterpart of the closed forms of Laplacian Eigenmaps (``P`` the
    projector that removes the trivial direction, R5) and of LPP
    (:math:`C = X^\top LX`, :math:`M = X^\top DX` or :math:`\Sigma`, R6).

    Returns
    -------
    (Z, History) : ``Z`` with :math:`Z^\top MZ = I_K` (n x K), and the history
    of the normalised loss.

    Raises
    ------
    ValueError
        If ``C`` or ``M`` is not square, their shapes differ, or ``K`` is not
        in ``[1, n]``.
    """
    f = "train_trace_constrained"
    C = _v.check_matrix(C, "C", f)
    M = _v.check_matrix(M, "M", f).to(C)
    n = C.shape[0]
    if C.shape != (n, n) or M.shape != (n, n):
        raise ValueError(f"C and M must be square of the same size in {f}: got "
                         f"{tuple(C.shape)} and {tuple(M.shape)}.")
    K = _v.check_int(K, "K", f, 1, n)
    Cn = C / float(torch.linalg.matrix_norm(C, 2))
    Mn = M / float(torch.linalg.matrix_norm(M, 2))
    A, hist = train_free(trace_ratio_loss(Cn, Mn, P), n, K, seed=seed, device=device, **kw)
    B = A if P is None else P @ A
    return m_orthonormalize(B, M), hist


# -- MLP with weight decay and early stopping (MLP chapter) -------------------------------

def train_mlp_regularized(loss: Callable[[torch.Tensor], torch.Tensor], X: Any, K: int, *,
                          hidden: Sequence[int] = (64,), seed: int = 0, max_iter: int = 500,
                          weight_decay: float = 0.0,
                          monitor: Callable[[MLP], Any] | None = None,
                          ) -> tuple[MLP, MLP, dict[str, Any]]:
    r"""L-BFGS on ``loss(f(X)) + weight_decay * |theta|^2``, keeping the best monitored iterate (R10).

    The beyond-the-paper chapter :ref:`ch-vicreg-mlp` asks whether weight
    decay or early stopping changes where an MLP trained with VICReg (R10)
    lands.  The objective is

    .. math:: \ell(f_\theta(X)) + \mu\,\|\theta\|_2^2,

    :math:`\mu` = ``weight_decay`` (every weight and bias).  The network is
    initialised as in :func:`train_mlp` (PyTorch's default, from ``seed``, on
    the CPU) and trained for exactly ``max_iter`` L-BFGS iterations with the
    settings of :func:`minimize` (strong Wolfe, history 50).  After each
    iteration ``monitor(net)`` (a float, e.g. a loss on other rows) is
    evaluated without gradients; the iterate with the smallest value is kept
    (early stopping on the monitored quantity).

    Parameters
    ----------
    loss : callable
        ``Z -> scalar tensor`` on the training rows' representation.
    X : (N, d) array_like
        Training inputs; fix dtype and device.
    K : int >= 1
    hidden : sequence of int
        Hidden widths of the :class:`MLP`.
    seed : int
    max_iter : int >= 1
    weight_decay : float >= 0
    monitor : callable, optional
        ``net -> float``; without it the best iterate is the last one.

    Returns
    -------
    net : MLP
        The last iterate.
    best : MLP
        A copy at the iterate (0 = the initialisation) with the smallest
        monitored value.
    info : dict
        ``best_iter``, ``monitor`` (list, one value per iterate from 0),
        ``loss`` (the unpenalised training loss at each iterate).

    Raises
    ------
    ValueError
        On a bad ``X``, ``K``, ``max_iter``, ``weight_decay`` or a
        non-callable ``loss`` / ``monitor``.
    RuntimeError
        If the objective becomes NaN.
    """
    import copy

    f = "train_mlp_regularized"
    X = _v.check_matrix(X, "X", f)
    K = _v.check_int(K, "K", f, 1)
    max_iter = _v.check_int(max_iter, "max_iter", f, 1)
    mu = _v.check_positive(weight_decay, "weight_decay", f, allow_zero=True)
    for name, fn in (("loss", loss), ("monitor", monitor)):
        if fn is not None and not callable(fn):
            raise ValueError(f"The '{name}' parameter of {f} must be callable. "
                             f"Got {type(fn).__name__} instead.")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = MLP(X.shape[1], K, hidden).to(X.dtype)
    net = net.to(X.device)
    params = list(net.parameters())

    def objective() -> torch.Tensor:
        value = loss(net(X))
        if mu > 0:
            value = value + mu * sum((p ** 2).sum() for p in params)
        return value

    def closure() -> torch.Tensor:
        opt.zero_grad()
        value = objective()
        value.backward()
        return value

    opt = torch.optim.LBFGS(params, lr=1.0, max_iter=1, max_eval=30, tolerance_grad=-1.0,
                            tolerance_change=0.0, history_size=50,
                            line_search_fn="strong_wolfe")

    def record() -> float:
        with torch.no_grad():
            info["loss"].append(float(loss(net(X))))
            return float(monitor(net)) if monitor is not None else -len(info["loss"])

    info: dict[str, Any] = {"loss": [], "monitor": [], "best_iter": 0}
    best_value, best_state = record(), copy.deepcopy(net.state_dict())
    info["monitor"].append(best_value)
    for it in range(1, max_iter + 1):
        value = opt.step(closure)
        if not bool(torch.isfinite(value)):
            raise RuntimeError(f"{f}: the objective became NaN after {it} iterations.")
        m = record()
        info["monitor"].append(m)
        if m < best_value:
            best_value, best_state, info["best_iter"] = m, copy.deepcopy(net.state_dict()), it
    if monitor is None:
        info["monitor"] = []
    best = copy.deepcopy(net)
    best.load_state_dict(best_state)
    return net, best, info


# --- Linear InfoNCE: a scale-free linear encoder (R15) ---------------------------------

def row_floor(X: Any, W: Any) -> float:
    r"""Smallest relative row norm of :math:`XW`: :math:`\min_i \|W^\top x_i\| / (\|W\|_F\|x_i\|)`.

    A loss of the normalised rows :math:`u_i = W^\top x_i/\|W^\top x_i\|`
    (InfoNCE, NT-Xent) is not differentiable where some :math:`W^\top x_i = 0`;
    near such a :math:`W` its gradient and curvature grow like the inverse of
    this number and its square (R15, :ref:`ch-infonce-general`).  It is
    invariant to the scale of :math:`W` and lies in :math:`[0, 1]`.

    Parameters
    ----------
    X : (N, d) tensor without zero row
    W : (d, K) tensor, not zero

    Returns
    -------
    float
    """
    f = "row_floor"
    X = _v.check_matrix(X, "X", f)
    W = _v.check_matrix(W, "W", f)
    if X.shape[1] != W.shape[0]:
        raise ValueError(f"X has {X.shape[1]} columns but W has {W.shape[0]} rows in {f}.")
    xn = X.norm(dim=1)
    wn = float(W.norm())
    if bool((xn == 0).any()) or wn == 0.0:
        raise ValueError(f"X must have no zero row and W must not be zero in {f}.")
    return float(((X @ W.to(X)).norm(dim=1) / xn).min()) / wn


def train_linear_scale_free(loss: Callable[[torch.Tensor], torch.Tensor], X: Any, K: int, *,
                            W0: Any = None, seed: int = 0,
                            barrier: Sequence[float] = (1e-2, 1e-3),
                            max_iter: int = 2000, gtol: float = 1e-9, polish: bool = True
                            ) -> tuple[torch.Tensor, History]:
    r"""Minimise a scale-invariant ``loss(X @ W)`` with the scale of ``W`` fixed (R15).

    For a loss of the normalised rows of :math:`Z = XW` (InfoNCE, NT-Xent),
    :math:`\ell(cW) = \ell(W)` for :math:`c > 0`: plain L-BFGS lets
    :math:`\|W\|` drift and the Hessian has a flat direction along
    :math:`W`.  Here the objective is

    .. math:: \ell(XW) + (\|W\|_F^2 - 1)^2
              \;-\; \mu\,\frac1N\sum_i \log\frac{\|W^\top x_i\|}{\|x_i\|},

    minimised by L-BFGS for each barrier weight :math:`\mu` in ``barrier``
    (a continuation that keeps the iterates away from the non-differentiable
    points :math:`W^\top x_i = 0`, see :func:`row_floor`), then with
    :math:`\mu = 0` and, if ``polish``, Newton steps on the exact Hessian.
    The penalty is 0 on the unit sphere and does not move the stationary
    points of :math:`\ell` along it (its gradient is radial, and
    :math:`\ell`'s is tangent), so a stationary point returned here is one
    of :math:`\ell` scaled to :math:`\|W\|_F = 1`.  The loss may still reach
    its lowest values only near some :math:`W^\top x_i = 0` (then the last
    stage ends there: check :func:`row_floor` and the gradient of the
    returned point); nothing is raised for it.

    Parameters
    ----------
    loss : callable
        ``loss(Z)`` for ``Z`` of shape ``(N, K)``, invariant to the scale of ``Z``.
    X : (N, d) tensor, no zero row; fixes dtype and device.
    K : int >= 1
    W0 : (d, K) tensor, optional
        The start (rescaled to unit Frobenius norm); a seeded
        ``randn(d, K)`` from ``seed`` otherwise.
    seed : int
    barrier : sequence of float >= 0
        Barrier weights of the continuation stages (empty: none).
    max_iter : int >= 1
        L-BFGS iterations per stage.
    gtol : float >= 0
        Largest gradient entry at which a stage stops.
    polish : bool
        Newton steps after the last stage.

    Returns
    -------
    W : (d, K) tensor, detached, rescaled to :math:`\|W\|_F = 1`.
    history : History of the last stage (with its polish).
    """
    f = "train_linear_scale_free"
    X = _v.check_matrix(X, "X", f)
    K = _v.check_int(K, "K", f, 1)
    max_iter = _v.check_int(max_iter, "max_iter", f, 1)
    if not callable(loss):
        raise ValueError(f"The 'loss' parameter of {f} must be callable.")
    mus = [float(m) for m in barrier]
    for m in mus:
        _v.check_positive(m, "barrier", f, allow_zero=True)
    xn = X.norm(dim=1)
    if bool((xn == 0).any()):
        raise ValueError(f"X must have no zero row in {f}.")
    if W0 is None:
        start = torch.randn(X.shape[1], K, generator=generator(seed), dtype=X.dtype)
    else:
        start = _v.check_matrix(W0, "W0", f).detach().to(dtype=X.dtype, device="cpu")
        if tuple(start.shape) != (X.shape[1], K):
            raise ValueError(f"W0 must have shape {(X.shape[1], K)} in {f}. "
                             f"Got {tuple(start.shape)}.")
    if float(start.norm()) == 0.0:
        raise ValueError(f"W0 must not be zero in {f}.")
    W = (start / start.norm()).to(X.device).requires_grad_(True)

    def objective(mu: float) -> Callable[[], torch.Tensor]:
        def fn() -> torch.Tensor:
            value = loss(X @ W) + ((W * W).sum() - 1) ** 2
            if mu > 0:
                value = value - mu * torch.log((X @ W).norm(dim=1) / xn).mean()
            return value
        return fn

    for mu in mus:
        minimize(objective(mu), [W], gtol=gtol, max_iter=max_iter, require_convergence=False)
    hist = minimize(objective(0.0), [W], gtol=gtol, max_iter=max_iter,
                    require_convergence=False, polish=polish, polish_orbit_tol=10.0)
    with torch.no_grad():
        out = W.detach() / W.detach().norm()
    return out, hist
