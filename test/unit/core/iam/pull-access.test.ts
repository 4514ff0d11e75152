import { PolicyEvaluationError } from '@nvcf-ecr/core/errors';
import {
  type EffectivePolicies,
  evaluatePullAccess as evaluate,
  minimalPullPolicy,
  type PolicySource,
  pullRepositoryArns,
  requiredPullPermissions,
} from '@nvcf-ecr/core/iam';
import { ServiceError } from '@nvcf-ecr/sandbox';
import { describe, expect, it } from 'vitest';
import { expectRejection } from '../expect-error.ts';
import { ACCOUNT, ADMINISTRATOR_ACCESS, PULL, registry, USER_ARN } from './fixtures.ts';
import { simulatorFor } from './simulator.ts';

const REPO = `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/inference`;
const ADMIN_ARN = 'arn:aws:iam::aws:policy/AdministratorAccess';

function effective(...policies: PolicySource[]): EffectivePolicies {
  return { userName: 'nvcf-ecr-prod', userArn: USER_ARN, accountId: ACCOUNT, policies };
}

/** The audit's evaluation, answered by the sandbox's emulation of SimulatePrincipalPolicy over `e`. */
const evaluatePullAccess = (r: Parameters<typeof evaluate>[0], e: EffectivePolicies) =>
  evaluate(r, e, simulatorFor(e));

/** The evaluation of the default registry's pull user holding `policies`. */
const judge = (...policies: PolicySource[]) => evaluatePullAccess(registry(), effective(...policies));

const minimalInline = (r = registry()): PolicySource => ({
  kind: 'inline',
  name: 'nvcf-pull',
  document: minimalPullPolicy(r),
});

/** An inline user policy `name` holding `statements`. */
const inline = (name: string, ...statements: Record<string, unknown>[]): PolicySource => ({
  kind: 'inline',
  name,
  document: { Version: '2012-10-17', Statement: statements },
});

/** What the evaluation reports for `action` on `resource`: granted by statement `index` of the policy `label`. */
const grant = (label: string, index: number, action: string, resource: string) => ({
  action,
  resource,
  sources: [label],
  statements: [`${label} Statement[${index}]`],
});

