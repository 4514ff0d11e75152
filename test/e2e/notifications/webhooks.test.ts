import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { assertConfig, type Config } from '@nvcf-ecr/core/config';
import { FUNCTIONS, functionArn, WEBHOOK_SENDER_HEADER } from '@nvcf-ecr/core/events';
import { createLogger, type LogRecord, memorySink } from '@nvcf-ecr/core/log';
import { type RunningSandbox, startSandbox } from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import example from '../../../nvcf-ecr.config.ts';
import { sandboxHandlers } from '../../../packages/cli/src/compose.ts';
import { clients, control } from '../../helpers/sandbox.ts';
import { BUILT, Layout, pushWithApi } from '../validation/helpers.ts';

/**
 * Webhooks end to end: the sandbox provisioned from a configuration with Slack, Teams and JSON webhooks
 * pointing at a local HTTP server; a non-compliant push, a failed rotation and a failing audit each deliver
 * one message per subscribed webhook, in its format, through the emulated API destinations — with the
 * connection's header, retried on 5xx and dead-lettered on a 4xx as EventBridge does — and no secret the
 * sandbox issued (nor the webhooks' own secrets) in any message, log line, event or delivery record.
 */

interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

const SLACK_PATH_SECRET = 'T0000AAAA/B0000BBBB/slackPathSecret0123456789';
const TEAMS_PATH_SECRET = 'wf-0001/triggers/manual/paths/invoke?sig=teamsSignature0123456789';
const JSON_TOKEN = 'Bearer json-endpoint-token-0123456789abcdef';

let server: Server;
let port = 0;
const received: Received[] = [];
/** Status codes the server answers, in order, per path prefix; 200 once they run out. */
const scripted = new Map<string, number[]>();

let sb: RunningSandbox;
let config: Config;
const sink = memorySink();
const logs: LogRecord[] = sink.records;

function at(prefix: string): Received[] {
  return received.filter((r) => r.path.startsWith(prefix));
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      const prefix = [...scripted.keys()].find((p) => path.startsWith(p));
      const status = (prefix ? scripted.get(prefix)?.shift() : undefined) ?? 200;
      if (status === 200)
        received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(status).end(status === 200 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  const base = `http://127.0.0.1:${port}`;
  config = assertConfig({
    ...example,
    notifications: {
      email: [],
      webhooks: [
        { name: 'slack', url: `${base}/slack/{secret}`, secretName: 'nvcf-ecr/slack', format: 'slack' },
        {
          name: 'teams',
          url: `${base}/teams/{secret}`,
          secretName: 'nvcf-ecr/teams',
          format: 'teams',
          events: ['rotation-failed', 'audit-failed'],
        },
        { name: 'incidents', url: `${base}/json`, secretName: 'nvcf-ecr/incidents', format: 'json' },
      ],
    },
  });
  const all = sandboxHandlers();
  sb = await startSandbox({
    config,
    handlers: { validatePush: all.validatePush, rotateCredential: all.rotateCredential, audit: all.audit },
    logger: createLogger({ sink, level: 'debug' }),
    // One attempt per rotation, so a failed rotation is one event (Secrets Manager's own retries are tested elsewhere).
    rotationAttempts: 1,
    webhookSecrets: {
      'nvcf-ecr/slack': SLACK_PATH_SECRET,
      'nvcf-ecr/teams': TEAMS_PATH_SECRET,
      'nvcf-ecr/incidents': JSON_TOKEN,
    },
  });
  await sb.settle(60_000);
}, 120_000);

afterAll(async () => {
  await sb?.close();
  await new Promise((r) => server?.close(r));
});

