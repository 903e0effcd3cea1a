"""Bad input is refused with a useful message; non-unique optima warn.

A table in the style of scikit-learn's common checks: each row is
``(function, args, kwargs, match)``; the call must raise ``ValueError`` whose
message matches ``match`` (the part of the message that says what is wrong and
where, not just the exception type).  The table is driven by
``sslspec_lib._registry``: every registered function that exists must have at
least one row, so a new public function without bad-input cases fails
``test_every_registered_function_has_bad_input_cases``.

A second table lists the inputs on which a closed form is not unique (a tie at
the cut) or not known (SimCLR with K < N' - 1); each must warn (UserWarning)
and say why.
"""
import importlib
import importlib.util

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from sslspec_lib import _registry, graphs

F64 = torch.float64


def t(x):
    return torch.tensor(x, dtype=F64)


# -- inputs ------------------------------------------------------------------------------

AUG = graphs.augmentation_graph(4, 2)                   # N = 8, N' = 4, 1-regular
RAND_G = t(np.triu(np.random.default_rng(0).uniform(0.1, 1, (8, 8)), 1))
RAND_G = RAND_G + RAND_G.T                              # valid, but not cliques
ASYM = t([[0, 1, 0], [0.5, 0, 1], [0, 1, 0]])
NEG = t([[0, -1, 1], [-1, 0, 1], [1, 1, 0]])
NAN_G = t([[0, float("nan")], [float("nan"), 0]])
INF_G = t([[0, float("inf")], [float("inf"), 0]])
DIAG = t([[0, 1, 1], [1, 2, 1], [1, 1, 0]])
ISOLATED = t([[0, 1, 0], [1, 0, 0], [0, 0, 0]])
ZERO_G = torch.zeros(8, 8, dtype=F64)
Z8 = t(np.random.default_rng(1).standard_normal((8, 3)))
Z5 = t(np.random.default_rng(2).standard_normal((5, 3)))
X8 = t(np.random.default_rng(3).standard_normal((8, 3)))
X9 = t(np.random.default_rng(4).standard_normal((9, 3)))
X_COLLINEAR = torch.cat([X8[:, :2], X8[:, :1] + 2 * X8[:, 1:2]], dim=1)  # rank 2 of 3
X_CONSTANT = torch.cat([X8[:, :2], torch.ones(8, 1, dtype=F64)], dim=1)  # centred rank 2
Z_ZERO_ROW = Z8.clone()
Z_ZERO_ROW[1] = 0
Z_NAN = Z8.clone()
Z_NAN[2, 1] = float("nan")
TWO_CLUSTERS = torch.cat([t(np.random.default_rng(5).standard_normal((5, 2))),
                          100 + t(np.random.default_rng(6).standard_normal((5, 2)))])


# Sparse versions: validated as strictly as dense ones (scipy.sparse and torch sparse).
S_AUG = graphs.augmentation_graph(4, 2, sparse=True)
S_ASYM = sp.csr_matrix(ASYM.numpy())
S_NEG = sp.csr_matrix(NEG.numpy())
S_NAN = sp.csr_matrix(NAN_G.numpy())
S_INF = sp.coo_matrix(INF_G.numpy())
S_RECT = sp.csr_matrix(np.ones((3, 4)))
S_DIAG = sp.csr_matrix(DIAG.numpy())
S_ISOLATED = sp.csr_matrix(ISOLATED.numpy())


def case(name, *args, match, id, setup=None, **kwargs):
    return pytest.param(name, args, kwargs, match, setup, id=id)


def no_cuda(monkeypatch, value):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("SSLSPEC_DEVICE", value)


