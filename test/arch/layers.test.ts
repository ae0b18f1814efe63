// The layer rules of DESIGN.md section 1 hold for src/ (see layers.ts for
// where each part sits and why), and the checker does fail when they do not.

import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import t from 'tap';
import { check, cycles, findSrc, problems, scan, specifiersOf } from './layers.js';

t.test('src/ keeps to the layers, has no import cycle, and the CLI imports only the client', (t) => {
  const { graph, unresolved } = scan(findSrc());
  t.ok(graph.size > 100, `read ${graph.size} files`);
  t.same(unresolved, [], 'every relative import names a file');
  const report = check(graph);
  for (const c of report.partCycles) t.comment(`parts importing each other in a circle (no file cycle): ${c.join(', ')}`);
  t.same(problems(report), [], 'no upward import, no cycle, no CLI import beyond the client');
  t.end();
});

t.test('every kind of import is read, and text that only mentions one is not', (t) => {
  const text = [
    "import a from './a.js';",
    "import type { B } from './b.js';",
    "import {\n  c,\n  d,\n} from './c.js';",
    "export * from './e.js';",
    "export { f } from './f.js';",
    "import './g.js';",
    "const h = await import('./h.js');",
    "type I = typeof import('./i.js');",
    "// import x from './comment.js';",
    "const s = \"import y from './string.js'\";",
    'const u = `import z from "./template.js"`;',
    "import fs from 'node:fs';",
  ].join('\n');
  t.same(specifiersOf('x.ts', text), ['./a.js', './b.js', './c.js', './e.js', './f.js', './g.js', './h.js', './i.js', 'node:fs']);
  t.end();
});

t.test('the checker reports an upward import, a cycle, a crossing of sides and a CLI import', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'keyraft-layers-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const files: Record<string, string> = {
    // raft (1) reaching up into storage (3): upward.
    'raft/core.ts': "import type { Store } from '../storage/store.js';\nexport const core = 1;",
    'storage/store.ts': "import { core } from '../raft/core.js';\nexport interface Store { n: typeof core }",
    // a cycle of three files inside one part (no layer rule broken).
    'vault/a.ts': "import { b } from './b.js';\nexport const a = b;",
    'vault/b.ts': "export { c as b } from './c.js';",
    'vault/c.ts': "export const c = 1;\nexport async function load() { return import('./a.js'); }",
    // the REST gateway leaning on the SDK: the two sides cross.
    'rest/routes.ts': "import type { Shape } from '../client/types.js';\nexport type S = Shape;",
    'client/types.ts': "export interface Shape { x: number }",
    // the CLI importing a server part.
    'cli/main.ts': "import { core } from '../raft/core.js';\nimport type { Shape } from '../client/types.js';\nexport const m: Shape = { x: core };",
  };
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  const report = check(scan(dir).graph);
  t.same(report.upward, [
    { from: 'raft/core.ts', to: 'storage/store.ts' },
    { from: 'rest/routes.ts', to: 'client/types.ts' },
  ]);
  t.same(report.fileCycles, [
    ['raft/core.ts', 'storage/store.ts'],
    ['vault/a.ts', 'vault/b.ts', 'vault/c.ts'],
  ]);
  t.same(report.cli, [{ from: 'cli/main.ts', to: 'raft/core.ts' }]);
  t.same(report.unplaced, []);
  const lines = problems(report);
  t.ok(lines.some((l) => l.startsWith('upward import: raft/core.ts (server 1) → storage/store.ts (server 3)')), lines.join('\n'));
  t.ok(lines.some((l) => l.startsWith('import across sides: rest/routes.ts (server 6) → client/types.ts (client 5)')), lines.join('\n'));
  t.ok(lines.some((l) => l === 'import cycle: vault/a.ts → vault/b.ts → vault/c.ts → vault/a.ts'), lines.join('\n'));
  t.end();
});

t.test('an unplaced part is reported, and a self-import is a cycle', (t) => {
  const graph = new Map([
    ['mystery/x.ts', ['mystery/x.ts', 'raft/core.ts']],
    ['raft/core.ts', []],
  ]);
  t.same(cycles(graph), [['mystery/x.ts']]);
  t.same(check(graph).unplaced, ['mystery']);
  t.end();
});
