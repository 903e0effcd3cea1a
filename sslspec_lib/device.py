"""Device choice and seeding.

Notebooks and tests pick the device from the environment variable
``SSLSPEC_DEVICE`` (default ``cpu``; ``cuda`` where a GPU exists), so that one
set of stored notebook outputs serves both.  Every check is computed in
float64 and printed as a rounded, device-independent verdict.
"""
from __future__ import annotations

import os
import random

import numpy as np
import torch

__all__ = ["get", "seed_all", "generator"]

ENV_VAR = "SSLSPEC_DEVICE"


def get() -> torch.device:
    """Return the device named by ``$SSLSPEC_DEVICE`` (default ``cpu``).

    Raises
    ------
    ValueError
        If the variable names CUDA but no CUDA device is available, or names
        something torch does not know.
    """
    name = os.environ.get(ENV_VAR, "cpu").strip() or "cpu"
    try:
        dev = torch.device(name)
    except RuntimeError as exc:
        raise ValueError(f"{ENV_VAR}={name!r} is not a torch device name "
                         "(expected 'cpu', 'cuda' or 'cuda:N').") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{ENV_VAR}={name!r} but torch sees no CUDA device; "
                         "unset it to run on the CPU.")
    return dev


def seed_all(seed: int = 0) -> None:
    """Seed Python's, NumPy's and torch's generators (all devices)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def generator(seed: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed``.

    Random starts are drawn on the CPU and then moved to the working device,
    so that the same seed gives the same start on every device.
    """
    g = torch.Generator(device="cpu")
    g.manual_seed(int(seed))
    return g
