import { DETAIL_TYPES, FUNCTIONS } from '@nvcf-ecr/core/events';
import type { RotationFailedDetail } from '@nvcf-ecr/core/rotation';
import type { FaultRuleInput, LambdaHandler } from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromSandboxEnvironment } from '../../../functions/lib/sandbox.ts';
import { createRetireKeysHandler } from '../../../functions/retire-keys.ts';
import { createRotateCredentialHandler } from '../../../functions/rotate-credential.ts';
import {
  abandonRotation,
  advanceHours,
  exampleConfig,
  expectNoSecretsLeaked,
  type Harness,
  handlerEnvironment,
  invariantViolations,
  keyInStage,
  keysOf,
  projectEvents,
  pushTestImage,
  reattemptInNextWindow,
  restoreSnapshot,
  retireFunctionArn,
  rotateWithFunction,
  rotationFunctionArn,
  rotationRecord,
  type Snapshot,
  startHarness,
  stuckPending,
  takeSnapshot,
  virtualWaits,
} from './harness.ts';
import { pullsAfterRotation, startWorkloads, workloadPulls } from './workloads.ts';

// Invariants 1–4 (packages/core/src/rotation/README.md, "Invariants") under crashes, on the `aws` profile
// (packages/sandbox/README.md, "Profiles": a new key works 10 s late, IAM lists keys 5 s late and shows a use 4 h
// late, NVCF answers from its minute-old list cache and its 5-minute secret cache) with a running workload
// pulling every 10 minutes with the key of its last hourly refresh. For every external call a clean rotation makes —
// its own calls to Secrets Manager, IAM, STS, ECR, EventBridge and NVCF, its polls while IAM and NVCF catch up,
// and the ECR calls NVCF makes to check the key — one run with a one-shot fault at that call, both a plain failure
// (the call never happened) and `afterEffect` (it happened, the caller never learned it: a Lambda that died right
// after it). Secrets Manager then retries the rotation with the same token. After EVERY call, NVCF's credential
// holds an Active key of the pull user, no running workload holds a key that is not Active, no key NVCF's caches
// may still hand out was deleted or deactivated, the user has at most two keys and AWSCURRENT's key is Active; at
// the end the rotation succeeded, nothing is left on AWSPENDING, a new instance pulls, and the workloads, once
// refreshed, pull with the new key. The rotation's pauses advance the virtual clock and each run starts from a
// snapshot, so a run takes a fraction of a second of real time although it waits out IAM's and NVCF's delays.

const { config, registry } = await exampleConfig();

interface CallSite {
  readonly service: string;
  readonly operation: string;
  /** 1 for the first call of this operation during the rotation. */
  readonly occurrence: number;
}

/** Starts a rotation the way the schedule does and waits for it (with its retries) to end. */
async function rotateOnce(h: Harness): Promise<{ token: string; violations: string[] }> {
  const violations: string[] = [];
  const off = h.sb.onCall((call) => {
    for (const v of invariantViolations(h.sb, registry))
      violations.push(`after ${call.service}:${call.operation}: ${v}`);
  });
  try {
    return { token: await rotateWithFunction(h, registry), violations };
  } finally {
    off();
  }
}

/** The calls of a clean rotation, in order, with their occurrence numbers. */
async function callSites(h: Harness): Promise<{ sites: CallSite[]; calls: number; refused: number }> {
  const seen: { service: string; operation: string }[] = [];
  let refused = 0;
  // A call refused before it reached the service (a poll with a key IAM does not know yet) is no site: fault
  // rules never see it. It failed already; a crash at the call after it is the same case.
  const off = h.sb.onCall((c) => {
    if (c.refused) refused++;
    else seen.push({ service: c.service, operation: c.operation });
  });
  try {
    await rotateOnce(h);
  } finally {
    off();
  }
  // The first call is the test's own RotateSecret.
  const calls = seen.slice(1);
  const counts = new Map<string, number>();
  const all = calls.map((c) => {
    const key = `${c.service}:${c.operation}`;
    const occurrence = (counts.get(key) ?? 0) + 1;
    counts.set(key, occurrence);
    return { ...c, occurrence };
  });
  // A wait repeats one call until IAM or NVCF catches up (testSecret lists NVCF's credentials until its cache
  // shows the update): a crash at any poll between the first and the last of such a run is the same case.
  const same = (a: CallSite | undefined, b: CallSite | undefined) =>
    a?.service === b?.service && a?.operation === b?.operation;
  const sites = all.filter((c, i) => !(same(all[i - 1], c) && same(c, all[i + 1])));
  return { sites, calls: all.length, refused };
}

