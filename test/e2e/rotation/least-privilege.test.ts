import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteUserPolicyCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
  UntagResourceCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { AuditReport } from '@nvcf-ecr/core/audit';
import { assertConfig, type Config, type RegistryConfig } from '@nvcf-ecr/core/config';
import {
  DETAIL_TYPES,
  FUNCTIONS,
  functionArn,
  PROJECT_EVENT_BUS_NAME,
  reportBucketName,
} from '@nvcf-ecr/core/events';
import { maskAccessKeyId } from '@nvcf-ecr/core/redact';
import { isKeyIdTagValue, KEY_ID_TAG_PREFIX, type RetirementPostponedDetail } from '@nvcf-ecr/core/rotation';
import type { LambdaHandler } from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAuditHandler } from '../../../functions/audit.ts';
import { fromSandboxEnvironment } from '../../../functions/lib/sandbox.ts';
import { createRetireKeysHandler } from '../../../functions/retire-keys.ts';
import { PERMISSIONS, type PermissionStatement } from '../../../stacks/lib/permissions.ts';
import { control, rejection } from '../../helpers/sandbox.ts';
import {
  advanceHours,
  expectNoSecretsLeaked,
  type Harness,
  handlerEnvironment,
  keyInStage,
  keysOf,
  projectEvents,
  retireFunctionArn,
  retireNow,
  rotate,
  rotationFunctionArn,
  secretOf,
  startHarness,
} from './harness.ts';

// The retirement and the audit run as their deployed roles do: IAM users of the sandbox holding exactly
// `PERMISSIONS.retireKeys` and `PERMISSIONS.audit` (stacks/lib/permissions.ts) for the sandbox's resources, so
// the sandbox authorises every call they make as AWS would. Neither may GetSecretValue a pull-key secret: they
// tell the keys apart by the stages and the key ids the rotation records per version
// (packages/core/src/rotation/key-ids.ts), also after an operator's rollback moved the stages by hand. On the
// `aws` profile.

const HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const GRACE = 24;
const config: Config = assertConfig({
  ngc: { apiKeySecretName: 'nvcf-ecr/ngc-api-key' },
  registries: [
    {
      name: 'prod',
      hostname: HOST,
      repositories: ['inference'],
      credentialName: 'ecr-prod',
      rotation: { schedule: 'rate(30 days)', graceHours: GRACE },
    },
  ],
});
const registry = config.registries[0] as RegistryConfig;

/** A role's statements as the identity policy IAM would store. */
function policyOf(statements: readonly PermissionStatement[]): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: statements.map((st) => ({
      Sid: st.sid,
      Effect: 'Allow',
      Action: st.actions,
      Resource: st.resources,
      ...(st.conditions ? { Condition: st.conditions } : {}),
    })),
  });
}

/**
 * An explicit Deny of the pull key's value: whatever a role's statements say, the code under test must work
 * without reading it (the first test removes it to show the statements alone deny it too).
 */
const GUARD = 'no-pull-key-value';

/** An IAM user standing in for a function's role (its statements, and {@link GUARD}); its key. */
async function roleUser(
  h: Harness,
  name: string,
  statements: readonly PermissionStatement[],
  pullKeySecretArns: readonly string[],
) {
  await h.aws.iam.send(new CreateUserCommand({ UserName: name }));
  await h.aws.iam.send(
    new PutUserPolicyCommand({ UserName: name, PolicyName: 'role', PolicyDocument: policyOf(statements) }),
  );
  const deny = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Deny', Action: 'secretsmanager:GetSecretValue', Resource: pullKeySecretArns }],
  };
  await h.aws.iam.send(
    new PutUserPolicyCommand({ UserName: name, PolicyName: GUARD, PolicyDocument: JSON.stringify(deny) }),
  );
  const key = (await h.aws.iam.send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey;
  return { userName: name, accessKeyId: key?.AccessKeyId ?? '', secretAccessKey: key?.SecretAccessKey ?? '' };
}

