// The topology's settings: the data-key rotation policy, the version caps and
// the byte bounds of the log: defaults, overrides, and refusals.

import t from 'tap';
import { parseTopology } from '../src/topology.js';
import { DEFAULT_DATA_KEY_POLICY, MAX_VERSIONS } from '../src/vault/index.js';

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

t.test('limits: versions per secret and per key default to the ceiling and may be lowered, not raised', async (t) => {
  t.same(parseTopology(base).limits, { maxVersionsPerSecret: MAX_VERSIONS, maxVersionsPerKey: MAX_VERSIONS });
  t.same(parseTopology({ ...base, limits: { maxVersionsPerKey: 3 } }).limits, { maxVersionsPerSecret: MAX_VERSIONS, maxVersionsPerKey: 3 });
  const cases: [unknown, RegExp][] = [
    ['x', /limits must be an object/],
    [{ maxVersionsPerSecret: 0 }, /limits.maxVersionsPerSecret must be an integer from 1 to 150, got 0/],
    [{ maxVersionsPerKey: MAX_VERSIONS + 1 }, /limits.maxVersionsPerKey must be an integer from 1 to 150/],
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
