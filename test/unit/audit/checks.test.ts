import { NoSuchEntityException } from '@aws-sdk/client-iam';
import { ResourceNotFoundException } from '@aws-sdk/client-secrets-manager';
import type { Finding } from '@nvcf-ecr/core/audit';
import { minimalPullPolicy, requiredPullPermissions } from '@nvcf-ecr/core/iam';
import { silentLogger } from '@nvcf-ecr/core/log';
import type { NvcfRegistryCredentialView } from '@nvcf-ecr/core/ports';
import { maskAccessKeyId } from '@nvcf-ecr/core/redact';
import { describe, expect, it } from 'vitest';
import type { RegistryCheckContext } from '../../../packages/core/src/audit/check.ts';
import { iamChecks } from '../../../packages/core/src/audit/checks/iam.ts';
import { nvcfChecks } from '../../../packages/core/src/audit/checks/nvcf.ts';
import { secretChecks } from '../../../packages/core/src/audit/checks/secret.ts';
import { accountFacts, registryFacts } from '../../../packages/core/src/audit/facts.ts';
import { ACCOUNT, config, fakeClient, registry } from './fakes.ts';

/**
 * The IAM and secret checks' judgement on states that are awkward to build on the sandbox: grace periods,
 * rotations in progress, overdue schedules, drift, and reads that fail. Clients are fakes answering by command.
 */

const USER_ARN = `arn:aws:iam::${ACCOUNT}:user/${registry.userName}`;
const SECRET_ARN = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:${registry.secretName}-AbCdEf`;
const NOW = new Date('2026-06-15T12:00:00Z');
const CURRENT = 'AKIACURRENTKEY000001';
const PREVIOUS = 'AKIAPREVIOUSKEY00002';
const hours = (h: number) => new Date(NOW.getTime() - h * 3_600_000);

interface State {
  keys: { id: string; status?: string; created: Date }[];
  rotationEnabled?: boolean;
  lastRotated?: Date | undefined;
  schedule?: string;
  window?: string;
  /** `value` is what the rotation stored; `unrecorded`: no key id tag (written before key ids were recorded). */
  versions?: {
    id: string;
    stages: string[];
    created: Date;
    value?: Record<string, string>;
    unrecorded?: boolean;
  }[];
}

const layout = (accessKeyId: string, createdAt: Date) => ({
  accessKeyId,
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY',
  userName: registry.userName,
  registryHostname: registry.hostname,
  credentialName: registry.credentialName,
  createdAt: createdAt.toISOString(),
});

interface Overrides {
  iamError?: Error;
  /** More IAM answers by command (the policy reads of iam.pull-policy-least-privilege). */
  iam?: Record<string, unknown>;
  /** NVCF's registry credentials. */
  credentials?: NvcfRegistryCredentialView[];
}

function context(state: State, overrides: Overrides = {}): RegistryCheckContext {
  const versions: NonNullable<State['versions']> = state.versions ?? [
    { id: 'v-current', stages: ['AWSCURRENT'], created: hours(2), value: layout(CURRENT, hours(2)) },
    { id: 'v-previous', stages: ['AWSPREVIOUS'], created: hours(800), value: layout(PREVIOUS, hours(800)) },
  ];
  const iam = fakeClient({
    GetUserCommand: { User: { UserName: registry.userName, Arn: USER_ARN } },
    ListAccessKeysCommand: () =>
      overrides.iamError ?? {
        AccessKeyMetadata: state.keys.map((k) => ({
          AccessKeyId: k.id,
          Status: k.status ?? 'Active',
          CreateDate: k.created,
        })),
        IsTruncated: false,
      },
    GetAccessKeyLastUsedCommand: { AccessKeyLastUsed: { ServiceName: 'N/A', Region: 'N/A' } },
    ...overrides.iam,
  });
  const secrets = fakeClient({
    DescribeSecretCommand: {
      ARN: SECRET_ARN,
      Name: registry.secretName,
      RotationEnabled: state.rotationEnabled ?? true,
      RotationLambdaARN: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:nvcf-ecr-rotate-credential`,
      RotationRules: {
        ScheduleExpression: state.schedule ?? 'rate(30 days)',
        Duration: state.window ?? '3h',
      },
      LastRotatedDate: 'lastRotated' in state ? state.lastRotated : hours(2),
      VersionIdsToStages: Object.fromEntries(versions.map((v) => [v.id, v.stages])),
      // The key id the rotation records per version (core rotation key-ids.ts): `none` for a keyless value.
      Tags: versions
        .filter((v) => !v.unrecorded)
        .map((v) => ({ Key: `nvcf-ecr:version:${v.id}`, Value: v.value?.['accessKeyId'] ?? 'none' })),
    },
    ListSecretVersionIdsCommand: {
      Versions: versions.map((v) => ({ VersionId: v.id, VersionStages: v.stages, CreatedDate: v.created })),
    },
    // The audit's role may not read the pull-key secret's value: only the NGC key secret answers (as absent).
    GetSecretValueCommand: (input: Record<string, unknown>) =>
      input['SecretId'] === config.ngc.apiKeySecretName
        ? new ResourceNotFoundException({ message: 'no value', $metadata: {} })
        : Object.assign(
            new Error(`not authorized to perform: secretsmanager:GetSecretValue on ${input['SecretId']}`),
            {
              name: 'AccessDeniedException',
              $metadata: { httpStatusCode: 400 },
            },
          ),
  });
  return {
    config,
    registry,
    facts: registryFacts(registry, iam, secrets),
    account: accountFacts(
      config,
      {
        listRegistryCredentials: async () => overrides.credentials ?? [],
        listFunctions: async () => [],
        getDeployment: async () => undefined,
      },
      secrets,
    ),
    iam,
    now: NOW,
    logger: silentLogger,
  };
}

