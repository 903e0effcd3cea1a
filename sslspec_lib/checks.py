"""The check recorder: every numerical and symbolic verdict of the book goes through here.

A chapter starts with :func:`start` and states each verdict with :func:`check`
(a measured quantity against a tolerance) or :func:`check_true` (a symbolic
identity or a yes/no claim).  Each call

1. **asserts**: a failed check raises :class:`CheckFailed` whose message names
   the result id, the measured value, the tolerance and the margin;
2. **prints one short verdict line** (result id, label, ``pass``) that does not
   depend on the device, the thread count or the instruction set, so nbval
   can compare it everywhere;
3. **records** the check as one JSON line under ``_build/checks/<run>/`` with
   the result id, notebook, label, measured value, tolerance, sense, margin,
   device, dtype, numerical environment and seed.  The run is named by
   ``$SSLSPEC_RUN`` (``nbval`` under ``make test``, ``book`` under
   ``make book``, ``robust-...`` under ``make robust``, ``interactive``
   otherwise).  The book's ledger and the test suite read these records.

**Margin.**  For a check ``measured < tolerance`` the margin is
``tolerance / measured``; for a lower-bound check ``measured > threshold`` it
is ``measured / threshold``.  The book asks for a margin of at least
:data:`MIN_MARGIN` on the machine that stores the outputs; a check that cannot
have it while still catching a wrong closed form says why
(``low_margin=...``), and the test suite fails on an unexplained low margin.
The margin is never part of the printed verdict: it varies between machines.

Numbers that a chapter's prose quotes go through :func:`glue` (myst-nb's
``glue``), so the text is computed, never typed.
"""
from __future__ import annotations

import json
import math
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import device as _device

__all__ = ["OUTCOMES", "CheckFailed", "Margin", "Holds", "Outcome", "Session", "start", "seed", "check", "check_true", "gap", "verdict",
           "glue",
           "records", "record_dir", "result_status", "ledger_summary", "ledger_checks",
           "current_run", "MIN_MARGIN", "RUN_VAR"]

#: Smallest margin (tolerance over measured error) a check should have here.
MIN_MARGIN = 10.0
#: Environment variable naming the run whose record is written.
RUN_VAR = "SSLSPEC_RUN"
#: Environment variable overriding where records are written.
DIR_VAR = "SSLSPEC_CHECKS_DIR"

_SENSES = ("below", "above")


class CheckFailed(AssertionError):
    """A verdict of the book does not hold."""


# The values the recorder returns are not displayed when a notebook cell ends with a
# check: a margin differs in its last digits between machines, so as a cell's output
# it would make nbval's comparison device-dependent. The printed verdict line is the
# compared output.
class Margin(float):
    """A check's margin (a float); IPython does not display it as a cell's value."""

    def _ipython_display_(self) -> None:
        pass


class Holds(int):
    """The truth value returned by :func:`check_true` (truthy; not displayed)."""

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return "True"

    def _ipython_display_(self) -> None:
        pass


class Outcome(str):
    """The outcome returned by :func:`verdict` (a str; not displayed)."""

    def _ipython_display_(self) -> None:
        pass


@dataclass
class Session:
    """The state of one executing notebook (see :func:`start`).

    Attributes
    ----------
    notebook : str
        Path of the notebook below ``chapters/``, without suffix.
    device : torch.device
        The device of ``$SSLSPEC_DEVICE``.
    base_seed : int
        ``$SSLSPEC_SEED`` (0 by default).
    run : str
        ``$SSLSPEC_RUN`` (``interactive`` by default).
    path : Path or None
        File receiving the records (None when no book root is found).
    """

    notebook: str
    device: torch.device
    base_seed: int
    run: str
    path: Path | None


_session: Session | None = None


def _book_root(start_dir: Path) -> Path | None:
    for d in (start_dir, *start_dir.parents):
        if (d / "_toc.yml").is_file() and (d / "sslspec_lib").is_dir():
            return d
    return None


