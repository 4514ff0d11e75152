import { randomUUID } from 'node:crypto';
import { CreateAccessKeyCommand } from '@aws-sdk/client-iam';
import { RotateSecretCommand, TagResourceCommand } from '@aws-sdk/client-secrets-manager';
import { assertConfig, type RegistryConfig } from '@nvcf-ecr/core/config';
import { encodeRegistrySecret, maskAccessKeyId } from '@nvcf-ecr/core/credential';
import { DETAIL_TYPES } from '@nvcf-ecr/core/events';
import {
  type CredentialRotatedDetail,
  credentialRotatedDetailSchema,
  previousKeyRetiredDetailSchema,
  ROTATION_TAGS,
  type RotationFailedDetail,
  rotationFailedDetailSchema,
} from '@nvcf-ecr/core/rotation';
import { NvcfClient } from '@nvcf-ecr/nvcf';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fromSandboxEnvironment } from '../../../functions/lib/sandbox.ts';
import { createRotateCredentialHandler } from '../../../functions/rotate-credential.ts';
import { control, rejection } from '../../helpers/sandbox.ts';
import {
  abandonRotation,
  advanceHours,
  credentialsOf,
  exampleConfig,
  expectNoSecretsLeaked,
  FAST_TIMING,
  freshWorld,
  type Harness,
  handlerEnvironment,
  invariantViolations,
  keyInStage,
  keysOf,
  nvcfPull,
  projectEvents,
  pushTestImage,
  reattemptInNextWindow,
  retireFunctionArn,
  rotate,
  rotateWithFunction,
  rotationFunctionArn,
  rotationRecord,
  secretOf,
  startHarness,
  stuckPending,
} from './harness.ts';

// The rotation on the sandbox with the example configuration (nvcf-ecr.config.ts), the handlers composed as
// the CLI composes them, and real SDK clients: bootstrap at start, rotation in place, idempotent steps, the
// grace period, retirement, and the two-key cases (orphan, out-of-band key).

const { config, registry } = await exampleConfig();
const GRACE = registry.rotation.graceHours;

