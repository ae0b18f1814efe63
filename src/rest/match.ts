// Path patterns of Key Vault's data plane, and finding the one a request's
// path takes. The SDKs expand URL templates like
// "/secrets/{secret-name}/{secret-version}" with an empty version for
// "latest", which gives "/secrets/{name}/" (and "/keys/{name}//encrypt"),
// while other clients leave the segment out: a `{version?}` segment matches
// an empty segment or none. Literal segments match without regard to case
// (the spec writes "wrapkey", people write "wrapKey"); names and versions are
// passed on as given.

import { RestError } from './errors.js';

export type HttpMethod = 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
export type PathParams = Record<string, string>;

type Segment = { literal: string } | { param: string; optional: boolean };

/** A pattern such as /keys/{name}/{version?}/encrypt, split once. */
export class PathPattern {
  private readonly segments: Segment[];

  constructor(readonly text: string) {
    this.segments = text
      .split('/')
      .slice(1)
      .map((s) => {
        const param = /^\{(\w+)(\?)?\}$/.exec(s);
        return param === null ? { literal: s.toLowerCase() } : { param: param[1]!, optional: param[2] === '?' };
      });
  }

  /** How many literal segments: the more specific pattern wins (/secrets/{name}/versions over /secrets/{name}/{version?}). */
  get literals(): number {
    return this.segments.filter((s) => 'literal' in s).length;
  }

  /** The params if `parts` (the decoded path segments) fit the pattern. */
  match(parts: string[]): PathParams | undefined {
    return this.matchFrom(0, parts, 0, {});
  }

  private matchFrom(i: number, parts: string[], j: number, params: PathParams): PathParams | undefined {
    if (i === this.segments.length) return j === parts.length ? params : undefined;
    const segment = this.segments[i]!;
    if ('param' in segment && segment.optional) {
      const skipped = this.matchFrom(i + 1, parts, j, { ...params, [segment.param]: '' });
      if (skipped !== undefined) return skipped;
    }
    if (j === parts.length) return undefined;
    const part = parts[j]!;
    if ('literal' in segment) return part.toLowerCase() === segment.literal ? this.matchFrom(i + 1, parts, j + 1, params) : undefined;
    if (part === '' && !segment.optional) return undefined;
    return this.matchFrom(i + 1, parts, j + 1, { ...params, [segment.param]: part });
  }
}

/** The decoded segments of a path (without its query), or undefined if one does not decode. */
export function pathSegments(path: string): string[] | undefined {
  if (!path.startsWith('/')) return undefined;
  try {
    return path.split('/').slice(1).map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

export interface Routable {
  method: HttpMethod;
  pattern: PathPattern;
}

export type Matched<R> = { route: R; params: PathParams } | { error: RestError; allow?: HttpMethod[] };

/**
 * The route for a request: the most specific pattern the path fits with the
 * request's method; else 405 with the methods the path has, or 404. A
 * trailing slash is tried away if the path fits nothing with it.
 */
export function matchRoute<R extends Routable>(routes: readonly R[], method: string, path: string): Matched<R> {
  const parts = pathSegments(path);
  if (parts === undefined) return { error: new RestError(404, 'NotFound', 'The path is not a Key Vault path.') };
  const tries = parts.length > 1 && parts[parts.length - 1] === '' ? [parts, parts.slice(0, -1)] : [parts];
  const allow = new Set<HttpMethod>();
  for (const candidate of tries) {
    const fits = routes
      .map((route) => ({ route, params: route.pattern.match(candidate) }))
      .filter((m): m is { route: R; params: PathParams } => m.params !== undefined);
    const withMethod = fits.filter((m) => m.route.method === method);
    if (withMethod.length > 0) return withMethod.reduce((best, m) => (m.route.pattern.literals > best.route.pattern.literals ? m : best));
    for (const m of fits) allow.add(m.route.method);
  }
  if (allow.size > 0) {
    const methods = [...allow];
    return { error: new RestError(405, 'MethodNotAllowed', `${method.slice(0, 16)} is not allowed here; this path takes ${methods.join(', ')}.`), allow: methods };
  }
  return { error: new RestError(404, 'NotFound', 'No Key Vault operation has this path.') };
}
