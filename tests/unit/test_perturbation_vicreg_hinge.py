"""The tolerances of the VICReg hinge chapter reject perturbed closed forms (R11).

The chapter (part2_ssl/vicreg_hinge) derives its tolerances from a loss
tolerance tau = K rho eta (eta = 1e-4, the last Adam step) on the path graph
with N = 16, K = 4.  Here the exact closed form stands in for a perfectly
trained point, and a wrong closed form (scaling, kink, eigenvectors, the
part-2 decrease) must miss the tolerance the chapter uses.
"""
import math

import pytest
import torch

from sslspec_lib import bounds, closed_form, losses, metrics

N, K, ETA = 16, 4, 1e-4


def _path() -> torch.Tensor:
    off = torch.ones(N - 1, dtype=torch.float64)
    return torch.diag(off, 1) + torch.diag(off, -1)


@pytest.mark.parametrize("unbiased, eps", [(False, 0.0), (True, 1e-4)])
def test_spectrum_tolerances_reject_wrong_scaling(unbiased: bool, eps: float) -> None:
    G = _path()
    _, det = closed_form.vicreg_hinge_optimum(G, K, 1.0, eps=eps, unbiased=unbiased,
                                              return_details=True)
    rho = N / (N - 1) if unbiased else 1.0
    lam = det.eigenvalues.cpu()
    tau = K * rho * ETA
    on_kink = lam <= rho / 4
    assert on_kink.tolist() == [True, True, False, False]
    tol_kink = tau / float(torch.minimum(2 * lam, rho / 2 - 2 * lam)[on_kink].min())
    tol_branch = (8 * tau) ** 0.5 / rho + tau / (2 * float(lam[~on_kink].min()))
    c = det.c.cpu()
    # The closed form itself passes (a perfectly trained point).
    assert float((c - det.c.cpu()).abs().max()) < tol_kink
    # Wrong kink value: the unbiased scale rho ignored, or the kink at c = 1/2.
    wrong_kink = torch.full((2,), 1.0 - eps) if unbiased else torch.full((2,), 0.5)
    assert float((wrong_kink - c[on_kink]).abs().max()) > tol_kink
    # Wrong law on the hinge branch: 1/(8 alpha^2 lambda^2) instead of 1/(16 ...).
    wrong_branch = rho / (8 * lam[~on_kink] ** 2) - eps / rho
    assert float((wrong_branch - c[~on_kink]).abs().max()) > tol_branch


def test_span_tolerance_rejects_wrong_eigenvectors() -> None:
    G = _path()
    Z, det = closed_form.vicreg_hinge_optimum(G, K, 1.0, return_details=True)
    Z_all, _ = closed_form.vicreg_hinge_optimum(G, N - 1, 1.0, return_details=True)
    lam_all = 2 - 2 * torch.cos(math.pi * torch.arange(1, N, dtype=torch.float64) / N)
    tau = K * ETA
    sin_tol = (tau / (2 * float(det.c.min()) * float(lam_all[K] - lam_all[K - 1]))) ** 0.5
    wrong = torch.cat([Z_all[:, :K - 1], Z_all[:, K:K + 1]], dim=1)  # u_5 for u_4
    assert metrics.subspace_gap(wrong, Z, center=True) > sin_tol


def test_construction_tolerance_rejects_wrong_decrease() -> None:
    G = _path()
    Zs, det = closed_form.vicreg_hinge_optimum(G, K, 1.0, eps=1e-4, unbiased=True,
                                               return_details=True)
    rho, c0, lam = N / (N - 1), float(det.c[0]), det.eigenvalues
    A = 25.0 * c0 * float(lam[1] - lam[0])
    for lc in (1.0, 1e4):
        B = lc * rho**2 * c0**2
        d = 0.5 * math.atan2(A, B)
        Zd = Zs.clone()
        Zd[:, 0] = math.cos(math.pi / 4) * Zs[:, 0] - math.sin(math.pi / 4) * Zs[:, 1]
        Zd[:, 1] = math.cos(math.pi / 4 + d) * Zs[:, 1] + math.sin(math.pi / 4 + d) * Zs[:, 0]
        at = float(losses.vicreg_hinge(Zs, G, cov_coeff=lc))
        drop = at - float(losses.vicreg_hinge(Zd, G, cov_coeff=lc))
        tol = bounds.rounding(at + B / K, N * K, factor=10)
        right = (math.sqrt(A**2 + B**2) - B) / K
        assert abs(drop - right) < tol
        wrongs = [right * K, right * rho]  # the mean over K dropped; the scale rho twice
        if lc == 1.0:  # the large-lambda_c form is right to O(1/lambda_c^2), not at 1
            wrongs.append(A**2 / (2 * B * K))
        for wrong in wrongs:
            assert abs(drop - wrong) > tol


def test_gap_range_rejects_an_exact_prediction() -> None:
    # A ratio of 1 (the prediction is the optimum) lies outside the range (lb, 1).
    from sslspec_lib import checks

    with pytest.raises(checks.CheckFailed):
        checks.gap("R11", "exact prediction", 1.0, above=0.17, below=1.0, quiet=True)
