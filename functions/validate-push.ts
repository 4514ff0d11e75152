import { ECRClient } from '@aws-sdk/client-ecr';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import middy from '@middy/core';
import { ContentCache } from '@nvcf-ecr/core/image';
import { perRegion } from '@nvcf-ecr/core/per-region';
import { sdkEventBus } from '@nvcf-ecr/core/ports/sdk';
import {
  type EcrImageActionEvent,
  ecrImageActionEventSchema,
  type ValidationOutcome,
  validatePush,
} from '@nvcf-ecr/core/validation';
import { awsClientConfig, type FunctionEnvironment, invocable, lambdaEntry } from './lib/environment.ts';
import { logErrors, parseEvent } from './lib/middleware.ts';

/**
 * ECR push rule → `NVCF Image Validation` verdict (the verb is core's `validatePush`). Clients and
 * the content cache live as long as the Lambda container: warm invocations reuse both, so an image seen
 * before (a redelivered event, a new index sharing children) costs no ECR call.
 */
export function createValidatePushHandler(env: FunctionEnvironment) {
  const ecr = perRegion((region) => new ECRClient(awsClientConfig(env, region)));
  const deps = {
    config: env.config,
    ecr,
    events: sdkEventBus(new EventBridgeClient(awsClientConfig(env))),
    eventBusName: env.eventBusName,
    cache: new ContentCache({ maxEntries: 2000, maxBytes: 32 * 1024 * 1024 }),
    logger: env.logger,
    metrics: env.metrics,
    now: env.now,
  } satisfies Parameters<typeof validatePush>[1];
  const handler = middy<EcrImageActionEvent, ValidationOutcome>()
    .use(logErrors(env.logger))
    // A malformed event can never become valid: log it and return, rather than throw into two pointless
    // retries and a dead letter.
    .use(parseEvent({ schema: ecrImageActionEventSchema, logger: env.logger, onInvalid: 'skip' }))
    .handler((event) => validatePush(event, deps));
  return invocable(handler);
}

export const handler = lambdaEntry(createValidatePushHandler);
