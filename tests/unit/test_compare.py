"""Unit tests of :mod:`sslspec_lib.compare` (the Part II comparison page's tables)."""
import dataclasses
import importlib

import pytest

from sslspec_lib import checks, compare, device


def test_every_named_library_function_exists():
    for m in compare.METHODS:
        names = [m.loss] + [n.split(" ")[0] for n in m.closed_z.split(", ")]
        names += [] if m.closed_w == "none" else [m.closed_w.split(" ")[0]]
        for name in names:
            name = name if "." in name else "closed_form." + name
            mod, attr = name.rsplit(".", 1)
            assert hasattr(importlib.import_module(f"sslspec_lib.{mod}"), attr), name
        assert m.locality in ("local", "global")
        assert all(r.startswith("R") for r in m.rids)


def test_rank_table_matches_the_theorems():
    t = compare.rank_table(4, 3)
    assert set(t["computed"]) == {m.name for m in compare.METHODS
                                  if m.compute is not None}
    for name, comp in t["computed"].items():
        for c, p in zip(comp, t["predicted"][name]):
            assert p is None or c == p, (name, comp, t["predicted"][name])
    # dimensional collapse: the global methods stop at N' or N' - 1 whatever K
    assert t["computed"]["spectral contrastive"][-1] == 4
    assert "| method | K = 1 |" in t["markdown"]


def test_a_wrong_rank_formula_shows_in_the_table(monkeypatch):
    wrong = tuple(dataclasses.replace(m, rank=lambda K, n, V: K) if m.compute else m
                  for m in compare.METHODS)
    monkeypatch.setattr(compare, "METHODS", wrong)
    t = compare.rank_table(4, 3)
    assert "(predicted 8)" in t["markdown"]


def test_rank_table_bad_arguments():
    with pytest.raises(ValueError, match=r"'n_groups' parameter of rank_table"):
        compare.rank_table(1, 3)
    with pytest.raises(ValueError, match=r"'K' parameter of rank_table must be an int in "
                                         r"the range \[1, 11\]"):
        compare.rank_table(4, 3, Ks=(12,))


def test_training_table_reads_the_record(tmp_path, monkeypatch):
    monkeypatch.setenv(checks.DIR_VAR, str(tmp_path))
    monkeypatch.setenv(checks.RUN_VAR, "unit")
    monkeypatch.delenv(device.SEED_VAR, raising=False)
    empty = compare.training_table("unit")
    assert empty.count("not recorded in this run") == len(compare.METHODS)
    checks.start("part2_ssl/contrastive")
    try:
        checks.check("R12", "tau = 0.5, K = 3: loss gap to l*_tau, 2 starts", 1e-15, 1e-13)
        checks.check("R12", "tau = 1.0, K = 3: loss gap to l*_tau, 2 starts", 1e-14, 1e-13)
        checks.check("R12", "an unrelated check", 1e-14, 1e-13)
    finally:
        checks._session = None
    table = compare.training_table("unit")
    row = next(r for r in table.splitlines() if r.startswith("| SimCLR"))
    assert "tau = 1.0" in row and row.rstrip().endswith("| 2 |")  # smallest margin, 2 hits


def test_training_table_takes_only_trained_checks_of_the_method_chapter(tmp_path,
                                                                         monkeypatch):
    monkeypatch.setenv(checks.DIR_VAR, str(tmp_path))
    monkeypatch.setenv(checks.RUN_VAR, "unit")
    monkeypatch.delenv(device.SEED_VAR, raising=False)
    assert {m.notebook for m in compare.METHODS} >= {
        "vicreg", "vicreg_hinge", "contrastive", "nnclr", "barlow_twins",
        "barlow_twins_reference"}
    checks.start("part2_ssl/infonce_general")  # same R-id and label, another chapter
    try:
        checks.check("R12", "tau = 0.5, K = 3: loss gap to l*_tau", 1e-15, 1e-13)
    finally:
        checks._session = None
    checks.start("part2_ssl/barlow_twins")
    try:  # a closed form evaluated, not trained: must not be the training row
        checks.check("R14", "construction: |loss - l*|, K = 6", 1e-16, 1e-12)
    finally:
        checks._session = None
    checks.start("part2_ssl/barlow_twins_reference")
    try:  # the reference form's trained check is not the pooled form's row
        checks.check("R14", "trained: |loss - l*|, K = 6", 1e-15, 1e-13)
    finally:
        checks._session = None
    table = compare.training_table("unit").splitlines()
    rows = {r.split(" | ")[0][2:]: r for r in table if r.startswith("| ")}
    assert "not recorded" in rows["SimCLR / InfoNCE (any tau)"]
    assert "not recorded" in rows["Barlow Twins (lambda = 0.0051)"]
    ref = next(v for k, v in rows.items() if k.startswith("Barlow Twins, reference"))
    assert r"trained: \|loss - l\*\|" in ref and ref.rstrip().endswith("| 1 |")
    # every row has the header's number of cells: labels and texts are escaped
    assert all(r.replace(r"\|", "").count("|") == table[0].count("|") for r in table)
    methods = compare.methods_table().splitlines()
    assert all(r.replace(r"\|", "").count("|") == methods[0].count("|") for r in methods)
