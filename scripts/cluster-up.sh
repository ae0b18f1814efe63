#!/usr/bin/env bash
# `make cluster`: creates the master key and the PKI (cluster CA, node and
# operator certificates) if needed, starts every node of the
# local two-region cluster in the background, waits until it is healthy, and
# prints the endpoints and the status table.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
mkdir -p "$DATA"
# Made by an older version, it may be open to everyone: lock what is inside.
chmod 700 "$DATA"
if [ ! -f "$MASTER_KEY" ]; then
  node -e "import('$ROOT/dist/src/crypto/masterkey.js').then(m => console.log('created master key ' + m.createMasterKeyFile(process.argv[1]) + ' at ' + process.argv[1]))" "$MASTER_KEY"
fi
node "$ROOT/dist/scripts/pki.js" --topology "$TOPOLOGY" --dir "$PKI"
for n in $(all_nodes); do "$(dirname "$0")/start-node.sh" "$n"; done
node "$ROOT/dist/scripts/admin-token.js" --topology "$TOPOLOGY" --pki "$PKI" --out "$DATA/admin.token" --wait-ms 50000
node "$ROOT/dist/scripts/cluster-wait.js" --topology "$TOPOLOGY" --ca "$PKI/ca.crt" --token-file "$DATA/admin.token" --timeout-ms 50000
echo
echo "endpoints (client gRPC API, TLS with the cluster CA $PKI/ca.crt, administrator token in $DATA/admin.token):"
topology_query 't.regions.forEach(r => r.nodes.forEach(n => console.log(`  ${n.id.padEnd(8)} ${r.name.padEnd(6)} ${r.role.padEnd(10)} ${n.client}`)))'
echo
endpoints=$(topology_query 'console.log(t.regions.flatMap(r => r.nodes.map(n => n.client)).join(","))')
KEYRAFT_TOKEN=$(cat "$DATA/admin.token") "$ROOT/bin/keyraft" --endpoints "$endpoints" --ca "$PKI/ca.crt" cluster status || true
echo
echo "stop with: make cluster-stop    kill a node: scripts/kill-node.sh east-1"
