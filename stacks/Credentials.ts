import { FUNCTIONS, PULL_POLICY_NAME, RETIRE_SCHEDULE, RULE_NAMES } from '@nvcf-ecr/core/events';
import { minimalPullPolicy } from '@nvcf-ecr/core/iam';
import { DEPLOYED_BOOTSTRAP_VALUE, KEY_ID_TAG_PREFIX, ROTATION_TAGS } from '@nvcf-ecr/core/rotation';
import { Aws, Duration, RemovalPolicy, SecretValue } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { dependsOn, type StackContext, use } from 'sst/constructs';
import { busDestination } from './lib/events.ts';
import { nodeFunction } from './lib/functions.ts';
import { type CredentialResources, PERMISSIONS, SECRETS_KEY_ALIAS } from './lib/permissions.ts';
import { stackSettings, suppress } from './lib/stack.ts';
import { Notifications } from './Notifications.ts';
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
  // Deployed after Notifications, never beside it: rotation outcomes and function failures go to the bus from
  // the first rotation on, and only Notifications' rules carry them to e-mail. (SST deploys independent stacks
  // in parallel.) A subscription still delivers nothing until its address confirms it.
  dependsOn(Notifications);

  const key = new kms.Key(stack, 'SecretsKey', {
    description: 'Encrypts the nvcf-ecr pull-key secrets and the NGC API key secret',
    // The Audit stack reaches the key by this alias (it imports nothing from this stack).
    alias: `alias/${settings.named(SECRETS_KEY_ALIAS)}`,
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
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
    removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
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
    user.applyRemovalPolicy(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE);
    suppress(user, [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'ecr:GetAuthorizationToken (ecr-public:GetAuthorizationToken and sts:GetServiceBearerToken for ECR Public) take no ' +
          'resource: IAM accepts only "*" for them. Repository actions name the configured repositories.',
        appliesTo: ['Resource::*'],
      },
    ]);

    // The first value is a non-secret constant (core DEPLOYED_BOOTSTRAP_VALUE): CloudFormation never rewrites a
    // live secret because the configuration changed. The operator's first rotation writes the first key.
    const secret = new secretsmanager.Secret(stack, `PullKey-${registry.name}`, {
      secretName: registry.secretName,
      description: `NVCF pull key of registry '${registry.name}' (${registry.hostname}); rotated by nvcf-ecr, do not edit.`,
      encryptionKey: key,
      secretStringValue: SecretValue.unsafePlainText(DEPLOYED_BOOTSTRAP_VALUE),
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
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
    rotationFunctionArn: `arn:${Aws.PARTITION}:lambda:${settings.deployment.region}:${Aws.ACCOUNT_ID}:function:${settings.named(FUNCTIONS.rotateCredential.name)}`,
  };

  const rotateCredential = nodeFunction(stack, settings, {
    key: 'rotateCredential',
    eventBusName: bus.eventBusName,
    statements: PERMISSIONS.rotateCredential(resources),
    // No reserved concurrency: Secrets Manager runs one rotation per secret at a time and does not queue a
    // throttled step (the rotation would fail), and at most 25 registries can rotate at once.
  });
  for (const { secret } of registries) protectRotationTags(secret, rotateCredential.role as iam.IRole);
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
      // A deploy never rotates. With true, CloudFormation calls RotateSecret with RotateImmediately on create and
      // on every schedule or window change: the first one fails (the NGC key secret is still empty) and leaves
      // AWSPENDING, after which every later RotateSecret — the next schedule change, and its rollback — is
      // refused ("A previous rotation isn't complete"). With false, Secrets Manager only tests the configuration
      // by running the function's testSecret step against an AWSPENDING version it creates and removes
      // (RotateSecret API reference, RotateImmediately), which the function passes without touching a key.
      // The first rotation is the operator's, once the NGC key is stored: `nvcf-ecr rotate` (stacks/README.md).
      rotateImmediatelyOnUpdate: false,
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

/** IAM tag an operator role carries to be allowed the force tag (`nvcf-ecr rotate --force`), stacks/README.md. */
export const OPERATOR_PRINCIPAL_TAG = 'nvcf-ecr-operator';

/**
 * The `nvcf-ecr:` tags on a pull-key secret steer the rotation (the intent marker, the record of the key NVCF
 * holds, the force flag: packages/core/src/rotation/README.md, "Tags on the secret"), so only the rotation role
 * may set or remove them; the force tag also a principal tagged `nvcf-ecr-operator=true` (an operator role). An explicit Deny
 * in the secret's resource policy beats any identity policy's Allow
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html), and
 * `aws:TagKeys` names the keys of both TagResource and UntagResource
 * (https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_examples.html).
 */
function protectRotationTags(secret: secretsmanager.Secret, rotationRole: iam.IRole): void {
  const actions = ['secretsmanager:TagResource', 'secretsmanager:UntagResource'];
  const rotation = { ArnNotEquals: { 'aws:PrincipalArn': rotationRole.roleArn } };
  // Everyone but the rotation role and the operators: no `nvcf-ecr:` tag at all.
  secret.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'OnlyTheRotationAndOperatorsTouchRotationTags',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions,
      resources: ['*'],
      conditions: {
        'ForAnyValue:StringLike': { 'aws:TagKeys': ['nvcf-ecr:*'] },
        ...rotation,
        StringNotEquals: { [`aws:PrincipalTag/${OPERATOR_PRINCIPAL_TAG}`]: 'true' },
      },
    }),
  );
  // Operators too: none of the tags the rotation writes for itself (its markers and the key id of every
  // version, `nvcf-ecr:version:*`, which the retirement trusts to tell the current key), only the force tag.
  // StringLike: the exact keys match as themselves, the key-id prefix as a pattern.
  secret.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'OnlyTheRotationWritesItsRecords',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions,
      resources: ['*'],
      conditions: {
        'ForAnyValue:StringLike': {
          'aws:TagKeys': [
            ...Object.values(ROTATION_TAGS).filter((k) => k !== ROTATION_TAGS.force),
            `${KEY_ID_TAG_PREFIX}*`,
          ],
        },
        ...rotation,
      },
    }),
  );
}
