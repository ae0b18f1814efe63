// The route table: every Key Vault data-plane operation keyraft serves, with
// its HTTP method and path (as @azure/keyvault-secrets and
// @azure/keyvault-keys build them in api/operations.js), the keyraft.v1 RPC
// it maps to, how the RPC's request is made from the path, query and JSON
// body, and which shape (shapes.ts) answers it. Operation names are the
// spec's operationIds. The vault comes from the host name, which is the
// server's business: it is handed in.

import type * as pb from '../api/index.js';
import type { Answer, Ask } from '../api/index.js';
import {
  type JsonObject,
  bodyObject,
  optionalBoolean,
  optionalBytes,
  optionalInteger,
  optionalObject,
  optionalString,
  optionalStringList,
  optionalTags,
  requiredBytes,
  requiredString,
} from './body.js';
import { badParameter } from './errors.js';
import { type Matched, type PathParams, PathPattern, type Routable, matchRoute } from './match.js';
import * as shapes from './shapes.js';

// The keyraft.v1 messages the gateway hands the app and gets back, in the
// app's shapes (src/api, generated from proto/): a request as a sender builds
// it, an answer (M__Output) as it arrives. The refs are the messages that
// carry just a vault, a name and (writes) a request id.
type BackupKeyResponse = Answer<pb.BackupKeyResponse__Output>;
type BackupSecretResponse = Answer<pb.BackupSecretResponse__Output>;
type CreateKeyRequest = Ask<pb.CreateKeyRequest>;
type DeletedKey = Answer<pb.DeletedKey__Output>;
type DeletedSecret = Answer<pb.DeletedSecret__Output>;
type GetKeyRequest = Ask<pb.GetKeyRequest>;
type GetRandomBytesRequest = Ask<pb.GetRandomBytesRequest>;
type GetSecretRequest = Ask<pb.GetSecretRequest>;
type ImportKeyRequest = Ask<pb.ImportKeyRequest>;
type JsonWebKeyInput = Ask<pb.JsonWebKey>;
type Key = Answer<pb.Key__Output>;
type KeyOperationRequest = Ask<pb.KeyOperationRequest>;
type KeyOperationResult = Answer<pb.KeyOperationResult__Output>;
type KeyRef = Ask<pb.GetDeletedKeyRequest>;
type KeyWriteRef = Ask<pb.DeleteKeyRequest>;
type ListDeletedKeysRequest = Ask<pb.ListDeletedKeysRequest>;
type ListDeletedKeysResponse = Answer<pb.ListDeletedKeysResponse__Output>;
type ListDeletedSecretsRequest = Ask<pb.ListDeletedSecretsRequest>;
type ListDeletedSecretsResponse = Answer<pb.ListDeletedSecretsResponse__Output>;
type ListKeyPropertiesResponse = Answer<pb.ListKeyPropertiesResponse__Output>;
type ListKeyVersionsRequest = Ask<pb.ListKeyVersionsRequest>;
type ListKeysRequest = Ask<pb.ListKeysRequest>;
type ListSecretPropertiesResponse = Answer<pb.ListSecretPropertiesResponse__Output>;
type ListSecretVersionsRequest = Ask<pb.ListSecretVersionsRequest>;
type ListSecretsRequest = Ask<pb.ListSecretsRequest>;
type RandomBytes = Answer<pb.RandomBytes__Output>;
type RestoreKeyRequest = Ask<pb.RestoreKeyRequest>;
type RestoreSecretRequest = Ask<pb.RestoreSecretRequest>;
type Secret = Answer<pb.Secret__Output>;
type SecretProperties = Answer<pb.SecretProperties__Output>;
type SecretRef = Ask<pb.GetDeletedSecretRequest>;
type SecretWriteRef = Ask<pb.DeleteSecretRequest>;
type SetSecretRequest = Ask<pb.SetSecretRequest>;
type SignRequest = Ask<pb.SignRequest>;
type UpdateKeyPropertiesRequest = Ask<pb.UpdateKeyPropertiesRequest>;
type UpdateSecretPropertiesRequest = Ask<pb.UpdateSecretPropertiesRequest>;
type VerifyRequest = Ask<pb.VerifyRequest>;
type VerifyResult = Answer<pb.VerifyResult__Output>;

