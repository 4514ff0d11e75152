import { DeleteAccessKeyCommand } from '@aws-sdk/client-iam';
import { DETAIL_TYPES } from '@nvcf-ecr/core/events';
import { maskAccessKeyId } from '@nvcf-ecr/core/redact';
import type { RotationFailedDetail } from '@nvcf-ecr/core/rotation';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { control } from '../../helpers/sandbox.ts';
import {
  abandonRotation,
  advanceHours,
  credentialsOf,
  exampleConfig,
  expectNoSecretsLeaked,
  freshWorld,
  type Harness,
  invariantViolations,
  keyInStage,
  keysOf,
  nvcfPull,
  projectEvents,
  rotate,
  rotationRecord,
  startHarness,
} from './harness.ts';

// A cancelled rotation's key that NVCF took (a `superseded` key): NVCF keeps handing it out until a rotation
// points NVCF back at the current key, and its caches keep handing it out for minutes after that
// (`NVIDIA/nvcf` `RegistryCredentialEssService`: 5 minutes per API pod, invalidated only on the pod that took the
// write). The rotation must point NVCF back before anything else, and must not delete that key while NVCF may still
// serve it.

const { config, registry } = await exampleConfig();

/** A rotation that fails at finishSecret — after setSecret gave NVCF its key — and is then abandoned. */
async function cancelledAfterSetSecret(h: Harness): Promise<string> {
  await control(h.sb, 'POST', 'faults', {
    service: 'secretsmanager',
    operation: 'UpdateSecretVersionStage',
    error: { status: 400, code: 'InjectedFailure', message: 'injected' },
    times: 100,
  });
  const token = await rotate(h, registry);
  await control(h.sb, 'DELETE', 'faults');
  expect(rotationRecord(h.sb, registry, token)?.status).toBe('failed');
  const cancelled = keyInStage(h.sb, registry, 'AWSPENDING') as string;
  expect(credentialsOf(h.sb, registry)[0]?.username).toBe(cancelled);
  // What packages/core/src/rotation/README.md, "Recovering", says to do to abandon a rotation.
  await abandonRotation(h, registry, token);
  return cancelled;
}

async function refusalOf(h: Harness, token: string): Promise<RotationFailedDetail | undefined> {
  const events = await projectEvents<RotationFailedDetail>(h.sb, DETAIL_TYPES.rotationFailed);
  return events.find((e) => e.token === token);
}

describe('Rotation: a cancelled rotation’s key that NVCF took', () => {
  let h: Harness;
  let image: string;

  beforeAll(async () => {
    h = await startHarness(config, { handlerKeys: ['rotateCredential'] });
  });
  afterAll(async () => {
    await expectNoSecretsLeaked(h);
    await h.close();
  });
  beforeEach(async () => {
    image = await freshWorld(h, registry);
  });

  it('points NVCF back at the current key before refusing a superseded key inside its grace period', async () => {
    const current = keyInStage(h.sb, registry, 'AWSCURRENT') as string;
    const cancelled = await cancelledAfterSetSecret(h);
    const token = await rotate(h, registry);
    expect(rotationRecord(h.sb, registry, token)?.status).toBe('failed');
    const refusal = await refusalOf(h, token);
    expect(refusal).toMatchObject({ step: 'createSecret', refused: true });
    // A key NVCF may have handed out gets the grace period, counted from NVCF being pointed back at the current key.
    expect(refusal?.reason).toContain(`The superseded key ${maskAccessKeyId(cancelled)} of IAM user`);
    expect(refusal?.reason).toContain('inside its grace period until');
    expect(credentialsOf(h.sb, registry)[0]?.username).toBe(current);
    expect(keysOf(h.sb, registry).map((k) => k.accessKeyId)).toContain(cancelled);
    expect(invariantViolations(h.sb, registry)).toEqual([]);
    expect(await nvcfPull(h.sb, image)).toMatchObject({ ok: true });
  });

  it('does not delete it in the run that moved NVCF off it, while NVCF’s caches hand it out; once its grace period is over it does', async () => {
    const current = keyInStage(h.sb, registry, 'AWSCURRENT') as string;
    const cancelled = await cancelledAfterSetSecret(h);
    // Unused for two hours: only NVCF (and its caches) may still hand it out.
    await advanceHours(h.sb, 2);
    await control(h.sb, 'POST', 'nvcf/stale-cache', { seconds: 300 });

    const first = await rotate(h, registry);
    expect(rotationRecord(h.sb, registry, first)?.status).toBe('failed');
    const refusal = await refusalOf(h, first);
    expect(refusal).toMatchObject({ step: 'createSecret', refused: true });
    expect(refusal?.reason).toContain(`The superseded key ${maskAccessKeyId(cancelled)} of IAM user`);
    expect(refusal?.reason).toContain('inside its grace period until');
    const [credential] = credentialsOf(h.sb, registry);
    expect(credential?.username).toBe(current);
    // NVCF's cache still hands out the cancelled key (a pull now would use it — and count as a use of it for
    // an hour), and it still exists.
    expect(credential?.previous?.username).toBe(cancelled);
    expect(keysOf(h.sb, registry)).toContainEqual({ accessKeyId: cancelled, status: 'Active' });
    expect(invariantViolations(h.sb, registry)).toEqual([]);

    await abandonRotation(h, registry, first);
    await advanceHours(h.sb, registry.rotation.graceHours + 1);
    const second = await rotate(h, registry);
    expect(rotationRecord(h.sb, registry, second)?.status).toBe('succeeded');
    expect(keysOf(h.sb, registry).map((k) => k.accessKeyId)).not.toContain(cancelled);
    expect(await nvcfPull(h.sb, image)).toMatchObject({ ok: true });
    expect(invariantViolations(h.sb, registry)).toEqual([]);
  });

  it('flags, in the invariant check, a key deleted while NVCF may still hand it out', async () => {
    await rotate(h, registry);
    // NVCF moved from this key to the new one seconds ago; deleting it by hand breaks NVCF's cached copies.
    const previous = keyInStage(h.sb, registry, 'AWSPREVIOUS') as string;
    await h.aws.iam.send(new DeleteAccessKeyCommand({ UserName: registry.userName, AccessKeyId: previous }));
    expect(invariantViolations(h.sb, registry)).toContainEqual(
      expect.stringContaining(
        `${maskAccessKeyId(previous)} was deleted while NVCF may still hand it out (it held it at `,
      ),
    );
  });
});
