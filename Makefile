# keyraft — every target installs and builds what it needs first, so a fresh
# clone needs nothing but `make cluster` or `make test`.
SHELL := /bin/bash
SEEDS ?= 20000
FIRST_SEED ?= 1
WORKERS ?= 2
RUNS ?= 1
TIME ?= 30

.PHONY: install build typecheck test sim nemesis cluster cluster-stop geo-backlog clean api-types

install: node_modules/.installed

# npm ci only when package.json or the lock file changed since the last install.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

build: install
	npx tsc -p tsconfig.json

typecheck: install
	npx tsc -p tsconfig.json --noEmit

# The public API's message types (src/api/gen), generated from
# proto/keyraft/v1 by proto-loader's generator and committed, so a clean clone
# builds without this step; rerun it after changing a .proto
# (test/arch/api-types.test.ts fails until then).
api-types: install
	node scripts/gen-api-types.mjs

# Tests run compiled from dist/test: tap's TypeScript loader costs about a
# second per test file. dist/test is rebuilt from scratch so a deleted test
# cannot linger. `tap build` first: tap notices a changed plugin list only
# after a run that still loads the old one.
# One file from its source: npx tap --plugin @tapjs/typescript test/x.test.ts
test: install
	rm -rf dist/test
	npx tsc -p tsconfig.json
	npx tap build
	npx tap

# A long deterministic simulation run; a failure prints the seed and the
# command that replays it.
# Both simulators: the Raft core on its own, then the whole node (the real
# host loop, state machine and geo code on simulated disks, network and time).
sim: build
	node dist/test/sim/run.js --seeds $(SEEDS) --first $(FIRST_SEED) --workers $(WORKERS)
	node dist/test/sim/whole/run.js --seeds $(SEEDS) --first $(FIRST_SEED) --workers $(WORKERS)

# Jepsen-style runs on real local clusters (issue 6): RUNS runs of TIME
# seconds; a failure prints its seed, schedule and minimal history. REGIONS:
# alternate (odd seeds run two regions, where the whole primary region is
# killed and brought back; even seeds one region), one or both. SEED: the
# first seed (random when empty).
REGIONS ?= alternate
SEED ?=
nemesis: build
	node dist/scripts/nemesis.js --runs $(RUNS) --time $(TIME) --regions $(REGIONS) $(if $(SEED),--seed $(SEED),)

# Starts the local two-region cluster (cluster/local.json) in the background;
# data and logs go to cluster/.data/.
cluster: build
	scripts/cluster-up.sh

cluster-stop:
	scripts/cluster-stop.sh

# Benchmarks (not part of `make test`): keyraft against etcd and this machine's
# limits; flags go in BENCH_ARGS, e.g. make bench BENCH_ARGS='--duration 2 --concurrency 1,16'.
BENCH_ARGS ?=
bench: build
	node dist/scripts/bench/run.js $(BENCH_ARGS)

# Issue 19: the secondary region down for MINUTES under the heaviest write
# load; every primary node's peak RSS against its bound, and the catch-up after.
MINUTES ?= 10
geo-backlog: build
	node dist/scripts/geo-backlog.js --minutes $(MINUTES)

clean:
	rm -rf dist .tap
