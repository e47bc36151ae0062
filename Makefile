# emotune: `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Which PyTorch build `make venv` installs, the same on every machine:
#   cpu  (default) PyTorch's CPU-only wheel from its own index, about 200 MB;
#   cuda           PyPI's Linux wheel, which bundles CUDA (several GB), for
#                  `emotune model train --accelerator gpu --devices 1`.
TORCH ?= cpu
TORCH_INDEX_cpu := --extra-index-url https://download.pytorch.org/whl/cpu
TORCH_INDEX_cuda :=
ifeq ($(filter $(TORCH),cpu cuda),)
$(error TORCH must be cpu or cuda, not '$(TORCH)')
endif
TORCH_PIN := $(shell sed -n 's/^ *"\(torch==[0-9.]*\)",.*/\1/p' pyproject.toml)
STAMP := $(VENV)/.installed-$(TORCH)

.PHONY: venv demo test test-fast lint format clean

venv: $(STAMP)

# Reinstall only when the dependency list changes; the project is installed editable.
# torch goes first, alone and without its dependencies, from the index TORCH names (an
# unreachable index costs seconds for one package, not for all of them); the rest, torch's
# own dependencies included, then comes from the usual index. The project is then byte-compiled,
# as a regular install would be: `emotune --help` starts without compiling its modules. Last,
# librosa compiles its numba code once (about 30 s; cached beside librosa), so that the first
# voice check-in, and the first test that extracts voice features, does not.
$(STAMP): pyproject.toml
	@for other in $(VENV)/.installed-*; do \
	  if [ -e "$$other" ] && [ "$$other" != "$(STAMP)" ]; then \
	    echo "$(VENV) holds another torch build ($$other); run make clean, then make venv TORCH=$(TORCH)"; \
	    exit 1; fi; done
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-deps $(TORCH_INDEX_$(TORCH)) '$(TORCH_PIN)'
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m compileall -q app classifier playlists migrations
	$(BIN)/python -c "from classifier.voice.librosa_loader import load_librosa; load_librosa()"
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

# The whole suite on pytest-xdist workers, two per core (`-n auto`, see tests/conftest.py: most
# slow tests wait on real time); `loadgroup` keeps tests that share a server or a fitted model
# on one worker. What CI runs. PYTEST_WORKERS=0 runs it in one process, PYTEST_WORKERS=N on N.
PYTEST_WORKERS ?= auto
PYTEST_PARALLEL := $(if $(filter 0,$(PYTEST_WORKERS)),-p no:xdist,-n $(PYTEST_WORKERS) --dist loadgroup)
test: lint
	$(BIN)/python -m pytest -q $(PYTEST_PARALLEL)

# Local feedback only, never instead of `make test`: the same, less the tests marked slow.
test-fast: venv
	$(BIN)/python -m pytest -q $(PYTEST_PARALLEL) -m "not slow"

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
	$(BIN)/python -m pytest -q $(PYTEST_PARALLEL) tests/reliability
	@cat .reliability.json
