import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { FUNCTIONS, type FunctionKey } from '@nvcf-ecr/core/events';
import { functionBundling } from '../../stacks/lib/bundling.ts';
import { ROOT, synthesize } from '../../stacks/lib/synth.ts';
import { median, round } from './lib/measure.ts';
import { bytes, type Row } from './lib/table.ts';

const NPM_MANIFESTS = new Set(['package.json', 'package-lock.json']);

/**
 * Cold start of each function as deployed: the stacks are synthesised offline (`stacks/lib/synth.ts`, which
 * bundles every function with SST's own esbuild exactly as `sst deploy` does: minified ESM, the AWS SDK v3
 * bundled from its ES modules and tree-shaken), and each function's asset is measured as it would be
 * uploaded.
 *
 * - `bundleBytes`: the bundled JavaScript of the asset (every `.mjs`/`.js` file in it). Beside the bundle, the
 *   asset holds SST's empty `package.json` and the `package-lock.json` its `npm install` writes (SST
 *   `runtime/handlers/node.js` runs it in deploy mode even with no package to install); they count in
 *   `assetBytes`. `dataFiles` counts any other JSON in the asset: none, since the audit asks AWS's policy simulator instead of shipping IAM's service data (1,399
 *   JSON files, 15 MB, when it evaluated policies itself).
 * - `initMs`: the median, over fresh `node` processes, of the time to `import()` the bundle, measured inside
 *   the process with `performance.now()` around the dynamic import. Each process has the environment the
 *   template gives the function (the validated configuration, the bus, the bucket; CloudFormation references
 *   replaced by plausible values) plus what Lambda sets (region, function name, the execution role's
 *   credentials), so the module-scope handler construction (`lambdaEntry`: config validation, SDK clients)
 *   runs as in Lambda's init phase.
 *
 * For the figures' floor, each bundle is rebuilt with the same esbuild (SST's pinned version) and options,
 * with a metafile, to split its bytes between the AWS SDK, our code and other dependencies.
 */

export interface ColdStartResult {
  bundleBytes: number;
  initMs: number;
  runs: number;
  /** Every file of the deployed asset, bundle included (what the zip holds). */
  assetBytes: number;
  assetFiles: number;
  /** JSON files in the asset besides SST's `package.json` and `package-lock.json`: data read at run time. */
  dataFiles: number;
  /** The bundle's bytes by origin (from the rebuilt metafile). */
  composition: {
    /** `@aws-sdk/*`, `@smithy/*`, `@aws-crypto/*`, `@aws/*` and the SDK's own dependencies. */
    awsSdk: number;
    /** `packages/*` and `functions/*` of this repository. */
    ours: number;
    /** Other npm packages, by name. */
    other: Record<string, number>;
    /** False when the rebuilt bundle's size differs from the deployed one (then the split is approximate). */
    matchesDeployed: boolean;
  };
}

export type ColdStartResults = Record<FunctionKey, ColdStartResult>;

const run = promisify(execFile);

/** SDK-internal dependencies counted with the SDK. */
const SDK_DEPENDENCIES = new Set(['fast-xml-parser', 'strnum', 'tslib', 'bowser', 'uuid', '@aws-crypto']);

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else out.push(path);
  }
  return out;
}

/** Replaces CloudFormation references in the function's environment by plausible literal values. */
function literalEnvironment(variables: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(variables)) {
    out[k] =
      typeof v === 'string' ? v : k.endsWith('_BUCKET') ? 'bench-reports-bucket' : `bench-${k.toLowerCase()}`;
  }
  return out;
}

interface DeployedFunction {
  readonly key: FunctionKey;
  readonly assetDir: string;
  readonly bundle: string;
  readonly environment: Record<string, string>;
}

/** Finds each function's asset and environment in the synthesised templates. */
async function deployedFunctions(assembly: string): Promise<DeployedFunction[]> {
  const templates = (await readdir(assembly)).filter((f) => f.endsWith('.template.json'));
  const found: DeployedFunction[] = [];
  for (const file of templates) {
    const template = JSON.parse(await readFile(join(assembly, file), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
    };
    for (const resource of Object.values(template.Resources)) {
      if (resource.Type !== 'AWS::Lambda::Function') continue;
      const handler = resource.Properties['Handler'];
      const key = (Object.keys(FUNCTIONS) as FunctionKey[]).find(
        (k) => `${FUNCTIONS[k].entry.replace(/\.ts$/, '')}.handler` === handler,
      );
      if (!key) continue;
      const s3Key = (resource.Properties['Code'] as { S3Key?: string } | undefined)?.S3Key ?? '';
      const assetDir = join(assembly, `asset.${s3Key.replace(/\.zip$/, '')}`);
      const bundle = join(assetDir, FUNCTIONS[key].entry.replace(/\.ts$/, '.mjs'));
      if (!existsSync(bundle)) throw new Error(`the asset of ${key} has no ${relative(assetDir, bundle)}`);
      const variables =
        (resource.Properties['Environment'] as { Variables?: Record<string, unknown> } | undefined)
          ?.Variables ?? {};
      found.push({ key, assetDir, bundle, environment: literalEnvironment(variables) });
    }
  }
  return found;
}

const PROBE = `const url = process.argv[2];
const started = performance.now();
const mod = await import(url);
const initMs = performance.now() - started;
if (typeof mod.handler !== 'function') { process.stderr.write('the bundle exports no handler function'); process.exit(2); }
process.stdout.write(JSON.stringify({ initMs }));
`;

async function initTimes(fn: DeployedFunction, probe: string, runs: number): Promise<number[]> {
  const env = {
    PATH: process.env['PATH'] ?? '',
    ...fn.environment,
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_LAMBDA_FUNCTION_NAME: FUNCTIONS[fn.key].name,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(FUNCTIONS[fn.key].memoryMb),
    // The execution role's temporary credentials, as Lambda puts them in the environment (never used here).
    AWS_ACCESS_KEY_ID: 'ASIAIOSFODNN7EXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    AWS_SESSION_TOKEN: 'bench-session-token',
  };
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const { stdout } = await run(process.execPath, [probe, pathToFileURL(fn.bundle).href], {
      cwd: fn.assetDir,
      env,
    });
    times.push((JSON.parse(stdout) as { initMs: number }).initMs);
  }
  return times;
}

