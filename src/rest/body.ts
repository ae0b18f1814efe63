// Reading the members of a request's JSON body, each refusal a BadParameter
// that names the member. Only types and encodings are checked here; names,
// sizes, algorithms and every other rule stay with keyraft's validation,
// which all front-ends share.

import { fromBase64url } from './base64url.js';
import { badParameter } from './errors.js';

export type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A request's body text as JSON: undefined for none (the SDKs' first, challenged request has none). */
export function parseBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw badParameter('The request body is not valid JSON.');
  }
}

/** The body as an object; `required` refuses a missing one (an empty request body arrives as undefined). */
export function bodyObject(body: unknown, required: boolean): JsonObject {
  if (body === undefined && !required) return {};
  if (!isObject(body)) throw badParameter('The request body must be a JSON object.');
  return body;
}

/** JSON null reads as absent, as the SDKs of other languages send it for an unset member. */
function member(o: JsonObject, name: string): unknown {
  const v = o[name];
  return v === null ? undefined : v;
}

export function optionalObject(o: JsonObject, name: string): JsonObject | undefined {
  const v = member(o, name);
  if (v === undefined) return undefined;
  if (!isObject(v)) throw badParameter(`"${name}" must be a JSON object.`);
  return v;
}

export function optionalString(o: JsonObject, name: string): string | undefined {
  const v = member(o, name);
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw badParameter(`"${name}" must be a string.`);
  return v;
}

export function requiredString(o: JsonObject, name: string): string {
  const v = optionalString(o, name);
  if (v === undefined) throw badParameter(`"${name}" is required.`);
  return v;
}

export function optionalBoolean(o: JsonObject, name: string): boolean | undefined {
  const v = member(o, name);
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw badParameter(`"${name}" must be true or false.`);
  return v;
}

/** A whole number in a range: Unix seconds, a key size, a count. */
export function optionalInteger(o: JsonObject, name: string, min: number, max: number): number | undefined {
  const v = member(o, name);
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw badParameter(`"${name}" must be a whole number from ${min} to ${max}.`);
  }
  return v;
}

export function optionalStringList(o: JsonObject, name: string): string[] | undefined {
  const v = member(o, name);
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw badParameter(`"${name}" must be a list of strings.`);
  return v as string[];
}

/** Tags: a JSON object of strings. */
export function optionalTags(o: JsonObject, name: string): Record<string, string> | undefined {
  const v = optionalObject(o, name);
  if (v === undefined) return undefined;
  for (const [key, value] of Object.entries(v)) {
    if (typeof value !== 'string') throw badParameter(`tag ${JSON.stringify(key.slice(0, 64))} must have a string value.`);
  }
  return v as Record<string, string>;
}

export function optionalBytes(o: JsonObject, name: string): Buffer | undefined {
  const v = optionalString(o, name);
  if (v === undefined) return undefined;
  const bytes = fromBase64url(v);
  if (bytes === undefined) throw badParameter(`"${name}" must be base64url.`);
  return bytes;
}

export function requiredBytes(o: JsonObject, name: string): Buffer {
  const v = optionalBytes(o, name);
  if (v === undefined) throw badParameter(`"${name}" is required.`);
  return v;
}
