import { DETAIL_TYPES } from '@nvcf-ecr/core/events';
import { type RotationFailedDetail, rotationFailedDetailSchema } from '@nvcf-ecr/core/rotation';
import type { FaultRuleInput } from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { control } from '../../helpers/sandbox.ts';
import {
  exampleConfig,
  expectNoSecretsLeaked,
  FAST_TIMING,
  freshWorld,
  type Harness,
  invariantViolations,
  keyInStage,
  nvcfPull,
  projectEvents,
  pushTestImage,
  rotate,
  rotationRecord,
  startHarness,
  stuckPending,
} from './harness.ts';

// Faults the rotation waits out inside a step — NVCF throttling and 5xx, NVCF's 400 relaying
// UnrecognizedClientException while a key propagates, IAM throttling, STS failures, timeouts — and what it
// does when waiting is not enough: fail the step safely (AWSCURRENT and NVCF untouched) and say so in the
// Failed event, with the fact that the current key still works.

const { config, registry } = await exampleConfig();

describe('Rotation: faults waited out within one attempt', () => {
  let h: Harness;
  let image: string;

  beforeAll(async () => {
    h = await startHarness(config, {
      handlerKeys: ['rotateCredential'],
      rotation: { timing: { ...FAST_TIMING, nvcfBudgetMs: 10_000 }, nvcfTimeoutMs: 400 },
    });
  });
  afterAll(async () => {
    await expectNoSecretsLeaked(h);
    await h.close();
  });
  beforeEach(async () => {
    image = await freshWorld(h, registry);
  });

  /** Rotates with `faults` armed; the rotation must succeed at its first attempt with NVCF on the new key. */
  async function rotateThrough(faults: FaultRuleInput[]): Promise<string> {
    await control(h.sb, 'POST', 'faults', faults);
    const token = await rotate(h, registry);
    const record = rotationRecord(h.sb, registry, token);
    expect(record?.status).toBe('succeeded');
    expect(record?.attempts).toHaveLength(1);
    expect((await control<{ faults: unknown[] }>(h.sb, 'GET', 'faults')).faults).toEqual([]);
    expect(invariantViolations(h.sb, registry)).toEqual([]);
    expect(await nvcfPull(h.sb, image)).toMatchObject({ ok: true });
    return token;
  }

  it('waits out NVCF throttling (429 with Retry-After) on the update', async () => {
    await rotateThrough([
      {
        service: 'nvcf',
        operation: 'UpdateRegistryCredential',
        error: { status: 429, message: 'slow down' },
        times: 2,
      },
    ]);
  });

  it('waits out NVCF 500 and 502 on the lookup and the update', async () => {
    await rotateThrough([
      {
        service: 'nvcf',
        operation: 'ListRegistryCredentials',
        error: { status: 500, message: 'boom' },
        times: 1,
      },
      {
        service: 'nvcf',
        operation: 'UpdateRegistryCredential',
        error: { status: 502, message: 'upstream' },
        times: 2,
      },
    ]);
  });

  it('retries NVCF’s 400 relaying UnrecognizedClientException while NVCF’s view of the key propagates', async () => {
    await rotateThrough([
      {
        service: 'nvcf',
        operation: 'UpdateRegistryCredential',
        error: {
          status: 400,
          code: 'UnrecognizedClientException',
          message: 'The security token included in the request is invalid.',
        },
        times: 3,
      },
    ]);
    const waits = h.logs.filter((r) => r.message === 'NVCF not updated yet');
    expect(waits.at(-1)?.fields['reason']).toContain('NVCF answered key-not-propagated');
  });

  it('waits out IAM throttling (the SDK retries it)', async () => {
    await rotateThrough([
      {
        service: 'iam',
        operation: 'ListAccessKeys',
        error: { status: 400, code: 'Throttling', message: 'Rate exceeded' },
        times: 2,
      },
      {
        service: 'iam',
        operation: 'CreateAccessKey',
        error: { status: 400, code: 'Throttling', message: 'Rate exceeded' },
      },
    ]);
  });

  it('waits out STS failures and a key STS does not know yet', async () => {
    await rotateThrough([
      {
        service: 'sts',
        operation: 'GetCallerIdentity',
        error: {
          status: 403,
          code: 'InvalidClientTokenId',
          message: 'The security token included in the request is invalid.',
        },
        times: 2,
      },
      {
        service: 'sts',
        operation: 'GetCallerIdentity',
        error: { status: 503, code: 'ServiceUnavailable', message: 'down' },
      },
    ]);
  });

  it('retries an NVCF update that timed out', async () => {
    await rotateThrough([{ service: 'nvcf', operation: 'UpdateRegistryCredential', delayMs: 1500 }]);
    const retry = h.logs.find(
      (r) => r.message === 'nvcf retrying' && r.fields['reason'] === 'NvcfTimeoutError',
    );
    expect(retry?.fields['method']).toBe('PATCH');
  });
});

