// The status page, in a real headless browser: Debian's Chromium, driven by
// playwright-core (installed with apt-get when missing, as the bench
// installs etcd). The page of a west node shows every node up, then a
// killed node as down, then, with the primary region gone, west as
// FAILED_OVER, each within a few seconds, refreshing by itself.

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { TestCluster, eventually } from './cluster.js';

t.setTimeout(420_000);

const CHROMIUM = '/usr/bin/chromium';

function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  if (process.getuid?.() !== 0) throw new Error(`${CHROMIUM} is missing and installing it needs root: apt-get install -y chromium`);
  execFileSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium'], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
}

t.test('the status page shows a killed node as down and a failed-over region as FAILED_OVER', async (t) => {
  ensureChromium();
  const cluster = await TestCluster.create({ regions: [{ name: 'east', nodes: 3 }, { name: 'west', nodes: 1 }], failoverAfterMs: 2000 });
  t.teardown(() => cluster.destroy());
  cluster.startAll();

  // The cluster CA is not the browser's: the page is checked, not the certificate (the metrics test checks that).
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ ignoreHTTPSErrors: true });
  await eventually('west-1 serves its status page', () => page.goto(`https://${cluster.node('west-1').metrics}/`));

  const row = (attr: string, id: string, value: string) => `tr[data-${attr}="${id}"][data-${attr === 'node' ? 'state' : 'mode'}="${value}"]`;
  const shows = async (selector: string, within: number, what: string) => {
    const started = Date.now();
    await page.waitForSelector(selector, { timeout: within });
    t.pass(`${what} after ${Date.now() - started} ms`);
  };

  for (const n of cluster.nodes) await shows(row('node', n.id, 'up'), 60_000, `${n.id} up`);
  await shows(row('region', 'west', 'STANDBY'), 60_000, 'west in standby');
  t.match(await page.textContent('#summary'), /answered by west-1/);

  await cluster.kill('east-3');
  await shows(row('node', 'east-3', 'down'), 5000, 'east-3 down');

  await cluster.kill('east-1');
  await cluster.kill('east-2');
  // failoverAfterMs (2 s) and a few seconds for the page.
  await shows(row('region', 'west', 'FAILED_OVER'), 10_000, 'west FAILED_OVER');
  for (const id of ['east-1', 'east-2']) t.ok(await page.$(row('node', id, 'down')), `${id} down`);
  t.equal(await page.textContent('#error'), '', 'the page reached its node every time');
});
