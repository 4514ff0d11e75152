import { UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { encodeRegistrySecret, maskAccessKeyId } from '@nvcf-ecr/core/credential';
import { DETAIL_TYPES } from '@nvcf-ecr/core/events';
import type { RetirementPostponedDetail } from '@nvcf-ecr/core/rotation';
import { NvcfClient } from '@nvcf-ecr/nvcf';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { control } from '../../helpers/sandbox.ts';
import {
  advanceHours,
  expectNoSecretsLeaked,
  freshWorld,
  type Harness,
  invariantViolations,
  keyInStage,
  keysOf,
  nvcfPull,
  prodConfig,
  projectEvents,
  registerRetireHandler,
  retireNow,
  rotate,
  rotationRecord,
  secretOf,
  startHarness,
  useKey,
} from './harness.ts';

// The rotation against a sandbox as unforgiving as AWS and NVCF (the `aws` profile, packages/sandbox/README.md
// "Profiles"): IAM lists a new key 5 s late and shows a use 4 h late, NVCF answers its list from a minute ago.
// The rotation's own waits run on the virtual clock, so a minute of NVCF cache costs milliseconds. Each test
// reproduces one way the rotation used to break there.

const GRACE = 24;

const { config, registry } = prodConfig({ schedule: 'rate(30 days)', graceHours: GRACE });
const VIRTUAL_BACKOFF = { initialDelayMs: 1_000, factor: 2, maxDelayMs: 8_000 };

const statusOf = (h: Harness, accessKeyId: string | undefined) =>
  keysOf(h.sb, registry).find((k) => k.accessKeyId === accessKeyId)?.status;

describe('Rotation on the aws profile', () => {
  let h: Harness;
  let image: string;

  beforeAll(async () => {
    h = await startHarness(config, {
      profile: 'aws',
      handlerKeys: ['rotateCredential'],
      // Virtual pauses: a few polls per NVCF cache minute, as a Lambda's real pauses would give.
      rotation: { timing: { backoff: VIRTUAL_BACKOFF }, virtualWaits: true },
    });
    registerRetireHandler(h, config);
  });
  afterAll(async () => {
    await expectNoSecretsLeaked(h);
    await h.close();
  });
  beforeEach(async () => {
    image = await freshWorld(h, registry);
  });

  it('finishes in one attempt although NVCF answers its list from a minute ago (testSecret outlasts that cache)', async () => {
    const token = await rotate(h, registry);
    const record = rotationRecord(h.sb, registry, token);
    expect(record?.status).toBe('succeeded');
    expect(record?.attempts).toHaveLength(1);
    expect(await projectEvents(h.sb, DETAIL_TYPES.rotationFailed)).toEqual([]);
    expect(invariantViolations(h.sb, registry)).toEqual([]);
  });

  it('never deactivates the key NVCF holds after a rollback moved AWSCURRENT back', async () => {
    // The bootstrap rotation made the first key; this one the second.
    const newer = await rotate(h, registry);
    expect(rotationRecord(h.sb, registry, newer)?.status).toBe('succeeded');
    const before = secretOf(h.sb, registry).versions.find((v) => v.stages.includes('AWSPREVIOUS'))?.versionId;
    const nvcfKey = keyInStage(h.sb, registry, 'AWSCURRENT');
    // The standard rollback: AWSCURRENT back to the version before; Secrets Manager labels the newer one
    // AWSPREVIOUS. NVCF still holds the newer key.
    await h.aws.secrets.send(
      new UpdateSecretVersionStageCommand({
        SecretId: registry.secretName,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: before,
        RemoveFromVersionId: newer,
      }),
    );
    expect(keyInStage(h.sb, registry, 'AWSPREVIOUS')).toBe(nvcfKey);
    await advanceHours(h.sb, GRACE + 2);
    const [outcome] = await retireNow(h);
    expect(outcome).toMatchObject({ action: 'postponed', accessKeyId: maskAccessKeyId(nvcfKey as string) });
    expect(outcome?.reason).toContain('NVCF was last given the key of the previous version');
    expect(statusOf(h, nvcfKey)).toBe('Active');
    const pull = await nvcfPull(h.sb, image);
    expect(pull, JSON.stringify(pull)).toMatchObject({ ok: true });
    expect(invariantViolations(h.sb, registry)).toEqual([]);
  });

  it('counts a use IAM shows four hours late, and never deactivates a key in use however long postponed', async () => {
    await rotate(h, registry);
    const previous = keyInStage(h.sb, registry, 'AWSPREVIOUS');
    await advanceHours(h.sb, GRACE + 1);
    await useKey(h, registry, 'AWSPREVIOUS');
    // GetAccessKeyLastUsed shows the use only now; it was five hours ago.
    await advanceHours(h.sb, 5);
    const [postponed] = await retireNow(h);
    expect(postponed).toMatchObject({ action: 'postponed', deactivateAnywayAt: null });
    expect(statusOf(h, previous)).toBe('Active');

    // Still used, past retire.maxPostponeHours (72 h after the grace period).
    await advanceHours(h.sb, 72);
    await useKey(h, registry, 'AWSPREVIOUS');
    await advanceHours(h.sb, 5);
    const [overdue] = await retireNow(h);
    expect(overdue).toMatchObject({ action: 'postponed', deactivateAnywayAt: null });
    expect(overdue?.reason).toContain('a key in use is never deactivated');
    const warnings = await projectEvents<RetirementPostponedDetail>(h.sb, DETAIL_TYPES.retirementPostponed);
    expect(warnings.at(-1)).toMatchObject({ cause: 'in-use', deactivateAnywayAt: null });
    expect(warnings.at(-1)?.reason).toContain('retire.maxPostponeHours');
    expect(statusOf(h, previous)).toBe('Active');

    // Once nothing uses it for the whole window, it goes.
    await advanceHours(h.sb, 7);
    const [retired] = await retireNow(h);
    expect(retired).toMatchObject({ action: 'retired' });
    expect(statusOf(h, previous)).toBe('Inactive');
  });

  it('adopts the host’s NVCF credential renamed by hand instead of creating a second one', async () => {
    const nvcf = new NvcfClient({ baseUrl: h.sb.nvcfEndpoint, apiKey: async () => h.sb.ngcApiKey });
    const current = JSON.parse(
      secretOf(h.sb, registry).versions.find((v) => v.stages.includes('AWSCURRENT'))?.secretString ?? '{}',
    ) as { accessKeyId: string; secretAccessKey: string };
    const [credential] = await nvcf.findRegistryCredentialsForHost(registry.hostname);
    await nvcf.patchRegistryCredential(credential?.registryCredentialId as string, {
      secret: { name: 'renamed-by-hand', value: encodeRegistrySecret(current) },
    });
    await control(h.sb, 'POST', 'clock', { advanceSeconds: 120 });
    const token = await rotate(h, registry);
    expect(rotationRecord(h.sb, registry, token)?.status).toBe('succeeded');
    const forHost = await nvcf.findRegistryCredentialsForHost(registry.hostname);
    // One credential for the host, the same one, back under the configured name, holding the new key.
    expect(forHost.map((c) => [c.registryCredentialId, c.registryCredentialName])).toEqual([
      [credential?.registryCredentialId, registry.credentialName],
    ]);
    expect(invariantViolations(h.sb, registry)).toEqual([]);
  });

  it('never takes a just-created key for absent from one ListAccessKeys read (IAM lists it 5 s late)', async () => {
    // After its CreateAccessKey, createSecret's PutSecretValue fails once: the key exists, unstored, and IAM's
    // list does not show it yet when the failure path and the retry look.
    await control(h.sb, 'POST', 'faults', {
      service: 'secretsmanager',
      operation: 'PutSecretValue',
      error: { status: 400, code: 'InjectedFailure', message: 'injected' },
    });
    const token = await rotate(h, registry);
    await h.sb.settle();
    expect(rotationRecord(h.sb, registry, token)?.status).toBe('succeeded');
    await control(h.sb, 'POST', 'clock', { advanceSeconds: 10 });
    const keys = keysOf(h.sb, registry).map((k) => k.accessKeyId);
    // The orphan was found and deleted: the user holds exactly the current and the previous key.
    expect(keys.sort()).toEqual(
      [keyInStage(h.sb, registry, 'AWSCURRENT'), keyInStage(h.sb, registry, 'AWSPREVIOUS')].sort(),
    );
    expect(invariantViolations(h.sb, registry)).toEqual([]);
  });

  it('converges when IAM still lists the previous key an attempt deleted before it died (5 s list lag)', async () => {
    await rotate(h, registry);
    const previous = keyInStage(h.sb, registry, 'AWSPREVIOUS');
    // Past the grace period, unused for the in-use window: the next rotation deletes the previous key to make
    // room — and its Lambda dies right after that DeleteAccessKey. The retry reads a list that still shows it.
    await advanceHours(h.sb, GRACE + 8);
    await control(h.sb, 'POST', 'faults', {
      service: 'iam',
      operation: 'DeleteAccessKey',
      afterEffect: true,
      error: { status: 400, code: 'InjectedCrash', message: 'injected crash' },
    });
    const token = await rotate(h, registry);
    const record = rotationRecord(h.sb, registry, token);
    expect(record?.status).toBe('succeeded');
    expect(record?.attempts).toHaveLength(2);
    expect(statusOf(h, previous)).toBeUndefined();
    expect(keysOf(h.sb, registry)).toHaveLength(2);
    expect(invariantViolations(h.sb, registry)).toEqual([]);
  });
});
