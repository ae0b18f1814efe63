// The keyraft SDK: one promise-returning method per RPC of Vaults, Secrets,
// Keys and Cluster, plus iterators that walk every page of a list.

import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { Caller, type CallKind, type CallOptions } from './caller.js';
import { parseEndpoints } from './endpoints.js';
import { clientError, KeyraftError, type ServedBy } from './errors.js';
import { methodDefinition, type ServiceName } from './proto.js';
import { writeSnapshotFile } from './snapshot.js';
import type { Topology } from './routing.js';
import type { RegionStatus,
  SnapshotChunk,
  SnapshotSummary,
  BackupKeyResponse,
  BackupSecretResponse,
  ClusterStatus,
  Member,
  RotateMasterKeyResponse,
  ListDataKeysResponse,
  ResealValuesResponse,
  Principal,
  RoleAssignment,
  Token,
  CreateKeyRequest,
  CreateVaultRequest,
  DeletedKey,
  DeletedSecret,
  DeleteVaultRequest,
  DeleteVaultResponse,
  GetKeyRequest,
  GetRandomBytesRequest,
  GetSecretRequest,
  GetVaultRequest,
  ImportKeyRequest,
  Key,
  KeyOperationRequest,
  KeyOperationResult,
  KeyProperties,
  KeyRef,
  KeyWriteRef,
  ListDeletedKeysRequest,
  ListDeletedKeysResponse,
  ListDeletedSecretsRequest,
  ListDeletedSecretsResponse,
  ListKeyPropertiesResponse,
  ListKeysRequest,
  ListKeyVersionsRequest,
  ListSecretPropertiesResponse,
  ListSecretsRequest,
  ListSecretVersionsRequest,
  ListVaultsRequest,
  ListVaultsResponse,
  PurgeDeletedKeyResponse,
  PurgeDeletedSecretResponse,
  RandomBytes,
  RestoreKeyRequest,
  RestoreSecretRequest,
  Secret,
  SecretProperties,
  SecretRef,
  SecretWriteRef,
  SetSecretRequest,
  SignRequest,
  UpdateKeyPropertiesRequest,
  UpdateSecretPropertiesRequest,
  Vault,
  VerifyRequest,
  VerifyResult,
} from './types.js';

export const DEFAULT_TIMEOUT_MS = 5000;
/** The default deadline of a whole snapshot stream. */
export const SNAPSHOT_TIMEOUT_MS = 30 * 60_000;
export const DEFAULT_RETRIES = 8;
export const DEFAULT_ENDPOINT_COOLDOWN_MS = 2000;
export const DEFAULT_DISCOVERY_INTERVAL_MS = 30_000;

export interface KeyraftClientOptions {
  /**
   * host:port of some nodes' client ports, most preferred first. Any subset
   * will do, even one secondary node: the client learns the rest from
   * Cluster.GetStatus, and falls back to these when no node tells it.
   */
  endpoints: string[];
  /**
   * The cluster CA's certificate (PEM), which the nodes' certificates must
   * chain to: cluster/.data/pki/ca.crt for the local cluster. Without it,
   * the system's trusted roots. Every connection is TLS.
   */
  ca?: string | Buffer;
  /**
   * The bearer token every call carries (`authorization: Bearer <token>`),
   * or a function that returns one, asked before each attempt: a token that
   * expires can be replaced without a new client. For the local cluster,
   * cluster/.data/admin.token holds an administrator's.
   */
  token?: string | (() => string | Promise<string>);
  /** The deadline of one call, retries included. Default 5000. */
  timeoutMs?: number;
  /**
   * Attempts after the first, at most. Default 8: with the default backoff they
   * span a Raft election (about a second), so losing a leader costs no error.
   */
  retries?: number;
  /** The longest one attempt may take. Default: timeoutMs. */
  attemptTimeoutMs?: number;
  backoff?: Partial<BackoffOptions>;
  /**
   * How long an endpoint that failed to answer (or a region that said it has
   * no quorum) is tried last. Default 2000. It is also how soon, after a
   * failover, calls try the primary again.
   */
  endpointCooldownMs?: number;
  /**
   * Learn the topology from Cluster.GetStatus and send calls to the primary
   * region, moving to the secondary while the primary cannot serve. Default
   * true; false tries the endpoints in the order given, and nothing else.
   */
  regionAware?: boolean;
  /** How often the topology is learned again, when calls are made. Default 30000. */
  discoveryIntervalMs?: number;
  /** For tests: the jitter's source. */
  random?: () => number;
}

