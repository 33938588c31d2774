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

# The whole cycle on both built-in rubrics, each in a fresh campaign folder output/demo/<rubric>/:
# check and export the rubric, init, generate, simulate the counties' returns (and the office's
# figures), import → score → report, review table, contacts, mail drafts; then where everything is.
DEMO_RUBRICS := ip-protection-2021 anti-counterfeit-2021
XW := $(BIN)/xlsx-workflow

demo: $(STAMP)
	@set -e; rm -rf "$(OUT)/demo"; for r in $(DEMO_RUBRICS); do \
	  d="$(OUT)/demo/$$r"; mkdir -p "$$d"; \
	  echo "======== 演示：$$r ========"; \
	  $(XW) rubric check $$r; \
	  $(XW) rubric export $$r "$$d/考核细则.xlsx"; \
	  $(XW) init "$$d" --rubric $$r; \
	  $(XW) generate "$$d"; \
	  $(XW) simulate "$$d" --params; \
	  $(XW) run "$$d" "$$d/simulate/收件"; \
	  $(XW) review "$$d"; \
	  $(XW) contacts "$$d"; \
	  $(XW) mail "$$d"; \
	done; \
	echo; echo "======== 演示输出 ========"; \
	for r in $(DEMO_RUBRICS); do \
	  d="$$(cd "$(OUT)/demo/$$r" && pwd)"; echo "$$r："; \
	  for item in "考核细则|$$d/考核细则.xlsx" "生成的自评表|$$d/generate/" \
	      "模拟收件|$$d/simulate/收件/" "市级核定数据|$$d/params/市级核定数据.xlsx" \
	      "台账|$$d/ledger.sqlite" "问题清单|$$d/import/反馈/" \
	      "排名汇总|$$d/report/排名汇总.xlsx" "考核情况报告|$$d/report/考核情况报告.docx" \
	      "考核情况报告（Markdown）|$$d/report/考核情况报告.md" "各单位反馈单|$$d/report/反馈单/" \
	      "审核表|$$d/review/审核表.xlsx" "联系人名录|$$d/联系人名录.xlsx" \
	      "邮件草稿|$$d/mail/草稿/" "发送清单|$$d/mail/发送清单.xlsx"; do \
	    p="$${item#*|}"; test -e "$$p" || { echo "缺少输出：$$p" >&2; exit 1; }; \
	    echo "  $${item%%|*}：$$p"; \
	  done; \
	done

test: $(STAMP)
	$(BIN)/python -m pytest -q

# The blank templates of ip-protection-2021 (templates/*.xlsx); tests/test_templates.py checks them.
templates: $(STAMP)
	$(BIN)/python -m xlsx_workflow.workbook.template templates

# Every stage at 3,000 units beside its floor, as ratios in the same run (BENCH_UNITS=300 for a
# quick run): generate; import, re-import, score, review, report (bench/bench_import.py).
bench: $(STAMP)
	$(BIN)/python bench/bench_generate.py
	$(BIN)/python bench/bench_import.py

clean:
	rm -rf $(VENV) $(OUT)/demo
