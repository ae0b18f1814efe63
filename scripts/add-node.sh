#!/usr/bin/env bash
# Grows a region of the local cluster by one node, online: the next id and
# ports of the region, a certificate naming its region, `member add` (a
# learner), its first start with --join, and its promotion to voter once it
# has caught up from the leader's snapshot and log.
# Usage: scripts/add-node.sh REGION
set -euo pipefail
source "$(dirname "$0")/lib.sh"
region=${1:?usage: add-node.sh REGION}
is_region "$region" || { echo "unknown region: $region" >&2; exit 2; }
[ -f "$ROOT/dist/scripts/membership.js" ] || { echo "not built: run make build" >&2; exit 1; }
node_id=$(membership add "$region")
echo "added $node_id to $region as a learner"
"$(dirname "$0")/start-node.sh" "$node_id"
membership promote "$node_id"
echo "$node_id is a voter of $region"
