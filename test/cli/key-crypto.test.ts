// `keyraft key encrypt|decrypt|wrap|unwrap|sign|verify|random`: bytes in as
// base64url, base64 or raw files; out as base64url or raw files; digests
// computed here for --data-file; verify answers true or false with exit 0.

import { createHash } from 'node:crypto';
import t from 'tap';
import { b64u, cli, kref, opResult, sent } from './key-fixtures.js';

const PLAIN = Buffer.from('attack at dawn');

t.test('encrypt: --value in base64url or base64, the result as a table or JSON', async (t) => {
  const r = await cli(['key', 'encrypt', ...kref, '--algorithm', 'a256gcm', '--value', b64u(PLAIN), '--aad', 'AQI']);
  t.equal(r.code, 0, r.err);
  const req = sent(r) as Record<string, Uint8Array | string>;
  t.same([r.calls[0]![0], req['vault'], req['name'], req['version'], req['algorithm']], ['encrypt', 'pay', 'rk', '', 'A256GCM'], 'algorithm names in any case');
  t.equal(Buffer.from(req['value'] as Uint8Array).toString(), 'attack at dawn');
  t.same([...(req['aad'] as Uint8Array)], [1, 2]);
  t.notOk('tag' in req || 'iv' in req, 'absent flags are not sent');
  t.match(r.out, /^Kid\s+keyraft:\/\/pay\/keys\/ok\/v3$/m);
  t.match(r.out, /^Value\s+-_8Q$/m);
  t.match(r.out, /^Iv\s+AQID$/m);
  t.match(r.out, /^Tag\s+_-4$/m);
  t.notMatch(r.out, /^Aad/m, 'an empty field is left out of the table');
  const std = await cli(['key', 'encrypt', ...kref, '-a', 'RSA-OAEP', '--value', PLAIN.toString('base64')]);
  t.equal(Buffer.from(sent(std)['value'] as Uint8Array).toString(), 'attack at dawn', 'standard base64 is accepted');
  const cbc = await cli(['key', 'encrypt', ...kref, '-a', 'A128CBCPAD', '--value', 'AA', '--iv', 'AAAAAAAAAAAAAAAAAAAAAA']);
  t.equal(cbc.code, 0, cbc.err);
  t.equal((sent(cbc)['iv'] as Uint8Array).length, 16, 'an AES-CBC IV is passed on');
  t.match((await cli(['key', 'encrypt', '--help'])).out, /AES-GCM refuses one/, 'the help says GCM takes no IV');
  const json = JSON.parse((await cli(['key', 'encrypt', ...kref, '-a', 'A256GCM', '--value', 'AA', '-o', 'json'])).out);
  t.same(json, { kid: opResult.kid, value: '-_8Q', iv: 'AQID', tag: '_-4', aad: '' }, 'the KeyOperationResult in the JSON mapping');
});

t.test('--value-file reads raw bytes; --out-file writes the raw output and prints the rest', async (t) => {
  const r = await cli(['key', 'encrypt', ...kref, '-a', 'A128CBCPAD', '--value-file', 'p.bin', '--out-file', 'c.bin'], { files: { 'p.bin': PLAIN } });
  t.equal(r.code, 0, r.err);
  t.same(Buffer.from(sent(r)['value'] as Uint8Array), PLAIN);
  t.same([...r.written.get('c.bin')!], [0xfb, 0xff, 0x10]);
  t.match(r.out, /^Value\s+\(written to c\.bin, 3 bytes\)$/m);
  t.match(r.out, /^Iv\s+AQID$/m, 'what decrypt needs is still printed');
  const json = await cli(['key', 'decrypt', ...kref, '-a', 'A256GCM', '--value-file', '-', '--tag', '_-4', '--out-file', 'p.out', '-o', 'json'], { files: { '-': PLAIN } });
  t.same(JSON.parse(json.out), { kid: opResult.kid, iv: 'AQID', tag: '_-4', aad: '', file: 'p.out', bytes: 3 });
  t.same([...(sent(json)['tag'] as Uint8Array)], [0xff, 0xee]);
});

t.test('decrypt, wrap and unwrap call their RPC; AES-only flags exist only where they mean something', async (t) => {
  for (const [command, method] of [['decrypt', 'decrypt'], ['wrap', 'wrapKey'], ['unwrap', 'unwrapKey']]) {
    const r = await cli(['key', command!, ...kref, '-a', 'A256KW', '--value', 'AAEC', '--version', 'v3']);
    t.equal(r.code, 0, r.err);
    t.equal(r.calls[0]![0], method);
    t.match(sent(r), { version: 'v3', algorithm: 'A256KW' });
  }
  for (const argv of [
    ['key', 'wrap', ...kref, '-a', 'A256KW', '--value', 'AA', '--iv', 'AA'],
    ['key', 'unwrap', ...kref, '-a', 'A256KW', '--value', 'AA', '--aad', 'AA'],
    ['key', 'encrypt', ...kref, '-a', 'A256GCM', '--value', 'AA', '--tag', 'AA'],
  ]) t.equal((await cli(argv)).code, 2, argv.join(' '));
  const help = await cli(['key', 'decrypt', '--help']);
  t.match(help.out, /Marvin attack/);
  t.match(help.out, /--value-file <path>/);
  t.match(help.out, /--out-file <path>/);
});

