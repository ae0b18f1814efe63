// The check of a peer's message against this node's Raft state, before the
// core sees it (src/replica/peer-input.ts): one test per impossible input,
// and, where the core would break an invariant on it, proof that it does.
// The state comes from real nodes: `a` leads term 2, `b` and `c` follow it,
// every log ends at index 4 (term 2), all of it committed.

import fc from 'fast-check';
import t, { type Test } from 'tap';
import {
  ConfChangeTransition,
  ConfChangeType,
  EntryType,
  MessageType,
  RaftInvariantError,
  StateRole,
  encodeConfChange,
  message,
  type ConfState,
  type Entry,
  type Message,
  type SnapshotMeta,
} from '../../src/raft/index.js';
import { type PeerChannel, type PeerCheckState, peerMessageProblem } from '../../src/replica/peer-input.js';
import { WIRE_TYPES, wireMessageProblem } from '../../src/transport/peer-service.js';
import { bytes, electedNetwork, type Network } from '../raft/harness.js';

function network(): Network {
  const net = electedNetwork(['a', 'b', 'c'], { seed: 1 });
  net.propose('a', 'x', 'y');
  return net;
}

const net = network();
const leader = net.node('a').basicStatus();
const follower = net.node('b').basicStatus();

const entry = (index: number, term: number, type = EntryType.Normal, data: Uint8Array = new Uint8Array()): Entry => ({ index, term, type, data });
const conf = (c: Partial<ConfState> = {}): ConfState => ({ voters: ['a', 'b', 'c'], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false, ...c });
const snap = (meta: Partial<SnapshotMeta> = {}) => ({ meta: { index: 10, term: 2, conf: conf(), ...meta }, data: new Uint8Array() });

/** An append reply from b to the leader, as b would send it at term 2. */
const appResp = (fields: Partial<Message> = {}): Message => message({ type: MessageType.AppResp, from: 'b', to: 'a', term: 2, ...fields });
/** An append from the leader to b at term 2, after (4, 2). */
const app = (fields: Partial<Message> = {}): Message =>
  message({ type: MessageType.App, from: 'a', to: 'b', term: 2, index: 4, logTerm: 2, commit: 4, ...fields });
const snapMsg = (fields: Partial<Message> = {}): Message => message({ type: MessageType.Snap, from: 'a', to: 'b', term: 2, snapshot: snap(), ...fields });

/** The channel each type comes on from a correct peer. */
const channel = (m: Message): PeerChannel => (m.type === MessageType.Snap ? 'snapshot' : 'stream');

function refused(t: Test, m: Message, node: PeerCheckState, problem: RegExp): void {
  // Each case passes the transport's framing checks: only this check stands between it and the core.
  t.equal(wireMessageProblem(m, m.to, new Set(['a', 'b', 'c'].filter((id) => id !== m.to))), undefined, 'past the wire check');
  t.match(peerMessageProblem(m, node, channel(m)), problem);
}

function allowed(t: Test, m: Message, node: PeerCheckState, what: string): void {
  t.equal(peerMessageProblem(m, node, channel(m)), undefined, what);
}

