"""Code cells fit the page: no line of a notebook's code cell is longer than 88 characters.

The HTML book shows code cells in a column about 88 characters wide; a longer line scrolls
sideways and hides the end of a check's label or of a formula.  88 is also the line length
the library's own code follows.
"""

import json

import pytest

from booktoc import toc_notebooks

WIDTH = 88


def long_lines(cells, width=WIDTH):
    """(cell index, length) of every code line longer than ``width``; markdown is free."""
    return [(i, len(line)) for i, c in enumerate(cells) if c["cell_type"] == "code"
            for line in "".join(c["source"]).split("\n") if len(line) > width]


@pytest.mark.parametrize("nb", toc_notebooks(), ids=lambda p: p.stem)
def test_code_lines_fit_the_page(nb):
    cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
    long = long_lines(cells)
    assert not long, (f"{nb.name}: code lines over {WIDTH} characters "
                      f"(cell index, length): {long}")


def test_long_lines_finds_code_lines_only():
    cells = [{"cell_type": "markdown", "source": ["m" * 200]},
             {"cell_type": "code", "source": ["ok = 1\n", "x = 1  # " + "a" * WIDTH]},
             {"cell_type": "code", "source": ["y" * WIDTH]}]
    assert long_lines(cells) == [(1, WIDTH + 9)]
