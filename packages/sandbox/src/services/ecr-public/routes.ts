import type { JsonServiceDef } from '../../server/aws.ts';
import type { World } from '../../world.ts';
import type { EcrPublicBackend } from './backend.ts';
import { ecrPublicHandlers } from './handlers.ts';

/**
 * ECR Public over AWS JSON 1.1 (the SDK's service metadata, `@aws-sdk/client-ecr-public`): target prefix
 * `SpencerFrontendService`, signing name `ecr-public`.
 */
export function ecrPublicService(world: World, backend: EcrPublicBackend): JsonServiceDef {
  return {
    protocol: 'json',
    id: 'ecr-public',
    signingName: 'ecr-public',
    targetPrefix: 'SpencerFrontendService',
    messageKey: 'message',
    operations: ecrPublicHandlers(world, backend),
  };
}
