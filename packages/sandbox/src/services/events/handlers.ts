import { ServiceError } from '../../errors.ts';
import type { JsonOperation, OperationContext } from '../../server/aws.ts';
import type { BusRecord, EventsBackend, RuleRecord, RuleState, Tag, TargetRecord } from './backend.ts';
import { entryErrors, eventsErrors } from './errors.ts';
import { pathProblem } from './input.ts';

/**
 * EventBridge operations (AWS JSON 1.1): validate members (wrong types → `SerializationException`,
 * constraint violations → Smithy's `ValidationException`), authorise `events:<Op>` on the bus or rule ARN,
 * call the backend, shape the answer as the SDK model does (`@aws-sdk/client-eventbridge` models).
 */

type Input = Record<string, unknown>;

// Member constraints of the EventBridge Smithy model.
const RULE_NAME = /^[.\-_A-Za-z0-9]+$/;
const BUS_NAME_OR_ARN =
  /^(arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:[0-9]{12}:event-bus\/)?[/.\-_A-Za-z0-9]+$/;
const BUS_NAME = /^[/.\-_A-Za-z0-9]+$/;
const TARGET_ID = /^[.\-_A-Za-z0-9]+$/;
const ARN = /^arn:[^:]+:[^:]+:[^:]*:[^:]*:.+$/;
const RULE_STATES: readonly RuleState[] = [
  'ENABLED',
  'DISABLED',
  'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS',
];
/** Target parameters of services the sandbox does not emulate: refused, rather than silently ignored. */
const UNSUPPORTED_TARGET_PARAMETERS = [
  'KinesisParameters',
  'RunCommandParameters',
  'EcsParameters',
  'BatchParameters',
  'SqsParameters',
  'HttpParameters',
  'RedshiftDataParameters',
  'SageMakerPipelineParameters',
  'AppSyncParameters',
];
/** Fields `TestEventPattern` requires of its event (API reference, `TestEventPattern`, member `Event`). */
const TEST_EVENT_FIELDS = ['id', 'account', 'source', 'time', 'region', 'resources', 'detail-type'];
/**
 * PutEvents limits: 1–10 entries, each under 256 KB
 * (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html,
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html).
 */
const MAX_ENTRIES = 10;
const MAX_ENTRIES_BYTES = 256 * 1024;
const MAX_DETAIL_TYPE = 128;

interface StringRule {
  min?: number;
  max?: number;
  pattern?: RegExp;
}

function camel(member: string): string {
  return member.replace(/(^|\.)([A-Z])/g, (_m, dot: string, c: string) => `${dot}${c.toLowerCase()}`);
}

function optString(input: Input, member: string, rule: StringRule = {}, path = member): string | undefined {
  const v = input[member];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw eventsErrors.serialization(member, 'a string');
  const at = camel(path);
  if (rule.min !== undefined && v.length < rule.min) {
    throw eventsErrors.validation(at, v, `Member must have length greater than or equal to ${rule.min}`);
  }
  if (rule.max !== undefined && v.length > rule.max) {
    throw eventsErrors.validation(at, v, `Member must have length less than or equal to ${rule.max}`);
  }
  if (rule.pattern && !rule.pattern.test(v)) {
    throw eventsErrors.validation(
      at,
      v,
      `Member must satisfy regular expression pattern: ${rule.pattern.source.replace(/^\^|\$$/g, '')}`,
    );
  }
  return v;
}

function reqString(input: Input, member: string, rule: StringRule = {}, path = member): string {
  const v = optString(input, member, rule, path);
  if (v === undefined) throw eventsErrors.validation(camel(path), undefined, 'Member must not be null');
  return v;
}

function optInt(input: Input, member: string, min: number, max: number, path = member): number | undefined {
  const v = input[member];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw eventsErrors.serialization(member, 'an integer');
  if (v < min)
    throw eventsErrors.validation(camel(path), v, `Member must have value greater than or equal to ${min}`);
  if (v > max)
    throw eventsErrors.validation(camel(path), v, `Member must have value less than or equal to ${max}`);
  return v;
}

function optObject(input: Input, member: string): Input | undefined {
  const v = input[member];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw eventsErrors.serialization(member, 'a structure');
  return v as Input;
}

