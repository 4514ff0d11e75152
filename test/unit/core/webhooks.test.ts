import { parseConfig, WEBHOOK_FORMATS } from '@nvcf-ecr/core/config';
import {
  consoleUrl,
  DETAIL_TYPES,
  NOTIFICATION_KEYS,
  renderInputTransformer,
  webhookConnectionAuth,
  webhookTransformer,
} from '@nvcf-ecr/core/events';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { prodInput } from '../../helpers/config.ts';

const RULE = { arn: 'arn:aws:events:us-east-1:123456789012:rule/bus/r', name: 'r' };
const BASE = prodInput();

function withHooks(webhooks: unknown[]) {
  return parseConfig({ ...BASE, notifications: { webhooks } });
}

function issues(webhooks: unknown[]): string[] {
  const r = withHooks(webhooks);
  return r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
}

describe('Configuration: notifications.webhooks', () => {
  it('fills in the defaults: every notification, the Authorization header, one request per second', () => {
    const r = withHooks([{ name: 'chat', url: 'https://hooks.example.com/x', format: 'json' }]);
    expect(r.ok && r.value.notifications.webhooks).toEqual([
      {
        name: 'chat',
        url: 'https://hooks.example.com/x',
        format: 'json',
        authHeader: 'Authorization',
        events: [...NOTIFICATION_KEYS],
        rateLimitPerSecond: 1,
      },
    ]);
  });

  it('takes https anywhere and http on the loopback with a port only, naming the field and the fix', () => {
    expect(issues([{ name: 'a', url: 'http://127.0.0.1:8080/x', format: 'json' }])).toEqual([]);
    expect(issues([{ name: 'a', url: 'http://localhost:1/x', format: 'json' }])).toEqual([]);
    expect(issues([{ name: 'a', url: 'http://hooks.example.com/x', format: 'json' }])).toEqual([
      expect.stringMatching(/^notifications\.webhooks\[0\]\.url: must use https:\/\//),
    ]);
    expect(issues([{ name: 'a', url: 'http://127.0.0.1/x', format: 'json' }])).toEqual([
      expect.stringContaining('needs its port'),
    ]);
    expect(issues([{ name: 'a', url: 'https://user:pw@hooks.example.com/', format: 'json' }])).toEqual([
      expect.stringContaining('put credentials in the secret'),
    ]);
  });

  it('requires the secret a {secret} URL names, and allows the placeholder only after the host', () => {
    expect(
      issues([{ name: 'a', url: 'https://hooks.slack.com/services/{secret}', format: 'slack' }]),
    ).toEqual([expect.stringMatching(/^notifications\.webhooks\[0\]\.secretName: .*set secretName/)]);
    expect(
      issues([{ name: 'a', url: 'https://{secret}.example.com/x', secretName: 's', format: 'slack' }]),
    ).toEqual([expect.stringContaining('path or query only')]);
  });

  it('never echoes a refused URL (it may hold a credential)', () => {
    const r = withHooks([
      { name: 'a', url: 'http://hooks.slack.com/services/T0/B0/verysecret', format: 'slack' },
    ]);
    expect(r.ok).toBe(false);
    expect(JSON.stringify(r)).not.toContain('verysecret');
  });

  it('refuses duplicate names, unknown events and a fifth webhook', () => {
    const hook = (name: string) => ({ name, url: 'https://h.example.com/', format: 'json' });
    expect(issues([hook('a'), hook('a')])).toEqual([expect.stringContaining("name 'a' is already used")]);
    expect(issues([{ ...hook('a'), events: ['rotated'] }])).toEqual([
      expect.stringMatching(/^notifications\.webhooks\[0\]\.events\[0\]: /),
    ]);
    expect(issues(['a', 'b', 'c', 'd', 'e'].map(hook))).toEqual([
      expect.stringContaining('at most 4 webhooks'),
    ]);
  });

  it('sends a secret header only when the URL is not itself the credential', () => {
    expect(
      webhookConnectionAuth({ url: 'https://x/{secret}', secretName: 's', authHeader: 'Authorization' }),
    ).toEqual({ header: 'X-Nvcf-Ecr-Autopilot', fromSecret: false, value: 'nvcf-ecr-autopilot' });
    expect(
      webhookConnectionAuth({ url: 'https://x/', secretName: 's', authHeader: 'X-Api-Key' }, 'prod'),
    ).toEqual({
      header: 'X-Api-Key',
      fromSecret: true,
      value: '',
    });
  });
});

describe('Input transformer: EventBridge quoting rules', () => {
  const event = {
    time: '2026-01-01T00:00:00Z',
    detail: { s: 'a "q" \\ b', n: 3, o: { k: 'v' }, list: ['x'], nil: null },
  };
  const render = (InputTemplate: string, InputPathsMap: Record<string, string>) =>
    renderInputTransformer({ InputTemplate, InputPathsMap }, event, RULE);

  it('quotes and escapes a string outside a JSON string; inserts objects, numbers and null as JSON', () => {
    const text = render('{"s": <s>, "n": <n>, "o": <o>, "l": <l>, "z": <z>}', {
      s: '$.detail.s',
      n: '$.detail.n',
      o: '$.detail.o',
      l: '$.detail.list',
      z: '$.detail.nil',
    });
    expect(JSON.parse(text)).toEqual({ s: 'a "q" \\ b', n: 3, o: { k: 'v' }, l: ['x'], z: null });
  });

  it('inserts a string unescaped and an object without its quotes inside a JSON string', () => {
    expect(render('"<s>"', { s: '$.detail.s' })).toBe('"a "q" \\ b"');
    expect(render('"Detail is <o>"', { o: '$.detail.o' })).toBe('"Detail is {k:v}"');
  });

  it('drops a variable whose path selects nothing, and keeps text that is no variable', () => {
    expect(render('"[<gone>] <a-b> <x y>"', { gone: '$.detail.missing' })).toBe('"[] <a-b> <x y>"');
  });

  it('knows the predefined variables, and aws.events.event has no detail', () => {
    const out = JSON.parse(
      render(
        '{"r": <aws.events.rule-name>, "t": <aws.events.event.ingestion-time>, "e": <aws.events.event>}',
        {},
      ),
    ) as { r: string; t: string; e: Record<string, unknown> };
    expect(out).toEqual({ r: 'r', t: '2026-01-01T00:00:00Z', e: { time: '2026-01-01T00:00:00Z' } });
  });
});

describe('Webhook messages', () => {
  const ctx = { consoleUrl: consoleUrl('aws'), stage: 'prod' };
  /** Event details as their schemas allow them, free text with quotes, backslashes and angle brackets. */
  const text = fc.string({ maxLength: 40 });
  const details: Record<(typeof NOTIFICATION_KEYS)[number], [string, fc.Arbitrary<Record<string, unknown>>]> =
    {
      'image-not-compliant': [
        DETAIL_TYPES.imageValidation,
        fc.record({
          registry: fc.constant('123456789012.dkr.ecr.us-east-1.amazonaws.com'),
          repository: fc.constantFrom('inference', 'models/llm'),
          tag: fc.constantFrom('v1', 'latest_2'),
          digest: fc.constant(`sha256:${'a'.repeat(64)}`),
          verdict: fc.constantFrom('non-compliant', 'not-runnable', 'error'),
          reasons: fc.array(text),
        }),
      ],
      'rotation-failed': [
        DETAIL_TYPES.rotationFailed,
        fc.record({
          registry: fc.option(fc.constant('prod')),
          secretId: fc.constant(
            'arn:aws:secretsmanager:us-east-1:123456789012:secret:nvcf-ecr/prod/pull-key-AbCdEf',
          ),
          step: fc.constantFrom('createSecret', 'setSecret', 'testSecret', 'finishSecret'),
          reason: text,
          currentAccessKeyId: fc.option(fc.constant('AKIA…WXYZ')),
          currentKeyWorks: fc.boolean(),
        }),
      ],
      'retirement-postponed': [
        DETAIL_TYPES.retirementPostponed,
        fc.record({
          registry: fc.constant('prod'),
          accessKeyId: fc.constant('AKIA…WXYZ'),
          userName: fc.constant('nvcf-ecr-prod'),
          cause: fc.constantFrom('in-use', 'nvcf-not-updated'),
          reason: text,
        }),
      ],
      'audit-failed': [
        DETAIL_TYPES.complianceAudit,
        fc.record({
          summary: fc.record({
            failed: fc.nat(),
            errors: fc.nat(),
            worstSeverity: fc.option(fc.constantFrom('critical', 'high', 'low')),
          }),
          report: fc.option(fc.constant({ bucket: 'b', html: 'reports/x.html' })),
        }),
      ],
    };

  it('render to valid JSON in every format for every event the detail schemas allow', () => {
    for (const format of WEBHOOK_FORMATS) {
      for (const key of NOTIFICATION_KEYS) {
        const [detailType, detail] = details[key];
        const t = webhookTransformer(format, key, ctx);
        fc.assert(
          fc.property(detail, (d) => {
            const envelope = {
              'detail-type': detailType,
              account: '123456789012',
              region: 'us-east-1',
              time: 't',
              detail: d,
            };
            const out = JSON.parse(renderInputTransformer(t, envelope, RULE)) as Record<string, unknown>;
            if (format === 'json') expect(out['detail']).toEqual(d);
            if (format === 'slack') expect(out['text']).toEqual(expect.any(String));
            if (format === 'teams') expect(out['type']).toBe('message');
          }),
          { numRuns: 50 },
        );
      }
    }
  });

  it('link to the console of the deployment’s partition and the stage’s functions', () => {
    const t = webhookTransformer('json', 'rotation-failed', {
      consoleUrl: consoleUrl('aws-us-gov'),
      stage: 'prod',
    });
    expect(t.InputTemplate).toContain(
      'https://console.amazonaws-us-gov.com/lambda/home?region=<region>#/functions/prod-nvcf-ecr-rotate-credential',
    );
  });
});