BAD_INPUTS = [
    # ---- graphs -------------------------------------------------------------------------
    case("graphs.laplacian", torch.ones(3, 4, dtype=F64), id="laplacian-non-square",
         match=r"G must be square in laplacian: got shape \(3, 4\)"),
    case("graphs.laplacian", ASYM, id="laplacian-asymmetric",
         match=r"G must be symmetric in laplacian: max \|G - G\.T\| = 0\.5 at \(0, 1\)"),
    case("graphs.laplacian", NEG, id="laplacian-negative",
         match=r"G must be non-negative in laplacian: G\[0, 1\] = -1"),
    case("graphs.laplacian", NAN_G, id="laplacian-nan",
         match=r"G must be finite \(no NaN or inf\) in laplacian: nan at \(0, 1\)"),
    case("graphs.laplacian", ISOLATED, normalized=True, id="laplacian-normalized-isolated",
         match=r"laplacian\(normalized=True\) needs every degree > 0: row 2 of G sums to 0"),
    case("graphs.laplacian", t([[0.0]]), id="laplacian-1x1",
         match=r"G must have at least 2 rows in laplacian: got 1"),
    case("graphs.degree", t([0.0, 1.0]), id="degree-1d",
         match=r"The 'G' parameter of degree must be a 2-d array\. Got shape \(2,\) instead"),
    case("graphs.components", INF_G, id="components-inf",
         match=r"G must be finite \(no NaN or inf\) in components: inf at \(0, 1\)"),
    case("graphs.validate_graph", DIAG, zero_diagonal=True, id="validate-diagonal",
         match=r"G must have a zero diagonal in validate_graph: G\[1, 1\] = 2"),
    case("graphs.validate_graph", [[0, 1], [1]], id="validate-ragged",
         match=r"The 'G' parameter of validate_graph must be an array or tensor of numbers"),
    case("graphs.augmentation_graph", 4, 1, id="augmentation-one-view",
         match=r"The 'n_views' parameter of augmentation_graph must be an int in the range "
               r"\[2, inf\)\. Got 1 instead"),
    case("graphs.augmentation_graph", 4.0, 2, id="augmentation-float-samples",
         match=r"The 'n_samples' parameter of augmentation_graph must be an int .* Got 4\.0"),
    case("graphs.label_graph", [[0, 1], [1, 0]], id="label-2d",
         match=r"The 'y' parameter of label_graph must be a 1-d array with at least 2 labels\. "
               r"Got shape \(2, 2\)"),
    case("graphs.label_graph", [0.5, 1.0, 1.0], id="label-non-integer",
         match=r"The 'y' parameter of label_graph must hold integer labels"),
    case("graphs.knn_graph", X8, 8, id="knn-k-too-large",
         match=r"The 'k' parameter of knn_graph must be an int in the range \[1, 7\]\. "
               r"Got 8 instead"),
    case("graphs.centering", 0, id="centering-zero",
         match=r"The 'n' parameter of centering must be an int in the range \[1, inf\)"),
    # ---- sparse graphs ------------------------------------------------------------------
    case("graphs.laplacian", S_RECT, id="sparse-laplacian-non-square",
         match=r"G must be square in laplacian: got shape \(3, 4\)"),
    case("graphs.laplacian", S_ASYM, id="sparse-laplacian-asymmetric",
         match=r"G must be symmetric in laplacian: max \|G - G\.T\| = 0\.5 at \(0, 1\)"),
    case("graphs.laplacian", ASYM.to_sparse(), id="torch-sparse-laplacian-asymmetric",
         match=r"G must be symmetric in laplacian: max \|G - G\.T\| = 0\.5 at \(0, 1\)"),
    case("graphs.laplacian", S_NEG, id="sparse-laplacian-negative",
         match=r"G must be non-negative in laplacian: G\[0, 1\] = -1"),
    case("graphs.laplacian", S_NAN, id="sparse-laplacian-nan",
         match=r"G must be finite \(no NaN or inf\) in laplacian: nan at \(0, 1\)"),
    case("graphs.components", S_INF, id="sparse-components-inf",
         match=r"G must be finite \(no NaN or inf\) in components: inf at \(0, 1\)"),
    case("graphs.laplacian", sp.csr_matrix(np.zeros((1, 1))), id="sparse-laplacian-1x1",
         match=r"G must have at least 2 rows in laplacian: got 1"),
    case("graphs.laplacian", S_ISOLATED, normalized=True,
         id="sparse-laplacian-normalized-isolated",
         match=r"laplacian\(normalized=True\) needs every degree > 0: row 2 of G sums to 0"),
    case("graphs.validate_graph", S_DIAG, zero_diagonal=True, id="sparse-validate-diagonal",
         match=r"G must have a zero diagonal in validate_graph: G\[1, 1\] = 2"),
    case("graphs.knn_graph", X8, 8, sparse=True, id="sparse-knn-k-too-large",
         match=r"The 'k' parameter of knn_graph must be an int in the range \[1, 7\]"),
    case("closed_form.vicreg_optimum", S_AUG, 8, 0.5, id="sparse-vicreg_optimum-K-too-large",
         match=r"The 'K' parameter of vicreg_optimum must be an int in the range \[1, 7\]\. "
               r"Got 8 instead"),
    case("closed_form.vicreg_optimum", S_NEG, 1, 0.5, id="sparse-vicreg_optimum-negative",
         match=r"G must be non-negative in vicreg_optimum: G\[0, 1\] = -1"),
    case("closed_form.spectral_contrastive_optimum", S_ISOLATED, 1, normalized=True,
         id="sparse-sc_optimum-normalized-isolated",
         match=r"spectral_contrastive_optimum\(normalized=True\) needs every degree > 0: "
               r"row 2 of G sums to 0"),
    case("closed_form.simclr_optimum", S_AUG * 2.0, 3, id="sparse-simclr-weighted-cliques",
         match=r"simclr_optimum has a closed form only for augmentation graphs: G must be a "
               r"disjoint union of equal-size cliques with unit weights"),
    case("closed_form.simclr_optimum", S_ISOLATED, 1, id="sparse-simclr-not-cliques",
         match=r"simclr_optimum has a closed form only for augmentation graphs"),
    case("closed_form.simclr_optimum", graphs.augmentation_graph(1, 4, sparse=True), 2,
         id="sparse-simclr-one-group",
         match=r"simclr_optimum needs at least 2 groups of at least 2 views; got 1 groups"),
    case("spectral.laplacian_eigenmaps", S_ISOLATED, 1, id="sparse-le-isolated",
         match=r"laplacian_eigenmaps\(constraint='degree'\) needs every degree > 0: row 2"),
    case("spectral.laplacian_eigenmaps", S_ASYM, 1, id="sparse-le-asymmetric",
         match=r"G must be symmetric in laplacian_eigenmaps"),
    case("spectral.lpp", X9, S_AUG, 2, id="sparse-lpp-X-vs-G",
         match=r"X and G must have the same number of rows in lpp: X has 9, G has 8"),
    case("closed_form.vicreg_linear_optimum", X8, S_NAN, 2, 0.5, id="sparse-vicreg_linear-nan",
         match=r"G must be finite \(no NaN or inf\) in vicreg_linear_optimum"),
    case("losses.invariance", Z5, S_AUG, id="sparse-invariance-rows",
         match=r"Z and G must have the same number of rows in invariance: Z has 5, G has 8"),
    case("losses.info_nce", Z8, S_AUG, 0.5, id="sparse-info_nce-refused",
         match=r"info_nce does not accept a sparse G; pass a dense array or tensor"),
    # ---- losses -------------------------------------------------------------------------
    case("losses.invariance", Z5, AUG, id="invariance-rows",
         match=r"Z and G must have the same number of rows in invariance: Z has 5, G has 8"),
    case("losses.invariance", Z8, AUG, method="loops", id="invariance-method",
         match=r"The 'method' parameter of invariance must be 'laplacian' or 'pairwise'\. "
               r"Got 'loops' instead"),
    case("losses.invariance", Z8, ASYM, id="invariance-asymmetric",
         match=r"G must be symmetric in invariance"),
    case("losses.vicreg", Z8, AUG, 0.0, id="vicreg-alpha-zero",
         match=r"The 'alpha' parameter of vicreg must be a finite real number > 0\. "
               r"Got 0\.0 instead"),
    case("losses.vicreg", Z8, AUG, -1, id="vicreg-alpha-negative",
         match=r"The 'alpha' parameter of vicreg must be a finite real number > 0\. Got -1"),
    case("losses.vicreg", Z8, AUG, float("nan"), id="vicreg-alpha-nan",
         match=r"The 'alpha' parameter of vicreg must be a finite real number > 0\. Got nan"),
    case("losses.vicreg_hinge", Z8, AUG, sim_coeff=-1.0, id="vicreg_hinge-negative-weight",
         match=r"The 'sim_coeff' parameter of vicreg_hinge must be a finite real number "
               r">= 0\. Got -1\.0"),
    case("losses.vicreg_hinge", Z8, AUG, n_views=3, id="vicreg_hinge-views-not-dividing",
         match=r"Z has 8 rows in vicreg_hinge, not a multiple of n_views=3"),
    case("losses.vicreg_fixed_graph", AUG, 0.0, id="vicreg_fixed_graph-alpha-zero",
         match=r"The 'alpha' parameter of vicreg_fixed_graph must be a finite real number "
               r"> 0\. Got 0\.0 instead"),
    case("losses.vicreg_fixed_graph", ASYM, 1.0, id="vicreg_fixed_graph-asymmetric",
         match=r"G must be symmetric in vicreg_fixed_graph"),
    case("closed_form.vicreg_hinge_per_view_optimum", 2, 2, 3,
         id="vicreg_hinge_per_view_optimum-too-few-samples",
         match=r"The 'n_samples' parameter of vicreg_hinge_per_view_optimum must be an int "
               r"in the range \[3, inf\)\. Got 2 instead"),
    case("closed_form.vicreg_hinge_per_view_optimum", 4, 2, 3, cov_coeff=-1.0,
         id="vicreg_hinge_per_view_optimum-negative-weight",
         match=r"The 'cov_coeff' parameter of vicreg_hinge_per_view_optimum must be a finite "
               r"real number >= 0\. Got -1\.0 instead"),
    case("closed_form.vicreg_hinge_per_view_certified", 6, 2, 8, cov_coeff=-1.0,
         id="vicreg_hinge_per_view_certified-negative-weight",
         match=r"The 'cov_coeff' parameter of vicreg_hinge_per_view_certified must be a "
               r"finite real number >= 0\. Got -1\.0 instead"),
    case("closed_form.vicreg_hinge_per_view_certified", 6, 2, 24, max_orthogonal=-1,
         id="vicreg_hinge_per_view_certified-negative-max-orthogonal",
         match=r"The 'max_orthogonal' parameter of vicreg_hinge_per_view_certified must be "
               r"an int in the range \[0, inf\)\. Got -1 instead"),
    case("closed_form.vicreg_hinge_per_view_certified", 6, 2, 24, max_families=10,
         relaxation=False, id="vicreg_hinge_per_view_certified-too-many-families",
         match=r"vicreg_hinge_per_view_certified: N' = 6, K = 24 needs 125 families"),
    case("closed_form.vicreg_hinge_certified_optimum", ASYM, 2,
         id="vicreg_hinge_certified_optimum-asymmetric",
         match=r"G must be symmetric in vicreg_hinge_certified_optimum"),
    case("closed_form.vicreg_hinge_certified_optimum", AUG, 0,
         id="vicreg_hinge_certified_optimum-K-zero",
         match=r"The 'K' parameter of vicreg_hinge_certified_optimum must be an int in the "
               r"range \[1, 7\]\. Got 0 instead"),
    case("closed_form.vicreg_hinge_reduced_objective", [1.0, 0.5], [1.2, 0.3], [0.1, 0.2],
         lambda_s=1.0, lambda_v=1.0, lambda_c=1.0, eps=0.0, rho=1.0,
         id="vicreg_hinge_reduced_objective-not-majorised",
         match=r"vicreg_hinge_reduced_objective: d must be majorised by c"),
    case("closed_form.vicreg_hinge_reduced_objective", [1.0, 0.5], [0.7], [0.1, 0.2],
         lambda_s=1.0, lambda_v=1.0, lambda_c=1.0, eps=0.0, rho=1.0,
         id="vicreg_hinge_reduced_objective-lengths",
         match=r"c, d and eigenvalues must be non-empty vectors of one length"),
    case("closed_form.vicreg_hinge_diagonal_threshold", [0.1, 0.2], [1.0, 0.5],
         lambda_s=-1.0, rho=1.0, id="vicreg_hinge_diagonal_threshold-negative-weight",
         match=r"The 'lambda_s' parameter of vicreg_hinge_diagonal_threshold must be a "
               r"finite real number > 0\. Got -1\.0 instead"),
    case("closed_form.vicreg_hinge_diagonal_threshold", [0.1, 0.2], [1.0, 0.0],
         lambda_s=1.0, rho=1.0, eps=1.0, id="vicreg_hinge_diagonal_threshold-eps-one",
         match=r"The 'eps' parameter of vicreg_hinge_diagonal_threshold must be in "
               r"\[0, 1\)\. Got 1\.0"),
    case("closed_form.vicreg_hinge_exact_threshold", AUG, 2, rtol=0.0,
         id="vicreg_hinge_exact_threshold-rtol-zero",
         match=r"The 'rtol' parameter of vicreg_hinge_exact_threshold must be a finite "
               r"real number > 0\. Got 0\.0 instead"),
    case("closed_form.vicreg_hinge_exact_threshold", ASYM, 2,
         id="vicreg_hinge_exact_threshold-asymmetric",
         match=r"G must be symmetric in vicreg_hinge_exact_threshold"),
    case("closed_form.vicreg_hinge_clique_ramp_threshold", 4, 2, 8,
         id="vicreg_hinge_clique_ramp_threshold-K-too-large",
         match=r"vicreg_hinge_clique_ramp_threshold: K = 8 exceeds N - 1 = 7"),
    case("closed_form.vicreg_hinge_clique_ramp_threshold", 4, 1, 3,
         id="vicreg_hinge_clique_ramp_threshold-one-view",
         match=r"n_views"),
    case("closed_form.vicreg_hinge_clique_ramp_threshold", 4, 2, 4, lambda_s=-1.0,
         id="vicreg_hinge_clique_ramp_threshold-negative-weight",
         match=r"lambda_s"),
    case("closed_form.vicreg_hinge_clique_ramp_threshold", 4, 2, 4, eps=1.0,
         id="vicreg_hinge_clique_ramp_threshold-eps-one",
         match=r"The 'eps' parameter of vicreg_hinge_clique_ramp_threshold must be in"),
    case("closed_form.vicreg_hinge_variance_cap", Z8, -1.0,
         id="vicreg_hinge_variance_cap-negative-level",
         match=r"The 'level' parameter of vicreg_hinge_variance_cap must be a finite "
               r"real number > 0\. Got -1\.0 instead"),
    case("closed_form.info_nce_large_tau_matrix", ASYM,
         id="info_nce_large_tau_matrix-asymmetric",
         match=r"G must be symmetric in info_nce_large_tau_matrix"),
    case("closed_form.info_nce_large_tau_matrix", t([[0, 1], [1, 0]]),
         id="info_nce_large_tau_matrix-two-rows",
         match=r"info_nce_large_tau_matrix needs N >= 3 rows"),
    case("losses.vicreg_two_view", Z8[:4], Z8[:4, :2], id="vicreg_two_view-shape",
         match=r"za and zb must have the same shape in vicreg_two_view: \(4, 3\) != \(4, 2\)"),
    case("losses.vicreg_two_view", Z8[:1], Z8[1:2], id="vicreg_two_view-one-row",
         match=r"each view block needs at least 2 rows for an unbiased variance; got 1"),
    case("losses.info_nce", Z8, AUG, 0.0, id="info_nce-tau-zero",
         match=r"The 'tau' parameter of info_nce must be a finite real number > 0\. Got 0\.0"),
    case("losses.info_nce", Z_ZERO_ROW, AUG, 0.5, id="info_nce-zero-row",
         match=r"Z must have no zero row in info_nce \(rows are normalised\): row 1 is zero"),
    case("losses.info_nce", Z8[:3], DIAG, 0.5, id="info_nce-diagonal",
         match=r"G must have a zero diagonal in info_nce: G\[1, 1\] = 2"),
    case("losses.nt_xent", Z8[:4], Z8[4:], -0.1, id="nt_xent-tau-negative",
         match=r"The 'tau' parameter of nt_xent must be a finite real number > 0\. Got -0\.1"),
    case("losses.nt_xent", Z8[:4], Z8[:3], 0.5, id="nt_xent-shape",
         match=r"za and zb must have the same shape in nt_xent: \(4, 3\) != \(3, 3\)"),
    case("losses.spectral_contrastive", Z_NAN, AUG, id="spectral_contrastive-nan",
         match=r"Z must be finite \(no NaN or inf\) in spectral_contrastive: nan at \(2, 1\)"),
    case("losses.spectral_contrastive", Z8[:, 0], AUG, id="spectral_contrastive-1d",
         match=r"The 'Z' parameter of spectral_contrastive must be a 2-d array\. "
               r"Got shape \(8,\)"),
    case("losses.spectral_contrastive_distinct", Z_NAN, AUG,
         id="spectral_contrastive_distinct-nan",
         match=r"Z must be finite \(no NaN or inf\) in spectral_contrastive_distinct"),
    case("losses.spectral_contrastive_distinct", Z8[:3], AUG,
         id="spectral_contrastive_distinct-rows",
         match=r"Z and G must have the same number of rows in "
               r"spectral_contrastive_distinct: Z has 3, G has 8"),
    case("losses.barlow_twins", Z8, ZERO_G, id="barlow_twins-no-pairs",
         match=r"G has no positive pair in barlow_twins \(G is all zeros\)"),
    case("losses.barlow_twins", Z8, AUG, -0.1, id="barlow_twins-lambd-negative",
         match=r"The 'lambd' parameter of barlow_twins must be a finite real number >= 0"),
    case("losses.barlow_twins", Z8, AUG, n_views=0, id="barlow_twins-n_views-zero",
         match=r"The 'n_views' parameter of barlow_twins must be an int in the range \[1, 8\]"),
    case("losses.barlow_twins_two_view", Z8[:4], Z8[:5], id="barlow_twins_two_view-shape",
         match=r"za and zb must have the same shape in barlow_twins_two_view"),
    case("losses.covariance", torch.zeros(0, 3, dtype=F64), id="covariance-empty",
         match=r"The 'Z' parameter of covariance must not be empty\. Got shape \(0, 3\)"),
    # ---- closed forms ---------------------------------------------------------------------
    case("closed_form.vicreg_optimum", AUG, 0, 0.5, id="vicreg_optimum-K-zero",
         match=r"The 'K' parameter of vicreg_optimum must be an int in the range \[1, 7\]\. "
               r"Got 0 instead"),
    case("closed_form.vicreg_optimum", AUG, 8, 0.5, id="vicreg_optimum-K-too-large",
         match=r"The 'K' parameter of vicreg_optimum must be an int in the range \[1, 7\]\. "
               r"Got 8 instead"),
    case("closed_form.vicreg_optimum", AUG, 2.0, 0.5, id="vicreg_optimum-K-float",
         match=r"The 'K' parameter of vicreg_optimum must be an int .* Got 2\.0 instead"),
    case("closed_form.vicreg_optimum", AUG, True, 0.5, id="vicreg_optimum-K-bool",
         match=r"The 'K' parameter of vicreg_optimum must be an int .* Got True instead"),
    case("closed_form.vicreg_optimum", AUG, 2, -0.5, id="vicreg_optimum-alpha-negative",
         match=r"The 'alpha' parameter of vicreg_optimum must be a finite real number > 0"),
    case("closed_form.vicreg_optimum", AUG, 2, float("inf"), id="vicreg_optimum-alpha-inf",
         match=r"The 'alpha' parameter of vicreg_optimum must be a finite real number > 0\. "
               r"Got inf"),
    case("closed_form.vicreg_optimum", NEG, 1, 0.5, id="vicreg_optimum-negative-G",
         match=r"G must be non-negative in vicreg_optimum"),
    case("closed_form.vicreg_constrained_optimum", ASYM, 1, id="constrained-asymmetric",
         match=r"G must be symmetric in vicreg_constrained_optimum: max \|G - G\.T\| = 0\.5"),
    case("closed_form.vicreg_constrained_optimum", AUG, 9, id="constrained-K-too-large",
         match=r"The 'K' parameter of vicreg_constrained_optimum must be an int in the range "
               r"\[1, 7\]\. Got 9"),
    case("closed_form.vicreg_hinge_optimum", AUG, 2, 0, id="hinge_optimum-alpha-zero",
         match=r"The 'alpha' parameter of vicreg_hinge_optimum must be a finite real number "
               r"> 0\. Got 0"),
    case("closed_form.simclr_optimum", RAND_G, 3, id="simclr-not-cliques",
         match=r"simclr_optimum has a closed form only for augmentation graphs: G must be a "
               r"disjoint union of equal-size cliques"),
    case("closed_form.simclr_optimum", graphs.augmentation_graph(1, 4), 2, id="simclr-one-group",
         match=r"simclr_optimum needs at least 2 groups of at least 2 views; got 1 groups"),
    case("closed_form.simclr_optimum", AUG, 3, tau=0.0, id="simclr-tau-zero",
         match=r"The 'tau' parameter of simclr_optimum must be a finite real number > 0"),
    case("closed_form.spectral_contrastive_optimum", ISOLATED, 1, normalized=True,
         id="sc_optimum-normalized-isolated",
         match=r"spectral_contrastive_optimum\(normalized=True\) needs every degree > 0: "
               r"row 2 of G sums to 0"),
    case("closed_form.spectral_contrastive_optimum", AUG, 9, id="sc_optimum-K-too-large",
         match=r"The 'K' parameter of spectral_contrastive_optimum must be an int in the "
               r"range \[1, 8\]\. Got 9"),
    case("closed_form.barlow_twins_optimum", RAND_G, 2, id="bt_optimum-unreachable",
         match=r"barlow_twins_optimum: C = I is reachable only if the top eigenvalue of "
               r"N G / sum\(G\) on the centred subspace is 1 with multiplicity >= K"),
    case("closed_form.barlow_twins_optimum", AUG, 4, id="bt_optimum-K-above-rank",
         match=r"barlow_twins_optimum: C = I is reachable only if .* here it is 1 with "
               r"multiplicity 3 and K=4"),
    case("closed_form.barlow_twins_optimum", ZERO_G, 2, id="bt_optimum-no-pairs",
         match=r"G has no positive pair in barlow_twins_optimum"),
    case("closed_form.barlow_twins_overcomplete_optimum", RAND_G, 5, 0.5,
         id="bt_overcomplete-not-cliques",
         match=r"barlow_twins_overcomplete_optimum has a closed form only for augmentation "
               r"graphs"),
    case("closed_form.barlow_twins_overcomplete_optimum", AUG, 3, 0.5,
         id="bt_overcomplete-K-reachable",
         match=r"The 'K' parameter of barlow_twins_overcomplete_optimum must be an int > "
               r"N'-1=3 \(for K <= N'-1, C = I is reachable"),
    case("closed_form.barlow_twins_overcomplete_optimum", AUG, 5, 1.5,
         id="bt_overcomplete-lambd-above-1",
         match=r"The 'lambd' parameter of barlow_twins_overcomplete_optimum must be a real "
               r"number in \[0, 1\]"),
    case("closed_form.barlow_twins_overcomplete_optimum", AUG, 5, float("nan"),
         id="bt_overcomplete-lambd-nan",
         match=r"The 'lambd' parameter of barlow_twins_overcomplete_optimum must be"),
    case("closed_form.vicreg_linear_optimum", X_COLLINEAR, AUG, 2, 0.5,
         id="vicreg_linear-rank-deficient",
         match=r"The covariance X\^T H X / N is rank-deficient in vicreg_linear_optimum: "
               r"rank 2 < 3"),
    case("closed_form.vicreg_linear_optimum", X_CONSTANT, AUG, 2, 0.5,
         id="vicreg_linear-constant-feature",
         match=r"The covariance X\^T H X / N is rank-deficient in vicreg_linear_optimum: "
               r"rank 2 < 3"),
    case("closed_form.vicreg_hinge_linear_optimum", X_COLLINEAR, AUG, 2, 0.5,
         id="vicreg_hinge_linear-rank-deficient",
         match=r"The covariance X\^T H X / N is rank-deficient in "
               r"vicreg_hinge_linear_optimum: rank 2 < 3"),
    case("closed_form.vicreg_hinge_linear_optimum", X8, AUG, 2, 0.5, eps=1.0,
         id="vicreg_hinge_linear-eps",
         match=r"The 'eps' parameter of vicreg_hinge_linear_optimum must be a finite real "
               r"number in \[0, 1\)"),
    case("train.train_diagonal_covariance", lambda Z: Z.sum(), 8, 8,
         id="train_diagonal_covariance-K-too-large",
         match=r"The 'K' parameter of train_diagonal_covariance must be an int in the range "
               r"\[1, 7\]"),
    case("train.train_diagonal_covariance", lambda Z: Z.sum(), 8, 2, adam_phases=(),
         id="train_diagonal_covariance-no-phase",
         match=r"train_diagonal_covariance: adam_phases must hold at least one"),
    case("train.train_diagonal_covariance", lambda Z: Z.sum(), 8, 2,
         adam_phases=((-1e-3, 10),), id="train_diagonal_covariance-negative-lr",
         match=r"The 'lr' parameter of train_diagonal_covariance"),
    case("closed_form.vicreg_hinge_linear_certified_optimum", X_COLLINEAR, AUG, 2,
         id="vicreg_hinge_linear_certified-rank-deficient",
         match=r"The covariance X\^T H X / N is rank-deficient in "
               r"vicreg_hinge_linear_certified_optimum: rank 2 < 3"),
    case("closed_form.vicreg_hinge_linear_certified_optimum", X8, AUG, 2, eps=1.0,
         id="vicreg_hinge_linear_certified-eps",
         match=r"The 'eps' parameter of vicreg_hinge_linear_certified_optimum must be in "
               r"\[0, 1\)"),
    case("closed_form.vicreg_hinge_linear_certified_optimum", X8, AUG, 4,
         id="vicreg_hinge_linear_certified-K-above-d",
         match=r"The 'K' parameter of vicreg_hinge_linear_certified_optimum must be an int "
               r"in the range \[1, 3\]"),
    case("closed_form.vicreg_hinge_linear_certified_optimum", X8, AUG, 2, lambda_c=-1.0,
         id="vicreg_hinge_linear_certified-negative-weight",
         match=r"The 'lambda_c' parameter of vicreg_hinge_linear_certified_optimum"),
    case("closed_form.vicreg_hinge_linear_optimum", X8, AUG, 2, -1.0,
         id="vicreg_hinge_linear-alpha",
         match=r"The 'alpha' parameter of vicreg_hinge_linear_optimum"),
    case("closed_form.vicreg_linear_optimum", X9, AUG, 2, 0.5, id="vicreg_linear-X-vs-G",
         match=r"X and G must have the same number of rows in vicreg_linear_optimum: "
               r"X has 9, G has 8"),
    case("closed_form.vicreg_linear_optimum", X8, AUG, 4, 0.5, id="vicreg_linear-K-above-D",
         match=r"The 'K' parameter of vicreg_linear_optimum must be an int in the range "
               r"\[1, 3\]\. Got 4"),
    case("closed_form.spectral_contrastive_linear_optimum", X_COLLINEAR, AUG, 2,
         id="sc_linear-rank-deficient",
         match=r"The Gram matrix X\^T X is rank-deficient in "
               r"spectral_contrastive_linear_optimum: rank 2 < 3"),
    case("closed_form.barlow_twins_linear_optimum", X8, ZERO_G, 2, id="bt_linear-no-pairs",
         match=r"G has no positive pair in barlow_twins_linear_optimum"),
    case("closed_form.barlow_twins_linear_optimum", X_CONSTANT, AUG, 2,
         id="bt_linear-rank-deficient",
         match=r"The covariance X\^T H X / N is rank-deficient in barlow_twins_linear_optimum"),
    # ---- spectral (R5-R8, R16) --------------------------------------------------------------
    case("spectral.laplacian_eigenmaps", AUG, 2, constraint="cov", id="le-constraint",
         match=r"The 'constraint' parameter of laplacian_eigenmaps must be 'degree' or "
               r"'covariance'\. Got 'cov' instead"),
    case("spectral.laplacian_eigenmaps", ISOLATED, 1, id="le-isolated",
         match=r"laplacian_eigenmaps\(constraint='degree'\) needs every degree > 0: row 2"),
    case("spectral.lpp", X9, AUG, 2, id="lpp-X-vs-G",
         match=r"X and G must have the same number of rows in lpp: X has 9, G has 8"),
    case("spectral.lpp", X_COLLINEAR, AUG, 2, constraint="covariance", id="lpp-rank-deficient",
         match=r"The covariance X\^T H X / N is rank-deficient in lpp"),
    case("spectral.classical_mds", DIAG, 1, id="mds-diagonal",
         match=r"D must have a zero diagonal in classical_mds: D\[1, 1\] = 2"),
    case("spectral.classical_mds", ASYM, 1, id="mds-asymmetric",
         match=r"D must be symmetric in classical_mds"),
    case("spectral.kernel_pca", DIAG, 4, id="kpca-K-too-large",
         match=r"The 'K' parameter of kernel_pca must be an int in the range \[1, 3\]\. "
               r"Got 4"),
    case("spectral.isomap", TWO_CLUSTERS, 1, 2, id="isomap-disconnected",
         match=r"The 2-nearest-neighbour graph of X has 2 connected components in isomap"),
    case("spectral.graph_isomap", AUG, 2, id="graph_isomap-disconnected",
         match=r"The graph of G has 4 connected components in graph_isomap"),
    case("spectral.graph_isomap", RAND_G, 8, id="graph_isomap-K",
         match=r"The 'K' parameter of graph_isomap must be"),
    case("spectral.graph_isomap", RAND_G, 2, length="euclid", id="graph_isomap-length",
         match=r"The 'length' parameter of graph_isomap must be 'inverse' or 'hop'"),
    case("spectral.graph_isomap", DIAG, 1, id="graph_isomap-diagonal",
         match=r"G must have a zero diagonal in graph_isomap"),
    case("losses.info_nce_negatives_only", Z8, AUG, 0.0, id="info_nce_neg-tau-zero",
         match=r"The 'tau' parameter of info_nce_negatives_only must be a finite real "
               r"number > 0\. Got 0\.0"),
    case("losses.info_nce_negatives_only", Z_ZERO_ROW, AUG, 0.5, id="info_nce_neg-zero-row",
         match=r"Z must have no zero row in info_nce_negatives_only \(rows are normalised\): "
               r"row 1 is zero"),
    case("losses.info_nce_negatives_only", Z8[:3], DIAG, 0.5, id="info_nce_neg-diagonal",
         match=r"G must have a zero diagonal in info_nce_negatives_only: G\[1, 1\] = 2"),
    case("spectral.cca", X8, X9, 1, id="cca-rows",
         match=r"Xb and Xa must have the same number of rows in cca: Xb has 9, Xa has 8"),
    case("spectral.cca", X_COLLINEAR, X8, 1, id="cca-rank-deficient",
         match=r"The covariance Xa\^T H Xa / N is rank-deficient in cca"),
    case("spectral.whitened_cross_covariance", torch.eye(3), torch.ones(3, 2),
         torch.eye(3), id="whitened_cross_covariance-shapes",
         match=r"S_ab has shape \(3, 2\) in whitened_cross_covariance; S_aa and S_bb "
               r"need \(3, 3\)"),
    case("spectral.whitened_cross_covariance", torch.ones(3, 3), torch.ones(3, 2),
         torch.eye(2), id="whitened_cross_covariance-rank-deficient",
         match=r"S_aa is rank-deficient in whitened_cross_covariance"),
    case("spectral.lda", X8, [0] * 8, 1, id="lda-one-class",
         match=r"lda needs at least 2 classes in y: got 1"),
    case("spectral.lda", X8, [0, 1] * 4, 2, id="lda-K-too-large",
         match=r"The 'K' parameter of lda must be an int in the range \[1, 1\]\. Got 2"),
    # ---- metrics ----------------------------------------------------------------------------
    case("metrics.principal_angles", Z8, Z5, id="angles-rows",
         match=r"A and B must have the same number of rows in principal_angles: 8 != 5"),
    case("metrics.gram_gap", Z8, Z5, id="gram_gap-rows",
         match=r"A and B must have the same number of rows in gram_gap: 8 != 5"),
    case("metrics.subspace_gap", Z_NAN, Z8, id="subspace_gap-nan",
         match=r"A must be finite \(no NaN or inf\) in subspace_gap"),
    case("metrics.linear_probe_accuracy", Z8, [0, 1], Z8, [0, 1] * 4, id="probe-labels",
         match=r"labels and features must have the same number of rows in "
               r"linear_probe_accuracy"),
    # ---- train ------------------------------------------------------------------------------
    case("train.minimize", lambda: torch.zeros(()), [], method="sgd", id="minimize-method",
         match=r"The 'method' parameter of minimize must be 'lbfgs' or 'adam'\. "
               r"Got 'sgd' instead"),
    case("train.minimize", lambda: torch.zeros(()), [], max_iter=0, id="minimize-max_iter",
         match=r"The 'max_iter' parameter of minimize must be an int in the range \[1, inf\)\. "
               r"Got 0"),
    case("train.minimize", lambda: torch.zeros(()), [], gtol=-1.0, id="minimize-gtol",
         match=r"The 'gtol' parameter of minimize must be a finite real number >= 0"),
    case("train.train_free", lambda Z: Z.sum(), 4, 0, id="train_free-K-zero",
         match=r"The 'K' parameter of train_free must be an int in the range \[1, inf\)"),
    case("train.train_linear", lambda Z: Z.sum(), X8[:, 0], 2, id="train_linear-X-1d",
         match=r"The 'X' parameter of train_linear must be a 2-d array"),
    case("train.train_stiefel", lambda Q: Q.sum(), 3, 4, id="train_stiefel-K-above-n",
         match=r"The 'K' parameter of train_stiefel must be an int in the range \[1, 3\]\. "
               r"Got 4"),
    # ---- data --------------------------------------------------------------------------------
    case("data.digits", 2000, id="digits-too-many",
         match=r"The 'n_samples' parameter of digits must be an int in the range "
               r"\[1, 1797\]\. Got 2000"),
    case("data.digits_views", 5, 2, max_shift=4, id="digits_views-shift",
         match=r"The 'max_shift' parameter of digits_views must be an int in the range "
               r"\[0, 3\]\. Got 4"),
    case("data.digits_views", 5, 2, noise=-0.1, id="digits_views-noise",
         match=r"The 'noise' parameter of digits_views must be a finite real number >= 0"),
    case("data.gaussian_mixture", 10, 1, id="mixture-one-class",
         match=r"The 'n_classes' parameter of gaussian_mixture must be an int in the range "
               r"\[2, inf\)\. Got 1"),
    case("data.two_moons", 1, id="moons-one-sample",
         match=r"The 'n_samples' parameter of two_moons must be an int in the range "
               r"\[2, inf\)\. Got 1"),
    # ---- device ------------------------------------------------------------------------------
    case("device.get", id="device-cuda-without-cuda", setup=lambda mp: no_cuda(mp, "cuda"),
         match=r"SSLSPEC_DEVICE='cuda' but torch sees no CUDA device; unset it to run on "
               r"the CPU"),
    case("device.get", id="device-unknown", setup=lambda mp: mp.setenv("SSLSPEC_DEVICE", "gpu"),
         match=r"SSLSPEC_DEVICE='gpu' is not a torch device name \(expected 'cpu', 'cuda' "
               r"or 'cuda:N'\)"),
]

