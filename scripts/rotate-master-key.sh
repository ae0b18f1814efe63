#!/usr/bin/env bash
# Rotates the local cluster's master key while it serves:
#   1. installs NEWKEYFILE as cluster/.data/master.key, keeping the current
#      key as master.key.previous (both 0600);
#   2. restarts every node of both regions, one at a time (rolling-restart.sh:
#      followers first, the leader last, each caught up before the next), so
#      that each runs with the new key and the previous one (start-node.sh
#      passes master.key.previous when it exists);
#   3. calls Cluster.RotateMasterKey (`keyraft cluster rotate-master-key`),
#      which rewraps every data key under the new key once every node holds it;
#   4. waits until no node needs the previous key any more.
# Run it again with the same file to resume after a failure. Dropping
# master.key.previous afterwards is a separate step: see README.md.
# Usage: scripts/rotate-master-key.sh NEWKEYFILE
set -euo pipefail
source "$(dirname "$0")/lib.sh"
new=${1:?usage: rotate-master-key.sh NEWKEYFILE (make one with: node -e "import('./dist/src/crypto/masterkey.js').then(m => m.createMasterKeyFile('new.key'))")}
previous="$MASTER_KEY.previous"
[ -f "$ROOT/dist/src/node.js" ] || { echo "not built: run make build" >&2; exit 1; }
[ -f "$MASTER_KEY" ] || { echo "no master key at $MASTER_KEY: run make cluster" >&2; exit 1; }

# Loading checks the file (0600, 32 bytes in base64) and prints only the fingerprint.
fingerprint() {
  node -e "import('$ROOT/dist/src/crypto/masterkey.js').then(m => console.log(m.masterKeyFingerprint(m.loadMasterKey(process.argv[1]))), e => { console.error(e.message); process.exit(1); })" "$1"
}
endpoints=$(topology_query 'console.log(t.regions.flatMap(r => r.nodes.map(n => n.client)).join(","))')
cli() { KEYRAFT_TOKEN=${KEYRAFT_TOKEN:-$(cat "$DATA/admin.token")} "$ROOT/bin/keyraft" --endpoints "$endpoints" --ca "$PKI/ca.crt" "$@"; }
# The nodes that still hold a data key wrapped only under their previous master key.
needing_previous() {
  cli cluster status --output json | node -e "let s = ''; process.stdin.on('data', d => s += d).on('end', () => console.log(JSON.parse(s).nodes.filter(n => n.previousMasterKeyNeeded).map(n => n.id).join(' ')))"
}

new_fp=$(fingerprint "$new")
current_fp=$(fingerprint "$MASTER_KEY")
if [ "$new_fp" = "$current_fp" ]; then
  echo "$MASTER_KEY is already master key $new_fp: resuming"
else
  # master.key.previous is about to be replaced: nothing may need it still.
  if [ -f "$previous" ]; then
    still=$(needing_previous)
    [ -z "$still" ] || { echo "refusing: $still still need $previous (an earlier rotation has not reached them)" >&2; exit 1; }
  fi
  cp "$MASTER_KEY" "$previous.tmp" && chmod 600 "$previous.tmp" && mv "$previous.tmp" "$previous"
  cp "$new" "$MASTER_KEY.tmp" && chmod 600 "$MASTER_KEY.tmp" && mv "$MASTER_KEY.tmp" "$MASTER_KEY"
  echo "installed master key $new_fp as $MASTER_KEY; the previous one, $current_fp, is $previous"
fi
[ -f "$previous" ] || { echo "no $previous: the nodes need it to open the data keys wrapped before the rotation" >&2; exit 1; }

echo "restarting every node with both keys, one at a time" >&2
"$(dirname "$0")/rolling-restart.sh"
cli cluster rotate-master-key
for _ in $(seq 1 120); do
  still=$(needing_previous)
  [ -z "$still" ] && break
  echo "waiting for $still to apply the rotation" >&2
  sleep 0.5
done
[ -z "$still" ] || { echo "$still still need the previous master key; run this script again" >&2; exit 1; }
echo "every node now needs only master key $new_fp; $previous may be removed (see README.md, \"Rotating the master key\")"
