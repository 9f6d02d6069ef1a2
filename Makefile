# Two commands a newcomer needs: `make serve` and `make test`. Both set up .venv/ first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install serve test test-fast lint bench fuzz clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade --quiet pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	# facenet-pytorch pins torch<2.3; its MTCNN code and weights work with ours.
	$(BIN)/pip install --quiet --no-deps facenet-pytorch==2.6.0
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/deepfake-detect serve

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -q

test-fast: $(STAMP)  # while editing: no type check, no test marked slow
	$(BIN)/pytest -q -m "not slow"

bench: $(STAMP)
	$(BIN)/deepfake-detect bench

# Coverage-guided fuzzing of the media probe or the multipart path (not in CI); findings land in
# runs/fuzz/TARGET/ as crash-*/timeout-* files. e.g. make fuzz FUZZ_TARGET=multipart FUZZ_SECONDS=1200
FUZZ_TARGET ?= media
FUZZ_SECONDS ?= 600
fuzz: $(STAMP)
	$(BIN)/pip install --quiet -r requirements-fuzz.txt
	mkdir -p runs/fuzz/$(FUZZ_TARGET)
	cd runs/fuzz/$(FUZZ_TARGET) && nice -n 15 $(abspath $(BIN))/python $(CURDIR)/tests/fuzz/harness.py \
		$(FUZZ_TARGET) -max_total_time=$(FUZZ_SECONDS) -timeout=60 -rss_limit_mb=6144 -print_final_stats=1

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .mypy_cache
