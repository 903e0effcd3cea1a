"""The registry ``sslspec_lib._registry`` is complete and truthful.

* every function it names exists and its docstring cites the R-id it is
  registered under (the book -> library backlink of the style guide);
* every public function of the result-bearing modules is registered under
  some R-id, or is a utility listed below with the reason it carries no
  result of its own;
* a chapter label, once set, is the top label of a chapter notebook.
"""
import importlib
import re
from pathlib import Path

import pytest

from sslspec_lib import _registry

ROOT = Path(__file__).resolve().parents[1]

# Public names of graphs / losses / closed_form / spectral that serve every
# result rather than one, so they are deliberately not registered.
UTILITIES = {
    "graphs.augmentation_graph": "builds the G of R1 and R9-R14; an input, not a result",
    "graphs.knn_graph": "builds a G for the local methods (R5, R6); an input, not a result",
    "graphs.degree": "D = diag(G 1), notation",
    "graphs.centering": "H = I - 11^T/N, notation",
    "graphs.validate_graph": "input validation",
    "graphs.components": "connected components (the null space of L), a diagnostic",
    "graphs.planted_components": "builds a weighted G with known components; an input",
    "losses.covariance": "C(Z) = Z^T H Z / N, notation shared by every result",
    "closed_form.Details": "the container every closed form returns, not a function",
}
MODULES = ["graphs", "losses", "closed_form", "spectral"]


def registered():
    """(R-id, "module.name") for every function listed in the registry."""
    return [(rid, name) for rid, entry in _registry.RESULTS.items()
            for name in entry["functions"]]


def resolve(name):
    module, attr = name.split(".")
    mod = importlib.import_module(f"sslspec_lib.{module}")
    assert hasattr(mod, attr), f"{name} is registered but sslspec_lib.{module} has no {attr}"
    return getattr(mod, attr)


def test_result_ids_are_r1_to_r18():
    assert list(_registry.RESULTS) == [f"R{i}" for i in range(1, 19)]
    for rid, entry in _registry.RESULTS.items():
        assert {"title", "chapter", "functions"} <= set(entry), rid
        assert set(entry) <= {"title", "chapter", "functions", "note"}, rid
        assert isinstance(entry.get("note", ""), str), rid
        assert isinstance(entry["title"], str) and entry["title"], rid
        assert isinstance(entry["functions"], list), rid


@pytest.mark.parametrize("rid,name", registered(), ids=[f"{r}-{n}" for r, n in registered()])
def test_registered_function_exists_and_cites_its_result(rid, name):
    func = resolve(name)
    assert callable(func)
    doc = func.__doc__ or ""
    assert re.search(rf"\b{rid}\b", doc), f"the docstring of {name} does not name {rid}"


@pytest.mark.parametrize("module", MODULES)
def test_every_public_function_is_registered_or_an_allowed_utility(module):
    mod = importlib.import_module(f"sslspec_lib.{module}")
    names = {n for _, n in registered()}
    missing = [f"{module}.{attr}" for attr in mod.__all__
               if f"{module}.{attr}" not in names and f"{module}.{attr}" not in UTILITIES]
    assert not missing, (f"public but neither registered in _registry.py nor listed as a "
                         f"utility: {missing}")


def test_utility_allow_list_is_short_and_current():
    assert len(UTILITIES) <= 10, "the allow-list is for a few utilities only"
    names = {n for _, n in registered()}
    for name, reason in UTILITIES.items():
        module, attr = name.split(".")
        assert attr in importlib.import_module(f"sslspec_lib.{module}").__all__, name
        assert name not in names, f"{name} is registered: remove it from the allow-list"
        assert reason


def _chapter_labels():
    labels = set()
    for nb in (ROOT / "chapters").rglob("*.ipynb"):
        labels |= set(re.findall(r"\((ch-[a-z0-9-]+)\)=", nb.read_text(encoding="utf-8")))
    return labels


def test_chapter_labels_exist():
    labels = _chapter_labels()
    for rid, entry in _registry.RESULTS.items():
        ch = entry["chapter"]
        if ch is None:
            continue
        assert re.fullmatch(r"ch-[a-z0-9-]+", ch), f"{rid}: chapter label {ch!r} is not ch-<slug>"
        assert ch in labels, f"{rid}: no chapter notebook has the label ({ch})="
