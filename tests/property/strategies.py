"""Hypothesis strategies for the property tests: weighted graphs and data matrices.

``weighted_graphs()`` draws random symmetric, non-negative relation matrices of
size 4-12: distinct edge weights in [0, 1] (so exact spectral ties come only
from structure, not from repeated values), a random sparsity pattern, a scale
in {0.1, 1, 10}, and a random spanning path of positive weights so that every
graph is connected (the eigenvalue 0 of L is simple).  Accidental near-ties at
a cut are filtered in the tests (``gap_at``), where the cut is known.

``data_matrices(n)`` draws N x D inputs whose covariance is well conditioned.
"""
import os

import numpy as np
import torch
from hypothesis import HealthCheck, assume, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

# 200 examples per property by default (the folder runs in a few seconds);
# SSLSPEC_HYPOTHESIS_MAX=5000 widens the search, as SKLEARN_TESTS_GLOBAL_RANDOM_SEED=all.
MAX_EXAMPLES = int(os.environ.get("SSLSPEC_HYPOTHESIS_MAX", "200"))

SETTINGS = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
                    database=None, suppress_health_check=[HealthCheck.too_slow])

_weight = st.floats(0.0, 1.0, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@st.composite
def weighted_graphs(draw, min_size=4, max_size=12):
    """A connected, symmetric, non-negative (N, N) float64 tensor with zero diagonal."""
    n = draw(st.integers(min_size, max_size))
    m = n * (n - 1) // 2
    w = draw(arrays(np.float64, m, elements=_weight, unique=True))
    keep = draw(arrays(np.bool_, m))
    scale = draw(st.sampled_from([0.1, 1.0, 10.0]))
    order = draw(st.permutations(range(n)))
    W = np.zeros((n, n))
    W[np.triu_indices(n, 1)] = np.where(keep, w, 0.0)
    for k, (a, b) in enumerate(zip(order, order[1:])):
        i, j = min(a, b), max(a, b)
        W[i, j] = max(W[i, j], 0.05 + 0.9 * (k + 1) / n)  # a spanning path: connected
    W = W + W.T
    return torch.tensor(scale * W)


@st.composite
def data_matrices(draw, n, max_dim=6):
    """An (n, D) float64 input, 1 <= D <= min(max_dim, n - 2), covariance condition <= 1e4."""
    D = draw(st.integers(1, max(1, min(max_dim, n - 2))))
    # distinct entries: hypothesis' favourite repeated values would mostly give
    # rank-deficient matrices, which the closed form rightly refuses
    X = draw(arrays(np.float64, (n, D), unique=True,
                    elements=st.floats(-3.0, 3.0, allow_nan=False, allow_subnormal=False)))
    Xc = X - X.mean(axis=0)
    s = np.linalg.svd(Xc, compute_uv=False)
    assume(s[-1] > 1e-2 * s[0] and s[-1] > 1e-3)  # well-conditioned Sigma (cond <= 1e4)
    return torch.tensor(X)


def gap_at(values, K):
    """Relative gap between the K-th and (K+1)-th of sorted ``values`` (inf if no cut)."""
    values = np.asarray(values, dtype=float)
    if K >= len(values):
        return np.inf
    return abs(values[K] - values[K - 1]) / max(1.0, np.abs(values).max())
