// Reading a request's body, in bytes bounded twice: each body, and all the
// bodies the gateway holds at once.
//
// - One body: MAX_BODY_BYTES, what the largest request the gRPC port takes
//   (CLIENT_MESSAGE_BYTES, src/client-port.ts) becomes on REST. That request
//   is a RestoreSecret or RestoreKey of the largest backup (about 12.3 MB,
//   src/vault/limits.ts), whose bytes travel as base64url text: 4/3 of the
//   message, and room for the JSON around it. A body past it could not have
//   become a message the node accepts; it is refused with 413 before it is
//   read, when Content-Length says so, or as soon as it gets there.
// - All bodies: HTTP/1.1 carries a call per connection, so the connection
//   limit times MAX_BODY_BYTES (1000 x 21 MiB) would be no bound. Bytes past
//   the gateway's budget are refused with 503 and Retry-After, which the SDKs
//   retry (core-rest-pipeline's throttling retry strategy).

import type { IncomingMessage } from 'node:http';
import { CLIENT_MESSAGE_BYTES } from '../client-port.js';
import type { AzureError } from './errors.js';

export const MAX_BODY_BYTES = Math.ceil(CLIENT_MESSAGE_BYTES / 3) * 4 + 64 * 1024;
/** Room for four of the largest bodies at once, or thousands of ordinary ones (a SetSecret is at most ~34 KB). */
export const DEFAULT_BODY_BUDGET_BYTES = 4 * MAX_BODY_BYTES;
/** When a client refused for the budget should come back: the bodies it waits on go within a call's time. */
const BUDGET_RETRY_AFTER_S = 1;

/** A refusal the gateway answers as is: Azure's body, its status and headers. */
export class Refusal extends Error {
  constructor(readonly azure: AzureError) {
    super(azure.body.error.message);
  }
}

const tooLarge = () =>
  new Refusal({
    status: 413,
    body: { error: { code: 'RequestEntityTooLarge', message: `The request body is larger than ${MAX_BODY_BYTES} bytes, the most any Key Vault request needs.` } },
    headers: {},
  });

const overBudget = () =>
  new Refusal({
    status: 503,
    body: { error: { code: 'ServiceUnavailable', message: 'The gateway holds as many request bodies as it may; try again shortly.' } },
    headers: { 'retry-after': String(BUDGET_RETRY_AFTER_S) },
  });

/** The bytes of request bodies the gateway holds: taken as they arrive, given back when their call is answered. */
export class BodyBudget {
  private heldBytes = 0;

  constructor(readonly limitBytes: number) {}

  take(bytes: number): boolean {
    if (this.heldBytes + bytes > this.limitBytes) return false;
    this.heldBytes += bytes;
    return true;
  }

  give(bytes: number): void {
    this.heldBytes -= bytes;
  }
}

/** The client went away before its body was whole: there is no one to answer. */
export class BodyAborted extends Error {
  override name = 'BodyAborted';
}

/**
 * The request's body as text, read up to MAX_BODY_BYTES and within the
 * budget. What it took of the budget is added to `taken.bytes` as it goes,
 * for the caller to give back once the call is answered, whatever happened.
 * Throws a Refusal (413, 503), after which the rest of the body is left
 * unread: the answer must close the connection. Not `for await`: leaving
 * that loop early destroys the request, and with it the socket the refusal
 * has to go out on.
 */
export function readBody(req: IncomingMessage, budget: BodyBudget, taken: { bytes: number }): Promise<string> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > MAX_BODY_BYTES) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const stop = (e: Error | undefined, text?: string) => {
      req.off('data', onData).off('end', onEnd).off('error', onAborted).off('close', onAborted);
      if (e === undefined) return resolve(text!);
      req.pause();
      reject(e);
    };
    const onData = (chunk: Buffer) => {
      if (taken.bytes + chunk.length > MAX_BODY_BYTES) return stop(tooLarge());
      if (!budget.take(chunk.length)) return stop(overBudget());
      taken.bytes += chunk.length;
      chunks.push(chunk);
    };
    const onEnd = () => stop(undefined, Buffer.concat(chunks).toString('utf8'));
    const onAborted = () => stop(new BodyAborted('the client closed the connection before its request body was whole'));
    req.on('data', onData).on('end', onEnd).on('error', onAborted).on('close', onAborted);
  });
}
