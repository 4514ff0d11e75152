import type { JsonServiceDef } from '../../server/aws.ts';
import type { World } from '../../world.ts';
import type { SecretsManagerBackend } from './backend.ts';
import { secretsManagerHandlers } from './handlers.ts';
import type { RotationEngine } from './rotation.ts';

/**
 * Secrets Manager over AWS JSON 1.1: `X-Amz-Target: secretsmanager.<Operation>`, errors with `Message` (the SDK's
 * service metadata).
 */
export function secretsManagerService(
  world: World,
  backend: SecretsManagerBackend,
  engine: RotationEngine,
): JsonServiceDef {
  return {
    protocol: 'json',
    id: 'secretsmanager',
    signingName: 'secretsmanager',
    targetPrefix: 'secretsmanager',
    messageKey: 'Message',
    operations: secretsManagerHandlers(world, backend, engine),
  };
}
