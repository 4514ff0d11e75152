import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertConfig, type Config, loadConfig, type RegistryConfig } from '@nvcf-ecr/core/config';
import { maskAccessKeyId } from '@nvcf-ecr/core/redact';
import type { RegistryRotationStatus, RetireOutcome } from '@nvcf-ecr/core/rotation';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../packages/cli/src/index.ts';
import { control } from '../../helpers/sandbox.ts';
import { type CapturedIo, captureIo } from '../../unit/cli/io.ts';
import {
  abandonRotation,
  advanceHours,
  credentialsOf,
  expectNoSecretsLeaked,
  type Harness,
  invariantViolations,
  keyInStage,
  keysOf,
  secretOf,
  startHarness,
  stuckPending,
} from './harness.ts';

// The rotation verbs of the CLI (`rotate`, `status`, `retire`) against an in-process sandbox, with the
// example configuration, `--endpoint`/`--nvcf-endpoint`, and AWS credentials from the standard chain (the
// environment variables the sandbox's keys are exported in).

const CONFIG_PATH = join(import.meta.dirname, '../../../nvcf-ecr.config.ts');
const config: Config = await loadConfig(CONFIG_PATH);
const registry = config.registries[0] as RegistryConfig;

describe('CLI: rotate, status and retire on the sandbox', () => {
  let h: Harness;
  const outputs: string[] = [];

  async function cli(...args: string[]): Promise<{ code: number; io: CapturedIo }> {
    // The sandbox's clock is virtual (tests move it): the CLI is told its time, as its help says.
    const io = captureIo({ env: { NVCF_ECR_NOW: h.sb.world.clock.now().toISOString() } });
    const code = await main(
      [
        ...args,
        '--config',
        CONFIG_PATH,
        '--endpoint',
        h.sb.awsEndpoint,
        '--nvcf-endpoint',
        h.sb.nvcfEndpoint,
      ],
      io,
    );
    outputs.push(io.out(), io.err());
    return { code, io };
  }

  beforeAll(async () => {
    // Only the rotation function is wired: the retirement is what `nvcf-ecr retire` runs itself.
    h = await startHarness(config, { handlerKeys: ['rotateCredential'] });
  });
  afterAll(async () => {
    await expectNoSecretsLeaked(h, outputs);
    await h.close();
  });
  beforeEach(async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', h.sb.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', h.sb.secretAccessKey);
    vi.stubEnv('AWS_REGION', h.sb.region);
    await control(h.sb, 'POST', 'reset');
    await h.sb.settle();
  });

  it('status --json shows the bootstrapped registry: one current key, NVCF updated after it, nothing pending', async () => {
    const { code, io } = await cli('status', '--json');
    expect(code).toBe(0);
    const report = JSON.parse(io.out()) as { schemaVersion: number; registries: RegistryRotationStatus[] };
    expect(report.schemaVersion).toBe(1);
    const [prod] = report.registries;
    const current = keyInStage(h.sb, registry, 'AWSCURRENT') as string;
    expect(prod).toMatchObject({
      registry: 'prod',
      userName: 'nvcf-ecr-prod',
      rotation: { enabled: true, schedule: 'rate(30 days)', graceHours: 24 },
      keys: [{ accessKeyId: maskAccessKeyId(current), status: 'Active', role: 'current', ageHours: 0 }],
      nvcf: { updatedAfterCurrentKey: true },
      pending: null,
      previousKey: null,
      blockers: [],
    });
    expect(prod?.stages.find((s) => s.stages.includes('AWSCURRENT'))?.accessKeyId).toBe(
      maskAccessKeyId(current),
    );
  });

  it('rotate shows each step on stderr and the new key on stdout', async () => {
    const before = keyInStage(h.sb, registry, 'AWSCURRENT');
    const { code, io } = await cli('rotate', 'prod');
    expect(code).toBe(0);
    const after = keyInStage(h.sb, registry, 'AWSCURRENT') as string;
    expect(after).not.toBe(before);
    const steps = io
      .err()
      .split('\n')
      .filter((l) => l.startsWith('✓'))
      .map((l) => l.split(/\s+/)[1]);
    expect(steps).toEqual(['createSecret', 'setSecret', 'testSecret', 'finishSecret']);
    expect(io.err()).toMatch(/^rotating prod \(secret nvcf-ecr\/prod\/pull-key, token [0-9a-f-]{36}\)\n/);
    expect(io.err()).toContain(`✓ createSecret  new key ${maskAccessKeyId(after)} stored as AWSPENDING`);
    expect(io.out()).toBe(
      `rotated prod: key ${maskAccessKeyId(after)} is current; the previous key stays Active for the grace period (24 h), then 'nvcf-ecr retire' deactivates it\n`,
    );
  });

  it('rotate refuses up front while the previous key is in its grace period, and starts nothing; --force rotates', async () => {
    expect((await cli('rotate', 'prod')).code).toBe(0);
    const previous = keyInStage(h.sb, registry, 'AWSPREVIOUS') as string;
    const refused = await cli('rotate', 'prod');
    expect(refused.code).toBe(1);
    expect(refused.io.err()).toContain(
      `refused (in-grace): The previous key ${maskAccessKeyId(previous)} of IAM user nvcf-ecr-prod is inside its grace period until`,
    );
    expect(refused.io.err()).toContain('Nothing was started.');
    expect(stuckPending(h.sb, registry)).toBeUndefined();

    // Forcing skips the grace period, never the in-use window (the previous key was last used by the checks of
    // its own rotation) nor NVCF's release: 7 hours on, both are over, the grace period is not.
    await control(h.sb, 'POST', 'clock', { advanceSeconds: 7 * 3600 });
    await h.sb.settle();
    const forced = await cli('rotate', 'prod', '--force');
    expect(forced.code).toBe(0);
    expect(forced.io.err()).toMatch(/token [0-9a-f-]{36}, forced\)/);
    expect(keysOf(h.sb, registry).map((k) => k.accessKeyId)).not.toContain(previous);
  });

  it('status explains a refusal and shows the previous key’s grace period', async () => {
    await cli('rotate', 'prod');
    const { code, io } = await cli('status', 'prod');
    expect(code).toBe(0);
    const text = io.out();
    expect(text).toMatch(
      /^prod {2}123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com {2}\(secret arn:aws:secretsmanager:/,
    );
    expect(text).toMatch(/previous key +AKIA…\w{4} Active, grace until /);
    expect(text).toMatch(/blockers +in-grace: The previous key /);
  });

  it('retire keeps the previous key inside its grace period and deactivates it after', async () => {
    await cli('rotate', 'prod');
    const previous = keyInStage(h.sb, registry, 'AWSPREVIOUS') as string;
    const early = await cli('retire', 'prod');
    expect(early.code).toBe(0);
    expect(early.io.out()).toMatch(
      new RegExp(
        `^in-grace {2}prod: the previous key ${maskAccessKeyId(previous)} is in its grace period until `,
      ),
    );
    await advanceHours(h.sb, 25);
    const late = await cli('retire', 'prod', '--json');
    expect(late.code).toBe(0);
    const outcome = JSON.parse(late.io.out()) as RetireOutcome;
    expect(outcome).toMatchObject({
      registry: 'prod',
      action: 'retired',
      accessKeyId: maskAccessKeyId(previous),
    });
    expect(keysOf(h.sb, registry).find((k) => k.accessKeyId === previous)?.status).toBe('Inactive');
  });

  it('rotate reports a failed step and stops following at --timeout; status shows the rotation pending', async () => {
    await control(h.sb, 'POST', 'faults', {
      service: 'ecr',
      operation: 'GetAuthorizationToken',
      error: { status: 400, code: 'InjectedFailure', message: 'injected' },
      times: 100,
    });
    const { code, io } = await cli('rotate', 'prod', '--timeout', '1');
    await h.sb.settle();
    await control(h.sb, 'DELETE', 'faults');
    expect(code).toBe(1);
    expect(io.err()).toContain(
      '✗ setSecret failed: ECR GetAuthorizationToken with the new key failed: InjectedFailure: injected.',
    );
    expect(io.err()).toContain(
      "not finished after 1 s; the rotation goes on in Secrets Manager: follow it with 'nvcf-ecr status prod'",
    );
    const status = await cli('status', 'prod', '--json');
    const [prod] = (JSON.parse(status.io.out()) as { registries: RegistryRotationStatus[] }).registries;
    expect(prod?.pending).toMatchObject({ stuck: true, lastFailure: { step: 'setSecret', refused: false } });
    expect(status.code).toBe(1);

    // Secrets Manager starts no rotation while one is pending: rotating again abandons it, saying so, and starts
    // a new one, which keeps the abandoned rotation's key (NVCF may have handed it out: it gets the grace period,
    // counted from NVCF being pointed back) and so refuses to delete it.
    const stuck = stuckPending(h.sb, registry) as string;
    const resumed = await cli('rotate', 'prod');
    expect(resumed.io.err()).toContain(
      `the rotation ${stuck} is not complete, and Secrets Manager starts no other while it is pending: abandoning it (UpdateSecretVersionStage removes AWSPENDING from it;`,
    );
    expect(secretOf(h.sb, registry).versions.find((v) => v.versionId === stuck)?.stages).toEqual([]);
    expect(resumed.code).toBe(1);
    expect(resumed.io.err()).toContain('✗ createSecret refused: ');
    expect(resumed.io.err()).toContain('inside its grace period until');

    // Once that grace period is over, the next rotate abandons the refused one and rotates.
    await control(h.sb, 'POST', 'clock', { advanceSeconds: (registry.rotation.graceHours + 1) * 3600 });
    const rotated = await cli('rotate', 'prod');
    expect(rotated.io.err()).toMatch(/abandoning it[^\n]*\nrotating prod/);
    expect(rotated.code).toBe(0);
    expect(stuckPending(h.sb, registry)).toBeUndefined();
    expect(invariantViolations(h.sb, registry)).toEqual([]);
  });

  it('rotate says what a failed step left: NVCF may hold the pending key after setSecret, and what the current key’s check found', async () => {
    await control(h.sb, 'POST', 'faults', {
      service: 'secretsmanager',
      operation: 'UpdateSecretVersionStage',
      error: { status: 400, code: 'InjectedFailure', message: 'injected' },
      times: 100,
    });
    const { code, io } = await cli('rotate', 'prod', '--timeout', '2');
    await h.sb.settle();
    await control(h.sb, 'DELETE', 'faults');
    expect(code).toBe(1);
    expect(io.err()).toContain('✗ finishSecret failed: ');
    expect(io.err()).toContain('NVCF may hold the pending key');
    expect(io.err()).toContain('the current key worked when checked right after the failure');
    expect(io.err()).not.toContain('the current key still works');
  });

  it('rotate starts what status would refuse while NVCF may hold a cancelled rotation’s key: the function points NVCF back first', async () => {
    const current = keyInStage(h.sb, registry, 'AWSCURRENT') as string;
    await control(h.sb, 'POST', 'faults', {
      service: 'secretsmanager',
      operation: 'UpdateSecretVersionStage',
      error: { status: 400, code: 'InjectedFailure', message: 'injected' },
      times: 100,
    });
    await cli('rotate', 'prod', '--timeout', '2');
    await h.sb.settle();
    await control(h.sb, 'DELETE', 'faults');
    const cancelled = stuckPending(h.sb, registry) as string;
    await abandonRotation(h, registry, cancelled);
    expect(credentialsOf(h.sb, registry)[0]?.username).not.toBe(current);

    const { code, io } = await cli('rotate', 'prod');
    expect(code).toBe(1);
    expect(io.err()).toContain('NVCF may hold another key than the current one');
    expect(io.err()).toContain('✗ createSecret refused: ');
    expect(credentialsOf(h.sb, registry)[0]?.username).toBe(current);
  });

  it('reports what AWS answered, not an internal error, when the credentials are refused', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAIOSFODNN7EXAMPLE');
    const { code, io } = await cli('status', 'prod');
    expect(code).toBe(2);
    expect(io.err()).toBe(
      'nvcf-ecr: error: reading the rotation state of prod failed: UnrecognizedClientException: The security token included in the request is invalid.\n',
    );
  });

  it('names the configured registries when asked for another', async () => {
    const { code, io } = await cli('rotate', 'staging');
    expect(code).toBe(2);
    expect(io.err()).toBe(
      "nvcf-ecr: no registry named 'staging' in the configuration: the registries are prod\nRun 'nvcf-ecr rotate --help' for usage.\n",
    );
  });
});

