// A leader's appends to the followers a commit does not wait on are held
// HOLD_APPENDS_MS, while enough others are caught up; never those to a
// follower a commit needs, and what was held leaves first once it may not wait.

import t from 'tap';
import { EntryType, MessageType, message, type FollowerReplication, type Message } from '../../src/raft/index.js';
import { HOLD_APPENDS_MS, HeldAppends, followersThatMayWait } from '../../src/replica/held-appends.js';
import { FakeClock } from '../geo/fakes.js';

/** A follower that acknowledged `match` and was sent up to `sent`. */
const f = (id: string, match: number, sent = match, replicating = true) => ({ id, match, next: sent + 1, replicating });
const view = (needed: number, ...followers: ReturnType<typeof f>[]): FollowerReplication => ({ needed, followers });
const waiting = (v: FollowerReplication | undefined, fresh = 0) => [...followersThatMayWait(v, fresh)].sort();

t.test('with three voters, the first caught-up follower by id is the one a commit waits on', async (t) => {
  t.same(waiting(view(1, f('c', 9), f('b', 9))), ['c'], 'both caught up: c waits');
  t.same(waiting(view(1, f('b', 9, 10), f('c', 9)), 1), ['c'], 'the entry just appended does not count against b');
  t.same(waiting(view(1, f('b', 8, 10), f('c', 9, 10)), 1), ['b'], 'b has an older append in flight: c is the one a commit waits on');
  t.same(waiting(view(1, f('b', 8, 10), f('c', 8, 10)), 1), [], 'neither is caught up (under load): nobody waits');
  t.same(waiting(view(1, f('b', 9, 9, false), f('c', 9))), [], 'b is being probed: c alone may commit, so c does not wait, nor does b');
});

t.test('five voters: two followers are needed, the others wait; nothing without a leader view', async (t) => {
  t.same(waiting(view(2, f('b', 9), f('c', 9), f('d', 9), f('e', 9))), ['d', 'e']);
  t.same(waiting(view(2, f('b', 7, 9), f('c', 9), f('d', 9), f('e', 9))), ['b', 'e'], 'c and d are the first caught up');
  t.same(waiting(view(2, f('b', 7, 9), f('c', 7, 9), f('d', 9), f('e', 7, 9))), [], 'one caught up is not enough');
  t.same(waiting(undefined), []);
  t.same(waiting(view(0)), [], 'a single voter has no followers to weigh');
});

const append = (to: string, index: number): Message =>
  message({ type: MessageType.App, from: 'a', to, term: 2, index: index - 1, logTerm: 2, commit: index - 1, entries: [{ index, term: 2, type: EntryType.Normal, data: new Uint8Array([1]) }] });
const beat = (to: string): Message => message({ type: MessageType.Heartbeat, from: 'a', to, term: 2, commit: 1 });
const names = (ms: readonly Message[]) => ms.map((m) => (m.type === MessageType.App ? `${m.to}${m.entries[0]!.index}` : `${m.to}:${m.type}`));

function setup() {
  const clock = new FakeClock();
  const sent: Message[][] = [];
  const held = new HeldAppends(clock, (ms) => sent.push(ms));
  return { clock, sent, held };
}

t.test('appends to a follower that may wait leave together after HOLD_APPENDS_MS, in order', async (t) => {
  const { clock, sent, held } = setup();
  const c = new Set(['c']);
  t.same(names(held.route([append('b', 10), append('c', 10), beat('c')], c)), ['b10', 'c:Heartbeat'], 'b and the heartbeat leave now');
  await clock.advance(HOLD_APPENDS_MS - 1);
  t.same(names(held.route([append('b', 11), append('c', 11)], c)), ['b11']);
  t.same(sent, [], 'nothing held left yet');
  await clock.advance(1);
  t.same(sent.map(names), [['c10', 'c11']], 'one batch, in the order they were made');
  t.equal(clock.pendingTimers, 0);
  held.route([append('c', 12)], c);
  await clock.advance(HOLD_APPENDS_MS);
  t.same(sent.map(names).at(-1), ['c12'], 'a later hold starts a new wait');
});

t.test('once a follower may no longer wait, what was held for it leaves first', async (t) => {
  const { clock, sent, held } = setup();
  held.route([append('b', 10), append('c', 10), append('d', 10)], new Set(['c', 'd']));
  t.same(names(held.route([append('c', 11), append('d', 11)], new Set(['d']))), ['c10', 'c11'], "c's held append, then its new one");
  await clock.advance(HOLD_APPENDS_MS);
  t.same(sent.map(names), [['d10', 'd11']], 'd still waited');
  held.route([append('c', 12)], new Set(['c']));
  t.same(names(held.route([], new Set())), ['c12'], 'nobody may wait: everything held leaves, with no new message');
  t.equal(clock.pendingTimers, 0, 'and the timer is gone');
});

t.test('a drop forgets what is held and its timer', async (t) => {
  const { clock, sent, held } = setup();
  held.route([append('c', 10)], new Set(['c']));
  held.drop();
  await clock.advance(10 * HOLD_APPENDS_MS);
  t.same(sent, []);
  t.equal(clock.pendingTimers, 0);
});
