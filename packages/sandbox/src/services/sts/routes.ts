import type { QueryServiceDef } from '../../server/aws.ts';
import type { World } from '../../world.ts';

/**
 * STS over the Query protocol: `GetCallerIdentity` (what rotation and NVCF's key checks call). It needs no
 * permission — AWS answers it for any valid key — so it never consults the caller's policies.
 */
export function stsService(world: World): QueryServiceDef {
  return {
    protocol: 'query',
    id: 'sts',
    signingName: 'sts',
    version: '2011-06-15',
    namespace: 'https://sts.amazonaws.com/doc/2011-06-15/',
    operations: {
      async GetCallerIdentity(ctx) {
        return { UserId: ctx.principal.userId, Account: world.accountId, Arn: ctx.principal.arn };
      },
    },
  };
}
