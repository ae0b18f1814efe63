// The topology's data-key rotation policy and Raft byte limits: defaults, overrides, and refusals.

import t from 'tap';
import { parseTopology } from '../src/topology.js';
import { DEFAULT_DATA_KEY_POLICY } from '../src/vault/index.js';

const base = { regions: [{ name: 'east', role: 'primary', nodes: [{ id: 'east-1', client: '127.0.0.1:1', peer: '127.0.0.1:2' }] }] };

t.test('dataKeys: production defaults when absent, either limit overridden alone', async (t) => {
  t.same(parseTopology(base).dataKeys, DEFAULT_DATA_KEY_POLICY);
  t.same(parseTopology({ ...base, dataKeys: { rotateAfterWrites: 5 } }).dataKeys, { rotateAfterWrites: 5, rotateAfterMs: DEFAULT_DATA_KEY_POLICY.rotateAfterMs });
  t.same(parseTopology({ ...base, dataKeys: { rotateAfterMs: 1000 } }).dataKeys, { rotateAfterWrites: DEFAULT_DATA_KEY_POLICY.rotateAfterWrites, rotateAfterMs: 1000 });
});

t.test('dataKeys: anything but positive whole limits is refused, naming the field', async (t) => {
  const cases: [unknown, RegExp][] = [
    [7, /dataKeys must be an object/],
    [[5], /dataKeys must be an object/],
    [{ rotateAfterWrites: 0 }, /dataKeys.rotateAfterWrites must be a positive integer, got 0/],
    [{ rotateAfterMs: 1.5 }, /dataKeys.rotateAfterMs must be a positive integer/],
    [{ rotateAfterWrites: '5' }, /dataKeys.rotateAfterWrites must be a positive integer, got "5"/],
    [{ rotateEvery: 5 }, /dataKeys.rotateEvery is not a setting/],
  ];
  for (const [dataKeys, message] of cases) t.throws(() => parseTopology({ ...base, dataKeys }), { name: 'TopologyError', message }, JSON.stringify(dataKeys));
});

t.test('raft byte limits: 1 MiB per message and 32 MiB uncommitted unless given', async (t) => {
  const { raft } = parseTopology(base);
  t.equal(raft.maxBytesPerMessage, 1024 * 1024);
  t.equal(raft.maxUncommittedBytes, 32 * 1024 * 1024);
  const given = parseTopology({ ...base, raft: { maxBytesPerMessage: 4096, tickMs: 20 } }).raft;
  t.same([given.maxBytesPerMessage, given.maxUncommittedBytes, given.tickMs], [4096, 32 * 1024 * 1024, 20]);
});

t.test('raft byte limits: anything but a positive whole number is refused, naming the field', async (t) => {
  const cases: [unknown, RegExp][] = [
    [{ maxBytesPerMessage: 0 }, /raft.maxBytesPerMessage must be a positive integer, got 0/],
    [{ maxUncommittedBytes: '32MiB' }, /raft.maxUncommittedBytes must be a positive integer, got "32MiB"/],
    [{ maxUncommittedBytes: 1.5 }, /raft.maxUncommittedBytes must be a positive integer/],
  ];
  for (const [raft, message] of cases) t.throws(() => parseTopology({ ...base, raft }), { name: 'TopologyError', message }, JSON.stringify(raft));
});
