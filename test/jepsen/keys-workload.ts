// The key workload of issue 6: EC P-256 keys created, rotated and soft-deleted
// during the run while the same processes sign (ES256 over SHA-256 of a random
// message) and verify earlier signatures; every operation goes into the
// history as a KeyOp, and checkKeys judges it against the public keys read at
// the end. Key names are never reused and nothing is recovered during the
// run, so an acknowledged delete is final.

import { createHash, randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { KeyraftError, type KeyraftClient, toBase64url } from '../../src/client/index.js';
import { eventually } from '../integration/cluster.js';
import type { FinalKeys, KeyOp, Operation, PublicJwk, SecondarySource } from './history.js';
import { writeOutcome } from './runner.js';

export interface KeyProcess {
  readonly id: number;
  readonly client: KeyraftClient;
  readonly rand: () => number;
}

/** What the key processes of one run share: the names in play and the acknowledged signatures. */
export class KeyPool {
  /** Every name a create was attempted for (the end reads them all). */
  readonly names: string[] = [];
  /** Names believed to exist: created (or maybe created) and not yet picked for deletion. */
  readonly live: string[] = [];
  readonly deleted: string[] = [];
  readonly signatures: { key: string; version: string; message: string; signature: string }[] = [];
}

const prefix = 'key:';
/** The VersionsOp key under which a key's version lists are recorded (apart from the registers' names). */
export const versionsKey = (name: string): string => `${prefix}${name}`;

const versionOfKid = (kid: string): string => kid.slice(kid.lastIndexOf('/') + 1);

/** One key process: one operation at a time until the deadline. */
export async function keyWorkload(
  p: KeyProcess,
  pool: KeyPool,
  opts: { vault: string; primary: string; until: () => number; now: () => number },
  history: Operation[],
): Promise<void> {
  const { vault, now } = opts;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(p.rand() * items.length)]!;
  let n = 0;
  while (now() < opts.until()) {
    const r = p.rand();
    const invokeMs = now();
    const base = { process: p.id, kind: 'key' as const, invokeMs };
    let secondary: SecondarySource | undefined;
    const onServedBy = (s: { region: string; mode: string; metadata: Record<string, string> }) => {
      secondary = s.region !== opts.primary && s.mode === 'FAILED_OVER' ? { region: s.region, primaryIndex: Number(s.metadata['keyraft-primary-index'] ?? 0) } : undefined;
    };
    const done = (op: Omit<KeyOp, 'process' | 'kind' | 'invokeMs'>): void => {
      const full: KeyOp = { ...base, ...op, ...(op.outcome === 'unknown' ? {} : { completeMs: now() }) };
      history.push(secondary && op.outcome === 'ok' ? { ...full, secondary } : full);
    };
    if (pool.live.length < 2 || r < 0.06) {
      const key = `k${p.id}-${n++}`;
      pool.names.push(key);
      try {
        const k = await p.client.createKey({ vault, name: key, kty: 'EC', curve: 'P-256' });
        pool.live.push(key);
        done({ action: 'create', key, outcome: 'ok', version: k.properties.version });
      } catch (e) {
        const outcome = writeOutcome(e);
        if (outcome === 'unknown') pool.live.push(key);
        done({ action: 'create', key, outcome });
      }
    } else if (r < 0.18) {
      const key = pick(pool.live);
      try {
        const k = await p.client.rotateKey({ vault, name: key });
        done({ action: 'rotate', key, outcome: 'ok', version: k.properties.version });
      } catch (e) {
        done({ action: 'rotate', key, outcome: writeOutcome(e) });
      }
    } else if (r < 0.23 && pool.live.length > 2) {
      const key = pick(pool.live);
      pool.live.splice(pool.live.indexOf(key), 1);
      pool.deleted.push(key);
      try {
        await p.client.deleteKey({ vault, name: key });
        done({ action: 'delete', key, outcome: 'ok' });
      } catch (e) {
        done({ action: 'delete', key, outcome: writeOutcome(e) });
      }
    } else if (r < 0.7) {
      // Now and then a deleted key, which must refuse once its delete is acknowledged.
      const key = pool.deleted.length > 0 && p.rand() < 0.1 ? pick(pool.deleted) : pick(pool.live);
      const message = toBase64url(randomBytes(16));
      const digest = createHash('sha256').update(Buffer.from(message, 'base64url')).digest();
      try {
        const s = await p.client.sign({ vault, name: key, algorithm: 'ES256', digest }, { onServedBy });
        const signature = toBase64url(s.value);
        const version = versionOfKid(s.kid);
        done({ action: 'sign', key, outcome: 'ok', version, message, signature });
        pool.signatures.push({ key, version, message, signature });
      } catch {
        // A sign that failed signed nothing; whether it might have is of no interest.
        done({ action: 'sign', key, outcome: 'fail' });
      }
    } else if (r < 0.93 && pool.signatures.length > 0) {
      const s = pick(pool.signatures);
      const digest = createHash('sha256').update(Buffer.from(s.message, 'base64url')).digest();
      const request = { vault, name: s.key, version: s.version, algorithm: 'ES256', digest, signature: Buffer.from(s.signature, 'base64url') };
      try {
        const v = await p.client.verify(request, { onServedBy });
        done({ action: 'verify', key: s.key, outcome: 'ok', version: s.version, message: s.message, signature: s.signature, verified: v.value });
      } catch {
        done({ action: 'verify', key: s.key, outcome: 'fail', version: s.version, message: s.message, signature: s.signature });
      }
    } else {
      const key = pick(pool.live);
      try {
        const versions: string[] = [];
        for await (const v of p.client.listAllKeyVersions(vault, key, { pageSize: 25 })) versions.push(v.version);
        history.push({ process: p.id, kind: 'versions', key: versionsKey(key), versions, invokeMs, completeMs: now() });
      } catch {
        // Not created (yet), deleted, or a fault: no observation.
      }
    }
  }
}

