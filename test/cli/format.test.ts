// Table output (borderless, aligned, no trailing blanks, values only where
// asked for) and the JSON mapping that --output json prints.

import t, { type Test } from 'tap';
import {
  clusterTables,
  deletedSecretListTable,
  deletedSecretTable,
  formatTags,
  formatTime,
  listTable,
  secretListTable,
  secretPropertiesTable,
  secretTable,
  vaultListTable,
  vaultTable,
} from '../../src/cli/format.js';
import { toProtoJson, type ClusterStatus, type DeletedSecret, type Secret, type SecretProperties, type Vault } from '../../src/client/index.js';

const vault: Vault = { name: 'payments', id: 'keyraft://payments', softDeleteRetentionDays: 90, purgeProtection: true, created: 1893456000 };
const props: SecretProperties = {
  vault: 'payments',
  name: 'db-password',
  version: '0f3a9c',
  id: 'keyraft://payments/secrets/db-password/0f3a9c',
  contentType: 'text/plain',
  tags: { team: 'pay', env: 'prod' },
  enabled: true,
  notBefore: 0,
  expires: 1893456000,
  created: 1700000000,
  updated: 1700000001,
  recoveryLevel: 'Recoverable+Purgeable',
  recoverableDays: 90,
};
const secret: Secret = { properties: props, value: 'hunter2' };
const deleted: DeletedSecret = { properties: props, recoveryId: 'keyraft://payments/deletedsecrets/db-password', deletedDate: 1700000100, scheduledPurgeDate: 1707776100 };

function noTrailingBlanks(t: Test, text: string): void {
  t.ok(text.split('\n').every((l) => l === l.trimEnd()), 'no line ends in blanks');
}

t.test('times and tags', async (t) => {
  t.equal(formatTime(0), '', '0 means not set');
  t.equal(formatTime(1893456000), '2030-01-01T00:00:00Z');
  t.equal(formatTags({ b: '2', a: '1', flag: '' }), 'a=1, b=2, flag');
  t.equal(formatTags({}), '');
});

t.test('a list table: header, dashes, aligned columns', async (t) => {
  const text = listTable(['Name', 'N'], [['a', 1], ['longer', 22]]);
  t.equal(text, ['Name    N', '------  --', 'a       1', 'longer  22'].join('\n'));
  t.equal(listTable(['Name', 'Id'], []), 'Name  Id\n----  --', 'an empty list still has its header');
});

t.test('vault tables', async (t) => {
  const one = vaultTable(vault);
  t.match(one, /^Name\s+payments$/m);
  t.match(one, /^Purge protection\s+true$/m);
  t.match(one, /^Created\s+2030-01-01T00:00:00Z$/m);
  const list = vaultListTable([vault]);
  t.match(list, /^Name\s+Retention days\s+Purge protection\s+Created$/m);
  t.match(list, /^payments\s+90\s+true\s+2030-01-01T00:00:00Z$/m);
  noTrailingBlanks(t, one);
  noTrailingBlanks(t, list);
});

t.test('secret tables: the value appears only in the one made for `secret show`', async (t) => {
  const shown = secretTable(secret);
  t.match(shown, /^Value\s+hunter2$/m);
  t.match(shown, /^Tags\s+env=prod, team=pay$/m);
  t.match(shown, /^Not before\s*$/m, 'unset times are blank');
  for (const text of [secretPropertiesTable(props), secretListTable([props]), deletedSecretTable(deleted), deletedSecretListTable([deleted])]) {
    t.notMatch(text, /hunter2/);
    noTrailingBlanks(t, text);
  }
  t.match(secretListTable([props]), /^db-password\s+0f3a9c\s+true\s+text\/plain\s+env=prod, team=pay\s+2030-01-01T00:00:00Z/m);
  t.match(deletedSecretTable(deleted), /^Recovery id\s+keyraft:\/\/payments\/deletedsecrets\/db-password$/m);
  t.match(deletedSecretListTable([deleted]), /^db-password\s+keyraft:\/\/payments\/deletedsecrets\/db-password\s+2023-11-14T22:15:00Z\s+2024-02-12T22:15:00Z$/m);
});

