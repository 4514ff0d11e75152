/**
 * AWS partitions and the regions ECR serves in each. The list follows the regions the AWS SDKs know
 * (NVCF checks ECR hostnames against the AWS Java SDK's list, `RegistryMapperService`, so a region missing
 * here is one NVCF refuses too). Update when AWS opens a region.
 */

export type Partition =
  | 'aws'
  | 'aws-cn'
  | 'aws-us-gov'
  | 'aws-iso'
  | 'aws-iso-b'
  | 'aws-iso-e'
  | 'aws-iso-f'
  | 'aws-eusc';

export interface PartitionInfo {
  readonly partition: Partition;
  /** DNS suffix of the standard (IPv4) endpoints, e.g. `amazonaws.com`. */
  readonly dnsSuffix: string;
  /** DNS suffix of the dual-stack registry endpoints, where the partition has them. */
  readonly dualStackSuffix: string | undefined;
  readonly regions: readonly string[];
  /**
   * Regions with FIPS registry endpoints (US and Canada commercial, GovCloud;
   * https://docs.aws.amazon.com/general/latest/gr/ecr.html).
   */
  readonly fipsRegions: readonly string[];
  /**
   * The region IAM's global endpoint signs for (the AWS SDK's IAM endpoint rules: `iam.amazonaws.com` signs
   * for us-east-1). A client with an endpoint override must be configured with it, because the
   * SDK then signs for whatever region the client has.
   */
  readonly iamRegion: string;
}

export const PARTITIONS: readonly PartitionInfo[] = [
  {
    partition: 'aws',
    dnsSuffix: 'amazonaws.com',
    dualStackSuffix: 'on.aws',
    regions: [
      'af-south-1',
      'ap-east-1',
      'ap-east-2',
      'ap-northeast-1',
      'ap-northeast-2',
      'ap-northeast-3',
      'ap-south-1',
      'ap-south-2',
      'ap-southeast-1',
      'ap-southeast-2',
      'ap-southeast-3',
      'ap-southeast-4',
      'ap-southeast-5',
      'ap-southeast-6',
      'ap-southeast-7',
      'ca-central-1',
      'ca-west-1',
      'eu-central-1',
      'eu-central-2',
      'eu-north-1',
      'eu-south-1',
      'eu-south-2',
      'eu-west-1',
      'eu-west-2',
      'eu-west-3',
      'il-central-1',
      'me-central-1',
      'me-south-1',
      'mx-central-1',
      'sa-east-1',
      'us-east-1',
      'us-east-2',
      'us-west-1',
      'us-west-2',
    ],
    fipsRegions: ['us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'ca-central-1', 'ca-west-1'],
    iamRegion: 'us-east-1',
  },
  {
    partition: 'aws-cn',
    dnsSuffix: 'amazonaws.com.cn',
    dualStackSuffix: 'on.amazonwebservices.com.cn',
    regions: ['cn-north-1', 'cn-northwest-1'],
    fipsRegions: [],
    iamRegion: 'cn-north-1',
  },
  {
    partition: 'aws-us-gov',
    dnsSuffix: 'amazonaws.com',
    dualStackSuffix: 'on.aws',
    regions: ['us-gov-east-1', 'us-gov-west-1'],
    fipsRegions: ['us-gov-east-1', 'us-gov-west-1'],
    iamRegion: 'us-gov-west-1',
  },
  {
    partition: 'aws-iso',
    dnsSuffix: 'c2s.ic.gov',
    dualStackSuffix: undefined,
    regions: ['us-iso-east-1', 'us-iso-west-1'],
    fipsRegions: [],
    iamRegion: 'us-iso-east-1',
  },
  {
    partition: 'aws-iso-b',
    dnsSuffix: 'sc2s.sgov.gov',
    dualStackSuffix: undefined,
    regions: ['us-isob-east-1', 'us-isob-west-1'],
    fipsRegions: [],
    iamRegion: 'us-isob-east-1',
  },
  {
    partition: 'aws-iso-e',
    dnsSuffix: 'cloud.adc-e.uk',
    dualStackSuffix: undefined,
    regions: ['eu-isoe-west-1'],
    fipsRegions: [],
    iamRegion: 'eu-isoe-west-1',
  },
  {
    partition: 'aws-iso-f',
    dnsSuffix: 'csp.hci.ic.gov',
    dualStackSuffix: undefined,
    regions: ['us-isof-east-1', 'us-isof-south-1'],
    fipsRegions: [],
    iamRegion: 'us-isof-south-1',
  },
  {
    partition: 'aws-eusc',
    dnsSuffix: 'amazonaws.eu',
    dualStackSuffix: undefined,
    regions: ['eusc-de-east-1'],
    fipsRegions: [],
    iamRegion: 'eusc-de-east-1',
  },
];

const BY_REGION = new Map<string, PartitionInfo>();
for (const p of PARTITIONS) for (const r of p.regions) BY_REGION.set(r, p);

/** The partition a known region belongs to, or `undefined` for a region AWS does not have. */
export function partitionOfRegion(region: string): PartitionInfo | undefined {
  return BY_REGION.get(region);
}

/** The region IAM requests in `region`'s partition are signed for (us-east-1 for unknown regions). */
export function iamRegionFor(region: string): string {
  return partitionOfRegion(region)?.iamRegion ?? 'us-east-1';
}

/** Every region of every partition. */
export const ALL_REGIONS: readonly string[] = [...BY_REGION.keys()];
