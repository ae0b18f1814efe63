// Every SecretClient operation of the unmodified @azure/keyvault-secrets,
// through the route table to the RPC it must become and back through the
// shapes, parsed by the SDK itself: the gRPC request is checked field by
// field, the SDK's result against the keyraft response it came from.

import { parseKeyVaultSecretIdentifier, SecretClient } from '@azure/keyvault-secrets';
import t from 'tap';
import type { DeletedSecret, Secret, SecretProperties } from '../../src/client/types.js';
import { clientOptions, Failure, gateway, VAULT, VAULT_URL } from './gateway-harness.js';

const V1 = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const V2 = 'aabbccddeeff00112233445566778899';
const NBF = 1767225600; // 2026-01-01
const EXP = 1798761600; // 2027-01-01
const CREATED = 1764720000;

function props(name: string, version: string, over: Partial<SecretProperties> = {}): SecretProperties {
  return {
    vault: VAULT,
    name,
    version,
    id: `keyraft://${VAULT}/secrets/${name}/${version}`,
    contentType: 'text/plain',
    tags: { env: 'test' },
    enabled: true,
    notBefore: NBF,
    expires: EXP,
    created: CREATED,
    updated: CREATED + 1,
    recoveryLevel: 'Recoverable+Purgeable',
    recoverableDays: 90,
    ...over,
  };
}

function deleted(p: SecretProperties): DeletedSecret {
  return { properties: p, recoveryId: `keyraft://${VAULT}/deletedsecrets/${p.name}`, deletedDate: CREATED + 10, scheduledPurgeDate: CREATED + 10 + 90 * 86400 };
}

const notFound = (reason: string) => new Failure({ code: 5, reason, message: `${reason}: s1` });

function setup() {
  const g = gateway();
  const client = new SecretClient(VAULT_URL, g.credential, clientOptions(g));
  return { g, client };
}

t.test('setSecret: the challenge, then SetSecret with every member; the SecretBundle parsed exactly', async (t) => {
  const { g, client } = setup();
  let stored: Secret | undefined;
  g.handlers['SetSecret'] = (r) => (stored = { properties: props('s1', V1), value: r['value'] as string });
  const secret = await client.setSecret('s1', 'v1 \u00e9', {
    contentType: 'text/plain',
    tags: { env: 'test' },
    enabled: true,
    notBefore: new Date(NBF * 1000),
    expiresOn: new Date(EXP * 1000),
  });
  t.same(g.scopes, [['https://kv.localhost/.default']], 'the SDK took the challenge');
  t.equal(g.calls.length, 1);
  const call = g.calls[0]!;
  t.equal(call.apiVersion, '2026-04-01');
  t.match(call, { service: 'Secrets', rpc: 'SetSecret', operation: 'SetSecret' });
  const { requestId, ...request } = call.request;
  t.match(requestId, /^[0-9a-f-]{36}$/, "the SDK's x-ms-client-request-id");
  t.same(request, { vault: VAULT, name: 's1', value: 'v1 \u00e9', contentType: 'text/plain', tags: { env: 'test' }, enabled: true, notBefore: NBF, expires: EXP });
  t.ok(stored);
  t.equal(secret.value, 'v1 \u00e9');
  t.equal(secret.name, 's1');
  t.equal(secret.properties.id, `${VAULT_URL}/secrets/s1/${V1}`);
  t.equal(secret.properties.vaultUrl, VAULT_URL);
  t.equal(secret.properties.version, V1);
  t.equal(secret.properties.notBefore?.getTime(), NBF * 1000);
  t.equal(secret.properties.expiresOn?.getTime(), EXP * 1000);
  t.equal(secret.properties.createdOn?.getTime(), CREATED * 1000);
  t.equal(secret.properties.updatedOn?.getTime(), (CREATED + 1) * 1000);
  t.equal(secret.properties.enabled, true);
  t.equal(secret.properties.recoveryLevel, 'Recoverable+Purgeable');
  t.equal(secret.properties.recoverableDays, 90);
  t.equal(secret.properties.contentType, 'text/plain');
  t.same(secret.properties.tags, { env: 'test' });
  t.same(parseKeyVaultSecretIdentifier(secret.properties.id!), { sourceId: secret.properties.id, vaultUrl: VAULT_URL, name: 's1', version: V1 });
});

