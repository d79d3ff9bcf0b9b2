# Two commands for a fresh machine:  `make run` (demo analysis)  and  `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
MEDIAPIPE := mediapipe==0.10.21

.PHONY: setup run test bench clean

setup: $(STAMP)

# mediapipe goes in with --no-deps: its metadata drags in jax/jaxlib (~360 MB) that face mesh never imports.
$(STAMP): pyproject.toml Makefile
	test -x $(PY) || python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --no-deps "$(MEDIAPIPE)"
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

run: setup
	$(VENV)/bin/synkinesis demo

PYTEST_ARGS ?=
test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

bench: setup
	$(PY) benchmarks/throughput.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
