#!/usr/bin/env bash
# Replaces a node (a broken machine) by a fresh one with the same id and
# addresses, online: it is removed from its region, its data is wiped, and
# it is added again as a learner, started with --join, and promoted once it
# has caught up. The region keeps its quorum throughout.
# Usage: scripts/replace-node.sh NODE
set -euo pipefail
source "$(dirname "$0")/lib.sh"
node_id=${1:?usage: replace-node.sh NODE}
is_node "$node_id" || { echo "unknown node: $node_id" >&2; exit 2; }
region=$(grep -o -- '--join [^ ]*' "$DATA/$node_id/join.args" 2>/dev/null | cut -d' ' -f2 ||
  topology_query "const r = t.regions.find(r => r.nodes.some(n => n.id === '$node_id')); console.log(r.name)")
started=$(date +%s%N)
is_removed "$node_id" || "$(dirname "$0")/remove-node.sh" "$node_id"
# An added node's addresses live in its join.args: kept across the wipe.
join_args=$(cat "$DATA/$node_id/join.args" 2>/dev/null || true)
rm -rf "${DATA:?}/$node_id"
if [ -n "$join_args" ]; then
  mkdir -p "$DATA/$node_id"
  echo "$join_args" >"$DATA/$node_id/join.args"
fi
membership add "$region" --id "$node_id" >/dev/null
echo "added a fresh $node_id to $region as a learner"
"$(dirname "$0")/start-node.sh" "$node_id"
membership promote "$node_id"
echo "replaced $node_id in $(( ($(date +%s%N) - started) / 1000000 )) ms"
