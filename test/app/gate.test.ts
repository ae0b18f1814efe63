// The call gate on a node a little behind its region: a token signed with a
// key, or naming a principal, that the node has not applied yet is checked
// again once the node has caught up (one catch-up shared by every waiting
// call), and a token that is bad after the catch-up is refused as before.

import t from 'tap';
import { type TokenKey, generateTokenKey, issueToken } from '../../src/auth/index.js';
import type { AuthDirectory } from '../../src/app/authorize.js';
import { ApiError } from '../../src/app/errors.js';
import { CallGate } from '../../src/app/gate.js';

const ISSUER = 'test-cluster';
const GET_STATUS = '/keyraft.v1.Cluster/GetStatus';

/** A directory that holds what the node has applied; `apply` brings in what its region committed. */
function lagging() {
  const applied = { keys: [] as TokenKey[], principals: new Map<string, number>() };
  const committed = { keys: [] as TokenKey[], principals: new Map<string, number>() };
  const directory: AuthDirectory = {
    principal: (name) => (applied.principals.has(name) ? { name, generation: applied.principals.get(name)! } : undefined),
    roleAssignments: () => [],
    tokenKeys: () => applied.keys,
  };
  let catchUps = 0;
  const catchUp = async () => {
    catchUps++;
    await new Promise((r) => setTimeout(r, 20));
    applied.keys = [...committed.keys];
    applied.principals = new Map(committed.principals);
  };
  return { directory, committed, catchUp, catchUps: () => catchUps };
}

async function bearer(principal: string, key: TokenKey, generation = 0): Promise<string> {
  const { token } = await issueToken({ principal, generation, key, ttlMs: 60_000, nowMs: Date.now(), issuer: ISSUER });
  return `Bearer ${token}`;
}

t.test('a token this node cannot check yet is checked again after it catches up', async (t) => {
  const node = lagging();
  const gate = new CallGate({ directory: node.directory, issuer: ISSUER, nowMs: Date.now, catchUp: node.catchUp });
  const key = generateTokenKey();
  node.committed.keys = [key];
  node.committed.principals.set('alice', 0);
  const token = await bearer('alice', key);
  const answers = await Promise.all([1, 2, 3].map(() => gate.authenticate(GET_STATUS, token)));
  for (const a of answers) t.notOk(a instanceof ApiError, 'served once the node has the key and the principal');
  t.equal(node.catchUps(), 1, 'three calls waited for one catch-up');

  const stranger = await bearer('alice', generateTokenKey());
  const refused = await gate.authenticate(GET_STATUS, stranger);
  t.match(refused, { reason: 'TOKEN_KEY_UNKNOWN' }, 'a key the region does not have either is still refused');
  t.equal(node.catchUps(), 2, 'after one more catch-up');
  t.match(await gate.authenticate(GET_STATUS, undefined), { reason: 'TOKEN_MISSING' }, 'no token: refused at once');
  t.equal(node.catchUps(), 2, 'without a catch-up');
});

t.test('without catchUp, or when it fails, the first answer stands', async (t) => {
  const node = lagging();
  const key = generateTokenKey();
  node.committed.keys = [key];
  node.committed.principals.set('alice', 0);
  const token = await bearer('alice', key);
  t.match(await new CallGate({ directory: node.directory, issuer: ISSUER, nowMs: Date.now }).authenticate(GET_STATUS, token), { reason: 'TOKEN_KEY_UNKNOWN' });
  const failing = new CallGate({ directory: node.directory, issuer: ISSUER, nowMs: Date.now, catchUp: () => Promise.reject(new Error('no quorum')) });
  t.match(await failing.authenticate(GET_STATUS, token), { reason: 'TOKEN_KEY_UNKNOWN' });
  t.equal(node.catchUps(), 0);
});
