import { randomUUID } from 'node:crypto';
import {
  AddUserToGroupCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateGroupCommand,
  CreatePolicyCommand,
  DeleteUserPermissionsBoundaryCommand,
  GetUserCommand,
  PutGroupPolicyCommand,
  PutUserPermissionsBoundaryCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import {
  CancelRotateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import {
  auditReportSchema,
  CHECK_IDS,
  type ComplianceAuditDetail,
  complianceAuditDetailSchema,
} from '@nvcf-ecr/core/audit';
import { type Config, loadConfig } from '@nvcf-ecr/core/config';
import { repositoryArn } from '@nvcf-ecr/core/ecr';
import {
  compileEventPattern,
  DETAIL_TYPES,
  EVENT_SOURCE,
  NOTIFICATION_RULE_PREFIX,
  notificationPatterns,
  PROJECT_EVENT_BUS_NAME,
} from '@nvcf-ecr/core/events';
import { pullRepositoryArns } from '@nvcf-ecr/core/iam';
import { maskAccessKeyId } from '@nvcf-ecr/core/redact';
import type { EventLogEntry } from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../packages/cli/src/index.ts';
import { control } from '../../helpers/sandbox.ts';
import { captureIo } from '../../unit/cli/io.ts';
import {
  type AuditRun,
  type AuditSandbox,
  childrenOf,
  expectNoSecrets,
  findingOn,
  invokeAudit,
  issuedSecrets,
  pushFixture,
  readObject,
  resetSandbox,
  startAuditSandbox,
} from './helpers.ts';

/**
 * The compliance audit end to end, on the sandbox provisioned from the example configuration with the
 * rotation and audit handlers the CLI composes: a clean setup audits clean; then each check is broken the
 * way it breaks in real accounts (through the AWS SDK and the control plane) and its finding is asserted by
 * id, status and resource. Every run's reports, events and logs are scanned for every secret the sandbox issued.
 *
 * Rules for adding a case: start from the reset state (beforeEach), break one thing, run the audit with
 * {@link audit}, assert the finding by id, status and resource.
 */

const config: Config = await loadConfig('nvcf-ecr.config.ts');
const registry = config.registries[0] as Config['registries'][number];
const HOST = registry.hostname;
const GB200 = { gpu: 'GB200', instanceType: 'AWS.GPU.GB200_4x.x2', minInstances: 1, maxInstances: 1 };
const L40 = { gpu: 'L40', instanceType: 'gl40_1.br20_2xlarge', minInstances: 1, maxInstances: 1 };

let s: AuditSandbox;
let userArn: string;
let secretArn: string;
/** Secrets seeded by a test (a duplicate credential's value), scanned for along with the sandbox's. */
let extraSecrets: string[] = [];

beforeAll(async () => {
  s = await startAuditSandbox(config);
});
afterAll(async () => {
  await s?.sb.close();
});
beforeEach(async () => {
  await resetSandbox(s);
  extraSecrets = [];
  userArn = (await s.aws.iam.send(new GetUserCommand({ UserName: registry.userName }))).User?.Arn ?? '';
  secretArn =
    (await s.aws.secrets.send(new DescribeSecretCommand({ SecretId: registry.secretName }))).ARN ?? '';
});

/** Runs the audit as its schedule does, and proves that its reports, events and logs hold no secret. */
async function audit(event: unknown = {}): Promise<AuditRun> {
  await s.sb.settle(60_000);
  const run = await invokeAudit(s, event);
  const secrets = [...(await issuedSecrets(s)), ...extraSecrets];
  const { bucket, json, markdown, html } = run.result.reports;
  for (const key of [json, markdown, html]) expectNoSecrets(key, await readObject(s, bucket, key), secrets);
  const events = await control<{ events: EventLogEntry[] }>(s.sb, 'GET', 'events');
  expectNoSecrets('the events', JSON.stringify(events), secrets);
  expectNoSecrets('the logs', JSON.stringify(s.logs), secrets);
  expect(auditReportSchema.safeParse(run.report).success).toBe(true);
  // Every event the audit emits is valid against its published schema.
  const emitted = events.events.filter(
    (e) => (e.event as { 'detail-type'?: string })['detail-type'] === DETAIL_TYPES.complianceAudit,
  );
  expect(emitted.length).toBeGreaterThan(0);
  for (const e of emitted)
    expect(complianceAuditDetailSchema.safeParse((e.event as { detail: unknown }).detail).success).toBe(true);
  return run;
}

/** One function version (optionally deployed) through the control plane. */
async function seedFunction(containerImage: string, deployment?: Record<string, unknown>) {
  const fn = { id: randomUUID(), versionId: randomUUID(), name: `fn-${randomUUID().slice(0, 8)}` };
  await control(s.sb, 'POST', 'seed', {
    nvcf: {
      functions: [{ ...fn, containerImage, status: deployment ? 'ACTIVE' : 'INACTIVE' }],
      ...(deployment
        ? {
            deployments: [
              { functionId: fn.id, functionVersionId: fn.versionId, deploymentSpecifications: [deployment] },
            ],
          }
        : {}),
    },
  });
  return { ...fn, resource: `nvcf:function/${fn.id}/version/${fn.versionId}` };
}

describe('Audit: a clean setup', () => {
  it('passes every check, stores three reports and announces the audit without notifying', async () => {
    await pushFixture(s, 'inference', 'amd64-oci', ['v1']);
    await pushFixture(s, 'inference-gb200', 'multi-oci', ['v1']);
    await pushFixture(s, 'tools', 'attested', ['v1']);
    const x86 = await seedFunction(`${HOST}/inference:v1`, L40);
    const grace = await seedFunction(`${HOST}/inference-gb200:v1`, GB200);

    const { report, result } = await audit();

    expect(report.findings.filter((f) => f.status !== 'pass')).toEqual([]);
    expect(report.summary).toMatchObject({ failed: 0, errors: 0, exempted: 0, worstSeverity: null });
    const ran = new Set(report.findings.map((f) => f.checkId));
    expect([...ran].sort()).toEqual(CHECK_IDS.filter((id) => id !== 'audit.exemption-expired').sort());
    expect(report.stats['images']).toBe(3);
    expect(findingOn(report, 'image.function-architecture', grace.resource).message).toContain('linux/arm64');
    expect(findingOn(report, 'image.function-architecture', x86.resource).message).toContain('linux/amd64');

    for (const key of [result.reports.json, result.reports.markdown, result.reports.html]) {
      expect(key).toMatch(/^reports\/\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z\/audit\.(json|md|html)$/);
      expect((await readObject(s, result.reports.bucket, key)).length).toBeGreaterThan(100);
    }
    const mine = await auditEvent(result.eventId);
    expect(mine.bus).toBe(PROJECT_EVENT_BUS_NAME);
    expect(mine.event).toMatchObject({ source: EVENT_SOURCE, 'detail-type': DETAIL_TYPES.complianceAudit });
    expect(complianceAuditDetailSchema.safeParse(mine.event.detail).success).toBe(true);
    expect(mine.event.detail).toMatchObject({
      summary: { failed: 0 },
      report: result.reports,
      topFindings: [],
    });
    expect(mine.matchedRules).not.toContain(notifyRuleArn());
    expect(compileEventPattern(notificationPatterns()['audit-failed']).matches(mine.event)).toBe(false);

    // The same state from a terminal: `nvcf-ecr audit` with the example configuration exits 0.
    vi.stubEnv('AWS_ACCESS_KEY_ID', s.sb.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', s.sb.secretAccessKey);
    vi.stubEnv('AWS_REGION', s.sb.region);
    const io = captureIo();
    const code = await main(
      [
        'audit',
        '--config',
        'nvcf-ecr.config.ts',
        '--endpoint',
        s.sb.awsEndpoint,
        '--nvcf-endpoint',
        s.sb.nvcfEndpoint,
      ],
      io,
    );
    expect(io.out()).toMatch(
      /^compliant: 0 failed, 0 errors, 0 exempted, \d+ passed — prod, 3 images resolved in /m,
    );
    expect(code).toBe(0);
  });
});

describe('Audit: each check catches its failure', () => {
  const policy = (statement: Record<string, unknown>) =>
    JSON.stringify({ Version: '2012-10-17', Statement: [statement] });

  it('fails iam.pull-policy-least-privilege for an inline ecr:* on * policy', async () => {
    await s.aws.iam.send(
      new PutUserPolicyCommand({
        UserName: registry.userName,
        PolicyName: 'ecr-everything',
        PolicyDocument: policy({ Effect: 'Allow', Action: 'ecr:*', Resource: '*' }),
      }),
    );
    const { report } = await audit();
    const f = findingOn(report, 'iam.pull-policy-least-privilege', userArn);
    expect(f).toMatchObject({ status: 'fail', severity: 'critical', registry: 'prod' });
    expect(f.message).toContain('ecr:PutImage');
    expect(f.message).toContain('inline ecr-everything');
    expect(f.remediation).toContain(
      `aws iam delete-user-policy --user-name ${registry.userName} --policy-name ecr-everything`,
    );
  });

  it('fails iam.pull-policy-least-privilege for a group granting s3:*', async () => {
    await s.aws.iam.send(new CreateGroupCommand({ GroupName: 'data-readers' }));
    await s.aws.iam.send(
      new PutGroupPolicyCommand({
        GroupName: 'data-readers',
        PolicyName: 's3-all',
        PolicyDocument: policy({ Effect: 'Allow', Action: 's3:*', Resource: '*' }),
      }),
    );
    await s.aws.iam.send(
      new AddUserToGroupCommand({ GroupName: 'data-readers', UserName: registry.userName }),
    );
    const { report } = await audit();
    const f = findingOn(report, 'iam.pull-policy-least-privilege', userArn);
    expect(f).toMatchObject({ status: 'fail', severity: 'critical' });
    expect(f.message).toContain('s3:GetObject');
    expect(f.message).toContain('group data-readers / inline s3-all');
    expect(f.remediation).toContain(
      `aws iam remove-user-from-group --user-name ${registry.userName} --group-name data-readers`,
    );
  });

  it('fails iam.pull-policy-least-privilege for an attached AdministratorAccess', async () => {
    const admin = 'arn:aws:iam::aws:policy/AdministratorAccess';
    await s.aws.iam.send(new AttachUserPolicyCommand({ UserName: registry.userName, PolicyArn: admin }));
    const { report } = await audit();
    const f = findingOn(report, 'iam.pull-policy-least-privilege', userArn);
    expect(f).toMatchObject({ status: 'fail', severity: 'critical' });
    expect(f.message).toContain(`attached ${admin}`);
    expect(f.remediation).toContain(
      `aws iam detach-user-policy --user-name ${registry.userName} --policy-arn ${admin}`,
    );
  });

  it('fails iam.pull-policy-least-privilege for plain Allows on specific resources next to the minimal policy', async () => {
    // Review finding 1: no wildcard, and none of these resources is one a fixed sample probe names.
    const account = s.sb.accountId;
    const adminUser = `arn:aws:iam::${account}:user/admin`;
    const dbPassword = `arn:aws:secretsmanager:${s.sb.region}:${account}:secret:prod/db-password-AbCdEf`;
    const otherTeam = `arn:aws:ecr:${s.sb.region}:${account}:repository/other-team/app`;
    const orgRole = 'arn:aws:iam::999999999999:role/OrganizationAccountAccessRole';
    await s.aws.iam.send(
      new PutUserPolicyCommand({
        UserName: registry.userName,
        PolicyName: 'extra',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: ['iam:CreateAccessKey', 'iam:AttachUserPolicy'], Resource: adminUser },
            { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: dbPassword },
            { Effect: 'Allow', Action: 'ecr:PutImage', Resource: otherTeam },
            { Effect: 'Allow', Action: 'sts:AssumeRole', Resource: orgRole },
          ],
        }),
      }),
    );
    const { report } = await audit();
    const f = findingOn(report, 'iam.pull-policy-least-privilege', userArn);
    expect(f).toMatchObject({ status: 'fail', severity: 'critical', registry: 'prod' });
    expect(f.evidence).toMatchObject({ missing: [], outOfScope: [], wildcards: [] });
    const via = ['inline extra'];
    expect(f.evidence['excess']).toEqual([
      {
        action: 'iam:CreateAccessKey',
        resource: adminUser,
        sources: via,
        statements: [`${via[0]} Statement[0]`],
      },
      {
        action: 'iam:AttachUserPolicy',
        resource: adminUser,
        sources: via,
        statements: [`${via[0]} Statement[0]`],
      },
      {
        action: 'secretsmanager:GetSecretValue',
        resource: dbPassword,
        sources: via,
        statements: [`${via[0]} Statement[1]`],
      },
      { action: 'ecr:PutImage', resource: otherTeam, sources: via, statements: [`${via[0]} Statement[2]`] },
      { action: 'sts:AssumeRole', resource: orgRole, sources: via, statements: [`${via[0]} Statement[3]`] },
    ]);
    // AWS's MatchedStatements name the statement that allows each pair.
    expect(f.message).toContain(`allows iam:CreateAccessKey on ${adminUser} (via inline extra Statement[0])`);
    expect(f.remediation).toContain(
      `aws iam delete-user-policy --user-name ${registry.userName} --policy-name extra`,
    );
  });

  it('fails iam.pull-policy-least-privilege for an explicit deny of a pull permission, naming the statement', async () => {
    const repo = repositoryArn(
      registry.partition,
      registry.region,
      registry.accountId,
      registry.repositories[0] ?? '',
    );
    await s.aws.iam.send(
      new PutUserPolicyCommand({
        UserName: registry.userName,
        PolicyName: 'freeze',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Sid: 'ReadOnlyMetadata', Effect: 'Allow', Action: 'ecr:DescribeRepositories', Resource: repo },
            { Sid: 'NoLayers', Effect: 'Deny', Action: 'ecr:GetDownloadUrlForLayer', Resource: repo },
          ],
        }),
      }),
    );
    const { report } = await audit();
    const f = findingOn(report, 'iam.pull-policy-least-privilege', userArn);
    expect(f).toMatchObject({ status: 'fail', severity: 'critical' });
    expect(f.evidence['missing']).toEqual([
      {
        action: 'ecr:GetDownloadUrlForLayer',
        resource: repo,
        reason: 'explicit deny',
        statements: ['inline freeze NoLayers'],
      },
    ]);
    expect(f.message).toContain(
      `lacks ecr:GetDownloadUrlForLayer on ${repo} (explicitly denied by inline freeze NoLayers), which NVCF needs to pull`,
    );
    // The Allow next to it is beyond the minimum, named by its Sid.
    expect(f.evidence['excess']).toContainEqual({
      action: 'ecr:DescribeRepositories',
      resource: repo,
      sources: ['inline freeze'],
      statements: ['inline freeze ReadOnlyMetadata'],
    });
    expect(f.remediation).toContain(
      `aws iam delete-user-policy --user-name ${registry.userName} --policy-name freeze`,
    );
  });

  it('judges iam.pull-policy-least-privilege within the permissions boundary, as AWS does', async () => {
    // ecr:* on * next to the minimal policy, capped by a boundary that allows only NVCF's pull actions on the
    // configured repositories.
    await s.aws.iam.send(
      new PutUserPolicyCommand({
        UserName: registry.userName,
        PolicyName: 'ecr-everything',
        PolicyDocument: policy({ Effect: 'Allow', Action: 'ecr:*', Resource: '*' }),
      }),
    );
    const boundary = await s.aws.iam.send(
      new CreatePolicyCommand({
        PolicyName: 'pull-only-boundary',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
            {
              Effect: 'Allow',
              Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
              Resource: pullRepositoryArns(registry),
            },
          ],
        }),
      }),
    );
    const boundaryArn = boundary.Policy?.Arn ?? '';
    await s.aws.iam.send(
      new PutUserPermissionsBoundaryCommand({
        UserName: registry.userName,
        PermissionsBoundary: boundaryArn,
      }),
    );
    const { report } = await audit();
    const f = findingOn(report, 'iam.pull-policy-least-privilege', userArn);
    // Nothing beyond the minimum gets through the boundary; but the boundary leaves out ecr:DescribeImages,
    // which NVCF needs, and the ecr:* statement is still a wildcard on paper.
    expect(f).toMatchObject({ status: 'fail', severity: 'high' });
    expect(f.evidence).toMatchObject({ excess: [], outOfScope: [] });
    const missing = f.evidence['missing'] as { action: string; reason: string }[];
    expect(missing.length).toBe(registry.repositories.length);
    expect(
      missing.every((m) => m.action === 'ecr:DescribeImages' && m.reason === 'permissions boundary'),
    ).toBe(true);
    expect(f.message).toContain("outside the user's permissions boundary");
    expect(f.remediation).toContain(
      `aws iam delete-user-permissions-boundary --user-name ${registry.userName}`,
    );
    await s.aws.iam.send(new DeleteUserPermissionsBoundaryCommand({ UserName: registry.userName }));
    const after = findingOn((await audit()).report, 'iam.pull-policy-least-privilege', userArn);
    expect(after).toMatchObject({ status: 'fail', severity: 'critical' });
    expect(after.message).toContain('ecr:PutImage');
  });

  it('fails iam.access-key-count and iam.key-matches-secret for an out-of-band second key, naming it masked', async () => {
    const created = await s.aws.iam.send(new CreateAccessKeyCommand({ UserName: registry.userName }));
    const id = created.AccessKey?.AccessKeyId ?? '';
    const { report } = await audit();
    const count = findingOn(report, 'iam.access-key-count', userArn);
    expect(count).toMatchObject({ status: 'fail', severity: 'high' });
    expect(count.message).toContain(`${maskAccessKeyId(id)} is Active but unknown to the secret`);
    const matches = findingOn(report, 'iam.key-matches-secret', userArn);
    expect(matches).toMatchObject({ status: 'fail', severity: 'high' });
    expect(matches.message).toContain(`1 key unknown to the secret: ${maskAccessKeyId(id)} (Active`);
    expect(JSON.stringify(report)).not.toContain(id);
  });

  it('fails iam.access-key-age once the virtual clock has aged the key past audit.maxKeyAgeDays', async () => {
    // Rotation would replace the key on its 30-day schedule; stopped, the key simply ages.
    await s.aws.secrets.send(new CancelRotateSecretCommand({ SecretId: registry.secretName }));
    await control(s.sb, 'POST', 'clock', { advanceSeconds: (config.audit.maxKeyAgeDays + 1) * 86_400 });
    const { report } = await audit();
    const f = findingOn(report, 'iam.access-key-age', userArn);
    expect(f).toMatchObject({ status: 'fail', severity: 'medium' });
    expect(f.message).toContain(
      `is ${config.audit.maxKeyAgeDays + 1} days old: the limit is ${config.audit.maxKeyAgeDays} days`,
    );
  });

  it('fails secret.rotation-enabled when rotation was cancelled', async () => {
    await s.aws.secrets.send(new CancelRotateSecretCommand({ SecretId: registry.secretName }));
    const { report } = await audit();
    const f = findingOn(report, 'secret.rotation-enabled', secretArn);
    expect(f).toMatchObject({ status: 'fail', severity: 'high' });
    expect(f.message).toContain(`Rotation of ${registry.secretName} is disabled`);
  });

  it('fails secret.rotation-recent when the scheduled rotation keeps failing past its due date', async () => {
    // Without a working NGC key the rotation cannot update NVCF, so the scheduled rotation fails at setSecret.
    await control(s.sb, 'POST', 'nvcf/api-keys/revoke', { key: s.sb.ngcApiKey });
    await control(s.sb, 'POST', 'clock', { advanceSeconds: 32 * 86_400 });
    const { report } = await audit();
    const f = findingOn(report, 'secret.rotation-recent', secretArn);
    expect(f).toMatchObject({ status: 'fail', severity: 'medium' });
    expect(f.message).toContain('(32 days ago); the next rotation was due');
    expect(f.message).toContain('on rate(30 days) and has not succeeded');
  });

  it('fails secret.pending-stuck for an AWSPENDING label left on another version for hours', async () => {
    const versionId = randomUUID();
    await s.aws.secrets.send(
      new PutSecretValueCommand({
        SecretId: registry.secretName,
        ClientRequestToken: versionId,
        SecretString: '{"userName":"nvcf-ecr-prod"}',
        VersionStages: ['AWSPENDING'],
      }),
    );
    const fresh = await audit();
    expect(findingOn(fresh.report, 'secret.pending-stuck', secretArn).status).toBe('pass');
    await control(s.sb, 'POST', 'clock', { advanceSeconds: 2 * 3600 });
    const { report } = await audit();
    const f = findingOn(report, 'secret.pending-stuck', secretArn);
    expect(f).toMatchObject({ status: 'fail', severity: 'high' });
    expect(f.message).toContain(`AWSPENDING is stuck on version ${versionId}`);
    expect(f.remediation).toContain(`--version-stage AWSPENDING --remove-from-version-id ${versionId}`);
  });

  it('fails nvcf.credential-present when NVCF has no credential for the registry', async () => {
    const id = (await nvcfCredentials()).find(
      (c) => c.registryCredentialName === registry.credentialName,
    )?.registryCredentialId;
    const res = await fetch(`${s.sb.nvcfEndpoint}/v2/nvcf/registry-credentials/${id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${s.sb.ngcApiKey}` },
    });
    expect(res.status).toBe(204);
    const { report } = await audit();
    const f = findingOn(
      report,
      'nvcf.credential-present',
      `nvcf:registry-credential/${HOST}/${registry.credentialName}`,
    );
    expect(f).toMatchObject({ status: 'fail', severity: 'critical' });
    expect(f.message).toContain(`NVCF has no registry credential '${registry.credentialName}' for ${HOST}`);
  });

  it('fails nvcf.credential-current when the secret moved to a key NVCF was never given', async () => {
    await control(s.sb, 'POST', 'clock', { advanceSeconds: 60 });
    const key = (await s.aws.iam.send(new CreateAccessKeyCommand({ UserName: registry.userName }))).AccessKey;
    const current = JSON.parse(
      (await s.aws.secrets.send(new GetSecretValueCommand({ SecretId: registry.secretName }))).SecretString ??
        '{}',
    ) as Record<string, string>;
    // Moving AWSCURRENT by hand, outside the rotation: NVCF keeps the key it was given. The version's key id
    // is recorded as the rotation records it (the audit reads no value; unrecorded is its own finding).
    const put = await s.aws.secrets.send(
      new PutSecretValueCommand({
        SecretId: registry.secretName,
        SecretString: JSON.stringify({
          ...current,
          accessKeyId: key?.AccessKeyId,
          secretAccessKey: key?.SecretAccessKey,
          createdAt: key?.CreateDate?.toISOString(),
        }),
      }),
    );
    await s.aws.secrets.send(
      new TagResourceCommand({
        SecretId: registry.secretName,
        Tags: [{ Key: `nvcf-ecr:version:${put.VersionId}`, Value: key?.AccessKeyId ?? '' }],
      }),
    );
    const { report } = await audit();
    const f = findingOn(
      report,
      'nvcf.credential-current',
      `nvcf:registry-credential/${HOST}/${registry.credentialName}`,
    );
    expect(f).toMatchObject({ status: 'fail', severity: 'high' });
    expect(f.message).toContain(
      `before the current key ${maskAccessKeyId(key?.AccessKeyId ?? '')} was created`,
    );
  });

  it('fails nvcf.credential-duplicates for a second credential for the same hostname', async () => {
    const value = Buffer.from('AKIAOLDOLDOLDOLDOLD1:oldSecretAccessKeyOfAnotherCredential0001').toString(
      'base64',
    );
    extraSecrets = [value, 'oldSecretAccessKeyOfAnotherCredential0001'];
    await control(s.sb, 'POST', 'seed', {
      nvcf: {
        credentials: [
          { registryHostname: HOST, secret: { name: 'ecr-legacy', value }, artifactTypes: ['CONTAINER'] },
        ],
      },
    });
    const { report } = await audit();
    const f = findingOn(report, 'nvcf.credential-duplicates', `nvcf:registry-credential/${HOST}/ecr-legacy`);
    expect(f).toMatchObject({ status: 'fail', severity: 'medium' });
    expect(f.message).toContain(`NVCF also has credential 'ecr-legacy'`);
  });

  it('fails image.platforms for an amd64-only image in the repository that requires arm64', async () => {
    const digest = await pushFixture(s, 'inference-gb200', 'amd64-oci', ['v2']);
    const { report } = await audit();
    const f = findingOn(report, 'image.platforms', `${HOST}/inference-gb200:v2`);
    expect(f).toMatchObject({ status: 'fail', severity: 'high' });
    expect(f.message).toContain(
      'missing linux/arm64 required for repository inference-gb200 (the image has linux/amd64)',
    );
    expect(f.evidence).toMatchObject({ digest, missing: ['linux/arm64'] });
  });

  it('fails image.function-image-present for a function whose image tag does not exist', async () => {
    await pushFixture(s, 'inference', 'amd64-oci', ['v1']);
    const fn = await seedFunction(`${HOST}/inference:v9`);
    const { report } = await audit();
    const f = findingOn(report, 'image.function-image-present', `${HOST}/inference:v9`);
    expect(f).toMatchObject({ status: 'fail', severity: 'critical' });
    expect(f.message).toContain('does not exist in ECR');
    expect(f.evidence).toMatchObject({ functions: [{ function: fn.resource, name: fn.name }] });
  });

  it('fails image.function-architecture for a GB200 deployment of an amd64-only image', async () => {
    await pushFixture(s, 'inference', 'amd64-oci', ['v1']);
    const fn = await seedFunction(`${HOST}/inference:v1`, GB200);
    const { report } = await audit();
    const f = findingOn(report, 'image.function-architecture', fn.resource);
    expect(f).toMatchObject({ status: 'fail', severity: 'critical' });
    expect(f.message).toContain('needs linux/arm64 (GB200 (AWS.GPU.GB200_4x.x2) runs on Grace (Arm) CPUs)');
    expect(f.message).toContain('provides only linux/amd64');
  });

  it('fails image.index-children-present when a lifecycle rule deleted an index child', async () => {
    const index = await pushFixture(s, 'tools', 'multi-oci', ['multi']);
    const [, arm64] = childrenOf('multi-oci');
    await control(s.sb, 'POST', 'ecr/expire', { repository: 'tools', digest: arm64 });
    const { report } = await audit();
    const f = findingOn(report, 'image.index-children-present', `${HOST}/tools:multi`);
    expect(f).toMatchObject({ status: 'fail', severity: 'high' });
    expect(f.message).toContain(`refers to 1 child that does not exist in tools: ${arm64}`);
    expect(f.evidence).toMatchObject({ digest: index });
  });

  it('fails ngc.api-key-valid when the NGC API key was revoked', async () => {
    await control(s.sb, 'POST', 'nvcf/api-keys/revoke', { key: s.sb.ngcApiKey });
    const { report } = await audit();
    const f = findingOn(report, 'ngc.api-key-valid', `ngc:api-key/${config.ngc.apiKeySecretName}`);
    expect(f).toMatchObject({ status: 'fail', severity: 'critical' });
    expect(f.message).toContain('(401): it is invalid, expired or revoked');
    // Without the key NVCF cannot be read: its checks say so instead of passing.
    expect(
      findingOn(
        report,
        'nvcf.credential-present',
        `nvcf:registry-credential/${HOST}/${registry.credentialName}`,
      ).status,
    ).toBe('error');
  });

  it('notifies through the audit-failed rule when a check fails', async () => {
    await s.aws.iam.send(new CreateAccessKeyCommand({ UserName: registry.userName }));
    const { result } = await audit();
    const mine = await auditEvent(result.eventId);
    expect(mine.matchedRules).toContain(notifyRuleArn());
    expect(compileEventPattern(notificationPatterns()['audit-failed']).matches(mine.event)).toBe(true);
    expect(mine.event.detail.topFindings.map((t) => t.checkId)).toEqual([
      'iam.access-key-count',
      'iam.key-matches-secret',
    ]);
  });
});

