import { FUNCTIONS, type FunctionKey, PROJECT_EVENT_BUS_NAME, reportBucketName } from '@nvcf-ecr/core/events';
import { ROTATION_TAGS } from '@nvcf-ecr/core/rotation';
import { isActionAllowed } from '@nvcf-ecr/sandbox';
import { describe, expect, it } from 'vitest';
import { ACCOUNT, GOV_ACCOUNT, PARTNER_ACCOUNT } from './configs.ts';
import { keyIdOf, Resolver, SECRET_SUFFIX } from './resolve.ts';
import {
  findResource,
  must,
  resourcesOfType,
  STACK_IDS,
  STAGE,
  type StackId,
  type Synthesized,
  synth,
} from './synth.ts';

// Least privilege, proven by simulation: each function role's policies (intrinsics resolved to the ARNs
// CloudFormation would produce) allow what its handler needs and deny dangerous actions and foreign resources.
//
// The "needs" below are the contract with the handlers (what each one calls, from the issue and the
// handlers' code). When a handler starts calling a new action, add it here and in stacks/lib/permissions.ts.

interface Request {
  readonly action: string;
  readonly resource: string;
  /** Request context, e.g. `kms:ViaService` for calls Secrets Manager makes with the role's credentials. */
  readonly context?: Record<string, string | string[]>;
}

interface Role {
  readonly stack: StackId;
  readonly arn: string;
  readonly policies: { name: string; document: Record<string, unknown> }[];
}

