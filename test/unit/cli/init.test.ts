import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@nvcf-ecr/core/config';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../../packages/cli/src/index.ts';
import { captureIo } from './io.ts';

const HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nvcf-ecr-init-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function init(args: string[]) {
  const io = captureIo();
  const code = await main(['init', ...args], io);
  return { code, out: io.out(), err: io.err() };
}

describe('Command: nvcf-ecr init', () => {
  it('writes a configuration that loads, with the flags and the documented defaults', async () => {
    const out = join(dir, 'nvcf-ecr.config.ts');
    const {
      code,
      out: stdout,
      err,
    } = await init([
      '--hostname',
      HOST,
      '--registry-name',
      'prod',
      '--repository',
      'inference',
      '--arm64-repository',
      'inference-gb200',
      '--email',
      'platform-team@example.com',
      '--out',
      out,
    ]);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(
      `wrote ${out}: registry prod (${HOST}, 2 repositories), NVCF credential 'ecr-prod'`,
    );
    const config = await loadConfig(out);
    const [registry, ...others] = config.registries;
    expect(others).toEqual([]);
    expect(config.ngc.apiKeySecretName).toBe('nvcf-ecr/ngc-api-key');
    expect(config.notifications.email).toEqual(['platform-team@example.com']);
    expect(registry).toMatchObject({
      name: 'prod',
      hostname: HOST,
      repositories: ['inference', 'inference-gb200'],
      credentialName: 'ecr-prod',
      userName: 'nvcf-ecr-prod',
      secretName: 'nvcf-ecr/prod/pull-key',
      rotation: { schedule: 'rate(30 days)', graceHours: 24 },
      // GB200 functions run on Grace (Arm) CPUs.
      platforms: {
        require: ['linux/amd64'],
        repositories: { 'inference-gb200': ['linux/amd64', 'linux/arm64'] },
      },
    });
  });

  it('writes a module with no import, so it loads where the package is not installed', async () => {
    const out = join(dir, 'cfg.ts');
    await init(['--hostname', HOST, '--repository', 'inference', '--out', out]);
    const text = await readFile(out, 'utf8');
    expect(text).not.toMatch(/\bimport\b/);
    expect(text).toContain('export default {');
    expect((await loadConfig(out)).registries[0]).toMatchObject({
      name: 'default',
      credentialName: 'ecr-default',
    });
  });

  it('writes JSON when --out ends in .json', async () => {
    const out = join(dir, 'cfg.json');
    expect(
      (
        await init([
          '--hostname',
          'public.ecr.aws',
          '--account-id',
          '123456789012',
          '--repository',
          'models',
          '--out',
          out,
        ])
      ).code,
    ).toBe(0);
    const json = JSON.parse(await readFile(out, 'utf8')) as { registries: { accountId: string }[] };
    expect(json.registries[0]?.accountId).toBe('123456789012');
    expect((await loadConfig(out)).registries[0]).toMatchObject({
      kind: 'public',
      accountId: '123456789012',
    });
  });

  it('refuses to overwrite an existing file without --force, leaving it untouched', async () => {
    const out = join(dir, 'nvcf-ecr.config.ts');
    await writeFile(out, 'export default { mine: true };\n');
    const { code, err } = await init(['--hostname', HOST, '--repository', 'inference', '--out', out]);
    expect(code).toBe(2);
    expect(err).toBe(
      `nvcf-ecr: ${out} exists: pass --force to overwrite it\nRun 'nvcf-ecr init --help' for usage.\n`,
    );
    expect(await readFile(out, 'utf8')).toBe('export default { mine: true };\n');
  });

  it('overwrites with --force', async () => {
    const out = join(dir, 'nvcf-ecr.config.ts');
    await writeFile(out, 'export default { mine: true };\n');
    expect(
      (await init(['--hostname', HOST, '--repository', 'inference', '--out', out, '--force'])).code,
    ).toBe(0);
    expect((await loadConfig(out)).registries[0]?.hostname).toBe(HOST);
  });

  it('names the flag of every invalid value and writes nothing', async () => {
    const out = join(dir, 'nvcf-ecr.config.ts');
    const { code, err } = await init([
      '--hostname',
      HOST,
      '--repository',
      'Inference',
      '--credential-name=-bad',
      '--email',
      'nobody',
      '--out',
      out,
    ]);
    expect(code).toBe(2);
    expect(err).toContain("--repository: repository 'Inference' must be lower case");
    expect(err).toContain('--credential-name: NVCF credential names start with a letter or digit');
    expect(err).toContain('--email: must be an e-mail address');
    expect(existsSync(out)).toBe(false);
  });

  it('requires --hostname', async () => {
    const { code, err } = await init(['--repository', 'inference', '--out', join(dir, 'x.ts')]);
    expect(code).toBe(2);
    expect(err).toBe("nvcf-ecr: --hostname is required\nRun 'nvcf-ecr init --help' for usage.\n");
  });

  it('requires a repository', async () => {
    const { code, err } = await init(['--hostname', HOST, '--out', join(dir, 'x.ts')]);
    expect(code).toBe(2);
    expect(err).toMatch(/^nvcf-ecr: give at least one --repository \(or --arm64-repository\)\n/);
  });

  it('rejects an --out the configuration loader cannot read', async () => {
    const { code, err } = await init([
      '--hostname',
      HOST,
      '--repository',
      'inference',
      '--out',
      join(dir, 'cfg.yaml'),
    ]);
    expect(code).toBe(2);
    expect(err).toContain("--out must end in .ts, .mjs or .json, got '");
  });
});
