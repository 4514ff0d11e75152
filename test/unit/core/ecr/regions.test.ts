import { ALL_REGIONS, iamRegionFor, PARTITIONS, partitionOfRegion } from '@nvcf-ecr/core/ecr';
import { describe, expect, it } from 'vitest';

describe('Function: partitionOfRegion', () => {
  it.each([
    ['us-east-1', 'aws', 'amazonaws.com'],
    ['il-central-1', 'aws', 'amazonaws.com'],
    ['cn-northwest-1', 'aws-cn', 'amazonaws.com.cn'],
    ['us-gov-east-1', 'aws-us-gov', 'amazonaws.com'],
    ['us-iso-west-1', 'aws-iso', 'c2s.ic.gov'],
    ['us-isob-east-1', 'aws-iso-b', 'sc2s.sgov.gov'],
    ['eu-isoe-west-1', 'aws-iso-e', 'cloud.adc-e.uk'],
    ['us-isof-south-1', 'aws-iso-f', 'csp.hci.ic.gov'],
    ['eusc-de-east-1', 'aws-eusc', 'amazonaws.eu'],
  ])('puts %s in %s with suffix %s', (region, partition, suffix) => {
    expect(partitionOfRegion(region)).toMatchObject({ partition, dnsSuffix: suffix });
  });

  it('returns undefined for a region AWS does not have', () => {
    expect(partitionOfRegion('us-east-9')).toBeUndefined();
    expect(partitionOfRegion('constructor')).toBeUndefined();
  });
});

describe('Constant: PARTITIONS', () => {
  it('lists every region once', () => {
    expect(new Set(ALL_REGIONS).size).toBe(ALL_REGIONS.length);
  });

  it('lists FIPS regions only among the partition regions (https://docs.aws.amazon.com/general/latest/gr/ecr.html: US, Canada, GovCloud)', () => {
    for (const p of PARTITIONS) {
      for (const r of p.fipsRegions) expect(p.regions).toContain(r);
    }
    expect(PARTITIONS.flatMap((p) => p.fipsRegions).every((r) => /^(us|ca|us-gov)-/.test(r))).toBe(true);
  });

  it('has dual-stack suffixes where https://docs.aws.amazon.com/general/latest/gr/ecr.html documents them', () => {
    const bySuffix = Object.fromEntries(PARTITIONS.map((p) => [p.partition, p.dualStackSuffix]));
    expect(bySuffix).toMatchObject({
      aws: 'on.aws',
      'aws-us-gov': 'on.aws',
      'aws-cn': 'on.amazonwebservices.com.cn',
      'aws-iso': undefined,
    });
  });
});

describe('Function: iamRegionFor', () => {
  it('answers the region IAM signs for in the partition of a region', () => {
    expect(iamRegionFor('eu-west-1')).toBe('us-east-1');
    expect(iamRegionFor('us-gov-east-1')).toBe('us-gov-west-1');
    expect(iamRegionFor('cn-northwest-1')).toBe('cn-north-1');
    expect(iamRegionFor('moon-base-1')).toBe('us-east-1');
  });
});
