import {
  GetGroupPolicyCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  ListAttachedGroupPoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListGroupPoliciesCommand,
  ListGroupsForUserCommand,
  ListUserPoliciesCommand,
} from '@aws-sdk/client-iam';
import { PolicyEvaluationError } from '@nvcf-ecr/core/errors';
import {
  evaluatePullAccess,
  type IamReader,
  loadEffectivePolicies,
  minimalPullPolicy,
  parsePolicyDocument,
  policySourceLabel,
} from '@nvcf-ecr/core/iam';
import { describe, expect, it } from 'vitest';
import { expectThrow } from '../expect-error.ts';
import { ACCOUNT, ADMINISTRATOR_ACCESS, registry, USER_ARN } from './fixtures.ts';
import { simulatorFor } from './simulator.ts';

const ADMIN_ARN = 'arn:aws:iam::aws:policy/AdministratorAccess';
const S3_ALL = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] };
// IAM returns policy documents URL-encoded (RFC 3986); the SDK hands them over as they are.
const encoded = (doc: unknown) => encodeURIComponent(JSON.stringify(doc));

/**
 * A fake IAM client holding one user in one group. Inline user policies come back in two pages, and the
 * AdministratorAccess policy is attached both to the user and to the group.
 */
function fakeIam() {
  const calls: string[] = [];
  const pull = minimalPullPolicy(registry());
  const send = async (command: unknown): Promise<unknown> => {
    calls.push((command as object).constructor.name);
    const input = (command as { input: Record<string, string | undefined> }).input;
    if (command instanceof GetUserCommand) return { User: { UserName: input['UserName'], Arn: USER_ARN } };
    if (command instanceof ListUserPoliciesCommand) {
      return input['Marker'] === undefined
        ? { PolicyNames: ['nvcf-pull'], IsTruncated: true, Marker: 'page-2' }
        : { PolicyNames: ['extra'], IsTruncated: false };
    }
    if (command instanceof GetUserPolicyCommand) {
      return {
        PolicyDocument: encoded(
          input['PolicyName'] === 'nvcf-pull' ? pull : { Version: '2012-10-17', Statement: [] },
        ),
      };
    }
    if (command instanceof ListAttachedUserPoliciesCommand)
      return { AttachedPolicies: [{ PolicyName: 'AdministratorAccess', PolicyArn: ADMIN_ARN }] };
    if (command instanceof GetPolicyCommand)
      return {
        Policy: { PolicyName: 'AdministratorAccess', Arn: input['PolicyArn'], DefaultVersionId: 'v3' },
      };
    if (command instanceof GetPolicyVersionCommand) {
      return {
        PolicyVersion: {
          VersionId: input['VersionId'],
          Document: input['VersionId'] === 'v3' ? encoded(ADMINISTRATOR_ACCESS) : undefined,
        },
      };
    }
    if (command instanceof ListGroupsForUserCommand) return { Groups: [{ GroupName: 'DataTeam' }] };
    if (command instanceof ListGroupPoliciesCommand) return { PolicyNames: ['s3-all'] };
    if (command instanceof GetGroupPolicyCommand) return { PolicyDocument: encoded(S3_ALL) };
    if (command instanceof ListAttachedGroupPoliciesCommand)
      return { AttachedPolicies: [{ PolicyName: 'AdministratorAccess', PolicyArn: ADMIN_ARN }] };
    throw new Error(`unexpected command ${(command as object).constructor.name}`);
  };
  return { iam: { send } as unknown as IamReader, calls };
}

describe('Function: loadEffectivePolicies', () => {
  it('collects inline, attached and group policies, following pagination', async () => {
    const { iam } = fakeIam();
    const effective = await loadEffectivePolicies(iam, 'nvcf-ecr-prod');
    expect(effective).toMatchObject({ userName: 'nvcf-ecr-prod', userArn: USER_ARN, accountId: ACCOUNT });
    expect(effective.policies.map(({ document: _d, ...rest }) => rest)).toEqual([
      { kind: 'inline', name: 'nvcf-pull' },
      { kind: 'inline', name: 'extra' },
      { kind: 'attached', name: 'AdministratorAccess', arn: ADMIN_ARN },
      { kind: 'group-inline', name: 's3-all', group: 'DataTeam' },
      { kind: 'group-attached', name: 'AdministratorAccess', arn: ADMIN_ARN, group: 'DataTeam' },
    ]);
  });

  it('reads the default version of a managed policy once, wherever it is attached', async () => {
    const { iam, calls } = fakeIam();
    const effective = await loadEffectivePolicies(iam, 'nvcf-ecr-prod');
    expect(calls.filter((c) => c === 'GetPolicyVersionCommand')).toHaveLength(1);
    expect(parsePolicyDocument(effective.policies[2]?.document, 'admin')).toEqual(ADMINISTRATOR_ACCESS);
  });

  it('takes a user whose ARN the caller already read, without calling GetUser again', async () => {
    const { iam, calls } = fakeIam();
    const effective = await loadEffectivePolicies(iam, { name: 'nvcf-ecr-prod', arn: USER_ARN });
    expect(effective).toMatchObject({ userName: 'nvcf-ecr-prod', userArn: USER_ARN, accountId: ACCOUNT });
    expect(effective.policies).toHaveLength(5);
    expect(calls).not.toContain('GetUserCommand');
  });

  it('feeds evaluatePullAccess directly', async () => {
    const { iam } = fakeIam();
    const effective = await loadEffectivePolicies(iam, 'nvcf-ecr-prod');
    const report = await evaluatePullAccess(registry(), effective, simulatorFor(effective));
    expect(report.missing).toEqual([]);
    const putObject = report.excess.find((e) => e.action === 's3:PutObject');
    expect(putObject?.sources).toEqual([
      `attached ${ADMIN_ARN}`,
      'group DataTeam / inline s3-all',
      `group DataTeam / attached ${ADMIN_ARN}`,
    ]);
  });
});

describe('Function: policySourceLabel', () => {
  it.each([
    [{ kind: 'inline', name: 'nvcf-pull' }, 'inline nvcf-pull'],
    [{ kind: 'attached', name: 'AdministratorAccess', arn: ADMIN_ARN }, `attached ${ADMIN_ARN}`],
    [{ kind: 'group-inline', name: 's3-all', group: 'DataTeam' }, 'group DataTeam / inline s3-all'],
    [
      { kind: 'group-attached', name: 'AdministratorAccess', arn: ADMIN_ARN, group: 'AdminsGroup' },
      `group AdminsGroup / attached ${ADMIN_ARN}`,
    ],
  ] as const)('labels %j as %s', (source, label) => {
    expect(policySourceLabel(source)).toBe(label);
  });
});

describe('Function: parsePolicyDocument', () => {
  it('accepts an object, JSON text and URL-encoded JSON text', () => {
    for (const doc of [S3_ALL, JSON.stringify(S3_ALL), encoded(S3_ALL), ` ${JSON.stringify(S3_ALL)}\n`]) {
      expect(parsePolicyDocument(doc, 'p')).toEqual(S3_ALL);
    }
  });

  it('refuses broken URL encoding', () => {
    expectThrow(
      () => parsePolicyDocument('%7B%E0%A4%A', 'inline p'),
      PolicyEvaluationError,
      'Policy inline p is neither JSON nor URL-encoded JSON',
    );
  });

  it('refuses JSON that is not an object', () => {
    expectThrow(
      () => parsePolicyDocument('[1]', 'inline p'),
      PolicyEvaluationError,
      'Policy inline p must be a JSON object with Version and Statement, got an array',
    );
  });
});