function roleOf(s: Synthesized, key: FunctionKey, resolver: Resolver): Role {
  for (const stack of STACK_IDS) {
    const fn = resourcesOfType(s.json[stack], 'AWS::Lambda::Function').find(
      ([, f]) => f.Properties['FunctionName'] === `${STAGE}-${FUNCTIONS[key].name}`,
    );
    if (!fn) continue;
    const [roleId] = (fn[1].Properties['Role'] as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'];
    const role = must(s.json[stack].Resources[roleId], roleId);
    const policies = (role.Properties['Policies'] as { PolicyName: string; PolicyDocument: unknown }[]).map(
      (p) => ({
        name: p.PolicyName,
        document: resolver.resolve(stack, p.PolicyDocument) as Record<string, unknown>,
      }),
    );
    return { stack, arn: `arn:${s.partition}:iam::${s.account}:role/${roleId}`, policies };
  }
  throw new Error(`no function ${key}`);
}

/** Names and ARNs of the deployment, derived from the configuration and core's naming (not from the stacks). */
function world(s: Synthesized) {
  const { partition: p, region: r, account: a } = s;
  const secretsKey = findResource(s.json.Credentials, 'AWS::KMS::Key', {
    Description: 'Encrypts the nvcf-ecr pull-key secrets and the NGC API key secret',
  })[0];
  const resolver = new Resolver(s);
  const keyPolicy = resolver.resolve(
    'Credentials',
    s.json.Credentials.Resources[secretsKey]?.Properties['KeyPolicy'],
  ) as Record<string, unknown>;
  const privateRepos = s.config.registries
    .filter((g) => g.kind === 'private')
    .flatMap((g) =>
      g.repositories.map((repo) => `arn:${g.partition}:ecr:${g.region}:${g.accountId}:repository/${repo}`),
    );
  return {
    resolver,
    keyArn: `arn:${p}:kms:${r}:${a}:key/${keyIdOf(secretsKey)}`,
    keyAlias: `alias/${STAGE}-nvcf-ecr-secrets`,
    keyPolicy,
    viaSecretsManager: { 'kms:ViaService': `secretsmanager.${r}.amazonaws.com` },
    secrets: s.config.registries.map(
      (g) => `arn:${p}:secretsmanager:${r}:${a}:secret:${g.secretName}-${SECRET_SUFFIX}`,
    ),
    ngcSecret: `arn:${p}:secretsmanager:${r}:${a}:secret:${s.config.ngc.apiKeySecretName}-${SECRET_SUFFIX}`,
    users: s.config.registries.map((g) => `arn:${p}:iam::${a}:user/${g.userName}`),
    bus: `arn:${p}:events:${r}:${a}:event-bus/${STAGE}-${PROJECT_EVENT_BUS_NAME}`,
    defaultBus: `arn:${p}:events:${r}:${a}:event-bus/default`,
    privateRepos,
    publicRepos: s.config.registries
      .filter((g) => g.kind === 'public')
      .flatMap((g) => g.repositories.map((repo) => `arn:aws:ecr-public::${g.accountId}:repository/${repo}`)),
    bucket: `arn:${p}:s3:::${reportBucketName(a, r, STAGE)}`,
    logStream: (key: FunctionKey) =>
      `arn:${p}:logs:${r}:${a}:log-group:/aws/lambda/${STAGE}-${FUNCTIONS[key].name}:log-stream:2025/01/01/[$LATEST]abc`,
    p,
    r,
    a,
  };
}

type World = ReturnType<typeof world>;

const each = (
  actions: string[],
  resources: string[],
  context?: Record<string, string | string[]>,
): Request[] =>
  actions.flatMap((action) =>
    resources.map((resource) => ({ action, resource, ...(context ? { context } : {}) })),
  );

/** What each handler calls, on what. */
const NEEDS: Record<FunctionKey, (w: World, s: Synthesized) => Request[]> = {
  rotateCredential: (w) => [
    ...each(['logs:CreateLogStream', 'logs:PutLogEvents'], [w.logStream('rotateCredential')]),
    ...each(
      [
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:ListSecretVersionIds',
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
      ],
      w.secrets,
    ),
    // Its progress markers (every one of core's ROTATION_TAGS), and only those.
    ...each(['secretsmanager:TagResource', 'secretsmanager:UntagResource'], w.secrets, {
      'aws:TagKeys': Object.values(ROTATION_TAGS),
    }),
    ...each(['secretsmanager:GetSecretValue'], [w.ngcSecret]),
    ...each(['kms:Decrypt', 'kms:GenerateDataKey'], [w.keyArn], w.viaSecretsManager),
    ...each(
      ['iam:ListAccessKeys', 'iam:CreateAccessKey', 'iam:DeleteAccessKey', 'iam:GetAccessKeyLastUsed'],
      w.users,
    ),
    ...each(['events:PutEvents'], [w.bus]),
  ],
  retireKeys: (w) => [
    ...each(['logs:CreateLogStream', 'logs:PutLogEvents'], [w.logStream('retireKeys')]),
    ...each(['iam:ListAccessKeys', 'iam:UpdateAccessKey', 'iam:GetAccessKeyLastUsed'], w.users),
    ...each(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'], w.secrets),
    // It asks NVCF whether the previous key is still the credential's before deactivating it.
    ...each(['secretsmanager:GetSecretValue'], [w.ngcSecret]),
    ...each(['kms:Decrypt'], [w.keyArn], w.viaSecretsManager),
    ...each(['events:PutEvents'], [w.bus]),
  ],
  validatePush: (w, s) => {
    const failureQueue = findResource(s.json.Validation, 'AWS::Lambda::EventInvokeConfig', {})[1];
    const [queueId] = (
      failureQueue.Properties['DestinationConfig'] as {
        OnFailure: { Destination: { 'Fn::GetAtt': [string] } };
      }
    ).OnFailure.Destination['Fn::GetAtt'];
    return [
      ...each(['logs:CreateLogStream', 'logs:PutLogEvents'], [w.logStream('validatePush')]),
      ...each(['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'], w.privateRepos),
      // Function-aware validation lists NVCF's functions with the NGC API key (the key reached by its alias).
      ...each(['secretsmanager:GetSecretValue'], [w.ngcSecret]),
      ...each(['kms:Decrypt'], [w.keyArn], { ...w.viaSecretsManager, 'kms:ResourceAliases': [w.keyAlias] }),
      ...each(['events:PutEvents'], [w.bus]),
      ...each(['sqs:SendMessage'], [`arn:${w.p}:sqs:${w.r}:${w.a}:${queueId}`]),
    ];
  },
  audit: (w) => [
    ...each(['logs:CreateLogStream', 'logs:PutLogEvents'], [w.logStream('audit')]),
    ...each(
      [
        'iam:ListAccessKeys',
        'iam:GetAccessKeyLastUsed',
        'iam:ListUserPolicies',
        'iam:GetUserPolicy',
        'iam:ListAttachedUserPolicies',
        'iam:ListGroupsForUser',
        'iam:GetUser',
        'iam:SimulatePrincipalPolicy',
      ],
      w.users,
    ),
    ...each(
      ['iam:ListGroupPolicies', 'iam:GetGroupPolicy', 'iam:ListAttachedGroupPolicies'],
      [`arn:${w.p}:iam::${w.a}:group/ecr-readers`],
    ),
    ...each(
      ['iam:GetPolicy', 'iam:GetPolicyVersion'],
      [
        `arn:${w.p}:iam::${w.a}:policy/custom-pull`,
        `arn:${w.p}:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly`,
      ],
    ),
    ...each(
      [
        'secretsmanager:DescribeSecret',
        'secretsmanager:ListSecretVersionIds',
        'secretsmanager:GetSecretValue',
      ],
      w.secrets,
    ),
    ...each(['secretsmanager:GetSecretValue'], [w.ngcSecret]),
    // The audit names the key by its alias (the Audit stack imports nothing from Credentials).
    ...each(['kms:Decrypt'], [w.keyArn], { ...w.viaSecretsManager, 'kms:ResourceAliases': [w.keyAlias] }),
    ...each(['ecr:DescribeImages', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'], w.privateRepos),
    ...each(['ecr-public:DescribeImages'], w.publicRepos),
    ...each(['s3:PutObject'], [`${w.bucket}/reports/2025-01-01T06-00-00Z/report.json`]),
    ...each(
      ['s3:GetObject', 's3:PutObject'],
      [`${w.bucket}/cache/v1/123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app.json`],
    ),
    ...each(['events:PutEvents'], [w.bus]),
  ],
};

/** Requests no function may make: dangerous actions, and needed actions on foreign resources. */
function dangerous(w: World): Request[] {
  const user = w.users[0] as string;
  const repo = w.privateRepos[0] as string;
  return [
    { action: 'iam:CreateUser', resource: `arn:${w.p}:iam::${w.a}:user/intruder` },
    { action: 'iam:DeleteUser', resource: user },
    { action: 'iam:AttachUserPolicy', resource: user },
    { action: 'iam:PutUserPolicy', resource: user },
    { action: 'iam:CreateLoginProfile', resource: user },
    { action: 'iam:CreateAccessKey', resource: `arn:${w.p}:iam::${w.a}:user/admin` },
    // The simulator discloses any principal's permissions: the audit may ask only about the pull users.
    { action: 'iam:SimulatePrincipalPolicy', resource: `arn:${w.p}:iam::${w.a}:user/admin` },
    { action: 'iam:UpdateAccessKey', resource: `arn:${w.p}:iam::${w.a}:user/admin` },
    { action: 'iam:ListAccessKeys', resource: `arn:${w.p}:iam::${w.a}:user/admin` },
    { action: 'iam:PassRole', resource: `arn:${w.p}:iam::${w.a}:role/admin` },
    { action: 'iam:CreatePolicyVersion', resource: `arn:${w.p}:iam::${w.a}:policy/custom-pull` },
    { action: 'sts:AssumeRole', resource: `arn:${w.p}:iam::${w.a}:role/admin` },
    {
      action: 'secretsmanager:GetSecretValue',
      resource: `arn:${w.p}:secretsmanager:${w.r}:${w.a}:secret:prod/database-${SECRET_SUFFIX}`,
    },
    { action: 'secretsmanager:PutSecretValue', resource: w.ngcSecret },
    { action: 'secretsmanager:DeleteSecret', resource: w.secrets[0] as string },
    { action: 'secretsmanager:PutResourcePolicy', resource: w.secrets[0] as string },
    // Tags other than the rotation's own markers (an ABAC tag could widen someone's access to the secret).
    {
      action: 'secretsmanager:TagResource',
      resource: w.secrets[0] as string,
      context: { 'aws:TagKeys': ['Owner'] },
    },
    { action: 'ecr:PutImage', resource: repo },
    { action: 'ecr:BatchDeleteImage', resource: repo },
    { action: 'ecr:SetRepositoryPolicy', resource: repo },
    { action: 'ecr:BatchGetImage', resource: `arn:${w.p}:ecr:${w.r}:${w.a}:repository/not-configured` },
    { action: 's3:PutObject', resource: `arn:${w.p}:s3:::another-bucket/reports/x.json` },
    { action: 's3:PutObject', resource: `${w.bucket}/other-prefix/x.json` },
    { action: 's3:GetObject', resource: `${w.bucket}/reports/x.json` },
    { action: 's3:DeleteObject', resource: `${w.bucket}/reports/x.json` },
    { action: 's3:DeleteObject', resource: `${w.bucket}/cache/v1/x.json` },
    { action: 's3:GetObject', resource: `arn:${w.p}:s3:::another-bucket/cache/v1/x.json` },
    {
      action: 'kms:Decrypt',
      resource: `arn:${w.p}:kms:${w.r}:${w.a}:key/00000000-1111-4222-8333-444444444444`,
      context: w.viaSecretsManager,
    },
    // Another key of the account, through Secrets Manager, under another alias.
    {
      action: 'kms:Decrypt',
      resource: `arn:${w.p}:kms:${w.r}:${w.a}:key/00000000-1111-4222-8333-444444444444`,
      context: { ...w.viaSecretsManager, 'kms:ResourceAliases': ['alias/aws/secretsmanager'] },
    },
    // A secret whose name only starts with a configured one.
    {
      action: 'secretsmanager:GetSecretValue',
      resource: (w.secrets[0] as string).replace(`-${SECRET_SUFFIX}`, `-old-${SECRET_SUFFIX}`),
    },
    // The secrets key used directly, not through Secrets Manager.
    { action: 'kms:Decrypt', resource: w.keyArn },
    { action: 'kms:ScheduleKeyDeletion', resource: w.keyArn },
    { action: 'kms:PutKeyPolicy', resource: w.keyArn },
    { action: 'events:PutEvents', resource: w.defaultBus },
    { action: 'sqs:SendMessage', resource: `arn:${w.p}:sqs:${w.r}:${w.a}:another-queue` },
    {
      action: 'lambda:UpdateFunctionCode',
      resource: `arn:${w.p}:lambda:${w.r}:${w.a}:function:${STAGE}-${FUNCTIONS.rotateCredential.name}`,
    },
    {
      action: 'logs:PutLogEvents',
      resource: `arn:${w.p}:logs:${w.r}:${w.a}:log-group:/aws/lambda/another:log-stream:x`,
    },
    { action: 'ec2:RunInstances', resource: `arn:${w.p}:ec2:${w.r}:${w.a}:instance/i-0123456789abcdef0` },
  ];
}

async function decide(s: Synthesized, w: World, role: Role, request: Request): Promise<boolean> {
  const { allowed } = await isActionAllowed({
    principalArn: role.arn,
    accountId: s.account,
    action: request.action,
    resource: request.resource,
    policies: role.policies,
    context: request.context,
    ...resourcePolicyFor(s, w, request),
  });
  return allowed;
}

/**
 * KMS needs its key policy to allow too: the real one, from the template. A resource in another account
 * (the partner registry) needs that account's resource policy to admit ours; it is assumed to, so that the
 * verdict is our role's alone.
 */
function resourcePolicyFor(
  s: Synthesized,
  w: World,
  request: Request,
): { resourcePolicy?: Record<string, unknown> } {
  if (request.action.startsWith('kms:') && request.resource === w.keyArn)
    return { resourcePolicy: w.keyPolicy };
  const owner = request.resource.split(':')[4] ?? '';
  if (/^\d{12}$/.test(owner) && owner !== s.account) {
    return {
      resourcePolicy: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: `arn:${s.partition}:iam::${s.account}:root` },
            Action: request.action,
            Resource: request.resource,
          },
        ],
      },
    };
  }
  return {};
}

