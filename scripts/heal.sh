#!/usr/bin/env bash
# Removes every partition made by scripts/partition.sh.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
node "$ROOT/dist/scripts/faults.js" --topology "$TOPOLOGY" --pki "$PKI" heal
