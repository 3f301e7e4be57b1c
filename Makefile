# Each target bootstraps .venv from pyproject.toml on first use (and when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-test
DEMO_STAMP := $(VENV)/.installed-demo
HUB_STAMP := $(VENV)/.installed-hub
# configurable-http-proxy (JupyterHub's proxy, from npm), kept in the venv with its npm cache
CHP := $(VENV)/node_modules/.bin/configurable-http-proxy

.PHONY: demo hub test lint bench bench-hub soak emulator screenshot clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# What the demo needs (JupyterLab) is a subset of what the tests need.
EXTENSION_CONFIG := jupyter_config/jupyter_server_config.d/onelake_contents.json
# The JupyterLab extension (labextension/, TypeScript) is built into onelake_contents/labextension by
# the package's build (hatch-jupyter-builder), and here again when its sources change. An editable
# install copies the build into the environment; a link makes JupyterLab load every rebuild instead.
LABEXT := onelake_contents/labextension/package.json
LABEXT_SOURCES := $(wildcard labextension/src/*.ts labextension/style/* labextension/schema/*) \
	labextension/package.json labextension/yarn.lock labextension/tsconfig.json
LABEXT_LINK := $(VENV)/share/jupyter/labextensions/onelake-contents
define enable_extension
	rm -rf $(LABEXT_LINK)
	ln -s $(CURDIR)/onelake_contents/labextension $(LABEXT_LINK)
endef

$(DEMO_STAMP): pyproject.toml $(EXTENSION_CONFIG) $(VENV)/bin/python
	$(BIN)/python -m pip install -q -e ".[demo]"
	$(enable_extension)
	touch $(DEMO_STAMP)

$(HUB_STAMP): pyproject.toml $(EXTENSION_CONFIG) $(VENV)/bin/python
	$(BIN)/python -m pip install -q -e ".[hub]"
	$(enable_extension)
	touch $(HUB_STAMP) $(DEMO_STAMP)

$(STAMP): pyproject.toml $(EXTENSION_CONFIG) $(VENV)/bin/python
	$(BIN)/python -m pip install -q -e ".[test]"
	$(enable_extension)
	touch $(STAMP) $(DEMO_STAMP) $(HUB_STAMP)

$(LABEXT): $(LABEXT_SOURCES) | $(DEMO_STAMP)
	cd labextension && PATH=$(CURDIR)/$(BIN):$$PATH jlpm install --immutable && PATH=$(CURDIR)/$(BIN):$$PATH jlpm build:prod

$(CHP): $(VENV)/bin/python
	npm install --prefix $(VENV) --cache $(VENV)/.npm-cache --no-fund --no-audit --silent configurable-http-proxy

# JupyterLab on an embedded OneLake (kept in .onelake-demo/), until Ctrl-C. `exec`: the demo is
# make's own child, so a SIGTERM sent to make reaches it (make forwards SIGTERM to its children).
demo: $(DEMO_STAMP) $(LABEXT)
	exec $(BIN)/onelake-contents demo --data-dir .onelake-demo $(ARGS)

# JupyterHub on an embedded OneLake with users alice, bob and carol, on http://127.0.0.1:8000 until
# Ctrl-C. ARGS="--layout files" gives everyone the root <item>/Files (home/<name> and shared/);
# ARGS="--port N" another port. It installs the hub extra only (not the test toolchain).
hub: $(HUB_STAMP) $(LABEXT) $(CHP)
	exec $(BIN)/python -m onelake_contents.hubdemo $(ARGS)

# The whole suite. pytest exits 5 when it collects nothing, which fails this target too.
test: $(STAMP) $(LABEXT) $(CHP) lint
	$(BIN)/python -m pytest

lint: $(STAMP) $(LABEXT)
	$(BIN)/ruff check onelake_contents tests benchmarks jupyter_config
	$(BIN)/ruff format --check onelake_contents tests benchmarks
	$(BIN)/lint-imports
	cd labextension && PATH=$(CURDIR)/$(BIN):$$PATH jlpm lint

# Requests per action and time under an injected RTT, against local disk and s3contents; writes
# benchmarks/RESULTS.md and benchmarks/latency-vs-rtt.png. ARGS="--rtt-ms 50" to change the RTT.
bench: $(STAMP)
	$(BIN)/python -m pip install -q -e ".[bench]"
	$(BIN)/python -m benchmarks.run --plot --check-budgets $(ARGS)

# The fault soak, longer than in `make test` (SOAK_OPS operations per worker, SOAK_WORKERS workers).
soak: $(STAMP)
	SOAK_OPS=$${SOAK_OPS:-2000} SOAK_WORKERS=$${SOAK_WORKERS:-8} $(BIN)/python -m pytest -q -s tests/reliability/test_soak.py

# A local OneLake on a free port, until Ctrl-C. Extra flags: make emulator ARGS="--data-dir .onelake-dev"
emulator: $(STAMP)
	$(BIN)/onelake-emulator $(ARGS)

# The README's screenshots, taken by the browser tests (the only target that writes into docs/).
screenshot: $(STAMP) $(LABEXT)
	ONELAKE_TEST_SCREENSHOT=$(CURDIR)/docs/jupyterlab-onelake.png $(BIN)/python -m pytest -q tests/browser -k "life_cycle or versions_preview or trash_restores"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info labextension/node_modules labextension/lib labextension/.yarn onelake_contents/labextension

# Many users through JupyterHub: 10 users opening and saving notebooks for 2 minutes at 25 ms RTT;
# updates the "Many users" section of benchmarks/RESULTS.md. ARGS="--users 20 --seconds 300".
bench-hub: $(STAMP) $(CHP)
	$(BIN)/python -m benchmarks.hub $(ARGS)
