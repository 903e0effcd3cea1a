# sslspec — build and test the book.
#
#   make book   build the HTML book, executing every notebook  -> _build/html/index.html
#   make test   unit tests + nbval on every notebook of _toc.yml + strict render-only build
#   make robust unit tests + every notebook under other seeds and numerical environments
#
# Both create .venv (python3 -m venv) and install the pinned versions from
# constraints.txt the first time, and again whenever pyproject.toml or
# constraints.txt change.

SHELL := bash
# -o pipefail: with --keep-going, a failed build piped into anything else must still fail.
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Extra pip arguments, e.g. PIP_ARGS="--extra-index-url https://download.pytorch.org/whl/cpu"
PIP_ARGS ?=
# Coverage of sslspec_lib, notebooks included (nbval measures inside the kernel).
# `make test COV=` switches it off.
COV ?= --cov=sslspec_lib --cov-report=term

# Headless plots and a fixed hash seed for every test; the device passes through.
export MPLBACKEND := Agg
export PYTHONHASHSEED := 0
export SSLSPEC_DEVICE ?= cpu
# One intra-op thread unless told otherwise: the checks are small, and two threads on a
# 2-core machine that is busy with anything else oversubscribe (tiny torch ops become
# 10-100x slower). Outputs do not depend on it; make robust runs two threads on purpose.
export OMP_NUM_THREADS ?= 1

