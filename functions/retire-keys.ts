import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { IAMClient } from '@aws-sdk/client-iam';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import middy from '@middy/core';
import { type RetireDeps, type RetireOutcome, retirePreviousKeys } from '@nvcf-ecr/core';
import type { Context } from 'aws-lambda';
import * as z from 'zod/mini';
import { awsClientConfig, type FunctionEnvironment, lambdaEntry } from './lib/environment.ts';
import { logErrors, parseEvent } from './lib/middleware.ts';
import { nvcfClientFor } from './lib/nvcf.ts';

/**
 * The hourly retirement of previous pull keys (issue #4; the verb is core's `retirePreviousKeys`). The
 * schedule's event carries nothing the verb needs, so any JSON object is accepted (an operator may invoke it
 * with `{}`); what to retire comes from the secrets. A registry that fails makes the invocation fail after
 * the others ran, so Lambda's retries cover it.
 */
const scheduledEventSchema = z.looseObject({});

export function createRetireKeysHandler(env: FunctionEnvironment) {
  const secrets = new SecretsManagerClient(awsClientConfig(env));
  const deps: RetireDeps = {
    config: env.config,
    secrets,
    iam: new IAMClient(awsClientConfig(env)),
    nvcf: nvcfClientFor(env, secrets),
    events: new EventBridgeClient(awsClientConfig(env)),
    eventBusName: env.eventBusName,
    now: env.now,
    logger: env.logger,
    metrics: env.metrics ?? ((m) => env.logger.debug('metric', { metric: m })),
  };
  const handler = middy<Record<string, unknown>, RetireOutcome[]>()
    .use(logErrors(env.logger))
    .use(parseEvent({ schema: scheduledEventSchema, logger: env.logger, onInvalid: 'throw' }))
    .handler(() => retirePreviousKeys(deps));
  return (event: unknown, context?: unknown): Promise<RetireOutcome[]> =>
    handler(event as Record<string, unknown>, (context ?? {}) as Context);
}

export const handler = lambdaEntry(createRetireKeysHandler);
