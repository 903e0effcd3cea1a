"""Which library functions serve which result of the paper (ids R1–R18 of the book's ledger).

Each entry has a ``title`` (MyST, shown in the ledger), the ``chapter``
label that proves it (None while it is not written), the ``functions`` that
implement it, and optionally a ``note`` on how exactly it holds.

Read by the book's ledger and by the tests (every public function must be
registered, must name its R-id in its docstring, and must have bad-input
cases).  Chapter labels are the notebooks' top labels.
"""
from __future__ import annotations

RESULTS: dict[str, dict[str, object]] = {
    "R1": {"title": r"Invariance term is a Laplacian form: $\sum_{ij}G_{ij}\lVert z_i - z_j\rVert^2 = 2\operatorname{tr}(Z^\top L Z)$", "chapter": "ch-invariance",
           "functions": ["losses.invariance", "graphs.laplacian"]},
    "R2": {"title": r"Spectral contrastive loss $= \lVert G - ZZ^\top\rVert_F^2 - \lVert G\rVert_F^2$",
           "chapter": "ch-losses", "functions": ["losses.spectral_contrastive"]},
    "R3": {"title": r"Ky Fan: $\min_{Z^\top Z = I}\operatorname{tr}(Z^\top A Z)$ is the sum of the $K$ smallest eigenvalues", "chapter": "ch-ky-fan",
           "functions": ["train.train_stiefel"]},
    "R4": {"title": "Eckart–Young–Mirsky: best rank-$K$ approximation is the eigen-truncation", "chapter": "ch-eckart-young", "functions": []},
    "R5": {"title": "Laplacian Eigenmaps (local), degree and covariance constraints", "chapter": "ch-laplacian-eigenmaps",
           "functions": ["spectral.laplacian_eigenmaps"]},
    "R6": {"title": "Locality Preserving Projections (linear Laplacian Eigenmaps)", "chapter": "ch-laplacian-eigenmaps",
           "functions": ["spectral.lpp"]},
    "R7": {"title": r"Classical MDS, kernel PCA, ISOMAP (global): top eigenvectors of $-\frac12 H\Delta H$", "chapter": "ch-mds-isomap",
           "functions": ["spectral.classical_mds", "spectral.kernel_pca", "spectral.isomap"]},
    "R8": {"title": "Canonical correlation analysis: whitening and SVD", "chapter": "ch-cca", "functions": ["spectral.cca"]},
    "R9": {"title": "VICReg with hard variance/covariance constraints is Laplacian Eigenmaps", "chapter": "ch-vicreg",
           "functions": ["closed_form.vicreg_constrained_optimum", "train.train_whitened"]},
    "R10": {"title": r"Smooth VICReg closed form: $c_k = \max(0, 1 - \alpha\lambda_k)$, rank set by $\alpha$", "chapter": "ch-vicreg",
            "functions": ["losses.vicreg", "closed_form.vicreg_optimum"]},
    "R11": {"title": "VICReg with the original hinge variance term: diagonal approximation", "note": "approximate: exact only for a diagonal covariance; with the covariance as a penalty the trained loss lands below the diagonal prediction (the measured ratio is in the ledger)",
            "chapter": "ch-vicreg-hinge",
            "functions": ["losses.vicreg_hinge", "losses.vicreg_two_view",
                          "closed_form.vicreg_hinge_optimum"]},
    "R12": {"title": "SimCLR recovers a global method", "note": "exact for K >= N'-1; K < N'-1 only measured",
            "chapter": "ch-contrastive",
            "functions": ["losses.info_nce", "losses.nt_xent", "closed_form.simclr_optimum",
                          "losses.info_nce_negatives_only", "spectral.graph_isomap"]},
    "R13": {"title": "Spectral contrastive closed form", "chapter": "ch-contrastive",
            "functions": ["closed_form.spectral_contrastive_optimum"]},
    "R14": {"title": "BarlowTwins and CCA", "note": "exact for K <= N'-1, and beyond it for 0 <= lambd <= 1",
            "chapter": "ch-barlow-twins",
            "functions": ["losses.barlow_twins", "losses.barlow_twins_two_view",
                          "closed_form.barlow_twins_optimum",
                          "closed_form.barlow_twins_overcomplete_optimum"]},
    "R15": {"title": r"Linear regime: optimal $W$ (LPP with the covariance constraint, linear spectral contrastive, linear CCA)", "chapter": "ch-linear-regime",
            "functions": ["closed_form.vicreg_linear_optimum",
                          "closed_form.spectral_contrastive_linear_optimum",
                          "closed_form.barlow_twins_linear_optimum"]},
    "R16": {"title": "Aligned $G$ recovers the supervised (LDA) solution", "chapter": "ch-aligned",
            "note": "exact for equal class sizes; with unequal sizes the global form and the class-normalised graph stay exact, the plain label graph does not",
            "functions": ["spectral.lda", "graphs.label_graph", "experiments.probe_accuracy",
                          "experiments.split_fraction", "experiments.repeat",
                          "experiments.summarize", "experiments.compare",
                          "experiments.subset_with_sizes", "experiments.pca_front_end",
                          "experiments.balanced_label_graph", "experiments.aligned_probe"]},
    "R17": {"title": r"Misaligned $G$: VICReg with small $\alpha$ keeps label information", "chapter": "ch-misaligned",
            "note": "holds for alpha below (m-1)/m and K = D against the global closed form and trained NT-Xent / Barlow Twins; no difference from Barlow Twins' CCA idealisation; with K < D VICReg keeps an arbitrary subspace",
            "functions": ["nuisance.balanced_groups", "nuisance.nuisance_graph",
                          "nuisance.digits_nuisance", "nuisance.gaussian_nuisance",
                          "nuisance.linear_encoder", "nuisance.vicreg_linear_draw",
                          "nuisance.trained_encoder", "nuisance.misaligned_split",
                          "nuisance.misaligned_trial"]},
    "R18": {"title": r"Low-data regime: large $\alpha$ helps VICReg", "chapter": "ch-low-data",
            "note": "holds for 1 <= alpha m < 1 + rho_min (label graph, linear); the global loss does as well with no weight to tune",
            "functions": ["experiments.split_per_class", "experiments.low_data_probe"]},
}