/** A list member; `element` names its shape in validation messages (`Value '[PutEventsRequestEntry]'`). */
function optList(
  input: Input,
  member: string,
  min: number,
  max: number,
  element: string,
  path = member,
): unknown[] | undefined {
  const v = input[member];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw eventsErrors.serialization(member, 'a list');
  const shown = v.length === 0 ? '[]' : `[${element}]`;
  if (v.length < min)
    throw eventsErrors.validation(
      camel(path),
      shown,
      `Member must have length greater than or equal to ${min}`,
    );
  if (v.length > max)
    throw eventsErrors.validation(camel(path), shown, `Member must have length less than or equal to ${max}`);
  return v;
}

function busParam(input: Input, member = 'EventBusName'): string | undefined {
  return optString(input, member, { min: 1, max: 1600, pattern: BUS_NAME_OR_ARN });
}

function tagsParam(input: Input, member = 'Tags'): Tag[] {
  const list = optList(input, member, 0, 50, 'Tag') ?? [];
  return list.map((raw, i) => {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw))
      throw eventsErrors.serialization(member, 'a list of Tag structures');
    const t = raw as Input;
    return {
      Key: reqString(t, 'Key', { min: 1, max: 128 }, `${member}.${i + 1}.member.Key`),
      Value: reqString(t, 'Value', { min: 0, max: 256 }, `${member}.${i + 1}.member.Value`),
    };
  });
}

/** Opaque pagination over a sorted list: NextToken encodes the offset. */
function paginate<T>(items: T[], input: Input): { items: T[]; NextToken?: string } {
  const limit = optInt(input, 'Limit', 1, 100) ?? 100;
  const token = optString(input, 'NextToken', { min: 1, max: 2048 });
  let start = 0;
  if (token !== undefined) {
    const decoded = Buffer.from(token, 'base64url').toString('utf8');
    if (!/^\d+$/.test(decoded)) throw eventsErrors.invalidNextToken();
    start = Number(decoded);
  }
  const page = items.slice(start, start + limit);
  const next = start + limit;
  return next < items.length
    ? { items: page, NextToken: Buffer.from(String(next)).toString('base64url') }
    : { items: page };
}

function ruleView(r: RuleRecord): Input {
  return {
    Name: r.name,
    Arn: r.arn,
    ...(r.eventPattern !== undefined ? { EventPattern: r.eventPattern } : {}),
    ...(r.scheduleExpression !== undefined ? { ScheduleExpression: r.scheduleExpression } : {}),
    State: r.state,
    ...(r.description !== undefined ? { Description: r.description } : {}),
    ...(r.roleArn !== undefined ? { RoleArn: r.roleArn } : {}),
    EventBusName: r.busName,
  };
}

function busView(b: BusRecord): Input {
  return {
    Name: b.name,
    Arn: b.arn,
    ...(b.description !== undefined ? { Description: b.description } : {}),
    CreationTime: new Date(b.creationTime),
    LastModifiedTime: new Date(b.lastModifiedTime),
  };
}

