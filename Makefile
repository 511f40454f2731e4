# The front door. `make run` starts the embedded stack; `make test` installs what it needs and runs everything.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
UV = $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
SOURCES := $(wildcard libs/*/src) $(wildcard services/*)
PROJECTS := pyproject.toml $(wildcard libs/*/pyproject.toml) $(wildcard services/*/pyproject.toml)
RUNTIME_PROJECTS := libs/common/pyproject.toml $(wildcard services/*/pyproject.toml)

.PHONY: install run migrate test lint bench traces metrics dlq schemas routes manifests register lock demo clean fuzz soak

install: $(VENV)/.installed

# Third-party packages come only from the hash-checked lock; our own code is put on the path by a .pth file,
# so nothing is built and nothing unpinned is fetched. Everything is compiled to bytecode once here: a shell with
# PYTHONDONTWRITEBYTECODE set would otherwise compile every module again in every process a stack starts.
$(VENV)/.installed: requirements.lock $(PROJECTS)
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || \
		$(PYTHON) -m pip install --quiet --user uv || $(PYTHON) -m pip install --quiet --user --break-system-packages uv
	@test -x $(PY) || $(UV) venv --quiet --python $(PYTHON) $(VENV)
	$(UV) pip sync --quiet --python $(PY) --require-hashes --compile-bytecode requirements.lock
	@printf '%s\n' $(abspath $(SOURCES)) > $$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/verbinding.pth
	@$(PY) -m compileall -q -j 0 $(SOURCES) >/dev/null
	@touch $@

run: install  ## start the embedded stack in the foreground (Ctrl-C stops it); REPLICAS=intake=2,case-plan=2 for more processes
	$(PY) -m verbinding_devstack.cli run $(if $(REPLICAS),--replicas $(REPLICAS))

migrate: install  ## run every service's Alembic migrations
	$(PY) -m verbinding_devstack.cli migrate

test: install lint  ## lint, contract checks and the whole test suite, in parallel (TEST_PROCESSES=1 for one process)
	$(PY) -m pytest -n $(or $(TEST_PROCESSES),4) --dist loadscope --durations=25

lint: install
	$(PY) -m ruff check .

fuzz: install  ## a longer property-based fuzz of the gateway's OpenAPI (FUZZ_EXAMPLES per operation and role mix)
	VERBINDING_FUZZ_EXAMPLES=$(or $(FUZZ_EXAMPLES),500) $(PY) -m pytest services/gateway/tests/test_gateway_openapi_fuzz.py -q

soak: install  ## the replicas scenario at full size: SOAK_RECOGNITIONS (10,000) through two processes each, kills included
	VERBINDING_SOAK_RECOGNITIONS=$(or $(SOAK_RECOGNITIONS),10000) $(PY) -m pytest tests/e2e/test_replicas.py -q -p no:cacheprovider

bench: install  ## benchmarks: print figures, never fail on timings
	$(PY) -m bench

traces: install  ## list recorded traces, or show one: make traces TRACE=<id>
	$(PY) -m verbinding_devstack.cli traces $(TRACE)

metrics: install  ## one screen of every running service's /metrics (start `make run` first)
	$(PY) -m verbinding_devstack.metrics_summary

dlq: install  ## dead letters: make dlq ARGS="list <topic>" or ARGS="replay <topic> --event-id ID|--all"
	$(PY) -m verbinding_devstack.cli dlq $(ARGS)

schemas: install  ## event JSON Schemas (tests/contract/schemas) and the event catalogue (docs/events.md, docs/asyncapi.yaml)
	$(PY) -m verbinding_devstack.schemas .

routes: install  ## the routes each service declares public, as the gateway mounts them (services/gateway/gateway/published/)
	$(PY) -m verbinding_devstack.published .

manifests: install  ## each service's Kubernetes folder (deploy/k8s/base/services/) from its settings and the event catalogue
	$(PY) -m verbinding_devstack.manifests .

register: install  ## the register of processing (docs/register-of-processing.md) from what each service declares of personal data
	$(PY) -m verbinding_devstack.register .

lock:  ## re-pin every dependency (versions and hashes, no download addresses); requirements-runtime.lock is what images install
	$(UV) pip compile $(PROJECTS) --group pyproject.toml:dev --generate-hashes --no-emit-package verbinding-common \
		--no-emit-package verbinding-devstack --no-emit-package verbinding-testing \
		--no-header --quiet -o requirements.lock
	grep -oE '^[A-Za-z0-9_.-]+==[^ ]+' requirements.lock > $(VENV)/lock-constraints.txt
	$(UV) pip compile $(RUNTIME_PROJECTS) --constraint $(VENV)/lock-constraints.txt --generate-hashes \
		--no-emit-package verbinding-common --no-header --quiet -o requirements-runtime.lock

clean:
	rm -rf $(VENV)

demo: install  ## the whole story on a running stack (start `make run` first, in another terminal); GATEWAY=<url> for another
	$(PY) scripts/demo.py $(if $(GATEWAY),--gateway $(GATEWAY))