/** Options of the iterators that walk every page. */
export interface PageOptions extends CallOptions {
  /** 1-25; the server's default (25) when absent. */
  pageSize?: number;
}

function positive(name: string, v: number | undefined, fallback: number, allowZero = false): number {
  if (v === undefined) return fallback;
  if (!Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    throw clientError(grpc.status.INVALID_ARGUMENT, 'INVALID_OPTION', `${name} must be a ${allowZero ? 'non-negative' : 'positive'} number`);
  }
  return v;
}

/** TLS to the cluster's CA (or the system's roots), and the token on every call when there is one. */
export function clientCredentials(ca: string | Buffer | undefined, token: KeyraftClientOptions['token']): grpc.ChannelCredentials {
  const tls = grpc.credentials.createSsl(ca === undefined ? null : Buffer.from(ca));
  if (token === undefined) return tls;
  const tokenOf = typeof token === 'string' ? () => token : token;
  const bearer = grpc.credentials.createFromMetadataGenerator((_params, callback) => {
    Promise.resolve()
      .then(tokenOf)
      .then(
        (t) => {
          const md = new grpc.Metadata();
          md.set('authorization', `Bearer ${t}`);
          callback(null, md);
        },
        (e: unknown) => callback(e instanceof Error ? e : new Error(String(e))),
      );
  });
  return grpc.credentials.combineChannelCredentials(tls, bearer);
}

export class KeyraftClient {
  readonly endpoints: readonly string[];
  private readonly caller: Caller;

  constructor(options: KeyraftClientOptions) {
    this.endpoints = parseEndpoints(options.endpoints.join(','));
    const timeoutMs = positive('timeoutMs', options.timeoutMs, DEFAULT_TIMEOUT_MS);
    this.caller = new Caller({
      endpoints: this.endpoints,
      credentials: clientCredentials(options.ca, options.token),
      timeoutMs,
      attemptTimeoutMs: positive('attemptTimeoutMs', options.attemptTimeoutMs, timeoutMs),
      retries: Math.floor(positive('retries', options.retries, DEFAULT_RETRIES, true)),
      backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
      endpointCooldownMs: positive('endpointCooldownMs', options.endpointCooldownMs, DEFAULT_ENDPOINT_COOLDOWN_MS, true),
      regionAware: options.regionAware ?? true,
      discoveryIntervalMs: positive('discoveryIntervalMs', options.discoveryIntervalMs, DEFAULT_DISCOVERY_INTERVAL_MS),
      random: options.random ?? Math.random,
    });
  }

  /** Who served the most recent successful call (with concurrent calls, prefer CallOptions.onServedBy). */
  get lastServedBy(): ServedBy | undefined {
    return this.caller.lastServedBy;
  }

  /**
   * What the client has learned of the cluster (nodes, regions, which is
   * primary) and the order it would try endpoints in now.
   */
  topology(): Topology {
    return this.caller.topology();
  }

  private read<Res>(service: ServiceName, method: string, request: object, opts?: CallOptions): Promise<Res> {
    return this.invoke<Res>(service, method, 'read', request, opts);
  }

  /** One request id per logical call: every retry of it carries the same id. */
  private write<Res>(service: ServiceName, method: string, request: { requestId?: string }, opts?: CallOptions): Promise<Res> {
    const withId = { ...request, requestId: request.requestId || randomUUID() };
    return this.invoke<Res>(service, method, 'write', withId, opts);
  }