describe('Webhooks on the sandbox', () => {
  it('provisions a connection and an API destination per webhook, answering no secret', async () => {
    const state = await control<{
      connections: unknown[];
      destinations: { name: string; invocationEndpoint: string }[];
    }>(sb, 'GET', 'webhooks');
    expect(state.destinations.map((d) => d.name).sort()).toEqual([
      'nvcf-ecr-hook-incidents',
      'nvcf-ecr-hook-slack',
      'nvcf-ecr-hook-teams',
    ]);
    expect(JSON.stringify(state.connections)).not.toContain(JSON_TOKEN);
    // The bootstrap rotation succeeded: nothing to notify yet.
    expect(received).toEqual([]);
  });

  it('delivers one Slack and one JSON message for a non-compliant push (Teams is not subscribed)', async () => {
    await pushWithApi(clients(sb).ecr, new Layout(BUILT), 'amd64-oci', 'inference-gb200', 'v1');
    await sb.settle();
    const [slack, ...moreSlack] = at('/slack/');
    expect(moreSlack).toEqual([]);
    expect(at('/teams/')).toEqual([]);
    // The URL's secret part came from the secret; the connection adds its sender header, no Authorization.
    expect(slack?.path).toBe(`/slack/${SLACK_PATH_SECRET}`);
    expect(slack?.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(slack?.headers['user-agent']).toBe('Amazon/EventBridge/ApiDestinations');
    expect(slack?.headers[WEBHOOK_SENDER_HEADER.toLowerCase()]).toBe('nvcf-ecr-autopilot');
    expect(slack?.headers.authorization).toBeUndefined();
    const message = JSON.parse(slack?.body ?? '') as {
      text: string;
      blocks: { type: string; fields?: { text: string }[] }[];
    };
    expect(message.text).toContain('cannot run on the NVCF targets');
    const facts = message.blocks.find((b) => b.fields)?.fields?.map((f) => f.text);
    expect(facts).toEqual(
      expect.arrayContaining([
        '*Image*',
        'inference-gb200:v1',
        '*Verdict*',
        'non-compliant',
        config.registries[0]?.hostname,
      ]),
    );

    const [json, ...moreJson] = at('/json');
    expect(moreJson).toEqual([]);
    expect(json?.headers.authorization).toBe(JSON_TOKEN);
    expect(JSON.parse(json?.body ?? '')).toMatchObject({
      notification: 'image-not-compliant',
      event: 'NVCF Image Validation',
      detail: {
        repository: 'inference-gb200',
        tag: 'v1',
        verdict: 'non-compliant',
        missing: ['linux/arm64'],
      },
    });
  });

  it('delivers one message per webhook for a failed rotation, a Teams Adaptive Card among them', async () => {
    const before = received.length;
    await control(sb, 'POST', 'faults', {
      service: 'ecr',
      operation: 'GetAuthorizationToken',
      error: { status: 400, code: 'InjectedFailure', message: 'injected' },
      times: 100,
    });
    const registry = config.registries[0];
    await clients(sb).secrets.send(
      new RotateSecretCommand({ SecretId: registry?.secretName, RotateImmediately: true }),
    );
    await sb.settle();
    await control(sb, 'DELETE', 'faults');
    const now = received.slice(before);
    expect(now.map((r) => r.path.split('/')[1]).sort()).toEqual(['json', 'slack', 'teams']);
    const teams = JSON.parse(now.find((r) => r.path.startsWith('/teams/'))?.body ?? '') as {
      type: string;
      attachments: {
        contentType: string;
        content: { type: string; body: { type: string; facts?: { title: string; value: string }[] }[] };
      }[];
    };
    expect(teams.type).toBe('message');
    const card = teams.attachments[0];
    expect(card?.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(card?.content.type).toBe('AdaptiveCard');
    const facts = card?.content.body.find((b) => b.type === 'FactSet')?.facts ?? [];
    expect(facts.find((f) => f.title === 'Failed step')?.value).toBe('setSecret');
    expect(facts.find((f) => f.title === 'Reason')?.value).toContain('InjectedFailure');
  });

  it('delivers one message per webhook for a failing audit', async () => {
    const before = received.length;
    const arn = functionArn('aws', sb.region, sb.accountId, FUNCTIONS.audit.name);
    const result = (await sb.lambda.invoke(arn, {})) as { summary: { failed: number } };
    await sb.settle();
    expect(result.summary.failed).toBeGreaterThan(0);
    const now = received.slice(before);
    expect(now.map((r) => r.path.split('/')[1]).sort()).toEqual(['json', 'slack', 'teams']);
    const json = JSON.parse(now.find((r) => r.path === '/json')?.body ?? '') as Record<string, unknown>;
    expect(json).toMatchObject({
      notification: 'audit-failed',
      detail: { summary: { failed: result.summary.failed } },
    });
    expect(json['link']).toContain('/s3/object/');
  });

  it('retries a 5xx and dead-letters a 4xx, as EventBridge does for API destinations', async () => {
    const before = received.length;
    scripted.set('/json', [503, 503]);
    scripted.set('/slack/', [400]);
    await pushWithApi(clients(sb).ecr, new Layout(BUILT), 'amd64-oci', 'inference-gb200', 'v2');
    await sb.settle();
    const state = await control<{
      deliveries: { destination: string; status: number; attempt: number }[];
      deadLetters: { attributes: Record<string, unknown>; body: string }[];
    }>(sb, 'GET', 'webhooks');
    // JSON: two 503s, then delivered at the third attempt.
    expect(received.slice(before).map((r) => r.path)).toEqual(['/json']);
    const json = state.deliveries.filter((d) => d.destination.includes('nvcf-ecr-hook-incidents')).slice(-3);
    expect(json.map((d) => [d.attempt, d.status])).toEqual([
      [1, 503],
      [2, 503],
      [3, 200],
    ]);
    // Slack: a 400 is not retried; the message goes to the dead-letter queue with EventBridge's attributes.
    const [dead, ...moreDead] = state.deadLetters;
    expect(moreDead).toEqual([]);
    expect(dead?.attributes).toMatchObject({ ERROR_CODE: '400', RETRY_ATTEMPTS: 0 });
    expect(String(dead?.attributes['TARGET_ARN'])).toContain('api-destination/nvcf-ecr-hook-slack/');
    expect(JSON.parse(dead?.body ?? '{}')).toHaveProperty('blocks');
  });

  it('puts no secret in any message, log line, event or delivery record', async () => {
    const events = await control(sb, 'GET', 'events');
    const webhooks = await control(sb, 'GET', 'webhooks');
    const haystack = [
      ...received.map((r) => r.body),
      JSON.stringify(logs),
      JSON.stringify(events),
      JSON.stringify(webhooks),
      JSON.stringify(sb.lambda.deadLetters),
    ].join('\n');
    const needles: [string, string][] = [
      ['admin secret access key', sb.secretAccessKey],
      ['NGC API key', sb.ngcApiKey],
      ['Slack URL secret', SLACK_PATH_SECRET],
      ['Teams URL signature', 'teamsSignature0123456789'],
      ['JSON endpoint token', 'json-endpoint-token-0123456789abcdef'],
    ];
    for (const k of sb.world.iam.keys.values())
      needles.push([`secret of ${k.accessKeyId.slice(0, 4)}…`, k.secretAccessKey]);
    expect(needles.length).toBeGreaterThan(5);
    for (const [what, secret] of needles) {
      const i = haystack.indexOf(secret);
      expect(i < 0 ? '' : haystack.slice(Math.max(0, i - 300), i + 50), what).toBe('');
    }
  });
});
