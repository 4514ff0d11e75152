import { RotationError } from '@nvcf-ecr/core/errors';
import { classifyNvcfFailure } from '@nvcf-ecr/core/ports';
import { awsErrorKind } from '@nvcf-ecr/core/rotation';
import { NvcfApiError } from '@nvcf-ecr/nvcf';
import { describe, expect, it } from 'vitest';

// What the rotation makes of AWS's and NVCF's answers: a key "not propagated yet" is recognised alike whether
// AWS answered the rotation directly or NVCF relays AWS's answer to its own check of the key, and whatever
// secret-shaped text an answer echoes never reaches a thrown error's message.

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const NGC_KEY = 'nvapi-abcdefghijklmnopqrstuvwxyz0123456789';

describe('Not-propagated answers, direct and relayed', () => {
  it.each([
    'InvalidClientTokenId',
    'UnrecognizedClientException',
    'InvalidAccessKeyId',
    'SignatureDoesNotMatch',
    'InvalidSignatureException',
  ])('reads %s as "not propagated yet" from AWS and from NVCF alike', (code) => {
    expect(awsErrorKind(Object.assign(new Error('no'), { name: code }))).toBe('not-propagated');
    expect(classifyNvcfFailure({ status: 400, awsErrorCode: code })).toBe('key-not-propagated');
  });

  it('keeps NVCF’s own 400s fatal', () => {
    expect(classifyNvcfFailure({ status: 400 })).toBe('fatal');
    expect(classifyNvcfFailure({ status: 400, awsErrorCode: 'AccessDeniedException' })).toBe('fatal');
  });
});

describe('Redaction of what answers echo', () => {
  it('scrubs secrets out of a RotationError’s message, keeping the key id masked', () => {
    const error = new RotationError(
      'setSecret',
      'arn:aws:secretsmanager:us-east-1:123456789012:secret:x',
      `NVCF refused AKIAIOSFODNN7EXAMPLE:${SECRET} with ${NGC_KEY}`,
    );
    expect(error.message).not.toContain(SECRET);
    expect(error.message).not.toContain(NGC_KEY);
    expect(error.message).not.toContain('AKIAIOSFODNN7EXAMPLE');
    expect(error.message).toContain('NVCF refused AKIA');
  });

  it('scrubs the gateway’s requestStatus.statusDescription in the message and on the error', () => {
    const error = new NvcfApiError({
      method: 'GET',
      path: '/v2/orgs/o/registry-credentials',
      status: 401,
      requestStatus: { statusCode: 'UNAUTHORIZED', statusDescription: `invalid key ${NGC_KEY}` },
    });
    expect(error.message).toContain('invalid key nvapi-[redacted]');
    expect(error.message).not.toContain(NGC_KEY);
    expect(JSON.stringify(error.requestStatus)).not.toContain(NGC_KEY);
  });
});
