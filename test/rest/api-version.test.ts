// api-version: every version from 7.0 to the newest the SDKs send, newer
// unknown ones too, under the percent-encoded name the JS SDK uses; a
// missing, old or malformed one is Key Vault's BadParameter.

import t from 'tap';
import { readApiVersion } from '../../src/rest/api-version.js';
import { RestError } from '../../src/rest/errors.js';

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

const ACCEPTED = ['7.0', '7.1', '7.2', '7.3', '7.4', '7.5', '7.6', '7.6-preview.2', '7.7', '2025-07-01', '2026-04-01', '2027-01-01', '2026-10-01-preview'];

t.test('accepts every version from 7.0 on, under either name', async (t) => {
  for (const v of ACCEPTED) {
    t.equal(readApiVersion(`api-version=${v}`), v, `api-version=${v}`);
    t.equal(readApiVersion(`?api%2Dversion=${encodeURIComponent(v)}&maxresults=5`), v, `api%2Dversion=${v}`);
  }
  t.equal(readApiVersion(new URLSearchParams('api%2Dversion=7.4&api-version=7.4')), '7.4', 'the same version under both names');
});

t.test('refuses a missing, old, malformed or ambiguous version with BadParameter', async (t) => {
  for (const query of ['', 'maxresults=5', 'api-version=', 'api-version=2016-10-01', 'api-version=2015-06-01', 'api-version=6.0', 'api-version=7', 'api-version=latest', 'api-version=2025-7-1', 'api-version=7.4&api-version=7.5']) {
    const e = thrown(() => readApiVersion(query));
    t.ok(e instanceof RestError, JSON.stringify(query));
    t.equal((e as RestError).status, 400, JSON.stringify(query));
    t.equal((e as RestError).code, 'BadParameter', JSON.stringify(query));
  }
});

t.test("the refusal names Key Vault's newest version and the body is Azure's", async (t) => {
  const e = thrown(() => readApiVersion('api-version=2016-10-01'));
  t.ok(e instanceof RestError);
  const azure = (e as RestError).toAzure();
  t.equal(azure.status, 400);
  t.same(azure.body, { error: { code: 'BadParameter', message: 'The specified version (2016-10-01) is not recognized. Consider using the latest supported version (2026-04-01).' } });
});
