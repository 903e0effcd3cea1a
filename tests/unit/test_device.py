"""Unit tests of :mod:`sslspec_lib.device`: device choice from the environment, seeding."""
import random

import numpy as np
import pytest
import torch

from sslspec_lib import device


def test_default_is_cpu(monkeypatch):
    monkeypatch.delenv(device.ENV_VAR, raising=False)
    assert device.get() == torch.device("cpu")
    monkeypatch.setenv(device.ENV_VAR, "  ")  # blank means the default
    assert device.get() == torch.device("cpu")


def test_env_override(monkeypatch):
    monkeypatch.setenv(device.ENV_VAR, "cpu")
    assert device.get().type == "cpu"
    if torch.cuda.is_available():  # only meaningful on a GPU machine
        monkeypatch.setenv(device.ENV_VAR, "cuda")
        assert device.get().type == "cuda"


def test_cuda_without_cuda_is_an_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv(device.ENV_VAR, "cuda:0")
    with pytest.raises(ValueError, match=r"SSLSPEC_DEVICE='cuda:0' but torch sees no CUDA "
                                         r"device; unset it to run on the CPU"):
        device.get()


def test_unknown_device_name_is_an_error(monkeypatch):
    monkeypatch.setenv(device.ENV_VAR, "tpu7")
    with pytest.raises(ValueError, match=r"SSLSPEC_DEVICE='tpu7' is not a torch device name"):
        device.get()


def test_seed_all_seeds_every_generator():
    device.seed_all(5)
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    device.seed_all(5)
    b = (random.random(), np.random.rand(), torch.rand(1).item())
    assert a == b


def test_generator_is_seeded_cpu_generator():
    g1, g2 = device.generator(3), device.generator(3)
    assert g1.device.type == "cpu"
    assert torch.equal(torch.randn(4, generator=g1), torch.randn(4, generator=g2))
    assert not torch.equal(torch.randn(4, generator=device.generator(4)),
                           torch.randn(4, generator=device.generator(3)))