function target(raw: unknown, i: number): TargetRecord {
  const at = `targets.${i + 1}.member`;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw eventsErrors.serialization('Targets', 'a list of Target structures');
  const t = raw as Input;
  const id = reqString(t, 'Id', { min: 1, max: 64, pattern: TARGET_ID }, `${at}.Id`);
  const arn = reqString(t, 'Arn', { min: 1, max: 1600 }, `${at}.Arn`);
  if (!ARN.test(arn)) throw eventsErrors.invalidArn(arn);
  for (const p of UNSUPPORTED_TARGET_PARAMETERS) {
    if (t[p] !== undefined)
      throw eventsErrors.invalidParameter(p, `the sandbox does not emulate targets that need ${p}.`);
  }
  const roleArn = optString(t, 'RoleArn', { min: 1, max: 1600 }, `${at}.RoleArn`);
  const input = optString(t, 'Input', { max: 8192 }, `${at}.Input`);
  const inputPath = optString(t, 'InputPath', { max: 256 }, `${at}.InputPath`);
  const transformerRaw = optObject(t, 'InputTransformer');
  const given = [input, inputPath, transformerRaw].filter((x) => x !== undefined).length;
  // The rule is the API reference's ("You can use only one of Input, InputPath, InputTransformer"); the
  // wording of the answer is the sandbox's.
  if (given > 1)
    throw eventsErrors.invalidParameter(
      'Target',
      `Only one of Input, InputPath, or InputTransformer may be provided for target ${id}.`,
    );
  if (input !== undefined) {
    try {
      JSON.parse(input);
    } catch {
      throw eventsErrors.invalidParameter('Input', 'Input must be valid JSON.');
    }
  }
  if (inputPath !== undefined) {
    const problem = pathProblem(inputPath);
    if (problem) throw eventsErrors.invalidParameter('InputPath', `${problem}.`);
  }
  let transformer: TargetRecord['InputTransformer'];
  if (transformerRaw) {
    const template = reqString(
      transformerRaw,
      'InputTemplate',
      { min: 1, max: 8192 },
      `${at}.InputTransformer.InputTemplate`,
    );
    const mapRaw = optObject(transformerRaw, 'InputPathsMap');
    const map: Record<string, string> = {};
    for (const [k, v] of Object.entries(mapRaw ?? {})) {
      if (typeof v !== 'string') throw eventsErrors.serialization('InputPathsMap', 'a map of strings');
      if (!/^[A-Za-z0-9_-]+$/.test(k) || k.startsWith('AWS.'))
        throw eventsErrors.invalidParameter('InputPathsMap', `'${k}' is not a valid key.`);
      const problem = pathProblem(v);
      if (problem) throw eventsErrors.invalidParameter('InputPathsMap', `${problem}.`);
      map[k] = v;
    }
    transformer = { InputTemplate: template, ...(mapRaw ? { InputPathsMap: map } : {}) };
  }
  const retryRaw = optObject(t, 'RetryPolicy');
  const retry = retryRaw
    ? {
        MaximumRetryAttempts: optInt(
          retryRaw,
          'MaximumRetryAttempts',
          0,
          185,
          `${at}.RetryPolicy.MaximumRetryAttempts`,
        ),
        MaximumEventAgeInSeconds: optInt(
          retryRaw,
          'MaximumEventAgeInSeconds',
          60,
          86400,
          `${at}.RetryPolicy.MaximumEventAgeInSeconds`,
        ),
      }
    : undefined;
  const dlqRaw = optObject(t, 'DeadLetterConfig');
  const dlqArn = dlqRaw
    ? optString(dlqRaw, 'Arn', { min: 1, max: 1600 }, `${at}.DeadLetterConfig.Arn`)
    : undefined;
  if (dlqArn !== undefined && !ARN.test(dlqArn)) throw eventsErrors.invalidArn(dlqArn);
  return {
    Id: id,
    Arn: arn,
    ...(roleArn !== undefined ? { RoleArn: roleArn } : {}),
    ...(input !== undefined ? { Input: input } : {}),
    ...(inputPath !== undefined ? { InputPath: inputPath } : {}),
    ...(transformer ? { InputTransformer: transformer } : {}),
    ...(retry ? { RetryPolicy: retry } : {}),
    ...(dlqRaw ? { DeadLetterConfig: dlqArn !== undefined ? { Arn: dlqArn } : {} } : {}),
  };
}

/** Bytes an entry counts towards the 256 KB limit (user guide, "Calculating PutEvents entry size"). */
function entrySize(e: Input): number {
  const bytes = (v: unknown) => (typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : 0);
  let size = e['Time'] !== undefined && e['Time'] !== null ? 14 : 0;
  size += bytes(e['Source']) + bytes(e['DetailType']) + bytes(e['Detail']);
  if (Array.isArray(e['Resources'])) for (const r of e['Resources']) size += bytes(r);
  return size;
}

