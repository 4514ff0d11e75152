import { PULL_POLICY_NAME, RETIRE_SCHEDULE, RULE_NAMES } from '@nvcf-ecr/core/events';
import { minimalPullPolicy } from '@nvcf-ecr/core/iam';
import { bootstrapSecretValue } from '@nvcf-ecr/core/rotation';
import { Aws, Duration, RemovalPolicy, SecretValue } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { type StackContext, use } from 'sst/constructs';
import { busDestination } from './lib/events.ts';
import { nodeFunction } from './lib/functions.ts';
import { type CredentialResources, PERMISSIONS } from './lib/permissions.ts';
import { stackSettings, suppress } from './lib/stack.ts';
import { Validation } from './Validation.ts';

/**
 * Everything NVCF's pull access is made of, per registry: the pull user with exactly NVCF's minimal policy,
 * the rotated secret and its schedule; shared: the key that encrypts the secrets, the NGC API key secret, the
 * rotation function and the hourly retirement of previous keys.
 *
 * `sst remove` keeps what NVCF depends on (users with their policy, secrets, the key): removing the
 * automation must not break image pulls, and a secret's value cannot be recreated. stacks/README.md says how
 * to delete them for good.
 */
export function Credentials({ app, stack }: StackContext) {
  const settings = stackSettings(app, stack);
  const { config } = settings;
  const { bus } = use(Validation);

  const key = new kms.Key(stack, 'SecretsKey', {
    description: 'Encrypts the nvcf-ecr pull-key secrets and the NGC API key secret',
    alias: `alias/${settings.named('nvcf-ecr-secrets')}`,
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });

  // Created without a value: a value in the template (even a generated placeholder, which CloudFormation
  // would store as the secret's first version) is what this secret must never have. CloudFormation creates an
  // empty secret when neither SecretString nor GenerateSecretString is given; CDK's Secret always adds
  // GenerateSecretString, so it is removed. Fill it with `aws secretsmanager put-secret-value`
  // (stacks/README.md).
  const ngcApiKey = new secretsmanager.Secret(stack, 'NgcApiKey', {
    secretName: config.ngc.apiKeySecretName,
    description:
      'NGC API key the rotation uses to update the NVCF registry credential. Created empty: see stacks/README.md.',
    encryptionKey: key,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  (ngcApiKey.node.defaultChild as secretsmanager.CfnSecret).addPropertyDeletionOverride(
    'GenerateSecretString',
  );
  suppress(ngcApiKey, [
    {
      id: 'AwsSolutions-SMG4',
      reason:
        'NGC API keys are issued by NVIDIA NGC, not AWS: Secrets Manager cannot rotate them. The operator rotates the key in ' +
        'NGC and puts the new value; the audit checks that the stored key works.',
    },
  ]);

  const registries = config.registries.map((registry) => {
    const user = new iam.User(stack, `PullUser-${registry.name}`, { userName: registry.userName });
    // The policy is inline on the user (one resource, kept with it) and is core's document to the letter: the
    // audit compares the user's effective policies with this same document.
    (user.node.defaultChild as iam.CfnUser).policies = [
      { policyName: PULL_POLICY_NAME, policyDocument: minimalPullPolicy(registry) },
    ];
    user.applyRemovalPolicy(RemovalPolicy.RETAIN);
    suppress(user, [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'ecr:GetAuthorizationToken (ecr-public:GetAuthorizationToken and sts:GetServiceBearerToken for ECR Public) take no ' +
          'resource: IAM accepts only "*" for them. Repository actions name the configured repositories.',
        appliesTo: ['Resource::*'],
      },
    ]);

    // The first value is the non-secret bootstrap: who the key is for, no key. The immediate first rotation
    // creates the first key and the NVCF credential.
    const secret = new secretsmanager.Secret(stack, `PullKey-${registry.name}`, {
      secretName: registry.secretName,
      description: `NVCF pull key of registry '${registry.name}' (${registry.hostname}); rotated by nvcf-ecr, do not edit.`,
      encryptionKey: key,
      // core's bootstrapSecretValue: the value the sandbox runtime creates too, and the rotation recognises.
      secretStringValue: SecretValue.unsafePlainText(bootstrapSecretValue(registry)),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    return { registry, user, secret };
  });

  const resources: CredentialResources = {
    region: settings.deployment.region,
    registrySecretArns: registries.map((r) => r.secret.secretArn),
    ngcSecretArn: ngcApiKey.secretArn,
    secretsKeyArn: key.keyArn,
    pullUserArns: registries.map((r) => r.user.userArn),
    eventBusArn: bus.eventBusArn,
  };

  const rotateCredential = nodeFunction(stack, settings, {
    key: 'rotateCredential',
    eventBusName: bus.eventBusName,
    statements: PERMISSIONS.rotateCredential(resources),
    // No reserved concurrency: Secrets Manager runs one rotation per secret at a time and does not queue a
    // throttled step (the rotation would fail), and at most 25 registries can rotate at once.
  });
  for (const { registry, secret } of registries) {
    // Secrets Manager may invoke the function for this secret only, from this account
    // (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html;
    // one permission per secret, so each carries its SourceArn).
    const permission = new lambda.CfnPermission(stack, `RotationInvoke-${registry.name}`, {
      functionName: rotateCredential.functionArn,
      action: 'lambda:InvokeFunction',
      principal: 'secretsmanager.amazonaws.com',
      sourceAccount: Aws.ACCOUNT_ID,
      sourceArn: secret.secretArn,
    });
    const schedule = new secretsmanager.CfnRotationSchedule(stack, `Rotation-${registry.name}`, {
      secretId: secret.secretArn,
      rotationLambdaArn: rotateCredential.functionArn,
      // A rate or cron expression and a window (Duration); the config validated both
      // (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotationRulesType.html).
      rotationRules: { scheduleExpression: registry.rotation.schedule, duration: registry.rotation.window },
      // The bootstrap: rotate as soon as the schedule exists (and whenever it changes).
      rotateImmediatelyOnUpdate: true,
    });
    schedule.addDependency(permission);
  }

  const retireKeys = nodeFunction(stack, settings, {
    key: 'retireKeys',
    eventBusName: bus.eventBusName,
    statements: PERMISSIONS.retireKeys(resources),
    // One run at a time: two overlapping runs (the hourly one and a manual invocation) must not decide about
    // the same key concurrently.
    reservedConcurrency: 1,
  });
  const retireSchedule = new events.Rule(stack, 'RetireSchedule', {
    ruleName: settings.named(RULE_NAMES.retireSchedule),
    description: 'Deactivates previous pull keys after their grace period',
    schedule: events.Schedule.expression(RETIRE_SCHEDULE),
  });
  // A missed run is made up by the next one an hour later: no dead-letter queue, short retries.
  retireSchedule.addTarget(
    new targets.LambdaFunction(retireKeys, { retryAttempts: 2, maxEventAge: Duration.hours(1) }),
  );
  retireKeys.configureAsyncInvoke({
    retryAttempts: 2,
    maxEventAge: Duration.hours(1),
    onFailure: busDestination(bus),
  });

  return { key, ngcApiKey, registries, resources, rotateCredential, retireKeys, retireSchedule };
}