# Reinstall only when the requirements change: one stamp per extra set, keyed on
# the hash of pyproject.toml and constraints.txt.
REQ_HASH := $(shell cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
BOOK_STAMP = $(VENV)/.installed-book-$(REQ_HASH)
TEST_STAMP = $(VENV)/.installed-test-$(REQ_HASH)

# Every verdict of the book is recorded under _build/checks/<run>/ (sslspec_lib.checks);
# the ledger page and tests/book/test_checks_record.py read the record of their run.
CHECKS := _build/checks

# make robust: one run per seed, each under the next numerical environment of ENVS
# (MKL_CBWR mode:threads, cycling; "native" leaves MKL_CBWR unset). Nothing may fail;
# outputs are not compared (printed numbers may change with the seed, claims may not).
SEEDS ?= 101 202 303
ENVS  ?= COMPATIBLE:1 AVX2:2 native:2

.PHONY: help book test robust execute clean constraints

help:
	@echo "make book                      build the HTML book (executes every notebook)"
	@echo "make test                      unit tests, nbval on every notebook, strict build"
	@echo "make robust [SEEDS=\"1 2 3\"]     every notebook under other seeds and MKL_CBWR modes"
	@echo "make execute NB=chapters/x.ipynb   re-execute one notebook in place"
	@echo "make bench                     time the closed forms vs scikit-learn (bench/results.md)"
	@echo "make clean                     remove _build and caches (keeps .venv)"
	@echo "make constraints               re-pin constraints.txt from a scratch venv"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(BOOK_STAMP): $(BIN)/python
	$(BIN)/python -m pip install --quiet $(PIP_ARGS) -c constraints.txt -e ".[book]"
	rm -f $(VENV)/.installed-book-*
	touch $@

$(TEST_STAMP): $(BIN)/python
	$(BIN)/python -m pip install --quiet $(PIP_ARGS) -c constraints.txt -e ".[book,test]"
	rm -f $(VENV)/.installed-test-* $(VENV)/.installed-book-*
	touch $@ $(BOOK_STAMP)

# --all: Sphinx would otherwise skip unchanged pages, so an edit to sslspec_lib
# would leave stale outputs (and their warnings unreported). Every page is
# re-read, every notebook re-executed (execute_notebooks: force in _config.yml).
book: $(BOOK_STAMP)
	@rm -rf _build/html/reports $(CHECKS)/book
	@if ! SSLSPEC_RUN=book $(BIN)/jupyter-book build . -n -W --keep-going --all; then \
	  echo; echo "Book build FAILED."; \
	  if compgen -G "_build/html/reports/*" > /dev/null; then \
	    for f in _build/html/reports/*; do echo "===== $$f"; cat "$$f"; done; \
	  else echo "(no execution reports: a failing cell's traceback is printed above)"; fi; \
	  exit 1; \
	fi
	@echo; echo "Open $(CURDIR)/_build/html/index.html"

# One pytest session, so the output ends with pytest's summary line:
#  - tests/: unit, property and peer tests of sslspec_lib, and the book checks;
#  - --nbval on every notebook listed in _toc.yml (read from it, never by hand):
#    each is executed from scratch and every text output compared with the stored one;
#  - tests/book/test_build.py, run last: a strict (-n -W) build that RENDERS the stored
#    outputs (execute_notebooks: off) instead of re-executing them. nbval has just
#    executed every notebook and compared every text output, so executing them again
#    in the build would double CI time without proving anything new; the build proves
#    that those outputs render under -n -W.
#  - tests/book/test_checks_record.py, after the notebooks: every result with a chapter
#    has a passing recorded check, and every margin is >= 10 or explained.
test: $(TEST_STAMP)
	@$(BIN)/python --version
	rm -rf $(CHECKS)/nbval
	NOTEBOOKS="$$($(BIN)/python tests/book/booktoc.py --notebooks)"; \
	SSLSPEC_RUN=nbval $(BIN)/python -m pytest -p no:cacheprovider $(COV) \
	  --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
	  --nbval-cell-timeout=300 \
	  tests $$NOTEBOOKS

# One pytest session per (seed, environment): unit, property and peer tests, every notebook
# executed (nbval-lax: errors fail, outputs are not compared), then the record check.
robust: $(TEST_STAMP)
	@set -- $(ENVS); envs=("$$@"); i=0; \
	NOTEBOOKS="$$($(BIN)/python tests/book/booktoc.py --notebooks)"; \
	for seed in $(SEEDS); do \
	  spec=$${envs[$$((i % $${#envs[@]}))]}; i=$$((i + 1)); \
	  cbwr=$${spec%%:*}; threads=$${spec##*:}; run=robust-$$cbwr-$$threads-$$seed; \
	  echo; echo "== make robust: SSLSPEC_SEED=$$seed MKL_CBWR=$$cbwr threads=$$threads"; \
	  rm -rf $(CHECKS)/$$run; \
	  if [ "$$cbwr" = native ]; then cb=(-u MKL_CBWR); else cb=(MKL_CBWR=$$cbwr); fi; \
	  env "$${cb[@]}" OMP_NUM_THREADS=$$threads MKL_NUM_THREADS=$$threads \
	    SSLSPEC_SEED=$$seed SSLSPEC_RUN=$$run \
	    $(BIN)/python -m pytest -p no:cacheprovider -q \
	    --nbval-lax --nbval-current-env --nbval-cell-timeout=300 \
	    tests --ignore=tests/book $$NOTEBOOKS tests/book/test_checks_record.py; \
	done

# Re-execute one notebook in place (review the diff of its outputs before committing).
execute: $(BOOK_STAMP)
	@test -n "$(NB)" || { echo "usage: make execute NB=chapters/<part>/<name>.ipynb"; exit 2; }
	SSLSPEC_RUN=execute $(BIN)/jupyter execute --inplace --timeout=300 "$(NB)"

clean:
	rm -rf _build .pytest_cache .hypothesis .coverage .coverage.* htmlcov
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -path ./$(VENV) -prune -o -name .ipynb_checkpoints -type d -prune -exec rm -rf {} +

# Re-pin constraints.txt: install the ranges of pyproject.toml into a scratch venv
# and freeze it (torch written without its local label, the project left out).
constraints:
	rm -rf _build/pin-venv
	$(PYTHON) -m venv _build/pin-venv
	_build/pin-venv/bin/python -m pip install --quiet $(PIP_ARGS) -e ".[book,test]"
	{ sed -n '1,3p' constraints.txt; \
	  _build/pin-venv/bin/python -m pip freeze --exclude-editable | sed -E 's/^(torch==[^+]*)\+.*/\1/'; \
	} > _build/constraints.txt
	mv _build/constraints.txt constraints.txt
	rm -rf _build/pin-venv
	@echo "constraints.txt re-pinned; review with git diff constraints.txt"

# Cost and scale: time the closed forms against scikit-learn and the bare Lanczos floor
# (a script, not a test); writes bench/results.json and bench/results.md.
.PHONY: bench
bench: $(BOOK_STAMP)
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-2} $(BIN)/python bench/run.py