describe('Rotation: lifecycle on the example configuration', () => {
  let h: Harness;
  let image: string;

  beforeAll(async () => {
    h = await startHarness(config);
  });
  afterAll(async () => {
    await expectNoSecretsLeaked(h);
    await h.close();
  });
  beforeEach(async () => {
    image = await freshWorld(h, registry);
  });

  it('bootstraps at start: NVCF gets a credential holding the first key, and can pull', async () => {
    const current = keyInStage(h.sb, registry, 'AWSCURRENT');
    expect(current).toMatch(/^AKIA/);
    expect(keyInStage(h.sb, registry, 'AWSPREVIOUS')).toBeUndefined();
    const [credential, ...others] = credentialsOf(h.sb, registry);
    expect(others).toEqual([]);
    expect(credential?.username).toBe(current);
    expect(await nvcfPull(h.sb, image)).toMatchObject({ ok: true });
    const [event] = await projectEvents<CredentialRotatedDetail>(h.sb, DETAIL_TYPES.credentialRotated);
    expect(credentialRotatedDetailSchema.safeParse(event).success).toBe(true);
    expect(event).toMatchObject({
      registry: 'prod',
      bootstrap: true,
      previousAccessKeyId: null,
      accessKeyId: maskAccessKeyId(current ?? ''),
      nvcfCredentialId: credential?.registryCredentialId,
      graceEndsAt: null,
    });
  });

  it('rotates in place: same NVCF credential, new key, the previous key stays Active', async () => {
    const before = credentialsOf(h.sb, registry)[0];
    const oldKey = keyInStage(h.sb, registry, 'AWSCURRENT') as string;
    const token = await rotate(h, registry);
    const newKey = keyInStage(h.sb, registry, 'AWSCURRENT') as string;
    expect(rotationRecord(h.sb, registry, token)?.status).toBe('succeeded');
    expect(newKey).not.toBe(oldKey);
    expect(keyInStage(h.sb, registry, 'AWSPREVIOUS')).toBe(oldKey);
    const after = credentialsOf(h.sb, registry)[0];
    expect(after?.registryCredentialId).toBe(before?.registryCredentialId);
    expect(after?.username).toBe(newKey);
    expect(Date.parse(after?.lastUpdatedAt ?? '')).toBeGreaterThan(Date.parse(before?.lastUpdatedAt ?? ''));
    expect(keysOf(h.sb, registry)).toEqual([
      { accessKeyId: oldKey, status: 'Active' },
      { accessKeyId: newKey, status: 'Active' },
    ]);
    expect(stuckPending(h.sb, registry)).toBeUndefined();
    expect(await nvcfPull(h.sb, image)).toMatchObject({ ok: true });
    const events = await projectEvents<CredentialRotatedDetail>(h.sb, DETAIL_TYPES.credentialRotated);
    const event = events.find((e) => e.token === token);
    expect(event).toMatchObject({ bootstrap: false, previousAccessKeyId: maskAccessKeyId(oldKey) });
    expect(Date.parse(event?.graceEndsAt ?? '') - Date.parse(event?.rotatedAt ?? '')).toBe(GRACE * 3_600_000);
  });

  it('changes nothing when any step is re-run with the token of a finished rotation', async () => {
    const token = await rotate(h, registry);
    const keys = keysOf(h.sb, registry);
    const credential = credentialsOf(h.sb, registry)[0];
    const { calls: before } = await control<{ calls: { seq: number }[] }>(h.sb, 'GET', 'calls');
    const since = before.at(-1)?.seq ?? 0;
    for (const Step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
      await h.sb.lambda.invoke(rotationFunctionArn(h.sb), {
        Step,
        SecretId: secretOf(h.sb, registry).arn,
        ClientRequestToken: token,
      });
    }
    const { calls } = await control<{ calls: { service: string; operation: string }[] }>(
      h.sb,
      'GET',
      `calls?since=${since}`,
    );
    // The guard's DescribeSecret, then "already AWSCURRENT: nothing to do".
    expect(calls.map((c) => `${c.service}:${c.operation}`)).toEqual(
      Array(4).fill('secretsmanager:DescribeSecret'),
    );
    expect(keysOf(h.sb, registry)).toEqual(keys);
    expect(credentialsOf(h.sb, registry)[0]).toEqual(credential);
  });

  it('reuses the pending key when createSecret runs again for a rotation under way, and resumes it', async () => {
    // ECR refuses the new key's token request every time: setSecret fails, the rotation stays pending.
    await control(h.sb, 'POST', 'faults', {
      service: 'ecr',
      operation: 'GetAuthorizationToken',
      error: { status: 400, code: 'InjectedFailure', message: 'injected' },
      times: 100,
    });
    const token = await rotate(h, registry);
    expect(rotationRecord(h.sb, registry, token)?.status).toBe('failed');
    expect(stuckPending(h.sb, registry)).toBe(token);
    const pendingKey = keyInStage(h.sb, registry, 'AWSPENDING');
    expect(invariantViolations(h.sb, registry)).toEqual([]);
    const failed = (await projectEvents<RotationFailedDetail>(h.sb, DETAIL_TYPES.rotationFailed)).filter(
      (e) => e.token === token,
    );
    expect(failed).toHaveLength(3);
    expect(failed[0]).toMatchObject({ step: 'setSecret', refused: false, currentKeyWorks: true });
    expect(failed[0]?.reason).toContain('ECR GetAuthorizationToken with the new key failed: InjectedFailure');
    expect(rotationFailedDetailSchema.safeParse(failed[0]).success).toBe(true);

    await control(h.sb, 'DELETE', 'faults');
    const arn = secretOf(h.sb, registry).arn;
    const { calls: before } = await control<{ calls: { seq: number }[] }>(h.sb, 'GET', 'calls');
    await h.sb.lambda.invoke(rotationFunctionArn(h.sb), {
      Step: 'createSecret',
      SecretId: arn,
      ClientRequestToken: token,
    });
    const { calls } = await control<{ calls: { operation: string }[] }>(
      h.sb,
      'GET',
      `calls?since=${before.at(-1)?.seq ?? 0}`,
    );
    expect(calls.map((c) => c.operation)).not.toContain('CreateAccessKey');
    expect(keyInStage(h.sb, registry, 'AWSPENDING')).toBe(pendingKey);
    // Secrets Manager refuses RotateSecret while the rotation is pending, its own token included; it
    // reattempts the rotation itself, with that token, when the next rotation window opens.
    const refused = await rejection(rotate(h, registry, token));
    expect(refused.message).toBe("A previous rotation isn't complete. That rotation will be reattempted.");
    await reattemptInNextWindow(h, registry);
    expect(rotationRecord(h.sb, registry, token)?.status).toBe('succeeded');
    expect(keyInStage(h.sb, registry, 'AWSCURRENT')).toBe(pendingKey);
    expect(stuckPending(h.sb, registry)).toBeUndefined();
    expect(await nvcfPull(h.sb, image)).toMatchObject({ ok: true });
  });

  it('refuses while the previous key is in its grace period, deleting nothing; --force rotates anyway', async () => {
    await rotate(h, registry);
    const keys = keysOf(h.sb, registry);
    const previous = keyInStage(h.sb, registry, 'AWSPREVIOUS') as string;
    const token = await rotate(h, registry);
    expect(rotationRecord(h.sb, registry, token)?.status).toBe('failed');
    expect(keysOf(h.sb, registry)).toEqual(keys);
    const [refusal] = (await projectEvents<RotationFailedDetail>(h.sb, DETAIL_TYPES.rotationFailed)).filter(
      (e) => e.token === token,
    );
    expect(refusal).toMatchObject({
      step: 'createSecret',
      refused: true,
      errorName: 'RotationRefusedError',
      currentKeyWorks: true,
    });
    expect(refusal?.reason).toContain(
      `The previous key ${maskAccessKeyId(previous)} of IAM user nvcf-ecr-prod is inside its grace period until`,
    );
    expect(await nvcfPull(h.sb, image)).toMatchObject({ ok: true });

    // Forcing skips the grace period, never the in-use window (the previous key was last used by the checks of
    // its own rotation) nor NVCF's release (its caches, then a workload's hourly refresh): 7 hours on, both are
    // over, the grace period is not.
    await control(h.sb, 'POST', 'clock', { advanceSeconds: 7 * 3600 });
    await h.sb.settle();
    // What `nvcf-ecr rotate --force` does: it abandons the refused rotation (removes AWSPENDING: Secrets Manager
    // starts no other while it is pending), tags the secret with the new token, then calls RotateSecret.
    await abandonRotation(h, registry, token);
    const forced = randomUUID();
    await h.aws.secrets.send(
      new TagResourceCommand({
        SecretId: registry.secretName,
        Tags: [{ Key: ROTATION_TAGS.force, Value: forced }],
      }),
    );
    await rotate(h, registry, forced);
    expect(rotationRecord(h.sb, registry, forced)?.status).toBe('succeeded');
    expect(keysOf(h.sb, registry).map((k) => k.accessKeyId)).not.toContain(previous);
    expect(secretOf(h.sb, registry).tags.map((t) => t.Key)).not.toContain(ROTATION_TAGS.force);
    expect(invariantViolations(h.sb, registry)).toEqual([]);
    expect(await nvcfPull(h.sb, image)).toMatchObject({ ok: true });
  });

  it('retires the previous key after the grace period; the next rotation deletes it after pointing NVCF at the current key', async () => {
    await rotate(h, registry);
    const previous = keyInStage(h.sb, registry, 'AWSPREVIOUS') as string;
    const current = keyInStage(h.sb, registry, 'AWSCURRENT') as string;
    await advanceHours(h.sb, GRACE + 2);
    await h.sb.lambda.invoke(retireFunctionArn(h.sb), {
      source: 'aws.events',
      'detail-type': 'Scheduled Event',
    });
    expect(keysOf(h.sb, registry)).toEqual([
      { accessKeyId: previous, status: 'Inactive' },
      { accessKeyId: current, status: 'Active' },
    ]);
    const [retired] = await projectEvents(h.sb, DETAIL_TYPES.previousKeyRetired);
    expect(previousKeyRetiredDetailSchema.safeParse(retired).success).toBe(true);
    expect(retired).toMatchObject({ accessKeyId: maskAccessKeyId(previous), deactivatedWhileInUse: false });

    const { calls: before } = await control<{ calls: { seq: number }[] }>(h.sb, 'GET', 'calls');
    await rotate(h, registry);
    const { calls } = await control<{ calls: { service: string; operation: string }[] }>(
      h.sb,
      'GET',
      `calls?since=${before.at(-1)?.seq ?? 0}`,
    );
    const order = calls.map((c) => `${c.service}:${c.operation}`);
    const reconcile = order.indexOf('nvcf:UpdateRegistryCredential');
    const deletion = order.indexOf('iam:DeleteAccessKey');
    expect(reconcile).toBeGreaterThanOrEqual(0);
    expect(reconcile).toBeLessThan(deletion);
    expect(deletion).toBeLessThan(order.indexOf('iam:CreateAccessKey'));
    expect(keysOf(h.sb, registry).map((k) => k.accessKeyId)).not.toContain(previous);
    expect(keyInStage(h.sb, registry, 'AWSPREVIOUS')).toBe(current);
    expect(await nvcfPull(h.sb, image)).toMatchObject({ ok: true });
  });

  it('cleans up the orphan key of an attempt that died before storing it', async () => {
    await control(h.sb, 'POST', 'faults', {
      service: 'secretsmanager',
      operation: 'PutSecretValue',
      error: { status: 400, code: 'InjectedFailure', message: 'injected' },
    });
    const token = await rotate(h, registry);
    expect(rotationRecord(h.sb, registry, token)?.status).toBe('succeeded');
    const created = h.logs.filter((r) => r.message === 'created the new key and stored it as AWSPENDING');
    const orphaned = h.logs.filter((r) => r.message.startsWith('deleted an orphan key'));
    expect(orphaned).toHaveLength(1);
    expect(keysOf(h.sb, registry)).toHaveLength(2);
    expect(created.at(-1)?.fields['accessKeyId']).toBe(
      maskAccessKeyId(keyInStage(h.sb, registry, 'AWSCURRENT') ?? ''),
    );
    expect(orphaned[0]?.fields['accessKeyId']).not.toBe(created.at(-1)?.fields['accessKeyId']);
    expect(invariantViolations(h.sb, registry)).toEqual([]);
  });

  it('points NVCF at the current key before it deletes an orphan', async () => {
    await control(h.sb, 'POST', 'faults', {
      service: 'secretsmanager',
      operation: 'PutSecretValue',
      error: { status: 400, code: 'InjectedFailure', message: 'injected' },
    });
    const { calls: before } = await control<{ calls: { seq: number }[] }>(h.sb, 'GET', 'calls');
    const token = await rotate(h, registry);
    expect(rotationRecord(h.sb, registry, token)?.status).toBe('succeeded');
    const { calls } = await control<{ calls: { service: string; operation: string }[] }>(
      h.sb,
      'GET',
      `calls?since=${before.at(-1)?.seq ?? 0}`,
    );
    const order = calls.map((c) => `${c.service}:${c.operation}`);
    const deletion = order.indexOf('iam:DeleteAccessKey');
    expect(deletion).toBeGreaterThan(0);
    expect(order.slice(0, deletion)).toContain('nvcf:UpdateRegistryCredential');
    expect(invariantViolations(h.sb, registry)).toEqual([]);
  });

  it('never takes a key made by hand after an attempt denied CreateAccessKey for an orphan: NVCF keeps it', async () => {
    // CreateAccessKey denied on every attempt (an SCP, a permissions boundary): the attempt dies after its marker.
    await control(h.sb, 'POST', 'faults', {
      service: 'iam',
      operation: 'CreateAccessKey',
      error: { status: 403, code: 'AccessDenied', message: 'denied by a service control policy' },
      times: 100,
    });
    const denied = await rotate(h, registry);
    await control(h.sb, 'DELETE', 'faults');
    expect(rotationRecord(h.sb, registry, denied)?.status).toBe('failed');
    // The failure path took back the marker of an attempt that created nothing.
    expect(secretOf(h.sb, registry).tags.map((t) => t.Key)).not.toContain(ROTATION_TAGS.intent);
    await abandonRotation(h, registry, denied);
    // Meanwhile an operator makes a key by hand and puts it in NVCF.
    const { AccessKey } = await h.aws.iam.send(new CreateAccessKeyCommand({ UserName: registry.userName }));
    const handMade = {
      accessKeyId: AccessKey?.AccessKeyId as string,
      secretAccessKey: AccessKey?.SecretAccessKey as string,
    };
    h.issued.set(handMade.accessKeyId, handMade.secretAccessKey);
    const nvcf = new NvcfClient({ baseUrl: h.sb.nvcfEndpoint, apiKey: async () => h.sb.ngcApiKey });
    const credential = await nvcf.findRegistryCredential(registry.hostname, registry.credentialName);
    await nvcf.patchRegistryCredential(credential?.registryCredentialId as string, {
      secret: {
        name: credential?.registryCredentialName as string,
        value: encodeRegistrySecret(handMade),
      },
    });

    const since = h.logs.length;
    const token = await rotate(h, registry);
    expect(h.logs.slice(since).filter((r) => r.message.startsWith('deleted an orphan'))).toEqual([]);
    expect(keysOf(h.sb, registry)).toContainEqual({ accessKeyId: handMade.accessKeyId, status: 'Active' });
    const [refusal] = (await projectEvents<RotationFailedDetail>(h.sb, DETAIL_TYPES.rotationFailed)).filter(
      (e) => e.token === token,
    );
    expect(refusal).toMatchObject({ refused: true });
    expect(refusal?.reason).toContain(`key ${maskAccessKeyId(handMade.accessKeyId)} (Active, created`);
    expect(invariantViolations(h.sb, registry)).toEqual([]);
    expect(await nvcfPull(h.sb, image)).toMatchObject({ ok: true });
  });

  it('refuses, naming it, a key the rotation did not create, and deletes nothing', async () => {
    const { AccessKey } = await h.aws.iam.send(new CreateAccessKeyCommand({ UserName: registry.userName }));
    const handMade = AccessKey?.AccessKeyId as string;
    h.issued.set(handMade, AccessKey?.SecretAccessKey as string);
    const keys = keysOf(h.sb, registry);
    const token = await rotate(h, registry);
    expect(rotationRecord(h.sb, registry, token)?.status).toBe('failed');
    expect(keysOf(h.sb, registry)).toEqual(keys);
    const [refusal] = (await projectEvents<RotationFailedDetail>(h.sb, DETAIL_TYPES.rotationFailed)).filter(
      (e) => e.token === token,
    );
    expect(refusal?.refused).toBe(true);
    expect(refusal?.reason).toContain(`key ${maskAccessKeyId(handMade)} (Active, created`);
    expect(refusal?.reason).toContain('in no version of the secret: not created by this rotation');
    expect(refusal?.reason).toContain('Nothing was deleted');
  });

  it('rejects a concurrent RotateSecret on the same secret as AWS does', async () => {
    await control(h.sb, 'POST', 'faults', {
      service: 'nvcf',
      operation: 'UpdateRegistryCredential',
      delayMs: 300,
    });
    const first = h.aws.secrets.send(
      new RotateSecretCommand({ SecretId: registry.secretName, RotateImmediately: true }),
    );
    await first;
    const err = await rejection(
      h.aws.secrets.send(new RotateSecretCommand({ SecretId: registry.secretName, RotateImmediately: true })),
    );
    expect(err.name).toBe('InvalidRequestException');
    expect(err.message).toBe("A previous rotation isn't complete. That rotation will be reattempted.");
    await h.sb.settle();
    expect(stuckPending(h.sb, registry)).toBeUndefined();
    expect(invariantViolations(h.sb, registry)).toEqual([]);
  });
});

