#!/usr/bin/env bash
# Cuts all traffic between A and B (each a node or a region), both ways.
# Usage: scripts/partition.sh A B      (undo with scripts/heal.sh)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
a=${1:?usage: partition.sh A B}
b=${2:?usage: partition.sh A B}
node "$ROOT/dist/scripts/faults.js" --topology "$TOPOLOGY" --pki "$PKI" partition "$(nodes_of "$a" | paste -sd,)" "$(nodes_of "$b" | paste -sd,)"
