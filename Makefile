# Two commands on a fresh machine:
#   make demo    set up .venv and run Part I Task 2 (NumPy vs PyTorch MLP) on embedded data
#   make test    set up .venv, check style (ruff) and run the test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test lint compare bench report reproduce submission clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

demo: setup
	$(PY) -m cs324.mlp.compare --out runs/demo_part1_compare
	@echo "table: runs/demo_part1_compare/table.md (committed results: results/part1_compare/)"

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks notebooks experiments
	$(VENV)/bin/ruff format --check src tests benchmarks notebooks experiments

test: lint
	$(VENV)/bin/pytest -q

compare: setup  # regenerate the committed Part I Task 2 results
	$(PY) -m cs324.mlp.compare --out results/part1_compare

bench: setup  # every benchmark of the manifest's benchmarks entry (measure on a quiet machine)
	$(PY) experiments/manifest.py run --only benchmarks

report: setup  # report/report.html and report/report.pdf from the models and results/
	$(PY) -m cs324.report

# make reproduce: every entry of experiments/manifest.py at full size into results/ (days on 2 CPU cores)
# make reproduce ONLY=part3_rnn: one entry; QUICK=1: every command with --dry_run into runs/reproduce_quick
RESULTS ?= $(if $(QUICK),runs/reproduce_quick,results)
reproduce: setup
	$(PY) experiments/manifest.py run --results $(RESULTS) $(if $(ONLY),--only $(ONLY)) $(if $(QUICK),--quick)
	$(PY) -m cs324.report --results $(RESULTS) $(if $(QUICK),--out $(RESULTS)/report)

OUT ?= .
submission: report  # make submission STUDENT_NUMBER=12345678 [OUT=folder for the zip, default: here]
	$(PY) -m cs324.submission --student_number "$(STUDENT_NUMBER)" --out "$(OUT)"

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