export function eventsHandlers(backend: EventsBackend): Record<string, JsonOperation> {
  const ruleArnOf = (ctx: OperationContext, bus: string, name: string) =>
    backend.ruleArn(ctx.region, bus, name);

  return {
    async PutEvents(ctx, input) {
      if (input['Entries'] === undefined)
        throw eventsErrors.validation('entries', undefined, 'Member must not be null');
      const entries = optList(input, 'Entries', 1, MAX_ENTRIES, 'PutEventsRequestEntry') ?? [];
      const objects = entries.map((e) => {
        if (!e || typeof e !== 'object' || Array.isArray(e))
          throw eventsErrors.serialization('Entries', 'a list of PutEventsRequestEntry structures');
        return e as Input;
      });
      if (objects.reduce((n, e) => n + entrySize(e), 0) > MAX_ENTRIES_BYTES)
        throw eventsErrors.entriesTooLarge();
      const results: Input[] = [];
      for (const [i, e] of objects.entries()) {
        const at = `entries.${i + 1}.member`;
        const source = optString(e, 'Source', {}, `${at}.Source`);
        const detailType = optString(e, 'DetailType', {}, `${at}.DetailType`);
        const detailText = optString(e, 'Detail', {}, `${at}.Detail`);
        const resources = (optList(e, 'Resources', 0, 10_000, 'String', `${at}.Resources`) ?? []).map((r) => {
          if (typeof r !== 'string') throw eventsErrors.serialization('Resources', 'a list of strings');
          return r;
        });
        const time = e['Time'];
        if (time !== undefined && time !== null && (typeof time !== 'number' || !Number.isFinite(time))) {
          throw eventsErrors.serialization('Time', 'a timestamp (epoch seconds)');
        }
        const busName = backend.busNameOf(busParam(e));
        if (!source) {
          results.push(entryErrors.required('Source'));
          continue;
        }
        if (!detailType) {
          results.push(entryErrors.required('DetailType'));
          continue;
        }
        if (detailText === undefined) {
          results.push(entryErrors.required('Detail'));
          continue;
        }
        if (detailType.length > MAX_DETAIL_TYPE) {
          results.push(entryErrors.detailTypeTooLong());
          continue;
        }
        let detail: unknown;
        try {
          detail = JSON.parse(detailText);
        } catch {
          detail = undefined;
        }
        if (!detail || typeof detail !== 'object' || Array.isArray(detail)) {
          results.push(entryErrors.malformedDetail());
          continue;
        }
        if (!backend.hasBus(ctx.region, busName)) {
          results.push(entryErrors.busNotFound(busName));
          continue;
        }
        // `aws.*` sources are reserved for AWS services. The sandbox's admin key may use them anyway, on
        // purpose: it is how a test injects the exact event ECR would emit without pushing an image.
        if (source.startsWith('aws.') && ctx.principal.kind !== 'admin') {
          results.push(entryErrors.reservedSource());
          continue;
        }
        try {
          await ctx.authorize('events:PutEvents', backend.busArn(ctx.region, busName));
        } catch (err) {
          if (!(err instanceof ServiceError)) throw err;
          results.push(entryErrors.accessDenied(err.message));
          continue;
        }
        const id = backend.publish(ctx.region, busName, {
          source,
          detailType,
          detail: detail as Record<string, unknown>,
          resources,
          time: typeof time === 'number' ? new Date(time * 1000) : undefined,
        });
        results.push({ EventId: id });
      }
      return {
        FailedEntryCount: results.filter((r) => r['ErrorCode'] !== undefined).length,
        Entries: results,
      };
    },

    async CreateEventBus(ctx, input) {
      const name = reqString(input, 'Name', { min: 1, max: 256, pattern: BUS_NAME });
      const eventSource = optString(input, 'EventSourceName', { min: 1, max: 256 });
      const description = optString(input, 'Description', { max: 512 });
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
      const name = reqString(input, 'Name', { min: 1, max: 256, pattern: BUS_NAME });
      await ctx.authorize('events:DeleteEventBus', backend.busArn(ctx.region, name));
      backend.deleteBus(ctx.region, name);
      return {};
    },

    async ListEventBuses(ctx, input) {
      const prefix = optString(input, 'NamePrefix', { min: 1, max: 256 });
      await ctx.authorize('events:ListEventBuses', '*');
      const r = paginate(backend.listBuses(ctx.region, prefix), input);
      return { EventBuses: r.items.map(busView), ...(r.NextToken ? { NextToken: r.NextToken } : {}) };
    },

    async PutRule(ctx, input) {
      const name = reqString(input, 'Name', { min: 1, max: 64, pattern: RULE_NAME });
      const busName = backend.busNameOf(busParam(input));
      const scheduleExpression = optString(input, 'ScheduleExpression', { max: 256 });
      const eventPattern = optString(input, 'EventPattern', { max: 4096 });
      const state = optString(input, 'State');
      if (state !== undefined && !RULE_STATES.includes(state as RuleState)) {
        throw eventsErrors.validation(
          'state',
          state,
          `Member must satisfy enum value set: [${RULE_STATES.join(', ')}]`,
        );
      }
      const description = optString(input, 'Description', { max: 512 });
      const roleArn = optString(input, 'RoleArn', { min: 1, max: 1600 });
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
      const patternText = reqString(input, 'EventPattern', { max: 4096 });
      const eventText = reqString(input, 'Event');
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
      const name = reqString(input, 'Name', { min: 1, max: 64, pattern: RULE_NAME });
      const busName = backend.busNameOf(busParam(input));
      await ctx.authorize('events:DescribeRule', ruleArnOf(ctx, busName, name));
      const rule = backend.getRule(ctx.region, busName, name);
      return { ...ruleView(rule), CreatedBy: rule.createdBy };
    },

    async ListRules(ctx, input) {
      const prefix = optString(input, 'NamePrefix', { min: 1, max: 64, pattern: RULE_NAME });
      const busName = backend.busNameOf(busParam(input));
      await ctx.authorize('events:ListRules', '*');
      const r = paginate(backend.listRules(ctx.region, busName, prefix), input);
      return { Rules: r.items.map(ruleView), ...(r.NextToken ? { NextToken: r.NextToken } : {}) };
    },

    async EnableRule(ctx, input) {
      const name = reqString(input, 'Name', { min: 1, max: 64, pattern: RULE_NAME });
      const busName = backend.busNameOf(busParam(input));
      await ctx.authorize('events:EnableRule', ruleArnOf(ctx, busName, name));
      backend.setRuleState(ctx.region, busName, name, 'ENABLED');
      return {};
    },

    async DisableRule(ctx, input) {
      const name = reqString(input, 'Name', { min: 1, max: 64, pattern: RULE_NAME });
      const busName = backend.busNameOf(busParam(input));
      await ctx.authorize('events:DisableRule', ruleArnOf(ctx, busName, name));
      backend.setRuleState(ctx.region, busName, name, 'DISABLED');
      return {};
    },

    async DeleteRule(ctx, input) {
      const name = reqString(input, 'Name', { min: 1, max: 64, pattern: RULE_NAME });
      const busName = backend.busNameOf(busParam(input));
      await ctx.authorize('events:DeleteRule', ruleArnOf(ctx, busName, name));
      backend.deleteRule(ctx.region, busName, name);
      return {};
    },

    async PutTargets(ctx, input) {
      const ruleName = reqString(input, 'Rule', { min: 1, max: 64, pattern: RULE_NAME });
      const busName = backend.busNameOf(busParam(input));
      const list = optList(input, 'Targets', 1, 100, 'Target');
      if (!list) throw eventsErrors.validation('targets', undefined, 'Member must not be null');
      const targets = list.map(target);
      await ctx.authorize('events:PutTargets', ruleArnOf(ctx, busName, ruleName));
      backend.putTargets(ctx.region, busName, ruleName, targets);
      return { FailedEntryCount: 0, FailedEntries: [] };
    },

    async RemoveTargets(ctx, input) {
      const ruleName = reqString(input, 'Rule', { min: 1, max: 64, pattern: RULE_NAME });
      const busName = backend.busNameOf(busParam(input));
      const list = optList(input, 'Ids', 1, 100, 'String');
      if (!list) throw eventsErrors.validation('ids', undefined, 'Member must not be null');
      const targetIds = list.map((id, i) => {
        if (typeof id !== 'string') throw eventsErrors.serialization('Ids', 'a list of strings');
        return reqString({ id }, 'id', { min: 1, max: 64, pattern: TARGET_ID }, `ids.${i + 1}.member`);
      });
      await ctx.authorize('events:RemoveTargets', ruleArnOf(ctx, busName, ruleName));
      backend.removeTargets(ctx.region, busName, ruleName, targetIds);
      return { FailedEntryCount: 0, FailedEntries: [] };
    },

    async ListTargetsByRule(ctx, input) {
      const ruleName = reqString(input, 'Rule', { min: 1, max: 64, pattern: RULE_NAME });
      const busName = backend.busNameOf(busParam(input));
      await ctx.authorize('events:ListTargetsByRule', ruleArnOf(ctx, busName, ruleName));
      const r = paginate(backend.getRule(ctx.region, busName, ruleName).targets, input);
      return { Targets: r.items, ...(r.NextToken ? { NextToken: r.NextToken } : {}) };
    },

    async ListRuleNamesByTarget(ctx, input) {
      const arn = reqString(input, 'TargetArn', { min: 1, max: 1600 });
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
      const arn = reqString(input, 'ResourceARN', { min: 1, max: 1600 });
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
      const arn = reqString(input, 'ResourceARN', { min: 1, max: 1600 });
      const keys = (optList(input, 'TagKeys', 0, 50, 'String') ?? []).map((k) => {
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
      const arn = reqString(input, 'ResourceARN', { min: 1, max: 1600 });
      await ctx.authorize('events:ListTagsForResource', arn);
      return { Tags: backend.tagsOf(arn) };
    },
  };
}
