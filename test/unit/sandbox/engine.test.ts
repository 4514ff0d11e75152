import { PolicyEvaluationError } from '@nvcf-ecr/core/errors';
import { minimalPullPolicy } from '@nvcf-ecr/core/iam';
import { clearPolicyEvaluationCache, isActionAllowed } from '@nvcf-ecr/sandbox';
import { beforeEach, describe, expect, it } from 'vitest';
import { expectRejection } from '../core/expect-error.ts';
import { ACCOUNT, ADMINISTRATOR_ACCESS, registry, USER_ARN } from '../core/iam/fixtures.ts';

// The sandbox's own authorisation (packages/sandbox/src/iam/engine.ts): iam-simulate, development-only.

const REPO = `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/inference`;

describe('Function: isActionAllowed', () => {
  beforeEach(() => clearPolicyEvaluationCache());

  const request = (
    policies: { name: string; document: unknown }[],
    action = 'ecr:BatchGetImage',
    resource = REPO,
  ) => ({
    principalArn: USER_ARN,
    accountId: ACCOUNT,
    action,
    resource,
    policies,
  });
  const pull = { name: 'pull', document: minimalPullPolicy(registry()) };

  it('allows what a policy allows', async () => {
    expect(await isActionAllowed(request([pull]))).toEqual({ allowed: true, decision: 'Allowed' });
  });

  it('implicitly denies what no policy allows', async () => {
    expect(await isActionAllowed(request([pull], 'ecr:PutImage'))).toEqual({
      allowed: false,
      decision: 'ImplicitlyDenied',
    });
    expect(
      await isActionAllowed(
        request([pull], 'ecr:BatchGetImage', `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/other`),
      ),
    ).toEqual({
      allowed: false,
      decision: 'ImplicitlyDenied',
    });
  });

  it('lets an explicit Deny win over an Allow', async () => {
    const deny = {
      name: 'deny',
      document: { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 'ecr:*', Resource: '*' }] },
    };
    expect(await isActionAllowed(request([pull, deny]))).toEqual({
      allowed: false,
      decision: 'ExplicitlyDenied',
    });
  });

  it('keeps policies with the same name apart', async () => {
    const deny = {
      name: 'pull',
      document: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Deny', Action: 'ecr:BatchGetImage', Resource: '*' }],
      },
    };
    expect((await isActionAllowed(request([pull, deny]))).decision).toBe('ExplicitlyDenied');
  });

  it('allows sts:GetCallerIdentity without any policy: AWS never denies it, and the sandbox relies on that', async () => {
    expect(await isActionAllowed(request([], 'sts:GetCallerIdentity', '*'))).toEqual({
      allowed: true,
      decision: 'Allowed',
    });
  });

  it('allows sts:GetCallerIdentity even against an explicit Deny of everything', async () => {
    const denyAll = {
      name: 'deny-all',
      document: { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: '*', Resource: '*' }] },
    };
    expect((await isActionAllowed(request([denyAll], 'sts:GetCallerIdentity', '*'))).allowed).toBe(true);
    expect((await isActionAllowed(request([denyAll]))).decision).toBe('ExplicitlyDenied');
  });

  it('evaluates conditions against the request context it is given', async () => {
    const fromOffice = {
      name: 'office',
      document: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: 'ecr:BatchGetImage',
            Resource: '*',
            Condition: { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } },
          },
        ],
      },
    };
    expect((await isActionAllowed(request([fromOffice]))).allowed).toBe(false);
    expect(
      (await isActionAllowed({ ...request([fromOffice]), context: { 'aws:SourceIp': '203.0.113.7' } }))
        .allowed,
    ).toBe(true);
  });

  it("evaluates KMS's kms:EncryptionContext:<key> conditions (iam-simulate drops colon-variable keys)", async () => {
    const secret = (name: string) => `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:${name}-AbCdEf`;
    const key = `arn:aws:kms:us-east-1:${ACCOUNT}:key/00000000-1111-4222-8333-444444444444`;
    const decryptNgc = {
      name: 'decrypt',
      document: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: 'kms:Decrypt',
            Resource: key,
            Condition: { StringLike: { 'kms:EncryptionContext:SecretARN': [secret('ngc-api-key')] } },
          },
        ],
      },
    };
    // The key policy lets the account's IAM policies decide, and denies one secret to everyone.
    const keyPolicy = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
          Action: 'kms:*',
          Resource: '*',
        },
        {
          Effect: 'Deny',
          Principal: '*',
          Action: 'kms:Decrypt',
          Resource: '*',
          Condition: { StringEquals: { 'kms:EncryptionContext:SecretARN': secret('break-glass') } },
        },
      ],
    };
    const decrypt = (context: Record<string, string>) =>
      isActionAllowed({ ...request([decryptNgc], 'kms:Decrypt', key), context, resourcePolicy: keyPolicy });
    expect((await decrypt({ 'kms:EncryptionContext:SecretARN': secret('ngc-api-key') })).allowed).toBe(true);
    expect((await decrypt({ 'kms:EncryptionContext:SecretARN': secret('pull-key') })).allowed).toBe(false);
    expect((await decrypt({})).allowed).toBe(false);
    const broad = {
      name: 'all',
      document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] },
    };
    expect(
      await isActionAllowed({
        ...request([broad], 'kms:Decrypt', key),
        context: { 'kms:EncryptionContext:SecretARN': secret('break-glass') },
        resourcePolicy: keyPolicy,
      }),
    ).toEqual({ allowed: false, decision: 'ExplicitlyDenied' });
  });

  it('answers a repeated request from its cache', () => {
    const first = isActionAllowed(request([pull]));
    expect(isActionAllowed(request([{ ...pull }]))).toBe(first);
  });

  it('evaluates again when a policy document changes in place', async () => {
    const document = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'ecr:BatchGetImage', Resource: '*' }],
    };
    const policies = [{ name: 'p', document }];
    expect((await isActionAllowed(request(policies))).allowed).toBe(true);
    document.Statement[0] = { Effect: 'Deny', Action: 'ecr:BatchGetImage', Resource: '*' };
    expect((await isActionAllowed(request(policies))).decision).toBe('ExplicitlyDenied');
  });

  it('accepts documents as JSON text', async () => {
    expect(
      (await isActionAllowed(request([{ name: 'text', document: JSON.stringify(pull.document) }]))).allowed,
    ).toBe(true);
  });

  it.each([
    [null, 'must be a JSON object with Version and Statement, got null'],
    [42, 'must be a JSON object with Version and Statement, got a number'],
    ['not json', 'Policy p is not valid JSON'],
    [
      { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ecrBatchGetImage', Resource: '*' }] },
      'Statement[0].Action',
    ],
    [
      { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', Principal: '*' }] },
      'Principal is not allowed in an identity policy',
    ],
    [{ Statement: 'everything' }, 'policy p is not a valid IAM identity policy'],
  ])('refuses the malformed document %j with PolicyEvaluationError', async (document, fault) => {
    await expectRejection(
      () => isActionAllowed(request([{ name: 'p', document }])),
      PolicyEvaluationError,
      fault,
    );
  });

  it('rejects a cyclic document instead of throwing synchronously', async () => {
    const cyclic: Record<string, unknown> = { Version: '2012-10-17' };
    cyclic['Statement'] = cyclic;
    await expectRejection(
      () => isActionAllowed(request([{ name: 'p', document: cyclic }])),
      PolicyEvaluationError,
      'the policies are not JSON documents',
    );
  });

  it('denies a repository of another account: there is no resource policy to admit the user', async () => {
    const everything = { name: 'all', document: ADMINISTRATOR_ACCESS };
    expect(
      await isActionAllowed(
        request([everything], 'ecr:BatchGetImage', 'arn:aws:ecr:us-east-1:210987654321:repository/inference'),
      ),
    ).toEqual({
      allowed: false,
      decision: 'ImplicitlyDenied',
    });
  });

  it('refuses an unknown action', async () => {
    await expectRejection(
      () => isActionAllowed(request([pull], 'ecr:PullEverything')),
      PolicyEvaluationError,
      "'ecr:PullEverything' is not a known IAM action",
    );
  });

  it('refuses a resource on an action that takes none', async () => {
    await expectRejection(
      () => isActionAllowed(request([pull], 'ecr:GetAuthorizationToken', REPO)),
      PolicyEvaluationError,
      "ecr:GetAuthorizationToken takes no resource: evaluate it on '*'",
    );
  });

  it('refuses a resource the action does not act on', async () => {
    await expectRejection(
      () => isActionAllowed(request([pull], 'ecr:BatchGetImage', 'arn:aws:s3:::bucket')),
      PolicyEvaluationError,
      "'arn:aws:s3:::bucket' is not a resource ecr:BatchGetImage acts on",
    );
  });
});
