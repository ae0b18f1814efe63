// ECDSA presignatures: computed ahead (on the worker pool), each handed out
// once, and signatures made with them verify under node:crypto as signatures
// of the message, for every curve.

import t from 'tap';
import { createHash, generateKeyPairSync, randomBytes, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { type Presignature, decodePresignatures, ecdsaSign, encodePresignatures } from '../../src/crypto/ecdsa.js';
import { BATCH, takePresignature } from '../../src/crypto/ecdsa-presign.js';
import { CURVE_INFO, type Curve, bytesToBigInt } from '../../src/crypto/jwk.js';

const CURVES: [Curve, string][] = [['P-256', 'sha256'], ['P-384', 'sha384'], ['P-521', 'sha512'], ['P-256K', 'sha256']];

function keyPair(curve: Curve): { d: bigint; pub: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: CURVE_INFO[curve].nodeName });
  const jwk = privateKey.export({ format: 'jwk' });
  return { d: bytesToBigInt(Buffer.from(jwk.d!, 'base64url')), pub: publicKey };
}

function signsMessage(curve: Curve, md: string, d: bigint, pub: KeyObject, pre: Presignature): boolean {
  const message = randomBytes(48);
  const sig = ecdsaSign(curve, d, createHash(md).update(message).digest(), pre);
  return sig.length === 2 * CURVE_INFO[curve].bytes && nodeVerify(md, message, { key: pub, dsaEncoding: 'ieee-p1363' }, sig);
}

for (const [curve, md] of CURVES) {
  t.test(`${curve}: presignatures survive their encoding and sign verifiably`, async (t) => {
    const { d, pub } = keyPair(curve);
    const pres = decodePresignatures(curve, encodePresignatures(curve, 20));
    t.equal(pres.length, 20);
    t.equal(new Set(pres.map((p) => p.r)).size, 20, 'a fresh k each');
    t.ok(pres.every((p) => signsMessage(curve, md, d, pub, p)), 'every signature verifies against its message');
    // The check can fail: a presignature whose w is not (k·b)^-1 signs wrongly.
    const p = pres[0]!;
    t.notOk(signsMessage(curve, md, d, pub, { ...p, w: p.w + 1n }), 'a wrong presignature gives a signature that does not verify');
  });
}

t.test('the stock refills from the worker pool and hands each presignature out once', async (t) => {
  const curve: Curve = 'P-256';
  const { d, pub } = keyPair(curve);
  t.equal(takePresignature(curve), undefined, 'none in stock at first use: that sign is made on the spot');
  // The worker pool starts on first use: seconds on a loaded machine.
  const deadline = Date.now() + 120_000;
  const taken: Presignature[] = [];
  while (taken.length < 2 * BATCH && Date.now() < deadline) {
    const p = takePresignature(curve);
    if (p === undefined) await new Promise((r) => setTimeout(r, 10));
    else taken.push(p);
  }
  t.equal(taken.length, 2 * BATCH, 'batches arrived from the worker');
  t.equal(new Set(taken.map((p) => p.r)).size, taken.length, 'no presignature handed out twice');
  t.ok(taken.slice(0, 50).every((p) => signsMessage(curve, 'sha256', d, pub, p)), 'signatures made with them verify');
});
