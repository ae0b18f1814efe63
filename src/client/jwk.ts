// Bytes as text, and JSON Web Keys (RFC 7517) as the API takes them. JWK
// members are base64url, but keys exported by other tools are often in
// standard base64 or PEM, so both are accepted on the way in; what keyraft
// writes is always unpadded base64url.

import { createPrivateKey } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { clientError } from './errors.js';
import type { JsonWebKey, JsonWebKeyInput } from './types.js';

export function toBase64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/**
 * base64url or standard base64, padded or not; whitespace (a pasted line
 * break) is ignored. Undefined for anything else: Buffer.from would skip
 * the bad characters and decode something else without a word.
 */
export function fromBase64(text: string): Uint8Array | undefined {
  const s = text.replace(/\s+/g, '');
  if (!BASE64.test(s)) return undefined;
  const padded = s.includes('=');
  if ((padded && s.length % 4 !== 0) || (!padded && s.length % 4 === 1)) return undefined;
  return Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

const BYTE_MEMBERS = ['n', 'e', 'x', 'y', 'd', 'p', 'q', 'dp', 'dq', 'qi', 'k'] as const;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'] as const;
// RFC 8812's name for the curve Azure calls P-256K; Node.js exports this one.
const CURVE_ALIASES: Record<string, string> = { secp256k1: 'P-256K' };

function badJwk(message: string): Error {
  return clientError(grpc.status.INVALID_ARGUMENT, 'BAD_JWK', message);
}

/**
 * A JWK from its JSON object: string members as they are, `key_ops` (or
 * keyOps) as a list, the rest decoded from base64url. Members RFC 7517 lets
 * a key carry that the API has no field for (alg, use, ext...) are ignored.
 */
export function jwkFromJson(json: unknown): JsonWebKeyInput {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw badJwk('a JWK is a JSON object');
  const o = json as Record<string, unknown>;
  if (Array.isArray(o['keys'])) throw badJwk('this is a JWK Set; give one key');
  if (typeof o['kty'] !== 'string' || o['kty'] === '') throw badJwk('the JWK has no "kty"');
  const jwk: JsonWebKeyInput = { kty: o['kty'] };
  for (const name of ['kid', 'crv'] as const) {
    const v = o[name];
    if (v === undefined) continue;
    if (typeof v !== 'string') throw badJwk(`JWK member "${name}" must be a string`);
    jwk[name] = name === 'crv' ? (CURVE_ALIASES[v] ?? v) : v;
  }
  const ops = o['key_ops'] ?? o['keyOps'];
  if (ops !== undefined) {
    if (!Array.isArray(ops) || !ops.every((x) => typeof x === 'string')) throw badJwk('JWK member "key_ops" must be a list of strings');
    jwk.keyOps = ops as string[];
  }
  for (const name of BYTE_MEMBERS) {
    const v = o[name];
    if (v === undefined) continue;
    const bytes = typeof v === 'string' ? fromBase64(v) : undefined;
    if (bytes === undefined) throw badJwk(`JWK member "${name}" must be base64url`);
    jwk[name] = bytes;
  }
  return jwk;
}

/**
 * A private key to import, from a JWK's JSON text or a PEM private key
 * (PKCS#8, PKCS#1 or SEC1, as openssl writes them; not encrypted).
 */
export function parseJwk(text: string): JsonWebKeyInput {
  if (text.trimStart().startsWith('-----BEGIN')) {
    let exported: unknown;
    try {
      exported = createPrivateKey({ key: text, format: 'pem' }).export({ format: 'jwk' });
    } catch (e) {
      // Node's message names the problem (e.g. a public key, a passphrase); the key itself is not in it.
      throw badJwk(`not an unencrypted PEM private key: ${e instanceof Error ? e.message : String(e)}`);
    }
    return jwkFromJson(exported);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw badJwk('neither JSON (a JWK) nor a PEM private key');
  }
  return jwkFromJson(json);
}

/** `jwk` with every private member emptied: what may be shown, whatever a server sent. */
export function publicJwk<T extends Partial<JsonWebKey>>(jwk: T): T {
  const out = { ...jwk };
  for (const name of PRIVATE_MEMBERS) if (out[name] !== undefined && out[name]!.length > 0) out[name] = new Uint8Array(0);
  return out;
}
