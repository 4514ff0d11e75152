import {
  consoleUrl,
  DETAIL_TYPES,
  EVENT_SOURCE,
  NOTIFICATION_RULE_PREFIX,
  renderInputTransformer,
  WEBHOOK_RETRY_POLICY,
  webhookTransformer,
} from '@nvcf-ecr/core/events';
import { describe, expect, it } from 'vitest';
import { type CfnTemplate, findResource, must, resourcesOfType, STAGE, synth } from './synth.ts';

// Webhooks (API destinations fed by the notification rules), the dashboard and the alarms, in the templates.

const multi = await synth('multi');
const example = await synth('example');
const gov = await synth('govcloud');
const template = multi.json.Notifications;
const hooks = multi.config.notifications.webhooks;

function targetsOf(t: CfnTemplate, key: string) {
  const [, rule] = findResource(t, 'AWS::Events::Rule', {
    Name: `${STAGE}-${NOTIFICATION_RULE_PREFIX}${key}`,
  });
  return rule.Properties['Targets'] as Record<string, unknown>[];
}

describe('Stack: Notifications — webhooks', () => {
  it('creates one connection and one rate-limited POST destination per webhook', () => {
    const destinations = resourcesOfType(template, 'AWS::Events::ApiDestination');
    expect(destinations.map(([, d]) => d.Properties['Name']).sort()).toEqual(
      hooks.map((h) => `${STAGE}-nvcf-ecr-hook-${h.name}`).sort(),
    );
    for (const hook of hooks) {
      const [, d] = findResource(template, 'AWS::Events::ApiDestination', {
        Name: `${STAGE}-nvcf-ecr-hook-${hook.name}`,
      });
      expect(d.Properties).toMatchObject({
        HttpMethod: 'POST',
        InvocationRateLimitPerSecond: hook.rateLimitPerSecond,
      });
      const connectionId = (d.Properties['ConnectionArn'] as { 'Fn::GetAtt': [string, string] })[
        'Fn::GetAtt'
      ][0];
      expect(template.Resources[connectionId]?.Type).toBe('AWS::Events::Connection');
      expect(template.Resources[connectionId]?.Properties['AuthorizationType']).toBe('API_KEY');
    }
  });

  it('keeps credentials out of the template: a URL credential and a header credential are dynamic references', () => {
    const [, slack] = findResource(template, 'AWS::Events::ApiDestination', {
      Name: `${STAGE}-nvcf-ecr-hook-platform-slack`,
    });
    expect(slack.Properties['InvocationEndpoint']).toBe(
      'https://hooks.slack.com/services/{{resolve:secretsmanager:platform/slack-webhook:SecretString:::}}',
    );
    const [, incidents] = findResource(template, 'AWS::Events::Connection', {
      Name: `${STAGE}-nvcf-ecr-hook-incidents`,
    });
    expect(incidents.Properties['AuthParameters']).toEqual({
      ApiKeyAuthParameters: {
        ApiKeyName: 'Authorization',
        ApiKeyValue: '{{resolve:secretsmanager:platform/incidents-token:SecretString:::}}',
      },
    });
    // A webhook whose URL is its credential authorises with a header naming the sender, which is no secret.
    const [, slackConnection] = findResource(template, 'AWS::Events::Connection', {
      Name: `${STAGE}-nvcf-ecr-hook-platform-slack`,
    });
    expect(slackConnection.Properties['AuthParameters']).toEqual({
      ApiKeyAuthParameters: {
        ApiKeyName: 'X-Nvcf-Ecr-Autopilot',
        ApiKeyValue: `nvcf-ecr-autopilot/${STAGE}`,
      },
    });
  });

  it('targets each subscribed rule with the core message, retries and a dead-letter queue', () => {
    const ctx = { consoleUrl: consoleUrl('aws'), stage: STAGE };
    for (const key of [
      'image-not-compliant',
      'rotation-failed',
      'retirement-postponed',
      'audit-failed',
    ] as const) {
      const targets = targetsOf(template, key);
      const subscribed = hooks.filter((h) => h.events.includes(key));
      // The topic first, then one target per subscribed webhook.
      expect(targets).toHaveLength(1 + subscribed.length);
      for (const hook of subscribed) {
        const [destinationId] = findResource(template, 'AWS::Events::ApiDestination', {
          Name: `${STAGE}-nvcf-ecr-hook-${hook.name}`,
        });
        const target = must(
          targets.find(
            (t) => JSON.stringify(t['Arn']) === JSON.stringify({ 'Fn::GetAtt': [destinationId, 'Arn'] }),
          ),
          `${hook.name}'s target on ${key}`,
        );
        const expected = webhookTransformer(hook.format, key, ctx);
        expect(target['InputTransformer']).toEqual({
          InputPathsMap: expected.InputPathsMap,
          InputTemplate: expected.InputTemplate,
        });
        expect(target['RetryPolicy']).toEqual(WEBHOOK_RETRY_POLICY);
        expect(target['DeadLetterConfig']).toEqual({ Arn: expect.anything() });
        expect(target['RoleArn']).toEqual({
          'Fn::GetAtt': [expect.stringMatching(/^WebhookInvokeRole/), 'Arn'],
        });
      }
    }
  });

  it('deploys templates that render, as EventBridge renders them, into the chosen format', () => {
    // The first webhook target (the topic's has no role): platform-slack, the first configured.
    const [target] = targetsOf(template, 'rotation-failed').filter((t) => t['RoleArn']);
    const t = must(target, 'a webhook target').InputTransformer as {
      InputPathsMap: Record<string, string>;
      InputTemplate: string;
    };
    const text = renderInputTransformer(
      t,
      {
        source: EVENT_SOURCE,
        'detail-type': DETAIL_TYPES.rotationFailed,
        account: '123456789012',
        region: 'us-east-1',
        time: '2026-01-01T00:00:00Z',
        detail: {
          registry: 'prod',
          secretId: 'arn:x',
          step: 'setSecret',
          reason: 'said "no"',
          currentAccessKeyId: 'AKIA…WXYZ',
          currentKeyWorks: true,
        },
      },
      { arn: 'arn:rule', name: 'rule' },
    );
    const slack = JSON.parse(text) as { text: string; blocks: { type: string }[] };
    expect(slack.text).toContain('Rotating the NVCF pull key failed');
    expect(slack.blocks.map((b) => b.type)).toEqual(['header', 'section', 'section', 'actions']);
    expect(text).toContain('said \\"no\\"');
  });

  it('lets only the notification rules invoke the destinations and write dead letters', () => {
    const [, role] = findResource(template, 'AWS::IAM::Role', {});
    expect(role).toBeDefined();
    const policies = resourcesOfType(template, 'AWS::IAM::Policy').map(([, p]) =>
      JSON.stringify(p.Properties),
    );
    const invoke = must(
      policies.find((p) => p.includes('events:InvokeApiDestination')),
      'the invoke policy',
    );
    expect(invoke).not.toContain('"Resource":"*"');
    const [, queuePolicy] = must(
      resourcesOfType(template, 'AWS::SQS::QueuePolicy')[0],
      'the dead-letter policy',
    );
    expect(JSON.stringify(queuePolicy.Properties)).toContain('aws:SourceArn');
  });

  it('synthesises no connection, destination or webhook queue for a configuration without webhooks', () => {
    for (const s of [example, gov]) {
      expect(s.config.notifications.webhooks).toEqual([]);
      const t = s.json.Notifications;
      expect(resourcesOfType(t, 'AWS::Events::Connection')).toEqual([]);
      expect(resourcesOfType(t, 'AWS::Events::ApiDestination')).toEqual([]);
      expect(resourcesOfType(t, 'AWS::SQS::Queue')).toEqual([]);
      for (const [, rule] of resourcesOfType(t, 'AWS::Events::Rule'))
        expect(rule.Properties['Targets'] as unknown[]).toHaveLength(1);
    }
  });
});

