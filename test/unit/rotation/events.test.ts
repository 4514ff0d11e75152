import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DETAIL_TYPES, EVENT_SOURCE } from '@nvcf-ecr/core/events';
import { createLogger, memorySink } from '@nvcf-ecr/core/log';
import { classifyNvcfFailure, type NvcfRegistryCredentialsPort } from '@nvcf-ecr/core/ports';
import { sdkEventBus } from '@nvcf-ecr/core/ports/sdk';
import {
  awsErrorKind,
  type CredentialRotatedDetail,
  credentialRotatedDetailSchema,
  eventReason,
  publishRotationEvent,
  rotationFailedDetailSchema,
  userNameOfArn,
} from '@nvcf-ecr/core/rotation';
import {
  NvcfBadRequestError,
  NvcfClient,
  NvcfConflictError,
  NvcfNetworkError,
  NvcfNotFoundError,
  NvcfRateLimitError,
  NvcfServerError,
  NvcfTimeoutError,
  NvcfUnauthorizedError,
} from '@nvcf-ecr/nvcf';
import { describe, expect, it } from 'vitest';

const rotated: CredentialRotatedDetail = {
  schemaVersion: 1,
  registry: 'prod',
  secretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:nvcf-ecr/prod/pull-key-AbCdEf',
  token: '0f1e2d3c-4b5a-4968-8776-655443322110',
  userName: 'nvcf-ecr-prod',
  registryHostname: '123456789012.dkr.ecr.us-east-1.amazonaws.com',
  credentialName: 'ecr-prod',
  nvcfCredentialId: '3fa85f64-5717-4562-b3fc-2c963f66afa6',
  accessKeyId: 'AKIA…MPLE',
  previousAccessKeyId: null,
  bootstrap: true,
  keyCreatedAt: '2026-01-01T00:00:00.000Z',
  graceEndsAt: null,
  rotatedAt: '2026-01-01T00:00:03.000Z',
};

describe('Schema: rotation event details', () => {
  it('accepts a Rotated detail with masked key ids', () => {
    expect(credentialRotatedDetailSchema.safeParse(rotated).success).toBe(true);
  });

  it('rejects an unmasked access key id', () => {
    const r = credentialRotatedDetailSchema.safeParse({ ...rotated, accessKeyId: 'AKIAIOSFODNN7EXAMPLE' });
    expect(r.error?.issues[0]?.message).toBe('must be a masked access key id (AKIA…WXYZ)');
  });

  it('rejects members it does not define (a detail is a contract)', () => {
    expect(credentialRotatedDetailSchema.safeParse({ ...rotated, secretAccessKey: 'x' }).success).toBe(false);
  });

  it('requires the Failed detail to say whether the current key works', () => {
    const failed = {
      schemaVersion: 1,
      registry: 'prod',
      secretId: rotated.secretId,
      token: rotated.token,
      step: 'setSecret',
      errorName: 'RotationError',
      reason: 'NVCF did not accept the new key',
      refused: false,
      currentAccessKeyId: 'AKIA…MPLE',
      currentKeyProblem: null,
      failedAt: '2026-01-01T00:00:00.000Z',
    };
    expect(rotationFailedDetailSchema.safeParse(failed).success).toBe(false);
    expect(rotationFailedDetailSchema.safeParse({ ...failed, currentKeyWorks: true }).success).toBe(true);
  });
});

describe('Function: publishRotationEvent', () => {
  function fakeBus(answer: unknown = { FailedEntryCount: 0, Entries: [{ EventId: 'e1' }] }) {
    const sent: { input: unknown }[] = [];
    const client = {
      send: async (command: { input: unknown }) => {
        sent.push(command);
        if (answer instanceof Error) throw answer;
        return answer;
      },
    } as unknown as EventBridgeClient;
    return { client: sdkEventBus(client), sent };
  }

  it('puts one entry on the project bus with the project source and the detail as JSON', async () => {
    const bus = fakeBus();
    const ok = await publishRotationEvent(
      { client: bus.client, busName: 'nvcf-ecr-autopilot' },
      DETAIL_TYPES.credentialRotated,
      rotated,
      createLogger({ sink: memorySink() }),
      [rotated.secretId],
    );
    expect(ok).toBe(true);
    expect(bus.sent.map((c) => c.input)).toEqual([
      {
        Entries: [
          {
            EventBusName: 'nvcf-ecr-autopilot',
            Source: EVENT_SOURCE,
            DetailType: 'NVCF Registry Credential Rotated',
            Detail: JSON.stringify(rotated),
            Resources: [rotated.secretId],
          },
        ],
      },
    ]);
  });

  it('does not publish a detail that breaks its schema, and logs why', async () => {
    const bus = fakeBus();
    const sink = memorySink();
    const ok = await publishRotationEvent(
      { client: bus.client, busName: 'b' },
      DETAIL_TYPES.credentialRotated,
      { ...rotated, accessKeyId: 'AKIAIOSFODNN7EXAMPLE' },
      createLogger({ sink }),
    );
    expect(ok).toBe(false);
    expect(bus.sent).toEqual([]);
    expect(sink.records[0]?.message).toBe('rotation event does not match its schema: not published');
  });

  it('reports a failed entry or a failed call as false instead of throwing', async () => {
    const logger = createLogger({ sink: memorySink() });
    const target = (b: ReturnType<typeof fakeBus>) => ({ client: b.client, busName: 'b' });
    const refused = fakeBus({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'ThrottlingException' }] });
    expect(await publishRotationEvent(target(refused), DETAIL_TYPES.credentialRotated, rotated, logger)).toBe(
      false,
    );
    const down = fakeBus(new Error('connect ECONNREFUSED'));
    expect(await publishRotationEvent(target(down), DETAIL_TYPES.credentialRotated, rotated, logger)).toBe(
      false,
    );
  });
});