t.test('getSecret: latest ("/secrets/s1/") and a version', async (t) => {
  const { g, client } = setup();
  g.handlers['GetSecret'] = (r) => ({ properties: props('s1', (r['version'] as string) || V2, { notBefore: 0, expires: 0, tags: {}, contentType: '' }), value: 'x' });
  const latest = await client.getSecret('s1');
  t.same(g.calls[0]!.request, { vault: VAULT, name: 's1', version: '' });
  t.equal(latest.properties.version, V2);
  t.equal(latest.properties.notBefore, undefined, 'an unset nbf is left out');
  t.equal(latest.properties.expiresOn, undefined, 'an unset exp is left out');
  t.equal(latest.properties.tags, undefined, 'no tags, no member');
  t.equal(latest.properties.contentType, undefined);
  const one = await client.getSecret('s1', { version: V1 });
  t.same(g.calls[1]!.request, { vault: VAULT, name: 's1', version: V1 });
  t.equal(one.properties.version, V1);
});

t.test('a missing secret is 404 SecretNotFound to the SDK', async (t) => {
  const { g, client } = setup();
  g.handlers['GetSecret'] = () => {
    throw notFound('SECRET_NOT_FOUND');
  };
  await t.rejects(client.getSecret('nope'), { statusCode: 404, code: 'SecretNotFound', message: 'SECRET_NOT_FOUND: s1' });
});

t.test('listPropertiesOfSecrets: maxresults, nextLink followed with its $skiptoken, ids without versions', async (t) => {
  const { g, client } = setup();
  g.handlers['ListSecrets'] = (r) =>
    r['pageToken'] === undefined
      ? { secrets: [props('a', V1), props('b', V1)], nextPageToken: 'tok/1+=' }
      : { secrets: [props('c', V2)], nextPageToken: '' };
  const pages: string[][] = [];
  for await (const page of client.listPropertiesOfSecrets().byPage({ maxPageSize: 2 })) pages.push(page.map((p) => `${p.name}@${p.version ?? 'latest'}`));
  t.same(pages, [['a@latest', 'b@latest'], ['c@latest']]);
  t.same(
    g.calls.map((c) => c.request),
    [
      { vault: VAULT, pageSize: 2 },
      { vault: VAULT, pageSize: 2, pageToken: 'tok/1+=' },
    ],
  );
  t.equal(g.calls[1]!.apiVersion, '2026-04-01', 'the nextLink carries the api-version');
  const names: string[] = [];
  for await (const p of client.listPropertiesOfSecrets()) names.push(p.name);
  t.same(names, ['a', 'b', 'c'], 'the plain iterator pages too');
});

t.test('listPropertiesOfSecretVersions: ids with their versions', async (t) => {
  const { g, client } = setup();
  g.handlers['ListSecretVersions'] = () => ({ secrets: [props('s1', V1), props('s1', V2, { enabled: false })], nextPageToken: '' });
  const versions: [string | undefined, boolean | undefined][] = [];
  for await (const p of client.listPropertiesOfSecretVersions('s1')) versions.push([p.version, p.enabled]);
  t.same(g.calls[0]!.request, { vault: VAULT, name: 's1' });
  t.same(versions, [
    [V1, true],
    [V2, false],
  ]);
});

t.test('updateSecretProperties: only what is given, tags replaced', async (t) => {
  const { g, client } = setup();
  g.handlers['UpdateSecretProperties'] = () => props('s1', V1, { enabled: false, tags: {} });
  const p = await client.updateSecretProperties('s1', V1, { enabled: false, tags: {} });
  const { requestId, ...request } = g.calls[0]!.request;
  t.type(requestId, 'string');
  t.same(request, { vault: VAULT, name: 's1', version: V1, enabled: false, tags: { tags: {} } });
  t.equal(p.enabled, false);
  t.equal(p.version, V1);
  await client.updateSecretProperties('s1', '', { contentType: 'application/json' });
  t.match(g.calls[1]!.request, { version: '', contentType: 'application/json' }, 'PATCH /secrets/s1/ is the latest version');
  t.notOk('tags' in g.calls[1]!.request, 'tags not given, not changed');
});

