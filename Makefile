# keyraft — every target installs and builds what it needs first, so a fresh
# clone needs nothing but `make cluster` or `make test`.
SHELL := /bin/bash
SEEDS ?= 20000
FIRST_SEED ?= 1
WORKERS ?= 2

.PHONY: install build typecheck test sim cluster cluster-stop clean

install: node_modules/.installed

# npm ci only when package.json or the lock file changed since the last install.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

build: install
	npx tsc -p tsconfig.json

typecheck: install
	npx tsc -p tsconfig.json --noEmit

test: build
	npx tap

# A long deterministic simulation run; a failure prints the seed and the
# command that replays it.
sim: build
	node dist/test/sim/run.js --seeds $(SEEDS) --first $(FIRST_SEED) --workers $(WORKERS)

# Starts the local two-region cluster (cluster/local.json) in the background;
# data and logs go to cluster/.data/.
cluster: build
	scripts/cluster-up.sh

cluster-stop:
	scripts/cluster-stop.sh

clean:
	rm -rf dist .tap
