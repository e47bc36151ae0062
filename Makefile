# emotune: `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test lint format clean

venv: $(STAMP)

# Reinstall only when the dependency list changes; the project is installed editable.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The whole product offline: simulated headset (SYNTHETIC EEG), local Spotify emulator.
demo: venv
	$(BIN)/emotune demo --out demo-output

test: lint
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache demo-output

# The demo EEG model, trained on SYNTHETIC EEG (seeded, reproducible weights); ~1 min on CPU.
.PHONY: demo-model
demo-model: venv
	$(BIN)/python -m classifier.demo_model --out classifier/data/demo-synthetic-tsception.pt

# Requests of a playlist sync vs a naive replace-everything sync, against the local emulator.
.PHONY: bench-sync
bench-sync: venv
	$(BIN)/python benchmarks/bench_sync.py

# Voice check-in speed on 1,440 synthetic clips; add RAVDESS=DIR to also time your copy of RAVDESS.
.PHONY: bench-voice
bench-voice: venv
	$(BIN)/python benchmarks/bench_voice.py $(if $(RAVDESS),--ravdess $(RAVDESS))

# Fault injection (EEG stream, Spotify, kill -9, concurrent writers, fuzzed input); the last
# line is the JSON of faults injected/survived and windows/data lost and duplicates.
.PHONY: reliability
reliability: venv
	$(BIN)/python -m pytest -q tests/reliability
	@cat .reliability.json
