"""Unit tests of :mod:`sslspec_lib.checks` (the book's check recorder) and the seed derivation."""
import json
import math

import pytest
import torch

from sslspec_lib import checks, device


@pytest.fixture
def session(tmp_path, monkeypatch):
    monkeypatch.setenv(checks.DIR_VAR, str(tmp_path))
    monkeypatch.setenv(checks.RUN_VAR, "unit")
    monkeypatch.delenv(device.SEED_VAR, raising=False)
    s = checks.start("part9/example")
    yield s
    checks._session = None


def test_check_passes_prints_and_records(session, capsys):
    margin = checks.check("R3", "gap to the bound", 1e-9, 1e-7)
    assert margin == pytest.approx(100.0)
    assert capsys.readouterr().out == "[R3] gap to the bound: pass\n"
    (entry,) = checks.records("unit")
    assert entry["rid"] == "R3" and entry["notebook"] == "part9/example"
    assert entry["measured"] == pytest.approx(1e-9) and entry["tol"] == pytest.approx(1e-7)
    assert entry["sense"] == "below" and entry["passed"] and entry["run"] == "unit"
    assert entry["device"] == device.get().type and entry["dtype"] == "float64" and entry["base_seed"] == 0
    assert {"MKL_CBWR", "OMP_NUM_THREADS", "torch_threads", "cpu_capability"} <= set(
        entry["environment"])


def test_failed_check_raises_with_the_numbers_and_is_recorded(session, capsys):
    with pytest.raises(checks.CheckFailed, match=r"\[R10\] loss gap: measured 0\.002, "
                                                 r"required < 0\.001 \(margin 0\.5\)"):
        checks.check("R10", "loss gap", torch.tensor(2e-3, dtype=torch.float64), 1e-3)
    assert capsys.readouterr().out == ""
    (entry,) = checks.records("unit")
    assert not entry["passed"]


def test_lower_bound_checks_and_nan(session):
    assert checks.check("R3", "angle between runs", 1.5, 0.5, sense="above") == pytest.approx(3)
    with pytest.raises(checks.CheckFailed, match="required > 2"):
        checks.check("R3", "angle", 1.0, 2.0, sense="above")
    with pytest.raises(checks.CheckFailed):
        checks.check("R3", "nan error", float("nan"), 1.0)
    # an exactly zero error has an infinite margin, recorded as null
    assert math.isinf(checks.check("R3", "zero", 0.0, 1e-12, quiet=True))
    assert checks.records("unit")[-1]["margin"] is None


def test_check_true_for_symbolic_verdicts(session, capsys):
    assert checks.check_true("R1", "identity holds", True, kind="symbolic")
    assert capsys.readouterr().out == "[R1] identity holds: pass\n"
    with pytest.raises(checks.CheckFailed, match=r"\[R1\] wrong claim: does not hold"):
        checks.check_true("R1", "wrong claim", False)
    kinds = [e["kind"] for e in checks.records("unit")]
    assert kinds == ["symbolic", "claim"]


@pytest.mark.parametrize("args, match", [
    (("3", "x", 1.0, 2.0), "result id"),
    (("R3", "x", 1.0, 0.0), "positive and finite"),
    (("R3", "x", 1.0, float("inf")), "positive and finite"),
    (("R3", "x", torch.ones(2), 1.0), "must be a scalar"),
    (("R3", "x", "abc", 1.0), "real number"),
])
def test_bad_input(session, args, match):
    with pytest.raises(ValueError, match=match):
        checks.check(*args)


def test_bad_sense_and_notebook(session):
    with pytest.raises(ValueError, match="sense must be"):
        checks.check("R3", "x", 1.0, 2.0, sense="less")
    with pytest.raises(ValueError, match="without suffix"):
        checks.start("part1/ky_fan.ipynb")


def test_a_new_execution_replaces_the_record(session):
    checks.check("R3", "a", 1.0, 2.0, quiet=True)
    checks.start("part9/example")
    checks.check("R3", "b", 1.0, 2.0, quiet=True)
    assert [e["label"] for e in checks.records("unit")] == ["b"]