  private invoke<Res>(service: ServiceName, method: string, kind: CallKind, request: object, opts?: CallOptions): Promise<Res> {
    return this.caller.call<Res>(methodDefinition(service, method), kind, request, opts);
  }

  // ---- Vaults ----

  createVault(req: CreateVaultRequest, opts?: CallOptions): Promise<Vault> {
    return this.write('Vaults', 'CreateVault', req, opts);
  }

  getVault(req: GetVaultRequest, opts?: CallOptions): Promise<Vault> {
    return this.read('Vaults', 'GetVault', req, opts);
  }

  listVaults(req: ListVaultsRequest = {}, opts?: CallOptions): Promise<ListVaultsResponse> {
    return this.read('Vaults', 'ListVaults', req, opts);
  }

  deleteVault(req: DeleteVaultRequest, opts?: CallOptions): Promise<DeleteVaultResponse> {
    return this.write('Vaults', 'DeleteVault', req, opts);
  }

  // ---- Secrets ----

  setSecret(req: SetSecretRequest, opts?: CallOptions): Promise<Secret> {
    return this.write('Secrets', 'SetSecret', req, opts);
  }

  getSecret(req: GetSecretRequest, opts?: CallOptions): Promise<Secret> {
    return this.read('Secrets', 'GetSecret', req, opts);
  }

  listSecrets(req: ListSecretsRequest, opts?: CallOptions): Promise<ListSecretPropertiesResponse> {
    return this.read('Secrets', 'ListSecrets', req, opts);
  }

  listSecretVersions(req: ListSecretVersionsRequest, opts?: CallOptions): Promise<ListSecretPropertiesResponse> {
    return this.read('Secrets', 'ListSecretVersions', req, opts);
  }

  updateSecretProperties(req: UpdateSecretPropertiesRequest, opts?: CallOptions): Promise<SecretProperties> {
    return this.write('Secrets', 'UpdateSecretProperties', req, opts);
  }

  deleteSecret(req: SecretWriteRef, opts?: CallOptions): Promise<DeletedSecret> {
    return this.write('Secrets', 'DeleteSecret', req, opts);
  }

  getDeletedSecret(req: SecretRef, opts?: CallOptions): Promise<DeletedSecret> {
    return this.read('Secrets', 'GetDeletedSecret', req, opts);
  }

  listDeletedSecrets(req: ListDeletedSecretsRequest, opts?: CallOptions): Promise<ListDeletedSecretsResponse> {
    return this.read('Secrets', 'ListDeletedSecrets', req, opts);
  }

  recoverDeletedSecret(req: SecretWriteRef, opts?: CallOptions): Promise<SecretProperties> {
    return this.write('Secrets', 'RecoverDeletedSecret', req, opts);
  }

  purgeDeletedSecret(req: SecretWriteRef, opts?: CallOptions): Promise<PurgeDeletedSecretResponse> {
    return this.write('Secrets', 'PurgeDeletedSecret', req, opts);
  }

  backupSecret(req: SecretRef, opts?: CallOptions): Promise<BackupSecretResponse> {
    return this.read('Secrets', 'BackupSecret', req, opts);
  }

  restoreSecret(req: RestoreSecretRequest, opts?: CallOptions): Promise<SecretProperties> {
    return this.write('Secrets', 'RestoreSecret', req, opts);
  }

  // ---- Keys ----
  // Cryptographic operations change no state: they are reads, retried freely,
  // and any node may serve them.

  createKey(req: CreateKeyRequest, opts?: CallOptions): Promise<Key> {
    return this.write('Keys', 'CreateKey', req, opts);
  }

  importKey(req: ImportKeyRequest, opts?: CallOptions): Promise<Key> {
    return this.write('Keys', 'ImportKey', req, opts);
  }

  getKey(req: GetKeyRequest, opts?: CallOptions): Promise<Key> {
    return this.read('Keys', 'GetKey', req, opts);
  }

