import { BatchGetImageCommand, DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
import {
  AddUserToGroupCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateGroupCommand,
  CreatePolicyCommand,
  CreateUserCommand,
  DeletePolicyCommand,
  DeleteUserPermissionsBoundaryCommand,
  GetUserCommand,
  PutGroupPolicyCommand,
  PutUserPermissionsBoundaryCommand,
  PutUserPolicyCommand,
  SimulatePrincipalPolicyCommand,
} from '@aws-sdk/client-iam';
import type { RunningSandbox } from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clients, control, rejection, withSandbox } from '../../helpers/sandbox.ts';

// iam:SimulatePrincipalPolicy and permissions boundaries as IAM answers them, through the SDK
// (https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html).

const USER = 'puller';

describe('Sandbox: IAM policy simulation and permissions boundaries', () => {
  let sb: RunningSandbox;
  let admin: ReturnType<typeof clients>;
  let userArn: string;
  let repo: string;
  const other = () => `arn:aws:ecr:${sb.region}:${sb.accountId}:repository/other`;

  beforeAll(async () => {
    sb = await withSandbox({ keyPropagationSeconds: 0 });
    admin = clients(sb);
  });
  afterAll(() => sb.close());
  beforeEach(async () => {
    await control(sb, 'POST', 'reset');
    userArn = (await admin.iam.send(new CreateUserCommand({ UserName: USER }))).User?.Arn ?? '';
    repo = `arn:aws:ecr:${sb.region}:${sb.accountId}:repository/app`;
  });

  // Pretty-printed as a user would write it: positions are line and column in this text.
  const pullText = () =>
    JSON.stringify(
      {
        Version: '2012-10-17',
        Statement: [
          { Sid: 'Token', Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
          {
            Sid: 'Pull',
            Effect: 'Allow',
            Action: ['ecr:BatchGetImage', 'ecr:DescribeRepositories'],
            Resource: repo,
          },
        ],
      },
      null,
      2,
    );

  const simulate = (actions: string[], resources?: string[], extra: object = {}) =>
    admin.iam.send(
      new SimulatePrincipalPolicyCommand({
        PolicySourceArn: userArn,
        ActionNames: actions,
        ...(resources ? { ResourceArns: resources } : {}),
        ...extra,
      }),
    );

  it('answers each action on each resource, naming the matched statement by its line and column', async () => {
    const text = pullText();
    await admin.iam.send(
      new PutUserPolicyCommand({ UserName: USER, PolicyName: 'pull', PolicyDocument: text }),
    );
    const out = await simulate(['ecr:BatchGetImage', 'ecr:PutImage'], [repo, other()]);
    expect(out.IsTruncated).toBe(false);
    expect(out.EvaluationResults?.map((r) => [r.EvalActionName, r.EvalResourceName, r.EvalDecision])).toEqual(
      [
        ['ecr:BatchGetImage', repo, 'allowed'],
        ['ecr:BatchGetImage', other(), 'implicitDeny'],
        ['ecr:PutImage', repo, 'implicitDeny'],
        ['ecr:PutImage', other(), 'implicitDeny'],
      ],
    );
    const [allowed, denied] = out.EvaluationResults ?? [];
    expect(denied?.MatchedStatements).toEqual([]);
    expect(allowed?.MatchedStatements).toHaveLength(1);
    const m = allowed?.MatchedStatements?.[0];
    expect(m).toMatchObject({ SourcePolicyId: 'pull', SourcePolicyType: 'user' });
    // The start is the statement's opening brace, the end its closing one, in the text as stored.
    const lines = text.split('\n');
    const start = lines[(m?.StartPosition?.Line ?? 0) - 1]?.slice((m?.StartPosition?.Column ?? 0) - 1);
    expect(start?.startsWith('{')).toBe(true);
    expect(lines[m?.StartPosition?.Line ?? 0]).toContain('"Sid": "Pull"');
    expect(lines[(m?.EndPosition?.Line ?? 0) - 1]?.[(m?.EndPosition?.Column ?? 0) - 1]).toBe('}');
  });

  it('lets a group’s explicit Deny win, and names group and managed policies by their type', async () => {
    await admin.iam.send(
      new PutUserPolicyCommand({ UserName: USER, PolicyName: 'pull', PolicyDocument: pullText() }),
    );
    await admin.iam.send(new CreateGroupCommand({ GroupName: 'frozen' }));
    await admin.iam.send(new AddUserToGroupCommand({ GroupName: 'frozen', UserName: USER }));
    await admin.iam.send(
      new PutGroupPolicyCommand({
        GroupName: 'frozen',
        PolicyName: 'no-pull',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Deny', Action: 'ecr:BatchGetImage', Resource: '*' }],
        }),
      }),
    );
    const admin0 = 'arn:aws:iam::aws:policy/AdministratorAccess';
    await admin.iam.send(new AttachUserPolicyCommand({ UserName: USER, PolicyArn: admin0 }));
    const [pull, put] =
      (await simulate(['ecr:BatchGetImage', 'ecr:PutImage'], [repo])).EvaluationResults ?? [];
    expect(pull?.EvalDecision).toBe('explicitDeny');
    expect(pull?.MatchedStatements?.map((s) => [s.SourcePolicyId, s.SourcePolicyType])).toEqual([
      ['no-pull', 'group'],
    ]);
    expect(put?.EvalDecision).toBe('allowed');
    expect(put?.MatchedStatements?.map((s) => [s.SourcePolicyId, s.SourcePolicyType])).toEqual([
      ['AdministratorAccess', 'aws-managed'],
    ]);
  });

  it('caps the identity policies with the permissions boundary, in the simulation and in real requests', async () => {
    await admin.iam.send(
      new PutUserPolicyCommand({ UserName: USER, PolicyName: 'pull', PolicyDocument: pullText() }),
    );
    const boundary = await admin.iam.send(
      new CreatePolicyCommand({
        PolicyName: 'metadata-only',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'ecr:DescribeRepositories', Resource: '*' }],
        }),
      }),
    );
    const arn = boundary.Policy?.Arn ?? '';
    await admin.iam.send(new PutUserPermissionsBoundaryCommand({ UserName: USER, PermissionsBoundary: arn }));
    expect((await admin.iam.send(new GetUserCommand({ UserName: USER }))).User?.PermissionsBoundary).toEqual({
      PermissionsBoundaryType: 'PermissionsBoundaryPolicy',
      PermissionsBoundaryArn: arn,
    });
    const [pull, describe] =
      (await simulate(['ecr:BatchGetImage', 'ecr:DescribeRepositories'], [repo])).EvaluationResults ?? [];
    expect(pull).toMatchObject({
      EvalDecision: 'implicitDeny',
      PermissionsBoundaryDecisionDetail: { AllowedByPermissionsBoundary: false },
    });
    expect(describe).toMatchObject({
      EvalDecision: 'allowed',
      PermissionsBoundaryDecisionDetail: { AllowedByPermissionsBoundary: true },
    });
    // The user's own requests are authorised the same way.
    const key = (await admin.iam.send(new CreateAccessKeyCommand({ UserName: USER }))).AccessKey;
    const asUser = clients(sb, {
      credentials: { accessKeyId: key?.AccessKeyId ?? '', secretAccessKey: key?.SecretAccessKey ?? '' },
    });
    const err = await rejection(
      asUser.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['app'] })),
    );
    // Allowed by both, ECR goes on to say the repository does not exist; outside the boundary, denied.
    expect(err.name).toBe('RepositoryNotFoundException');
    const capped = await rejection(
      asUser.ecr.send(new BatchGetImageCommand({ repositoryName: 'app', imageIds: [{ imageTag: 'v1' }] })),
    );
    expect(capped.name).toBe('AccessDeniedException');
    // A boundary in use cannot be deleted; removed, the identity policies decide alone again.
    const inUse = await rejection(admin.iam.send(new DeletePolicyCommand({ PolicyArn: arn })));
    expect(inUse.name).toBe('DeleteConflictException');
    await admin.iam.send(new DeleteUserPermissionsBoundaryCommand({ UserName: USER }));
    expect((await simulate(['ecr:BatchGetImage'], [repo])).EvaluationResults?.[0]?.EvalDecision).toBe(
      'allowed',
    );
    const again = await rejection(
      admin.iam.send(new DeleteUserPermissionsBoundaryCommand({ UserName: USER })),
    );
    expect(again.name).toBe('NoSuchEntityException');
    const unknown = await rejection(
      admin.iam.send(
        new PutUserPermissionsBoundaryCommand({
          UserName: USER,
          PermissionsBoundary: `arn:aws:iam::${sb.accountId}:policy/none`,
        }),
      ),
    );
    expect(unknown.name).toBe('NoSuchEntityException');
  });

  it('refuses an unknown principal with NoSuchEntity (404), and a request without actions', async () => {
    const ghost = await rejection(
      admin.iam.send(
        new SimulatePrincipalPolicyCommand({
          PolicySourceArn: `arn:aws:iam::${sb.accountId}:user/ghost`,
          ActionNames: ['ecr:BatchGetImage'],
        }),
      ),
    );
    expect(ghost.name).toBe('NoSuchEntityException');
    expect(ghost.$metadata?.httpStatusCode).toBe(404);
    expect(ghost.message).toBe('The user with name ghost cannot be found.');
    const none = await rejection(simulate([]));
    expect(none.$metadata?.httpStatusCode).toBe(400);
  });

  it('pages with MaxItems and Marker, and defaults the resource to *', async () => {
    const actions = ['ecr:BatchGetImage', 'ecr:PutImage', 'ecr:GetAuthorizationToken'];
    const first = await simulate(actions, undefined, { MaxItems: 2 });
    expect(first.IsTruncated).toBe(true);
    expect(first.EvaluationResults?.map((r) => r.EvalResourceName)).toEqual(['*', '*']);
    const rest = await simulate(actions, undefined, { MaxItems: 2, Marker: first.Marker });
    expect(rest.IsTruncated).toBe(false);
    expect(rest.EvaluationResults?.map((r) => r.EvalActionName)).toEqual(['ecr:GetAuthorizationToken']);
  });

  it('requires iam:SimulatePrincipalPolicy on the principal: it discloses its permissions', async () => {
    await admin.iam.send(
      new PutUserPolicyCommand({ UserName: USER, PolicyName: 'pull', PolicyDocument: pullText() }),
    );
    const key = (await admin.iam.send(new CreateAccessKeyCommand({ UserName: USER }))).AccessKey;
    const asUser = clients(sb, {
      credentials: { accessKeyId: key?.AccessKeyId ?? '', secretAccessKey: key?.SecretAccessKey ?? '' },
    });
    const err = await rejection(
      asUser.iam.send(
        new SimulatePrincipalPolicyCommand({ PolicySourceArn: userArn, ActionNames: ['ecr:PutImage'] }),
      ),
    );
    expect(err.name).toBe('AccessDenied');
    expect(err.message).toContain('iam:SimulatePrincipalPolicy');
  });
});
