"""Order of the book checks: the strict build renders what nbval has just checked, so it runs last."""

from pathlib import Path

import pytest


def pytest_collection_modifyitems(config, items):
    # The notebooks executed in this session, for test_checks_record.py.
    config.sslspec_notebooks = {Path(str(item.fspath)).resolve() for item in items
                                if str(item.fspath).endswith(".ipynb")}
    # Stable sort: everything else keeps its order, `build_last` tests move to the end.
    items.sort(key=lambda item: item.get_closest_marker("build_last") is not None)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "build_last: runs after every other test (tests/book/test_build.py)"
    )
