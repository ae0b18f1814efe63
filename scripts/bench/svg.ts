// A hand-written SVG chart: p99 latency (log scale) against throughput, one
// line per case through its concurrency levels.

export interface Series {
  readonly label: string;
  readonly points: { x: number; y: number; c: number }[];
}

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function chart(title: string, series: readonly Series[]): string {
  const W = 900, H = 520, L = 70, R = 250, T = 40, B = 50;
  const pts = series.flatMap((s) => s.points).filter((p) => p.x > 0 && p.y > 0);
  const maxX = Math.max(1, ...pts.map((p) => p.x)) * 1.05;
  const lo = Math.floor(Math.log10(Math.min(1, ...pts.map((p) => p.y))));
  const hi = Math.ceil(Math.log10(Math.max(10, ...pts.map((p) => p.y))));
  const px = (x: number) => L + (x / maxX) * (W - L - R);
  const py = (y: number) => H - B - ((Math.log10(y) - lo) / (hi - lo)) * (H - T - B);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${L}" y="22" font-size="15">${esc(title)}</text>`,
  ];
  for (let e = lo; e <= hi; e++) {
    const y = py(10 ** e);
    out.push(`<line x1="${L}" y1="${y}" x2="${W - R}" y2="${y}" stroke="#ddd"/>`, `<text x="${L - 8}" y="${y + 4}" text-anchor="end">${10 ** e} ms</text>`);
  }
  const step = 10 ** Math.floor(Math.log10(maxX / 5));
  const tick = [1, 2, 5, 10].map((m) => m * step).find((t) => maxX / t <= 8) ?? step * 10;
  for (let x = 0; x <= maxX; x += tick) {
    out.push(`<line x1="${px(x)}" y1="${T}" x2="${px(x)}" y2="${H - B}" stroke="#eee"/>`, `<text x="${px(x)}" y="${H - B + 16}" text-anchor="middle">${Math.round(x)}</text>`);
  }
  out.push(
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/>`,
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="black"/>`,
    `<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">throughput (calls/s)</text>`,
    `<text x="16" y="${(T + H - B) / 2}" transform="rotate(-90 16 ${(T + H - B) / 2})" text-anchor="middle">p99 latency (log)</text>`,
  );
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const ps = s.points.filter((p) => p.x > 0 && p.y > 0).sort((a, b) => a.c - b.c);
    const dash = s.label.startsWith('etcd') ? ' stroke-dasharray="6 4"' : '';
    if (ps.length > 1) out.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${ps.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ')}"/>`);
    for (const p of ps) {
      out.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3.5" fill="${color}"><title>${esc(s.label)} c=${p.c}: ${Math.round(p.x)}/s, p99 ${p.y.toFixed(2)} ms</title></circle>`);
      out.push(`<text x="${(px(p.x) + 5).toFixed(1)}" y="${(py(p.y) - 5).toFixed(1)}" font-size="9" fill="${color}">${p.c}</text>`);
    }
    const ly = T + 10 + i * 18;
    out.push(`<line x1="${W - R + 15}" y1="${ly}" x2="${W - R + 40}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`, `<text x="${W - R + 46}" y="${ly + 4}">${esc(s.label)}</text>`);
  });
  out.push(`<text x="${W - R + 15}" y="${H - B}" font-size="10" fill="#555">point labels: calls in flight</text>`, '</svg>');
  return out.join('\n') + '\n';
}
