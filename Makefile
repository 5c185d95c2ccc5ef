# Everything a fresh clone needs: `make pretrain` and `make test` create or refresh .venv themselves.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RUN ?= default
PAPERMILL_ARGS ?=

.PHONY: venv test test-fast test-browser pretrain study study-quick sweep benchmark-augment sync-notebooks lab clean

# Re-install when the install inputs change (pyproject, constraints) or the venv is missing.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]' 2>&1 \
		| { grep -v "^WARNING: Location 'file://" || true; }
	@touch $(STAMP)

venv: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow and not browser"

# The explorer in JupyterLab + Debian's headless Chromium (installed with apt-get when missing;
# playwright drives it, no browser download). -s prints the step list with timings as it goes.
test-browser: $(STAMP)
	tests/browser/install_chromium.sh
	$(PY) -m pytest -m browser -s tests/browser

pretrain: $(STAMP)
	@mkdir -p outputs/pretrain/$(RUN)
	$(VENV)/bin/papermill --log-output notebooks/pretrain.ipynb outputs/pretrain/$(RUN)/pretrain.ipynb \
		-p output_dir outputs/pretrain/$(RUN) -p resume True $(PAPERMILL_ARGS)

# The replication study on the embedded hw-v2 benchmark (resumable: rerun to continue after a stop;
# finished runs are not redone). STUDY_ARGS: e.g. --device cuda, --methods seqclr-window simclr.
# STUDY_WORKERS processes run side by side (one thread each on a 2-core CPU: faster than one process).
STUDY_OUT ?= outputs/study
STUDY_REF ?= outputs/reference/hw-v2
STUDY_WORKERS ?= 2
STUDY_ARGS ?=
study: $(STAMP)
	$(PY) -m seqclr.evaluate.study --workers $(STUDY_WORKERS) --out $(STUDY_OUT) --reference $(STUDY_REF) $(STUDY_ARGS)

# Its quick subset (seqclr-window, SimCLR, supervised; 5% and 100%; seed 0): the same runs.
study-quick: $(STAMP)
	$(PY) -m seqclr.evaluate.study --quick --workers $(STUDY_WORKERS) --out $(STUDY_OUT) --reference $(STUDY_REF) $(STUDY_ARGS)

# The recipe sweep that chose the study's encoder and schedule (validation families only).
sweep: $(STAMP)
	$(PY) -m seqclr.evaluate.recipe_sweep --out outputs/sweep --reference $(STUDY_REF)/sweep

benchmark-augment: $(STAMP)
	$(PY) -m seqclr.benchmark.augment

# Regenerate each notebook from its paired jupytext percent script (scripts are the source of truth).
sync-notebooks: $(STAMP)
	$(VENV)/bin/jupytext --sync notebooks/*.py

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

clean:
	rm -rf $(VENV) .pytest_cache
