"""Read the book's table of contents (``_toc.yml``).

The Makefile calls this file to list the notebooks that nbval checks, so that list
is never maintained by hand::

    python tests/book/booktoc.py --notebooks
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _walk(node):
    """Yield every ``file:`` entry of a jb-book ``_toc.yml`` node, in order."""
    if isinstance(node, dict):
        for key in ("root", "file"):
            if key in node:
                yield node[key]
        for key in ("parts", "chapters", "sections"):
            for child in node.get(key, []) or []:
                yield from _walk(child)
    elif isinstance(node, list):
        for child in node:
            yield from _walk(child)


def toc_entries(root: Path = ROOT) -> list[str]:
    """Every document of ``_toc.yml``, without suffix, in reading order."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    return list(_walk(toc))


def resolve(entry: str, root: Path = ROOT) -> Path | None:
    """The source file of a toc entry (``.ipynb`` or ``.md``), or None if missing."""
    base = root / entry
    if base.suffix in (".ipynb", ".md") and base.is_file():
        return base
    for suffix in (".ipynb", ".md"):
        candidate = base.with_name(base.name + suffix)
        if candidate.is_file():
            return candidate
    return None


def toc_notebooks(root: Path = ROOT) -> list[Path]:
    """The notebooks of ``_toc.yml``, in reading order."""
    paths = (resolve(entry, root) for entry in toc_entries(root))
    return [p for p in paths if p is not None and p.suffix == ".ipynb"]


if __name__ == "__main__":
    if sys.argv[1:] != ["--notebooks"]:
        sys.exit("usage: python tests/book/booktoc.py --notebooks")
    print(" ".join(str(p.relative_to(ROOT)) for p in toc_notebooks()))
