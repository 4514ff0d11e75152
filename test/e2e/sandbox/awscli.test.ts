import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateEventBusCommand } from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand, HeadBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { minimalPullPolicy } from '@nvcf-ecr/core/iam';
import type { RunningSandbox } from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clients, rejection, withSandbox } from '../../helpers/sandbox.ts';

/**
 * Conformance with a second client: the AWS CLI (Debian's `awscli`), which builds and signs its requests with
 * botocore rather than the JavaScript SDK the project uses. Each command the READMEs show against an emulated
 * service runs here as an operator would type it (`aws --endpoint-url <awsEndpoint> ...`, credentials in the
 * environment, no configuration file) and its answer is checked — including the refusals the docs explain.
 * `aws lambda invoke`, `aws kms` and `aws cloudformation` are not emulated (packages/sandbox/README.md).
 */

const run = promisify(execFile);
const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:noop-rotation';

let sb: RunningSandbox;
let dir: string;

interface Outcome {
  code: number;
  json: Record<string, unknown> & { [k: string]: unknown };
  stdout: string;
  stderr: string;
}

/** Runs `aws <args>` against the sandbox with the sandbox's admin key (or `key`), JSON output. */
async function aws(args: string[], key?: { accessKeyId: string; secretAccessKey: string }): Promise<Outcome> {
  const env = {
    // Debian's awscli (/usr/bin/aws, what CI installs) before any other on the PATH.
    PATH: `/usr/bin:/bin:${process.env['PATH'] ?? ''}`,
    HOME: dir,
    AWS_ACCESS_KEY_ID: key?.accessKeyId ?? sb.accessKeyId,
    AWS_SECRET_ACCESS_KEY: key?.secretAccessKey ?? sb.secretAccessKey,
    AWS_DEFAULT_REGION: sb.region,
    AWS_CONFIG_FILE: join(dir, 'none'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
  };
  try {
    const { stdout, stderr } = await run(
      'aws',
      ['--endpoint-url', sb.awsEndpoint, '--output', 'json', ...args],
      {
        env,
        timeout: 60_000,
      },
    );
    return { code: 0, json: stdout.trim().startsWith('{') ? JSON.parse(stdout) : {}, stdout, stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') {
      throw new Error(
        "the AWS CLI ('aws') is not installed: install Debian's awscli (apt-get install awscli)",
      );
    }
    return {
      code: typeof e.code === 'number' ? e.code : -1,
      json: {},
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? '',
    };
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nvcf-ecr-awscli-'));
  sb = await withSandbox();
  // A rotation function that does nothing: every rotation it runs stays pending, as a failed one does.
  sb.lambda.register({
    arn: FUNCTION_ARN,
    name: 'noop-rotation',
    timeoutSeconds: 30,
    memoryMb: 128,
    handler: async () => undefined,
  });
});
afterAll(async () => {
  await sb?.close();
  await rm(dir, { recursive: true, force: true });
});

/** The sandbox's Secrets Manager state (the control plane's view). */
interface SecretView {
  name: string;
  versions: { versionId: string; stages: string[]; secretString?: string }[];
}
const secrets = () =>
  (sb.modules.find((m) => m.name === 'secretsmanager')?.inspect() as { secrets: SecretView[] } | undefined)
    ?.secrets ?? [];
const secret = () => secrets().find((x) => x.name === 'nvcf-ecr/ngc-api-key') as SecretView;

// Each test drives its own resources: they run side by side, since every CLI start costs a second or more (a
// Python start-up: about 1 s on an idle machine, tens of seconds on a saturated one — hence the long timeout).
describe.concurrent('AWS CLI against the sandbox', { timeout: 600_000 }, () => {
  it('sts get-caller-identity names the account root', async () => {
    const out = await aws(['sts', 'get-caller-identity']);
    expect(out.json).toMatchObject({ Account: sb.accountId, Arn: `arn:aws:iam::${sb.accountId}:root` });
  });

  it('iam: the pull user’s lifecycle — put-user-policy, create/list/update/delete-access-key, delete-user-policy, delete-user', async () => {
    expect((await aws(['iam', 'create-user', '--user-name', 'nvcf-pull'])).code).toBe(0);
    const policy = minimalPullPolicy({
      kind: 'private',
      partition: 'aws',
      region: sb.region,
      accountId: sb.accountId,
      repositories: ['inference'],
    });
    const policyFile = join(dir, 'policy.json');
    await writeFile(policyFile, JSON.stringify(policy));
    expect(
      (
        await aws([
          'iam',
          'put-user-policy',
          '--user-name',
          'nvcf-pull',
          '--policy-name',
          'nvcf-ecr-pull',
          '--policy-document',
          `file://${policyFile}`,
        ])
      ).code,
    ).toBe(0);
    const created = (await aws(['iam', 'create-access-key', '--user-name', 'nvcf-pull'])).json[
      'AccessKey'
    ] as {
      AccessKeyId: string;
      SecretAccessKey: string;
      Status: string;
    };
    expect(created.Status).toBe('Active');
    const listed = (await aws(['iam', 'list-access-keys', '--user-name', 'nvcf-pull'])).json;
    expect(listed['AccessKeyMetadata']).toEqual([
      expect.objectContaining({ UserName: 'nvcf-pull', AccessKeyId: created.AccessKeyId, Status: 'Active' }),
    ]);
    // The pull key works with the CLI too, and only for what its policy allows.
    const key = { accessKeyId: created.AccessKeyId, secretAccessKey: created.SecretAccessKey };
    expect((await aws(['ecr', 'get-login-password'], key)).stdout.length).toBeGreaterThan(20);

    const args = ['--user-name', 'nvcf-pull', '--access-key-id', created.AccessKeyId];
    expect((await aws(['iam', 'update-access-key', ...args, '--status', 'Inactive'])).code).toBe(0);
    const inactive = await aws(['sts', 'get-caller-identity'], key);
    expect(inactive.stderr).toContain(
      'An error occurred (InvalidClientTokenId) when calling the GetCallerIdentity operation: The security token included in the request is invalid.',
    );
    expect((await aws(['iam', 'delete-access-key', ...args])).code).toBe(0);
    expect(
      (await aws(['iam', 'delete-user-policy', '--user-name', 'nvcf-pull', '--policy-name', 'nvcf-ecr-pull']))
        .code,
    ).toBe(0);
    expect((await aws(['iam', 'delete-user', '--user-name', 'nvcf-pull'])).code).toBe(0);
    expect(sb.world.iam.users.has('nvcf-pull')).toBe(false);
  });

  it('ecr get-login-password gives the password the registry accepts as user AWS', async () => {
    const password = (await aws(['ecr', 'get-login-password'])).stdout.trim();
    const basic = Buffer.from(`AWS:${password}`).toString('base64');
    const ok = await fetch(`${sb.registryEndpoint}/v2/`, { headers: { authorization: `Basic ${basic}` } });
    expect(ok.status).toBe(200);
    const wrong = Buffer.from(`AWS:${password.slice(0, -4)}AAAA`).toString('base64');
    expect(
      (await fetch(`${sb.registryEndpoint}/v2/`, { headers: { authorization: `Basic ${wrong}` } })).status,
    ).toBe(401);
  });

  it('secretsmanager: put-secret-value, rotate-secret, the stuck-rotation refusal and update-secret-version-stage, delete-secret', async () => {
    const created = await aws([
      'secretsmanager',
      'create-secret',
      '--name',
      'nvcf-ecr/ngc-api-key',
      '--secret-string',
      'old',
    ]);
    const initial = created.json['VersionId'] as string;
    const put = await aws([
      'secretsmanager',
      'put-secret-value',
      '--secret-id',
      'nvcf-ecr/ngc-api-key',
      '--secret-string',
      'nvapi-new',
    ]);
    expect(put.json).toMatchObject({ Name: 'nvcf-ecr/ngc-api-key', VersionStages: ['AWSCURRENT'] });
    expect(put.json['VersionId']).not.toBe(initial);
    expect(secret().versions.find((v) => v.stages.includes('AWSCURRENT'))?.secretString).toBe('nvapi-new');

    const rotate = [
      'secretsmanager',
      'rotate-secret',
      '--secret-id',
      'nvcf-ecr/ngc-api-key',
      '--rotation-lambda-arn',
      FUNCTION_ARN,
      '--rotation-rules',
      '{"ScheduleExpression":"rate(30 days)","Duration":"3h"}',
    ];
    const first = await aws(rotate);
    expect(first.code).toBe(0);
    const token = first.json['VersionId'] as string;
    await sb.settle();
    // The function moved nothing: the rotation is stuck, and Secrets Manager refuses another until it is cleared.
    const refused = await aws(rotate);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(
      "An error occurred (InvalidRequestException) when calling the RotateSecret operation: A previous rotation isn't complete. That rotation will be reattempted.",
    );
    const cleared = await aws([
      'secretsmanager',
      'update-secret-version-stage',
      '--secret-id',
      'nvcf-ecr/ngc-api-key',
      '--version-stage',
      'AWSPENDING',
      '--remove-from-version-id',
      token,
    ]);
    expect(cleared.code).toBe(0);
    const described = await aws(['secretsmanager', 'describe-secret', '--secret-id', 'nvcf-ecr/ngc-api-key']);
    expect(
      Object.values(described.json['VersionIdsToStages'] as Record<string, string[]>).flat(),
    ).not.toContain('AWSPENDING');
    expect((await aws(rotate)).code).toBe(0);
    await sb.settle();

    const deleted = await aws([
      'secretsmanager',
      'delete-secret',
      '--secret-id',
      'nvcf-ecr/ngc-api-key',
      '--force-delete-without-recovery',
    ]);
    expect(deleted.json).toMatchObject({ Name: 'nvcf-ecr/ngc-api-key' });
    expect(
      (await aws(['secretsmanager', 'describe-secret', '--secret-id', 'nvcf-ecr/ngc-api-key'])).stderr,
    ).toContain('(ResourceNotFoundException)');
  });

  it('events: put-rule and put-targets on a custom bus, test-event-pattern', async () => {
    await clients(sb).events.send(new CreateEventBusCommand({ Name: 'prod-nvcf-ecr-autopilot' }));
    const pattern = JSON.stringify({
      source: ['nvcf-ecr-autopilot'],
      'detail-type': ['Image Platform Validation Result'],
      detail: { compliant: [false] },
    });
    const rule = await aws([
      'events',
      'put-rule',
      '--event-bus-name',
      'prod-nvcf-ecr-autopilot',
      '--name',
      'gb200-missing-arm64',
      '--event-pattern',
      pattern,
    ]);
    expect(rule.json['RuleArn']).toBe(
      `arn:aws:events:${sb.region}:${sb.accountId}:rule/prod-nvcf-ecr-autopilot/gb200-missing-arm64`,
    );
    const targets = await aws([
      'events',
      'put-targets',
      '--event-bus-name',
      'prod-nvcf-ecr-autopilot',
      '--rule',
      'gb200-missing-arm64',
      '--targets',
      `Id=notify,Arn=arn:aws:sns:${sb.region}:${sb.accountId}:gb200-alerts`,
    ]);
    expect(targets.json).toMatchObject({ FailedEntryCount: 0 });
    const event = (compliant: boolean) =>
      JSON.stringify({
        id: '1',
        account: sb.accountId,
        source: 'nvcf-ecr-autopilot',
        time: '2026-01-01T00:00:00Z',
        region: sb.region,
        resources: [],
        'detail-type': 'Image Platform Validation Result',
        detail: { compliant },
      });
    const test = async (compliant: boolean) =>
      (await aws(['events', 'test-event-pattern', '--event-pattern', pattern, '--event', event(compliant)]))
        .json['Result'];
    const [missing, present] = await Promise.all([test(false), test(true)]);
    expect([missing, present]).toEqual([true, false]);
  });

  it('s3: cp, rb --force', async () => {
    const file = join(dir, 'report.json');
    await writeFile(file, '{"ok":true}');
    const s3 = clients(sb).s3;
    await s3.send(new CreateBucketCommand({ Bucket: 'nvcf-ecr-reports' }));
    const cp = await aws(['s3', 'cp', file, 's3://nvcf-ecr-reports/audit/report.json']);
    expect(cp.code).toBe(0);
    const ls = await s3.send(new ListObjectsV2Command({ Bucket: 'nvcf-ecr-reports' }));
    expect(ls.Contents).toEqual([expect.objectContaining({ Key: 'audit/report.json', Size: 11 })]);
    expect((await aws(['s3', 'rb', 's3://nvcf-ecr-reports', '--force'])).code).toBe(0);
    expect(
      (await rejection(s3.send(new HeadBucketCommand({ Bucket: 'nvcf-ecr-reports' })))).$metadata
        ?.httpStatusCode,
    ).toBe(404);
  });
});
