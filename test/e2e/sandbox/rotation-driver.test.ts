import {
  CancelRotateSecretCommand,
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  type RotateSecretCommandInput,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { RunningSandbox } from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clients, control, rejection, withSandbox } from '../../helpers/sandbox.ts';

/**
 * The rotation driver of the Secrets Manager emulator
 * (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda.html): small rotation
 * functions registered with the local Lambda registry — a TypeScript rendering of AWS's
 * SecretsManagerRotationTemplate (guard, createSecret filling the pending version, finishSecret moving AWSCURRENT)
 * with hooks to observe, fail or hold a step — prove the order of the steps, the empty AWSPENDING version,
 * stop-at-first-error, retries with the same token, rotation-in-progress, cancellation, schedules on the virtual
 * clock and validation runs.
 */

const DAY = 86_400_000;
const ORIGINAL = '11111111-1111-4111-8111-111111111111';
const ATTEMPTS = 3;

interface Invocation {
  Step: string;
  SecretId: string;
  ClientRequestToken: string;
  RotationToken: string;
}

interface Behaviour {
  /** Runs before the template's code for a step; throw to fail the step. */
  before?: (event: Invocation, nth: number) => Promise<void> | void;
}

interface RotationHistory {
  token: string;
  mode: string;
  trigger: string;
  status: string;
  attempts: {
    attempt: number;
    steps: { step: string; ok: boolean; error?: { name: string; message: string } }[];
  }[];
}

