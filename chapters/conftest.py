"""nbval settings for the chapters (pytest reads this file for every notebook below it).

Values glued for the prose (``sslspec_lib.checks.glue``, i.e. myst-nb ``glue`` with
``display=False``) are stored as ``application/papermill.record/*`` outputs. They are this
machine's numbers, quoted by the text; the verdicts printed by the check recorder are what
must hold everywhere. So nbval compares every output except those glue records.
"""

GLUE_PREFIX = "application/papermill.record/"


class _SkipGlue(tuple):
    """nbval's tuple of skipped output keys, extended to every glue record key."""

    def __contains__(self, key):
        return tuple.__contains__(self, key) or str(key).startswith(GLUE_PREFIX)


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        parent = getattr(item, "parent", None)
        skip = getattr(parent, "skip_compare", None)
        if skip is not None and not isinstance(skip, _SkipGlue):
            parent.skip_compare = _SkipGlue(skip)
