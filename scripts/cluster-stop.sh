#!/usr/bin/env bash
# Stops every node of the local cluster gracefully (data is kept).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
for n in $(all_nodes); do "$(dirname "$0")/kill-node.sh" "$n" --graceful; done
