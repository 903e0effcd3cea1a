"""`make book` installs everything the chapters import.

`make book` installs the project with its `book` extra only (not `test`), so a
chapter that imports a package listed only under `test` builds in `make test`
and fails in `make book`. This test reads every import of every notebook and
checks that it comes from the standard library or from a distribution in the
dependency closure of `sslspec[book]`.
"""

import json
import re
import sys
from importlib import metadata

from packaging.requirements import Requirement

from booktoc import ROOT

IMPORT_RE = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_][\w]*)", re.M)


def _norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def notebook_imports():
    found = {}
    for path in sorted((ROOT / "chapters").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "code":
                source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
                for module in IMPORT_RE.findall(source):
                    found.setdefault(module, str(path.relative_to(ROOT)))
    return found


def book_closure():
    """Distributions installed by `pip install sslspec[book]` (names normalised)."""
    seen, todo = set(), [("sslspec", {"book"})]
    while todo:
        name, extras = todo.pop()
        key = _norm(name)
        if key in seen:
            continue
        seen.add(key)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for line in requires:
            req = Requirement(line)
            env = {"extra": ""}
            if req.marker and not any(req.marker.evaluate({"extra": e}) for e in (extras or {""})):
                if not req.marker.evaluate(env):
                    continue
            todo.append((req.name, set(req.extras)))
    return seen


def test_every_notebook_import_is_installed_by_make_book():
    closure = book_closure()
    provided = metadata.packages_distributions()
    missing = []
    for module, where in notebook_imports().items():
        if module in sys.stdlib_module_names or module == "sslspec_lib":
            continue
        dists = {_norm(d) for d in provided.get(module, [])}
        if not dists & closure:
            missing.append(f"{module} (imported in {where}; from {sorted(dists) or 'nothing installed'})")
    assert not missing, "not installed by `make book` (add to the book extra):\n" + "\n".join(missing)
