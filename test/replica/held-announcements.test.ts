// A leader's appends without entries (commit announcements) wait HOLD_MS;
// an append with entries to the same follower replaces the one held, and
// nothing held outlives a drop.

import t from 'tap';
import { EntryType, MessageType, message, type Message } from '../../src/raft/index.js';
import { HOLD_MS, HeldAnnouncements, isAnnouncement } from '../../src/replica/held-announcements.js';
import { FakeClock } from '../geo/fakes.js';

const announce = (to: string, commit: number): Message => message({ type: MessageType.App, from: 'a', to, term: 2, index: 9, logTerm: 2, commit });
const append = (to: string, commit: number): Message =>
  message({ type: MessageType.App, from: 'a', to, term: 2, index: 9, logTerm: 2, commit, entries: [{ index: 10, term: 2, type: EntryType.Normal, data: new Uint8Array([1]) }] });

function setup() {
  const clock = new FakeClock();
  const sent: Message[][] = [];
  const held = new HeldAnnouncements(clock, (ms) => sent.push(ms));
  return { clock, sent, held };
}

const summary = (batches: Message[][]) => batches.map((ms) => ms.map((m) => `${m.to}@${m.commit}`));

t.test('only appends without entries are announcements', async (t) => {
  t.ok(isAnnouncement(announce('b', 9)));
  t.notOk(isAnnouncement(append('b', 9)));
  t.notOk(isAnnouncement(message({ type: MessageType.Heartbeat, from: 'a', to: 'b', term: 2, commit: 9 })));
});

t.test('held announcements leave together after HOLD_MS, the newest to each follower', async (t) => {
  const { clock, sent, held } = setup();
  held.hold([announce('b', 9), announce('c', 9)]);
  await clock.advance(HOLD_MS - 1);
  held.hold([announce('b', 10)]);
  t.same(sent, [], 'nothing leaves before HOLD_MS');
  await clock.advance(1);
  t.same(summary(sent), [['b@10', 'c@9']], "one batch, b's newer announcement in place of its older one");
  await clock.advance(10 * HOLD_MS);
  t.equal(sent.length, 1, 'sent once');
  held.hold([announce('b', 11)]);
  await clock.advance(HOLD_MS);
  t.same(summary(sent).at(-1), ['b@11'], 'a later hold starts a new wait');
});

t.test('an append with entries to a follower replaces what is held for it, and only for it', async (t) => {
  const { clock, sent, held } = setup();
  held.hold([announce('b', 9), announce('c', 9)]);
  held.leaving([append('b', 10), announce('c', 10)]);
  await clock.advance(HOLD_MS);
  t.same(summary(sent), [['c@9']], "b's append carried its commit index; c got no entries");
});

t.test('a drop forgets what is held and its timer', async (t) => {
  const { clock, sent, held } = setup();
  held.hold([announce('b', 9)]);
  held.drop();
  await clock.advance(10 * HOLD_MS);
  t.same(sent, []);
  t.equal(clock.pendingTimers, 0);
});
