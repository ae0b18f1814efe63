// A real leader of three (LevelDB on disk) at one write at a time: its
// appends to c, which no commit waits on while b keeps up, leave apart from
// b's; once b stops answering, c's go at once and b's wait instead.

import t from 'tap';
import type { Message } from '../../src/raft/index.js';
import { MessageType } from '../../src/raft/index.js';
import { eventually } from '../wait.js';
import { followerAnswer, openReplica } from './harness.js';

t.test('the follower a commit does not wait on gets its appends apart; the roles change when the other stops answering', async (t) => {
  const { replica } = await openReplica(t, { founders: ['a', 'b', 'c'], tickMs: 50, electionTicks: 10 });
  /** Per transport call, the appends it carried, as "b7". */
  const calls: string[][] = [];
  let bAnswers = true;
  replica.start({
    send: (messages: readonly Message[]) => {
      calls.push(messages.filter((m) => m.type === MessageType.App && m.entries.length > 0).flatMap((m) => m.entries.map((e) => `${m.to}${e.index}`)));
      for (const m of messages) {
        const reply = m.to === 'c' || bAnswers ? followerAnswer(m.to, m) : undefined;
        if (reply !== undefined) setImmediate(() => replica.step(reply));
      }
    },
    sendSnapshot: () => undefined,
  });
  await eventually('a leads b and c', async () => (replica.isLeader && replica.status().commit === replica.status().lastIndex ? true : undefined));
  const callOf = (append: string) => calls.findIndex((c) => c.includes(append));

  const indexes: number[] = [];
  for (let i = 0; i < 5; i++) indexes.push((await replica.propose(new Uint8Array([i]), 5000)) as number);
  for (const i of indexes) {
    t.ok(callOf(`b${i}`) >= 0, `b got entry ${i}`);
    t.not(callOf(`c${i}`), callOf(`b${i}`), `entry ${i} did not go to c with b's copy`);
  }
  await eventually("c got every entry, held ones included", async () => (indexes.every((i) => callOf(`c${i}`) >= 0) ? true : undefined));

  bAnswers = false;
  // The first write after b fell silent commits once c's held copy leaves; from then on b lags, so c is the one a commit waits on.
  await replica.propose(new Uint8Array([5]), 5000);
  const i = (await replica.propose(new Uint8Array([6]), 5000)) as number;
  t.ok(callOf(`c${i}`) >= 0, 'c got the next entry');
  t.ok(callOf(`b${i}`) === -1 || callOf(`b${i}`) > callOf(`c${i}`), "and before b's copy left, which now waits");
});
