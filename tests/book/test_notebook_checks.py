"""Every chapter notebook starts the check recorder under its own name, and quotes no typed number.

* The first code cell calls ``checks.start("<path below chapters/ without suffix>")``: the
  record of each notebook is named after it, and the ledger and the record test find it.
* Every decimal number in a markdown cell of a notebook (prose, captions) is glued from the
  cell that computed it (``{glue:text}`name:.2f```), or allow-listed in the notebook's
  metadata with a reason (``metadata.sslspec.typed_numbers = {"0.0051": "why"}``): set-up
  constants may be typed, measured values may not.
"""

import json
import re

import pytest

from booktoc import ROOT, toc_notebooks

CHAPTERS = ROOT / "chapters"
# Notebooks that record no check of their own, with the reason.
NO_RECORDER = {
    "reference/ledger": "reads the record of the other notebooks; states no result",
    "cost_scale": "reports committed benchmark timings; states no result",
}
START = re.compile(r"""checks\.start\(\s*["']([^"']+)["']\s*\)""")
GLUE = re.compile(r"\{glue(?::[a-z]+)?\}`[^`]*`")
DECIMAL = re.compile(r"(?<![\w.])(?:\d+\.\d+|\d+(?:\.\d+)?e-?\d+)(?![\w.])")


def _cells(nb_path):
    return json.loads(nb_path.read_text(encoding="utf-8"))


def _name(nb_path):
    return nb_path.relative_to(CHAPTERS).with_suffix("").as_posix()


def started_name(nb_path):
    """The name a notebook passes to checks.start in its first code cell, or None."""
    nb = _cells(nb_path)
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    if not code:
        return None
    m = START.search("".join(code[0]["source"]))
    return m.group(1) if m else None


NOTEBOOKS = toc_notebooks()
IDS = [_name(p) for p in NOTEBOOKS]


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=IDS)
def test_first_code_cell_starts_the_recorder_under_its_own_name(nb_path):
    name = _name(nb_path)
    if name in NO_RECORDER:
        assert "checks.start(" not in nb_path.read_text(encoding="utf-8"), name
        return
    assert started_name(nb_path) == name, (
        f"{name}: the first code cell must call checks.start({name!r}) "
        f"(found {started_name(nb_path)!r})")


def typed_numbers(nb_path):
    """Decimal numbers typed in markdown cells and not allow-listed: [(cell, number)]."""
    nb = _cells(nb_path)
    allowed = nb.get("metadata", {}).get("sslspec", {}).get("typed_numbers", {})
    found = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        text = GLUE.sub("", "".join(cell["source"]))
        found += [(i, n) for n in DECIMAL.findall(text) if n not in allowed]
    return found


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=IDS)
def test_no_typed_numbers_in_markdown(nb_path):
    typed = typed_numbers(nb_path)
    assert not typed, (
        f"{_name(nb_path)}: decimal numbers typed in markdown (cell, number): {typed}. Glue "
        "computed values ({glue:text}`name:.2f`); allow-list set-up constants in the "
        "notebook metadata sslspec.typed_numbers with a reason.")


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=IDS)
def test_allow_listed_numbers_have_reasons_and_occur(nb_path):
    nb = _cells(nb_path)
    allowed = nb.get("metadata", {}).get("sslspec", {}).get("typed_numbers", {})
    md = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    for number, reason in allowed.items():
        assert isinstance(reason, str) and len(reason.split()) >= 3, (number, reason)
        assert number in md, f"{_name(nb_path)}: {number} is allow-listed but not typed"


def test_the_typed_number_rule_bites():
    text = "a ratio of 0.54, a gap of 1e-3, {glue:text}`x:.2f` and 12 samples, v1.2.3"
    assert DECIMAL.findall(GLUE.sub("", text)) == ["0.54", "1e-3"]


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=IDS)
def test_glued_values_are_plain_python_literals(nb_path):
    """``{glue:text}`x:.2f``` formats the stored text/plain: it must be a plain literal.

    A NumPy scalar stores ``np.float64(0.5)``, which the strict build then fails to
    format (sslspec_lib.checks.glue converts them).
    """
    import ast

    bad = []
    for cell in _cells(nb_path)["cells"]:
        for out in cell.get("outputs", []):
            for key, value in out.get("data", {}).items():
                if key == "application/papermill.record/text/plain":
                    text = "".join(value)
                    try:
                        ast.literal_eval(text)
                    except (ValueError, SyntaxError):
                        bad.append(text[:60])
    assert not bad, f"{_name(nb_path)}: glued values that are not plain literals: {bad}"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=IDS)
def test_imports_cell_comes_before_the_first_section(nb_path):
    """The first code cell (imports, recorder) precedes the first `##` section, so that a
    reader meets the set-up once, before any result, in every chapter alike."""
    cells = _cells(nb_path)["cells"]
    first_code = next(i for i, c in enumerate(cells) if c["cell_type"] == "code")
    first_section = next((i for i, c in enumerate(cells) if c["cell_type"] == "markdown"
                          and any(line.startswith("## ")
                                  for line in "".join(c["source"]).splitlines())),
                         len(cells))
    assert first_code < first_section, (
        f"{_name(nb_path)}: the first code cell (#{first_code}) comes after the first "
        f"section heading (#{first_section})")
