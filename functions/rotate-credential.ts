import { ECRClient } from '@aws-sdk/client-ecr';
import { ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { IAMClient } from '@aws-sdk/client-iam';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import middy from '@middy/core';
import { sdkEventBus } from '@nvcf-ecr/core/ports/sdk';
import {
  type ClientsForKey,
  type RotationDeps,
  type RotationInvocation,
  type RotationTiming,
  rotateCredential,
  rotationInvocationSchema,
} from '@nvcf-ecr/core/rotation';
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
 * Secrets Manager rotation of the NVCF pull key (the verb is core's `rotateCredential`). Secrets
 * Manager invokes it once per step with `{Step, SecretId, ClientRequestToken, RotationToken?}`; a malformed
 * event fails the step (Secrets Manager marks the rotation failed). The new key is proven with clients signed
 * by that key itself (`clientsForKey`): one attempt each, the step's bounded waits do the retrying.
 */
export function createRotateCredentialHandler(
  env: FunctionEnvironment,
  options: {
    timing?: Partial<RotationTiming>;
    nvcfTimeoutMs?: number;
    /** Waits on another clock (the sandbox's virtual one, for tests that age keys by hours). */
    waits?: Pick<RotationDeps, 'sleep' | 'monotonic'>;
  } = {},
) {
  const secrets = new SecretsManagerClient(awsClientConfig(env));
  const clientsForKey: ClientsForKey = (key, region) => {
    const withKey = { ...awsClientConfig(env, region), credentials: key, maxAttempts: 1 };
    const clients = {
      sts: new STSClient(withKey),
      ecr: new ECRClient(withKey),
      // ECR Public issues tokens in us-east-1:
      // https://docs.aws.amazon.com/AmazonECR/latest/public/public-registry-auth.html
      ecrPublic: new ECRPUBLICClient({ ...withKey, region: 'us-east-1' }),
    };
    return {
      ...clients,
      destroy: () => {
        for (const c of Object.values(clients)) c.destroy();
      },
    };
  };
  const deps: RotationDeps = {
    config: env.config,
    secrets,
    iam: new IAMClient(iamClientConfig(env)),
    // Inside the step's own NVCF budget: a few quick retries of 429/5xx per call, then the step decides.
    nvcf: nvcfClientFor(env, secrets, { maxAttempts: 3, maxTotalMs: 15_000 }, options.nvcfTimeoutMs),
    clientsForKey,
    events: sdkEventBus(new EventBridgeClient(awsClientConfig(env))),
    eventBusName: env.eventBusName,
    now: env.now,
    logger: env.logger,
    metrics: env.metrics,
    timing: options.timing,
    ...(options.waits ?? env.waits),
  };
  const handler = middy<RotationInvocation, void>()
    .use(logErrors(env.logger))
    .use(parseEvent({ schema: rotationInvocationSchema, logger: env.logger, onInvalid: 'throw' }))
    // Each invocation budgets its steps from the time Lambda gives it, keeping enough to report a failure.
    .handler((event, context) =>
      rotateCredential(event, {
        ...deps,
        ...(typeof context?.getRemainingTimeInMillis === 'function'
          ? { timeLeftMs: () => context.getRemainingTimeInMillis() }
          : {}),
      }),
    );
  return invocable(handler);
}

export const handler = lambdaEntry(createRotateCredentialHandler);
