// The core checks its own invariants and throws RaftInvariantError the moment
// one breaks (a bug, never a user error), instead of carrying on corrupted.

import t from 'tap';
import {
  DEFAULT_CONFIG,
  EntryType,
  MessageType,
  RaftInvariantError,
  RawNode,
  bootstrapState,
  message,
  type Entry,
  type Snapshot,
} from '../../src/raft/index.js';
import { RaftLog } from '../../src/raft/log.js';
import { Inflights } from '../../src/raft/progress.js';
import { bytes, electedNetwork, seeded } from './harness.js';

const entry = (index: number, term: number): Entry => ({ index, term, type: EntryType.Normal, data: new Uint8Array() });
const boot = bootstrapState(['a', 'b', 'c']);

/** Snapshot at 1 (term 1), entries 2..5 of term 2, committed through 4. */
function log(): RaftLog {
  return new RaftLog(boot.snapshot, [2, 3, 4, 5].map((i) => entry(i, 2)), 4, 1);
}

t.test('invariant: appending over a committed entry throws at once (§5.4 log matching / leader completeness)', async (t) => {
  const l = log();
  t.throws(() => l.append([entry(4, 3)]), RaftInvariantError, 'overwriting committed index 4');
  t.throws(() => l.append([entry(4, 3)]), /would overwrite committed 4/);
  t.equal(l.term(4), 2, 'the log is untouched');
  t.equal(l.lastIndex, 5);
  l.append([entry(5, 3)]); // the uncommitted entry may be replaced
  t.equal(l.term(5), 3);
});

t.test('invariant: a leader’s append that conflicts with a committed entry throws', async (t) => {
  const l = log();
  t.throws(() => l.maybeAppend(2, 2, 4, [entry(3, 3), entry(4, 3)]), RaftInvariantError, 'conflict at 3 <= commit 4');
  t.equal(l.term(3), 2, 'nothing was overwritten');
});

t.test('invariant: the log stays contiguous and its terms never decrease', async (t) => {
  const l = log();
  t.throws(() => l.append([entry(7, 2)]), RaftInvariantError, 'a gap after the last index');
  t.throws(() => l.append([entry(6, 2), entry(8, 2)]), RaftInvariantError, 'a hole inside the batch');
  t.throws(() => l.append([entry(6, 1)]), RaftInvariantError, 'a term below the previous entry’s');
  t.equal(l.lastIndex, 5);
});

t.test('invariant: commit and compaction cursors stay within bounds', async (t) => {
  const l = log();
  t.throws(() => l.commitTo(6), RaftInvariantError, 'commit beyond the last index');
  t.throws(() => l.appliedTo(5), RaftInvariantError, 'applied beyond commit');
  const snap: Snapshot = { meta: { index: 3, term: 2, conf: boot.conf }, data: new Uint8Array() };
  t.throws(() => l.compact(snap), RaftInvariantError, 'compaction beyond what is applied');
  l.appliedTo(3);
  t.throws(() => l.compact({ ...snap, meta: { ...snap.meta, term: 7 } }), RaftInvariantError, 'a snapshot whose term disagrees with the log');
  l.compact(snap);
  t.equal(l.firstIndex, 4, 'a valid compaction goes through');
  t.throws(() => new RaftLog(boot.snapshot, [entry(2, 2)], 3, 1), RaftInvariantError, 'a persisted commit beyond the persisted log');
});

t.test('invariant: ready() twice without advance(), or advance() without ready(), throws', async (t) => {
  const n = new RawNode({ ...DEFAULT_CONFIG, id: 'a', random: seeded(1) }, boot);
  n.campaign();
  t.ok(n.hasReady());
  n.ready();
  t.throws(() => n.ready(), RaftInvariantError, 'a second ready() before advance()');
  t.throws(() => n.ready(), /before advance/);
  n.advance();
  t.throws(() => n.advance(), RaftInvariantError, 'advance() with no Ready outstanding');
  n.ready();
  n.advance();
});

t.test('invariant: local message types cannot come from the network', async (t) => {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  for (const type of [MessageType.Hup, MessageType.Beat, MessageType.SnapStatus, MessageType.Unreachable]) {
    t.throws(() => net.node('b').step(message({ type, from: 'a', to: 'b', term: 2 })), RaftInvariantError, `${type} refused`);
  }
  t.throws(() => net.node('a').readIndex(new Uint8Array()), RaftInvariantError, 'a read needs a context to be told apart');
  net.node('a').readIndex(bytes('ok'));
});

t.test('invariant: the in-flight window never overflows', async (t) => {
  const w = new Inflights(2);
  w.add(3, 0);
  w.add(5, 0);
  t.throws(() => w.add(6, 0), RaftInvariantError, 'a third append into a window of two');
  w.freeLE(3);
  t.throws(() => w.add(4, 0), RaftInvariantError, 'appends are tracked in order');
  w.add(7, 0);
  t.equal(w.count, 2);
});

t.test('invariant: a bad configuration is refused when the node starts', async (t) => {
  t.throws(
    () => new RawNode({ ...DEFAULT_CONFIG, id: 'a', random: seeded(1), electionTick: 1, heartbeatTick: 1 }, boot),
    RaftInvariantError,
    'election tick must exceed heartbeat tick',
  );
  t.throws(() => new RawNode({ ...DEFAULT_CONFIG, id: '', random: seeded(1) }, boot), RaftInvariantError, 'a node needs an id');
  const learnerAndVoter = { ...boot.conf, learners: ['a'] };
  t.throws(
    () => new RawNode({ ...DEFAULT_CONFIG, id: 'a', random: seeded(1) }, { ...boot, conf: learnerAndVoter }),
    RaftInvariantError,
    'a node cannot be both voter and learner',
  );
});