def record_dir(run: str | None = None) -> Path | None:
    """Folder holding the records of ``run`` (default: this process's run).

    ``$SSLSPEC_CHECKS_DIR/<run>`` if that variable is set, otherwise
    ``<book root>/_build/checks/<run>`` where the book root is the first
    folder above the working directory holding ``_toc.yml`` and
    ``sslspec_lib``; None if there is none (the library used elsewhere).
    """
    run = run or current_run()
    if os.sep in run or run.startswith("."):
        raise ValueError(f"{RUN_VAR}={run!r} must be a plain name (no path separator).")
    base = os.environ.get(DIR_VAR, "").strip()
    if base:
        return Path(base) / run
    root = _book_root(Path.cwd().resolve())
    return None if root is None else root / "_build" / "checks" / run


def current_run() -> str:
    """The run named by ``$SSLSPEC_RUN`` (``interactive`` when unset)."""
    return os.environ.get(RUN_VAR, "").strip() or "interactive"


def _slug(notebook: str) -> str:
    return notebook.replace("/", "__")


def start(notebook: str) -> Session:
    """Begin a notebook: pick the device, seed every generator, open its record.

    Parameters
    ----------
    notebook : str
        The notebook's path below ``chapters/`` without suffix, e.g.
        ``"part1_spectral/ky_fan"`` (a book test checks that it matches).

    Returns
    -------
    Session
        With the ``device`` to compute on and the ``base_seed``.  Python's,
        NumPy's and torch's global generators are seeded with
        ``seed(0)``; explicit starts should still use :func:`seed`.
    """
    global _session
    if not isinstance(notebook, str) or not notebook.strip() or notebook.endswith(".ipynb"):
        raise ValueError("The 'notebook' parameter of start must be the notebook's path below "
                         f"chapters/ without suffix, e.g. 'part1_spectral/ky_fan'. Got {notebook!r}.")
    dev = _device.get()
    base = _device.base_seed()
    run = current_run()
    folder = record_dir(run)
    path = None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{_slug(notebook)}.jsonl"
        path.write_text("", encoding="utf-8")  # this execution replaces the last one
    _device.seed_all(_device.derive_seed(0, base))
    _session = Session(notebook=notebook, device=dev, base_seed=base, run=run, path=path)
    return _session


def seed(k: int) -> int:
    """Seed number ``k`` of the current notebook, derived from ``$SSLSPEC_SEED``.

    Same as :func:`sslspec_lib.device.derive_seed`; use it for every random
    start, sample and split so that one variable re-draws all of them.
    """
    return _device.derive_seed(k)


def environment() -> dict[str, Any]:
    """The numerical environment recorded with each check."""
    try:
        capability = torch.backends.cpu.get_cpu_capability()
    except Exception:  # pragma: no cover - very old torch
        capability = "unknown"
    return {
        "MKL_CBWR": os.environ.get("MKL_CBWR", ""),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", ""),
        "torch_threads": torch.get_num_threads(),
        "cpu_capability": capability,
        "machine": platform.machine(),
        "torch": torch.__version__,
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def _as_float(value: Any, name: str, rid: str) -> float:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"check {rid}: {name} must be a scalar, got a tensor of shape "
                             f"{tuple(value.shape)}.")
        value = value.item()
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"check {rid}: {name} must be a real number, got {value!r}.") from None
    return out


def _check_rid(rid: str) -> str:
    if not isinstance(rid, str) or not rid.startswith("R") or not rid[1:].isdigit():
        raise ValueError(f"A check must name its result id ('R1' ... 'R18'). Got {rid!r}.")
    return rid


def _write(entry: dict[str, Any]) -> None:
    if _session is None or _session.path is None:
        return
    with _session.path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, sort_keys=True) + "\n")