export interface RouteInput {
  vault: string;
  params: PathParams;
  query: URLSearchParams;
  /** The parsed JSON body; undefined when the request had none. */
  body: unknown;
  /** x-ms-client-request-id: the SDKs keep it across their retries, so a retried write applies once. */
  requestId?: string;
}

export interface ResponseContext {
  /** The scheme, host and port the request came to; every id points there. */
  origin: string;
  apiVersion: string;
  params: PathParams;
  query: URLSearchParams;
}

export interface Route extends Routable {
  /** The spec's operationId, e.g. SetSecret, GetKeys, WrapKey. */
  operation: string;
  service: 'Secrets' | 'Keys';
  /** The keyraft.v1 method, as in the .proto. */
  rpc: string;
  /** 200, or 204 for the purges, which answer no body (the SDKs expect exactly these). */
  status: 200 | 204;
  /** The RPC's request; throws BadParameter (errors.ts) for a body or query that does not fit. */
  request(input: RouteInput): object;
  /** The JSON answer to the RPC's response; undefined for a 204. */
  response(res: unknown, ctx: ResponseContext): unknown;
}

/** A route whose response converter takes the RPC's own response type. */
interface RouteDefinition<Res> extends Omit<Route, 'pattern' | 'response' | 'status'> {
  pattern: string;
  status?: 204;
  response(res: Res, ctx: ResponseContext): unknown;
}

// The response's type is the RPC's, by the .proto; the table pairs each RPC with its converter.
function route<Res>(def: RouteDefinition<Res>): Route {
  return { ...def, pattern: new PathPattern(def.pattern), status: def.status ?? 200, response: def.response as Route['response'] };
}

const SECONDS_MAX = 253402300799; // 9999-12-31T23:59:59Z
/** Key Vault's bounds on maxresults. */
const MAX_RESULTS_MAX = 25;

// ---- shared readers ----

function paging(query: URLSearchParams): { pageSize?: number; pageToken?: string } {
  const out: { pageSize?: number; pageToken?: string } = {};
  const max = query.get('maxresults');
  if (max !== null && max !== '') {
    const n = /^\d{1,3}$/.test(max) ? Number(max) : NaN;
    if (!(n >= 1 && n <= MAX_RESULTS_MAX)) throw badParameter(`maxresults must be a whole number from 1 to ${MAX_RESULTS_MAX}.`);
    out.pageSize = n;
  }
  const token = query.get('$skiptoken');
  if (token !== null && token !== '') out.pageToken = token;
  return out;
}

function pageLink(ctx: ResponseContext, path: string): shapes.PageLink {
  const link: shapes.PageLink = { origin: ctx.origin, path, apiVersion: ctx.apiVersion };
  const max = paging(ctx.query).pageSize;
  if (max !== undefined) link.maxResults = max;
  return link;
}

interface Attributes {
  enabled?: boolean;
  notBefore?: number;
  expires?: number;
  exportable?: boolean;
}

/** The `attributes` member: enabled, nbf, exp (Unix seconds), and for keys exportable. */
function readAttributes(o: JsonObject): Attributes {
  const a = optionalObject(o, 'attributes');
  if (a === undefined) return {};
  return present({
    enabled: optionalBoolean(a, 'enabled'),
    notBefore: optionalInteger(a, 'nbf', 0, SECONDS_MAX),
    expires: optionalInteger(a, 'exp', 0, SECONDS_MAX),
    exportable: optionalBoolean(a, 'exportable'),
  });
}

/** Only the members that are there: an absent one keeps its value (update) or its default (create). */
function present<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function withRequestId<T extends object>(req: T, input: RouteInput): T & { requestId?: string } {
  return input.requestId === undefined ? req : { ...req, requestId: input.requestId };
}

/** keyraft keeps keys in software; an HSM key or BYOK material is refused rather than served as something else. */
function refuseHsm(o: JsonObject, kty: string | undefined): void {
  if (kty !== undefined && kty.endsWith('-HSM')) throw badParameter(`keyraft has no HSM: key type ${JSON.stringify(kty.slice(0, 16))} is not available; use ${kty.slice(0, -4)}.`);
  if (optionalBoolean(o, 'Hsm') === true) throw badParameter('keyraft has no HSM: "Hsm": true is not available.');
  if (optionalObject(o, 'release_policy') !== undefined) throw badParameter('keyraft has no key release: "release_policy" is not available.');
}

