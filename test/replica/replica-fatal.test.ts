// A broken Raft invariant stops the node: the core has already changed its
// state when it throws, so going on would serve from a state nobody can
// trust (etcd panics). The replica logs a fatal line naming the invariant,
// stops, fails what waits, refuses what comes, and tells its owner, which
// in a node shuts the process down. Here each input of the core that a
// node gives is tried, with the core's invariant check made to fail.

import t from 'tap';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { RaftInvariantError, type RawNode } from '../../src/raft/index.js';
import { ReplicaError } from '../../src/replica/errors.js';
import type { Replica } from '../../src/replica/replica.js';
import { singleLeader } from './harness.js';

/** A write's outcome: propose throws at once when it cannot take one. */
const write = async (r: Replica): Promise<unknown> => (async () => r.propose(new Uint8Array(8), 5000))().catch((e: unknown) => e);

const INPUTS: Record<string, (r: Replica) => unknown> = {
  tick: () => undefined, // the replica's own timer
  transferLeadership: (r) => r.transferLeadership('a'),
  reportUnreachable: (r) => r.reportUnreachable('b'),
  reportSnapshot: (r) => r.reportSnapshot('b', false),
  propose: write,
};

for (const [input, give] of Object.entries(INPUTS)) {
  t.test(`a broken invariant after ${input} stops the replica with a fatal line naming it`, async (t) => {
    const lines: { level: number; msg: string }[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string }), done()) }));
    const fatal: Error[] = [];
    const replica = await singleLeader(t, { logger, onFatal: (e) => fatal.push(e) });
    const waiting = write(replica);

    const raw = (replica as unknown as { raw: RawNode }).raw;
    // Only the input tried may meet the check: the replica's timer ticks the core every 10 ms.
    if (input !== 'tick') raw.tick = () => undefined;
    raw['raft'].assertInvariants = () => {
      throw new RaftInvariantError('planted: the commit index went backwards');
    };
    const answer = give(replica);
    const deadline = Date.now() + 5000;
    while (fatal.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));

    t.equal(fatal.length, 1, 'the owner is told once');
    t.ok(fatal[0] instanceof RaftInvariantError);
    t.ok(
      lines.some((l) => l.level === 60 && l.msg.includes('a Raft invariant broke: planted: the commit index went backwards')),
      'a fatal log line names the invariant',
    );
    if (input === 'propose') t.match(await answer, { reason: 'SHUTTING_DOWN' }, 'the proposal that broke it fails');
    const refused = await write(replica);
    t.ok(refused instanceof ReplicaError && refused.reason === 'SHUTTING_DOWN' && /planted/.test(refused.message), 'a later write is refused, saying why');
    const earlier = await waiting;
    t.ok(typeof earlier === 'number' || (earlier instanceof ReplicaError && earlier.reason === 'SHUTTING_DOWN'), 'a write that was waiting was applied before, or fails');
  });
}
