import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateEventBusCommand,
  DeleteEventBusCommand,
  DeleteRuleCommand,
  DescribeEventBusCommand,
  DescribeRuleCommand,
  DisableRuleCommand,
  EnableRuleCommand,
  EventBridgeClient,
  ListEventBusesCommand,
  ListRuleNamesByTargetCommand,
  ListRulesCommand,
  ListTagsForResourceCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  TagResourceCommand,
  TestEventPatternCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-eventbridge';
import { assertConfig } from '@nvcf-ecr/core/config';
import { ecrPushRulePattern } from '@nvcf-ecr/core/events';
import type { RunningSandbox } from '@nvcf-ecr/sandbox';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ecrImageAction } from '../../helpers/events.ts';
import { clients, control, rejection, userClients, withSandbox } from '../../helpers/sandbox.ts';

interface LoggedEvent {
  event: Record<string, unknown> & { id: string; detail: Record<string, unknown> };
  bus: string;
  matchedRules: string[];
  targets: { rule: string; id: string; arn: string; delivery: string; input?: unknown }[];
}

const RECEIVER = 'arn:aws:lambda:us-east-1:123456789012:function:receiver';
const FAILING = 'arn:aws:lambda:us-east-1:123456789012:function:failing';
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:notifications';
const pattern = (p: object) => JSON.stringify(p);

