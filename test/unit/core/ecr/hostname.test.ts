import {
  ECR_PUBLIC_HOSTNAME,
  nvcfRecognition,
  PARTITIONS,
  parseRegistryHostname,
  registryHostnameFor,
  tryParseRegistryHostname,
} from '@nvcf-ecr/core/ecr';
import { HostnameError } from '@nvcf-ecr/core/errors';
import { describe, expect, it } from 'vitest';
import { expectThrow } from '../expect-error.ts';

describe('Function: parseRegistryHostname', () => {
  // `awslabs/amazon-ecr-credential-helper:ecr-login/api/client_test.go`: the credential helper's accept vectors,
  // with the partition each belongs to.
  const accepted: [
    string,
    { account: string; region: string; partition: string; fips: boolean; dualStack: boolean },
  ][] = [
    [
      '123456789012.dkr.ecr.us-west-2.amazonaws.com',
      { account: '123456789012', region: 'us-west-2', partition: 'aws', fips: false, dualStack: false },
    ],
    [
      '123456789012.dkr-ecr.us-west-2.on.aws',
      { account: '123456789012', region: 'us-west-2', partition: 'aws', fips: false, dualStack: true },
    ],
    [
      '123456789012.dkr-ecr-fips.us-west-2.on.aws',
      { account: '123456789012', region: 'us-west-2', partition: 'aws', fips: true, dualStack: true },
    ],
    [
      '210987654321.dkr.ecr.cn-north-1.amazonaws.com.cn',
      { account: '210987654321', region: 'cn-north-1', partition: 'aws-cn', fips: false, dualStack: false },
    ],
    [
      '210987654321.dkr.ecr.cn-north-1.on.amazonwebservices.com.cn',
      { account: '210987654321', region: 'cn-north-1', partition: 'aws-cn', fips: false, dualStack: true },
    ],
    [
      '210987654321.dkr.ecr.us-iso-east-1.c2s.ic.gov',
      {
        account: '210987654321',
        region: 'us-iso-east-1',
        partition: 'aws-iso',
        fips: false,
        dualStack: false,
      },
    ],
    [
      '123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov',
      {
        account: '123456789012',
        region: 'us-isob-east-1',
        partition: 'aws-iso-b',
        fips: false,
        dualStack: false,
      },
    ],
    [
      '123456789012.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk',
      {
        account: '123456789012',
        region: 'eu-isoe-west-1',
        partition: 'aws-iso-e',
        fips: false,
        dualStack: false,
      },
    ],
    [
      '123456789012.dkr.ecr.us-isof-east-1.csp.hci.ic.gov',
      {
        account: '123456789012',
        region: 'us-isof-east-1',
        partition: 'aws-iso-f',
        fips: false,
        dualStack: false,
      },
    ],
    [
      '123456789012.dkr-ecr.us-gov-east-1.on.aws',
      {
        account: '123456789012',
        region: 'us-gov-east-1',
        partition: 'aws-us-gov',
        fips: false,
        dualStack: true,
      },
    ],
    [
      '123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com',
      {
        account: '123456789012',
        region: 'us-gov-west-1',
        partition: 'aws-us-gov',
        fips: true,
        dualStack: false,
      },
    ],
    [
      '123456789012.dkr-ecr-fips.us-gov-east-1.on.aws',
      {
        account: '123456789012',
        region: 'us-gov-east-1',
        partition: 'aws-us-gov',
        fips: true,
        dualStack: true,
      },
    ],
    [
      '123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu',
      {
        account: '123456789012',
        region: 'eusc-de-east-1',
        partition: 'aws-eusc',
        fips: false,
        dualStack: false,
      },
    ],
    [
      '123456789012.dkr.ecr-fips.us-east-1.amazonaws.com',
      { account: '123456789012', region: 'us-east-1', partition: 'aws', fips: true, dualStack: false },
    ],
    [
      '123456789012.dkr.ecr-fips.ca-central-1.amazonaws.com',
      { account: '123456789012', region: 'ca-central-1', partition: 'aws', fips: true, dualStack: false },
    ],
  ];

  it.each(accepted)('accepts %s', (hostname, want) => {
    const host = parseRegistryHostname(hostname);
    expect(host).toMatchObject({
      kind: 'private',
      hostname,
      accountId: want.account,
      region: want.region,
      partition: want.partition,
      fips: want.fips,
      dualStack: want.dualStack,
    });
  });

  it('accepts public.ecr.aws as ECR Public in us-east-1', () => {
    expect(parseRegistryHostname('public.ecr.aws')).toEqual({
      kind: 'public',
      hostname: 'public.ecr.aws',
      region: 'us-east-1',
      partition: 'aws',
      dualStack: false,
    });
  });

  it('accepts ECR Public dual-stack ecr-public.aws.com (credential helper `ecrPublicDualStackName`)', () => {
    expect(parseRegistryHostname('ecr-public.aws.com')).toMatchObject({ kind: 'public', dualStack: true });
  });

  it('reports the DNS suffix of the partition', () => {
    expect(parseRegistryHostname('210987654321.dkr.ecr.cn-northwest-1.amazonaws.com.cn')).toMatchObject({
      dnsSuffix: 'amazonaws.com.cn',
    });
    expect(parseRegistryHostname('123456789012.dkr.ecr.us-gov-west-1.amazonaws.com')).toMatchObject({
      partition: 'aws-us-gov',
      dnsSuffix: 'amazonaws.com',
    });
  });

  // The credential helper's reject vectors (`client_test.go`).
  it.each([
    ['.dkr.ecr.not-real.amazonaws.com', 'is not an Amazon ECR registry hostname'],
    ['not.ecr.io', 'is not an Amazon ECR registry hostname'],
    [
      '123456789012.dkr.ecr.us-west-2.amazonaws.com.fake.example.com',
      "ends in 'amazonaws.com.fake.example.com'",
    ],
    [
      '123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com.fake.example.com',
      "ends in 'amazonaws.com.fake.example.com'",
    ],
    [
      '210987654321.dkr.ecr.cn-north-1.amazonaws.com.cn.fake.example.com.cn',
      "ends in 'amazonaws.com.cn.fake.example.com.cn'",
    ],
    ['210987654321.dkr.ecr.cn-north-1.on.aws.com.cn', "ends in 'on.aws.com.cn'"],
    ['public.ecr.aws.fake.example.com', 'is not an Amazon ECR registry hostname'],
  ])('rejects %s', (hostname, fault) => {
    const err = expectThrow(
      () => parseRegistryHostname(hostname),
      HostnameError,
      `Registry hostname '${hostname}'`,
      fault,
    );
    expect(err.input).toBe(hostname);
  });

  it('rejects the credential-helper vector with a path: the hostname is the part before the first slash', () => {
    expectThrow(
      () => parseRegistryHostname('210987654321.dkr.ecr.cn-north-1.amazonaws.com.cn/foo'),
      HostnameError,
      "includes a path ('/foo')",
      "'210987654321.dkr.ecr.cn-north-1.amazonaws.com.cn'",
    );
  });

  it('rejects an 11-digit account id naming its length', () => {
    expectThrow(
      () => parseRegistryHostname('12345678901.dkr.ecr.us-east-1.amazonaws.com'),
      HostnameError,
      'account id of 11 digits',
      "'12345678901'",
      'exactly 12 digits',
    );
  });

  it('rejects a 13-digit account id', () => {
    expectThrow(
      () => parseRegistryHostname('1234567890123.dkr.ecr.us-east-1.amazonaws.com'),
      HostnameError,
      'account id of 13 digits',
    );
  });

  it('rejects an account id that is not digits', () => {
    expectThrow(
      () => parseRegistryHostname('my-account.dkr.ecr.us-east-1.amazonaws.com'),
      HostnameError,
      "has 'my-account' where the 12-digit AWS account id belongs",
    );
  });

  it('rejects an unknown region and suggests the close ones', () => {
    const err = expectThrow(
      () => parseRegistryHostname('123456789012.dkr.ecr.us-eest-1.amazonaws.com'),
      HostnameError,
      "unknown AWS region 'us-eest-1'",
    );
    expect(err.message).toContain("'us-east-1'");
    expect(err.message).toContain('did you mean');
  });

  it('rejects an unknown region without a suggestion when none is close', () => {
    const err = expectThrow(
      () => parseRegistryHostname('123456789012.dkr.ecr.mars-north-1.amazonaws.com'),
      HostnameError,
      "unknown AWS region 'mars-north-1'",
    );
    expect(err.message).not.toContain('did you mean');
  });

  it.each([
    ['https://123456789012.dkr.ecr.us-east-1.amazonaws.com', "includes a scheme ('https://')"],
    ['oci://123456789012.dkr.ecr.us-east-1.amazonaws.com', "includes a scheme ('oci://')"],
  ])('rejects the scheme in %s', (hostname, fault) => {
    expectThrow(() => parseRegistryHostname(hostname), HostnameError, fault, 'bare hostname');
  });

  it('rejects upper case and gives the lower-case form', () => {
    expectThrow(
      () => parseRegistryHostname('123456789012.DKR.ECR.us-east-1.amazonaws.com'),
      HostnameError,
      'upper-case letters',
      "use '123456789012.dkr.ecr.us-east-1.amazonaws.com'",
    );
  });

  it.each([
    ['123456789012.dkr.ecr.us-east-1.amazonaws.com:443', "includes a port (':443')"],
    ['123456789012.dkr.ecr.us-east-1.amazonaws.com:', "includes a port (':')"],
  ])('rejects the port in %s', (hostname, fault) => {
    expectThrow(() => parseRegistryHostname(hostname), HostnameError, fault, 'without a port');
  });

  it('rejects a suffix of the wrong partition (China region on .com)', () => {
    expectThrow(
      () => parseRegistryHostname('210987654321.dkr.ecr.cn-north-1.amazonaws.com'),
      HostnameError,
      "ends in 'amazonaws.com', but region cn-north-1 is in partition aws-cn, whose hosts end in 'amazonaws.com.cn'",
    );
  });

  it('rejects a suffix of the wrong partition (commercial region on .com.cn)', () => {
    expectThrow(
      () => parseRegistryHostname('123456789012.dkr.ecr.us-east-1.amazonaws.com.cn'),
      HostnameError,
      "ends in 'amazonaws.com.cn', but region us-east-1 is in partition aws, whose hosts end in 'amazonaws.com'",
    );
  });

  it('rejects a FIPS endpoint in a region without one', () => {
    expectThrow(
      () => parseRegistryHostname('123456789012.dkr.ecr-fips.eu-west-1.amazonaws.com'),
      HostnameError,
      'FIPS endpoint',
      'no FIPS endpoint in eu-west-1',
    );
  });

  it('rejects the dkr-ecr label outside the on.aws domain', () => {
    expectThrow(
      () => parseRegistryHostname('123456789012.dkr-ecr.us-west-2.amazonaws.com'),
      HostnameError,
      "dual-stack label 'dkr-ecr'",
      '<account>.dkr-ecr.us-west-2.on.aws',
    );
  });

  it('rejects the dkr-ecr label in China and names the China dual-stack form', () => {
    expectThrow(
      () => parseRegistryHostname('210987654321.dkr-ecr.cn-north-1.on.aws'),
      HostnameError,
      '<account>.dkr.ecr.cn-north-1.on.amazonwebservices.com.cn',
    );
  });

  it('rejects the dkr-ecr label in a partition without dual-stack endpoints', () => {
    expectThrow(
      () => parseRegistryHostname('123456789012.dkr-ecr.us-iso-east-1.on.aws'),
      HostnameError,
      'aws-iso has no dual-stack registry endpoints',
    );
  });

  it('rejects the ECR API endpoint, which is not a registry host (the AWS endpoint table)', () => {
    expectThrow(
      () => parseRegistryHostname('api.ecr.us-east-1.amazonaws.com'),
      HostnameError,
      'is not an Amazon ECR registry hostname',
    );
  });

  it('rejects an empty hostname with an example', () => {
    expectThrow(
      () => parseRegistryHostname(''),
      HostnameError,
      'Registry hostname is empty',
      '123456789012.dkr.ecr.us-east-1.amazonaws.com',
    );
  });

  it('rejects white space', () => {
    expectThrow(
      () => parseRegistryHostname(' 123456789012.dkr.ecr.us-east-1.amazonaws.com'),
      HostnameError,
      'contains white space',
    );
  });
});

