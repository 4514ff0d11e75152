import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { functionBundling } from '../../stacks/lib/bundling.ts';

/**
 * The production dependency closures of what users deploy and install, and the licence of every package in
 * them. Nothing AGPL, GPL or SSPL may be in them (many companies forbid it outright), and nothing whose
 * licence we cannot read: every licence must be one of {@link ALLOWED}.
 */

export const ROOT = resolve(import.meta.dirname, '../..');

/** Licences reviewed as fine to ship in an Apache-2.0 project. Anything else fails until reviewed. */
export const ALLOWED = new Set([
  'Apache-2.0',
  'MIT',
  'ISC',
  '0BSD',
  'BSD-2-Clause',
  'BSD-3-Clause',
  'BlueOak-1.0.0',
  'CC0-1.0',
  'Unlicense',
]);

/** Copyleft licences that must never reach a user's deployment or install. */
const FORBIDDEN = /^(AGPL|GPL|SSPL)/i;

export interface PackageLicence {
  readonly name: string;
  readonly dir: string;
  /** The `license` field (or the legacy `licenses` list joined with OR); undefined when there is none. */
  readonly licence: string | undefined;
}

export interface Violation extends PackageLicence {
  readonly closure: string;
  readonly why: string;
}

/** Reads a package's name and licence from its `package.json`. */
export async function packageLicence(dir: string): Promise<PackageLicence> {
  const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as {
    name?: string;
    license?: unknown;
    licenses?: { type?: string }[];
  };
  const licence =
    typeof pkg.license === 'string'
      ? pkg.license
      : Array.isArray(pkg.licenses)
        ? pkg.licenses.map((l) => l.type).join(' OR ')
        : undefined;
  return { name: pkg.name ?? dir, dir, licence };
}

/**
 * Why a licence is refused, or undefined when it is fine. An SPDX expression passes when one of its OR
 * alternatives has only allowed licences (AND and WITH parts all count).
 */
export function refusal(licence: string | undefined): string | undefined {
  if (licence === undefined || licence.trim() === '') return 'no licence declared';
  const alternatives = licence
    .replace(/[()]/g, ' ')
    .split(/\s+OR\s+/i)
    .map((a) =>
      a
        .split(/\s+(?:AND|WITH)\s+/i)
        .map((id) => id.trim())
        .filter(Boolean),
    );
  if (alternatives.some((ids) => ids.every((id) => ALLOWED.has(id)))) return undefined;
  const forbidden = alternatives.flat().filter((id) => FORBIDDEN.test(id));
  if (forbidden.length > 0) return `copyleft licence ${forbidden.join(', ')}`;
  return `licence ${licence} is not one of the reviewed licences`;
}

/** Every package directory a bundle's inputs come from (the nearest `node_modules/<name>`, or a workspace). */
export function packageDirs(inputs: readonly string[]): string[] {
  const dirs = new Set<string>();
  for (const input of inputs) {
    const abs = resolve(ROOT, input);
    const at = abs.lastIndexOf(`${sep}node_modules${sep}`);
    if (at >= 0) {
      const rest = abs.slice(at + 14).split(sep);
      const name = rest[0]?.startsWith('@') ? rest.slice(0, 2) : rest.slice(0, 1);
      dirs.add(join(abs.slice(0, at + 13), ...name));
    } else {
      // Our own code: the workspace package (packages/<name>) or the root (functions/).
      const ws = /^(.*packages[\\/][^\\/]+)[\\/]/.exec(abs)?.[1];
      dirs.add(ws ?? ROOT);
    }
  }
  return [...dirs].sort();
}

/**
 * The inputs esbuild bundles into a function, built as SST builds it for `sst deploy` (ESM, Node, the
 * module field first, the stacks' credential-provider alias): its metafile's inputs.
 */
export async function bundleInputs(entry: { path: string } | { contents: string; resolveDir: string }) {
  const result = await build({
    ...('path' in entry
      ? { entryPoints: [entry.path] }
      : { stdin: { contents: entry.contents, resolveDir: entry.resolveDir, loader: 'ts' as const } }),
    absWorkingDir: ROOT,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'esnext',
    mainFields: ['module', 'main'],
    external: ['sharp', 'pg-native'],
    // The stacks' additions (stacks/lib/bundling.ts): the credential alias and the SDK loaders.
    ...functionBundling(ROOT),
    metafile: true,
    write: false,
    logLevel: 'silent',
    outfile: 'out.mjs',
  });
  return Object.keys(result.metafile.inputs);
}

interface NpmNode {
  readonly path?: string;
  readonly version?: string;
  readonly dependencies?: Record<string, NpmNode>;
}

/**
 * `npm ls --omit=dev --all --json --long` of the given workspaces: every installed package of their
 * production closures, by directory. A node without a path is not installed (an optional peer nobody
 * provides) and is not in the closure.
 */
export async function npmClosure(workspaces: readonly string[]): Promise<Map<string, string[]>> {
  const run = promisify(execFile);
  // npm runs with the node that runs the tests first on its PATH.
  const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}` };
  const { stdout } = await run(
    'npm',
    ['ls', ...workspaces.flatMap((w) => ['-w', w]), '--omit=dev', '--all', '--json', '--long'],
    { cwd: ROOT, env, maxBuffer: 64 * 1024 * 1024 },
  );
  const tree = JSON.parse(stdout) as NpmNode;
  const out = new Map<string, string[]>();
  for (const [workspace, node] of Object.entries(tree.dependencies ?? {})) out.set(workspace, treeDirs(node));
  return out;
}

/** The directories of a node and of everything below it. */
export function treeDirs(node: NpmNode): string[] {
  const dirs = new Set<string>();
  const walk = (n: NpmNode) => {
    if (n.path) dirs.add(n.path);
    for (const child of Object.values(n.dependencies ?? {})) walk(child);
  };
  walk(node);
  return [...dirs].sort();
}

/** The packages of `dirs` whose licence is refused. */
export async function violations(closure: string, dirs: readonly string[]): Promise<Violation[]> {
  const out: Violation[] = [];
  for (const dir of dirs) {
    const p = await packageLicence(dir);
    const why = refusal(p.licence);
    if (why) out.push({ ...p, closure, why });
  }
  return out;
}
