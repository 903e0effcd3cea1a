"""Theorem-like blocks are written the same way everywhere.

Sphinx labels are global to the book, so a generic label (`theorem1`) collides sooner
or later. Every `{prf:...}` label carries its kind as a prefix (`thm-vicreg-smooth-optimum`),
every directive name is lower case, and every theorem names the result of the paper it
proves (R1-R18, see the ledger), so that a reader and the ledger can find it.
"""

import json
import re
from dataclasses import dataclass, field

import pytest

from booktoc import ROOT

CHAPTERS = ROOT / "chapters"

# Kind of block -> the label prefix it must use.
PREFIX_OF_KIND = {
    "theorem": "thm-",
    "lemma": "lem-",
    "proposition": "prop-",
    "corollary": "cor-",
    "definition": "def-",
    "assumption": "asm-",
    "example": "ex-",
    "remark": "rem-",
    "algorithm": "alg-",
}
ALLOWED_PREFIXES = ("thm-", "lem-", "prop-", "cor-", "def-", "asm-", "eq-", "fig-", "ex-", "rem-", "alg-")
# Every block needs a label: results are referred to by label, and sphinx-proof
# gives an unlabelled block an automatic one (`remark-1`) that collides across pages.
NEED_LABEL = set(PREFIX_OF_KIND)
LABEL_RE = re.compile(r"^[a-z][a-z0-9]*-[a-z0-9]+(?:-[a-z0-9]+)*$")
R_ID_RE = re.compile(r"\bR\d+\b")
OPEN_RE = re.compile(r"^\s*(?P<fence>`{3,}|:{3,})\{(?P<name>prf:[^}]*)\}\s*(?P<title>.*)$", re.IGNORECASE)
OPTION_RE = re.compile(r"^\s*:(?P<key>[\w-]+):\s*(?P<value>.*)$")


@dataclass
class Block:
    where: str
    name: str
    title: str
    options: dict = field(default_factory=dict)
    first_line: str = ""

    @property
    def kind(self):
        return self.name.split(":", 1)[1]


def _markdown_sources():
    for path in sorted(CHAPTERS.rglob("*.md")):
        if ".ipynb_checkpoints" not in path.parts:
            yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")
    for path in sorted(CHAPTERS.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for i, cell in enumerate(cells):
            if cell["cell_type"] == "markdown":
                source = cell["source"]
                text = "".join(source) if isinstance(source, list) else source
                yield f"{path.relative_to(ROOT)} (cell {i})", text


def parse_blocks(where, text):
    """Every `{prf:...}` directive of a MyST text, with its options and first body line."""
    lines = text.splitlines()
    blocks = []
    for i, line in enumerate(lines):
        match = OPEN_RE.match(line)
        if not match:
            continue
        block = Block(f"{where}, line {i + 1}", match["name"], match["title"].strip())
        rest = iter(lines[i + 1 :])
        for following in rest:
            if following.strip() == "---":  # YAML-style options block
                for yaml_line in rest:
                    if yaml_line.strip() == "---":
                        break
                    key, _, value = yaml_line.partition(":")
                    block.options[key.strip()] = value.strip()
                continue
            option = OPTION_RE.match(following)
            if option:
                block.options[option["key"]] = option["value"].strip()
                continue
            if following.strip():
                block.first_line = following.strip()
                break
        blocks.append(block)
    return blocks


def all_blocks():
    return [b for where, text in _markdown_sources() for b in parse_blocks(where, text)]


def case_problems(blocks):
    return [f"{b.where}: {{{b.name}}}" for b in blocks if b.name != b.name.lower()]


def missing_label_problems(blocks):
    return [
        f"{b.where}: {{{b.name}}} {b.title}"
        for b in blocks
        if b.kind.lower() in NEED_LABEL and not b.options.get("label")
    ]


def namespace_problems(blocks):
    bad = []
    for b in blocks:
        label = b.options.get("label")
        if not label:
            continue
        expected = PREFIX_OF_KIND.get(b.kind.lower())
        if not LABEL_RE.match(label) or not label.startswith(ALLOWED_PREFIXES):
            bad.append(f"{b.where}: {label!r} (write kind-topic in lower case, e.g. thm-vicreg-smooth-optimum)")
        elif expected and not label.startswith(expected):
            bad.append(f"{b.where}: {label!r} labels a {b.kind}, so it must start with {expected!r}")
    return bad


def duplicate_problems(blocks):
    seen, bad = {}, []
    for b in blocks:
        label = b.options.get("label")
        if label in seen:
            bad.append(f"{label!r} at {seen[label]} and at {b.where}")
        elif label:
            seen[label] = b.where
    return bad


def r_id_problems(blocks):
    return [
        f"{b.where}: {{{b.name}}} {b.title}"
        for b in blocks
        if b.kind.lower() == "theorem" and not (R_ID_RE.search(b.title) or R_ID_RE.search(b.first_line))
    ]


def test_directive_names_are_lower_case():
    bad = case_problems(all_blocks())
    assert not bad, "write prf directives in lower case ({prf:theorem}):\n" + "\n".join(bad)


def test_results_have_labels():
    bad = missing_label_problems(all_blocks())
    assert not bad, "these blocks need a :label: so they can be referred to:\n" + "\n".join(bad)


def test_labels_are_namespaced():
    bad = namespace_problems(all_blocks())
    assert not bad, "labels must be namespaced by kind:\n" + "\n".join(bad)


def test_labels_are_unique():
    bad = duplicate_problems(all_blocks())
    assert not bad, "labels are global to the book; these repeat:\n" + "\n".join(bad)


def test_theorems_name_their_result():
    bad = r_id_problems(all_blocks())
    assert not bad, (
        "every {prf:theorem} names the result it proves (R1-R18) in its "
        "title or first line, e.g. 'VICReg smooth optimum (R10)'; state a supporting "
        "result without an id as a {prf:lemma}:\n" + "\n".join(bad)
    )


# The checks above must be able to fail: blocks written wrongly, parsed from text.
BAD_SOURCE = """
```{prf:Theorem} VICReg optimum
:label: theorem1

Body.
```

:::{prf:lemma} Ky Fan (R3)
:label: thm-ky-fan
Body.
:::

```{prf:theorem}
---
label: thm-ky-fan
nonumber:
---
The invariance term (R1) is a quadratic form.
```

```{prf:definition} Relation matrix
Body.
```
"""


@pytest.mark.parametrize(
    "check, culprit",
    [
        (case_problems, "{prf:Theorem}"),
        (namespace_problems, "'theorem1'"),
        (namespace_problems, "'thm-ky-fan' labels a lemma"),
        (duplicate_problems, "'thm-ky-fan' at example"),
        (r_id_problems, "VICReg optimum"),
        (missing_label_problems, "Relation matrix"),
    ],
    ids=["case", "namespace", "kind", "duplicate", "r-id", "label"],
)
def test_checks_catch_bad_blocks(check, culprit):
    blocks = parse_blocks("example", BAD_SOURCE)
    assert [b.options.get("label") for b in blocks] == ["theorem1", "thm-ky-fan", "thm-ky-fan", None]
    assert blocks[2].first_line.startswith("The invariance term (R1)")
    problems = check(blocks)
    assert any(culprit in p for p in problems), problems
    # The well-formed theorem (R-id in its first line) is not flagged by the R-id check.
    assert not any(p.startswith(blocks[2].where + ":") for p in r_id_problems(blocks))
