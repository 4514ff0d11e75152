import { ECRClient } from '@aws-sdk/client-ecr';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import middy from '@middy/core';
import { ContentCache } from '@nvcf-ecr/core/image';
import { perRegion } from '@nvcf-ecr/core/per-region';
import { sdkEventBus } from '@nvcf-ecr/core/ports/sdk';
import {
  type EcrImageActionEvent,
  ecrImageActionEventSchema,
  FunctionCatalogCache,
  type ValidationOutcome,
  validatePush,
} from '@nvcf-ecr/core/validation';
import { awsClientConfig, type FunctionEnvironment, invocable, lambdaEntry } from './lib/environment.ts';
import { logErrors, parseEvent } from './lib/middleware.ts';
import { nvcfClientFor } from './lib/nvcf.ts';

/**
 * ECR push rule → `NVCF Image Validation` verdict (the verb is core's `validatePush`). Clients, the content
 * cache and the NVCF function list live as long as the Lambda container: warm invocations reuse them, so an
 * image seen before (a redelivered event, a new index sharing children) downloads no config again, and a burst
 * of pushes lists NVCF's functions once a minute at most.
 */
export function createValidatePushHandler(env: FunctionEnvironment) {
  const ecr = perRegion((region) => new ECRClient(awsClientConfig(env, region)));
  const deps = {
    config: env.config,
    ecr,
    events: sdkEventBus(new EventBridgeClient(awsClientConfig(env))),
    eventBusName: env.eventBusName,
    cache: new ContentCache({ maxEntries: 2000, maxBytes: 32 * 1024 * 1024 }),
    // NVCF answers within a few seconds or the function check is skipped (the verdict still goes out): two
    // attempts of 5 s at most, well inside the function's 120 s.
    nvcf: nvcfClientFor(
      env,
      new SecretsManagerClient(awsClientConfig(env)),
      { maxAttempts: 2, maxTotalMs: 8_000 },
      5_000,
    ),
    functionCache: new FunctionCatalogCache(),
    logger: env.logger,
    metrics: env.metrics,
    now: env.now,
  } satisfies Parameters<typeof validatePush>[1];
  const handler = middy<EcrImageActionEvent, ValidationOutcome>()
    .use(logErrors(env.logger))
    // A malformed event can never become valid: log it and return, rather than throw into two pointless
    // retries and a dead letter.
    .use(parseEvent({ schema: ecrImageActionEventSchema, logger: env.logger, onInvalid: 'skip' }))
    .handler((event, context) => {
      // Lambda's clock for this invocation: the not-found look-ups stop in time to report (the sandbox's
      // runtime counts down the same way).
      const remaining = typeof context.getRemainingTimeInMillis === 'function' ? context : undefined;
      return validatePush(event, {
        ...deps,
        ...(remaining ? { remainingMs: () => remaining.getRemainingTimeInMillis() } : {}),
      });
    });
  return invocable(handler);
}

export const handler = lambdaEntry(createValidatePushHandler);
