// What comes in for keys: the Keys service's request validators (Azure Key
// Vault's key types, sizes, operations and algorithm names) and the log codec
// of the key commands.

import fc from 'fast-check';
import t from 'tap';
import {
  ALGORITHMS,
  type Command,
  ErrorKind,
  VaultError,
  VaultState,
  checkAlgorithmForKey,
  decodeCommand,
  encodeCommand,
  validateCreateKeyRequest,
  validateGetRandomBytesRequest,
  validateImportKeyRequest,
  validateKeyListRequest,
  validateKeyName,
  validateKeyOperationRequest,
  validateKeyRef,
  validateRestoreKeyRequest,
  validateSignRequest,
  validateUpdateKeyPropertiesRequest,
  validateVerifyRequest,
} from '../../src/vault/index.js';
import { P256, T0, keyAttrs, material, thrown, ver } from './fixtures/harness.js';

const reason = (fn: () => unknown) => {
  const e = thrown(fn);
  if (e.kind !== ErrorKind.InvalidArgument) throw new Error(`kind ${e.kind}`);
  return e.reason;
};

const create = (over: object) => validateCreateKeyRequest({ vault: 'abc', name: 'k', kty: 'RSA', ...over });

t.test('key names: 1-127 letters, digits and hyphens', async (t) => {
  for (const ok of ['a', '1', '-', 'My-Key-2', 'x'.repeat(127)]) t.equal(validateKeyName(ok), ok);
  for (const bad of ['', 'x'.repeat(128), 'a_b', 'a.b', 'a/b', undefined]) t.equal(reason(() => validateKeyName(bad)), 'INVALID_NAME', String(bad));
  t.match(thrown(() => validateKeyName('a b')).message, /key name/);
});

