# The two commands a newcomer needs: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
ISP := $(VENV)/bin/isp
DEMO_DIR ?= demo-isp

.PHONY: install demo demo-build test lint bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	  echo "note: Debian's chromium is needed for the browser tests: sudo apt-get install -y chromium"

demo: install
	$(ISP) demo $(DEMO_DIR) --force --serve

demo-build: install
	$(ISP) demo $(DEMO_DIR) --force

test: install
	$(PY) -m pytest -n 2 tests

lint: install
	$(VENV)/bin/ruff check scripts tests benchmarks
	$(VENV)/bin/ruff format --check scripts tests benchmarks
	$(VENV)/bin/mypy

bench: install
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(DEMO_DIR) build .pytest_cache
