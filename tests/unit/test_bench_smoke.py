"""``make bench`` at a tiny size: the script runs and writes both files (no timing asserted)."""
import json
import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_quick_writes_results(tmp_path, monkeypatch):
    mod = runpy.run_path(str(ROOT / "bench" / "run.py"), run_name="bench")
    mod["main"](["--quick", "--out", str(tmp_path)])
    res = json.loads((tmp_path / "results.json").read_text())
    assert res["mode"] == "quick" and res["rows"]
    tasks = {r["task"] for r in res["rows"]}
    assert {"graph", "eigen", "cliques", "global", "gradient"} <= tasks
    for r in res["rows"]:
        if r.get("subspace_gap") is not None and r["impl"] == "sslspec":
            assert r["subspace_gap"] < 1e-6, r  # the library's result, not a timing
    assert "| dataset |" in (tmp_path / "results.md").read_text()
