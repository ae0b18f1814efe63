// What comes in: static request validation (Azure Key Vault's names and
// limits) and the log's command codec (a lossless round trip, a clean error
// on garbage).

import fc from 'fast-check';
import t from 'tap';
import {
  type Command,
  ErrorKind,
  VaultError,
  VaultState,
  decodeCommand,
  encodeCommand,
  normalizePageSize,
  normalizeRetentionDays,
  validateCreateVaultRequest,
  validateDates,
  validateListRequest,
  validateRequestId,
  validateSecretName,
  validateSecretValue,
  validateSetSecretRequest,
  validateTags,
  validateUpdateSecretPropertiesRequest,
  validateVaultName,
  validateVersionId,
  validateVersionRef,
} from '../../src/vault/index.js';
import { attrs, sealed, thrown, ver } from './fixtures/harness.js';

const reason = (fn: () => unknown) => {
  const e = thrown(fn);
  if (e.kind !== ErrorKind.InvalidArgument) throw new Error(`kind ${e.kind}`);
  return e.reason;
};

t.test('vault names: 3-24 chars, a letter first, letters digits and single inner hyphens', async (t) => {
  for (const ok of ['abc', 'a-b-c', 'Vault1', 'a'.repeat(24), 'x1-2y']) t.equal(validateVaultName(ok), ok, ok);
  for (const bad of ['ab', 'a'.repeat(25), '1abc', '-abc', 'ab--c', 'abc-', 'ab_c', 'ab c', 'abé', '', 42, null]) {
    t.equal(reason(() => validateVaultName(bad)), 'INVALID_NAME', String(bad));
  }
});

t.test('secret names: 1-127 chars of letters, digits and hyphens', async (t) => {
  for (const ok of ['a', '1', '-', 'My-Secret-2', 'x'.repeat(127)]) t.equal(validateSecretName(ok), ok);
  for (const bad of ['', 'x'.repeat(128), 'a_b', 'a.b', 'a/b', 'a b', undefined]) {
    t.equal(reason(() => validateSecretName(bad)), 'INVALID_NAME', String(bad));
  }
});

t.test('secret values: at most 25 KiB of UTF-8, and the error never quotes the value', async (t) => {
  t.equal(validateSecretValue(''), '');
  t.equal(validateSecretValue('x'.repeat(25 * 1024)).length, 25 * 1024);
  t.equal(validateSecretValue('é'.repeat(12_800)).length, 12_800, '25600 bytes in UTF-8');
  const e = thrown(() => validateSecretValue('é'.repeat(12_801)));
  t.equal(e.reason, 'VALUE_TOO_LARGE');
  t.match(e.message, /25602 bytes/);
  t.notMatch(e.message, /é/, 'the value is not in the message');
  t.equal(reason(() => validateSecretValue('SECRET' + 'x'.repeat(25 * 1024))), 'VALUE_TOO_LARGE');
  t.notMatch(thrown(() => validateSecretValue('SECRET' + 'x'.repeat(25 * 1024))).message, /SECRET/);
  t.equal(reason(() => validateSecretValue(5)), 'BAD_PARAMETER');
});

t.test('retention days 7-90, 0 meaning 90; page size 1-25, 0 meaning 25', async (t) => {
  t.equal(normalizeRetentionDays(0), 90);
  t.equal(normalizeRetentionDays(7), 7);
  t.equal(normalizeRetentionDays(90), 90);
  for (const bad of [6, 91, 7.5, -1, '30']) t.equal(reason(() => normalizeRetentionDays(bad)), 'BAD_PARAMETER');
  t.equal(normalizePageSize(0), 25);
  t.equal(normalizePageSize(1), 1);
  t.equal(normalizePageSize(25), 25);
  for (const bad of [26, -1, 2.5]) t.equal(reason(() => normalizePageSize(bad)), 'BAD_PARAMETER');
});

t.test('tags: at most 15, names 1-256 and values up to 256 characters', async (t) => {
  const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));
  t.same(validateTags(many(15)), many(15));
  t.same(validateTags(undefined), {});
  t.equal(reason(() => validateTags(many(16))), 'BAD_PARAMETER');
  t.ok(validateTags({ ['k'.repeat(256)]: 'v'.repeat(256), e: '' }));
  t.equal(reason(() => validateTags({ ['k'.repeat(257)]: 'v' })), 'BAD_PARAMETER');
  t.equal(reason(() => validateTags({ k: 'v'.repeat(257) })), 'BAD_PARAMETER');
  t.equal(reason(() => validateTags({ '': 'v' })), 'BAD_PARAMETER');
  t.equal(reason(() => validateTags({ k: 1 })), 'BAD_PARAMETER');
  t.equal(reason(() => validateTags(['a'])), 'BAD_PARAMETER');
});