/**
 * Rebuilds the bundle with SST's esbuild options for an ESM Node function (`sst/runtime/handlers/node.js`,
 * deploy mode) and the deployed bundle's own banner — SST's five lines, the last one the function's
 * `nodejs.banner` (empty for every function) — and splits its bytes by origin.
 */
async function composition(key: FunctionKey, deployed: string): Promise<ColdStartResult['composition']> {
  const code = await readFile(deployed, 'utf8');
  const sstRequire = createRequire(join(ROOT, 'node_modules/sst/package.json'));
  const esbuild = sstRequire('esbuild') as typeof import('esbuild');
  // SST's options for an ESM function in deploy mode, then what the stacks add, spread last as SST spreads them.
  const sst: import('esbuild').BuildOptions = {
    entryPoints: [FUNCTIONS[key].entry],
    absWorkingDir: ROOT,
    platform: 'node',
    external: ['sharp', 'pg-native'],
    keepNames: true,
    bundle: true,
    logLevel: 'silent',
    metafile: true,
    format: 'esm',
    target: 'esnext',
    mainFields: ['module', 'main'],
    banner: { js: code.split('\n').slice(0, 5).join('\n') },
    outfile: join(tmpdir(), `nvcf-ecr-bench-${key}.mjs`),
    write: false,
    sourcemap: false,
    minify: true,
  };
  const result = await esbuild.build({ ...sst, ...functionBundling(ROOT), metafile: true });
  const output = Object.values(result.metafile.outputs)[0];
  if (!output) throw new Error(`esbuild produced no output for ${key}`);
  let awsSdk = 0;
  let ours = 0;
  const other: Record<string, number> = {};
  for (const [path, input] of Object.entries(output.inputs)) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1];
    if (pkg === undefined) ours += input.bytesInOutput;
    else if (/^@(aws-sdk|smithy|aws-crypto|aws)\//.test(pkg) || SDK_DEPENDENCIES.has(pkg))
      awsSdk += input.bytesInOutput;
    else other[pkg] = (other[pkg] ?? 0) + input.bytesInOutput;
  }
  return {
    awsSdk,
    ours,
    other: Object.fromEntries(Object.entries(other).sort(([, a], [, b]) => b - a)),
    matchesDeployed: output.bytes === Buffer.byteLength(code),
  };
}

export async function benchColdStart(options: {
  runs?: number;
  log: (line: string) => void;
}): Promise<{ result: ColdStartResults; rows: Row[] }> {
  const runs = Math.max(10, options.runs ?? 11);
  const scratch = await mkdtemp(join(tmpdir(), 'nvcf-ecr-bench-'));
  try {
    const assembly = join(scratch, 'assembly');
    await synthesize({ stage: 'bench', outdir: assembly });
    const probe = join(scratch, 'probe.mjs');
    await writeFile(probe, PROBE);
    const result = {} as ColdStartResults;
    const rows: Row[] = [];
    const functions = await deployedFunctions(assembly);
    for (const key of Object.keys(FUNCTIONS) as FunctionKey[]) {
      const fn = functions.find((f) => f.key === key);
      if (!fn) throw new Error(`the synthesised stacks have no function for ${key}`);
      const files = await filesUnder(fn.assetDir);
      const sizes = await Promise.all(files.map(async (f) => ({ f, size: (await stat(f)).size })));
      const bundleBytes = sizes.filter(({ f }) => /\.(m?js)$/.test(f)).reduce((n, { size }) => n + size, 0);
      const assetBytes = sizes.reduce((n, { size }) => n + size, 0);
      // SST writes an empty `package.json` ({"dependencies":{}}) and the `package-lock.json` npm makes of it
      // beside every bundle; any other JSON in an asset is data the bundle reads at run time (IAM service data).
      const dataFiles = files.filter((f) => f.endsWith('.json') && !NPM_MANIFESTS.has(basename(f))).length;
      const times = await initTimes(fn, probe, runs);
      const initMs = median(times);
      const split = await composition(key, fn.bundle);
      result[key] = {
        bundleBytes,
        initMs: round(initMs, 1),
        runs,
        assetBytes,
        assetFiles: files.length,
        dataFiles,
        composition: split,
      };
      options.log(
        `coldStart.${key}: ${basename(fn.bundle)} ${bundleBytes} B (SDK ${split.awsSdk}, ours ${split.ours}, other ${JSON.stringify(split.other)}), asset ${assetBytes} B in ${files.length} files; init ${times.map((t) => t.toFixed(0)).join(' ')} ms`,
      );
      rows.push(
        {
          benchmark: `coldStart.${key} bundle (AWS SDK ${bytes(split.awsSdk)})`,
          measured: bytes(bundleBytes),
          target: '≤ 450,000 B',
          pass: bundleBytes <= 450_000,
        },
        {
          benchmark: `coldStart.${key} asset data files (IAM service data)`,
          measured: String(dataFiles),
          target: '0',
          pass: dataFiles === 0,
        },
        {
          benchmark: `coldStart.${key} init (median of ${runs})`,
          measured: `${initMs.toFixed(1)} ms`,
          target: '≤ 150 ms',
          pass: initMs <= 150,
        },
      );
    }
    return { result, rows };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
