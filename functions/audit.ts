import { ECRClient } from '@aws-sdk/client-ecr';
import { IAMClient } from '@aws-sdk/client-iam';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import middy from '@middy/core';
import {
  type AuditTrigger,
  auditTriggerSchema,
  DEFAULT_DEADLINE_RESERVE_MS,
  publishAudit,
  runAudit,
  triggerRegistries,
} from '@nvcf-ecr/core/audit';
import { ConfigError } from '@nvcf-ecr/core/errors';
import { perRegion } from '@nvcf-ecr/core/per-region';
import { ecrPublicImageLister } from './lib/aws/ecr-public.ts';
import { eventBridgeBus } from './lib/aws/eventbridge.ts';
import { s3ObjectStore } from './lib/aws/s3.ts';
import {
  awsClientConfig,
  ENV,
  type FunctionEnvironment,
  iamClientConfig,
  invocable,
  lambdaEntry,
} from './lib/environment.ts';
import { logErrors, parseEvent } from './lib/middleware.ts';
import { nvcfClientFor } from './lib/nvcf.ts';

/**
 * The scheduled compliance audit (the verbs are core's `runAudit` and `publishAudit`): reads IAM,
 * Secrets Manager, ECR, ECR Public and NVCF, writes `reports/<timestamp>/audit.{json,md,html}` to the report
 * bucket, puts `NVCF Compliance Audit` on the project bus and emits metrics. Findings are results, not errors:
 * the invocation fails only when the reports or the event cannot be stored.
 */
export function createAuditHandler(env: FunctionEnvironment) {
  const bucket = env.reportBucket;
  if (!bucket)
    throw new ConfigError([
      { path: ENV.reportBucket, message: 'is not set: the Audit stack sets it to the report bucket' },
    ]);
  const secrets = new SecretsManagerClient(awsClientConfig(env));
  // S3, EventBridge and ECR Public are signed requests, not SDK clients: their three clients would put the
  // bundle over its size budget (functions/lib/aws/request.ts; test/bench/README.md, "Cold start").
  const signed = (region: string) => ({
    region,
    endpoint: env.awsEndpoint,
    credentials: env.credentials,
    maxAttempts: awsClientConfig(env).maxAttempts,
  });
  const objects = s3ObjectStore(signed(env.region));
  const ecr = perRegion((region) => new ECRClient(awsClientConfig(env, region)));
  const deps = {
    iam: new IAMClient(iamClientConfig(env)),
    secrets,
    ecr,
    // ECR Public is called in us-east-1, where its registry authenticates:
    // https://docs.aws.amazon.com/AmazonECR/latest/public/public-registry-auth.html
    ecrPublic: ecrPublicImageLister(signed('us-east-1')),
    nvcf: nvcfClientFor(env, secrets),
    now: env.now,
    logger: env.logger,
    // What earlier runs learned per digest, in the report bucket (packages/core/src/audit/README.md, "Resolution cache").
    resolutionCache: { objects, bucket },
  } satisfies Parameters<typeof runAudit>[1];
  const publish = {
    objects,
    events: eventBridgeBus(signed(env.region)),
    bucket,
    eventBusName: env.eventBusName,
    metrics: env.metrics,
    logger: env.logger,
  };
  const handler = middy<AuditTrigger, unknown>()
    .use(logErrors(env.logger))
    .use(parseEvent({ schema: auditTriggerSchema, logger: env.logger, onInvalid: 'skip' }))
    .handler(async (event, context) => {
      // Lambda stops a function at its timeout with nothing written: the audit budgets its time from the
      // invocation's clock instead, and names what it did not reach (audit.incomplete).
      const remaining = typeof context.getRemainingTimeInMillis === 'function' ? context : undefined;
      const report = await runAudit(env.config, deps, {
        registries: triggerRegistries(event),
        ...(remaining
          ? {
              deadline: {
                remainingMs: () => remaining.getRemainingTimeInMillis(),
                reserveMs: DEFAULT_DEADLINE_RESERVE_MS,
              },
            }
          : {}),
      });
      const { location, eventId } = await publishAudit(report, publish);
      return { summary: report.summary, reports: location, eventId };
    });
  return invocable(handler);
}

export const handler = lambdaEntry(createAuditHandler);