const one = (findings: Finding[], checkId: string) => {
  const found = findings.filter((f) => f.checkId === checkId);
  expect(found).toHaveLength(1);
  return found[0] as Finding;
};

describe('Check: iam.access-key-count', () => {
  it('accepts the previous key while it is inside its grace period', async () => {
    const f = one(
      await iamChecks(
        context({
          keys: [
            { id: PREVIOUS, created: hours(800) },
            { id: CURRENT, created: hours(2) },
          ],
        }),
      ),
      'iam.access-key-count',
    );
    expect(f.status).toBe('pass');
    expect(f.message).toContain(
      `${maskAccessKeyId(PREVIOUS)} is the previous key, inside its grace period until`,
    );
  });

  it('fails once the grace period and the retirement hour are over', async () => {
    const created = hours(registry.rotation.graceHours + 2);
    const ctx = context({
      keys: [
        { id: PREVIOUS, created: hours(800) },
        { id: CURRENT, created },
      ],
      versions: [
        { id: 'v-current', stages: ['AWSCURRENT'], created, value: layout(CURRENT, created) },
        {
          id: 'v-previous',
          stages: ['AWSPREVIOUS'],
          created: hours(800),
          value: layout(PREVIOUS, hours(800)),
        },
      ],
    });
    const f = one(await iamChecks(ctx), 'iam.access-key-count');
    expect(f).toMatchObject({ status: 'fail', severity: 'high' });
    expect(f.message).toContain(
      `the previous key ${maskAccessKeyId(PREVIOUS)} is still Active after its grace period`,
    );
  });

  it('accepts the new key of a rotation in progress', async () => {
    const f = one(
      await iamChecks(
        context({
          keys: [
            { id: CURRENT, created: hours(2) },
            { id: PREVIOUS, created: hours(0) },
          ],
          versions: [
            { id: 'v-current', stages: ['AWSCURRENT'], created: hours(2), value: layout(CURRENT, hours(2)) },
            { id: 'v-pending', stages: ['AWSPENDING'], created: hours(0), value: layout(PREVIOUS, hours(0)) },
          ],
        }),
      ),
      'iam.access-key-count',
    );
    expect(f.status).toBe('pass');
    expect(f.message).toContain('is the pending key of a rotation in progress');
  });

  it('reports an error naming the refused call when the keys cannot be listed', async () => {
    const denied = Object.assign(new Error('User is not authorized to perform: iam:ListAccessKeys'), {
      name: 'AccessDenied',
      $metadata: { httpStatusCode: 403 },
    });
    const f = one(await iamChecks(context({ keys: [] }, { iamError: denied })), 'iam.access-key-count');
    expect(f).toMatchObject({ status: 'error', resource: USER_ARN });
    expect(f.message).toBe(
      'iam.access-key-count could not be evaluated: AccessDenied (HTTP 403): User is not authorized to perform: iam:ListAccessKeys',
    );
  });
});

