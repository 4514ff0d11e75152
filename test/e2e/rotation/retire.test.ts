import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { assertConfig, type Config, type RegistryConfig } from '@nvcf-ecr/core/config';
import { DETAIL_TYPES } from '@nvcf-ecr/core/events';
import { maskAccessKeyId } from '@nvcf-ecr/core/redact';
import {
  previousKeyRetiredDetailSchema,
  type RetirementPostponedDetail,
  retirementPostponedDetailSchema,
} from '@nvcf-ecr/core/rotation';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fromSandboxEnvironment } from '../../../functions/lib/sandbox.ts';
import { createRetireKeysHandler } from '../../../functions/retire-keys.ts';
import { control, rejection } from '../../helpers/sandbox.ts';
import {
  advanceHours,
  expectNoSecretsLeaked,
  type Harness,
  handlerEnvironment,
  keyInStage,
  keysOf,
  projectEvents,
  registerRetireHandler,
  retireNow,
  rotate,
  secretOf,
  startHarness,
  useKey,
} from './harness.ts';

// The retirement of the previous key (scheduled hourly; the same verb as `nvcf-ecr retire`): nothing inside
// the grace period, deactivation after it, postponement (with a warning event) while the key is in use, the
// configured way out of a long postponement, and never the AWSCURRENT key.

const HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const GRACE = 24;

function configWith(retire: { whenInUse?: 'postpone' | 'deactivate'; maxPostponeHours?: number }): Config {
  return assertConfig({
    ngc: { apiKeySecretName: 'nvcf-ecr/ngc-api-key' },
    registries: [
      {
        name: 'prod',
        hostname: HOST,
        repositories: ['inference'],
        credentialName: 'ecr-prod',
        rotation: { schedule: 'rate(30 days)', graceHours: GRACE, retire },
      },
    ],
  });
}

describe.each([
  { policy: 'default (postpone; never deactivated while in use)', retire: {}, afterMax: 'postponed' },
  { policy: "whenInUse 'deactivate'", retire: { whenInUse: 'deactivate' as const }, afterMax: 'retired' },
  {
    policy: 'maxPostponeHours 0 (postpone for ever)',
    retire: { maxPostponeHours: 0 },
    afterMax: 'postponed',
  },
])('Retirement with the $policy policy', ({ retire: policy, afterMax }) => {
  const config = configWith(policy);
  const registry = config.registries[0] as RegistryConfig;
  let h: Harness;

  beforeAll(async () => {
    // The retirement is invoked by the tests, not by the hourly schedule the clock advances would fire.
    h = await startHarness(config, { handlerKeys: ['rotateCredential'] });
    registerRetireHandler(h, config);
  });
  afterAll(async () => {
    await expectNoSecretsLeaked(h);
    await h.close();
  });
  beforeEach(async () => {
    await control(h.sb, 'POST', 'reset');
    await h.sb.settle();
  });

  it('has nothing to retire after the first rotation, and keeps the previous key inside its grace period', async () => {
    expect((await retireNow(h))[0]).toMatchObject({ action: 'nothing-to-retire' });
    await rotate(h, registry);
    const previous = keyInStage(h.sb, registry, 'AWSPREVIOUS') as string;
    await advanceHours(h.sb, GRACE - 1);
    const [outcome] = await retireNow(h);
    expect(outcome).toMatchObject({ action: 'in-grace', accessKeyId: maskAccessKeyId(previous) });
    expect(keysOf(h.sb, registry).find((k) => k.accessKeyId === previous)?.status).toBe('Active');
  });

  it('postpones while the previous key is in use, then acts as configured once the postponement runs out', async () => {
    await rotate(h, registry);
    const previous = keyInStage(h.sb, registry, 'AWSPREVIOUS') as string;
    const current = keyInStage(h.sb, registry, 'AWSCURRENT') as string;
    await advanceHours(h.sb, GRACE + 1);
    await useKey(h, registry, 'AWSPREVIOUS');
    const [first] = await retireNow(h);
    const stillActive = keysOf(h.sb, registry).find((k) => k.accessKeyId === previous)?.status === 'Active';
    if (policy.whenInUse === 'deactivate') {
      expect(first).toMatchObject({ action: 'retired' });
      expect(stillActive).toBe(false);
      const [event] = await projectEvents(h.sb, DETAIL_TYPES.previousKeyRetired);
      expect(previousKeyRetiredDetailSchema.safeParse(event).success).toBe(true);
      expect(event).toMatchObject({ deactivatedWhileInUse: true, accessKeyId: maskAccessKeyId(previous) });
      return;
    }
    expect(first).toMatchObject({ action: 'postponed', accessKeyId: maskAccessKeyId(previous) });
    expect(stillActive).toBe(true);
    const [warning] = await projectEvents<RetirementPostponedDetail>(h.sb, DETAIL_TYPES.retirementPostponed);
    expect(retirementPostponedDetailSchema.safeParse(warning).success).toBe(true);
    expect(warning).toMatchObject({
      cause: 'in-use',
      accessKeyId: maskAccessKeyId(previous),
      currentAccessKeyId: maskAccessKeyId(current),
      lastUsedService: 'sts',
      // A key in use is never deactivated by the retirement (retire.maxPostponeHours only changes what it says).
      deactivateAnywayAt: null,
    });

    // Still used past the longest postponement (72 h after the grace period by default).
    await advanceHours(h.sb, 73);
    await useKey(h, registry, 'AWSPREVIOUS');
    const [last] = await retireNow(h);
    expect(last?.action).toBe(afterMax);
    expect(keysOf(h.sb, registry).find((k) => k.accessKeyId === current)?.status).toBe('Active');
  });

  it('never touches a key when AWSCURRENT was written by hand (no key id recorded), and says how to fix it', async () => {
    await rotate(h, registry);
    // A hand-made PutSecretValue of the same value: AWSPREVIOUS now names the AWSCURRENT key, and the new
    // AWSCURRENT version has no key id recorded (the retirement reads no value, so it cannot tell).
    const current = secretOf(h.sb, registry).versions.find((v) => v.stages.includes('AWSCURRENT'));
    await h.aws.secrets.send(
      new PutSecretValueCommand({ SecretId: registry.secretName, SecretString: current?.secretString }),
    );
    await advanceHours(h.sb, GRACE + 1);
    const [outcome] = await retireNow(h);
    expect(outcome).toMatchObject({ action: 'postponed' });
    expect(outcome?.reason).toContain('No key id is recorded for AWSCURRENT');
    expect(outcome?.reason).toContain("Rotate once to record key ids ('nvcf-ecr rotate prod')");
    expect(keysOf(h.sb, registry).every((k) => k.status === 'Active')).toBe(true);
  });

  it('postpones while NVCF was not updated since the current key was created (it may hold the previous one)', async () => {
    await rotate(h, registry);
    const previous = keyInStage(h.sb, registry, 'AWSPREVIOUS') as string;
    // NVCF's record dated back, as if the rotation's update had never reached it.
    const nvcf = h.sb.modules.find((m) => m.name === 'nvcf');
    const snap = structuredClone(nvcf?.snapshot()) as { credentials: { lastUpdatedAt: string }[] };
    for (const c of snap.credentials) c.lastUpdatedAt = '2020-01-01T00:00:00.000Z';
    nvcf?.restore(snap);
    await advanceHours(h.sb, GRACE + 1);
    const [outcome] = await retireNow(h);
    expect(outcome).toMatchObject({ action: 'postponed', accessKeyId: maskAccessKeyId(previous) });
    expect(outcome?.reason).toContain(
      "NVCF credential 'ecr-prod' was last updated at 2020-01-01T00:00:00.000Z",
    );
    expect(keysOf(h.sb, registry).find((k) => k.accessKeyId === previous)?.status).toBe('Active');
    const [warning] = await projectEvents<RetirementPostponedDetail>(h.sb, DETAIL_TYPES.retirementPostponed);
    expect(warning?.cause).toBe('nvcf-not-updated');
  });
});

