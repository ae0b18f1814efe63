// What the operations of the application layer run on.

import type { Envelope } from '../crypto/envelope.js';
import type { DataKeyPolicy, VersionLimits } from '../vault/index.js';
import type { ClusterView } from './cluster-view.js';
import type { NodeContext } from './node-context.js';
import type { VaultApp } from './vault-app.js';

export interface AppDeps {
  readonly ctx: NodeContext;
  /** The replicated state, as this node has applied it. */
  readonly app: VaultApp;
  readonly envelope: Envelope;
  /** The cluster's name: the issuer of its tokens. */
  readonly issuer: string;
  /** Every node's report, mode changes and membership (Cluster RPCs). */
  readonly status: ClusterView;
  /** When a write first installs a new data key. */
  readonly dataKeyPolicy: DataKeyPolicy;
  /** The versions a secret or key may hold, stamped into each command that adds some. */
  readonly versionLimits: VersionLimits;
}