t.test('CreateKey: type, size or curve with their defaults, operations the type allows', async (t) => {
  t.same(create({}), {
    vault: 'abc',
    name: 'k',
    enabled: true,
    notBefore: 0,
    expires: 0,
    tags: {},
    exportable: false,
    requestId: '',
    kty: 'RSA',
    keySize: 2048,
    curve: '',
    keyOps: ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey'],
  });
  const ec = create({ kty: 'EC', keySize: 0, curve: '', keyOps: [] });
  t.same([ec.keySize, ec.curve, ec.keyOps], [0, 'P-256', ['sign', 'verify']]);
  const oct = create({ kty: 'oct' });
  t.same([oct.keySize, oct.curve, oct.keyOps], [256, '', ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey']]);
  for (const keySize of [2048, 3072, 4096]) t.equal(create({ keySize }).keySize, keySize);
  for (const keySize of [128, 192, 256]) t.equal(create({ kty: 'oct', keySize }).keySize, keySize);
  for (const curve of ['P-256', 'P-384', 'P-521', 'P-256K']) t.equal(create({ kty: 'EC', curve }).curve, curve);
  const full = create({ kty: 'EC', curve: 'P-384', keyOps: ['verify', 'sign', 'sign'], enabled: false, notBefore: 5, expires: 9, tags: { a: 'b' }, exportable: true, requestId: 'r-1' });
  t.same(full, { vault: 'abc', name: 'k', enabled: false, notBefore: 5, expires: 9, tags: { a: 'b' }, exportable: true, requestId: 'r-1', kty: 'EC', keySize: 0, curve: 'P-384', keyOps: ['sign', 'verify'] });
  for (const [what, over] of [
    ['RSA 1024', { keySize: 1024 }],
    ['RSA with a curve', { curve: 'P-256' }],
    ['EC with a size', { kty: 'EC', keySize: 256 }],
    ['EC P-192', { kty: 'EC', curve: 'P-192' }],
    ['oct 512', { kty: 'oct', keySize: 512 }],
    ['oct with a curve', { kty: 'oct', curve: 'P-256' }],
    ['unknown type', { kty: 'DSA' }],
    ['lower-case type', { kty: 'rsa' }],
    ['sign on oct', { kty: 'oct', keyOps: ['sign'] }],
    ['encrypt on EC', { kty: 'EC', keyOps: ['encrypt'] }],
    ['import', { keyOps: ['import'] }],
    ['dates', { notBefore: 10, expires: 10 }],
    ['enabled', { enabled: 'no' }],
    ['exportable', { exportable: 1 }],
    ['request id', { requestId: 'a b' }],
  ] as const) {
    t.equal(reason(() => create(over)), 'BAD_PARAMETER', what);
  }
  for (const kty of ['RSA-HSM', 'EC-HSM', 'oct-HSM']) {
    const e = thrown(() => create({ kty }));
    t.equal(e.reason, 'BAD_PARAMETER');
    t.match(e.message, /HSM-protected keys are not offered/);
  }
  t.equal(reason(() => create({ vault: 'a' })), 'INVALID_NAME');
  t.equal(reason(() => create({ name: 'a_b' })), 'INVALID_NAME');
});

t.test('ImportKey: a JWK must be there, of a known type; its operations default to the type\'s', async (t) => {
  const key = { kty: 'EC', crv: 'P-256', keyOps: [], x: Buffer.alloc(32), y: Buffer.alloc(32), d: Buffer.alloc(32) };
  const v = validateImportKeyRequest({ vault: 'abc', name: 'k', key, tags: { a: 'b' } });
  t.same(v, { vault: 'abc', name: 'k', enabled: true, notBefore: 0, expires: 0, tags: { a: 'b' }, exportable: false, requestId: '', key, kty: 'EC', keyOps: ['sign', 'verify'] });
  t.same(validateImportKeyRequest({ vault: 'abc', name: 'k', key: { kty: 'oct', keyOps: ['wrapKey'] } }).keyOps, ['wrapKey']);
  t.equal(reason(() => validateImportKeyRequest({ vault: 'abc', name: 'k', key: null })), 'BAD_PARAMETER');
  t.equal(reason(() => validateImportKeyRequest({ vault: 'abc', name: 'k' })), 'BAD_PARAMETER');
  t.equal(reason(() => validateImportKeyRequest({ vault: 'abc', name: 'k', key: { kty: '' } })), 'BAD_PARAMETER');
  t.match(thrown(() => validateImportKeyRequest({ vault: 'abc', name: 'k', key: { kty: 'RSA-HSM' } })).message, /HSM/);
  t.equal(reason(() => validateImportKeyRequest({ vault: 'abc', name: 'k', key: { kty: 'EC', keyOps: ['decrypt'] } })), 'BAD_PARAMETER');
});

t.test('references, listings, updates and restores of keys', async (t) => {
  t.same(validateKeyRef({ vault: 'abc', name: 'k' }), { vault: 'abc', name: 'k', version: '', requestId: '' });
  t.same(validateKeyRef({ vault: 'abc', name: 'k', version: ver(1), requestId: 'r' }), { vault: 'abc', name: 'k', version: ver(1), requestId: 'r' });
  t.equal(reason(() => validateKeyRef({ vault: 'abc', name: 'k', version: 'latest' })), 'BAD_PARAMETER');
  t.same(validateKeyListRequest({ vault: 'abc', pageSize: 0, pageToken: '' }), { vault: 'abc', name: undefined, pageSize: 25, pageToken: '' });
  t.equal(validateKeyListRequest({ vault: 'abc', name: 'k', pageSize: 3 }).name, 'k');
  t.equal(reason(() => validateKeyListRequest({ vault: '' })), 'INVALID_NAME');
  t.equal(reason(() => validateKeyListRequest({ vault: 'abc', pageSize: 26 })), 'BAD_PARAMETER');

  const u = validateUpdateKeyPropertiesRequest({ vault: 'abc', name: 'k', enabled: false, keyOps: { keyOps: ['verify', 'encrypt'] }, tags: null });
  t.same(u, { vault: 'abc', name: 'k', version: '', requestId: '', enabled: false, notBefore: undefined, expires: undefined, keyOps: ['encrypt', 'verify'], tags: undefined });
  t.same(validateUpdateKeyPropertiesRequest({ vault: 'abc', name: 'k', keyOps: {}, tags: { tags: { a: 'b' } } }).keyOps, [], 'present and empty: no operation');
  t.equal(validateUpdateKeyPropertiesRequest({ vault: 'abc', name: 'k', keyOps: null }).keyOps, undefined, 'absent: unchanged');
  t.equal(reason(() => validateUpdateKeyPropertiesRequest({ vault: 'abc', name: 'k', keyOps: { keyOps: ['export'] } })), 'BAD_PARAMETER');
  t.equal(reason(() => validateUpdateKeyPropertiesRequest({ vault: 'abc', name: 'k', notBefore: 10, expires: 5 })), 'BAD_PARAMETER');
  t.equal(reason(() => validateUpdateKeyPropertiesRequest({ vault: 'abc', name: 'k', expires: -1 })), 'BAD_PARAMETER');

  const backup = Buffer.from([1, 2, 3]);
  t.same(validateRestoreKeyRequest({ vault: 'abc', backup }), { vault: 'abc', backup, requestId: '' });
  t.equal(reason(() => validateRestoreKeyRequest({ vault: 'abc', backup: Buffer.alloc(0) })), 'BAD_BACKUP');
  t.equal(reason(() => validateRestoreKeyRequest({ vault: 'abc' })), 'BAD_BACKUP');
});

t.test('cryptographic requests: Azure algorithm names, bounded inputs, digests of the right length', async (t) => {
  const names = Object.keys(ALGORITHMS);
  t.same(names.sort(), [
    'A128CBCPAD', 'A128GCM', 'A128KW', 'A192CBCPAD', 'A192GCM', 'A192KW', 'A256CBCPAD', 'A256GCM', 'A256KW',
    'ES256', 'ES256K', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512', 'RSA-OAEP', 'RSA-OAEP-256', 'RSA1_5',
  ]);
  const op = (over: object) => validateKeyOperationRequest({ vault: 'abc', name: 'k', algorithm: 'RSA-OAEP', value: Buffer.from('hi'), ...over });
  const v = op({ iv: Buffer.alloc(12) });
  t.same([v.vault, v.name, v.version, v.algorithm, v.value, v.iv, v.aad, v.tag], ['abc', 'k', '', 'RSA-OAEP', Buffer.from('hi'), Buffer.alloc(12), new Uint8Array(), new Uint8Array()]);
  t.equal(op({ value: Buffer.alloc(64 * 1024) }).value.length, 64 * 1024);
  t.equal(reason(() => op({ value: Buffer.alloc(64 * 1024 + 1) })), 'BAD_PARAMETER');
  t.equal(reason(() => op({ value: 'text' })), 'BAD_PARAMETER');
  t.equal(reason(() => op({ tag: Buffer.alloc(17) })), 'BAD_PARAMETER');
  t.equal(reason(() => op({ algorithm: '' })), 'BAD_PARAMETER', 'an algorithm is required');
  for (const bad of ['rsa-oaep', 'HS256', 'A128CBC-HS256', 'toString', 'EdDSA']) t.equal(reason(() => op({ algorithm: bad })), 'BAD_ALGORITHM', bad);
  t.equal(op({ algorithm: 'RS256' }).algorithm, 'RS256', 'without the operation, any known name');
  t.equal(reason(() => validateKeyOperationRequest({ vault: 'abc', name: 'k', algorithm: 'RS256' }, 'encrypt')), 'BAD_ALGORITHM', 'a signature algorithm does not encrypt');
  t.ok(validateKeyOperationRequest({ vault: 'abc', name: 'k', algorithm: 'A256GCM' }, 'decrypt'));
  t.ok(validateKeyOperationRequest({ vault: 'abc', name: 'k', algorithm: 'RSA-OAEP-256' }, 'unwrapKey'));
  t.ok(validateKeyOperationRequest({ vault: 'abc', name: 'k', algorithm: 'RSA1_5' }, 'wrapKey'));
  t.ok(validateKeyOperationRequest({ vault: 'abc', name: 'k', algorithm: 'A128KW' }, 'unwrapKey'));
  t.equal(reason(() => validateKeyOperationRequest({ vault: 'abc', name: 'k', algorithm: 'A128KW' }, 'encrypt')), 'BAD_ALGORITHM');
  t.equal(reason(() => validateKeyOperationRequest({ vault: 'abc', name: 'k', algorithm: 'A128GCM' }, 'wrapKey')), 'BAD_ALGORITHM');
  t.equal(reason(() => validateKeyOperationRequest({ vault: 'abc', name: 'k', algorithm: 'ES256' }, 'decrypt')), 'BAD_ALGORITHM');
  for (const alg of ['A128GCM', 'A192GCM', 'A256GCM']) {
    const e = thrown(() => validateKeyOperationRequest({ vault: 'abc', name: 'k', algorithm: alg, value: Buffer.from('hi'), iv: Buffer.alloc(12, 1) }, 'encrypt'));
    t.equal(e.reason, 'BAD_PARAMETER', `${alg} Encrypt with an IV`);
    t.match(e.message, /takes no IV/, 'says why');
    t.equal(validateKeyOperationRequest({ vault: 'abc', name: 'k', algorithm: alg, iv: new Uint8Array() }, 'encrypt').iv.length, 0, `${alg} Encrypt: an empty IV is proto3's absent one`);
    t.same(validateKeyOperationRequest({ vault: 'abc', name: 'k', algorithm: alg, iv: Buffer.alloc(12, 1) }, 'decrypt').iv, Buffer.alloc(12, 1), `${alg} Decrypt takes the IV`);
  }
  t.same(validateKeyOperationRequest({ vault: 'abc', name: 'k', algorithm: 'A256CBCPAD', iv: Buffer.alloc(16, 2) }, 'encrypt').iv, Buffer.alloc(16, 2), 'CBC Encrypt takes an IV');
  for (const which of ['decrypt', 'unwrapKey'] as const) {
    const e = thrown(() => validateKeyOperationRequest({ vault: 'abc', name: 'k', algorithm: 'RSA1_5' }, which));
    t.equal(e.reason, 'BAD_ALGORITHM');
    t.match(e.message, /Marvin/, 'says why RSA1_5 is refused');
  }

  const sign = (algorithm: string, n: number) => validateSignRequest({ vault: 'abc', name: 'k', algorithm, digest: Buffer.alloc(n) });
  for (const [alg, n] of [['RS256', 32], ['PS384', 48], ['RS512', 64], ['ES256', 32], ['ES384', 48], ['ES512', 64], ['ES256K', 32]] as const) {
    t.equal(sign(alg, n).digest.length, n, alg);
    t.equal(reason(() => sign(alg, n + 1)), 'BAD_PARAMETER', `${alg} digest too long`);
  }
  t.equal(reason(() => sign('RSA-OAEP', 32)), 'BAD_ALGORITHM', 'not a signature algorithm');
  const verify = (signature: unknown) => validateVerifyRequest({ vault: 'abc', name: 'k', algorithm: 'ES256', digest: Buffer.alloc(32), signature: signature as Buffer });
  t.equal(verify(Buffer.alloc(64)).signature.length, 64);
  t.equal(reason(() => verify(Buffer.alloc(0))), 'BAD_PARAMETER');
  t.equal(reason(() => verify(Buffer.alloc(1025))), 'BAD_PARAMETER');

  t.same(validateGetRandomBytesRequest({ count: 1 }), { count: 1 });
  t.same(validateGetRandomBytesRequest({ count: 128 }), { count: 128 });
  for (const count of [0, 129, 1.5, -1, undefined]) t.equal(reason(() => validateGetRandomBytesRequest({ count })), 'BAD_PARAMETER', String(count));
});

t.test('an algorithm must fit the key: type, size or curve', async (t) => {
  const rsa = { kty: 'RSA', keySize: 2048, curve: '' };
  t.same(checkAlgorithmForKey('PS256', rsa), { kty: 'RSA', use: 'sign', digestBytes: 32 });
  t.ok(checkAlgorithmForKey('A192KW', { kty: 'oct', keySize: 192, curve: '' }));
  t.ok(checkAlgorithmForKey('ES256K', { kty: 'EC', keySize: 0, curve: 'P-256K' }));
  for (const [alg, key] of [
    ['ES256', rsa],
    ['RS256', { kty: 'EC', keySize: 0, curve: 'P-256' }],
    ['A128GCM', { kty: 'oct', keySize: 256, curve: '' }],
    ['ES384', { kty: 'EC', keySize: 0, curve: 'P-256' }],
    ['ES256', { kty: 'EC', keySize: 0, curve: 'P-256K' }],
    ['nope', rsa],
  ] as const) {
    t.equal(reason(() => checkAlgorithmForKey(alg, key)), 'BAD_ALGORITHM', alg);
  }
});

// The command codec.

const examples: Command[] = [
  {
    requestId: 'r1',
    timeMs: T0,
    op: 'createKeyVersion',
    createKeyVersion: { vault: 'v', name: 'n', version: ver(1), material: material(P256), attributes: keyAttrs('EC', { tags: { a: 'b', _x: 'y' }, notBefore: 5, expires: 9, exportable: true }), rotation: true },
  },
  { requestId: '', timeMs: 2, op: 'updateKey', updateKey: { vault: 'v', name: 'n', version: '', enabled: false, notBefore: 0, replaceKeyOps: true, keyOps: [], replaceTags: true, tags: { k: 'v' } } },
  { requestId: '', timeMs: 3, op: 'updateKey', updateKey: { vault: 'v', name: 'n', version: ver(2), expires: 99, replaceKeyOps: false, keyOps: ['sign'], replaceTags: false, tags: {} } },
  { requestId: '', timeMs: 4, op: 'deleteKey', deleteKey: { vault: 'v', name: 'n' } },
  { requestId: '', timeMs: 5, op: 'recoverKey', recoverKey: { vault: 'v', name: 'n' } },
  { requestId: '', timeMs: 6, op: 'purgeKey', purgeKey: { vault: 'v', name: 'n' } },
  {
    requestId: '',
    timeMs: 7,
    op: 'restoreKey',
    restoreKey: {
      vault: 'v',
      name: 'n',
      versions: [
        { version: ver(3), material: material(), attributes: keyAttrs(), createdMs: 10, updatedMs: 11 },
        { version: ver(1), material: material(P256, 'b'), attributes: keyAttrs('EC', { enabled: false, keyOps: [] }), createdMs: 12, updatedMs: 12 },
      ],
    },
  },
];

t.test('every key command survives encode then decode, optional fields included', async (t) => {
  for (const c of examples) {
    const back = decodeCommand(encodeCommand(c));
    t.same(back, c, c.op);
    t.same(Object.keys(back).sort(), Object.keys(c).sort(), `${c.op}: no extra fields`);
  }
  const upd = decodeCommand(encodeCommand(examples[1]!));
  t.ok(upd.op === 'updateKey' && !('expires' in upd.updateKey) && upd.updateKey.notBefore === 0 && upd.updateKey.enabled === false, 'absent optionals stay absent, present falsy ones present');
  const c = decodeCommand(encodeCommand(examples[0]!));
  t.ok(c.op === 'createKeyVersion' && c.createKeyVersion.material?.sealedPrivateJwk.constructor === Uint8Array, 'bytes decode as plain Uint8Array');
  const empty = decodeCommand(encodeCommand({ requestId: '', timeMs: 0, op: 'createKeyVersion', createKeyVersion: { vault: 'v' } } as unknown as Command));
  t.same(empty, { requestId: '', timeMs: 0, op: 'createKeyVersion', createKeyVersion: { vault: 'v', name: '', version: '', material: null, attributes: null, rotation: false } });
});

t.test('flipped bytes in key commands: a BAD_COMMAND, or a command apply refuses or applies cleanly', async (t) => {
  const state = new VaultState();
  state.apply({ requestId: '', timeMs: T0, op: 'createVault', createVault: { name: 'v1x', softDeleteRetentionDays: 0, purgeProtection: false } }, 1);
  const encoded = examples.map((c) => encodeCommand(c.op === 'createKeyVersion' ? { ...c, createKeyVersion: { ...c.createKeyVersion, vault: 'v1x' } } : c));
  fc.assert(
    fc.property(fc.nat(encoded.length - 1), fc.nat(), fc.integer({ min: 1, max: 255 }), (which, at, x) => {
      const bytes = new Uint8Array(encoded[which]!);
      const j = at % bytes.length;
      bytes[j] = bytes[j]! ^ x;
      let c: Command;
      try {
        c = decodeCommand(bytes);
      } catch (e) {
        return e instanceof VaultError && e.reason === 'BAD_COMMAND';
      }
      const out = state.apply(c, 2);
      return 'result' in out || out.mutations.length === 0;
    }),
    { numRuns: 1500 },
  );
  t.pass('never a crash');
});
