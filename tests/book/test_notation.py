"""One letter per meaning: the input dimension is d, and D is only the degree matrix.

The notation chapter (``intro/notation``) fixes the scheme: inputs are
:math:`X \\in \\mathbb R^{N\\times d}`, :math:`D = \\operatorname{diag}(G\\mathbf 1)` is the
degree matrix and a row's degree is its entry :math:`D_{ii}`.  These tests fail if a
markdown cell of any notebook of the book, or a page of the book, writes a real space with
the letter D (the input space :math:`\\mathbb R^{N\\times D}`, a weight space
:math:`\\mathbb R^{D\\times K}`, :math:`\\mathbb R^D`), or if a library docstring gives an
input the shape ``(N, D)``: D would then mean a dimension again.
"""

import json
import re
import pytest

from booktoc import ROOT, toc_entries, resolve, toc_notebooks

CHAPTERS = ROOT / "chapters"
# A real space (\R, \mathbb{R}, \mathbb R) whose exponent contains the letter D on its own:
# R^{N\times D}, R^{D\times K}, R^{N \times D_a}, R^D.
SPACE_WITH_D = re.compile(
    r"\\(?:R|mathbb\s*\{?R\}?)\s*\^\s*"
    r"(?:\{[^}]*(?<![A-Za-z\\])D(?![A-Za-z])[^}]*\}|D(?![A-Za-z]))")
# A docstring shape whose last axis is the input dimension written D: (N, D), (n, D), (M_i, D).
SHAPE_WITH_D = re.compile(r"\((?:N|n|n_show|M_i|2N), D\)|\(D, K\)|1 <= K <= D\b")


def _pages():
    out = []
    for entry in toc_entries():
        path = resolve(entry)
        if path is not None and path.suffix == ".md":
            out.append(path)
    return out


def space_hits(text):
    """Every occurrence of a real space written with D in ``text``."""
    return [m.group(0) for m in SPACE_WITH_D.finditer(text)]


def _markdown(nb_path):
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    return [(i, "".join(c["source"])) for i, c in enumerate(nb["cells"])
            if c["cell_type"] == "markdown"]


NOTEBOOKS = sorted(set(toc_notebooks())
                   | {p for p in CHAPTERS.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts})
PAGES = _pages() + [ROOT / "README.md"]


def _id(path):
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=[_id(p) for p in NOTEBOOKS])
def test_no_input_space_written_with_D_in_markdown(nb_path):
    hits = [(i, h) for i, src in _markdown(nb_path) for h in space_hits(src)]
    assert not hits, (
        f"{_id(nb_path)}: the input dimension is d (D is the degree matrix); "
        f"markdown cells write a space with D: {hits}")


@pytest.mark.parametrize("page", PAGES, ids=[_id(p) for p in PAGES])
def test_no_input_space_written_with_D_in_pages(page):
    hits = space_hits(page.read_text(encoding="utf-8"))
    assert not hits, f"{_id(page)}: a space written with D: {hits}"


def test_no_input_shape_written_with_D_in_library_docstrings():
    hits = []
    for path in sorted((ROOT / "sslspec_lib").glob("*.py")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if SHAPE_WITH_D.search(line) or space_hits(line):
                hits.append(f"{path.name}:{n}: {line.strip()}")
    assert not hits, "input dimension written D in the library:\n" + "\n".join(hits)


def test_the_notation_chapter_states_the_scheme():
    text = "\n".join(src for _, src in _markdown(CHAPTERS / "intro" / "notation.ipynb"))
    assert r"X \in \R^{N\times d}" in text
    assert r"| $D = \diag(G\one)$, $D_{ii}$ | degree matrix" in text
    assert "input dimension" in text


@pytest.mark.parametrize("text", [
    r"$X \in \R^{N\times D}$", r"$X \in \R^{N \times D}$", r"$W \in \R^{D\times K}$",
    r"$X_a \in \R^{N\times D_a}$", r"$U \subset \R^D$", r"$x \in \mathbb{R}^{D}$",
    r"$\mathbb R^{N\times D}$",
])
def test_the_rule_bites(text):
    assert space_hits(text), text


@pytest.mark.parametrize("text", [
    r"$X \in \R^{N\times d}$", r"$W \in \R^{d\times K}$", r"$Z^\top D Z = I$",
    r"$A = D^{-1/2}GD^{-1/2}$", r"$\R^{N\times K}$", r"$D = \diag(G\one)$",
    r"$\R^{N\times N}$", r"$\R^{3\times 2}$", r"$\R^{N\times d_a}$",
])
def test_the_rule_spares_the_degree_matrix_and_d(text):
    assert not space_hits(text), text
