// Proves the simulator's checkers can fail: each case copies the consensus
// core, breaks one safety rule in the copy, and asserts that the simulation
// finds a violation and reports the seed that replays it.

import t from 'tap';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Core } from './core.js';
import { formatFailure, runSeed } from './simulation.js';

const RAFT_DIR = fileURLToPath(new URL('../../src/raft/', import.meta.url));
// The core is copied from beside this test: src/raft/*.ts when run from the
// sources, dist/src/raft/*.js when run compiled. tsc moves the body of a
// one-line `if` to its own line, so a find string stops at the condition.
const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const MAX_SEEDS = 400;

interface PlantedBug {
  readonly name: string;
  readonly file: string;
  readonly find: string;
  readonly replace: string;
  /** The checker expected to catch it. */
  readonly expect: RegExp;
  /** Where the search for a failing seed starts. */
  readonly firstSeed?: number;
  readonly maxSeeds?: number;
}

const bugs: PlantedBug[] = [
  {
    name: 'votes granted without the log up-to-date check (§5.4.1)',
    file: 'raft',
    find: 'const logOk = this.log.isUpToDate(m.index, m.logTerm);',
    replace: 'const logOk = true;',
    expect: /leader completeness|state machine safety|acknowledged write|stale read/,
  },
  {
    name: 'ReadIndex answered without a heartbeat round (§6.4)',
    file: 'readonly',
    find: 'if (this.isSingleVoter) {',
    replace: 'if (this.isSingleVoter || true) {',
    expect: /stale read/,
  },
  {
    name: 'appends accepted without checking the previous entry (§5.3)',
    file: 'log',
    find: 'if (!this.matchTerm(prevIndex, prevTerm))',
    replace: 'if (prevIndex > this.lastIndex)',
    expect: /log matching|state machine safety|leader completeness|acknowledged write|core threw/,
  },
  {
    // The paper's Figure 8: rare, since it needs a leader to die right after
    // an old entry reaches a majority and before its own entry does. A search
    // over seeds 1..20000 first hit it at 4050; the search starts near there
    // to keep the suite short.
    name: 'a previous-term entry committed by counting replicas (§5.4.2, Figure 8)',
    file: 'raft',
    find: 'if (!this.log.maybeCommit(index, this.term))',
    replace: 'if (!this.log.maybeCommit(index, this.log.term(index) ?? -1))',
    expect: /leader completeness|state machine safety|acknowledged write/,
    firstSeed: 4001,
    maxSeeds: 2000,
  },
  {
    // A leader goes on while its own write is in flight (advance(true)); here
    // it counts its own copy at once, so a quorum can be it and one follower
    // before the entry is on its disk, and a crash in that window loses an
    // answered write (the seeds where a leader's disk is slow find it).
    name: "a leader's own copy counted before its write is on disk (asynchronous storage writes)",
    file: 'rawnode',
    find: 'if (last !== undefined && !persistLater) {',
    replace: 'if (last !== undefined) {',
    expect: /leader completeness|state machine safety|acknowledged write/,
  },
  {
    // Seeds whose limit is below the probe write's size: a leader that
    // refuses a proposal larger than the limit even with an empty tail never
    // takes that write.
    name: 'a proposal past maxUncommittedBytes refused though nothing waits to commit (etcd increaseUncommittedSize)',
    file: 'raft',
    find: 'if (this.uncommittedBytes > 0 && bytes > 0 && this.uncommittedBytes + bytes > limit) {',
    replace: 'if (bytes > 0 && this.uncommittedBytes + bytes > limit) {',
    expect: /liveness/,
  },
];

async function plantedCore(bug: PlantedBug, dir: string): Promise<Core> {
  cpSync(RAFT_DIR, dir, { recursive: true });
  // The copy is ESM TypeScript like the original.
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  const path = join(dir, bug.file + EXT);
  const source = readFileSync(path, 'utf8');
  if (!source.includes(bug.find)) throw new Error(`the line to break is gone from ${bug.file}: ${bug.find}`);
  writeFileSync(path, source.replace(bug.find, bug.replace));
  return (await import(pathToFileURL(join(dir, 'index' + EXT)).href)) as Core;
}

for (const bug of bugs) {
  t.test(`the simulator catches: ${bug.name}`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'keyraft-planted-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const core = await plantedCore(bug, dir);
    let failed;
    const first = bug.firstSeed ?? 1;
    const count = bug.maxSeeds ?? MAX_SEEDS;
    for (let seed = first; seed < first + count && failed === undefined; seed++) {
      const r = runSeed(seed, core);
      if (!r.ok) failed = r;
    }
    if (failed === undefined) {
      t.fail(`no violation in seeds ${first}..${first + count - 1}`);
      return;
    }
    t.match(failed.violation, bug.expect, `seed ${failed.seed}: ${failed.violation}`);
    const report = formatFailure(failed);
    t.match(report, `FAIL seed ${failed.seed}:`, 'the report names the seed');
    t.match(report, `--seed ${failed.seed}`, 'the report gives the replay command');
    // Replaying the seed gives the same violation: the run is deterministic.
    t.equal(runSeed(failed.seed, core).violation, failed.violation);
  });
}
