import { repositoryArn } from '@nvcf-ecr/core/ecr';
import { ecrPushRulePattern, PROJECT_EVENT_BUS_NAME, RULE_NAMES } from '@nvcf-ecr/core/events';
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { StackContext } from 'sst/constructs';
import { queueDestination, toCdkEventPattern } from './lib/events.ts';
import { nodeFunction } from './lib/functions.ts';
import { PERMISSIONS, SECRETS_KEY_ALIAS, secretArnPattern } from './lib/permissions.ts';
import { stackSettings, suppress } from './lib/stack.ts';

/**
 * Push validation: the project's event bus (every verdict, rotation outcome and audit summary goes there),
 * the ECR push rule on the default bus, and the function it triggers, with dead-letter queues for events that
 * could not be delivered or processed.
 */
export function Validation({ app, stack }: StackContext) {
  const settings = stackSettings(app, stack, { warn: true });
  const { config, deployment } = settings;

  const bus = new events.EventBus(stack, 'Bus', { eventBusName: settings.named(PROJECT_EVENT_BUS_NAME) });

  // Dead letters hold image events (repository, tag, digest), not secrets; SSE-SQS encrypts them at rest at no
  // cost, and the queue refuses plain-HTTP clients. Fourteen days (SQS's maximum) leaves time to redrive.
  const deadLetters = (id: string, purpose: string) => {
    const queue = new sqs.Queue(stack, id, {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    suppress(queue, [
      { id: 'AwsSolutions-SQS3', reason: `This queue is itself a dead-letter queue: ${purpose}.` },
    ]);
    return queue;
  };
  const deliveryDeadLetters = deadLetters(
    'PushDeliveryDeadLetters',
    'ECR push events EventBridge could not deliver to the function',
  );
  const failedValidations = deadLetters(
    'ValidationFailures',
    'ECR push events the function failed on after its retries',
  );

  // Every configured private repository, whatever its region or account: events forwarded from other
  // regions or accounts (stacks/README.md) arrive on this default bus and must match too. A configuration of
  // ECR Public registries only has no push events to validate (ECR Public emits none to EventBridge), so it
  // gets neither the function nor the rule: an IAM statement without resources would not even deploy.
  const pattern = ecrPushRulePattern(config);
  let validatePush: ReturnType<typeof nodeFunction> | undefined;
  let pushRule: events.Rule | undefined;
  if (pattern) {
    validatePush = nodeFunction(stack, settings, {
      key: 'validatePush',
      eventBusName: bus.eventBusName,
      statements: PERMISSIONS.validatePush({
        privateRepositoryArns: config.registries
          .filter((r) => r.kind === 'private')
          .flatMap((r) =>
            r.repositories.map((repo) => repositoryArn(r.partition, r.region, r.accountId, repo)),
          ),
        eventBusArn: bus.eventBusArn,
        failureQueueArn: failedValidations.queueArn,
        // Function-aware validation lists NVCF's functions with the NGC API key, named like the Audit stack
        // names it (Credentials, which creates it, is deployed after this stack).
        ngcSecretArn: secretArnPattern(
          deployment.partition,
          deployment.region,
          deployment.account,
          config.ngc.apiKeySecretName,
        ),
        partition: deployment.partition,
        region: deployment.region,
        account: deployment.account,
        secretsKeyAlias: `alias/${settings.named(SECRETS_KEY_ALIAS)}`,
      }),
      // Each invocation makes a few ECR reads per second at most; ten at a time stay far below ECR's
      // BatchGetImage rate (1,000–2,000/s per account and region depending on the table's version,
      // https://docs.aws.amazon.com/AmazonECR/latest/userguide/service-quotas.html), which NVCF's own pulls
      // share. A push burst beyond that waits in Lambda's asynchronous queue instead of throttling image pulls.
      reservedConcurrency: 10,
    });
    pushRule = new events.Rule(stack, 'EcrPushRule', {
      ruleName: settings.named(RULE_NAMES.ecrPush),
      description: 'Successful ECR pushes to the configured repositories → push validation',
      eventPattern: toCdkEventPattern(pattern),
    });
    pushRule.addTarget(
      new targets.LambdaFunction(validatePush, {
        // EventBridge retries delivery (throttling, Lambda unavailable) for up to two hours, then dead-letters.
        retryAttempts: 8,
        maxEventAge: Duration.hours(2),
        deadLetterQueue: deliveryDeadLetters,
      }),
    );
    // Lambda retries a failed asynchronous invocation twice, then hands the event to the failure queue. A push
    // ECR does not serve yet is such a failure until it is 2 minutes old (core `NOT_FOUND_SETTLED_AFTER_MS`):
    // the third attempt, about 3 minutes after the first, always publishes a verdict. Keep at least 2 retries.
    validatePush.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: queueDestination(failedValidations),
    });
  }

  return { bus, validatePush, pushRule, deliveryDeadLetters, failedValidations };
}