/** A non-retryable error: the SDK and the NVCF client pass it up at once, as a crash would end the step. */
function crash(site: CallSite, afterEffect: boolean): FaultRuleInput {
  return {
    service: site.service as FaultRuleInput['service'],
    operation: site.operation,
    skip: site.occurrence - 1,
    times: 1,
    afterEffect,
    error:
      site.service === 'nvcf'
        ? { status: 400, message: 'injected crash' }
        : { status: 400, code: 'InjectedCrash', message: 'injected crash' },
  };
}

/**
 * Pauses of 4 s or more, doubling up to 16 s: on the virtual clock a pause costs nothing, so this only sets
 * how many polls (and so call sites) waiting out IAM's 10 s and NVCF's 60 s takes.
 */
const VIRTUAL_BACKOFF = { initialDelayMs: 4_000, factor: 2, maxDelayMs: 16_000 };
/** The rotation (pausing on the virtual clock) and the retirement, as deployed unless a timeout is given. */
function registerHandlers(
  h: Harness,
  timeoutSeconds: number = FUNCTIONS.rotateCredential.timeoutSeconds,
): void {
  const env = fromSandboxEnvironment(handlerEnvironment(h.sb, config));
  h.sb.lambda.register({
    arn: rotationFunctionArn(h.sb),
    name: FUNCTIONS.rotateCredential.name,
    handler: createRotateCredentialHandler(env, {
      timing: { backoff: VIRTUAL_BACKOFF },
      waits: virtualWaits(() => h.sb),
    }) as LambdaHandler,
    timeoutSeconds,
    memoryMb: FUNCTIONS.rotateCredential.memoryMb,
  });
  h.sb.lambda.register({
    arn: retireFunctionArn(h.sb),
    name: FUNCTIONS.retireKeys.name,
    handler: createRetireKeysHandler(env) as LambdaHandler,
    timeoutSeconds: FUNCTIONS.retireKeys.timeoutSeconds,
    memoryMb: FUNCTIONS.retireKeys.memoryMb,
  });
}

interface Scenario {
  readonly name: string;
  /** Brings the sandbox to the state the rotation under test starts from. */
  prepare(h: Harness): Promise<void>;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'the first rotation of a registry (bootstrap: NVCF credential created)',
    prepare: async () => {},
  },
  {
    name: 'a rotation that deletes the retired previous key (NVCF reconciled first)',
    prepare: async (h) => {
      expect((await rotateOnce(h)).violations).toEqual([]);
      expect((await rotateOnce(h)).violations).toEqual([]);
      await advanceHours(h.sb, registry.rotation.graceHours + 2);
      await h.sb.lambda.invoke(retireFunctionArn(h.sb), {});
      expect(
        keysOf(h.sb, registry)
          .map((k) => k.status)
          .sort(),
      ).toEqual(['Active', 'Inactive']);
    },
  },
  {
    name: 'a rotation that deletes the previous key, Active but past its grace period and unused',
    prepare: async (h) => {
      expect((await rotateOnce(h)).violations).toEqual([]);
      expect((await rotateOnce(h)).violations).toEqual([]);
      await advanceHours(h.sb, registry.rotation.graceHours + 2);
      expect(keysOf(h.sb, registry).map((k) => k.status)).toEqual(['Active', 'Active']);
    },
  },
  {
    name: 'a rotation that deletes a cancelled rotation’s key, its grace period after NVCF was pointed back at the current key',
    prepare: async (h) => {
      expect((await rotateOnce(h)).violations).toEqual([]);
      // A rotation that fails at finishSecret, after NVCF took its key, then abandoned: its key is superseded.
      h.sb.world.faults.add([
        {
          service: 'secretsmanager',
          operation: 'UpdateSecretVersionStage',
          times: 100,
          error: { status: 400, code: 'InjectedFailure', message: 'injected' },
        },
      ]);
      const cancelled = await rotateOnce(h);
      h.sb.world.faults.clear();
      expect(cancelled.violations).toEqual([]);
      await abandonRotation(h, registry, cancelled.token);
      await advanceHours(h.sb, 2);
      // The next rotation points NVCF back at the current key and leaves the cancelled key to NVCF's caches.
      const refused = await rotateOnce(h);
      expect(refused.violations).toEqual([]);
      expect(rotationRecord(h.sb, registry, refused.token)?.status).toBe('failed');
      await abandonRotation(h, registry, refused.token);
      await advanceHours(h.sb, registry.rotation.graceHours + 1);
      expect(keysOf(h.sb, registry)).toHaveLength(2);
    },
  },
];

