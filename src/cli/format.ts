// Table output in the manner of `az --output table`: no borders, a dashed
// rule under the header, two spaces between columns, nothing coloured (it is
// read as often through a pipe as on a terminal).

import Table from 'cli-table3';
import {
  toBase64url,
  type ClusterStatus,
  type DeletedKey,
  type DeletedSecret,
  type JsonWebKey,
  type Key,
  type KeyOperationResult,
  type KeyProperties,
  type Secret,
  type SecretProperties,
  type Tags,
  type Vault,
} from '../client/index.js';

const PLAIN = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
  bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', 'left-mid': '', right: '', 'right-mid': '',
  mid: '-', 'mid-mid': '  ', middle: '  ',
};

function render(table: Table.Table): string {
  return table.toString().split('\n').map((line) => line.trimEnd()).join('\n');
}

const STYLE = { head: [], border: [], compact: true, 'padding-left': 0, 'padding-right': 0 };

/** Rows under a header. */
export function listTable(head: string[], rows: (string | number)[][]): string {
  // cli-table3 drops the rule under a header that has no rows; an empty list should still look like one.
  if (rows.length === 0) return `${head.join('  ')}\n${head.map((h) => '-'.repeat(h.length)).join('  ')}`;
  const t = new Table({ head, chars: PLAIN, style: STYLE });
  t.push(...rows.map((r) => r.map(String)));
  return render(t);
}

/** Label/value pairs, one a line, for a single object. */
export function fieldTable(rows: [string, string | number][]): string {
  const t = new Table({ chars: PLAIN, style: STYLE });
  t.push(...rows.map(([k, v]) => [k, String(v)]));
  return render(t);
}

