#!/usr/bin/env bash
# Starts every node of a region. Usage: scripts/start-region.sh REGION
set -euo pipefail
source "$(dirname "$0")/lib.sh"
region=${1:?usage: start-region.sh REGION}
for n in $(region_nodes "$region"); do "$(dirname "$0")/start-node.sh" "$n"; done
