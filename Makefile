# adde_nb: two commands do all set-up on a fresh machine with Python 3.11 —
#   make demo   (virtual env + install + the main job on the built-in synthetic data)
#   make test   (same set-up, then the notebook/package sync check, the notebooks and the tests)
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.adde-installed
PRESET ?= small
JOBS ?= 2

.PHONY: install demo test sync-check browser nbtest outputs study docs readme screenshots gpu-check clean-venv

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade -q pip 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -m pip install -q -e ".[dev]" 2>&1 | grep -v "^WARNING: Location" ; test $${PIPESTATUS[0]} -eq 0
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/adde demo --preset $(PRESET)

# nbdev-clean and nbdev-export must not change anything: the notebooks are the source of adde_nb/.
sync-check: $(STAMP)
	@before=$$(git status --porcelain -- nbs adde_nb README.md | md5sum; git diff -- nbs adde_nb README.md | md5sum); \
	$(BIN)/nbdev-clean && $(BIN)/nbdev-export && $(BIN)/python -c "from adde_nb.docs import make_readme; make_readme()" ; \
	after=$$(git status --porcelain -- nbs adde_nb README.md | md5sum; git diff -- nbs adde_nb README.md | md5sum); \
	if [ "$$before" != "$$after" ]; then echo "nbdev-clean / nbdev-export / make_readme changed files:"; git status --short -- nbs adde_nb README.md; exit 1; fi; \
	echo "sync-check: notebooks, adde_nb/ and README.md agree"

# The browser test drives the system's Chromium through Playwright (which downloads no browser of its own): install
# Debian's chromium where we can (root with apt-get); elsewhere that one test is skipped and says why.
browser:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	{ if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null && echo "browser: Debian's chromium installed") \
	    || echo "browser: could not install chromium: the browser test will be skipped"; \
	  else echo "browser: no Chromium and no way to install it here (needs root and apt-get): the browser test will be skipped"; fi; }

# Each notebook is one pytest test (nbdev's own test_nb with the tst_flags of pyproject.toml: what
# nbdev-test runs), beside the tests of the command line in tests/.
test: sync-check browser
	@$(BIN)/python -m pytest -n $(JOBS) --dist loadgroup -q -rs tests; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: the notebooks or tests/ are missing"; fi; exit $$rc

nbtest: $(STAMP)
	$(BIN)/nbdev-test --n-workers $(JOBS)

# Saved notebook outputs. `outputs`: the library notebooks (seconds each; the experiment notebooks' `#| slow` cells keep
# theirs). `study`: every notebook including the experiments' `#| slow` cells (about four hours on two CPU cores, estimated from its parts: they train
# their runs under runs/; 91 and 92 need ../shared/data), then the real datasets' photos are dropped from the outputs.
outputs: $(STAMP)
	$(BIN)/nbdev-test --save --n-workers 1
	$(BIN)/nbdev-clean

study: $(STAMP)
	$(BIN)/nbdev-test --save --n-workers 1 --flags slow --cell-timeout 7200 --do-print
	$(BIN)/python -c "from adde_nb.docs import drop_photo_outputs; print('photo outputs dropped:', drop_photo_outputs())"
	$(BIN)/nbdev-clean

# The GPU path (bf16 autocast, channels-last) that CI never takes: the `#| cuda` cells of nbs/94_gpu_check.ipynb train one
# epoch of the paper preset's AlexNet and ResNet18 at 224 px, check the features against float32 and time extraction per
# 1,000 images; the tables (runs/gpu_check/timings.md) are printed at the end. Without CUDA it says so and exits 0.
gpu-check: $(STAMP)
	@cuda=$$($(BIN)/python -c 'import torch; print(torch.cuda.is_available())') || exit 1; \
	if [ "$$cuda" != True ]; then echo "gpu-check: no CUDA device (torch.cuda.is_available() is False): skipped"; exit 0; fi; \
	rm -f runs/gpu_check/timings.md; \
	$(BIN)/nbdev-test nbs/94_gpu_check.ipynb --flags cuda --do-print && cat runs/gpu_check/timings.md

# The app's pictures in the docs and the README: a browser tour of `adde serve` on the demo's runs (after `make demo`).
RUNS ?= runs/demo
screenshots: $(STAMP) browser
	$(BIN)/python -c "from adde_nb.app import tour_runs; print(tour_runs('$(RUNS)', 'nbs/images/app')['seen'])"

readme: $(STAMP)
	$(BIN)/python -c "from adde_nb.docs import make_readme; print(make_readme())"

docs: $(STAMP)
	$(BIN)/adde docs --out _docs

clean-venv:
	rm -rf $(VENV)