t.test('what correct peers send passes', async (t) => {
  allowed(t, appResp({ index: 4 }), leader, 'an ack of our last index');
  allowed(t, appResp({ index: 3, reject: true, rejectHint: 2, logTerm: 2 }), leader, 'a rejection inside our log');
  allowed(t, appResp({ index: 9, term: 3 }), leader, 'a reply of a later term, which steps us down first');
  allowed(t, appResp({ index: 9 }), follower, 'a late reply to a node no longer leading, which the core ignores');
  allowed(t, app({ entries: [entry(5, 2), entry(6, 2)], commit: 4 }), follower, 'our leader appending');
  allowed(t, app({ term: 3, from: 'c', entries: [entry(5, 3)] }), follower, 'a new leader of a later term');
  allowed(t, message({ type: MessageType.Heartbeat, from: 'a', to: 'b', term: 2, commit: 4 }), follower, 'a heartbeat within our log');
  allowed(t, message({ type: MessageType.Heartbeat, from: 'c', to: 'b', term: 1, commit: 9 }), follower, 'a stale leader: it must hear our term to step down');
  allowed(t, snapMsg(), follower, 'a snapshot from our leader');
  allowed(t, message({ type: MessageType.ReadIndex, from: 'b', to: 'a', context: bytes('r1') }), leader, 'a forwarded read');
  allowed(t, message({ type: MessageType.TransferLeader, from: 'c', to: 'a' }), leader, 'a forwarded transfer');
  allowed(t, message({ type: MessageType.ReadIndexResp, from: 'a', to: 'b', term: 2, index: 4, context: bytes('r1') }), follower, "our leader's read answer");
  allowed(
    t,
    message({ type: MessageType.ReadIndexResp, from: 'c', to: 'b', term: 3, index: 4, context: bytes('r1') }),
    follower,
    'a read answered by a later leader, to which our former leader forwarded it',
  );
  allowed(t, message({ type: MessageType.TimeoutNow, from: 'a', to: 'b', term: 2 }), follower, 'our leader handing over');
  allowed(t, message({ type: MessageType.Vote, from: 'c', to: 'b', term: 3, index: 4, logTerm: 2 }), follower, 'a campaign');
  allowed(t, message({ type: MessageType.HeartbeatResp, from: 'b', to: 'a', term: 2 }), leader, 'a heartbeat answer without a read');
  const cc = encodeConfChange({ changes: [{ type: ConfChangeType.AddLearner, node: 'd' }], transition: ConfChangeTransition.Auto });
  allowed(t, app({ entries: [entry(5, 2, EntryType.ConfChange, cc)] }), follower, 'a conf change entry');
  const joint = conf({ votersOutgoing: ['a', 'b', 'c'], voters: ['a', 'b'], learnersNext: ['c'], autoLeave: true });
  allowed(t, snapMsg({ snapshot: snap({ conf: joint }) }), follower, 'a snapshot taken in a joint config');
});

t.test('an append reply that acknowledges an index past our log', async (t) => {
  refused(t, appResp({ index: 1000 }), leader, /acknowledges index 1000, past our last index 4/);
  t.throws(() => network().node('a').step(appResp({ index: 1000 })), RaftInvariantError, 'the core: progress matches beyond the leader’s log');
});

t.test('an append reply that rejects an append at an index past our log', async (t) => {
  refused(t, appResp({ index: 1000, reject: true, rejectHint: 999 }), leader, /rejects an append at 1000, past our last index 4/);
});

t.test('a heartbeat that commits past our log', async (t) => {
  refused(t, message({ type: MessageType.Heartbeat, from: 'a', to: 'b', term: 2, commit: 9 }), follower, /heartbeat commits 9, past our last index 4/);
  refused(t, message({ type: MessageType.Heartbeat, from: 'c', to: 'b', term: 3, commit: 9 }), follower, /heartbeat commits 9/);
});

t.test("a leader's message at our term from a node that does not lead it", async (t) => {
  for (const type of [MessageType.App, MessageType.Heartbeat, MessageType.ReadIndexResp, MessageType.TimeoutNow]) {
    const m = message({ type, from: 'c', to: 'b', term: 2, context: bytes('r1') });
    refused(t, m, follower, new RegExp(`${type} from c as leader of term 2, which a leads`));
  }
  refused(t, snapMsg({ from: 'c' }), follower, /Snap from c as leader of term 2, which a leads/);
  refused(t, message({ type: MessageType.App, from: 'b', to: 'a', term: 2, index: 4, logTerm: 2 }), leader, /App from b as leader of term 2, which we lead/);
});

t.test('a leadership hand-over from a term we never followed', async (t) => {
  refused(t, message({ type: MessageType.TimeoutNow, from: 'c', to: 'b', term: 3 }), follower, /TimeoutNow of term 3, a term we never followed/);
});

t.test('a message without a term, but a forwarded one', async (t) => {
  refused(t, message({ type: MessageType.Vote, from: 'a', to: 'b', term: 0, index: 100, logTerm: 100 }), follower, /Vote without a term/);
  t.throws(
    () => network().node('b').step(message({ type: MessageType.Vote, from: 'a', to: 'b', term: 0, index: 100, logTerm: 100 })),
    RaftInvariantError,
    'the core: a vote answered at term 0',
  );
  for (const type of [MessageType.PreVote, MessageType.VoteResp, MessageType.PreVoteResp, MessageType.HeartbeatResp, MessageType.Heartbeat]) {
    refused(t, message({ type, from: 'c', to: 'b', term: 0 }), follower, new RegExp(`${type} without a term`));
  }
  refused(t, appResp({ term: 0, index: 4 }), leader, /AppResp without a term/);
});

