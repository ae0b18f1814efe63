#!/usr/bin/env bash
# Kills one node: SIGKILL by default (a crash), SIGTERM with --graceful (a
# drain: a leader hands over leadership first).
# Usage: scripts/kill-node.sh NODE [--graceful]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
node_id=${1:?usage: kill-node.sh NODE [--graceful]}
is_node "$node_id" || { echo "unknown node: $node_id" >&2; exit 2; }
if ! pid=$(pid_of "$node_id"); then
  echo "$node_id is not running"
  exit 0
fi
if [ "${2:-}" = "--graceful" ]; then
  kill -TERM "$pid"
  for _ in $(seq 1 100); do is_alive "$pid" || break; sleep 0.1; done
  if is_alive "$pid"; then
    echo "$node_id did not stop within 10 s; killing it" >&2
    kill -KILL "$pid"
  fi
  echo "stopped $node_id (pid $pid)"
else
  kill -KILL "$pid"
  while is_alive "$pid"; do sleep 0.05; done
  echo "killed $node_id (pid $pid)"
fi
rm -f "$DATA/$node_id/pid"