t.test('dates: non-negative unix seconds, expiry after activation when both are set', async (t) => {
  t.same(validateDates(0, 0), { notBefore: 0, expires: 0 });
  t.same(validateDates(100, 0), { notBefore: 100, expires: 0 });
  t.same(validateDates(0, 100), { notBefore: 0, expires: 100 });
  t.same(validateDates(100, 101), { notBefore: 100, expires: 101 });
  for (const [nbf, exp] of [[100, 100], [101, 100], [-1, 0], [0, -5], [1.5, 0], [0, 1e15]]) {
    t.equal(reason(() => validateDates(nbf, exp)), 'BAD_PARAMETER', `${nbf}, ${exp}`);
  }
});

t.test('version ids are 32 lowercase hex characters; "" means the latest where allowed', async (t) => {
  const id = '0123456789abcdef0123456789abcdef';
  t.equal(validateVersionId(id), id);
  t.equal(validateVersionRef(''), '');
  t.equal(validateVersionRef(id), id);
  for (const bad of ['', id.toUpperCase(), id.slice(1), `${id}0`, 'g'.repeat(32)]) {
    t.equal(reason(() => validateVersionId(bad)), 'BAD_PARAMETER', bad);
  }
  t.equal(reason(() => validateVersionRef('latest')), 'BAD_PARAMETER');
});

t.test('request ids: optional, printable, bounded', async (t) => {
  t.equal(validateRequestId(''), '');
  t.equal(validateRequestId(undefined), '');
  t.equal(validateRequestId('3f2a-1/x'), '3f2a-1/x');
  for (const bad of ['a b', 'x'.repeat(129), 'é', 7]) t.equal(reason(() => validateRequestId(bad)), 'BAD_PARAMETER');
});

t.test('whole requests are normalized: defaults filled, enabled unless said otherwise', async (t) => {
  t.same(validateCreateVaultRequest({ name: 'abc' }), { name: 'abc', softDeleteRetentionDays: 90, purgeProtection: false, requestId: '' });
  const set = validateSetSecretRequest({ vault: 'abc', name: 'n', value: 'x', tags: { a: 'b' }, notBefore: 5 });
  t.same(set, { vault: 'abc', name: 'n', value: 'x', contentType: '', tags: { a: 'b' }, enabled: true, notBefore: 5, expires: 0, requestId: '' });
  t.equal(validateSetSecretRequest({ vault: 'abc', name: 'n', value: 'x', enabled: false }).enabled, false);
  t.equal(reason(() => validateSetSecretRequest({ vault: 'ab', name: 'n', value: 'x' })), 'INVALID_NAME');
  const upd = validateUpdateSecretPropertiesRequest({ vault: 'abc', name: 'n', enabled: false, tags: { tags: {} } });
  t.same(upd, { vault: 'abc', name: 'n', version: '', requestId: '', contentType: undefined, enabled: false, notBefore: undefined, expires: undefined, tags: {} });
  t.equal(reason(() => validateUpdateSecretPropertiesRequest({ vault: 'abc', name: 'n', notBefore: 10, expires: 5 })), 'BAD_PARAMETER');
  t.same(validateListRequest({ vault: 'abc' }), { vault: 'abc', name: undefined, pageSize: 25, pageToken: '' });
});

// The command codec.

const examples: Command[] = [
  { requestId: 'r1', timeMs: 1_735_689_600_123, op: 'createVault', createVault: { name: 'Vault1', softDeleteRetentionDays: 7, purgeProtection: true } },
  { requestId: '', timeMs: 1, op: 'deleteVault', deleteVault: { name: 'vault1' } },
  {
    requestId: 'r2',
    timeMs: 2,
    op: 'setSecret',
    setSecret: { vault: 'v', name: 'n', version: ver(1), sealedValue: sealed('x'), attributes: attrs({ tags: { a: 'b', _x: 'y' }, notBefore: 5, expires: 9 }) },
  },
  {
    requestId: '',
    timeMs: 3,
    op: 'updateSecret',
    updateSecret: { vault: 'v', name: 'n', version: '', enabled: false, notBefore: 0, replaceTags: true, tags: { k: 'v' } },
  },
  { requestId: '', timeMs: 3, op: 'updateSecret', updateSecret: { vault: 'v', name: 'n', version: ver(2), contentType: 'text/plain', expires: 99, replaceTags: false, tags: {} } },
  { requestId: '', timeMs: 4, op: 'deleteSecret', deleteSecret: { vault: 'v', name: 'n' } },
  { requestId: '', timeMs: 5, op: 'recoverSecret', recoverSecret: { vault: 'v', name: 'n' } },
  { requestId: '', timeMs: 6, op: 'purgeSecret', purgeSecret: { vault: 'v', name: 'n' } },
  {
    requestId: '',
    timeMs: 7,
    op: 'restoreSecret',
    restoreSecret: {
      vault: 'v',
      name: 'n',
      versions: [
        { version: ver(3), sealedValue: sealed('a'), attributes: attrs(), createdMs: 10, updatedMs: 11 },
        { version: ver(1), sealedValue: new Uint8Array(), attributes: attrs({ enabled: false }), createdMs: 12, updatedMs: 12 },
      ],
    },
  },
  { requestId: '', timeMs: 8, op: 'installDataKey', installDataKey: { keyId: 'dk-1', wrappedKey: new Uint8Array([9, 8, 7]) } },
  { requestId: '', timeMs: 9, op: 'installTokenKey', installTokenKey: { keyId: 'tk-1', sealedSeed: new Uint8Array(69).fill(5) } },
  { requestId: 'r3', timeMs: 10, op: 'createPrincipal', createPrincipal: { name: 'alice' } },
  { requestId: '', timeMs: 10, op: 'createPrincipal', createPrincipal: { name: 'Bob@x', generation: 0 } },
  { requestId: '', timeMs: 11, op: 'resetPrincipal', resetPrincipal: { name: 'alice' } },
  {
    requestId: '',
    timeMs: 12,
    op: 'createRoleAssignment',
    createRoleAssignment: { id: ver(7), principal: 'alice', role: 'Key Vault Secrets User', scope: '/vaults/vault1' },
  },
  { requestId: '', timeMs: 13, op: 'deleteRoleAssignment', deleteRoleAssignment: { id: ver(7) } },
  { requestId: '', timeMs: 14, op: 'deletePrincipal', deletePrincipal: { name: 'alice' } },
];

