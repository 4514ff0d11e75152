import { Sha256 } from '@aws-crypto/sha256-js';
import { DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  GetAccessKeyLastUsedCommand,
  IAMClient,
  ListUsersCommand,
  PutUserPolicyCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { RunningSandbox } from '@nvcf-ecr/sandbox';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clients, control, rejection, withSandbox } from '../../helpers/sandbox.ts';

/**
 * SigV4 authentication: every failure answers with the error AWS gives for it (sources: the sandbox's
 * `scopeRefusal` in `packages/sandbox/src/server/aws.ts`).
 */
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

  it('logs a call refused before it reached the service as refused, and fault rules neither see nor count it', async () => {
    const key = await newKey();
    const seen: { operation: string; refused?: boolean; fault: boolean }[] = [];
    const off = sb.onCall((c) => {
      if (c.service === 'sts') seen.push({ operation: c.operation, refused: c.refused, fault: c.fault });
    });
    try {
      // The first STS call that reaches the service fails; the refused one before it is not counted.
      await control(sb, 'POST', 'faults', {
        service: 'sts',
        operation: 'GetCallerIdentity',
        error: { status: 400, code: 'InjectedFailure', message: 'injected' },
      });
      expect((await rejection(sts(key).send(new GetCallerIdentityCommand({})))).name).toBe(
        'InvalidClientTokenId',
      );
      await control(sb, 'POST', 'clock', { advanceSeconds: 10 });
      expect((await rejection(sts(key).send(new GetCallerIdentityCommand({})))).name).toBe('InjectedFailure');
    } finally {
      off();
    }
    expect(seen).toEqual([
      { operation: 'GetCallerIdentity', refused: true, fault: false },
      { operation: 'GetCallerIdentity', refused: undefined, fault: true },
    ]);
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

  /**
   * The credential scope and the signed headers are checked against the endpoint, as AWS does: a signature
   * that verifies is still refused when it was made for another service or a region the endpoint does not
   * serve, when it does not cover `Host`, or when it carries a session token (the sandbox issues none).
   */
  describe('credential scope, signed headers and session tokens', () => {
    const ADMIN = () => ({ accessKeyId: sb.accessKeyId, secretAccessKey: sb.secretAccessKey });

    type Kind = 'ecr' | 'sts' | 's3';
    /** The request of each protocol: ECR DescribeRepositories (JSON), STS GetCallerIdentity (Query), S3 ListBuckets. */
    const REQUESTS: Record<Kind, { method: string; headers: Record<string, string>; body?: string }> = {
      ecr: {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': 'AmazonEC2ContainerRegistry_V20150921.DescribeRepositories',
        },
        body: '{}',
      },
      sts: {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'Action=GetCallerIdentity&Version=2011-06-15',
      },
      s3: { method: 'GET', headers: {} },
    };

    /** Signs one request by hand with the SDK's signer, with the service, region and headers given. */
    async function handSigned(
      kind: Kind,
      options: { service: string; region?: string; signHost?: boolean; sessionToken?: string },
    ): Promise<{ status: number; text: string }> {
      const url = new URL(sb.awsEndpoint);
      const { method, headers, body } = REQUESTS[kind];
      const signer = new SignatureV4({
        credentials: { ...ADMIN(), ...(options.sessionToken ? { sessionToken: options.sessionToken } : {}) },
        region: options.region ?? sb.region,
        service: options.service,
        sha256: Sha256,
        uriEscapePath: kind !== 's3',
      });
      const signed = await signer.sign(
        new HttpRequest({
          method,
          protocol: 'http:',
          hostname: url.hostname,
          port: Number(url.port),
          path: '/',
          headers: { ...(options.signHost === false ? {} : { host: url.host }), ...headers },
          ...(body === undefined ? {} : { body }),
        }),
      );
      // fetch sends its own Host header: whether it is signed is what SignedHeaders says.
      const { host: _host, ...send } = signed.headers;
      const res = await fetch(`${sb.awsEndpoint}/`, { method, headers: send, body });
      return { status: res.status, text: await res.text() };
    }

    const jsonError = (text: string) => JSON.parse(text) as { __type: string; message: string };
    const xmlError = (text: string) => ({
      code: /<Code>([^<]*)<\/Code>/.exec(text)?.[1],
      message: /<Message>([^<]*)<\/Message>/
        .exec(text)?.[1]
        ?.replaceAll('&apos;', "'")
        .replaceAll('&quot;', '"'),
    });

    it('refuses a JSON request signed for another service with InvalidSignatureException (400)', async () => {
      for (const service of ['sts', 'foo']) {
        const res = await handSigned('ecr', { service });
        expect(res.status).toBe(400);
        expect(jsonError(res.text)).toEqual({
          __type: 'InvalidSignatureException',
          message: "Credential should be scoped to correct service: 'ecr'. ",
        });
      }
    });

    it('refuses a Query request signed for another service with SignatureDoesNotMatch (403)', async () => {
      const res = await handSigned('sts', { service: 'iam' });
      expect(res.status).toBe(403);
      expect(xmlError(res.text)).toEqual({
        code: 'SignatureDoesNotMatch',
        message: "Credential should be scoped to correct service: 'sts'. ",
      });
    });

    it('refuses an S3 request signed for another service with AuthorizationHeaderMalformed (400)', async () => {
      const res = await handSigned('s3', { service: 'ecr' });
      expect(res.status).toBe(400);
      expect(xmlError(res.text)).toEqual({
        code: 'AuthorizationHeaderMalformed',
        message:
          'The authorization header is malformed; incorrect service "ecr". This endpoint belongs to "s3".',
      });
    });

    it('refuses a region AWS does not have, in each protocol’s error', async () => {
      const moon = clients(sb, { region: 'moon-base-1' });
      const ecr = await rejection(moon.ecr.send(new DescribeRepositoriesCommand({})));
      expect(ecr.name).toBe('InvalidSignatureException');
      expect(ecr.$metadata?.httpStatusCode).toBe(400);
      expect(ecr.message).toBe("Credential should be scoped to a valid region, not 'moon-base-1'. ");
      const sts = await rejection(moon.sts.send(new GetCallerIdentityCommand({})));
      expect(sts.name).toBe('SignatureDoesNotMatch');
      expect(sts.$metadata?.httpStatusCode).toBe(403);
      expect(sts.message).toBe("Credential should be scoped to a valid region, not 'moon-base-1'. ");
      const s3 = await rejection(moon.s3.send(new ListBucketsCommand({})));
      expect(s3.name).toBe('AuthorizationHeaderMalformed');
      expect(s3.$metadata?.httpStatusCode).toBe(400);
      expect(s3.message).toBe(
        `The authorization header is malformed; the region 'moon-base-1' is wrong; expecting '${sb.region}'`,
      );
    });

    it('refuses a region of another partition than the sandbox’s', async () => {
      const err = await rejection(
        clients(sb, { region: 'cn-north-1' }).ecr.send(new DescribeRepositoriesCommand({})),
      );
      expect(err.name).toBe('InvalidSignatureException');
      expect(err.message).toBe("Credential should be scoped to a valid region, not 'cn-north-1'. ");
    });

    it('refuses IAM signed for any region but us-east-1 (its global endpoint signs for us-east-1)', async () => {
      const west = new IAMClient({
        region: 'us-west-2',
        endpoint: sb.awsEndpoint,
        credentials: ADMIN(),
        maxAttempts: 1,
      });
      const err = await rejection(west.send(new ListUsersCommand({})));
      expect(err.name).toBe('SignatureDoesNotMatch');
      expect(err.$metadata?.httpStatusCode).toBe(403);
      expect(err.message).toBe("Credential should be scoped to a valid region, not 'us-west-2'. ");
      await expect(admin.iam.send(new ListUsersCommand({}))).resolves.toMatchObject({ Users: [] });
    });

    it('refuses a signature that does not cover Host', async () => {
      const json = await handSigned('ecr', { service: 'ecr', signHost: false });
      expect(json.status).toBe(400);
      expect(jsonError(json.text)).toEqual({
        __type: 'InvalidSignatureException',
        message: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
      });
      const query = await handSigned('sts', { service: 'sts', signHost: false });
      expect(query.status).toBe(403);
      expect(xmlError(query.text)).toEqual({
        code: 'SignatureDoesNotMatch',
        message: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
      });
      const s3 = await handSigned('s3', { service: 's3', signHost: false });
      expect(s3.status).toBe(403);
      expect(xmlError(s3.text)).toEqual({
        code: 'AccessDenied',
        message: 'There were headers present in the request which were not signed',
      });
      expect(s3.text).toContain('<HeadersNotSigned>host</HeadersNotSigned>');
    });

    it('refuses presigned S3 URLs scoped to another service or region, or carrying a session token', async () => {
      const url = new URL(sb.awsEndpoint);
      const presigned = async (service: string, region: string, sessionToken?: string) => {
        const signer = new SignatureV4({
          credentials: { ...ADMIN(), ...(sessionToken ? { sessionToken } : {}) },
          region,
          service,
          sha256: Sha256,
          uriEscapePath: false,
        });
        const out = await signer.presign(
          new HttpRequest({
            method: 'GET',
            protocol: 'http:',
            hostname: url.hostname,
            port: Number(url.port),
            path: '/',
            headers: { host: url.host },
          }),
          { expiresIn: 300 },
        );
        const target = new URL('/', sb.awsEndpoint);
        for (const [k, v] of Object.entries(out.query ?? {})) target.searchParams.set(k, String(v));
        const res = await fetch(target);
        return { status: res.status, text: await res.text() };
      };
      expect((await presigned('s3', sb.region)).status).toBe(200);
      const service = await presigned('ecr', sb.region);
      expect(service.status).toBe(400);
      expect(xmlError(service.text)).toEqual({
        code: 'AuthorizationQueryParametersError',
        message:
          'Error parsing the X-Amz-Credential parameter; incorrect service "ecr". This endpoint belongs to "s3".',
      });
      const region = await presigned('s3', 'moon-base-1');
      expect(region.status).toBe(400);
      expect(xmlError(region.text)).toEqual({
        code: 'AuthorizationQueryParametersError',
        message: `Error parsing the X-Amz-Credential parameter; the region 'moon-base-1' is wrong; expecting '${sb.region}'`,
      });
      expect(region.text).toContain(`<Region>${sb.region}</Region>`);
      const token = await presigned('s3', sb.region, 'made-up-session-token');
      expect(token.status).toBe(400);
      expect(xmlError(token.text)).toEqual({
        code: 'InvalidToken',
        message: 'The provided token is malformed or otherwise invalid.',
      });
    });

    it('still accepts the same hand-signed requests when scope and headers are right', async () => {
      const json = await handSigned('ecr', { service: 'ecr' });
      expect(json.status).toBe(200);
      expect(jsonError(json.text)).toHaveProperty('repositories');
      expect((await handSigned('sts', { service: 'sts' })).status).toBe(200);
      expect((await handSigned('s3', { service: 's3' })).status).toBe(200);
    });

    it('answers a session token as an invalid token: the sandbox issues no temporary credentials', async () => {
      const credentials = { ...ADMIN(), sessionToken: 'FwoGZXIvYXdzEMadeUpSessionToken' };
      const config = { region: sb.region, endpoint: sb.awsEndpoint, credentials, maxAttempts: 1 };
      const ecr = await rejection(new ECRClient(config).send(new DescribeRepositoriesCommand({})));
      expect(ecr.name).toBe('UnrecognizedClientException');
      expect(ecr.$metadata?.httpStatusCode).toBe(400);
      expect(ecr.message).toBe('The security token included in the request is invalid.');
      const sts = await rejection(new STSClient(config).send(new GetCallerIdentityCommand({})));
      expect(sts.name).toBe('InvalidClientTokenId');
      expect(sts.$metadata?.httpStatusCode).toBe(403);
      expect(sts.message).toBe('The security token included in the request is invalid.');
      const s3 = await rejection(
        new S3Client({ ...config, forcePathStyle: true }).send(new ListBucketsCommand({})),
      );
      expect(s3.name).toBe('InvalidToken');
      expect(s3.$metadata?.httpStatusCode).toBe(400);
      expect(s3.message).toBe('The provided token is malformed or otherwise invalid.');
    });

    it('records a key’s last use only for accepted requests, under the service it was signed for', async () => {
      const key = await newKey();
      await admin.iam.send(
        new PutUserPolicyCommand({
          UserName: 'puller',
          PolicyName: 'describe',
          PolicyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 'ecr:DescribeRepositories', Resource: '*' }],
          }),
        }),
      );
      await control(sb, 'POST', 'clock', { advanceSeconds: 10 });
      const lastUsed = async () =>
        (await admin.iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: key.accessKeyId })))
          .AccessKeyLastUsed;
      const refused = [
        clients(sb, { credentials: key, region: 'moon-base-1' }).ecr.send(
          new DescribeRepositoriesCommand({}),
        ),
        new ECRClient({
          region: sb.region,
          endpoint: sb.awsEndpoint,
          credentials: { ...key, sessionToken: 'made-up' },
          maxAttempts: 1,
        }).send(new DescribeRepositoriesCommand({})),
      ];
      for (const call of refused) await rejection(call);
      expect(await lastUsed()).toEqual({ ServiceName: 'N/A', Region: 'N/A' });
      await clients(sb, { credentials: key }).ecr.send(new DescribeRepositoriesCommand({}));
      expect(await lastUsed()).toMatchObject({ ServiceName: 'ecr', Region: sb.region });
    });
  });
});
