# The README's commands. `make run` sets everything up and runs the main job;
# `make test` sets up the dev tools and runs the whole test suite (CI runs it).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run transfer test lint browser bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[cpu]"
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[cpu,dev,torch,vectors,teacher]"
	touch $(VENV)/.installed $@

# Debian's Chromium and ChromeDriver, for the test of `textgru serve`'s page
# (tests/test_page.py); as root, or through sudo. Skipped where both exist.
CHROMIUM_PACKAGES := chromium chromium-driver
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		echo "installing Debian's $(CHROMIUM_PACKAGES) for the page test"; \
		$(SUDO) apt-get install -y -q --no-install-recommends $(CHROMIUM_PACKAGES) >/dev/null \
		|| { $(SUDO) apt-get update -q >/dev/null && \
		     $(SUDO) apt-get install -y -q --no-install-recommends $(CHROMIUM_PACKAGES) >/dev/null; }; \
	fi

run: $(VENV)/.installed
	$(BIN)/python recipes/sentiment.py --overwrite

# Sentiment by transfer from a pretrained language model (trained once, about
# 28 min on 2 cores, then cached under ~/.cache/textgru/models).
transfer: $(VENV)/.installed
	$(BIN)/python recipes/transfer.py --overwrite

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# pytest-xdist workers: three on this project's 2-core machines, since the
# tests wait on the processes they start part of the time (with two workers
# the cores were 78% busy; clean CI runs: TF tests 17 min 20 s with two
# workers, 13 min 49 s with three). Each test file runs on one worker
# (--dist loadfile), so that its module-scoped fixtures, most of them a
# trained run, are made once (tests/conftest.py hands out the longest first).
PYTEST_WORKERS ?= 3
# The layer tests again on JAX, on one worker of their own (one worker
# compiles each shape once: 202 s of CPU against 229 s on two). They run
# beside the TensorFlow suite, not after it: alone, that suite keeps the
# cores 84-88% busy (it waits on processes; a last long test), and the JAX
# tests fill the rest. Their output follows the TensorFlow suite's.
JAX_PYTEST_WORKERS ?= 1
JAX_LOG := .pytest_cache/jax-tests.log
test: lint browser
	@mkdir -p .pytest_cache; \
	KERAS_BACKEND=jax $(BIN)/pytest -n $(JAX_PYTEST_WORKERS) --dist loadfile \
		-m "layers and not slow" > $(JAX_LOG) 2>&1 & jax=$$!; \
	trap 'kill $$jax 2>/dev/null' INT TERM; \
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder; tf=$$?; \
	wait $$jax; jx=$$?; \
	echo "=== the layer tests on the JAX backend ($(JAX_LOG)) ==="; cat $(JAX_LOG); \
	test $$tf -eq 0 -a $$jx -eq 0

bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/gru_speed.py
	$(BIN)/python benchmarks/data_speed.py
	$(BIN)/python benchmarks/generation_speed.py
	$(BIN)/python benchmarks/startup.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