describe('Stack: Notifications — dashboard and alarms', () => {
  const alarms = resourcesOfType(template, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
  const alarm = (name: string) =>
    must(
      alarms.find((a) => a['AlarmName'] === `${STAGE}-${name}`),
      name,
    );

  it('draws one dashboard with a row per registry and the push, audit and function widgets', () => {
    const [, dashboard] = must(resourcesOfType(template, 'AWS::CloudWatch::Dashboard')[0], 'the dashboard');
    expect(dashboard.Properties['DashboardName']).toBe(`${STAGE}-nvcf-ecr-autopilot`);
    const body = JSON.stringify(dashboard.Properties['DashboardBody']);
    for (const r of multi.config.registries) {
      expect(body).toContain(`${r.name}: current key age (days)`);
      expect(body).toContain(`${r.name}: days since the last successful rotation`);
    }
    for (const metric of [
      'CurrentKeyAgeDays',
      'DaysSinceLastRotation',
      'RotationStepFailed',
      'ImageValidations',
      'AuditFailures',
      'NvcfEcrAutopilot',
    ])
      expect(body).toContain(metric);
    expect(body).toContain(`${STAGE}-nvcf-ecr-validate-push`);
    expect(body).toContain('AWS/Lambda');
  });

  it('alarms to the topic on a failed rotation and a key older than the audit limit, per registry', () => {
    const [topicId] = findResource(template, 'AWS::SNS::Topic', {});
    for (const r of multi.config.registries) {
      const failed = alarm(`nvcf-ecr-rotation-failed-${r.name}`);
      expect(failed).toMatchObject({
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        AlarmActions: [{ Ref: topicId }],
      });
      const steps = (
        failed['Metrics'] as { MetricStat?: { Metric: { Dimensions: { Name: string; Value: string }[] } } }[]
      ).flatMap((m) => (m.MetricStat ? [m.MetricStat.Metric.Dimensions] : []));
      expect(steps).toHaveLength(4);
      for (const dims of steps) expect(dims).toContainEqual({ Name: 'Registry', Value: r.name });
      expect(alarm(`nvcf-ecr-key-age-${r.name}`)).toMatchObject({
        MetricName: 'CurrentKeyAgeDays',
        Namespace: 'NvcfEcrAutopilot',
        Dimensions: [{ Name: 'Registry', Value: r.name }],
        Threshold: multi.config.audit.maxKeyAgeDays,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [{ Ref: topicId }],
      });
    }
  });

  it('alarms when the audit finds failures of severity high or above, and when webhook dead letters arrive', () => {
    const high = alarm('nvcf-ecr-audit-failures-high');
    const severities = (
      high['Metrics'] as { MetricStat?: { Metric: { Dimensions: { Value: string }[] } } }[]
    ).flatMap((m) => (m.MetricStat ? m.MetricStat.Metric.Dimensions.map((d) => d.Value) : []));
    expect(severities.sort()).toEqual(['critical', 'high']);
    expect(high).toMatchObject({ Threshold: 1, TreatMissingData: 'ignore' });
    expect(alarm('nvcf-ecr-webhook-dead-letters')).toMatchObject({ Namespace: 'AWS/SQS', Threshold: 0 });
    expect(resourcesOfType(gov.json.Notifications, 'AWS::CloudWatch::Dashboard')).toHaveLength(1);
  });
});