t.test('a forwarded request that carries a term', async (t) => {
  refused(t, message({ type: MessageType.ReadIndex, from: 'b', to: 'a', term: 7, context: bytes('r1') }), leader, /forwarded ReadIndex carries term 7/);
  refused(t, message({ type: MessageType.TransferLeader, from: 'b', to: 'a', term: 7 }), leader, /forwarded TransferLeader carries term 7/);
});

t.test('a read without its context', async (t) => {
  refused(t, message({ type: MessageType.ReadIndex, from: 'b', to: 'a' }), leader, /ReadIndex without a read context/);
  refused(t, message({ type: MessageType.ReadIndexResp, from: 'a', to: 'b', term: 2, index: 4 }), follower, /ReadIndexResp without a read context/);
});

t.test('entries whose terms go down', async (t) => {
  const inside = app({ entries: [entry(5, 2), entry(6, 1)] });
  refused(t, inside, follower, /entry 6 of term 1 follows term 2/);
  t.throws(() => network().node('b').step(inside), RaftInvariantError, 'the core: a term below the previous entry’s');
  const first = app({ entries: [entry(5, 1)] });
  refused(t, first, follower, /entry 5 of term 1 follows term 2/);
  t.throws(() => network().node('b').step(first), RaftInvariantError, 'the core: the first entry below the one it follows');
});

t.test('an entry without a term', async (t) => {
  refused(t, app({ index: 0, logTerm: 0, entries: [entry(1, 0)] }), follower, /entry 1 without a term/);
});

t.test('an entry of an unknown type', async (t) => {
  refused(t, app({ entries: [entry(5, 2, 7 as EntryType)] }), follower, /entry 5 of unknown type 7/);
});

t.test('a conf change entry that does not decode', async (t) => {
  const cases: [unknown, RegExp][] = [
    ['{not json', /not JSON/],
    [[1, 2], /without changes/],
    [{ changes: [] }, /unknown transition/],
    [{ changes: 'x', transition: 'auto' }, /without changes/],
    [{ changes: [{ type: 'promote', node: 'd' }], transition: 'auto' }, /unknown change type "promote"/],
    [{ changes: [{ type: 'addVoter', node: '' }], transition: 'auto' }, /names no node/],
    [{ changes: [{ type: 'addVoter', node: 5 }], transition: 'auto' }, /names no node/],
    [{ changes: [null], transition: 'auto' }, /not an object/],
    ['null', /not an object/],
  ];
  for (const [cc, problem] of cases) {
    const data = typeof cc === 'string' ? bytes(cc) : bytes(JSON.stringify(cc));
    refused(t, app({ entries: [entry(5, 2, EntryType.ConfChange, data)] }), follower, problem);
  }
});

t.test('a snapshot whose position is not a log position', async (t) => {
  for (const meta of [{ index: 0 }, { term: 0 }, { index: Number.NaN }, { index: 2 ** 60 }, { term: 1.5 }, { index: -3 }]) {
    t.match(peerMessageProblem(snapMsg({ snapshot: snap(meta) }), follower, 'snapshot'), /not a log position/, JSON.stringify(meta));
  }
});

t.test('a snapshot of a term past its sender’s', async (t) => {
  const m = snapMsg({ snapshot: snap({ term: 5 }) });
  refused(t, m, follower, /snapshot of term 5 from a leader of term 2/);
  // Installed, it leaves b with a last term past its own: its first entry as
  // leader would go down in term.
  const n = network();
  n.node('b').step(m);
  n.dropIf((x) => x.to === 'a' && x.from === 'b' && x.type === MessageType.AppResp);
  n.process('b');
  n.node('b').step(message({ type: MessageType.TimeoutNow, from: 'a', to: 'b', term: 2 }));
  t.throws(() => n.stabilize(), RaftInvariantError, 'the core: b elected, appends an entry of term 3 after term 5');
});

