import { PutSecretValueCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { DETAIL_TYPES } from '@nvcf-ecr/core/events';
import { DEPLOYED_BOOTSTRAP_VALUE } from '@nvcf-ecr/core/rotation';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromSandboxEnvironment } from '../../../functions/lib/sandbox.ts';
import { createRotateCredentialHandler } from '../../../functions/rotate-credential.ts';
import {
  credentialsOf,
  exampleConfig,
  expectNoSecretsLeaked,
  FAST_TIMING,
  type Harness,
  handlerEnvironment,
  keyInStage,
  keysOf,
  projectEvents,
  rotationFunctionArn,
  rotationRecord,
  secretOf,
  startHarness,
  stuckPending,
} from './harness.ts';

// What a deploy does to a rotated secret: the stacks' rotation schedule calls RotateSecret with
// RotateImmediately=false when it is created and whenever its schedule or window changes, and Secrets Manager
// then runs only the function's testSecret step against an AWSPENDING version it creates and removes. The
// function must pass that test before the first rotation (bootstrap value, no key) and after it, and change
// nothing: no key, no NVCF credential, no label left behind — so the operator's first rotation, and every
// later schedule change, are never refused.

const { config, registry } = await exampleConfig();

describe('Rotation: the configuration test a deploy runs', () => {
  let h: Harness;

  beforeAll(async () => {
    // As deployed before any rotation: the secret holds the stacks' bootstrap value, no rotation is configured yet.
    h = await startHarness(config, { handlerKeys: ['retireKeys'] });
    // The value the stacks create the secret with (the sandbox writes the registry's identity instead).
    await h.aws.secrets.send(
      new PutSecretValueCommand({ SecretId: registry.secretName, SecretString: DEPLOYED_BOOTSTRAP_VALUE }),
    );
    h.sb.lambda.register({
      arn: rotationFunctionArn(h.sb),
      name: 'rotation',
      handler: createRotateCredentialHandler(fromSandboxEnvironment(handlerEnvironment(h.sb, config)), {
        timing: FAST_TIMING,
      }) as never,
      timeoutSeconds: 300,
      memoryMb: 256,
    });
  });
  afterAll(async () => {
    await expectNoSecretsLeaked(h);
    await h.close();
  });

  /** What CloudFormation's RotationSchedule calls, with RotateImmediatelyOnUpdate false. */
  const deploySchedule = async (schedule: string) => {
    const out = await h.aws.secrets.send(
      new RotateSecretCommand({
        SecretId: registry.secretName,
        RotationLambdaARN: rotationFunctionArn(h.sb),
        RotationRules: { ScheduleExpression: schedule, Duration: registry.rotation.window },
        RotateImmediately: false,
      }),
    );
    await h.sb.settle();
    return rotationRecord(h.sb, registry, out.VersionId ?? '');
  };

  it('passes on the first deploy, before any key exists, and touches nothing', async () => {
    const record = await deploySchedule(registry.rotation.schedule);
    expect(record).toMatchObject({ mode: 'test', status: 'succeeded' });
    expect(record?.attempts.flatMap((a) => a.steps.map((s) => [s.step, s.ok]))).toEqual([
      ['testSecret', true],
    ]);
    expect(keysOf(h.sb, registry)).toEqual([]);
    expect(keyInStage(h.sb, registry, 'AWSCURRENT')).toBeUndefined();
    expect(credentialsOf(h.sb, registry)).toEqual([]);
    expect(stuckPending(h.sb, registry)).toBeUndefined();
    expect(await projectEvents(h.sb, DETAIL_TYPES.rotationFailed)).toEqual([]);
  });

  it('leaves the operator’s first rotation free to start (nvcf-ecr rotate calls RotateSecret)', async () => {
    const out = await h.aws.secrets.send(new RotateSecretCommand({ SecretId: registry.secretName }));
    await h.sb.settle();
    expect(rotationRecord(h.sb, registry, out.VersionId ?? '')).toMatchObject({
      mode: 'rotate',
      status: 'succeeded',
    });
    expect(keyInStage(h.sb, registry, 'AWSCURRENT')).toMatch(/^AKIA/);
  });

  it('passes on a schedule change after rotations, keeping the key, NVCF’s credential and the labels', async () => {
    const current = keyInStage(h.sb, registry, 'AWSCURRENT');
    const keys = keysOf(h.sb, registry);
    const credentials = credentialsOf(h.sb, registry);
    // Labelled versions: the test's own version may stay without a label (Secrets Manager deprecates such
    // versions and deletes them in time).
    const labelled = () =>
      secretOf(h.sb, registry)
        .versions.filter((v) => v.stages.length > 0)
        .map((v) => [v.versionId, v.stages]);
    const versions = labelled();

    const record = await deploySchedule('rate(20 days)');
    expect(record).toMatchObject({ mode: 'test', status: 'succeeded' });
    expect(keyInStage(h.sb, registry, 'AWSCURRENT')).toBe(current);
    expect(keysOf(h.sb, registry)).toEqual(keys);
    expect(credentialsOf(h.sb, registry)).toEqual(credentials);
    expect(labelled()).toEqual(versions);
    expect(await projectEvents(h.sb, DETAIL_TYPES.rotationFailed)).toEqual([]);

    // And the next schedule change is not refused as "a previous rotation isn't complete".
    expect(await deploySchedule(registry.rotation.schedule)).toMatchObject({ status: 'succeeded' });
  });
});