# Functions being added concurrently get their rows as soon as they exist (the
# registry check below then demands them if they are registered).
if hasattr(importlib.import_module("sslspec_lib.train"), "train_whitened"):
    BAD_INPUTS.append(case(
        "train.train_whitened", lambda Z: Z.sum(), 4, 4, id="train_whitened-K-equals-n",
        match=r"The 'K' parameter of train_whitened must be an int in the range \[1, 3\]\. "
              r"Got 4"))
if hasattr(importlib.import_module("sslspec_lib.metrics"), "normalized_stress"):
    BAD_INPUTS.append(case(
        "metrics.normalized_stress", ASYM, Z8[:3], id="normalized_stress-asymmetric",
        match=r"D must be symmetric in normalized_stress: max \|D - D\.T\| = 0\.5"))
if importlib.util.find_spec("sslspec_lib.experiments") is not None:
    BAD_INPUTS += [
        case("experiments.probe_accuracy", Z8, [0, 1] * 3, Z8, [0, 1] * 4, id="probe-rows",
             match=r"Z_train and y_train must have the same number of rows in "
                   r"probe_accuracy: Z_train has 8, y_train has 6"),
        case("experiments.probe_accuracy", Z_NAN, [0, 1] * 4, Z8, [0, 1] * 4, id="probe-nan",
             match=r"Z_train must be finite \(no NaN or inf\) in probe_accuracy"),
        case("experiments.split_per_class", [0, 0, 1, 1, 1], 2, 0, id="split-few",
             match=r"Too few samples per class in split_per_class: class 0 has 2 rows"),
        case("experiments.split_fraction", [0, 0, 1, 1], 1.5, 0, id="split-fraction",
             match=r"The 'train_fraction' parameter of split_fraction must be a real "
                   r"number in \(0, 1\)"),
        case("experiments.repeat", lambda s: {"a": float("nan")}, 2, id="repeat-nan",
             match=r"returned nan for 'a' at repeat 0: values must be finite"),
        case("experiments.summarize", [1.0], id="summarize-one",
             match=r"summarize needs at least 2 repeats to measure a spread"),
        case("experiments.compare", [1.0, 2.0], [1.0, 2.0, 3.0], id="compare-unpaired",
             match=r"a and b must have the same number of repeats in compare"),
        case("experiments.subset_with_sizes", [0, 0, 1], [3, 1], 0, id="subset-too-many",
             match=r"Too few samples per class in subset_with_sizes: class 0 has 2 rows"),
        case("experiments.pca_front_end", X8, n_components=4, id="pca-too-many",
             match=r"The 'n_components' parameter of pca_front_end must be an int in the "
                   r"range \[1, 3\]"),
        case("experiments.balanced_label_graph", [[0, 1]], id="balanced-2d",
             match=r"The 'y' parameter of balanced_label_graph must be a non-empty 1-d"),
        case("experiments.low_data_probe", X8, [0, 1] * 4, 0, alpha_ms=(0.0,), id="low-alpha",
             match=r"The 'alpha_ms' parameter of low_data_probe must be a finite real"),
        case("experiments.aligned_probe", X8, [0, 1] * 4, 0, alpha_m=-1.0, id="aligned-alpha",
             match=r"The 'alpha_m' parameter of aligned_probe must be a finite real number"),
        case("experiments.low_data_front_end", X8, kind="ica", id="low-front-end-kind",
             match=r"The 'kind' parameter of low_data_front_end must be one of"),
        case("experiments.discriminant_ratios", X8, [0] * 8, id="rho-one-class",
             match=r"discriminant_ratios needs 2 <= number of classes <= d \+ 1"),
        case("experiments.low_data_protocol", X8, [0, 1] * 4, 0, K="C", id="low-protocol-K",
             match=r"The 'K' parameter of low_data_protocol must be 'd' \(the input dimension\), 'C-1' or an int"),
        case("experiments.low_data_mixture", 0, separation=-1.0, id="low-mixture-sep",
             match=r"The 'separation' parameter of low_data_mixture must be a finite real"),
    ]


