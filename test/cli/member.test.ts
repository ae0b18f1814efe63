// `keyraft cluster member list|add|promote|remove` in-process against a fake
// client: what each calls, the table and the JSON it prints, and a
// refusal's reason and exit code.

import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import { runWithClient } from './run-fake.js';
import { KeyraftError, type Member } from '../../src/client/index.js';

const MEMBERS: Member[] = [
  { id: 'east-1', region: 'east', role: 'voter', clientAddress: '127.0.0.1:7101', peerAddress: '127.0.0.1:7201', metricsAddress: '127.0.0.1:7301', matchIndex: 42 },
  { id: 'east-4', region: 'east', role: 'learner', clientAddress: '127.0.0.1:7104', peerAddress: '127.0.0.1:7204', metricsAddress: '', matchIndex: 7 },
];

async function cli(argv: string[], answer: Member[] | Error = MEMBERS) {
  const calls: [string, unknown][] = [];
  const reply = (method: string) => async (req: unknown) => {
    calls.push([method, req]);
    if (answer instanceof Error) throw answer;
    return { members: answer };
  };
  const client = { close: () => undefined, listMembers: reply('listMembers'), addMember: reply('addMember'), promoteMember: reply('promoteMember'), removeMember: reply('removeMember') };
  return { ...(await runWithClient(argv, client)), calls };
}

t.test('member list prints a table, or the API response as JSON', async (t) => {
  const table = await cli(['cluster', 'member', 'list', '--region', 'east']);
  t.equal(table.code, 0, table.err);
  t.same(table.calls, [['listMembers', { region: 'east' }]]);
  t.match(table.out, /Region.*Id.*Role.*Client.*Peer.*Metrics.*Match/);
  t.match(table.out, /east-4.*learner.*127\.0\.0\.1:7104/);
  const json = await cli(['cluster', 'member', 'list', '--output', 'json']);
  t.same(json.calls, [['listMembers', {}]]);
  t.same(JSON.parse(json.out).members.map((m: Member) => [m.id, m.role]), [['east-1', 'voter'], ['east-4', 'learner']]);
});

t.test('member add, promote and remove send what they were given', async (t) => {
  const add = await cli(['cluster', 'member', 'add', '--region', 'east', '--id', 'east-4', '--client', '127.0.0.1:7104', '--peer', '127.0.0.1:7204']);
  t.equal(add.code, 0, add.err);
  t.same(add.calls, [['addMember', { region: 'east', id: 'east-4', clientAddress: '127.0.0.1:7104', peerAddress: '127.0.0.1:7204' }]]);
  t.same((await cli(['cluster', 'member', 'promote', '--id', 'east-4'])).calls, [['promoteMember', { id: 'east-4' }]]);
  t.same((await cli(['cluster', 'member', 'remove', '--id', 'east-4'])).calls, [['removeMember', { id: 'east-4' }]]);
  const missing = await cli(['cluster', 'member', 'add', '--region', 'east', '--id', 'east-4']);
  t.not(missing.code, 0, 'add without its addresses is a usage error');
  t.same(missing.calls, [], 'and calls nothing');
});

t.test('a refusal prints its reason and exits non-zero', async (t) => {
  const r = await cli(['cluster', 'member', 'promote', '--id', 'east-4'], new KeyraftError(grpc.status.FAILED_PRECONDITION, 'LEARNER_NOT_READY', 'east-4 has index 7 of the leader\'s 4000'));
  t.equal(r.code, 1);
  t.match(r.err, /LEARNER_NOT_READY: east-4 has index 7/);
  t.equal(r.out, '');
});
