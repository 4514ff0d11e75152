import { CreateAccessKeyCommand, CreateUserCommand, UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { RunningSandbox } from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clients, control, rejection, withSandbox } from '../../helpers/sandbox.ts';

/** SigV4 authentication: every failure answers with the error AWS gives for it (`aws.md` §2.8). */
describe('Sandbox: request authentication', () => {
  let sb: RunningSandbox;
  let admin: ReturnType<typeof clients>;

  beforeAll(async () => {
    sb = await withSandbox({ keyPropagationSeconds: 10 });
    admin = clients(sb);
  });
  afterAll(() => sb.close());
  beforeEach(() => control(sb, 'POST', 'reset'));

  async function newKey(): Promise<{ accessKeyId: string; secretAccessKey: string }> {
    await admin.iam.send(new CreateUserCommand({ UserName: 'puller' }));
    const { AccessKey } = await admin.iam.send(new CreateAccessKeyCommand({ UserName: 'puller' }));
    return { accessKeyId: AccessKey?.AccessKeyId ?? '', secretAccessKey: AccessKey?.SecretAccessKey ?? '' };
  }

  const sts = (credentials: { accessKeyId: string; secretAccessKey: string }, extra: object = {}) =>
    new STSClient({ region: sb.region, endpoint: sb.awsEndpoint, credentials, maxAttempts: 1, ...extra });

  it('accepts the admin key printed at start', async () => {
    const id = await admin.sts.send(new GetCallerIdentityCommand({}));
    expect(id.Arn).toBe(`arn:aws:iam::${sb.accountId}:root`);
  });

  it('rejects an access key the sandbox never issued with InvalidClientTokenId (403)', async () => {
    const err = await rejection(
      sts({
        accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
        secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      }).send(new GetCallerIdentityCommand({})),
    );
    expect(err.name).toBe('InvalidClientTokenId');
    expect(err.$metadata?.httpStatusCode).toBe(403);
    expect(err.message).toBe('The security token included in the request is invalid.');
  });

  it('rejects a new key until the propagation delay has passed on the virtual clock', async () => {
    const key = await newKey();
    const early = await rejection(sts(key).send(new GetCallerIdentityCommand({})));
    expect(early.name).toBe('InvalidClientTokenId');
    await control(sb, 'POST', 'clock', { advanceSeconds: 10 });
    const id = await sts(key).send(new GetCallerIdentityCommand({}));
    expect(id.Arn).toBe(`arn:aws:iam::${sb.accountId}:user/puller`);
  });

  it('rejects a wrong secret with SignatureDoesNotMatch (403)', async () => {
    const key = await newKey();
    await control(sb, 'POST', 'clock', { advanceSeconds: 10 });
    const err = await rejection(
      sts({ ...key, secretAccessKey: `${key.secretAccessKey.slice(0, -1)}X` }).send(
        new GetCallerIdentityCommand({}),
      ),
    );
    expect(err.name).toBe('SignatureDoesNotMatch');
    expect(err.$metadata?.httpStatusCode).toBe(403);
    expect(err.message).toMatch(
      /^The request signature we calculated does not match the signature you provided/,
    );
  });

  it('rejects an inactive key exactly like an unknown one', async () => {
    const key = await newKey();
    await control(sb, 'POST', 'clock', { advanceSeconds: 10 });
    await admin.iam.send(
      new UpdateAccessKeyCommand({ UserName: 'puller', AccessKeyId: key.accessKeyId, Status: 'Inactive' }),
    );
    const err = await rejection(sts(key).send(new GetCallerIdentityCommand({})));
    expect(err.name).toBe('InvalidClientTokenId');
    expect(err.message).toBe('The security token included in the request is invalid.');
  });

  it('rejects a request signed with a clock 20 minutes off (signature expired)', async () => {
    const err = await rejection(
      sts(
        { accessKeyId: sb.accessKeyId, secretAccessKey: sb.secretAccessKey },
        { systemClockOffset: -20 * 60 * 1000 },
      ).send(new GetCallerIdentityCommand({})),
    );
    expect(err.name).toBe('SignatureDoesNotMatch');
    expect(err.message).toMatch(
      /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)$/,
    );
  });

  it('answers an unsigned Query request with MissingAuthenticationToken and never crashes', async () => {
    const res = await fetch(sb.awsEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
    });
    expect(res.status).toBe(403);
    const body = await res.text();
    expect(body).toContain('<Code>MissingAuthenticationToken</Code>');
    expect(body).toContain('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">');
  });

  it('answers a malformed Authorization header with IncompleteSignature', async () => {
    const res = await fetch(sb.awsEndpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: 'AWS4-HMAC-SHA256 garbage',
        'x-amz-date': '20260101T000000Z',
      },
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('<Code>IncompleteSignature</Code>');
  });

  it('answers an unknown Query version with InvalidAction', async () => {
    const res = await fetch(sb.awsEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=Nope&Version=1999-01-01',
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('<Code>InvalidAction</Code>');
  });

  it('answers an unknown X-Amz-Target with UnknownOperationException', async () => {
    const res = await fetch(sb.awsEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'NoSuchService_2020.DoThing' },
      body: '{}',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { __type: string }).__type).toBe('UnknownOperationException');
  });

  it('survives garbage bodies, methods and paths', async () => {
    const attempts = [
      fetch(sb.awsEndpoint, { method: 'POST', headers: { 'x-amz-target': 'x' }, body: '\u0000\u0001\u0002' }),
      fetch(`${sb.awsEndpoint}/%ff%fe/../../etc/passwd`, { method: 'GET' }),
      fetch(sb.awsEndpoint, {
        method: 'DELETE',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'Action=',
      }),
      fetch(`${sb.controlEndpoint}/_sandbox/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"service":',
      }),
    ];
    for (const res of await Promise.all(attempts)) expect(res.status).toBeGreaterThanOrEqual(400);
    const id = await admin.sts.send(new GetCallerIdentityCommand({}));
    expect(id.Account).toBe(sb.accountId);
  });
});