describe('Sandbox: EventBridge conformance', () => {
  let sb: RunningSandbox;
  let eb: EventBridgeClient;
  let received: { arn: string; event: unknown }[];

  const ruleArn = (name: string, bus?: string) =>
    `arn:aws:events:${sb.region}:${sb.accountId}:rule/${bus ? `${bus}/` : ''}${name}`;
  const busArn = (name: string) => `arn:aws:events:${sb.region}:${sb.accountId}:event-bus/${name}`;
  const events = async (query = '') =>
    (await control<{ events: LoggedEvent[] }>(sb, 'GET', `events${query}`)).events;
  const put = (entries: object[]) => eb.send(new PutEventsCommand({ Entries: entries as never }));
  const entry = (detail: object, extra: object = {}) => ({
    Source: 'com.example.app',
    DetailType: 'Thing Happened',
    Detail: JSON.stringify(detail),
    ...extra,
  });

  beforeAll(async () => {
    sb = await withSandbox({ asyncRetryDelaysMs: [5, 5] });
    eb = clients(sb).events;
    sb.lambda.register({
      arn: RECEIVER,
      name: 'receiver',
      timeoutSeconds: 5,
      memoryMb: 128,
      handler: async (event) => {
        received.push({ arn: RECEIVER, event });
        return { ok: true };
      },
    });
    sb.lambda.register({
      arn: FAILING,
      name: 'failing',
      timeoutSeconds: 5,
      memoryMb: 128,
      handler: async () => {
        throw new Error('boom');
      },
    });
  });
  afterAll(() => sb.close());
  beforeEach(async () => {
    received = [];
    await control(sb, 'POST', 'reset');
  });

  describe('Event buses', () => {
    it('has a default bus in every region', async () => {
      const bus = await eb.send(new DescribeEventBusCommand({}));
      expect(bus.Name).toBe('default');
      expect(bus.Arn).toBe(busArn('default'));
    });

    it('creates, describes, lists and deletes a custom bus', async () => {
      const created = await eb.send(new CreateEventBusCommand({ Name: 'project', Description: 'ours' }));
      expect(created.EventBusArn).toBe(busArn('project'));
      const described = await eb.send(new DescribeEventBusCommand({ Name: 'project' }));
      expect(described).toMatchObject({ Name: 'project', Arn: busArn('project'), Description: 'ours' });
      expect(described.CreationTime).toBeInstanceOf(Date);
      const byArn = await eb.send(new DescribeEventBusCommand({ Name: busArn('project') }));
      expect(byArn.Name).toBe('project');
      const listed = await eb.send(new ListEventBusesCommand({}));
      expect(listed.EventBuses?.map((b) => b.Name)).toEqual(['default', 'project']);
      await eb.send(new DeleteEventBusCommand({ Name: 'project' }));
      expect((await eb.send(new ListEventBusesCommand({}))).EventBuses?.map((b) => b.Name)).toEqual([
        'default',
      ]);
    });

    it('refuses a bus that exists, the default one included, with ResourceAlreadyExistsException', async () => {
      await eb.send(new CreateEventBusCommand({ Name: 'twice' }));
      for (const name of ['twice', 'default']) {
        const err = await rejection(eb.send(new CreateEventBusCommand({ Name: name })));
        expect(err.name).toBe('ResourceAlreadyExistsException');
        expect(err.$metadata?.httpStatusCode).toBe(400);
        expect(err.message).toBe(`Event bus ${name} already exists.`);
      }
    });

    it("refuses a custom bus name containing '/'", async () => {
      const err = await rejection(eb.send(new CreateEventBusCommand({ Name: 'a/b' })));
      expect(err.name).toBe('ValidationException');
      expect(err.message).toBe("Event bus name must not contain '/'.");
    });

    it('answers ResourceNotFoundException for an unknown bus', async () => {
      const err = await rejection(eb.send(new DescribeEventBusCommand({ Name: 'ghost' })));
      expect(err.name).toBe('ResourceNotFoundException');
      expect(err.$metadata?.httpStatusCode).toBe(400);
      expect(err.message).toBe('Event bus ghost does not exist.');
    });

    it('never deletes the default bus, and deletes an unknown bus silently', async () => {
      const err = await rejection(eb.send(new DeleteEventBusCommand({ Name: 'default' })));
      expect(err.name).toBe('ValidationException');
      expect(err.message).toBe('Cannot delete event bus default.');
      await expect(eb.send(new DeleteEventBusCommand({ Name: 'ghost' }))).resolves.toBeDefined();
    });

    it('refuses to delete a bus that still has rules', async () => {
      await eb.send(new CreateEventBusCommand({ Name: 'busy' }));
      await eb.send(
        new PutRuleCommand({ Name: 'r', EventBusName: 'busy', EventPattern: pattern({ source: ['x'] }) }),
      );
      const err = await rejection(eb.send(new DeleteEventBusCommand({ Name: 'busy' })));
      expect(err.name).toBe('ValidationException');
      expect(err.message).toBe("Event bus busy can't be deleted since it has rules.");
    });

    it('filters buses by NamePrefix and paginates with Limit and NextToken', async () => {
      for (const n of ['team-a', 'team-b', 'team-c', 'other'])
        await eb.send(new CreateEventBusCommand({ Name: n }));
      const first = await eb.send(new ListEventBusesCommand({ NamePrefix: 'team-', Limit: 2 }));
      expect(first.EventBuses?.map((b) => b.Name)).toEqual(['team-a', 'team-b']);
      const second = await eb.send(
        new ListEventBusesCommand({ NamePrefix: 'team-', Limit: 2, NextToken: first.NextToken }),
      );
      expect(second.EventBuses?.map((b) => b.Name)).toEqual(['team-c']);
      expect(second.NextToken).toBeUndefined();
    });
  });

  describe('Rules', () => {
    it('creates a rule on the default bus and on a custom bus with their ARN forms', async () => {
      await eb.send(new CreateEventBusCommand({ Name: 'project' }));
      const a = await eb.send(
        new PutRuleCommand({ Name: 'on-default', EventPattern: pattern({ source: ['x'] }) }),
      );
      const b = await eb.send(
        new PutRuleCommand({
          Name: 'on-custom',
          EventBusName: 'project',
          EventPattern: pattern({ source: ['x'] }),
        }),
      );
      expect(a.RuleArn).toBe(ruleArn('on-default'));
      expect(b.RuleArn).toBe(ruleArn('on-custom', 'project'));
    });

    it('describes a rule with its pattern exactly as given', async () => {
      const text = '{ "source": [ "aws.ecr" ] }';
      await eb.send(
        new PutRuleCommand({ Name: 'r1', EventPattern: text, Description: 'ecr', State: 'DISABLED' }),
      );
      const r = await eb.send(new DescribeRuleCommand({ Name: 'r1' }));
      expect(r).toMatchObject({
        Name: 'r1',
        Arn: ruleArn('r1'),
        EventPattern: text,
        State: 'DISABLED',
        Description: 'ecr',
        EventBusName: 'default',
        CreatedBy: sb.accountId,
      });
      expect(r.ScheduleExpression).toBeUndefined();
    });

    it('answers InvalidEventPatternException with the reason', async () => {
      const bare = await rejection(
        eb.send(new PutRuleCommand({ Name: 'bad', EventPattern: '{"source":"aws.ecr"}' })),
      );
      expect(bare.name).toBe('InvalidEventPatternException');
      expect(bare.$metadata?.httpStatusCode).toBe(400);
      expect(bare.message).toBe('Event pattern is not valid. Reason: "source" must be an object or an array');
      const json = await rejection(eb.send(new PutRuleCommand({ Name: 'bad', EventPattern: '{bad' })));
      expect(json.message).toBe('Event pattern is not valid. Reason: Invalid JSON');
    });

    it('needs a pattern or a schedule, and schedules only on the default bus', async () => {
      const none = await rejection(eb.send(new PutRuleCommand({ Name: 'empty' })));
      expect(none.name).toBe('ValidationException');
      expect(none.message).toBe('Parameter(s) EventPattern or ScheduleExpression must be specified.');
      await eb.send(new CreateEventBusCommand({ Name: 'project' }));
      const custom = await rejection(
        eb.send(
          new PutRuleCommand({ Name: 's', EventBusName: 'project', ScheduleExpression: 'rate(5 minutes)' }),
        ),
      );
      expect(custom.name).toBe('ValidationException');
      expect(custom.message).toBe('ScheduleExpression is supported only on the default event bus.');
    });

    it('refuses a schedule expression EventBridge would not accept', async () => {
      for (const expr of ['rate(1 minutes)', 'rate(5 minute)', 'cron(0 12 * * MON *)', 'every day']) {
        const err = await rejection(eb.send(new PutRuleCommand({ Name: 's', ScheduleExpression: expr })));
        expect(err.name).toBe('ValidationException');
        expect(err.message).toBe('Parameter ScheduleExpression is not valid.');
      }
    });

    it('validates the rule name and state like the service model', async () => {
      const name = await rejection(eb.send(new PutRuleCommand({ Name: 'has space', EventPattern: '{}' })));
      expect(name.name).toBe('ValidationException');
      expect(name.message).toBe(
        "1 validation error detected: Value 'has space' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [.\\-_A-Za-z0-9]+",
      );
      const state = await rejection(
        eb.send(new PutRuleCommand({ Name: 'r', EventPattern: '{}', State: 'ON' as never })),
      );
      expect(state.message).toBe(
        "1 validation error detected: Value 'ON' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]",
      );
    });

    it('refuses a rule on an unknown bus', async () => {
      const err = await rejection(
        eb.send(new PutRuleCommand({ Name: 'r', EventBusName: 'ghost', EventPattern: '{}' })),
      );
      expect(err.name).toBe('ResourceNotFoundException');
      expect(err.message).toBe('Event bus ghost does not exist.');
    });

    it('answers ResourceNotFoundException naming the rule and bus', async () => {
      const err = await rejection(eb.send(new DescribeRuleCommand({ Name: 'ghost' })));
      expect(err.name).toBe('ResourceNotFoundException');
      expect(err.$metadata?.httpStatusCode).toBe(400);
      expect(err.message).toBe('Rule ghost does not exist on EventBus default.');
    });

    it('replaces every property on PutRule but keeps the targets', async () => {
      await eb.send(
        new PutRuleCommand({ Name: 'r', EventPattern: pattern({ source: ['a'] }), Description: 'first' }),
      );
      await eb.send(new PutTargetsCommand({ Rule: 'r', Targets: [{ Id: 't', Arn: TOPIC }] }));
      await eb.send(new PutRuleCommand({ Name: 'r', EventPattern: pattern({ source: ['b'] }) }));
      const r = await eb.send(new DescribeRuleCommand({ Name: 'r' }));
      expect(r.Description).toBeUndefined();
      expect(r.EventPattern).toBe(pattern({ source: ['b'] }));
      expect((await eb.send(new ListTargetsByRuleCommand({ Rule: 'r' }))).Targets?.map((t) => t.Id)).toEqual([
        't',
      ]);
    });

    it('enables and disables a rule', async () => {
      await eb.send(new PutRuleCommand({ Name: 'r', EventPattern: '{}' }));
      await eb.send(new DisableRuleCommand({ Name: 'r' }));
      expect((await eb.send(new DescribeRuleCommand({ Name: 'r' }))).State).toBe('DISABLED');
      await eb.send(new EnableRuleCommand({ Name: 'r' }));
      expect((await eb.send(new DescribeRuleCommand({ Name: 'r' }))).State).toBe('ENABLED');
      const err = await rejection(eb.send(new EnableRuleCommand({ Name: 'ghost' })));
      expect(err.message).toBe('Rule ghost does not exist on EventBus default.');
    });

    it('lists rules by bus and prefix, sorted, with pagination', async () => {
      await eb.send(new CreateEventBusCommand({ Name: 'project' }));
      for (const n of ['b-rule', 'a-rule', 'c-rule', 'other']) {
        await eb.send(new PutRuleCommand({ Name: n, EventPattern: '{}' }));
      }
      await eb.send(new PutRuleCommand({ Name: 'a-custom', EventBusName: 'project', EventPattern: '{}' }));
      const first = await eb.send(new ListRulesCommand({ Limit: 2 }));
      expect(first.Rules?.map((r) => r.Name)).toEqual(['a-rule', 'b-rule']);
      const rest = await eb.send(new ListRulesCommand({ Limit: 2, NextToken: first.NextToken }));
      expect(rest.Rules?.map((r) => r.Name)).toEqual(['c-rule', 'other']);
      expect(rest.NextToken).toBeUndefined();
      const prefixed = await eb.send(new ListRulesCommand({ NamePrefix: 'a-' }));
      expect(prefixed.Rules?.map((r) => r.Name)).toEqual(['a-rule']);
      const custom = await eb.send(new ListRulesCommand({ EventBusName: 'project' }));
      expect(custom.Rules?.map((r) => [r.Name, r.EventBusName])).toEqual([['a-custom', 'project']]);
    });

    it('refuses a NextToken it did not issue', async () => {
      const err = await rejection(eb.send(new ListRulesCommand({ NextToken: 'bm90LWEtbnVtYmVy' })));
      expect(err.name).toBe('ValidationException');
      expect(err.message).toBe('The nextToken provided is invalid.');
    });

    it('refuses to delete a rule that has targets, and deletes an unknown rule silently', async () => {
      await eb.send(new PutRuleCommand({ Name: 'r', EventPattern: '{}' }));
      await eb.send(new PutTargetsCommand({ Rule: 'r', Targets: [{ Id: 't', Arn: TOPIC }] }));
      const err = await rejection(eb.send(new DeleteRuleCommand({ Name: 'r' })));
      expect(err.name).toBe('ValidationException');
      expect(err.message).toBe("Rule can't be deleted since it has targets.");
      await eb.send(new RemoveTargetsCommand({ Rule: 'r', Ids: ['t'] }));
      await eb.send(new DeleteRuleCommand({ Name: 'r' }));
      await expect(eb.send(new DeleteRuleCommand({ Name: 'r' }))).resolves.toBeDefined();
      const gone = await rejection(eb.send(new DescribeRuleCommand({ Name: 'r' })));
      expect(gone.name).toBe('ResourceNotFoundException');
    });
  });

  describe('Targets', () => {
    beforeEach(() => eb.send(new PutRuleCommand({ Name: 'r', EventPattern: '{}' })));

    it('stores targets with their input, retry policy and dead-letter queue', async () => {
      const target = {
        Id: 'fn',
        Arn: RECEIVER,
        Input: '{"fixed":true}',
        RetryPolicy: { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 3600 },
        DeadLetterConfig: { Arn: 'arn:aws:sqs:us-east-1:123456789012:dlq' },
      };
      const out = await eb.send(new PutTargetsCommand({ Rule: 'r', Targets: [target] }));
      expect(out).toMatchObject({ FailedEntryCount: 0, FailedEntries: [] });
      expect((await eb.send(new ListTargetsByRuleCommand({ Rule: 'r' }))).Targets).toEqual([target]);
      const names = await eb.send(new ListRuleNamesByTargetCommand({ TargetArn: RECEIVER }));
      expect(names.RuleNames).toEqual(['r']);
    });

    it('refuses a target ARN that is not an ARN', async () => {
      const err = await rejection(
        eb.send(
          new PutTargetsCommand({
            Rule: 'r',
            Targets: [
              { Id: 'ok', Arn: TOPIC },
              { Id: 'bad', Arn: 'test-bucket' },
            ],
          }),
        ),
      );
      expect(err.name).toBe('ValidationException');
      expect(err.message).toBe(
        'Parameter test-bucket is not valid. Reason: Provided Arn is not in correct format.',
      );
      expect((await eb.send(new ListTargetsByRuleCommand({ Rule: 'r' }))).Targets).toEqual([]);
    });

    it('answers ResourceNotFoundException for targets of an unknown rule', async () => {
      const put = await rejection(
        eb.send(new PutTargetsCommand({ Rule: 'unknown', Targets: [{ Id: 't', Arn: TOPIC }] })),
      );
      expect(put.name).toBe('ResourceNotFoundException');
      expect(put.message).toBe('Rule unknown does not exist on EventBus default.');
      const remove = await rejection(eb.send(new RemoveTargetsCommand({ Rule: 'unknown', Ids: ['t'] })));
      expect(remove.message).toBe('Rule unknown does not exist on EventBus default.');
    });

    it('allows five targets per rule and refuses a sixth with LimitExceededException', async () => {
      const five = [1, 2, 3, 4, 5].map((i) => ({ Id: `t${i}`, Arn: TOPIC }));
      await eb.send(new PutTargetsCommand({ Rule: 'r', Targets: five }));
      await eb.send(new PutTargetsCommand({ Rule: 'r', Targets: [{ Id: 't1', Arn: RECEIVER }] }));
      const err = await rejection(
        eb.send(new PutTargetsCommand({ Rule: 'r', Targets: [{ Id: 't6', Arn: TOPIC }] })),
      );
      expect(err.name).toBe('LimitExceededException');
      expect(err.message).toBe('The requested resource exceeds the maximum number allowed.');
    });

    it('validates retry policies against the model bounds', async () => {
      const err = await rejection(
        eb.send(
          new PutTargetsCommand({
            Rule: 'r',
            Targets: [{ Id: 't', Arn: TOPIC, RetryPolicy: { MaximumRetryAttempts: 186 } }],
          }),
        ),
      );
      expect(err.name).toBe('ValidationException');
      expect(err.message).toBe(
        "1 validation error detected: Value '186' at 'targets.1.member.retryPolicy.maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 185",
      );
    });

    it('refuses two input options on one target and an Input that is not JSON', async () => {
      const both = await rejection(
        eb.send(
          new PutTargetsCommand({
            Rule: 'r',
            Targets: [{ Id: 't', Arn: TOPIC, Input: '{}', InputPath: '$.detail' }],
          }),
        ),
      );
      expect(both.name).toBe('ValidationException');
      expect(both.message).toBe(
        'Parameter Target is not valid. Reason: Only one of Input, InputPath, or InputTransformer may be provided for target t.',
      );
      const notJson = await rejection(
        eb.send(new PutTargetsCommand({ Rule: 'r', Targets: [{ Id: 't', Arn: TOPIC, Input: '{x' }] })),
      );
      expect(notJson.message).toBe('Parameter Input is not valid. Reason: Input must be valid JSON.');
    });
  });

  describe('PutEvents and delivery', () => {
    it('answers every entry in request order, with entry errors for bad entries and HTTP 200', async () => {
      const out = await put([
        { Source: 'com.example' },
        entry({ ok: 1 }),
        { Source: 'com.example', DetailType: 'x' },
        { Source: 'com.example', DetailType: 'x', Detail: 'not json' },
        { Source: 'com.example', DetailType: 'x', Detail: '[1]' },
        entry({ ok: 2 }, { EventBusName: 'ghost' }),
        entry({ ok: 3 }),
      ]);
      expect(out.$metadata.httpStatusCode).toBe(200);
      expect(out.FailedEntryCount).toBe(5);
      const e = out.Entries ?? [];
      expect(e[0]).toEqual({
        ErrorCode: 'InvalidArgument',
        ErrorMessage: 'Parameter DetailType is not valid. Reason: DetailType is a required argument.',
      });
      expect(e[1]?.EventId).toMatch(/^[0-9a-f-]{36}$/);
      expect(e[2]).toEqual({
        ErrorCode: 'InvalidArgument',
        ErrorMessage: 'Parameter Detail is not valid. Reason: Detail is a required argument.',
      });
      expect(e[3]).toEqual({ ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' });
      expect(e[4]).toEqual({ ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' });
      expect(e[5]).toEqual({
        ErrorCode: 'ResourceNotFoundException',
        ErrorMessage: 'Event bus ghost does not exist.',
      });
      expect(e[6]?.EventId).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('reports a missing Source as InvalidArgument', async () => {
      const out = await put([{ DetailType: 'x', Detail: '{}' }]);
      expect(out.Entries?.[0]).toEqual({
        ErrorCode: 'InvalidArgument',
        ErrorMessage: 'Parameter Source is not valid. Reason: Source is a required argument.',
      });
    });

    it('refuses more than 10 entries and none with ValidationException', async () => {
      const many = await rejection(put(Array.from({ length: 11 }, () => entry({}))));
      expect(many.name).toBe('ValidationException');
      expect(many.message).toBe(
        "1 validation error detected: Value '[PutEventsRequestEntry]' at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10",
      );
      const none = await rejection(put([]));
      expect(none.message).toBe(
        "1 validation error detected: Value '[]' at 'entries' failed to satisfy constraint: Member must have length greater than or equal to 1",
      );
    });

    it('refuses entries larger than 256 KB in total', async () => {
      const big = 'x'.repeat(130 * 1024);
      const err = await rejection(put([entry({ big }), entry({ big })]));
      expect(err.name).toBe('ValidationException');
      expect(err.message).toBe('Total size of the entries in the request is over the limit.');
    });

    it('delivers the EventBridge envelope of a matching event to a Lambda target', async () => {
      await eb.send(
        new PutRuleCommand({
          Name: 'app',
          EventPattern: pattern({ source: ['com.example.app'], detail: { n: [{ numeric: ['>', 1] }] } }),
        }),
      );
      await eb.send(new PutTargetsCommand({ Rule: 'app', Targets: [{ Id: 'fn', Arn: RECEIVER }] }));
      const out = await put([
        entry({ n: 2 }, { Time: new Date('2025-06-11T10:20:30.456Z'), Resources: ['arn:aws:s3:::b'] }),
        entry({ n: 0 }),
      ]);
      await sb.settle();
      expect(received).toEqual([
        {
          arn: RECEIVER,
          event: {
            version: '0',
            id: out.Entries?.[0]?.EventId,
            'detail-type': 'Thing Happened',
            source: 'com.example.app',
            account: sb.accountId,
            time: '2025-06-11T10:20:30Z',
            region: sb.region,
            resources: ['arn:aws:s3:::b'],
            detail: { n: 2 },
          },
        },
      ]);
    });

    it('logs every event with the rules it matched and where it went, filterable', async () => {
      await eb.send(
        new PutRuleCommand({ Name: 'app', EventPattern: pattern({ source: ['com.example.app'] }) }),
      );
      await eb.send(
        new PutTargetsCommand({
          Rule: 'app',
          Targets: [
            { Id: 'fn', Arn: RECEIVER },
            { Id: 'sns', Arn: TOPIC },
          ],
        }),
      );
      await put([entry({ a: 1 }), entry({ b: 2 }, { Source: 'com.example.other', DetailType: 'Other' })]);
      const all = await events();
      expect(
        all.map((e) => [e.event['source'], e.matchedRules, e.targets.map((t) => [t.id, t.delivery])]),
      ).toEqual([
        [
          'com.example.app',
          [ruleArn('app')],
          [
            ['fn', 'lambda'],
            ['sns', 'recorded'],
          ],
        ],
        ['com.example.other', [], []],
      ]);
      expect((await events('?source=com.example.other')).map((e) => e.event.detail)).toEqual([{ b: 2 }]);
      expect((await events('?detailType=Thing%20Happened')).map((e) => e.event.detail)).toEqual([{ a: 1 }]);
    });

    it('ignores disabled rules and rules of other buses', async () => {
      await eb.send(new CreateEventBusCommand({ Name: 'project' }));
      await eb.send(new PutRuleCommand({ Name: 'off', EventPattern: '{}', State: 'DISABLED' }));
      await eb.send(new PutRuleCommand({ Name: 'custom', EventBusName: 'project', EventPattern: '{}' }));
      await eb.send(new PutRuleCommand({ Name: 'on', EventPattern: '{}' }));
      await put([entry({}), entry({}, { EventBusName: 'project' })]);
      expect((await events()).map((e) => [e.bus, e.matchedRules])).toEqual([
        ['default', [ruleArn('on')]],
        ['project', [ruleArn('custom', 'project')]],
      ]);
    });

    it('renders Input, InputPath and InputTransformer for targets', async () => {
      await eb.send(new PutRuleCommand({ Name: 'app', EventPattern: '{}' }));
      await eb.send(
        new PutTargetsCommand({
          Rule: 'app',
          Targets: [
            { Id: 'constant', Arn: TOPIC, Input: '{"fixed":1}' },
            { Id: 'path', Arn: RECEIVER, InputPath: '$.detail.image' },
            {
              Id: 'template',
              Arn: TOPIC,
              InputTransformer: {
                InputPathsMap: { repo: '$.detail.image.repo', tag: '$.detail.image.tags[0]' },
                InputTemplate: '"<repo>:<tag> matched <aws.events.rule-name>"',
              },
            },
          ],
        }),
      );
      await put([entry({ image: { repo: 'inference', tags: ['v1'] } })]);
      await sb.settle();
      expect(received.map((r) => r.event)).toEqual([{ repo: 'inference', tags: ['v1'] }]);
      const [logged] = await events();
      expect(logged?.targets.map((t) => [t.id, t.input])).toEqual([
        ['constant', { fixed: 1 }],
        ['path', { repo: 'inference', tags: ['v1'] }],
        ['template', 'inference:v1 matched app'],
      ]);
    });

    it('records events for a Lambda ARN nobody registered without invoking anything', async () => {
      await eb.send(new PutRuleCommand({ Name: 'app', EventPattern: '{}' }));
      await eb.send(
        new PutTargetsCommand({
          Rule: 'app',
          Targets: [{ Id: 'x', Arn: 'arn:aws:lambda:us-east-1:123456789012:function:nobody' }],
        }),
      );
      await put([entry({})]);
      await sb.settle();
      expect((await events())[0]?.targets).toEqual([
        {
          rule: ruleArn('app'),
          id: 'x',
          arn: 'arn:aws:lambda:us-east-1:123456789012:function:nobody',
          delivery: 'recorded',
        },
      ]);
      expect(sb.lambda.deadLetters).toEqual([]);
    });

    it('retries a failing Lambda target twice, then dead-letters the event', async () => {
      await eb.send(new PutRuleCommand({ Name: 'app', EventPattern: '{}' }));
      await eb.send(new PutTargetsCommand({ Rule: 'app', Targets: [{ Id: 'f', Arn: FAILING }] }));
      const out = await put([entry({ n: 1 })]);
      await sb.settle();
      expect(sb.lambda.invocations.filter((i) => i.functionArn === FAILING).map((i) => i.attempt)).toEqual([
        1, 2, 3,
      ]);
      expect(sb.lambda.deadLetters).toMatchObject([
        {
          functionArn: FAILING,
          source: ruleArn('app'),
          attempts: 3,
          error: { message: 'boom' },
          event: { id: out.Entries?.[0]?.EventId },
        },
      ]);
    });

    it('delivers events other services put on the default bus (ECR Image Action)', async () => {
      await eb.send(
        new PutRuleCommand({
          Name: 'ecr',
          EventPattern: pattern({ source: ['aws.ecr'], detail: { 'action-type': ['PUSH'] } }),
        }),
      );
      await eb.send(new PutTargetsCommand({ Rule: 'ecr', Targets: [{ Id: 'fn', Arn: RECEIVER }] }));
      const detail = {
        result: 'SUCCESS',
        'repository-name': 'inference',
        'action-type': 'PUSH',
        'image-tag': '',
      };
      sb.world.events.putServiceEvents(sb.region, [
        { Source: 'aws.ecr', DetailType: 'ECR Image Action', Detail: JSON.stringify(detail) },
      ]);
      await sb.settle();
      expect(received.map((r) => r.event)).toMatchObject([
        {
          source: 'aws.ecr',
          'detail-type': 'ECR Image Action',
          account: sb.accountId,
          region: sb.region,
          resources: [],
          detail,
        },
      ]);
    });
  });

  describe('Authorisation', () => {
    async function userClient(
      name: string,
      policy: { Version: string; Statement: object[] },
    ): Promise<EventBridgeClient> {
      return (await userClients(sb, name, policy.Statement)).events;
    }

    it('lets a user put events on the bus its policy allows, and answers AccessDeniedException entries elsewhere', async () => {
      await eb.send(new CreateEventBusCommand({ Name: 'project' }));
      const user = await userClient('publisher', {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'events:PutEvents', Resource: busArn('project') }],
      });
      const out = await user.send(
        new PutEventsCommand({ Entries: [entry({}, { EventBusName: 'project' }), entry({})] as never }),
      );
      expect(out.Entries?.[0]?.EventId).toBeDefined();
      expect(out.Entries?.[1]).toEqual({
        ErrorCode: 'AccessDeniedException',
        ErrorMessage: `User: arn:aws:iam::${sb.accountId}:user/publisher is not authorized to perform: events:PutEvents on resource: ${busArn('default')} because no identity-based policy allows the events:PutEvents action`,
      });
    });

    it('refuses aws.* sources from users with NotAuthorizedForSourceException', async () => {
      const user = await userClient('spoofer', {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'events:PutEvents', Resource: '*' }],
      });
      const out = await user.send(
        new PutEventsCommand({ Entries: [entry({}, { Source: 'aws.ecr' })] as never }),
      );
      expect(out.Entries?.[0]).toEqual({
        ErrorCode: 'NotAuthorizedForSourceException',
        ErrorMessage: 'Not authorized for the source.',
      });
    });

    it('answers AccessDeniedException for a rule operation the policy does not allow', async () => {
      const user = await userClient('reader', {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'events:DescribeRule', Resource: '*' }],
      });
      const err = await rejection(user.send(new PutRuleCommand({ Name: 'r', EventPattern: '{}' })));
      expect(err.name).toBe('AccessDeniedException');
      expect(err.$metadata?.httpStatusCode).toBe(400);
      expect(err.message).toBe(
        `User: arn:aws:iam::${sb.accountId}:user/reader is not authorized to perform: events:PutRule on resource: ${ruleArn('r')} because no identity-based policy allows the events:PutRule action`,
      );
    });
  });

  describe('Schedules', () => {
    beforeEach(async () => {
      await eb.send(new PutRuleCommand({ Name: 'every-5', ScheduleExpression: 'rate(5 minutes)' }));
      await eb.send(new PutTargetsCommand({ Rule: 'every-5', Targets: [{ Id: 'fn', Arn: RECEIVER }] }));
    });
    const advance = async (seconds: number) => {
      await control(sb, 'POST', 'clock', { advanceSeconds: seconds });
      await control(sb, 'POST', 'settle');
    };

    it('fires a rate schedule when its period has passed on the virtual clock, with the Scheduled Event shape', async () => {
      await advance(240);
      expect(received).toEqual([]);
      await advance(61);
      expect(received).toHaveLength(1);
      const event = received[0]?.event as Record<string, unknown>;
      expect(event).toMatchObject({
        version: '0',
        source: 'aws.events',
        'detail-type': 'Scheduled Event',
        account: sb.accountId,
        region: sb.region,
        resources: [ruleArn('every-5')],
        detail: {},
      });
      expect(event['time']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    });

    it('fires once for a jump over many periods, then keeps its period', async () => {
      await advance(10 * 86400);
      expect(received).toHaveLength(1);
      await advance(301);
      expect(received).toHaveLength(2);
    });

    it('does not fire disabled schedules, and counts from re-enabling', async () => {
      await eb.send(new DisableRuleCommand({ Name: 'every-5' }));
      await advance(3600);
      expect(received).toEqual([]);
      await eb.send(new EnableRuleCommand({ Name: 'every-5' }));
      await advance(200);
      expect(received).toEqual([]);
      await advance(101);
      expect(received).toHaveLength(1);
    });

    it('fires cron schedules at their UTC times', async () => {
      await eb.send(new PutRuleCommand({ Name: 'daily', ScheduleExpression: 'cron(0 12 * * ? *)' }));
      await eb.send(new PutTargetsCommand({ Rule: 'daily', Targets: [{ Id: 'fn', Arn: RECEIVER }] }));
      await advance(86400);
      const fromDaily = received.filter(
        (r) => (r.event as { resources: string[] }).resources[0] === ruleArn('daily'),
      );
      expect(fromDaily).toHaveLength(1);
    });

    it('sends scheduled events only to the schedule’s own targets, not to pattern rules', async () => {
      await eb.send(
        new PutRuleCommand({ Name: 'listener', EventPattern: pattern({ source: ['aws.events'] }) }),
      );
      await eb.send(new PutTargetsCommand({ Rule: 'listener', Targets: [{ Id: 'sns', Arn: TOPIC }] }));
      await advance(301);
      const logged = await events('?source=aws.events');
      expect(logged.map((e) => [e.matchedRules, e.targets.map((t) => t.id)])).toEqual([
        [[ruleArn('every-5')], ['fn']],
      ]);
    });
  });

  describe('Tags', () => {
    it('tags rules (at creation and after) and buses, and lists and removes the tags', async () => {
      await eb.send(
        new PutRuleCommand({ Name: 'r', EventPattern: '{}', Tags: [{ Key: 'team', Value: 'ml' }] }),
      );
      await eb.send(
        new TagResourceCommand({ ResourceARN: ruleArn('r'), Tags: [{ Key: 'env', Value: 'dev' }] }),
      );
      expect((await eb.send(new ListTagsForResourceCommand({ ResourceARN: ruleArn('r') }))).Tags).toEqual([
        { Key: 'team', Value: 'ml' },
        { Key: 'env', Value: 'dev' },
      ]);
      await eb.send(new UntagResourceCommand({ ResourceARN: ruleArn('r'), TagKeys: ['team'] }));
      expect((await eb.send(new ListTagsForResourceCommand({ ResourceARN: ruleArn('r') }))).Tags).toEqual([
        { Key: 'env', Value: 'dev' },
      ]);
      await eb.send(new CreateEventBusCommand({ Name: 'project', Tags: [{ Key: 'a', Value: 'b' }] }));
      expect(
        (await eb.send(new ListTagsForResourceCommand({ ResourceARN: busArn('project') }))).Tags,
      ).toEqual([{ Key: 'a', Value: 'b' }]);
    });

    it('answers ResourceNotFoundException for an unknown rule ARN', async () => {
      const err = await rejection(
        eb.send(new TagResourceCommand({ ResourceARN: ruleArn('unknown'), Tags: [] })),
      );
      expect(err.name).toBe('ResourceNotFoundException');
      expect(err.message).toBe('Rule unknown does not exist on EventBus default.');
    });
  });

  describe('Malformed input', () => {
    it('answers SerializationException for members of the wrong type, and keeps serving', async () => {
      const err = await rejection(eb.send(new PutRuleCommand({ Name: 42 as never, EventPattern: '{}' })));
      expect(err.name).toBe('SerializationException');
      expect(err.$metadata?.httpStatusCode).toBe(400);
      expect(err.message).toBe("Unexpected value type for member 'Name': expected a string.");
      const entries = await rejection(eb.send(new PutEventsCommand({ Entries: 'x' as never })));
      expect(entries.name).toBe('SerializationException');
      expect((await eb.send(new DescribeEventBusCommand({}))).Name).toBe('default');
    });

    it('answers SerializationException for a body that is not a JSON object', async () => {
      const raw = new EventBridgeClient({
        region: sb.region,
        endpoint: sb.awsEndpoint,
        credentials: { accessKeyId: sb.accessKeyId, secretAccessKey: sb.secretAccessKey },
        maxAttempts: 1,
      });
      raw.middlewareStack.add(
        (next) => async (args) => {
          (args.request as { body: string }).body = '[1, 2';
          return next(args);
        },
        { step: 'build', name: 'breakBody', priority: 'high' },
      );
      const err = await rejection(raw.send(new ListRulesCommand({})));
      expect(err.name).toBe('SerializationException');
      expect(err.$metadata?.httpStatusCode).toBe(400);
    });
  });

  describe('Persistence', () => {
    it('round-trips buses, rules, targets, tags and the event log through the state file', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'events-state-'));
      const statePath = join(dir, 'state.json');
      try {
        const first = await withSandbox({ statePath });
        const c1 = clients(first).events;
        await c1.send(new CreateEventBusCommand({ Name: 'project' }));
        await c1.send(
          new PutRuleCommand({
            Name: 'r',
            EventBusName: 'project',
            EventPattern: '{}',
            Tags: [{ Key: 'k', Value: 'v' }],
          }),
        );
        await c1.send(
          new PutTargetsCommand({ Rule: 'r', EventBusName: 'project', Targets: [{ Id: 't', Arn: TOPIC }] }),
        );
        await c1.send(
          new PutEventsCommand({ Entries: [entry({ kept: true }, { EventBusName: 'project' })] as never }),
        );
        await first.close();

        const second = await withSandbox({ statePath });
        try {
          const c2 = clients(second).events;
          expect((await c2.send(new DescribeRuleCommand({ Name: 'r', EventBusName: 'project' }))).Arn).toBe(
            `arn:aws:events:${second.region}:${second.accountId}:rule/project/r`,
          );
          expect(
            (await c2.send(new ListTargetsByRuleCommand({ Rule: 'r', EventBusName: 'project' }))).Targets,
          ).toEqual([{ Id: 't', Arn: TOPIC }]);
          const logged = await control<{ events: LoggedEvent[] }>(second, 'GET', 'events');
          expect(logged.events.map((e) => e.event.detail)).toEqual([{ kept: true }]);
        } finally {
          await second.close();
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});

describe('Sandbox: EventBridge TestEventPattern', () => {
  let sb: RunningSandbox;
  let eb: EventBridgeClient;
  const event = (detail: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    JSON.stringify(ecrImageAction(detail, extra));

  beforeAll(async () => {
    sb = await withSandbox();
    eb = clients(sb).events;
  });
  afterAll(() => sb.close());

  it('answers whether the event matches, with the matcher the rules deliver by', async () => {
    const pattern = JSON.stringify(
      ecrPushRulePattern(
        assertConfig({
          ngc: { apiKeySecretName: 'ngc' },
          registries: [
            {
              name: 'prod',
              hostname: '123456789012.dkr.ecr.us-east-1.amazonaws.com',
              repositories: ['inference'],
              credentialName: 'ecr-prod',
            },
          ],
        }),
      ),
    );
    const push = { 'action-type': 'PUSH', result: 'SUCCESS', 'repository-name': 'inference' };
    const test = (e: string) => eb.send(new TestEventPatternCommand({ EventPattern: pattern, Event: e }));
    expect((await test(event(push))).Result).toBe(true);
    expect((await test(event({ ...push, 'repository-name': 'other' }))).Result).toBe(false);
    expect((await test(event({ ...push, result: 'FAILURE' }))).Result).toBe(false);
  });

  it('refuses an invalid pattern or an event without a mandatory field, naming it', async () => {
    const bad = await rejection(
      eb.send(new TestEventPatternCommand({ EventPattern: '{"source": "aws.ecr"}', Event: event({}) })),
    );
    expect(bad.name).toBe('InvalidEventPatternException');
    expect(bad.message).toMatch(/^Event pattern is not valid\. Reason: /);
    const noId = JSON.parse(event({})) as Record<string, unknown>;
    delete noId['id'];
    delete noId['resources'];
    const missing = await rejection(
      eb.send(
        new TestEventPatternCommand({ EventPattern: '{"source": ["aws.ecr"]}', Event: JSON.stringify(noId) }),
      ),
    );
    expect(missing.name).toBe('ValidationException');
    expect(missing.message).toBe(
      'Parameter Event is not valid. Reason: Provided Event is missing the mandatory field(s) id, resources.',
    );
  });
});
