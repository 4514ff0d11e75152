import {
  decodeAccessKeyPair,
  decodeJavaBase64,
  decodeRegistrySecret,
  encodeRegistrySecret,
  INVALID_SECRET_FORMAT_MESSAGE,
  isJavaBlank,
  MISSING_OAUTHTOKEN_MESSAGE,
  splitLikeJava,
} from '@nvcf-ecr/core/credential';
import { CredentialCodecError } from '@nvcf-ecr/core/errors';
import { describe, expect, it } from 'vitest';
import { expectThrow } from '../expect-error.ts';

// AWS's documented example key pair (IAM user guide); the encoding below was computed independently with
// `printf 'AKIAIOSFODNN7EXAMPLE:wJalr…' | base64 -w 0`, the command
// https://docs.nvidia.com/nvcf/third-party-registries recommends.
const ID = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const ENCODED = 'QUtJQUlPU0ZPRE5ON0VYQU1QTEU6d0phbHJYVXRuRkVNSS9LN01ERU5HL2JQeFJmaUNZRVhBTVBMRUtFWQ==';
const ECR = '123456789012.dkr.ecr.us-east-1.amazonaws.com';

describe('Function: encodeRegistrySecret', () => {
  it('encodes AccessKeyId:SecretAccessKey as standard padded base64 without a newline', () => {
    // 84 characters: longer than the 76 at which `base64` without -w 0 would wrap the line.
    expect(encodeRegistrySecret({ accessKeyId: ID, secretAccessKey: SECRET })).toBe(ENCODED);
  });

  it('refuses a temporary (ASIA) key and explains that NVCF needs a permanent IAM user key', () => {
    const err = expectThrow(
      () => encodeRegistrySecret({ accessKeyId: 'ASIAIOSFODNN7EXAMPLE', secretAccessKey: SECRET }),
      CredentialCodecError,
      'temporary (STS/SSO) key',
      'permanent IAM user access key',
      'UnrecognizedClientException',
    );
    expect(err.code).toBe('temporary-key');
  });

  it('masks the key id in messages', () => {
    const err = expectThrow(
      () => encodeRegistrySecret({ accessKeyId: 'ASIAIOSFODNN7EXAMPLE', secretAccessKey: SECRET }),
      CredentialCodecError,
      'ASIA…MPLE',
    );
    expect(err.message).not.toContain('ASIAIOSFODNN7EXAMPLE');
  });

  it.each([
    ['akiaiosfodnn7example', 'lower case'],
    ['AKIAIOSFODNN7EXAMPL', 'too short'],
    ['AKIAIOSFODNN7EXAMPLE1', 'too long'],
    ['AIDAIOSFODNN7EXAMPLE', 'a user id, not a key id'],
    ['AKIA-OSFODNN7EXAMPLE', 'punctuation'],
  ])('refuses the access key id %s (%s)', (accessKeyId) => {
    const err = expectThrow(
      () => encodeRegistrySecret({ accessKeyId, secretAccessKey: SECRET }),
      CredentialCodecError,
      "expected 'AKIA' followed by 16 upper-case letters or digits",
      `(${accessKeyId.length} characters)`,
    );
    expect(err.code).toBe('invalid-access-key-id');
  });

  it('never shows any part of a secret passed as the key id (id and secret swapped)', () => {
    const err = expectThrow(
      () => encodeRegistrySecret({ accessKeyId: SECRET, secretAccessKey: ID }),
      CredentialCodecError,
      'Access key id (40 characters) is not an IAM user access key id',
    );
    expect(err.message).not.toContain(SECRET.slice(0, 4));
    expect(err.message).not.toContain(SECRET.slice(-4));
  });

  it('refuses a key id that is not a string', () => {
    const err = expectThrow(
      () => encodeRegistrySecret({ accessKeyId: 42 as unknown as string, secretAccessKey: SECRET }),
      CredentialCodecError,
      'Access key id must be a string, got a number',
    );
    expect(err.code).toBe('invalid-access-key-id');
  });

  it.each([
    [SECRET.slice(0, 39), 39],
    [`${SECRET}A`, 41],
    [`${SECRET.slice(0, 39)}=`, 40],
    [`${SECRET.slice(0, 39)}-`, 40],
    [`${SECRET.slice(0, 39)} `, 40],
  ])('refuses a malformed secret without showing it (%#)', (secretAccessKey, length) => {
    const err = expectThrow(
      () => encodeRegistrySecret({ accessKeyId: ID, secretAccessKey }),
      CredentialCodecError,
      `Secret access key of AKIA…MPLE is not an AWS secret access key ([secret: ${length} chars])`,
      'exactly 40 characters',
    );
    expect(err.code).toBe('invalid-secret-access-key');
    expect(err.message).not.toContain(secretAccessKey.slice(0, 12));
  });

  it('refuses a missing secret', () => {
    expectThrow(
      () => encodeRegistrySecret({ accessKeyId: ID, secretAccessKey: undefined as unknown as string }),
      CredentialCodecError,
      '(a undefined)',
    );
  });
});