const notFound = (e: unknown, reason: string): boolean => e instanceof KeyraftError && e.code === grpc.status.NOT_FOUND && e.reason === reason;

/**
 * After the heal, through a client of the primary: every name's versions and
 * their public keys. A deleted key is recovered first (the run is over, so
 * this changes nothing the checks judge); a name that is neither live nor
 * deleted never came to exist.
 */
export async function readFinalKeys(client: KeyraftClient, vault: string, names: readonly string[]): Promise<FinalKeys> {
  const keys: Record<string, { versions: string[]; publicKeys: Record<string, PublicJwk> }> = {};
  const one = async (name: string): Promise<void> => {
    const versions = await eventually(
      `the versions of key ${name}`,
      // undefined: just recovered, list again; null: the key never came to exist.
      async (): Promise<string[] | null | undefined> => {
        try {
          const list: string[] = [];
          for await (const v of client.listAllKeyVersions(vault, name, { pageSize: 25 })) list.push(v.version);
          return list;
        } catch (e) {
          if (!notFound(e, 'KEY_NOT_FOUND')) throw e;
        }
        try {
          await client.recoverDeletedKey({ vault, name });
          return undefined;
        } catch (e) {
          if (notFound(e, 'DELETED_KEY_NOT_FOUND')) return null;
          throw e;
        }
      },
      30_000,
      200,
    );
    if (versions === null) return;
    const publicKeys: Record<string, PublicJwk> = {};
    for (const version of versions) {
      const k = await eventually(`version ${version} of key ${name}`, () => client.getKey({ vault, name, version }), 30_000, 200);
      publicKeys[version] = { kty: k.key.kty, crv: k.key.crv, x: toBase64url(k.key.x), y: toBase64url(k.key.y) };
    }
    keys[name] = { versions, publicKeys };
  };
  // Eight names at a time: the calls are independent.
  const queue = [...names];
  await Promise.all(Array.from({ length: 8 }, async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) await one(name);
  }));
  // In the order the names were made, for a stable report.
  return Object.fromEntries(names.filter((n) => keys[n] !== undefined).map((n) => [n, keys[n]!]));
}
