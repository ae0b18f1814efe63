// The topology's sections of limits (Raft byte limits, data-key rotation,
// connections, admission, per-vault throttling, version caps, the log's
// bounds in bytes), the REST gateway's port and default vault: defaults,
// overrides, and refusals.

import { join } from 'node:path';
import t from 'tap';
import { AZURE_THROTTLE_LIMITS } from '../src/app/throttle-classes.js';
import { DEFAULT_ADMISSION, DEFAULT_VAULT, allNodes, loadTopology, parseTopology } from '../src/topology.js';
import { DEFAULT_CONNECTION_LIMITS } from '../src/transport/connections.js';
import { DEFAULT_DATA_KEY_POLICY, MAX_VERSIONS } from '../src/vault/index.js';
import { ROOT } from './root.js';

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

t.test('connections: production defaults when absent, any field overridden alone, and refusals naming the field', async (t) => {
  t.same(parseTopology(base).connections, DEFAULT_CONNECTION_LIMITS);
  t.same(parseTopology({ ...base, connections: { idleTimeoutMs: 2000 } }).connections, { ...DEFAULT_CONNECTION_LIMITS, idleTimeoutMs: 2000 });
  t.throws(() => parseTopology({ ...base, connections: { maxConnections: 5 } }), { name: 'TopologyError', message: /connections.maxConnections is not a setting \(clientMaxConnections, / });
  t.throws(() => parseTopology({ ...base, connections: { handshakeTimeoutMs: -1 } }), { name: 'TopologyError', message: /connections.handshakeTimeoutMs must be a positive integer, got -1/ });
});

t.test('admission and throttle: defaults when absent, fields overridden alone, key types merged with Azure\'s', async (t) => {
  const plain = parseTopology(base);
  t.same(plain.admission, DEFAULT_ADMISSION);
  t.same(plain.throttle, AZURE_THROTTLE_LIMITS);
  const given = parseTopology({ ...base, admission: { connectionCalls: 2 }, throttle: { secrets: 5, keys: { 'RSA-2048': 10, 'oct-256': 3 } } });
  t.same(given.admission, { ...DEFAULT_ADMISSION, connectionCalls: 2 });
  t.same(given.throttle, { ...AZURE_THROTTLE_LIMITS, secrets: 5, keys: { ...AZURE_THROTTLE_LIMITS.keys, 'RSA-2048': 10, 'oct-256': 3 } });
});

t.test('admission and throttle: anything but positive whole limits is refused, naming the field', async (t) => {
  const cases: [object, RegExp][] = [
    [{ admission: 3 }, /admission must be an object/],
    [{ admission: { nodeCalls: 0 } }, /admission.nodeCalls must be a positive integer, got 0/],
    [{ admission: { maxCalls: 5 } }, /admission.maxCalls is not a setting/],
    [{ throttle: [1] }, /throttle must be an object/],
    [{ throttle: { keyCreate: -1 } }, /throttle.keyCreate must be a positive integer/],
    [{ throttle: { keys: { 'RSA-2048': 'many' } } }, /throttle.keys.RSA-2048 must be a positive integer/],
    [{ throttle: { certificates: 5 } }, /throttle.certificates is not a setting/],
  ];
  for (const [extra, message] of cases) t.throws(() => parseTopology({ ...base, ...extra }), { name: 'TopologyError', message }, JSON.stringify(extra));
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

t.test('limits: versions per secret and per key default to the ceiling and may be lowered, not raised', async (t) => {
  t.same(parseTopology(base).limits, { maxVersionsPerSecret: MAX_VERSIONS, maxVersionsPerKey: MAX_VERSIONS });
  t.same(parseTopology({ ...base, limits: { maxVersionsPerKey: 3 } }).limits, { maxVersionsPerSecret: MAX_VERSIONS, maxVersionsPerKey: 3 });
  const cases: [unknown, RegExp][] = [
    ['x', /limits must be an object/],
    [{ maxVersionsPerSecret: 0 }, /limits.maxVersionsPerSecret must be a positive integer, got 0/],
    [{ maxVersionsPerKey: MAX_VERSIONS + 1 }, /limits.maxVersionsPerKey must be at most 150, got 151/],
    [{ maxVersions: 5 }, /limits.maxVersions is not a setting \(maxVersionsPerSecret, maxVersionsPerKey\)/],
  ];
  for (const [limits, message] of cases) t.throws(() => parseTopology({ ...base, limits }), { name: 'TopologyError', message }, JSON.stringify(limits));
});

t.test('raft: geo retention and compaction in bytes have defaults, and an override keeps the rest', async (t) => {
  const raft = parseTopology({ ...base, raft: { geoRetainBytes: 1024 } }).raft;
  t.equal(raft.geoRetainBytes, 1024);
  t.equal(raft.compactEveryBytes, 64 * 1024 * 1024);
  t.equal(raft.geoRetainEntries, 200_000);
});

t.test('rest: an optional gateway port per node, held to the same rules as every other address', async (t) => {
  const node = { id: 'east-1', client: '127.0.0.1:1', peer: '127.0.0.1:2', metrics: '127.0.0.1:3', rest: '127.0.0.1:4' };
  const withRest = (nodes: object[]) => ({ regions: [{ name: 'east', role: 'primary', nodes }] });
  t.equal(parseTopology(withRest([node])).regions[0]!.nodes[0]!.rest, '127.0.0.1:4');
  t.equal(parseTopology(base).regions[0]!.nodes[0]!.rest, undefined, 'none when absent');
  const cases: [object[], RegExp][] = [
    [[{ ...node, rest: '127.0.0.1:1' }], /address 127.0.0.1:1 is used twice/],
    [[{ ...node, rest: '127.0.0.1:3' }], /address 127.0.0.1:3 is used twice/],
    [[node, { id: 'east-2', client: '127.0.0.1:5', peer: '127.0.0.1:6', rest: '127.0.0.1:4' }], /address 127.0.0.1:4 is used twice/],
    [[{ ...node, rest: '7401' }], /node east-1: bad address "7401"/],
    [[{ ...node, rest: 7401 }], /node east-1: bad address 7401/],
  ];
  for (const [nodes, message] of cases) t.throws(() => parseTopology(withRest(nodes)), { name: 'TopologyError', message }, JSON.stringify(nodes));
});

t.test('leaseReads: on unless set to false; anything but true or false is refused', async (t) => {
  t.equal(parseTopology(base).leaseReads, true);
  t.equal(parseTopology({ ...base, leaseReads: false }).leaseReads, false);
  for (const bad of ['false', 0, null]) {
    t.throws(() => parseTopology({ ...base, leaseReads: bad }), { name: 'TopologyError', message: /leaseReads must be true or false/ }, JSON.stringify(bad));
  }
});

t.test('defaultVault: "default" unless given; a name the vault rules refuse is refused', async (t) => {
  t.equal(parseTopology(base).defaultVault, DEFAULT_VAULT);
  t.equal(DEFAULT_VAULT, 'default');
  t.equal(parseTopology({ ...base, defaultVault: 'myvault' }).defaultVault, 'myvault');
  for (const bad of ['ab', 'my--vault', '1vault', 'vault-', 7, '']) {
    t.throws(() => parseTopology({ ...base, defaultVault: bad }), { name: 'TopologyError', message: /^topology: defaultVault: vault name/ }, JSON.stringify(bad));
  }
});

t.test('cluster/local.json: every node has a REST port of its own', async (t) => {
  const local = loadTopology(join(ROOT, 'cluster', 'local.json'));
  const rest = allNodes(local).map(({ node }) => node.rest);
  t.same(rest, ['127.0.0.1:7401', '127.0.0.1:7402', '127.0.0.1:7403', '127.0.0.1:7411', '127.0.0.1:7412', '127.0.0.1:7413']);
  t.equal(local.defaultVault, DEFAULT_VAULT);
});
