"""Which library functions serve which result of the paper (R-ids of PAPER_MAP).

Read by the book's ledger and by the tests (every public function must be
registered, must name its R-id in its docstring, and must have bad-input
cases).  Chapter labels are the notebooks' top labels.
"""
from __future__ import annotations

RESULTS: dict[str, dict[str, object]] = {
    "R1": {"title": "Invariance term = 2 tr(Z^T L Z)", "chapter": "ch-invariance",
           "functions": ["losses.invariance", "graphs.laplacian"]},
    "R2": {"title": "Spectral contrastive loss = ||G - ZZ^T||_F^2 - ||G||_F^2",
           "chapter": "ch-losses", "functions": ["losses.spectral_contrastive"]},
    "R3": {"title": "Ky Fan trace minimisation", "chapter": "ch-ky-fan",
           "functions": ["train.train_stiefel"]},
    "R4": {"title": "Eckart-Young-Mirsky", "chapter": "ch-eckart-young", "functions": []},
    "R5": {"title": "Laplacian Eigenmaps", "chapter": "ch-laplacian-eigenmaps",
           "functions": ["spectral.laplacian_eigenmaps"]},
    "R6": {"title": "Locality Preserving Projections", "chapter": "ch-laplacian-eigenmaps",
           "functions": ["spectral.lpp"]},
    "R7": {"title": "Classical MDS / kernel PCA / ISOMAP", "chapter": "ch-mds-isomap",
           "functions": ["spectral.classical_mds", "spectral.kernel_pca", "spectral.isomap"]},
    "R8": {"title": "CCA", "chapter": "ch-cca", "functions": ["spectral.cca"]},
    "R9": {"title": "VICReg with hard constraints = Laplacian Eigenmaps", "chapter": "ch-vicreg",
           "functions": ["closed_form.vicreg_constrained_optimum", "train.train_whitened"]},
    "R10": {"title": "Smooth VICReg closed form", "chapter": "ch-vicreg",
            "functions": ["losses.vicreg", "closed_form.vicreg_optimum"]},
    "R11": {"title": "Hinge VICReg, diagonal approximation", "chapter": "ch-vicreg-hinge",
            "functions": ["losses.vicreg_hinge", "losses.vicreg_two_view",
                          "closed_form.vicreg_hinge_optimum"]},
    "R12": {"title": "SimCLR recovers a global method", "chapter": None,
            "functions": ["losses.info_nce", "losses.nt_xent", "closed_form.simclr_optimum"]},
    "R13": {"title": "Spectral contrastive closed form", "chapter": None,
            "functions": ["closed_form.spectral_contrastive_optimum"]},
    "R14": {"title": "BarlowTwins and CCA", "chapter": None,
            "functions": ["losses.barlow_twins", "losses.barlow_twins_two_view",
                          "closed_form.barlow_twins_optimum"]},
    "R15": {"title": "Linear regime", "chapter": "ch-linear-regime",
            "functions": ["closed_form.vicreg_linear_optimum",
                          "closed_form.spectral_contrastive_linear_optimum",
                          "closed_form.barlow_twins_linear_optimum"]},
    "R16": {"title": "Aligned G recovers the supervised solution", "chapter": None,
            "functions": ["spectral.lda", "graphs.label_graph"]},
    "R17": {"title": "Misaligned G", "chapter": None, "functions": []},
    "R18": {"title": "Low-data regime", "chapter": None, "functions": []},
}
