#!/usr/bin/env bash
# The seed's failover scenario against the local cluster, with a timed report.
# Starts the cluster if it is not running. Usage: scripts/failover-test.sh [RUNS]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
runs=${1:-1}
[ -f "$ROOT/dist/scripts/failover-scenario.js" ] || { echo "not built: run make build" >&2; exit 1; }
running=0
for n in $(all_nodes); do pid_of "$n" >/dev/null && running=$((running + 1)); done
if [ "$running" -lt "$(all_nodes | wc -l)" ]; then
  "$(dirname "$0")/cluster-up.sh" >/dev/null
fi
exec node "$ROOT/dist/scripts/failover-scenario.js" --runs "$runs" --topology "$TOPOLOGY" --ca "$PKI/ca.crt" --token-file "$DATA/admin.token"