describe('CLI: a registry in another region than the deployment', () => {
  // The stacks put every secret in one region: the first private registry's (stacks/README.md).
  const raw = {
    ngc: { apiKeySecretName: 'nvcf-ecr/ngc-api-key' },
    registries: [
      {
        name: 'prod',
        hostname: '123456789012.dkr.ecr.us-east-1.amazonaws.com',
        repositories: ['inference'],
        credentialName: 'ecr-prod',
      },
      {
        name: 'eu',
        hostname: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
        repositories: ['inference'],
        credentialName: 'ecr-eu',
      },
    ],
  };
  let h: Harness;
  let dir: string;
  let file: string;

  beforeAll(async () => {
    h = await startHarness(assertConfig(raw), { handlerKeys: ['rotateCredential'] });
    dir = await mkdtemp(join(tmpdir(), 'nvcf-ecr-regions-'));
    file = join(dir, 'nvcf-ecr.config.json');
    await writeFile(file, JSON.stringify(raw));
  });
  afterAll(async () => {
    await h.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('status reads the registry’s secret in the deployment region without --region, AWS_REGION or a profile region', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', h.sb.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', h.sb.secretAccessKey);
    vi.stubEnv('AWS_REGION', undefined);
    vi.stubEnv('AWS_DEFAULT_REGION', undefined);
    vi.stubEnv('AWS_PROFILE', undefined);
    vi.stubEnv('AWS_CONFIG_FILE', join(dir, 'no-aws-config'));
    const io = captureIo({ env: { NVCF_ECR_NOW: h.sb.world.clock.now().toISOString() } });
    const code = await main(
      [
        'status',
        'eu',
        '--json',
        '--config',
        file,
        '--endpoint',
        h.sb.awsEndpoint,
        '--nvcf-endpoint',
        h.sb.nvcfEndpoint,
      ],
      io,
    );
    expect(io.err()).toBe('');
    expect(code).toBe(0);
    const [eu] = (JSON.parse(io.out()) as { registries: RegistryRotationStatus[] }).registries;
    expect(eu).toMatchObject({ registry: 'eu', hostname: '123456789012.dkr.ecr.eu-west-1.amazonaws.com' });
    expect(eu?.keys.map((k) => k.role)).toEqual(['current']);
  });
});
