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

all_nodes() {
  topology_query 't.regions.forEach(r => r.nodes.forEach(n => console.log(n.id)))'
}

region_nodes() {
  topology_query "const r = t.regions.find(r => r.name === '$1'); if (!r) { console.error('no region $1 in the topology'); process.exit(2); } r.nodes.forEach(n => console.log(n.id))"
}

is_region() {
  topology_query "process.exit(t.regions.some(r => r.name === '$1') ? 0 : 1)"
}

is_node() {
  topology_query "process.exit(t.regions.some(r => r.nodes.some(n => n.id === '$1')) ? 0 : 1)"
}

# nodes_of X: the nodes of region X, or X itself if it is a node.
nodes_of() {
  if is_region "$1"; then region_nodes "$1"
  elif is_node "$1"; then echo "$1"
  else echo "unknown node or region: $1" >&2; return 2
  fi
}

pid_of() {
  local f="$DATA/$1/pid"
  [ -f "$f" ] || return 1
  local pid
  pid=$(cat "$f")
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}
