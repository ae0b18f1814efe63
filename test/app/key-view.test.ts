// The Key message the application layer answers is whole: the REST gateway
// takes it in process, not decoded from protobuf, so the JsonWebKey members
// of other key types must be there, empty, as protobuf would decode them
// (an RSA key without x/y/crv made GetKey a 500 over REST on a real node:
// test/integration/rest-sdk.test.ts). And the REST shape of each type has
// exactly its public members.

import t from 'tap';
import { keyView } from '../../src/app/operations/keys.js';
import type { Key } from '../../src/client/types.js';
import { keyBundle } from '../../src/rest/shapes.js';
import { Harness, OCT256, P256, RSA2048, keyOp } from '../vault/fixtures/harness.js';

const MEMBERS = ['kid', 'kty', 'keyOps', 'crv', 'n', 'e', 'x', 'y', 'd', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

t.test('every JsonWebKey member, for every key type; the REST bundle has the public members of its type', async (t) => {
  const h = new Harness();
  h.createVault('vlt');
  const cases = [
    ['rsa', RSA2048, ['e', 'key_ops', 'kid', 'kty', 'n']],
    ['ec', P256, ['crv', 'key_ops', 'kid', 'kty', 'x', 'y']],
    ['oct', OCT256, ['key_ops', 'kid', 'kty']],
  ] as const;
  for (const [name, spec, restMembers] of cases) {
    h.ok(keyOp('vlt', name, { spec }));
    const key = keyView(h.state.getKey('vlt', name, '')) as Key;
    t.same(Object.keys(key.key).sort(), [...MEMBERS].sort(), `${name}: every member`);
    const json = keyBundle(key, { origin: 'https://vlt.kv.localhost:8443' });
    t.same(Object.keys(json.key).sort(), [...restMembers].sort(), `${name}: the REST JWK`);
  }
});