if importlib.util.find_spec("sslspec_lib.nuisance") is not None:
    BAD_INPUTS += [
        case("nuisance.balanced_groups", 4, 5, id="groups-too-many",
             match=r"The 'n_groups' parameter of balanced_groups must be an int in the "
                   r"range \[1, 4\]\. Got 5"),
        case("nuisance.nuisance_graph", [0, 1, 2], id="nuisance-graph-no-pair",
             match=r"No two rows share a nuisance value in nuisance_graph"),
        case("nuisance.digits_nuisance", 10, "blur", id="digits-nuisance-kind",
             match=r"The 'kind' parameter of digits_nuisance must be one of"),
        case("nuisance.gaussian_nuisance", 3, id="gaussian-nuisance-n",
             match=r"The 'n_samples' parameter of gaussian_nuisance must be an int"),
        case("nuisance.linear_encoder", "simclr", X8, AUG, 2, id="encoder-method",
             match=r"The 'method' parameter of linear_encoder must be one of"),
        case("nuisance.vicreg_linear_draw", X8, ASYM, 2, 0.5, seed=0, id="draw-asym",
             match=r"G must be symmetric in vicreg_linear_draw"),
        case("nuisance.trained_encoder", "mse", X8, AUG, 2, seed=0, id="trained-loss",
             match=r"The 'loss' parameter of trained_encoder must be one of"),
        case("nuisance.misaligned_split", 0, source="mnist", id="split-source",
             match=r"The 'source' parameter of misaligned_split must be"),
        case("nuisance.misaligned_trial", 0, alphas=(-1.0,), id="trial-alpha",
             match=r"The 'alphas' parameter of misaligned_trial must be a finite real"),
        case("nuisance.digits_nuisance_views", 10, "blur", id="views-kind",
             match=r"The 'kind' parameter of digits_nuisance_views must be one of"),
        case("nuisance.misaligned_protocol_trial", 0, protocols=("test",), id="protocol",
             match=r"The 'protocols' parameter of misaligned_protocol_trial must be"),
        case("nuisance.method_views", X8, [0, 1] * 4, [0, 1] * 4, X8[:, :2], seed=0,
             id="views-columns",
             match=r"X_train and X_show must have the same number of columns in "
                   r"method_views"),
    ]