t.test('beginDeleteSecret: DeleteSecret, then the poller waits out 404s on GetDeletedSecret', async (t) => {
  const { g, client } = setup();
  g.handlers['DeleteSecret'] = () => deleted(props('s1', V1));
  let polls = 0;
  g.handlers['GetDeletedSecret'] = () => {
    if (++polls < 3) throw notFound('DELETED_SECRET_NOT_FOUND');
    return deleted(props('s1', V1));
  };
  const poller = await client.beginDeleteSecret('s1', { intervalInMs: 1 });
  const d = await poller.pollUntilDone();
  t.equal(polls, 3, 'two 404s, then found');
  t.match(g.calls.map((c) => c.rpc), ['DeleteSecret', 'GetDeletedSecret', 'GetDeletedSecret', 'GetDeletedSecret']);
  t.equal(d.name, 's1');
  t.equal(d.recoveryId, `${VAULT_URL}/deletedsecrets/s1`);
  t.equal(d.deletedOn?.getTime(), (CREATED + 10) * 1000);
  t.equal(d.scheduledPurgeDate?.getTime(), (CREATED + 10 + 90 * 86400) * 1000);
  t.equal(d.value, undefined, 'no value for a deleted secret');
});

t.test('getDeletedSecret, listDeletedSecrets, purgeDeletedSecret (204)', async (t) => {
  const { g, client } = setup();
  g.handlers['GetDeletedSecret'] = () => deleted(props('s1', V1));
  const d = await client.getDeletedSecret('s1');
  t.same(g.calls[0]!.request, { vault: VAULT, name: 's1' });
  t.equal(d.properties.recoveryId, `${VAULT_URL}/deletedsecrets/s1`);
  g.handlers['ListDeletedSecrets'] = () => ({ secrets: [deleted(props('s1', V1)), deleted(props('s2', V2))], nextPageToken: '' });
  const names: string[] = [];
  for await (const x of client.listDeletedSecrets()) names.push(`${x.name} ${x.recoveryId}`);
  t.same(names, [`s1 ${VAULT_URL}/deletedsecrets/s1`, `s2 ${VAULT_URL}/deletedsecrets/s2`]);
  g.handlers['PurgeDeletedSecret'] = () => ({});
  await client.purgeDeletedSecret('s1');
  t.match(g.calls.at(-1), { rpc: 'PurgeDeletedSecret', request: { vault: VAULT, name: 's1' } });
});

t.test('beginRecoverDeletedSecret: GetSecret (404: not there), RecoverDeletedSecret, then the poller waits out 404s on GetSecret', async (t) => {
  const { g, client } = setup();
  g.handlers['RecoverDeletedSecret'] = () => props('s1', V1);
  let polls = 0;
  g.handlers['GetSecret'] = () => {
    if (++polls < 3) throw notFound('SECRET_NOT_FOUND');
    return { properties: props('s1', V1), value: 'v' };
  };
  const poller = await client.beginRecoverDeletedSecret('s1', { intervalInMs: 1 });
  const p = await poller.pollUntilDone();
  t.equal(polls, 3);
  t.equal(p.name, 's1');
  t.equal(p.version, V1);
  t.match(g.calls.map((c) => c.rpc), ['GetSecret', 'RecoverDeletedSecret', 'GetSecret', 'GetSecret']);
});

t.test('backupSecret and restoreSecretBackup: the bytes exactly', async (t) => {
  const { g, client } = setup();
  const blob = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37) & 0xff));
  g.handlers['BackupSecret'] = () => ({ value: blob });
  const backup = await client.backupSecret('s1');
  t.same(g.calls[0]!.request, { vault: VAULT, name: 's1' });
  t.ok(backup !== undefined && Buffer.from(backup).equals(blob), 'backup bytes');
  g.handlers['RestoreSecret'] = () => props('s1', V1);
  const p = await client.restoreSecretBackup(backup!);
  t.ok(Buffer.from(g.calls[1]!.request['backup'] as Uint8Array).equals(blob), 'restore bytes');
  t.equal(p.name, 's1');
});

t.test('a vault in read-only failover: writes get 503 ServiceUnavailable', async (t) => {
  const { g, client } = setup();
  g.handlers['SetSecret'] = () => {
    throw new Failure({ code: 9, reason: 'READ_ONLY_FAILOVER', message: 'READ_ONLY_FAILOVER: writes wait for failback' });
  };
  await t.rejects(client.setSecret('s1', 'v'), { statusCode: 503, code: 'ServiceUnavailable' });
});
