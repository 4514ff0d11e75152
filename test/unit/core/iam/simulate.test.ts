import { PolicyEvaluationError } from '@nvcf-ecr/core/errors';
import {
  clearPolicyEvaluationCache,
  type EffectivePolicies,
  evaluatePullAccess,
  isActionAllowed,
  minimalPullPolicy,
  type PolicySource,
  pullRepositoryArns,
  requiredPullPermissions,
} from '@nvcf-ecr/core/iam';
import { beforeEach, describe, expect, it } from 'vitest';
import { expectRejection } from '../expect-error.ts';
import { ACCOUNT, ADMINISTRATOR_ACCESS, registry, USER_ARN } from './fixtures.ts';

const PULL = [
  'ecr:BatchGetImage',
  'ecr:GetDownloadUrlForLayer',
  'ecr:BatchCheckLayerAvailability',
  'ecr:DescribeImages',
];
const REPO = `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/inference`;
const ADMIN_ARN = 'arn:aws:iam::aws:policy/AdministratorAccess';

function effective(...policies: PolicySource[]): EffectivePolicies {
  return { userName: 'nvcf-ecr-prod', userArn: USER_ARN, accountId: ACCOUNT, policies };
}

const minimalInline = (r = registry()): PolicySource => ({
  kind: 'inline',
  name: 'nvcf-pull',
  document: minimalPullPolicy(r),
});

