// The largest object the vault accepts can be backed up and restored: a
// secret or key holding MAX_VERSIONS of the largest versions apply accepts
// (the largest value or key material, every tag and the content type at their
// longest, in characters JSON escapes to six bytes each) gives a backup blob
// that fits one client message (CLIENT_MESSAGE_BYTES), and the restore
// command it becomes fits one peer message.

import { randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import { CLIENT_MESSAGE_BYTES } from '../../src/client-port.js';
import { Envelope, SEALED_OVERHEAD } from '../../src/crypto/envelope.js';
import { keyBackupBlob } from '../../src/app/operations/keys.js';
import { secretBackupBlob } from '../../src/app/operations/secrets.js';
import { PEER_CHANNEL_OPTIONS } from '../../src/transport/transport.js';
import {
  MAX_CONTENT_TYPE,
  MAX_PUBLIC_JWK_CHARS,
  MAX_SEALED_PRIVATE_JWK_BYTES,
  MAX_SECRET_VALUE_BYTES,
  MAX_TAGS,
  MAX_TAG_KEY,
  MAX_TAG_VALUE,
  MAX_UNIX_SECONDS,
  MAX_VERSIONS,
  SECRET_NAME_MAX,
  encodeCommand,
} from '../../src/vault/index.js';
import { Harness, keyAttrs, material, ver } from '../vault/fixtures/harness.js';

/** A control character: JSON.stringify writes it as \u0001, six bytes for one. */
const worst = (n: number, first = '\u0001') => first + '\u0001'.repeat(n - 1);
const tags = Object.fromEntries(Array.from({ length: MAX_TAGS }, (_, i) => [worst(MAX_TAG_KEY, String.fromCharCode(0x41 + i)), worst(MAX_TAG_VALUE)]));
const dates = { notBefore: MAX_UNIX_SECONDS - 1, expires: MAX_UNIX_SECONDS };
const name = 'n'.repeat(SECRET_NAME_MAX);
const PEER_MESSAGE_BYTES = PEER_CHANNEL_OPTIONS['grpc.max_receive_message_length'] as number;

function envelope(): Envelope {
  const env = new Envelope(randomBytes(32));
  const { keyId, wrapped } = env.newDataKey();
  env.installDataKey(keyId, wrapped);
  return env;
}

/** The blob, with the vault name and request id a RestoreX request adds (under 200 bytes), fits a client message; the command it becomes, a peer message. */
function checkFits(t: Test, kind: string, blob: Buffer, restore: object): void {
  t.comment(`${kind} backup: ${blob.length} bytes, ${Math.round(blob.length / MAX_VERSIONS)} a version; the limit is ${CLIENT_MESSAGE_BYTES}`);
  t.ok(blob.length + 1024 <= CLIENT_MESSAGE_BYTES, `${blob.length} bytes fit ${CLIENT_MESSAGE_BYTES}`);
  const command = encodeCommand({ requestId: 'r'.repeat(128), timeMs: 0, ...restore } as never);
  t.ok(command.length < PEER_MESSAGE_BYTES, `the restore command, ${command.length} bytes, fits one peer message`);
}

function fullVault(): Harness {
  const h = new Harness();
  h.now = 8.64e15 - 1;
  h.createVault('v'.repeat(24));
  return h;
}

t.test('a secret of MAX_VERSIONS of the largest versions: its backup fits one client message', async (t) => {
  const h = fullVault();
  const attributes = { contentType: worst(MAX_CONTENT_TYPE), tags, enabled: true, ...dates };
  for (let i = 1; i <= MAX_VERSIONS; i++) {
    const sealedValue = randomBytes(SEALED_OVERHEAD + MAX_SECRET_VALUE_BYTES);
    h.ok({ op: 'setSecret', setSecret: { vault: 'v'.repeat(24), name, version: ver(i), sealedValue, attributes } });
  }
  const backup = h.state.backupSecret('v'.repeat(24), name);
  checkFits(t, 'secret', secretBackupBlob(backup, envelope()), { op: 'restoreSecret', restoreSecret: { ...backup, maxVersions: MAX_VERSIONS } });
});

t.test('a key of MAX_VERSIONS of the largest versions: its backup fits one client message', async (t) => {
  const h = fullVault();
  const spec = { kty: 'RSA' as const, keySize: 4096, curve: '' };
  const jwk = material(spec).publicJwk;
  // Apply takes any JSON text of the public members up to MAX_PUBLIC_JWK_CHARS; padding with
  // newlines, which JSON.stringify doubles, makes the longest one.
  const publicJwk = jwk.slice(0, -1) + '\n'.repeat(MAX_PUBLIC_JWK_CHARS - jwk.length) + '}';
  for (let i = 1; i <= MAX_VERSIONS; i++) {
    const m = { ...spec, publicJwk, sealedPrivateJwk: randomBytes(MAX_SEALED_PRIVATE_JWK_BYTES) };
    h.ok({ op: 'createKeyVersion', createKeyVersion: { vault: 'v'.repeat(24), name, version: ver(i), material: m, attributes: keyAttrs('RSA', { tags, ...dates }), rotation: i > 1 } });
  }
  const backup = h.state.backupKey('v'.repeat(24), name);
  checkFits(t, 'key', keyBackupBlob(backup, envelope()), { op: 'restoreKey', restoreKey: { ...backup, maxVersions: MAX_VERSIONS } });
});
