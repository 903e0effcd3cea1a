"""The table of contents and the chapter files agree."""

from booktoc import ROOT, resolve, toc_entries

CHAPTERS = ROOT / "chapters"


def test_every_toc_entry_exists():
    missing = [entry for entry in toc_entries() if resolve(entry) is None]
    assert not missing, f"_toc.yml lists files that do not exist (.ipynb or .md): {missing}"


def test_toc_has_no_duplicates():
    entries = toc_entries()
    duplicates = sorted({e for e in entries if entries.count(e) > 1})
    assert not duplicates, f"_toc.yml lists these files more than once: {duplicates}"


def test_every_chapter_is_in_the_toc():
    listed = {resolve(entry) for entry in toc_entries()}
    sources = [
        p
        for pattern in ("*.ipynb", "*.md")
        for p in CHAPTERS.rglob(pattern)
        if ".ipynb_checkpoints" not in p.parts
    ]
    unlisted = sorted(str(p.relative_to(ROOT)) for p in sources if p not in listed)
    assert not unlisted, (
        "these chapter files are not in _toc.yml, so they are neither built nor "
        f"tested: {unlisted}"
    )
