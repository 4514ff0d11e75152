import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { awsClientOptions, iamClientOptions, loadCommandConfig } from '../../../packages/cli/src/context.ts';

// The region the CLI's AWS clients use: --region, then AWS_REGION / AWS_DEFAULT_REGION, then the region of the
// AWS profile (as the SDK reads it), then the region the stacks deploy to.

/** The region a client built with these options resolves to. */
async function regionOf(options: ReturnType<typeof awsClientOptions>): Promise<string> {
  const client = new SecretsManagerClient(options);
  try {
    return await client.config.region();
  } finally {
    client.destroy();
  }
}

describe('Function: awsClientOptions', () => {
  let dir: string;
  let profiles: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nvcf-ecr-aws-config-'));
    profiles = join(dir, 'config');
    await writeFile(profiles, '[profile ops]\nregion = eu-west-3\n\n[profile bare]\noutput = json\n');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  function withoutEnvironmentRegion(profile: string | undefined) {
    vi.stubEnv('AWS_REGION', undefined);
    vi.stubEnv('AWS_DEFAULT_REGION', undefined);
    vi.stubEnv('AWS_CONFIG_FILE', profiles);
    vi.stubEnv('AWS_PROFILE', profile);
  }

  it('takes --region first, then AWS_REGION, then AWS_DEFAULT_REGION', async () => {
    withoutEnvironmentRegion('ops');
    const env = { AWS_REGION: 'ap-south-1', AWS_DEFAULT_REGION: 'ap-east-1' };
    expect(await regionOf(awsClientOptions({ region: 'sa-east-1' }, env, 'us-east-1'))).toBe('sa-east-1');
    expect(await regionOf(awsClientOptions({}, env, 'us-east-1'))).toBe('ap-south-1');
    expect(await regionOf(awsClientOptions({}, { AWS_DEFAULT_REGION: 'ap-east-1' }, 'us-east-1'))).toBe(
      'ap-east-1',
    );
  });

  it('takes the region of the AWS profile when neither --region nor the environment names one', async () => {
    withoutEnvironmentRegion('ops');
    expect(await regionOf(awsClientOptions({}, { AWS_PROFILE: 'ops' }, 'us-east-1'))).toBe('eu-west-3');
  });

  it('falls back to the deployment region when the profile names none', async () => {
    withoutEnvironmentRegion('bare');
    expect(await regionOf(awsClientOptions({}, { AWS_PROFILE: 'bare' }, 'us-west-2'))).toBe('us-west-2');
  });
});

describe('Function: iamClientOptions', () => {
  it("signs IAM for the partition's IAM region when an endpoint override is set", () => {
    const options = iamClientOptions(
      awsClientOptions({ endpoint: 'http://127.0.0.1:1', region: 'eu-west-1' }, {}, 'us-east-1'),
    );
    expect(options.region).toBe('us-east-1');
    const gov = iamClientOptions(
      awsClientOptions({ endpoint: 'http://127.0.0.1:1', region: 'us-gov-east-1' }, {}, 'us-east-1'),
    );
    expect(gov.region).toBe('us-gov-west-1');
  });

  it('leaves the region to the SDK without an endpoint override (it picks the global endpoint itself)', () => {
    const options = iamClientOptions(awsClientOptions({ region: 'eu-west-1' }, {}, 'us-east-1'));
    expect(options.region).toBe('eu-west-1');
  });
});

describe('Function: loadCommandConfig (--stage)', () => {
  const example = { config: 'nvcf-ecr.config.ts' };

  it('uses the names without a stage when neither --stage nor NVCF_ECR_STAGE is given (the sandbox)', async () => {
    const config = await loadCommandConfig(example, { required: true, env: {} });
    expect(config?.registries[0]).toMatchObject({
      userName: 'nvcf-ecr-prod',
      secretName: 'nvcf-ecr/prod/pull-key',
    });
    expect(config?.ngc.apiKeySecretName).toBe('nvcf-ecr/ngc-api-key');
  });

  it("takes the deployment's names from --stage, and the region from --region, as the stacks name them", async () => {
    const config = await loadCommandConfig(
      { ...example, stage: 'prod', region: 'us-east-1' },
      { required: true, env: { NVCF_ECR_STAGE: 'dev' } },
    );
    expect(config?.registries[0]).toMatchObject({
      userName: 'nvcf-ecr-prod-us-east-1-prod',
      secretName: 'nvcf-ecr/prod/prod/pull-key',
    });
    expect(config?.ngc.apiKeySecretName).toBe('nvcf-ecr/prod/ngc-api-key');
  });

  it('falls back to NVCF_ECR_STAGE and refuses a stage CloudFormation could not name, as a usage error', async () => {
    const staged = await loadCommandConfig(example, { required: true, env: { NVCF_ECR_STAGE: 'dev' } });
    expect(staged?.registries[0]?.secretName).toBe('nvcf-ecr/dev/prod/pull-key');
    await expect(
      loadCommandConfig({ ...example, stage: '1st' }, { required: true, env: {} }),
    ).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringContaining("--stage '1st' must start with a letter"),
    });
  });
});
