// src/api/gen is generated from proto/keyraft/v1 (scripts/gen-api-types.mjs)
// and committed, so that a clean clone builds with a bare tsc. This fails
// while the committed copy differs from what the .proto files generate now:
// run `make api-types` after changing one.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import t from 'tap';
import type { BackupSecretResponse, ClusterStatus as SdkClusterStatus, CreateVaultRequest, Vault } from '../../src/client/types.js';
import type { ClusterStatus as AppClusterStatus } from '../../src/app/cluster-view.js';
import { ROOT } from '../root.js';

function tree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.set(relative(dir, path), readFileSync(path, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

t.test('src/api/gen is what proto/ generates now (else run `make api-types`)', (t) => {
  const out = mkdtempSync(join(tmpdir(), 'keyraft-api-types-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'gen-api-types.mjs'), out], { stdio: ['ignore', 'ignore', 'inherit'] });
  const fresh = tree(out);
  const committed = tree(join(ROOT, 'src', 'api', 'gen'));
  t.same([...committed.keys()].sort(), [...fresh.keys()].sort(), 'the same files');
  const stale = [...fresh].filter(([name, text]) => committed.get(name) !== text).map(([name]) => name);
  t.same(stale, [], 'with the same contents');
  t.end();
});

// Compile-time: what the SDK's types, made from the generated ones, promise.
t.test('the SDK types keep the shapes callers rely on', (t) => {
  const vault: Vault = { name: 'v', id: 'keyraft://v', softDeleteRetentionDays: 90, purgeProtection: false, created: 1 };
  const created: number = vault.created; // int64 as a number
  const backup: BackupSecretResponse = { value: new Uint8Array([1]) }; // bytes as Uint8Array
  // @ts-expect-error a vault's name is required to create it
  const nameless: CreateVaultRequest = {};
  // The app's cluster view and the SDK read the same definition.
  const same = (s: AppClusterStatus): SdkClusterStatus => s;
  t.equal(created, 1);
  t.equal(backup.value.length, 1);
  t.same(nameless, {});
  t.equal(typeof same, 'function');
  t.end();
});
