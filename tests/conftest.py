"""Settings shared by every test: headless plotting, no hash randomisation."""

import os

# Set before anything imports matplotlib; the Makefile sets them too.
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("PYTHONHASHSEED", "0")

# The test problems are tiny (N <= a few hundred): one intra-op thread is faster
# than two and stays fast on a busy 2-core machine (measured for the library
# suite: 24 s instead of 39 s wall).  This process only: notebook kernels started
# by nbval keep their own setting.
import torch  # noqa: E402

torch.set_num_threads(1)
