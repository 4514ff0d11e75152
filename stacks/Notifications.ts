import {
  consoleUrl,
  NOTIFICATION_RULE_PREFIX,
  NOTIFICATION_TOPIC_NAME,
  type NotificationKey,
  notificationMessages,
  notificationPatterns,
} from '@nvcf-ecr/core/events';
import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { type StackContext, use } from 'sst/constructs';
import { observability } from './lib/dashboard.ts';
import { FUNCTION_FAILURE_PATTERN, toCdkEventPattern } from './lib/events.ts';
import { stackSettings } from './lib/stack.ts';
import { deployWebhooks } from './lib/webhooks.ts';
import { Validation } from './Validation.ts';

/**
 * What an operator must hear about, by e-mail and in chat: images NVCF cannot run, failed rotations, postponed
 * key retirements, audits with failures, scheduled functions that crashed, and dead letters. One encrypted SNS
 * topic fed by rules on the project bus and by alarms (dead-letter queues, failed rotations, key age, audit
 * failures of high severity); the same rules also target the configured webhooks (`lib/webhooks.ts`); and the
 * operator's dashboard (`lib/dashboard.ts`).
 */

/** Headline and what to do, per notification (core `events/messages.ts`); the event's detail follows as JSON. */
type Text = { readonly headline: string; readonly action: string };

const FUNCTION_FAILED: Text = {
  headline: 'A scheduled nvcf-ecr function failed after its retries.',
  action: 'Read the function\u2019s log (the detail names the function and the error).',
};

export function Notifications({ app, stack }: StackContext) {
  const settings = stackSettings(app, stack);
  const { bus, deliveryDeadLetters, failedValidations } = use(Validation);
  const messages: Record<NotificationKey | 'function-failed', Text> = {
    ...notificationMessages({ consoleUrl: consoleUrl(settings.deployment.partition), stage: settings.stage }),
    'function-failed': FUNCTION_FAILED,
  };

  // SNS encrypts with this key. EventBridge and CloudWatch publish as AWS services, which the AWS-managed
  // alias/aws/sns key cannot admit (its policy is fixed), hence a customer-managed key whose policy lets them
  // generate and decrypt data keys (EventBridge guide, "Amazon SNS topics as targets"; CloudWatch guide,
  // alarm actions to encrypted topics). Who may publish at all is decided by the topic policy below.
  // Nothing it encrypts outlives the topic (SNS keeps no messages), so it goes with the stack: CloudFormation
  // schedules its deletion (7 days, KMS's minimum) instead of leaving a key that bills $1 a month forever.
  const key = new kms.Key(stack, 'TopicKey', {
    description: `Encrypts the ${settings.named(NOTIFICATION_TOPIC_NAME)} topic`,
    enableKeyRotation: true,
    alias: `alias/${settings.named(NOTIFICATION_TOPIC_NAME)}`,
    removalPolicy: RemovalPolicy.DESTROY,
    pendingWindow: Duration.days(7),
  });
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowPublishingServicesToUseTheKey',
      principals: [
        new iam.ServicePrincipal('events.amazonaws.com'),
        new iam.ServicePrincipal('cloudwatch.amazonaws.com'),
      ],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: ['*'],
      // Only on behalf of this account's rules and alarms: the services' principals are shared by every
      // account (Amazon SNS Developer Guide, "Enable compatibility between event sources from AWS services and
      // encrypted topics", https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html).
      conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
    }),
  );

  const topic = new sns.Topic(stack, 'Topic', {
    topicName: settings.named(NOTIFICATION_TOPIC_NAME),
    displayName: 'nvcf-ecr-autopilot',
    masterKey: key,
    enforceSSL: true,
  });
  for (const address of settings.config.notifications.email) {
    topic.addSubscription(new subscriptions.EmailSubscription(address));
  }

  const rules: events.Rule[] = [];
  const byKey = new Map<NotificationKey, events.Rule>();
  const patterns = { ...notificationPatterns(), 'function-failed': FUNCTION_FAILURE_PATTERN };
  for (const [name, pattern] of Object.entries(patterns) as [
    keyof typeof messages,
    (typeof patterns)[keyof typeof patterns],
  ][]) {
    const text = messages[name];
    const rule = new events.Rule(stack, `Notify-${name}`, {
      ruleName: settings.named(`${NOTIFICATION_RULE_PREFIX}${name}`),
      description: text.headline,
      eventBus: bus,
      eventPattern: toCdkEventPattern(pattern),
    });
    rule.addTarget(topicTarget(topic, new NotificationMessage(text, settings.stage)));
    rules.push(rule);
    if (name !== 'function-failed') byKey.set(name, rule);
  }
  // Webhooks are further targets of the same rules: what notifies by e-mail notifies in chat.
  const webhooks = deployWebhooks(stack, settings, byKey);
  const { dashboard, alarms: pagingAlarms } = observability(stack, settings);

  const alarms = [
    ...(webhooks.deadLetters
      ? ([
          [
            webhooks.deadLetters,
            'WebhookDeadLetters',
            'nvcf-ecr-webhook-dead-letters',
            'Notifications could not be delivered to a webhook after EventBridge retried',
          ],
        ] as const)
      : []),
    [
      deliveryDeadLetters,
      'PushDeliveryDeadLetters',
      'nvcf-ecr-push-delivery-dead-letters',
      'ECR push events could not be delivered to push validation',
    ],
    [
      failedValidations,
      'ValidationFailures',
      'nvcf-ecr-validation-failures',
      'Push validation failed on ECR push events after its retries',
    ],
  ] as const;
  const alarmArns: string[] = [];
  for (const alarm of pagingAlarms) {
    alarm.addAlarmAction(new actions.SnsAction(topic));
    alarmArns.push(alarm.alarmArn);
  }
  for (const [queue, id, name, description] of alarms) {
    const alarm = new cloudwatch.Alarm(stack, `${id}Alarm`, {
      alarmName: settings.named(name),
      alarmDescription: `${description}: inspect and redrive the dead-letter queue.`,
      metric: queue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new actions.SnsAction(topic));
    alarmArns.push(alarm.alarmArn);
  }

  // Only this stack's rules and alarms may publish: a rule elsewhere in the account, or another account's,
  // cannot use the topic even though its principal is the same service.
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowProjectRules',
      principals: [new iam.ServicePrincipal('events.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: { ArnEquals: { 'aws:SourceArn': rules.map((r) => r.ruleArn) } },
    }),
  );
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowProjectAlarms',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: { ArnEquals: { 'aws:SourceArn': alarmArns } },
    }),
  );

  return { topic, rules, dashboard, webhooks };
}