def _entry(rid: str, label: str, kind: str, **fields: Any) -> dict[str, Any]:
    s = _session
    return {
        "rid": rid, "label": label, "kind": kind,
        "notebook": s.notebook if s else None,
        "run": s.run if s else None,
        "device": str(s.device) if s else str(_device.get()),
        "base_seed": s.base_seed if s else _device.base_seed(),
        "environment": environment(),
        **fields,
    }


def check(rid: str, label: str, measured: Any, tol: Any, *, sense: str = "below",
          dtype: str = "float64", low_margin: str | None = None,
          quiet: bool = False) -> float:
    """Assert ``measured < tol`` (or ``measured > tol``), print and record it.

    Parameters
    ----------
    rid : str
        The result id (``"R3"``) the check belongs to.
    label : str
        What is measured, in words (shown in the verdict line and the ledger).
    measured : float or scalar tensor
        The measured error (``sense="below"``) or the measured quantity that
        must exceed a threshold (``sense="above"``).  NaN always fails.
    tol : float
        The tolerance (or threshold), derived from the problem.
    sense : {"below", "above"}
    dtype : str
        Precision the quantity was computed in (recorded).
    low_margin : str, optional
        Why a margin below :data:`MIN_MARGIN` is unavoidable here (recorded;
        without it the test suite fails on such a margin).
    quiet : bool
        Record and assert without printing (for checks inside a loop whose
        summary is printed once).

    Returns
    -------
    Margin
        A float, the margin: ``tol / measured`` (below) or ``measured / tol``
        (above); ``inf`` for a measured error of exactly 0.  Not displayed
        when it is a cell's last value (it varies between machines).

    Raises
    ------
    CheckFailed
        If the check does not hold.
    """
    rid = _check_rid(rid)
    if sense not in _SENSES:
        raise ValueError(f"check {rid}: sense must be 'below' or 'above', got {sense!r}.")
    m = _as_float(measured, "measured", rid)
    t = _as_float(tol, "tol", rid)
    if not math.isfinite(t) or t <= 0:
        raise ValueError(f"check {rid} ({label}): the tolerance must be positive and finite, "
                         f"got {t!r}.")
    if sense == "below":
        m = abs(m)
        ok = m < t
        margin = math.inf if m == 0 else t / m
    else:
        ok = m > t
        margin = m / t
    if math.isnan(m):
        ok, margin = False, float("nan")
    _write(_entry(rid, label, "numeric", measured=m, tol=t, sense=sense, passed=ok,
                  margin=None if math.isinf(margin) else margin, dtype=dtype,
                  low_margin=low_margin))
    if not ok:
        rel = "<" if sense == "below" else ">"
        raise CheckFailed(f"[{rid}] {label}: measured {m:.6g}, required {rel} {t:.6g} "
                          f"(margin {margin:.3g}).")
    if not quiet:
        print(f"[{rid}] {label}: pass")
    return Margin(margin)


def check_true(rid: str, label: str, condition: Any, *, kind: str = "claim",
               quiet: bool = False) -> bool:
    """Assert a yes/no verdict (a symbolic identity, a structural claim), print and record it.

    Parameters
    ----------
    rid : str
        The result id.
    label : str
        The claim, in words, stated so that it must be true.
    condition : bool
        Its truth value (e.g. the result of
        :func:`sslspec_lib.symbolic.assert_identity`).
    kind : {"claim", "symbolic"}
        Recorded, for the ledger.

    Raises
    ------
    CheckFailed
        If ``condition`` is false.
    """
    rid = _check_rid(rid)
    if kind not in ("claim", "symbolic"):
        raise ValueError(f"check_true {rid}: kind must be 'claim' or 'symbolic', got {kind!r}.")
    if isinstance(condition, torch.Tensor):
        condition = bool(condition.all())
    ok = bool(condition)
    _write(_entry(rid, label, kind, measured=None, tol=None, sense="true", passed=ok,
                  margin=None, dtype=None, low_margin=None))
    if not ok:
        raise CheckFailed(f"[{rid}] {label}: does not hold.")
    if not quiet:
        print(f"[{rid}] {label}: pass")
    return Holds(1)


