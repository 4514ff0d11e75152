import type { JsonServiceDef } from '../../server/aws.ts';
import type { World } from '../../world.ts';
import type { EcrBackend } from './backend.ts';
import { ecrHandlers } from './handlers.ts';

/**
 * ECR over AWS JSON 1.1 (the SDK's service metadata, `@aws-sdk/client-ecr`): target prefix
 * `AmazonEC2ContainerRegistry_V20150921`, message `message`.
 */
export function ecrService(world: World, backend: EcrBackend): JsonServiceDef {
  return {
    protocol: 'json',
    id: 'ecr',
    signingName: 'ecr',
    targetPrefix: 'AmazonEC2ContainerRegistry_V20150921',
    messageKey: 'message',
    operations: ecrHandlers(world, backend),
  };
}