t.test('a snapshot membership the core would not install', async (t) => {
  const learnerVoter = snapMsg({ snapshot: snap({ conf: conf({ learners: ['a'] }) }) });
  refused(t, learnerVoter, follower, /snapshot membership: learner a is also a voter/);
  t.throws(() => network().node('b').step(learnerVoter), RaftInvariantError, 'the core: a learner that is also a voter');
  refused(t, snapMsg({ snapshot: snap({ conf: conf({ learnersNext: ['c'] }) }) }), follower, /next learner c must be an outgoing voter only/);
  refused(t, snapMsg({ snapshot: snap({ conf: conf({ autoLeave: true }) }) }), follower, /joint-only fields set outside a joint config/);
  refused(t, snapMsg({ snapshot: snap({ conf: conf({ voters: [], learners: ['a'] }) }) }), follower, /snapshot membership without voters/);
  refused(t, snapMsg({ snapshot: snap({ conf: conf({ voters: [] }) }) }), follower, /snapshot membership without voters/);
  refused(t, snapMsg({ snapshot: snap({ conf: conf({ voters: ['a', ''] }) }) }), follower, /snapshot membership names no node/);
});

t.test('a snapshot on the wrong stream', async (t) => {
  // The replica installs only what it staged from a snapshot stream: one
  // arriving on the Raft stream would stop its Ready loop.
  t.match(peerMessageProblem(snapMsg(), follower, 'stream'), /a snapshot outside the snapshot stream/);
  t.match(peerMessageProblem(app({ snapshot: snap() }), follower, 'snapshot'), /App on the snapshot stream/);
  t.match(peerMessageProblem(snapMsg({ snapshot: undefined }), follower, 'snapshot'), /without a snapshot/);
});

