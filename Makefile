# Encore: every set-up and check goes through these targets (see README.md).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# The PostgreSQL/Redis pass of `make test`; override to point elsewhere.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: help venv browser wrk demo serve test lint typecheck contracts pytest pytest-pg format bench clean

help:
	@echo "make demo   install, migrate, load the demo world, train, serve on http://127.0.0.1:8000"
	@echo "make test   lint, type-check, import contracts, the suite on SQLite and on PostgreSQL+Redis"
	@echo "make bench  run the benchmarks under bench/ (prints figures)"

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# Debian's Chromium for the browser tests (Playwright drives it; nothing downloads a browser).
browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium)

# wrk loads gunicorn in the benchmarks.
wrk:
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq --no-install-recommends wrk)

demo: venv
	bash bin/demo.sh

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: venv
	SECRET_KEY=typecheck-only $(VENV)/bin/mypy .

contracts: venv
	SECRET_KEY=contracts-only $(VENV)/bin/lint-imports

pytest: venv
	$(PY) -m pytest $(ARGS)

# Everything that touches the database again on PostgreSQL, with Redis and real worker processes.
# Two processes (pytest-xdist, a test database each) for the tests that only need the database
# and Redis; one at a time for those that start workers or browsers, or stop the services
# (they share the broker and the machine's PostgreSQL and Redis).
PG_ENV = DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL)
# The API contract (schemathesis, minutes) runs once, here, on the production database.
CONTRACT = tests/e2e/test_api_contract.py
pytest-pg: venv
	$(PG_ENV) $(PY) -m pytest -n 2 -m "not worker and not browser" \
		tests/entertainment tests/recommender $(CONTRACT) $(ARGS)
	$(PG_ENV) $(PY) -m pytest -m "worker or browser" tests/entertainment tests/recommender $(ARGS)
	$(PG_ENV) $(PY) -m pytest tests/e2e tests/browser --ignore=$(CONTRACT) $(ARGS)

test: lint typecheck contracts browser
	$(PY) -m pytest -n 2 -m "not worker" --ignore=$(CONTRACT)
	$(MAKE) pytest-pg

bench: venv wrk
	@for script in bench/*.py; do \
		case $$script in */__init__.py|*/scratch.py|*/loadgen.py|*/synthetic_model.py|*/artwork_generator.py) continue;; esac; \
		echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf var/ .mypy_cache .pytest_cache .ruff_cache