/** The `NVCF Compliance Audit` event the audit put on the bus, as the sandbox delivered it. */
async function auditEvent(
  eventId: string,
): Promise<EventLogEntry & { event: { detail: ComplianceAuditDetail } }> {
  const { events } = await control<{ events: EventLogEntry[] }>(s.sb, 'GET', 'events');
  const found = events.find((e) => (e.event as { id?: string }).id === eventId);
  expect(found, `event ${eventId} on the bus`).toBeDefined();
  return found as EventLogEntry & { event: { detail: ComplianceAuditDetail } };
}

/** The notification rule for audits with failures, as the runtime provisions it on the project bus. */
function notifyRuleArn(): string {
  return `arn:aws:events:${s.sb.region}:${s.sb.accountId}:rule/${PROJECT_EVENT_BUS_NAME}/${NOTIFICATION_RULE_PREFIX}audit-failed`;
}

async function nvcfCredentials(): Promise<
  { registryCredentialId: string; registryCredentialName: string }[]
> {
  const res = await fetch(`${s.sb.nvcfEndpoint}/v2/nvcf/registry-credentials`, {
    headers: { authorization: `Bearer ${s.sb.ngcApiKey}` },
  });
  return (
    (await res.json()) as {
      registryCredentials: { registryCredentialId: string; registryCredentialName: string }[];
    }
  ).registryCredentials;
}
