import { PARTITIONS } from '@nvcf-ecr/core/ecr';
import type { QueryServiceDef } from '../../server/aws.ts';
import type { World } from '../../world.ts';
import { iamHandlers } from './handlers.ts';
import { simulateHandlers } from './simulate.ts';

/** The region every IAM request in `partition` must be signed for (core's partition data). */
export function iamSigningRegion(partition: string): string {
  return PARTITIONS.find((p) => p.partition === partition)?.iamRegion ?? 'us-east-1';
}

/**
 * IAM over the Query protocol (`smithy-lang/smithy:docs/source-2.0/aws/protocols/aws-query-protocol.rst`): version
 * 2010-05-08, global, signed for its partition's one region.
 */
export function iamService(world: World): QueryServiceDef {
  return {
    protocol: 'query',
    id: 'iam',
    signingName: 'iam',
    signingRegion: iamSigningRegion(world.partition),
    version: '2010-05-08',
    namespace: 'https://iam.amazonaws.com/doc/2010-05-08/',
    operations: { ...iamHandlers(world.iam), ...simulateHandlers(world.iam) },
  };
}
