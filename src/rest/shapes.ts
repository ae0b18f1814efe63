// keyraft's gRPC responses as Azure Key Vault's JSON. Checked against the
// deserializers the SDKs run on them (@azure/keyvault-secrets and
// @azure/keyvault-keys, models/models.js: secretBundleDeserializer,
// keyBundleDeserializer, jsonWebKeyDeserializer, ...; transformations.js) and
// the data-plane spec (specification/keyvault/data-plane):
//
// - Times are Unix seconds (the SDK multiplies by 1000); an unset nbf or exp
//   is left out, as the SDK reads a falsy one as "not set".
// - Binary members are base64url without padding.
// - Ids are absolute URLs on the origin the request came to, in the path
//   shapes parseKeyVaultIdentifier takes apart (3 or 4 segments:
//   /{collection}/{name}[/{version}]). A bundle names its version; an item of
//   a "list latest" page does not, as Key Vault's do not; an item of a
//   versions page does.
// - A page's nextLink is followed verbatim by the SDK; null ends the paging.

import type * as pb from '../api/index.js';
import type { Answer } from '../api/index.js';
import { toBase64url } from './base64url.js';

// The app's answers, as keyraft.v1 defines them (src/api).
/** A tag map as the messages carry it (keyraft.v1 map<string, string>). */
type Tags = Record<string, string>;
type DeletedKey = Answer<pb.DeletedKey__Output>;
type DeletedSecret = Answer<pb.DeletedSecret__Output>;
type JsonWebKey = Answer<pb.JsonWebKey__Output>;
type Key = Answer<pb.Key__Output>;
type KeyOperationResult = Answer<pb.KeyOperationResult__Output>;
type KeyProperties = Answer<pb.KeyProperties__Output>;
type ListDeletedKeysResponse = Answer<pb.ListDeletedKeysResponse__Output>;
type ListDeletedSecretsResponse = Answer<pb.ListDeletedSecretsResponse__Output>;
type ListKeyPropertiesResponse = Answer<pb.ListKeyPropertiesResponse__Output>;
type ListSecretPropertiesResponse = Answer<pb.ListSecretPropertiesResponse__Output>;
type Secret = Answer<pb.Secret__Output>;
type SecretProperties = Answer<pb.SecretProperties__Output>;

/** Where the ids point: the scheme, host and port the request came to, e.g. https://myvault.kv.localhost:8443. */
export interface Origin {
  origin: string;
}

/** What a page needs to link to the next one: the same listing, with the token keyraft gave. */
export interface PageLink extends Origin {
  /** The listing's path, e.g. /secrets or /keys/{name}/versions. */
  path: string;
  apiVersion: string;
  maxResults?: number;
}

export interface SecretAttributesJson {
  enabled: boolean;
  nbf?: number;
  exp?: number;
  created: number;
  updated: number;
  recoveryLevel: string;
  recoverableDays?: number;
}

export interface KeyAttributesJson extends SecretAttributesJson {
  exportable: boolean;
}

export interface SecretItemJson {
  id: string;
  attributes: SecretAttributesJson;
  contentType?: string;
  tags?: Tags;
}

export interface SecretBundleJson extends SecretItemJson {
  value: string;
}

export interface DeletedJson {
  recoveryId: string;
  deletedDate: number;
  scheduledPurgeDate: number;
}

export type DeletedSecretItemJson = SecretItemJson & DeletedJson;

/** RFC 7517 as Key Vault writes it: the public members only. */
export interface JsonWebKeyJson {
  kid: string;
  kty: string;
  key_ops: string[];
  n?: string;
  e?: string;
  crv?: string;
  x?: string;
  y?: string;
}

export interface KeyItemJson {
  kid: string;
  attributes: KeyAttributesJson;
  tags?: Tags;
}

export interface KeyBundleJson {
  key: JsonWebKeyJson;
  attributes: KeyAttributesJson;
  tags?: Tags;
}

export type DeletedKeyItemJson = KeyItemJson & DeletedJson;
export type DeletedKeyBundleJson = KeyBundleJson & DeletedJson;

export interface PageJson<T> {
  value: T[];
  nextLink: string | null;
}

export interface KeyOperationResultJson {
  kid: string;
  value: string;
  iv?: string;
  tag?: string;
  aad?: string;
}

/** KeyVerifyResult. */
export interface BooleanValueJson {
  value: boolean;
}

/** BackupSecretResult, BackupKeyResult, RandomBytes. */
export interface BytesValueJson {
  value: string;
}

