import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundle } from '../../../packages/cli/scripts/build.ts';
import { SANDBOX_MISSING } from '../../../packages/cli/src/sandbox-module.ts';

// The published `nvcf-ecr` package, proven offline: bundle it as prepack does (into a copy of the package, so
// the repository keeps running its sources), `npm pack` the copy, unpack the tarball into a fresh project
// whose node_modules holds ONLY the declared dependencies, and run the command from there as `npx nvcf-ecr`
// would. No TypeScript source and no workspace package is reachable from that project.

const run = promisify(execFile);
const CLI = resolve('packages/cli');
const pkg = JSON.parse(await readFile(join(CLI, 'package.json'), 'utf8')) as {
  version: string;
  bin: Record<string, string>;
  files: string[];
  engines: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies?: Record<string, string>;
};
// npm is next to the node running the tests.
const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}` };

describe('Package: nvcf-ecr', () => {
  let dir: string;
  let externals: string[];
  let files: string[];
  let installed: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nvcf-ecr-pack-'));
    const copy = join(dir, 'pkg');
    await mkdir(copy);
    await cp(join(CLI, 'package.json'), join(copy, 'package.json'));
    await cp(join(CLI, 'bin'), join(copy, 'bin'), { recursive: true });
    await cp(join(CLI, 'README.md'), join(copy, 'README.md'));
    ({ externals } = await bundle(join(copy, 'dist')));
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
      cwd: copy,
      env,
    });
    const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    files = (packed?.files ?? []).map((f) => f.path).sort();
    installed = join(dir, 'app', 'node_modules', 'nvcf-ecr');
    await mkdir(installed, { recursive: true });
    await run('tar', ['xzf', join(dir, packed?.filename ?? ''), '-C', installed, '--strip-components=1']);
    for (const dep of Object.keys(pkg.dependencies)) {
      await mkdir(dirname(join(dir, 'app', 'node_modules', dep)), { recursive: true });
      await symlink(resolve('node_modules', dep), join(dir, 'app', 'node_modules', dep), 'dir');
    }
  }, 120_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('declares a bin, the files it ships, Node 22 with type stripping, and no workspace package as a dependency', () => {
    expect(pkg.bin).toEqual({ 'nvcf-ecr': 'bin/nvcf-ecr.js' });
    expect(pkg.files).toEqual(['bin', 'dist']);
    expect(pkg.engines['node']).toBe('>=22.18.0');
    expect(Object.keys(pkg.dependencies).filter((d) => d.startsWith('@nvcf-ecr/'))).toEqual([]);
  });

  it('leaves external exactly the declared dependencies', () => {
    expect(externals).toEqual(Object.keys(pkg.dependencies).sort());
  });

  it('packs the entry point, the bundle and the docs, and no source', () => {
    expect(files).toEqual(['README.md', 'bin/nvcf-ecr.js', 'dist/nvcf-ecr.js', 'package.json']);
  });

  it('runs check from the installed tarball with only the declared dependencies', async () => {
    const image = `oci:${resolve('test/fixtures/images')}:multi-oci`;
    const { stdout } = await run(
      process.execPath,
      [join(installed, pkg.bin['nvcf-ecr'] ?? ''), 'check', image, '--json'],
      {
        cwd: join(dir, 'app'),
        env,
      },
    );
    // test/fixtures/README.md: multi-oci is buildah's amd64 + arm64 index.
    expect(JSON.parse(stdout)).toMatchObject({
      verdict: 'compliant',
      kind: 'index',
      platforms: ['linux/amd64', 'linux/arm64'],
      missing: [],
    });
  });

  it('prints its version and help from the bundle', async () => {
    const bin = join(installed, pkg.bin['nvcf-ecr'] ?? '');
    const version = await run(process.execPath, [bin, '--version'], { cwd: join(dir, 'app'), env });
    expect(version.stdout).toBe(`${pkg.version}\n`);
    const help = await run(process.execPath, [bin, 'doctor', '--help'], { cwd: join(dir, 'app'), env });
    expect(help.stdout).toMatch(/^Usage: nvcf-ecr doctor /);
  });

  it('tells the user the demo needs a clone of the repository when run elsewhere', async () => {
    const bin = join(installed, pkg.bin['nvcf-ecr'] ?? '');
    const err = await run(process.execPath, [bin, 'demo'], { cwd: join(dir, 'app'), env }).then(
      () => undefined,
      (e: { code?: number; stderr?: string }) => e,
    );
    expect(err?.code).toBe(2);
    expect(err?.stderr).toBe(
      "nvcf-ecr: error: the demo runs in a clone of nvcf-ecr-autopilot (it tells the story of the example nvcf-ecr.config.ts with the project's test images): clone it, run 'npm install', then 'npm start'\n",
    );
  });

  it('says in one line how to get the sandbox, which the published package does not carry (AGPL inside)', async () => {
    const bin = join(installed, pkg.bin['nvcf-ecr'] ?? '');
    const err = await run(process.execPath, [bin, 'sandbox', '--no-functions'], {
      cwd: join(dir, 'app'),
      env,
    }).then(
      () => undefined,
      (e: { code?: number; stderr?: string }) => e,
    );
    expect(err?.code).toBe(2);
    expect(err?.stderr).toBe(`nvcf-ecr: error: ${SANDBOX_MISSING}\n`);
    const bundled = await readFile(join(installed, 'dist', 'nvcf-ecr.js'), 'utf8');
    expect(bundled).not.toContain('@cloud-copilot');
  });
});
