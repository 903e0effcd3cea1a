"""Unit tests of :mod:`sslspec_lib.train`: convergence, its failure mode, determinism.

The numerical checks of the book rely on three promises: a converged L-BFGS
run really has a small gradient, an unconverged one raises instead of
returning, and a seed fixes the start (hence the result) exactly.
"""
import numpy as np
import pytest
import torch

from sslspec_lib import train


def spd(n, seed, cond=10.0):
    """A symmetric positive-definite matrix with eigenvalues in [1, cond]."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return torch.tensor((Q * np.linspace(1.0, cond, n)) @ Q.T)


def quadratic(A, b):
    """f(x) = 1/2 (x - x*)^T A (x - x*), x* = A^{-1} b, for x of shape (n, 1).

    Written with minimum value 0: the line search compares loss values, and
    for an O(1) minimum float64 cannot resolve the decrease ~|grad|^2 of a step
    once |grad| < ~1e-8 (it stalls there); around 0 it can go much further.
    """
    xstar = torch.linalg.solve(A, b)
    return lambda x: 0.5 * ((x - xstar).T @ A @ (x - xstar)).sum()


# -- minimize -----------------------------------------------------------------------------

@pytest.mark.parametrize("gtol", [1e-6, 1e-9, 1e-12])
def test_lbfgs_converges_on_a_quadratic(gtol):
    A, b = spd(8, 0), torch.tensor(np.random.default_rng(1).standard_normal((8, 1)))
    x = torch.zeros(8, 1, dtype=torch.float64, requires_grad=True)
    f = quadratic(A, b)
    hist = train.minimize(lambda: f(x), [x], gtol=gtol)
    assert hist.converged and hist.grad_norm[-1] <= gtol
    assert len(hist.loss) == len(hist.grad_norm) and hist.final_loss == hist.loss[-1]
    xstar = torch.linalg.solve(A, b)
    # |x - x*| <= |grad| / lambda_min(A) = |grad| (lambda_min = 1), per entry up to sqrt(8)
    assert float((x.detach() - xstar).abs().max()) <= 3 * gtol
    assert hist.final_loss <= 0.5 * gtol ** 2 * 8  # f <= |grad|^2 / (2 lambda_min), 8 entries
    # the loss does not increase along the iterates (strong-Wolfe line search)
    assert all(b <= a + 1e-12 for a, b in zip(hist.loss, hist.loss[1:]))


def test_lbfgs_raises_when_max_iter_is_too_small():
    A, b = spd(20, 2, cond=1e3), torch.ones(20, 1, dtype=torch.float64)
    x = torch.zeros(20, 1, dtype=torch.float64, requires_grad=True)
    f = quadratic(A, b)
    with pytest.raises(RuntimeError, match=r"minimize did not converge: the loss was still "
                                           r"decreasing when the budget of 2 iterations ran out"):
        train.minimize(lambda: f(x), [x], max_iter=2)


def test_lbfgs_stops_at_its_floor_and_says_so():
    """An O(1) minimum: no absolute gtol near 1e-8 is reachable everywhere, and none is asked.

    The run ends when the loss stops decreasing beyond rounding ("stalled"), reports the
    gradient it reached, and a Newton polish takes that gradient to rounding.
    """
    A = spd(12, 5, cond=50.0)
    xstar = torch.tensor(np.random.default_rng(6).standard_normal((12, 1)))
    x = torch.zeros(12, 1, dtype=torch.float64, requires_grad=True)
    f = lambda: 0.5 * ((x - xstar).T @ A @ (x - xstar)).sum() + 3.0 + (x ** 4).sum() * 1e-3
    hist = train.minimize(f, [x])
    assert hist.status == "stalled" and hist.converged
    # The floor: |grad| of order sqrt(eps) * scale, far above rounding, far below O(1).
    assert 0 < hist.final_grad < 1e-5
    g_lbfgs = hist.final_grad
    train.newton_polish(f, [x], history=hist)
    assert hist.n_polish >= 1
    # Newton converges quadratically from there: rounding of a gradient of scale ~50.
    assert hist.final_grad < 1e-11 and hist.final_grad < g_lbfgs / 100


def test_newton_polish_leaves_symmetries_alone_and_refuses_big_problems():
    # f(Z) = ||Z Z^T - M||^2 is invariant under Z -> Z Q: a singular Hessian.
    rng = np.random.default_rng(2)
    B = torch.tensor(rng.standard_normal((6, 2)))
    M = B @ B.T
    Z = torch.tensor(rng.standard_normal((6, 2)), requires_grad=True)
    f = lambda: (Z @ Z.T - M).pow(2).sum()
    hist = train.minimize(f, [Z], polish=True)
    assert hist.final_grad < 1e-10
    torch.testing.assert_close(Z.detach() @ Z.detach().T, M, atol=1e-9, rtol=0)
    big = torch.zeros(train.POLISH_MAX_PARAMS + 1, dtype=torch.float64, requires_grad=True)
    with pytest.raises(ValueError, match="forms the dense Hessian"):
        train.newton_polish(lambda: big.pow(2).sum(), [big])


def test_unconverged_run_can_be_returned_explicitly():
    A, b = spd(20, 2, cond=1e3), torch.ones(20, 1, dtype=torch.float64)
    x = torch.zeros(20, 1, dtype=torch.float64, requires_grad=True)
    f = quadratic(A, b)
    hist = train.minimize(lambda: f(x), [x], max_iter=2, require_convergence=False)
    assert not hist.converged and hist.grad_norm[-1] > 1e-9


def test_adam_decreases_the_loss():
    A, b = spd(5, 3), torch.ones(5, 1, dtype=torch.float64)
    x = torch.zeros(5, 1, dtype=torch.float64, requires_grad=True)
    f = quadratic(A, b)
    hist = train.minimize(lambda: f(x), [x], method="adam", lr=0.05, max_iter=300,
                          require_convergence=False)
    assert hist.n_iter == 300 and len(hist.loss) == 300
    assert hist.loss[-1] < hist.loss[0] - 0.1
    assert hist.loss[-1] < 1e-2


# -- train_free / train_linear / train_mlp: determinism ---------------------------------------

def _record_start(loss):
    """Wrap a loss so that the first point it is evaluated at is recorded."""
    seen = []

    def wrapped(Z):
        if not seen:
            seen.append(Z.detach().clone())
        return loss(Z)
    return wrapped, seen


def _target_loss(T):
    """A smooth loss with an O(1) minimum (train with gtol >= 1e-7, see quadratic)."""
    return lambda Z: (Z - T).pow(2).sum() + 0.1 * (Z.T @ Z).pow(2).sum()


def test_train_free_same_seed_identical_different_seed_different():
    T = torch.tensor(np.random.default_rng(4).standard_normal((6, 2)))
    f1, s1 = _record_start(_target_loss(T))
    f2, s2 = _record_start(_target_loss(T))
    f3, s3 = _record_start(_target_loss(T))
    Z1, h1 = train.train_free(f1, 6, 2, seed=7, gtol=1e-7)
    Z2, h2 = train.train_free(f2, 6, 2, seed=7, gtol=1e-7)
    Z3, _ = train.train_free(f3, 6, 2, seed=8, gtol=1e-7)
    assert torch.equal(s1[0], s2[0]) and torch.equal(Z1, Z2)  # bitwise identical
    assert h1.loss == h2.loss
    assert not torch.equal(s1[0], s3[0])  # a different start
    assert float((s1[0] - s3[0]).abs().max()) > 0.1
    # the start is init_scale * randn from a CPU generator seeded with `seed`
    g = torch.Generator().manual_seed(7)
    torch.testing.assert_close(s1[0], torch.randn(6, 2, generator=g, dtype=torch.float64),
                               atol=0, rtol=0)
    assert Z1.shape == (6, 2) and Z1.dtype == torch.float64 and not Z1.requires_grad


def test_train_free_init_scale_and_dtype():
    f, seen = _record_start(_target_loss(torch.zeros(3, 2, dtype=torch.float32)))
    train.train_free(f, 3, 2, seed=0, init_scale=0.01, dtype=torch.float32, gtol=1e-4)
    assert seen[0].dtype == torch.float32 and float(seen[0].abs().max()) < 0.1


def test_train_linear_converges_to_least_squares_and_is_deterministic():
    rng = np.random.default_rng(5)
    X = torch.tensor(rng.standard_normal((30, 4)))
    Wtrue = torch.tensor(rng.standard_normal((4, 2)))
    Y = X @ Wtrue
    W1, h1 = train.train_linear(lambda Z: (Z - Y).pow(2).sum(), X, 2, seed=3, gtol=1e-9)
    W2, _ = train.train_linear(lambda Z: (Z - Y).pow(2).sum(), X, 2, seed=3, gtol=1e-9)
    assert W1.shape == (4, 2) and h1.converged
    assert torch.equal(W1, W2)
    # |W - W*| <= |grad| / lambda_min(2 X^T X) and lambda_min >= 1 here
    assert float((W1 - Wtrue).abs().max()) < 1e-8


def test_train_mlp_is_deterministic_given_seed():
    X = torch.tensor(np.random.default_rng(6).standard_normal((16, 3)))

    def loss(Z):
        return (Z - 1.0).pow(2).mean()

    net1, h1 = train.train_mlp(loss, X, 2, hidden=(8,), seed=0, max_iter=50)
    net2, h2 = train.train_mlp(loss, X, 2, hidden=(8,), seed=0, max_iter=50)
    net3, _ = train.train_mlp(loss, X, 2, hidden=(8,), seed=1, max_iter=50)
    assert h1.loss == h2.loss and h1.loss[-1] < h1.loss[0]
    for p1, p2, p3 in zip(net1.parameters(), net2.parameters(), net3.parameters()):
        assert torch.equal(p1, p2) and not torch.equal(p1, p3)
    assert next(net1.parameters()).dtype == torch.float64  # X's dtype
    assert net1(X).shape == (16, 2)


def test_training_does_not_touch_the_global_torch_generator():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    train.train_free(_target_loss(torch.zeros(2, 2, dtype=torch.float64)), 2, 2, seed=5,
                     gtol=1e-7)
    train.train_mlp(lambda Z: Z.pow(2).mean(), torch.ones(4, 2, dtype=torch.float64), 1,
                    seed=5, max_iter=3)
    assert torch.equal(torch.rand(3), expected)


# -- orthonormalize / train_stiefel (R3) ---------------------------------------------------------

def test_orthonormalize_is_the_positive_diagonal_qr_factor():
    Y = torch.tensor(np.random.default_rng(7).standard_normal((6, 3)))
    Q = train.orthonormalize(Y)
    torch.testing.assert_close(Q.T @ Q, torch.eye(3, dtype=torch.float64), atol=1e-14, rtol=0)
    R = Q.T @ Y
    assert bool((R.diagonal() > 0).all())
    torch.testing.assert_close(torch.tril(R, -1), torch.zeros(3, 3, dtype=torch.float64),
                               atol=1e-14, rtol=0)
    # unique factor: invariant to the sign conventions of the QR routine
    torch.testing.assert_close(train.orthonormalize(Y * 2.0), Q, atol=1e-14, rtol=0)


def test_train_stiefel_finds_the_ky_fan_minimum():
    A = spd(7, 8, cond=7.0)  # eigenvalues 1, 2, ..., 7: gap 1 at every cut
    Q, hist = train.train_stiefel(lambda Q: torch.trace(Q.T @ A @ Q), 7, 3, seed=1, gtol=1e-8)
    torch.testing.assert_close(Q.T @ Q, torch.eye(3, dtype=torch.float64), atol=1e-13, rtol=0)
    # Ky Fan: the minimum of tr(Q^T A Q) is 1 + 2 + 3, attained by the bottom eigenvectors
    assert abs(hist.final_loss - 6.0) < 1e-12
    _, U = torch.linalg.eigh(A)
    P = Q @ Q.T - U[:, :3] @ U[:, :3].T
    assert float(P.abs().max()) < 1e-7  # subspace error ~ gradient / eigengap


def test_minimize_forwards_the_polish_thresholds():
    # A rotation-invariant loss stopped by L-BFGS: with the default relative threshold
    # the orbit's slightly negative curvature may stop the polish; with null_rtol it must
    # take the gradient to rounding.
    rng = np.random.default_rng(5)
    B = torch.tensor(rng.standard_normal((8, 3)))
    M = B @ B.T
    Z = torch.tensor(rng.standard_normal((8, 3)), requires_grad=True)
    f = lambda: (Z @ Z.T - M).pow(2).sum()
    hist = train.minimize(f, [Z], polish=True, polish_null_rtol=1e-6, polish_orbit_tol=10.0)
    assert hist.final_grad < 1e-10
    with pytest.raises(ValueError, match="'null_rtol' parameter of newton_polish"):
        train.minimize(f, [Z], polish=True, polish_null_rtol=2.0)


def test_newton_polish_escapes_a_saddle_only_when_asked():
    # f(x, y) = (x^2 - 1)^2 + y^2 has a saddle at the origin (curvature -4 along x) and
    # minimisers at (+-1, 0).  Near the saddle the gradient is small: Newton alone stops.
    f = lambda p: (p[0] ** 2 - 1) ** 2 + p[1] ** 2
    stuck = torch.tensor([1e-7, 0.3], dtype=torch.float64, requires_grad=True)
    h = train.newton_polish(lambda: f(stuck), [stuck])
    assert h.n_polish == 0 and abs(float(stuck[0].detach())) < 1e-6
    free = torch.tensor([1e-7, 0.3], dtype=torch.float64, requires_grad=True)
    h = train.newton_polish(lambda: f(free), [free], escape_saddles=1, max_steps=30)
    assert abs(abs(float(free[0].detach())) - 1.0) < 1e-12 and abs(float(free[1].detach())) < 1e-12
    assert float(f(free.detach())) < 1e-20
    with pytest.raises(ValueError, match="escape_saddles"):
        train.newton_polish(lambda: f(free), [free], escape_saddles=-1)


def test_train_diagonal_covariance_keeps_the_covariance_diagonal() -> None:
    """Every point of the parametrisation has C(Z) = diag(s^2) exactly (to rounding), the
    histories have one entry per phase, the step bound is Adam's proved bound for the last
    phase (its learning rate and number of steps) and the measured largest step is
    positive and below it.  A hinge loss that the constraint cannot lower below its
    minimum ends near it.  final_loss is the loss at the returned Z, lowest counts
    it, and last_lr is the last phase's learning rate."""
    from sslspec_lib import graphs, losses
    n, K = 12, 3
    off = torch.ones(n - 1, dtype=torch.float64)
    G = torch.diag(off, 1) + torch.diag(off, -1)
    loss = lambda Z: losses.vicreg_hinge(Z, G, cov_coeff=0.0)
    run = train.train_diagonal_covariance(loss, n, K, seed=3, lbfgs_iter=20,
                                          adam_phases=((1e-2, 300), (1e-3, 100)))
    C = run.Z.T @ graphs.centering(n) @ run.Z / n
    off_diag = C - torch.diag(torch.diagonal(C))
    assert float(off_diag.abs().max()) < 1e-12 * float(C.abs().max())
    assert len(run.histories) == 3
    assert run.step_bound == train.NonsmoothRun.adam_step_bound(1e-3, 100)
    assert 0.0 < run.largest_step <= run.step_bound
    assert run.lowest <= run.final_loss
    assert run.final_loss < run.histories[0].loss[0]
    # final_loss is the loss at the returned Z (Adam records it before each step)
    assert run.last_lr == 1e-3
    assert run.final_loss == pytest.approx(float(loss(run.Z)), rel=1e-12, abs=1e-14)
    assert run.lowest <= min(min(h.loss) for h in run.histories)


