// Page tokens: base64url of "<kind>:<last key returned>". A token names a
// position, not an offset, so a page never repeats or skips an item because
// something was inserted or removed before it in the meantime.

import { invalid } from './errors.js';

/**
 * v: vaults; s: secrets; d: deleted secrets; r: versions of one secret;
 * k: keys; dk: deleted keys; kr: versions of one key.
 */
export type TokenKind = 'v' | 's' | 'd' | 'r' | 'k' | 'dk' | 'kr';

const NAME = /^[0-9a-z-]{1,127}$/;
const VERSION = /^[0-9a-f]{32}$/;
const KEY_SHAPE: Record<TokenKind, RegExp> = {
  v: /^[a-z][a-z0-9-]{2,23}$/,
  s: NAME,
  d: NAME,
  r: VERSION,
  k: NAME,
  dk: NAME,
  kr: VERSION,
};
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export function encodePageToken(kind: TokenKind, lastKey: string): string {
  return Buffer.from(`${kind}:${lastKey}`, 'utf8').toString('base64url');
}

/** "" → undefined (start from the beginning); anything not made by encodePageToken(kind) → INVALID_PAGE_TOKEN. */
export function decodePageToken(kind: TokenKind, token: unknown): string | undefined {
  if (token === '' || token === undefined || token === null) return undefined;
  const bad = () => invalid('INVALID_PAGE_TOKEN', 'the page token is malformed or belongs to another listing');
  if (typeof token !== 'string' || token.length > 256 || !BASE64URL.test(token)) throw bad();
  const text = Buffer.from(token, 'base64url').toString('utf8');
  // Re-encoding must give the token back, else it was not one of ours.
  if (Buffer.from(text, 'utf8').toString('base64url') !== token) throw bad();
  const sep = text.indexOf(':');
  if (sep < 0 || text.slice(0, sep) !== kind) throw bad();
  const key = text.slice(sep + 1);
  if (!KEY_SHAPE[kind].test(key)) throw bad();
  return key;
}

export interface Page<T> {
  items: T[];
  /** "" when there is nothing after this page. */
  nextPageToken: string;
}

/**
 * Walks `keys` (already past the token's position), keeps up to `pageSize`
 * items that `view` does not skip (null), and hands out a token only when
 * another visible item exists.
 */
export function collectPage<T>(
  kind: TokenKind,
  keys: Iterable<string>,
  pageSize: number,
  view: (key: string) => T | null,
): Page<T> {
  const items: T[] = [];
  let last = '';
  for (const key of keys) {
    const item = view(key);
    if (item === null) continue;
    if (items.length === pageSize) return { items, nextPageToken: encodePageToken(kind, last) };
    items.push(item);
    last = key;
  }
  return { items, nextPageToken: '' };
}
