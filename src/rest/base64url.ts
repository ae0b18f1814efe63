// Binary fields on Azure Key Vault's wire are base64url (RFC 4648 §5). The
// SDKs write them unpadded (@azure/core-util's uint8ArrayToString(..,
// "base64url") is Buffer's 'base64url'), so that is what we write; padding
// is accepted on the way in because other clients add it.

const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

export function toBase64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/**
 * The bytes of a base64url text, or undefined if it is not one: Buffer.from
 * alone skips characters outside the alphabet and would decode something
 * other than what was sent.
 */
export function fromBase64url(text: string): Buffer | undefined {
  if (!BASE64URL.test(text)) return undefined;
  const unpadded = text.replace(/=+$/, '');
  if (unpadded.length % 4 === 1) return undefined;
  if (text.length !== unpadded.length && text.length % 4 !== 0) return undefined;
  return Buffer.from(unpadded, 'base64url');
}
