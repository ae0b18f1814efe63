// The records every SetSecret writes are binary (state.proto), and a data
// key's count of writes is a record of its own; the JSON records written
// before load as they did, and a state loaded from them is the same state.

import t from 'tap';
import { VaultState } from '../../src/vault/index.js';
import { decodeRequest, decodeVersion, encodeRequest, encodeVersion } from '../../src/vault/records.js';
import { Harness, T0, recordsOf, sealed } from './fixtures/harness.js';

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const parse = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b)) as Record<string, unknown>;

/** The records as the JSON format wrote them: a version flattened with its value in base64, a request with its result, a data key with its count. */
function asJson(state: VaultState): [string, Uint8Array][] {
  const records = [...state.records()];
  const out: [string, Uint8Array][] = [];
  const writes = new Map<string, number>();
  for (const [key, value] of records) {
    if (key.startsWith('datakeywrites/')) writes.set(key.slice('datakeywrites/'.length), Number(new TextDecoder().decode(value)));
  }
  for (const [key, value] of records) {
    if (key.startsWith('secretv/')) {
      const r = decodeVersion(value);
      out.push([key, json({ version: r.version, seq: r.seq, sealedValue: b64(r.sealedValue), ...r.attributes, createdMs: r.createdMs, updatedMs: r.updatedMs })]);
    } else if (key.startsWith('request/')) {
      out.push([key, json(decodeRequest(value))]);
    } else if (key.startsWith('datakey/')) {
      out.push([key, json({ ...parse(value), writes: writes.get(key.slice('datakey/'.length)) ?? 0 })]);
    } else if (!key.startsWith('datakeywrites/')) {
      out.push([key, value]);
    }
  }
  return out;
}

function busy(): Harness {
  const h = new Harness();
  h.ok({ op: 'installDataKey', installDataKey: { keyId: 'dk-1', wrappedKey: new Uint8Array([1, 2, 3]) } });
  h.createVault('Abc', 30);
  h.setSecret('Abc', 'plain', 'v1');
  h.setSecret('Abc', 'Tagged', 'v2', { contentType: 'text/plain', tags: { b: '2', a: 'é', ['__proto__']: 'x' }, notBefore: 100, expires: 2_000_000_000 });
  h.ok({ ...h.command({ op: 'setSecret', setSecret: { vault: 'Abc', name: 'retried', version: h.newVersion(), sealedValue: sealed('v3'), attributes: { contentType: '', tags: {}, enabled: false, notBefore: 0, expires: 0 } } }), requestId: 'req-set' });
  h.ok({ ...h.command({ op: 'deleteSecret', deleteSecret: { vault: 'Abc', name: 'plain' } }), requestId: 'req-delete' });
  return h;
}

t.test('a SetSecret writes its version and request in binary, and counts its write without rewriting the data key', async (t) => {
  const h = busy();
  const version = h.newVersion();
  const value = new Uint8Array(300).fill(7);
  const out = h.run({ ...h.command({ op: 'setSecret', setSecret: { vault: 'Abc', name: 'big', version, sealedValue: value, attributes: { contentType: '', tags: {}, enabled: true, notBefore: 0, expires: 0 } } }), requestId: 'r-big' });
  t.notOk('error' in out);
  const written = new Map(out.mutations.map((m) => [m.key, m.op === 'put' ? m.value : undefined]));
  t.same([...written.keys()].sort(), ['datakeywrites/dk-1', 'request/r-big', 'secret/abc/big', `secretv/abc/big/${version}`]);
  const versionRecord = written.get(`secretv/abc/big/${version}`)!;
  t.equal(versionRecord[0], 1, 'the binary format byte');
  t.ok(versionRecord.length < value.length + 80, `the version record is the value and ${versionRecord.length - value.length} bytes`);
  t.ok(written.get('request/r-big')!.length < 200, `the request record is ${written.get('request/r-big')!.length} bytes`);
  t.equal(new TextDecoder().decode(written.get('datakeywrites/dk-1')), '4', 'the fourth value sealed under dk-1');
});