describe('Function: decodeRegistrySecret', () => {
  it("decodes the example body of NVCF's AddRegistryCredentialRequest", () => {
    expect(decodeRegistrySecret('QUtJQS4uLjp3SmFsci4uLg==', ECR)).toEqual({
      username: 'AKIA...',
      password: 'wJalr...',
    });
  });

  it('decodes what encodeRegistrySecret produces', () => {
    expect(decodeRegistrySecret(ENCODED, ECR)).toEqual({ username: ID, password: SECRET });
  });

  it('accepts the value without its = padding (padding is optional for Java’s decoder)', () => {
    expect(decodeRegistrySecret(ENCODED.replace(/=+$/, ''), ECR)).toEqual({ username: ID, password: SECRET });
  });

  it.each([
    [{ value: ENCODED }, 'a JSON object'],
    [42, 'a number'],
    [null, 'null'],
    [undefined, 'nothing'],
  ] as [unknown, string][])('refuses a value that is not a JSON string: %s (%s)', (value) => {
    const err = expectThrow(() => decodeRegistrySecret(value, ECR), CredentialCodecError);
    expect(err.message).toBe(INVALID_SECRET_FORMAT_MESSAGE);
    expect(err.code).toBe('invalid-format');
  });

  it.each([
    [`${ENCODED}\n`, 'a trailing newline (echo without -n, base64 without -w 0)'],
    [`${ENCODED.slice(0, 76)}\n${ENCODED.slice(76)}`, 'a wrapped line'],
    [` ${ENCODED}`, 'a leading space'],
    ['dTpw_w==', "the URL-safe alphabet ('u:p\\xff' is dTpw/w== in the standard one)"],
    ['dXNlcjpwYXNz=', 'padding after a complete unit'],
    ['dXNlcjpwYXM=x', 'data after the padding'],
    ['YQ=', 'a missing second padding character'],
    ['Y', 'a single character'],
    ['dXNlcjpwYXNzZ', 'a final unit of one character'],
    ['ZXzigJk=é', 'a character outside ISO-8859-1'],
  ])('refuses invalid base64: %s (%s)', (value) => {
    const err = expectThrow(() => decodeRegistrySecret(value, ECR), CredentialCodecError);
    expect(err.message).toBe(INVALID_SECRET_FORMAT_MESSAGE);
    expect(err.code).toBe('invalid-base64');
  });

  it.each([
    ['dXNlcjo6cGFzcw==', 'user::pass (three parts)'],
    ['YTpiOmM=', 'a:b:c (three parts)'],
    ['dXNlcnBhc3M=', 'userpass (no colon)'],
    ['Ojo6', '::: (no parts at all)'],
    ['IDpwYXNz', "' :pass' (blank user)"],
    ['dXNlcjoJCg==', "'user:\\t\\n' (blank password)"],
    ['dXNlcjrjgIA=', "'user:\\u3000' (ideographic space is Java white space)"],
    ['', 'empty'],
  ])('refuses decoded text that is not exactly two non-blank parts: %s = %s', (value) => {
    const err = expectThrow(() => decodeRegistrySecret(value, ECR), CredentialCodecError);
    expect(err.message).toBe(INVALID_SECRET_FORMAT_MESSAGE);
    expect(err.code).toBe('invalid-format');
  });

  it('accepts user:pass: because Java drops the trailing empty string', () => {
    expect(decodeRegistrySecret('dXNlcjpwYXNzOg==', ECR)).toEqual({ username: 'user', password: 'pass' });
  });

  it('treats a no-break space as not blank, as Java’s isBlank does', () => {
    expect(decodeRegistrySecret('dXNlcjrCoA==', ECR)).toEqual({ username: 'user', password: '\u00a0' });
  });

  it.each(['nvcr.io', 'helm.ngc.nvidia.com', 'ngc.nvidia.com'])(
    'requires $oauthtoken for the NGC host %s',
    (host) => {
      const err = expectThrow(() => decodeRegistrySecret('dXNlcjpwYXNz', host), CredentialCodecError);
      expect(err.message).toBe(MISSING_OAUTHTOKEN_MESSAGE);
      expect(err.code).toBe('missing-oauthtoken');
    },
  );

  it('accepts $oauthtoken:<key> for nvcr.io', () => {
    expect(decodeRegistrySecret('JG9hdXRodG9rZW46bnZhcGktYWJj', 'nvcr.io')).toEqual({
      username: '$oauthtoken',
      password: 'nvapi-abc',
    });
  });

  it('checks the format before the $oauthtoken rule', () => {
    expect(expectThrow(() => decodeRegistrySecret('YTpiOmM=', 'nvcr.io'), CredentialCodecError).code).toBe(
      'invalid-format',
    );
  });

  it('does not require $oauthtoken for ECR hosts', () => {
    expect(decodeRegistrySecret('dXNlcjpwYXNz', ECR)).toEqual({ username: 'user', password: 'pass' });
  });
});

