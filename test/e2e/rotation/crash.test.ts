import { join } from 'node:path';
import { RotateSecretCommand, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { type Config, loadConfig, type RegistryConfig } from '@nvcf-ecr/core/config';
import type { FaultRuleInput, LambdaHandler, RunningSandbox } from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromSandboxEnvironment } from '../../../functions/lib/sandbox.ts';
import { createRetireKeysHandler } from '../../../functions/retire-keys.ts';
import { createRotateCredentialHandler } from '../../../functions/rotate-credential.ts';
import {
  advanceHours,
  expectNoSecretsLeaked,
  FAST_TIMING,
  type Harness,
  handlerEnvironment,
  invariantViolations,
  keyInStage,
  keysOf,
  nvcfPull,
  pushTestImage,
  retireFunctionArn,
  rotationFunctionArn,
  rotationRecord,
  startHarness,
  stuckPending,
} from './harness.ts';

// Invariants 1–3 (packages/core/src/rotation/README.md, "Invariants") under crashes: for every external call a
// clean rotation makes — its own calls to Secrets Manager, IAM, STS, ECR, EventBridge and NVCF, and the ECR calls
// NVCF makes to check the key — one run with a one-shot fault at that call, both a plain failure (the call never
// happened) and `afterEffect` (it happened, the caller never learned it: a Lambda that died right after it).
// Secrets Manager then retries the rotation with the same token. After EVERY call, NVCF's credential holds an
// Active key of the pull user, the user has at most two keys and AWSCURRENT's key is Active; at the end the
// rotation succeeded, nothing is left on AWSPENDING, and NVCF pulls. Keys work at once (no propagation delay) and
// Secrets Manager retries without pause, so the whole matrix stays fast.

const config: Config = await loadConfig(join(import.meta.dirname, '../../../nvcf-ecr.config.ts'));
const registry = config.registries[0] as RegistryConfig;

interface CallSite {
  readonly service: string;
  readonly operation: string;
  /** 1 for the first call of this operation during the rotation. */
  readonly occurrence: number;
}

type Snapshot = [string, unknown][];

function snapshot(sb: RunningSandbox): Snapshot {
  return sb.modules.map((m) => [m.name, structuredClone(m.snapshot())]);
}

function restore(sb: RunningSandbox, snap: Snapshot): void {
  for (const [name, data] of snap) sb.modules.find((m) => m.name === name)?.restore(structuredClone(data));
  sb.world.faults.clear();
}

/** Starts a rotation the way the schedule does and waits for it (with its retries) to end. */
async function rotateOnce(h: Harness): Promise<{ token: string; violations: string[] }> {
  const violations: string[] = [];
  const off = h.sb.onCall((call) => {
    for (const v of invariantViolations(h.sb, registry))
      violations.push(`after ${call.service}:${call.operation}: ${v}`);
  });
  try {
    const out = await h.aws.secrets.send(
      new RotateSecretCommand({
        SecretId: registry.secretName,
        RotationLambdaARN: rotationFunctionArn(h.sb),
        RotationRules: { ScheduleExpression: registry.rotation.schedule },
        RotateImmediately: true,
      }),
    );
    await h.sb.settle();
    return { token: out.VersionId ?? '', violations };
  } finally {
    off();
  }
}