# Barlow Twins in the reference form (each view normalised separately)
BAD_INPUTS += [
    case("losses.barlow_twins_pairwise", Z8[:7], 2, id="bt_pairwise-rows",
         match=r"Z has 7 rows in barlow_twins_pairwise, not a multiple of n_views=2"),
    case("closed_form.barlow_twins_two_view_optimum", 6, 8, 2.0, id="bt_two_view-lambd",
         match=r"The 'lambd' parameter of barlow_twins_two_view_optimum must be a real "
               r"number in \[0, 1\]"),
]

if hasattr(importlib.import_module("sslspec_lib.graphs"), "nnclr_graph"):
    BAD_INPUTS += [
        case("graphs.nnclr_graph", Z8, 3, id="nnclr-views",
             match=r"Z must have a multiple of n_views = 3 rows in nnclr_graph"),
        case("graphs.nnclr_alternation", Z8, "closed form", id="nnclr-alternation-solve",
             match=r"The 'solve' parameter of nnclr_alternation must be a callable"),
    ]


# VICReg-MLP chapter: out-of-sample extension and regularised training (R10).
if hasattr(importlib.import_module("sslspec_lib.spectral"), "nystrom_extension"):
    BAD_INPUTS += [
        case("graphs.knn_cross_graph", X8[:, :1], X8, 2, id="cross-width",
             match=r"X_new and X must have the same number of columns in knn_cross_graph"),
        case("spectral.nystrom_extension", torch.ones(2, 8, dtype=F64), Z8, [9.0] * Z8.shape[1],
             id="nystrom-degree", match=r"degree must exceed max\(lam\)"),
        case("train.train_mlp_regularized", lambda Z: Z.sum(), X8, 2, weight_decay=-1.0,
             id="mlp-decay", match=r"The 'weight_decay' parameter of train_mlp_regularized"),
    ]


