// keyraft role assignment create|delete|list, with az's flags: --assignee,
// --role, --scope, --ids.

import { Option, type Command } from 'commander';
import { toProtoJson, type RoleAssignment } from '../client/index.js';
import { fieldTable, listTable } from './format.js';
import { UsageError } from './parse.js';
import { formatMs } from './principal.js';
import type { CliContext, CommandOutput } from './context.js';

const SCOPE_HELP = '"/" (every vault, and the cluster) or /vaults/<name>';
const ROLE_HELP = 'a built-in role, quoted, e.g. "Key Vault Secrets User" or "Cluster Administrator"';

interface Filter {
  ids?: string;
  assignee?: string;
  role?: string;
  scope: string;
}

function assignmentOutput(a: RoleAssignment): CommandOutput {
  return {
    json: toProtoJson('keyraft.v1.RoleAssignment', a),
    table: () =>
      fieldTable([['Id', a.id], ['Principal', a.principal], ['Role', a.role], ['Scope', a.scope], ['Created', formatMs(a.createdMs)]]),
  };
}

// The server matches role names and vault names without regard to case and
// stores them folded or canonical; both are ASCII, so folding ASCII only keeps
// a look-alike letter (the Kelvin sign lowers to "k") from matching.
const fold = (s: string): string => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

export function registerRole(program: Command, ctx: CliContext): void {
  const assignment = program
    .command('role')
    .description('manage who may do what')
    .command('assignment')
    .description('grant principals roles at a scope');

  assignment
    .command('create')
    .description('give a principal a role at a scope')
    .requiredOption('--assignee <principal>', 'the principal given the role')
    .requiredOption('--role <role>', ROLE_HELP)
    .option('--scope <scope>', SCOPE_HELP, '/')
    .action(async (o: { assignee: string; role: string; scope: string }, cmd: Command) => {
      const a = await ctx.api(cmd).createRoleAssignment({ principal: o.assignee, role: o.role, scope: o.scope });
      ctx.print(cmd, assignmentOutput(a));
    });

  assignment
    .command('delete')
    .description('delete a role assignment, by id or by assignee, role and scope')
    .addOption(new Option('--ids <id>', 'the role assignment id').conflicts(['assignee', 'role', 'scope']))
    .option('--assignee <principal>', 'the principal holding the role')
    .option('--role <role>', ROLE_HELP)
    .option('--scope <scope>', SCOPE_HELP, '/')
    .action(async (o: Filter, cmd: Command) => {
      if (o.ids === undefined && (o.assignee === undefined || o.role === undefined)) {
        throw new UsageError('give --ids, or --assignee and --role (and --scope unless it is "/")');
      }
      const api = ctx.api(cmd);
      let id = o.ids;
      if (id === undefined) {
        const { roleAssignments } = await api.listRoleAssignments({ principal: o.assignee });
        const match = roleAssignments.find((a) => fold(a.role) === fold(o.role!) && fold(a.scope) === fold(o.scope));
        if (match === undefined) {
          throw new Error(
            `principal ${JSON.stringify(o.assignee)} holds no role ${JSON.stringify(o.role)} at scope ${JSON.stringify(o.scope)}` +
              ` (see \`keyraft role assignment list --assignee ${o.assignee}\`)`,
          );
        }
        id = match.id;
      }
      ctx.print(cmd, assignmentOutput(await api.deleteRoleAssignment({ id })));
    });

  assignment
    .command('list')
    .description("list role assignments: one principal's, or everyone's")
    .option('--assignee <principal>', 'only this principal')
    .action(async (o: { assignee?: string }, cmd: Command) => {
      const r = await ctx.api(cmd).listRoleAssignments(o.assignee === undefined ? {} : { principal: o.assignee });
      ctx.print(cmd, {
        json: toProtoJson('keyraft.v1.ListRoleAssignmentsResponse', r),
        table: () =>
          listTable(
            ['Principal', 'Role', 'Scope', 'Id', 'Created'],
            r.roleAssignments.map((a) => [a.principal, a.role, a.scope, a.id, formatMs(a.createdMs)]),
          ),
      });
    });
}