describe('Rotation: waits propagation out without fixed sleeps', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness(config, { handlerKeys: ['rotateCredential'], keyPropagationSeconds: 1 });
  });
  afterAll(async () => {
    await expectNoSecretsLeaked(h);
    await h.close();
  });

  it('polls the new key with short, growing pauses until it works, never a fixed sleep', async () => {
    const since = h.logs.length;
    const token = await rotate(h, registry);
    expect(rotationRecord(h.sb, registry, token)?.status).toBe('succeeded');
    const logs = h.logs.slice(since);
    // FAST_TIMING's backoff: 20 ms, ×1.5, capped at 100 ms; the sandbox refuses the key for 1 s.
    const pauses = logs.filter((r) => r.message === 'key not usable yet').map((r) => r.fields['delayMs']);
    expect(logs.filter((r) => r.message === 'key not usable yet')[0]?.fields['reason']).toContain(
      'STS GetCallerIdentity: the key is not recognised yet (InvalidClientTokenId',
    );
    expect(pauses.slice(0, 5)).toEqual([20, 30, 45, 67.5, 100]);
    expect(pauses.slice(5).every((p) => p === 100)).toBe(true);
  });
});

describe('Rotation: retries exhausted', () => {
  let h: Harness;
  let image: string;

  beforeAll(async () => {
    h = await startHarness(config, {
      handlerKeys: ['rotateCredential'],
      rotation: { timing: { ...FAST_TIMING, nvcfBudgetMs: 300 } },
    });
    image = await pushTestImage(h.sb, registry, 'inference', 'v1');
  });
  afterAll(async () => {
    await expectNoSecretsLeaked(h);
    await h.close();
  });

  it('fails safely when NVCF stays down: AWSCURRENT and NVCF untouched, the Failed event says the current key works', async () => {
    const current = keyInStage(h.sb, registry, 'AWSCURRENT');
    await control(h.sb, 'POST', 'faults', {
      service: 'nvcf',
      operation: '*',
      error: { status: 503, message: 'maintenance' },
      times: 1000,
    });
    const token = await rotate(h, registry);
    await control(h.sb, 'DELETE', 'faults');
    expect(rotationRecord(h.sb, registry, token)?.status).toBe('failed');
    expect(keyInStage(h.sb, registry, 'AWSCURRENT')).toBe(current);
    expect(stuckPending(h.sb, registry)).toBe(token);
    expect(invariantViolations(h.sb, registry)).toEqual([]);
    expect(await nvcfPull(h.sb, image)).toMatchObject({ ok: true });
    const failed = (await projectEvents<RotationFailedDetail>(h.sb, DETAIL_TYPES.rotationFailed)).filter(
      (e) => e.token === token,
    );
    expect(failed).toHaveLength(3);
    for (const event of failed) {
      expect(rotationFailedDetailSchema.safeParse(event).success).toBe(true);
      expect(event).toMatchObject({
        step: 'setSecret',
        refused: false,
        currentKeyWorks: true,
        currentKeyProblem: null,
      });
      expect(event.reason).toMatch(/^NVCF did not accept the new key within \d+ s/);
    }
  });
});
