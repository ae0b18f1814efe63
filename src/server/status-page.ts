// The status page of the operations port: one static HTML file whose script
// fetches /status.json every second and redraws two tables, regions and
// nodes. Rows carry data-region/data-mode and data-node/data-state, which
// the browser test reads. No framework, no external resource: the page
// works offline and under a strict content security policy.

export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>keyraft status</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 2em; color: #222; }
  table { border-collapse: collapse; margin-bottom: 2em; }
  th, td { padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: left; }
  th { background: #f4f4f4; }
  .down { color: #b00; font-weight: bold; }
  .mode-FAILED_OVER, .mode-NO_QUORUM { color: #b00; font-weight: bold; }
  .mode-SERVING { color: #070; }
  #error { color: #b00; }
</style>
</head>
<body>
<h1>keyraft</h1>
<p id="summary">loading…</p>
<p id="error"></p>
<h2>Regions</h2>
<table>
  <thead><tr><th>Region</th><th>Role</th><th>Mode</th><th>Leader</th><th>Failovers</th><th>Last transition</th></tr></thead>
  <tbody id="regions"></tbody>
</table>
<h2>Nodes</h2>
<table>
  <thead><tr><th>Node</th><th>Region</th><th>State</th><th>Role</th><th>Term</th><th>Commit</th><th>Applied</th><th>Leader</th><th>Mode</th><th>Geo lag</th></tr></thead>
  <tbody id="nodes"></tbody>
</table>
<script>
const cell = (text, cls) => {
  const td = document.createElement('td');
  td.textContent = String(text);
  if (cls) td.className = cls;
  return td;
};
const when = (ms) => (Number(ms) > 0 ? new Date(Number(ms)).toLocaleTimeString() : '');

function draw(s) {
  const regions = document.getElementById('regions');
  regions.replaceChildren(...s.regions.map((r) => {
    const tr = document.createElement('tr');
    tr.dataset.region = r.name;
    tr.dataset.mode = r.mode;
    const last = r.lastTransitionMs > 0 ? when(r.lastTransitionMs) + ' ' + r.lastTransitionReason : '';
    tr.append(cell(r.name), cell(r.role), cell(r.mode, 'mode-' + r.mode), cell(r.leader), cell(r.role === 'secondary' ? r.epoch : ''), cell(last));
    return tr;
  }));
  const primary = (s.regions.find((r) => r.role === 'primary') || {}).name;
  const nodes = document.getElementById('nodes');
  nodes.replaceChildren(...s.nodes.map((n) => {
    const tr = document.createElement('tr');
    tr.dataset.node = n.id;
    tr.dataset.state = n.reachable ? 'up' : 'down';
    const lag = n.region === primary || !n.reachable ? '' : n.geoLagEntries + ' entries, ' + n.geoLagMs + ' ms';
    tr.append(
      cell(n.id), cell(n.region), cell(n.reachable ? 'up' : 'down', n.reachable ? '' : 'down'),
      cell(n.reachable ? n.role : ''), cell(n.reachable ? n.term : ''), cell(n.reachable ? n.commitIndex : ''),
      cell(n.reachable ? n.appliedIndex : ''), cell(n.leader), cell(n.reachable ? n.mode : '', 'mode-' + n.mode), cell(lag),
    );
    return tr;
  }));
  document.getElementById('summary').textContent = 'answered by ' + s.answeredBy + ' at ' + when(s.atMs);
  document.getElementById('error').textContent = '';
}

async function refresh() {
  try {
    const res = await fetch('/status.json', { cache: 'no-store' });
    if (!res.ok) throw new Error(res.status + ' ' + (await res.text()));
    draw(await res.json());
  } catch (e) {
    document.getElementById('error').textContent = 'this node does not answer: ' + e.message;
  } finally {
    setTimeout(refresh, 1000);
  }
}
refresh();
</script>
</body>
</html>
`;