def gap(rid: str, label: str, measured: Any, *, above: float | None = None,
        below: float | None = None, dtype: str = "float64", low_margin: str | None = None,
        quiet: bool = False) -> float:
    """Record a measured gap between a claim and what holds, asserting its range.

    For results that hold only approximately (or under conditions): the
    measured gap (a loss ratio, a distance to the prediction) is asserted to
    lie in ``(above, below)`` -- ``above`` shows the gap is real (the claim
    is *not* exact), ``below`` bounds it -- and recorded with
    ``kind="gap"``, so the ledger calls the result *approximate* and shows
    the gap.

    Returns
    -------
    float
        The margin: the smaller of ``measured / above`` and
        ``below / measured`` (for the bounds given).

    Raises
    ------
    CheckFailed
        If the gap is outside its range.
    ValueError
        If neither bound is given.
    """
    rid = _check_rid(rid)
    if above is None and below is None:
        raise ValueError(f"gap {rid} ({label}): give 'above' and/or 'below': a measured gap "
                         "is asserted to lie in a range.")
    m = _as_float(measured, "measured", rid)
    margins = []
    ok = not math.isnan(m)
    if above is not None:
        a = _as_float(above, "above", rid)
        ok = ok and m > a
        margins.append(m / a if a > 0 else math.inf)
    if below is not None:
        b = _as_float(below, "below", rid)
        ok = ok and m < b
        margins.append(b / m if m > 0 else math.inf)
    margin = min(margins)
    _write(_entry(rid, label, "gap", measured=m, tol=None, sense="interval", passed=ok,
                  above=above, below=below,
                  margin=None if math.isinf(margin) else margin, dtype=dtype,
                  low_margin=low_margin))
    if not ok:
        raise CheckFailed(f"[{rid}] {label}: measured gap {m:.6g} outside "
                          f"({above}, {below}).")
    if not quiet:
        print(f"[{rid}] {label}: pass")
    return Margin(margin)


#: The outcomes a verdict on an empirical claim can have.
OUTCOMES = ("holds", "holds under stated conditions", "does not hold here")


def verdict(rid: str, label: str, outcome: str, *, quiet: bool = False) -> str:
    """Record the verdict on an empirical claim of the paper, after its checks.

    For results that are claims about downstream behaviour rather than
    identities (R16–R18): the chapter states the experiment, asserts each
    measured comparison with :func:`check`, and then records its conclusion,
    one of :data:`OUTCOMES`, with the conditions in ``label``.  The ledger
    shows the verdict as the result's status.  Prints
    ``[R17] <label>: <outcome>``.

    Raises
    ------
    ValueError
        If ``outcome`` is not one of :data:`OUTCOMES`.
    """
    rid = _check_rid(rid)
    if outcome not in OUTCOMES:
        raise ValueError(f"verdict {rid}: outcome must be one of {OUTCOMES}, got {outcome!r}.")
    _write(_entry(rid, label, "verdict", measured=None, tol=None, sense=outcome, passed=True,
                  margin=None, dtype=None, low_margin=None))
    if not quiet:
        print(f"[{rid}] {label}: {outcome}")
    return Outcome(outcome)


def glue(name: str, value: Any) -> None:
    """Glue a computed value for the prose (myst-nb ``glue`` without display).

    Refer to it in markdown as ``{glue:text}`name:.2f```.  Tensors and NumPy
    scalars are converted to Python numbers.  The glued output is not compared by nbval
    (``chapters/conftest.py``): the prose shows this machine's value, the
    verdicts say what must hold everywhere.
    """
    from myst_nb import glue as _glue

    if isinstance(value, torch.Tensor):
        value = value.item() if value.numel() == 1 else value.tolist()
    elif isinstance(value, np.generic):
        # NumPy scalars repr as "np.float64(...)", which {glue:text} cannot format.
        value = value.item()
    _glue(name, value, display=False)