describe('Check: iam.pull-policy-least-privilege', () => {
  it('reads the pull user once: the policy reads reuse the audit’s GetUser (review finding 10c)', async () => {
    const required = new Set(requiredPullPermissions(registry).map((p) => `${p.action} ${p.resource}`));
    const ctx = context(
      { keys: [{ id: CURRENT, created: hours(2) }] },
      {
        iam: {
          ListUserPoliciesCommand: { PolicyNames: ['nvcf-ecr-pull'], IsTruncated: false },
          GetUserPolicyCommand: {
            PolicyDocument: encodeURIComponent(JSON.stringify(minimalPullPolicy(registry))),
          },
          ListAttachedUserPoliciesCommand: { AttachedPolicies: [], IsTruncated: false },
          ListGroupsForUserCommand: { Groups: [], IsTruncated: false },
          // AWS's answer for the minimal policy: exactly NVCF's permissions are allowed.
          SimulatePrincipalPolicyCommand: (input: Record<string, unknown>) => ({
            EvaluationResults: (input['ActionNames'] as string[]).flatMap((action) =>
              (input['ResourceArns'] as string[]).map((resource) => ({
                EvalActionName: action,
                EvalResourceName: resource,
                EvalDecision: required.has(`${action} ${resource}`) ? 'allowed' : 'implicitDeny',
                MatchedStatements: [],
              })),
            ),
            IsTruncated: false,
          }),
        },
      },
    );
    const f = one(await iamChecks(ctx), 'iam.pull-policy-least-privilege');
    expect(f).toMatchObject({ status: 'pass', resource: USER_ARN });
    const calls = (ctx.iam as unknown as { calls: { command: string; input: Record<string, unknown> }[] })
      .calls;
    expect(calls.filter((c) => c.command === 'GetUserCommand')).toHaveLength(1);
    // The user's policies are judged by AWS, about the user the audit read.
    const simulations = calls.filter((c) => c.command === 'SimulatePrincipalPolicyCommand');
    expect(simulations.length).toBeGreaterThan(0);
    expect(simulations.every((c) => c.input['PolicySourceArn'] === USER_ARN)).toBe(true);
  });
});

describe('Check: iam.access-key-age', () => {
  it('ages Active keys only: an old Inactive key does not count', async () => {
    const f = one(
      await iamChecks(
        context({
          keys: [
            { id: PREVIOUS, status: 'Inactive', created: hours(24 * 400) },
            { id: CURRENT, created: hours(24 * 10) },
          ],
        }),
      ),
      'iam.access-key-age',
    );
    expect(f).toMatchObject({
      status: 'pass',
      message: 'The Active key of nvcf-ecr-prod is 10 days old, under the 90-day limit.',
    });
  });
});

describe('Check: iam.key-matches-secret', () => {
  it('fails critical when the key AWSCURRENT names is Inactive', async () => {
    const f = one(
      await iamChecks(context({ keys: [{ id: CURRENT, status: 'Inactive', created: hours(2) }] })),
      'iam.key-matches-secret',
    );
    expect(f).toMatchObject({ status: 'fail', severity: 'critical' });
    expect(f.message).toContain(
      `the AWSCURRENT key ${maskAccessKeyId(CURRENT)} is Inactive, so NVCF cannot pull with it`,
    );
  });

  it('fails critical before the first rotation: the secret holds no key', async () => {
    const bootstrap = {
      userName: registry.userName,
      registryHostname: registry.hostname,
      credentialName: registry.credentialName,
    };
    const f = one(
      await iamChecks(
        context({
          keys: [],
          versions: [{ id: 'v0', stages: ['AWSCURRENT'], created: hours(1), value: bootstrap }],
        }),
      ),
      'iam.key-matches-secret',
    );
    expect(f).toMatchObject({ status: 'fail', severity: 'critical' });
    expect(f.message).toContain('holds no key yet: the rotation has never completed');
  });

  it('says the user is missing when IAM does not know it', async () => {
    const ctx = context({ keys: [] });
    const iam = fakeClient({
      GetUserCommand: new NoSuchEntityException({ message: 'no user', $metadata: {} }),
    });
    const secrets = fakeClient({
      DescribeSecretCommand: new ResourceNotFoundException({ message: 'no secret', $metadata: {} }),
    });
    const f = one(
      await iamChecks({ ...ctx, iam, facts: registryFacts(registry, iam, secrets) }),
      'iam.key-matches-secret',
    );
    expect(f).toMatchObject({
      status: 'fail',
      severity: 'critical',
      message: 'The pull user nvcf-ecr-prod does not exist.',
    });
  });
});

