# The two commands of the README: `make demo` runs the main job, `make test` passes the tests.
# Both install what they need first (into the current Python; use a virtualenv if you prefer).
PYTHON ?= python3
PIP := $(PYTHON) -m pip
USPTO ?= ../shared/data/uspto-300
CONFIG ?= configs/quickstart.yaml
BEST ?= checkpoints/quickstart/best.ckpt
STAMP := .make/installed

.PHONY: install demo test lint bench clean

# torch and torchvision are pinned to the builds this project is developed with; the CPU
# machines it targets carry them on local disk, so the install needs no large download.
$(STAMP): pyproject.toml
	$(PIP) install -q torch==2.14.1 torchvision==0.29.1
	$(PIP) install -q -e '.[dev]'
	@mkdir -p $(dir $@) && touch $@

install: $(STAMP)

# First the shipped graph recogniser reads real patent drawings (uspto-300; a fresh synthetic
# set where that folder is absent) and is scored; then the quickstart model trains briefly, is
# scored on its validation split, predicts the same drawings and is scored on them.
demo: $(STAMP)
	@if [ -d "$(USPTO)/images" ]; then images="$(USPTO)"; \
	else $(PYTHON) -m inchi_lightning synth --out data/demo-test --n 200 --seed 12345 && \
	  images=data/demo-test; fi; \
	set -x; $(PYTHON) -m inchi_lightning evaluate --images "$$images" --out data/demo-shipped.csv
	$(PYTHON) -m inchi_lightning fit --config $(CONFIG)
	$(PYTHON) -m inchi_lightning validate --config $(CONFIG) --ckpt_path $(BEST)
	@if [ -d "$(USPTO)/images" ]; then images="$(USPTO)/images"; labels="$(USPTO)/labels.csv"; \
	else $(PYTHON) -m inchi_lightning synth --out data/demo-test --n 200 --seed 12345 && \
	  images=data/demo-test/train; labels=data/demo-test/train_labels.csv; fi; \
	set -x; $(PYTHON) -m inchi_lightning predict --ckpt_path $(BEST) \
	  --data.predict_dir "$$images" --submission.output data/demo-submission.csv && \
	$(PYTHON) -m inchi_lightning score --submission data/demo-submission.csv --labels "$$labels"

test: $(STAMP)
	$(PYTHON) -m pytest

lint: $(STAMP)
	ruff check inchi_lightning tests bench scripts
	ruff format --check inchi_lightning tests bench scripts

clean:
	rm -rf .make data logs checkpoints/*/ submission.csv
