// Key tables (properties, then the public JWK; lists; deleted keys), the
// KeyOperationResult table, the JSON mapping of keys, and the key flags'
// parsers.

import { InvalidArgumentError } from 'commander';
import t, { type Test } from 'tap';
import { deletedKeyListTable, deletedKeyTable, keyListTable, keyOperationResultTable, keyTable, publicJwkTable } from '../../src/cli/format.js';
import { parseAlgorithm, parseBase64, parseCurve, parseKty, parseOps } from '../../src/cli/parse.js';
import { toProtoJson } from '../../src/client/index.js';
import { deletedKey, ecKey, keyProps, octKey, opResult, PRIVATE_TEXT, rsaKey } from './key-fixtures.js';

function clean(t: Test, text: string): void {
  t.ok(text.split('\n').every((l) => l === l.trimEnd()), 'no line ends in blanks');
  for (const p of PRIVATE_TEXT) t.notMatch(text, p, 'nothing private');
}

t.test('a key: its properties, then its public JWK under RFC 7517 names', async (t) => {
  const rsa = keyTable(rsaKey);
  t.match(rsa, /^Name\s+rk$/m);
  t.match(rsa, /^Key type\s+RSA$/m);
  t.match(rsa, /^Operations\s+encrypt, decrypt, sign, verify, wrapKey, unwrapKey$/m);
  t.match(rsa, /^Exportable\s+false$/m);
  t.match(rsa, /^Recovery level\s+Recoverable\+Purgeable$/m);
  t.match(rsa, /\n\nPublic key \(JWK\)\nkid\s+keyraft:\/\/pay\/keys\/rk\/v1\nkty\s+RSA\nkey_ops\s+sign, verify\nn\s+w_8B\ne\s+AQAB$/);
  clean(t, rsa);
  const ec = keyTable(ecKey);
  t.match(ec, /^Key size\s*$/m, 'no size for EC');
  t.match(ec, /^Curve\s+P-256$/m);
  t.match(publicJwkTable(ecKey.key), /^crv\s+P-256\nx\s+AQL7\ny\s+AwT_$/m);
  clean(t, ec);
  const oct = publicJwkTable(octKey.key);
  t.equal(oct.split('\n').length, 3, 'an oct key has nothing public but kid, kty and key_ops');
  clean(t, oct);
});

t.test('key lists and deleted keys', async (t) => {
  const list = keyListTable([keyProps('a', 'v1', { expires: 1893456000, tags: { x: '1' } }), ecKey.properties, octKey.properties]);
  t.match(list, /^a\s+v1\s+RSA\s+2048\s+true\s+\S+\s+2030-01-01T00:00:00Z\s+2023-11-14T22:13:20Z$/m);
  t.match(list, /^ek\s+v2\s+EC\s+P-256\s+true\s+sign,verify\s+2023/m);
  t.match(list, /^ok\s+v3\s+oct\s+256\s/m);
  t.equal(keyListTable([]), 'Name  Version  Type  Size/curve  Enabled  Operations  Expires  Updated\n----  -------  ----  ----------  -------  ----------  -------  -------');
  const one = deletedKeyTable(deletedKey);
  t.match(one, /^Recovery id\s+keyraft:\/\/pay\/deletedkeys\/rk$/m);
  t.match(one, /^Scheduled purge\s+2024-02-12T22:15:00Z$/m);
  t.match(one, /^n\s+w_8B$/m);
  const many = deletedKeyListTable([deletedKey]);
  t.match(many, /^Name\s+Type\s+Recovery id\s+Deleted\s+Scheduled purge$/m);
  for (const text of [list, one, many]) clean(t, text);
});

t.test('a KeyOperationResult: base64url, empty IV/tag/AAD left out', async (t) => {
  const r = keyOperationResultTable(opResult);
  t.equal(r, 'Kid    keyraft://pay/keys/ok/v3\nValue  -_8Q\nIv     AQID\nTag    _-4');
  const sig = keyOperationResultTable({ ...opResult, iv: new Uint8Array(0), tag: new Uint8Array(0), aad: Uint8Array.of(7) });
  t.equal(sig, 'Kid    keyraft://pay/keys/ok/v3\nValue  -_8Q\nAad    Bw');
  t.match(keyOperationResultTable(opResult, '(written to f, 3 bytes)'), /^Value\s+\(written to f, 3 bytes\)$/m);
});

t.test('JSON mapping of keys: bytes as base64url, declaration order, int64 as strings', async (t) => {
  const json = toProtoJson('keyraft.v1.Key', ecKey) as { properties: Record<string, unknown>; key: Record<string, unknown> };
  t.same(Object.keys(json.key), ['kid', 'kty', 'keyOps', 'n', 'e', 'crv', 'x', 'y', 'd', 'p', 'q', 'dp', 'dq', 'qi', 'k']);
  t.same([json.key['x'], json.key['y'], json.key['n']], ['AQL7', 'AwT_', '']);
  t.equal(json.properties['keySize'], 0);
  t.equal(json.properties['updated'], '1700000000');
  t.same(toProtoJson('keyraft.v1.VerifyResult', { value: false }), { value: false });
});

t.test('key flag parsers', async (t) => {
  t.same([...parseBase64('-__-AQ')], [0xfb, 0xff, 0xfe, 1]);
  t.same([...parseBase64('+//+AQ==')], [0xfb, 0xff, 0xfe, 1]);
  t.same([...parseBase64('')], []);
  for (const bad of ['a!', 'abcde', 'a=b']) t.throws(() => parseBase64(bad), InvalidArgumentError, bad);
  t.same(['rsa', 'Ec', 'OCT'].map(parseKty), ['RSA', 'EC', 'oct']);
  t.throws(() => parseKty('RSA-HSM'), InvalidArgumentError);
  t.same(['p-256', 'P-521', 'p-256k'].map(parseCurve), ['P-256', 'P-521', 'P-256K']);
  t.throws(() => parseCurve('secp256r1'), InvalidArgumentError);
  let ops = parseOps('encrypt, DECRYPT', undefined);
  ops = parseOps('wrapkey unwrapKey', ops);
  ops = parseOps('encrypt', ops);
  t.same(ops, ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey'], 'commas or spaces, any case, no repeats');
  t.same(parseOps('', undefined), [], '"" means none');
  t.throws(() => parseOps('encrypt,export', undefined), InvalidArgumentError);
  t.equal(parseAlgorithm(' rsa-oaep-256 '), 'RSA-OAEP-256');
  t.equal(parseAlgorithm('rsa1_5'), 'RSA1_5');
  for (const bad of ['', 'A 256', 'ES256;']) t.throws(() => parseAlgorithm(bad), InvalidArgumentError, JSON.stringify(bad));
});