def records(run: str) -> list[dict[str, Any]]:
    """Every check recorded for ``run`` (all notebooks), in file order."""
    folder = record_dir(run)
    out: list[dict[str, Any]] = []
    if folder is None or not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line))
    return out


# -- the ledger ---------------------------------------------------------------------------

def _fmt(x: float | None, spec: str = ".2g") -> str:
    return "—" if x is None else format(x, spec)


def result_status(entries: list[dict[str, Any]]) -> str:
    """Status of one result from its recorded checks.

    ``"open"`` (nothing recorded), ``"failed"`` (a check failed),
    ``"verdict: <outcome> (<conditions>)"`` (an empirical claim, see
    :func:`verdict`), ``"approximate: <gap> = <value>; ..."`` (every check
    passed and some record a gap, see :func:`gap`) or ``"exact"``.
    """
    if not entries:
        return "open"
    if not all(e["passed"] for e in entries):
        return "failed"
    verdicts = [e for e in entries if e["kind"] == "verdict"]
    if verdicts:
        return "verdict: " + "; ".join(f"{e['sense']} ({e['label']})" for e in verdicts)
    gaps = [e for e in entries if e["kind"] == "gap"]
    if gaps:
        return "approximate: " + "; ".join(f"{e['label']} = {e['measured']:.3g}" for e in gaps)
    return "exact"


def ledger_summary(run: str) -> str:
    """Markdown: the run's environment and one row per result R1–R18 (the book's ledger)."""
    from ._registry import RESULTS

    record = records(run)
    if not record:
        head = (f"No check is recorded for run `{run}`: execute the chapters first "
                "(`make book` or `make test` do).")
    else:
        env = record[0]["environment"]
        head = (f"Run `{run}`: {len(record)} checks recorded, device `{record[0]['device']}`, "
                f"base seed {record[0]['base_seed']}, CPU path `{env.get('cpu_capability')}`, "
                f"`MKL_CBWR={env.get('MKL_CBWR') or 'unset'}`, {env.get('torch_threads')} "
                f"thread(s), torch {env.get('torch')}.")
    rows = ["| Id | Result | Chapter | Status | Checks | Smallest margin |",
            "|---|---|---|---|---|---|"]
    for rid, entry in RESULTS.items():
        recs = [e for e in record if e["rid"] == rid]
        chapter = f"{{ref}}`{entry['chapter']}`" if entry["chapter"] else "—"
        status = result_status(recs)
        if status == "failed":
            status = "**failed**"
        margins = [e["margin"] for e in recs if e["margin"] is not None]
        smallest = _fmt(min(margins)) if margins else "—"
        rows.append(f"| {rid} | {entry['title']} | {chapter} | {status} | {len(recs)} "
                    f"| {smallest} |")
    return head + "\n\n" + "\n".join(rows)


def ledger_checks(run: str) -> str:
    """Markdown: every check of the run with measured value, tolerance, margin and note."""
    lines = ["| Id | Chapter | Check | Measured | Tolerance | Margin | Note |",
             "|---|---|---|---|---|---|---|"]
    for e in sorted(records(run), key=lambda e: (int(e["rid"][1:]), e["notebook"] or "")):
        if e["kind"] == "verdict":
            measured, tol = "verdict", e["sense"]
        elif e["kind"] in ("symbolic", "claim"):
            measured, tol = e["kind"], "holds"
        elif e["kind"] == "gap":
            measured = f"{e['measured']:.3g}"
            tol = f"({_fmt(e.get('above'))}, {_fmt(e.get('below'))})"
        else:
            measured = f"{e['measured']:.2g}"
            tol = ("< " if e["sense"] == "below" else "> ") + f"{e['tol']:.2g}"
        label = e["label"].replace("|", "/")
        note = (e.get("low_margin") or "").replace("|", "/")
        lines.append(f"| {e['rid']} | `{e['notebook']}` | {label} | {measured} | {tol} "
                     f"| {_fmt(e['margin'])} | {note} |")
    return "\n".join(lines)
