"""The book's verdicts, as the check recorder wrote them while the notebooks executed.

Runs after the notebooks of the same pytest session (``build_last``): ``make test`` (run
``nbval``, the default seed) and each run of ``make robust``. Without ``--nbval`` /
``--nbval-lax`` in the session no notebook ran, so there is no record to read, and the
test says so (skip) rather than read a stale one.

* every notebook that starts the recorder recorded at least one check, and all passed;
* every result that has a chapter in the registry has at least one passing check;
* under ``make test`` (default seed): every margin is at least ``checks.MIN_MARGIN``, or the
  check says why it cannot be (``low_margin``).
"""

import os

import pytest

from booktoc import toc_notebooks
from sslspec_lib import checks
from sslspec_lib._registry import RESULTS
from test_notebook_checks import started_name


@pytest.fixture(scope="module")
def run(request):
    opt = request.config.option
    if not (getattr(opt, "nbval", False) or getattr(opt, "nbval_lax", False)):
        pytest.skip("no notebook executed in this session (run with --nbval over the book, "
                    "as `make test` and `make robust` do)")
    return os.environ.get(checks.RUN_VAR, "").strip() or "interactive"


@pytest.fixture(scope="module")
def record(run):
    return checks.records(run)


@pytest.fixture(scope="module")
def executed(request):
    """The notebooks collected in this session (set by tests/book/conftest.py)."""
    return getattr(request.config, "sslspec_notebooks", set())


@pytest.mark.build_last
def test_every_started_notebook_recorded_passing_checks(run, record, executed):
    missing, failed = [], []
    for nb in toc_notebooks():
        name = started_name(nb)
        if name is None or nb not in executed:
            continue
        mine = [e for e in record if e["notebook"] == name]
        if not mine:
            missing.append(name)
        failed += [f"{name}: [{e['rid']}] {e['label']}" for e in mine if not e["passed"]]
    assert not missing, f"run {run!r}: these notebooks recorded no check: {missing}"
    assert not failed, f"run {run!r}: failed checks: {failed}"


@pytest.mark.build_last
def test_every_result_with_a_chapter_has_a_passing_check(run, record, executed):
    if not set(toc_notebooks()) <= executed:
        pytest.skip("only part of the book executed in this session")
    missing = [rid for rid, entry in RESULTS.items()
               if entry["chapter"] and not any(e["rid"] == rid and e["passed"] for e in record)]
    assert not missing, (f"run {run!r}: these results have a chapter but no passing recorded "
                         f"check: {missing}")


@pytest.mark.build_last
def test_margins_are_at_least_ten_or_explained(run, record):
    if run != "nbval":
        pytest.skip("margins are required on the stored outputs' run (make test), not under "
                    "other seeds")
    low = [f"{e['notebook']}: [{e['rid']}] {e['label']} (margin {e['margin']:.3g})"
           for e in record
           if e["margin"] is not None and e["margin"] < checks.MIN_MARGIN
           and not e.get("low_margin")]
    assert not low, ("checks with a margin below 10 and no stated reason (pass "
                     f"low_margin='why' to checks.check): {low}")