const keys = Object.keys(FUNCTIONS) as FunctionKey[];
const requestKey = (r: Request) => `${r.action} ${r.resource} ${JSON.stringify(r.context ?? {})}`;

describe.each(['multi', 'govcloud'] as const)('Roles of the %s configuration', (name) => {
  const ready = synth(name).then((s) => ({ s, w: world(s) }));

  it.each(keys)('allows %s everything its handler needs', async (key) => {
    const { s, w } = await ready;
    const role = roleOf(s, key, w.resolver);
    const denied: Request[] = [];
    for (const request of NEEDS[key](w, s)) if (!(await decide(s, w, role, request))) denied.push(request);
    expect(denied).toEqual([]);
  });

  it.each(keys)('denies %s dangerous actions and foreign resources', async (key) => {
    const { s, w } = await ready;
    const role = roleOf(s, key, w.resolver);
    const needed = new Set(NEEDS[key](w, s).map(requestKey));
    const allowed: Request[] = [];
    for (const request of dangerous(w)) {
      if (needed.has(requestKey(request))) continue;
      if (await decide(s, w, role, request)) allowed.push(request);
    }
    expect(allowed).toEqual([]);
  });

  it.each(keys)('lists exactly the actions %s needs, no more', async (key) => {
    const { s, w } = await ready;
    const role = roleOf(s, key, w.resolver);
    const granted = role.policies.flatMap((p) =>
      (p.document['Statement'] as { Action: string | string[] }[]).flatMap((st) => [st.Action].flat()),
    );
    expect(new Set(granted)).toEqual(new Set(NEEDS[key](w, s).map((r) => r.action)));
  });
});

