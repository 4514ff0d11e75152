import { ServiceError } from '../../errors.ts';
import type { JsonOperation, OperationContext } from '../../server/aws.ts';
import type { EventsBackend, RuleState } from './backend.ts';
import { eventsErrors } from './errors.ts';
import { putEvents } from './put-events.ts';
import {
  BUS_NAME,
  busParam,
  busView,
  ev,
  paginate,
  RULE_NAME,
  ruleView,
  TARGET_ID,
  tagsParam,
  target,
} from './request.ts';

/**
 * EventBridge operations (AWS JSON 1.1): validate members (wrong types → `SerializationException`,
 * constraint violations → Smithy's `ValidationException`), authorise `events:<Op>` on the bus or rule ARN,
 * call the backend, shape the answer as the SDK model does (`@aws-sdk/client-eventbridge` models).
 */

const RULE_STATES: readonly RuleState[] = [
  'ENABLED',
  'DISABLED',
  'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS',
];
/** Fields `TestEventPattern` requires of its event (API reference, `TestEventPattern`, member `Event`). */
const TEST_EVENT_FIELDS = ['id', 'account', 'source', 'time', 'region', 'resources', 'detail-type'];
export function eventsHandlers(backend: EventsBackend): Record<string, JsonOperation> {
  const ruleArnOf = (ctx: OperationContext, bus: string, name: string) =>
    backend.ruleArn(ctx.region, bus, name);

  return {
    PutEvents: putEvents(backend),

    async CreateEventBus(ctx, input) {
      const name = ev(input).str('Name', { required: true, min: 1, max: 256, pattern: BUS_NAME });
      const eventSource = ev(input).str('EventSourceName', { min: 1, max: 256 });
      const description = ev(input).str('Description', { max: 512 });
      const tags = tagsParam(input);
      await ctx.authorize('events:CreateEventBus', backend.busArn(ctx.region, name));
      // Partner event sources (SaaS integrations) are not emulated: none exists (moto's message, per AWS).
      if (eventSource !== undefined) {
        throw new ServiceError(
          'ResourceNotFoundException',
          `Event source ${eventSource} does not exist.`,
          400,
        );
      }
      const bus = backend.createBus(ctx.region, name, description, tags);
      return { EventBusArn: bus.arn, ...(description !== undefined ? { Description: description } : {}) };
    },

    async DescribeEventBus(ctx, input) {
      const name = backend.busNameOf(busParam(input, 'Name'));
      await ctx.authorize('events:DescribeEventBus', backend.busArn(ctx.region, name));
      return busView(backend.getBus(ctx.region, name));
    },

    async DeleteEventBus(ctx, input) {
      const name = ev(input).str('Name', { required: true, min: 1, max: 256, pattern: BUS_NAME });
      await ctx.authorize('events:DeleteEventBus', backend.busArn(ctx.region, name));
      backend.deleteBus(ctx.region, name);
      return {};
    },

    async ListEventBuses(ctx, input) {
      const prefix = ev(input).str('NamePrefix', { min: 1, max: 256 });
      await ctx.authorize('events:ListEventBuses', '*');
      const r = paginate(backend.listBuses(ctx.region, prefix), input);
      return { EventBuses: r.items.map(busView), ...(r.NextToken ? { NextToken: r.NextToken } : {}) };
    },

    async PutRule(ctx, input) {
      const name = ev(input).str('Name', { required: true, min: 1, max: 64, pattern: RULE_NAME });
      const busName = backend.busNameOf(busParam(input));
      const scheduleExpression = ev(input).str('ScheduleExpression', { max: 256 });
      const eventPattern = ev(input).str('EventPattern', { max: 4096 });
      const state = ev(input).str('State');
      if (state !== undefined && !RULE_STATES.includes(state as RuleState)) {
        throw eventsErrors.validation(
          'state',
          state,
          `Member must satisfy enum value set: [${RULE_STATES.join(', ')}]`,
        );
      }
      const description = ev(input).str('Description', { max: 512 });
      const roleArn = ev(input).str('RoleArn', { min: 1, max: 1600 });
      const tags = tagsParam(input);
      await ctx.authorize('events:PutRule', ruleArnOf(ctx, busName, name));
      // An empty string is how SDKs send "no schedule"/"no pattern" (boto3 examples do), so treat it as absent.
      const rule = backend.putRule(ctx.region, {
        name,
        busName,
        eventPattern: eventPattern === '' ? undefined : eventPattern,
        scheduleExpression: scheduleExpression === '' ? undefined : scheduleExpression,
        state: state as RuleState | undefined,
        description,
        roleArn,
        tags,
      });
      return { RuleArn: rule.arn };
    },

    /**
     * `TestEventPattern`: the pattern is judged by the same matcher the rules use (core's `events/pattern.ts`).
     * The event must be JSON with the fields the API reference names mandatory (id, account, source, time,
     * region, resources, detail-type); the refusal's wording follows EventBridge's "Parameter X is not
     * valid. Reason: …" form, since no source gives AWS's text for it.
     */
    async TestEventPattern(ctx, input) {
      const patternText = ev(input).str('EventPattern', { required: true, max: 4096 });
      const eventText = ev(input).str('Event', { required: true });
      await ctx.authorize('events:TestEventPattern', '*');
      const pattern = backend.pattern(patternText);
      let event: unknown;
      try {
        event = JSON.parse(eventText);
      } catch {
        throw eventsErrors.invalidParameter('Event', 'Provided Event is not valid JSON.');
      }
      if (!event || typeof event !== 'object' || Array.isArray(event))
        throw eventsErrors.invalidParameter('Event', 'Provided Event is not a JSON object.');
      const missing = TEST_EVENT_FIELDS.filter((f) => !(f in event));
      if (missing.length > 0) {
        throw eventsErrors.invalidParameter(
          'Event',
          `Provided Event is missing the mandatory field(s) ${missing.join(', ')}.`,
        );
      }
      return { Result: pattern.matches(event) };
    },

    async DescribeRule(ctx, input) {
      const name = ev(input).str('Name', { required: true, min: 1, max: 64, pattern: RULE_NAME });
      const busName = backend.busNameOf(busParam(input));
      await ctx.authorize('events:DescribeRule', ruleArnOf(ctx, busName, name));
      const rule = backend.getRule(ctx.region, busName, name);
      return { ...ruleView(rule), CreatedBy: rule.createdBy };
    },

    async ListRules(ctx, input) {
      const prefix = ev(input).str('NamePrefix', { min: 1, max: 64, pattern: RULE_NAME });
      const busName = backend.busNameOf(busParam(input));
      await ctx.authorize('events:ListRules', '*');
      const r = paginate(backend.listRules(ctx.region, busName, prefix), input);
      return { Rules: r.items.map(ruleView), ...(r.NextToken ? { NextToken: r.NextToken } : {}) };
    },

    async EnableRule(ctx, input) {
      const name = ev(input).str('Name', { required: true, min: 1, max: 64, pattern: RULE_NAME });
      const busName = backend.busNameOf(busParam(input));
      await ctx.authorize('events:EnableRule', ruleArnOf(ctx, busName, name));
      backend.setRuleState(ctx.region, busName, name, 'ENABLED');
      return {};
    },

    async DisableRule(ctx, input) {
      const name = ev(input).str('Name', { required: true, min: 1, max: 64, pattern: RULE_NAME });
      const busName = backend.busNameOf(busParam(input));
      await ctx.authorize('events:DisableRule', ruleArnOf(ctx, busName, name));
      backend.setRuleState(ctx.region, busName, name, 'DISABLED');
      return {};
    },

    async DeleteRule(ctx, input) {
      const name = ev(input).str('Name', { required: true, min: 1, max: 64, pattern: RULE_NAME });
      const busName = backend.busNameOf(busParam(input));
      await ctx.authorize('events:DeleteRule', ruleArnOf(ctx, busName, name));
      backend.deleteRule(ctx.region, busName, name);
      return {};
    },

    async PutTargets(ctx, input) {
      const ruleName = ev(input).str('Rule', { required: true, min: 1, max: 64, pattern: RULE_NAME });
      const busName = backend.busNameOf(busParam(input));
      const list = ev(input).list('Targets', { min: 1, max: 100, element: 'Target' });
      if (!list) throw eventsErrors.validation('targets', undefined, 'Member must not be null');
      const targets = list.map(target);
      await ctx.authorize('events:PutTargets', ruleArnOf(ctx, busName, ruleName));
      backend.putTargets(ctx.region, busName, ruleName, targets);
      return { FailedEntryCount: 0, FailedEntries: [] };
    },

    async RemoveTargets(ctx, input) {
      const ruleName = ev(input).str('Rule', { required: true, min: 1, max: 64, pattern: RULE_NAME });
      const busName = backend.busNameOf(busParam(input));
      const list = ev(input).list('Ids', { min: 1, max: 100, element: 'String' });
      if (!list) throw eventsErrors.validation('ids', undefined, 'Member must not be null');
      const targetIds = list.map((id, i) => {
        if (typeof id !== 'string') throw eventsErrors.serialization('Ids', 'a list of strings');
        return ev({ id }).str('id', {
          required: true,
          min: 1,
          max: 64,
          pattern: TARGET_ID,
          path: `ids.${i + 1}.member`,
        });
      });
      await ctx.authorize('events:RemoveTargets', ruleArnOf(ctx, busName, ruleName));
      backend.removeTargets(ctx.region, busName, ruleName, targetIds);
      return { FailedEntryCount: 0, FailedEntries: [] };
    },

    async ListTargetsByRule(ctx, input) {
      const ruleName = ev(input).str('Rule', { required: true, min: 1, max: 64, pattern: RULE_NAME });
      const busName = backend.busNameOf(busParam(input));
      await ctx.authorize('events:ListTargetsByRule', ruleArnOf(ctx, busName, ruleName));
      const r = paginate(backend.getRule(ctx.region, busName, ruleName).targets, input);
      return { Targets: r.items, ...(r.NextToken ? { NextToken: r.NextToken } : {}) };
    },

    async ListRuleNamesByTarget(ctx, input) {
      const arn = ev(input).str('TargetArn', { required: true, min: 1, max: 1600 });
      const busName = backend.busNameOf(busParam(input));
      await ctx.authorize('events:ListRuleNamesByTarget', '*');
      const names = backend
        .listRules(ctx.region, busName)
        .filter((rule) => rule.targets.some((t) => t.Arn === arn))
        .map((rule) => rule.name);
      const r = paginate(names, input);
      return { RuleNames: r.items, ...(r.NextToken ? { NextToken: r.NextToken } : {}) };
    },

    async TagResource(ctx, input) {
      const arn = ev(input).str('ResourceARN', { required: true, min: 1, max: 1600 });
      if (input['Tags'] === undefined)
        throw eventsErrors.validation('tags', undefined, 'Member must not be null');
      const tags = tagsParam(input);
      await ctx.authorize('events:TagResource', arn);
      const current = backend.tagsOf(arn);
      const merged = [...current.filter((t) => !tags.some((n) => n.Key === t.Key)), ...tags];
      current.splice(0, current.length, ...merged);
      return {};
    },

    async UntagResource(ctx, input) {
      const arn = ev(input).str('ResourceARN', { required: true, min: 1, max: 1600 });
      const keys = (ev(input).list('TagKeys', { min: 0, max: 50, element: 'String' }) ?? []).map((k) => {
        if (typeof k !== 'string') throw eventsErrors.serialization('TagKeys', 'a list of strings');
        return k;
      });
      await ctx.authorize('events:UntagResource', arn);
      const current = backend.tagsOf(arn);
      const kept = current.filter((t) => !keys.includes(t.Key));
      current.splice(0, current.length, ...kept);
      return {};
    },

    async ListTagsForResource(ctx, input) {
      const arn = ev(input).str('ResourceARN', { required: true, min: 1, max: 1600 });
      await ctx.authorize('events:ListTagsForResource', arn);
      return { Tags: backend.tagsOf(arn) };
    },
  };
}
