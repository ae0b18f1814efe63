// The secondary's own log entries (shipped batches, snapshot parts, mode
// changes) and its replicated GeoMeta survive encoding.

import t from 'tap';
import { type GeoEntry, decodeGeoEntry, encodeGeoEntry, isGeoEntryData } from '../../src/geo/codec.js';
import { GEO_META_KEY, GEO_STAGE_PREFIX, decodeGeoMeta, encodeGeoMeta, initialGeoMeta, isGeoRecord } from '../../src/geo/geo-state.js';

const bytes = (...b: number[]) => new Uint8Array(b);

t.test('every kind of GeoEntry round-trips, behind a leading zero byte', async (t) => {
  const cases: GeoEntry[] = [
    {
      kind: 'shipped',
      shipped: {
        entries: [
          { index: 7, term: 2, type: 0, data: bytes(1, 2, 3) },
          { index: 8, term: 3, type: 1, data: bytes() },
        ],
        appliedAtMs: 1_700_000_000_123,
      },
    },
    {
      kind: 'snapshotPart',
      snapshotPart: { primaryIndex: 900, primaryTerm: 4, transfer: 'west-1-abc', seq: 3, records: [{ key: 'v/a', value: bytes(9) }], last: true },
    },
    { kind: 'transition', transition: { mode: 'FAILED_OVER', epoch: 2, atMs: 1234, reason: 'no primary leader seen for 2001 ms', manual: false } },
    { kind: 'transition', transition: { mode: 'STANDBY', epoch: 2, atMs: 99, reason: 'manual: drill', manual: true } },
  ];
  for (const c of cases) {
    const data = encodeGeoEntry(c);
    t.equal(data[0], 0, `${c.kind}: the first byte is zero`);
    t.ok(isGeoEntryData(data), `${c.kind}: recognised as a geo entry`);
    t.same(decodeGeoEntry(data), c, `${c.kind} round-trips`);
  }
});

t.test('a vault command is not a geo entry; an empty geo entry does not decode', async (t) => {
  t.notOk(isGeoEntryData(bytes()), 'empty');
  t.notOk(isGeoEntryData(bytes(0x0a, 1, 2)), 'a protobuf message (field 1)');
  t.throws(() => decodeGeoEntry(bytes(0)), /empty geo entry/);
});

t.test('GeoMeta round-trips, and fields missing from an older encoding take their initial values', async (t) => {
  const m = { ...initialGeoMeta(), cursor: 1234, appliedAtMs: 55, mode: 'FAILED_OVER' as const, epoch: 3, lastTransitionMs: 77, lastTransitionReason: 'x', manual: true, staging: 't1' };
  t.same(decodeGeoMeta(encodeGeoMeta(m)), m);
  const old = decodeGeoMeta(new TextEncoder().encode(JSON.stringify({ cursor: 9, mode: 'FAILED_OVER', epoch: 1 })));
  t.same(old, { ...initialGeoMeta(), cursor: 9, mode: 'FAILED_OVER', epoch: 1 });
  t.same(initialGeoMeta(), { cursor: 1, appliedAtMs: 0, mode: 'STANDBY', epoch: 0, lastTransitionMs: 0, lastTransitionReason: '', manual: false, staging: '' });
  t.not(initialGeoMeta(), initialGeoMeta(), 'a fresh object each time');
});

t.test('geo bookkeeping keys are not vault records', async (t) => {
  t.ok(isGeoRecord(GEO_META_KEY));
  t.ok(isGeoRecord(`${GEO_STAGE_PREFIX}t1/v/a`));
  t.notOk(isGeoRecord('v/vaults/geo'));
  t.notOk(isGeoRecord('geo'));
});
