import { encodeRegistrySecret } from '@nvcf-ecr/core/credential';
import { createLogger, jsonLineSink, memorySink } from '@nvcf-ecr/core/log';
import { maskAccessKeyId, maskSecret, redact, redactString } from '@nvcf-ecr/core/redact';
import { describe, expect, it } from 'vitest';

// Every secret shape the system handles (invariant 5, packages/core/src/rotation/README.md, "Invariants"): none may
// survive redaction.
const KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const CREDENTIAL = encodeRegistrySecret({ accessKeyId: KEY_ID, secretAccessKey: SECRET });
// base64 of "AWS:<password>", the shape of ECR's authorizationToken
// (https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry_auth.html), computed with base64(1).
const ECR_TOKEN = 'QVdTOmV5SndZWGxzYjJGa0lqb2lZV0pqWkdWbVoyaHBhbXRzYlc1dmNDSjk=';
const NGC_KEY = 'nvapi-abcdefghijklmnopqrstuvwxyz0123456789_-ABCDEFGH';
const TEMP_CREDENTIAL = Buffer.from(`ASIAIOSFODNN7EXAMPLE:${SECRET}`).toString('base64');

describe('Function: maskAccessKeyId', () => {
  it('keeps the prefix and the last four characters', () => {
    expect(maskAccessKeyId(KEY_ID)).toBe('AKIA…MPLE');
  });

  it('masks short input completely', () => {
    expect(maskAccessKeyId('AKIA1234')).toBe('****');
  });
});

describe('Function: maskSecret', () => {
  it('shows the length only', () => {
    expect(maskSecret(SECRET)).toBe('[secret: 40 chars]');
  });
});

describe('Function: redactString', () => {
  it.each([
    ['a secret access key', `secret=${SECRET} done`, SECRET],
    ['a base64 registry credential', `value ${CREDENTIAL}`, CREDENTIAL.slice(0, 30)],
    ['a base64 credential of a temporary key', `value ${TEMP_CREDENTIAL}`, TEMP_CREDENTIAL.slice(0, 30)],
    ['an ECR authorization token', `token ${ECR_TOKEN}`, ECR_TOKEN.slice(0, 30)],
    ['an NGC API key', `key ${NGC_KEY}`, NGC_KEY.slice(6, 20)],
    ['a Basic authorization header', `Authorization: Basic ${ECR_TOKEN}`, ECR_TOKEN.slice(0, 30)],
    ['a Bearer authorization header', `Authorization: Bearer ${NGC_KEY}`, NGC_KEY.slice(6, 20)],
  ])('scrubs %s', (_shape, text, secretPart) => {
    const out = redactString(text);
    expect(out).not.toContain(secretPart);
    expect(out).toContain('redacted');
  });

  it('masks access key ids as AKIA…WXYZ rather than removing them', () => {
    expect(redactString(`rotated ${KEY_ID} and ASIAIOSFODNN7EXAMPLE`)).toBe(
      'rotated AKIA…MPLE and ASIA…MPLE',
    );
  });

  it('keeps the Authorization scheme so logs still say what was sent', () => {
    expect(redactString(`Authorization: Bearer ${NGC_KEY}`)).toBe('Authorization: Bearer [redacted]');
  });

  it('leaves ordinary text, ARNs and digests alone', () => {
    const text = `pushed arn:aws:ecr:us-east-1:123456789012:repository/app@sha256:${'ab'.repeat(32)}`;
    expect(redactString(text)).toBe(text);
  });
});

describe('Function: redact', () => {
  it('replaces values under secret-named keys whatever they look like', () => {
    const out = redact({
      SecretAccessKey: 'x',
      password: 'hunter2',
      Authorization: 'y',
      SecretString: '{}',
      nested: { apiKey: 'k' },
    });
    expect(out).toEqual({
      SecretAccessKey: '[redacted]',
      password: '[redacted]',
      Authorization: '[redacted]',
      SecretString: '[redacted]',
      nested: { apiKey: '[redacted]' },
    });
  });

  it('scrubs strings anywhere in arrays and objects, and masks key ids', () => {
    const out = JSON.stringify(
      redact({
        events: [{ detail: `${KEY_ID}:${SECRET}` }],
        secret: { name: 'ecr-prod', value: CREDENTIAL },
      }),
    );
    expect(out).not.toContain(SECRET);
    expect(out).not.toContain(CREDENTIAL.slice(0, 30));
    expect(out).toContain('AKIA…MPLE');
    expect(out).toContain('ecr-prod');
  });

  it('turns errors into name and message, scrubbing both the message and the cause', () => {
    const err = new Error(`failed with ${SECRET}`, { cause: new Error(`token ${ECR_TOKEN}`) });
    expect(redact(err)).toEqual({
      name: 'Error',
      message: 'failed with [redacted]',
      cause: { name: 'Error', message: 'token [redacted-token]' },
    });
  });

  it('cuts cycles and writes dates as ISO strings', () => {
    const a: Record<string, unknown> = { at: new Date('2026-01-02T03:04:05.000Z') };
    a['self'] = a;
    expect(redact(a)).toEqual({ at: '2026-01-02T03:04:05.000Z', self: '[circular]' });
  });

  it('keeps null, numbers and booleans', () => {
    expect(redact({ a: null, b: 1, c: true, password: null })).toEqual({
      a: null,
      b: 1,
      c: true,
      password: null,
    });
  });
});

describe('Function: createLogger', () => {
  const now = () => new Date('2026-05-01T00:00:00.000Z');

  it('scrubs secrets from messages and fields before the sink sees them', () => {
    const sink = memorySink();
    const log = createLogger({ sink, now });
    log.info(`updated NVCF with ${CREDENTIAL}`, {
      accessKeyId: KEY_ID,
      secretAccessKey: SECRET,
      header: `Bearer ${NGC_KEY}`,
    });
    const seen = JSON.stringify(sink.records);
    for (const secret of [SECRET, CREDENTIAL.slice(0, 30), NGC_KEY.slice(6, 20), KEY_ID])
      expect(seen).not.toContain(secret);
    expect(sink.records).toEqual([
      {
        level: 'info',
        message: 'updated NVCF with [redacted-credential]',
        time: '2026-05-01T00:00:00.000Z',
        fields: { accessKeyId: 'AKIA…MPLE', secretAccessKey: '[redacted]', header: 'Bearer [redacted]' },
      },
    ]);
  });

  it('drops records below the level', () => {
    const sink = memorySink();
    const log = createLogger({ sink, level: 'warn', now });
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    expect(sink.records.map((r) => r.level)).toEqual(['warn', 'error']);
  });

  it('adds the fields of a child logger to every record', () => {
    const sink = memorySink();
    const log = createLogger({ sink, now, fields: { service: 'rotation' } }).child({ step: 'setSecret' });
    log.info('patched', { attempt: 2 });
    expect(sink.records[0]?.fields).toEqual({ service: 'rotation', step: 'setSecret', attempt: 2 });
  });
});

describe('Function: jsonLineSink', () => {
  it('writes one JSON object per line with the fields at the top level', () => {
    const lines: string[] = [];
    const log = createLogger({
      sink: jsonLineSink((l) => lines.push(l)),
      now: () => new Date('2026-05-01T00:00:00.000Z'),
    });
    log.warn('key in use', { keyId: KEY_ID });
    expect(lines).toEqual([
      `${JSON.stringify({ level: 'warn', time: '2026-05-01T00:00:00.000Z', message: 'key in use', keyId: 'AKIA…MPLE' })}\n`,
    ]);
  });
});
