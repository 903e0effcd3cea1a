"""sslspec_lib — the library behind the sslspec book.

Self-supervised losses (VICReg, SimCLR/InfoNCE, BarlowTwins, spectral
contrastive) in relation-matrix form, the classical spectral embeddings they
recover (Laplacian Eigenmaps, LPP, MDS, kernel PCA, ISOMAP, CCA, LDA), their
closed-form optima, and the tools to check them numerically (Balestriero &
LeCun, NeurIPS 2022, arXiv:2205.11508).

Modules: :mod:`~sslspec_lib.graphs`, :mod:`~sslspec_lib.losses`,
:mod:`~sslspec_lib.spectral`, :mod:`~sslspec_lib.closed_form`,
:mod:`~sslspec_lib.train`, :mod:`~sslspec_lib.metrics`,
:mod:`~sslspec_lib.symbolic`, :mod:`~sslspec_lib.data`,
:mod:`~sslspec_lib.device`.
"""
__version__ = "0.1.0"
