import {
  NOTIFICATION_RULE_PREFIX,
  NOTIFICATION_TOPIC_NAME,
  type NotificationKey,
  notificationPatterns,
} from '@nvcf-ecr/core/events';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { type StackContext, use } from 'sst/constructs';
import { FUNCTION_FAILURE_PATTERN, toCdkEventPattern } from './lib/events.ts';
import { stackSettings } from './lib/stack.ts';
import { Validation } from './Validation.ts';

/**
 * What an operator must hear about, by e-mail: images NVCF cannot run, failed rotations, postponed key
 * retirements, audits with failures, scheduled functions that crashed, and dead letters. One encrypted SNS
 * topic fed by rules on the project bus and by alarms on the dead-letter queues.
 */

/** Headline and what to do, per notification; the event's detail follows as JSON. */
const MESSAGES: Readonly<
  Record<NotificationKey | 'function-failed', { readonly headline: string; readonly action: string }>
> = {
  'image-not-compliant': {
    headline: 'An image pushed to ECR cannot run on the NVCF targets it is meant for.',
    action: 'Rebuild it for the missing platforms (docker buildx build --platform ...) and push it again.',
  },
  'rotation-failed': {
    headline: 'Rotating the NVCF pull key failed. The current key and NVCF\u2019s credential still work.',
    action:
      'Read the rotation function\u2019s log, fix the cause, then rotate again: aws secretsmanager rotate-secret --secret-id with the secret named in the detail.',
  },
  'retirement-postponed': {
    headline: 'The previous NVCF pull key is still in use after its grace period, so it was not deactivated.',
    action:
      'Find who still pulls with it (the detail names the key by its masked id) before it is deactivated anyway.',
  },
  'audit-failed': {
    headline: 'The NVCF pull chain compliance audit found failures, or checks it could not evaluate.',
    action:
      'Open the report named in the detail (S3 report bucket) and follow each finding\u2019s remediation.',
  },
  'function-failed': {
    headline: 'A scheduled nvcf-ecr function failed after its retries.',
    action: 'Read the function\u2019s log (the detail names the function and the error).',
  },
};

export function Notifications({ app, stack }: StackContext) {
  const settings = stackSettings(app, stack);
  const { bus, deliveryDeadLetters, failedValidations } = use(Validation);

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
  const patterns = { ...notificationPatterns(), 'function-failed': FUNCTION_FAILURE_PATTERN };
  for (const [name, pattern] of Object.entries(patterns) as [
    keyof typeof MESSAGES,
    (typeof patterns)[keyof typeof patterns],
  ][]) {
    const rule = new events.Rule(stack, `Notify-${name}`, {
      ruleName: settings.named(`${NOTIFICATION_RULE_PREFIX}${name}`),
      description: MESSAGES[name].headline,
      eventBus: bus,
      eventPattern: toCdkEventPattern(pattern),
    });
    rule.addTarget(topicTarget(topic, new NotificationMessage(MESSAGES[name], settings.stage)));
    rules.push(rule);
  }

  const alarms = [
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
      sid: 'AllowDeadLetterAlarms',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: { ArnEquals: { 'aws:SourceArn': alarmArns } },
    }),
  );

  return { topic, rules };
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