describe.each(SCENARIOS)('Rotation on the aws profile: a crash at every call of $name', (scenario) => {
  let h: Harness;
  let start: Snapshot;
  let sites: CallSite[];
  /** The clean rotation's calls that reached the services, and those refused before (a key not yet known). */
  let clean: { calls: number; refused: number };
  let image: string;

  /** Back to the scenario's start: its state and time, cold handlers, workloads started afresh. */
  async function fromTheStart(): Promise<void> {
    restoreSnapshot(h.sb, start);
    // Cold handlers (fresh clients, no cached NGC key), so every run makes the same calls.
    registerHandlers(h);
    await startWorkloads(h, registry, image);
    await h.sb.settle();
  }

  beforeAll(async () => {
    // No rotation function at start, so the state before the first rotation can be captured.
    h = await startHarness(config, { profile: 'aws', handlerKeys: [] });
    registerHandlers(h);
    image = await pushTestImage(h.sb, registry, 'inference', 'v1');
    await scenario.prepare(h);
    start = takeSnapshot(h.sb);
    await fromTheStart();
    const pullsBefore = await workloadPulls(h);
    const enumerated = await callSites(h);
    sites = enumerated.sites;
    clean = { calls: enumerated.calls, refused: enumerated.refused };
    // The sites are the rotation's own calls (and NVCF's checks): no workload pulled while it ran.
    expect(await workloadPulls(h)).toBe(pullsBefore);
  });
  afterAll(async () => {
    await expectNoSecretsLeaked(h);
    await h.close();
  });

  it('enumerates the calls of a clean rotation: every service the rotation touches, the waits’ polls too', () => {
    const services = new Set(sites.map((s) => s.service));
    expect(services).toEqual(new Set(['secretsmanager', 'iam', 'sts', 'ecr', 'nvcf', 'events']));
    // setSecret polls STS until IAM knows the new key (10 s: the first polls are refused); testSecret polls NVCF
    // until its cache shows the update (a minute): runs of one call, of which the matrix crashes the first and last.
    expect(clean.refused).toBeGreaterThan(0);
    expect(clean.calls).toBeGreaterThan(sites.length);
    expect(sites.some((s) => s.service === 'nvcf' && s.operation === 'ListRegistryCredentials')).toBe(true);
  });

  it.each([false, true])(
    'converges with every invariant held after every call (afterEffect: %s)',
    async (afterEffect) => {
      const failures: string[] = [];
      let retried = 0;
      for (const site of sites) {
        await fromTheStart();
        const before = keyInStage(h.sb, registry, 'AWSCURRENT');
        h.sb.world.faults.add([crash(site, afterEffect)]);
        const { token, violations } = await rotateOnce(h);
        const where = `${site.service}:${site.operation}#${site.occurrence}`;
        const problems = [...violations];
        if (h.sb.world.faults.list().length > 0) problems.push('the fault never fired');
        const record = rotationRecord(h.sb, registry, token);
        if ((record?.attempts.length ?? 0) > 1) retried++;
        if (record?.status !== 'succeeded') problems.push(`rotation ${record?.status}`);
        if (stuckPending(h.sb, registry)) problems.push('AWSPENDING left behind');
        if (keyInStage(h.sb, registry, 'AWSCURRENT') === before) problems.push('AWSCURRENT did not move');
        if (keysOf(h.sb, registry).length > 2) problems.push('more than two keys');
        problems.push(...(await pullsAfterRotation(h, registry, image)));
        failures.push(...problems.map((p) => `${where}: ${p}`));
      }
      expect(failures).toEqual([]);
      // Most crashes end the attempt and Secrets Manager's retry finishes the job; the others hit best-effort
      // calls (the Rotated event, the credential id it carries) or the NVCF client's own retries.
      expect(retried).toBeGreaterThan(sites.length / 2);
    },
    // Some fifty rotations per run, each with its retries: longer than the default on a busy machine.
    180_000,
  );
});

