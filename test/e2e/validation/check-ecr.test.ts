import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ECRClient } from '@aws-sdk/client-ecr';
import { loadConfig } from '@nvcf-ecr/core/config';
import { type RunningSandbox, startSandbox } from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../../packages/cli/src/index.ts';
import { b1Compliant } from '../../helpers/regclient.ts';
import { clients, control } from '../../helpers/sandbox.ts';
import { captureIo } from '../../unit/cli/io.ts';
import { BUILT, Layout, pushWithApi, REGCLIENT } from './helpers.ts';

/**
 * `nvcf-ecr check <ECR image URI>` against the sandbox started with the example configuration: the image is
 * read through the ECR API with the standard AWS credential chain (here the environment variables), `--endpoint`
 * points the client at the sandbox, and the output contract and exit codes are those of the `oci:` sources.
 * Without `--require`, an image of a configured repository is judged by that repository's policy.
 */

const HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const BIN = 'packages/cli/bin/nvcf-ecr.js';
const built = new Layout(BUILT);
const regclient = new Layout(REGCLIENT);

describe('Command: nvcf-ecr check <ECR image>', () => {
  let sb: RunningSandbox;
  let ecr: ECRClient;

  beforeAll(async () => {
    // The example configuration: inference needs linux/amd64, inference-gb200 linux/amd64 and linux/arm64.
    sb = await startSandbox({ config: await loadConfig('nvcf-ecr.config.ts') });
    ecr = clients(sb).ecr;
    await pushWithApi(ecr, built, 'amd64-oci', 'inference-gb200', 'amd64-only');
    await pushWithApi(ecr, regclient, 'b1', 'inference-gb200', 'v1');
    await pushWithApi(ecr, built, 'windows-amd64', 'inference', 'windows');
  });
  afterAll(() => sb.close());

  /** Runs the CLI in-process with the sandbox's key in the environment, as the SDK's credential chain reads it. */
  async function check(...args: string[]) {
    vi.stubEnv('AWS_ACCESS_KEY_ID', sb.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', sb.secretAccessKey);
    const io = captureIo();
    const code = await main(['check', ...args, '--endpoint', sb.awsEndpoint], io);
    // Whatever happens, the key the credential chain handed the SDK never reaches the output.
    expect(`${io.out()}${io.err()}`).not.toContain(sb.secretAccessKey);
    return { code, out: io.out(), err: io.err() };
  }

  it('checks an image by tag with the same JSON contract as a local build, exit 0 when compliant', async () => {
    const r = await check(`${HOST}/inference-gb200:v1`, '--json');
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(JSON.parse(r.out)).toEqual({
      reference: `${HOST}/inference-gb200:v1`,
      digest: regclient.digest('b1'),
      ...b1Compliant('inference-gb200'),
    });
  });

  it("judges by the repository's policy from the configuration when --require is not given (exit 1)", async () => {
    const r = await check(`${HOST}/inference-gb200:amd64-only`, '--json', '--config', 'nvcf-ecr.config.ts');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({
      required: ['linux/amd64', 'linux/arm64'],
      missing: ['linux/arm64'],
      verdict: 'non-compliant',
    });
  });

  it('lets --require override the policy', async () => {
    const r = await check(`${HOST}/inference-gb200:amd64-only`, '--json', '--require', 'linux/amd64');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ required: ['linux/amd64'], verdict: 'compliant' });
  });

  it('uses the default linux/amd64 for a repository the configuration does not list', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nvcf-ecr-check-'));
    try {
      const other = join(dir, 'other.json');
      await writeFile(
        other,
        JSON.stringify({
          ngc: { apiKeySecretName: 'ngc' },
          registries: [
            {
              name: 'other',
              hostname: '210987654321.dkr.ecr.us-east-1.amazonaws.com',
              repositories: ['inference-gb200'],
              credentialName: 'x',
              platforms: { require: ['linux/arm64'] },
            },
          ],
        }),
      );
      const r = await check(`${HOST}/inference-gb200:amd64-only`, '--json', '--config', other);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out)).toMatchObject({ required: ['linux/amd64'], verdict: 'compliant' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('checks by digest and prints the human report', async () => {
    const digest = built.digest('windows-amd64');
    const r = await check(`${HOST}/inference@${digest}`);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`non-compliant  ${HOST}/inference@${digest}`);
    expect(r.out).toContain('windows/amd64 does not count: NVCF runs linux containers');
  });

  it('exits 2 naming the tag and repository when the tag does not exist', async () => {
    const r = await check(`${HOST}/inference:nope`);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toBe(
      "nvcf-ecr: error: tag 'nope' was not found in repository inference of registry 123456789012: check the tag, or push the image\n",
    );
  });

  it('exits 2 for a repository that does not exist, without a stack trace', async () => {
    const r = await check(`${HOST}/nothing-here:v1`);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /^nvcf-ecr: error: ecr:BatchGetImage of tag v1 in repository nothing-here of registry 123456789012 failed: repository nothing-here does not exist in registry 123456789012; check the name and the region\n$/,
    );
  });

  it('refuses an ECR Public image and a malformed reference with usage errors', async () => {
    const pub = await check('public.ecr.aws/nvidia/cuda:12');
    expect(pub.code).toBe(2);
    expect(pub.err).toBe(
      "nvcf-ecr: 'public.ecr.aws/nvidia/cuda:12' is an ECR Public image, which the ECR API does not serve: copy it with 'skopeo copy docker://public.ecr.aws/nvidia/cuda:12 oci:DIR:TAG' and check oci:DIR:TAG\nRun 'nvcf-ecr check --help' for usage.\n",
    );
    const bad = await check('123456789012.dkr.ecr.us-east-1.amazonaws.com/Inference:v1');
    expect(bad.code).toBe(2);
    expect(bad.err).toBe(
      "nvcf-ecr: Image reference '123456789012.dkr.ecr.us-east-1.amazonaws.com/Inference:v1' has an invalid repository name 'Inference': it must be lower case (use 'inference')\nRun 'nvcf-ecr check --help' for usage.\n",
    );
  });

  it('runs as the real executable with credentials from the environment', async () => {
    const since = (await control<{ calls: { seq: number }[] }>(sb, 'GET', 'calls')).calls.at(-1)?.seq ?? 0;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [BIN, 'check', `${HOST}/inference-gb200:v1`, '--endpoint', sb.awsEndpoint, '--json'],
      {
        env: {
          PATH: process.env['PATH'],
          AWS_ACCESS_KEY_ID: sb.accessKeyId,
          AWS_SECRET_ACCESS_KEY: sb.secretAccessKey,
        },
      },
    );
    expect(JSON.parse(stdout)).toMatchObject({ verdict: 'compliant', digest: regclient.digest('b1') });
    const { calls } = await control<{
      calls: { service: string; operation: string; accessKeyId?: string }[];
    }>(sb, 'GET', `calls?since=${since}`);
    // Signed with the key from the environment: 1 BatchGetImage by tag, 1 for the 4 children, 4 configs.
    expect(
      calls
        .filter((c) => c.accessKeyId === sb.accessKeyId)
        .map((c) => `${c.service}.${c.operation}`)
        .sort(),
    ).toEqual(
      ['ecr.BatchGetImage', 'ecr.BatchGetImage', ...Array(4).fill('ecr.GetDownloadUrlForLayer')].sort(),
    );
  });
});