# Linear InfoNCE chapter: the scale-free linear trainer and its row floor (R15).
if hasattr(importlib.import_module("sslspec_lib.train"), "train_linear_scale_free"):
    BAD_INPUTS += [
        case("train.row_floor", X8, torch.ones(2, 1, dtype=F64), id="row_floor-shape",
             match=r"X has 3 columns but W has 2 rows in row_floor"),
        case("train.train_linear_scale_free", lambda Z: Z.sum(), X8, 2,
             W0=torch.zeros(3, 2, dtype=F64), id="scale_free-zero-start",
             match=r"W0 must not be zero in train_linear_scale_free"),
    ]


def resolve(name):
    module, attr = name.split(".")
    return getattr(importlib.import_module(f"sslspec_lib.{module}"), attr)


@pytest.mark.parametrize("name,args,kwargs,match,setup", BAD_INPUTS)
def test_bad_input_raises_value_error(name, args, kwargs, match, setup, monkeypatch):
    if setup is not None:
        setup(monkeypatch)
    with pytest.raises(ValueError, match=match):
        resolve(name)(*args, **kwargs)


def test_table_is_large_and_covers_every_module():
    assert len(BAD_INPUTS) >= 30
    modules = {p.values[0].split(".")[0] for p in BAD_INPUTS}
    assert {"graphs", "losses", "closed_form", "metrics", "train", "data",
            "device"} <= modules


