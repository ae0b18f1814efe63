// `keyraft cluster data-keys` and `keyraft cluster reseal` run in-process
// against a fake client: what they send, what they print in both formats,
// the progress on stderr, and when the re-seal loop stops.

import t from 'tap';
import { runWithClient } from './run-fake.js';
import type { ListDataKeysResponse, ResealValuesResponse } from '../../src/client/index.js';

const keys: ListDataKeysResponse = {
  activeKeyId: 'bbbbbbbbbbbbbbbb',
  dataKeys: [
    { keyId: 'aaaaaaaaaaaaaaaa', active: false, installedMs: 1700000000000, writes: 5, values: 0 },
    { keyId: 'bbbbbbbbbbbbbbbb', active: true, installedMs: 1700000100000, writes: 2, values: 7 },
  ],
  valuesToReseal: 0,
};

const batch = (resealed: number, remaining: number): ResealValuesResponse => ({ resealed, skipped: 0, remaining, activeKeyId: keys.activeKeyId });

async function cli(argv: string[], reseals: ResealValuesResponse[] = []) {
  const calls: [string, unknown][] = [];
  const client = {
    close: () => undefined,
    listDataKeys: async (req: unknown) => (calls.push(['listDataKeys', req]), keys),
    resealValues: async (req: unknown) => {
      calls.push(['resealValues', req]);
      const next = reseals.shift();
      if (next === undefined) throw new Error('the fake has no more batches');
      return next;
    },
  };
  return { ...(await runWithClient(argv, client)), calls };
}

t.test('cluster data-keys: a table of keys, and the values left to re-seal', async (t) => {
  const r = await cli(['cluster', 'data-keys']);
  t.equal(r.code, 0, r.err);
  t.match(r.out, /Key id\s+Active\s+Installed\s+Writes\s+Values/);
  t.match(r.out, /bbbbbbbbbbbbbbbb\s+yes\s+2023-11-14T22:15:00Z\s+2\s+7/);
  t.match(r.out, /values to re-seal: 0/);
  const j = await cli(['cluster', 'data-keys', '--output', 'json']);
  t.same(JSON.parse(j.out).dataKeys[1], { keyId: 'bbbbbbbbbbbbbbbb', active: true, installedMs: '1700000100000', writes: '2', values: '7' });
});

t.test('cluster reseal: batches until nothing remains, with progress on stderr', async (t) => {
  const r = await cli(['cluster', 'reseal', '--batch', '3'], [batch(3, 4), batch(3, 1), batch(1, 0)]);
  t.equal(r.code, 0, r.err);
  t.same(r.calls.map(([m]) => m), ['resealValues', 'resealValues', 'resealValues', 'listDataKeys']);
  t.same(r.calls[0]![1], { maxValues: 3 });
  t.equal(r.err, 're-sealed 3, remaining 4\nre-sealed 6, remaining 1\nre-sealed 7, remaining 0\n');
  t.match(r.out, /values to re-seal: 0/);
});

t.test('cluster reseal gives up, saying so, when batch after batch makes no progress', async (t) => {
  const r = await cli(['cluster', 'reseal'], Array.from({ length: 20 }, () => batch(0, 2)));
  t.equal(r.code, 1);
  t.match(r.err, /no progress in 20 batches .* 2 remain: run it again/);
});

t.test('cluster reseal refuses a batch size out of range before any call', async (t) => {
  for (const bad of ['0', '257', 'x']) {
    const r = await cli(['cluster', 'reseal', '--batch', bad]);
    t.equal(r.code, 2, bad);
    t.same(r.calls, []);
  }
});