const RSA_EXPONENT = 65537;
const JWK_BYTE_MEMBERS = ['n', 'e', 'd', 'dp', 'dq', 'qi', 'p', 'q', 'k', 'x', 'y'] as const;

/** The JWK of ImportKey, members decoded from base64url. */
function readJwk(body: JsonObject): JsonWebKeyInput {
  const o = optionalObject(body, 'key');
  if (o === undefined) throw badParameter('"key" is required.');
  const kty = requiredString(o, 'kty');
  refuseHsm(body, kty);
  if (optionalString(o, 'key_hsm') !== undefined) throw badParameter('keyraft has no HSM: "key_hsm" (BYOK) is not available.');
  const jwk: JsonWebKeyInput = present({ kty, crv: optionalString(o, 'crv'), keyOps: optionalStringList(o, 'key_ops') });
  for (const name of JWK_BYTE_MEMBERS) {
    const bytes = optionalBytes(o, name);
    if (bytes !== undefined) jwk[name] = bytes;
  }
  return jwk;
}

/** The vault and the {name} of the path: secrets and keys alike. */
function nameRef(input: RouteInput): { vault: string; name: string } {
  return { vault: input.vault, name: input.params['name']! };
}

/** With the {version} too; empty for the latest, as keyraft takes it. */
function versionRef(input: RouteInput): { vault: string; name: string; version: string } {
  return { ...nameRef(input), version: input.params['version'] ?? '' };
}

function writeRef(input: RouteInput): { vault: string; name: string; requestId?: string } {
  return withRequestId(nameRef(input), input);
}

// ---- secrets ----

const SECRETS = 'Secrets';

/** SetSecret and UpdateSecret share the members they have in common. */
function secretMembers(body: JsonObject) {
  const a = readAttributes(body);
  return { contentType: optionalString(body, 'contentType'), enabled: a.enabled, notBefore: a.notBefore, expires: a.expires };
}

