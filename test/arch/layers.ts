// The import-layer checker (issue 21): DESIGN.md section 1 says imports point
// one way and never go round in a circle. This reads every src/**/*.ts file's
// imports, resolves the relative ones to files, and reports
//   (a) an import from a lower layer to a higher one,
//   (b) every import cycle between files (Tarjan's strongly connected
//       components), and
//   (c) the CLI importing anything but the client.
//
// Imports are read with the TypeScript compiler's parser, not a regex: a
// regex has to know about comments, strings and template literals that merely
// mention `import`, multi-line import lists, `import type`, `export * from`,
// `import()` in code and `typeof import('./x.js')` in types. The parser knows
// all of them, and typescript is already a devDependency (ts.createSourceFile
// parses one file without a program, so the whole tree takes well under a
// second). Type-only imports count: they tie the files together as much as
// any other.
//
// Where everything sits (highest first; an import may go down or sideways,
// never up):
//
//   server side                               client side
//   7 node.ts (the daemon entry), file-modes.ts, heap-growth.ts,
//     idle-collect.ts (the daemon's own process settings, for node.ts only)
//   6 server, rest, ops (front-ends) and      cli
//     topology.ts (the cluster file: read by
//     node.ts and ops, it gathers settings of
//     the front-ends and of the parts below)
//   5 app                                     client
//   4 replica, geo
//   3 vault, auth, crypto, storage, transport
//   2 wire (the Raft wire codec, which storage
//     and transport share)
//   1 raft: the core imports nothing at all, not even a shared leaf
//   0 shared leaves, importable from both sides: api (the public API's
//     message types, generated from proto/keyraft/v1), protos.ts (where
//     proto/ is and how it is loaded), client-port.ts (message limits the
//     server, the forwarder and the SDK must agree on), trace.ts (time
//     marks for the bench's timeline of one call). A leaf imports
//     nothing from src but itself.
//
// The two sides never import each other: the REST gateway speaks the app's
// shapes, not the SDK's, and the SDK does not lean on server code. The CLI
// imports only the client (no shared leaf either: it gets everything through
// the SDK). Parts on the same level may import each other as long as no
// files go round in a circle (b); cycles between parts of one level (which
// are not file cycles) are listed as information, not failures.

import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export type Side = 'server' | 'client' | 'shared';

export interface Place {
  /** The part: a folder under src/ (`app`) or a top-level file (`node.ts`). */
  readonly part: string;
  readonly level: number;
  readonly side: Side;
}

/** Level and side of every part; a part missing here is reported, so a new folder must be placed. */
export const PLACES: Readonly<Record<string, Omit<Place, 'part'>>> = {
  'node.ts': { level: 7, side: 'server' },
  'file-modes.ts': { level: 7, side: 'server' },
  'heap-growth.ts': { level: 7, side: 'server' },
  'idle-collect.ts': { level: 7, side: 'server' },
  server: { level: 6, side: 'server' },
  rest: { level: 6, side: 'server' },
  ops: { level: 6, side: 'server' },
  'topology.ts': { level: 6, side: 'server' },
  app: { level: 5, side: 'server' },
  replica: { level: 4, side: 'server' },
  geo: { level: 4, side: 'server' },
  vault: { level: 3, side: 'server' },
  auth: { level: 3, side: 'server' },
  crypto: { level: 3, side: 'server' },
  storage: { level: 3, side: 'server' },
  transport: { level: 3, side: 'server' },
  wire: { level: 2, side: 'server' },
  raft: { level: 1, side: 'server' },
  cli: { level: 6, side: 'client' },
  client: { level: 5, side: 'client' },
  api: { level: 0, side: 'shared' },
  'protos.ts': { level: 0, side: 'shared' },
  'client-port.ts': { level: 0, side: 'shared' },
  'trace.ts': { level: 0, side: 'shared' },
};

/** Parts that may import nothing from src at all. */
export const ISOLATED: ReadonlySet<string> = new Set(['raft']);

/** Parts the CLI may import besides itself. */
export const CLI_MAY_IMPORT: ReadonlySet<string> = new Set(['client']);

export interface Edge {
  readonly from: string;
  readonly to: string;
}

/** Files (paths relative to the root, with /) and their imports of other files under the root. */
export type Graph = ReadonlyMap<string, readonly string[]>;

