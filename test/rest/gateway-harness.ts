// A stand-in for the gateway the later part builds, made of this part's
// pure modules only, and handed to the unmodified Azure SDK clients as their
// httpClient: each request the SDK sends goes through the challenge,
// api-version, the route table and its request builder to a backend the test
// programs (the "gRPC call"), and the response back through the shapes, for
// the SDK's own code to parse. No socket is opened.

import { randomUUID } from 'node:crypto';
import { createHttpHeaders, type HttpClient, type PipelineRequest, type PipelineResponse } from '@azure/core-rest-pipeline';
import { readApiVersion } from '../../src/rest/api-version.js';
import { parseBody } from '../../src/rest/body.js';
import { challengeResponse } from '../../src/rest/challenge.js';
import { type AzureError, type KeyraftFailure, RestError, toAzureError } from '../../src/rest/errors.js';
import { match } from '../../src/rest/routes.js';

export const VAULT = 'myvault';
export const VAULT_URL = 'https://myvault.kv.localhost:8443';
export const ISSUER = 'https://login.kv.localhost:8443';

/** One RPC the route table asked for. */
export interface Call {
  operation: string;
  service: string;
  rpc: string;
  request: Record<string, unknown>;
  apiVersion: string;
}

/** A keyraft failure, thrown by a backend to answer an RPC with an error. */
export class Failure extends Error {
  constructor(readonly failure: KeyraftFailure) {
    super(failure.message);
  }
}

export type Backend = (call: Call) => unknown;

export interface Gateway {
  httpClient: HttpClient;
  calls: Call[];
  /** The scopes the SDK asked its credential for. */
  scopes: string[][];
  credential: { getToken(scopes: string | string[]): Promise<{ token: string; expiresOnTimestamp: number }> };
  /** Answers with a backend of the test's: one function per RPC name, replaced as the test goes. */
  handlers: Record<string, (request: Record<string, unknown>) => unknown>;
}

const TOKEN = 'keyraft-token';

function answer(request: PipelineRequest, status: number, headers: Record<string, string>, body: unknown): PipelineResponse {
  return {
    request,
    status,
    headers: createHttpHeaders({ ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }) }),
    bodyAsText: body === undefined ? '' : JSON.stringify(body),
  };
}

function refusal(request: PipelineRequest, e: AzureError): PipelineResponse {
  return answer(request, e.status, e.headers, e.body);
}

export function gateway(): Gateway {
  const calls: Call[] = [];
  const scopes: string[][] = [];
  const handlers: Gateway['handlers'] = {};

  const serve = (request: PipelineRequest): PipelineResponse => {
    if (request.headers.get('authorization') !== `Bearer ${TOKEN}`) return refusal(request, challengeResponse(ISSUER));
    const url = new URL(request.url);
    try {
      const apiVersion = readApiVersion(url.search);
      const found = match(request.method, url.pathname);
      if ('error' in found) return refusal(request, found.error.toAzure());
      const { route, params } = found;
      const body = parseBody(typeof request.body === 'string' ? request.body : '');
      const rpcRequest = route.request({ vault: VAULT, params, query: url.searchParams, body, requestId: request.headers.get('x-ms-client-request-id') ?? randomUUID() });
      const call: Call = { operation: route.operation, service: route.service, rpc: route.rpc, request: rpcRequest as Record<string, unknown>, apiVersion };
      calls.push(call);
      const handler = handlers[route.rpc];
      if (handler === undefined) throw new Error(`the test has no handler for ${route.rpc}`);
      let response: unknown;
      try {
        response = handler(call.request);
      } catch (e) {
        if (e instanceof Failure) return refusal(request, toAzureError(e.failure));
        throw e;
      }
      const json = route.response(response, { origin: url.origin, apiVersion, params, query: url.searchParams });
      return answer(request, route.status, {}, json);
    } catch (e) {
      if (e instanceof RestError) return refusal(request, e.toAzure());
      throw e;
    }
  };

  return {
    httpClient: { sendRequest: async (request) => serve(request) },
    calls,
    scopes,
    handlers,
    credential: {
      getToken: async (s) => {
        scopes.push([s].flat());
        return { token: TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 };
      },
    },
  };
}

/** The client options that put the SDK on the gateway: no retries, so each test sees each request once. */
export function clientOptions(g: Gateway) {
  return { httpClient: g.httpClient, retryOptions: { maxRetries: 0 } };
}
