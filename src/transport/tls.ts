// TLS for every port. A node serves its client port with its certificate
// (callers authenticate with tokens, not certificates) and its peer port with
// mutual TLS: a caller must present a certificate of the cluster CA, and what
// it may do depends on whom the certificate names (identityOf). Certificates
// are made by src/ops/pki.ts; this module only reads them.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';

/** The URI subject alternative name of a node's certificate is this followed by its id. */
export const NODE_URI_PREFIX = 'spiffe://keyraft/node/';
/** The URI subject alternative name of the operator's certificate. */
export const OPERATOR_URI = 'spiffe://keyraft/operator';
export const REGION_URI_PREFIX = 'spiffe://keyraft/region/';

/** PEM contents: the CA, and the certificate and key this process presents. */
export interface TlsMaterial {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** Where things are in a PKI folder; src/ops/pki.ts makes them. */
export interface PkiPaths {
  readonly ca: string;
  readonly caKey: string;
  readonly operatorCert: string;
  readonly operatorKey: string;
  nodeCert(id: string): string;
  nodeKey(id: string): string;
}

export function pkiPaths(dir: string): PkiPaths {
  return {
    ca: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    operatorCert: join(dir, 'operator.crt'),
    operatorKey: join(dir, 'operator.key'),
    nodeCert: (id) => join(dir, 'nodes', `${id}.crt`),
    nodeKey: (id) => join(dir, 'nodes', `${id}.key`),
  };
}

/** A node's material from the PKI folder. */
export function nodeTls(pkiDir: string, nodeId: string): TlsMaterial {
  const paths = pkiPaths(pkiDir);
  return readMaterial(pkiDir, paths.nodeCert(nodeId), paths.nodeKey(nodeId), `node ${nodeId}`);
}

/** The operator's material: what scripts and tests use on the Admin service. */
export function operatorTls(pkiDir: string): TlsMaterial {
  const paths = pkiPaths(pkiDir);
  return readMaterial(pkiDir, paths.operatorCert, paths.operatorKey, 'the operator');
}

function readMaterial(pkiDir: string, cert: string, key: string, whose: string): TlsMaterial {
  try {
    return { ca: readFileSync(pkiPaths(pkiDir).ca), cert: readFileSync(cert), key: readFileSync(key) };
  } catch (e) {
    throw new Error(`no TLS certificate for ${whose} in ${pkiDir} (${e instanceof Error ? e.message : String(e)}); scripts/cluster-up.sh creates the cluster's PKI`);
  }
}

/** The client port: TLS, no client certificate asked (callers bring tokens). */
export function clientPortCredentials(tls: TlsMaterial): grpc.ServerCredentials {
  return grpc.ServerCredentials.createSsl(tls.ca, [{ cert_chain: tls.cert, private_key: tls.key }], false);
}

/** The peer port: mutual TLS, only certificates of the cluster CA get in. */
export function peerPortCredentials(tls: TlsMaterial): grpc.ServerCredentials {
  return grpc.ServerCredentials.createSsl(tls.ca, [{ cert_chain: tls.cert, private_key: tls.key }], true);
}

/**
 * The check that the server of a TLS connection is the node `expectedNode`:
 * a certificate of the cluster CA that names another node is refused, as a
 * wrong host name would be.
 */
export function expectNode(expectedNode: string): (host: string, cert: PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    const who = identityOfCertificate(cert);
    return who?.kind === 'node' && who.id === expectedNode ? undefined : new Error(`expected node ${expectedNode}, the certificate names ${describeIdentity(who)}`);
  };
}

/** A channel to another node, presenting our certificate; with `expectedNode`, the server must be that node (expectNode). */
export function channelCredentials(tls: TlsMaterial, expectedNode?: string): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(tls.ca, tls.key, tls.cert, expectedNode === undefined ? {} : { checkServerIdentity: expectNode(expectedNode) });
}

/**
 * A node certificate issued for a node added online also names its region
 * (the topology, which only seeds the cluster, does not know it).
 */
export type PeerIdentity = { readonly kind: 'node'; readonly id: string; readonly region?: string } | { readonly kind: 'operator' };

export function describeIdentity(who: PeerIdentity | undefined): string {
  if (who === undefined) return 'nobody we know';
  return who.kind === 'node' ? `node ${who.id}` : 'the operator';
}

/** Whom a certificate of the cluster CA names, from its URI subject alternative name. */
export function identityOfCertificate(cert: Pick<PeerCertificate, 'subjectaltname'> | undefined): PeerIdentity | undefined {
  const uris = (cert?.subjectaltname ?? '')
    .split(', ')
    .filter((n) => n.startsWith('URI:'))
    .map((n) => n.slice(4));
  const regions = uris.filter((u) => u.startsWith(REGION_URI_PREFIX) && u.length > REGION_URI_PREFIX.length);
  const names = uris.filter((u) => !regions.includes(u));
  if (names.length !== 1 || regions.length > 1) return undefined;
  const uri = names[0]!;
  if (uri === OPERATOR_URI) return regions.length === 0 ? { kind: 'operator' } : undefined;
  if (!uri.startsWith(NODE_URI_PREFIX) || uri.length === NODE_URI_PREFIX.length) return undefined;
  const id = uri.slice(NODE_URI_PREFIX.length);
  return regions.length === 0 ? { kind: 'node', id } : { kind: 'node', id, region: regions[0]!.slice(REGION_URI_PREFIX.length) };
}

/** Whom the caller's certificate names, on the mutual-TLS peer port. */
export function identityOf(call: { getAuthContext(): { sslPeerCertificate?: PeerCertificate } | null }): PeerIdentity | undefined {
  return identityOfCertificate(call.getAuthContext()?.sslPeerCertificate);
}