describe('Function: tryParseRegistryHostname', () => {
  it('returns undefined instead of throwing', () => {
    expect(tryParseRegistryHostname('not.ecr.io')).toBeUndefined();
  });

  it('returns the parsed host for a valid hostname', () => {
    expect(tryParseRegistryHostname('123456789012.dkr.ecr.eu-west-1.amazonaws.com')).toMatchObject({
      region: 'eu-west-1',
    });
  });
});

describe('Function: nvcfRecognition', () => {
  // `RegistryMapperService` (NVIDIA/nvcf, nv-boot-starter-registries): NVCF maps
  // \d{12}\.dkr\.ecr\.<SDK region>\.amazonaws\.com and knows public.ecr.aws.
  const standardRegions = PARTITIONS.filter((p) => p.dnsSuffix === 'amazonaws.com').flatMap((p) => p.regions);

  it('covers the commercial and GovCloud regions', () => {
    expect(standardRegions).toEqual(
      expect.arrayContaining(['us-east-1', 'eu-west-1', 'ap-southeast-2', 'us-gov-west-1', 'us-gov-east-1']),
    );
  });

  it.each(standardRegions)('recognises the standard form in %s', (region) => {
    expect(nvcfRecognition(`123456789012.dkr.ecr.${region}.amazonaws.com`)).toEqual({ recognized: true });
  });

  it('recognises public.ecr.aws', () => {
    expect(nvcfRecognition(ECR_PUBLIC_HOSTNAME)).toEqual({ recognized: true });
  });

  it('refuses FIPS and suggests the standard form', () => {
    const r = nvcfRecognition('123456789012.dkr.ecr-fips.us-east-1.amazonaws.com');
    expect(r.recognized).toBe(false);
    expect(!r.recognized && r.reason).toContain('FIPS hostname');
    expect(!r.recognized && r.reason).toContain("use '123456789012.dkr.ecr.us-east-1.amazonaws.com'");
  });

  it('refuses dual-stack and suggests the standard form', () => {
    const r = nvcfRecognition('123456789012.dkr-ecr.us-west-2.on.aws');
    expect(r.recognized).toBe(false);
    expect(!r.recognized && r.reason).toContain('dual-stack hostname');
    expect(!r.recognized && r.reason).toContain("use '123456789012.dkr.ecr.us-west-2.amazonaws.com'");
  });

  it('refuses China without suggesting a form NVCF would also refuse', () => {
    const r = nvcfRecognition('210987654321.dkr.ecr.cn-north-1.amazonaws.com.cn');
    expect(r.recognized).toBe(false);
    expect(!r.recognized && r.reason).toContain('aws-cn partition hostname');
    expect(!r.recognized && r.reason).not.toContain('use ');
  });

  it('refuses the ECR Public dual-stack name', () => {
    const r = nvcfRecognition('ecr-public.aws.com');
    expect(r).toEqual({
      recognized: false,
      reason: "NVCF recognises ECR Public only as 'public.ecr.aws', not 'ecr-public.aws.com'",
    });
  });

  it('refuses an unknown region, as NVCF does (shouldThrowBadRequestForAddRegistryCredentialsWithInvalidRegion)', () => {
    const r = nvcfRecognition('123456789012.dkr.ecr.invalid-region.amazonaws.com');
    expect(r.recognized).toBe(false);
  });

  it('refuses upper case: NVCF matches case-sensitively', () => {
    expect(nvcfRecognition('123456789012.dkr.ecr.US-EAST-1.amazonaws.com').recognized).toBe(false);
  });
});

describe('Function: registryHostnameFor', () => {
  it('uses the partition suffix', () => {
    expect(registryHostnameFor('123456789012', 'us-east-1')).toBe(
      '123456789012.dkr.ecr.us-east-1.amazonaws.com',
    );
    expect(registryHostnameFor('210987654321', 'cn-north-1')).toBe(
      '210987654321.dkr.ecr.cn-north-1.amazonaws.com.cn',
    );
    expect(registryHostnameFor('123456789012', 'us-isob-east-1')).toBe(
      '123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov',
    );
  });
});