describe('Check: nvcf.credential-current', () => {
  const STRANDED = 'AKIASTRANDEDKEY00003';
  const credential = (lastUpdatedAt: Date): NvcfRegistryCredentialView => ({
    registryCredentialId: 'cred-1',
    registryCredentialName: registry.credentialName,
    registryHostname: registry.hostname,
    artifactTypes: ['CONTAINER'],
    provisionedBy: 'USER',
    lastUpdatedAt: lastUpdatedAt.toISOString(),
    createdAt: hours(2000).toISOString(),
  });
  const current = (versions: State['versions'] = undefined) => ({
    versions: versions ?? [
      { id: 'v-current', stages: ['AWSCURRENT'], created: hours(48), value: layout(CURRENT, hours(48)) },
      { id: 'v-previous', stages: ['AWSPREVIOUS'], created: hours(800), value: layout(PREVIOUS, hours(800)) },
    ],
  });

  it('fails when a key newer than the current one was created before NVCF was last updated (review finding 2)', async () => {
    // A rotation's setSecret gave NVCF the new key, its testSecret failed, and the operator removed the
    // AWSPENDING label: the key is unknown to the secret, and NVCF may hold it.
    const ctx = context(
      {
        keys: [
          { id: CURRENT, created: hours(48) },
          { id: STRANDED, created: hours(5) },
        ],
        ...current(),
      },
      { credentials: [credential(hours(4.9))] },
    );
    const f = one(await nvcfChecks(ctx), 'nvcf.credential-current');
    expect(f).toMatchObject({ status: 'fail', severity: 'high' });
    expect(f.message).toContain(
      `NVCF may hold key ${maskAccessKeyId(STRANDED)} (unknown to the secret, Active, created ${hours(5).toISOString()}) instead of the current key ${maskAccessKeyId(CURRENT)}`,
    );
    expect(f.remediation).toContain('Rotate the secret before deactivating anything');
    expect(JSON.stringify(f)).not.toContain(STRANDED);

    // The key check says the same key is unknown, and warns not to deactivate a key NVCF may hold.
    const matches = one(await iamChecks(ctx), 'iam.key-matches-secret');
    expect(matches.message).toContain(
      `${maskAccessKeyId(STRANDED)} (Active, created ${hours(5).toISOString()}, after the current key: NVCF may hold it, see nvcf.credential-current)`,
    );
    expect(matches.remediation).toContain(
      'Do not deactivate a key NVCF may hold: first check nvcf.credential-current',
    );
  });

  it('passes a key created after NVCF’s last update: NVCF cannot have been given it', async () => {
    const ctx = context(
      {
        keys: [
          { id: CURRENT, created: hours(48) },
          { id: STRANDED, created: hours(3) },
        ],
        ...current(),
      },
      { credentials: [credential(hours(47))] },
    );
    const f = one(await nvcfChecks(ctx), 'nvcf.credential-current');
    expect(f.status).toBe('pass');
  });

  it('passes the pending key of a rotation in progress, which NVCF is given before AWSCURRENT moves', async () => {
    const ctx = context(
      {
        keys: [
          { id: CURRENT, created: hours(48) },
          { id: STRANDED, created: hours(0.1) },
        ],
        ...current([
          { id: 'v-current', stages: ['AWSCURRENT'], created: hours(48), value: layout(CURRENT, hours(48)) },
          {
            id: 'v-pending',
            stages: ['AWSPENDING'],
            created: hours(0.1),
            value: layout(STRANDED, hours(0.1)),
          },
        ]),
      },
      { credentials: [credential(hours(0.05))] },
    );
    const f = one(await nvcfChecks(ctx), 'nvcf.credential-current');
    expect(f.status).toBe('pass');
    expect(f.message).toContain(
      `the newer key ${maskAccessKeyId(STRANDED)} is the pending key of a rotation in progress`,
    );
  });
});

describe('Check: secret.rotation-recent', () => {
  const keys = [{ id: CURRENT, created: hours(2) }];

  it('fails when the next rotation is overdue past its window', async () => {
    const f = one(
      await secretChecks(context({ keys, lastRotated: hours(24 * 31 + 5) })),
      'secret.rotation-recent',
    );
    expect(f).toMatchObject({ status: 'fail', severity: 'medium' });
    expect(f.message).toContain('(31 days ago); the next rotation was due');
  });

  it('fails when the secret counts as rotated but its key is older than the rotation', async () => {
    const f = one(
      await secretChecks(
        context({ keys: [{ id: CURRENT, created: hours(24 * 20) }], lastRotated: hours(1) }),
      ),
      'secret.rotation-recent',
    );
    expect(f.status).toBe('fail');
    expect(f.message).toContain('the secret was updated without a new key');
  });

  it('passes a recent rotation that minted the current key', async () => {
    const f = one(await secretChecks(context({ keys })), 'secret.rotation-recent');
    expect(f.status).toBe('pass');
    expect(f.evidence).toMatchObject({ schedule: 'rate(30 days)', currentKey: maskAccessKeyId(CURRENT) });
  });
});