describe('Sandbox: Secrets Manager rotation driver', () => {
  let sb: RunningSandbox;
  let sm: SecretsManagerClient;
  let fnArn: string;
  let calls: Invocation[];
  let behaviour: Behaviour;

  beforeAll(async () => {
    sb = await withSandbox({ rotationAttempts: ATTEMPTS, rotationRetryDelayMs: 10 });
    sm = clients(sb).secrets;
    fnArn = `arn:aws:lambda:${sb.region}:${sb.accountId}:function:test-rotator`;
    sb.lambda.register({
      arn: fnArn,
      name: 'test-rotator',
      handler: (event) => rotator(event as Invocation),
      timeoutSeconds: 30,
      memoryMb: 128,
    });
  });
  afterAll(() => sb.close());
  beforeEach(async () => {
    await control(sb, 'POST', 'reset');
    calls = [];
    behaviour = {};
  });

  /**
   * The AWS rotation template's control flow
   * (`aws-samples/aws-secrets-manager-rotation-lambdas:SecretsManagerRotationTemplate/lambda_function.py`),
   * against the sandbox through the SDK.
   */
  async function rotator(event: Invocation): Promise<void> {
    calls.push(event);
    await behaviour.before?.(event, calls.filter((c) => c.Step === event.Step).length);
    const { SecretId, ClientRequestToken: token } = event;
    const described = await sm.send(new DescribeSecretCommand({ SecretId }));
    if (!described.RotationEnabled) throw new Error(`rotation is not enabled on ${SecretId}`);
    const stages = described.VersionIdsToStages?.[token];
    if (!stages) throw new Error(`version ${token} has no stage for rotation`);
    if (stages.includes('AWSCURRENT')) return;
    if (!stages.includes('AWSPENDING')) throw new Error(`version ${token} is not AWSPENDING`);
    if (event.Step === 'createSecret') {
      await sm.send(new GetSecretValueCommand({ SecretId, VersionStage: 'AWSCURRENT' }));
      try {
        await sm.send(new GetSecretValueCommand({ SecretId, VersionId: token, VersionStage: 'AWSPENDING' }));
      } catch (err) {
        if ((err as Error).name !== 'ResourceNotFoundException') throw err;
        await sm.send(
          new PutSecretValueCommand({
            SecretId,
            ClientRequestToken: token,
            SecretString: `rotated-${token}`,
            VersionStages: ['AWSPENDING'],
          }),
        );
      }
    }
    if (event.Step === 'finishSecret') {
      const current = Object.entries(described.VersionIdsToStages ?? {}).find(([, s]) =>
        s.includes('AWSCURRENT'),
      )?.[0];
      await sm.send(
        new UpdateSecretVersionStageCommand({
          SecretId,
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: token,
          RemoveFromVersionId: current,
        }),
      );
    }
  }

  async function secretWithRotation(name: string, input: Partial<RotateSecretCommandInput> = {}) {
    const { ARN } = await sm.send(
      new CreateSecretCommand({ Name: name, SecretString: 'original', ClientRequestToken: ORIGINAL }),
    );
    const rotated = await sm.send(
      new RotateSecretCommand({ SecretId: name, RotationLambdaARN: fnArn, ...input }),
    );
    return { arn: ARN ?? '', token: rotated.VersionId ?? '' };
  }

  async function history(arn: string): Promise<RotationHistory[]> {
    const state = await control<{
      secretsmanager: { secrets: { arn: string; rotations: RotationHistory[] }[] };
    }>(sb, 'GET', 'state');
    return state.secretsmanager.secrets.find((s) => s.arn === arn)?.rotations ?? [];
  }

  const settle = () => control(sb, 'POST', 'settle');
  const steps = () => calls.map((c) => c.Step);
  const stagesOf = async (id: string) =>
    (await sm.send(new DescribeSecretCommand({ SecretId: id }))).VersionIdsToStages;
  const now = async () => Date.parse((await control<{ now: string }>(sb, 'GET', 'clock')).now);

  /** Waits (bounded) until the function has been invoked for `step`: the rotation runs in the background. */
  async function invoked(step: string): Promise<void> {
    for (let i = 0; i < 200 && !steps().includes(step); i++) await new Promise((r) => setTimeout(r, 10));
    expect(steps()).toContain(step);
  }

  /** A step held until released, to act while a rotation is under way. */
  function holdAt(step: string): () => void {
    let release = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    behaviour.before = (event) => (event.Step === step ? gate : undefined);
    return release;
  }

  it('creates the empty AWSPENDING version, then runs the four steps in order with the ARN and the token', async () => {
    const observed: { stages?: string[] | undefined; pendingError?: string } = {};
    behaviour.before = async (event) => {
      if (event.Step !== 'createSecret') return;
      observed.stages = (await stagesOf(event.SecretId))?.[event.ClientRequestToken];
      const err = await rejection(
        sm.send(
          new GetSecretValueCommand({
            SecretId: event.SecretId,
            VersionId: event.ClientRequestToken,
            VersionStage: 'AWSPENDING',
          }),
        ),
      );
      observed.pendingError = `${err.name}: ${err.message}`;
    };
    const { arn, token } = await secretWithRotation('ordered', {
      RotationRules: { AutomaticallyAfterDays: 30 },
    });
    await settle();

    expect(steps()).toEqual(['createSecret', 'setSecret', 'testSecret', 'finishSecret']);
    expect(new Set(calls.map((c) => `${c.SecretId} ${c.ClientRequestToken} ${c.RotationToken}`)).size).toBe(
      1,
    );
    expect(calls[0]).toMatchObject({ SecretId: arn, ClientRequestToken: token });
    expect(observed.stages).toEqual(['AWSPENDING']);
    expect(observed.pendingError).toBe(
      `ResourceNotFoundException: Secrets Manager can't find the specified secret value for VersionId: ${token}`,
    );

    const d = await sm.send(new DescribeSecretCommand({ SecretId: 'ordered' }));
    expect(d.VersionIdsToStages).toEqual({ [ORIGINAL]: ['AWSPREVIOUS'], [token]: ['AWSCURRENT'] });
    expect((await sm.send(new GetSecretValueCommand({ SecretId: 'ordered' }))).SecretString).toBe(
      `rotated-${token}`,
    );
    const rotatedAt = d.LastRotatedDate?.getTime() ?? 0;
    expect(rotatedAt).toBeGreaterThan(0);
    // AutomaticallyAfterDays 30: the window is the whole UTC day 30 days after the rotation's day.
    expect(d.NextRotationDate?.getTime()).toBe(Math.floor(rotatedAt / DAY) * DAY + 31 * DAY - 1000);
    expect(await history(arn)).toEqual([
      expect.objectContaining({
        token,
        mode: 'rotate',
        trigger: 'RotateSecret',
        status: 'succeeded',
        attempts: [expect.objectContaining({ attempt: 1 })],
      }),
    ]);
  });

  it('stops at the first error, leaves the labels in place and retries the whole rotation with the same token', async () => {
    behaviour.before = (event) => {
      if (event.Step === 'setSecret') throw new Error('the target refused the new key');
    };
    const { arn, token } = await secretWithRotation('failing');
    await settle();

    expect(steps()).toEqual(Array.from({ length: ATTEMPTS }, () => ['createSecret', 'setSecret']).flat());
    expect(new Set(calls.map((c) => c.ClientRequestToken))).toEqual(new Set([token]));
    expect(await stagesOf('failing')).toEqual({ [ORIGINAL]: ['AWSCURRENT'], [token]: ['AWSPENDING'] });
    expect((await sm.send(new GetSecretValueCommand({ SecretId: 'failing' }))).SecretString).toBe('original');
    expect(
      (await sm.send(new DescribeSecretCommand({ SecretId: 'failing' }))).LastRotatedDate,
    ).toBeUndefined();
    const [rotation] = await history(arn);
    expect(rotation?.status).toBe('failed');
    expect(rotation?.attempts.map((a) => a.steps)).toEqual(
      Array.from({ length: ATTEMPTS }, () => [
        expect.objectContaining({ step: 'createSecret', ok: true }),
        {
          step: 'setSecret',
          ok: false,
          at: expect.any(String),
          error: { name: 'Error', message: 'the target refused the new key' },
        },
      ]),
    );
  });

  it('converges when a retry succeeds, reusing the pending value of the same token', async () => {
    behaviour.before = (event, nth) => {
      if (event.Step === 'setSecret' && nth === 1) throw new Error('transient');
    };
    const { arn, token } = await secretWithRotation('flaky');
    await settle();

    expect(steps()).toEqual([
      'createSecret',
      'setSecret',
      'createSecret',
      'setSecret',
      'testSecret',
      'finishSecret',
    ]);
    expect(await stagesOf('flaky')).toEqual({ [ORIGINAL]: ['AWSPREVIOUS'], [token]: ['AWSCURRENT'] });
    const versions = await sm.send(
      new ListSecretVersionIdsCommand({ SecretId: 'flaky', IncludeDeprecated: true }),
    );
    expect(versions.Versions?.map((v) => v.VersionId).sort()).toEqual([ORIGINAL, token].sort());
    const [rotation] = await history(arn);
    expect(rotation).toMatchObject({ token, status: 'succeeded' });
    expect(rotation?.attempts).toHaveLength(2);
  });

  it('refuses every RotateSecret while a rotation is unfinished, its own token included, until AWSPENDING is removed', async () => {
    behaviour.before = (event) => {
      if (event.Step === 'testSecret') throw new Error('new key does not work yet');
    };
    const { token: stuck } = await secretWithRotation('stuck');
    await settle();
    for (const token of [undefined, stuck]) {
      const err = await rejection(
        sm.send(new RotateSecretCommand({ SecretId: 'stuck', ClientRequestToken: token })),
      );
      expect(err.name).toBe('InvalidRequestException');
      expect(err.$metadata?.httpStatusCode).toBe(400);
      expect(err.message).toBe("A previous rotation isn't complete. That rotation will be reattempted.");
    }

    // The way out: remove AWSPENDING from the stuck version, then rotate with a new token.
    behaviour.before = undefined;
    calls = [];
    await sm.send(
      new UpdateSecretVersionStageCommand({
        SecretId: 'stuck',
        VersionStage: 'AWSPENDING',
        RemoveFromVersionId: stuck,
      }),
    );
    const again = await sm.send(new RotateSecretCommand({ SecretId: 'stuck' }));
    expect(again.VersionId).not.toBe(stuck);
    await settle();
    expect(calls.map((c) => c.ClientRequestToken)).toEqual(Array(4).fill(again.VersionId));
    expect(await stagesOf('stuck')).toEqual({
      [ORIGINAL]: ['AWSPREVIOUS'],
      [again.VersionId ?? '']: ['AWSCURRENT'],
    });
  });

  it('answers RotateSecret before the steps run, refuses a second one meanwhile, and CancelRotateSecret stops it between steps', async () => {
    const release = holdAt('setSecret');
    const { arn, token } = await secretWithRotation('cancelled', {
      RotationRules: { AutomaticallyAfterDays: 7 },
    });
    await invoked('setSecret');

    const second = await rejection(sm.send(new RotateSecretCommand({ SecretId: 'cancelled' })));
    expect(second.message).toBe("A previous rotation isn't complete. That rotation will be reattempted.");
    const cancelled = await sm.send(new CancelRotateSecretCommand({ SecretId: 'cancelled' }));
    expect(cancelled).toMatchObject({ ARN: arn, Name: 'cancelled', VersionId: token });
    release();
    await settle();

    expect(steps()).toEqual(['createSecret', 'setSecret']);
    const d = await sm.send(new DescribeSecretCommand({ SecretId: 'cancelled' }));
    expect(d.RotationEnabled).toBe(false);
    expect(d.NextRotationDate).toBeUndefined();
    expect(d.RotationRules).toEqual({ AutomaticallyAfterDays: 7 });
    // The labels stay: the caller cleans the unfinished version (CancelRotateSecret doc).
    expect(d.VersionIdsToStages).toEqual({ [ORIGINAL]: ['AWSCURRENT'], [token]: ['AWSPENDING'] });
    expect((await history(arn))[0]?.status).toBe('cancelled');
  });

  it("starts one rotation when the schedule's window opens on the virtual clock, however far the clock jumps", async () => {
    const { arn } = await secretWithRotation('scheduled', {
      RotationRules: { ScheduleExpression: 'rate(1 day)' },
    });
    await settle();
    expect(await history(arn)).toHaveLength(1);

    // Still inside today: the next window opens at midnight UTC.
    const toMidnight = DAY - ((await now()) % DAY);
    if (toMidnight > 120_000) {
      await control(sb, 'POST', 'clock', { advanceSeconds: (toMidnight - 60_000) / 1000 });
      await settle();
      expect(await history(arn)).toHaveLength(1);
    }

    await control(sb, 'POST', 'clock', { advanceSeconds: 10 * 86_400 });
    await settle();
    const rotations = await history(arn);
    expect(rotations.map((r) => [r.trigger, r.status])).toEqual([
      ['RotateSecret', 'succeeded'],
      ['schedule', 'succeeded'],
    ]);
    const d = await sm.send(new DescribeSecretCommand({ SecretId: 'scheduled' }));
    expect(d.VersionIdsToStages?.[rotations[1]?.token ?? '']).toEqual(['AWSCURRENT']);
    const rotatedAt = d.LastRotatedDate?.getTime() ?? 0;
    expect(d.NextRotationDate?.getTime()).toBe(Math.floor(rotatedAt / DAY) * DAY + 2 * DAY - 1000);
    // "calculated from the rotation schedule after every successful rotation" (RotationRulesType doc).
    expect(d.RotationRules).toEqual({ AutomaticallyAfterDays: 1, ScheduleExpression: 'rate(1 day)' });
  });

  it('reattempts an unfinished rotation with its own token when the next scheduled window opens', async () => {
    behaviour.before = (event) => {
      if (event.Step === 'finishSecret') throw new Error('not yet');
    };
    const { arn, token } = await secretWithRotation('reattempted', {
      RotationRules: { ScheduleExpression: 'rate(4 hours)' },
    });
    await settle();
    behaviour.before = undefined;
    calls = [];
    await control(sb, 'POST', 'clock', { advanceSeconds: 5 * 3600 });
    await settle();

    expect(new Set(calls.map((c) => c.ClientRequestToken))).toEqual(new Set([token]));
    expect((await history(arn)).map((r) => [r.token, r.trigger, r.status])).toEqual([
      [token, 'RotateSecret', 'failed'],
      [token, 'schedule', 'succeeded'],
    ]);
  });

  it('with RotateImmediately false runs only testSecret on an AWSPENDING copy of the current value, then removes the label', async () => {
    let pendingSeen: string | undefined;
    behaviour.before = async (event) => {
      pendingSeen = (
        await sm.send(new GetSecretValueCommand({ SecretId: event.SecretId, VersionStage: 'AWSPENDING' }))
      ).SecretString;
    };
    const { arn, token } = await secretWithRotation('validated', {
      RotateImmediately: false,
      RotationRules: { AutomaticallyAfterDays: 10 },
    });
    await settle();

    expect(steps()).toEqual(['testSecret']);
    expect(pendingSeen).toBe('original');
    const d = await sm.send(new DescribeSecretCommand({ SecretId: 'validated' }));
    expect(d.VersionIdsToStages).toEqual({ [ORIGINAL]: ['AWSCURRENT'] });
    expect(d.RotationEnabled).toBe(true);
    expect(d.LastRotatedDate).toBeUndefined();
    expect(d.NextRotationDate).toBeInstanceOf(Date);
    expect(await history(arn)).toEqual([
      expect.objectContaining({ token, mode: 'test', status: 'succeeded' }),
    ]);
  });

  it('refuses a rotation function it cannot invoke, creating no version and invoking nothing', async () => {
    await sm.send(
      new CreateSecretCommand({ Name: 'nofunction', SecretString: 'original', ClientRequestToken: ORIGINAL }),
    );
    const err = await rejection(
      sm.send(
        new RotateSecretCommand({
          SecretId: 'nofunction',
          RotationLambdaARN: `arn:aws:lambda:${sb.region}:${sb.accountId}:function:missing`,
        }),
      ),
    );
    expect(err.name).toBe('AccessDeniedException');
    expect(err.message).toBe(
      'Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants access to the principal secretsmanager.amazonaws.com.',
    );
    await settle();
    expect(calls).toEqual([]);
    const versions = await sm.send(
      new ListSecretVersionIdsCommand({ SecretId: 'nofunction', IncludeDeprecated: true }),
    );
    expect(versions.Versions?.map((v) => v.VersionId)).toEqual([ORIGINAL]);
  });

  it('never keeps a secret value in the rotation history, even when the function quotes one', async () => {
    const key = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    await sm.send(
      new CreateSecretCommand({
        Name: 'leaky',
        SecretString: JSON.stringify({ password: 'hunter2-hunter2' }),
        ClientRequestToken: ORIGINAL,
      }),
    );
    behaviour.before = () => {
      throw new Error(`login failed for password hunter2-hunter2 and key ${key}`);
    };
    const { VersionId } = await sm.send(
      new RotateSecretCommand({ SecretId: 'leaky', RotationLambdaARN: fnArn }),
    );
    await settle();
    const state = JSON.stringify(
      (await control<{ secretsmanager: { secrets: { rotations: unknown }[] } }>(sb, 'GET', 'state'))
        .secretsmanager.secrets[0]?.rotations,
    );
    expect(state).toContain(VersionId);
    expect(state).toContain('login failed for password [redacted] and key [redacted]');
    expect(state).not.toContain('hunter2');
    expect(state).not.toContain(key);
  });
});
