"""Unit tests of :mod:`sslspec_lib.bounds`: each bound holds and is not vacuous."""
import numpy as np
import pytest
import torch

from sslspec_lib import bounds, metrics


def _sym(lam, seed):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((len(lam), len(lam))))
    return torch.tensor((Q * lam) @ Q.T), torch.tensor(Q)


def test_rounding():
    assert bounds.rounding(2.0, 10, factor=3) == pytest.approx(60 * bounds.EPS)
    with pytest.raises(ValueError, match="'n' parameter of rounding"):
        bounds.rounding(1.0, 0)
    with pytest.raises(ValueError, match="'scale' parameter of rounding"):
        bounds.rounding(-1.0)


@pytest.mark.parametrize("theta", [1e-7, 1e-4, 1e-2])
def test_sin_theta_bound_holds_and_is_tight_to_a_factor(theta):
    lam = np.array([1.0, 2.0, 3.0, 5.0, 6.0, 7.0])
    A, Q = _sym(lam, 0)
    # rotate the bottom-3 frame by theta towards u4
    Z = Q[:, :3].clone()
    Z[:, 2] = np.cos(theta) * Q[:, 2] + np.sin(theta) * Q[:, 3]
    r = bounds.eigen_residual(A, Z)
    Lam = torch.linalg.eigvalsh(Z.T @ A @ Z)
    gap = float(lam[3] - Lam.max())
    sin = metrics.subspace_gap(Z, Q[:, :3])
    b = bounds.sin_theta_bound(r, gap)
    assert sin <= b * (1 + 1e-9) + 1e-15
    assert b < 10 * sin + 1e-14  # not vacuous: within a small factor of the truth
    assert float(bounds.eigen_residual(A, Q[:, :3])) < 1e-13


def test_gradient_distance_bound():
    # f(x) = mu/2 |x|^2: |x| = |g| / mu exactly
    assert bounds.gradient_distance_bound(torch.tensor(3.0), 2.0) == pytest.approx(1.5)
    with pytest.raises(ValueError, match="'curvature' parameter"):
        bounds.gradient_distance_bound(1.0, 0.0)


@pytest.mark.parametrize("A, Z, match", [
    (np.ones((3, 4)), np.ones((3, 1)), "square"),
    (np.array([[1.0, 2.0], [0.0, 1.0]]), np.ones((2, 1)), "symmetric"),
    (np.eye(3), np.ones((4, 1)), "rows"),
    (np.array([[np.nan, 0.0], [0.0, 1.0]]), np.ones((2, 1)), "finite"),
])
def test_eigen_residual_bad_input(A, Z, match):
    with pytest.raises(ValueError, match=match):
        bounds.eigen_residual(A, Z)


def test_sin_theta_bad_input():
    with pytest.raises(ValueError, match="'gap' parameter of sin_theta_bound"):
        bounds.sin_theta_bound(1.0, -1.0)
