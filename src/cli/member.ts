// keyraft cluster member list|add|promote|remove (like etcdctl member): a
// region's Raft membership, changed online.

import type { Command } from 'commander';
import { toProtoJson, type Member } from '../client/index.js';
import { listTable } from './format.js';
import type { CliContext } from './context.js';

function membersOutput(members: Member[]) {
  return {
    json: toProtoJson('keyraft.v1.MemberList', { members }),
    table: () =>
      listTable(
        ['Region', 'Id', 'Role', 'Client', 'Peer', 'Metrics', 'Match'],
        members.map((m) => [m.region, m.id, m.role, m.clientAddress, m.peerAddress, m.metricsAddress, m.matchIndex]),
      ),
  };
}

export function registerMember(cluster: Command, ctx: CliContext): void {
  const member = cluster.command('member').description("a region's members, changed online: add a learner, promote it once caught up, remove");

  member
    .command('list')
    .description('every region’s members, or one region’s')
    .option('--region <name>', 'only this region')
    .action(async (o: { region?: string }, cmd: Command) => {
      const r = await ctx.api(cmd).listMembers(o.region === undefined ? {} : { region: o.region });
      ctx.print(cmd, membersOutput(r.members));
    });

  member
    .command('add')
    .description('add a learner to a region; then start the node with --join REGION --client ADDR --peer ADDR')
    .requiredOption('--region <name>', 'the region it joins')
    .requiredOption('--id <id>', 'the new node’s id')
    .requiredOption('--client <host:port>', 'its client (gRPC API) address')
    .requiredOption('--peer <host:port>', 'its peer (Raft) address')
    .option('--metrics <host:port>', 'its operations (metrics, status page) address')
    .action(async (o: { region: string; id: string; client: string; peer: string; metrics?: string }, cmd: Command) => {
      const r = await ctx.api(cmd).addMember({ region: o.region, id: o.id, clientAddress: o.client, peerAddress: o.peer, ...(o.metrics ? { metricsAddress: o.metrics } : {}) });
      ctx.print(cmd, membersOutput(r.members));
    });

  for (const [name, description] of [
    ['promote', 'make a learner that has caught up a voter'],
    ['remove', 'take a node out of its region (a leader hands over first)'],
  ] as const) {
    member
      .command(name)
      .description(description)
      .requiredOption('--id <id>', 'the member')
      .action(async (o: { id: string }, cmd: Command) => {
        const api = ctx.api(cmd);
        const r = name === 'promote' ? await api.promoteMember({ id: o.id }) : await api.removeMember({ id: o.id });
        ctx.print(cmd, membersOutput(r.members));
      });
  }
}