describe('Function: evaluatePullAccess', () => {
  it.each([
    { name: 'finds nothing missing, excess or out of scope for exactly the minimal policy', overrides: {} },
    {
      name: 'finds nothing beyond the minimum for the minimal ECR Public policy',
      overrides: { hostname: 'public.ecr.aws', accountId: '210987654321', repositories: ['tools'] },
    },
  ])('$name', async ({ overrides }) => {
    const r = registry(overrides);
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
    expect(report.missing).toEqual(
      requiredPullPermissions(r).map((p) => ({ ...p, reason: 'no allow', statements: [] })),
    );
    expect(report.allowedRequired).toEqual([]);
  });

  it('reports an inline ecr:* on * as excess, out of scope and a wildcard', async () => {
    const r = registry();
    const ecrAll = inline('ecr-everything', {
      Sid: 'EcrAll',
      Effect: 'Allow',
      Action: 'ecr:*',
      Resource: '*',
    });
    const report = await judge(ecrAll);
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
    const group: PolicySource = {
      kind: 'group-inline',
      name: 's3-all',
      group: 'DataTeam',
      document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] },
    };
    const report = await judge(minimalInline(), group);
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
    const admin: PolicySource = {
      kind: 'group-attached',
      name: 'AdministratorAccess',
      arn: ADMIN_ARN,
      group: 'AdminsGroup',
      document: ADMINISTRATOR_ACCESS,
    };
    const report = await judge(minimalInline(), admin);
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
    const report = await judge({
      kind: 'attached',
      name: 'AdministratorAccess',
      arn: ADMIN_ARN,
      document: ADMINISTRATOR_ACCESS,
    });
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
    expect(report.missing).toEqual([
      {
        action: 'ecr:BatchGetImage',
        resource: REPO,
        reason: 'explicit deny',
        statements: ['group Restricted / inline no-pull Statement[0]'],
      },
    ]);
    expect(report.allowedRequired).toHaveLength(requiredPullPermissions(r).length - 1);
  });

  it('lets the permissions boundary cap what the policies allow, as AWS does', async () => {
    const r = registry();
    const wide = inline('ecr-all', { Effect: 'Allow', Action: 'ecr:*', Resource: '*' });
    const e = effective(minimalInline(r), wide);
    // The boundary is NVCF's minimal policy: ecr:* grants nothing beyond it, though the statement stays wide.
    const capped = await evaluate(r, e, simulatorFor(e, minimalPullPolicy(r)));
    expect(capped.excess).toEqual([]);
    expect(capped.outOfScope).toEqual([]);
    expect(capped.missing).toEqual([]);
    expect(capped.wildcards.map((w) => w.source)).toEqual(['inline ecr-all']);
    // A boundary without ecr:DescribeImages: the four repository permissions of that action go missing.
    const narrow = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', NotAction: 'ecr:DescribeImages', Resource: '*' }],
    };
    const cut = await evaluate(r, e, simulatorFor(e, narrow));
    expect(cut.missing).toEqual(
      pullRepositoryArns(r).map((resource) => ({
        action: 'ecr:DescribeImages',
        resource,
        reason: 'permissions boundary',
        statements: [],
      })),
    );
  });

  it('asks AWS in few calls: requests with the same actions share one', async () => {
    const r = registry();
    const e = effective(minimalInline(r));
    const iam = simulatorFor(e);
    await evaluate(r, e, iam);
    // Token action on *, pull actions on the configured repositories and the out-of-scope probes (one call),
    // and the dangerous-action sample, one call per resource kind.
    expect(iam.calls).toBeLessThanOrEqual(12);
  });

  it('reports a region wildcard in a repository ARN as out of scope', async () => {
    const wide = inline('any-region', {
      Sid: 'AnyRegion',
      Effect: 'Allow',
      Action: 'ecr:BatchGetImage',
      Resource: `arn:aws:ecr:*:${ACCOUNT}:repository/inference`,
    });
    const report = await judge(minimalInline(), wide);
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
    const wide = inline('any-account', {
      Effect: 'Allow',
      Action: 'ecr:DescribeImages',
      Resource: 'arn:aws:ecr:us-east-1:*:repository/inference',
    });
    const report = await judge(minimalInline(), wide);
    expect(report.outOfScope).toHaveLength(1);
    expect(report.outOfScope[0]?.action).toBe('ecr:DescribeImages');
    expect(report.outOfScope[0]?.resource.split(':')[4]).not.toBe(ACCOUNT);
  });

  it('resolves the aws:username policy variable as AWS does: self-service key management is excess', async () => {
    const selfService = inline('self-keys', {
      Effect: 'Allow',
      Action: 'iam:CreateAccessKey',
      Resource: `arn:aws:iam::${ACCOUNT}:user/\${aws:username}`,
    });
    const report = await judge(minimalInline(), selfService);
    expect(report.excess).toEqual([grant('inline self-keys', 0, 'iam:CreateAccessKey', USER_ARN)]);
  });

  it('honours a TLS-only condition instead of reporting the permissions missing', async () => {
    const doc = minimalPullPolicy(registry());
    const tlsOnly = {
      ...doc,
      Statement: doc.Statement.map((s) => ({ ...s, Condition: { Bool: { 'aws:SecureTransport': 'true' } } })),
    };
    const report = await judge({ kind: 'inline', name: 'tls-only', document: tlsOnly });
    expect(report.missing).toEqual([]);
  });

  it('reads NotAction as a wildcard', async () => {
    const notAction = inline('all-but-iam', { Effect: 'Allow', NotAction: 'iam:*', Resource: '*' });
    const report = await judge(notAction);
    expect(report.excess.map((e) => e.action)).toContain('s3:PutObject');
    expect(report.excess.map((e) => e.action)).not.toContain('iam:CreateAccessKey');
    expect(report.wildcards[0]?.detail).toContain('NotAction allows every action except iam:*');
  });

  it('accepts documents as IAM returns them (URL-encoded JSON)', async () => {
    const encoded = encodeURIComponent(JSON.stringify(minimalPullPolicy(registry())));
    const report = await judge({ kind: 'inline', name: 'nvcf-pull', document: encoded });
    expect(report.missing).toEqual([]);
  });

  it('does not flag GetAuthorizationToken on *: the action takes no resource', async () => {
    const token = inline('token', { Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' });
    const report = await judge(token);
    expect(report.wildcards).toEqual([]);
  });

  it('reports what a plain Allow grants on specific resources next to the minimal policy (review finding 1)', async () => {
    // The reviewer's scenario: nothing here is a wildcard, and no fixed sample probe names these resources.
    const adminUser = `arn:aws:iam::${ACCOUNT}:user/admin`;
    const dbPassword = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:prod/db-password-AbCdEf`;
    const otherTeam = `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/other-team/app`;
    const orgRole = 'arn:aws:iam::999999999999:role/OrganizationAccountAccessRole';
    const extra = inline(
      'extra',
      { Effect: 'Allow', Action: ['iam:CreateAccessKey', 'iam:AttachUserPolicy'], Resource: adminUser },
      { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: dbPassword },
      { Effect: 'Allow', Action: 'ecr:PutImage', Resource: otherTeam },
      { Effect: 'Allow', Action: 'sts:AssumeRole', Resource: orgRole },
    );
    const report = await judge(minimalInline(), extra);
    // AWS's MatchedStatements point at the statement that allows each pair.
    expect(report.missing).toEqual([]);
    expect(report.outOfScope).toEqual([]);
    expect(report.wildcards).toEqual([]);
    expect(report.excess).toEqual([
      grant('inline extra', 0, 'iam:CreateAccessKey', adminUser),
      grant('inline extra', 0, 'iam:AttachUserPolicy', adminUser),
      grant('inline extra', 1, 'secretsmanager:GetSecretValue', dbPassword),
      grant('inline extra', 2, 'ecr:PutImage', otherTeam),
      grant('inline extra', 3, 'sts:AssumeRole', orgRole),
    ]);
  });

  it('reports a pull action a statement grants on an unconfigured repository as out of scope', async () => {
    const other = `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/other-team/app`;
    const report = await judge(minimalInline(), {
      kind: 'group-inline',
      name: 'team-pull',
      group: 'Team',
      document: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: ['ecr:BatchGetImage', 'ecr:ListImages'], Resource: other }],
      },
    });
    const label = 'group Team / inline team-pull';
    expect(report.outOfScope).toEqual([grant(label, 0, 'ecr:BatchGetImage', other)]);
    // ecr:ListImages is no pull action NVCF makes: beyond the minimum, even on a repository.
    expect(report.excess).toEqual([grant(label, 0, 'ecr:ListImages', other)]);
  });

  it('lets a Deny, a condition or a missing key policy decide a statement-derived probe', async () => {
    const dbPassword = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:prod/db-password-AbCdEf`;
    const key = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    const guarded = inline(
      'guarded',
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
    );
    const report = await judge(minimalInline(), guarded);
    expect(report.excess).toEqual([
      grant('inline guarded', 3, 'kms:Decrypt', key),
      grant('inline guarded', 4, 's3:ListBucket', 'arn:aws:s3:::reports'),
      grant('inline guarded', 4, 's3:GetObject', 'arn:aws:s3:::reports/a.json'),
    ]);
  });

  it('reports a resource pattern a statement grants as written, unless a concrete finding already shows it', async () => {
    const prodSecrets = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:prod/*`;
    const patterns = inline(
      'patterns',
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
    );
    const report = await judge(minimalInline(), patterns);
    expect(report.excess).toEqual([
      grant('inline patterns', 2, 'iam:CreateAccessKey', USER_ARN),
      grant('inline patterns', 0, 'secretsmanager:GetSecretValue', prodSecrets),
      grant('inline patterns', 1, 'dynamodb:DeleteTable', '*'),
      grant(
        'inline patterns',
        3,
        'secretsmanager:PutSecretValue',
        `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:nvcf-ecr-prod/*`,
      ),
    ]);
  });

  it('surfaces the simulator’s refusal of a malformed document instead of judging it', async () => {
    // IAM never stores such a document; the sandbox's SimulatePrincipalPolicy answers PolicyEvaluation.
    const broken: PolicySource = {
      kind: 'group-inline',
      name: 'broken',
      group: 'Ops',
      document: { Version: '2012-10-17', Statement: [{ Effect: 'Maybe', Action: '*', Resource: '*' }] },
    };
    await expectRejection(
      () => evaluatePullAccess(registry(), effective(broken)),
      ServiceError,
      'policy broken is not a valid IAM identity policy',
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
