// What the key command tests share: canned keys and a CLI run against a fake
// client that records every call. The fake answers from `answers` by method
// name; the list iterators yield the list given under their own name.

import { run, type CliClient, type CliDeps } from '../../src/cli/program.js';
import type { DeletedKey, JsonWebKey, Key, KeyOperationResult, KeyProperties } from '../../src/client/index.js';

const none = new Uint8Array(0);

/** Bytes that must never be printed: the fake server sends them as private members. */
export const PRIVATE = Uint8Array.from([0xde, 0xad, 0xbe, 0xef, 0x99, 0x42]);
export const PRIVATE_TEXT = [Buffer.from(PRIVATE).toString('base64url'), Buffer.from(PRIVATE).toString('base64'), Buffer.from(PRIVATE).toString('hex')];

export function keyProps(name: string, version = 'v1', over: Partial<KeyProperties> = {}): KeyProperties {
  return {
    vault: 'pay', name, version, kid: `keyraft://pay/keys/${name}/${version}`, kty: 'RSA', keySize: 2048, curve: '',
    keyOps: ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey'], enabled: true, notBefore: 0, expires: 0,
    created: 1700000000, updated: 1700000000, tags: {}, recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90, exportable: false,
    ...over,
  };
}

export function jwkOf(over: Partial<JsonWebKey>): JsonWebKey {
  return { kid: '', kty: '', keyOps: [], n: none, e: none, crv: '', x: none, y: none, d: none, p: none, q: none, dp: none, dq: none, qi: none, k: none, ...over };
}

/** An RSA key as a careless server might send it: private members filled in. */
export const rsaKey: Key = {
  properties: keyProps('rk'),
  key: jwkOf({ kid: 'keyraft://pay/keys/rk/v1', kty: 'RSA', keyOps: ['sign', 'verify'], n: Uint8Array.of(0xc3, 0xff, 0x01), e: Uint8Array.of(1, 0, 1), d: PRIVATE, p: PRIVATE, q: PRIVATE }),
};

export const ecKey: Key = {
  properties: keyProps('ek', 'v2', { kty: 'EC', keySize: 0, curve: 'P-256', keyOps: ['sign', 'verify'] }),
  key: jwkOf({ kid: 'keyraft://pay/keys/ek/v2', kty: 'EC', keyOps: ['sign', 'verify'], crv: 'P-256', x: Uint8Array.of(1, 2, 0xfb), y: Uint8Array.of(3, 4, 0xff), d: PRIVATE }),
};

export const octKey: Key = {
  properties: keyProps('ok', 'v3', { kty: 'oct', keySize: 256, keyOps: ['wrapKey', 'unwrapKey'] }),
  key: jwkOf({ kid: 'keyraft://pay/keys/ok/v3', kty: 'oct', keyOps: ['wrapKey', 'unwrapKey'], k: PRIVATE }),
};

export const deletedKey: DeletedKey = { key: rsaKey, recoveryId: 'keyraft://pay/deletedkeys/rk', deletedDate: 1700000100, scheduledPurgeDate: 1707776100 };

export const opResult: KeyOperationResult = {
  kid: 'keyraft://pay/keys/ok/v3', value: Uint8Array.of(0xfb, 0xff, 0x10), iv: Uint8Array.of(1, 2, 3), tag: Uint8Array.of(0xff, 0xee), aad: none,
};

const DEFAULT_ANSWERS: Record<string, unknown> = {
  createKey: rsaKey, importKey: rsaKey, getKey: rsaKey, updateKeyProperties: rsaKey, rotateKey: rsaKey, recoverDeletedKey: rsaKey, restoreKey: rsaKey,
  deleteKey: deletedKey, getDeletedKey: deletedKey, purgeDeletedKey: {}, backupKey: { value: Uint8Array.of(0xfb, 0xff, 1) },
  encrypt: opResult, decrypt: opResult, wrapKey: opResult, unwrapKey: opResult, sign: opResult,
  verify: { value: true }, getRandomBytes: { value: Uint8Array.of(0xfb, 0xff, 0xfe, 1) },
  listAllKeys: [keyProps('a'), keyProps('b', 'v1', { kty: 'EC', keySize: 0, curve: 'P-384' })],
  listAllKeyVersions: [keyProps('rk', 'v1'), keyProps('rk', 'v2')],
  listAllDeletedKeys: [deletedKey],
};

export interface Outcome {
  code: number;
  out: string;
  err: string;
  /** [method, request] for each call; the iterators record their arguments. */
  calls: [string, unknown][];
  written: Map<string, Uint8Array>;
}

export interface CliOptions {
  answers?: Record<string, unknown>;
  failWith?: Error;
  files?: Record<string, Buffer>;
}

export async function cli(argv: string[], o: CliOptions = {}): Promise<Outcome> {
  const calls: [string, unknown][] = [];
  const answers = { ...DEFAULT_ANSWERS, ...o.answers };
  const client = new Proxy({} as Record<string, unknown>, {
    get: (_target, method: string) => {
      if (method === 'close') return () => undefined;
      if (method.startsWith('listAll')) {
        return async function* (...args: unknown[]) {
          calls.push([method, args]);
          if (o.failWith !== undefined) throw o.failWith;
          yield* answers[method] as unknown[];
        };
      }
      return async (req: unknown) => {
        calls.push([method, req]);
        if (o.failWith !== undefined) throw o.failWith;
        if (!(method in answers)) throw new Error(`the fake has no answer for ${method}`);
        return answers[method];
      };
    },
  });
  let out = '';
  let err = '';
  const written = new Map<string, Uint8Array>();
  const deps: Partial<CliDeps> = {
    stdout: (s) => void (out += s),
    stderr: (s) => void (err += s),
    env: { KEYRAFT_ENDPOINTS: '127.0.0.1:7101' },
    newClient: () => client as unknown as CliClient,
    readFile: async (path) => {
      const f = o.files?.[path];
      if (f === undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' });
      return f;
    },
    writeFile: async (path, data) => void written.set(path, data),
    localCluster: () => ({}),
  };
  const code = await run(argv, deps);
  return { code, out, err, calls, written };
}

/** The request of the only call made. */
export function sent(r: Outcome): Record<string, unknown> {
  if (r.calls.length !== 1) throw new Error(`expected one call, got ${JSON.stringify(r.calls.map((c) => c[0]))} (${r.err})`);
  return r.calls[0]![1] as Record<string, unknown>;
}

export const kref = ['--vault-name', 'pay', '--name', 'rk'];

export const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
