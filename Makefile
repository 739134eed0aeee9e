# The two commands that do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TEXT ?= I get a sudden painful cramp in my calf at night, about twice a week. It eases when I stretch my foot.
CASES := $(wildcard cases/*.yaml)

.PHONY: run test install install-test eval eval-gate bench bench-reading lock docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

## install: the runtime dependencies (pinned in requirements.lock) and spasmo itself into .venv
install: $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .

## install-test: what the tests need as well (requirements-test.lock)
install-test: $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-test.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .

## run: the main job on its embedded defaults: assess an example description (make run TEXT="...")
run: install
	$(BIN)/spasmo assess "$(TEXT)"

## test: every test, the knowledge-base check, and the evaluation on the public cases with its safety gate
## (no emergency triaged lower); `make eval-gate` adds the accuracy targets (see README: not met yet)
test: install-test
	$(BIN)/python -m pytest
	$(BIN)/spasmo kb check
	$(BIN)/spasmo eval $(CASES) --fail-on-emergency-under-triage

eval-gate: install
	$(BIN)/spasmo eval $(CASES) --min-triage-accuracy 0.85 --min-top3 0.80 --fail-on-emergency-under-triage

eval: install
	$(BIN)/spasmo eval $(CASES)

## bench: speed of one assessment; bench-reading: the reading benchmark with the negspacy baseline
bench: install
	$(BIN)/python benchmarks/assess_speed.py

bench-reading: $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-bench.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	$(BIN)/python benchmarks/reading/run.py --split test --baseline

## docs: regenerate the docs made from the code (docs/cli.md, docs/coverage.md)
docs: install
	$(BIN)/python tools/cli_docs.py > docs/cli.md
	$(BIN)/spasmo kb coverage > docs/coverage.md

## lock: re-pin the dependencies after changing pyproject.toml
lock: $(BIN)/python
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --generate-hashes --python-version 3.11 --no-header -q -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra test --generate-hashes --python-version 3.11 --no-header -q -o requirements-test.lock
	$(BIN)/uv pip compile pyproject.toml --extra bench --generate-hashes --python-version 3.11 --no-header -q -o requirements-bench.lock

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .hypothesis