/** Every module specifier a file names: static and type imports, re-exports, import(), import types, require. */
export function specifiersOf(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push(node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      found.push(node.moduleReference.expression.text);
    } else if (ts.isCallExpression(node) && node.arguments.length > 0) {
      const arg = node.arguments[0]!;
      const isImport = node.expression.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(node.expression) && node.expression.text === 'require';
      if ((isImport || isRequire) && ts.isStringLiteralLike(arg)) found.push(arg.text);
      else if (isImport) found.push(`<computed import() at ${fileName}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}>`);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push(node.argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function listTs(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listTs(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** The file a relative specifier names (`./x.js` is `./x.ts` in the sources), or undefined. */
function resolveRelative(fromFile: string, spec: string): string | undefined {
  const base = resolve(dirname(fromFile), spec);
  const candidates = [base.replace(/\.(m?)js$/, '.$1ts'), base, base + '.ts', join(base, 'index.ts')];
  return candidates.find((c) => c.endsWith('.ts') && existsSync(c) && statSync(c).isFile());
}

export interface Scan {
  readonly graph: Graph;
  /** Relative imports that name no file, and computed import()s: the checker cannot follow them. */
  readonly unresolved: readonly string[];
}

/** The import graph of every .ts file under `root`, with paths relative to root. */
export function scan(root: string): Scan {
  const graph = new Map<string, string[]>();
  const unresolved: string[] = [];
  const rel = (p: string): string => relative(root, p).split(sep).join('/');
  for (const file of listTs(root)) {
    const targets: string[] = [];
    for (const spec of specifiersOf(file, readFileSync(file, 'utf8'))) {
      if (spec.startsWith('<computed')) {
        unresolved.push(spec);
        continue;
      }
      if (!spec.startsWith('.')) continue; // a package or node: built-in
      const target = resolveRelative(file, spec);
      if (target === undefined) unresolved.push(`${rel(file)} → ${spec}`);
      else if (!relative(root, target).startsWith('..')) targets.push(rel(target));
      else unresolved.push(`${rel(file)} → ${spec} (outside ${root})`);
    }
    graph.set(rel(file), [...new Set(targets)]);
  }
  return { graph, unresolved };
}

/** The part a file belongs to: its first folder under the root, or the file itself at the top. */
export function partOf(file: string): string {
  const slash = file.indexOf('/');
  return slash < 0 ? file : file.slice(0, slash);
}

/** Tarjan's algorithm: the strongly connected components with more than one file, or a file importing itself. */
export function cycles(graph: Graph): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const found: string[][] = [];
  // Iterative, so a long chain of imports cannot overflow the call stack.
  for (const start of [...graph.keys()].sort()) {
    if (index.has(start)) continue;
    const work: { node: string; next: number }[] = [{ node: start, next: 0 }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const targets = graph.get(frame.node) ?? [];
      if (frame.next < targets.length) {
        const t = targets[frame.next++]!;
        if (!index.has(t)) {
          index.set(t, counter);
          low.set(t, counter++);
          stack.push(t);
          onStack.add(t);
          work.push({ node: t, next: 0 });
        } else if (onStack.has(t)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(t)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let n: string;
        do {
          n = stack.pop()!;
          onStack.delete(n);
          component.push(n);
        } while (n !== frame.node);
        const selfLoop = component.length === 1 && (graph.get(n) ?? []).includes(n);
        if (component.length > 1 || selfLoop) found.push(component.sort());
      }
    }
  }
  return found.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

export interface Report {
  /** Parts with no place in PLACES. */
  readonly unplaced: readonly string[];
  /** (a) imports from a lower layer to a higher one, or between the two sides. */
  readonly upward: readonly Edge[];
  /** (b) import cycles between files. */
  readonly fileCycles: readonly string[][];
  /** (c) the CLI importing something other than the client. */
  readonly cli: readonly Edge[];
  /** Information: parts of one level that import each other in a circle (without a file cycle). */
  readonly partCycles: readonly string[][];
}

export function check(graph: Graph, places: Readonly<Record<string, Omit<Place, 'part'>>> = PLACES): Report {
  const unplaced = new Set<string>();
  const upward: Edge[] = [];
  const cli: Edge[] = [];
  const partGraph = new Map<string, Set<string>>();
  for (const [from, targets] of graph) {
    const fromPart = partOf(from);
    const a = places[fromPart];
    if (a === undefined) unplaced.add(fromPart);
    for (const to of targets) {
      const toPart = partOf(to);
      if (toPart === fromPart) continue;
      const b = places[toPart];
      if (b === undefined) {
        unplaced.add(toPart);
        continue;
      }
      if (a === undefined) continue;
      if (!partGraph.has(fromPart)) partGraph.set(fromPart, new Set());
      partGraph.get(fromPart)!.add(toPart);
      if (fromPart === 'cli') {
        if (!CLI_MAY_IMPORT.has(toPart)) cli.push({ from, to });
        continue;
      }
      const crossSide = a.side !== 'shared' && b.side !== 'shared' && a.side !== b.side;
      // A shared leaf importing another (level 0 to level 0) is allowed; to anything else it is upward.
      if (ISOLATED.has(fromPart) || crossSide || b.level > a.level) upward.push({ from, to });
    }
  }
  const partCycles = cycles(new Map([...partGraph].map(([p, ts_]) => [p, [...ts_]])));
  return { unplaced: [...unplaced].sort(), upward, fileCycles: cycles(graph), cli, partCycles };
}

/** The report as lines a person can act on; empty when all is well. */
export function problems(report: Report, places: Readonly<Record<string, Omit<Place, 'part'>>> = PLACES): string[] {
  const where = (file: string): string => {
    const p = places[partOf(file)];
    return p === undefined ? '?' : `${p.side} ${p.level}`;
  };
  return [
    ...report.unplaced.map((p) => `unplaced part: ${p} (give it a level in test/arch/layers.ts)`),
    ...report.upward.map((e) => {
      const a = places[partOf(e.from)];
      const b = places[partOf(e.to)];
      const kind = a !== undefined && b !== undefined && a.side !== 'shared' && b.side !== 'shared' && a.side !== b.side ? 'import across sides' : 'upward import';
      return `${kind}: ${e.from} (${where(e.from)}) → ${e.to} (${where(e.to)})`;
    }),
    ...report.fileCycles.map((c) => `import cycle: ${c.join(' → ')} → ${c[0]}`),
    ...report.cli.map((e) => `CLI imports beyond the client: ${e.from} → ${e.to}`),
  ];
}

/** The repository's src/ folder, found by walking up from this file (it runs from test/ or dist/test/). */
export function findSrc(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'tsconfig.json')) && existsSync(join(dir, 'src', 'raft'))) return join(dir, 'src');
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find src/ above ' + import.meta.url);
    dir = parent;
  }
}