describe('Function: evaluatePullAccess', () => {
  it('finds nothing missing, excess or out of scope for exactly the minimal policy', async () => {
    const r = registry();
    const report = await evaluatePullAccess(r, effective(minimalInline(r)));
    expect(report).toEqual({
      missing: [],
      excess: [],
      outOfScope: [],
      wildcards: [],
      allowedRequired: requiredPullPermissions(r),
    });
  });

  it('finds nothing beyond the minimum for the minimal ECR Public policy', async () => {
    const r = registry({ hostname: 'public.ecr.aws', accountId: '210987654321', repositories: ['tools'] });
    const report = await evaluatePullAccess(r, effective(minimalInline(r)));
    expect(report).toEqual({
      missing: [],
      excess: [],
      outOfScope: [],
      wildcards: [],
      allowedRequired: requiredPullPermissions(r),
    });
  });

  it('finds nothing beyond the minimum for the minimal GovCloud policy (partition-correct ARNs)', async () => {
    const r = registry({ hostname: `${ACCOUNT}.dkr.ecr.us-gov-west-1.amazonaws.com` });
    const report = await evaluatePullAccess(r, {
      ...effective(minimalInline(r)),
      userArn: `arn:aws-us-gov:iam::${ACCOUNT}:user/nvcf-ecr-prod`,
    });
    expect(report.missing).toEqual([]);
    expect(report.excess).toEqual([]);
    expect(report.outOfScope).toEqual([]);
  });

  it('reports everything missing for a user without policies', async () => {
    const r = registry();
    const report = await evaluatePullAccess(r, effective());
    expect(report.missing).toEqual(requiredPullPermissions(r));
    expect(report.allowedRequired).toEqual([]);
  });

  it('reports an inline ecr:* on * as excess, out of scope and a wildcard', async () => {
    const r = registry();
    const inline: PolicySource = {
      kind: 'inline',
      name: 'ecr-everything',
      document: {
        Version: '2012-10-17',
        Statement: [{ Sid: 'EcrAll', Effect: 'Allow', Action: 'ecr:*', Resource: '*' }],
      },
    };
    const report = await evaluatePullAccess(r, effective(inline));
    expect(report.missing).toEqual([]);
    // The ECR writes of the brief's dangerous sample, on a configured repository, and nothing outside ECR.
    expect(report.excess.map((e) => e.action).sort()).toEqual(
      [
        'ecr:BatchDeleteImage',
        'ecr:DeleteRepository',
        'ecr:InitiateLayerUpload',
        'ecr:PutImage',
        'ecr:SetRepositoryPolicy',
      ].sort(),
    );
    expect(new Set(report.excess.map((e) => e.resource))).toEqual(new Set([REPO]));
    for (const e of report.excess) expect(e.sources).toEqual(['inline ecr-everything']);

    const configured = new Set(pullRepositoryArns(r));
    expect(report.outOfScope.length).toBeGreaterThan(0);
    for (const o of report.outOfScope) {
      expect(PULL).toContain(o.action);
      expect(configured.has(o.resource)).toBe(false);
      expect(o.sources).toEqual(['inline ecr-everything']);
    }
    const accounts = new Set(report.outOfScope.map((o) => o.resource.split(':')[4]));
    const regions = new Set(report.outOfScope.map((o) => o.resource.split(':')[3]));
    expect(accounts.size).toBeGreaterThan(1); // another account's repositories
    expect(regions.size).toBeGreaterThan(1); // another region's repositories
    for (const action of PULL) expect(report.outOfScope.some((o) => o.action === action)).toBe(true);

    expect(report.wildcards).toEqual([
      {
        source: 'inline ecr-everything',
        statement: 'EcrAll',
        detail: expect.stringMatching(/Action 'ecr:\*' allows every ecr action.*Resource '\*' for ecr:\*/),
      },
    ]);
  });

  it('names the group when a group policy grants s3:*', async () => {
    const r = registry();
    const group: PolicySource = {
      kind: 'group-inline',
      name: 's3-all',
      group: 'DataTeam',
      document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] },
    };
    const report = await evaluatePullAccess(r, effective(minimalInline(r), group));
    expect(report.missing).toEqual([]);
    expect(report.outOfScope).toEqual([]);
    expect(report.excess.map((e) => e.action).sort()).toEqual([
      's3:GetObject',
      's3:ListAllMyBuckets',
      's3:PutObject',
    ]);
    for (const e of report.excess) expect(e.sources).toEqual(['group DataTeam / inline s3-all']);
    expect(report.wildcards).toEqual([
      {
        source: 'group DataTeam / inline s3-all',
        statement: 'Statement[0]',
        detail: expect.stringContaining("Action 's3:*' allows every s3 action"),
      },
    ]);
  });

  it('reports an attached AdministratorAccess as excess on every dangerous action, through a group too', async () => {
    const r = registry();
    const admin: PolicySource = {
      kind: 'group-attached',
      name: 'AdministratorAccess',
      arn: ADMIN_ARN,
      group: 'AdminsGroup',
      document: ADMINISTRATOR_ACCESS,
    };
    const report = await evaluatePullAccess(r, effective(minimalInline(r), admin));
    const label = `group AdminsGroup / attached ${ADMIN_ARN}`;
    // The sample of dangerous actions the brief lists.
    expect(report.excess.map((e) => e.action)).toEqual(
      expect.arrayContaining([
        'ecr:PutImage',
        'ecr:BatchDeleteImage',
        'ecr:DeleteRepository',
        'ecr:SetRepositoryPolicy',
        'ecr:InitiateLayerUpload',
        'iam:CreateAccessKey',
        'iam:PassRole',
        'iam:AttachUserPolicy',
        'sts:AssumeRole',
        's3:GetObject',
        's3:PutObject',
        's3:ListAllMyBuckets',
        'secretsmanager:GetSecretValue',
        'kms:Decrypt',
        'lambda:InvokeFunction',
        'ec2:RunInstances',
      ]),
    );
    for (const e of report.excess) expect(e.sources).toEqual([label]);
    // Key management is probed on the pull user itself, and the secret probed is the registry's own.
    expect(report.excess.find((e) => e.action === 'iam:CreateAccessKey')?.resource).toBe(USER_ARN);
    expect(report.excess.find((e) => e.action === 'secretsmanager:GetSecretValue')?.resource).toContain(
      ':secret:nvcf-ecr/prod/pull-key-',
    );
    expect(report.outOfScope.every((o) => o.sources.includes(label))).toBe(true);
    expect(report.wildcards).toEqual([
      {
        source: label,
        statement: 'Statement[0]',
        detail:
          "Action '*' allows every action of every service; Resource '*' for every action: repository actions must name the configured repository ARNs",
      },
    ]);
  });

  it('names a directly attached managed policy by its ARN', async () => {
    const r = registry();
    const report = await evaluatePullAccess(
      r,
      effective({
        kind: 'attached',
        name: 'AdministratorAccess',
        arn: ADMIN_ARN,
        document: ADMINISTRATOR_ACCESS,
      }),
    );
    expect(report.excess[0]?.sources).toEqual([`attached ${ADMIN_ARN}`]);
    expect(report.missing).toEqual([]);
  });

  it('reports a permission removed by a Deny statement as missing', async () => {
    const r = registry();
    const deny: PolicySource = {
      kind: 'group-inline',
      name: 'no-pull',
      group: 'Restricted',
      document: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Deny', Action: 'ecr:BatchGetImage', Resource: REPO }],
      },
    };
    const report = await evaluatePullAccess(r, effective(minimalInline(r), deny));
    expect(report.missing).toEqual([{ action: 'ecr:BatchGetImage', resource: REPO }]);
    expect(report.allowedRequired).toHaveLength(requiredPullPermissions(r).length - 1);
  });

  it('reports a region wildcard in a repository ARN as out of scope', async () => {
    const r = registry();
    const wide: PolicySource = {
      kind: 'inline',
      name: 'any-region',
      document: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'AnyRegion',
            Effect: 'Allow',
            Action: 'ecr:BatchGetImage',
            Resource: `arn:aws:ecr:*:${ACCOUNT}:repository/inference`,
          },
        ],
      },
    };
    const report = await evaluatePullAccess(r, effective(minimalInline(r), wide));
    expect(report.outOfScope).toHaveLength(1);
    expect(report.outOfScope[0]).toMatchObject({
      action: 'ecr:BatchGetImage',
      sources: ['inline any-region'],
    });
    expect(report.outOfScope[0]?.resource).toMatch(
      new RegExp(`^arn:aws:ecr:(?!us-east-1:)[a-z0-9-]+:${ACCOUNT}:repository/inference$`),
    );
    expect(report.wildcards).toEqual([
      {
        source: 'inline any-region',
        statement: 'AnyRegion',
        detail: expect.stringContaining(
          'is a pattern that can match resources beyond the configured repositories',
        ),
      },
    ]);
  });

  it('reports an account wildcard in a repository ARN as out of scope (another account)', async () => {
    const r = registry();
    const wide: PolicySource = {
      kind: 'inline',
      name: 'any-account',
      document: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: 'ecr:DescribeImages',
            Resource: 'arn:aws:ecr:us-east-1:*:repository/inference',
          },
        ],
      },
    };
    const report = await evaluatePullAccess(r, effective(minimalInline(r), wide));
    expect(report.outOfScope).toHaveLength(1);
    expect(report.outOfScope[0]?.action).toBe('ecr:DescribeImages');
    expect(report.outOfScope[0]?.resource.split(':')[4]).not.toBe(ACCOUNT);
  });

  it('resolves the aws:username policy variable as AWS does: self-service key management is excess', async () => {
    const r = registry();
    const selfService: PolicySource = {
      kind: 'inline',
      name: 'self-keys',
      document: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: 'iam:CreateAccessKey',
            Resource: `arn:aws:iam::${ACCOUNT}:user/\${aws:username}`,
          },
        ],
      },
    };
    const report = await evaluatePullAccess(r, effective(minimalInline(r), selfService));
    expect(report.excess).toEqual([
      { action: 'iam:CreateAccessKey', resource: USER_ARN, sources: ['inline self-keys'] },
    ]);
  });

  it('honours a TLS-only condition instead of reporting the permissions missing', async () => {
    const r = registry();
    const doc = minimalPullPolicy(r);
    const tlsOnly = {
      ...doc,
      Statement: doc.Statement.map((s) => ({ ...s, Condition: { Bool: { 'aws:SecureTransport': 'true' } } })),
    };
    const report = await evaluatePullAccess(
      r,
      effective({ kind: 'inline', name: 'tls-only', document: tlsOnly }),
    );
    expect(report.missing).toEqual([]);
  });

  it('reads NotAction as a wildcard', async () => {
    const r = registry();
    const notAction: PolicySource = {
      kind: 'inline',
      name: 'all-but-iam',
      document: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' }],
      },
    };
    const report = await evaluatePullAccess(r, effective(notAction));
    expect(report.excess.map((e) => e.action)).toContain('s3:PutObject');
    expect(report.excess.map((e) => e.action)).not.toContain('iam:CreateAccessKey');
    expect(report.wildcards[0]?.detail).toContain('NotAction allows every action except iam:*');
  });

  it('accepts documents as IAM returns them (URL-encoded JSON)', async () => {
    const r = registry();
    const encoded = encodeURIComponent(JSON.stringify(minimalPullPolicy(r)));
    const report = await evaluatePullAccess(
      r,
      effective({ kind: 'inline', name: 'nvcf-pull', document: encoded }),
    );
    expect(report.missing).toEqual([]);
  });

  it('does not flag GetAuthorizationToken on *: the action takes no resource', async () => {
    const r = registry();
    const report = await evaluatePullAccess(
      r,
      effective({
        kind: 'inline',
        name: 'token',
        document: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' }],
        },
      }),
    );
    expect(report.wildcards).toEqual([]);
  });

  it('reports what a plain Allow grants on specific resources next to the minimal policy (review finding 1)', async () => {
    // The reviewer's scenario: nothing here is a wildcard, and no fixed sample probe names these resources.
    const r = registry();
    const adminUser = `arn:aws:iam::${ACCOUNT}:user/admin`;
    const dbPassword = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:prod/db-password-AbCdEf`;
    const otherTeam = `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/other-team/app`;
    const orgRole = 'arn:aws:iam::999999999999:role/OrganizationAccountAccessRole';
    const extra: PolicySource = {
      kind: 'inline',
      name: 'extra',
      document: {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: ['iam:CreateAccessKey', 'iam:AttachUserPolicy'], Resource: adminUser },
          { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: dbPassword },
          { Effect: 'Allow', Action: 'ecr:PutImage', Resource: otherTeam },
          { Effect: 'Allow', Action: 'sts:AssumeRole', Resource: orgRole },
        ],
      },
    };
    const report = await evaluatePullAccess(r, effective(minimalInline(r), extra));
    expect(report.missing).toEqual([]);
    expect(report.outOfScope).toEqual([]);
    expect(report.wildcards).toEqual([]);
    expect(report.excess).toEqual([
      { action: 'iam:CreateAccessKey', resource: adminUser, sources: ['inline extra'] },
      { action: 'iam:AttachUserPolicy', resource: adminUser, sources: ['inline extra'] },
      { action: 'secretsmanager:GetSecretValue', resource: dbPassword, sources: ['inline extra'] },
      { action: 'ecr:PutImage', resource: otherTeam, sources: ['inline extra'] },
      { action: 'sts:AssumeRole', resource: orgRole, sources: ['inline extra'] },
    ]);
  });

  it('reports a pull action a statement grants on an unconfigured repository as out of scope', async () => {
    const r = registry();
    const other = `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/other-team/app`;
    const report = await evaluatePullAccess(
      r,
      effective(minimalInline(r), {
        kind: 'group-inline',
        name: 'team-pull',
        group: 'Team',
        document: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: ['ecr:BatchGetImage', 'ecr:ListImages'], Resource: other }],
        },
      }),
    );
    const label = 'group Team / inline team-pull';
    expect(report.outOfScope).toEqual([{ action: 'ecr:BatchGetImage', resource: other, sources: [label] }]);
    // ecr:ListImages is no pull action NVCF makes: beyond the minimum, even on a repository.
    expect(report.excess).toEqual([{ action: 'ecr:ListImages', resource: other, sources: [label] }]);
  });

  it('lets a Deny, a condition or a missing key policy decide a statement-derived probe', async () => {
    const r = registry();
    const dbPassword = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:prod/db-password-AbCdEf`;
    const key = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    const report = await evaluatePullAccess(
      r,
      effective(minimalInline(r), {
        kind: 'inline',
        name: 'guarded',
        document: {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: dbPassword },
            { Effect: 'Deny', Action: 'secretsmanager:*', Resource: '*' },
            {
              Effect: 'Allow',
              Action: 'iam:CreateAccessKey',
              Resource: `arn:aws:iam::${ACCOUNT}:user/admin`,
              Condition: { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } },
            },
            // A KMS key whose key policy delegates to IAM (the default): the identity policy decides.
            { Effect: 'Allow', Action: 'kms:Decrypt', Resource: key },
            // Two actions on a bucket and its objects: each pair that does not exist grants nothing.
            {
              Effect: 'Allow',
              Action: ['s3:GetObject', 's3:ListBucket'],
              Resource: ['arn:aws:s3:::reports', 'arn:aws:s3:::reports/a.json'],
            },
          ],
        },
      }),
    );
    expect(report.excess).toEqual([
      { action: 'kms:Decrypt', resource: key, sources: ['inline guarded'] },
      { action: 's3:ListBucket', resource: 'arn:aws:s3:::reports', sources: ['inline guarded'] },
      { action: 's3:GetObject', resource: 'arn:aws:s3:::reports/a.json', sources: ['inline guarded'] },
    ]);
  });

  it('reports a resource pattern a statement grants as written, unless a concrete finding already shows it', async () => {
    const r = registry();
    const prodSecrets = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:prod/*`;
    const report = await evaluatePullAccess(
      r,
      effective(minimalInline(r), {
        kind: 'inline',
        name: 'patterns',
        document: {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: prodSecrets },
            { Effect: 'Allow', Action: 'dynamodb:DeleteTable', Resource: '*' },
            // Shown by the fixed sample on the user itself: not repeated as a pattern.
            { Effect: 'Allow', Action: 'iam:CreateAccessKey', Resource: `arn:aws:iam::${ACCOUNT}:user/*` },
            // A pattern with a policy variable: reported with the variable resolved.
            {
              Effect: 'Allow',
              Action: 'secretsmanager:PutSecretValue',
              Resource: `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:\${aws:username}/*`,
            },
          ],
        },
      }),
    );
    expect(report.excess).toEqual([
      { action: 'iam:CreateAccessKey', resource: USER_ARN, sources: ['inline patterns'] },
      { action: 'secretsmanager:GetSecretValue', resource: prodSecrets, sources: ['inline patterns'] },
      { action: 'dynamodb:DeleteTable', resource: '*', sources: ['inline patterns'] },
      {
        action: 'secretsmanager:PutSecretValue',
        resource: `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:nvcf-ecr-prod/*`,
        sources: ['inline patterns'],
      },
    ]);
  });

  it('refuses a malformed document, naming the policy and the fault', async () => {
    const broken: PolicySource = {
      kind: 'group-inline',
      name: 'broken',
      group: 'Ops',
      document: { Version: '2012-10-17', Statement: [{ Effect: 'Maybe', Action: '*', Resource: '*' }] },
    };
    await expectRejection(
      () => evaluatePullAccess(registry(), effective(broken)),
      PolicyEvaluationError,
      'group Ops / inline broken',
      'Statement[0].Effect',
    );
  });

  it('refuses a document that is not JSON', async () => {
    await expectRejection(
      () =>
        evaluatePullAccess(
          registry(),
          effective({ kind: 'inline', name: 'garbage', document: '{"Version": ' }),
        ),
      PolicyEvaluationError,
      'Policy inline garbage is not valid JSON',
    );
  });
});

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

describe('Function: evaluatePullAccess (cross-account)', () => {
  it('judges a registry in another account by the user’s own policies', async () => {
    const r = registry({ hostname: '210987654321.dkr.ecr.eu-west-1.amazonaws.com' });
    const report = await evaluatePullAccess(r, effective(minimalInline(r)));
    expect(report.missing).toEqual([]);
    expect(report.outOfScope).toEqual([]);
    expect(report.excess).toEqual([]);
  });

  it('probes key management on the user in the user’s account, not the registry’s', async () => {
    const r = registry({ hostname: '210987654321.dkr.ecr.eu-west-1.amazonaws.com' });
    const admin: PolicySource = {
      kind: 'attached',
      name: 'AdministratorAccess',
      arn: ADMIN_ARN,
      document: ADMINISTRATOR_ACCESS,
    };
    const report = await evaluatePullAccess(r, effective(minimalInline(r), admin));
    expect(report.excess.find((e) => e.action === 'iam:CreateAccessKey')?.resource).toBe(USER_ARN);
    expect(report.excess.find((e) => e.action === 'ecr:PutImage')?.resource).toBe(
      'arn:aws:ecr:eu-west-1:210987654321:repository/inference',
    );
    // Out-of-scope probes: the registry's account (unconfigured repository, other region) and a third
    // account that is neither the registry's nor the user's.
    const accounts = [...new Set(report.outOfScope.map((o) => o.resource.split(':')[4]))];
    expect(accounts).toContain('210987654321');
    const others = accounts.filter((a) => a !== '210987654321');
    expect(others).toHaveLength(1);
    expect(others[0]).not.toBe(ACCOUNT);
  });
});
