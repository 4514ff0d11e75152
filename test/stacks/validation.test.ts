import { ecrPushRulePattern, FUNCTIONS, PROJECT_EVENT_BUS_NAME, RULE_NAMES } from '@nvcf-ecr/core/events';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { findResource, resourcesOfType, STAGE, synth } from './synth.ts';

// Validation: the project bus, the ECR push rule on the default bus, the validation function and what
// happens to events that cannot be delivered or processed.

const multi = await synth('multi');

const validationFn = (s: typeof multi) =>
  findResource(s.json.Validation, 'AWS::Lambda::Function', {
    FunctionName: `${STAGE}-${FUNCTIONS.validatePush.name}`,
  });
const queueIds = (s: typeof multi) => resourcesOfType(s.json.Validation, 'AWS::SQS::Queue').map(([id]) => id);

describe('Stack: Validation', () => {
  it('creates the project event bus under the stage-prefixed name', () => {
    multi.templates.Validation.hasResourceProperties('AWS::Events::EventBus', {
      Name: `${STAGE}-${PROJECT_EVENT_BUS_NAME}`,
    });
  });

  it('puts the ECR push rule on the default bus with exactly core’s pattern', () => {
    const [, rule] = findResource(multi.json.Validation, 'AWS::Events::Rule', {
      Name: `${STAGE}-${RULE_NAMES.ecrPush}`,
    });
    expect(rule.Properties['EventBusName']).toBeUndefined();
    expect(rule.Properties['EventPattern']).toEqual(ecrPushRulePattern(multi.config));
  });

  it('matches successful pushes only, to every configured private repository of every region and account', () => {
    const [, rule] = findResource(multi.json.Validation, 'AWS::Events::Rule', {
      Name: `${STAGE}-${RULE_NAMES.ecrPush}`,
    });
    expect(rule.Properties['EventPattern']).toEqual({
      source: ['aws.ecr'],
      'detail-type': ['ECR Image Action'],
      detail: {
        'action-type': ['PUSH'],
        result: ['SUCCESS'],
        // ECR Public ('tools') emits no push events to the account.
        'repository-name': ['inference', 'inference-eu', 'inference-gb200', 'models/llm'],
      },
    });
  });

  it('targets the validation function with bounded retries and an encrypted dead-letter queue', () => {
    const [fnId] = validationFn(multi);
    const [, rule] = findResource(multi.json.Validation, 'AWS::Events::Rule', {
      Name: `${STAGE}-${RULE_NAMES.ecrPush}`,
    });
    const targets = rule.Properties['Targets'] as Record<string, unknown>[];
    expect(targets).toHaveLength(1);
    const target = targets[0] as {
      Arn: unknown;
      RetryPolicy: Record<string, number>;
      DeadLetterConfig: { Arn: { 'Fn::GetAtt': [string, string] } };
    };
    expect(target.Arn).toEqual({ 'Fn::GetAtt': [fnId, 'Arn'] });
    expect(target.RetryPolicy['MaximumRetryAttempts']).toBeGreaterThan(0);
    expect(target.RetryPolicy['MaximumEventAgeInSeconds']).toBeGreaterThan(0);
    const [dlqId] = target.DeadLetterConfig.Arn['Fn::GetAtt'];
    expect(queueIds(multi)).toContain(dlqId);
    // EventBridge may send to the dead-letter queue for this rule only.
    multi.templates.Validation.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: dlqId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Condition: {
              ArnEquals: {
                'aws:SourceArn': {
                  'Fn::GetAtt': [
                    findResource(multi.json.Validation, 'AWS::Events::Rule', {
                      Name: `${STAGE}-${RULE_NAMES.ecrPush}`,
                    })[0],
                    'Arn',
                  ],
                },
              },
            },
          }),
        ]),
      },
    });
  });

  it('retries failed invocations twice, then sends the event to a failure queue', () => {
    const [fnId] = validationFn(multi);
    const [, config] = findResource(multi.json.Validation, 'AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: fnId },
    });
    expect(config.Properties['MaximumRetryAttempts']).toBe(2);
    const destination = (
      config.Properties['DestinationConfig'] as {
        OnFailure: { Destination: { 'Fn::GetAtt': [string, string] } };
      }
    ).OnFailure.Destination['Fn::GetAtt'];
    expect(queueIds(multi)).toContain(destination[0]);
    expect(destination[1]).toBe('Arn');
  });

  it('encrypts both queues and refuses plain-HTTP access to them', () => {
    const ids = queueIds(multi);
    expect(ids).toHaveLength(2);
    for (const id of ids) {
      const queue = multi.json.Validation.Resources[id];
      expect(queue?.Properties['SqsManagedSseEnabled'] ?? queue?.Properties['KmsMasterKeyId']).toBeTruthy();
      multi.templates.Validation.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sqs:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
  });

  it('warns at synth about registries whose pushes must be forwarded: another region, another account', () => {
    const warnings = multi.messages.Validation.filter((m) => m.level === 'warning').map((m) => m.text);
    expect(warnings).toEqual([
      expect.stringContaining(
        "registry 'eu' (123456789012.dkr.ecr.eu-west-1.amazonaws.com) is in eu-west-1, not us-east-1: ECR emits its push events in eu-west-1",
      ),
      expect.stringContaining(
        "registry 'partner' (210987654321.dkr.ecr.us-east-1.amazonaws.com) is in account 210987654321, not 123456789012: add a repository policy",
      ),
    ]);
  });

  it('reserves concurrency for the validation function to protect ECR’s API quotas', () => {
    const [, fn] = validationFn(multi);
    expect(fn.Properties['ReservedConcurrentExecutions']).toBe(10);
  });
});