def test_no_book_root_means_no_record(tmp_path, monkeypatch):
    monkeypatch.delenv(checks.DIR_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    s = checks.start("part9/example")
    assert s.path is None
    checks.check("R3", "still asserts", 1.0, 2.0, quiet=True)
    with pytest.raises(checks.CheckFailed):
        checks.check("R3", "still asserts", 3.0, 2.0)
    checks._session = None


def test_derived_seeds(monkeypatch):
    monkeypatch.delenv(device.SEED_VAR, raising=False)
    assert device.base_seed() == 0
    seeds = [device.derive_seed(k) for k in range(50)]
    assert len(set(seeds)) == 50 and all(0 <= s < 2 ** 31 for s in seeds)
    assert device.derive_seed(3) == device.derive_seed(3, base=0)  # deterministic
    monkeypatch.setenv(device.SEED_VAR, "12345")
    assert device.base_seed() == 12345
    assert checks.seed(3) == device.derive_seed(3, base=12345) != seeds[3]
    for bad in ("x1", "-3"):
        monkeypatch.setenv(device.SEED_VAR, bad)
        with pytest.raises(ValueError, match="SSLSPEC_SEED"):
            device.base_seed()
    with pytest.raises(ValueError, match="'k' parameter of derive_seed"):
        device.derive_seed(-1, base=0)


def test_start_seeds_the_global_generators(tmp_path, monkeypatch):
    monkeypatch.setenv(checks.DIR_VAR, str(tmp_path))
    monkeypatch.setenv(device.SEED_VAR, "7")
    checks.start("part9/example")
    a = torch.rand(3)
    checks.start("part9/example")
    assert torch.equal(a, torch.rand(3))
    checks._session = None


def test_gap_records_an_approximate_result(session, capsys):
    assert checks.gap("R11", "loss ratio to the prediction", 0.54, above=0.1, below=0.9) == \
        pytest.approx(0.9 / 0.54)
    assert capsys.readouterr().out == "[R11] loss ratio to the prediction: pass\n"
    with pytest.raises(checks.CheckFailed, match="outside"):
        checks.gap("R11", "not a gap", 1e-9, above=1e-3)
    with pytest.raises(ValueError, match="give 'above'"):
        checks.gap("R11", "x", 1.0)
    assert [e["kind"] for e in checks.records("unit")] == ["gap", "gap"]


def test_ledger_status_and_tables(session):
    assert checks.result_status([]) == "open"
    checks.check("R3", "exact value", 1e-12, 1e-9, quiet=True)
    checks.check_true("R3", "identity", True, quiet=True)
    checks.gap("R11", "loss ratio", 0.54, above=0.1, below=0.9, quiet=True)
    rec = checks.records("unit")
    assert checks.result_status([e for e in rec if e["rid"] == "R3"]) == "exact"
    assert checks.result_status([e for e in rec if e["rid"] == "R11"]) == \
        "approximate: loss ratio = 0.54"
    assert checks.result_status([{**rec[0], "passed": False}]) == "failed"
    summary = checks.ledger_summary("unit")
    assert "Run `unit`: 3 checks recorded" in summary
    assert "| R3 |" in summary and "| exact | 2 | 1e+03 |" in summary
    assert "| R18 |" in summary and "| open | 0 | — |" in summary
    table = checks.ledger_checks("unit")
    assert "| R3 | `part9/example` | exact value | 1e-12 | < 1e-09 | 1e+03 |  |" in table
    assert "| identity | claim | holds |" in table and "(0.1, 0.9)" in table
    assert "No check is recorded for run `nothing`" in checks.ledger_summary("nothing")


def test_verdicts_of_empirical_claims(session, capsys):
    checks.check("R17", "VICReg above spectral contrastive", 20.0, 1.0, sense="above",
                 quiet=True)
    checks.verdict("R17", "alpha < alpha*, K = d", "holds under stated conditions")
    assert capsys.readouterr().out == \
        "[R17] alpha < alpha*, K = d: holds under stated conditions\n"
    rec = checks.records("unit")
    assert checks.result_status(rec) == \
        "verdict: holds under stated conditions (alpha < alpha*, K = d)"
    assert "| verdict | holds under stated conditions |" in checks.ledger_checks("unit")
    with pytest.raises(ValueError, match="outcome must be one of"):
        checks.verdict("R17", "x", "mostly holds")


def test_returned_values_are_not_displayed_as_a_cells_output(session):
    # A margin differs in its last digits between machines: as a cell's displayed value
    # it would make nbval's comparison device-dependent.
    m = checks.check("R3", "a", 1e-9, 1e-7, quiet=True)
    h = checks.check_true("R3", "b", True, quiet=True)
    o = checks.verdict("R17", "c", "holds", quiet=True)
    g = checks.gap("R11", "d", 0.5, above=0.1, quiet=True)
    assert m == pytest.approx(100.0) and float(g) == pytest.approx(5.0)
    assert h and repr(h) == "True" and o == "holds"
    for value in (m, h, o, g):
        assert value._ipython_display_() is None  # IPython displays nothing


def test_glue_converts_numpy_and_torch_scalars(monkeypatch):
    import numpy as np
    seen = {}
    monkeypatch.setattr("myst_nb.glue", lambda name, value, display: seen.update({name: value}))
    checks.glue("a", np.float64(0.5))
    checks.glue("b", torch.tensor(2.0, dtype=torch.float64))
    checks.glue("c", np.int64(3))
    assert type(seen["a"]) is float and type(seen["b"]) is float and type(seen["c"]) is int