// ---- ids ----

function objectUrl(origin: string, collection: string, name: string, version?: string): string {
  const base = `${origin}/${collection}/${encodeURIComponent(name)}`;
  return version === undefined ? base : `${base}/${encodeURIComponent(version)}`;
}

function nextLink(page: PageLink, token: string): string | null {
  if (token === '') return null;
  const query = [`api-version=${encodeURIComponent(page.apiVersion)}`];
  if (page.maxResults !== undefined) query.push(`maxresults=${page.maxResults}`);
  query.push(`$skiptoken=${encodeURIComponent(token)}`);
  return `${page.origin}${page.path}?${query.join('&')}`;
}

// ---- attributes ----

/** What secrets and keys share (KeyProperties has the same fields). */
type CommonProperties = Pick<SecretProperties, 'enabled' | 'notBefore' | 'expires' | 'created' | 'updated' | 'recoveryLevel' | 'recoverableDays'>;

function attributes(p: CommonProperties): SecretAttributesJson {
  const a: SecretAttributesJson = { enabled: p.enabled, created: p.created, updated: p.updated, recoveryLevel: p.recoveryLevel };
  if (p.notBefore !== 0) a.nbf = p.notBefore;
  if (p.expires !== 0) a.exp = p.expires;
  // Key Vault gives recoverableDays only where deletion is recoverable.
  if (p.recoverableDays > 0) a.recoverableDays = p.recoverableDays;
  return a;
}

/** Key Vault leaves tags out of an object that has none. */
function withTags<T extends object>(json: T, tags: Tags): T & { tags?: Tags } {
  return Object.keys(tags).length === 0 ? json : { ...json, tags };
}

/** keyraft's recoveryId is keyraft://<vault>/deleted...; Azure's is the deleted object's URL, built here. */
function deleted(d: { deletedDate: number; scheduledPurgeDate: number }, origin: string, collection: string, name: string): DeletedJson {
  return { recoveryId: objectUrl(origin, collection, name), deletedDate: d.deletedDate, scheduledPurgeDate: d.scheduledPurgeDate };
}

// ---- secrets ----

function secretItem(p: SecretProperties, origin: string, versioned: boolean): SecretItemJson {
  const json: SecretItemJson = { id: objectUrl(origin, 'secrets', p.name, versioned ? p.version : undefined), attributes: attributes(p) };
  if (p.contentType !== '') json.contentType = p.contentType;
  return withTags(json, p.tags);
}

/** SecretBundle: SetSecret, GetSecret. */
export function secretBundle(secret: Secret, { origin }: Origin): SecretBundleJson {
  return { value: secret.value, ...secretItem(secret.properties, origin, true) };
}

/** A SecretBundle without its value: UpdateSecretProperties, RecoverDeletedSecret, RestoreSecret. */
export function secretPropertiesBundle(p: SecretProperties, { origin }: Origin): SecretItemJson {
  return secretItem(p, origin, true);
}

/** DeletedSecretBundle: DeleteSecret, GetDeletedSecret. No value: a deleted secret's value is not given out. */
export function deletedSecretBundle(d: DeletedSecret, { origin }: Origin): DeletedSecretItemJson {
  return { ...secretItem(d.properties, origin, true), ...deleted(d, origin, 'deletedsecrets', d.properties.name) };
}

/** SecretListResult of GET /secrets: each secret's latest version, ids without a version. */
export function secretListPage(res: ListSecretPropertiesResponse, page: PageLink): PageJson<SecretItemJson> {
  return { value: res.secrets.map((p) => secretItem(p, page.origin, false)), nextLink: nextLink(page, res.nextPageToken) };
}

/** SecretListResult of GET /secrets/{name}/versions: ids with their version. */
export function secretVersionsPage(res: ListSecretPropertiesResponse, page: PageLink): PageJson<SecretItemJson> {
  return { value: res.secrets.map((p) => secretItem(p, page.origin, true)), nextLink: nextLink(page, res.nextPageToken) };
}

/** DeletedSecretListResult. */
export function deletedSecretPage(res: ListDeletedSecretsResponse, page: PageLink): PageJson<DeletedSecretItemJson> {
  const item = (d: DeletedSecret) => ({ ...secretItem(d.properties, page.origin, false), ...deleted(d, page.origin, 'deletedsecrets', d.properties.name) });
  return { value: res.secrets.map(item), nextLink: nextLink(page, res.nextPageToken) };
}

// ---- keys ----