def _registered_existing():
    """Registered functions that exist now (spectral is written concurrently)."""
    out = []
    for entry in _registry.RESULTS.values():
        for name in entry["functions"]:
            module, attr = name.split(".")
            try:
                mod = importlib.import_module(f"sslspec_lib.{module}")
            except ImportError:
                continue
            if hasattr(mod, attr):
                out.append(name)
    return sorted(set(out))


def uncovered(names):
    covered = {p.values[0] for p in BAD_INPUTS}
    return [n for n in names if n not in covered]


@pytest.mark.parametrize("name", _registered_existing())
def test_every_registered_function_has_bad_input_cases(name):
    assert not uncovered([name]), (f"{name} is registered in _registry.py but has no "
                                   "bad-input case in tests/test_validation.py::BAD_INPUTS")


def test_coverage_check_can_fail(monkeypatch):
    # A registered function without a row is reported (graphs.degree has one row,
    # symbolic.gradient none): the coverage check is not vacuous.
    fake = {"R99": {"title": "", "chapter": None,
                    "functions": ["graphs.degree", "symbolic.gradient"]}}
    monkeypatch.setattr(_registry, "RESULTS", fake)
    assert uncovered(_registered_existing()) == ["symbolic.gradient"]


# -- non-unique / unknown optima warn ----------------------------------------------------------

