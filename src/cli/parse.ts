// Option values as the CLI accepts them. Each parser throws commander's
// InvalidArgumentError, which commander reports as a usage error naming the
// option (exit code 2).

import { InvalidArgumentError } from 'commander';
import { fromBase64, KEY_CURVES, KEY_OPERATIONS, KEY_TYPES, KeyraftError, parseEndpoints } from '../client/index.js';
import type { Tags } from '../client/index.js';

/** A mistake in how the CLI was called, found after commander's own checks. */
export class UsageError extends Error {
  override name = 'UsageError';
}

const TRUE = new Set(['true', 'yes', 'on', '1']);
const FALSE = new Set(['false', 'no', 'off', '0']);

export function parseBool(value: string): boolean {
  const v = value.trim().toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw new InvalidArgumentError('expected true or false.');
}

/** A whole number in [min, max]; digits only, so "7days" or "1e3" are refused rather than misread. */
export function parseIntIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const v = value.trim();
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    }
    return Number(v);
  };
}

// Up to 9999-12-31T23:59:59Z: int64 seconds allow more, dates do not.
const MAX_UNIX_SECONDS = 253402300799;

/**
 * A point in time as Unix seconds: digits are Unix seconds already (0 means
 * "not set" to the API); anything else must be an ISO 8601 date or date-time.
 * A date-time without a zone is UTC, so that a command means the same on
 * every machine.
 */
export function parseTime(value: string): number {
  const v = value.trim();
  if (/^\d+$/.test(v)) {
    const n = Number(v);
    if (n > MAX_UNIX_SECONDS) throw new InvalidArgumentError('Unix seconds out of range (milliseconds given?).');
    return n;
  }
  const iso = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?)?$/i.exec(v);
  if (iso === null) throw new InvalidArgumentError('expected an ISO 8601 date (2030-01-31, 2030-01-31T12:00:00Z) or Unix seconds.');
  const [, date, time, zone] = iso;
  const ms = Date.parse(`${date}T${time ?? '00:00:00'}${zone ?? 'Z'}`.toUpperCase());
  if (!Number.isFinite(ms) || ms < 0) throw new InvalidArgumentError('not a valid date.');
  // Date.parse rolls 2030-02-30 over to March; refuse rather than guess.
  const day = new Date(`${date}T00:00:00Z`);
  if (Number.isNaN(day.getTime()) || day.toISOString().slice(0, 10) !== date) throw new InvalidArgumentError('not a valid date.');
  return Math.floor(ms / 1000);
}

/**
 * One `key=value` of a variadic --tags, merged into those before it. A bare
 * `key` has an empty value; an empty argument adds nothing, so `--tags ""`
 * gives no tags (which `secret update` uses to remove them all, as az does).
 */
export function parseTag(value: string, previous: Tags | undefined): Tags {
  const tags: Tags = { ...previous };
  if (value.trim() === '') return tags;
  const eq = value.indexOf('=');
  const key = (eq < 0 ? value : value.slice(0, eq)).trim();
  if (key === '') throw new InvalidArgumentError(`tag ${JSON.stringify(value)} has no name (expected key=value).`);
  tags[key] = eq < 0 ? '' : value.slice(eq + 1);
  return tags;
}

export function parseEndpointList(value: string): string[] {
  try {
    return parseEndpoints(value, '--endpoints');
  } catch (e) {
    throw new InvalidArgumentError(e instanceof KeyraftError ? e.message : String(e));
  }
}

/** Bytes given as base64url (what keyraft prints) or standard base64. */
export function parseBase64(value: string): Uint8Array {
  const bytes = fromBase64(value);
  if (bytes === undefined) throw new InvalidArgumentError('expected base64url (or standard base64).');
  return bytes;
}

/** One of `names`, in any case, as the API spells it (rsa -> RSA, wrapkey -> wrapKey). */
function canonical(names: readonly string[], value: string): string {
  const v = value.trim().toLowerCase();
  const found = names.find((n) => n.toLowerCase() === v);
  if (found === undefined) throw new InvalidArgumentError(`expected one of ${names.join(', ')}.`);
  return found;
}

export function parseKty(value: string): string {
  return canonical(KEY_TYPES, value);
}

export function parseCurve(value: string): string {
  return canonical(KEY_CURVES, value);
}

/**
 * Key operations, comma- or space-separated (`--ops encrypt,decrypt` and
 * `--ops encrypt decrypt` both work), accumulated over a variadic option.
 * `--ops ""` alone gives an empty list.
 */
export function parseOps(value: string, previous: string[] | undefined): string[] {
  const ops = [...(previous ?? [])];
  for (const part of value.split(/[\s,]+/)) {
    if (part.trim() === '') continue;
    const op = canonical(KEY_OPERATIONS, part);
    if (!ops.includes(op)) ops.push(op);
  }
  return ops;
}

/** Azure's algorithm names are all upper case (RSA-OAEP-256, A256GCM, ES256K): any case is taken. */
export function parseAlgorithm(value: string): string {
  const v = value.trim().toUpperCase();
  if (!/^[A-Z0-9_-]+$/.test(v)) throw new InvalidArgumentError('expected an algorithm name such as RSA-OAEP-256, A256GCM or ES256.');
  return v;
}
