"""Every closed form and spectral method returns its result on its input's device.

Run under ``SSLSPEC_DEVICE=cuda`` these build every input on the GPU, so a
library function that mixes a CPU intermediate (a SciPy label vector, a
``torch.arange`` without ``device=``) with a GPU tensor fails here rather than
in a chapter.  On the CPU they still check that results come back as float64
tensors of the right shape.
"""
from types import SimpleNamespace

import pytest
import torch

from sslspec_lib import closed_form, device, graphs, spectral


@pytest.fixture(scope="module")
def dev():
    return device.get()


@pytest.fixture(scope="module")
def setup(dev):
    gen = torch.Generator().manual_seed(0)
    G = graphs.augmentation_graph(6, 2, device=dev)          # 12 rows, N' = 6
    X = torch.randn(12, 8, generator=gen, dtype=torch.float64).to(dev)
    Xk = torch.randn(40, 3, generator=gen, dtype=torch.float64).to(dev)
    Gk = graphs.knn_graph(Xk, 8).to(dev)
    Yk = (Xk @ torch.randn(3, 3, generator=gen, dtype=torch.float64).to(dev)
          + torch.randn(40, 3, generator=gen, dtype=torch.float64).to(dev))
    return SimpleNamespace(G=G, X=X, Xk=Xk, Gk=Gk, Yk=Yk)


def _on(t, dev):
    t = t[0] if isinstance(t, tuple) else t
    return t.device.type == dev.type and t.dtype == torch.float64


CASES = {
    "vicreg_optimum": lambda s: closed_form.vicreg_optimum(s.Gk, 3, 0.1),
    "vicreg_constrained_optimum": lambda s: closed_form.vicreg_constrained_optimum(s.Gk, 3),
    "vicreg_hinge_optimum": lambda s: closed_form.vicreg_hinge_optimum(s.Gk, 3, 0.1),
    "simclr_optimum": lambda s: closed_form.simclr_optimum(s.G, 5),
    "spectral_contrastive_optimum": lambda s: closed_form.spectral_contrastive_optimum(s.G, 6),
    "barlow_twins_optimum": lambda s: closed_form.barlow_twins_optimum(s.G, 5),
    "barlow_twins_overcomplete_optimum":
        lambda s: closed_form.barlow_twins_overcomplete_optimum(s.G, 8, 0.2),
    "vicreg_linear_optimum": lambda s: closed_form.vicreg_linear_optimum(s.X, s.G, 3, 0.1),
    "spectral_contrastive_linear_optimum":
        lambda s: closed_form.spectral_contrastive_linear_optimum(s.X, s.G, 3),
    "barlow_twins_linear_optimum":
        lambda s: closed_form.barlow_twins_linear_optimum(s.X, s.G, 2),
    "laplacian_eigenmaps": lambda s: spectral.laplacian_eigenmaps(s.Gk, 2),
    "lpp": lambda s: spectral.lpp(s.Xk, s.Gk, 2),
    "classical_mds": lambda s: spectral.classical_mds(torch.cdist(s.Xk, s.Xk), 2),
    "kernel_pca": lambda s: spectral.kernel_pca(s.Xk @ s.Xk.T, 2),
    "isomap": lambda s: spectral.isomap(s.Xk, 2, 8),
    "cca": lambda s: spectral.cca(s.Xk, s.Yk, 2),
    "lda": lambda s: spectral.lda(s.X, torch.arange(12, device=s.X.device) % 3, 2),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_result_on_input_device(name, setup, dev):
    out = CASES[name](setup)
    assert _on(out, dev), f"{name} returned a result off {dev} or not float64"


def test_components_on_graph_device(setup, dev):
    G = setup.G
    lab = graphs.components(G)
    assert lab.device.type == dev.type
    assert lab.tolist() == [i // 2 for i in range(12)]
