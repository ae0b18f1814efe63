#!/usr/bin/env bash
# Kills (SIGKILL) every node of a region at once, as a region outage would.
# Usage: scripts/kill-region.sh REGION
set -euo pipefail
source "$(dirname "$0")/lib.sh"
region=${1:?usage: kill-region.sh REGION}
pids=()
for n in $(region_nodes "$region"); do
  if pid=$(pid_of "$n"); then pids+=("$pid"); fi
done
[ ${#pids[@]} -gt 0 ] && kill -KILL "${pids[@]}"
for n in $(region_nodes "$region"); do rm -f "$DATA/$n/pid"; done
echo "killed region $region (${#pids[@]} nodes)"
