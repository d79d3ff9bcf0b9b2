# Two commands for a fresh machine:  `make run` (demo clinic web app)  and  `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
MEDIAPIPE := mediapipe==0.10.21

.PHONY: setup run demo test bench bench-web bench-batch clean

setup: $(STAMP)

# mediapipe goes in with --no-deps: its metadata drags in jax/jaxlib (~360 MB) that face mesh never imports.
$(STAMP): pyproject.toml Makefile
	test -x $(PY) || python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --no-deps "$(MEDIAPIPE)"
	$(PY) -m pip install -q -e ".[dev,ray]"  # ray: `synkinesis batch --ray` and its tests
	$(PY) -c "from synkinesis.landmarks.refine import warm_up; warm_up()"  # compile the Numba kernels once (~10 s)
	touch $(STAMP)

# The clinic app on SQLite in ./data with a demo clinic, log-ins and an analysed demo recording.
run: setup
	$(VENV)/bin/synkinesis serve --demo

# The command-line demo (analyses the demo video, writes out/demo/).
demo: setup
	$(VENV)/bin/synkinesis demo

PYTEST_ARGS ?=
# Installs Chromium/PostgreSQL from Debian if missing and runs the suite on SQLite and PostgreSQL.
test: setup
	PY=$(PY) bash scripts/test.sh $(PYTEST_ARGS)

bench: setup
	$(PY) benchmarks/throughput.py

bench-web: setup
	$(PY) benchmarks/web_load.py

# Cohort throughput: 1 and 2 local workers, Ray with 2 workers (needs a quiet machine).
bench-batch: setup
	$(PY) benchmarks/batch_scaling.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
