# policy-qa — the two commands a new machine needs: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PQA    := $(VENV)/bin/policy-qa
STAMP  := $(VENV)/.installed
SHARED ?= ../shared
TUNED  := $(CURDIR)/var/models/tuned
export HF_HUB_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export TOKENIZERS_PARALLELISM := false
export POLICY_QA_INDEX ?= $(CURDIR)/var/index
export POLICY_QA_OUTBOX ?= $(CURDIR)/var/outbox.sqlite3
export POLICY_QA_MAILDIR ?= $(CURDIR)/var/maildir
export POLICY_QA_ANALYTICS ?= $(CURDIR)/var/analytics.sqlite3
# after `make tune`, the app uses the tuned model (its index was rebuilt with it) and
# the threshold calibrated for it (a tuned model's scores run higher)
export POLICY_QA_MODEL ?= $(if $(wildcard $(TUNED)/tune.json),$(TUNED),)
export POLICY_QA_CONFIG ?= $(if $(wildcard $(TUNED)/policy-qa.toml),$(TUNED)/policy-qa.toml,)

.PHONY: install run chat index test lint eval bench tune clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, pinned: the CPU wheel is on disk; unpinned torch drags in CUDA.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

$(POLICY_QA_INDEX)/manifest.json: | $(STAMP)
	$(PQA) build

index: $(STAMP)
	$(PQA) build

run: $(STAMP) $(POLICY_QA_INDEX)/manifest.json
	$(PQA) serve

chat: $(STAMP) $(POLICY_QA_INDEX)/manifest.json
	$(PQA) chat

test: $(STAMP)
	$(VENV)/bin/ruff check index qa ui tests
	POLICY_QA_MODEL= POLICY_QA_CONFIG= $(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check index qa ui tests

eval: $(STAMP)
	$(PQA) eval tests/data/korero-questions.jsonl --policy index/data/korero-privacy.md \
	    --compare --calibrate-on tests/data/korero-dev.jsonl --out reports/eval-korero
	$(PQA) eval tests/data/korero-dev.jsonl --policy index/data/korero-privacy.md \
	    --calibrate --out reports/calibrate-korero-dev
	if [ -f $(SHARED)/data/policyqa-dev.json ]; then \
	    $(PQA) eval --format policyqa $(SHARED)/data/policyqa-dev.json --compare \
	        --out reports/eval-policyqa-dev; fi

bench: $(STAMP)
	$(PQA) bench --out reports/bench.json \
	    $(if $(wildcard $(SHARED)/data/policyqa-dev.json),--policyqa $(SHARED)/data/policyqa-dev.json,)

tune: $(STAMP)
	POLICY_QA_MODEL= POLICY_QA_CONFIG= $(PQA) tune --out $(TUNED) $(SHARED)/data/policyqa-dev.json \
	    $(if $(wildcard tests/data/korero-dev.jsonl),tests/data/korero-dev.jsonl::index/data/korero-privacy.md,)
	POLICY_QA_MODEL=$(TUNED) $(PQA) eval tests/data/korero-dev.jsonl \
	    --policy index/data/korero-privacy.md --calibrate --json \
	    --out reports/calibrate-tuned > $(TUNED)/calibration.json
	$(PY) -c 'import json, sys; t = json.load(open(sys.argv[1]))["best_threshold"]; \
	    open(sys.argv[2], "w").write(f"threshold = {t:.3f}\n")' \
	    $(TUNED)/calibration.json $(TUNED)/policy-qa.toml
	POLICY_QA_MODEL=$(TUNED) $(PQA) build

clean:
	rm -rf var reports
