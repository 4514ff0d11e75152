import { assertConfig } from '@nvcf-ecr/core/config';
import { RotationError } from '@nvcf-ecr/core/errors';
import {
  assertValueMatchesRegistry,
  bootstrapSecretValue,
  formatIntent,
  formatLastFailure,
  formatNvcfKey,
  parseIntent,
  parseLastFailure,
  parseNvcfKey,
  parseRotatedSecret,
  ROTATION_TAGS,
  rotationInvocationSchema,
  serializePullKey,
  tagSafe,
} from '@nvcf-ecr/core/rotation';
import { describe, expect, it } from 'vitest';
import { expectThrow } from '../core/expect-error.ts';

// AWS's documented example key pair (IAM user guide): shaped like a real key, secret to nobody.
const KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const SOURCE = {
  step: 'createSecret' as const,
  secretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:s',
  version: 'AWSCURRENT',
};

const config = assertConfig({
  ngc: { apiKeySecretName: 'ngc' },
  registries: [{ name: 'prod', hostname: HOST, repositories: ['app'], credentialName: 'ecr-prod' }],
});
const registry = config.registries[0] as (typeof config.registries)[number];

const pullKey = {
  accessKeyId: KEY_ID,
  secretAccessKey: SECRET,
  userName: 'nvcf-ecr-prod',
  registryHostname: HOST,
  credentialName: 'ecr-prod',
  createdAt: '2026-01-02T03:04:05.678Z',
};

describe('Function: parseRotatedSecret', () => {
  it('reads the bootstrap value the stacks create (who and where, no key)', () => {
    expect(parseRotatedSecret(bootstrapSecretValue(registry), SOURCE)).toEqual({
      kind: 'bootstrap',
      userName: 'nvcf-ecr-prod',
      registryHostname: HOST,
      credentialName: 'ecr-prod',
    });
  });

  it('reads a pull key with its six members', () => {
    expect(parseRotatedSecret(JSON.stringify(pullKey), SOURCE)).toEqual({ kind: 'key', ...pullKey });
  });

  it('round-trips what serializePullKey writes', () => {
    expect(parseRotatedSecret(serializePullKey(pullKey), SOURCE)).toEqual({ kind: 'key', ...pullKey });
  });

  it('keeps unknown members out of the way instead of refusing the value', () => {
    expect(parseRotatedSecret(JSON.stringify({ ...pullKey, note: 'added later' }), SOURCE).kind).toBe('key');
  });

  it('rejects a pull key with a malformed secret, naming the member but never the value', () => {
    const err = expectThrow(
      () => parseRotatedSecret(JSON.stringify({ ...pullKey, secretAccessKey: `${SECRET}x` }), SOURCE),
      RotationError,
      'The value of AWSCURRENT of secret',
      'secretAccessKey must be 40 characters',
    );
    expect(err.message).not.toContain(SECRET);
    expect(err.step).toBe('createSecret');
  });

  it('rejects a temporary (ASIA) key id as not a permanent IAM key', () => {
    expectThrow(
      () => parseRotatedSecret(JSON.stringify({ ...pullKey, accessKeyId: 'ASIAIOSFODNN7EXAMPLE' }), SOURCE),
      RotationError,
      'accessKeyId must be a permanent IAM access key id (AKIA…)',
    );
  });

  it('rejects a pull key without createdAt', () => {
    const { createdAt: _, ...rest } = pullKey;
    expectThrow(() => parseRotatedSecret(JSON.stringify(rest), SOURCE), RotationError, 'createdAt');
  });

  it('rejects text that is not a JSON object, saying how a rotated secret looks', () => {
    expectThrow(() => parseRotatedSecret('not json', SOURCE), RotationError, 'is not JSON', '"accessKeyId"');
    expectThrow(() => parseRotatedSecret('[1]', SOURCE), RotationError, 'is not a JSON object');
    expectThrow(() => parseRotatedSecret(undefined, SOURCE), RotationError, 'is binary or empty');
  });
});

describe('Function: assertValueMatchesRegistry', () => {
  it('accepts the value of its own registry', () => {
    expect(() => assertValueMatchesRegistry({ kind: 'key', ...pullKey }, registry, SOURCE)).not.toThrow();
  });

  it('rejects a value of another user or credential, naming each difference and the fix', () => {
    const err = expectThrow(
      () =>
        assertValueMatchesRegistry(
          { kind: 'bootstrap', userName: 'someone', registryHostname: HOST, credentialName: 'other' },
          registry,
          SOURCE,
        ),
      RotationError,
      "does not belong to registry 'prod'",
      "userName 'someone' ≠ configured 'nvcf-ecr-prod'",
      "credentialName 'other' ≠ configured 'ecr-prod'",
      'Redeploy the stacks',
    );
    expect(err.message).not.toContain('registryHostname');
  });
});