const secretRoutes: Route[] = [
  route<Secret>({
    operation: 'SetSecret',
    method: 'PUT',
    pattern: '/secrets/{name}',
    service: SECRETS,
    rpc: 'SetSecret',
    request(input): SetSecretRequest {
      const body = bodyObject(input.body, true);
      const req = { ...nameRef(input), value: requiredString(body, 'value'), ...secretMembers(body), tags: optionalTags(body, 'tags') };
      return withRequestId(present(req), input);
    },
    response: (res, ctx) => shapes.secretBundle(res, ctx),
  }),
  route<Secret>({
    operation: 'GetSecret',
    method: 'GET',
    pattern: '/secrets/{name}/{version?}',
    service: SECRETS,
    rpc: 'GetSecret',
    // outContentType (a certificate's PFX given as PEM) is not read: keyraft has no certificates.
    request: (input): GetSecretRequest => versionRef(input),
    response: (res, ctx) => shapes.secretBundle(res, ctx),
  }),
  route<ListSecretPropertiesResponse>({
    operation: 'GetSecrets',
    method: 'GET',
    pattern: '/secrets',
    service: SECRETS,
    rpc: 'ListSecrets',
    request: (input): ListSecretsRequest => ({ vault: input.vault, ...paging(input.query) }),
    response: (res, ctx) => shapes.secretListPage(res, pageLink(ctx, '/secrets')),
  }),
  route<ListSecretPropertiesResponse>({
    operation: 'GetSecretVersions',
    method: 'GET',
    pattern: '/secrets/{name}/versions',
    service: SECRETS,
    rpc: 'ListSecretVersions',
    request: (input): ListSecretVersionsRequest => ({ ...nameRef(input), ...paging(input.query) }),
    response: (res, ctx) => shapes.secretVersionsPage(res, pageLink(ctx, `/secrets/${encodeURIComponent(ctx.params['name']!)}/versions`)),
  }),
  route<SecretProperties>({
    operation: 'UpdateSecret',
    method: 'PATCH',
    pattern: '/secrets/{name}/{version?}',
    service: SECRETS,
    rpc: 'UpdateSecretProperties',
    request(input): UpdateSecretPropertiesRequest {
      const body = bodyObject(input.body, true);
      const tags = optionalTags(body, 'tags');
      const req = { ...versionRef(input), ...secretMembers(body), tags: tags === undefined ? undefined : { tags } };
      return withRequestId(present(req), input);
    },
    response: (res, ctx) => shapes.secretPropertiesBundle(res, ctx),
  }),
  route<DeletedSecret>({
    operation: 'DeleteSecret',
    method: 'DELETE',
    pattern: '/secrets/{name}',
    service: SECRETS,
    rpc: 'DeleteSecret',
    request: (input): SecretWriteRef => writeRef(input),
    response: (res, ctx) => shapes.deletedSecretBundle(res, ctx),
  }),
  route<DeletedSecret>({
    operation: 'GetDeletedSecret',
    method: 'GET',
    pattern: '/deletedsecrets/{name}',
    service: SECRETS,
    rpc: 'GetDeletedSecret',
    request: (input): SecretRef => nameRef(input),
    response: (res, ctx) => shapes.deletedSecretBundle(res, ctx),
  }),
  route<ListDeletedSecretsResponse>({
    operation: 'GetDeletedSecrets',
    method: 'GET',
    pattern: '/deletedsecrets',
    service: SECRETS,
    rpc: 'ListDeletedSecrets',
    request: (input): ListDeletedSecretsRequest => ({ vault: input.vault, ...paging(input.query) }),
    response: (res, ctx) => shapes.deletedSecretPage(res, pageLink(ctx, '/deletedsecrets')),
  }),
  route<SecretProperties>({
    operation: 'RecoverDeletedSecret',
    method: 'POST',
    pattern: '/deletedsecrets/{name}/recover',
    service: SECRETS,
    rpc: 'RecoverDeletedSecret',
    request: (input): SecretWriteRef => writeRef(input),
    response: (res, ctx) => shapes.secretPropertiesBundle(res, ctx),
  }),
  route<unknown>({
    operation: 'PurgeDeletedSecret',
    method: 'DELETE',
    pattern: '/deletedsecrets/{name}',
    service: SECRETS,
    rpc: 'PurgeDeletedSecret',
    status: 204,
    request: (input): SecretWriteRef => writeRef(input),
    response: () => undefined,
  }),
  route<BackupSecretResponse>({
    operation: 'BackupSecret',
    method: 'POST',
    pattern: '/secrets/{name}/backup',
    service: SECRETS,
    rpc: 'BackupSecret',
    request: (input): SecretRef => nameRef(input),
    response: (res) => shapes.bytesValue(res),
  }),
  route<SecretProperties>({
    operation: 'RestoreSecret',
    method: 'POST',
    pattern: '/secrets/restore',
    service: SECRETS,
    rpc: 'RestoreSecret',
    request: (input): RestoreSecretRequest => withRequestId({ vault: input.vault, backup: requiredBytes(bodyObject(input.body, true), 'value') }, input),
    response: (res, ctx) => shapes.secretPropertiesBundle(res, ctx),
  }),
];

// ---- keys ----

const KEYS = 'Keys';

/** The attributes (exportable included) and tags of CreateKey and ImportKey. */
function keyMembers(body: JsonObject) {
  return { ...readAttributes(body), tags: optionalTags(body, 'tags') };
}

function createKeyRequest(input: RouteInput): CreateKeyRequest {
  const body = bodyObject(input.body, true);
  const kty = requiredString(body, 'kty');
  refuseHsm(body, kty);
  const exponent = optionalInteger(body, 'public_exponent', 0, Number.MAX_SAFE_INTEGER);
  if (exponent !== undefined && exponent !== RSA_EXPONENT) throw badParameter(`keyraft makes RSA keys with public exponent ${RSA_EXPONENT} only.`);
  const req = {
    ...nameRef(input),
    kty,
    keySize: optionalInteger(body, 'key_size', 0, 16384),
    curve: optionalString(body, 'crv'),
    keyOps: optionalStringList(body, 'key_ops'),
    ...keyMembers(body),
  };
  return withRequestId(present(req), input);
}

function importKeyRequest(input: RouteInput): ImportKeyRequest {
  const body = bodyObject(input.body, true);
  return withRequestId(present({ ...nameRef(input), key: readJwk(body), ...keyMembers(body) }), input);
}

