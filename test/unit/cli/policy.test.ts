import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../packages/cli/src/index.ts';
import { privatePolicy, publicPolicy } from '../core/iam/fixtures.ts';
import { captureIo } from './io.ts';

async function run(args: string[]) {
  const io = captureIo();
  const code = await main(['policy', ...args], io);
  return { code, out: io.out(), err: io.err() };
}

let dir: string;
let single: string;
let multi: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nvcf-ecr-policy-'));
  const registry = (name: string, account: string, region: string, repositories: string[]) => ({
    name,
    hostname: `${account}.dkr.ecr.${region}.amazonaws.com`,
    repositories,
    credentialName: `ecr-${name}`,
  });
  single = join(dir, 'single.json');
  multi = join(dir, 'multi.json');
  await writeFile(
    single,
    JSON.stringify({
      ngc: { apiKeySecretName: 'ngc' },
      registries: [registry('prod', '111122223333', 'eu-west-1', ['models/llm', 'tools'])],
    }),
  );
  await writeFile(
    multi,
    JSON.stringify({
      ngc: { apiKeySecretName: 'ngc' },
      registries: [
        registry('prod', '111122223333', 'eu-west-1', ['models/llm']),
        registry('gov', '444455556666', 'us-gov-west-1', ['secure']),
      ],
    }),
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('Command: nvcf-ecr policy', () => {
  it('prints the policy of the only configured registry as JSON on stdout', async () => {
    const { code, out, err } = await run(['--config', single]);
    expect(code).toBe(0);
    expect(err).toBe('');
    expect(JSON.parse(out)).toEqual(
      privatePolicy([
        'arn:aws:ecr:eu-west-1:111122223333:repository/models/llm',
        'arn:aws:ecr:eu-west-1:111122223333:repository/tools',
      ]),
    );
  });

  it('prints the policy of the registry --registry names, with its partition in the ARNs', async () => {
    const { code, out } = await run(['--config', multi, '--registry', 'gov', '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual(
      privatePolicy(['arn:aws-us-gov:ecr:us-gov-west-1:444455556666:repository/secure']),
    );
  });

  it('refuses to guess between several registries without --registry', async () => {
    const { code, out, err } = await run(['--config', multi]);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toBe(
      "nvcf-ecr: the configuration has 2 registries: name one with --registry (prod, gov)\nRun 'nvcf-ecr policy --help' for usage.\n",
    );
  });

  it('rejects an unknown --registry, naming the configured ones', async () => {
    const { code, err } = await run(['--config', multi, '--registry', 'staging']);
    expect(code).toBe(2);
    expect(err).toContain("no registry named 'staging' in the configuration: the registries are prod, gov");
  });

  it('computes the policy from --hostname and --repository without a configuration', async () => {
    const { code, out, err } = await run([
      '--hostname',
      '123456789012.dkr.ecr.us-east-1.amazonaws.com',
      '--repository',
      'inference',
      '--repository',
      'inference-gb200',
    ]);
    expect(code).toBe(0);
    expect(err).toBe('');
    expect(JSON.parse(out)).toEqual(
      privatePolicy([
        'arn:aws:ecr:us-east-1:123456789012:repository/inference',
        'arn:aws:ecr:us-east-1:123456789012:repository/inference-gb200',
      ]),
    );
  });

  it('uses the aws-cn partition for a China hostname and warns that NVCF does not recognise it', async () => {
    const { code, out, err } = await run([
      '--hostname',
      '123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn',
      '--repository',
      'app',
    ]);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual(privatePolicy(['arn:aws-cn:ecr:cn-north-1:123456789012:repository/app']));
    expect(err).toMatch(/^nvcf-ecr policy: warning: NVCF recognises only the standard form /);
  });

  it('prints the ECR Public policy for public.ecr.aws with the owner account', async () => {
    const { code, out } = await run([
      '--hostname',
      'public.ecr.aws',
      '--account-id',
      '123456789012',
      '--repository',
      'models',
    ]);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual(publicPolicy(['arn:aws:ecr-public::123456789012:repository/models']));
  });

  it('rejects --hostname without --repository', async () => {
    const { code, err } = await run(['--hostname', '123456789012.dkr.ecr.us-east-1.amazonaws.com']);
    expect(code).toBe(2);
    expect(err).toBe(
      "nvcf-ecr: --hostname needs at least one --repository\nRun 'nvcf-ecr policy --help' for usage.\n",
    );
  });

  it('rejects --repository without --hostname', async () => {
    const { code, err } = await run(['--repository', 'inference']);
    expect(code).toBe(2);
    expect(err).toBe("nvcf-ecr: --repository needs --hostname\nRun 'nvcf-ecr policy --help' for usage.\n");
  });

  it('rejects mixing the configuration with --hostname', async () => {
    const { code, err } = await run([
      '--config',
      single,
      '--hostname',
      '123456789012.dkr.ecr.us-east-1.amazonaws.com',
      '--repository',
      'inference',
    ]);
    expect(code).toBe(2);
    expect(err).toContain('give either --registry/--config or --hostname/--repository, not both');
  });

  it('names the flag of every invalid value and prints no policy', async () => {
    const { code, out, err } = await run(['--hostname', 'registry.example.com', '--repository', 'Bad Name']);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toMatch(
      /^nvcf-ecr: --hostname: Registry hostname 'registry\.example\.com' is not an Amazon ECR registry hostname/,
    );
    expect(err).toContain("; --repository: repository 'Bad Name' must be lower case");
  });

  it('needs the owner account for public.ecr.aws', async () => {
    const { code, err } = await run(['--hostname', 'public.ecr.aws', '--repository', 'models']);
    expect(code).toBe(2);
    expect(err).toContain('--account-id: ECR Public registries need the owner account: give its 12-digit id');
  });
});