  listKeys(req: ListKeysRequest, opts?: CallOptions): Promise<ListKeyPropertiesResponse> {
    return this.read('Keys', 'ListKeys', req, opts);
  }

  listKeyVersions(req: ListKeyVersionsRequest, opts?: CallOptions): Promise<ListKeyPropertiesResponse> {
    return this.read('Keys', 'ListKeyVersions', req, opts);
  }

  updateKeyProperties(req: UpdateKeyPropertiesRequest, opts?: CallOptions): Promise<Key> {
    return this.write('Keys', 'UpdateKeyProperties', req, opts);
  }

  rotateKey(req: KeyWriteRef, opts?: CallOptions): Promise<Key> {
    return this.write('Keys', 'RotateKey', req, opts);
  }

  deleteKey(req: KeyWriteRef, opts?: CallOptions): Promise<DeletedKey> {
    return this.write('Keys', 'DeleteKey', req, opts);
  }

  getDeletedKey(req: KeyRef, opts?: CallOptions): Promise<DeletedKey> {
    return this.read('Keys', 'GetDeletedKey', req, opts);
  }

  listDeletedKeys(req: ListDeletedKeysRequest, opts?: CallOptions): Promise<ListDeletedKeysResponse> {
    return this.read('Keys', 'ListDeletedKeys', req, opts);
  }

  recoverDeletedKey(req: KeyWriteRef, opts?: CallOptions): Promise<Key> {
    return this.write('Keys', 'RecoverDeletedKey', req, opts);
  }

  purgeDeletedKey(req: KeyWriteRef, opts?: CallOptions): Promise<PurgeDeletedKeyResponse> {
    return this.write('Keys', 'PurgeDeletedKey', req, opts);
  }

  backupKey(req: KeyRef, opts?: CallOptions): Promise<BackupKeyResponse> {
    return this.read('Keys', 'BackupKey', req, opts);
  }

  restoreKey(req: RestoreKeyRequest, opts?: CallOptions): Promise<Key> {
    return this.write('Keys', 'RestoreKey', req, opts);
  }

  encrypt(req: KeyOperationRequest, opts?: CallOptions): Promise<KeyOperationResult> {
    return this.read('Keys', 'Encrypt', req, opts);
  }

  decrypt(req: KeyOperationRequest, opts?: CallOptions): Promise<KeyOperationResult> {
    return this.read('Keys', 'Decrypt', req, opts);
  }

  wrapKey(req: KeyOperationRequest, opts?: CallOptions): Promise<KeyOperationResult> {
    return this.read('Keys', 'WrapKey', req, opts);
  }

  unwrapKey(req: KeyOperationRequest, opts?: CallOptions): Promise<KeyOperationResult> {
    return this.read('Keys', 'UnwrapKey', req, opts);
  }

  /** Signs a digest (see digestFor): the key never sees the data itself. */
  sign(req: SignRequest, opts?: CallOptions): Promise<KeyOperationResult> {
    return this.read('Keys', 'Sign', req, opts);
  }

  /** Answers { value: false } for a signature that does not verify; it fails only for a bad request. */
  verify(req: VerifyRequest, opts?: CallOptions): Promise<VerifyResult> {
    return this.read('Keys', 'Verify', req, opts);
  }

  getRandomBytes(req: GetRandomBytesRequest, opts?: CallOptions): Promise<RandomBytes> {
    return this.read('Keys', 'GetRandomBytes', req, opts);
  }

  // ---- Cluster ----

  getStatus(req: Record<string, never> = {}, opts?: CallOptions): Promise<ClusterStatus> {
    return this.read('Cluster', 'GetStatus', req, opts);
  }

  /** A drill: the secondary region takes over now and stays failed over until failback(). */
  failover(req: { reason?: string } = {}, opts?: CallOptions): Promise<RegionStatus> {
    return this.invoke('Cluster', 'Failover', 'idempotent', req, opts);
  }

