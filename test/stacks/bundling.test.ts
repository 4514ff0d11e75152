import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functionBundling, literalSchemaKeys } from '../../stacks/lib/bundling.ts';

// What the stacks add to SST's esbuild options (stacks/lib/bundling.ts) removes code and changes nothing that
// stays: the SDK's schemas are the same objects, only fewer. `synth-command.test.ts` runs the deployed bundles.

const root = new URL('../../', import.meta.url).pathname;
// SST's own esbuild, the one that bundles for `sst deploy`.
const esbuild = createRequire(join(root, 'node_modules/sst/package.json'))(
  'esbuild',
) as typeof import('esbuild');
const dependencies = Object.keys(
  (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> })
    .dependencies,
);
const CLIENTS = dependencies.filter((d) => d.startsWith('@aws-sdk/client-'));

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nvcf-ecr-bundling-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Bundles `contents` (resolved from the root) as SST does for deploy, with or without the stacks' additions. */
async function bundle(contents: string, options: { stacks: boolean; minify: boolean }): Promise<string> {
  const result = await esbuild.build({
    stdin: { contents, resolveDir: root, loader: 'js' },
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'esnext',
    mainFields: ['module', 'main'],
    minify: options.minify,
    write: false,
    logLevel: 'silent',
    ...(options.stacks ? functionBundling(root) : {}),
  });
  return result.outputFiles[0]?.text ?? '';
}

/**
 * A schema module's exports as plain data: thunks (`() => Shape$`) become the name of the export they return,
 * classes their name, maps their entries; so two copies of the module compare with `toEqual`.
 */
function plain(value: unknown, names: ReadonlyMap<unknown, string>, depth = 0): unknown {
  if (depth > 8) return '…';
  if (typeof value === 'function') {
    if (/^class\b/.test(Function.prototype.toString.call(value))) return { class: value.name };
    const target: unknown = (value as () => unknown)();
    return { thunk: names.get(target) ?? plain(target, names, depth + 1) };
  }
  if (value instanceof Map)
    return [...value].map(([k, v]) => [plain(k, names, depth + 1), plain(v, names, depth + 1)]);
  if (Array.isArray(value)) return value.map((v) => plain(v, names, depth + 1));
  if (value !== null && typeof value === 'object') {
    return {
      type: value.constructor?.name,
      ...Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v, names, depth + 1)])),
    };
  }
  return value;
}

async function schemaExports(client: string, stacks: boolean): Promise<unknown> {
  const code = await bundle(`export * from '${client}/dist-es/schemas/schemas_0.js';`, {
    stacks,
    minify: false,
  });
  const file = join(dir, `${client.replace(/\W/g, '_')}-${stacks ? 'stacks' : 'sst'}.mjs`);
  await writeFile(file, code);
  const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const names = new Map(Object.entries(module).map(([k, v]) => [v, k]));
  return Object.fromEntries(Object.entries(module).map(([k, v]) => [k, plain(v, names)]));
}

describe('Bundling: the SDK schemas as literal keys', () => {
  it('writes `[name]:` as the string a top-level const gives `name`, and nothing else', () => {
    const source = [
      'const _e = "error";',
      'const _q = "a \\"quoted\\" key";',
      'let _l = "mutable";',
      'function f() {',
      'const _n = "nested";',
      '}',
      'export var A$ = [-3, n0, _A, { [_e]: _c, [_q]: 1, [_l]: 2, [_n]: 3, [unknown]: 4 }];',
    ].join('\n');
    const out = literalSchemaKeys(source);
    expect(out.split('\n').at(-1)).toBe(
      'export var A$ = [-3, n0, _A, { "error": _c, "a \\"quoted\\" key": 1, [_l]: 2, "nested": 3, [unknown]: 4 }];',
    );
    // Only the key positions change.
    expect(out.split('\n').slice(0, -1)).toEqual(source.split('\n').slice(0, -1));
  });

  it('keeps every schema of every SDK client the functions use the same, export by export', async () => {
    expect(CLIENTS.length).toBeGreaterThan(0);
    for (const client of CLIENTS) {
      const [sst, stacks] = await Promise.all([schemaExports(client, false), schemaExports(client, true)]);
      expect(Object.keys(stacks as object).length, client).toBeGreaterThan(10);
      expect(stacks, client).toEqual(sst);
    }
  }, 60_000);

  it('lets esbuild drop the shapes of operations nobody imports, which it keeps without the plugin', async () => {
    const entry = "export { S3Client, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';";
    const [sst, stacks] = await Promise.all([
      bundle(entry, { stacks: false, minify: true }),
      bundle(entry, { stacks: true, minify: true }),
    ]);
    // An operation and a structure of S3 that the two commands never reach.
    for (const unused of ['PutBucketLifecycleConfiguration', 'AnalyticsExportDestination']) {
      expect(sst).toContain(`"${unused}"`);
      expect(stacks).not.toContain(`"${unused}"`);
    }
    for (const used of ['GetObjectRequest', 'PutObjectOutput', 'NoSuchKey'])
      expect(stacks).toContain(`"${used}"`);
    expect(stacks.length).toBeLessThan(sst.length);
  });
});

describe('Bundling: the client version, not the client package.json', () => {
  it('gives the user agent the client version and leaves the rest of package.json out', async () => {
    const pkg = JSON.parse(
      readFileSync(join(root, 'node_modules/@aws-sdk/client-s3/package.json'), 'utf8'),
    ) as { version: string; description: string };
    const entry = [
      "import { S3Client } from '@aws-sdk/client-s3';",
      "const client = new S3Client({ region: 'us-east-1' });",
      'export const userAgent = await client.config.defaultUserAgentProvider();',
    ].join('\n');
    const [sst, stacks] = await Promise.all([
      bundle(entry, { stacks: false, minify: true }),
      bundle(entry, { stacks: true, minify: true }),
    ]);
    expect(sst).toContain(pkg.description);
    expect(stacks).not.toContain(pkg.description);
    const file = join(dir, 'user-agent.mjs');
    await writeFile(file, stacks);
    const { userAgent } = (await import(pathToFileURL(file).href)) as { userAgent: [string, string?][] };
    expect(userAgent).toContainEqual(['api/S3', pkg.version]);
  });
});