t.test('a version and a request decode to what was encoded', async (t) => {
  const h = busy();
  const records = new Map(h.state.records());
  for (const [key, value] of records) {
    if (key.startsWith('secretv/')) t.same(encodeVersion(decodeVersion(value)), value, key);
    if (key.startsWith('request/')) t.same(encodeRequest(decodeRequest(value)), value, key);
  }
  const tagged = [...records].find(([k]) => k.startsWith('secretv/abc/tagged/'))!;
  const back = decodeVersion(tagged[1]);
  t.same(back.attributes, { contentType: 'text/plain', tags: { a: 'é', b: '2', ['__proto__']: 'x' }, enabled: true, notBefore: 100, expires: 2_000_000_000 });
  t.ok(Object.hasOwn(back.attributes.tags, '__proto__'), 'a "__proto__" tag stays data');
  const deleted = decodeRequest(records.get('request/req-delete')!);
  t.equal(deleted.result.kind, 'deletedSecret', 'a result other than a secret goes as JSON');
  t.equal(decodeRequest(records.get('request/req-set')!).result.kind, 'secret');
});

t.test('a state written as JSON loads to the same state, and goes on to the same records', async (t) => {
  const h = busy();
  const legacy = asJson(h.state);
  t.ok(
    legacy.some(([k, v]) => k.startsWith('secretv/') && v[0] === '{'.charCodeAt(0)),
    'the legacy records are JSON',
  );
  const loaded = VaultState.load(legacy);
  // A remembered request keeps the record it was loaded from, to answer a retry from.
  const notRequests = (records: Record<string, string>) => Object.entries(records).filter(([k]) => !k.startsWith('request/'));
  t.same(notRequests(recordsOf(loaded)), notRequests(recordsOf(h.state)), 'the same records as the state that wrote them, but for requests');
  const requests = (state: VaultState) => [...state.records()].filter(([k]) => k.startsWith('request/')).map(([k, v]) => [k, decodeRequest(v)]);
  t.same(requests(loaded), requests(h.state), 'the same requests');
  t.same(loaded.dataKeyRecords(), [{ keyId: 'dk-1', installedMs: T0, writes: 3 }], 'the count the data key record held');
  // A retry of a request remembered in JSON is answered as before.
  const retried = h.command({ op: 'setSecret', setSecret: { vault: 'Abc', name: 'retried', version: h.newVersion(), sealedValue: sealed('v3'), attributes: { contentType: '', tags: {}, enabled: false, notBefore: 0, expires: 0 } } });
  const a = loaded.apply({ ...retried, requestId: 'req-set' }, 100);
  const b = h.state.apply({ ...retried, requestId: 'req-set' }, 100);
  t.same(a, b, 'a retry gets the same answer');
  t.notOk('error' in a);
});

t.test("a data key's count survives its record rewritten: loaded from JSON, then rewrapped", async (t) => {
  const h = busy();
  const loaded = VaultState.load(asJson(h.state));
  const disk = new Map(asJson(h.state));
  const out = loaded.apply(h.command({ op: 'rotateMasterKey', rotateMasterKey: { masterKeyFingerprint: '0123456789abcdef', keys: [{ keyId: 'dk-1', wrappedKey: new Uint8Array([9, 9]) }] } }), 101);
  t.notOk('error' in out, 'error' in out ? out.error.message : 'rewrapped');
  for (const m of out.mutations) {
    if (m.op === 'put') disk.set(m.key, m.value);
    else disk.delete(m.key);
  }
  t.same(VaultState.load(disk).dataKeyRecords(), [{ keyId: 'dk-1', installedMs: T0, writes: 3 }], 'still 3 writes');
});

t.test('a count of writes without its data key, or that is not a count, is refused', async (t) => {
  const h = busy();
  const records = [...h.state.records()];
  t.throws(() => VaultState.load(records.filter(([k]) => k !== 'datakey/dk-1')), /count of writes for a missing data key dk-1/);
  const bad = records.map(([k, v]): [string, Uint8Array] => [k, k === 'datakeywrites/dk-1' ? new TextEncoder().encode('-1') : v]);
  t.throws(() => VaultState.load(bad), /not a count/);
});
