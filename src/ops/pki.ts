// The cluster's PKI: one CA, a certificate per node and one for the operator
// (the scripts and tools that call the Admin service). Built with
// @peculiar/x509 over WebCrypto, so no ASN.1 is written by hand. Only the
// tools and the test harness create certificates; a node only reads them
// (src/transport/tls.ts).
//
// Layout of the folder (keys 0600, the folder 0700):
//   ca.crt  ca.key                  the cluster CA (ca.key signs new nodes)
//   nodes/<id>.crt  nodes/<id>.key  a node: its id in the URI SAN
//   operator.crt  operator.key      the operator
//
// A certificate names who holds it with a URI subject alternative name,
// spiffe://keyraft/node/<id> or spiffe://keyraft/operator, which the peer
// port reads off the TLS connection (tls.ts, identityOf).
//
// A node's certificate also names the REST gateway's hosts, kv.localhost and
// *.kv.localhost (DESIGN §7), so that an Azure SDK checks
// https://myvault.kv.localhost:PORT against it and passes.

import 'reflect-metadata';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { VAULT_DOMAIN } from '../rest/challenge.js';
import { NODE_URI_PREFIX, OPERATOR_URI, REGION_URI_PREFIX, type PkiPaths, pkiPaths } from '../transport/tls.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
const CA_DAYS = 3650;
const LEAF_DAYS = 825;
/** DNS names every node certificate holds for the REST gateway: the vault hosts {vault}.kv.localhost. */
export const GATEWAY_NAMES: readonly string[] = [VAULT_DOMAIN, `*.${VAULT_DOMAIN}`];

export interface PkiNode {
  readonly id: string;
  /** Host names and addresses the node is reached at (from its client and peer addresses). */
  readonly hosts: readonly string[];
}

interface Issuer {
  readonly cert: x509.X509Certificate;
  readonly key: CryptoKey;
}

function serial(): string {
  // Positive and unique: 16 random bytes with the top bit cleared.
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  return b.toString('hex');
}

async function keyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function privatePem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
}

async function createCa(name: string): Promise<{ issuer: Issuer; keyPem: string }> {
  const keys = await keyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${name}`,
    notBefore: new Date(Date.now() - DAY_MS),
    notAfter: new Date(Date.now() + CA_DAYS * DAY_MS),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { issuer: { cert, key: keys.privateKey }, keyPem: await privatePem(keys.privateKey) };
}

/** A leaf certificate for a node or the operator: server and client authentication. */
async function issue(issuer: Issuer, commonName: string, uris: readonly string[], hosts: readonly string[]): Promise<{ certPem: string; keyPem: string }> {
  const keys = await keyPair();
  const names: x509.JsonGeneralName[] = uris.map((value) => ({ type: 'url', value }));
  for (const h of new Set(['localhost', '127.0.0.1', ...hosts])) names.push({ type: isIP(h) === 0 ? 'dns' : 'ip', value: h });
  return { certPem: await sign(issuer, commonName, names, keys.publicKey), keyPem: await privatePem(keys.privateKey) };
}

async function sign(issuer: Issuer, commonName: string, names: x509.JsonGeneralName[], publicKey: CryptoKey): Promise<string> {
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${commonName}`,
    issuer: issuer.cert.subject,
    notBefore: new Date(Date.now() - DAY_MS),
    notAfter: new Date(Date.now() + LEAF_DAYS * DAY_MS),
    signingKey: issuer.key,
    publicKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.cert),
    ],
  });
  return cert.toString('pem') + '\n';
}

/**
 * A node certificate made before the gateway names: the same one again, for
 * the same key pair, with GATEWAY_NAMES added to its names. Undefined when
 * it has them. Keeping the key means nothing else changes: peers check a
 * node by the CA and the node URI, which stay.
 */
