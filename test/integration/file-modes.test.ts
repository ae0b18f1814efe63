// A node's data is its owner's alone: every folder under a node's data
// folder, LevelDB's included, is 0700 and every file 0600, whether the node
// is started directly (it sets its own umask) or by scripts/start-node.sh
// (which also keeps its log and pid file private).

import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { apiClient } from '../../src/server/api.js';
import { TestCluster, eventually } from './cluster.js';
import { ROOT } from '../root.js';

t.setTimeout(360_000);


function call(cluster: TestCluster, address: string, service: 'Vaults' | 'Secrets', method: string, request: object): Promise<grpc.ServiceError | null> {
  const def = apiClient(service).service[method]!;
  const client = new grpc.Client(address, cluster.clientCredentials());
  return new Promise((resolve) => {
    client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, request, new grpc.Metadata(), { deadline: Date.now() + 3000 }, (err) => {
      client.close();
      resolve(err);
    });
  });
}

/** A vault and a secret in it, once the node has a leader. */
async function writeSecret(cluster: TestCluster, address: string): Promise<void> {
  await eventually('a vault is created', async () => {
    const err = await call(cluster, address, 'Vaults', 'CreateVault', { name: 'modes' });
    return err === null || err.code === grpc.status.ALREADY_EXISTS ? true : undefined;
  });
  const err = await call(cluster, address, 'Secrets', 'SetSecret', { vault: 'modes', name: 'db', value: 'hunter2' });
  if (err !== null) throw err;
}

/** Every folder and file under `dir`, `dir` itself included, with its permission bits. */
function modes(dir: string): { path: string; dir: boolean; mode: number }[] {
  const out: { path: string; dir: boolean; mode: number }[] = [];
  const walk = (p: string) => {
    const s = lstatSync(p);
    out.push({ path: p, dir: s.isDirectory(), mode: s.mode & 0o777 });
    if (s.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
  };
  walk(dir);
  return out;
}

function checkModes(t: Test, dir: string): void {
  const found = modes(dir);
  const wrong = found.filter((f) => f.mode !== (f.dir ? 0o700 : 0o600)).map((f) => `${f.path} ${f.mode.toString(8)}`);
  t.ok(found.some((f) => f.path.includes(join('db', ''))), `LevelDB's files are among the ${found.length} checked`);
  t.same(wrong, [], `every folder under ${dir} is 0700 and every file 0600`);
}

t.test('a node started directly: its data folder and LevelDB', async (t) => {
  const cluster = await TestCluster.create({ regions: [{ name: 'east', nodes: 1 }] });
  t.teardown(() => cluster.destroy());
  cluster.startAll();
  const [node] = cluster.nodes;
  await writeSecret(cluster, node!.client);
  await cluster.stop(node!.id);
  checkModes(t, node!.dataDir);
});

function run(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(join(ROOT, 'scripts', script), args, { cwd: ROOT, env: { ...process.env, ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, out: `${stdout}${stderr}` });
    });
  });
}

t.test('a node started by scripts/start-node.sh: its data, its log and its pid file', async (t) => {
  const cluster = await TestCluster.create({ regions: [{ name: 'east', nodes: 1 }] });
  const [node] = cluster.nodes;
  const data = join(cluster.dir, 'scripts-data');
  const env: NodeJS.ProcessEnv = {
    KEYRAFT_TOPOLOGY: cluster.topologyFile,
    KEYRAFT_CLUSTER_DATA: data,
    KEYRAFT_MASTER_KEY: cluster.masterKeyFile,
    KEYRAFT_PKI: cluster.pkiDir,
  };
  const pidFile = join(data, node!.id, 'pid');
  t.teardown(async () => {
    await run('kill-node.sh', [node!.id], env);
    // In case the script could not: the node runs detached, outside TestCluster's reach.
    if (existsSync(pidFile)) {
      try {
        process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await cluster.destroy();
  });

  const started = await run('start-node.sh', [node!.id], env);
  t.equal(started.code, 0, started.out);
  await writeSecret(cluster, node!.client);
  t.equal(lstatSync(pidFile).mode & 0o777, 0o600, 'the pid file, while it runs');
  const stopped = await run('kill-node.sh', [node!.id, '--graceful'], env);
  t.match(stopped.out, /stopped/);
  t.ok(existsSync(join(data, node!.id, 'node.log')), 'the node log is there');
  checkModes(t, data);
});
