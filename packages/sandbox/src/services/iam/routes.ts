import type { QueryServiceDef } from '../../server/aws.ts';
import type { World } from '../../world.ts';
import { iamHandlers } from './handlers.ts';

/** IAM over the Query protocol (`aws.md` §2.8): version 2010-05-08, global, signed for us-east-1. */
export function iamService(world: World): QueryServiceDef {
  return {
    protocol: 'query',
    id: 'iam',
    version: '2010-05-08',
    namespace: 'https://iam.amazonaws.com/doc/2010-05-08/',
    operations: iamHandlers(world.iam),
  };
}
