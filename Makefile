# The two commands that do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TEXT ?= I get a sudden painful cramp in my calf at night, about twice a week. It eases when I stretch my foot.
CASES := $(wildcard cases/*.yaml)

.PHONY: run test install install-test eval bench bench-reading lock docs clean
.PHONY: example test-browser-tools bench-web test-session-tools bench-interview bench-load
HOST ?= 127.0.0.1
PORT ?= 8000
APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends

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

## run: the web page and the REST API on http://127.0.0.1:8000/ (SQLite sessions; make run PORT=8080)
run: install
	$(BIN)/spasmo serve --host $(HOST) --port $(PORT)

## example: assess an example description on the command line (make example TEXT="...")
example: install
	$(BIN)/spasmo assess "$(TEXT)"

## test-browser-tools: Debian's Chromium (apt-get; never a downloaded browser) and axe-core (npm, node_modules/)
test-browser-tools:
	@if [ ! -x /usr/bin/chromium ]; then apt-get update -qq && $(APT_INSTALL) chromium; fi
	@if ! command -v npm >/dev/null; then apt-get update -qq && $(APT_INSTALL) nodejs npm; fi
	@if [ ! -f node_modules/axe-core/axe.min.js ]; then npm ci --no-audit --no-fund --loglevel=error; fi

## test-session-tools: Debian's PostgreSQL (the session tests start a throwaway server) and tmux (terminal tests)
test-session-tools:
	@if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || ! command -v tmux >/dev/null; then \
		apt-get update -qq && $(APT_INSTALL) postgresql tmux; fi

## test: every test, the knowledge-base check, the interview benchmark and the evaluation on the public cases
## with its gates: no emergency triaged lower, exact triage at least 0.85, top-3 at least 0.80
test: install-test test-browser-tools test-session-tools
	$(BIN)/python -m pytest
	$(BIN)/spasmo kb check
	$(BIN)/spasmo eval --interview $(CASES) --max-median-questions 8 --max-p90-questions 15 --min-agreement 0.98 \
		--fail-on-emergency-under-triage
	$(BIN)/spasmo eval $(CASES) --min-triage-accuracy 0.85 --min-top3 0.80 --fail-on-emergency-under-triage

eval: install
	$(BIN)/spasmo eval $(CASES)

## bench: speed of one assessment; bench-reading: the reading benchmark with the negspacy baseline
bench: install
	$(BIN)/python benchmarks/assess_speed.py

## bench-web: HTTP throughput and p99 latency of POST /v1/assess beside GET /healthz (wrk; docs/web.md)
bench-web: install
	@command -v wrk >/dev/null || (apt-get update -qq && $(APT_INSTALL) wrk)
	$(BIN)/python benchmarks/web_speed.py

## bench-load: 100 simulated people run whole interviews over HTTP for 2 minutes, in five configurations: SQLite,
## SQLite with the server SIGKILLed and restarted every 40 s, the same two on PostgreSQL, and two servers on one
## PostgreSQL; no request may finally fail and every acknowledged answer must be stored (docs/performance.md)
bench-load: install-test test-session-tools
	$(BIN)/python benchmarks/load_faults.py --people 100 --seconds 120
	$(BIN)/python benchmarks/load_faults.py --people 100 --seconds 120 --kill-every 40
	$(BIN)/python benchmarks/load_faults.py --people 100 --seconds 120 --postgres
	$(BIN)/python benchmarks/load_faults.py --people 100 --seconds 120 --postgres --kill-every 40
	$(BIN)/python benchmarks/load_faults.py --people 100 --seconds 120 --postgres --servers 2

## bench-interview: how long choosing the next question takes (docs/interview.md)
bench-interview: install
	$(BIN)/python benchmarks/interview_speed.py

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