  /** Like failover, a move to a mode: applied twice, it leaves the region as once, so it is retried. */
  failback(req: { reason?: string } = {}, opts?: CallOptions): Promise<RegionStatus> {
    return this.invoke('Cluster', 'Failback', 'idempotent', req, opts);
  }

  // ---- Membership (like etcdctl member) ----

  /** Every region's members, or one region's. */
  listMembers(req: { region?: string } = {}, opts?: CallOptions): Promise<{ members: Member[] }> {
    return this.read('Cluster', 'ListMembers', req, opts);
  }

  /** Adds a learner to a region: start the node with --join once this returns. */
  addMember(req: { region: string; id: string; clientAddress: string; peerAddress: string; metricsAddress?: string }, opts?: CallOptions): Promise<{ members: Member[] }> {
    return this.invoke('Cluster', 'AddMember', 'write', req, opts);
  }

  /** Makes a caught-up learner a voter (FAILED_PRECONDITION LEARNER_NOT_READY before). */
  promoteMember(req: { id: string }, opts?: CallOptions): Promise<{ members: Member[] }> {
    return this.invoke('Cluster', 'PromoteMember', 'write', req, opts);
  }

  removeMember(req: { id: string }, opts?: CallOptions): Promise<{ members: Member[] }> {
    return this.invoke('Cluster', 'RemoveMember', 'write', req, opts);
  }

  /**
   * Rewraps every data key under the master key the nodes now hold as current
   * (after each was restarted with the new key and the previous one).
   */
  rotateMasterKey(req: { requestId?: string } = {}, opts?: CallOptions): Promise<RotateMasterKeyResponse> {
    return this.write('Cluster', 'RotateMasterKey', req, opts);
  }

  // ---- Principals, tokens and role assignments ----

  createPrincipal(req: { name: string; requestId?: string }, opts?: CallOptions): Promise<Principal> {
    return this.write('Cluster', 'CreatePrincipal', req, opts);
  }

  deletePrincipal(req: { name: string; requestId?: string }, opts?: CallOptions): Promise<Principal> {
    return this.write('Cluster', 'DeletePrincipal', req, opts);
  }

  /** Voids every token issued to the principal so far. */
  resetPrincipal(req: { name: string; requestId?: string }, opts?: CallOptions): Promise<Principal> {
    return this.write('Cluster', 'ResetPrincipal', req, opts);
  }

  listPrincipals(req: Record<string, never> = {}, opts?: CallOptions): Promise<{ principals: Principal[] }> {
    return this.read('Cluster', 'ListPrincipals', req, opts);
  }

  createToken(req: { principal: string; ttlMs: number }, opts?: CallOptions): Promise<Token> {
    return this.read('Cluster', 'CreateToken', req, opts);
  }

  createRoleAssignment(req: { principal: string; role: string; scope: string; requestId?: string }, opts?: CallOptions): Promise<RoleAssignment> {
    return this.write('Cluster', 'CreateRoleAssignment', req, opts);
  }

  deleteRoleAssignment(req: { id: string; requestId?: string }, opts?: CallOptions): Promise<RoleAssignment> {
    return this.write('Cluster', 'DeleteRoleAssignment', req, opts);
  }

  /** One principal's, or every principal's when none is named. */
  listRoleAssignments(req: { principal?: string } = {}, opts?: CallOptions): Promise<{ roleAssignments: RoleAssignment[] }> {
    return this.read('Cluster', 'ListRoleAssignments', req, opts);
  }

  /**
   * The bytes of a consistent, encrypted snapshot file of the whole state
   * (Cluster.SaveSnapshot), in order. The call's deadline defaults to
   * SNAPSHOT_TIMEOUT_MS: a large state takes a while.
   */
  snapshotChunks(opts: CallOptions = {}): AsyncGenerator<SnapshotChunk> {
    return this.caller.stream<SnapshotChunk>(methodDefinition('Cluster', 'SaveSnapshot'), {}, { ...opts, timeoutMs: opts.timeoutMs ?? SNAPSHOT_TIMEOUT_MS });
  }

