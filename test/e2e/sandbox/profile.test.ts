import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  GetAccessKeyLastUsedCommand,
  ListAccessKeysCommand,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { PROFILES, type ProfileView, type RunningSandbox } from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clients, control, rejection, withSandbox } from '../../helpers/sandbox.ts';

/**
 * The `aws` profile: IAM's eventual consistency on the virtual clock, and the profile's control routes. NVCF's
 * caches and running workloads are tested in `workloads.test.ts`.
 */
describe('Sandbox: the aws profile', () => {
  let sb: RunningSandbox;
  let admin: ReturnType<typeof clients>;

  beforeAll(async () => {
    sb = await withSandbox({ profile: 'aws' });
    admin = clients(sb);
  });
  afterAll(() => sb.close());
  beforeEach(async () => {
    await control(sb, 'POST', 'reset');
    await control(sb, 'POST', 'profile', { profile: 'aws' });
  });

  const advance = (seconds: number) => control(sb, 'POST', 'clock', { advanceSeconds: seconds });

  async function newKey(user = 'puller') {
    await admin.iam.send(new CreateUserCommand({ UserName: user })).catch(() => undefined);
    const { AccessKey } = await admin.iam.send(new CreateAccessKeyCommand({ UserName: user }));
    return { accessKeyId: AccessKey?.AccessKeyId ?? '', secretAccessKey: AccessKey?.SecretAccessKey ?? '' };
  }
  const listed = async (user = 'puller') =>
    ((await admin.iam.send(new ListAccessKeysCommand({ UserName: user }))).AccessKeyMetadata ?? []).map(
      (k) => k.AccessKeyId,
    );
  const lastUsed = async (id: string) =>
    (await admin.iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: id }))).AccessKeyLastUsed;

  describe('GET and POST /_sandbox/profile', () => {
    it('answers the aws knobs with their documented defaults', async () => {
      expect(await control<ProfileView>(sb, 'GET', 'profile')).toEqual({
        profile: 'aws',
        iamPropagationSeconds: 10,
        iamListLagSeconds: 5,
        iamLastUsedLagSeconds: 14_400,
        nvcfListCacheSeconds: 60,
        nvcfCredentialCacheSeconds: 300,
        nvcfWorkloadRefreshSeconds: 3_600,
      });
    });

    it('overrides any subset, keeps the rest, and switches profile on request', async () => {
      const after = await control<ProfileView>(sb, 'POST', 'profile', { iamListLagSeconds: 30 });
      expect(after).toEqual({ ...PROFILES.aws, profile: 'aws', iamListLagSeconds: 30 });
      expect(await control(sb, 'GET', 'profile')).toEqual(after);
      const ideal = await control<ProfileView>(sb, 'POST', 'profile', {
        profile: 'ideal',
        nvcfListCacheSeconds: 7,
      });
      expect(ideal).toEqual({ ...PROFILES.ideal, profile: 'ideal', nvcfListCacheSeconds: 7 });
    });

    it('refuses an unknown knob or a bad value, naming it, and changes nothing', async () => {
      await expect(control(sb, 'POST', 'profile', { iamListLag: 3 })).rejects.toThrow(
        /400.*unknown profile knob 'iamListLag'; known: iamPropagationSeconds/,
      );
      await expect(
        control(sb, 'POST', 'profile', { iamListLagSeconds: 1, iamPropagationSeconds: -1 }),
      ).rejects.toThrow(/400.*iamPropagationSeconds must be a number of seconds from 0/);
      await expect(control(sb, 'POST', 'profile', { profile: 'gcp' })).rejects.toThrow(
        /400.*profile must be one of aws, ideal/,
      );
      expect(await control(sb, 'GET', 'profile')).toEqual({ ...PROFILES.aws, profile: 'aws' });
    });

    it('is what a sandbox started without a profile runs with: ideal, no delay at all', async () => {
      const plain = await withSandbox();
      try {
        expect(await control(plain, 'GET', 'profile')).toEqual({ ...PROFILES.ideal, profile: 'ideal' });
      } finally {
        await plain.close();
      }
    });
  });

  describe('IAM', () => {
    it('authenticates a new key only after iamPropagationSeconds', async () => {
      const key = await newKey();
      const sts = clients(sb, { credentials: key }).sts;
      expect((await rejection(sts.send(new GetCallerIdentityCommand({})))).name).toBe('InvalidClientTokenId');
      await advance(9);
      expect((await rejection(sts.send(new GetCallerIdentityCommand({})))).name).toBe('InvalidClientTokenId');
      await advance(1);
      await expect(sts.send(new GetCallerIdentityCommand({}))).resolves.toMatchObject({
        Arn: `arn:aws:iam::${sb.accountId}:user/puller`,
      });
    });

    it('lists a created key, and stops listing a deleted one, only after iamListLagSeconds', async () => {
      const first = await newKey();
      expect(await listed()).toEqual([]);
      await advance(5);
      expect(await listed()).toEqual([first.accessKeyId]);
      await admin.iam.send(
        new DeleteAccessKeyCommand({ UserName: 'puller', AccessKeyId: first.accessKeyId }),
      );
      // IAM itself already knows: the slot is free, so a second key can be created at once.
      const second = await newKey();
      expect(await listed()).toEqual([first.accessKeyId]);
      await advance(4);
      expect(await listed()).toEqual([first.accessKeyId]);
      await advance(1);
      expect(await listed()).toEqual([second.accessKeyId]);
    });

    it('reports a use in GetAccessKeyLastUsed only after iamLastUsedLagSeconds, and the last one by then', async () => {
      const key = await newKey();
      await advance(10);
      const sts = clients(sb, { credentials: key }).sts;
      await sts.send(new GetCallerIdentityCommand({}));
      const firstUse = new Date((await control<{ now: string }>(sb, 'GET', 'clock')).now);
      await advance(3_600);
      await clients(sb, { credentials: key, region: 'eu-west-1' }).sts.send(new GetCallerIdentityCommand({}));
      expect(await lastUsed(key.accessKeyId)).toEqual({ ServiceName: 'N/A', Region: 'N/A' });
      await advance(14_400 - 3_600);
      const reported = await lastUsed(key.accessKeyId);
      expect(reported).toMatchObject({ ServiceName: 'sts', Region: sb.region });
      expect(Math.abs((reported?.LastUsedDate?.getTime() ?? 0) - firstUse.getTime())).toBeLessThan(1_000);
      await advance(3_600);
      expect(await lastUsed(key.accessKeyId)).toMatchObject({ ServiceName: 'sts', Region: 'eu-west-1' });
    });

    it('answers at once on the ideal profile', async () => {
      await control(sb, 'POST', 'profile', { profile: 'ideal' });
      const key = await newKey();
      expect(await listed()).toEqual([key.accessKeyId]);
      await clients(sb, { credentials: key }).sts.send(new GetCallerIdentityCommand({}));
      expect(await lastUsed(key.accessKeyId)).toMatchObject({ ServiceName: 'sts' });
    });
  });
});
