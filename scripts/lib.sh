# Shared by the cluster scripts: where things are, and the topology's shape.
# Sourced, not run.

# What the scripts create (data folders, node logs, pid files) and what a node
# started from here writes (it inherits the umask: LevelDB's files too) is
# its owner's alone: folders 0700, files 0600. The data holds sealed secrets
# and keys, and names, tags and ciphertext in the clear.
umask 077

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOPOLOGY=${KEYRAFT_TOPOLOGY:-$ROOT/cluster/local.json}
DATA=${KEYRAFT_CLUSTER_DATA:-$ROOT/cluster/.data}
MASTER_KEY=${KEYRAFT_MASTER_KEY:-$DATA/master.key}
PKI=${KEYRAFT_PKI:-$DATA/pki}
# grpc-js puts 127.0.0.1 in TLS's server name and Node warns once per process
# (DEP0123); the certificate is still checked against the address. Kept out
# of the nodes' JSON logs and the scripts' output.
export NODE_OPTIONS="--disable-warning=DEP0123${NODE_OPTIONS:+ $NODE_OPTIONS}"

# topology_query EXPR: evaluates EXPR with `t` bound to the topology.
topology_query() {
  node -e "const t = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8')); $1" "$TOPOLOGY"
}

# Nodes added online (add-node.sh) are not in the topology: the flags of
# their first start, in $DATA/<id>/join.args, name them and their region. A
# node remove-node.sh took out is marked $DATA/<id>/removed and left out.
added_nodes() {
  local f
  for f in "$DATA"/*/join.args; do
    [ -f "$f" ] || continue
    if [ -z "${1:-}" ] || grep -q -- "--join $1 " "$f"; then basename "$(dirname "$f")"; fi
  done
}

is_removed() {
  [ -f "$DATA/$1/removed" ]
}

all_nodes() {
  { topology_query 't.regions.forEach(r => r.nodes.forEach(n => console.log(n.id)))'; added_nodes; } | sort -u | while read -r n; do is_removed "$n" || echo "$n"; done
}

region_nodes() {
  { topology_query "const r = t.regions.find(r => r.name === '$1'); if (!r) { console.error('no region $1 in the topology'); process.exit(2); } r.nodes.forEach(n => console.log(n.id))"; added_nodes "$1"; } |
    sort -u | while read -r n; do is_removed "$n" || echo "$n"; done
}

is_region() {
  topology_query "process.exit(t.regions.some(r => r.name === '$1') ? 0 : 1)"
}

is_node() {
  [ -f "$DATA/$1/join.args" ] || topology_query "process.exit(t.regions.some(r => r.nodes.some(n => n.id === '$1')) ? 0 : 1)"
}

# membership add|promote|remove ...: scripts/membership.ts, as the bootstrap administrator.
membership() {
  node "$ROOT/dist/scripts/membership.js" --topology "$TOPOLOGY" --data "$DATA" "$@"
}

# nodes_of X: the nodes of region X, or X itself if it is a node.
nodes_of() {
  if is_region "$1"; then region_nodes "$1"
  elif is_node "$1"; then echo "$1"
  else echo "unknown node or region: $1" >&2; return 2
  fi
}

# is_alive PID: the process runs. `kill -0` is not enough: a node started
# from here is its own session's orphan, so once it exits it stays a zombie
# until the system's first process reaps it, seconds later in a container.
# Where there is no /proc, kill -0 is all there is.
is_alive() {
  kill -0 "$1" 2>/dev/null || return 1
  [ -r "/proc/$1/stat" ] || return 0
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ $stat != Z* ]]
}

pid_of() {
  local f="$DATA/$1/pid"
  [ -f "$f" ] || return 1
  local pid
  pid=$(cat "$f")
  is_alive "$pid" || return 1
  echo "$pid"
}
