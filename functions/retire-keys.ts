import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { IAMClient } from '@aws-sdk/client-iam';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import middy from '@middy/core';
import { sdkEventBus } from '@nvcf-ecr/core/ports/sdk';
import { type RetireDeps, type RetireOutcome, retirePreviousKeys } from '@nvcf-ecr/core/rotation';
import * as z from 'zod/mini';
import {
  awsClientConfig,
  type FunctionEnvironment,
  iamClientConfig,
  invocable,
  lambdaEntry,
} from './lib/environment.ts';
import { logErrors, parseEvent } from './lib/middleware.ts';
import { nvcfClientFor } from './lib/nvcf.ts';

/**
 * The hourly retirement of previous pull keys (the verb is core's `retirePreviousKeys`). The
 * schedule's event carries nothing the verb needs, so any JSON object is accepted (an operator may invoke it
 * with `{}`); what to retire comes from the secrets. A registry that fails makes the invocation fail after
 * the others ran, so Lambda's retries cover it. The function has 60 s (`FUNCTIONS.retireKeys`) for every
 * registry: NVCF gets a small budget per call, and a registry is only started while one registry's worth of
 * time is left (`context.getRemainingTimeInMillis`) — the others are reported skipped, not cut off unreported.
 */
const scheduledEventSchema = z.looseObject({});

/**
 * NVCF's budget per call: three attempts within 10 s (the client's default, 5 attempts in 30 s, is half the
 * function's time for one registry's one lookup).
 */
export const RETIRE_NVCF_RETRY = { maxAttempts: 3, maxTotalMs: 10_000 } as const;

/** One registry at most: the NVCF lookup's budget plus the few IAM, Secrets Manager and EventBridge calls. */
export const RETIRE_TIME_PER_REGISTRY_MS = RETIRE_NVCF_RETRY.maxTotalMs + 10_000;

export function createRetireKeysHandler(env: FunctionEnvironment) {
  const secrets = new SecretsManagerClient(awsClientConfig(env));
  const deps: RetireDeps = {
    config: env.config,
    secrets,
    iam: new IAMClient(iamClientConfig(env)),
    nvcf: nvcfClientFor(env, secrets, RETIRE_NVCF_RETRY),
    events: sdkEventBus(new EventBridgeClient(awsClientConfig(env))),
    eventBusName: env.eventBusName,
    now: env.now,
    logger: env.logger,
    metrics: env.metrics,
    timePerRegistryMs: RETIRE_TIME_PER_REGISTRY_MS,
  };
  const handler = middy<Record<string, unknown>, RetireOutcome[]>()
    .use(logErrors(env.logger))
    .use(parseEvent({ schema: scheduledEventSchema, logger: env.logger, onInvalid: 'throw' }))
    .handler((_event, context) =>
      retirePreviousKeys({
        ...deps,
        // Absent when the handler is invoked without a Lambda context (a test, a local run): no limit then.
        ...(typeof context?.getRemainingTimeInMillis === 'function'
          ? { timeLeftMs: () => context.getRemainingTimeInMillis() }
          : {}),
      }),
    );
  return invocable(handler);
}

export const handler = lambdaEntry(createRetireKeysHandler);
