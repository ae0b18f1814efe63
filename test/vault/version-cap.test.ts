// The cap on versions per secret and per key: apply refuses the version past
// the cap that the command carries (TOO_MANY_VERSIONS) and changes nothing;
// a restore of more versions than the cap is refused alike; a cap out of
// range is a bad command.

import t from 'tap';
import { ErrorKind, MAX_VERSIONS, encodeCommand, decodeCommand } from '../../src/vault/index.js';
import { Harness, keyOp, setOp, ver } from './fixtures/harness.js';

function vault() {
  const h = new Harness();
  h.createVault('Vault1');
  return h;
}

const capped = <O extends { op: string }>(op: O, maxVersions: number): O => {
  const body = (op as unknown as Record<string, Record<string, unknown>>)[op.op]!;
  return { ...op, [op.op]: { ...body, maxVersions } };
};

t.test('SetSecret past the cap is TOO_MANY_VERSIONS and changes nothing', async (t) => {
  const h = vault();
  for (let i = 1; i <= 3; i++) h.ok(capped(setOp('vault1', 's', `v${i}`, {}, ver(i)), 3));
  const before = h.dump();
  const e = h.fail(capped(setOp('vault1', 's', 'v4', {}, ver(4)), 3));
  t.same([e.reason, e.kind], ['TOO_MANY_VERSIONS', ErrorKind.FailedPrecondition]);
  t.match(e.message, /already holds 3 versions, the most one may hold \(3\)/);
  t.same(h.dump(), before);
  t.same(h.state.listSecretVersions('vault1', 's', 0, '').secrets.length, 3);
  // Another secret has room of its own; a higher cap (a topology changed since) lets this one grow.
  h.ok(capped(setOp('vault1', 'other', 'x', {}, ver(5)), 3));
  h.ok(capped(setOp('vault1', 's', 'v4', {}, ver(6)), 4));
});

t.test('a command without a cap gets the ceiling, MAX_VERSIONS', async (t) => {
  const h = vault();
  for (let i = 1; i <= MAX_VERSIONS; i++) h.ok(setOp('vault1', 's', 'v', {}, ver(i)));
  t.equal(h.fail(setOp('vault1', 's', 'v', {}, ver(MAX_VERSIONS + 1))).reason, 'TOO_MANY_VERSIONS');
});

t.test('CreateKey, ImportKey and RotateKey past the cap are TOO_MANY_VERSIONS and change nothing', async (t) => {
  const h = vault();
  h.ok(capped(keyOp('vault1', 'k', { version: ver(1) }), 2));
  h.ok(capped(keyOp('vault1', 'k', { version: ver(2), rotation: true }), 2));
  const before = h.dump();
  for (const rotation of [true, false]) {
    const e = h.fail(capped(keyOp('vault1', 'k', { version: ver(3), rotation }), 2));
    t.same([e.reason, e.kind], ['TOO_MANY_VERSIONS', ErrorKind.FailedPrecondition], rotation ? 'rotate' : 'create');
  }
  t.same(h.dump(), before);
});

t.test('a restore of more versions than the cap is TOO_MANY_VERSIONS and changes nothing', async (t) => {
  const h = vault();
  for (let i = 1; i <= 3; i++) h.ok(setOp('vault1', 's', 'v', {}, ver(i)));
  h.ok(keyOp('vault1', 'k', { version: ver(10) }));
  h.ok(keyOp('vault1', 'k', { version: ver(11), rotation: true }));
  const secret = h.state.backupSecret('vault1', 's');
  const key = h.state.backupKey('vault1', 'k');
  const before = h.dump();
  const s = h.fail({ op: 'restoreSecret', restoreSecret: { vault: 'vault1', name: 'copy', versions: secret.versions, maxVersions: 2 } });
  t.same([s.reason, s.kind], ['TOO_MANY_VERSIONS', ErrorKind.FailedPrecondition]);
  t.match(s.message, /holds at most 2 versions; "copy" would hold 3/);
  const k = h.fail({ op: 'restoreKey', restoreKey: { vault: 'vault1', name: 'copy', versions: key.versions, maxVersions: 1 } });
  t.same([k.reason, k.kind], ['TOO_MANY_VERSIONS', ErrorKind.FailedPrecondition]);
  t.same(h.dump(), before);
  h.ok({ op: 'restoreSecret', restoreSecret: { vault: 'vault1', name: 'copy', versions: secret.versions, maxVersions: 3 } });
  h.ok({ op: 'restoreKey', restoreKey: { vault: 'vault1', name: 'copy', versions: key.versions, maxVersions: 2 } });
});

t.test('a cap out of range is BAD_PARAMETER', async (t) => {
  const h = vault();
  const before = h.dump();
  for (const cap of [-1, 1.5, MAX_VERSIONS + 1, '3']) {
    t.equal(h.fail(capped(setOp('vault1', 's', 'v', {}, ver(1)), cap as number)).reason, 'BAD_PARAMETER', JSON.stringify(cap));
  }
  t.same(h.dump(), before);
});

t.test('the cap travels in the log: encoded and decoded with the command', async (t) => {
  const op = capped(setOp('vault1', 's', 'v', {}, ver(1)), 7);
  const decoded = decodeCommand(encodeCommand({ requestId: '', timeMs: 1, ...op } as never)) as unknown as { setSecret: { maxVersions: number } };
  t.equal(decoded.setSecret.maxVersions, 7);
});
