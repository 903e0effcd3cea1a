"""Settings shared by every test: headless plotting, no hash randomisation."""

import os

# Set before anything imports matplotlib; the Makefile sets them too.
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("PYTHONHASHSEED", "0")
