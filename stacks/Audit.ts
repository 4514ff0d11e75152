import { AUDIT_REPORT_PREFIX, RESOLUTION_CACHE_PREFIX } from '@nvcf-ecr/core/audit';
import { publicRepositoryArn, repositoryArn } from '@nvcf-ecr/core/ecr';
import { ConfigError } from '@nvcf-ecr/core/errors';
import { RULE_NAMES, reportBucketName } from '@nvcf-ecr/core/events';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { dependsOn, type StackContext, use } from 'sst/constructs';
import { ENV } from '../functions/lib/environment.ts';
import { Credentials } from './Credentials.ts';
import { busDestination } from './lib/events.ts';
import { nodeFunction } from './lib/functions.ts';
import { PERMISSIONS, SECRETS_KEY_ALIAS, secretArnPattern } from './lib/permissions.ts';
import { stackSettings, suppress } from './lib/stack.ts';
import { Validation } from './Validation.ts';

/**
 * The scheduled compliance audit and the bucket its reports go to. The audit reads live APIs (IAM, Secrets
 * Manager, ECR, NVCF) and writes JSON, Markdown and HTML reports under `reports/`.
 */
export function Audit({ app, stack }: StackContext) {
  const settings = stackSettings(app, stack);
  const { config, deployment } = settings;
  const { bus } = use(Validation);
  // After Credentials (the audit reads what it creates), but importing nothing from it: every name below comes
  // from the configuration, so registries and names can change without an export in use blocking the update.
  dependsOn(Credentials);
  const { partition, account, region } = deployment;

  const bucketName = reportBucketName(deployment.account, deployment.region, settings.stage);
  if (bucketName.length > 63) {
    throw new ConfigError(
      [
        {
          path: 'stage',
          message: `makes the report bucket name '${bucketName}' longer than S3's 63 characters: use a shorter stage`,
        },
      ],
      'the Audit stack',
    );
  }
  // Reports hold findings about the pull chain (key ids masked, no secrets), readable by the account only.
  // They are evidence, so the bucket survives `sst remove`; old reports expire after the configured days.
  const reports = new s3.Bucket(stack, 'Reports', {
    bucketName,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    lifecycleRules: [
      {
        id: 'expire-old-reports',
        prefix: AUDIT_REPORT_PREFIX,
        expiration: Duration.days(config.audit.reportRetentionDays),
        abortIncompleteMultipartUploadAfter: Duration.days(1),
      },
      {
        // The audit's resolution cache: each run rewrites a repository's object at least weekly (core
        // CACHE_REFRESH_MS), so only objects of repositories no longer audited, or of an old cache version, expire.
        id: 'expire-unused-resolution-cache',
        prefix: RESOLUTION_CACHE_PREFIX,
        expiration: Duration.days(30),
      },
    ],
  });
  suppress(reports, [
    {
      id: 'AwsSolutions-S1',
      reason:
        'One role writes to this bucket (the audit function) and nothing reads it automatically; server access logs would ' +
        'need a second bucket that logs nowhere. Enable CloudTrail S3 data events for the account if reads must be traced.',
    },
  ]);

  const audit = nodeFunction(stack, settings, {
    key: 'audit',
    eventBusName: bus.eventBusName,
    environment: { [ENV.reportBucket]: reports.bucketName },
    statements: PERMISSIONS.audit({
      region,
      registrySecretArns: config.registries.map((r) =>
        secretArnPattern(partition, region, account, r.secretName),
      ),
      ngcSecretArn: secretArnPattern(partition, region, account, config.ngc.apiKeySecretName),
      secretsKeyAlias: `alias/${settings.named(SECRETS_KEY_ALIAS)}`,
      pullUserArns: config.registries.map((r) => `arn:${partition}:iam::${account}:user/${r.userName}`),
      eventBusArn: bus.eventBusArn,
      partition,
      account,
      privateRepositoryArns: config.registries
        .filter((r) => r.kind === 'private')
        .flatMap((r) =>
          r.repositories.map((repo) => repositoryArn(r.partition, r.region, r.accountId, repo)),
        ),
      publicRepositoryArns: config.registries
        .filter((r) => r.kind === 'public')
        .flatMap((r) => r.repositories.map((repo) => publicRepositoryArn(r.accountId, repo))),
      reportBucketArn: reports.bucketArn,
    }),
    // One audit at a time: a slow run overlapping the next would double the load on IAM, ECR and NVCF and write
    // two reports for the same state.
    reservedConcurrency: 1,
  });

  const schedule = new events.Rule(stack, 'AuditSchedule', {
    ruleName: settings.named(RULE_NAMES.auditSchedule),
    description: 'Runs the NVCF pull chain compliance audit',
    schedule: events.Schedule.expression(config.audit.schedule),
  });
  schedule.addTarget(new targets.LambdaFunction(audit, { retryAttempts: 2, maxEventAge: Duration.hours(2) }));
  // A failed audit is retried once; then the failure is put on the bus, which notifies (Notifications).
  audit.configureAsyncInvoke({
    retryAttempts: 1,
    maxEventAge: Duration.hours(2),
    onFailure: busDestination(bus),
  });

  return { reports, audit, schedule };
}
