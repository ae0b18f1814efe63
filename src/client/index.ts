// The keyraft SDK's public surface.

export { KeyraftClient, clientCredentials, DEFAULT_DISCOVERY_INTERVAL_MS, DEFAULT_RETRIES, DEFAULT_TIMEOUT_MS, pages } from './client.js';
export type { KeyraftClientOptions, PageOptions } from './client.js';
export type { CallOptions } from './caller.js';
export type { Topology, TopologyNode, TopologyRegion } from './routing.js';
export { KeyraftError, fromServiceError, isThrottled, statusName, REASON_KEY, RETRY_AFTER_KEY, THROTTLED } from './errors.js';
export type { ServedBy, ServiceErrorLike } from './errors.js';
export { backoffCap, backoffDelay, retryAfterDelay, DEFAULT_BACKOFF } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
export { CA_ENV, defaultCaFile, defaultEndpoints, defaultTokenFile, TOKEN_ENV, endpointsFromTopology, findLocalTopology, parseEndpoints, ENDPOINTS_ENV } from './endpoints.js';
export { toProtoJson, base64url } from './json.js';
export { fromBase64, jwkFromJson, parseJwk, publicJwk, toBase64url } from './jwk.js';
export { digestFor, signatureHash, KEY_CURVES, KEY_OPERATIONS, KEY_TYPES, SIGNATURE_ALGORITHMS } from './algorithms.js';
export type { SignatureHash } from './algorithms.js';
export type * from './types.js';
