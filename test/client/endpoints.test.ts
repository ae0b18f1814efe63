// Where the SDK looks for the cluster: explicit lists, KEYRAFT_ENDPOINTS, and
// topology files, whose primary region's nodes come first.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { defaultEndpoints, endpointsFromTopology, findLocalTopology, parseEndpoints } from '../../src/client/index.js';

const EAST = ['127.0.0.1:7101', '127.0.0.1:7102', '127.0.0.1:7103'];
const WEST = ['127.0.0.1:7111', '127.0.0.1:7112', '127.0.0.1:7113'];

function node(id: string, client: string): { id: string; client: string; peer: string } {
  return { id, client, peer: client.replace(':', ':1') };
}

t.test('the local topology: primary region first, nodes in file order', async (t) => {
  const path = findLocalTopology();
  t.ok(path?.endsWith(join('cluster', 'local.json')));
  t.same(endpointsFromTopology(path!), [...EAST, ...WEST]);
});

t.test('a primary listed after its secondary still comes first', async (t) => {
  const dir = t.testdir({});
  const path = join(dir, 'topology.json');
  writeFileSync(
    path,
    JSON.stringify({
      regions: [
        { name: 'b', role: 'secondary', nodes: [node('b-1', 'hb:1'), node('b-2', 'hb:2')] },
        { name: 'a', role: 'primary', nodes: [node('a-2', 'ha:2'), node('a-1', 'ha:1')] },
        { name: 'c', role: 'secondary', nodes: [node('c-1', 'hc:1')] },
      ],
    }),
  );
  t.same(endpointsFromTopology(path), ['ha:2', 'ha:1', 'hb:1', 'hb:2', 'hc:1']);
});

t.test('bad topology files are reported, not guessed at', async (t) => {
  const dir = t.testdir({
    'garbage.json': '{ not json',
    'noregions.json': '{"name":"x"}',
    'noclient.json': JSON.stringify({ regions: [{ name: 'a', role: 'primary', nodes: [{ id: 'a-1' }] }] }),
    'badaddr.json': JSON.stringify({ regions: [{ name: 'a', role: 'primary', nodes: [{ id: 'a-1', client: 'nope' }] }] }),
    'empty.json': JSON.stringify({ regions: [{ name: 'a', role: 'primary', nodes: [] }] }),
  });
  t.throws(() => endpointsFromTopology(join(dir, 'missing.json')), { name: 'KeyraftError', reason: 'INVALID_TOPOLOGY' });
  t.throws(() => endpointsFromTopology(join(dir, 'garbage.json')), { name: 'KeyraftError', reason: 'INVALID_TOPOLOGY' });
  t.throws(() => endpointsFromTopology(join(dir, 'noregions.json')), { name: 'KeyraftError', reason: 'INVALID_TOPOLOGY' });
  t.throws(() => endpointsFromTopology(join(dir, 'noclient.json')), { name: 'KeyraftError', reason: 'INVALID_TOPOLOGY' });
  t.throws(() => endpointsFromTopology(join(dir, 'badaddr.json')), { name: 'KeyraftError', reason: 'INVALID_ENDPOINT' });
  t.throws(() => endpointsFromTopology(join(dir, 'empty.json')), { name: 'KeyraftError', reason: 'NO_ENDPOINTS' });
});

t.test('endpoint lists', async (t) => {
  t.same(parseEndpoints(' a:1, b:2 ,,a:1'), ['a:1', 'b:2'], 'trimmed, blanks and repeats dropped');
  t.same(parseEndpoints('[::1]:7101,localhost:80'), ['[::1]:7101', 'localhost:80']);
  for (const bad of ['a', 'a:', ':1', 'a:b', 'a:70000', 'a b:1', '::1:80']) {
    t.throws(() => parseEndpoints(bad), { name: 'KeyraftError', reason: 'INVALID_ENDPOINT' }, bad);
  }
  t.throws(() => parseEndpoints(' , '), { name: 'KeyraftError', reason: 'NO_ENDPOINTS' });
});

t.test('default endpoints: KEYRAFT_ENDPOINTS, else the local cluster', async (t) => {
  t.same(defaultEndpoints({ KEYRAFT_ENDPOINTS: 'x:1,y:2' }), ['x:1', 'y:2']);
  t.same(defaultEndpoints({ KEYRAFT_ENDPOINTS: '  ' }), [...EAST, ...WEST], 'a blank variable counts as unset');
  t.same(defaultEndpoints({}), [...EAST, ...WEST]);
  t.throws(() => defaultEndpoints({ KEYRAFT_ENDPOINTS: 'x' }), { name: 'KeyraftError', reason: 'INVALID_ENDPOINT', message: /KEYRAFT_ENDPOINTS/ });
});
