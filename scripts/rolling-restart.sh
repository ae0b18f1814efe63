#!/usr/bin/env bash
# Restarts every node of a region (or of the whole cluster, region by
# region), one at a time: followers first and the leader last. Each node is
# drained (SIGTERM: a leader hands leadership over first), started again,
# and waited for until it has caught up before the next one stops, so the
# region keeps its quorum throughout.
# Usage: scripts/rolling-restart.sh [REGION]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[ -f "$ROOT/dist/scripts/rolling.js" ] || { echo "not built: run make build" >&2; exit 1; }
if [ $# -gt 0 ]; then
  is_region "$1" || { echo "unknown region: $1" >&2; exit 2; }
  regions=$1
else
  regions=$(topology_query 't.regions.forEach(r => console.log(r.name))')
fi
rolling() { node "$ROOT/dist/scripts/rolling.js" --topology "$TOPOLOGY" --pki "$PKI" "$@"; }
started=$(date +%s%N)
for region in $regions; do
  for n in $(rolling order "$region"); do
    echo "== $n"
    "$(dirname "$0")/kill-node.sh" "$n" --graceful
    "$(dirname "$0")/start-node.sh" "$n"
    rolling wait "$n"
  done
done
echo "rolling restart done in $(( ($(date +%s%N) - started) / 1000000 )) ms"
