import {
  formatImageReference,
  parseImageReference,
  publicRepositoryArn,
  repositoryArn,
  repositoryNameProblem,
} from '@nvcf-ecr/core/ecr';
import { HostnameError, ImageReferenceError } from '@nvcf-ecr/core/errors';
import { describe, expect, it } from 'vitest';
import { expectThrow } from '../expect-error.ts';

const HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('Function: parseImageReference', () => {
  it('parses a tag', () => {
    const ref = parseImageReference(`${HOST}/inference:v1.2`);
    expect(ref).toMatchObject({ repository: 'inference', tag: 'v1.2', digest: undefined });
    expect(ref.registry).toMatchObject({ kind: 'private', accountId: '123456789012', region: 'us-east-1' });
  });

  it('parses a digest without a tag', () => {
    expect(parseImageReference(`${HOST}/inference@${DIGEST}`)).toMatchObject({
      repository: 'inference',
      tag: undefined,
      digest: DIGEST,
    });
  });

  it('parses a tag and a digest together', () => {
    expect(parseImageReference(`${HOST}/team/inference:v1@${DIGEST}`)).toMatchObject({
      repository: 'team/inference',
      tag: 'v1',
      digest: DIGEST,
    });
  });

  it('defaults to the latest tag when neither tag nor digest is given, as docker does', () => {
    expect(parseImageReference(`${HOST}/inference`)).toMatchObject({
      repository: 'inference',
      tag: 'latest',
      digest: undefined,
    });
  });

  it('accepts a sha512 digest', () => {
    const d = `sha512:${'0f'.repeat(64)}`;
    expect(parseImageReference(`${HOST}/app@${d}`).digest).toBe(d);
  });

  it('takes the registry from the part before the first slash (credential-helper vector with /foo, `client_test.go`)', () => {
    const ref = parseImageReference('210987654321.dkr.ecr.cn-north-1.amazonaws.com.cn/foo');
    expect(ref.registry).toMatchObject({
      partition: 'aws-cn',
      accountId: '210987654321',
      region: 'cn-north-1',
    });
    expect(ref.repository).toBe('foo');
  });

  it('keeps the ECR Public alias in the repository path', () => {
    expect(parseImageReference('public.ecr.aws/my-alias/tools:1')).toMatchObject({
      repository: 'my-alias/tools',
      tag: '1',
    });
  });

  it('rejects an empty reference', () => {
    expectThrow(() => parseImageReference('  '), ImageReferenceError, 'Image reference is empty');
  });

  it('rejects a scheme', () => {
    expectThrow(
      () => parseImageReference(`https://${HOST}/app:v1`),
      ImageReferenceError,
      'includes a scheme',
    );
  });

  it('rejects a reference without a repository', () => {
    expectThrow(() => parseImageReference(HOST), ImageReferenceError, 'has no repository');
  });

  it('rejects an invalid registry and keeps the hostname error as the cause', () => {
    const err = expectThrow(
      () => parseImageReference('12345.dkr.ecr.us-east-1.amazonaws.com/app:v1'),
      ImageReferenceError,
      'has an invalid registry',
      'account id of 5 digits',
    );
    expect(err.cause).toBeInstanceOf(HostnameError);
  });

  it('rejects a registry with a port', () => {
    expectThrow(() => parseImageReference(`${HOST}:443/app:v1`), ImageReferenceError, 'includes a port');
  });

  it.each([
    [`${HOST}/app@sha256:${'AB'.repeat(32)}`, 'has an invalid digest'],
    [`${HOST}/app@sha256:${'ab'.repeat(31)}`, 'has an invalid digest'],
    [`${HOST}/app@md5:${'ab'.repeat(16)}`, 'has an invalid digest'],
    [`${HOST}/app@`, "has an invalid digest ''"],
  ])('rejects the digest of %s', (input, fault) => {
    expectThrow(
      () => parseImageReference(input),
      ImageReferenceError,
      fault,
      'sha256:<64 lower-case hex characters>',
    );
  });

  it.each([
    [`${HOST}/app:.hidden`, "has an invalid tag '.hidden'"],
    [`${HOST}/app:-x`, "has an invalid tag '-x'"],
    [`${HOST}/app:`, "has an invalid tag ''"],
    [`${HOST}/app:${'a'.repeat(129)}`, 'has an invalid tag'],
  ])('rejects the tag of %s', (input, fault) => {
    expectThrow(() => parseImageReference(input), ImageReferenceError, fault, '1–128');
  });

  it('accepts a tag of 128 characters', () => {
    expect(parseImageReference(`${HOST}/app:${'a'.repeat(128)}`).tag).toHaveLength(128);
  });

  it.each([
    [`${HOST}/App:v1`, "invalid repository name 'App'", "must be lower case (use 'app')"],
    [`${HOST}/a:v1`, "invalid repository name 'a'", '2 to 256 characters'],
    [`${HOST}/team//app:v1`, "invalid repository name 'team//app'", 'path components'],
    [`${HOST}/app--x:v1`, "invalid repository name 'app--x'", 'path components'],
    [`${HOST}/:v1`, "invalid repository name ''", '(got 0)'],
  ])('rejects the repository of %s', (input, fault, fix) => {
    expectThrow(() => parseImageReference(input), ImageReferenceError, fault, fix);
  });
});

describe('Function: formatImageReference', () => {
  it('writes back what was parsed', () => {
    for (const input of [`${HOST}/team/app:v1@${DIGEST}`, `${HOST}/app@${DIGEST}`, `${HOST}/app:latest`]) {
      expect(formatImageReference(parseImageReference(input))).toBe(input);
    }
  });
});

describe('Function: repositoryNameProblem', () => {
  it('accepts nested lower-case names with single separators', () => {
    expect(repositoryNameProblem('team-a/inference_v2.1')).toBeUndefined();
  });

  it('refuses names longer than 256 characters', () => {
    expect(repositoryNameProblem('a'.repeat(257))).toBe('must be 2 to 256 characters long (got 257)');
  });
});

describe('Function: repositoryArn', () => {
  it.each([
    ['aws', 'us-east-1', 'arn:aws:ecr:us-east-1:123456789012:repository/team/app'],
    ['aws-cn', 'cn-north-1', 'arn:aws-cn:ecr:cn-north-1:123456789012:repository/team/app'],
    ['aws-us-gov', 'us-gov-west-1', 'arn:aws-us-gov:ecr:us-gov-west-1:123456789012:repository/team/app'],
  ] as const)('writes the %s partition', (partition, region, want) => {
    expect(repositoryArn(partition, region, '123456789012', 'team/app')).toBe(want);
  });
});

describe('Function: publicRepositoryArn', () => {
  it('has no region: ECR Public is a global service', () => {
    expect(publicRepositoryArn('123456789012', 'tools')).toBe(
      'arn:aws:ecr-public::123456789012:repository/tools',
    );
  });
});
