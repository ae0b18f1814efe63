// `keyraft cluster rotate-master-key` in-process against a fake client: what
// it calls, what it prints in both formats, progress on stderr, and a
// refusal's reason and exit code.

import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import { runWithClient } from './run-fake.js';
import { KeyraftError, type RotateMasterKeyResponse } from '../../src/client/index.js';

async function cli(argv: string[], answer: RotateMasterKeyResponse | Error) {
  const calls: [string, unknown][] = [];
  const client = {
    close: () => undefined,
    rotateMasterKey: async (req: unknown) => {
      calls.push(['rotateMasterKey', req]);
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
  return { ...(await runWithClient(argv, client)), calls };
}

const done: RotateMasterKeyResponse = { masterKeyFingerprint: '0123456789abcdef', dataKeys: 3, checkedNodes: ['east-1', 'east-2', 'west-1'], unreachableNodes: ['west-2'] };

t.test('calls RotateMasterKey and prints what was done', async (t) => {
  const r = await cli(['cluster', 'rotate-master-key'], done);
  t.equal(r.code, 0, r.err);
  t.same(r.calls, [['rotateMasterKey', undefined]]);
  t.match(r.err, /rewrapping the data keys/, 'progress on stderr');
  t.match(r.out, /3 data keys rewrapped under master key 0123456789abcdef; checked east-1, east-2, west-1; not reached .*west-2/);

  const json = await cli(['cluster', 'rotate-master-key', '--output', 'json'], done);
  t.same(JSON.parse(json.out), { masterKeyFingerprint: '0123456789abcdef', dataKeys: 3, checkedNodes: ['east-1', 'east-2', 'west-1'], unreachableNodes: ['west-2'] });
});

t.test('a refusal prints its reason and exits non-zero', async (t) => {
  const refusal = new KeyraftError(grpc.status.FAILED_PRECONDITION, 'MASTER_KEY_NOT_EVERYWHERE', 'not every node holds master key 0123456789abcdef as its current key: west-1 (fedcba9876543210)');
  const r = await cli(['cluster', 'rotate-master-key'], refusal);
  t.equal(r.code, 1);
  t.match(r.err, /MASTER_KEY_NOT_EVERYWHERE: .*west-1/);
  t.equal(r.out, '');
});