async function secretArn(h: Harness, name: string): Promise<string> {
  return (await h.aws.secrets.send(new DescribeSecretCommand({ SecretId: name }))).ARN ?? '';
}

/** Creates the role users and registers the retirement and the audit under their function names with them. */
async function wireLeastPrivilege(h: Harness) {
  const { sb } = h;
  const a = sb.accountId;
  const resources = {
    region: sb.region,
    registrySecretArns: [await secretArn(h, registry.secretName)],
    ngcSecretArn: await secretArn(h, config.ngc.apiKeySecretName),
    // The sandbox does not emulate KMS (its Secrets Manager encrypts nothing): the KMS statements are inert.
    secretsKeyArn: `arn:aws:kms:${sb.region}:${a}:key/00000000-0000-4000-8000-000000000000`,
    pullUserArns: [`arn:aws:iam::${a}:user/${registry.userName}`],
    eventBusArn: `arn:aws:events:${sb.region}:${a}:event-bus/${PROJECT_EVENT_BUS_NAME}`,
    rotationFunctionArn: rotationFunctionArn(sb),
  };
  const retireKey = await roleUser(
    h,
    'role-retire-keys',
    PERMISSIONS.retireKeys(resources),
    resources.registrySecretArns,
  );
  const auditKey = await roleUser(
    h,
    'role-audit',
    PERMISSIONS.audit({
      ...resources,
      secretsKeyAlias: 'alias/nvcf-ecr-secrets',
      partition: 'aws',
      account: a,
      privateRepositoryArns: [`arn:aws:ecr:${sb.region}:${a}:repository/inference`],
      publicRepositoryArns: [],
      reportBucketArn: `arn:aws:s3:::${reportBucketName(a, sb.region)}`,
    }),
    resources.registrySecretArns,
  );
  const env = ({ accessKeyId, secretAccessKey }: typeof retireKey) => ({
    ...fromSandboxEnvironment({
      ...handlerEnvironment(sb, config),
      credentials: { accessKeyId, secretAccessKey },
    }),
    reportBucket: reportBucketName(a, sb.region),
  });
  sb.lambda.register({
    arn: retireFunctionArn(sb),
    name: FUNCTIONS.retireKeys.name,
    handler: createRetireKeysHandler(env(retireKey)) as LambdaHandler,
    timeoutSeconds: FUNCTIONS.retireKeys.timeoutSeconds,
    memoryMb: FUNCTIONS.retireKeys.memoryMb,
  });
  sb.lambda.register({
    arn: functionArn('aws', sb.region, a, FUNCTIONS.audit.name),
    name: FUNCTIONS.audit.name,
    handler: createAuditHandler(env(auditKey)) as LambdaHandler,
    timeoutSeconds: FUNCTIONS.audit.timeoutSeconds,
    memoryMb: FUNCTIONS.audit.memoryMb,
  });
  return { retireKey, auditKey };
}

/** Runs the audit as its schedule does and reads its JSON report. */
async function audit(h: Harness): Promise<AuditReport> {
  const arn = functionArn('aws', h.sb.region, h.sb.accountId, FUNCTIONS.audit.name);
  const result = (await h.sb.lambda.invoke(arn, {})) as { reports: { bucket: string; json: string } };
  const object = await h.aws.s3.send(
    new GetObjectCommand({
      Bucket: result.reports.bucket,
      Key: result.reports.json,
    }),
  );
  return JSON.parse((await object.Body?.transformToString()) ?? '{}') as AuditReport;
}

const finding = (report: AuditReport, checkId: string) =>
  report.findings.filter((f) => f.checkId === checkId);