describe('Function: decodeAccessKeyPair', () => {
  it('returns the AWS key pair NVCF holds', () => {
    expect(decodeAccessKeyPair(ENCODED, ECR)).toEqual({ accessKeyId: ID, secretAccessKey: SECRET });
  });

  it('refuses a well-formed credential that is not an AWS key pair', () => {
    const err = expectThrow(
      () => decodeAccessKeyPair('dXNlcjpwYXNz', ECR),
      CredentialCodecError,
      'is not an IAM user access key id',
    );
    expect(err.code).toBe('invalid-access-key-id');
  });

  it('refuses a temporary key stored in NVCF', () => {
    const value = Buffer.from(`ASIAIOSFODNN7EXAMPLE:${SECRET}`).toString('base64');
    expect(expectThrow(() => decodeAccessKeyPair(value, ECR), CredentialCodecError, 'temporary').code).toBe(
      'temporary-key',
    );
  });

  it('refuses a password that is not a secret access key, without showing it', () => {
    const value = Buffer.from(`${ID}:short-password`).toString('base64');
    const err = expectThrow(
      () => decodeAccessKeyPair(value, ECR),
      CredentialCodecError,
      '[secret: 14 chars]',
    );
    expect(err.message).not.toContain('short-password');
  });
});

describe('Function: decodeJavaBase64', () => {
  const text = (bytes: Uint8Array | undefined) => (bytes ? Buffer.from(bytes).toString('latin1') : undefined);

  it.each([
    ['', ''],
    ['YQ==', 'a'],
    ['YQ', 'a'],
    ['YWI=', 'ab'],
    ['YWI', 'ab'],
    ['YWJj', 'abc'],
  ])('decodes %s', (input, want) => {
    expect(text(decodeJavaBase64(input))).toBe(want);
  });

  it('ignores non-zero unused bits in the last unit, as Java does', () => {
    // 'YR' differs from 'YQ' only in the 4 bits that do not make it into the single output byte.
    expect(text(decodeJavaBase64('YR'))).toBe('a');
  });

  it.each(['Y', 'Y===', '=', 'YQ=', 'YQ=x', 'YWJj=', 'YQ==YWJj', 'YW Jj', 'YW\tJj', 'YW-j', 'YW_j', 'YWJjZ'])(
    'refuses %j',
    (input) => {
      expect(decodeJavaBase64(input)).toBeUndefined();
    },
  );

  it('decodes bytes that are not UTF-8', () => {
    expect([...(decodeJavaBase64('dTpw/w==') ?? [])]).toEqual([0x75, 0x3a, 0x70, 0xff]);
  });
});

describe('Function: splitLikeJava', () => {
  it.each([
    ['user:pass', ['user', 'pass']],
    ['user:pass:', ['user', 'pass']],
    ['user:pass::', ['user', 'pass']],
    [':pass', ['', 'pass']],
    ['user::pass', ['user', '', 'pass']],
    [':::', []],
    ['', ['']],
    ['nocolon', ['nocolon']],
  ])('splits %j into %j', (input, want) => {
    expect(splitLikeJava(input, ':')).toEqual(want);
  });
});

describe('Function: isJavaBlank', () => {
  it.each(['', ' ', '\t\n\r\f\u000b', '\u001c\u001f', '\u2000\u200a', '\u2028\u2029', '\u3000', '\u1680'])(
    'is true for %j',
    (s) => {
      expect(isJavaBlank(s)).toBe(true);
    },
  );

  it.each(['a', ' a ', '\u00a0', '\u2007', '\u202f', '\u200b'])('is false for %j', (s) => {
    expect(isJavaBlank(s)).toBe(false);
  });
});