/** The calls of a clean rotation, in order, with their occurrence numbers. */
async function callSites(h: Harness): Promise<CallSite[]> {
  const seen: { service: string; operation: string }[] = [];
  const off = h.sb.onCall((c) => seen.push({ service: c.service, operation: c.operation }));
  try {
    await rotateOnce(h);
  } finally {
    off();
  }
  // The first call is the test's own RotateSecret.
  const calls = seen.slice(1);
  const counts = new Map<string, number>();
  return calls.map((c) => {
    const key = `${c.service}:${c.operation}`;
    const occurrence = (counts.get(key) ?? 0) + 1;
    counts.set(key, occurrence);
    return { ...c, occurrence };
  });
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

function registerHandlers(h: Harness): void {
  const env = fromSandboxEnvironment(handlerEnvironment(h.sb, config));
  h.sb.lambda.register({
    arn: rotationFunctionArn(h.sb),
    name: 'nvcf-ecr-rotate-credential',
    handler: createRotateCredentialHandler(env, { timing: FAST_TIMING }) as LambdaHandler,
    timeoutSeconds: 300,
    memoryMb: 256,
  });
  h.sb.lambda.register({
    arn: retireFunctionArn(h.sb),
    name: 'nvcf-ecr-retire-keys',
    handler: createRetireKeysHandler(env) as LambdaHandler,
    timeoutSeconds: 60,
    memoryMb: 256,
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
      const abandon = (token: string) =>
        h.aws.secrets.send(
          new UpdateSecretVersionStageCommand({
            SecretId: registry.secretName,
            VersionStage: 'AWSPENDING',
            RemoveFromVersionId: token,
          }),
        );
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
      await abandon(cancelled.token);
      await advanceHours(h.sb, 2);
      // The next rotation points NVCF back at the current key and leaves the cancelled key to NVCF's caches.
      const refused = await rotateOnce(h);
      expect(refused.violations).toEqual([]);
      expect(rotationRecord(h.sb, registry, refused.token)?.status).toBe('failed');
      await abandon(refused.token);
      await advanceHours(h.sb, registry.rotation.graceHours + 1);
      expect(keysOf(h.sb, registry)).toHaveLength(2);
    },
  },
];

describe.each(SCENARIOS)('Rotation: a crash at every call of $name', (scenario) => {
  let h: Harness;
  let start: Snapshot;
  let sites: CallSite[];
  let image: string;

  beforeAll(async () => {
    // No rotation function at start, so the state before the first rotation can be captured.
    h = await startHarness(config, { handlerKeys: [] });
    registerHandlers(h);
    image = await pushTestImage(h.sb, registry, 'inference', 'v1');
    await scenario.prepare(h);
    start = snapshot(h.sb);
    // Each run starts with cold handlers (fresh clients, no cached NGC key), so every run makes the same calls.
    registerHandlers(h);
    sites = await callSites(h);
  });
  afterAll(async () => {
    await expectNoSecretsLeaked(h);
    await h.close();
  });

  it('enumerates the calls of a clean rotation: every service the rotation touches', () => {
    const services = new Set(sites.map((s) => s.service));
    expect(services).toEqual(new Set(['secretsmanager', 'iam', 'sts', 'ecr', 'nvcf', 'events']));
    expect(sites.length).toBeGreaterThan(15);
  });

  it.each([false, true])(
    'converges with every invariant held after every call (afterEffect: %s)',
    async (afterEffect) => {
      const failures: string[] = [];
      let retried = 0;
      for (const site of sites) {
        restore(h.sb, start);
        registerHandlers(h);
        const before = keyInStage(h.sb, registry, 'AWSCURRENT');
        h.sb.world.faults.add([crash(site, afterEffect)]);
        const { token, violations } = await rotateOnce(h);
        const where = `${site.service}:${site.operation}#${site.occurrence}`;
        const problems = [...violations];
        if (h.sb.world.faults.list().length > 0) problems.push('the fault never fired');
        if ((rotationRecord(h.sb, registry, token)?.attempts.length ?? 0) > 1) retried++;
        if (rotationRecord(h.sb, registry, token)?.status !== 'succeeded')
          problems.push(`rotation ${rotationRecord(h.sb, registry, token)?.status}`);
        if (stuckPending(h.sb, registry)) problems.push('AWSPENDING left behind');
        if (keyInStage(h.sb, registry, 'AWSCURRENT') === before) problems.push('AWSCURRENT did not move');
        if (keysOf(h.sb, registry).length > 2) problems.push('more than two keys');
        const pull = await nvcfPull(h.sb, image);
        if (!pull.ok) problems.push(`NVCF cannot pull: ${pull.error}`);
        failures.push(...problems.map((p) => `${where}: ${p}`));
      }
      expect(failures).toEqual([]);
      // Most crashes end the attempt and Secrets Manager's retry finishes the job; the others hit best-effort
      // calls (the Rotated event, the credential id it carries) or the NVCF client's own retries.
      expect(retried).toBeGreaterThan(sites.length / 2);
    },
    // Some forty rotations per run, each with its retries: longer than the default on a busy machine.
    120_000,
  );
});