describe('Retirement and audit with roles that cannot read a pull key', () => {
  let h: Harness;
  let roles: Awaited<ReturnType<typeof wireLeastPrivilege>>;

  beforeAll(async () => {
    // The aws profile (IAM lists late and shows a use 4 h late, NVCF answers from its caches); the rotation's
    // own waits run on the virtual clock.
    h = await startHarness(config, {
      profile: 'aws',
      handlerKeys: ['rotateCredential'],
      rotation: {
        timing: { backoff: { initialDelayMs: 1_000, factor: 2, maxDelayMs: 8_000 } },
        virtualWaits: true,
      },
    });
  });
  afterAll(async () => {
    await expectNoSecretsLeaked(h);
    await h.close();
  });
  beforeEach(async () => {
    await control(h.sb, 'POST', 'reset');
    await h.sb.settle();
    roles = await wireLeastPrivilege(h);
  });

  it('cannot read the pull key, and still retires the previous key after its grace period', async () => {
    await rotate(h, registry);
    const previous = keyInStage(h.sb, registry, 'AWSPREVIOUS') as string;
    const current = keyInStage(h.sb, registry, 'AWSCURRENT') as string;
    await advanceHours(h.sb, GRACE + 2);
    // (The role users' keys have propagated by now: IAM's 10 s on the aws profile.)
    for (const key of [roles.retireKey, roles.auditKey]) {
      // The role's own statements deny it: without the guard too.
      await h.aws.iam.send(new DeleteUserPolicyCommand({ UserName: key.userName, PolicyName: GUARD }));
      const secrets = new SecretsManagerClient({
        region: h.sb.region,
        endpoint: h.sb.awsEndpoint,
        credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
        maxAttempts: 1,
      });
      const denied = await rejection(
        secrets.send(new GetSecretValueCommand({ SecretId: registry.secretName })),
      );
      expect(denied.name).toBe('AccessDeniedException');
      secrets.destroy();
    }
    const [outcome] = await retireNow(h);
    expect(outcome).toMatchObject({ action: 'retired', accessKeyId: maskAccessKeyId(previous) });
    const status = new Map(keysOf(h.sb, registry).map((k) => [k.accessKeyId, k.status]));
    expect(status.get(previous)).toBe('Inactive');
    expect(status.get(current)).toBe('Active');
  });

  it('after a manual rollback, keeps the key NVCF holds and names the keys by their versions', async () => {
    await rotate(h, registry);
    await advanceHours(h.sb, GRACE + 2);
    await rotate(h, registry);
    const held = keyInStage(h.sb, registry, 'AWSCURRENT') as string;
    const older = keyInStage(h.sb, registry, 'AWSPREVIOUS') as string;
    // The standard rollback: AWSCURRENT moved back by hand; NVCF still holds the newer key, now AWSPREVIOUS.
    const secret = secretOf(h.sb, registry);
    const byStage = (stage: string) => secret.versions.find((v) => v.stages.includes(stage))?.versionId;
    await h.aws.secrets.send(
      new UpdateSecretVersionStageCommand({
        SecretId: registry.secretName,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: byStage('AWSPREVIOUS'),
        RemoveFromVersionId: byStage('AWSCURRENT'),
      }),
    );
    expect(keyInStage(h.sb, registry, 'AWSCURRENT')).toBe(older);
    await advanceHours(h.sb, GRACE + 2);
    const [outcome] = await retireNow(h);
    expect(outcome).toMatchObject({ action: 'postponed', accessKeyId: maskAccessKeyId(held) });
    const [event] = await projectEvents<RetirementPostponedDetail>(h.sb, DETAIL_TYPES.retirementPostponed);
    expect(event).toMatchObject({
      cause: 'nvcf-not-updated',
      accessKeyId: maskAccessKeyId(held),
      currentAccessKeyId: maskAccessKeyId(older),
    });
    const status = new Map(keysOf(h.sb, registry).map((k) => [k.accessKeyId, k.status]));
    expect(status.get(held)).toBe('Active');
    expect(status.get(older)).toBe('Active');
    // The audit, without the value either, names the rolled-back key as AWSCURRENT and knows the other one.
    const report = await audit(h);
    const [matches] = finding(report, 'iam.key-matches-secret');
    expect(matches?.status).toBe('pass');
    expect(matches?.message).toContain(`The AWSCURRENT key ${maskAccessKeyId(older)} is`);
    expect(report.findings.filter((f) => f.status === 'error').map((f) => f.checkId)).toEqual([]);
  });

  it('audits green: the key checks judge the recorded key ids, before and after the retirement', async () => {
    await rotate(h, registry);
    await advanceHours(h.sb, GRACE + 2);
    await retireNow(h);
    const report = await audit(h);
    for (const id of ['iam.key-matches-secret', 'iam.access-key-count', 'nvcf.credential-current']) {
      const found = finding(report, id);
      expect(found.length, id).toBeGreaterThan(0);
      for (const f of found) expect(`${id}: ${f.status} ${f.message}`).toMatch(new RegExp(`^${id}: pass`));
    }
    // Nothing the audit judged failed for lack of access.
    expect(
      report.findings.filter((f) => f.status === 'error').map((f) => `${f.checkId}: ${f.message}`),
    ).toEqual([]);
  });

  it('a secret rotated before key ids were recorded: nothing deactivated, the audit says how to fix it, one rotation does', async () => {
    await rotate(h, registry);
    const old = keyInStage(h.sb, registry, 'AWSCURRENT') as string;
    // The state an earlier version of the rotation left: no key id tags.
    const recorded = secretOf(h.sb, registry).tags.filter((t) => t.Key.startsWith(KEY_ID_TAG_PREFIX));
    expect(recorded.length).toBeGreaterThan(0);
    await h.aws.secrets.send(
      new UntagResourceCommand({ SecretId: registry.secretName, TagKeys: recorded.map((t) => t.Key) }),
    );
    await advanceHours(h.sb, GRACE + 2);
    const [blocked] = await retireNow(h);
    expect(blocked).toMatchObject({ action: 'postponed' });
    expect(blocked?.reason).toContain("Rotate once to record key ids ('nvcf-ecr rotate prod')");
    expect(keysOf(h.sb, registry).every((k) => k.status === 'Active')).toBe(true);
    const [matches] = finding(await audit(h), 'iam.key-matches-secret');
    expect(matches).toMatchObject({ status: 'fail' });
    expect(matches?.remediation).toContain('Rotate once to record key ids');

    // The next rotation records the new key and backfills the one it replaces: the retirement then knows both.
    await rotate(h, registry);
    expect(keyInStage(h.sb, registry, 'AWSPREVIOUS')).toBe(old);
    await advanceHours(h.sb, GRACE + 2);
    const [outcome] = await retireNow(h);
    expect(outcome).toMatchObject({ action: 'retired', accessKeyId: maskAccessKeyId(old) });
    const [green] = finding(await audit(h), 'iam.key-matches-secret');
    expect(green?.status).toBe('pass');
  });

  it('records nothing but key ids in the version tags, and keeps only labelled versions', async () => {
    for (let i = 0; i < 4; i++) {
      await rotate(h, registry);
      await advanceHours(h.sb, GRACE + 2);
      await retireNow(h);
    }
    const secret = secretOf(h.sb, registry);
    const recorded = secret.tags.filter((t) => t.Key.startsWith(KEY_ID_TAG_PREFIX));
    for (const t of recorded) expect(isKeyIdTagValue(t.Value), t.Value).toBe(true);
    const issuedIds = new Set(h.issued.keys());
    for (const t of recorded) if (t.Value !== 'none') expect(issuedIds.has(t.Value)).toBe(true);
    // No tag holds any secret access key the sandbox issued.
    const secretsIssued = [...h.issued.values()];
    for (const t of secret.tags) for (const s of secretsIssued) expect(t.Value).not.toContain(s);
    const labelled = secret.versions.filter((v) => v.stages.length > 0).map((v) => v.versionId);
    expect(recorded.map((t) => t.Key.slice(KEY_ID_TAG_PREFIX.length)).sort()).toEqual(
      expect.arrayContaining(labelled.filter((v) => v !== undefined)),
    );
    // Pruned: at most the labelled versions (AWSCURRENT and AWSPREVIOUS after a finished rotation, plus the one
    // that lost its label in the last finishSecret), never one per rotation.
    expect(recorded.length).toBeLessThanOrEqual(labelled.length + 1);
  });
});