/** Unix seconds as ISO 8601 in UTC, to the second; 0 ("not set") as blank. */
export function formatTime(unixSeconds: number): string {
  if (!unixSeconds) return '';
  return new Date(unixSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function formatTags(tags: Tags | undefined): string {
  return Object.entries(tags ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => (v === '' ? k : `${k}=${v}`))
    .join(', ');
}

function yesNo(b: boolean): string {
  return b ? 'true' : 'false';
}

// ---- Vaults ----

export function vaultTable(v: Vault): string {
  return fieldTable([
    ['Name', v.name],
    ['Id', v.id],
    ['Soft-delete retention days', v.softDeleteRetentionDays],
    ['Purge protection', yesNo(v.purgeProtection)],
    ['Created', formatTime(v.created)],
  ]);
}

export function vaultListTable(vaults: Vault[]): string {
  return listTable(
    ['Name', 'Retention days', 'Purge protection', 'Created'],
    vaults.map((v) => [v.name, v.softDeleteRetentionDays, yesNo(v.purgeProtection), formatTime(v.created)]),
  );
}

// ---- Secrets ----

function propertyRows(p: SecretProperties): [string, string | number][] {
  return [
    ['Vault', p.vault],
    ['Name', p.name],
    ['Version', p.version],
    ['Id', p.id],
    ['Enabled', yesNo(p.enabled)],
    ['Content type', p.contentType],
    ['Tags', formatTags(p.tags)],
    ['Not before', formatTime(p.notBefore)],
    ['Expires', formatTime(p.expires)],
    ['Created', formatTime(p.created)],
    ['Updated', formatTime(p.updated)],
    ['Recovery level', p.recoveryLevel],
    ['Recoverable days', p.recoverableDays],
  ];
}

export function secretPropertiesTable(p: SecretProperties): string {
  return fieldTable(propertyRows(p));
}

/** The one table that shows a value: `secret show` exists to print it. */
export function secretTable(s: Secret): string {
  return fieldTable([...propertyRows(s.properties), ['Value', s.value]]);
}

export function secretListTable(secrets: SecretProperties[]): string {
  return listTable(
    ['Name', 'Version', 'Enabled', 'Content type', 'Tags', 'Expires', 'Updated'],
    secrets.map((p) => [p.name, p.version, yesNo(p.enabled), p.contentType, formatTags(p.tags), formatTime(p.expires), formatTime(p.updated)]),
  );
}

export function deletedSecretTable(d: DeletedSecret): string {
  return fieldTable([
    ...propertyRows(d.properties),
    ['Recovery id', d.recoveryId],
    ['Deleted', formatTime(d.deletedDate)],
    ['Scheduled purge', formatTime(d.scheduledPurgeDate)],
  ]);
}

export function deletedSecretListTable(deleted: DeletedSecret[]): string {
  return listTable(
    ['Name', 'Recovery id', 'Deleted', 'Scheduled purge'],
    deleted.map((d) => [d.properties.name, d.recoveryId, formatTime(d.deletedDate), formatTime(d.scheduledPurgeDate)]),
  );
}

// ---- Keys ----

function keyPropertyRows(p: KeyProperties): [string, string | number][] {
  return [
    ['Vault', p.vault],
    ['Name', p.name],
    ['Version', p.version],
    ['Kid', p.kid],
    ['Key type', p.kty],
    ['Key size', p.keySize || ''],
    ['Curve', p.curve],
    ['Operations', p.keyOps.join(', ')],
    ['Enabled', yesNo(p.enabled)],
    ['Exportable', yesNo(p.exportable)],
    ['Tags', formatTags(p.tags)],
    ['Not before', formatTime(p.notBefore)],
    ['Expires', formatTime(p.expires)],
    ['Created', formatTime(p.created)],
    ['Updated', formatTime(p.updated)],
    ['Recovery level', p.recoveryLevel],
    ['Recoverable days', p.recoverableDays],
  ];
}

const PUBLIC_MEMBERS = ['n', 'e', 'crv', 'x', 'y'] as const;

/**
 * The public JWK under RFC 7517's member names, bytes in base64url, absent
 * members left out. Private members are never read, whatever the key holds.
 */
export function publicJwkTable(jwk: JsonWebKey): string {
  const rows: [string, string][] = [['kid', jwk.kid], ['kty', jwk.kty], ['key_ops', (jwk.keyOps ?? []).join(', ')]];
  for (const m of PUBLIC_MEMBERS) {
    const v = jwk[m];
    if (v === undefined || v.length === 0) continue;
    rows.push([m, typeof v === 'string' ? v : toBase64url(v)]);
  }
  return fieldTable(rows);
}

/** The properties, then the public key: everything `key show` knows. */
export function keyTable(k: Key): string {
  return `${fieldTable(keyPropertyRows(k.properties))}\n\nPublic key (JWK)\n${publicJwkTable(k.key)}`;
}

function sizeOrCurve(p: KeyProperties): string {
  return p.curve !== '' ? p.curve : p.keySize ? String(p.keySize) : '';
}

export function keyListTable(keys: KeyProperties[]): string {
  return listTable(
    ['Name', 'Version', 'Type', 'Size/curve', 'Enabled', 'Operations', 'Expires', 'Updated'],
    keys.map((p) => [p.name, p.version, p.kty, sizeOrCurve(p), yesNo(p.enabled), p.keyOps.join(','), formatTime(p.expires), formatTime(p.updated)]),
  );
}

export function deletedKeyTable(d: DeletedKey): string {
  const rows = fieldTable([
    ...keyPropertyRows(d.key.properties),
    ['Recovery id', d.recoveryId],
    ['Deleted', formatTime(d.deletedDate)],
    ['Scheduled purge', formatTime(d.scheduledPurgeDate)],
  ]);
  return `${rows}\n\nPublic key (JWK)\n${publicJwkTable(d.key.key)}`;
}

export function deletedKeyListTable(deleted: DeletedKey[]): string {
  return listTable(
    ['Name', 'Type', 'Recovery id', 'Deleted', 'Scheduled purge'],
    deleted.map((d) => [d.key.properties.name, d.key.properties.kty, d.recoveryId, formatTime(d.deletedDate), formatTime(d.scheduledPurgeDate)]),
  );
}

/**
 * Azure's KeyOperationResult in base64url. IV, tag and AAD appear only when
 * set (AES modes), since they are needed again to decrypt. `valueShown`
 * replaces the value, e.g. when it went to a file.
 */
export function keyOperationResultTable(r: KeyOperationResult, valueShown?: string): string {
  const rows: [string, string][] = [['Kid', r.kid], ['Value', valueShown ?? toBase64url(r.value)]];
  for (const [label, v] of [['Iv', r.iv], ['Tag', r.tag], ['Aad', r.aad]] as const) {
    if (v !== undefined && v.length > 0) rows.push([label, toBase64url(v)]);
  }
  return fieldTable(rows);
}

// ---- Cluster ----

export function clusterTables(s: ClusterStatus): string {
  const secondary = new Set(s.regions.filter((r) => r.role === 'secondary').map((r) => r.name));
  const nodes = listTable(
    ['Node', 'Region', 'Role', 'Term', 'Commit', 'Applied', 'Leader', 'Mode', 'Reachable', 'Primary index', 'Geo lag'],
    s.nodes.map((n) => [
      n.id,
      n.region,
      n.role,
      n.term,
      n.commitIndex,
      n.appliedIndex,
      n.leader,
      n.mode,
      n.reachable ? 'yes' : 'NO',
      secondary.has(n.region) && n.reachable ? n.primaryIndex : '',
      secondary.has(n.region) && n.reachable ? `${n.geoLagEntries} entries, ${n.geoLagMs} ms` : '',
    ]),
  );
  const regions = listTable(
    ['Region', 'Role', 'Mode', 'Leader', 'Epoch', 'Last transition'],
    s.regions.map((r) => [
      r.name,
      r.role,
      r.mode + (r.manual ? ' (manual)' : ''),
      r.leader,
      r.role === 'secondary' ? r.epoch : '',
      r.lastTransitionMs > 0 ? `${new Date(r.lastTransitionMs).toISOString()} ${r.lastTransitionReason}` : '',
    ]),
  );
  return `${nodes}\n\n${regions}\n\nAnswered by ${s.answeredBy || '(unknown)'}`;
}
