# Set-up happens by itself: `make demo` and `make test` create .venv and install on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT := output

.PHONY: demo test bench templates clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/xlsx-workflow rubric list
	$(BIN)/xlsx-workflow rubric check ip-protection-2021
	$(BIN)/xlsx-workflow rubric check anti-counterfeit-2021
	mkdir -p $(OUT)/demo
	$(BIN)/xlsx-workflow rubric export ip-protection-2021 $(OUT)/demo/考核细则-ip-protection-2021.xlsx
	$(BIN)/xlsx-workflow rubric export anti-counterfeit-2021 $(OUT)/demo/考核细则-anti-counterfeit-2021.xlsx
	@echo "演示输出在 $(OUT)/demo/"

test: $(STAMP)
	$(BIN)/python -m pytest -q

# The blank templates of ip-protection-2021 (templates/*.xlsx); tests/test_templates.py checks them.
templates: $(STAMP)
	$(BIN)/python -m xlsx_workflow.workbook.template templates

# Generation time for 3,000 units beside a bare-xlsxwriter floor (BENCH_UNITS=300 for a quick run).
bench: $(STAMP)
	$(BIN)/python bench/bench_generate.py
	$(BIN)/python bench/bench_import.py

clean:
	rm -rf $(VENV) $(OUT)/demo