describe('Rotation: adopting a credential NVCF already has', () => {
  let h: Harness;

  beforeAll(async () => {
    // No rotation function at start: the operator set NVCF up by hand, with a key made by hand.
    h = await startHarness(config, { handlerKeys: ['retireKeys'] });
  });
  afterAll(async () => {
    await expectNoSecretsLeaked(h);
    await h.close();
  });

  it('PATCHes the existing credential in place on the first rotation and warns about the hand-made key', async () => {
    const { AccessKey } = await h.aws.iam.send(new CreateAccessKeyCommand({ UserName: registry.userName }));
    const handMade = {
      accessKeyId: AccessKey?.AccessKeyId as string,
      secretAccessKey: AccessKey?.SecretAccessKey as string,
    };
    h.issued.set(handMade.accessKeyId, handMade.secretAccessKey);
    const nvcf = new NvcfClient({ baseUrl: h.sb.nvcfEndpoint, apiKey: async () => h.sb.ngcApiKey });
    const existing = await nvcf.createRegistryCredential({
      registryHostname: registry.hostname,
      secret: { name: registry.credentialName, value: encodeRegistrySecret(handMade) },
      artifactTypes: ['CONTAINER'],
    });

    // Wire the rotation as the stacks would once deployed, and run the bootstrap rotation.
    h.sb.lambda.register({
      arn: rotationFunctionArn(h.sb),
      name: 'rotation',
      handler: createRotateCredentialHandler(fromSandboxEnvironment(handlerEnvironment(h.sb, config)), {
        timing: FAST_TIMING,
      }) as never,
      timeoutSeconds: 300,
      memoryMb: 256,
    });
    const token = await rotateWithFunction(h, registry);
    expect(rotationRecord(h.sb, registry, token)?.status).toBe('succeeded');
    const [credential, ...others] = credentialsOf(h.sb, registry);
    expect(others).toEqual([]);
    expect(credential?.registryCredentialId).toBe(existing.registryCredentialId);
    expect(credential?.username).toBe(keyInStage(h.sb, registry, 'AWSCURRENT'));
    expect(keysOf(h.sb, registry).map((k) => k.accessKeyId)).toContain(handMade.accessKeyId);
    const warning = h.logs.find(
      (r) => r.message === 'the pull user has a key this rotation did not create: it never deletes it',
    );
    expect(warning?.fields['accessKeyId']).toBe(maskAccessKeyId(handMade.accessKeyId));
    const image = await pushTestImage(h.sb, registry, 'tools', 'v1');
    expect(await nvcfPull(h.sb, image)).toMatchObject({ ok: true });
  });
});

