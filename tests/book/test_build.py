"""The book builds under `-n -W` from the outputs stored in the notebooks.

`make test` runs nbval in the same pytest session: it executes every notebook from
scratch and compares every text output with the stored one. Re-executing the notebooks
in this build would double the time without proving anything new, so this build
renders the stored outputs (execute_notebooks: off) and proves that they, the
theorems, references and citations render without a single warning.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from booktoc import ROOT

BUILD = ROOT / "_build"
OUTPUT = BUILD / "test"  # the HTML lands in _build/test/_build/html


def render_only_config():
    """A copy of _config.yml that renders stored outputs instead of executing."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    path = BUILD / "_config_test.yml"
    BUILD.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.build_last
def test_book_builds_strictly_from_stored_outputs():
    # A fresh output folder: an incremental Sphinx build would not re-read unchanged
    # pages, so it would not repeat their warnings and could pass a broken book.
    shutil.rmtree(OUTPUT, ignore_errors=True)
    cmd = [
        str(Path(sys.executable).parent / "jupyter-book"), "build", str(ROOT),
        "--config", str(render_only_config()), "--path-output", str(OUTPUT),
        "-n", "-W", "--keep-going",
    ]
    env = {**os.environ, "NO_COLOR": "1"}
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        log = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
        problems = [line for line in log.splitlines() if "WARNING" in line or "ERROR" in line]
        pytest.fail(
            f"strict build failed ({' '.join(cmd[1:])}):\n"
            + ("\n".join(problems) if problems else log[-6000:]),
            pytrace=False,
        )
    assert (OUTPUT / "_build" / "html" / "index.html").is_file()
