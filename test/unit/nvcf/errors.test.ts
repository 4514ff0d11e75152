import {
  apiErrorFor,
  backoffDelay,
  DEFAULT_RETRY,
  NvcfApiError,
  NvcfBadRequestError,
  NvcfConflictError,
  NvcfError,
  NvcfForbiddenError,
  NvcfNotFoundError,
  NvcfRateLimitError,
  NvcfServerError,
  NvcfUnauthorizedError,
  parseAwsError,
  parseRetryAfter,
  resolveRetry,
  scrubSecrets,
} from '@nvcf-ecr/nvcf';
import { describe, expect, it } from 'vitest';

describe('Function: parseAwsError', () => {
  it('reads the code and message of AWS JSON relayed by NVCF', () => {
    // The documented example (https://docs.nvidia.com/nvcf/third-party-registries).
    expect(
      parseAwsError(
        '{"__type":"UnrecognizedClientException","message":"The security token included in the request is invalid."}',
      ),
    ).toEqual({
      code: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
    });
  });

  it('drops a namespace prefix from __type', () => {
    expect(parseAwsError('{"__type":"com.amazonaws.ecr#ServerException","Message":"boom"}')).toEqual({
      code: 'ServerException',
      message: 'boom',
    });
  });

  it('returns undefined for NVCF’s own details', () => {
    expect(parseAwsError('Access Denied')).toBeUndefined();
    expect(parseAwsError('{"detail":"x"}')).toBeUndefined();
    expect(parseAwsError('{not json')).toBeUndefined();
    expect(parseAwsError(undefined)).toBeUndefined();
  });
});

describe('Function: scrubSecrets', () => {
  it('removes NGC keys, AWS secret keys, encoded credentials and authorization values', () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    const encoded = Buffer.from(`AKIAIOSFODNN7EXAMPLE:${secret}`).toString('base64');
    const text = `key nvapi-abcdefghijklmnop secret ${secret} value ${encoded} header Bearer abcdefghijkl`;
    expect(scrubSecrets(text)).toBe(
      'key nvapi-[redacted] secret [redacted] value [redacted] header Bearer [redacted]',
    );
  });

  it('keeps access key ids, UUIDs and hostnames readable', () => {
    const text =
      "Registry Credential '3fa85f64-5717-4562-b3fc-2c963f66afa6' AKIAIOSFODNN7EXAMPLE 123456789012.dkr.ecr.us-east-1.amazonaws.com";
    expect(scrubSecrets(text)).toBe(text);
  });
});

describe('Function: apiErrorFor', () => {
  const init = (status: number) => ({
    method: 'GET',
    path: '/v2/nvcf/registry-credentials',
    status,
    problem: { detail: 'd', title: 't' },
  });

  it('maps each status to its class under NvcfApiError and NvcfError', () => {
    const cases: [number, new (...a: never[]) => NvcfApiError][] = [
      [400, NvcfBadRequestError],
      [401, NvcfUnauthorizedError],
      [403, NvcfForbiddenError],
      [404, NvcfNotFoundError],
      [409, NvcfConflictError],
      [429, NvcfRateLimitError],
      [502, NvcfServerError],
      [503, NvcfServerError],
    ];
    for (const [status, cls] of cases) {
      const err = apiErrorFor(init(status));
      expect(err).toBeInstanceOf(cls);
      expect(err).toBeInstanceOf(NvcfApiError);
      expect(err).toBeInstanceOf(NvcfError);
      expect(err.name).toBe(cls.name);
      expect(err.status).toBe(status);
    }
  });

  it('uses the base class for other statuses and names method, path, status and detail', () => {
    const err = apiErrorFor({
      ...init(415),
      problem: { title: 'Unsupported Media Type', detail: "Content-Type 'text/plain' is not supported." },
    });
    expect(err.name).toBe('NvcfApiError');
    expect(err.message).toBe(
      "NVCF GET /v2/nvcf/registry-credentials failed with 415 Unsupported Media Type: Content-Type 'text/plain' is not supported.",
    );
  });
});

describe('Function: backoffDelay', () => {
  const options = { ...DEFAULT_RETRY, baseDelayMs: 100, maxDelayMs: 1000 };

  it('draws from [0, base × 2^(retry−1)) with full jitter', () => {
    expect(backoffDelay(1, options, () => 0)).toBe(0);
    expect(backoffDelay(1, options, () => 0.5)).toBe(50);
    expect(backoffDelay(2, options, () => 0.5)).toBe(100);
    expect(backoffDelay(3, options, () => 0.5)).toBe(200);
  });

  it('never exceeds maxDelayMs', () => {
    expect(backoffDelay(20, options, () => 0.999)).toBe(999);
  });
});

describe('Function: parseRetryAfter', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');

  it('reads delta-seconds', () => {
    expect(parseRetryAfter('7', now)).toBe(7000);
  });

  it('reads an HTTP date relative to now, never negative', () => {
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:00:00 GMT', now)).toBe(0);
  });

  it('ignores absent or unreadable values', () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});

describe('Function: resolveRetry', () => {
  it('fills the defaults', () => {
    expect(resolveRetry({ maxAttempts: 2 })).toEqual({ ...DEFAULT_RETRY, maxAttempts: 2 });
  });

  it('rejects negative numbers naming the member', () => {
    expect(() => resolveRetry({ maxDelayMs: -1 })).toThrow(
      new RangeError('retry.maxDelayMs must be a non-negative number, got -1'),
    );
  });
});