  /**
   * Writes a snapshot to `file`: to `file`.part first (mode 0600), renamed
   * once whole, so that `file` is never a partial snapshot. `onProgress` is
   * told the bytes written so far.
   */
  async saveSnapshot(file: string, opts: CallOptions & { onProgress?: (bytes: number, chunk: SnapshotChunk) => void } = {}): Promise<SnapshotSummary> {
    return writeSnapshotFile(file, this.snapshotChunks(opts), opts.onProgress);
  }

  // ---- Data keys ----

  listDataKeys(req: Record<string, never> = {}, opts?: CallOptions): Promise<ListDataKeysResponse> {
    return this.read('Cluster', 'ListDataKeys', req, opts);
  }

  /** One bounded batch of the background re-seal; call until `remaining` is 0. */
  resealValues(req: { maxValues?: number } = {}, opts?: CallOptions): Promise<ResealValuesResponse> {
    // No request id: a batch is safe to retry as it is, since apply replaces only values still unchanged.
    return this.invoke('Cluster', 'ResealValues', 'write', req, opts);
  }

  // ---- Every page ----

  listAllVaults(opts: PageOptions = {}): AsyncGenerator<Vault> {
    return pages((pageToken) => this.listVaults({ pageSize: opts.pageSize, pageToken }, opts).then((r) => [r.vaults, r.nextPageToken]));
  }

  listAllSecrets(vault: string, opts: PageOptions = {}): AsyncGenerator<SecretProperties> {
    return pages((pageToken) => this.listSecrets({ vault, pageSize: opts.pageSize, pageToken }, opts).then((r) => [r.secrets, r.nextPageToken]));
  }

  listAllSecretVersions(vault: string, name: string, opts: PageOptions = {}): AsyncGenerator<SecretProperties> {
    return pages((pageToken) =>
      this.listSecretVersions({ vault, name, pageSize: opts.pageSize, pageToken }, opts).then((r) => [r.secrets, r.nextPageToken]),
    );
  }

  listAllDeletedSecrets(vault: string, opts: PageOptions = {}): AsyncGenerator<DeletedSecret> {
    return pages((pageToken) =>
      this.listDeletedSecrets({ vault, pageSize: opts.pageSize, pageToken }, opts).then((r) => [r.secrets, r.nextPageToken]),
    );
  }

  listAllKeys(vault: string, opts: PageOptions = {}): AsyncGenerator<KeyProperties> {
    return pages((pageToken) => this.listKeys({ vault, pageSize: opts.pageSize, pageToken }, opts).then((r) => [r.keys, r.nextPageToken]));
  }

  listAllKeyVersions(vault: string, name: string, opts: PageOptions = {}): AsyncGenerator<KeyProperties> {
    return pages((pageToken) =>
      this.listKeyVersions({ vault, name, pageSize: opts.pageSize, pageToken }, opts).then((r) => [r.keys, r.nextPageToken]),
    );
  }

  listAllDeletedKeys(vault: string, opts: PageOptions = {}): AsyncGenerator<DeletedKey> {
    return pages((pageToken) =>
      this.listDeletedKeys({ vault, pageSize: opts.pageSize, pageToken }, opts).then((r) => [r.keys, r.nextPageToken]),
    );
  }

  /** Cancels calls in flight and closes every connection; the client cannot be used afterwards. */
  close(): void {
    this.caller.close();
  }
}

/** Yields every item of every page; each page is fetched only when the previous one is consumed. */
export async function* pages<T>(fetch: (pageToken: string) => Promise<[T[], string]>): AsyncGenerator<T> {
  const seen = new Set<string>();
  let token = '';
  for (;;) {
    const [items, next] = await fetch(token);
    yield* items;
    if (next === '') return;
    // A token handed out twice would loop forever: a server bug, reported as one.
    if (seen.has(next)) throw new KeyraftError(grpc.status.INTERNAL, 'BAD_PAGE_TOKEN', `the server repeated page token ${JSON.stringify(next)}`);
    seen.add(next);
    token = next;
  }
}
