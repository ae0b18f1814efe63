// The public API's messages (proto/keyraft/v1, package keyraft.v1) as
// TypeScript types: the one definition of those shapes that both sides use,
// the server's (src/app's cluster view, the REST gateway) and the SDK's
// (src/client/types.ts). Generated into gen/ by scripts/gen-api-types.mjs
// (`make api-types`) from the .proto files, with the options every side
// loads them with (src/protos.ts GRPC_LOADER_OPTIONS), so they describe what
// proto-loader actually hands over: for each message M, `M` is what a sender
// may pass (fields optional, int64 as number | string | Long, bytes as
// Buffer | Uint8Array | string) and `M__Output` what a receiver gets (every
// field present, int64 as number, bytes as Buffer).
//
// A shared leaf (test/arch/layers.ts): types only, importing nothing else
// from src.

import type { Long } from '@grpc/proto-loader';

export type * from './gen/index.js';

/**
 * One field of a message as keyraft's code reads and writes it: int64 as a
 * number (Unix times and counters fit), bytes as Uint8Array (proto-loader
 * gives a Buffer, which is one; in-process callers of the app give a plain
 * Uint8Array), sub-messages and lists field by field.
 */
export type Field<T> = [T] extends [string | number | boolean]
  ? T
  : [T] extends [number | string | Long]
    ? number
    : [T] extends [Buffer | Uint8Array | string]
      ? Uint8Array
      : [T] extends [readonly (infer E)[]]
        ? Field<E>[]
        : Message<T>;

/**
 * A generated message type with every field as Field says, and sub-messages
 * never null: with `defaults`, proto-loader gives null for an absent one, and
 * keyraft's answers always carry the sub-messages they define.
 */
export type Message<T> = { [K in keyof T]: Field<NonNullable<T[K]>> };

/** An answer as its receiver gets it: Message of the generated `M__Output` (every field present). */
export type Answer<T> = Message<T>;

/** A request as its sender builds it: Message of the generated `M` (fields optional), with the fields in `R` required. */
export type Ask<T, R extends keyof T = never> = Message<T> & { [K in R]-?: Field<NonNullable<T[K]>> };