function keyAttributes(p: KeyProperties): KeyAttributesJson {
  return { ...attributes(p), exportable: p.exportable };
}

/** Only the public members, whatever the response held: private ones never leave through here. */
function publicJwk(jwk: JsonWebKey, p: KeyProperties, kid: string): JsonWebKeyJson {
  const json: JsonWebKeyJson = { kid, kty: jwk.kty || p.kty, key_ops: p.keyOps };
  if (jwk.n.length > 0) json.n = toBase64url(jwk.n);
  if (jwk.e.length > 0) json.e = toBase64url(jwk.e);
  if (jwk.crv !== '') json.crv = jwk.crv;
  if (jwk.x.length > 0) json.x = toBase64url(jwk.x);
  if (jwk.y.length > 0) json.y = toBase64url(jwk.y);
  return json;
}

function keyBundleOf(key: Key, origin: string): KeyBundleJson {
  const p = key.properties;
  const json: KeyBundleJson = { key: publicJwk(key.key, p, objectUrl(origin, 'keys', p.name, p.version)), attributes: keyAttributes(p) };
  return withTags(json, p.tags);
}

function keyItem(p: KeyProperties, origin: string, versioned: boolean): KeyItemJson {
  return withTags({ kid: objectUrl(origin, 'keys', p.name, versioned ? p.version : undefined), attributes: keyAttributes(p) }, p.tags);
}

/** KeyBundle: CreateKey, ImportKey, GetKey, UpdateKeyProperties, RotateKey, RecoverDeletedKey, RestoreKey. */
export function keyBundle(key: Key, { origin }: Origin): KeyBundleJson {
  return keyBundleOf(key, origin);
}

/** DeletedKeyBundle: DeleteKey, GetDeletedKey. */
export function deletedKeyBundle(d: DeletedKey, { origin }: Origin): DeletedKeyBundleJson {
  return { ...keyBundleOf(d.key, origin), ...deleted(d, origin, 'deletedkeys', d.key.properties.name) };
}

/** KeyListResult of GET /keys: kids without a version. */
export function keyListPage(res: ListKeyPropertiesResponse, page: PageLink): PageJson<KeyItemJson> {
  return { value: res.keys.map((p) => keyItem(p, page.origin, false)), nextLink: nextLink(page, res.nextPageToken) };
}

/** KeyListResult of GET /keys/{name}/versions. */
export function keyVersionsPage(res: ListKeyPropertiesResponse, page: PageLink): PageJson<KeyItemJson> {
  return { value: res.keys.map((p) => keyItem(p, page.origin, true)), nextLink: nextLink(page, res.nextPageToken) };
}

/** DeletedKeyListResult. */
export function deletedKeyPage(res: ListDeletedKeysResponse, page: PageLink): PageJson<DeletedKeyItemJson> {
  const item = (d: DeletedKey) => ({ ...keyItem(d.key.properties, page.origin, false), ...deleted(d, page.origin, 'deletedkeys', d.key.properties.name) });
  return { value: res.keys.map(item), nextLink: nextLink(page, res.nextPageToken) };
}

// ---- results ----

const KEYRAFT_KID = /^keyraft:\/\/[^/]+\/keys\/([^/]+)\/([^/]+)$/;

/**
 * KeyOperationResult: encrypt, decrypt, wrapKey, unwrapKey, sign. keyraft
 * names the key version it used as keyraft://<vault>/keys/<name>/<version>;
 * Azure as the key's URL. iv, tag and aad only where the algorithm has them.
 */
export function keyOperationResult(res: KeyOperationResult, { origin }: Origin): KeyOperationResultJson {
  const kid = KEYRAFT_KID.exec(res.kid);
  if (kid === null) throw new Error(`not a keyraft key id: ${JSON.stringify(res.kid)}`);
  const json: KeyOperationResultJson = { kid: objectUrl(origin, 'keys', kid[1]!, kid[2]!), value: toBase64url(res.value) };
  if (res.iv.length > 0) json.iv = toBase64url(res.iv);
  if (res.tag.length > 0) json.tag = toBase64url(res.tag);
  if (res.aad.length > 0) json.aad = toBase64url(res.aad);
  return json;
}

/** KeyVerifyResult. */
export function verifyResult(res: { value: boolean }): BooleanValueJson {
  return { value: res.value };
}

/** BackupSecretResult, BackupKeyResult, RandomBytes. */
export function bytesValue(res: { value: Uint8Array }): BytesValueJson {
  return { value: toBase64url(res.value) };
}