async function withGatewayNames(issuer: Issuer, certPem: string): Promise<string | undefined> {
  const old = new x509.X509Certificate(certPem);
  const names = old.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON() ?? [];
  const missing = GATEWAY_NAMES.filter((h) => !names.some((n) => n.type === 'dns' && n.value === h));
  if (missing.length === 0) return undefined;
  const publicKey = await old.publicKey.export(ALGORITHM, ['verify']);
  const commonName = old.subjectName.getField('CN')[0] ?? 'node';
  return sign(issuer, commonName, [...names, ...missing.map((value) => ({ type: 'dns' as const, value }))], publicKey);
}

function writeSecret(path: string, pem: string): void {
  writeFileSync(path, pem, { mode: 0o600 });
}

async function loadIssuer(paths: PkiPaths): Promise<Issuer> {
  const cert = new x509.X509Certificate(readFileSync(paths.ca, 'utf8'));
  const der = x509.PemConverter.decode(readFileSync(paths.caKey, 'utf8'))[0]!;
  const key = await webcrypto.subtle.importKey('pkcs8', der, ALGORITHM, false, ['sign']);
  return { cert, key: key as CryptoKey };
}

/**
 * Makes what is missing of the PKI in `dir`: the CA (unless there is one),
 * a certificate for each node that has none, and the operator's. Existing
 * files are kept, so that running it again on a live cluster changes
 * nothing; but a node certificate made before the REST gateway, without
 * GATEWAY_NAMES, is issued again once for the same key with them added (the
 * node presents it from its next start). Returns the ids of the nodes it
 * issued certificates for, either way.
 */
export async function ensurePki(dir: string, nodes: readonly PkiNode[], clusterName = 'keyraft'): Promise<string[]> {
  const paths = pkiPaths(dir);
  mkdirSync(join(dir, 'nodes'), { recursive: true, mode: 0o700 });
  let issuer: Issuer;
  if (existsSync(paths.ca)) {
    issuer = await loadIssuer(paths);
  } else {
    const ca = await createCa(`${clusterName} cluster CA`);
    issuer = ca.issuer;
    writeSecret(paths.caKey, ca.keyPem);
    writeFileSync(paths.ca, issuer.cert.toString('pem') + '\n', { mode: 0o644 });
  }
  const issued: string[] = [];
  for (const node of nodes) {
    if (existsSync(paths.nodeCert(node.id))) {
      const upgraded = await withGatewayNames(issuer, readFileSync(paths.nodeCert(node.id), 'utf8'));
      if (upgraded !== undefined) {
        writeFileSync(paths.nodeCert(node.id), upgraded, { mode: 0o644 });
        issued.push(node.id);
      }
      continue;
    }
    const { certPem, keyPem } = await issue(issuer, node.id, [`${NODE_URI_PREFIX}${node.id}`], [...node.hosts, ...GATEWAY_NAMES]);
    writeSecret(paths.nodeKey(node.id), keyPem);
    writeFileSync(paths.nodeCert(node.id), certPem, { mode: 0o644 });
    issued.push(node.id);
  }
  if (!existsSync(paths.operatorCert)) {
    const { certPem, keyPem } = await issue(issuer, 'operator', [OPERATOR_URI], []);
    writeSecret(paths.operatorKey, keyPem);
    writeFileSync(paths.operatorCert, certPem, { mode: 0o644 });
  }
  return issued;
}

/**
 * A certificate for a node added online (keyraft cluster member add): it
 * names the node's region as well, since the topology does not list the
 * node. Replaces an existing one: a replaced node gets a new key pair.
 */
export async function issueMemberCertificate(dir: string, node: PkiNode & { readonly region: string }): Promise<void> {
  const paths = pkiPaths(dir);
  const issuer = await loadIssuer(paths);
  const { certPem, keyPem } = await issue(issuer, node.id, [`${NODE_URI_PREFIX}${node.id}`, `${REGION_URI_PREFIX}${node.region}`], [...node.hosts, ...GATEWAY_NAMES]);
  writeSecret(paths.nodeKey(node.id), keyPem);
  writeFileSync(paths.nodeCert(node.id), certPem, { mode: 0o644 });
}

/** The host part of host:port addresses (IPv6 in brackets too). */
export function hostsOf(addresses: readonly string[]): string[] {
  return addresses.map((a) => a.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1'));
}