t.test('sign: a digest given, or the digest of --data-file with the hash the algorithm names', async (t) => {
  const digest = createHash('sha256').update('x').digest();
  const r = await cli(['key', 'sign', ...kref, '-a', 'ES256', '--digest', b64u(digest)]);
  t.equal(r.code, 0, r.err);
  t.same(Buffer.from(sent(r)['digest'] as Uint8Array), digest);
  t.match(r.out, /^Value\s+-_8Q$/m, 'the signature');
  for (const [alg, hash] of [['RS256', 'sha256'], ['ES256K', 'sha256'], ['PS384', 'sha384'], ['es512', 'sha512']]) {
    const f = await cli(['key', 'sign', ...kref, '-a', alg!, '--data-file', 'doc.pdf'], { files: { 'doc.pdf': PLAIN } });
    t.equal(f.code, 0, f.err);
    t.same(Buffer.from(sent(f)['digest'] as Uint8Array), createHash(hash!).update(PLAIN).digest(), `${alg}: ${hash}`);
  }
  const out = await cli(['key', 'sign', ...kref, '-a', 'PS256', '--data-file', '-', '--out-file', 'sig'], { files: { '-': PLAIN } });
  t.same([...out.written.get('sig')!], [0xfb, 0xff, 0x10], 'the raw signature');
  const help = await cli(['key', 'sign', '--help']);
  t.match(help.out, /--data-file <path>/);
  t.match(help.out, /SHA-384/);
});

t.test('sign refuses to guess', async (t) => {
  for (const [argv, why] of [
    [['key', 'sign', ...kref, '-a', 'ES256'], /--digest or --data-file/],
    [['key', 'sign', ...kref, '-a', 'ES256', '--digest', 'AA', '--data-file', 'f'], /cannot be used with/],
    [['key', 'sign', ...kref, '-a', 'A256GCM', '--data-file', 'f'], /not a signature algorithm/],
    [['key', 'sign', ...kref, '--digest', 'AA'], /--algorithm/],
    [['key', 'sign', ...kref, '-a', 'ES256', '--digest', '%%'], /base64url/],
  ] as const) {
    const r = await cli([...argv], { files: { f: PLAIN } });
    t.equal(r.code, 2, argv.join(' '));
    t.match(r.err, why);
    t.equal(r.calls.length, 0);
  }
});

t.test('verify prints true or false and exits 0 either way', async (t) => {
  const yes = await cli(['key', 'verify', ...kref, '-a', 'RS512', '--data-file', 'd', '--signature', 'AQID'], { files: { d: PLAIN } });
  t.equal(yes.code, 0, yes.err);
  t.equal(yes.out, 'true\n');
  const req = sent(yes);
  t.same(Buffer.from(req['digest'] as Uint8Array), createHash('sha512').update(PLAIN).digest());
  t.same([...(req['signature'] as Uint8Array)], [1, 2, 3]);
  const no = await cli(['key', 'verify', ...kref, '-a', 'ES256', '--digest', 'AA', '--signature-file', 's', '-o', 'json'], {
    answers: { verify: { value: false } },
    files: { s: Buffer.from([9]) },
  });
  t.equal(no.code, 0, 'a signature that does not verify is an answer, not a failure');
  t.same(JSON.parse(no.out), { value: false });
  t.same([...(sent(no)['signature'] as Uint8Array)], [9]);
  t.equal((await cli(['key', 'verify', ...kref, '-a', 'ES256', '--digest', 'AA'])).code, 2, 'a signature is required');
});

t.test('random: --count 1-128, base64url or a raw file', async (t) => {
  const r = await cli(['key', 'random', '--count', '4']);
  t.equal(r.code, 0, r.err);
  t.same(r.calls, [['getRandomBytes', { count: 4 }]]);
  t.equal(r.out, '-__-AQ\n');
  t.same(JSON.parse((await cli(['key', 'random', '--count', '4', '-o', 'json'])).out), { value: '-__-AQ' });
  const f = await cli(['key', 'random', '--vault-name', 'pay', '--count', '4', '--out-file', 'r.bin']);
  t.equal(f.code, 0, '--vault-name is accepted and ignored');
  t.same([...f.written.get('r.bin')!], [0xfb, 0xff, 0xfe, 1]);
  for (const n of ['0', '129', 'x']) t.equal((await cli(['key', 'random', '--count', n])).code, 2, n);
  t.equal((await cli(['key', 'random'])).code, 2);
});

t.test('crypto usage errors: one input, a known flag, valid base64', async (t) => {
  for (const argv of [
    ['key', 'encrypt', ...kref, '-a', 'A256GCM'],
    ['key', 'encrypt', ...kref, '-a', 'A256GCM', '--value', 'AA', '--value-file', 'f'],
    ['key', 'encrypt', ...kref, '-a', 'A256GCM', '--value', 'abcde'],
    ['key', 'encrypt', ...kref, '-a', 'A 256', '--value', 'AA'],
    ['key', 'decrypt', '--vault-name', 'pay', '-a', 'A256GCM', '--value', 'AA'],
  ]) {
    const r = await cli(argv);
    t.equal(r.code, 2, argv.join(' '));
    t.equal(r.calls.length, 0);
  }
  const missing = await cli(['key', 'encrypt', ...kref, '-a', 'A256GCM', '--value-file', 'nope']);
  t.equal(missing.code, 1);
  t.match(missing.err, /^error: ENOENT/);
});