describe('Check: secret.rotation-enabled', () => {
  it('fails medium when the deployed schedule drifted from the configuration', async () => {
    const f = one(
      await secretChecks(context({ keys: [], schedule: 'rate(90 days)' })),
      'secret.rotation-enabled',
    );
    expect(f).toMatchObject({ status: 'fail', severity: 'medium', resource: SECRET_ARN });
    expect(f.message).toContain(
      'drifted from the configuration: schedule rate(90 days) (configured rate(30 days))',
    );
  });
});

describe('Check: secret.pending-stuck', () => {
  const pending = (created: Date) => ({
    keys: [],
    versions: [
      { id: 'v-current', stages: ['AWSCURRENT'], created: hours(48), value: layout(CURRENT, hours(48)) },
      { id: 'v-pending', stages: ['AWSPENDING'], created },
    ],
  });

  it('passes an AWSPENDING label set minutes ago: a rotation in progress', async () => {
    const f = one(await secretChecks(context(pending(hours(0.25)))), 'secret.pending-stuck');
    expect(f.status).toBe('pass');
    expect(f.message).toContain('is in progress');
  });

  it('fails an empty AWSPENDING version left for more than an hour', async () => {
    const f = one(await secretChecks(context(pending(hours(3)))), 'secret.pending-stuck');
    expect(f).toMatchObject({ status: 'fail', severity: 'high' });
    expect(f.remediation).toContain('--remove-from-version-id v-pending');
  });
});

describe('Audit facts: key ids without the secret value', () => {
  it('reads which key each stage holds from the key ids the rotation records, never the value', async () => {
    const secret = await context({ keys: [] }).facts.secret();
    expect(secret?.current).toMatchObject({
      versionId: 'v-current',
      accessKeyId: CURRENT,
      created: hours(2),
    });
    expect(secret?.previous).toMatchObject({ versionId: 'v-previous', accessKeyId: PREVIOUS });
    expect(JSON.stringify(secret)).not.toContain('wJalrXUtnFEMI');
  });

  it('reports an AWSCURRENT without a recorded key id (written before key ids were recorded) with the fix', async () => {
    const ctx = context({
      keys: [
        { id: PREVIOUS, created: hours(800) },
        { id: CURRENT, created: hours(2) },
      ],
      versions: [
        { id: 'v-current', stages: ['AWSCURRENT'], created: hours(2), unrecorded: true },
        { id: 'v-previous', stages: ['AWSPREVIOUS'], created: hours(800), unrecorded: true },
      ],
    });
    const f = one(await iamChecks(ctx), 'iam.key-matches-secret');
    expect(f).toMatchObject({ status: 'fail', severity: 'high' });
    expect(f.message).toContain('No key id is recorded for the AWSCURRENT version v-current');
    expect(f.remediation).toContain(`Rotate once to record key ids: nvcf-ecr rotate ${registry.name}`);
  });

  it('never advises deactivating a key when the stages’ key ids are not recorded (it may be the current one)', async () => {
    const ctx = context({
      keys: [
        { id: PREVIOUS, created: hours(800) },
        { id: CURRENT, created: hours(200) },
      ],
      lastRotated: hours(200),
      versions: [
        { id: 'v-current', stages: ['AWSCURRENT'], created: hours(200), unrecorded: true },
        { id: 'v-previous', stages: ['AWSPREVIOUS'], created: hours(800), unrecorded: true },
      ],
    });
    const findings = await iamChecks(ctx);
    for (const id of ['iam.access-key-count', 'iam.key-matches-secret']) {
      const f = one(findings, id);
      expect(f.status).toBe('fail');
      expect(f.remediation).not.toContain('update-access-key');
      expect(f.remediation).toMatch(/[Rr]otate once to record key ids/);
    }
    expect(one(findings, 'iam.access-key-count').remediation).toContain('Deactivate nothing yet');
  });

  it('still reads a never-rotated secret (bootstrap value, no AWSPREVIOUS) as holding no key yet', async () => {
    const ctx = context({
      keys: [],
      versions: [{ id: 'v-bootstrap', stages: ['AWSCURRENT'], created: hours(2), unrecorded: true }],
    });
    const f = one(await iamChecks(ctx), 'iam.key-matches-secret');
    expect(f).toMatchObject({ status: 'fail', severity: 'critical' });
    expect(f.message).toContain('holds no key yet');
  });
});