describe('Partitions in roles', () => {
  it('names every resource of the GovCloud roles in the aws-us-gov partition', async () => {
    const s = await synth('govcloud');
    const w = world(s);
    for (const key of keys) {
      const resources = roleOf(s, key, w.resolver).policies.flatMap((p) =>
        (p.document['Statement'] as { Resource: string | string[] }[]).flatMap((st) => [st.Resource].flat()),
      );
      expect(resources.length).toBeGreaterThan(0);
      for (const resource of resources) expect(resource).toMatch(/^arn:aws-us-gov:/);
    }
    expect(w.privateRepos).toContain(`arn:aws-us-gov:ecr:us-gov-east-1:${GOV_ACCOUNT}:repository/inference`);
  });

  it('lets validation read the NGC API key, and no other secret, nor write it', async () => {
    const s = await synth('multi');
    const w = world(s);
    const role = roleOf(s, 'validatePush', w.resolver);
    expect(await decide(s, w, role, { action: 'secretsmanager:GetSecretValue', resource: w.ngcSecret })).toBe(
      true,
    );
    for (const request of [
      { action: 'secretsmanager:GetSecretValue', resource: w.secrets[0] as string },
      { action: 'secretsmanager:PutSecretValue', resource: w.ngcSecret },
      { action: 'secretsmanager:DescribeSecret', resource: w.ngcSecret },
    ])
      expect(await decide(s, w, role, request)).toBe(false);
  });

  it('grants the configured repositories of other regions and accounts to validation', async () => {
    const s = await synth('multi');
    const w = world(s);
    const role = roleOf(s, 'validatePush', w.resolver);
    for (const resource of [
      `arn:aws:ecr:eu-west-1:${ACCOUNT}:repository/inference-eu`,
      `arn:aws:ecr:us-east-1:${PARTNER_ACCOUNT}:repository/models/llm`,
    ]) {
      expect(await decide(s, w, role, { action: 'ecr:BatchGetImage', resource })).toBe(true);
    }
    // A configured name in a region it is not configured in stays out of reach.
    expect(
      await decide(s, w, role, {
        action: 'ecr:BatchGetImage',
        resource: `arn:aws:ecr:eu-west-1:${ACCOUNT}:repository/inference`,
      }),
    ).toBe(false);
  });
});