t.test('whatever passes the transport and this check, the core takes without breaking an invariant', async (t) => {
  // The rules above come from reading the core; this searches for what the
  // reading missed. One message from a peer into a node in some state, then
  // the group runs on: nothing may throw.
  const ids = ['a', 'b', 'c'];
  const states: Record<string, () => Network> = {
    'a leads': network,
    // a led term 2 alone for a while: it holds an entry of term 2 that the
    // leader of term 3 never had, and has just heard of term 3.
    'a follows with a diverged tail': () => {
      const n = network();
      n.isolate('a');
      n.propose('a', 'lost');
      n.tickUntil(() => n.role('b') === StateRole.Leader || n.role('c') === StateRole.Leader, ['b', 'c']);
      n.propose(n.leader()!, 'z');
      n.heal();
      n.dropIf((m) => m.to === 'a' && m.type === MessageType.App);
      n.tick(['b', 'c'], 1);
      n.heal();
      return n;
    },
    'c campaigns': () => {
      const n = network();
      n.isolate('c');
      n.tickUntil(() => n.role('c') !== StateRole.Follower, ['c']);
      n.heal();
      return n;
    },
  };
  const diverged = states['a follows with a diverged tail']!();
  t.same(diverged.log('a').at(-1), { index: 5, term: 2, data: 'lost' }, 'a holds an entry of term 2 at 5');
  t.equal(diverged.role('a'), StateRole.Follower, 'a follows');
  t.equal(diverged.term('a'), 3, 'in term 3');
  t.equal(diverged.log(diverged.leader()!).find((e) => e.index === 5)?.term, 3, 'whose leader has another entry at 5');
  t.equal(states['c campaigns']!().role('c'), StateRole.PreCandidate, 'c campaigns');
  const types = [...WIRE_TYPES] as MessageType[];
  // Numbers near the states' own (terms 2 and 3, logs to about index 6), so
  // that many messages are possible ones and reach the core.
  const small = fc.integer({ min: 0, max: 9 });
  const term = fc.integer({ min: 0, max: 4 });
  const arbConf = fc.oneof(
    fc.constantFrom(conf(), conf({ voters: ['a', 'b'], learners: ['c'] }), conf({ voters: ['b', 'c', 'd'] }), conf({ voters: ['a', 'b'], votersOutgoing: ids, learnersNext: ['c'], autoLeave: true })),
    fc.record({
      voters: fc.subarray(ids),
      votersOutgoing: fc.subarray(ids),
      learners: fc.subarray([...ids, 'd']),
      learnersNext: fc.subarray(ids),
      autoLeave: fc.boolean(),
    }),
  );
  const arbMessage = fc.record({
    state: fc.constantFrom(...Object.keys(states)),
    to: fc.constantFrom(...ids),
    from: fc.constantFrom(...ids),
    type: fc.constantFrom(...types),
    term,
    /** Forwarded requests travel without a term. */
    forwardedTerm: fc.constantFrom(0, 0, 0, 2),
    logTerm: term,
    index: small,
    commit: small,
    reject: fc.boolean(),
    rejectHint: small,
    entryTerms: fc.oneof(fc.array(term, { maxLength: 4 }).map((terms) => terms.sort()), fc.array(term, { maxLength: 4 })),
    entryType: fc.constantFrom(EntryType.Normal, EntryType.ConfChange),
    snapshot: fc.record({ index: small, term, conf: arbConf }),
    context: fc.option(fc.constant(bytes('r1')), { nil: undefined, freq: 5 }),
    /** Set: term, index and logTerm taken near the receiver's own, as most real traffic is. */
    near: fc.option(fc.record({ termDelta: fc.integer({ min: -1, max: 1 }), back: fc.integer({ min: 0, max: 3 }) }), { nil: undefined }),
  });
  const reached = new Map<MessageType, number>();
  let livelocks = 0;
  // PEER_INPUT_SEED and PEER_INPUT_RUNS search further than the default run.
  fc.assert(
    fc.property(arbMessage, (g) => {
      if (g.from === g.to) return;
      const n = states[g.state]!();
      let { term, index, logTerm, entryTerms } = g;
      if (g.near !== undefined) {
        const log = n.node(g.to)['raft'].log;
        term = Math.max(1, n.term(g.to) + g.near.termDelta);
        index = Math.max(log.snapshot.meta.index, log.lastIndex - g.near.back);
        logTerm = log.term(index)!;
        entryTerms = entryTerms.map((et) => Math.min(et, term));
      }
      const cc = encodeConfChange({ changes: [{ type: ConfChangeType.AddLearner, node: 'c' }], transition: ConfChangeTransition.Auto });
      const entries = entryTerms.map((et, k) => entry(index + 1 + k, et, g.entryType, g.entryType === EntryType.ConfChange ? cc : new Uint8Array()));
      const forwarded = g.type === MessageType.ReadIndex || g.type === MessageType.TransferLeader;
      const m = message({
        ...g,
        term: forwarded ? g.forwardedTerm : term,
        index,
        logTerm,
        entries,
        snapshot: { meta: g.snapshot, data: new Uint8Array() },
      });
      if (wireMessageProblem(m, g.to, new Set(ids.filter((id) => id !== g.to))) !== undefined) return;
      if (peerMessageProblem(m, n.node(g.to).basicStatus(), channel(m)) !== undefined) return;
      reached.set(m.type, (reached.get(m.type) ?? 0) + 1);
      // As in a real group, every node checks what it is sent: a forged
      // message may leave its receiver believing, and then claiming, what
      // the others must refuse.
      n.dropIf((x) => peerMessageProblem(x, n.node(x.to).basicStatus(), channel(x)) !== undefined);
      n.node(g.to).step(m);
      try {
        n.tick(ids, 30);
      } catch (e) {
        // A lie no node can check (the leader misstating its own log, a
        // follower acknowledging a slot of the leader's log it does not hold)
        // can leave a leader and a follower retrying the same append forever,
        // as in etcd. Liveness under forged input is not promised; no crash is.
        if (!(e instanceof Error && /does not settle/.test(e.message))) throw e;
        livelocks++;
      }
    }),
    { numRuns: Number(process.env.PEER_INPUT_RUNS ?? 5000), seed: Number(process.env.PEER_INPUT_SEED ?? 17) },
  );
  for (const type of types) t.ok((reached.get(type) ?? 0) >= 10, `${type}: ${reached.get(type) ?? 0} reached the core`);
  t.comment(`${livelocks} runs left a leader and a follower retrying forever`);
});
