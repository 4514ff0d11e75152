import {
  compileEventPattern,
  DETAIL_TYPES,
  EVENT_SOURCE,
  type EventPattern,
  NOTIFICATION_RULE_PREFIX,
  NOTIFICATION_TOPIC_NAME,
  notificationPatterns,
} from '@nvcf-ecr/core/events';
import { describe, expect, it } from 'vitest';
import { findResource, must, resourcesOfType, STAGE, synth } from './synth.ts';

// Notifications: an encrypted topic with the configured e-mail subscriptions, fed by rules on the project bus
// (one per core notification pattern, plus failed scheduled functions) and by the dead-letter alarms.

const multi = await synth('multi');
const gov = await synth('govcloud');
const template = multi.json.Notifications;
const [topicId, topic] = findResource(template, 'AWS::SNS::Topic', {
  TopicName: `${STAGE}-${NOTIFICATION_TOPIC_NAME}`,
});
const [, topicPolicy] = must(resourcesOfType(template, 'AWS::SNS::TopicPolicy')[0], 'the topic policy');
const statements = (topicPolicy.Properties['PolicyDocument'] as { Statement: Record<string, unknown>[] })
  .Statement;
const ruleIds = resourcesOfType(template, 'AWS::Events::Rule').map(([id]) => id);
const alarmIds = resourcesOfType(template, 'AWS::CloudWatch::Alarm').map(([id]) => id);

describe('Stack: Notifications', () => {
  it('encrypts the topic with a customer-managed, rotating key that EventBridge and CloudWatch may use', () => {
    const keyRef = topic.Properties['KmsMasterKeyId'] as { 'Fn::GetAtt': [string, string] };
    const key = must(template.Resources[keyRef['Fn::GetAtt'][0]], 'the topic key');
    expect(key.Type).toBe('AWS::KMS::Key');
    expect(key.Properties['EnableKeyRotation']).toBe(true);
    const keyStatements = (key.Properties['KeyPolicy'] as { Statement: Record<string, unknown>[] }).Statement;
    expect(keyStatements).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: ['events.amazonaws.com', 'cloudwatch.amazonaws.com'] },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        // Only for this account's rules and alarms.
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      }),
    );
  });

  it('subscribes every configured e-mail address, and none when the config lists none', () => {
    const subscriptions = resourcesOfType(template, 'AWS::SNS::Subscription').map(([, s]) => s.Properties);
    expect(subscriptions).toEqual(
      multi.config.notifications.email.map((address) => ({
        Protocol: 'email',
        Endpoint: address,
        TopicArn: { Ref: topicId },
      })),
    );
    expect(resourcesOfType(gov.json.Notifications, 'AWS::SNS::Subscription')).toEqual([]);
  });

  it('creates one rule per core notification pattern on the project bus, publishing a readable message', () => {
    for (const [key, pattern] of Object.entries(notificationPatterns())) {
      const [, rule] = findResource(template, 'AWS::Events::Rule', {
        Name: `${STAGE}-${NOTIFICATION_RULE_PREFIX}${key}`,
      });
      expect(rule.Properties['EventPattern']).toEqual(pattern);
      expect(rule.Properties['EventBusName']).toEqual({
        'Fn::ImportValue': expect.stringContaining('Validation:ExportsOutputRefBus'),
      });
      const [target] = rule.Properties['Targets'] as {
        Arn: unknown;
        InputTransformer: { InputTemplate: string; InputPathsMap: Record<string, string> };
      }[];
      expect(target?.Arn).toEqual({ Ref: topicId });
      const { InputTemplate, InputPathsMap } = target?.InputTransformer ?? {
        InputTemplate: '',
        InputPathsMap: {},
      };
      expect(InputPathsMap['detail']).toBe('$.detail');
      // Substituting JSON values for the variables must give a JSON message with the headline and the detail.
      const message = JSON.parse(
        InputTemplate.replace(/<(\w+)>/g, (_, name: string) =>
          name === 'detail' ? '{"repository":"inference"}' : JSON.stringify(`value of ${name}`),
        ),
      ) as Record<string, unknown>;
      expect(message).toMatchObject({
        stage: STAGE,
        detail: { repository: 'inference' },
        event: 'value of detailType',
      });
      expect(message['notification']).toEqual(expect.any(String));
      expect(message['whatToDo']).toEqual(expect.any(String));
    }
  });

  it('notifies audits with failures or with checks that could not be evaluated, as the deployed rule matches', () => {
    const [, rule] = findResource(template, 'AWS::Events::Rule', {
      Name: `${STAGE}-${NOTIFICATION_RULE_PREFIX}audit-failed`,
    });
    const deployed = compileEventPattern(rule.Properties['EventPattern'] as EventPattern);
    const audit = (summary: Record<string, number>) => ({
      source: EVENT_SOURCE,
      'detail-type': DETAIL_TYPES.complianceAudit,
      detail: { summary: { total: 9, passed: 9, failed: 0, exempted: 0, errors: 0, ...summary } },
    });
    expect(deployed.matches(audit({ passed: 7, failed: 2 }))).toBe(true);
    expect(deployed.matches(audit({ passed: 2, errors: 7 }))).toBe(true);
    expect(deployed.matches(audit({ passed: 8, exempted: 1 }))).toBe(false);
  });

  it('notifies when a scheduled function fails after its retries (Lambda’s on-failure event on the project bus)', () => {
    const [, rule] = findResource(template, 'AWS::Events::Rule', {
      Name: `${STAGE}-${NOTIFICATION_RULE_PREFIX}function-failed`,
    });
    expect(rule.Properties['EventPattern']).toEqual({
      source: ['lambda'],
      'detail-type': ['Lambda Function Invocation Result - Failure'],
    });
  });

  it('lets only this stack’s rules and alarms publish, over TLS only', () => {
    expect(statements).toContainEqual({
      Sid: 'AllowProjectRules',
      Effect: 'Allow',
      Principal: { Service: 'events.amazonaws.com' },
      Action: 'sns:Publish',
      Resource: { Ref: topicId },
      Condition: { ArnEquals: { 'aws:SourceArn': ruleIds.map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] })) } },
    });
    const alarmStatement = must(
      statements.find((st) => st['Sid'] === 'AllowProjectAlarms'),
      'the statement for the alarms',
    );
    expect(alarmStatement).toMatchObject({
      Effect: 'Allow',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: 'sns:Publish',
      Resource: { Ref: topicId },
    });
    // Every alarm of the stack, and nothing else.
    const sources = (alarmStatement['Condition'] as { ArnEquals: { 'aws:SourceArn': unknown[] } }).ArnEquals[
      'aws:SourceArn'
    ];
    expect(new Set(sources)).toEqual(new Set(alarmIds.map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] }))));
    expect(sources).toHaveLength(alarmIds.length);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Action: 'sns:Publish',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
    const allows = statements.filter((s) => s['Effect'] === 'Allow');
    expect(allows.map((s) => s['Sid'])).toEqual(['AllowProjectRules', 'AllowProjectAlarms']);
  });

  it('alarms on every dead-letter queue (pushes, validations, webhooks) as soon as one holds a message', () => {
    const queueAlarms = alarmIds.filter(
      (id) => template.Resources[id]?.Properties['Namespace'] === 'AWS/SQS',
    );
    expect(queueAlarms).toHaveLength(3);
    for (const id of queueAlarms) {
      const alarm = template.Resources[id];
      expect(alarm?.Properties).toMatchObject({
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Namespace: 'AWS/SQS',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [{ Ref: topicId }],
      });
    }
  });
});