def _adam_steps(grads: list[float], lr: float) -> list[float]:
    """The step of torch.optim.Adam (defaults) on one scalar parameter for each gradient."""
    x = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([x], lr=lr)
    steps = []
    for g in grads:
        before = float(x.detach())
        x.grad = torch.tensor([g], dtype=torch.float64)
        opt.step()
        steps.append(abs(float(x.detach()) - before))
    return steps


def test_adam_step_bound_holds_and_is_attained() -> None:
    """NonsmoothRun.adam_step_bound is a bound on every step of torch's Adam (random,
    alternating and growing gradient sequences never exceed it) and it is tight: the
    one-signed sequence g_i = (b1/b2)^(T - i) reaches it at step T to within Adam's eps,
    beyond eta (1 - b1)/sqrt(1 - b2), the 'effective step' often quoted as a bound.
    B(n) is non-decreasing for n <= 1500, so the bound over 1500 steps is B(1500)."""
    lr, T = 1e-3, 1500
    bound = train.NonsmoothRun.adam_step_bound(lr, T)
    # B(1) = eta, B increasing for the defaults, limit eta (1-b1)/sqrt((1-b2)(1-kappa))
    assert train.NonsmoothRun.adam_step_bound(lr, 1) == pytest.approx(lr, rel=1e-12)
    kappa = 0.81 / 0.999
    limit = lr * 0.1 / (0.001 * (1 - kappa)) ** 0.5
    assert bound < train.NonsmoothRun.adam_step_bound(lr, 20000) <= limit
    # B(n) itself (not its running maximum) is non-decreasing for n = 1..T
    n_ = torch.arange(1, T + 1, dtype=torch.float64)
    B = (lr * 0.1 / (1 - 0.9 ** n_) * ((1 - 0.999 ** n_) / 0.001).sqrt()
         * ((1 - kappa ** n_) / (1 - kappa)).sqrt())
    assert bool((torch.diff(B) >= 0).all())
    assert float(B[-1]) == pytest.approx(bound, rel=1e-12)
    gen = torch.Generator().manual_seed(11)
    sequences = [
        torch.randn(T, generator=gen, dtype=torch.float64).tolist(),
        [(-1.0) ** i for i in range(T)],  # the sign alternates, as across a kink
        [(-1.0) ** i * 10.0 ** (i / 300) for i in range(T)],
        (torch.rand(T, generator=gen, dtype=torch.float64) * 10.0 ** torch.linspace(
            -3, 3, T, dtype=torch.float64)).tolist(),
    ]
    for grads in sequences:
        assert max(_adam_steps(grads, lr)) <= bound * (1 + 1e-12)
    ratio = 0.9 / 0.999
    worst = _adam_steps([ratio ** (T - i) for i in range(1, T + 1)], lr)[-1]
    assert worst > 0.9 * bound and worst <= bound * (1 + 1e-12)
    assert worst > lr * 0.1 / 0.001 ** 0.5 * 1.9  # the old value is exceeded by far