CYCLE6 = t([[1.0 if abs(i - j) in (1, 5) else 0.0 for j in range(6)] for i in range(6)])
INVARIANT_X = torch.cat([torch.repeat_interleave(t(np.random.default_rng(7)
                                                   .standard_normal((6, 2))), 2, dim=0),
                         t(np.random.default_rng(8).standard_normal((12, 2)))], dim=1)
# 5 points on a cycle, neighbours at distance 1, the others at 3: spectrum of
# -1/2 H Delta H is 6.97 (x2), 0, -1.97 (x2), so K = 4 keeps a negative one.
NON_EUCLIDEAN = t([[0, 1, 3, 3, 1], [1, 0, 1, 3, 3], [3, 1, 0, 1, 3], [3, 3, 1, 0, 1],
                   [1, 3, 3, 1, 0]])

WARNINGS = [
    pytest.param("closed_form.vicreg_optimum", (AUG, 2, 0.1), {},
                 r"vicreg_optimum: the optimum is not unique: Laplacian eigenvalues 2 and 3 are "
                 r"equal .* \(the tie is at 0: G has more connected components",
                 id="vicreg-cut-inside-null-space"),
    pytest.param("closed_form.vicreg_constrained_optimum", (AUG, 1), {},
                 r"vicreg_constrained_optimum: the optimum is not unique: Laplacian eigenvalues "
                 r"1 and 2 are equal", id="constrained-cut-inside-null-space"),
    pytest.param("closed_form.vicreg_hinge_optimum", (AUG, 2, 0.5), {},
                 r"vicreg_hinge_optimum: the optimum is not unique: .*(Laplacian eigenvalues|"
                 r"some kept Laplacian eigenvalues are 0)", id="hinge-disconnected"),
    pytest.param("closed_form.spectral_contrastive_optimum", (CYCLE6, 2), {},
                 r"spectral_contrastive_optimum: the optimum is not unique: eigenvalues of G 2 "
                 r"and 3 are equal \(1 and 1\)", id="sc-regular-cycle"),
    pytest.param("closed_form.spectral_contrastive_optimum", (AUG, 2), {},
                 r"spectral_contrastive_optimum: the optimum is not unique: eigenvalues of G 2 "
                 r"and 3 are equal \(1 and 1\)", id="sc-regular-augmentation"),
    pytest.param("closed_form.simclr_optimum", (graphs.augmentation_graph(5, 2), 2), {},
                 r"simclr_optimum: K=2 < N'-1=4: the groups cannot sit on a regular simplex in "
                 r"K dimensions; no closed form is known", id="simclr-K-below-simplex"),
    pytest.param("closed_form.barlow_twins_optimum", (AUG, 2), {},
                 r"barlow_twins_optimum: the optimum is not unique: the eigenvalue 1 has "
                 r"multiplicity 3 > K=2", id="bt-eigenspace-larger-than-K"),
    pytest.param("closed_form.barlow_twins_linear_optimum",
                 (INVARIANT_X, graphs.augmentation_graph(6, 2), 3), {},
                 r"barlow_twins_linear_optimum: only 2 directions reach correlation 1 and K=3",
                 id="bt-linear-not-exact"),
    pytest.param("spectral.laplacian_eigenmaps", (AUG + 0.0, 1), {"constraint": "covariance"},
                 r"laplacian_eigenmaps: the optimum is not unique", id="le-tie"),
    pytest.param("spectral.classical_mds", (NON_EUCLIDEAN, 4), {},
                 r"classical_mds: 1 of the 4 kept eigenvalues of -1/2 H Delta H are negative",
                 id="mds-non-euclidean"),
]


@pytest.mark.parametrize("name,args,kwargs,match", WARNINGS)
def test_non_unique_or_unknown_optimum_warns(name, args, kwargs, match):
    with pytest.warns(UserWarning, match=match):
        resolve(name)(*args, **kwargs)