/** Exportable is fixed when a key is made: an update's is not passed on (keyraft has no field for it). */
function updateKeyRequest(input: RouteInput): UpdateKeyPropertiesRequest {
  const body = bodyObject(input.body, true);
  refuseHsm(body, undefined);
  const { tags, exportable: _fixed, ...attributes } = keyMembers(body);
  const keyOps = optionalStringList(body, 'key_ops');
  const req = {
    ...versionRef(input),
    ...attributes,
    keyOps: keyOps === undefined ? undefined : { keyOps },
    tags: tags === undefined ? undefined : { tags },
  };
  return withRequestId(present(req), input);
}

/** Encrypt, decrypt, wrapKey, unwrapKey: KeyOperationsParameters {alg, value, iv, aad, tag}. */
function keyOperationRequest(input: RouteInput): KeyOperationRequest {
  const body = bodyObject(input.body, true);
  const req = {
    ...versionRef(input),
    algorithm: requiredString(body, 'alg'),
    value: requiredBytes(body, 'value'),
    iv: optionalBytes(body, 'iv'),
    aad: optionalBytes(body, 'aad'),
    tag: optionalBytes(body, 'tag'),
  };
  return present(req);
}

/** KeySignParameters {alg, value}: value is the digest. */
function signRequest(input: RouteInput): SignRequest {
  const body = bodyObject(input.body, true);
  return { ...versionRef(input), algorithm: requiredString(body, 'alg'), digest: requiredBytes(body, 'value') };
}

/** KeyVerifyParameters {alg, digest, value}: value is the signature. */
function verifyRequest(input: RouteInput): VerifyRequest {
  const body = bodyObject(input.body, true);
  return { ...versionRef(input), algorithm: requiredString(body, 'alg'), digest: requiredBytes(body, 'digest'), signature: requiredBytes(body, 'value') };
}

/** The four operations of KeyOperationsParameters, by their path's last segment. */
const KEY_OPERATIONS = [
  ['Encrypt', 'encrypt', 'Encrypt'],
  ['Decrypt', 'decrypt', 'Decrypt'],
  ['WrapKey', 'wrapkey', 'WrapKey'],
  ['UnwrapKey', 'unwrapkey', 'UnwrapKey'],
] as const;

