import { URL_SECRET_PLACEHOLDER, type WebhookConfig } from '@nvcf-ecr/core/config';
import {
  consoleUrl,
  type InputTransformer,
  type NotificationKey,
  WEBHOOK_DEAD_LETTER_QUEUE_NAME,
  WEBHOOK_RETRY_POLICY,
  webhookConnectionAuth,
  webhookDestinationName,
  webhookTransformer,
} from '@nvcf-ecr/core/events';
import { Duration, SecretValue, type Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { type StackSettings, suppress } from './stack.ts';

/**
 * Webhooks (`notifications.webhooks`): per webhook an EventBridge connection and API destination, and a
 * target on each notification rule it subscribes to, whose input transformer shapes the message (core
 * `events/webhooks.ts`). No code runs in the delivery path; EventBridge retries and dead-letters.
 *
 * No credential is ever written into the template: where the webhook has a secret, the template holds a
 * CloudFormation dynamic reference to it (`{{resolve:secretsmanager:<name>:SecretString}}`), resolved by
 * CloudFormation at deploy time into the connection's own secret (the connection's API-key value) or into
 * the destination's endpoint (a Slack or Teams URL whose path or query is the credential). CloudFormation
 * documents that such a value "may show up in the service whose resource it's being used in": an endpoint
 * resolved that way is visible to whoever may `events:DescribeApiDestination`
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/dynamic-references-secretsmanager.html).
 */

export interface DeployedWebhooks {
  readonly destinations: events.CfnApiDestination[];
  readonly deadLetters: sqs.Queue | undefined;
}

export function deployWebhooks(
  stack: Stack,
  settings: StackSettings,
  rules: ReadonlyMap<NotificationKey, events.Rule>,
): DeployedWebhooks {
  const hooks = settings.config.notifications.webhooks;
  if (hooks.length === 0) return { destinations: [], deadLetters: undefined };

  // Dead letters hold the notification events (masked key ids, image names), never a secret.
  const deadLetters = new sqs.Queue(stack, 'WebhookDeadLetters', {
    queueName: settings.named(WEBHOOK_DEAD_LETTER_QUEUE_NAME),
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  suppress(deadLetters, [
    {
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself a dead-letter queue: undeliverable webhook messages.',
    },
  ]);

  const role = new iam.Role(stack, 'WebhookInvokeRole', {
    assumedBy: new iam.ServicePrincipal('events.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
    }),
    description: 'Lets the notification rules invoke the webhook API destinations',
  });

  const destinations: events.CfnApiDestination[] = [];
  const ruleArns: string[] = [];
  const ctx = { consoleUrl: consoleUrl(settings.deployment.partition), stage: settings.stage };
  for (const hook of hooks) {
    const destination = webhookDestination(stack, settings, hook);
    destinations.push(destination);
    for (const key of hook.events) {
      const rule = rules.get(key);
      if (!rule) continue;
      const t = webhookTransformer(hook.format, key, ctx);
      rule.addTarget({
        bind: () => ({
          arn: destination.attrArn,
          role,
          input: new TransformerInput(t),
          retryPolicy: {
            maximumRetryAttempts: WEBHOOK_RETRY_POLICY.MaximumRetryAttempts,
            maximumEventAgeInSeconds: WEBHOOK_RETRY_POLICY.MaximumEventAgeInSeconds,
          },
          deadLetterConfig: { arn: deadLetters.queueArn },
          targetResource: destination,
        }),
      });
      ruleArns.push(rule.ruleArn);
    }
  }
  role.addToPolicy(
    new iam.PolicyStatement({
      actions: ['events:InvokeApiDestination'],
      resources: destinations.map((d) => d.attrArn),
    }),
  );
  deadLetters.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowNotificationRules',
      principals: [new iam.ServicePrincipal('events.amazonaws.com')],
      actions: ['sqs:SendMessage'],
      resources: [deadLetters.queueArn],
      conditions: { ArnEquals: { 'aws:SourceArn': [...new Set(ruleArns)] } },
    }),
  );
  return { destinations, deadLetters };
}

function webhookDestination(
  stack: Stack,
  settings: StackSettings,
  hook: WebhookConfig,
): events.CfnApiDestination {
  const id = `Webhook${hook.name.replace(/(^|-)([a-z0-9])/g, (_m, _d, c: string) => c.toUpperCase())}`;
  const secretRef = (name: string) => SecretValue.secretsManager(name).unsafeUnwrap();
  const auth = webhookConnectionAuth(hook, settings.stage);
  const connection = new events.CfnConnection(stack, `${id}Connection`, {
    name: settings.named(webhookDestinationName(hook.name)),
    description: `Authorisation for the ${hook.name} webhook (nvcf-ecr-autopilot notifications)`,
    authorizationType: 'API_KEY',
    authParameters: {
      apiKeyAuthParameters: {
        apiKeyName: auth.header,
        // A dynamic reference, resolved by CloudFormation: the value itself is never in the template.
        apiKeyValue: auth.fromSecret && hook.secretName ? secretRef(hook.secretName) : auth.value,
      },
    },
  });
  const endpoint =
    hook.secretName && hook.url.includes(URL_SECRET_PLACEHOLDER)
      ? hook.url.replace(URL_SECRET_PLACEHOLDER, secretRef(hook.secretName))
      : hook.url;
  return new events.CfnApiDestination(stack, `${id}Destination`, {
    name: settings.named(webhookDestinationName(hook.name)),
    description: `${hook.format} webhook ${hook.name} (nvcf-ecr-autopilot notifications)`,
    connectionArn: connection.attrArn,
    httpMethod: 'POST',
    invocationEndpoint: endpoint,
    invocationRateLimitPerSecond: hook.rateLimitPerSecond,
  });
}

/**
 * An input transformer exactly as core built it: CDK's `RuleTargetInput.fromObject` would quote the
 * placeholders that must stand bare (EventBridge quotes string values itself, `events/transform.ts`).
 */
class TransformerInput extends events.RuleTargetInput {
  readonly #t: InputTransformer;

  public constructor(t: InputTransformer) {
    super();
    this.#t = t;
  }

  public override bind(): events.RuleTargetInputProperties {
    return { inputPathsMap: { ...(this.#t.InputPathsMap ?? {}) }, inputTemplate: this.#t.InputTemplate };
  }
}
