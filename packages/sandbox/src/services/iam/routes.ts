import type { QueryServiceDef } from '../../server/aws.ts';
import type { World } from '../../world.ts';
import { iamHandlers } from './handlers.ts';

/**
 * The region IAM's global endpoint signs for, per partition (the AWS SDK's IAM endpoint rules: `iam.amazonaws.com`
 * signs for us-east-1, `aws.md` §2.8; China for cn-north-1, GovCloud for us-gov-west-1, and so on).
 */
const IAM_SIGNING_REGIONS: Readonly<Record<string, string>> = {
  aws: 'us-east-1',
  'aws-cn': 'cn-north-1',
  'aws-us-gov': 'us-gov-west-1',
  'aws-iso': 'us-iso-east-1',
  'aws-iso-b': 'us-isob-east-1',
  'aws-iso-e': 'eu-isoe-west-1',
  'aws-iso-f': 'us-isof-south-1',
  'aws-eusc': 'eusc-de-east-1',
};

/** The region every IAM request in `partition` must be signed for. */
export function iamSigningRegion(partition: string): string {
  return IAM_SIGNING_REGIONS[partition] ?? 'us-east-1';
}

/** IAM over the Query protocol (`aws.md` §2.8): version 2010-05-08, global, signed for its partition's one region. */
export function iamService(world: World): QueryServiceDef {
  return {
    protocol: 'query',
    id: 'iam',
    signingName: 'iam',
    signingRegion: iamSigningRegion(world.partition),
    version: '2010-05-08',
    namespace: 'https://iam.amazonaws.com/doc/2010-05-08/',
    operations: iamHandlers(world.iam),
  };
}
