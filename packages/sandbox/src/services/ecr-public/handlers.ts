import type { JsonOperation, OperationContext } from '../../server/aws.ts';
import type { World } from '../../world.ts';
import { imageApiHandlers, publicImageDetail, publicRepositoryView } from '../ecr/handlers.ts';
import * as input from '../ecr/input.ts';
import { encodeAuthorizationToken } from '../ecr/tokens.ts';
import { ECR_PUBLIC_REGION, type EcrPublicBackend } from './backend.ts';
import { ecrPublicErrors } from './errors.ts';

/**
 * ECR Public operations (`@aws-sdk/client-ecr-public`'s model;
 * https://docs.aws.amazon.com/AmazonECR/latest/public/public-registry-auth.html): repositories, images and the
 * layer API on the private ECR's storage rules, with ECR Public's smaller shapes, its IAM prefix `ecr-public:`, and
 * its token: a single object without `proxyEndpoint`, for which AWS requires both
 * `ecr-public:GetAuthorizationToken` and `sts:GetServiceBearerToken`.
 */

/** The operations ECR Public has (it has no BatchGetImage, ListImages or GetDownloadUrlForLayer). */
const PUBLIC_OPERATIONS = [
  'CreateRepository',
  'DescribeRepositories',
  'DeleteRepository',
  'InitiateLayerUpload',
  'UploadLayerPart',
  'CompleteLayerUpload',
  'BatchCheckLayerAvailability',
  'PutImage',
  'BatchDeleteImage',
  'DescribeImages',
] as const;

/** Every call outside us-east-1 is refused, as AWS refuses the token call there (see `ECR_PUBLIC_REGION`). */
function inRegion(op: JsonOperation): JsonOperation {
  return async (ctx: OperationContext, body) => {
    if (ctx.region !== ECR_PUBLIC_REGION) throw ecrPublicErrors.unsupportedRegion();
    return op(ctx, body);
  };
}

export function ecrPublicHandlers(world: World, backend: EcrPublicBackend): Record<string, JsonOperation> {
  const shared = imageApiHandlers({
    service: 'ecr-public',
    store: () => backend.store,
    arn: (_ctx, registryId, name) =>
      `arn:${world.partition}:ecr-public::${registryId ?? world.accountId}:repository/${name}`,
    repositoryView: publicRepositoryView,
    imageDetail: publicImageDetail,
  });
  const ops: Record<string, JsonOperation> = {};
  for (const name of PUBLIC_OPERATIONS) {
    const op = shared[name];
    if (op) ops[name] = inRegion(op);
  }
  const create = ops['CreateRepository'];
  if (create) {
    // ECR Public answers CreateRepository with the repository and its (empty) catalog data.
    ops['CreateRepository'] = async (ctx, body) => ({
      ...((await create(ctx, body)) as object),
      catalogData: {},
    });
  }
  ops['GetAuthorizationToken'] = inRegion(async (ctx) => {
    await ctx.authorize('ecr-public:GetAuthorizationToken', '*');
    await ctx.authorize('sts:GetServiceBearerToken', '*');
    const token = backend.tokens.issue(ctx.principal, ctx.region, 'ecr-public');
    return {
      authorizationData: {
        authorizationToken: encodeAuthorizationToken(token.password),
        expiresAt: new Date(token.expiresAt),
      },
    };
  });
  ops['DescribeRegistries'] = inRegion(async (ctx, body) => {
    input.ecr(body).int('maxResults', { min: 1, max: 1000 });
    await ctx.authorize('ecr-public:DescribeRegistries', '*');
    return {
      registries: [
        {
          registryId: world.accountId,
          registryArn: `arn:${world.partition}:ecr-public::${world.accountId}:registry/${world.accountId}`,
          registryUri: `public.ecr.aws/${backend.alias}`,
          verified: false,
          aliases: [
            { name: backend.alias, status: 'ACTIVE', primaryRegistryAlias: true, defaultRegistryAlias: true },
          ],
        },
      ],
    };
  });
  return ops;
}
