// What the application layer knows of the node it runs on: who it is, its
// region's role and mode (which decide where a call runs), its replica, and
// where the other nodes take client calls. And the response headers that
// every front-end's answer carries, naming who served it (DESIGN §4).

import type { Logger } from 'pino';
import type { Replica } from '../replica/replica.js';
import type { VaultAppResult } from './vault-app.js';

export interface MasterKeyStatus {
  masterKeyFingerprint: string;
  /** "" when the node was given no previous master key. */
  previousMasterKeyFingerprint: string;
  previousMasterKeyNeeded: boolean;
}

export interface NodeContext {
  readonly nodeId: string;
  readonly region: string;
  readonly regionRole: 'primary' | 'secondary';
  readonly replica: Replica<VaultAppResult>;
  readonly logger: Logger;
  /** SERVING | NO_QUORUM (primary); STANDBY | FAILED_OVER (secondary). */
  mode(): string;
  /** The client address of a node of this region, by id. */
  clientAddress(nodeId: string): string | undefined;
  /** Client addresses of the primary region's nodes (for a secondary's forwarding). */
  readonly primaryAddresses: readonly string[];
  /** Secondary only: the primary log index the state reflects. */
  primaryIndex?(): number;
  /** The master keys this node holds, by fingerprint (status and RotateMasterKey). */
  masterKeys?(): MasterKeyStatus;
}

/** Response headers by name: gRPC sends them as metadata, REST as HTTP headers. */
export type ResponseHeaders = Readonly<Record<string, string>>;

/**
 * On a successful write: the primary log index of the entry that carried it
 * (for a retry deduplicated by request id, the first attempt's entry, when
 * known). A forwarded write relays it from the leader that served it.
 */
export const COMMIT_INDEX_HEADER = 'keyraft-commit-index';

/** The headers naming the node that answers (keyraft-region, -node, -mode, and a secondary's -primary-index). */
export function responseHeaders(node: NodeContext): ResponseHeaders {
  const headers: Record<string, string> = { 'keyraft-region': node.region, 'keyraft-node': node.nodeId, 'keyraft-mode': node.mode() };
  if (node.primaryIndex !== undefined) headers['keyraft-primary-index'] = String(node.primaryIndex());
  return headers;
}
