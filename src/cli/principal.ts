// keyraft principal create|delete|reset|list and keyraft token create: who a
// token can name, and the tokens themselves.

import { InvalidArgumentError, type Command } from 'commander';
import { toProtoJson, type Principal, type Token } from '../client/index.js';
import { fieldTable, formatTime, listTable } from './format.js';
import type { CliClient, CliContext, CommandOutput } from './context.js';

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
// The server's bounds (CreateTokenRequest.ttl_ms), checked here to fail before any call.
const MIN_TTL_MS = UNIT_MS.s;
const MAX_TTL_MS = 366 * UNIT_MS.d;

/** A lifetime such as 90s, 30m, 24h or 7d (a plain number is seconds), in milliseconds. */
export function parseTtl(value: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(value.trim().toLowerCase());
  if (m === null) throw new InvalidArgumentError('expected a whole number with a unit: s, m, h or d (e.g. 90s, 30m, 24h, 7d).');
  const ms = Number(m[1]) * UNIT_MS[(m[2] || 's') as keyof typeof UNIT_MS];
  if (ms < MIN_TTL_MS || ms > MAX_TTL_MS) throw new InvalidArgumentError('expected from 1s to 366d.');
  return ms;
}

/** Epoch milliseconds as formatTime shows seconds: ISO 8601 in UTC, blank when unset. */
export function formatMs(ms: number): string {
  return formatTime(Math.floor(ms / 1000));
}

function principalOutput(p: Principal): CommandOutput {
  return {
    json: toProtoJson('keyraft.v1.Principal', p),
    table: () => fieldTable([['Name', p.name], ['Generation', p.generation], ['Created', formatMs(p.createdMs)]]),
  };
}

export function registerPrincipal(program: Command, ctx: CliContext): void {
  const principal = program.command('principal').description('manage principals: the names tokens are issued to');

  const change: [string, string, (api: CliClient, name: string) => Promise<Principal>][] = [
    ['create', 'create a principal', (api, name) => api.createPrincipal({ name })],
    ['delete', 'delete a principal, voiding its tokens', (api, name) => api.deletePrincipal({ name })],
    ['reset', 'void every token issued to a principal so far', (api, name) => api.resetPrincipal({ name })],
  ];
  for (const [name, description, call] of change) {
    principal
      .command(name)
      .description(description)
      .requiredOption('-n, --name <name>', 'principal name')
      .action(async (o: { name: string }, cmd: Command) => {
        ctx.print(cmd, principalOutput(await call(ctx.api(cmd), o.name)));
      });
  }

  principal
    .command('list')
    .description('list principals')
    .action(async (_o: unknown, cmd: Command) => {
      const r = await ctx.api(cmd).listPrincipals();
      ctx.print(cmd, {
        json: toProtoJson('keyraft.v1.ListPrincipalsResponse', r),
        table: () => listTable(['Name', 'Generation', 'Created'], r.principals.map((p) => [p.name, p.generation, formatMs(p.createdMs)])),
      });
    });

  program
    .command('token')
    .description('issue bearer tokens')
    .command('create')
    .description('issue a bearer token for a principal')
    .requiredOption('--principal <name>', 'the principal the token names')
    .requiredOption('--ttl <duration>', 'lifetime: 90s, 30m, 24h, 7d (a plain number is seconds), 1s to 366d', parseTtl)
    .action(async (o: { principal: string; ttl: number }, cmd: Command) => {
      const token = await ctx.api(cmd).createToken({ principal: o.principal, ttlMs: o.ttl });
      ctx.print(cmd, { json: toProtoJson('keyraft.v1.Token', token), table: () => tokenTable(token) });
    });
}

// The token alone on the first line, so `| head -n 1` captures it for a script.
function tokenTable(t: Token): string {
  return `${t.token}\n\n${fieldTable([['Principal', t.principal], ['Expires', formatMs(t.expiresAtMs)], ['Token id', t.tokenId]])}`;
}