describe('Retirement: the function within its time limit', () => {
  const config = configWith({});
  const registry = config.registries[0] as RegistryConfig;
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness(config, { handlerKeys: ['rotateCredential'] });
  });
  afterAll(async () => {
    await expectNoSecretsLeaked(h);
    await h.close();
  });
  beforeEach(async () => {
    await control(h.sb, 'POST', 'reset');
    await h.sb.settle();
    await rotate(h, registry);
    await advanceHours(h.sb, GRACE + 2);
  });

  const handler = () => createRetireKeysHandler(fromSandboxEnvironment(handlerEnvironment(h.sb, config)));

  it('skips, and reports, the registries it has no time left for, deactivating nothing', async () => {
    const previous = keyInStage(h.sb, registry, 'AWSPREVIOUS') as string;
    const outcomes = await handler()({}, { getRemainingTimeInMillis: () => 2_000 });
    expect(outcomes).toEqual([expect.objectContaining({ registry: 'prod', action: 'skipped' })]);
    expect(outcomes[0]?.reason).toContain('2 s were left of this invocation');
    expect(keysOf(h.sb, registry).find((k) => k.accessKeyId === previous)?.status).toBe('Active');
  });

  it('gives NVCF a small budget: three attempts, then the registry fails and the invocation says so', async () => {
    await control(h.sb, 'POST', 'faults', {
      service: 'nvcf',
      operation: 'ListRegistryCredentials',
      error: { status: 429, message: 'slow down' },
      times: 100,
    });
    const { calls: before } = await control<{ calls: { seq: number }[] }>(h.sb, 'GET', 'calls');
    const err = await rejection(handler()({}, { getRemainingTimeInMillis: () => 60_000 }));
    await control(h.sb, 'DELETE', 'faults');
    expect(err.message).toContain('Retirement failed for 1 registry: prod: NvcfRateLimitError');
    const { calls } = await control<{ calls: { operation: string }[] }>(
      h.sb,
      'GET',
      `calls?service=nvcf&since=${before.at(-1)?.seq ?? 0}`,
    );
    expect(calls.filter((c) => c.operation === 'ListRegistryCredentials')).toHaveLength(3);
  });
});
