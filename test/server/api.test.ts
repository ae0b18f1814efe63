// The server's request decoding: a string field that is not valid UTF-8 is
// refused (UNDECODABLE_REQUEST), never decoded into U+FFFD and stored
// altered; bytes fields carry anything; valid non-ASCII text is untouched.

import t from 'tap';
import protobuf from 'protobufjs';
import { UNDECODABLE_REQUEST, apiService } from '../../src/server/api.js';

const secrets = apiService('Secrets');
const keys = apiService('Keys');
const setSecret = (bytes: Uint8Array) => secrets['SetSecret']!.requestDeserialize(Buffer.from(bytes)) as unknown;

/** A length-delimited field written with raw bytes, whatever its declared type. */
const field = (w: protobuf.Writer, id: number, bytes: Uint8Array | string) =>
  w.uint32((id << 3) | 2).bytes(typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes);

function setSecretBytes(value: Uint8Array | string, opts: { name?: Uint8Array | string; tag?: [Uint8Array | string, Uint8Array | string] } = {}): Uint8Array {
  const w = protobuf.Writer.create();
  field(w, 1, 'app');
  field(w, 2, opts.name ?? 'db-password');
  field(w, 3, value);
  if (opts.tag !== undefined) {
    const entry = protobuf.Writer.create();
    field(entry, 1, opts.tag[0]);
    field(entry, 2, opts.tag[1]);
    field(w, 5, entry.finish());
  }
  w.uint32(7 << 3).int64(1_700_000_000); // not_before, a varint among the strings
  return w.finish();
}

const BAD_UTF8: [string, number[]][] = [
  ['a byte that never starts a character', [0x41, 0xff, 0x42]],
  ['a lone continuation byte', [0x80]],
  ['a character cut short', [0x47, 0x72, 0xc3]],
  ['an overlong encoding of "/"', [0xc0, 0xaf]],
  ['a UTF-16 surrogate', [0xed, 0xa0, 0x80]],
  ['beyond U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
];

t.test('a SetSecret whose value is not valid UTF-8 is refused, not altered', async (t) => {
  for (const [what, bytes] of BAD_UTF8) {
    t.equal(setSecret(setSecretBytes(Uint8Array.from(bytes))), UNDECODABLE_REQUEST, what);
    // Past 127 bytes the length prefix is not ASCII either: the other path.
    t.equal(setSecret(setSecretBytes(Buffer.concat([Buffer.alloc(300, 'a'), Uint8Array.from(bytes)]))), UNDECODABLE_REQUEST, `${what}, in a long value`);
  }
});

t.test('names and tags are checked too; bytes fields carry any bytes', async (t) => {
  const bad = Uint8Array.of(0xff);
  t.equal(setSecret(setSecretBytes('v', { name: bad })), UNDECODABLE_REQUEST, 'the name');
  t.equal(setSecret(setSecretBytes('v', { tag: [bad, 'x'] })), UNDECODABLE_REQUEST, 'a tag key');
  t.equal(setSecret(setSecretBytes('v', { tag: ['env', bad] })), UNDECODABLE_REQUEST, 'a tag value');
  t.match(setSecret(setSecretBytes('v', { tag: ['env', 'prüfung'] })), { tags: { env: 'prüfung' } }, 'a valid tag');

  // KeyOperationRequest: vault=1, name=2, algorithm=4 strings; value=5, iv=6 bytes.
  const op = (value: Uint8Array, name: Uint8Array | string = 'k') => {
    const w = protobuf.Writer.create();
    field(w, 1, 'app');
    field(w, 2, name);
    field(w, 4, 'A256GCM');
    field(w, 5, value);
    return keys['Encrypt']!.requestDeserialize(Buffer.from(w.finish())) as unknown;
  };
  const binary = Uint8Array.of(0xff, 0xc0, 0x80, 0xed, 0xa0, 0x80);
  t.same((op(binary) as { value: Uint8Array }).value, Buffer.from(binary), 'a bytes field is not text');
  t.equal(op(binary, bad), UNDECODABLE_REQUEST, 'but a string beside it is');
});

t.test('valid text round-trips, whatever its script, and U+FFFD sent as such stays', async (t) => {
  for (const value of ['Grüße', '🔑 clé — 鍵', '\uFFFD', 'plain', 'x'.repeat(25 * 1024) + 'é']) {
    t.equal((setSecret(setSecretBytes(value)) as { value: string }).value, value, value.slice(0, 16));
  }
  t.match(setSecret(setSecretBytes('')), { vault: 'app', name: 'db-password', value: '', notBefore: 1_700_000_000 });
});

t.test('what did not decode before still does not', async (t) => {
  t.equal(setSecret(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f)), UNDECODABLE_REQUEST);
  t.equal(setSecret(Uint8Array.of(0x1a, 0x05, 0x41)), UNDECODABLE_REQUEST, 'a length past the end');
  for (const name of ['Vaults', 'Secrets', 'Keys', 'Cluster'] as const) {
    const service = apiService(name);
    for (const [method, def] of Object.entries(service)) {
      t.not(def.requestDeserialize(Buffer.alloc(0)), UNDECODABLE_REQUEST, `${name}.${method}: the empty message decodes`);
    }
  }
});