describe('Rotation on the aws profile when an NVCF call stalls longer than the function timeout', () => {
  let h: Harness;
  let image: string;
  /**
   * A short function timeout, so that the test waits seconds: a step keeps 15 s of it to report, and setSecret
   * first waits (on the virtual clock, charged to the invocation) about 12 s for IAM to know the new key. Too
   * short for testSecret's wait for NVCF's minute-old cache: the reattempt runs with the deployed timeout.
   */
  const TIMEOUT_SECONDS = 30;

  beforeAll(async () => {
    // One attempt per rotation: the stalled one stays pending for Secrets Manager's reattempt.
    h = await startHarness(config, { profile: 'aws', handlerKeys: [], rotationAttempts: 1 });
    registerHandlers(h);
    image = await pushTestImage(h.sb, registry, 'inference', 'v1');
    expect((await rotateOnce(h)).violations).toEqual([]);
    await advanceHours(h.sb, 2);
    await startWorkloads(h, registry, image, 2);
    registerHandlers(h, TIMEOUT_SECONDS);
  });
  afterAll(async () => {
    await expectNoSecretsLeaked(h);
    await h.close();
  });

  it('ends in a Rotation Failed event before the timeout, every invariant held after every call', async () => {
    const before = h.sb.lambda.invocations.length;
    const current = keyInStage(h.sb, registry, 'AWSCURRENT');
    // The first NVCF call of the rotation (setSecret's lookup, once the new key works) answers only after the
    // function's timeout: a socket that stalls.
    h.sb.world.faults.add([{ service: 'nvcf', operation: '*', delayMs: (TIMEOUT_SECONDS + 4) * 1000 }]);
    const { token, violations } = await rotateOnce(h);
    expect(violations).toEqual([]);
    const failed = (await projectEvents<RotationFailedDetail>(h.sb, DETAIL_TYPES.rotationFailed)).filter(
      (e) => e.token === token,
    );
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ step: 'setSecret', refused: false, currentKeyWorks: true });
    expect(failed[0]?.reason).toContain('within the time left of this invocation');
    // It ended in its own failure path, not in Lambda's timeout.
    const invocations = h.sb.lambda.invocations.slice(before);
    expect(invocations.map((i) => i.error?.name)).toEqual([undefined, 'RotationError']);
    expect(keyInStage(h.sb, registry, 'AWSCURRENT')).toBe(current);

    // Secrets Manager's reattempt, with the same token, once NVCF answers again.
    registerHandlers(h);
    const checked = h.sb.onCall((call) => {
      for (const v of invariantViolations(h.sb, registry)) violations.push(`after ${call.operation}: ${v}`);
    });
    await reattemptInNextWindow(h, registry);
    checked();
    expect(violations).toEqual([]);
    expect(rotationRecord(h.sb, registry, token)?.status).toBe('succeeded');
    expect(keyInStage(h.sb, registry, 'AWSCURRENT')).not.toBe(current);
    expect(await pullsAfterRotation(h, registry, image)).toEqual([]);
  });
});