describe('Function: serializePullKey', () => {
  it('writes the documented members in order', () => {
    expect(Object.keys(JSON.parse(serializePullKey(pullKey)))).toEqual([
      'accessKeyId',
      'secretAccessKey',
      'userName',
      'registryHostname',
      'credentialName',
      'createdAt',
    ]);
  });

  it('refuses a key id that is not a permanent key id', () => {
    expectThrow(
      () => serializePullKey({ ...pullKey, accessKeyId: 'nope' }),
      RangeError,
      'is not an IAM user access key id',
    );
  });
});

describe('Schema: rotationInvocationSchema', () => {
  const event = {
    Step: 'createSecret',
    SecretId: SOURCE.secretId,
    ClientRequestToken: '0f1e2d3c-4b5a-4968-8776-655443322110',
  };

  it('accepts the four camelCase steps, with or without RotationToken', () => {
    for (const Step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
      expect(rotationInvocationSchema.safeParse({ ...event, Step }).success).toBe(true);
    }
    expect(rotationInvocationSchema.safeParse({ ...event, RotationToken: 'opaque' }).success).toBe(true);
  });

  it('rejects the snake_case names of the older docs (rotate-secrets_lambda.html)', () => {
    const r = rotationInvocationSchema.safeParse({ ...event, Step: 'create_secret' });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toBe(
      'must be one of createSecret, setSecret, testSecret, finishSecret',
    );
  });

  it('rejects a token too short to be a version id', () => {
    const r = rotationInvocationSchema.safeParse({ ...event, ClientRequestToken: 'abc' });
    expect(r.error?.issues[0]?.message).toBe(
      'must be the version id of the new version (32 to 64 characters)',
    );
  });
});

describe('Function: parseIntent', () => {
  it('reads back what formatIntent writes', () => {
    const at = new Date('2026-05-06T07:08:09.123Z');
    expect(parseIntent(formatIntent('tok-1', at))).toEqual({ token: 'tok-1', at });
  });

  it('ignores a missing or garbled marker', () => {
    expect(parseIntent(undefined)).toBeUndefined();
    expect(parseIntent('no-at-sign')).toBeUndefined();
    expect(parseIntent('tok@not-a-date')).toBeUndefined();
  });
});

describe('Function: parseLastFailure', () => {
  it('reads the failure tag and its reason tag', () => {
    const at = new Date('2026-05-06T07:08:09.000Z');
    const tags = new Map([
      [ROTATION_TAGS.lastFailure, formatLastFailure('tok-1', 'setSecret', true, at)],
      [ROTATION_TAGS.lastFailureReason, 'why'],
    ]);
    expect(parseLastFailure(tags)).toEqual({
      token: 'tok-1',
      step: 'setSecret',
      refused: true,
      at,
      reason: 'why',
    });
  });

  it('ignores a tag of the wrong shape', () => {
    expect(parseLastFailure(new Map([[ROTATION_TAGS.lastFailure, 'tok-1 setSecret']]))).toBeUndefined();
  });

  it('reads what the failure path found of the current key: working, broken, or none yet', () => {
    const at = new Date('2026-05-06T07:08:09.000Z');
    const read = (currentKey: 'works' | 'broken' | 'none') =>
      parseLastFailure(
        new Map([
          [ROTATION_TAGS.lastFailure, formatLastFailure('tok-1', 'testSecret', false, at, currentKey)],
        ]),
      )?.currentKey;
    expect(read('works')).toBe('works');
    expect(read('broken')).toBe('broken');
    expect(read('none')).toBe('none');
    // A tag written before the check was recorded says nothing about the current key.
    expect(
      parseLastFailure(
        new Map([[ROTATION_TAGS.lastFailure, 'tok-1 setSecret failed 2026-05-06T07:08:09.000Z']]),
      )?.currentKey,
    ).toBeUndefined();
  });
});

describe('Function: parseNvcfKey', () => {
  it('reads back the version NVCF was given and since when it holds it, or that it is being sent', () => {
    const since = new Date('2026-05-06T07:08:09.123Z');
    expect(parseNvcfKey(formatNvcfKey({ versionId: 'v-1', since }))).toEqual({ versionId: 'v-1', since });
    expect(parseNvcfKey(formatNvcfKey({ versionId: 'v-1', since: undefined }))).toEqual({
      versionId: 'v-1',
      since: undefined,
    });
  });

  it('ignores a missing or garbled record', () => {
    expect(parseNvcfKey(undefined)).toBeUndefined();
    expect(parseNvcfKey('v-1')).toBeUndefined();
    expect(parseNvcfKey('v-1@not-a-date')).toBeUndefined();
  });
});

describe('Function: tagSafe', () => {
  it('keeps only characters Secrets Manager allows in tag values', () => {
    expect(tagSafe('key "AKIA…WXYZ" (in grace) until 2026-01-01T00:00:00Z!')).toBe(
      'key AKIA WXYZ in grace until 2026-01-01T00:00:00Z',
    );
  });

  it('cuts long reasons to the 256-character tag limit', () => {
    const out = tagSafe('x'.repeat(400));
    expect(out).toHaveLength(256);
    expect(out.endsWith('...')).toBe(true);
  });
});
