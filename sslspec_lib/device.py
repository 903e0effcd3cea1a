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

__all__ = ["get", "seed_all", "generator", "base_seed", "derive_seed"]

ENV_VAR = "SSLSPEC_DEVICE"
SEED_VAR = "SSLSPEC_SEED"


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


def base_seed() -> int:
    """The book's base seed: ``$SSLSPEC_SEED`` (default 0).

    Every random start of the book is derived from it by :func:`derive_seed`,
    so one variable re-draws every start, sample and split.  Claims must hold
    under any base seed; printed numbers may change.

    Raises
    ------
    ValueError
        If the variable is set but is not a non-negative integer.
    """
    raw = os.environ.get(SEED_VAR, "").strip()
    if not raw:
        return 0
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{SEED_VAR}={raw!r} is not an integer.") from None
    if value < 0:
        raise ValueError(f"{SEED_VAR}={raw!r} must be a non-negative integer.")
    return value


def derive_seed(k: int, base: int | None = None) -> int:
    """Seed number ``k`` of the book, derived from the base seed.

    ``derive_seed(k)`` mixes ``k`` with :func:`base_seed` through NumPy's
    ``SeedSequence`` (a hash designed for this), so that seeds ``0, 1, 2, ...``
    of a notebook are independent streams and all of them change together
    when ``$SSLSPEC_SEED`` changes.  Deterministic: the same ``(base, k)``
    gives the same seed on every machine.

    Parameters
    ----------
    k : int >= 0
        Index of the seed within its experiment (start number, repeat, ...).
    base : int, optional
        Base seed; :func:`base_seed` by default.

    Returns
    -------
    int
        A seed in ``[0, 2**31)``, usable by torch, NumPy and scikit-learn.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
        raise ValueError(f"The 'k' parameter of derive_seed must be a non-negative int. "
                         f"Got {k!r} instead.")
    b = base_seed() if base is None else base
    if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b < 0:
        raise ValueError(f"The 'base' parameter of derive_seed must be a non-negative int. "
                         f"Got {b!r} instead.")
    state = np.random.SeedSequence([int(b), int(k)]).generate_state(1, dtype=np.uint32)
    return int(state[0] & 0x7FFFFFFF)


def generator(seed: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed``.

    Random starts are drawn on the CPU and then moved to the working device,
    so that the same seed gives the same start on every device.
    """
    g = torch.Generator(device="cpu")
    g.manual_seed(int(seed))
    return g
