import {
  AddUserToGroupCommand,
  AttachGroupPolicyCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateGroupCommand,
  CreatePolicyCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeleteGroupPolicyCommand,
  DeleteUserCommand,
  DeleteUserPolicyCommand,
  DetachGroupPolicyCommand,
  DetachUserPolicyCommand,
  GetAccessKeyLastUsedCommand,
  GetGroupCommand,
  GetGroupPolicyCommand,
  GetPolicyVersionCommand,
  GetUserPolicyCommand,
  ListAccessKeysCommand,
  ListAttachedGroupPoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListGroupPoliciesCommand,
  ListGroupsForUserCommand,
  ListUserPoliciesCommand,
  ListUsersCommand,
  PutGroupPolicyCommand,
  PutUserPolicyCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { RunningSandbox } from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clients, control, rejection, withSandbox } from '../../helpers/sandbox.ts';

const doc = (statement: object) => JSON.stringify({ Version: '2012-10-17', Statement: [statement] });

describe('Sandbox: IAM and STS conformance', () => {
  let sb: RunningSandbox;
  let admin: ReturnType<typeof clients>;

  beforeAll(async () => {
    sb = await withSandbox();
    admin = clients(sb);
  });
  afterAll(() => sb.close());
  beforeEach(() => control(sb, 'POST', 'reset'));

  describe('Users', () => {
    it('creates a user with an AIDA id and a partition-correct ARN', async () => {
      const { User } = await admin.iam.send(new CreateUserCommand({ UserName: 'puller' }));
      expect(User?.Arn).toBe(`arn:aws:iam::${sb.accountId}:user/puller`);
      expect(User?.UserId).toMatch(/^AIDA[A-Z2-7]{17}$/);
      expect(User?.CreateDate).toBeInstanceOf(Date);
    });

    it('refuses a duplicate user with EntityAlreadyExists (409)', async () => {
      await admin.iam.send(new CreateUserCommand({ UserName: 'dup' }));
      const err = await rejection(admin.iam.send(new CreateUserCommand({ UserName: 'dup' })));
      expect(err.name).toBe('EntityAlreadyExistsException');
      expect(err.$metadata?.httpStatusCode).toBe(409);
      expect(err.message).toBe('User with name dup already exists.');
    });

    it('answers NoSuchEntity (404) for an unknown user', async () => {
      const err = await rejection(admin.iam.send(new ListAccessKeysCommand({ UserName: 'ghost' })));
      expect(err.name).toBe('NoSuchEntityException');
      expect(err.$metadata?.httpStatusCode).toBe(404);
      expect(err.message).toBe('The user with name ghost cannot be found.');
    });

    it('refuses to delete a user that still has access keys (DeleteConflict)', async () => {
      await admin.iam.send(new CreateUserCommand({ UserName: 'keyed' }));
      await admin.iam.send(new CreateAccessKeyCommand({ UserName: 'keyed' }));
      const err = await rejection(admin.iam.send(new DeleteUserCommand({ UserName: 'keyed' })));
      expect(err.name).toBe('DeleteConflictException');
      expect(err.$metadata?.httpStatusCode).toBe(409);
    });

    it('paginates ListUsers with Marker and MaxItems', async () => {
      for (const n of ['u1', 'u2', 'u3']) await admin.iam.send(new CreateUserCommand({ UserName: n }));
      const first = await admin.iam.send(new ListUsersCommand({ MaxItems: 2 }));
      expect(first.Users?.map((u) => u.UserName)).toEqual(['u1', 'u2']);
      expect(first.IsTruncated).toBe(true);
      const second = await admin.iam.send(new ListUsersCommand({ MaxItems: 2, Marker: first.Marker }));
      expect(second.Users?.map((u) => u.UserName)).toEqual(['u3']);
      expect(second.IsTruncated).toBe(false);
    });

    it('reports a missing required member as ValidationError', async () => {
      const err = await rejection(admin.iam.send(new CreateUserCommand({ UserName: '' })));
      expect(err.name).toBe('ValidationError');
      expect(err.message).toContain("at 'userName' failed to satisfy constraint: Member must not be null");
    });
  });

  describe('Access keys', () => {
    beforeEach(() => admin.iam.send(new CreateUserCommand({ UserName: 'puller' })));

    it('issues AKIA key ids with 40-character secrets', async () => {
      const { AccessKey } = await admin.iam.send(new CreateAccessKeyCommand({ UserName: 'puller' }));
      expect(AccessKey?.AccessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
      expect(AccessKey?.SecretAccessKey).toMatch(/^[A-Za-z0-9/+]{40}$/);
      expect(AccessKey?.Status).toBe('Active');
    });

    it('enforces the two-key limit with LimitExceeded (409) and the exact quota message', async () => {
      await admin.iam.send(new CreateAccessKeyCommand({ UserName: 'puller' }));
      await admin.iam.send(new CreateAccessKeyCommand({ UserName: 'puller' }));
      const err = await rejection(admin.iam.send(new CreateAccessKeyCommand({ UserName: 'puller' })));
      expect(err.name).toBe('LimitExceededException');
      expect(err.$metadata?.httpStatusCode).toBe(409);
      expect(err.message).toBe('Cannot exceed quota for AccessKeysPerUser: 2');
      const { AccessKeyMetadata } = await admin.iam.send(new ListAccessKeysCommand({ UserName: 'puller' }));
      expect(AccessKeyMetadata).toHaveLength(2);
    });

    it('deactivates, reactivates and deletes a key', async () => {
      const { AccessKey } = await admin.iam.send(new CreateAccessKeyCommand({ UserName: 'puller' }));
      const id = AccessKey?.AccessKeyId ?? '';
      await admin.iam.send(
        new UpdateAccessKeyCommand({ UserName: 'puller', AccessKeyId: id, Status: 'Inactive' }),
      );
      let keys = await admin.iam.send(new ListAccessKeysCommand({ UserName: 'puller' }));
      expect(keys.AccessKeyMetadata?.[0]?.Status).toBe('Inactive');
      await admin.iam.send(
        new UpdateAccessKeyCommand({ UserName: 'puller', AccessKeyId: id, Status: 'Active' }),
      );
      await admin.iam.send(new DeleteAccessKeyCommand({ UserName: 'puller', AccessKeyId: id }));
      keys = await admin.iam.send(new ListAccessKeysCommand({ UserName: 'puller' }));
      expect(keys.AccessKeyMetadata).toEqual([]);
    });

    it('answers NoSuchEntity for a key of another user', async () => {
      await admin.iam.send(new CreateUserCommand({ UserName: 'other' }));
      const { AccessKey } = await admin.iam.send(new CreateAccessKeyCommand({ UserName: 'other' }));
      const err = await rejection(
        admin.iam.send(
          new DeleteAccessKeyCommand({ UserName: 'puller', AccessKeyId: AccessKey?.AccessKeyId }),
        ),
      );
      expect(err.name).toBe('NoSuchEntityException');
      expect(err.message).toBe(`The Access Key with id ${AccessKey?.AccessKeyId} cannot be found.`);
    });

    it('rejects an invalid status with ValidationError', async () => {
      const { AccessKey } = await admin.iam.send(new CreateAccessKeyCommand({ UserName: 'puller' }));
      const err = await rejection(
        admin.iam.send(
          new UpdateAccessKeyCommand({
            UserName: 'puller',
            AccessKeyId: AccessKey?.AccessKeyId,
            Status: 'Expired' as 'Active',
          }),
        ),
      );
      expect(err.name).toBe('ValidationError');
      expect(err.message).toContain('Member must satisfy enum value set: [Active, Inactive]');
    });

    it('reports N/A for a key never used, then the service and region of its last use', async () => {
      const { AccessKey } = await admin.iam.send(new CreateAccessKeyCommand({ UserName: 'puller' }));
      const id = AccessKey?.AccessKeyId ?? '';
      const before = await admin.iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: id }));
      expect(before.AccessKeyLastUsed).toEqual({ ServiceName: 'N/A', Region: 'N/A' });
      const user = clients(sb, {
        credentials: { accessKeyId: id, secretAccessKey: AccessKey?.SecretAccessKey ?? '' },
        region: 'eu-west-1',
      });
      await user.sts.send(new GetCallerIdentityCommand({}));
      const after = await admin.iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: id }));
      expect(after.UserName).toBe('puller');
      expect(after.AccessKeyLastUsed?.ServiceName).toBe('sts');
      expect(after.AccessKeyLastUsed?.Region).toBe('eu-west-1');
      expect(after.AccessKeyLastUsed?.LastUsedDate).toBeInstanceOf(Date);
    });
  });

  describe('Policies', () => {
    beforeEach(() => admin.iam.send(new CreateUserCommand({ UserName: 'puller' })));

    it('returns inline policy documents URL-encoded, as IAM does', async () => {
      const policy = doc({ Effect: 'Allow', Action: 'ecr:BatchGetImage', Resource: '*' });
      await admin.iam.send(
        new PutUserPolicyCommand({ UserName: 'puller', PolicyName: 'pull', PolicyDocument: policy }),
      );
      const got = await admin.iam.send(new GetUserPolicyCommand({ UserName: 'puller', PolicyName: 'pull' }));
      expect(got.PolicyDocument).toBe(encodeURIComponent(policy));
      expect(decodeURIComponent(got.PolicyDocument ?? '')).toBe(policy);
      const names = await admin.iam.send(new ListUserPoliciesCommand({ UserName: 'puller' }));
      expect(names.PolicyNames).toEqual(['pull']);
      await admin.iam.send(new DeleteUserPolicyCommand({ UserName: 'puller', PolicyName: 'pull' }));
      const err = await rejection(
        admin.iam.send(new GetUserPolicyCommand({ UserName: 'puller', PolicyName: 'pull' })),
      );
      expect(err.name).toBe('NoSuchEntityException');
    });

    it('refuses a document that is not JSON with MalformedPolicyDocument', async () => {
      const err = await rejection(
        admin.iam.send(
          new PutUserPolicyCommand({ UserName: 'puller', PolicyName: 'x', PolicyDocument: '{not json' }),
        ),
      );
      expect(err.name).toBe('MalformedPolicyDocumentException');
      expect(err.message).toBe('Syntax errors in policy.');
    });

    it('creates, attaches and reads managed policies and versions', async () => {
      const policy = doc({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' });
      const { Policy } = await admin.iam.send(
        new CreatePolicyCommand({ PolicyName: 'reader', PolicyDocument: policy }),
      );
      expect(Policy?.Arn).toBe(`arn:aws:iam::${sb.accountId}:policy/reader`);
      await admin.iam.send(new AttachUserPolicyCommand({ UserName: 'puller', PolicyArn: Policy?.Arn }));
      const attached = await admin.iam.send(new ListAttachedUserPoliciesCommand({ UserName: 'puller' }));
      expect(attached.AttachedPolicies).toEqual([{ PolicyName: 'reader', PolicyArn: Policy?.Arn }]);
      const version = await admin.iam.send(
        new GetPolicyVersionCommand({ PolicyArn: Policy?.Arn, VersionId: 'v1' }),
      );
      expect(decodeURIComponent(version.PolicyVersion?.Document ?? '')).toBe(policy);
      expect(version.PolicyVersion?.IsDefaultVersion).toBe(true);
    });

    it('knows AWS-managed policies such as AdministratorAccess', async () => {
      const arn = 'arn:aws:iam::aws:policy/AdministratorAccess';
      await admin.iam.send(new AttachUserPolicyCommand({ UserName: 'puller', PolicyArn: arn }));
      const version = await admin.iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: 'v1' }));
      expect(
        JSON.parse(decodeURIComponent(version.PolicyVersion?.Document ?? '{}')).Statement[0].Action,
      ).toBe('*');
    });

    it('refuses to attach a policy that does not exist', async () => {
      const arn = `arn:aws:iam::${sb.accountId}:policy/nope`;
      const err = await rejection(
        admin.iam.send(new AttachUserPolicyCommand({ UserName: 'puller', PolicyArn: arn })),
      );
      expect(err.name).toBe('NoSuchEntityException');
      expect(err.message).toBe(`Policy ${arn} does not exist or is not attachable.`);
    });

    it("lists a user's groups and group policies", async () => {
      await admin.iam.send(new CreateGroupCommand({ GroupName: 'ops' }));
      await admin.iam.send(new AddUserToGroupCommand({ GroupName: 'ops', UserName: 'puller' }));
      await admin.iam.send(
        new PutGroupPolicyCommand({
          GroupName: 'ops',
          PolicyName: 's3',
          PolicyDocument: doc({ Effect: 'Allow', Action: 's3:*', Resource: '*' }),
        }),
      );
      await admin.iam.send(
        new AttachGroupPolicyCommand({
          GroupName: 'ops',
          PolicyArn: 'arn:aws:iam::aws:policy/AmazonS3FullAccess',
        }),
      );
      const groups = await admin.iam.send(new ListGroupsForUserCommand({ UserName: 'puller' }));
      expect(groups.Groups?.map((g) => g.GroupName)).toEqual(['ops']);
    });

    it("reads, detaches and deletes a group's policies as a user's, naming the group when one is missing", async () => {
      const s3 = 'arn:aws:iam::aws:policy/AmazonS3FullAccess';
      const policy = doc({ Effect: 'Allow', Action: 's3:*', Resource: '*' });
      await admin.iam.send(new CreateGroupCommand({ GroupName: 'ops' }));
      await admin.iam.send(new AddUserToGroupCommand({ GroupName: 'ops', UserName: 'puller' }));
      await admin.iam.send(
        new PutGroupPolicyCommand({ GroupName: 'ops', PolicyName: 's3', PolicyDocument: policy }),
      );
      await admin.iam.send(new AttachGroupPolicyCommand({ GroupName: 'ops', PolicyArn: s3 }));
      const group = await admin.iam.send(new GetGroupCommand({ GroupName: 'ops' }));
      expect(group.Group?.Arn).toBe(`arn:aws:iam::${sb.accountId}:group/ops`);
      expect(group.Users?.map((u) => u.UserName)).toEqual(['puller']);
      const got = await admin.iam.send(new GetGroupPolicyCommand({ GroupName: 'ops', PolicyName: 's3' }));
      expect(got).toMatchObject({
        GroupName: 'ops',
        PolicyName: 's3',
        PolicyDocument: encodeURIComponent(policy),
      });
      expect((await admin.iam.send(new ListGroupPoliciesCommand({ GroupName: 'ops' }))).PolicyNames).toEqual([
        's3',
      ]);
      const attached = await admin.iam.send(new ListAttachedGroupPoliciesCommand({ GroupName: 'ops' }));
      expect(attached.AttachedPolicies).toEqual([{ PolicyName: 'AmazonS3FullAccess', PolicyArn: s3 }]);
      await admin.iam.send(new DetachGroupPolicyCommand({ GroupName: 'ops', PolicyArn: s3 }));
      await admin.iam.send(new DeleteGroupPolicyCommand({ GroupName: 'ops', PolicyName: 's3' }));
      const missing = await rejection(
        admin.iam.send(new GetGroupPolicyCommand({ GroupName: 'ops', PolicyName: 's3' })),
      );
      expect(missing.name).toBe('NoSuchEntityException');
      expect(missing.message).toBe('The group policy with name s3 cannot be found for group ops.');
      const detached = await rejection(
        admin.iam.send(new DetachGroupPolicyCommand({ GroupName: 'ops', PolicyArn: s3 })),
      );
      expect(detached.name).toBe('NoSuchEntityException');
      const user = await rejection(
        admin.iam.send(new DetachUserPolicyCommand({ UserName: 'puller', PolicyArn: s3 })),
      );
      expect(user.message).toBe(detached.message);
    });
  });

  describe('Authorisation of IAM users', () => {
    async function userClients(statements: object[]) {
      await admin.iam.send(new CreateUserCommand({ UserName: 'caller' }));
      if (statements.length > 0) {
        await admin.iam.send(
          new PutUserPolicyCommand({
            UserName: 'caller',
            PolicyName: 'p',
            PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: statements }),
          }),
        );
      }
      const { AccessKey } = await admin.iam.send(new CreateAccessKeyCommand({ UserName: 'caller' }));
      return clients(sb, {
        credentials: {
          accessKeyId: AccessKey?.AccessKeyId ?? '',
          secretAccessKey: AccessKey?.SecretAccessKey ?? '',
        },
      });
    }

    it("denies an action no policy allows, with AWS's message shape (AccessDenied, 403)", async () => {
      const user = await userClients([]);
      const err = await rejection(user.iam.send(new ListAccessKeysCommand({ UserName: 'caller' })));
      expect(err.name).toBe('AccessDenied');
      expect(err.$metadata?.httpStatusCode).toBe(403);
      expect(err.message).toBe(
        `User: arn:aws:iam::${sb.accountId}:user/caller is not authorized to perform: iam:ListAccessKeys on resource: arn:aws:iam::${sb.accountId}:user/caller because no identity-based policy allows the iam:ListAccessKeys action`,
      );
    });

    it('says so when an explicit deny wins over an allow', async () => {
      const user = await userClients([
        { Effect: 'Allow', Action: 'iam:*', Resource: '*' },
        { Effect: 'Deny', Action: 'iam:CreateUser', Resource: '*' },
      ]);
      const err = await rejection(user.iam.send(new CreateUserCommand({ UserName: 'x' })));
      expect(err.message).toContain('with an explicit deny in an identity-based policy');
      await expect(user.iam.send(new ListUsersCommand({}))).resolves.toBeDefined();
    });

    it('allows through group policies', async () => {
      const user = await userClients([]);
      await admin.iam.send(new CreateGroupCommand({ GroupName: 'listers' }));
      await admin.iam.send(new AddUserToGroupCommand({ GroupName: 'listers', UserName: 'caller' }));
      await admin.iam.send(
        new PutGroupPolicyCommand({
          GroupName: 'listers',
          PolicyName: 'l',
          PolicyDocument: doc({ Effect: 'Allow', Action: 'iam:ListUsers', Resource: '*' }),
        }),
      );
      const out = await user.iam.send(new ListUsersCommand({}));
      expect(out.Users?.map((u) => u.UserName)).toContain('caller');
    });

    it('lets any valid key call GetCallerIdentity and names the user', async () => {
      const user = await userClients([]);
      const id = await user.sts.send(new GetCallerIdentityCommand({}));
      expect(id.Arn).toBe(`arn:aws:iam::${sb.accountId}:user/caller`);
      expect(id.Account).toBe(sb.accountId);
      expect(id.UserId).toMatch(/^AIDA/);
    });

    it('uses the caller as the implicit user of access-key calls', async () => {
      const user = await userClients([
        {
          Effect: 'Allow',
          Action: 'iam:ListAccessKeys',
          Resource: `arn:aws:iam::${sb.accountId}:user/caller`,
        },
      ]);
      const out = await user.iam.send(new ListAccessKeysCommand({}));
      expect(out.AccessKeyMetadata?.[0]?.UserName).toBe('caller');
    });
  });
});