t.test('cluster status: a node table and a region table', async (t) => {
  const status: ClusterStatus = {
    nodes: [
      { id: 'east-1', region: 'east', role: 'leader', term: 3, commitIndex: 120, appliedIndex: 120, leader: 'east-1', mode: 'SERVING', reachable: true, clientAddress: '127.0.0.1:7101', peerAddress: '127.0.0.1:7201', primaryIndex: 0, geoLagEntries: 0, geoLagMs: 0, epoch: 0, lastTransitionMs: 0, lastTransitionReason: '', appliedAtMs: 0, manual: false, masterKeyFingerprint: '', previousMasterKeyFingerprint: '', previousMasterKeyNeeded: false, members: [] },
      { id: 'east-2', region: 'east', role: 'unreachable', term: 0, commitIndex: 0, appliedIndex: 0, leader: '', mode: '', reachable: false, clientAddress: '127.0.0.1:7102', peerAddress: '127.0.0.1:7202', primaryIndex: 0, geoLagEntries: 0, geoLagMs: 0, epoch: 0, lastTransitionMs: 0, lastTransitionReason: '', appliedAtMs: 0, manual: false, masterKeyFingerprint: '', previousMasterKeyFingerprint: '', previousMasterKeyNeeded: false, members: [] },
    ],
    regions: [{ name: 'east', role: 'primary', mode: 'SERVING', leader: 'east-1', epoch: 0, lastTransitionMs: 0, lastTransitionReason: '', manual: false }],
    answeredBy: 'east-1',
  };
  const text = clusterTables(status);
  t.match(text, /^Node\s+Region\s+Role\s+Term\s+Commit\s+Applied\s+Leader\s+Mode\s+Reachable\s+Primary index\s+Geo lag$/m);
  t.match(text, /^east-1\s+east\s+leader\s+3\s+120\s+120\s+east-1\s+SERVING\s+yes$/m);
  t.match(text, /^east-2\s+east\s+unreachable\s+0\s+0\s+0\s+NO$/m);
  t.match(text, /^Region\s+Role\s+Mode\s+Leader\s+Epoch\s+Last transition$/m);
  t.match(text, /^east\s+primary\s+SERVING\s+east-1$/m);
  t.match(text, /Answered by east-1$/);
  noTrailingBlanks(t, text);
});

t.test('JSON mapping: camelCase in declaration order, int64 as strings, bytes as base64url, defaults shown', async (t) => {
  const json = toProtoJson('keyraft.v1.Secret', secret);
  const p = json['properties'] as Record<string, unknown>;
  t.same(Object.keys(json), ['properties', 'value']);
  t.same(Object.keys(p).slice(0, 6), ['vault', 'name', 'version', 'id', 'contentType', 'tags']);
  t.equal(p['expires'], '1893456000');
  t.equal(p['notBefore'], '0');
  t.equal(p['recoverableDays'], 90, 'int32 stays a number');
  t.same(p['tags'], { team: 'pay', env: 'prod' });
  t.same(toProtoJson('keyraft.v1.BackupSecretResponse', { value: Uint8Array.from([0xfb, 0xff, 0xfe, 1]) }), { value: '-__-AQ' });
  t.same(toProtoJson('keyraft.v1.PurgeDeletedSecretResponse', {}), {});
  const list = toProtoJson('keyraft.v1.ListVaultsResponse', { vaults: [vault], nextPageToken: '' });
  t.same(list, { vaults: [{ name: 'payments', id: 'keyraft://payments', softDeleteRetentionDays: 90, purgeProtection: true, created: '1893456000' }], nextPageToken: '' });
  t.same(toProtoJson('keyraft.v1.Vault', { name: 'v' }), { name: 'v', id: '', softDeleteRetentionDays: 0, purgeProtection: false, created: '0' });
});
