import { ConfigError } from '@nvcf-ecr/core/errors';
import {
  minimalPullPolicy,
  PULL_POLICY_SIDS,
  pullPolicyFor,
  requiredPullPermissions,
} from '@nvcf-ecr/core/iam';
import { describe, expect, it } from 'vitest';
import { expectThrow } from '../expect-error.ts';
import { ACCOUNT, PULL, privatePolicy, publicPolicy, registry } from './fixtures.ts';

describe('Function: minimalPullPolicy', () => {
  it('grants the token on * in its own statement and the pull actions on exactly the configured repositories', () => {
    expect(minimalPullPolicy(registry())).toEqual(
      privatePolicy([
        `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/inference`,
        `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/tools`,
      ]),
    );
  });

  it('writes GovCloud ARNs for a GovCloud registry', () => {
    const doc = minimalPullPolicy(
      registry({ hostname: `${ACCOUNT}.dkr.ecr.us-gov-west-1.amazonaws.com`, repositories: ['app'] }),
    );
    expect(doc.Statement[1]?.Resource).toEqual([
      `arn:aws-us-gov:ecr:us-gov-west-1:${ACCOUNT}:repository/app`,
    ]);
  });

  it('grants ECR Public the token, the STS bearer token, and DescribeImages on the public repositories', () => {
    const doc = minimalPullPolicy(
      registry({ hostname: 'public.ecr.aws', accountId: '210987654321', repositories: ['tools'] }),
    );
    expect(doc).toEqual(publicPolicy(['arn:aws:ecr-public::210987654321:repository/tools']));
  });

  it('uses statement ids IAM accepts (alphanumeric only)', () => {
    for (const sid of Object.values(PULL_POLICY_SIDS)) expect(sid).toMatch(/^[A-Za-z0-9]+$/);
  });

  it('lists each repository once, sorted, whatever the configuration order', () => {
    const scope = {
      kind: 'private',
      partition: 'aws',
      region: 'eu-west-1',
      accountId: ACCOUNT,
      repositories: ['b', 'a', 'b'].map((r) => `repo-${r}`),
    } as const;
    expect(minimalPullPolicy(scope).Statement[1]?.Resource).toEqual([
      `arn:aws:ecr:eu-west-1:${ACCOUNT}:repository/repo-a`,
      `arn:aws:ecr:eu-west-1:${ACCOUNT}:repository/repo-b`,
    ]);
  });

  it('refuses a public scope without an owner account', () => {
    const scope = {
      kind: 'public',
      partition: 'aws',
      region: 'us-east-1',
      accountId: '',
      repositories: ['tools'],
    } as const;
    const err = expectThrow(
      () => minimalPullPolicy(scope),
      ConfigError,
      'ECR Public registries need the owner account',
    );
    expect(err.issues).toEqual([
      { path: 'accountId', message: 'ECR Public registries need the owner account: give its 12-digit id' },
    ]);
  });
});

describe('Function: requiredPullPermissions', () => {
  it('lists the token on * and every pull action on every repository', () => {
    const repoArn = (r: string) => `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/${r}`;
    expect(requiredPullPermissions(registry())).toEqual([
      { action: 'ecr:GetAuthorizationToken', resource: '*' },
      ...['inference', 'tools'].flatMap((r) => PULL.map((action) => ({ action, resource: repoArn(r) }))),
    ]);
  });

  it('lists both token permissions for ECR Public', () => {
    expect(
      requiredPullPermissions(
        registry({ hostname: 'public.ecr.aws', accountId: '210987654321', repositories: ['tools'] }),
      ),
    ).toEqual([
      { action: 'ecr-public:GetAuthorizationToken', resource: '*' },
      { action: 'sts:GetServiceBearerToken', resource: '*' },
      { action: 'ecr-public:DescribeImages', resource: 'arn:aws:ecr-public::210987654321:repository/tools' },
    ]);
  });
});

describe('Function: pullPolicyFor', () => {
  it('writes China ARNs for a China hostname, which the configuration would refuse', () => {
    const doc = pullPolicyFor({
      hostname: '210987654321.dkr.ecr.cn-north-1.amazonaws.com.cn',
      repositories: ['app'],
    });
    expect(doc.Statement[1]?.Resource).toEqual(['arn:aws-cn:ecr:cn-north-1:210987654321:repository/app']);
    expect(doc.Statement[0]?.Action).toEqual(['ecr:GetAuthorizationToken']);
  });

  it('writes the same policy as the configuration for the same registry', () => {
    expect(
      pullPolicyFor({
        hostname: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`,
        repositories: ['tools', 'inference'],
      }),
    ).toEqual(minimalPullPolicy(registry()));
  });

  it('takes the region of a FIPS hostname', () => {
    const doc = pullPolicyFor({
      hostname: `${ACCOUNT}.dkr.ecr-fips.us-west-2.amazonaws.com`,
      repositories: ['app'],
    });
    expect(doc.Statement[1]?.Resource).toEqual([`arn:aws:ecr:us-west-2:${ACCOUNT}:repository/app`]);
  });

  it('needs the account for ECR Public', () => {
    expect(
      pullPolicyFor({ hostname: 'public.ecr.aws', repositories: ['tools'], accountId: '210987654321' })
        .Statement[1]?.Resource,
    ).toEqual(['arn:aws:ecr-public::210987654321:repository/tools']);
    const err = expectThrow(
      () => pullPolicyFor({ hostname: 'public.ecr.aws', repositories: ['tools'] }),
      ConfigError,
      'Invalid configuration in policy options',
    );
    expect(err.issues).toEqual([
      { path: 'accountId', message: 'ECR Public registries need the owner account: give its 12-digit id' },
    ]);
  });

  it('reports every problem with the options at once', () => {
    const err = expectThrow(
      () =>
        pullPolicyFor({
          hostname: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com:443`,
          repositories: ['App', 'ok'],
        }),
      ConfigError,
      '(2 problems)',
    );
    expect(err.issues).toEqual([
      { path: 'hostname', message: expect.stringContaining("includes a port (':443')") },
      { path: 'repositories[0]', message: "repository 'App' must be lower case (use 'app')" },
    ]);
  });

  it('refuses no repositories', () => {
    const err = expectThrow(
      () => pullPolicyFor({ hostname: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`, repositories: [] }),
      ConfigError,
    );
    expect(err.issues).toEqual([
      { path: 'repositories', message: 'must list at least one repository NVCF may pull from' },
    ]);
  });

  it('refuses an account that contradicts the hostname', () => {
    const err = expectThrow(
      () =>
        pullPolicyFor({
          hostname: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`,
          repositories: ['app'],
          accountId: '210987654321',
        }),
      ConfigError,
    );
    expect(err.issues).toEqual([
      {
        path: 'accountId',
        message: `210987654321 differs from the account in hostname ${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com: drop accountId`,
      },
    ]);
  });
});
