# Every target sets itself up: a virtual environment in .venv with the project and its dev tools.
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
TEMPLATE_PERIOD ?= 2026
SAMPLE_PERIOD := 2024-6T
# what `make demo` consolidates; SOURCE=samples/hop-thu.mbox: the same inbox as the units mailed it
SOURCE ?= samples/inbox

.PHONY: setup demo test lint templates samples docs bench smoke clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

setup: $(BIN)/.installed

demo: setup
	$(BIN)/mttq-xlsx consolidate $(SOURCE) -o out/tong-hop.xlsx --roster samples/don-vi.csv \
		--period $(SAMPLE_PERIOD) --deadline 2024-06-10 --report out/bao-cao.json; \
		status=$$?; [ $$status -le 1 ] || exit $$status

test: setup
	$(BIN)/pytest -q -ra

# ruff on everything; mypy on the library and the tools (not tools/lo_uno_worker.py: see pyproject.toml)
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy mttq_xlsx tools

templates: setup
	$(BIN)/mttq-xlsx template phu-luc-1 -o workbook_templates --period $(TEMPLATE_PERIOD)
	$(BIN)/mttq-xlsx template bieu-so-lieu -o workbook_templates --period $(TEMPLATE_PERIOD)

samples: setup
	$(BIN)/python -m tools.make_samples samples

docs: setup
	$(BIN)/python -m tools.docs

bench: setup
	$(BIN)/python -m tools.bench

smoke: setup
	$(BIN)/mttq-xlsx --help >/dev/null
	$(MAKE) demo

clean:
	rm -rf out bench-out .pytest_cache .ruff_cache .mypy_cache
