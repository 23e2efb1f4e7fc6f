# policy-qa — the two commands a new machine needs: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PQA    := $(VENV)/bin/policy-qa
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export TOKENIZERS_PARALLELISM := false
export POLICY_QA_INDEX ?= $(CURDIR)/var/index
export POLICY_QA_OUTBOX ?= $(CURDIR)/var/outbox.sqlite3
export POLICY_QA_MAILDIR ?= $(CURDIR)/var/maildir
export POLICY_QA_ANALYTICS ?= $(CURDIR)/var/analytics.sqlite3

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
	$(PQA) chat

chat: run

test: $(STAMP)
	$(VENV)/bin/ruff check index qa ui tests
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check index qa ui tests

clean:
	rm -rf var reports
