// The names node certificates hold: the REST gateway's vault hosts
// (kv.localhost, *.kv.localhost) beside the node's own, checked the way a
// client checks them (tls.checkServerIdentity); and a PKI made before them,
// whose node certificates get the names once, for the same key.

import 'reflect-metadata';
import { X509Certificate, createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import * as x509 from '@peculiar/x509';
import t from 'tap';
import { GATEWAY_NAMES, ensurePki, issueMemberCertificate } from '../../src/ops/pki.js';
import { pkiPaths } from '../../src/transport/tls.js';

const dir = mkdtempSync(join(tmpdir(), 'pki-test-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const paths = pkiPaths(dir);

/** What tls.checkServerIdentity reads of a certificate. */
function peer(pem: string): PeerCertificate {
  const cert = new X509Certificate(pem);
  return { subject: { CN: '' }, subjectaltname: cert.subjectAltName ?? '' } as unknown as PeerCertificate;
}

const accepts = (pem: string, host: string) => checkServerIdentity(host, peer(pem)) === undefined;

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** The node's certificate as pki.ts made it before the gateway: its URI, localhost and 127.0.0.1, for its key. */
async function issuedWithoutGatewayNames(pkiDir: string, id: string): Promise<string> {
  const p = pkiPaths(pkiDir);
  const ca = new x509.X509Certificate(readFileSync(p.ca, 'utf8'));
  const importPrivate = (file: string) => webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decode(readFileSync(file, 'utf8'))[0]!, ALGORITHM, true, ['sign']);
  const caKey = await importPrivate(p.caKey);
  const jwk = await webcrypto.subtle.exportKey('jwk', await importPrivate(p.nodeKey(id)));
  const publicKey = await webcrypto.subtle.importKey('jwk', { kty: jwk.kty!, crv: jwk.crv!, x: jwk.x!, y: jwk.y! }, ALGORITHM, true, ['verify']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '01',
    subject: `CN=${id}`,
    issuer: ca.subject,
    notBefore: new Date(Date.now() - 86_400_000),
    notAfter: new Date(Date.now() + 86_400_000),
    signingKey: caKey,
    publicKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.SubjectAlternativeNameExtension([
        { type: 'url', value: `spiffe://keyraft/node/${id}` },
        { type: 'dns', value: 'localhost' },
        { type: 'ip', value: '127.0.0.1' },
      ]),
    ],
  });
  return cert.toString('pem') + '\n';
}

t.test('a node certificate names the vault hosts; the operator\'s does not', async (t) => {
  t.same(GATEWAY_NAMES, ['kv.localhost', '*.kv.localhost']);
  await ensurePki(dir, [{ id: 'n1', hosts: ['127.0.0.1', 'node1.example'] }]);
  const node = readFileSync(paths.nodeCert('n1'), 'utf8');
  for (const host of ['myvault.kv.localhost', 'kv.localhost', 'node1.example', 'localhost', '127.0.0.1']) t.ok(accepts(node, host), host);
  for (const host of ['a.b.kv.localhost', 'kv.localhost.evil', 'other.localhost']) t.notOk(accepts(node, host), `not ${host}`);
  t.match(new X509Certificate(node).subjectAltName, /URI:spiffe:\/\/keyraft\/node\/n1/);
  t.notOk(accepts(readFileSync(paths.operatorCert, 'utf8'), 'myvault.kv.localhost'), 'the operator serves no vault');
});

t.test('a node added online is given the names too', async (t) => {
  await issueMemberCertificate(dir, { id: 'n9', region: 'west', hosts: ['127.0.0.1'] });
  const pem = readFileSync(paths.nodeCert('n9'), 'utf8');
  t.ok(accepts(pem, 'myvault.kv.localhost'));
  t.match(new X509Certificate(pem).subjectAltName, /URI:spiffe:\/\/keyraft\/region\/west/);
});

t.test('a certificate made without the names is issued again once, for the same key, keeping its names', async (t) => {
  // A certificate as an older pki.ts made it: the same, less the two names.
  const oldDir = mkdtempSync(join(tmpdir(), 'pki-test-old-'));
  t.teardown(() => rmSync(oldDir, { recursive: true, force: true }));
  const old = pkiPaths(oldDir);
  await ensurePki(oldDir, [{ id: 'n1', hosts: ['127.0.0.1'] }]);
  writeFileSync(old.nodeCert('n1'), await issuedWithoutGatewayNames(oldDir, 'n1'));
  const before = readFileSync(old.nodeCert('n1'), 'utf8');
  t.notOk(accepts(before, 'myvault.kv.localhost'), 'the old certificate lacks them');
  const key = readFileSync(old.nodeKey('n1'), 'utf8');

  t.same(await ensurePki(oldDir, [{ id: 'n1', hosts: ['127.0.0.1'] }]), ['n1'], 'reported as issued');
  const after = readFileSync(old.nodeCert('n1'), 'utf8');
  t.ok(accepts(after, 'myvault.kv.localhost'));
  t.equal(readFileSync(old.nodeKey('n1'), 'utf8'), key, 'the key is kept');
  const publicOf = (pem: string) => new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
  t.same(publicOf(after), createPublicKey(createPrivateKey(key)).export({ type: 'spki', format: 'der' }), 'for the same key');
  t.equal(new X509Certificate(after).subjectAltName, `${new X509Certificate(before).subjectAltName}, DNS:kv.localhost, DNS:*.kv.localhost`, 'every old name kept');
  t.ok(new X509Certificate(after).verify(new X509Certificate(readFileSync(old.ca)).publicKey), 'signed by the cluster CA');
  t.match(new X509Certificate(after).subject, /CN=n1/);

  t.same(await ensurePki(oldDir, [{ id: 'n1', hosts: ['127.0.0.1'] }]), [], 'once: then nothing changes');
  t.equal(readFileSync(old.nodeCert('n1'), 'utf8'), after);
});