const keyRoutes: Route[] = [
  route<Key>({
    operation: 'CreateKey',
    method: 'POST',
    pattern: '/keys/{name}/create',
    service: KEYS,
    rpc: 'CreateKey',
    request: createKeyRequest,
    response: (res, ctx) => shapes.keyBundle(res, ctx),
  }),
  route<Key>({
    operation: 'ImportKey',
    method: 'PUT',
    pattern: '/keys/{name}',
    service: KEYS,
    rpc: 'ImportKey',
    request: importKeyRequest,
    response: (res, ctx) => shapes.keyBundle(res, ctx),
  }),
  route<Key>({
    operation: 'GetKey',
    method: 'GET',
    pattern: '/keys/{name}/{version?}',
    service: KEYS,
    rpc: 'GetKey',
    request: (input): GetKeyRequest => versionRef(input),
    response: (res, ctx) => shapes.keyBundle(res, ctx),
  }),
  route<ListKeyPropertiesResponse>({
    operation: 'GetKeys',
    method: 'GET',
    pattern: '/keys',
    service: KEYS,
    rpc: 'ListKeys',
    request: (input): ListKeysRequest => ({ vault: input.vault, ...paging(input.query) }),
    response: (res, ctx) => shapes.keyListPage(res, pageLink(ctx, '/keys')),
  }),
  route<ListKeyPropertiesResponse>({
    operation: 'GetKeyVersions',
    method: 'GET',
    pattern: '/keys/{name}/versions',
    service: KEYS,
    rpc: 'ListKeyVersions',
    request: (input): ListKeyVersionsRequest => ({ ...nameRef(input), ...paging(input.query) }),
    response: (res, ctx) => shapes.keyVersionsPage(res, pageLink(ctx, `/keys/${encodeURIComponent(ctx.params['name']!)}/versions`)),
  }),
  route<Key>({
    operation: 'UpdateKey',
    method: 'PATCH',
    pattern: '/keys/{name}/{version?}',
    service: KEYS,
    rpc: 'UpdateKeyProperties',
    request: updateKeyRequest,
    response: (res, ctx) => shapes.keyBundle(res, ctx),
  }),
  route<Key>({
    operation: 'RotateKey',
    method: 'POST',
    pattern: '/keys/{name}/rotate',
    service: KEYS,
    rpc: 'RotateKey',
    request: (input): KeyWriteRef => writeRef(input),
    response: (res, ctx) => shapes.keyBundle(res, ctx),
  }),
  route<DeletedKey>({
    operation: 'DeleteKey',
    method: 'DELETE',
    pattern: '/keys/{name}',
    service: KEYS,
    rpc: 'DeleteKey',
    request: (input): KeyWriteRef => writeRef(input),
    response: (res, ctx) => shapes.deletedKeyBundle(res, ctx),
  }),
  route<DeletedKey>({
    operation: 'GetDeletedKey',
    method: 'GET',
    pattern: '/deletedkeys/{name}',
    service: KEYS,
    rpc: 'GetDeletedKey',
    request: (input): KeyRef => nameRef(input),
    response: (res, ctx) => shapes.deletedKeyBundle(res, ctx),
  }),
  route<ListDeletedKeysResponse>({
    operation: 'GetDeletedKeys',
    method: 'GET',
    pattern: '/deletedkeys',
    service: KEYS,
    rpc: 'ListDeletedKeys',
    request: (input): ListDeletedKeysRequest => ({ vault: input.vault, ...paging(input.query) }),
    response: (res, ctx) => shapes.deletedKeyPage(res, pageLink(ctx, '/deletedkeys')),
  }),
  route<Key>({
    operation: 'RecoverDeletedKey',
    method: 'POST',
    pattern: '/deletedkeys/{name}/recover',
    service: KEYS,
    rpc: 'RecoverDeletedKey',
    request: (input): KeyWriteRef => writeRef(input),
    response: (res, ctx) => shapes.keyBundle(res, ctx),
  }),
  route<unknown>({
    operation: 'PurgeDeletedKey',
    method: 'DELETE',
    pattern: '/deletedkeys/{name}',
    service: KEYS,
    rpc: 'PurgeDeletedKey',
    status: 204,
    request: (input): KeyWriteRef => writeRef(input),
    response: () => undefined,
  }),
  route<BackupKeyResponse>({
    operation: 'BackupKey',
    method: 'POST',
    pattern: '/keys/{name}/backup',
    service: KEYS,
    rpc: 'BackupKey',
    request: (input): KeyRef => nameRef(input),
    response: (res) => shapes.bytesValue(res),
  }),
  route<Key>({
    operation: 'RestoreKey',
    method: 'POST',
    pattern: '/keys/restore',
    service: KEYS,
    rpc: 'RestoreKey',
    request: (input): RestoreKeyRequest => withRequestId({ vault: input.vault, backup: requiredBytes(bodyObject(input.body, true), 'value') }, input),
    response: (res, ctx) => shapes.keyBundle(res, ctx),
  }),
  ...KEY_OPERATIONS.map(([operation, segment, rpc]) =>
    route<KeyOperationResult>({
      operation,
      method: 'POST',
      pattern: `/keys/{name}/{version?}/${segment}`,
      service: KEYS,
      rpc,
      request: keyOperationRequest,
      response: (res, ctx) => shapes.keyOperationResult(res, ctx),
    }),
  ),
  route<KeyOperationResult>({
    operation: 'Sign',
    method: 'POST',
    pattern: '/keys/{name}/{version?}/sign',
    service: KEYS,
    rpc: 'Sign',
    request: signRequest,
    response: (res, ctx) => shapes.keyOperationResult(res, ctx),
  }),
  route<VerifyResult>({
    operation: 'Verify',
    method: 'POST',
    pattern: '/keys/{name}/{version?}/verify',
    service: KEYS,
    rpc: 'Verify',
    request: verifyRequest,
    response: (res) => shapes.verifyResult(res),
  }),
  route<RandomBytes>({
    operation: 'GetRandomBytes',
    method: 'POST',
    pattern: '/rng',
    service: KEYS,
    rpc: 'GetRandomBytes',
    request(input): GetRandomBytesRequest {
      const count = optionalInteger(bodyObject(input.body, true), 'count', 0, Number.MAX_SAFE_INTEGER);
      if (count === undefined) throw badParameter('"count" is required.');
      return { count };
    },
    response: (res) => shapes.bytesValue(res),
  }),
];

export const ROUTES: readonly Route[] = [...secretRoutes, ...keyRoutes];

/** The route and path params of a request, or the 404/405 to answer (with Allow for a 405). */
export function match(method: string, path: string): Matched<Route> {
  return matchRoute(ROUTES, method, path);
}
