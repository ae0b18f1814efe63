#!/usr/bin/env bash
# Disaster recovery: starts a NEW local cluster (cluster/local.json) from a
# snapshot file that `keyraft cluster snapshot save FILE` wrote.
# Usage: scripts/restore-cluster.sh FILE [--force]
#
# It needs the master key the snapshot was taken under (cluster/.data/master.key,
# or KEYRAFT_MASTER_KEY) and keeps the PKI. It refuses while any node runs, and
# refuses when a node's data folder is not empty unless --force, which deletes
# those folders (only the nodes' folders, after the file was checked). The
# primary region is seeded with the file's state; the secondary catches up
# from it. Then it starts the cluster, waits for health and prints the status,
# as `make cluster` does.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
file=${1:?usage: restore-cluster.sh FILE [--force]}
force=()
case "${2:-}" in
  --force) force=(--force) ;;
  "") ;;
  *) echo "usage: restore-cluster.sh FILE [--force]" >&2; exit 2 ;;
esac
[ -f "$file" ] || { echo "no such snapshot file: $file" >&2; exit 2; }
[ -f "$ROOT/dist/scripts/restore-snapshot.js" ] || { echo "not built: run make build" >&2; exit 1; }
[ -f "$MASTER_KEY" ] || { echo "no master key at $MASTER_KEY: the snapshot can only be restored with the key it was taken under" >&2; exit 1; }
running=()
for n in $(all_nodes); do
  if pid_of "$n" >/dev/null; then running+=("$n"); fi
done
if [ ${#running[@]} -gt 0 ]; then
  echo "refusing to restore: ${running[*]} still running; stop the cluster first (make cluster-stop)" >&2
  exit 1
fi
node "$ROOT/dist/scripts/restore-snapshot.js" --file "$file" --topology "$TOPOLOGY" --master-key "$MASTER_KEY" --data-root "$DATA" "${force[@]}"
exec "$(dirname "$0")/cluster-up.sh"
