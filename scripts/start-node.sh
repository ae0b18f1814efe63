#!/usr/bin/env bash
# Starts one node of the local cluster in the background (no-op if it runs).
# Usage: scripts/start-node.sh NODE
set -euo pipefail
source "$(dirname "$0")/lib.sh"
node_id=${1:?usage: start-node.sh NODE}
is_node "$node_id" || { echo "unknown node: $node_id" >&2; exit 2; }
if is_removed "$node_id"; then
  echo "$node_id was removed from its region (remove-node.sh); scripts/replace-node.sh $node_id brings a fresh one" >&2
  exit 2
fi
[ -f "$ROOT/dist/src/node.js" ] || { echo "not built: run make build" >&2; exit 1; }
[ -f "$MASTER_KEY" ] || { echo "no master key at $MASTER_KEY: run make cluster" >&2; exit 1; }
[ -f "$PKI/nodes/$node_id.crt" ] || { echo "no certificate for $node_id in $PKI: run make cluster" >&2; exit 1; }
if pid=$(pid_of "$node_id"); then
  echo "$node_id is already running (pid $pid)"
  exit 0
fi
dir="$DATA/$node_id"
# During a master-key rotation (scripts/rotate-master-key.sh) the node also
# needs the previous key, to open the data keys wrapped before the rotation.
previous=()
[ -f "$MASTER_KEY.previous" ] && previous=(--previous-master-key "$MASTER_KEY.previous")
mkdir -p "$dir"
# A node added online (add-node.sh): its region and addresses, which the topology does not hold.
join_args=()
[ -f "$dir/join.args" ] && read -r -a join_args <"$dir/join.args"
# Made by an older version of this script, it may be open to everyone.
chmod 700 "$dir"
# --max-semi-space-size and MALLOC_MMAP_THRESHOLD_: see NODE_FLAGS and
# NODE_ENV in test/integration/cluster.ts.
MALLOC_MMAP_THRESHOLD_=131072 nohup node --max-semi-space-size=8 "$ROOT/dist/src/node.js" --topology "$TOPOLOGY" --node "$node_id" \
  --data-dir "$dir" --master-key "$MASTER_KEY" "${previous[@]}" --pki "$PKI" --fault-injection "${join_args[@]}" \
  >>"$dir/node.log" 2>&1 </dev/null &
echo $! >"$dir/pid"
echo "started $node_id (pid $!, log $dir/node.log)"