describe('Function: eventReason', () => {
  it('scrubs secret-shaped text and keeps one line', () => {
    const reason = eventReason(
      'failed for AKIAIOSFODNN7EXAMPLE with wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\nat line 2',
    );
    expect(reason).toBe('failed for AKIA…MPLE with [redacted] at line 2');
  });
});

describe('Function: classifyNvcfFailure', () => {
  const init = (status: number, detail?: string) => ({
    method: 'PATCH',
    path: '/v2/nvcf/registry-credentials/x',
    status,
    problem: detail === undefined ? undefined : { detail },
  });

  it('reads NVCF’s relayed UnrecognizedClientException as a key IAM has not propagated yet', () => {
    const err = new NvcfBadRequestError(
      init(
        400,
        '{"__type":"UnrecognizedClientException","message":"The security token included in the request is invalid."}',
      ),
    );
    expect(classifyNvcfFailure(err)).toBe('key-not-propagated');
  });

  it('treats 429, 5xx and lost answers as transient, 409 and 404 as look-up-again, the rest as fatal', () => {
    expect(classifyNvcfFailure(new NvcfRateLimitError(init(429)))).toBe('transient');
    expect(classifyNvcfFailure(new NvcfServerError(init(502)))).toBe('transient');
    expect(classifyNvcfFailure(new NvcfNetworkError('POST', '/p', 'ECONNRESET'))).toBe('transient');
    expect(classifyNvcfFailure(new NvcfTimeoutError('POST', '/p', 10))).toBe('transient');
    expect(classifyNvcfFailure(new NvcfConflictError(init(409)))).toBe('conflict');
    expect(classifyNvcfFailure(new NvcfNotFoundError(init(404)))).toBe('not-found');
    expect(classifyNvcfFailure(new NvcfUnauthorizedError(init(401)))).toBe('fatal');
    expect(classifyNvcfFailure(new NvcfBadRequestError(init(400, 'Invalid request: bad secret')))).toBe(
      'fatal',
    );
    expect(classifyNvcfFailure(new Error('bug'))).toBe('fatal');
  });
});

describe('Port: NvcfRegistryCredentialsPort', () => {
  it('is satisfied by NvcfClient (checked by the compiler; the client is used through the port)', async () => {
    const calls: string[] = [];
    const client = new NvcfClient({
      baseUrl: 'https://nvcf.invalid',
      apiKey: async () => 'nvapi-test',
      fetch: async (url, init) => {
        calls.push(`${init?.method} ${String(url)}`);
        return new Response(JSON.stringify({ registryCredentials: [] }), { status: 200 });
      },
    });
    const port: NvcfRegistryCredentialsPort = client;
    expect(await port.findRegistryCredential('h', 'n')).toBeUndefined();
    expect(calls).toEqual(['GET https://nvcf.invalid/v2/nvcf/registry-credentials']);
  });
});

describe('Function: awsErrorKind', () => {
  const err = (name: string, status?: number) =>
    Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

  it('reads an unknown key as not propagated yet, on Query and JSON APIs alike', () => {
    expect(awsErrorKind(err('InvalidClientTokenId', 403))).toBe('not-propagated');
    expect(awsErrorKind(err('UnrecognizedClientException', 400))).toBe('not-propagated');
  });

  it('reads throttling and 5xx as transient, AccessDenied as denied, anything else as other', () => {
    expect(awsErrorKind(err('ThrottlingException', 400))).toBe('transient');
    expect(awsErrorKind(err('Whatever', 503))).toBe('transient');
    expect(awsErrorKind(err('AccessDeniedException', 400))).toBe('denied');
    expect(awsErrorKind(err('ValidationException', 400))).toBe('other');
  });
});

describe('Function: userNameOfArn', () => {
  it('returns the user name without its path', () => {
    expect(userNameOfArn('arn:aws:iam::123456789012:user/teams/nvcf-ecr-prod')).toBe('nvcf-ecr-prod');
    expect(userNameOfArn('arn:aws-us-gov:iam::123456789012:user/u')).toBe('u');
  });

  it('returns undefined for roles and the root', () => {
    expect(userNameOfArn('arn:aws:iam::123456789012:root')).toBeUndefined();
    expect(userNameOfArn('arn:aws:sts::123456789012:assumed-role/r/s')).toBeUndefined();
  });
});
