# Two commands a newcomer needs: `make serve` and `make test`. Both set up .venv/ first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install serve test test-fast lint bench clean

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

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .mypy_cache