describe('Rotation: an ECR Public registry', () => {
  let h: Harness;
  let pub: RegistryConfig;

  beforeAll(async () => {
    const cfg = assertConfig({
      ngc: { apiKeySecretName: 'nvcf-ecr/ngc-api-key' },
      registries: [
        {
          name: 'public',
          hostname: 'public.ecr.aws',
          accountId: '123456789012',
          publicAlias: 'nvcf-demo',
          repositories: ['inference'],
          credentialName: 'ecr-public',
          rotation: { canaryImage: 'inference:v1' },
        },
      ],
    });
    pub = cfg.registries[0] as RegistryConfig;
    h = await startHarness(cfg, { handlerKeys: ['rotateCredential'] });
  });
  afterAll(async () => {
    await expectNoSecretsLeaked(h);
    await h.close();
  });

  it('rotates like a private one: the key proven with ECR Public’s token and the canary, NVCF updated in place', async () => {
    // The bootstrap ran at start, before the canary existed: it failed testSecret and stays pending.
    const bootstrap = stuckPending(h.sb, pub);
    expect(bootstrap).toBeDefined();
    const [failure] = (await projectEvents<RotationFailedDetail>(h.sb, DETAIL_TYPES.rotationFailed)).filter(
      (e) => e.token === bootstrap,
    );
    expect(failure).toMatchObject({ step: 'testSecret', refused: false });
    expect(failure?.reason).toContain('The canary image public.ecr.aws/inference:v1 does not exist');

    await control(h.sb, 'POST', 'seed', {
      'ecr-public': {
        images: [
          {
            repository: 'inference',
            manifest: JSON.stringify({
              schemaVersion: 2,
              mediaType: 'application/vnd.oci.image.manifest.v1+json',
              config: {
                mediaType: 'application/vnd.oci.empty.v1+json',
                digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
                size: 2,
              },
              layers: [],
            }),
            tags: ['v1'],
            blobs: [Buffer.from('{}').toString('base64')],
          },
        ],
      },
    });
    // Secrets Manager reattempts the stuck bootstrap itself, with its token, in the next rotation window.
    await reattemptInNextWindow(h, pub);
    expect(rotationRecord(h.sb, pub, bootstrap ?? '')?.status).toBe('succeeded');
    const first = credentialsOf(h.sb, pub)[0];
    expect(first?.username).toBe(keyInStage(h.sb, pub, 'AWSCURRENT'));

    await rotate(h, pub);
    const second = credentialsOf(h.sb, pub)[0];
    expect(second?.registryCredentialId).toBe(first?.registryCredentialId);
    expect(second?.username).toBe(keyInStage(h.sb, pub, 'AWSCURRENT'));
    expect(second?.username).not.toBe(first?.username);
    expect(invariantViolations(h.sb, pub)).toEqual([]);
    const { calls } = await control<{ calls: { service: string; operation: string; status: number }[] }>(
      h.sb,
      'GET',
      'calls?service=ecr-public',
    );
    const ops = new Set(calls.filter((c) => c.status === 200).map((c) => c.operation));
    expect(ops).toEqual(new Set(['GetAuthorizationToken', 'DescribeImages']));
  });
});
