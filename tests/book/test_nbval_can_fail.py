"""nbval, as `make test` runs it, fails when a stored output no longer matches.

A check that cannot fail proves nothing: each test runs nbval in a subprocess on a
temporary copy of a notebook, once as stored (it must pass) or once with one stored
text output altered (it must fail, and say that outputs differ).
"""

import subprocess
import sys

import nbformat
import pytest

from booktoc import ROOT, toc_notebooks

SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"
IGNORE_TAGS = {"nbval-ignore-output", "nbval-skip", "raises-exception"}


def run_nbval(notebook, cwd):
    """Run nbval on one notebook the way `make test` does; return the completed process."""
    (cwd / "pytest.ini").write_text("[pytest]\n")  # isolate from the repository's settings
    cmd = [
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
        "--nbval", "--nbval-current-env",
        "--nbval-sanitize-with", str(SANITIZE),
        "--nbval-cell-timeout=120",
        str(notebook),
    ]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)


def tiny_notebook(output_text):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(2 + 2)", execution_count=1)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=output_text)]
    nb.cells = [cell]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def alter_one_text_output(nb):
    """Change the first compared text output of `nb` in place; return the cell index."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or IGNORE_TAGS & set(cell.metadata.get("tags", [])):
            continue
        if "NBVAL_IGNORE_OUTPUT" in cell.source or "NBVAL_SKIP" in cell.source:
            continue
        for output in cell.outputs:
            if output.output_type == "stream" and output.name == "stdout" and output.text.strip():
                output.text = "altered: " + output.text
                return index
            data = output.get("data", {})
            if output.output_type == "execute_result" and "text/plain" in data:
                data["text/plain"] = "altered: " + data["text/plain"]
                return index
    return None


@pytest.mark.parametrize("stored, passes", [("4\n", True), ("5\n", False)], ids=["as-stored", "altered"])
def test_nbval_compares_stored_output(tmp_path, stored, passes):
    path = tmp_path / "tiny.ipynb"
    nbformat.write(tiny_notebook(stored), path)
    result = run_nbval(path, tmp_path)
    log = result.stdout + result.stderr
    if passes:
        assert result.returncode == 0, log
    else:
        assert result.returncode != 0, "nbval passed a notebook whose stored output is wrong:\n" + log
        assert "Cell outputs differ" in log, log


def test_nbval_catches_an_altered_chapter(tmp_path):
    """The same on a real chapter: the first compared text output altered."""
    notebooks = toc_notebooks()
    preferred = ROOT / "chapters" / "intro" / "invariance.ipynb"
    source = preferred if preferred in notebooks else notebooks[0]
    nb = nbformat.read(source, as_version=4)
    index = alter_one_text_output(nb)
    assert index is not None, f"{source.name} has no compared text output to alter"
    copy = tmp_path / source.name
    nbformat.write(nb, copy)
    result = run_nbval(copy, tmp_path)
    log = result.stdout + result.stderr
    assert result.returncode != 0, (
        f"nbval passed {source.relative_to(ROOT)} with the output of cell {index} altered:\n" + log
    )
    assert "Cell outputs differ" in log, log