/** A rule target that grants nothing: the topic policy above names the rules that may publish. */
function topicTarget(topic: sns.ITopic, message: events.RuleTargetInput): events.IRuleTarget {
  return { bind: () => ({ arn: topic.topicArn, input: message }) };
}

/**
 * The e-mail body: what happened and what to do, then the event's type, time, place and detail. A JSON
 * object template, so the detail (an object of whatever shape the event has) is inserted as JSON: inside a
 * string template EventBridge would insert an object unescaped, and naming detail fields one by one would
 * blank the message whenever an event lacks one. Literal text is JSON-encoded; variables stand unquoted, and
 * EventBridge quotes string values itself (EventBridge API reference, `InputTransformer.InputTemplate`).
 */
class NotificationMessage extends events.RuleTargetInput {
  readonly #text: { readonly headline: string; readonly action: string };
  readonly #stage: string;

  public constructor(text: { readonly headline: string; readonly action: string }, stage: string) {
    super();
    this.#text = text;
    this.#stage = stage;
  }

  public override bind(): events.RuleTargetInputProperties {
    // Literal text must not contain '<' or '>': EventBridge would read `<word>` as a variable.
    const literal = (value: string) => {
      if (/[<>]/.test(value))
        throw new Error(`Notification text may not contain '<' or '>' (EventBridge placeholders): ${value}`);
      return JSON.stringify(value);
    };
    const fields: [string, string][] = [
      ['notification', literal(this.#text.headline)],
      ['whatToDo', literal(this.#text.action)],
      ['event', '<detailType>'],
      ['time', '<time>'],
      ['account', '<account>'],
      ['region', '<region>'],
      ['stage', literal(this.#stage)],
      ['detail', '<detail>'],
    ];
    return {
      inputPathsMap: {
        detailType: '$.detail-type',
        time: '$.time',
        account: '$.account',
        region: '$.region',
        detail: '$.detail',
      },
      inputTemplate: `{${fields.map(([k, v]) => `${literal(k)}: ${v}`).join(', ')}}`,
    };
  }
}