t.test('every command survives encode then decode, optional fields included', async (t) => {
  for (const c of examples) {
    const back = decodeCommand(encodeCommand(c));
    t.same(back, c, c.op);
    t.same(Object.keys(back).sort(), Object.keys(c).sort(), `${c.op}: no extra fields`);
  }
  const upd = decodeCommand(encodeCommand(examples[3]!));
  t.ok(upd.op === 'updateSecret' && !('contentType' in upd.updateSecret) && !('expires' in upd.updateSecret), 'absent optionals stay absent');
  t.ok(upd.op === 'updateSecret' && upd.updateSecret.enabled === false && upd.updateSecret.notBefore === 0, 'present falsy optionals stay present');
  const principal = examples.map((c) => decodeCommand(encodeCommand(c))).filter((c) => c.op === 'createPrincipal');
  t.same(
    principal.map((c) => c.op === 'createPrincipal' && c.createPrincipal.generation),
    [undefined, 0],
    'an absent generation stays absent, a 0 stays 0',
  );
});

t.test('decoded bytes are plain Uint8Arrays, not views of the input', async (t) => {
  const bytes = encodeCommand(examples[2]!);
  const c = decodeCommand(bytes);
  t.ok(c.op === 'setSecret');
  if (c.op !== 'setSecret') return;
  t.equal(c.setSecret.sealedValue.constructor, Uint8Array);
  t.not(c.setSecret.sealedValue.buffer, bytes.buffer);
});

t.test('defaults are filled: a missing submessage is null, scalars are zero', async (t) => {
  const c = decodeCommand(encodeCommand({ requestId: '', timeMs: 0, op: 'setSecret', setSecret: { vault: 'v' } } as unknown as Command));
  t.same(c, { requestId: '', timeMs: 0, op: 'setSecret', setSecret: { vault: 'v', name: '', version: '', sealedValue: new Uint8Array(), attributes: null } });
});

t.test('only the chosen operation is encoded', async (t) => {
  const mixed = { ...examples[0]!, deleteVault: { name: 'other' } } as Command;
  t.same(decodeCommand(encodeCommand(mixed)), examples[0]);
});

t.test('garbage never crashes: a BAD_COMMAND error, or a command that apply refuses cleanly', async (t) => {
  t.equal(thrownReason(new Uint8Array()), 'BAD_COMMAND', 'no operation');
  t.equal(thrownReason(new Uint8Array([0xff, 0xff, 0xff])), 'BAD_COMMAND', 'truncated varint');
  t.equal(thrownReason(new Uint8Array([0x52, 0x05, 0x0a])), 'BAD_COMMAND', 'length past the end');
  const state = new VaultState();
  state.apply(examples[0]!, 1);
  // A principal, so that flipped role-assignment commands can get past its lookup.
  state.apply(examples.find((c) => c.op === 'createPrincipal')!, 1);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      let c: Command;
      try {
        c = decodeCommand(bytes);
      } catch (e) {
        return e instanceof VaultError && e.kind === ErrorKind.InvalidArgument && e.reason === 'BAD_COMMAND';
      }
      const out = state.apply(c, 2);
      return 'error' in out ? out.mutations.length === 0 : true;
    }),
    { numRuns: 1500 },
  );
  // Valid commands with bytes flipped: the same guarantees.
  const encoded = examples.map(encodeCommand);
  fc.assert(
    fc.property(fc.nat(encoded.length - 1), fc.nat(), fc.integer({ min: 1, max: 255 }), (which, at, x) => {
      const bytes = new Uint8Array(encoded[which]!);
      const j = at % bytes.length;
      bytes[j] = bytes[j]! ^ x;
      try {
        state.apply(decodeCommand(bytes), 3);
      } catch (e) {
        return e instanceof VaultError && e.reason === 'BAD_COMMAND';
      }
      return true;
    }),
    { numRuns: 1500 },
  );
});

function thrownReason(bytes: Uint8Array): string {
  try {
    decodeCommand(bytes);
  } catch (e) {
    return e instanceof VaultError ? e.reason : `not a VaultError: ${e}`;
  }
  return 'no error';
}
