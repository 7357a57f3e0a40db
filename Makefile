# The README's two commands: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test test-fast chaos lint format install dev services web web-test browser crd-schemas cluster-hosts image clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
dev: $(VENV)/.installed-dev

## The web UI (frontend/, TypeScript + Vite) built into src/sugang/web/dist
frontend/node_modules/.installed: frontend/package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed to build the web UI (Node.js 20+)"; exit 1; }
	cd frontend && npm ci --no-fund --no-audit --loglevel=error
	touch $@

web: frontend/node_modules/.installed
	cd frontend && npm run --silent build

## The custom resources' published schemas (tests/deploy checks the K3s kit against them)
tests/deploy/crd-schemas/node_modules/.installed: tests/deploy/crd-schemas/package-lock.json
	cd tests/deploy/crd-schemas && npm ci --no-fund --no-audit --loglevel=error
	touch $@

crd-schemas: tests/deploy/crd-schemas/node_modules/.installed

web-test: frontend/node_modules/.installed
	cd frontend && npm test --silent

browser:
	bash scripts/test-browser.sh

cluster-hosts:
	bash scripts/test-cluster-hosts.sh

## Serve the embedded demo (SQLite) at http://127.0.0.1:8000
run: install web
	$(BIN)/sugang db upgrade
	$(BIN)/sugang seed --demo
	$(BIN)/sugang serve --host 127.0.0.1 --port 8000

## Every test, on SQLite and PostgreSQL (started or installed here if missing). The quick ones
## and the cluster's stand-in machines (waiting on SSH, not on the CPU) run on as many workers
## as there are cores; the other slow ones (servers, a browser, load) one at a time, as their
## audits of a rush assume the machine to themselves
test: dev services web web-test browser crd-schemas cluster-hosts
	$(BIN)/python -m pytest -m "not slow" -n auto -q
	$(BIN)/python -m pytest -m slow -n auto tests/cluster
	$(BIN)/python -m pytest -m slow --ignore=tests/cluster

## The quick loop while working: every test not marked slow (no real server processes, sshd,
## browser or load), on as many workers as there are cores (a database each)
test-fast: dev services
	$(BIN)/python -m pytest -m "not slow" -n auto -q

services:
	bash scripts/test-services.sh

## Every fault of docs/reliability.md injected into a full-size rush (as root; ~30 min):
## the table, chaos.json and a picture per scenario in chaos/
chaos: install cluster-hosts
	$(BIN)/sugang bench chaos --scenario all --json chaos.json --plot chaos

## The API's image for K3s: sugang:<version>, saved to dist/sugang-<version>.tar for
## `sugang cluster images import` (docs/k3s.md, section 3). CONTAINER=podman or buildah work too.
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
CONTAINER ?= docker
PLATFORM ?= linux/amd64
# the name in full: podman and buildah would otherwise call it localhost/sugang, which is not
# the docker.io/library/sugang the pods ask containerd for
IMAGE = docker.io/library/sugang:$(VERSION)
image:
	mkdir -p dist
ifeq ($(CONTAINER),buildah)
	buildah bud --platform $(PLATFORM) -t $(IMAGE) .
	buildah push $(IMAGE) docker-archive:dist/sugang-$(VERSION).tar:$(IMAGE)
else
	$(CONTAINER) build --platform $(PLATFORM) -t $(IMAGE) .
	$(CONTAINER) save -o dist/sugang-$(VERSION).tar $(IMAGE)
endif

lint: dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache sugang.db sugang.db-* \
		frontend/node_modules src/sugang/web/dist
