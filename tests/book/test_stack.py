"""The tool stack is the one the book is written for, and its three descriptions agree.

pyproject.toml holds the ranges, environment.yml repeats them for conda users, and
constraints.txt pins what CI installs.
"""

import re
import subprocess
import sys
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from booktoc import ROOT

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


def _name(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _normalise(lines):
    """Requirement strings in one canonical spelling, as a set."""
    out = set()
    for line in lines:
        req = Requirement(line)
        extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
        marker = f"; {req.marker}" if req.marker else ""
        out.add(f"{_name(req.name)}{extras}{req.specifier}{marker}")
    return out


def _project():
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _pyproject_requirements():
    """Runtime dependencies plus every extra, the extras' self-reference left out."""
    project = _project()
    lines = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        lines += [r for r in extra if _name(Requirement(r).name) != _name(project["name"])]
    return _normalise(lines)


def _environment():
    return yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))


def _pip_section():
    sections = [d["pip"] for d in _environment()["dependencies"] if isinstance(d, dict)]
    assert len(sections) == 1, "environment.yml needs exactly one pip: section"
    return sections[0]


def _pins():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt must pin exactly (name==version): {line!r}"
            pins[_name(name)] = version
    return pins


def test_jupyter_book_is_version_1():
    exe = Path(sys.executable).parent / "jupyter-book"
    assert exe.exists(), f"jupyter-book is not installed next to {sys.executable}"
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True)
    first = out.stdout.splitlines()[0] if out.stdout else ""
    assert re.match(r"Jupyter Book\s+: 1\.", first), (
        "This book needs Jupyter Book 1 (Sphinx-based). Jupyter Book 2 is a different "
        f"program (myst.yml, no Sphinx extensions). `jupyter-book --version` says: {first!r}"
    )


def test_environment_yml_matches_pyproject():
    pip = _pip_section()
    env = _normalise(line for line in pip if not line.startswith("-"))
    ours = _pyproject_requirements()
    assert env == ours, (
        "environment.yml's pip section and pyproject.toml (dependencies + extras) differ.\n"
        f"Only in environment.yml: {sorted(env - ours)}\n"
        f"Only in pyproject.toml:  {sorted(ours - env)}"
    )
    assert "-c constraints.txt" in pip, "environment.yml must install with -c constraints.txt"
    assert "-e ." in pip, "environment.yml must install the project itself (-e .)"


def test_environment_yml_python_meets_requires_python():
    pythons = [
        d for d in _environment()["dependencies"]
        if isinstance(d, str) and re.match(r"python\b", d) and not d.startswith("python-")
    ]
    assert len(pythons) == 1, f"environment.yml must name python exactly once: {pythons}"
    version = pythons[0].partition("=")[2].lstrip("=")
    requires = _project()["requires-python"]
    assert version in SpecifierSet(requires), (
        f"environment.yml asks for python {version}; pyproject.toml requires {requires}"
    )


def test_constraints_pin_the_stack():
    pins = _pins()
    assert pins.get("torch") == "2.13.0", (
        "constraints.txt must pin torch==2.13.0 (any other release pulls the CUDA wheels)"
    )
    assert pins.get("jupyter-book", "").startswith("1."), "constraints.txt must pin jupyter-book 1.x"
    assert _name(_project()["name"]) not in pins, "constraints.txt must not pin the project itself"


def test_constraints_pin_every_requirement_within_its_range():
    pins = _pins()
    unpinned, outside = [], []
    for line in sorted(_pyproject_requirements()):
        req = Requirement(line)
        if req.marker and not req.marker.evaluate():
            continue  # not installed on this Python
        version = pins.get(_name(req.name))
        if version is None:
            unpinned.append(line)
        elif not req.specifier.contains(version, prereleases=True):
            outside.append(f"{line} (pinned {version})")
    assert not unpinned, f"constraints.txt does not pin: {unpinned}"
    assert not outside, f"constraints.txt pins versions outside pyproject.toml's ranges: {outside}"
