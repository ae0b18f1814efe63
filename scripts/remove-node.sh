#!/usr/bin/env bash
# Takes a node out of its region, online (`member remove`; a leader hands
# leadership over first). The node stops by itself once it applies its
# removal; its data folder is kept, marked removed: the scripts leave it
# out, and it would not rejoin on its own anyway.
# Usage: scripts/remove-node.sh NODE
set -euo pipefail
source "$(dirname "$0")/lib.sh"
node_id=${1:?usage: remove-node.sh NODE}
is_node "$node_id" || { echo "unknown node: $node_id" >&2; exit 2; }
[ -f "$ROOT/dist/scripts/membership.js" ] || { echo "not built: run make build" >&2; exit 1; }
membership remove "$node_id"
if pid=$(pid_of "$node_id"); then
  for _ in $(seq 1 100); do is_alive "$pid" || break; sleep 0.1; done
  # Down while it was removed, it never learns it: stop it here.
  "$(dirname "$0")/kill-node.sh" "$node_id" --graceful >/dev/null
fi
mkdir -p "$DATA/$node_id"
touch "$DATA/$node_id/removed"
echo "removed $node_id"
