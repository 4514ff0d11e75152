import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FUNCTIONS } from '@nvcf-ecr/core/events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bundleInputs,
  npmClosure,
  packageDirs,
  ROOT,
  refusal,
  treeDirs,
  type Violation,
  violations,
} from './closure.ts';

// Nothing AGPL, GPL or SSPL — and nothing of unknown licence — in what users deploy (every Lambda bundle, by
// its esbuild metafile) or install (the published CLI and the packages it is built from, by npm's own view
// of their production dependencies). The sandbox, a development tool, is the one place iam-simulate
// (AGPL-3.0-or-later) may live: packages/sandbox/README.md, "Licence".

const PUBLISHED = ['nvcf-ecr', '@nvcf-ecr/core', '@nvcf-ecr/nvcf'];

const summary = (list: readonly Violation[]) => list.map((v) => `${v.closure}: ${v.name} (${v.why})`);

describe('Licences of what users deploy and install', () => {
  let npm: Map<string, string[]>;
  let scratch: string;

  beforeAll(async () => {
    npm = await npmClosure(PUBLISHED);
    scratch = await mkdtemp(join(tmpdir(), 'nvcf-ecr-licences-'));
  }, 120_000);
  afterAll(() => rm(scratch, { recursive: true, force: true }));

  it('reads licences as SPDX expressions: copyleft, missing and unreviewed ones are refused', () => {
    expect(refusal('Apache-2.0')).toBeUndefined();
    expect(refusal('(MIT OR GPL-3.0-or-later)')).toBeUndefined();
    expect(refusal('AGPL-3.0-or-later')).toBe('copyleft licence AGPL-3.0-or-later');
    expect(refusal('GPL-2.0-only WITH Classpath-exception-2.0')).toContain('GPL-2.0-only');
    expect(refusal('SSPL-1.0')).toBe('copyleft licence SSPL-1.0');
    expect(refusal('MIT AND SSPL-1.0')).toBe('copyleft licence SSPL-1.0');
    expect(refusal(undefined)).toBe('no licence declared');
    expect(refusal('SEE LICENSE IN LICENSE.txt')).toContain('not one of the reviewed licences');
  });

  it('finds no refused licence in any function bundle', async () => {
    const found: Violation[] = [];
    for (const [key, fn] of Object.entries(FUNCTIONS)) {
      const dirs = packageDirs(await bundleInputs({ path: join(ROOT, fn.entry) }));
      expect(dirs.length, `${key} bundles packages`).toBeGreaterThan(1);
      found.push(...(await violations(`function ${key}`, dirs)));
    }
    expect(summary(found)).toEqual([]);
  }, 120_000);

  it('finds no refused licence in the production closures of the published CLI, core and nvcf', async () => {
    expect([...npm.keys()].sort()).toEqual([...PUBLISHED].sort());
    const found: Violation[] = [];
    for (const [workspace, dirs] of npm) found.push(...(await violations(`npm ${workspace}`, dirs)));
    expect(summary(found)).toEqual([]);
    // The development sandbox is no production dependency of anything published.
    expect([...npm.values()].flat().some((d) => d.includes('sandbox') || d.includes('cloud-copilot'))).toBe(
      false,
    );
  });

  it('fails when an AGPL package enters core’s closure: in a bundle, and in npm’s tree', async () => {
    // A bundle of core (every subpath) plus iam-simulate, resolved where the sandbox resolves it: the
    // regression this guards.
    const corePackage = JSON.parse(await readFile(join(ROOT, 'packages/core/package.json'), 'utf8')) as {
      exports: Record<string, string>;
    };
    const coreModules = Object.values(corePackage.exports).map(
      (target, i) => `export * as m${i} from '${join(ROOT, 'packages/core', target)}';\n`,
    );
    const bundled = packageDirs(
      await bundleInputs({
        contents: `${coreModules.join('')}export { runSimulation } from '@cloud-copilot/iam-simulate';\n`,
        resolveDir: join(ROOT, 'packages/sandbox'),
      }),
    );
    const inBundle = summary(await violations('core + iam-simulate', bundled));
    expect(inBundle).toContain(
      'core + iam-simulate: @cloud-copilot/iam-simulate (copyleft licence AGPL-3.0-or-later)',
    );
    // npm's tree of core with a dependency on a package that declares AGPL.
    const fake = join(scratch, 'node_modules', 'policy-engine');
    await mkdir(fake, { recursive: true });
    await writeFile(
      join(fake, 'package.json'),
      JSON.stringify({ name: 'policy-engine', version: '1.0.0', license: 'AGPL-3.0-only' }),
    );
    const core = npm.get('@nvcf-ecr/core') ?? [];
    const tree = {
      path: join(ROOT, 'packages/core'),
      dependencies: {
        ...Object.fromEntries(core.map((path) => [path, { path }])),
        'policy-engine': { path: fake, version: '1.0.0' },
      },
    };
    expect(summary(await violations('npm @nvcf-ecr/core', treeDirs(tree)))).toEqual([
      'npm @nvcf-ecr/core: policy-engine (copyleft licence AGPL-3.0-only)',
    ]);
  });
});
